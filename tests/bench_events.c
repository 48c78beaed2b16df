// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench_events: how many events per second go from the kernel to the
 * hash-chained, rotated log, and what a burst the default ring buffer
 * absorbs while the daemon is not reading. Flood folding is off
 * (--flood-window 0) so that every decision is a record. Every event is
 * accounted for: logged, or counted lost by the kernel; the bench waits for
 * the daemon's drain reply (not a sleep) and fails on any unaccounted one.
 * TW_BENCH_SEAL=1 seals the log (tierwalld --seal-key) to measure its cost.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include "bench.h"
#include "net.h"

#define SECONDS		5
#define PRODUCERS	2

static char mnt[256], root[512], dir[512], sock[600], build[256];

static int sh(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

/* The drain request: every decision so far is logged; returns one of its counters. */
static long drain_counter(const char *name)
{
	char cmd[1024], out[8192], *at;

	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s drain --json", build, sock);
	if (sh(cmd, out, sizeof(out)))
		return -1;
	snprintf(cmd, sizeof(cmd), "\"%s\": ", name);
	at = strstr(out, cmd);
	return at ? atol(at + strlen(cmd)) : -1;
}

/* Denied connects until the deadline; each one a record (targets vary). */
static void produce(uint64_t until_ns, long *n)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(9) };
	long i = 0;

	while (bench_now_ns() < until_ns) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		sa.sin_addr.s_addr = htonl(0x7f140000u | (i & 0xffff));
		connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		i++;
	}
	*n = i;
}

static pid_t start_daemon(void)
{
	char bin[512], policy[600], cmd[2048];
	FILE *f;
	pid_t p;
	int i;

	snprintf(policy, sizeof(policy), "%s/policy.json", dir);
	f = fopen(policy, "w");
	fprintf(f, "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
		   "  \"cgroups\": [{\"path\": \"/p\", \"tier\": \"staging\"}],\n"
		   "  \"destinations\": [{\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"]}] }\n");
	fclose(f);
	snprintf(bin, sizeof(bin), "%s/tierwalld", build);
	snprintf(cmd, sizeof(cmd), "%s/tierwall keygen --seal-key %s/seal.key --verify-key %s/verify.key >/dev/null",
		 build, dir, dir);
	if (getenv("TW_BENCH_SEAL") && system(cmd))
		return -1;
	p = fork();
	if (!p) {
		char logd[600];

		snprintf(logd, sizeof(logd), "%s/log", dir);
		freopen("/dev/null", "w", stdout);
		if (getenv("TW_BENCH_SEAL")) {
			char key[600];

			snprintf(key, sizeof(key), "%s/seal.key", dir);
			execl(bin, bin, "--policy", policy, "--cgroup-root", root, "--log-dir", logd,
			      "--pin-dir", "none", "--state-dir", "none", "--socket", sock, "--flood-window", "0",
			      "--rotate-mb", "64", "--keep", "0", "--seal-key", key, (char *)NULL);
		}
		execl(bin, bin, "--policy", policy, "--cgroup-root", root, "--log-dir", logd,
		      "--pin-dir", "none", "--state-dir", "none", "--socket", sock, "--flood-window", "0",
		      "--rotate-mb", "64", "--keep", "0", (char *)NULL);
		_exit(127);
	}
	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s status >/dev/null 2>&1", build, sock);
	for (i = 0; i < 100; i++) {
		if (!system(cmd))
			return p;
		usleep(100 * 1000);
	}
	kill(p, SIGKILL);
	return -1;
}

static long logged_records(void)
{
	char cmd[1024], out[64];

	snprintf(cmd, sizeof(cmd), "%s/tierwall events --log-dir %s/log --kind connect | wc -l",
		 build, dir);
	return sh(cmd, out, sizeof(out)) ? -1 : atol(out);
}

