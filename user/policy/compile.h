/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_COMPILE_H
#define TW_COMPILE_H

#include <stdint.h>
#include "policy.h"

/* Kernel memory the destination tables of one policy may take. */
#define TW_TABLE_BYTES_LIMIT	(512u << 20)

/* What the kernel maps hold for a policy; rule i is policy->rules[i]. */
struct tw_tables {
	int nrules;
	struct tw_rule *rules;
	/* IPv4 (maps/tierwall.h): v4_dir, v4_blocks, v4_l24 (keys ascending), v4_tail. */
	uint32_t *v4;			/* TW_DIR_L1 entries */
	uint32_t *blocks;		/* ndense * TW_DIR_BLOCK_SIZE */
	uint32_t ndense;		/* /16s with a dense block */
	uint32_t nblocks;		/* dense blocks painted (== ndense) */
	uint32_t nl24;
	uint32_t *l24_keys;		/* address >> 8 */
	uint32_t *l24_vals;
	uint32_t *tail;			/* TW_DIR_TAIL_SIZE entries per nibble block */
	uint32_t tail_len;
	/* IPv6: v6_pfx, keys by length then address; v6_lens. */
	int nv6;
	struct tw_v6_key *v6_keys;
	uint32_t *v6_vals;		/* rule index + 1 */
	struct tw_v6_lens v6_lens;
	/* Blocks and nibble blocks an in-place reload unlinked (user/kernel/dirdiff.c): free for the next one. */
	uint32_t *free_blk, nfree_blk, *free_tail, nfree_tail;
	/* rules, blocks and tail: freed, only in the kernel's maps (tw_fill_drop), or read-only views of them (tw_fill_share) */
	bool dropped, shared;
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
/* Bytes of a mapping of n array elements of size bytes (8-byte multiples): whole pages. */
size_t tw_tables_bytes(uint32_t n, size_t size);

/* Userspace mirror of the BPF decision (for `tierwall check --explain` and tests). */
int tw_tables_match(const struct tw_tables *t, int family, const uint8_t *addr,
		    uint16_t port);

#endif
