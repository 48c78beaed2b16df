// SPDX-License-Identifier: GPL-2.0
/* Unit tests of the records: kernel events and daemon records encoded, checked against the schema. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include "event.h"
#include "evlog.h"
#include "fixture.h"
#include "seal.h"
#include "policy.h"
#include "reference.h"
#include "schema.h"
#include "test.h"
#include "util.h"

#define T(s) s "\n"

static const char *fake_path(void *arg, uint64_t id)
{
	return id == 77 ? "/tw/agents/staging" : NULL;
}

TEST(unit_event_encoding)
{
	const char *text =
		T("{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},")
		T("  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"10.20.0.0/16\"] } ] }");
	struct tw_event e = {
		.h = { .kind = TW_EV_CONNECT, .size = sizeof(e), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .target_tier = 2, .pid = 4242, .tid = 4243, .uid = 1000,
		       .ts_boot_ns = 1500000000ull, .cgroup_id = 77, .tagged_cgroup_id = 78,
		       .comm = "agent\x01x" },
		.family = 4, .mapped = 1, .proto = IPPROTO_TCP, .dport = 5432, .rule = 0,
		.daddr = { 10, 20, 0, 1 },
	};
	struct tw_event_ctx c = { .host = "node-1", .cgroup_path = fake_path };
	struct tw_diags d = {};
	json_t *o = NULL, *dst;
	char *s = NULL;

	c.policy = tw_ref_policy(text, &d);
	c.boot_to_real = 1700000000ll * 1000000000ll;
	if (!ASSERT_TRUE(c.policy != NULL, "policy"))
		goto out;
	ASSERT_OK(tw_event_check(&e, sizeof(e)), "record accepted");
	ASSERT_EQ(tw_event_check(&e, sizeof(e) - 1), -EINVAL, "short record refused");
	e.h.size = 12;
	ASSERT_EQ(tw_event_check(&e, sizeof(e)), -EPROTO, "wrong size field refused");
	e.h.size = sizeof(e);
	e.h.kind = 99;
	ASSERT_EQ(tw_event_check(&e, sizeof(e)), -EPROTO, "unknown kind refused");
	e.h.kind = TW_EV_CONNECT;
	o = tw_event_json(&e, &c);
	if (!ASSERT_TRUE(o != NULL, "encodes"))
		goto out;
	s = json_dumps(o, JSON_COMPACT);
	printf("    %s\n", s);
	ASSERT_STREQ(json_string_value(json_object_get(o, "ts")), "2023-11-14T22:13:21.500000000Z", "ts");
	ASSERT_STREQ(json_string_value(json_object_get(o, "host")), "node-1", "host");
	ASSERT_STREQ(json_string_value(json_object_get(o, "kind")), "connect", "kind");
	ASSERT_STREQ(json_string_value(json_object_get(o, "verdict")), "deny", "verdict");
	ASSERT_STREQ(json_string_value(json_object_get(o, "tier")), "staging", "tier");
	ASSERT_STREQ(json_string_value(json_object_get(o, "target_tier")), "prod", "target");
	ASSERT_STREQ(json_string_value(json_object_get(o, "cgroup")), "/tw/agents/staging", "cgroup");
	ASSERT_TRUE(json_is_null(json_object_get(o, "tagged_cgroup")), "unknown cgroup is null");
	ASSERT_STREQ(json_string_value(json_object_get(o, "comm")), "agent\x01x", "comm kept exactly (escaped in JSON)");
	ASSERT_STREQ(json_string_value(json_object_get(o, "rule")), "destinations[0].cidrs[0]", "rule");
	ASSERT_STREQ(json_string_value(json_object_get(o, "cidr")), "10.20.0.0/16", "cidr");
	ASSERT_STREQ(json_string_value(json_object_get(o, "policy")), c.policy->digest, "digest");
	dst = json_object_get(o, "dst");
	ASSERT_STREQ(json_string_value(json_object_get(dst, "ip")), "::ffff:10.20.0.1", "mapped ip");
	ASSERT_EQ(json_integer_value(json_object_get(dst, "port")), 5432, "port");
	ASSERT_STREQ(json_string_value(json_object_get(dst, "proto")), "tcp", "proto");
out:
	free(s);
	json_decref(o);
	tw_policy_free((struct tw_policy *)c.policy);
	tw_diags_free(&d);
}

/* One address and one rule's CIDR through the encoder, against inet_ntop's text. */
static bool same_as_inet_ntop(struct tw_event *e, struct tw_event_ctx *c, const uint8_t *addr)
{
	struct tw_policy_rule *r = &((struct tw_policy *)c->policy)->rules[0];
	char want[INET6_ADDRSTRLEN + 8], cidr[INET6_ADDRSTRLEN + 8];
	json_t *o;
	bool same;

	memcpy(e->daddr, addr, 16);
	memcpy(r->cidr.addr, addr, 16);
	r->cidr.family = e->family;
	inet_ntop(e->family == 4 ? AF_INET : AF_INET6, addr, want, sizeof(want));
	tw_cidr_format(&r->cidr, cidr, sizeof(cidr));
	o = tw_event_json(e, c);
	same = o && !strcmp(json_string_value(json_object_get(json_object_get(o, "dst"), "ip")) ?: "", want) &&
	       !strcmp(json_string_value(json_object_get(o, "cidr")) ?: "", cidr);
	if (!same)
		printf("    %s: encoded as %s\n", want, o ? json_dumps(json_object_get(o, "dst"), 0) : "nothing");
	json_decref(o);
	return same;
}

