// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench_pods: how soon an untiered pod is released from pending (issue
 * 17). A real tierwalld on a private cgroup root whose "kubepods" is the
 * pods' root; each pod is a cgroup below it holding a waiting process, as
 * runc leaves a container before its first instruction. The runtime's
 * sandbox request is the OCI createRuntime hook's start: a child records the
 * time just before it execs tierwall-oci-hook with the container's state on
 * stdin, as runc does. The hook exits 0 only after tierwalld answered, and
 * tierwalld answers only after the tag is in the kernel's map: the time to
 * the hook's exit (seen by waitpid) is an upper bound of the release time.
 *
 * Rows, in one run: N pods at once (R rounds, every pod a fresh cgroup),
 * p50/p99/max over all N*R; one pod at a time (median); and the floor of
 * this machine: N processes of the same binary started at once doing
 * nothing (`--help`), which no daemon can beat. Measured, never asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

#define MAX_PODS	200
#define MAX_ROUNDS	20

static char mnt[512], build[512], dir[1024], root[1024], sock[1100];
static pid_t waiters[MAX_PODS * MAX_ROUNDS + 64];
static int nwaiters;

/* A process waiting in a new cgroup below the pods' root, as runc's init waits: its pid. */
static pid_t waiting_pod(const char *name)
{
	char cg[1200], path[1300], c;
	int p[2];
	pid_t pid;

	snprintf(cg, sizeof(cg), "%s/kubepods/%s", root, name);
	if (mkdir(cg, 0755) && errno != EEXIST)
		return -errno;
	if (pipe(p))
		return -errno;
	pid = fork();
	if (!pid) {
		int fd;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		fd = open(path, O_WRONLY);
		c = fd >= 0 && write(fd, "0", 1) == 1 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1 || c != 'y')
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'y') {
		close(p[0]);
		return -EIO;
	}
	close(p[0]);
	waiters[nwaiters++] = pid;
	return pid;
}

/*
 * Start n hooks at once (after one go signal), each with a pod's state;
 * ms[i]: its exec to its exit, <0 if it failed. help: the binary's
 * `--help` instead (the floor).
 */
static int hooks_at_once(int n, const pid_t *pods, const char *tag, bool help, double *ms)
{
	uint64_t *t0 = mmap(NULL, n * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char hook[1100], sockarg[1200];
	pid_t kids[MAX_PODS];
	int go[2], i, left = n;

	if (t0 == MAP_FAILED || pipe(go))
		return -errno;
	snprintf(hook, sizeof(hook), "%s/tierwall-oci-hook", build);
	snprintf(sockarg, sizeof(sockarg), "--socket=%s", sock);
	for (i = 0; i < n; i++) {
		kids[i] = fork();
		if (!kids[i]) {
			char state[1200], c;
			int in[2], null = open("/dev/null", O_WRONLY), err;

			close(go[1]);
			snprintf(state, sizeof(state), "{\"ociVersion\":\"1.0.2\",\"id\":\"%s%04d\",\"status\":"
				 "\"creating\",\"pid\":%d,\"bundle\":\"/\",\"annotations\":{}}", tag, i, pods[i]);
			if (pipe(in) || write(in[1], state, strlen(state)) != (ssize_t)strlen(state))
				_exit(126);
			close(in[1]);
			dup2(in[0], 0);
			/* The hook says one line per pod on stderr: kept, for a failure's why. */
			snprintf(state, sizeof(state), "%s/hooks.err", dir);
			err = open(state, O_WRONLY | O_CREAT | O_APPEND, 0600);
			dup2(null, 1);
			dup2(help ? null : err, 2);
			if (read(go[0], &c, 1) < 0)
				_exit(126);
			t0[i] = bench_now_ns();
			if (help)
				execl(hook, "tierwall-oci-hook", "--help", (char *)NULL);
			else
				execl(hook, "tierwall-oci-hook", "invoke", sockarg, "--timeout-ms=10000",
				      (char *)NULL);
			_exit(127);
		}
	}
	close(go[0]);
	close(go[1]);		/* go: every child's read returns */
	while (left > 0) {
		int st;
		pid_t p = wait(&st);
		uint64_t now = bench_now_ns();

		if (p < 0)
			break;
		for (i = 0; i < n; i++)
			if (kids[i] == p) {
				ms[i] = WIFEXITED(st) && !WEXITSTATUS(st) ? (now - t0[i]) / 1e6 : -1;
				left--;
			}
	}
	munmap(t0, n * sizeof(uint64_t));
	return left ? -ECHILD : 0;
}

static pid_t start_daemon(void)
{
	char policy[1100], logd[1100], out[1100], bin[1100], cmd[3000];
	FILE *f;
	pid_t p;
	int i;

	snprintf(policy, sizeof(policy), "%s/policy.json", dir);
	f = fopen(policy, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
		   " \"destinations\": [{\"tier\": \"prod\", \"cidrs\": [\"127.25.0.0/16\"]}],\n"
		   " \"kubernetes\": {\"pods_roots\": [\"/kubepods\"]}}\n");
	fclose(f);
	snprintf(logd, sizeof(logd), "%s/log", dir);
	snprintf(out, sizeof(out), "%s/daemon.out", dir);
	snprintf(bin, sizeof(bin), "%s/tierwalld", build);
	p = fork();
	if (!p) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "--policy", policy, "--cgroup-root", root, "--log-dir", logd, "--pin-dir", "none",
		      "--state-dir", dir, "--socket", sock, "--cri-socket", "none", (char *)NULL);
		_exit(127);
	}
	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s status --wait=60 >/dev/null 2>&1", build, sock);
	if (p > 0 && !system(cmd))
		return p;
	fprintf(stderr, "tw_bench_pods: tierwalld did not start; its output:\n");
	snprintf(cmd, sizeof(cmd), "cat %s >&2", out);
	i = system(cmd);
	(void)i;
	if (p > 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
	}
	return -1;
}

