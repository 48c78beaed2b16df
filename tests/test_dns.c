// SPDX-License-Identifier: GPL-2.0
/*
 * Hostnames: policy validation (unit_*), the DNS guard program on crafted
 * packets through BPF_PROG_TEST_RUN (integ_dnsparse_*, also in the guests),
 * including a differential fuzz against a userspace reference parser.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <netdb.h>
#include <signal.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "compile.h"
#include "event.h"
#include "evlog.h"
#include "fixture.h"
#include "loader.h"
#include "net.h"
#include "policy.h"
#include "test.h"
#include "util.h"
#include "dns.skel.h"

/* ---- policy ---- */

TEST(unit_hostname_validation)
{
	static const struct { const char *in, *out, *err; } cases[] = {
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

#define TIER_STAGING	1
#define TIER_PROD	2

static const struct { const char *name; int tier; } guard_names[] = {
	{ "api.prod.test", TIER_PROD },
	{ "*.wild.prod.test", TIER_PROD },
	{ "own.staging.test", TIER_STAGING },
};

struct guard {
	struct dns_bpf *skel;
	struct ring_buffer *rb;
	int fd;
	/* the last event read */
	int events, reason, verdict;
	char name[1100];
};

static int on_guard_event(void *ctx, void *data, size_t size)
{
	struct guard *g = ctx;
	const struct tw_dns_event *e = data;

	if (size < sizeof(*e) || e->h.kind != TW_EV_DNS)
		return 0;
	g->events++;
	g->reason = e->reason;
	g->verdict = e->h.verdict;
	tw_dns_name_format(e->wire, e->wire_len, g->name, sizeof(g->name));
	return 0;
}

/* Tag this process's own cgroup and the root: private maps, nothing attached. */
static int guard_tag_self(struct guard *g, bool tag)
{
	char mnt[PATH_MAX], path[PATH_MAX * 2], line[PATH_MAX];
	struct tw_runtime rt = {};
	struct tw_tier_val v = { .tier = TIER_STAGING };
	uint64_t id, root;
	int level = 0, zero = 0;
	FILE *f;

	if (tw_cgroup2_mount(mnt, sizeof(mnt)) || tw_cgroup_id(mnt, &root))
		return -ENOENT;
	f = fopen("/proc/self/cgroup", "r");
	path[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(path, sizeof(path), "%s%s", mnt, strcmp(line + 3, "/") ? line + 3 : "");
		}
	if (f)
		fclose(f);
	if (!path[0] || tw_cgroup_id(path, &id) || (level = tw_cgroup_level(mnt, path)) < 0)
		return -ENOENT;
	if (tag) {
		/* The root too: kernels whose test-run socket has no cgroup report the root. */
		bpf_map_update_elem(bpf_map__fd(g->skel->maps.cgroup_tiers), &id, &v, 0);
		bpf_map_update_elem(bpf_map__fd(g->skel->maps.cgroup_tiers), &root, &v, 0);
		rt.level_mask = (1ULL << level) | 1;
		rt.max_level = level;
	}
	return bpf_map_update_elem(bpf_map__fd(g->skel->maps.runtime), &zero, &rt, 0) ? -errno : 0;
}

static int guard_open(struct guard *g)
{
	size_t i;

	memset(g, 0, sizeof(*g));
	g->skel = dns_bpf__open();
	if (!g->skel)
		return -errno;
	bpf_map__set_max_entries(g->skel->maps.names, ARRAY_SIZE(guard_names));
	/* Both variants are exercised: 6.1 guests have no task helpers in cgroup_skb. */
	g->skel->rodata->task_helpers = tw_skb_task_helpers();
	if (dns_bpf__load(g->skel))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(guard_names); i++) {
		struct tw_name_val v = { .host = i + 1, .tier = guard_names[i].tier };
		struct tw_name_key k;

		tw_name_key(guard_names[i].name, &k);
		if (bpf_map_update_elem(bpf_map__fd(g->skel->maps.names), &k, &v, 0))
			return -errno;
	}
	for (i = 1; i <= 2; i++) {
		struct tw_tier_info ti = { .defined = 1 };
		__u32 key = i;

		bpf_map_update_elem(bpf_map__fd(g->skel->maps.tier_info), &key, &ti, 0);
	}
	g->rb = ring_buffer__new(bpf_map__fd(g->skel->maps.events), on_guard_event, g, NULL);
	g->fd = bpf_program__fd(g->skel->progs.tw_dns_egress);
	return g->rb ? guard_tag_self(g, true) : -ENOMEM;
}

static void guard_close(struct guard *g)
{
	ring_buffer__free(g->rb);
	dns_bpf__destroy(g->skel);
}

/* Run the program on an Ethernet frame: 1 passed, 0 dropped, <0 error. */
static int guard_run(struct guard *g, const void *frame, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = 1);

	g->events = 0;
	g->reason = -1;
	g->name[0] = '\0';
	if (bpf_prog_test_run_opts(g->fd, &o))
		return -errno;
	ring_buffer__consume(g->rb);
	return o.retval;
}

