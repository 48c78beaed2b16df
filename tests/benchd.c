// SPDX-License-Identifier: GPL-2.0
/* The scale benchmarks' daemon (see benchd.h). */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "bench.h"
#include "benchd.h"
#include "cgroupfs.h"

int benchd_init(struct benchd *b, const char *tag)
{
	char mnt[256], cg[600];
	ssize_t n;

	memset(b, 0, sizeof(*b));
	n = readlink("/proc/self/exe", b->build, sizeof(b->build) - 1);
	if (n <= 0 || !strrchr(b->build, '/') || tw_cgroup2_mount(mnt, sizeof(mnt)))
		return -ENOENT;
	*strrchr(b->build, '/') = 0;	/* the binaries beside this one */
	snprintf(b->dir, sizeof(b->dir), "/tmp/%s-%d", tag, getpid());
	snprintf(b->root, sizeof(b->root), "%s/%s-%d", mnt, tag, getpid());
	snprintf(cg, sizeof(cg), "%s/staging", b->root);
	if (mkdir(b->dir, 0700) || mkdir(b->root, 0755) || mkdir(cg, 0755))
		return -errno;
	return 0;
}

static int status_ok(const struct benchd *b)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s/ctl.sock status >/dev/null 2>&1", b->build, b->dir);
	return !system(cmd);
}

int benchd_start(struct benchd *b, const char *policy)
{
	char bin[600], logd[600], sock[600], out[600];
	uint64_t t0 = bench_now_ns();
	int i;

	snprintf(bin, sizeof(bin), "%s/tierwalld", b->build);
	snprintf(logd, sizeof(logd), "%s/log", b->dir);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", b->dir);
	snprintf(out, sizeof(out), "%s/daemon.out", b->dir);
	fflush(NULL);
	b->pid = fork();
	if (!b->pid) {
		if (!freopen(out, "w", stdout) || dup2(1, 2) < 0)
			_exit(126);
		execl(bin, bin, "--policy", policy, "--cgroup-root", b->root, "--log-dir", logd,
		      "--pin-dir", "none", "--state-dir", "none", "--socket", sock, (char *)NULL);
		_exit(127);
	}
	/* Asked every 10 ms until it answers; bounded at 120 s. */
	for (i = 0; i < 12000; i++) {
		if (status_ok(b)) {
			b->start_s = (bench_now_ns() - t0) / 1e9;
			return 0;
		}
		if (waitpid(b->pid, NULL, WNOHANG) == b->pid) {
			b->pid = 0;
			return -ECHILD;
		}
		usleep(10 * 1000);
	}
	benchd_stop(b);
	return -ETIMEDOUT;
}

int benchd_reload(struct benchd *b, double *secs)
{
	char cmd[2048];
	uint64_t t0 = bench_now_ns();
	int st;

	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s/ctl.sock reload >/dev/null", b->build, b->dir);
	st = system(cmd);
	*secs = (bench_now_ns() - t0) / 1e9;
	return st;
}

void benchd_rss(const struct benchd *b, long *rss, long *hwm)
{
	char path[64], line[256];
	FILE *f;

	*rss = *hwm = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", b->pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", hwm);
	}
	if (f)
		fclose(f);
}

void benchd_stop(struct benchd *b)
{
	if (b->pid <= 0)
		return;
	kill(b->pid, SIGTERM);
	waitpid(b->pid, NULL, 0);
	b->pid = 0;
}

void benchd_cleanup(struct benchd *b)
{
	char p[600];

	benchd_stop(b);
	snprintf(p, sizeof(p), "%s/staging", b->root);
	rmdir(p);
	rmdir(b->root);
	if (b->dir[0] && !strncmp(b->dir, "/tmp/", 5)) {
		snprintf(p, sizeof(p), "rm -rf '%s'", b->dir);
		if (system(p))
			fprintf(stderr, "benchd: cannot remove %s\n", b->dir);
	}
}
