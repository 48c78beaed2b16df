// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench_lsm: cost of open()+close() of a file that is NOT a secret, with
 * tierwall's BPF LSM programs attached, against no program, at 10, 1,000 and
 * 10,000 protected paths (half directories, half files, on the same
 * filesystem as the file opened, so the parent walk really runs), with the
 * whole daemon. Then one program at a time: self-protection's on its hot
 * paths, open() (file_open), fork()+wait (task_alloc), kill(pid, 0)
 * (task_kill), and what the hooks tierwall does NOT attach would cost
 * (tests/hookcost.bpf.c): file_permission on write(), inode_permission on
 * stat(). Runs where
 * BPF LSM loads: in the QEMU guest of tests/vm/bench.sh. TCG distorts
 * absolute time; only ratios within one boot mean anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "net.h"
#include "../user/kernel/guard.h"	/* not tests/guard.h (the DNS guard harness) */
#include "util.h"
#include "tests/hookcost.skel.h"

#define K_OPEN	20000
#define K_FORK	1000
#define K_KILL	50000
#define K_WRITE	50000
#define BASE	"/tmp/lsmbench"
#define CG	"/sys/fs/cgroup/lsmbench"
#define CG_OUT	"/sys/fs/cgroup/lsmbench-untagged"
#define FILE_	BASE "/plain/a/b/c/d/file.txt"

static const char *bin = "/bin";

static double loop_open(void)
{
	uint64_t t0 = bench_now_ns();
	int i, fd;

	for (i = 0; i < K_OPEN; i++) {
		fd = open(FILE_, O_RDONLY);
		if (fd < 0) {
			perror("tw_bench_lsm: open");
			exit(1);
		}
		close(fd);
	}
	return (double)(bench_now_ns() - t0) / K_OPEN;
}

static double loop_fork(void)
{
	uint64_t t0 = bench_now_ns();
	int i;

	for (i = 0; i < K_FORK; i++) {
		pid_t p = fork();

		if (!p)
			_exit(0);
		if (p < 0 || waitpid(p, NULL, 0) != p) {
			perror("tw_bench_lsm: fork");
			exit(1);
		}
	}
	return (double)(bench_now_ns() - t0) / K_FORK;
}

static pid_t sleeper;

static double loop_kill(void)
{
	uint64_t t0 = bench_now_ns();
	int i;

	for (i = 0; i < K_KILL; i++)
		if (kill(sleeper, 0)) {
			perror("tw_bench_lsm: kill");
			exit(1);
		}
	return (double)(bench_now_ns() - t0) / K_KILL;
}

static double loop_stat(void)
{
	uint64_t t0 = bench_now_ns();
	struct stat st;
	int i;

	for (i = 0; i < K_OPEN; i++)
		if (stat(FILE_, &st)) {
			perror("tw_bench_lsm: stat");
			exit(1);
		}
	return (double)(bench_now_ns() - t0) / K_OPEN;
}

static double loop_write(void)
{
	uint64_t t0 = bench_now_ns();
	int fd = open("/dev/null", O_WRONLY), i;

	for (i = 0; i < K_WRITE; i++)
		if (write(fd, "x", 1) != 1) {
			perror("tw_bench_lsm: write");
			exit(1);
		}
	close(fd);
	return (double)(bench_now_ns() - t0) / K_WRITE;
}

/*
 * Run a loop in a child that joins cg and reports back: this process stays
 * untagged, since a tiered process may not leave its tier.
 */
static double measure(double (*loop)(void), const char *cg)
{
	double v = -1;
	int p[2];
	pid_t c;

	if (pipe(p))
		exit(1);
	c = fork();
	if (!c) {
		if (!tw_join_cgroup(cg))
			v = loop();
		if (write(p[1], &v, sizeof(v)) != sizeof(v))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &v, sizeof(v)) != sizeof(v) || v < 0) {
		fprintf(stderr, "tw_bench_lsm: a measuring child failed (cgroup %s)\n", cg);
		exit(1);
	}
	close(p[0]);
	waitpid(c, NULL, 0);
	return v;
}