enum { L4_UDP = 17, L4_TCP = 6 };

/* Ethernet + IPv4 or IPv6 (with nhop hop-by-hop headers) + UDP/TCP + payload. */
static size_t frame(uint8_t *out, int family, int l4, uint16_t dport, const void *pl,
		    size_t plen, int nhop)
{
	size_t off = 14, l4len = (l4 == L4_UDP ? 8 : 20) + plen, iplen;
	int i;

	memset(out, 0, 14 + 40 + nhop * 8 + 20);
	out[12] = family == 4 ? 0x08 : 0x86;
	out[13] = family == 4 ? 0x00 : 0xdd;
	if (family == 4) {
		iplen = 20 + l4len;
		out[off] = 0x45;
		out[off + 2] = iplen >> 8;
		out[off + 3] = iplen & 0xff;
		out[off + 8] = 64;
		out[off + 9] = l4;
		memcpy(out + off + 12, "\x7f\0\0\1\x7f\0\0\1", 8);
		off += 20;
	} else {
		iplen = nhop * 8 + l4len;
		out[off] = 0x60;
		out[off + 4] = iplen >> 8;
		out[off + 5] = iplen & 0xff;
		out[off + 6] = nhop ? 0 : l4;
		out[off + 7] = 64;
		out[off + 23] = 1;
		out[off + 39] = 1;
		off += 40;
		for (i = 0; i < nhop; i++) {
			out[off] = i == nhop - 1 ? l4 : 0;	/* next header */
			out[off + 1] = 0;			/* 8 bytes */
			out[off + 2] = 1;			/* PadN */
			out[off + 3] = 4;
			off += 8;
		}
	}
	out[off] = 0x9c;	/* source port 40000 */
	out[off + 1] = 0x40;
	out[off + 2] = dport >> 8;
	out[off + 3] = dport & 0xff;
	if (l4 == L4_UDP) {
		out[off + 4] = l4len >> 8;
		out[off + 5] = l4len & 0xff;
		off += 8;
	} else {
		out[off + 12] = 5 << 4;
		out[off + 13] = 0x18;	/* PSH ACK */
		off += 20;
	}
	memcpy(out + off, pl, plen);
	return off + plen;
}

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
	ASSERT_EQ(guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0)), 1, "qdcount 0 asks nothing");

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
 * The reference the fuzz compares with: the same rules written plainly in
 * userspace. 1 pass, 0 drop, for a UDP payload.
 */
static int reference(const uint8_t *m, size_t len)
{
	char name[1024];
	size_t pos = 12, n = 0, i;
	unsigned int qd;

	if (len < 12)
		return 0;
	qd = m[4] << 8 | m[5];
	if (!qd)
		return 1;
	if (qd > 1)
		return 0;
	for (;;) {
		if (pos >= len)
			return 0;
		if (!m[pos])
			break;
		if (m[pos] & 0xc0)
			return 0;
		if (pos - 12 + m[pos] + 1 > 254)
			return 0;
		if (n)
			name[n++] = '.';
		for (i = 1; i <= m[pos]; i++) {
			uint8_t c = pos + i < len ? m[pos + i] : 0;

			name[n++] = c == '.' || c == 0 ? 1 : tolower(c);
		}
		pos += m[pos] + 1;
	}
	if (pos + 5 > len)
		return 0;
	name[n] = '\0';
	if (!strcmp(name, "api.prod.test"))
		return 0;
	if (n > strlen(".wild.prod.test") && !strcmp(name + n - strlen(".wild.prod.test"), ".wild.prod.test"))
		return 0;
	return 1;
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

			switch (rand_r(&seed) % 4) {
			case 0: msg[at] = rand_r(&seed); break;
			case 1: msg[at] = 0xc0 | (rand_r(&seed) & 0x3f); break;
			case 2: msg[at] = rand_r(&seed) % 70; break;
			default: msg[at] ^= 0x20; break;	/* case flips */
			}
		}
		if (rand_r(&seed) % 5 == 0)
			ml = rand_r(&seed) % (ml + 1);
		r = guard_run(&g, pkt, frame(pkt, 4, L4_UDP, 53, msg, ml, 0));
		want = reference(msg, ml);
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

