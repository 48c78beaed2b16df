// SPDX-License-Identifier: GPL-2.0
/*
 * The DNS guard's ingress side on crafted answers (BPF_PROG_TEST_RUN, also
 * in the guests): every owner name and CNAME/DNAME target is judged,
 * compression pointers followed, and what cannot be read to the end is
 * dropped. Names as in dnsguard.h: api.prod.test, *.wild.prod.test (prod),
 * own.staging.test (staging); the test's cgroup is staging.
 */
#include <string.h>
#include "dnsguard.h"
#include "net.h"
#include "test.h"
#include "tierwall.h"

struct ans {
	unsigned char b[2048];
	size_t n;
};

static void put(struct ans *a, const void *p, size_t n)
{
	memcpy(a->b + a->n, p, n);
	a->n += n;
}

static void put16(struct ans *a, unsigned v)
{
	unsigned char x[2] = { v >> 8, v & 0xff };

	put(a, x, 2);
}

/* Header (a response, an answers) and the question for qname. */
static void begin(struct ans *a, const char *qname, unsigned an)
{
	unsigned char w[300];

	a->n = 0;
	put16(a, 0x1234);
	put16(a, 0x8180);
	put16(a, 1);
	put16(a, an);
	put16(a, 0);
	put16(a, 0);
	put(a, w, tw_dns_wire(qname, w));
	put16(a, 1);
	put16(a, 1);
}

/* A record: owner as raw bytes (a pointer, or wire), type, rdata. */
static void rr(struct ans *a, const void *owner, size_t olen, unsigned type, const void *rd, size_t rdlen)
{
	put(a, owner, olen);
	put16(a, type);
	put16(a, 1);
	put16(a, 0);
	put16(a, 60);
	put16(a, rdlen);
	put(a, rd, rdlen);
}

static void cname(struct ans *a, const char *target)
{
	unsigned char w[300];

	rr(a, "\xc0\x0c", 2, 5, w, tw_dns_wire(target, w));
}

/* Run the answer from port 53: 1 passed, 0 dropped. */
static int run(struct guard *g, const struct ans *a, int l4)
{
	unsigned char pkt[2200], tcp[2100], port[2];
	const void *pl = a->b;
	size_t n = a->n, len;

	if (l4 == L4_TCP) {
		tcp[0] = n >> 8;
		tcp[1] = n & 0xff;
		memcpy(tcp + 2, a->b, n);
		pl = tcp;
		n += 2;
	}
	len = frame(pkt, 4, l4, 53, pl, n, 0);
	memcpy(port, pkt + 34, 2);	/* from port 53: swap the ports */
	memcpy(pkt + 34, pkt + 36, 2);
	memcpy(pkt + 36, port, 2);
	return guard_run_in(g, pkt, len);
}

TEST(integ_dnsanswer_names_judged)
{
	static const unsigned char ip[4] = { 127, 44, 0, 1 };
	struct guard g;
	unsigned char ptr[2];
	struct ans a;
	size_t at;

	if (!ASSERT_OK(guard_open(&g), "load the DNS guard"))
		goto out;
	/* A free name's own address passes; so does a CNAME into staging's own name. */
	begin(&a, "free.test", 1);
	rr(&a, "\xc0\x0c", 2, 1, ip, 4);
	ASSERT_EQ(run(&g, &a, L4_UDP), 1, "free name, A record");
	begin(&a, "alias.free.test", 2);
	cname(&a, "own.staging.test");
	rr(&a, "\xc0\x2d", 2, 1, ip, 4);
	ASSERT_EQ(run(&g, &a, L4_UDP), 1, "CNAME into the own tier's name");

	/* CNAMEs into prod, exact and by wildcard, over UDP and TCP. */
	begin(&a, "alias.free.test", 2);
	cname(&a, "api.prod.test");
	rr(&a, "\xc0\x2d", 2, 1, ip, 4);
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "CNAME into a prod name");
	ASSERT_EQ(g.reason, TW_DNS_ANSWER, "reason");
	ASSERT_STREQ(g.name, "api.prod.test", "the name in the answer");
	ASSERT_EQ(run(&g, &a, L4_TCP), 0, "the same over TCP");
	begin(&a, "alias.free.test", 1);
	cname(&a, "DB.Wild.Prod.Test");
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "CNAME into a wildcard prod name, any case");
	/* An owner name of prod's (a record for a name not asked), and a DNAME. */
	begin(&a, "free.test", 1);
	rr(&a, "\3api\4prod\4test", 15, 1, ip, 4);
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "owner name of prod's");
	begin(&a, "free.test", 1);
	rr(&a, "\xc0\x0c", 2, 39, "\4wild\4prod\4test", 16);
	ASSERT_EQ(run(&g, &a, L4_UDP), 1, "DNAME to the wildcard's apex (no tier owns it)");
	begin(&a, "free.test", 1);
	rr(&a, "\xc0\x0c", 2, 39, "\1x\4wild\4prod\4test", 18);
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "DNAME into a wildcard prod name");
	/* The target as a pointer to a name in an earlier record's data (a TXT, not judged itself). */
	begin(&a, "free.test", 2);
	at = a.n + 12;	/* the TXT's data: after its owner pointer and fixed fields */
	rr(&a, "\xc0\x0c", 2, 16, "\3api\4prod\4test", 15);
	ptr[0] = 0xc0 | (at >> 8);
	ptr[1] = at & 0xff;
	rr(&a, "\xc0\x0c", 2, 5, ptr, 2);
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "CNAME target by pointer into prod's name");
	ASSERT_STREQ(g.name, "api.prod.test", "the name read through the pointer");

	/* What cannot be read to the end is dropped. */
	begin(&a, "free.test", 1);
	rr(&a, "\xc0\x1b", 2, 1, ip, 4);	/* points at itself */
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "pointer loop");
	ASSERT_EQ(g.reason, TW_DNS_POINTER, "reason");
	begin(&a, "free.test", 1);
	rr(&a, "\xc0\x30", 2, 1, ip, 4);	/* points forwards */
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "forward pointer");
	begin(&a, "free.test", 1);
	rr(&a, "\xc0\x0c", 2, 1, ip, 4);
	a.n -= 2;
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "rdata cut short");
	ASSERT_EQ(g.reason, TW_DNS_TRUNCATED, "reason");
	begin(&a, "free.test", 33);
	for (int i = 0; i < 33; i++)
		rr(&a, "\xc0\x0c", 2, 1, ip, 4);
	ASSERT_EQ(run(&g, &a, L4_UDP), 0, "33 answer records");
	ASSERT_EQ(g.reason, TW_DNS_COUNT, "reason");

	/* Untagged receivers are not judged. */
	begin(&a, "alias.free.test", 1);
	cname(&a, "api.prod.test");
	ASSERT_OK(guard_tag_self(&g, false), "untag");
	ASSERT_EQ(run(&g, &a, L4_UDP), 1, "untagged: a CNAME into prod passes");
out:
	guard_close(&g);
}