/* The encoder writes addresses itself (no printf in the hot path): exactly inet_ntop's text. */
TEST(unit_event_addresses_as_inet_ntop)
{
	static const uint8_t edges[][16] = {
		{}, { [15] = 1 }, { [0] = 0x20, [1] = 0x01, [15] = 1 }, { [10] = 0xff, [11] = 0xff, 10, 0, 0, 1 },
		{ [12] = 10, 0, 0, 1 }, { [11] = 0xff, [12] = 10, 0, 0, 1 }, { [0] = 0xfe, [1] = 0x80, [7] = 1 },
		{ [0] = 0xff, [1] = 0x02, [15] = 0x01 }, { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1 },
		{ [2] = 1, [6] = 1, [10] = 1, [14] = 1 }, { 0xab, 0xcd, [14] = 0x10, [15] = 0 },
		{ [0] = 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255 },
		{ [10] = 0xff, [11] = 0xfe, 1, 2, 3, 4 }, { [9] = 1, [12] = 1, 2, 3, 4 },
	};
	const char *text =
		T("{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},")
		T("  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"10.20.0.0/16\"] } ] }");
	struct tw_event e = {
		.h = { .kind = TW_EV_CONNECT, .size = sizeof(e), .verdict = TW_VERDICT_DENY, .tier = 1 },
		.proto = IPPROTO_UDP,
	};
	struct tw_event_ctx c = { .host = "node-1", .cgroup_path = fake_path };
	struct tw_diags d = {};
	unsigned int seed = 19, i, j, bad = 0;
	uint8_t a[16];

	c.policy = tw_ref_policy(text, &d);
	if (!ASSERT_TRUE(c.policy != NULL, "policy"))
		goto out;
	for (e.family = 4; e.family <= 6; e.family += 2) {
		for (i = 0; i < ARRAY_SIZE(edges); i++)
			bad += !same_as_inet_ntop(&e, &c, edges[i]);
		/* Random groups, many of them zero, so that runs of every length and place occur. */
		for (i = 0; i < 20000; i++) {
			for (j = 0; j < 16; j += 2) {
				int v = rand_r(&seed) % 4 ? 0 : rand_r(&seed) & (rand_r(&seed) % 2 ? 0xffff : 0xf);

				a[j] = v >> 8;
				a[j + 1] = v;
			}
			if (i % 7 == 0)
				memcpy(a, edges[3], 12);
			bad += !same_as_inet_ntop(&e, &c, a);
		}
	}
	ASSERT_EQ(bad, 0, "every address and CIDR encoded as inet_ntop writes it");
out:
	tw_policy_free((struct tw_policy *)c.policy);
	tw_diags_free(&d);
}

static const char *fake_mount(void *arg, uint32_t kdev)
{
	return kdev == (8u << 20 | 1) ? "/srv" : NULL;
}