/* ---- end to end: a real daemon, dnsmasq, resolver clients ---- */

#define HOSTS_V1 "127.44.0.1 api.prod.test\nfd00:44::1 api.prod.test\n127.45.0.1 api.staging.test\n" \
		 "127.46.0.1 free.test\n"

static const char *dns_policy =
	"{ \"version\": 1,\n"
	"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [\n"
	"    { \"tier\": \"prod\", \"hostnames\": [\"api.prod.test\", \"late.prod.test\", \"*.wild.prod.test\"] },\n"
	"    { \"tier\": \"staging\", \"hostnames\": [\"api.staging.test\"] } ] }\n";

/* getaddrinfo() in the child: 0 if it resolved to want (NULL: anything), else 1 (via fx_do). */
struct lookup {
	const char *name;
	const char *want;
};

static int do_lookup(void *arg)
{
	const struct lookup *l = arg;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res, *ai;
	char txt[INET6_ADDRSTRLEN];
	int found = 0;

	if (getaddrinfo(l->name, NULL, &hints, &res))
		return -1;	/* fx_do reports -ret */
	for (ai = res; ai; ai = ai->ai_next) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, txt, sizeof(txt));
		found |= !l->want || !strcmp(txt, l->want);
	}
	freeaddrinfo(res);
	return found ? 0 : -1;
}

static int lookup_in(struct fx *f, const char *rel, const char *name, const char *want, pid_t *pid)
{
	struct lookup l = { .name = name, .want = want };

	return fx_do(f, rel, do_lookup, &l, pid);
}

struct query {
	const char *server;
	const char *name;
	bool tcp;
};

static int do_query(void *arg)
{
	const struct query *q = arg;

	return tw_dns_ask(q->server, q->name, q->tcp);
}

