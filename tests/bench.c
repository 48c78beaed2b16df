// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench: cost of connect() and sendto() from a tiered cgroup with
 * tierwall's programs attached, against the same loop with no program and
 * against nftables (socket cgroupv2 match + interval set of the same CIDRs),
 * all in one run, interleaved, at several rule counts. Ratios against the
 * no-program baseline of the same run are the result; absolute ns drift.
 *
 * "tierwall+names" is a second daemon whose policy also owns 1,000 wildcard
 * hostnames, so it pays for the DNS guard too (a cgroup_skb program that sees
 * every packet a tiered socket sends); its "dns query" loop sends a query for
 * an unowned name to port 53, which the guard parses in full and looks up.
 * The socket() loop pays for the sock_create program every tiered socket()
 * runs (it judges the socket's kind: TCP and UDP pass after one check).
 *
 * The measuring process lives in a private network and mount namespace:
 * nftables rules never touch the host's firewall, and the deny-path
 * addresses exist only on that namespace's loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include "bench.h"
#include "benchset.h"
#include "net.h"

#define REPS_DEFAULT	5
#define K_CONNECT	30000
#define K_SENDTO	100000
#define K_DENY		20000
#define K_DNS		50000
#define K_SOCKET	100000
#define N_HOSTNAMES	1000
#define PORT_TCP	9
#define PORT_UDP	19999
#define MAX_SIZES	8

enum variant { V_NONE, V_NFT, V_TW, V_TWH, NV };
enum loop { L_CONNECT, L_SENDTO, L_DENY, L_DNS, L_SOCKET, NL };
static const char *const vname[NV] = { "none", "nftables", "tierwall", "tierwall+names" };
static const char *const lname[NL] = { "tcp connect", "udp sendto", "deny connect", "udp dns query (unowned name)",
				       "udp socket() + close" };

static char mnt[512], tmp[512], build[512];

/* Start: exec to the first `tierwall status` that exits 0, and nftables loading the same set. */
struct start_fig {
	double wall, cpu, nft;
};
/* --cpu-time: the loop's own CPU time, for a machine other work keeps busy. */
static clockid_t loop_clock = CLOCK_MONOTONIC;

static uint64_t loop_now(void)
{
	struct timespec ts;

	clock_gettime(loop_clock, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}
static int pid_tag;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* ---- the loops ---- */

static void addr4(struct sockaddr_in *sa, const char *ip, int port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sa->sin_addr);
}

/* ns per socket+connect+close; *err gets the errno connect reported. */
static double loop_connect(const char *ip, int k, int *err)
{
	struct sockaddr_in sa;
	uint64_t t0;
	int i, fd;

	addr4(&sa, ip, PORT_TCP);
	t0 = loop_now();
	for (i = 0; i < k; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			*err = errno;
		else
			*err = 0;
		close(fd);
	}
	return (double)(loop_now() - t0) / k;
}

/* ns per sendto() of buf to ip:port on one unconnected UDP socket. */
static double loop_send(const char *ip, int port, const void *buf, size_t len, int k, int *err)
{
	struct sockaddr_in sa;
	uint64_t t0;
	int i, fd;

	addr4(&sa, ip, port);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	t0 = loop_now();
	for (i = 0; i < k; i++)
		*err = sendto(fd, buf, len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	t0 = loop_now() - t0;
	close(fd);
	return (double)t0 / k;
}

static double loop_sendto(const char *ip, int k, int *err)
{
	return loop_send(ip, PORT_UDP, "x", 1, k, err);
}

/* A DNS query for an unowned name, sent to the sink on port 53. */
static double loop_dns(int k, int *err)
{
	unsigned char wire[64], msg[128];
	size_t ml = tw_dns_msg(msg, 1, wire, tw_dns_wire("www.svc7.staging.test", wire), 1);

	return loop_send("127.0.0.1", 53, msg, ml, k, err);
}

/* ns per socket() + close(): the sock_create program runs at every socket(). */
static double loop_socket(int k, int *err)
{
	uint64_t t0 = loop_now();
	int i, fd;

	for (i = 0; i < k; i++) {
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		*err = fd < 0 ? errno : 0;
		close(fd);
	}
	return (double)(loop_now() - t0) / k;
}

/* Join a cgroup by its path below the (remounted) cgroup2 root. */
static int join(const char *rel)
{
	char p[1024];

	snprintf(p, sizeof(p), "/sys/fs/cgroup/%s", rel);
	return tw_join_cgroup(p);
}
/*
 * In the private namespaces: interleave variants within each repetition so
 * drift hits all of them alike. Writes "variant loop median" lines to out.
 */
static int measure(int reps, const char *nft_file, FILE *out)
{
	char cg_base[128], cg_tw[128], cg_twh[128], cg_nft[128];
	double r[NV][NL + 1][16] = {};
	int rep, v, l, err, sink, dns_sink;
	struct sockaddr_in sa;

	snprintf(cg_base, sizeof(cg_base), "tw-bench-%d-base", pid_tag);
	snprintf(cg_tw, sizeof(cg_tw), "tw-bench-%d/staging", pid_tag);
	snprintf(cg_twh, sizeof(cg_twh), "tw-bench-%d-names/staging", pid_tag);
	snprintf(cg_nft, sizeof(cg_nft), "tw-bench-%d-nft", pid_tag);

	/* A sink that is never read: sendto() stays cheap and local. */
	sink = socket(AF_INET, SOCK_DGRAM, 0);
	addr4(&sa, "127.0.0.1", PORT_UDP);
	if (bind(sink, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	dns_sink = socket(AF_INET, SOCK_DGRAM, 0);
	addr4(&sa, "127.0.0.1", 53);
	if (bind(dns_sink, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;

	for (rep = 0; rep < reps; rep++) {
		for (v = 0; v < NV; v++) {
			const char *cg = v == V_NONE ? cg_base : v == V_TW ? cg_tw : v == V_TWH ? cg_twh : cg_nft;

			uint64_t t0 = bench_now_ns();

			if (v == V_NFT && sh("nft -f %s", nft_file))
				return -EIO;
			if (v == V_NFT && !rep)
				fprintf(out, "-1 0 %f\n", (bench_now_ns() - t0) / 1e9);
			if (join(cg))
				return -EPERM;
			loop_connect("127.0.0.1", 1000, &err);		/* warm up */
			r[v][L_CONNECT][rep] = loop_connect("127.0.0.1", K_CONNECT, &err);
			if (err != ECONNREFUSED && err != EINPROGRESS) {
				fprintf(stderr, "tw_bench: %s connect: unexpected %s\n", vname[v], strerror(err));
				return -EIO;
			}
			r[v][L_SENDTO][rep] = loop_sendto("127.0.0.1", K_SENDTO, &err);
			if (err) {
				fprintf(stderr, "tw_bench: %s sendto: %s\n", vname[v], strerror(err));
				return -EIO;
			}
			r[v][L_DNS][rep] = loop_dns(K_DNS, &err);
			if (err) {
				fprintf(stderr, "tw_bench: %s dns query: %s\n", vname[v], strerror(err));
				return -EIO;
			}
			r[v][L_SOCKET][rep] = loop_socket(K_SOCKET, &err);
			if (err) {
				fprintf(stderr, "tw_bench: %s socket(): %s\n", vname[v], strerror(err));
				return -EIO;
			}
			/* Own-tier destination deep in the table: all three DIR levels. */
			r[v][NL][rep] = loop_connect("100.127.255.254", K_CONNECT, &err);
			if (v != V_NONE) {
				r[v][L_DENY][rep] = loop_connect("10.0.0.1", K_DENY, &err);
				/* nftables' reset arrives after a nonblocking connect returns. */
				if (v >= V_TW ? err != EPERM :
				    err != ECONNREFUSED && err != EINPROGRESS) {
					fprintf(stderr, "tw_bench: %s deny path: unexpected %s\n", vname[v],
						strerror(err));
					return -EIO;
				}
			}
			if (v == V_NFT)
				sh("nft delete table inet twbench");
		}
	}
	join(cg_base);
	for (v = 0; v < NV; v++)
		for (l = 0; l <= NL; l++)
			fprintf(out, "%d %d %.1f\n", v, l, bench_median(r[v][l], reps));
	return 0;
}

/* ---- orchestration ---- */

static pid_t start_daemon(const char *policy, const char *dir, const char *suffix, struct start_fig *sf)
{
	char root[1024], logd[1024], sock[1024], bin[1024], out[1024];
	uint64_t t0 = bench_now_ns();
	pid_t p;
	int i;

	snprintf(root, sizeof(root), "%s/tw-bench-%d%s", mnt, pid_tag, suffix);
	snprintf(logd, sizeof(logd), "%s/log", dir);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(bin, sizeof(bin), "%s/tierwalld", build);
	snprintf(out, sizeof(out), "%s/daemon.out", dir);
	p = fork();
	if (!p) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "--policy", policy, "--cgroup-root", root, "--log-dir", logd,
		      "--pin-dir", "none", "--state-dir", "none", "--socket", sock, (char *)NULL);
		_exit(127);
	}
	/* Ready once the socket exists and answers; asked every 10 ms, bounded at 60 s. */
	for (i = 0; i < 6000; i++) {
		char cmd[2048];

		snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s status >/dev/null 2>&1", build, sock);
		if (!system(cmd)) {
			if (sf) {
				sf->wall = (bench_now_ns() - t0) / 1e9;
				sf->cpu = bench_cpu_secs(p);
			}
			return p;
		}
		if (waitpid(p, NULL, WNOHANG) == p) {
			sh("cat %s >&2", out);
			return -1;
		}
		usleep(10 * 1000);
	}
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
	return -1;
}

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (type == FTW_DP)
		rmdir(path);
	else if (strncmp(path, "/sys/fs/cgroup", 14))
		unlink(path);
	return 0;
}

static int run_size(int n, int reps, double res[NV][NL + 1], struct start_fig *sf)
{
	char dir[1024], dirh[1100], policy[1200], policyh[1200], nftf[1200], resf[1200], cg_nft[128];
	struct cidr *c = make_cidrs(n);
	pid_t d, dh, m;
	int st, v, l, err = 0;
	double x;
	FILE *f;

	n = abs(n);	/* negative: scattered (make_cidrs) */
	snprintf(dir, sizeof(dir), "%s/n%d", tmp, n);
	mkdir(dir, 0700);
	snprintf(dirh, sizeof(dirh), "%s/names", dir);
	mkdir(dirh, 0700);
	snprintf(policy, sizeof(policy), "%s/policy.json", dir);
	snprintf(policyh, sizeof(policyh), "%s/policy.json", dirh);
	snprintf(nftf, sizeof(nftf), "%s/rules.nft", dir);
	snprintf(resf, sizeof(resf), "%s/results", dir);
	snprintf(cg_nft, sizeof(cg_nft), "tw-bench-%d-nft", pid_tag);
	if (write_policy(policy, c, n, 0) || write_policy(policyh, c, n, N_HOSTNAMES) ||
	    write_nft(nftf, c, n, cg_nft)) {
		free(c);
		return -EIO;
	}
	free(c);
	d = start_daemon(policy, dir, "", sf);
	dh = d < 0 ? -1 : start_daemon(policyh, dirh, "-names", NULL);
	if (d < 0 || dh < 0) {
		fprintf(stderr, "tw_bench: tierwalld did not start for %d rules\n", n);
		if (d > 0) {
			kill(d, SIGTERM);
			waitpid(d, NULL, 0);
		}
		return -EIO;
	}
	fflush(NULL);
	m = fork();
	if (!m) {
		/* Private netns (nftables, 10.x on lo) and mount ns (cgroup2 where nft looks). */
		if (unshare(CLONE_NEWNET | CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("none", "/sys/fs/cgroup", "cgroup2", 0, NULL) ||
		    sh("ip link set lo up && ip addr add 10.0.0.1/32 dev lo && "
		       "ip addr add 100.127.255.254/32 dev lo"))
			_exit(10);
		f = fopen(resf, "w");
		_exit(f && !measure(reps, nftf, f) && !fclose(f) ? 0 : 11);
	}
	waitpid(m, &st, 0);
	kill(d, SIGTERM);
	kill(dh, SIGTERM);
	waitpid(d, NULL, 0);
	waitpid(dh, NULL, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "tw_bench: measuring %d rules failed (status %d)\n", n, st);
		err = -EIO;
	}
	f = err ? NULL : fopen(resf, "r");
	while (f && fscanf(f, "%d %d %lf", &v, &l, &x) == 3)
		if (v >= 0 && v < NV && l >= 0 && l <= NL)
			res[v][l] = x;
		else if (v == -1)
			sf->nft = x;
	if (f)
		fclose(f);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	return err;
}

static void cleanup(void)
{
	char p[1024];

	snprintf(p, sizeof(p), "%s/tw-bench-%d", mnt, pid_tag);
	nftw(p, rm_cb, 8, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	snprintf(p, sizeof(p), "%s/tw-bench-%d-names", mnt, pid_tag);
	nftw(p, rm_cb, 8, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	snprintf(p, sizeof(p), "%s/tw-bench-%d-base", mnt, pid_tag);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/tw-bench-%d-nft", mnt, pid_tag);
	rmdir(p);
	nftw(tmp, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

int main(int argc, char **argv)
{
	int sizes[MAX_SIZES] = { 10, 1000, 100000 }, nsizes = 3, reps = REPS_DEFAULT, i, v;
	double res[MAX_SIZES][NV][NL + 1] = {};
	struct start_fig sf[MAX_SIZES] = {};
	char p[1024];
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
			reps = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--cpu-time")) {
			loop_clock = CLOCK_THREAD_CPUTIME_ID;
		} else if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			char *s = argv[++i], *tok;

			/* A trailing "s": that many scattered threat-feed prefixes. */
			for (nsizes = 0; (tok = strsep(&s, ",")) && nsizes < MAX_SIZES; )
				sizes[nsizes++] = atoi(tok) * (tok[strlen(tok) - 1] == 's' ? -1 : 1);
		} else {
			fprintf(stderr, "usage: tw_bench [--reps N (1-15)] [--sizes 10,1000,100000,1000000s] [--cpu-time]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > 15) {
		fprintf(stderr, "tw_bench: --reps must be 1 to 15\n");
		return 2;
	}
	f = popen("awk '$3 == \"cgroup2\" { print $2; exit }' /proc/self/mounts", "r");
	if (!f || !fgets(mnt, sizeof(mnt), f)) {
		fprintf(stderr, "tw_bench: no cgroup2 mount\n");
		return 1;
	}
	pclose(f);
	mnt[strcspn(mnt, "\n")] = '\0';
	snprintf(build, sizeof(build), "%s", getenv("TW_BUILD_DIR") ? getenv("TW_BUILD_DIR") : "build");
	pid_tag = getpid();
	snprintf(tmp, sizeof(tmp), "%s/bench-%d", build, pid_tag);
	mkdir(tmp, 0700);
	snprintf(p, sizeof(p), "%s/tw-bench-%d", mnt, pid_tag);
	mkdir(p, 0755);
	strcat(p, "/staging");
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/tw-bench-%d-names", mnt, pid_tag);
	mkdir(p, 0755);
	strcat(p, "/staging");
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/tw-bench-%d-base", mnt, pid_tag);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/tw-bench-%d-nft", mnt, pid_tag);
	mkdir(p, 0755);

	printf("tw_bench: %d interleaved repetitions, median ns per call (%s); ratio to \"none\" of the same run\n",
	       reps, loop_clock == CLOCK_MONOTONIC ? "wall clock" : "the loop's own CPU time");
	for (i = 0; i < nsizes; i++) {
		printf("measuring %d%s CIDRs...\n", abs(sizes[i]), sizes[i] < 0 ? " scattered" : "");
		if (run_size(sizes[i], reps, res[i], &sf[i])) {
			cleanup();
			return 1;
		}
	}
	cleanup();

	printf("\n| CIDRs | loop | none | nftables | tierwall | tierwall+names |\n|---|---|---|---|---|---|\n");
	for (i = 0; i < nsizes; i++) {
		static const int order[] = { L_CONNECT, L_SENDTO, NL, L_DENY, L_DNS, L_SOCKET };
		int k;

		for (k = 0; k < 6; k++) {
			int l = order[k];
			double base = res[i][V_NONE][l == L_DENY ? L_CONNECT : l];

			printf("| %d%s | %s | %.0f |", abs(sizes[i]), sizes[i] < 0 ? " scattered" : "",
			       l == NL ? "tcp connect, own-tier CIDR" : l == L_DENY ?
			       "tcp connect denied (ratio to allowed none)" : lname[l], base);
			for (v = V_NFT; v < NV; v++)
				printf(" %.0f (%.3fx) |", res[i][v][l], res[i][v][l] / base);
			printf("\n");
		}
	}
	/* Issue 19's goals: 100,000 CIDRs within 0.5 s, 1,000,000 scattered within 2 s. */
	printf("\n| start, CIDRs | exec to `tierwall status` 0 | daemon CPU by then | goal | nft -f of the same set |\n"
	       "|---|---|---|---|---|\n");
	for (i = 0; i < nsizes; i++)
		printf("| %d%s | %.2f s | %.2f s | %s | %.2f s |\n", abs(sizes[i]), sizes[i] < 0 ? " scattered" : "",
		       sf[i].wall, sf[i].cpu, sizes[i] == 100000 ? "0.5 s" : sizes[i] < -100000 ? "2 s" : "-",
		       sf[i].nft);
	return 0;
}