int main(void)
{
	long made[PRODUCERS] = {}, total = 0, logged, drops, burst_n = 0, burst_logged, burst_drops;
	bool unaccounted = false;
	double cpu0, cpu1, secs;
	char cg[600], cmd[1200], out[64];
	uint64_t t0, t1;
	pid_t d, kids[PRODUCERS];
	int i, pipes[PRODUCERS][2];

	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(build, sizeof(build), "%s", getenv("TW_BUILD_DIR") ?: "build");
	if (sh("awk '$3 == \"cgroup2\" { print $2; exit }' /proc/self/mounts", mnt, sizeof(mnt)))
		return 1;
	mnt[strcspn(mnt, "\n")] = '\0';
	snprintf(root, sizeof(root), "%s/tw-evbench-%d", mnt, getpid());
	snprintf(cg, sizeof(cg), "%s/p", root);
	snprintf(dir, sizeof(dir), "%s/evbench-%d", build, getpid());
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	mkdir(dir, 0700);
	mkdir(root, 0755);
	mkdir(cg, 0755);
	d = start_daemon();
	if (d < 0) {
		fprintf(stderr, "tw_bench_events: tierwalld did not start\n");
		return 1;
	}

	if (getenv("TW_BENCH_NICE"))
		setpriority(PRIO_PROCESS, d, atoi(getenv("TW_BENCH_NICE")));
	/* Sustained: producers flat out for SECONDS, the daemon logging. */
	cpu0 = bench_cpu_secs(d);
	t0 = bench_now_ns();
	for (i = 0; i < PRODUCERS; i++) {
		pipe(pipes[i]);
		kids[i] = fork();
		if (!kids[i]) {
			tw_join_cgroup(cg);
			produce(t0 + SECONDS * 1000000000ull, &made[i]);
			write(pipes[i][1], &made[i], sizeof(made[i]));
			_exit(0);
		}
	}
	for (i = 0; i < PRODUCERS; i++) {
		read(pipes[i][0], &made[i], sizeof(made[i]));
		waitpid(kids[i], NULL, 0);
		total += made[i];
	}
	/* Not a sleep: the daemon says when everything decided so far is in the log. */
	drops = drain_counter("ringbuf_drops");
	t1 = bench_now_ns();
	cpu1 = bench_cpu_secs(d);
	secs = (double)(t1 - t0) / 1e9;
	logged = logged_records();
	printf("sustained: %ld decisions in %.1f s from %d producers: %ld logged, %ld lost (ring full), %ld unaccounted\n",
	       total, secs, PRODUCERS, logged, drops, total - logged - drops);
	printf("           %.0f records/s into the hash-chained%s log; daemon CPU %.2f s = %.2f us per record\n",
	       logged / secs, getenv("TW_BENCH_SEAL") ? ", sealed" : "", cpu1 - cpu0,
	       (cpu1 - cpu0) * 1e6 / (logged ? logged : 1));
	if (drops < 0 || total - logged - drops) {
		fprintf(stderr, "tw_bench_events: %ld decisions unaccounted for\n", total - logged - drops);
		unaccounted = true;
	}

	/* Burst: the daemon stopped, one producer for 1 s, then it drains. */
	kill(d, SIGSTOP);
	tw_join_cgroup(cg);
	produce(bench_now_ns() + 1000000000ull, &burst_n);
	tw_join_cgroup(mnt);
	kill(d, SIGCONT);
	burst_drops = drain_counter("ringbuf_drops") - drops;
	burst_logged = logged_records() - logged;
	printf("burst:     %ld decisions while the daemon was stopped: %ld logged, %ld lost (default 4 MiB ring), %ld unaccounted\n",
	       burst_n, burst_logged, burst_drops, burst_n - burst_logged - burst_drops);
	unaccounted |= burst_n - burst_logged - burst_drops != 0;

	kill(d, SIGTERM);
	waitpid(d, NULL, 0);
	tw_join_cgroup(mnt);
	rmdir(cg);
	rmdir(root);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	sh(cmd, out, sizeof(out));
	return unaccounted ? 1 : 0;
}