static int query_in(struct fx *f, const char *rel, const char *server, const char *name, bool tcp,
		    pid_t *pid)
{
	struct query q = { .server = server, .name = name, .tcp = tcp };

	return fx_do(f, rel, do_query, &q, pid);
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Start dnsmasq and the daemon; 0, or 1 when the test was skipped. */
static int dns_setup_with(struct fx *f, struct fx_dns *x, const char *const *extra,
			  const char *policy, const char *hosts)
{
	static const char *const cgs[] = { "staging", "prod", "other", NULL };
	int err;

	memset(x, 0, sizeof(*x));	/* cleanup may run before fx_dns_start */
	x->old_net = x->old_mnt = x->old_cwd = -1;
	if (!ASSERT_OK(fx_init(f, cgs), "fixture"))
		return -1;
	err = fx_dns_start(x, f, hosts);
	if (err)
		return err == 1 ? 1 : (ASSERT_OK(err, "dnsmasq in a private namespace"), -1);
	if (!ASSERT_OK(fx_write_policy(f, policy), "policy"))
		return -1;
	if (!ASSERT_OK(fx_start(f, extra), "tierwalld starts")) {
		char out[8192];

		fx_sh(out, sizeof(out), "cat %s", f->daemon_out);
		printf("%s", out);
		return -1;
	}
	return 0;
}

static int dns_setup(struct fx *f, struct fx_dns *x, const char *const *extra)
{
	return dns_setup_with(f, x, extra, dns_policy, HOSTS_V1);
}

TEST(dns_queries_for_other_tiers_names_dropped)
{
	struct fx f;
	struct fx_dns x;
	json_t *e = NULL;
	pid_t pid;
	char out[8192];

	if (dns_setup(&f, &x, NULL))
		goto out;
	/* Untagged: everything resolves (the zone really answers these). */
	ASSERT_OK(lookup_in(&f, "other", "api.prod.test", "127.44.0.1", NULL), "untagged resolves a prod name");
	ASSERT_OK(lookup_in(&f, "other", "x.wild.prod.test", "127.44.0.7", NULL), "untagged resolves a wildcard name");

	/* Staging: prod names fail, exact, by wildcard, in any case, with a trailing dot. */
	ASSERT_EQ(lookup_in(&f, "staging", "api.prod.test", NULL, &pid), 1, "staging cannot resolve a prod name");
	e = fx_event_kind(&f, "dns", pid);
	if (ASSERT_TRUE(e != NULL, "dns event")) {
		ASSERT_STREQ(jstr(e, "verdict"), "deny", "verdict");
		ASSERT_STREQ(jstr(e, "name"), "api.prod.test", "queried name");
		ASSERT_TRUE(jstr(e, "qtype") && (!strcmp(jstr(e, "qtype"), "A") || !strcmp(jstr(e, "qtype"), "AAAA")),
			    "qtype");
		ASSERT_STREQ(jstr(e, "hostname"), "api.prod.test", "policy hostname");
		ASSERT_STREQ(jstr(e, "target_tier"), "prod", "owner");
		ASSERT_STREQ(jstr(e, "tier"), "staging", "caller");
		ASSERT_STREQ(jstr(e, "reason"), "name_of_other_tier", "reason");
	}
	json_decref(e);
	ASSERT_EQ(lookup_in(&f, "staging", "deep.x.wild.prod.test", NULL, &pid), 1, "wildcard caught");
	e = fx_event_kind(&f, "dns", pid);
	ASSERT_STREQ(e ? jstr(e, "hostname") : NULL, "*.wild.prod.test", "wildcard named in the event");
	json_decref(e);
	ASSERT_EQ(lookup_in(&f, "staging", "API.Prod.Test.", NULL, NULL), 1, "case and trailing dot");
	/* Its own and unowned names still resolve. */
	ASSERT_OK(lookup_in(&f, "staging", "api.staging.test", "127.45.0.1", NULL), "own name resolves");
	ASSERT_OK(lookup_in(&f, "staging", "free.test", "127.46.0.1", NULL), "unowned name resolves");

	/* The same over IPv6 to ::1, and over TCP. */
	ASSERT_EQ(query_in(&f, "staging", "::1", "api.prod.test", false, NULL), EPERM, "UDP to ::1: EPERM");
	ASSERT_OK(query_in(&f, "staging", "::1", "free.test", false, NULL), "UDP to ::1, free name answered");
	ASSERT_EQ(query_in(&f, "staging", "127.0.0.1", "api.prod.test", true, &pid), ETIMEDOUT,
		  "TCP query never answered");
	e = fx_event_kind(&f, "dns", pid);
	ASSERT_STREQ(e ? jstr(json_object_get(e, "dst"), "proto") : NULL, "tcp", "TCP drop logged");
	json_decref(e);
	ASSERT_OK(query_in(&f, "staging", "127.0.0.1", "free.test", true, NULL), "TCP query for a free name");
	ASSERT_OK(query_in(&f, "other", "127.0.0.1", "api.prod.test", true, NULL), "TCP untagged");

	/* The CLI shows what the names resolved to. */
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock), 0, "status");
	ASSERT_CONTAINS(out, "\"dns_guard\": true", "guard loaded");
	ASSERT_CONTAINS(out, "127.44.0.1", "resolved address listed");
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

