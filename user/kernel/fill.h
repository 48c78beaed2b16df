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
/* The DNS guard's names trie; -errno. */
int tw_fill_names(struct bpf_map *names, const struct tw_tables *t);

#endif
