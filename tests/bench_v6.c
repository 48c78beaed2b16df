// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench_v6: per-call cost of IPv6 connect() and sendto() from a tiered
 * cgroup with 200,000 scattered IPv6 prefixes (/48 to /128, every 8th
 * length) owned by another tier, against no program and against nftables
 * holding the same prefixes, interleaved in one run; ratios against the
 * no-program loop are the result. The destination (::1) is in no prefix,
 * so tierwall probes every length in use: its worst case.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "bench.h"
#include "benchd.h"
#include "net.h"

#define V6_PREFIXES	200000
#define K_CONNECT	30000
#define K_SENDTO	100000
#define PORT_TCP	9
#define PORT_UDP	19999

enum { V_NONE, V_NFT, V_TW, NV };
static const char *const vname[NV] = { "none", "nftables", "tierwall" };
static clockid_t clk = CLOCK_MONOTONIC;

static uint64_t now(void)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

/* Prefix i: random in 2000::/3, length 48 + 8 * (i % 11), host bits zero. */
static void prefix(char *out, size_t len)
{
	static int i;
	uint8_t a[16];
	int l = 48 + 8 * (i++ % 11), b;
	uint64_t x = rnd(), y = rnd();

	memcpy(a, &x, 8);
	memcpy(a + 8, &y, 8);
	a[0] = 0x20 | (a[0] & 0x1f);
	for (b = l; b < 128; b++)
		a[b / 8] &= ~(0x80 >> (b % 8));
	inet_ntop(AF_INET6, a, out, len);
	snprintf(out + strlen(out), len - strlen(out), "/%d", l);
}

/* The policy and the nftables file of the same prefixes (nft merges what overlaps). */
static int write_sets(const char *pol, const char *nft, const char *cg)
{
	FILE *p = fopen(pol, "w"), *n = fopen(nft, "w");
	char s[64];
	int i;

	if (!p || !n)
		return -errno;
	fprintf(p, "{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		   "  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
		   "  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [");
	fprintf(n, "table inet twbench6 {\n set prod6 { type ipv6_addr; flags interval; auto-merge; elements = { ");
	for (i = 0; i < V6_PREFIXES; i++) {
		prefix(s, sizeof(s));
		fprintf(p, "%s\"%s\"", i ? "," : "", s);
		fprintf(n, "%s%s", i ? ", " : "", s);
	}
	fprintf(p, "] } ] }\n");
	fprintf(n, " } }\n chain out { type filter hook output priority 0; policy accept;\n"
		   "  socket cgroupv2 level 1 \"%s\" ip6 daddr @prod6 reject\n }\n}\n", cg);
	return fclose(p) | fclose(n) ? -EIO : 0;
}

static void lo6(struct sockaddr_in6 *sa, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(port);
	sa->sin6_addr = in6addr_loopback;
}

static double loop_connect(int k, int *err)
{
	struct sockaddr_in6 sa;
	uint64_t t0;
	int i, fd;

	lo6(&sa, PORT_TCP);
	t0 = now();
	for (i = 0; i < k; i++) {
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
		*err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
		close(fd);
	}
	return (double)(now() - t0) / k;
}

