// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench's rule sets: n disjoint IPv4 CIDRs in a realistic mix of lengths
 * (or, n negative, a threat feed's scattered shape), written as a tierwall
 * policy and as the nftables set of the same prefixes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include "benchset.h"

static uint32_t rs = 0x2545F491;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 17;
	rs ^= rs << 5;
	return rs;
}

/* Pick n distinct indexes below max (n <= max). */
static uint32_t *distinct(uint32_t n, uint32_t max)
{
	uint8_t *used = calloc((max + 7) / 8, 1);
	uint32_t *out = malloc(n * sizeof(*out)), i = 0;

	while (i < n) {
		uint32_t v = rnd() % max;

		if (used[v / 8] & (1 << (v % 8)))
			continue;
		used[v / 8] |= 1 << (v % 8);
		out[i++] = v;
	}
	free(used);
	return out;
}

/*
 * A threat feed's shape ("--sizes 1000000s"): /24s, /28s and /32s, each in
 * its own /24 scattered over the whole space (a bijection of the index onto
 * the /24s outside 10/8, 100/8 and 127/8), plus 10.0.0.0/24, the deny target.
 */
static struct cidr *make_scattered(int n)
{
	struct cidr *c = calloc(n, sizeof(*c));
	uint32_t i;

	c[0] = (struct cidr){ 0x0a000000u, 24 };
	for (i = 1; i < (uint32_t)n; i++) {
		uint32_t x = (uint64_t)i * 2654435761u % (251u << 16), top = 1 + (x >> 16), a;

		/* 10, 100 and 127 move to 252-254, which nothing else reaches. */
		top = top == 10 ? 252 : top == 100 ? 253 : top == 127 ? 254 : top;
		a = top << 24 | (x & 0xffff) << 8;
		c[i] = i % 3 == 0 ? (struct cidr){ a, 24 } : i % 3 == 1 ?
		       (struct cidr){ a | (rnd() & 0xf) << 4, 28 } : (struct cidr){ a | (rnd() & 0xff), 32 };
	}
	return c;
}

/*
 * 60% /24s in 10/8, 4% /28s in 198.18/15, a few /20s in 172.16/12, the rest
 * /32s in 100.64/10. 10.255.255.0/24 stays free: the deny loop targets
 * 10.0.0.0/24's neighbourhood, the own-tier probe 100.127.255.254.
 */
struct cidr *make_cidrs(int n)
{
	struct cidr *c;
	uint32_t n24 = n * 6 / 10, n20 = n / 500, n28 = n / 25, n32, i, k = 0, *idx;

	if (n < 0)
		return make_scattered(-n);
	c = calloc(n, sizeof(*c));
	if (n24 > 60000)
		n24 = 60000;
	if (n20 > 256)
		n20 = 256;
	if (n28 > 8192)
		n28 = 8192;
	n32 = n - n24 - n20 - n28;
	/* The deny target 10.0.0.1 must be covered: /24 index 0 first. */
	idx = distinct(n24 - 1, 65534);
	c[k++] = (struct cidr){ 0x0a000000u, 24 };
	for (i = 0; i + 1 < n24; i++)
		c[k++] = (struct cidr){ 0x0a000000u | (idx[i] + 1) << 8, 24 };
	free(idx);
	idx = distinct(n20, 256);
	for (i = 0; i < n20; i++)
		c[k++] = (struct cidr){ 0xac100000u | idx[i] << 12, 20 };
	free(idx);
	idx = distinct(n28, 8192);
	for (i = 0; i < n28; i++)
		c[k++] = (struct cidr){ 0xc6120000u | idx[i] << 4, 28 };
	free(idx);
	idx = distinct(n32, (1u << 22) - 2);	/* 100.127.255.254 stays free */
	for (i = 0; i < n32; i++)
		c[k++] = (struct cidr){ 0x64400000u | idx[i], 32 };
	free(idx);
	/* Unlikely but possible: the own-tier probe's /24 has no prod /32s. Fine. */
	return c;
}

static void fmt_cidr(const struct cidr *c, char *out)
{
	struct in_addr a = { htonl(c->addr) };

	sprintf(out, "%s/%d", inet_ntoa(a), c->len);
}

int write_policy(const char *path, const struct cidr *c, int n, int hostnames)
{
	FILE *f = fopen(path, "w");
	char s[32];
	int i;

	if (!f)
		return -errno;
	fprintf(f, "{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		   "  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
		   "  \"destinations\": [\n"
		   "    { \"tier\": \"staging\", \"cidrs\": [\"100.127.255.254/32\"] },\n"
		   "    { \"tier\": \"prod\", \"cidrs\": [");
	for (i = 0; i < n; i++) {
		fmt_cidr(&c[i], s);
		fprintf(f, "%s\"%s\"", i ? "," : "", s);
	}
	fprintf(f, "] }");
	if (hostnames) {
		fprintf(f, ",\n    { \"tier\": \"prod\", \"hostnames\": [");
		for (i = 0; i < hostnames; i++)
			fprintf(f, "%s\"*.svc%d.prod.test\"", i ? "," : "", i);
		fprintf(f, "] }");
	}
	fprintf(f, " ] }\n");
	return fclose(f) ? -errno : 0;
}

int write_nft(const char *path, const struct cidr *c, int n, const char *cg)
{
	FILE *f = fopen(path, "w");
	char s[32];
	int i;

	if (!f)
		return -errno;
	fprintf(f, "table inet twbench {\n set prod { type ipv4_addr; flags interval; elements = { ");
	for (i = 0; i < n; i++) {
		fmt_cidr(&c[i], s);
		fprintf(f, "%s%s", i ? ", " : "", s);
	}
	fprintf(f, " } }\n chain out { type filter hook output priority 0; policy accept;\n"
		   "  socket cgroupv2 level 1 \"%s\" ip daddr @prod meta l4proto tcp reject with tcp reset\n"
		   "  socket cgroupv2 level 1 \"%s\" ip daddr @prod reject\n }\n}\n", cg, cg);
	return fclose(f) ? -errno : 0;
}
