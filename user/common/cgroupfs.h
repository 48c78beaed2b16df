/* SPDX-License-Identifier: GPL-2.0 */
/* cgroupfs.c: the cgroup2 filesystem as the kernel shows it (below cgroupns.c and cgroup.c). */
#ifndef TW_CGROUPFS_H
#define TW_CGROUPFS_H

#include <stddef.h>

/* Mount point of the cgroup2 hierarchy (first in /proc/self/mountinfo). */
int tw_cgroup2_mount(char *out, size_t outlen);
/* A process's cgroup2 path exactly as the "0::" line of /proc/PID/cgroup gives it. */
int tw_pid_cgroup_raw(int pid, char *out, size_t len);

#endif
