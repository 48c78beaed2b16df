// SPDX-License-Identifier: GPL-2.0
/*
 * Hostnames: policy validation (unit_*), the DNS guard program on crafted
 * packets through BPF_PROG_TEST_RUN (integ_dnsparse_*, also in the guests),
 * including a differential fuzz against a userspace reference parser. The
 * end-to-end tests are in test_dns_e2e.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "compile.h"
#include "event.h"
#include "dnsguard.h"
#include "reference.h"
#include "net.h"
#include "policy.h"
#include "test.h"
#include "util.h"

/* ---- policy ---- */

TEST(unit_hostname_validation)
{
	static const struct { const char *in, *out, *err; } cases[] = {
		{ "a.b..", NULL, "empty label" },	/* one trailing dot is the root, not two */
		{ "api.example.com", "api.example.com", NULL },
		{ "API.Example.COM.", "api.example.com", NULL },
		{ "*.prod.example.com", "*.prod.example.com", NULL },
		{ "_dmarc.example.com", "_dmarc.example.com", NULL },
		{ "localhost", "localhost", NULL },
		{ "", NULL, "empty hostname" },
		{ ".", NULL, "empty hostname" },
		{ "a..b", NULL, "empty label" },
		{ ".a.b", NULL, "empty label" },
		{ "api.*.example.com", NULL, "only as the whole first label" },
		{ "*api.example.com", NULL, "only as the whole first label" },
		{ "*", NULL, "only as the whole first label" },
		{ "*.", NULL, "only as the whole first label" },
		{ "*..", NULL, "needs a domain" },
		{ "*.a..b", NULL, "empty label" },
		{ "-api.example.com", NULL, "label 1 starts or ends with '-'" },
		{ "api.exa mple.com", NULL, "label 2 has ' '" },
		{ "10.0.0.1", NULL, "is an IP address" },
		{ "xn--bcher-kva.example", "xn--bcher-kva.example", NULL },
	};
	char out[TW_HOSTNAME_MAX + 3], why[512], long_label[80], long_name[300];
	size_t i;
	bool wild;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool ok = tw_hostname_parse(cases[i].in, out, &wild, why, sizeof(why));

		if (cases[i].out) {
			if (ASSERT_TRUE(ok, cases[i].in))
				ASSERT_STREQ(out, cases[i].out, cases[i].in);
			ASSERT_EQ(wild, cases[i].in[0] == '*', "wildcard flag");
		} else if (ASSERT_TRUE(!ok, cases[i].in)) {
			ASSERT_CONTAINS(why, cases[i].err, cases[i].in);
		}
	}
	memset(long_label, 'a', 64);
	strcpy(long_label + 64, ".com");
	ASSERT_TRUE(!tw_hostname_parse(long_label, out, &wild, why, sizeof(why)), "64-byte label");
	ASSERT_CONTAINS(why, "label 1 is 64 characters long, at most 63", "64-byte label");
	memmove(long_label + 63, long_label + 64, 5);	/* 63 is fine */
	ASSERT_TRUE(tw_hostname_parse(long_label, out, &wild, why, sizeof(why)), "63-byte label");
	for (i = 0; i < 254; i++)
		long_name[i] = i % 2 ? '.' : 'a';
	long_name[254] = 'a';
	long_name[255] = '\0';
	ASSERT_TRUE(!tw_hostname_parse(long_name, out, &wild, why, sizeof(why)), "255-char name");
	ASSERT_CONTAINS(why, "at most 253", "255-char name");
	long_name[253] = '\0';	/* 253 characters, ends in 'a' */
	ASSERT_TRUE(tw_hostname_parse(long_name, out, &wild, why, sizeof(why)), "253-char name");
}