TEST(unit_file_event_encoding)
{
	const char *text =
		T("{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},")
		T("  \"secrets\": [ { \"tier\": \"prod\", \"paths\": [\"/srv/prod/\"] } ] }");
	struct tw_file_event e = {
		.h = { .kind = TW_EV_FILE, .size = sizeof(e), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .target_tier = 2, .pid = 7, .comm = "cat" },
		.op = TW_OP_UNLINK, .nparts = 3, .complete = 1, .secret = 0,
		.dev = 8u << 20 | 1, .ino = 1234,
		.names = { "key.pem", "prod", "srv-data" },
	};
	struct tw_event_ctx c = { .host = "h", .cgroup_path = fake_path, .dev_path = fake_mount };
	struct tw_diags d = {};
	json_t *o = NULL;

	c.policy = tw_ref_policy(text, &d);
	if (!ASSERT_TRUE(c.policy != NULL, "policy"))
		goto out;
	ASSERT_OK(tw_event_check(&e, sizeof(e)), "file record accepted");
	o = tw_event_json(&e, &c);
	if (!ASSERT_TRUE(o != NULL, "encodes"))
		goto out;
	ASSERT_STREQ(json_string_value(json_object_get(o, "kind")), "file", "kind");
	ASSERT_STREQ(json_string_value(json_object_get(o, "op")), "unlink", "op");
	ASSERT_STREQ(json_string_value(json_object_get(o, "path")), "/srv/srv-data/prod/key.pem",
		     "path joined under the mount point, file last");
	ASSERT_STREQ(json_string_value(json_object_get(o, "secret")), "/srv/prod/", "policy path");
	ASSERT_STREQ(json_string_value(json_object_get(o, "rule")), "secrets[0].paths[0]", "rule");
	ASSERT_STREQ(json_string_value(json_object_get(o, "dev")), "8:1", "dev");
	ASSERT_EQ(json_integer_value(json_object_get(o, "ino")), 1234, "ino");
	ASSERT_STREQ(json_string_value(json_object_get(o, "target_tier")), "prod", "target");
	json_decref(o);
	e.complete = 0;
	e.secret = 0xffffffffu;
	o = tw_event_json(&e, &c);
	ASSERT_STREQ(json_string_value(json_object_get(o, "path")), ".../srv-data/prod/key.pem",
		     "a partial path says so");
	ASSERT_TRUE(json_is_null(json_object_get(o, "secret")), "depth refusal has no secret");
	ASSERT_TRUE(json_object_get(o, "reason") != NULL, "and says why");
out:
	json_decref(o);
	tw_policy_free((struct tw_policy *)c.policy);
	tw_diags_free(&d);
}

/*
 * A record as the log has it: through the real log writer into a file and
 * read back, so seq and prev are the writer's, not values set here.
 */
static json_t *as_logged(json_t *o)
{
	char tmpl[] = "/tmp/tw-schema-XXXXXX", path[64], *text = NULL, *nl;
	const struct tw_evlog_opts opts = {};
	struct tw_evlog *l;
	json_t *r = NULL;

	if (!o || !mkdtemp(tmpl) || tw_evlog_open(&l, tmpl, &opts)) {
		json_decref(o);
		return NULL;
	}
	tw_evlog_append(l, json_pack("{s:s}", "kind", "first"));
	tw_evlog_flush(l);	/* the next record starts a batch: its prev is a real hash */
	tw_evlog_append(l, o);
	tw_evlog_close(l);
	snprintf(path, sizeof(path), "%s/%s", tmpl, TW_EVLOG_CURRENT);
	if (!tw_read_file(path, &text, NULL) && (nl = strchr(text, '\n')))
		r = json_loads(nl + 1, 0, NULL);
	free(text);
	fx_sh(NULL, 0, "rm -rf %s", tmpl);
	return r;
}

static json_t *schema_check_record(json_t *schema, const void *rec, const struct tw_event_ctx *c,
				   const char *what)
{
	json_t *o = as_logged(rec ? tw_event_json(rec, c) : tw_event_daemon("start", c));
	const char *prev = json_string_value(json_object_get(o, "prev"));

	ASSERT_EQ(json_integer_value(json_object_get(o, "seq")), 2, "seq as the writer numbered it");
	ASSERT_TRUE(prev && strlen(prev) == 64 && strspn(prev, "0") != 64, "prev: the first record's hash");
	schema_check(schema, o, what);
	return o;
}