static int write_policy(int n)
{
	FILE *f = fopen(BASE "/policy.json", "w");
	char path[256];
	int i;

	if (!f)
		return -errno;
	fprintf(f, "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
		   "  \"cgroups\": [ {\"path\": \"/\", \"tier\": \"staging\"} ]");
	if (!n) {
		fprintf(f, " }\n");	/* no secrets: self-protection alone */
		return fclose(f) ? -errno : 0;
	}
	fprintf(f, ",\n  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [");
	for (i = 0; i < n; i++) {
		bool dir = i % 2 == 0;

		snprintf(path, sizeof(path), BASE "/secrets/%s%d%s", dir ? "d" : "f", i, dir ? "/" : "");
		if (dir)
			mkdir(path, 0755);
		else
			close(open(path, O_CREAT | O_WRONLY, 0644));
		fprintf(f, "%s\"%s\"", i ? "," : "", path);
	}
	fprintf(f, "] } ] }\n");
	return fclose(f) ? -errno : 0;
}

static pid_t start_daemon(void)
{
	char d[256], cmd[512];
	pid_t p;
	int i;

	snprintf(d, sizeof(d), "%s/tierwalld", bin);
	p = fork();
	if (!p) {
		int fd = open(BASE "/daemon.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(d, d, "--policy", BASE "/policy.json", "--cgroup-root", CG, "--log-dir",
		      BASE "/log", "--pin-dir", "none", "--state-dir", "none", "--socket", BASE "/ctl.sock", (char *)NULL);
		_exit(127);
	}
	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s status >/dev/null 2>&1", bin,
		 BASE "/ctl.sock");
	for (i = 0; i < 600; i++) {	/* 60 s: TCG loads BPF slowly */
		if (!system(cmd))
			return p;
		if (waitpid(p, NULL, WNOHANG) == p)
			break;
		usleep(100 * 1000);
	}
	system("cat " BASE "/daemon.out");
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	return -1;
}

static pid_t start_or_die(void)
{
	pid_t d = start_daemon();

	if (d < 0) {
		fprintf(stderr, "tw_bench_lsm: tierwalld did not start\n");
		exit(1);
	}
	return d;
}

static void stop_daemon(pid_t d)
{
	kill(d, SIGTERM);
	waitpid(d, NULL, 0);
}

/* open() at 10, 1,000 and 10,000 protected paths: secrets and self-protection. */
static void bench_secrets(int reps)
{
	static const int sizes[] = { 10, 1000, 10000 };
	double res[3][3];
	int s, r;

	printf("tw_bench_lsm: open()+close() of a non-secret file, %d interleaved repetitions, median ns\n",
	       reps);
	for (s = 0; s < 3; s++) {
		double base[16], tier[16], untag[16];

		system("rm -rf " BASE "/secrets && mkdir -p " BASE "/secrets");
		if (write_policy(sizes[s]))
			exit(1);
		for (r = 0; r < reps; r++) {
			pid_t d;

			base[r] = measure(loop_open, CG);
			d = start_or_die();
			tier[r] = measure(loop_open, CG);
			untag[r] = measure(loop_open, CG_OUT);
			stop_daemon(d);
			/* Before and after: a machine that slows down meanwhile skews neither side. */
			base[r] = (base[r] + measure(loop_open, CG)) / 2;
		}
		res[s][0] = bench_median(base, reps);
		res[s][1] = bench_median(tier, reps);
		res[s][2] = bench_median(untag, reps);
		printf("measured %d protected paths\n", sizes[s]);
	}
	printf("\n| protected paths | no program | tiered process | untagged process |\n|---|---|---|---|\n");
	for (s = 0; s < 3; s++)
		printf("| %d | %.0f | %.0f (%.3fx) | %.0f (%.3fx) |\n", sizes[s], res[s][0],
		       res[s][1], res[s][1] / res[s][0], res[s][2], res[s][2] / res[s][0]);
}

