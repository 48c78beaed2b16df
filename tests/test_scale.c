// SPDX-License-Identifier: GPL-2.0
/*
 * A threat-feed-sized policy in a real daemon: 1,000,000 IPv4 prefixes
 * (/24, /28 and /32, each in its own /24) and 200,000 IPv6 ones (/48 to
 * /128), with shorter covering prefixes and a few split /24s. The kernel's
 * own decision code (explain) must name, for the first and last address of
 * sampled prefixes and the addresses just outside them, exactly the prefix
 * an independent reference here finds. The prefixes are anywhere: explain
 * sends nothing. The only real calls go to 127.77.0.0/24 and ::1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ctl.h"
#include "fixture.h"
#include "net.h"
#include "std.h"
#include "test.h"

#define N4		1000000
#define N6		200000
#define SAMPLE		1999		/* every SAMPLE-th generated prefix is probed */

struct pfx {
	uint8_t len;
	uint8_t v6;
	uint8_t prod;			/* else staging */
	uint8_t addr[16];
};

struct gen {
	struct pfx *p;
	size_t n, cap;
};

static void add(struct gen *g, int v6, int len, const uint8_t *addr, int prod)
{
	struct pfx *x;

	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1 << 20;
		g->p = realloc(g->p, g->cap * sizeof(*g->p));
	}
	x = &g->p[g->n++];
	memset(x, 0, sizeof(*x));
	x->len = len;
	x->v6 = v6;
	x->prod = prod;
	memcpy(x->addr, addr, v6 ? 16 : 4);
}

static void add4(struct gen *g, uint32_t a, int len, int prod)
{
	uint8_t b[4] = { a >> 24, a >> 16, a >> 8, a };

	add(g, 0, len, b, prod);
}

static uint32_t mix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352d;
	x ^= x >> 15;
	x *= 0x846ca68b;
	return x ^ (x >> 16);
}

/*
 * The i-th IPv4 prefix's /24: a bijection of i onto the /24s outside 0/8
 * and 127/8 (i * an odd multiplier, prime to 127, modulo 254 * 2^16).
 */
static uint32_t own24(uint32_t i)
{
	uint32_t x = (uint64_t)i * 2654435761u % (254u << 16), top = (x >> 16) + 1;

	return (top >= 127 ? top + 1 : top) << 24 | (x & 0xffff) << 8;
}

static void gen_v4(struct gen *g)
{
	uint32_t i, h;

	for (i = 0; i < N4; i++) {
		uint32_t a = own24(i);
		int prod = mix(i) & 1;

		if (i % 3 == 0)
			add4(g, a, 24, prod);
		else if (i % 3 == 1)
			add4(g, a | (mix(i) >> 8 & 0xf) << 4, 28, prod);
		else
			add4(g, a | (mix(i) >> 8 & 0xff), 32, prod);
		/* Now and then a /24 split further: /25 to /31 inside it. */
		if (i % 3 == 0 && i % 999 == 0) {
			add4(g, a | 128, 25, !prod);
			add4(g, a | 64, 26, !prod);
			add4(g, a | 32, 27, prod);
			add4(g, a | 200, 29, prod);
			add4(g, a | 208, 30, !prod);
			add4(g, a | 250, 31, prod);
		}
	}
	/* Shorter prefixes around them: what a lookup falls back to. */
	for (h = 1; h < 65536; h++) {
		if (h >> 8 == 127 || h >> 8 == 0)
			continue;
		if (h % 61 == 3)
			add4(g, h << 16, 16, h & 1);
		if (h % 97 == 5)
			add4(g, h << 16 | 0x10 << 8, 20, !(h & 1));
		if (h % 89 == 7)
			add4(g, h << 16 | 0x80 << 8, 17, h & 1);
	}
	add4(g, 20u << 24, 8, 1);
	add4(g, 200u << 24, 8, 0);
	add4(g, 0xac100000, 12, 1);	/* 172.16.0.0/12 */
	/* The real calls: loopback only. */
	add4(g, 0x7f4d0000, 24, 1);	/* 127.77.0.0/24: prod */
	add4(g, 0x7f4d0010, 28, 0);	/* 127.77.0.16/28: staging */
	add4(g, 0x7f4d0021, 32, 1);	/* 127.77.0.33: prod */
}