TEST(unit_hostname_policy_errors)
{
	const char *text =
		"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		"  \"destinations\": [\n"
		"    { \"tier\": \"prod\", \"hostnames\": [\"api.prod.test\", \"*.prod.test\", \"API.prod.test.\"] },\n"
		"    { \"tier\": \"staging\", \"hostnames\": [\"api.prod.test\", \"a.*.test\", 7] },\n"
		"    { \"tier\": \"staging\", \"hostnames\": [] },\n"
		"    { \"tier\": \"staging\" } ] }\n";
	struct tw_policy *p = NULL;
	struct tw_diags d = {};
	char all[4096] = "";
	int i;

	ASSERT_EQ(tw_policy_parse("h.json", text, strlen(text), &p, &d), -EINVAL, "rejected");
	for (i = 0; i < d.count; i++)
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s\n", d.msgs[i]);
	printf("%s", all);
	ASSERT_CONTAINS(all, "h.json:3:", "duplicate located on its line");
	ASSERT_CONTAINS(all, "destinations[0].hostnames[2]: \"api.prod.test\" is a duplicate of destinations[0].hostnames[0]",
			"case and trailing dot do not make a new name");
	ASSERT_CONTAINS(all, "destinations[1].hostnames[0]: \"api.prod.test\" is already owned by tier \"prod\"",
			"a name belongs to one tier");
	ASSERT_CONTAINS(all, "destinations[1].hostnames[1]: \"a.*.test\": a wildcard is allowed only", "wildcard position");
	ASSERT_CONTAINS(all, "destinations[1].hostnames[2]: expected a hostname string", "type");
	ASSERT_CONTAINS(all, "destinations[2].hostnames: empty hostname list", "empty list");
	ASSERT_CONTAINS(all, "destinations[3]: needs \"cidrs\", \"hostnames\" or both", "neither");
	tw_diags_free(&d);
	tw_policy_free(p);
}

TEST(unit_hostname_tables)
{
	const char *text =
		"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		"  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"10.0.0.0/8\"] },\n"
		"    { \"tier\": \"prod\", \"hostnames\": [\"Api.Example.com\", \"*.example.org\"], \"ports\": [443] } ] }\n";
	struct tw_policy *p = NULL;
	struct tw_tables t = {};
	struct tw_diags d = {};

	if (!ASSERT_OK(tw_policy_parse("h.json", text, strlen(text), &p, &d), "parses"))
		goto out;
	if (!ASSERT_OK(tw_compile(p, &t, &d), "compiles"))
		goto out;
	ASSERT_EQ(t.nrules, 2, "one CIDR rule and one hostname rule");
	ASSERT_EQ(t.rules[1].tier, 2, "hostname rule tier");
	ASSERT_EQ(t.rules[1].nports, 1, "hostname rule ports");
	ASSERT_EQ(t.nnames, 2, "names");
	ASSERT_EQ(t.names[0].prefixlen, 16 * 8, "exact key: name and its end");
	ASSERT_TRUE(!memcmp(t.names[0].name, "moc.elpmaxe.ipa", 16), "exact key reversed, lowercase, 0-ended");
	ASSERT_EQ(t.names[1].prefixlen, 12 * 8, "wildcard key: suffix and a dot");
	ASSERT_TRUE(!memcmp(t.names[1].name, "gro.elpmaxe.", 12), "wildcard key");
	ASSERT_EQ(t.name_vals[1].host, 2, "host index + 1");
	ASSERT_EQ(t.name_vals[1].wildcard, 1, "wildcard flag");
out:
	tw_diags_print(&d, stdout);
	tw_tables_free(&t);
	tw_diags_free(&d);
	tw_policy_free(p);
}

TEST(unit_dns_name_format)
{
	char out[1100];

	ASSERT_EQ(tw_dns_name_format((const uint8_t *)"\3api\7example\3com\0", 17, out, sizeof(out)), 0, "complete");
	ASSERT_STREQ(out, "api.example.com", "plain");
	ASSERT_EQ(tw_dns_name_format((const uint8_t *)"\3a.b\1\001\0", 8, out, sizeof(out)), 0, "escapes");
	ASSERT_STREQ(out, "a\\.b.\\001", "dot and control byte escaped");
	ASSERT_EQ(tw_dns_name_format((const uint8_t *)"\3api\300\14", 6, out, sizeof(out)), -1, "pointer");
	ASSERT_STREQ(out, "api...", "cut off at the pointer");
	ASSERT_EQ(tw_dns_name_format((const uint8_t *)"\0", 1, out, sizeof(out)), 0, "root");
	ASSERT_STREQ(out, ".", "root");
}

/* ---- the DNS guard on crafted packets ---- */

/* UDP/IPv4 to port 53 asking name for qtype A. */
static int run_name(struct guard *g, const char *name)
{
	uint8_t wire[300], msg[400], pkt[600];
	size_t wl = tw_dns_wire(name, wire), ml = tw_dns_msg(msg, 1, wire, wl, 1);

	return guard_run(g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0));
}

