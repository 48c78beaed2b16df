/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Filling a BPF object's policy maps (rules, v4_dir, v4_l24, v4_tail,
 * v6_pfx, v6_lens, tier_info, names) from compiled tables: one copy for the daemon's maps and for the
 * temporary maps `tierwall simulate` judges a draft policy with.
 */
#ifndef TW_FILL_H
#define TW_FILL_H

#include <bpf/libbpf.h>
#include "compile.h"
#include "policy.h"

/* rules, the destination tables and tier_info of obj; -errno. */
int tw_fill_tables(struct bpf_object *obj, const struct tw_tables *t, const struct tw_policy *p);
/*
 * After tw_fill_tables the kernel holds t's largest arrays (rules, blocks,
 * tail): tw_fill_drop frees the heap copies (the daemon's RSS), and
 * tw_fill_share maps obj's maps read-only in their place, for as long as
 * a lookup (tw_tables_match) needs them, until tw_fill_unshare. Mapped
 * pages count in RSS: share only around the lookups. -errno: unshared.
 */
void tw_fill_drop(struct tw_tables *t);
int tw_fill_share(struct bpf_object *obj, struct tw_tables *t);
void tw_fill_unshare(struct tw_tables *t);
/* The DNS guard's names trie; -errno. */
int tw_fill_names(struct bpf_map *names, const struct tw_tables *t);

#endif
