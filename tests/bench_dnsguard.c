// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench_dnsguard: the DNS guard's own cost per packet, without the
 * hook's: the egress program run by BPF_PROG_TEST_RUN on crafted frames (a
 * plain datagram, a query for an unowned name, one for an own-tier name)
 * beside an empty cgroup_skb program, interleaved, median ns per run. The
 * policy is tw_bench's "tierwall+names" one: 1,000 "*.svcN.prod.test"
 * names; the process's own cgroup is tagged staging. `tw_bench` gives the
 * whole cost on real sendto() calls; this splits off what the program does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bench.h"
#include "compile.h"
#include "dnsguard.h"
#include "loader.h"
#include "net.h"

#define N_NAMES		1000
#define REPEAT		200000
#define REPS_MAX	15

enum { C_EMPTY, C_PLAIN, C_DNS, C_OWN, C_TCP_DNS, NC };
static const char *const cname[NC] = {
	"empty cgroup_skb program, plain datagram",
	"guard, plain UDP datagram (port 19999)",
	"guard, UDP query, unowned name",
	"guard, UDP query, own tier's name",
	"guard, TCP query, unowned name",
};

/* The guard with tw_bench's 1,000 wildcard names (prod) and one staging name. */
static int open_guard(struct guard *g)
{
	struct tw_name_val v = { .tier = TIER_PROD };
	struct tw_name_key k;
	char name[64];
	int i, fd;

	memset(g, 0, sizeof(*g));
	g->skel = dns_bpf__open();
	if (!g->skel)
		return -errno;
	bpf_map__set_max_entries(g->skel->maps.names, N_NAMES + 1);
	g->skel->rodata->task_helpers = tw_skb_task_helpers();
	if (dns_bpf__load(g->skel))
		return -EINVAL;
	fd = bpf_map__fd(g->skel->maps.names);
	for (i = 0; i < N_NAMES; i++) {
		snprintf(name, sizeof(name), "*.svc%d.prod.test", i);
		tw_name_key(name, &k);
		v.host = i + 1;
		if (bpf_map_update_elem(fd, &k, &v, 0))
			return -errno;
	}
	tw_name_key("www.svc7.own.test", &k);
	v.host = N_NAMES + 1;
	v.tier = TIER_STAGING;
	if (bpf_map_update_elem(fd, &k, &v, 0))
		return -errno;
	g->fd = bpf_program__fd(g->skel->progs.tw_dns_egress);
	return guard_tag_self(g, true);
}

static int empty_prog(void)
{
	struct bpf_insn insns[] = {
		{ .code = 0xb7, .dst_reg = 0, .imm = 1 },	/* r0 = 1 */
		{ .code = 0x95 },				/* exit */
	};

	return bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, "tw_empty", "GPL", insns, 2, NULL);
}

/* ns per run of prog on frame, averaged by the kernel over REPEAT runs. */
static double run(int prog, const void *frame, size_t len, int *ret)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = REPEAT);

	if (bpf_prog_test_run_opts(prog, &o))
		return -1;
	*ret = o.retval;
	return o.duration;
}

static size_t query(uint8_t *out, int l4, const char *name)
{
	unsigned char wire[300], msg[400], tcp[402];
	size_t ml = tw_dns_msg(msg, 1, wire, tw_dns_wire(name, wire), 1);

	if (l4 == L4_UDP)
		return frame(out, 4, L4_UDP, 53, msg, ml, 0);
	tcp[0] = ml >> 8;
	tcp[1] = ml & 0xff;
	memcpy(tcp + 2, msg, ml);
	return frame(out, 4, L4_TCP, 53, tcp, ml + 2, 0);
}

int main(int argc, char **argv)
{
	static const int want[NC] = { 1, 1, 1, 1, 1 };
	uint8_t fr[NC][600];
	size_t len[NC];
	double r[NC][REPS_MAX];
	int reps = 7, rep, c, ret = -1, fd[NC];
	struct guard g;

	if (argc == 3 && !strcmp(argv[1], "--reps"))
		reps = atoi(argv[2]);
	else if (argc != 1)
		reps = 0;
	if (reps < 1 || reps > REPS_MAX) {
		fprintf(stderr, "usage: tw_bench_dnsguard [--reps N (1-15)]\n");
		return 2;
	}
	if (open_guard(&g)) {
		fprintf(stderr, "tw_bench_dnsguard: cannot load the DNS guard (root?)\n");
		return 1;
	}
	fd[C_EMPTY] = empty_prog();
	if (fd[C_EMPTY] < 0) {
		fprintf(stderr, "tw_bench_dnsguard: cannot load an empty cgroup_skb program: %s\n",
			strerror(errno));
		return 1;
	}
	for (c = C_PLAIN; c < NC; c++)
		fd[c] = g.fd;
	len[C_EMPTY] = len[C_PLAIN] = frame(fr[C_PLAIN], 4, L4_UDP, 19999, "x", 1, 0);
	memcpy(fr[C_EMPTY], fr[C_PLAIN], len[C_PLAIN]);
	len[C_DNS] = query(fr[C_DNS], L4_UDP, "www.svc7.staging.test");
	len[C_OWN] = query(fr[C_OWN], L4_UDP, "www.svc7.own.test");
	len[C_TCP_DNS] = query(fr[C_TCP_DNS], L4_TCP, "www.svc7.staging.test");

	for (rep = 0; rep < reps; rep++)
		for (c = 0; c < NC; c++) {
			r[c][rep] = run(fd[c], fr[c], len[c], &ret);
			if (r[c][rep] < 0 || ret != want[c]) {
				fprintf(stderr, "tw_bench_dnsguard: %s: %s (returned %d)\n", cname[c],
					r[c][rep] < 0 ? strerror(errno) : "unexpected verdict", ret);
				return 1;
			}
		}
	printf("tw_bench_dnsguard: BPF_PROG_TEST_RUN, %d runs x %d interleaved repetitions, median ns per run\n",
	       REPEAT, reps);
	printf("| packet | ns | minus empty program |\n|---|---|---|\n");
	for (c = 0; c < NC; c++)
		printf("| %s | %.1f | %+.1f |\n", cname[c], bench_median(r[c], reps),
		       bench_median(r[c], reps) - bench_median(r[C_EMPTY], reps));
	guard_close(&g);
	return 0;
}