TEST(integ_dnsparse_names)
{
	static const struct { const char *name; int pass; } cases[] = {
		{ "api.prod.test", 0 },
		{ "API.Prod.TEST", 0 },		/* case-insensitive */
		{ "x.wild.prod.test", 0 },	/* wildcard */
		{ "a.b.c.wild.prod.test", 0 },
		{ "wild.prod.test", 1 },	/* the apex is not below the wildcard */
		{ "xwild.prod.test", 1 },
		{ "api.prod.test.evil", 1 },
		{ "x.api.prod.test", 1 },	/* exact means exact */
		{ "own.staging.test", 1 },	/* the caller's own tier */
		{ "example.org", 1 },
		{ "", 1 },			/* the root */
	};
	struct guard g;
	size_t i;

	if (!ASSERT_OK(guard_open(&g), "load the DNS guard"))
		goto out;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = run_name(&g, cases[i].name);

		ASSERT_EQ(r, cases[i].pass, cases[i].name);
		if (!cases[i].pass) {
			ASSERT_EQ(g.events, 1, "one event per drop");
			ASSERT_EQ(g.reason, TW_DNS_OWNED, "reason");
			ASSERT_STREQ(g.name, cases[i].name, "event carries the name as sent");
		} else {
			ASSERT_EQ(g.events, 0, "no event for an allowed query");
		}
	}
	/* "log": "all": the caller's own names are allowed and recorded. */
	{
		struct tw_tier_info ti = { .defined = 1, .log_all = 1 };
		__u32 key = TIER_STAGING;

		bpf_map_update_elem(bpf_map__fd(g.skel->maps.tier_info), &key, &ti, 0);
		ASSERT_EQ(run_name(&g, "own.staging.test"), 1, "own name with log all");
		ASSERT_EQ(g.events, 1, "recorded");
		ASSERT_EQ(g.verdict, TW_VERDICT_ALLOW, "as allowed");
		ASSERT_EQ(run_name(&g, "example.org"), 1, "unowned name");
		ASSERT_EQ(g.events, 0, "not recorded: no tier owns it");
	}
	/* Untagged: nothing is judged. */
	guard_tag_self(&g, false);
	ASSERT_EQ(run_name(&g, "api.prod.test"), 1, "untagged caller passes");
out:
	guard_close(&g);
}

/*
 * An audit tier's queries for other tiers' names pass and are logged as
 * audit; TCP over IPv6 is parsed like TCP over IPv4 (both were mutants no
 * test caught: tests/mutants.sh).
 */
/* A TCP payload: one length-prefixed query for name (qtype A); returns its length. */
static size_t tcp_query(const char *name, uint8_t *out)
{
	uint8_t wire[300];
	size_t ml = tw_dns_msg(out + 2, 1, wire, tw_dns_wire(name, wire), 1);

	out[0] = ml >> 8;
	out[1] = ml & 0xff;
	return ml + 2;
}

TEST(integ_dnsparse_audit_tier_and_tcp6)
{
	struct tw_tier_info audit = { .mode = TW_MODE_AUDIT, .defined = 1 };
	uint8_t tcp[402], pkt[700];
	__u32 staging = TIER_STAGING;
	struct guard g;
	size_t n;

	if (!ASSERT_OK(guard_open(&g), "load the DNS guard"))
		goto out;
	/* TCP over IPv6, enforce: the owned name dropped, another passed. */
	n = tcp_query("api.prod.test", tcp);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 6, L4_TCP, 53, tcp, n, 0)), 0,
		  "TCP over IPv6: a prod name is dropped");
	ASSERT_EQ(g.reason, TW_DNS_OWNED, "as another tier's name");
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 6, L4_TCP, 53, tcp, n, 1)), 0,
		  "TCP over IPv6 behind an extension header too");
	n = tcp_query("example.org", tcp);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 6, L4_TCP, 53, tcp, n, 0)), 1,
		  "TCP over IPv6: an unowned name passes");
	/* Staging in audit mode: passes, logged as audit. */
	if (!ASSERT_OK(bpf_map_update_elem(bpf_map__fd(g.skel->maps.tier_info), &staging, &audit, 0),
		       "staging in audit mode"))
		goto out;
	ASSERT_EQ(run_name(&g, "api.prod.test"), 1, "audit: a prod name passes");
	ASSERT_EQ(g.events, 1, "and is logged");
	ASSERT_EQ(g.verdict, TW_VERDICT_AUDIT, "as audit");
	ASSERT_EQ(run_name(&g, "x.wild.prod.test"), 1, "audit: a wildcard name passes");
	ASSERT_EQ(g.verdict, TW_VERDICT_AUDIT, "as audit");