static const char *odd_names(void *arg, uint64_t id)
{
	static char big[5000];

	memset(big, 'a', sizeof(big) - 1);
	return id == 1 ? "/bad\xff" : big;
}

TEST(unit_event_schema_documents_every_field)
{
	const char *text =
		T("{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},")
		T("  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"10.20.0.0/16\"], \"hostnames\": [\"a.b\"] } ],")
		T("  \"secrets\": [ { \"tier\": \"prod\", \"paths\": [\"/srv/prod/\"] } ] }");
	struct tw_event he = {
		.h = { .kind = TW_EV_CONNECT, .size = sizeof(he), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .target_tier = 2, .count = 1 },
		.family = 4, .proto = IPPROTO_TCP, .dport = 443, .rule = 1, .host = 1,
	};
	struct tw_dns_event de = {
		.h = { .kind = TW_EV_DNS, .size = sizeof(de), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .target_tier = 2, .count = 1 },
		.family = 4, .proto = IPPROTO_UDP, .dport = 53, .reason = TW_DNS_OWNED, .qtype = 28,
		.host = 1, .wire_len = 5, .wire = "\1a\1b",
	};
	struct tw_event ne = {
		.h = { .kind = TW_EV_SENDMSG, .size = sizeof(ne), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .target_tier = 2, .count = 5, .aggregated = 1 },
		.family = 4, .proto = IPPROTO_UDP, .dport = 53,
	};
	struct tw_event re = {
		.h = { .kind = TW_EV_CONNECT, .size = sizeof(re), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .target_tier = 2, .count = 1 },
		.family = 4, .proto = IPPROTO_TCP, .dport = 5432, .op = TW_NET_RECEIVE,
		.wrote = TW_WROTE_ANY4, .daddr = { 127, 0, 0, 5 },
	};
	struct tw_sock_event se = {
		.h = { .kind = TW_EV_SOCKET, .size = sizeof(se), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .count = 1 },
		.family = 2, .type = 2, .protocol = 1, .op = TW_NET_CREATE,
	};
	struct tw_file_event fe = {
		.h = { .kind = TW_EV_FILE, .size = sizeof(fe), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .target_tier = 2, .count = 1 },
		.op = TW_OP_OPEN, .nparts = 1, .names = { "k" }, .secret = 0xffffffffu,
	};
	/* One of each shape: a file, a process, a mount, the kernel. */
	struct tw_tamper_event te[] = {
		{ .op = TW_TAMPER_CGROUP_WRITE, .how = TW_HOW_OPEN, .target_cgroup_id = 7,
		  .dev = 25, .ino = 9, .nparts = 2, .complete = 1, .names = { "cgroup.procs", "cg" } },
		{ .op = TW_TAMPER_SIGNAL, .target_pid = 42, .target_cgroup_id = 3, .arg = 15 },
		{ .op = TW_TAMPER_PTRACE, .target_pid = 42, .arg = 2 },
		{ .op = TW_TAMPER_MOUNT, .how = TW_HOW_BPFFS, .arg = 0, .dev = 25, .nparts = 1,
		  .names = { "pins" } },
		{ .op = TW_TAMPER_BPF, .arg = 12 },
		{ .op = TW_TAMPER_MODULE, .arg = 2, .dev = 25, .ino = 3, .nparts = 1, .names = { "m.ko" } },
		{ .op = TW_TAMPER_CLONE_INTO_CGROUP },
		{ .op = TW_TAMPER_SIGNAL, .how = TW_HOW_SIGIO, .target_pid = 42, .arg = 9 },
	};
	struct tw_event_ctx c = { .host = "h", .cgroup_path = fake_path };
	struct tw_diags d = {};
	json_t *schema, *o;
	json_error_t jerr;
	size_t i;
	char seal_line[1024];
	char tmpl[] = "/tmp/tw-sealkey-XXXXXX", sk[64], vk[64], why[256];
	struct tw_seal *seal = NULL;

	/* A real seal record's members, from a throwaway key. */
	seal_line[0] = '\0';
	if (mkdtemp(tmpl)) {
		snprintf(sk, sizeof(sk), "%s/s", tmpl);
		snprintf(vk, sizeof(vk), "%s/v", tmpl);
		if (!tw_seal_keygen(sk, vk, why, sizeof(why), why, sizeof(why)) &&
		    !tw_seal_open(&seal, sk, NULL, why, sizeof(why))) {
			int n = tw_seal_body(seal, 1, "0", "h", seal_line + 1, sizeof(seal_line) - 3);

			seal_line[0] = '{';
			strcpy(seal_line + 1 + (n > 0 ? n : 0), "}");
		}
		tw_seal_close(seal);
		fx_sh(NULL, 0, "rm -rf %s", tmpl);
	}

	if (access("policies/event.schema.json", F_OK)) {
		tw_test_skip("no policies/ directory here (the guests carry binaries only)");
		return;
	}
	schema = json_load_file("policies/event.schema.json", 0, &jerr);
	if (!ASSERT_TRUE(schema != NULL, "the schema is valid JSON"))
		return;
	c.policy = tw_ref_policy(text, &d);
	if (!ASSERT_TRUE(c.policy != NULL, "policy"))
		goto out;
	json_decref(schema_check_record(schema, &ne, &c, "network event"));
	o = schema_check_record(schema, &he, &c, "network event from a hostname");
	ASSERT_STREQ(json_string_value(json_object_get(o, "hostname")), "a.b", "hostname field");
	json_decref(o);
	o = schema_check_record(schema, &de, &c, "dns event");
	ASSERT_STREQ(json_string_value(json_object_get(o, "name")), "a.b", "dns name");
	ASSERT_STREQ(json_string_value(json_object_get(o, "qtype")), "AAAA", "dns qtype");
	json_decref(o);
	o = schema_check_record(schema, &re, &c, "received socket, unspecified address");
	ASSERT_STREQ(json_string_value(json_object_get(o, "op")), "receive", "network op");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(o, "dst"), "ip")), "0.0.0.0",
		     "dst.ip as written");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(o, "dst"), "effective")),
		     "127.0.0.5", "dst.effective as judged");
	json_decref(o);
	o = schema_check_record(schema, &se, &c, "socket event");
	ASSERT_STREQ(json_string_value(json_object_get(o, "family")), "inet", "socket family");
	ASSERT_STREQ(json_string_value(json_object_get(o, "type")), "dgram", "socket type");
	ASSERT_STREQ(json_string_value(json_object_get(o, "protocol")), "icmp", "socket protocol");
	ASSERT_STREQ(json_string_value(json_object_get(o, "op")), "create", "socket op");
	ASSERT_TRUE(json_is_null(json_object_get(o, "target_tier")), "no target tier");
	json_decref(o);
	json_decref(schema_check_record(schema, &fe, &c, "file event"));
	fe.op = TW_OP_FOLLOW;
	fe.why = TW_WHY_STALE;
	fe.secret = 0;
	o = schema_check_record(schema, &fe, &c, "file event while its rule is re-resolved");
	ASSERT_STREQ(json_string_value(json_object_get(o, "op")), "follow", "file op follow");
	ASSERT_TRUE(json_string_value(json_object_get(o, "reason")) != NULL, "why it was refused");
	json_decref(o);
	for (i = TW_OP_CREATE; i <= TW_OP_MAX; i++) {
		fe.op = i;
		json_decref(schema_check_record(schema, &fe, &c, "file event of every op"));
	}
	o = as_logged(tw_event_rotated("/srv/prod/key", "secrets[0].paths[0]",
				       &(struct tw_secret_key){ .dev = 8 << 20 | 1, .ino = 12 },
				       &(struct tw_secret_key){ .dev = 8 << 20 | 1, .ino = 13 }, &c));
	schema_check(schema, o, "secret_rotated");
	ASSERT_STREQ(json_string_value(json_object_get(o, "previous_dev")), "8:1", "rotated: previous_dev");
	ASSERT_EQ(json_integer_value(json_object_get(o, "ino")), 13, "rotated: ino");
	json_decref(o);
	json_decref(schema_check_record(schema, NULL, &c, "daemon event"));
	/* Outside strings that are not UTF-8 or too long: their _raw and _truncated siblings. */
	c.cgroup_path = odd_names;
	he.h.cgroup_id = 1;
	he.h.tagged_cgroup_id = 2;
	memcpy(he.h.comm, "x\xfe", 3);
	o = schema_check_record(schema, &he, &c, "network event with odd names");
	ASSERT_TRUE(json_object_get(o, "cgroup_raw") && json_object_get(o, "comm_raw") &&
		    json_object_get(o, "tagged_cgroup_truncated"), "raw and truncated fields written");
	json_decref(o);
	o = as_logged(tw_event_lost(&he, 10, "record_not_understood", &c));
	schema_check(schema, o, "lost record for a record not understood");
	json_decref(o);
	o = as_logged(tw_event_lost(&he, sizeof(he), "record_too_large", &c));
	schema_check(schema, o, "lost record for a record too large");
	json_decref(o);
	o = as_logged(json_loads(seal_line, 0, NULL));
	schema_check(schema, o, "seal record");
	json_decref(o);
	for (i = 0; i < ARRAY_SIZE(te); i++) {
		te[i].h = (struct tw_event_hdr){ .kind = TW_EV_TAMPER, .size = sizeof(te[i]),
						 .verdict = TW_VERDICT_DENY, .tier = 1, .count = 1 };
		o = schema_check_record(schema, &te[i], &c, "tamper event");
		ASSERT_STREQ(json_string_value(json_object_get(o, "op")), tw_tamper_op_name(te[i].op),
			     "tamper op");
		json_decref(o);
	}
	o = schema_check_record(schema, &te[0], &c, "tamper event");
	ASSERT_STREQ(json_string_value(json_object_get(o, "via")), "open", "tamper via");
	ASSERT_EQ(json_integer_value(json_object_get(o, "target_cgroup_id")), 7, "tamper target cgroup id");
	ASSERT_STREQ(json_string_value(json_object_get(o, "path")), "/cg/cgroup.procs", "tamper path");
	json_decref(o);
	o = schema_check_record(schema, &te[3], &c, "tamper event");
	ASSERT_STREQ(json_string_value(json_object_get(o, "reason")), "bpffs", "tamper mount reason");
	json_decref(o);