static double loop_sendto(int k, int *err)
{
	struct sockaddr_in6 sa;
	uint64_t t0;
	int i, fd = socket(AF_INET6, SOCK_DGRAM, 0);

	lo6(&sa, PORT_UDP);
	t0 = now();
	for (i = 0; i < k; i++)
		*err = sendto(fd, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	t0 = now() - t0;
	close(fd);
	return (double)t0 / k;
}

static int join_rel(const char *rel)
{
	char p[700];

	snprintf(p, sizeof(p), "/sys/fs/cgroup/%s", rel);
	return tw_join_cgroup(p);
}

/* In private namespaces, variants interleaved per repetition; medians to out as "v loop ns". */
static int measure(int reps, const char *nft, const char *const cg[NV], FILE *out)
{
	double r[NV][2][16] = {};
	struct sockaddr_in6 sa;
	char cmd[800];
	int rep, v, err, sink = socket(AF_INET6, SOCK_DGRAM, 0);

	lo6(&sa, PORT_UDP);
	if (bind(sink, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	snprintf(cmd, sizeof(cmd), "nft -f %s", nft);
	for (rep = 0; rep < reps; rep++) {
		for (v = 0; v < NV; v++) {
			if (v == V_NFT && system(cmd))
				return -EIO;
			if (join_rel(cg[v]))
				return -EPERM;
			loop_connect(1000, &err);	/* warm up */
			r[v][0][rep] = loop_connect(K_CONNECT, &err);
			if (err != ECONNREFUSED && err != EINPROGRESS) {
				fprintf(stderr, "tw_bench_v6: %s connect: unexpected %s\n", vname[v], strerror(err));
				return -EIO;
			}
			r[v][1][rep] = loop_sendto(K_SENDTO, &err);
			if (err) {
				fprintf(stderr, "tw_bench_v6: %s sendto: %s\n", vname[v], strerror(err));
				return -EIO;
			}
			if (v == V_NFT && system("nft delete table inet twbench6"))
				return -EIO;
		}
	}
	join_rel(cg[V_NONE]);
	for (v = 0; v < NV; v++)
		fprintf(out, "%d %.1f %.1f\n", v, bench_median(r[v][0], reps), bench_median(r[v][1], reps));
	return 0;
}

static int run(struct benchd *d, int reps, double res[NV][2])
{
	char pol[700], nft[700], resf[700], cg[NV][700], mnt[600], *slash;
	const char *cgp[NV];
	int v, st, err;
	FILE *f;
	pid_t m;

	snprintf(mnt, sizeof(mnt), "%s", d->root);
	slash = strrchr(mnt, '/');
	snprintf(cg[V_TW], sizeof(cg[0]), "%s/staging", slash + 1);
	snprintf(cg[V_NONE], sizeof(cg[0]), "%s-base", slash + 1);
	snprintf(cg[V_NFT], sizeof(cg[0]), "%s-nft", slash + 1);
	*slash = 0;
	for (v = 0; v < NV; v++) {
		char p[1400];

		cgp[v] = cg[v];
		snprintf(p, sizeof(p), "%s/%s", mnt, cg[v]);
		mkdir(p, 0755);
	}
	snprintf(pol, sizeof(pol), "%s/policy.json", d->dir);
	snprintf(nft, sizeof(nft), "%s/rules.nft", d->dir);
	snprintf(resf, sizeof(resf), "%s/results", d->dir);
	err = write_sets(pol, nft, cg[V_NFT]);
	err = err ?: benchd_start(d, pol);
	if (err) {
		fprintf(stderr, "tw_bench_v6: tierwalld did not start on %d IPv6 prefixes: %s\n", V6_PREFIXES,
			strerror(-err));
		return err;
	}
	printf("%d scattered IPv6 prefixes (/48 to /128, 11 lengths): tierwall enforced %.2f s after exec\n",
	       V6_PREFIXES, d->start_s);
	fflush(NULL);
	m = fork();
	if (!m) {
		/* Private netns (nftables never touches the host's) and mount ns (cgroup2 where nft looks). */
		if (unshare(CLONE_NEWNET | CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL) || system("ip link set lo up"))
			_exit(10);
		f = fopen(resf, "w");
		_exit(f && !measure(reps, nft, cgp, f) && !fclose(f) ? 0 : 11);
	}
	waitpid(m, &st, 0);
	benchd_stop(d);
	for (v = 0; v < NV; v++) {
		char p[1400];

		snprintf(p, sizeof(p), "%s/%s", mnt, cg[v]);
		if (v != V_TW)
			rmdir(p);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		return -EIO;
	f = fopen(resf, "r");
	while (f && fscanf(f, "%d", &v) == 1 && v >= 0 && v < NV)
		if (fscanf(f, "%lf %lf", &res[v][0], &res[v][1]) != 2)
			break;
	if (f)
		fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	double res[NV][2] = {};
	struct benchd d;
	int reps = 5, i, v, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--cpu-time"))
			clk = CLOCK_THREAD_CPUTIME_ID;
		else
			reps = 0;
	}
	if (reps < 1 || reps > 15) {
		fprintf(stderr, "usage: tw_bench_v6 [--reps N (1-15)] [--cpu-time]\n");
		return 2;
	}
	if (benchd_init(&d, "tw-bench-v6")) {
		fprintf(stderr, "tw_bench_v6: cannot make its scratch dir and cgroups (root? cgroup2?)\n");
		return 1;
	}
	err = run(&d, reps, res);
	benchd_cleanup(&d);
	if (err) {
		fprintf(stderr, "tw_bench_v6: measuring failed\n");
		return 1;
	}
	printf("IPv6, median of %d (%s ns per call; ratio to no program)\n", reps,
	       clk == CLOCK_MONOTONIC ? "wall" : "CPU");
	printf("  %-10s %18s %18s\n", "", "tcp connect ::1", "udp sendto ::1");
	for (v = 0; v < NV; v++)
		printf("  %-10s %9.0f (%5.3fx) %9.0f (%5.3fx)\n", vname[v], res[v][0], res[v][0] / res[V_NONE][0],
		       res[v][1], res[v][1] / res[V_NONE][1]);
	printf("  goals: tierwall connect <= 1.03x, sendto <= 1.05x\n");
	return 0;
}
