/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_TEST_REFERENCE_H
#define TW_TEST_REFERENCE_H

#include <stddef.h>
#include <stdint.h>
#include "cidr.h"
#include "policy.h"

/* A policy from text (named t.json in d's errors); NULL if it has errors. */
struct tw_policy *tw_ref_policy(const char *text, struct tw_diags *d);
/* Brute force: the most specific rule whose ports match, or -1 (tw_tables_match's answer). */
int tw_ref_match(const struct tw_policy *p, int family, const uint8_t *addr, uint16_t port);
/*
 * The DNS guard's rules written plainly, for the names of tests/guard: 1 pass,
 * 0 drop, for a UDP payload from a staging caller.
 */
int tw_ref_dns(const uint8_t *m, size_t len);
/* The same for a TCP segment's payload: length-prefixed messages. */
int tw_ref_dns_tcp(const uint8_t *p, size_t len);

#endif