out:
	tw_policy_free((struct tw_policy *)c.policy);
	tw_diags_free(&d);
	json_decref(schema);
}

static const char *odd_path(void *arg, uint64_t id)
{
	return id == 1 ? "/a\"b\\c\x01d/caf\xc3\xa9/bad\xff" : NULL;
}

/* The direct writer must give valid JSON whatever bytes a cgroup name holds. */
TEST(unit_event_writer_escapes)
{
	const char *text = T("{ \"version\": 1, \"tiers\": {\"staging\": {}} }");
	struct tw_event e = {
		.h = { .kind = TW_EV_CONNECT, .size = sizeof(e), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .cgroup_id = 1, .count = 1, .ts_boot_ns = 999999999 },
		.family = 6, .proto = 132, .dport = 1, .rule = 7,
	};
	struct tw_event_ctx c = { .host = "h\"ost", .cgroup_path = odd_path };
	struct tw_diags d = {};
	char small[16];
	json_t *o = NULL;

	c.policy = tw_ref_policy(text, &d);
	if (!ASSERT_TRUE(c.policy != NULL, "policy"))
		goto out;
	o = tw_event_json(&e, &c);
	if (!ASSERT_TRUE(o != NULL, "output parses as JSON"))
		goto out;
	ASSERT_STREQ(json_string_value(json_object_get(o, "cgroup")),
		     "/a\"b\\c\x01d/caf\xc3\xa9/bad\xef\xbf\xbd", "escapes, UTF-8 kept, bad byte U+FFFD");
	ASSERT_STREQ(json_string_value(json_object_get(o, "host")), "h\"ost", "host escaped");
	ASSERT_STREQ(json_string_value(json_object_get(o, "ts")), "1970-01-01T00:00:00.999999999Z",
		     "nanoseconds");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(o, "dst"), "proto")), 132,
		  "other protocols by number");
	ASSERT_TRUE(json_is_null(json_object_get(o, "rule")), "unknown rule index is null");
	ASSERT_EQ(tw_event_body(&e, &c, small, sizeof(small)), -ENOSPC, "too small a buffer is refused");
out:
	json_decref(o);
	tw_policy_free((struct tw_policy *)c.policy);
	tw_diags_free(&d);
}