TEST(dns_connect_to_resolved_address_denied)
{
	struct fx f;
	struct fx_dns x;
	json_t *e = NULL;
	int port = fx_port(1), lfd = -1, i;
	pid_t pid;

	if (dns_setup(&f, &x, NULL))
		goto out;
	lfd = fx_listen_tcp("127.44.0.1", port);
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, &pid), EPERM,
		  "staging connect to api.prod.test's address");
	e = fx_event(&f, pid, port);
	if (ASSERT_TRUE(e != NULL, "connect event")) {
		ASSERT_STREQ(jstr(e, "kind"), "connect", "kind");
		ASSERT_STREQ(jstr(e, "hostname"), "api.prod.test", "the hostname the address came from");
		ASSERT_STREQ(jstr(e, "rule"), "destinations[0].hostnames[0]", "rule");
		ASSERT_STREQ(jstr(e, "target_tier"), "prod", "owner");
	}
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_UDP_SENDTO, "127.44.0.1", port, NULL), EPERM, "UDP too");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "::ffff:127.44.0.1", port, NULL), EPERM,
		  "IPv4-mapped form of the address");
	/* The AAAA record: an address only this private namespace could route. */
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "fd00:44::1", port, &pid), EPERM,
		  "the name's IPv6 address");
	json_decref(e);
	e = fx_event(&f, pid, port);
	ASSERT_STREQ(e ? jstr(e, "hostname") : NULL, "api.prod.test", "IPv6 denial names the hostname");
	ASSERT_NE(fx_net(&f, "other", TW_OP_TCP_CONNECT, "fd00:44::1", port, NULL), EPERM,
		  "untagged: not refused by tierwall (no route in the namespace)");
	ASSERT_OK(fx_net(&f, "other", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), "untagged connects");
	ASSERT_TRUE(fx_accepted(lfd), "and really reached the listener");
	ASSERT_OK(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.45.0.1", port, NULL) == ECONNREFUSED ? 0 : -1,
		  "own name's address: allowed (refused by nobody listening)");

	/* A reload resolves again before the new programs take over: no gap. */
	kill(f.daemon, SIGHUP);
	for (i = 0; i < 100; i++) {
		char out[256];

		if (!fx_sh(out, sizeof(out), "grep -q '\"reload\":true' %s/events.jsonl", f.log_dir))
			break;
		ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
			  "denied while the reload runs");
		usleep(50 * 1000);
	}
	ASSERT_TRUE(i < 100, "reloaded");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "denied after the reload");
	ASSERT_EQ(lookup_in(&f, "staging", "api.prod.test", NULL, NULL), 1, "the guard is back too");
out:
	json_decref(e);
	if (lfd >= 0)
		close(lfd);
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* Poll op until it returns want: bounded at about secs seconds. */
static bool eventually(struct fx *f, const char *addr, int port, int want, int secs)
{
	int i;

	for (i = 0; i < secs * 5; i++) {
		if (fx_net(f, "staging", TW_OP_TCP_CONNECT, addr, port, NULL) == want)
			return true;
		usleep(200 * 1000);
	}
	return false;
}

TEST(dns_ttl_refresh_and_grace)
{
	static const char *const extra[] = { "--dns-grace", "4s", NULL };
	struct fx f;
	struct fx_dns x;
	int port = fx_port(2);
	json_t *e;

	if (dns_setup(&f, &x, extra))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM, "v1 address denied");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.9", port, NULL), ECONNREFUSED,
		  "future address still free");
	/* The record changes; TTL 1 s: the daemon must notice on its own. */
	ASSERT_OK(fx_dns_set_hosts(&x, "127.44.0.9 api.prod.test\n127.45.0.1 api.staging.test\n"), "change record");
	ASSERT_TRUE(eventually(&f, "127.44.0.9", port, EPERM, 10), "new address denied after the TTL refresh");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "old address still denied within the grace period");
	ASSERT_TRUE(eventually(&f, "127.44.0.1", port, ECONNREFUSED, 15), "old address released after the grace period");
	e = fx_daemon_event(&f, "hostname_addresses");
	ASSERT_TRUE(e != NULL, "address changes are logged");
	json_decref(e);
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

TEST(dns_unresolvable_name_retried_and_reported)
{
	char maddr[64], out[8192];
	const char *extra[] = { "--metrics", maddr, NULL };
	struct fx f;
	struct fx_dns x;
	int port = fx_port(3);
	json_t *e;

	/* late.prod.test does not exist yet: the daemon starts all the same. */
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", fx_port(4));
	if (dns_setup(&f, &x, extra))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "the rest of the policy is enforced");
	e = fx_daemon_event(&f, "hostname_unresolved");
	ASSERT_STREQ(e ? jstr(e, "hostname") : NULL, "late.prod.test", "failure reported in the log");
	json_decref(e);
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock), 0, "status");
	ASSERT_CONTAINS(out, "\"failing\"", "status shows the failing name");
	if (ASSERT_OK(fx_http_get(fx_port(4), "/metrics", out, sizeof(out)), "metrics")) {
		ASSERT_CONTAINS(out, "tierwall_hostnames 3\n", "exact names counted");
		ASSERT_CONTAINS(out, "tierwall_hostnames_failing 1\n", "the failing one too");
	}
	ASSERT_OK(fx_dns_set_hosts(&x, HOSTS_V1 "127.44.0.5 late.prod.test\n"), "the name appears");
	ASSERT_TRUE(eventually(&f, "127.44.0.5", port, EPERM, 12), "retried with backoff, then enforced");
	e = fx_daemon_event(&f, "hostname_resolved");
	ASSERT_STREQ(e ? jstr(e, "hostname") : NULL, "late.prod.test", "recovery reported");
	json_decref(e);
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* Make a UDP socket here; once moved to another cgroup, send a query for a prod name on it. */
struct moved {
	int fd;
};