/* Clear the host bits of a prefix of len bits. */
static void mask(uint8_t *a, int len)
{
	int k;

	for (k = 0; k < 16; k++) {
		int bits = len - k * 8;

		if (bits < 8)
			a[k] &= bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
	}
}

static void gen_v6(struct gen *g)
{
	static const uint8_t lens[] = { 48, 56, 60, 64, 72, 80, 96, 112, 120, 124, 127, 128 };
	uint8_t a[16] = { 0x2a, 0x00 }, m[16];
	uint32_t i, v;
	int k;

	for (i = 0; i < N6; i++) {
		int len = lens[mix(i ^ 0x5bd1e995) % sizeof(lens)];

		/* Bits 16-47: a bijection of i, so each prefix has its own /48. */
		v = i * 2654435761u;
		a[2] = v >> 24;
		a[3] = v >> 16;
		a[4] = v >> 8;
		a[5] = v;
		for (k = 6; k < 16; k++)
			a[k] = mix(i * 16 + k);
		memcpy(m, a, 16);
		mask(m, len);
		add(g, 1, len, m, mix(i) & 1);
	}
	memset(a, 0, 16);
	a[0] = 0x2a;
	add(g, 1, 16, a, 0);			/* 2a00::/16 */
	a[2] = 0x12;
	a[3] = 0x34;
	add(g, 1, 32, a, 1);			/* 2a00:1234::/32 */
	memset(a, 0, 16);
	a[15] = 1;
	add(g, 1, 128, a, 1);			/* ::1: prod */
}

static void fmt_pfx(const struct pfx *x, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(x->v6 ? AF_INET6 : AF_INET, x->addr, a, sizeof(a));
	snprintf(out, len, "%s/%u", a, x->len);
}

/* Two entries, prod's and staging's, so a jpath's index names one generated prefix. */
static int write_policy(struct fx *f, const struct gen *g)
{
	FILE *o = fopen(f->policy, "w");
	char c[64];
	int tier;
	size_t i;

	if (!o)
		return -errno;
	fprintf(o, "{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		   "  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
		   "               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
		   "  \"destinations\": [\n");
	for (tier = 1; tier >= 0; tier--) {
		bool first = true;

		fprintf(o, "    {\"tier\": \"%s\", \"cidrs\": [", tier ? "prod" : "staging");
		for (i = 0; i < g->n; i++) {
			if (g->p[i].prod != tier)
				continue;
			fmt_pfx(&g->p[i], c, sizeof(c));
			fprintf(o, "%s\"%s\"", first ? "" : ",\n", c);
			first = false;
		}
		fprintf(o, "]}%s\n", tier ? "," : "");
	}
	fprintf(o, "  ] }\n");
	return fclose(o) ? -errno : 0;
}

/* ---- the reference: sorted (family, length, address), searched per length ---- */

static int cmp_pfx(const void *x, const void *y)
{
	const struct pfx *a = x, *b = y;

	if (a->v6 != b->v6)
		return a->v6 - b->v6;
	if (a->len != b->len)
		return a->len - b->len;
	return memcmp(a->addr, b->addr, 16);
}

/* The longest generated prefix holding addr, or NULL. */
static const struct pfx *ref_match(const struct gen *sorted, int v6, const uint8_t *addr)
{
	int len;

	for (len = v6 ? 128 : 32; len >= 0; len--) {
		struct pfx k = { .len = len, .v6 = v6 };

		memcpy(k.addr, addr, v6 ? 16 : 4);
		mask(k.addr, len);
		const struct pfx *hit = bsearch(&k, sorted->p, sorted->n, sizeof(k), cmp_pfx);

		if (hit)
			return hit;
	}
	return NULL;
}