out:
	guard_close(&g);
}

TEST(integ_dnsparse_hostile)
{
	uint8_t wire[600], msg[700], pkt[900], w[300];
	struct guard g;
	size_t wl, ml, i;

	if (!ASSERT_OK(guard_open(&g), "load the DNS guard"))
		goto out;
	/* A compression pointer as the whole name, and after a label. */
	ml = tw_dns_msg(msg, 1, (const uint8_t *)"\300\14", 2, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "pointer");
	ASSERT_EQ(g.reason, TW_DNS_POINTER, "pointer reason");
	ml = tw_dns_msg(msg, 1, (const uint8_t *)"\3api\300\20", 6, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "pointer after a label");
	/* A pointer loop aimed at itself. */
	ml = tw_dns_msg(msg, 1, (const uint8_t *)"\300\14", 2, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 6, L4_UDP, 53, msg, ml, 0)), 0, "self pointer, IPv6");

	/* Labels of 64 bytes, and the reserved 0x40/0x80 types. */
	wl = 0;
	wire[wl++] = 64;
	memset(wire + wl, 'a', 64);
	wl += 64;
	wl += tw_dns_wire("prod.test", wire + wl);
	ml = tw_dns_msg(msg, 1, wire, wl, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "64-byte label");
	ASSERT_EQ(g.reason, TW_DNS_LABEL, "label reason");
	wire[0] = 0x80;
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "0x80 label type");

	/* 256+ byte names: four 63-byte labels and the owned name. */
	wl = 0;
	for (i = 0; i < 4; i++) {
		wire[wl++] = 63;
		memset(wire + wl, 'x', 63);
		wl += 63;
	}
	wl += tw_dns_wire("api.prod.test", wire + wl);
	ml = tw_dns_msg(msg, 1, wire, wl, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "name over 255");
	ASSERT_EQ(g.reason, TW_DNS_LONG, "long reason");
	/* Exactly 255 on the wire, ending in the wildcard domain: judged by name. */
	wl = 0;
	for (i = 0; i < 3; i++) {
		wire[wl++] = 63;
		memset(wire + wl, 'x', 63);
		wl += 63;
	}
	wl += tw_dns_wire("wild.prod.test", wire + wl);	/* 192 + 16 = 208 */
	ASSERT_TRUE(wl <= 255, "fits");
	ml = tw_dns_msg(msg, 1, wire, wl, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "long wildcard match");
	ASSERT_EQ(g.reason, TW_DNS_OWNED, "judged by name");

	/* Truncation: no question, a cut name, no qtype, a short header. */
	wl = tw_dns_wire("api.prod.test", w);
	ml = tw_dns_msg(msg, 1, w, wl, 1);
	for (i = 0; i < ml; i++) {
		char what[64];
		int r = guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, i, 0));

		snprintf(what, sizeof(what), "cut at %zu of %zu", i, ml);
		ASSERT_EQ(r, 0, what);
		if (i >= 6)	/* before the counts are read it is only "short" */
			ASSERT_EQ(g.reason, TW_DNS_TRUNCATED, what);
	}
	/* Counts that lie: two questions, 65535, and zero (nothing asked). */
	ml = tw_dns_msg(msg, 2, w, wl, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "qdcount 2");
	ASSERT_EQ(g.reason, TW_DNS_COUNT, "count reason");
	ml = tw_dns_msg(msg, 0xffff, w, wl, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "qdcount 65535");
	ml = tw_dns_msg(msg, 0, w, wl, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 0, "qdcount 0");
	ASSERT_EQ(g.reason, TW_DNS_COUNT, "qdcount 0 reason");

	/* Separators smuggled inside a label are a different name, not the owned one. */
	ml = tw_dns_msg(msg, 1, (const uint8_t *)"\15api.prod.test\0", 15, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 1, "one label with dots");
	ml = tw_dns_msg(msg, 1, (const uint8_t *)"\4api\0\4prod\4test\0", 16, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 1, "NUL inside a label");

	/* Other ports are not DNS; IPv6, extension headers and TCP are. */
	ml = tw_dns_msg(msg, 1, w, wl, 1);
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 5353, msg, ml, 0)), 1, "port 5353 not judged");
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 6, L4_UDP, 53, msg, ml, 0)), 0, "IPv6");
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 6, L4_UDP, 53, msg, ml, 2)), 0, "IPv6 behind 2 options headers");
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 6, L4_UDP, 53, msg, ml, 5)), 0, "IPv6 behind 5: unparsed");
	ASSERT_EQ(g.reason, TW_DNS_UNPARSED, "unparsed reason");
	/* IPv4: a later fragment hides its ports; a header length under 20 lies. */
	{
		size_t fl = frame(pkt, 4, L4_UDP, 53, msg, ml, 0);

		pkt[14 + 6] = 0x00;
		pkt[14 + 7] = 0x10;	/* fragment offset 16 */
		ASSERT_EQ(guard_run(&g, pkt, fl), 0, "later IPv4 fragment");
		ASSERT_EQ(g.reason, TW_DNS_UNPARSED, "fragment reason");
		fl = frame(pkt, 4, L4_UDP, 53, msg, ml, 0);
		pkt[14] = 0x44;		/* IHL 4: 16 bytes */
		ASSERT_EQ(guard_run(&g, pkt, fl), 0, "IPv4 header length 16");
		fl = frame(pkt, 4, L4_UDP, 53, msg, ml, 0);
		pkt[14 + 9] = 1;	/* ICMP: not DNS whatever it carries */
		ASSERT_EQ(guard_run(&g, pkt, fl), 1, "ICMP passes");
	}
	{
		uint8_t tcp[800];
		size_t tl, al;

		/* Two length-prefixed queries in one segment: the second is owned. */
		al = tw_dns_msg(tcp + 2, 1, (const uint8_t *)"\7example\3org\0", 13, 1);
		tcp[0] = al >> 8;
		tcp[1] = al & 0xff;
		tl = 2 + al;
		ml = tw_dns_msg(tcp + tl + 2, 1, w, wl, 28);
		tcp[tl] = ml >> 8;
		tcp[tl + 1] = ml & 0xff;
		ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_TCP, 53, tcp, tl, 0)), 1, "TCP: one clean query");
		ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_TCP, 53, tcp, tl + 2 + ml, 0)), 0,
			  "TCP: owned name second in the segment");
		ASSERT_EQ(g.reason, TW_DNS_OWNED, "TCP reason");
		ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_TCP, 53, tcp, 0, 0)), 1, "TCP: bare ACK");
		tcp[0] = 0x40;	/* length prefix longer than the segment */
		ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_TCP, 53, tcp, tl, 0)), 0, "TCP: lying length");
		ASSERT_EQ(g.reason, TW_DNS_TRUNCATED, "TCP lying length reason");
	}
