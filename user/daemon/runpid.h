/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_RUNPID_H
#define TW_DAEMON_RUNPID_H

#include <stddef.h>
#include <sys/types.h>

/* Parent pid and start time (clock ticks since boot) of a process; -errno. */
int dm_proc_stat(int pid, int *ppid, unsigned long long *start);
/*
 * The process pidfd names, as this daemon's /proc numbers it, if it is a
 * live child of parent: its pid, or -errno with why filled in.
 */
int dm_pidfd_child(int pidfd, int parent, char *why, size_t len);
/*
 * Move the process pidfd names (pid) into the cgroup whose cgroup.procs is
 * procs: 0, or -errno with why filled in. -ESRCH: it was reaped during the
 * move, so the number may have named another process, which is moved back
 * to back_procs.
 */
int dm_pidfd_move(int pidfd, int pid, const char *procs, const char *back_procs, char *why,
		  size_t len);

#endif