/* ---- probes ---- */

/* addr + delta (-1, 0, +1) over the whole address, wrapping. */
static void step(uint8_t *a, int bytes, int delta)
{
	int k;

	for (k = bytes - 1; k >= 0 && delta; k--) {
		int v = a[k] + delta;

		a[k] = v & 0xff;
		if (v >= 0 && v <= 0xff)
			break;
	}
}

struct tally {
	int probes, wrong, lens[129 * 2];
};

static void probe(struct fx *f, const struct gen *sorted, int v6, const uint8_t *addr,
		  struct tally *t)
{
	char ip[INET6_ADDRSTRLEN], want[64] = "", what[160];
	const struct pfx *exp = ref_match(sorted, v6, addr);
	const char *got;
	json_t *r = NULL;

	inet_ntop(v6 ? AF_INET6 : AF_INET, addr, ip, sizeof(ip));
	if (exp) {
		fmt_pfx(exp, want, sizeof(want));
		t->lens[exp->v6 * 129 + exp->len]++;
	}
	t->probes++;
	if (tw_ctl_call(f->sock, json_pack("{s:s, s:s, s:{s:s, s:i, s:s}}", "cmd", "explain",
					   "cgroup", "agents/staging", "target", "ip", ip,
					   "port", 443, "proto", "tcp"), &r, 10000) ||
	    !json_is_true(json_object_get(r, "ok"))) {
		t->wrong++;
		TW_FAILED("explain %s: no answer", ip);
		json_decref(r);
		return;
	}
	got = json_string_value(json_object_get(r, "cidr"));
	snprintf(what, sizeof(what), "%s: judged by %s, the policy says %s", ip,
		 got ?: "no rule", exp ? want : "no rule");
	if (!(exp ? got && !strcmp(got, want) : !got) ||
	    strcmp(json_string_value(json_object_get(r, "verdict")) ?: "",
		   exp && exp->prod ? "deny" : "allow")) {
		if (t->wrong++ < 10)
			TW_FAILED("%s (verdict %s)", what,
				  json_string_value(json_object_get(r, "verdict")) ?: "none");
	}
	json_decref(r);
}

/* The first and last address of x, and the ones just outside. */
static void probe_edges(struct fx *f, const struct gen *sorted, const struct pfx *x,
			struct tally *t)
{
	int bytes = x->v6 ? 16 : 4, k;
	uint8_t first[16] = {}, last[16];

	memcpy(first, x->addr, bytes);
	memcpy(last, first, 16);
	for (k = 0; k < bytes; k++) {
		int bits = x->len - k * 8;

		if (bits < 8)
			last[k] |= bits <= 0 ? 0xff : 0xff >> bits;
	}
	probe(f, sorted, x->v6, first, t);
	probe(f, sorted, x->v6, last, t);
	step(first, bytes, -1);
	step(last, bytes, 1);
	probe(f, sorted, x->v6, first, t);
	probe(f, sorted, x->v6, last, t);
}

/*
 * Said, not asserted (no thresholds in tests): the daemon's peak RSS and
 * the kernel memory of the maps it holds (memlock of each map fd).
 */
static void print_memory(struct fx *f)
{
	char out[2048] = "";

	fx_sh(out, sizeof(out),
	      "grep -E 'VmRSS|VmHWM|RssAnon|RssFile|RssShmem' /proc/%d/status | tr -s '\\t ' ' ' | sed 's/^/    /'; "
	      "for fd in /proc/%d/fdinfo/*; do awk '/^map_id/{print $2}' $fd; done | sort -un | "
	      "while read id; do bpftool map show id $id | tr '\\n' ' ' | "
	      "awk '{for (i = 1; i < NF; i++) { if ($i == \"name\") n = $(i+1); if ($i == \"memlock\") m = $(i+1) }"
	      " sub(\"B\", \"\", m); print n, m}'; done | "
	      "awk '{s += $2; if ($2 >= 1048576) printf \"    %%-14s %%7.1f MiB\\n\", $1, $2 / 1048576}"
	      " END {printf \"    all maps       %%7.1f MiB\\n\", s / 1048576}'",
	      f->daemon, f->daemon);
	printf("%s", out);
}