static int query_socket(void *arg)
{
	struct moved *m = arg;

	m->fd = socket(AF_INET, SOCK_DGRAM, 0);
	return m->fd < 0 ? -EIO : 0;
}

static int query_moved(void *arg)
{
	const struct moved *m = arg;
	unsigned char wire[64], msg[128];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	size_t ml = tw_dns_msg(msg, 1, wire, tw_dns_wire("db.prod.test", wire), 1);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sendto(m->fd, msg, ml, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
}

/* n queries for a prod name on one socket: each must fail with EPERM. */
static int query_many(void *arg)
{
	unsigned char wire[64], msg[128];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	size_t ml = tw_dns_msg(msg, 1, wire, tw_dns_wire("db.prod.test", wire), 28);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), i, n = *(int *)arg;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++)
		if (sendto(fd, msg, ml, 0, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EPERM)
			return -EIO;
	return 0;
}

struct dns_sum {
	pid_t pid;
	long records, decisions;
};

static int sum_dns(void *arg, const char *line, size_t len, long lineno)
{
	struct dns_sum *s = arg;
	json_t *o = json_loadb(line, len, 0, NULL);

	if (jstr(o, "kind") && !strcmp(jstr(o, "kind"), "dns") &&
	    json_integer_value(json_object_get(o, "pid")) == s->pid) {
		s->records++;
		s->decisions += json_integer_value(json_object_get(o, "count"));
	}
	json_decref(o);
	return 0;
}

/* The daemon loads and attaches the guard (host and guests, no DNS server needed). */
TEST(integ_dns_guard_attached_by_daemon)
{
	static const char *const cgs[] = { "staging", NULL };
	const char *policy =
		"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
		"  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"*.prod.test\"] } ] }\n";
	struct moved mv;
	struct fx f;
	json_t *e = NULL;
	pid_t pid;

	if (!ASSERT_OK(fx_init(&f, cgs), "fixture") || !ASSERT_OK(fx_write_policy(&f, policy), "policy") ||
	    !ASSERT_OK(fx_start(&f, NULL), "tierwalld starts"))
		goto out;
	/* Loopback, port 53: nothing listens, so only the guard can make it EPERM. */
	ASSERT_EQ(query_in(&f, "staging", "127.0.0.1", "db.prod.test", false, &pid), EPERM,
		  "query for a prod name from staging");
	/* The caller recorded on the socket gives the pid, even on 6.1. */
	e = fx_event_kind(&f, "dns", pid);
	if (ASSERT_TRUE(e != NULL, "dns event in the log, with the caller's pid")) {
		ASSERT_STREQ(jstr(e, "name"), "db.prod.test", "name");
		ASSERT_STREQ(jstr(e, "hostname"), "*.prod.test", "hostname");
		ASSERT_STREQ(jstr(e, "tier"), "staging", "caller tier");
		ASSERT_STREQ(jstr(e, "comm"), "tw_tests", "caller comm");
	}
	/* Judge the caller, not the socket's maker: both ways (inside the root). */
	ASSERT_OK(fx_mkcg(&f, "free"), "untagged cgroup");
	ASSERT_EQ(fx_do_moved(&f, "free", "staging", query_socket, query_moved, &mv, NULL), EPERM,
		  "socket made untagged, query sent after moving into staging");
	ASSERT_EQ(fx_do_moved(&f, "staging", "free", query_socket, query_moved, &mv, NULL), 0,
		  "socket made in staging, query sent after moving out");
	ASSERT_NE(query_in(&f, "staging", "127.0.0.1", "db.staging.test", false, NULL), EPERM,
		  "other names leave (and find no server)");
	ASSERT_NE(query_in(&f, NULL, "127.0.0.1", "db.prod.test", false, NULL), EPERM, "untagged");

	/* A burst folds into few records whose counts add up to every query. */
	{
		char log[PATH_MAX + 16];
		struct dns_sum sum = {};
		int n = 500;

		ASSERT_OK(fx_do(&f, "staging", query_many, &n, &sum.pid), "500 refused queries");
		fx_stop(&f);	/* flushes the open flood windows */
		snprintf(log, sizeof(log), "%s/events.jsonl", f.log_dir);
		tw_evlog_read(log, sum_dns, &sum);
		ASSERT_EQ(sum.decisions, n, "every query accounted for");
		ASSERT_TRUE(sum.records < n / 10, "in a few records");
	}
out:
	json_decref(e);
	fx_cleanup(&f);
}

