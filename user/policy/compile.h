/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_COMPILE_H
#define TW_COMPILE_H

#include <stdint.h>
#include "policy.h"

/* Most DIR blocks one policy may need (1 KiB each): 128 MiB of table. */
#define TW_DIR_BLOCK_LIMIT	131072

/* What the kernel maps hold for a policy; rule i is policy->rules[i]. */
struct tw_tables {
	int nrules;
	struct tw_rule *rules;
	uint32_t *v4;			/* TW_DIR_L1 + nblocks * TW_DIR_BLOCK_SIZE */
	uint32_t v4_len;
	uint32_t nblocks;
	int nv6;
	struct tw_lpm6_key *v6_keys;
	uint32_t *v6_vals;		/* rule index + 1 */
	/* Hostnames for the DNS guard; rules [p->nrules, nrules) are their entries'. */
	int nnames;
	struct tw_name_key *names;
	struct tw_name_val *name_vals;
};

/* The names trie key of a normalised policy hostname (exact or "*.suffix"). */
void tw_name_key(const char *name, struct tw_name_key *k);

/* Build the tables; -EINVAL with diagnostics when the policy cannot be encoded. */
int tw_compile(const struct tw_policy *p, struct tw_tables *t, struct tw_diags *d);
void tw_tables_free(struct tw_tables *t);

/* Userspace mirror of the BPF decision (for `tierwall check --explain` and tests). */
int tw_tables_match(const struct tw_tables *t, int family, const uint8_t *addr,
		    uint16_t port);

#endif