static void cleanup(pid_t daemon)
{
	char cmd[3000];
	int i;

	for (i = 0; i < nwaiters; i++) {
		kill(waiters[i], SIGKILL);
		waitpid(waiters[i], NULL, 0);
	}
	if (daemon > 0) {
		kill(daemon, SIGTERM);
		waitpid(daemon, NULL, 0);
	}
	/* Leaves first (rmdir of an emptied cgroup), then the root; then the files. */
	snprintf(cmd, sizeof(cmd), "find %s -depth -type d -exec rmdir {} + 2>/dev/null; rm -rf %s", root, dir);
	i = system(cmd);
	(void)i;
}

static double pct(double *v, int n, double p)
{
	int k = (int)(p * n + 0.999999) - 1;

	qsort(v, n, sizeof(*v), bench_cmp);
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static int run(int n, int rounds)
{
	static double all[MAX_PODS * MAX_ROUNDS], alone[20], floor_ms[MAX_PODS];
	pid_t pods[MAX_PODS];
	char name[64];
	int r, i, failed = 0;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "pod-r%d-%d", r, i);
			pods[i] = waiting_pod(name);
			if (pods[i] < 0) {
				fprintf(stderr, "tw_bench_pods: cannot make pod cgroup %s: %s\n", name,
					strerror(-pods[i]));
				return 1;
			}
		}
		snprintf(name, sizeof(name), "r%d-", r);
		if (hooks_at_once(n, pods, name, false, all + r * n))
			return 1;
	}
	for (i = 0; i < n * rounds; i++)
		failed += all[i] < 0;
	for (i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "pod-alone-%d", i);
		pods[0] = waiting_pod(name);
		if (pods[0] < 0 || hooks_at_once(1, pods, "alone-", false, &alone[i]))
			return 1;
		failed += alone[i] < 0;
	}
	if (hooks_at_once(n, pods, "floor-", true, floor_ms))
		return 1;
	if (failed) {
		fprintf(stderr, "tw_bench_pods: %d hooks did not place their pod (see %s/daemon.out)\n",
			failed, dir);
		return 1;
	}
	printf("| pods at once | rounds | p50 ms | p99 ms | max ms | one at a time: median ms | "
	       "floor (%d execs of --help at once): p50 / p99 ms | load average (%ld CPUs) |\n"
	       "|---|---|---|---|---|---|---|---|\n", n, sysconf(_SC_NPROCESSORS_ONLN));
	printf("| %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f / %.1f | %.1f |\n", n, rounds,
	       pct(all, n * rounds, 0.5), pct(all, n * rounds, 0.99), pct(all, n * rounds, 1.0),
	       bench_median(alone, 20), pct(floor_ms, n, 0.5), pct(floor_ms, n, 0.99),
	       ({ double l[1] = { 0 }; getloadavg(l, 1); l[0]; }));
	return 0;
}

int main(int argc, char **argv)
{
	int n = 50, rounds = 5, i, rc;
	char p[1200];
	pid_t daemon;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pods") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else
			n = 0;
	}
	if (n < 1 || n > MAX_PODS || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: tw_bench_pods [--pods N (1-%d, default 50)] [--rounds R (1-%d, default 5)]\n",
			MAX_PODS, MAX_ROUNDS);
		return 2;
	}
	f = popen("awk '$3 == \"cgroup2\" { print $2; exit }' /proc/self/mounts", "r");
	if (!f || !fgets(mnt, sizeof(mnt), f)) {
		fprintf(stderr, "tw_bench_pods: no cgroup2 mount\n");
		return 1;
	}
	pclose(f);
	mnt[strcspn(mnt, "\n")] = '\0';
	snprintf(build, sizeof(build), "%s", getenv("TW_BUILD_DIR") ? getenv("TW_BUILD_DIR") : "build");
	if (build[0] != '/' && getcwd(p, sizeof(p) - 600)) {
		strcat(p, "/");
		strcat(p, build);
		snprintf(build, sizeof(build), "%s", p);
	}
	snprintf(dir, sizeof(dir), "%s/benchpods-%d", build, getpid());
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(root, sizeof(root), "%s/tw-benchpods-%d", mnt, getpid());
	snprintf(p, sizeof(p), "%s/kubepods", root);
	if (mkdir(dir, 0700) || mkdir(root, 0755) || mkdir(p, 0755)) {
		fprintf(stderr, "tw_bench_pods: cannot make %s or %s: %s\n", dir, p, strerror(errno));
		return 1;
	}
	printf("tw_bench_pods: %d untiered pods' OCI createRuntime hooks at once, %d rounds: each from the hook's "
	       "exec to its exit (the tag is in the kernel's map then)\n", n, rounds);
	daemon = start_daemon();
	rc = daemon > 0 ? run(n, rounds) : 1;
	cleanup(daemon);
	return rc;
}