/* Names of two tiers on one address: refused to both, unless a CIDR says whose it is. */
TEST(dns_shared_address_settled_by_cidr)
{
	static const char *policy =
		"{ \"version\": 1,\n"
		"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" },\n"
		"               { \"path\": \"/prod\", \"tier\": \"prod\" } ],\n"
		"  \"destinations\": [\n"
		"    { \"tier\": \"prod\", \"hostnames\": [\"api.prod.test\", \"ingress.prod.test\"] },\n"
		"    { \"tier\": \"staging\", \"hostnames\": [\"www.staging.test\", \"ingress.staging.test\"] },\n"
		"    { \"tier\": \"prod\", \"cidrs\": [\"127.47.0.1/32\"] } ] }\n";
	static const char *hosts =
		"127.44.0.1 api.prod.test\n127.44.0.1 www.staging.test\n"
		"127.47.0.1 ingress.prod.test\n127.47.0.1 ingress.staging.test\n";
	struct fx f;
	struct fx_dns x;
	int port = fx_port(6);
	char out[8192];

	if (dns_setup_with(&f, &x, NULL, policy, hosts))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "shared by names of both tiers: staging refused");
	ASSERT_EQ(fx_net(&f, "prod", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "and prod refused too");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.47.0.1", port, NULL), EPERM,
		  "the CIDR says prod's: staging refused");
	ASSERT_EQ(fx_net(&f, "prod", TW_OP_TCP_CONNECT, "127.47.0.1", port, NULL), ECONNREFUSED,
		  "and prod let through");
	fx_sh(out, sizeof(out), "cat %s", f.daemon_out);
	ASSERT_CONTAINS(out, "127.44.0.1 is an address of names of more than one tier", "warned");
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* The daemon follows /etc/resolv.conf: a new server is used without a reload. */
TEST(dns_resolver_change_followed)
{
	struct fx f;
	struct fx_dns x;
	int port = fx_port(7), i;
	char out[8192];
	json_t *e = NULL;

	if (dns_setup(&f, &x, NULL))
		goto out;
	/* A server nobody answers at: every name starts failing. */
	ASSERT_OK(fx_dns_set_resolver(&f, "127.0.0.2"), "resolver moved away");
	for (i = 0; i < 100; i++) {
		fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock);
		if (strstr(out, "api.prod.test") && strstr(out, "\"failures\": 2"))
			break;
		usleep(100 * 1000);
	}
	ASSERT_TRUE(i < 100, "names fail against the dead server (and addresses are kept)");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "known address still enforced while resolution fails");
	/* The real server is back, and late.prod.test now exists. */
	ASSERT_OK(fx_dns_set_hosts(&x, HOSTS_V1 "127.44.0.5 late.prod.test\n"), "new record");
	ASSERT_OK(fx_dns_set_resolver(&f, "127.0.0.1"), "resolver back");
	ASSERT_TRUE(eventually(&f, "127.44.0.5", port, EPERM, 6), "resolved soon after the change");
	for (i = 0; i < 50 && !(e = fx_daemon_event(&f, "resolver_changed")); i++)
		usleep(100 * 1000);
	ASSERT_TRUE(e != NULL, "the change is on the record");
	json_decref(e);
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* Bad resolver options stop the daemon at once, whatever the policy. */
TEST(integ_dns_options_checked)
{
	static const char *const bad[][2] = {
		{ "--dns-server=not-an-ip", "\"not-an-ip\" is not an address" },
		{ "--dns-server=10.0.0.1:99999", "(port 1-65535)" },
		{ "--dns-server=[fd00::1]", "is not an address" },
		{ "--dns-server=", "expected a list" },
		{ "--dns-grace=5 minutes", "--dns-grace: \"5 minutes\" is not a duration" },
		{ "--dns-max-refresh=0s", "--dns-max-refresh: \"0s\"" },
	};
	char out[4096];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = fx_sh(out, sizeof(out), "%s/tierwalld --policy /nonexistent '%s' 2>&1",
			       tw_build_dir, bad[i][0]);

		ASSERT_EQ(rc, 2, bad[i][0]);
		ASSERT_CONTAINS(out, bad[i][1], bad[i][0]);
	}
}
