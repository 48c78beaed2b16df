/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_CGROUP_H
#define TW_CGROUP_H

#include <limits.h>
#include <stdint.h>
#include <stddef.h>
#include "cgroupfs.h"
#include "cgroupns.h"

/* Kernel cgroup id of a cgroup2 directory (what bpf_get_current_cgroup_id returns). */
int tw_cgroup_id(const char *path, uint64_t *id);

/* Level of a cgroup below the cgroup2 mount (the mount itself is level 0). */
int tw_cgroup_level(const char *mount, const char *path);

/*
 * A CGROUP argument: absolute if it names a directory under root, else
 * relative to root. The result must exist and be a cgroup2 directory.
 */
int tw_cgroup_resolve(const char *root, const char *arg, char *out, size_t outlen);

/* Search root's subtree for the cgroup with this id; path into out. */
int tw_cgroup_find(const char *root, uint64_t id, char *out, size_t outlen);

/*
 * A process's cgroup2 path below the mount ("/a/b", from the "0::" line of
 * /proc/PID/cgroup), translated when we run in a cgroup namespace of our own.
 */
int tw_pid_cgroup(int pid, char *out, size_t len);

/* Is path a directory on a cgroup2 filesystem? */
int tw_is_cgroup2_dir(const char *path);

#endif