out:
	guard_close(&g);
}

/*
 * A TCP stream read out of step: one urgent byte is taken out of the stream
 * by the server's stack (the guard sees it), so the next segment's query for
 * a prod name looks to the guard like a message with no question.
 */
TEST(integ_dnsparse_urgent_and_desync)
{
	uint8_t tcp[400], pkt[600], w[64];
	size_t wl = tw_dns_wire("api.prod.test", w), ml, fl;
	struct guard g;

	if (!ASSERT_OK(guard_open(&g), "load the DNS guard"))
		goto out;
	ml = tw_dns_msg(tcp + 2, 1, (const uint8_t *)"\4free\4test\0", 11, 1);
	tcp[0] = ml >> 8;
	tcp[1] = ml & 0xff;
	fl = frame(pkt, 4, L4_TCP, 53, tcp, ml + 2, 0);
	ASSERT_EQ(guard_run(&g, pkt, fl), 1, "TCP: a clean query");
	pkt[14 + 20 + 13] |= 0x20;	/* URG */
	ASSERT_EQ(guard_run(&g, pkt, fl), 0, "TCP: the same with urgent data");
	ASSERT_EQ(g.reason, TW_DNS_URGENT, "urgent reason");
	fl = frame(pkt, 6, L4_TCP, 53, tcp, 0, 0);
	pkt[14 + 40 + 13] |= 0x20;
	ASSERT_EQ(guard_run(&g, pkt, fl), 0, "TCP over IPv6: a bare ACK in urgent mode");

	/* What the guard sees of the segment after the urgent byte: [01 00][1f | query...]. */
	memset(tcp, 0, sizeof(tcp));
	tcp[0] = 0x01;
	tcp[2] = 0x1f;
	ASSERT_EQ(tw_dns_msg(tcp + 3, 1, w, wl, 1), 0x1f, "the prod query is 31 bytes");
	fl = frame(pkt, 4, L4_TCP, 53, tcp, 258, 0);
	ASSERT_EQ(guard_run(&g, pkt, fl), 0, "read one byte off: a message with no question");
	ASSERT_EQ(g.reason, TW_DNS_COUNT, "question count reason");

	guard_tag_self(&g, false);
	pkt[14 + 20 + 13] |= 0x20;
	ASSERT_EQ(guard_run(&g, pkt, fl), 1, "an untagged sender is not judged");
out:
	guard_close(&g);
}