/* Not one of the feed's own lengths: the covers and the split /24s. */
static bool rare(const struct pfx *x)
{
	return x->v6 ? x->len < 48 : x->len != 24 && x->len != 28 && x->len != 32;
}

static int real_call(struct fx *f, int op, const char *ip)
{
	pid_t pid;

	return fx_net(f, "agents/staging", op, ip, fx_port(7), &pid);
}

TEST(integ_million_prefixes_judged_as_written)
{
	static const char *const cgs[] = { "agents/staging", "services/prod", NULL };
	struct gen g = {}, sorted = {};
	struct tally t = {};
	bool used[2 * 129] = {};
	struct timespec t0, t1;
	struct fx f;
	size_t i;
	int l;

	if (!can_run() || !ASSERT_OK(fx_init(&f, cgs), "fixture"))
		return;
	gen_v4(&g);
	gen_v6(&g);
	printf("    %zu prefixes\n", g.n);
	if (!ASSERT_OK(write_policy(&f, &g), "policy written"))
		goto out;
	sorted.n = g.n;
	sorted.p = malloc(g.n * sizeof(*g.p));
	memcpy(sorted.p, g.p, g.n * sizeof(*g.p));
	qsort(sorted.p, sorted.n, sizeof(*sorted.p), cmp_pfx);
	for (i = 1; i < sorted.n; i++)
		if (!ASSERT_TRUE(cmp_pfx(&sorted.p[i - 1], &sorted.p[i]), "generated prefixes are distinct"))
			goto out;
	/* A busy machine may take long to parse and load it: the bound is a last resort only. */
	f.start_timeout_s = 300;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!fx_started(&f, NULL))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("    enforcing %.1f s after exec (said, not asserted)\n",
	       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);

	print_memory(&f);
	/* Enforced, not only explained: the hooks on IPv4 and IPv6. */
	ASSERT_EQ(real_call(&f, TW_OP_TCP_CONNECT, "127.77.0.5"), EPERM, "127.77.0.0/24 is prod's");
	ASSERT_NE(real_call(&f, TW_OP_TCP_CONNECT, "127.77.0.20"), EPERM, "127.77.0.16/28 is staging's");
	ASSERT_EQ(real_call(&f, TW_OP_UDP_SENDTO, "127.77.0.33"), EPERM, "127.77.0.33 is prod's");
	ASSERT_NE(real_call(&f, TW_OP_UDP_SENDTO, "127.77.0.30"), EPERM, "127.77.0.30: the /28 again");
	ASSERT_EQ(real_call(&f, TW_OP_TCP_CONNECT, "::1"), EPERM, "::1 is prod's");

	/* Sampled prefixes at their edges: the feed's, and more of the rarer lengths. */
	for (i = 0; i < g.n; i++)
		if (i % SAMPLE == 0 || (rare(&g.p[i]) && mix(i) % 8 == 0) || g.p[i].len <= 12 ||
		    (g.p[i].v6 && g.p[i].len <= 32))
			probe_edges(&f, &sorted, &g.p[i], &t);
	printf("    %d addresses probed, %d misjudged\n", t.probes, t.wrong);
	ASSERT_EQ(t.wrong, 0, "addresses judged otherwise than the policy says");
	/* Every length the policy uses was the answer somewhere. */
	for (i = 0; i < sorted.n; i++)
		used[sorted.p[i].v6 * 129 + sorted.p[i].len] = true;
	for (l = 0; l < 2 * 129; l++)
		if (used[l] && !t.lens[l])
			TW_FAILED("no probe was judged by an IPv%d /%d", l >= 129 ? 6 : 4, l % 129);
out:
	free(g.p);
	free(sorted.p);
	fx_cleanup(&f);
}
