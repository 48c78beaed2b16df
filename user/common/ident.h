/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The identities the kernel judges by, read from userspace for explain and
 * simulate: a cgroup's ancestors by level (a file's are in levels.h).
 */
#ifndef TW_IDENT_H
#define TW_IDENT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "tierwall.h"

/*
 * ids[level] of cgroup abs and every ancestor below the cgroup2 mount
 * (level 0, the mount itself), as bpf_get_current_ancestor_cgroup_id()
 * gives them; 0 beyond. Returns abs's level or -errno.
 */
int tw_cgroup_ancestors(const char *mount, const char *abs, __u64 ids[TW_MAX_LEVELS]);

#endif