/*
 * A TCP segment is read whole or judged unreadable: a third message (the
 * guard reads two) and a data offset past the segment's end are dropped.
 */
TEST(integ_dnsparse_tcp_segment_bounds)
{
	uint8_t tcp[400], pkt[600];
	struct guard g;
	size_t n = 0, fl;
	int i;

	if (!ASSERT_OK(guard_open(&g), "load the DNS guard"))
		goto out;
	for (i = 0; i < 3; i++)
		n += tcp_query("example.org", tcp + n);
	fl = frame(pkt, 4, L4_TCP, 53, tcp, 2 * n / 3, 0);
	ASSERT_EQ(guard_run(&g, pkt, fl), 1, "two clean queries in one segment pass");
	fl = frame(pkt, 4, L4_TCP, 53, tcp, n, 0);
	ASSERT_EQ(guard_run(&g, pkt, fl), 0, "three clean queries in one segment: not all read, dropped");
	ASSERT_EQ(g.reason, TW_DNS_COUNT, "as too many messages");
	fl = frame(pkt, 4, L4_TCP, 53, tcp, 0, 0);
	pkt[14 + 20 + 12] = 15 << 4;	/* 60 bytes of TCP header in a 20-byte segment */
	ASSERT_EQ(guard_run(&g, pkt, fl), 0, "a data offset past the segment's end is dropped");
	ASSERT_EQ(g.reason, TW_DNS_TRUNCATED, "as truncated");
	fl = frame(pkt, 6, L4_TCP, 53, tcp, 4, 0);
	pkt[14 + 40 + 12] = 8 << 4;	/* 32 bytes of header, 24 in the segment */
	ASSERT_EQ(guard_run(&g, pkt, fl), 0, "over IPv6 too");
out:
	guard_close(&g);
}

TEST(integ_dnsparse_fuzz_matches_reference)
{
	static const char *const seeds[] = { "api.prod.test", "x.wild.prod.test", "own.staging.test",
					     "example.org", "wild.prod.test" };
	uint8_t wire[300], msg[400], pkt[600];
	unsigned int seed = 20261123;
	struct guard g;
	int i, mism = 0, drops = 0;

	if (!ASSERT_OK(guard_open(&g), "load the DNS guard"))
		goto out;
	/* Bounded: 4000 packets, each one test run. */
	for (i = 0; i < 4000 && mism < 5; i++) {
		size_t wl = tw_dns_wire(seeds[rand_r(&seed) % ARRAY_SIZE(seeds)], wire);
		size_t ml = tw_dns_msg(msg, 1, wire, wl, 1), k;
		int flips = rand_r(&seed) % 4, r, want;

		for (k = 0; k < (size_t)flips; k++) {
			size_t at = rand_r(&seed) % ml;

			switch (rand_r(&seed) % 5) {
			case 0: msg[at] = rand_r(&seed); break;
			case 1: msg[at] = 0xc0 | (rand_r(&seed) & 0x3f); break;
			case 2: msg[at] = rand_r(&seed) % 70; break;
			case 3: msg[5] = rand_r(&seed) % 3; break;	/* 0, 1 or 2 questions */
			default: msg[at] ^= 0x20; break;	/* case flips */
			}
		}
		if (rand_r(&seed) % 5 == 0)
			ml = rand_r(&seed) % (ml + 1);
		r = guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0));
		want = tw_ref_dns(msg, ml);
		drops += !r;
		if (r != want) {
			mism++;
			printf("    packet %d (len %zu): guard %d, reference %d\n", i, ml, r, want);
		}
	}
	ASSERT_EQ(mism, 0, "guard and reference agree on every packet");
	ASSERT_TRUE(drops > 100 && drops < i - 100, "the fuzz exercised both verdicts");
	printf("    %d packets, %d dropped\n", i, drops);
out:
	guard_close(&g);
}
