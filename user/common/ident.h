/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The identities the kernel judges by, read from userspace for explain and
 * simulate: a cgroup's ancestors by level, a file's (dev, ino) and its
 * parents'.
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

/*
 * The file path names (symlinks followed) and its parents up to its
 * filesystem's root, nearest first, as the BPF LSM programs walk them: at
 * most max identities; *more when the filesystem goes on above them.
 * Returns how many, or -errno.
 */
int tw_file_chain(const char *path, struct tw_secret_key *keys, int max, bool *more);

#endif
