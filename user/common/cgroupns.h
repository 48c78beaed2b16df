/* SPDX-License-Identifier: GPL-2.0 */
/* cgroupns.c: a cgroup namespace of our own (below cgroup.c, above cgroupfs.c). */
#ifndef TW_CGROUPNS_H
#define TW_CGROUPNS_H

#include <stddef.h>

/* a/b with "." and ".." resolved ("/" at least). */
int tw_cgroup_join(const char *a, const char *b, char *out, size_t len);
/*
 * Once, at start: if the cgroup2 mount shows more than our cgroup namespace,
 * find the namespace's root in it (into root) and return 1; 0 if not; -errno.
 */
int tw_cgroupns_init(char *root, size_t len);
/* The namespace's root below the mount, "" if the paths need no translation. */
const char *tw_cgroupns_root(void);

#endif
