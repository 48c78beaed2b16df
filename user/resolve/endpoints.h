/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_ENDPOINTS_H
#define TW_ENDPOINTS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "compile.h"
#include "policy.h"

/*
 * Hostnames and addresses that a policy's tiers own, found in free text:
 * environment values, command lines, config files. Wherever they stand, in
 * URLs and DSNs too (scheme://user:pass@HOST:PORT/...), any case, with or
 * without the trailing dot, IPv6 bare or in brackets.
 */
struct tw_ep_hit {
	int tier;		/* the owner */
	const char *what;	/* "hostname" or "address" */
	const char *value;	/* the name (lowercase, no trailing dot) or address as judged */
	const char *rule;	/* the policy entry that owns it (JSON path) */
	long line;		/* 1-based line of the text */
};

typedef void (*tw_ep_cb)(void *arg, const struct tw_ep_hit *h);

/*
 * Report each endpoint in text owned by a tier other than skip_tier. Names
 * match exact policy hostnames and wildcards (the most specific owner wins);
 * addresses are judged like the kernel judges them (t: the compiled CIDRs,
 * with the port when the text gives one; without one, the most specific rule
 * that contains the address), else by the addresses policy hostnames resolve
 * to now (known: {"name": ["addr", ...]}, may be NULL).
 */
void tw_ep_scan(const struct tw_policy *p, const struct tw_tables *t, json_t *known,
		const char *text, size_t len, long first_line, int skip_tier, tw_ep_cb cb,
		void *arg);

#endif
