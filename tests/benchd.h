/* SPDX-License-Identifier: GPL-2.0 */
/* The scale benchmarks' daemon (benchd.c): started on a policy, ready when `tierwall status` answers. */
#ifndef TW_BENCHD_H
#define TW_BENCHD_H

#include <sys/types.h>

struct benchd {
	char dir[512];		/* scratch: socket, log, output */
	char root[512];		/* its cgroup root, with /staging below */
	char build[512];
	pid_t pid;
	double start_s;		/* exec to the first status that exits 0 */
};

/* A scratch dir and cgroup root named by tag; -errno. */
int benchd_init(struct benchd *b, const char *tag);
int benchd_start(struct benchd *b, const char *policy);
/* `tierwall reload`: its exit status; *secs its wall time. */
int benchd_reload(struct benchd *b, double *secs);
/* VmRSS and VmHWM of the daemon, kB. */
void benchd_rss(const struct benchd *b, long *rss, long *hwm);
void benchd_stop(struct benchd *b);
/* Remove the scratch dir and the cgroups. */
void benchd_cleanup(struct benchd *b);

#endif
