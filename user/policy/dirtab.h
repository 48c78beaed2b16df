/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The destination tables of maps/tierwall.h built from sorted rules, and
 * their userspace lookups (the mirror of bpf/dst.bpf.h that `tierwall
 * check` and the attestation scan use).
 */
#ifndef TW_DIRTAB_H
#define TW_DIRTAB_H

#include "compile.h"

/* IPv4 rules in order (each after the prefixes containing it) into t's v4 tables; -errno with a diagnostic. */
int tw_dirtab_v4(const struct tw_policy *p, const int *order, struct tw_tables *t,
		 struct tw_diags *d);
/* IPv6 rules in order into t's v6 tables; -errno with a diagnostic. */
int tw_dirtab_v6(const struct tw_policy *p, const int *order, struct tw_tables *t,
		 struct tw_diags *d);
/* Rule index + 1 of the most specific prefix holding addr, or 0. */
uint32_t tw_dirtab_match(const struct tw_tables *t, int family, const uint8_t *addr);

#endif