/*
 * One program attached at a time, measured in this process with it and
 * without it (before and after): self-protection's own programs on their
 * hot paths, and an almost empty program on the two hooks tierwall leaves
 * alone. On these paths a tiered caller runs exactly what an untagged one
 * does (each program leaves before the tier lookup: a read-only open of an
 * ordinary file, fork() without CLONE_INTO_CGROUP, a signal to a process
 * other than tierwalld), so one column says it.
 */
static void bench_hooks(int reps)
{
	struct hookcost_bpf *hc = hookcost_bpf__open_and_load();
	struct protect_bpf *pr;
	char why[256];
	struct {
		const char *name;
		double (*loop)(void);
		struct bpf_program *prog;
		double off[16], on[16];
	} h[] = {
		{ .name = "open()+close() of a file (file_open, self-protection)", .loop = loop_open },
		{ .name = "fork()+wait (task_alloc, self-protection)", .loop = loop_fork },
		{ .name = "kill(pid, 0) (task_kill, self-protection)", .loop = loop_kill },
		{ .name = "write() of 1 byte to /dev/null (file_permission, not attached)", .loop = loop_write },
		{ .name = "stat() of a file 5 directories deep (inode_permission, not attached)",
		  .loop = loop_stat },
	};
	int i, r, n = ARRAY_SIZE(h);

	pr = tw_guard_open(why, sizeof(why));
	if (!hc || !pr || tw_guard_load(pr, why, sizeof(why))) {
		fprintf(stderr, "tw_bench_lsm: cannot load the programs: %s\n", hc ? why : "hookcost");
		exit(1);
	}
	h[0].prog = bpf_object__find_program_by_name(tw_guard_obj(pr), "tw_guard_open");
	h[1].prog = bpf_object__find_program_by_name(tw_guard_obj(pr), "tw_guard_clone");
	h[2].prog = bpf_object__find_program_by_name(tw_guard_obj(pr), "tw_guard_kill");
	h[3].prog = hc->progs.cost_file_permission;
	h[4].prog = hc->progs.cost_inode_permission;
	sleeper = fork();
	if (!sleeper) {
		pause();
		_exit(0);
	}
	for (r = 0; r < reps; r++)
		for (i = 0; i < n; i++) {
			struct bpf_link *l;

			h[i].off[r] = h[i].loop();
			l = bpf_program__attach_lsm(h[i].prog);
			if (!l) {
				fprintf(stderr, "tw_bench_lsm: cannot attach for %s\n", h[i].name);
				exit(1);
			}
			h[i].on[r] = h[i].loop();
			bpf_link__destroy(l);
			h[i].off[r] = (h[i].off[r] + h[i].loop()) / 2;
		}
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	printf("\none program attached at a time, %d interleaved repetitions, median ns\n", reps);
	printf("\n| loop (hook) | no program | program attached |\n|---|---|---|\n");
	for (i = 0; i < n; i++) {
		double off = bench_median(h[i].off, reps), on = bench_median(h[i].on, reps);

		printf("| %s | %.0f | %.0f (%.3fx) |\n", h[i].name, off, on, on / off);
	}
	tw_guard_destroy(pr);
	hookcost_bpf__destroy(hc);
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 3;

	if (reps < 1 || reps > 15)
		reps = 3;
	if (getenv("TW_BUILD_DIR"))
		bin = getenv("TW_BUILD_DIR");
	setvbuf(stdout, NULL, _IOLBF, 0);
	system("rm -rf " BASE " && mkdir -p " BASE "/secrets " BASE "/plain/a/b/c/d && "
	       "echo x > " FILE_);
	mkdir(CG, 0755);
	mkdir(CG_OUT, 0755);
	bench_secrets(reps);
	bench_hooks(reps);
	rmdir(CG);
	rmdir(CG_OUT);
	return 0;
}
