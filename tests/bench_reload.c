// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench_reload: a reload that changes 1% of a threat feed's
 * 1,000,000 scattered prefixes (every 100th moved to a /24 nothing else
 * uses): `tierwall reload`'s wall time, the daemon's CPU for it and its
 * peak RSS during it (VmHWM reset before each reload), applied in place
 * and back, then the same change with a tier's setting changed too, which
 * swaps programs (the way every reload went before).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "benchd.h"
#include "benchset.h"

/* Every 100th prefix to the /24 of index n + i of the same scattering (benchset.c), unused by the rest. */
static void change_1pct(struct cidr *c, int n)
{
	int i;

	for (i = 1; i < n; i += 100) {
		uint32_t x = (uint64_t)(n + i) * 2654435761u % (251u << 16), top = 1 + (x >> 16);

		top = top == 10 ? 252 : top == 100 ? 253 : top == 127 ? 254 : top;
		c[i].addr = (top << 24 | (x & 0xffff) << 8) | (c[i].addr & 0xff);
	}
}

/* The same file with prod logging all use: a change beyond the destinations. */
static int with_log_all(const char *in, const char *out)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "sed '1s/\"prod\": {}/\"prod\": {\"log\": \"all\"}/' %s > %s", in, out);
	return system(cmd) ? -EIO : 0;
}

static void reset_hwm(const struct benchd *b)
{
	char p[64];
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/clear_refs", b->pid);
	f = fopen(p, "w");
	if (f) {
		fputs("5", f);	/* resets VmHWM to the current RSS */
		fclose(f);
	}
}

static int one_reload(struct benchd *b, const char *label, const char *src, const char *policy, long rest)
{
	char cmd[2048];
	double secs, cpu = bench_cpu_secs(b->pid);
	long rss, hwm;
	int st;

	snprintf(cmd, sizeof(cmd), "cp %s %s", src, policy);
	if (system(cmd))
		return -EIO;
	reset_hwm(b);
	st = benchd_reload(b, &secs);
	cpu = bench_cpu_secs(b->pid) - cpu;
	benchd_rss(b, &rss, &hwm);
	printf("  %-34s %7.3f s (goal 0.200)  daemon CPU %6.3f s  peak RSS %5ld MB = %.2fx at rest (goal < 1.5x)%s\n",
	       label, secs, cpu, hwm / 1024, (double)hwm / rest, st ? "  FAILED" : "");
	return st ? -EIO : 0;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000000, err;
	char a[700], bp[700], c[700], policy[700], cmd[800];
	struct cidr *cs;
	struct benchd d;
	long rss, hwm;

	if (n < 1000) {
		fprintf(stderr, "usage: tw_bench_reload [PREFIXES >= 1000]\n");
		return 2;
	}
	if (benchd_init(&d, "tw-bench-reload")) {
		fprintf(stderr, "tw_bench_reload: cannot make its scratch dir and cgroups (root? cgroup2?)\n");
		return 1;
	}
	snprintf(a, sizeof(a), "%s/a.json", d.dir);
	snprintf(bp, sizeof(bp), "%s/b.json", d.dir);
	snprintf(c, sizeof(c), "%s/c.json", d.dir);
	snprintf(policy, sizeof(policy), "%s/policy.json", d.dir);
	cs = make_cidrs(-n);
	err = write_policy(a, cs, n, 0);
	change_1pct(cs, n);
	err = err ?: write_policy(bp, cs, n, 0);
	free(cs);
	err = err ?: with_log_all(bp, c);
	snprintf(cmd, sizeof(cmd), "cp %s %s", a, policy);
	err = err ?: (system(cmd) ? -EIO : 0);
	err = err ?: benchd_start(&d, policy);
	if (err) {
		fprintf(stderr, "tw_bench_reload: the daemon did not start on %d prefixes: %s\n", n, strerror(-err));
		benchd_cleanup(&d);
		return 1;
	}
	benchd_rss(&d, &rss, &hwm);
	printf("%d scattered prefixes, 1%% changed (%d moved): started in %.2f s, at rest %ld MB RSS (start peak %ld MB)\n",
	       n, (n + 98) / 100, d.start_s, rss / 1024, hwm / 1024);
	err = one_reload(&d, "in place (1% changed)", bp, policy, rss);
	err = err ?: one_reload(&d, "in place (back)", a, policy, rss);
	err = err ?: one_reload(&d, "program swap (1% + a tier's log)", c, policy, rss);
	/* The daemon's own account: how long the in-place step took after parsing and compiling. */
	snprintf(cmd, sizeof(cmd), "grep -o 'in place in [0-9]* ms.*' %s/daemon.out | sed 's/^/  daemon: /'", d.dir);
	if (system(cmd))
		printf("  (no in-place reload in the daemon's output)\n");
	benchd_cleanup(&d);
	return err ? 1 : 0;
}
