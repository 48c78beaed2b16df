// SPDX-License-Identifier: GPL-2.0
/* Unit tests: policy parser and its error locations, CIDRs, compiled tables. Events: test_events.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include "compile.h"
#include "policy.h"
#include "reference.h"
#include "test.h"
#include "util.h"

#define T(s) s "\n"

TEST(unit_policy_valid)
{
	const char *text =
		T("{ \"version\": 1, \"mode\": \"audit\",")
		T("  \"tiers\": { \"dev\": {\"mode\": \"enforce\"}, \"staging\": {}, \"prod\": {} },")
		T("  \"cgroups\": [ { \"path\": \"/agents//staging/\", \"tier\": \"staging\" } ],")
		T("  \"destinations\": [")
		T("    { \"tier\": \"prod\", \"cidrs\": [\"10.20.0.0/16\", \"fd00:20::/32\", \"192.0.2.7\"], \"ports\": [5432, 443] },")
		T("    { \"tier\": \"staging\", \"cidrs\": [\"10.30.0.0/16\"] } ],")
		T("  \"secrets\": [ { \"tier\": \"prod\", \"paths\": [\"/etc/agent/prod/\"] } ] }");
	struct tw_diags d = {};
	struct tw_policy *p = tw_ref_policy(text, &d);

	tw_diags_print(&d, stdout);
	if (!ASSERT_TRUE(p != NULL, "valid policy parses"))
		goto out;
	ASSERT_EQ(p->ntiers, 3, "tiers");
	ASSERT_STREQ(p->tiers[1].name, "dev", "tier 1 in document order");
	ASSERT_EQ(p->tiers[1].mode, TW_MODE_ENFORCE, "per-tier mode overrides global");
	ASSERT_EQ(p->tiers[2].mode, TW_MODE_AUDIT, "global mode is the default");
	ASSERT_EQ(p->ncgroups, 1, "cgroups");
	ASSERT_STREQ(p->cgroups[0].path, "/agents/staging", "cgroup path normalised");
	ASSERT_EQ(p->nrules, 4, "one rule per CIDR");
	ASSERT_EQ(p->rules[2].cidr.len, 32, "bare address is a /32");
	ASSERT_EQ(p->rules[0].nports, 2, "ports");
	ASSERT_STREQ(p->rules[1].jpath, "destinations[0].cidrs[1]", "rule json path");
	ASSERT_EQ(p->nsecrets, 1, "secrets parsed");
	ASSERT_EQ(strncmp(p->digest, "sha256:", 7), 0, "digest");
out:
	tw_policy_free(p);
	tw_diags_free(&d);
}

/* Each bad policy and the exact first error it must produce. */
static const struct {
	const char *text;
	const char *error;
} bad[] = {
	{ "{ \"version\": 1, \"tiers\": {\"a\": {}}, ", "t.json:1:36: invalid JSON: " },
	{ "[1, 2]", "t.json:1:1: expected a JSON object at the top level, found an array" },
	{ T("{ \"tiers\": {\"a\": {}} }"), "t.json:1:1: missing required key \"version\" (use 1)" },
	{ T("{ \"version\": 2, \"tiers\": {\"a\": {}} }"),
	  "t.json:1:3: version: unsupported policy version" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}}, \"color\": 3 }"),
	  "t.json:1:37: color: unknown key \"color\" (expected \"version\", \"mode\", \"tiers\", \"cgroups\", \"destinations\", \"secrets\", \"kubernetes\", \"drift\", \"grants\")" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}}, \"grants\": { \"max\": \"0\", "
	    "\"approvers\": { \"groups\": [\"g\"] } } }"),
	  "t.json:1:49: grants.max: \"0\" is not a positive duration (like \"90s\", \"15m\", \"4h\")" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}}, \"grants\": { \"max\": \"4h\" } }"),
	  "t.json:1:37: grants: missing required key \"approvers\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}}, \"version\": 1 }"),
	  "t.json:1:45: invalid JSON: duplicate object key" },
	{ T("{ \"version\": 1,") T("  \"tiers\": {}") T("}"), "t.json:2:3: tiers: no tiers defined" },
	{ T("{ \"version\": 1,") T("  \"tiers\": { \"Prod\": {} } }"),
	  "t.json:2:14: tiers.Prod: invalid tier name \"Prod\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {\"mode\": \"audt\"}} }"),
	  "t.json:1:33: tiers.a.mode: unknown mode \"audt\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": []} }"),
	  "t.json:1:27: tiers.a: expected an object ({} for defaults), found an array" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/8\", \"10.20.0.1/16\"] } ] }"),
	  "t.json:2:60: destinations[0].cidrs[1]: host bits set in \"10.20.0.1/16\" (did you mean 10.20.0.0/16?)" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/33\"] } ] }"),
	  "t.json:2:46: destinations[0].cidrs[0]: prefix length \"33\" in \"10.0.0.0/33\" is not a number from 0 to 32" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"fd00::/129\"] } ] }"),
	  "t.json:2:46: destinations[0].cidrs[0]: prefix length \"129\" in \"fd00::/129\" is not a number from 0 to 128" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/-1\"] } ] }"),
	  "t.json:2:46: destinations[0].cidrs[0]: prefix length \"-1\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"prod-db\"] } ] }"),
	  "t.json:2:46: destinations[0].cidrs[0]: not an IPv4 or IPv6 address: \"prod-db\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"::ffff:10.0.0.0/104\"] } ] }"),
	  "t.json:2:46: destinations[0].cidrs[0]: \"::ffff:10.0.0.0/104\" is an IPv4-mapped IPv6 address" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [42] } ] }"),
	  "t.json:2:46: destinations[0].cidrs[0]: expected a CIDR string, found an integer" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"b\", \"cidrs\": [\"10.0.0.0/8\"] } ] }"),
	  "t.json:2:23: destinations[0].tier: undefined tier \"b\" (define it under \"tiers\")" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"cidrs\": [\"10.0.0.0/8\"] } ] }"),
	  "t.json:2:21: destinations[0]: missing required key \"tier\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [] } ] }"),
	  "t.json:2:36: destinations[0].cidrs: empty CIDR list" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/8\"], \"ports\": [443, 70000] } ] }"),
	  "t.json:2:76: destinations[0].ports[1]: port 70000 out of range 1-65535" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/8\"], \"ports\": [443, 443] } ] }"),
	  "t.json:2:76: destinations[0].ports[1]: port 443 listed twice" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/8\"], \"ports\": [] } ] }"),
	  "t.json:2:61: destinations[0].ports: empty port list" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}, \"b\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/8\"] },")
	  T("                    { \"tier\": \"b\", \"cidrs\": [\"10.0.0.0/8\"], \"ports\": [22] } ] }"),
	  "t.json:3:46: destinations[1].cidrs[0]: 10.0.0.0/8 conflicts with destinations[0].cidrs[0]: both tiers \"b\" and \"a\" own it on every port" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"fd00::/16\", \"fd00::/16\"] } ] }"),
	  "t.json:2:59: destinations[0].cidrs[1]: fd00::/16 is a duplicate of destinations[0].cidrs[0]" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"cgroups\": [ { \"path\": \"/x\", \"tier\": \"a\" }, { \"path\": \"/x/\", \"tier\": \"a\" } ] }"),
	  "t.json:2:49: cgroups[1].path: cgroup \"/x\" is already tagged at cgroups[0]" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"cgroups\": [ { \"path\": \"/x/../y\", \"tier\": \"a\" } ] }"),
	  "t.json:2:18: cgroups[0].path: cgroup path \"/x/../y\" may not contain '.' or '..' components" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"secrets\": [ { \"tier\": \"a\", \"paths\": [\"etc/x\"] } ] }"),
	  "t.json:2:41: secrets[0].paths[0]: \"etc/x\" is not a normalised absolute path" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"secrets\": [ { \"tier\": \"a\", \"paths\": [\"/\"] } ] }"),
	  "t.json:2:41: secrets[0].paths[0]: \"/\" would make every file a secret" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"drift\": { \"roots\": [\"tmp/agents\"] } }"),
	  "t.json:2:24: drift.roots[0]: \"tmp/agents\" is not a normalised absolute path" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"drift\": { \"roots\": [\"/\"] } }"),
	  "t.json:2:24: drift.roots[0]: \"/\" would read every file the node writes" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"drift\": { \"roots\": [\"/tmp/\", \"/tmp\"] } }"),
	  "t.json:2:33: drift.roots[1]: \"/tmp\" is already listed at drift.roots[0]" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"drift\": { \"mode\": \"audit\" } }"),
	  "t.json:2:3: drift: missing required key \"roots\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"drift\": { \"roots\": [\"/tmp\"], \"mode\": \"off\" } }"),
	  "t.json:2:33: drift.mode: unknown mode \"off\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"drift\": { \"roots\": [\"/tmp\"], \"watch\": 1 } }"),
	  "t.json:2:33: drift.watch: unknown key \"watch\" (expected \"roots\", \"mode\")" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}, \"b\": {\"log\": \"everything\"}} }"),
	  "t.json:1:42: tiers.b.log: unknown log setting \"everything\"" },
	{ T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
	  T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/8\"], \"hostnames\": [\"x..y\"] } ] }"),
	  "t.json:2:75: destinations[0].hostnames[0]: \"x..y\": empty label (two dots, or a leading dot)" },
};

TEST(unit_policy_errors_located)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct tw_diags d = {};
		struct tw_policy *p = tw_ref_policy(bad[i].text, &d);
		char what[32];

		snprintf(what, sizeof(what), "bad policy #%zu", i);
		ASSERT_TRUE(p == NULL, what);
		if (ASSERT_TRUE(d.count > 0, what) &&
		    strncmp(d.msgs[0], bad[i].error, strlen(bad[i].error)))
			TW_FAILED("%s: got \"%s\", want prefix \"%s\"", what, d.msgs[0], bad[i].error);
		tw_policy_free(p);
		tw_diags_free(&d);
	}
}

TEST(unit_policy_reports_every_error)
{
	const char *text =
		T("{ \"version\": 1, \"tiers\": {\"a\": {}},")
		T("  \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [\"10.0.0.1/8\", \"x\", \"10.0.0.0/8\"], \"ports\": [0] } ] }");
	struct tw_diags d = {};

	ASSERT_TRUE(tw_ref_policy(text, &d) == NULL, "invalid");
	ASSERT_EQ(d.count, 3, "port error and both CIDR errors are reported");
	tw_diags_free(&d);
}

TEST(unit_policy_many_tiers)
{
	struct tw_diags d = {};
	struct tw_policy *p;
	char *text = malloc(16384);
	int n, i;

	n = sprintf(text, "{ \"version\": 1, \"tiers\": {");
	for (i = 1; i <= TW_MAX_TIERS + 1; i++)
		n += sprintf(text + n, "%s\"t%d\": {}", i > 1 ? ", " : "", i);
	strcpy(text + n, "} }");
	p = tw_ref_policy(text, &d);
	ASSERT_TRUE(p == NULL, "one tier too many is refused");
	if (ASSERT_EQ(d.count, 1, "one error"))
		ASSERT_CONTAINS(d.msgs[0], "tiers.t255: more than 254 tiers", "names the first tier too many");
	tw_diags_free(&d);
	strcpy(strstr(text, ", \"t255\""), "} }");
	p = tw_ref_policy(text, &d);
	if (ASSERT_TRUE(p != NULL, "254 tiers parse"))
		ASSERT_EQ(tw_policy_tier_id(p, "t254"), 254, "tier ids follow document order");
	tw_policy_free(p);
	tw_diags_free(&d);
	free(text);
}

/* The shipped examples are documentation: they must stay valid. */
TEST(unit_shipped_policies_are_valid)
{
	static const char *const files[] = { "policies/example.json", "policies/with-secrets.json",
					     "policies/with-hostnames.json" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		struct tw_diags d = {};
		struct tw_policy *p = NULL;
		struct tw_tables t;
		char path[512];

		/* Guests have no source tree; the host run covers these. */
		if (access("policies", F_OK)) {
			tw_test_skip("no policies/ directory here (the guests carry binaries only)");
			return;
		}
		snprintf(path, sizeof(path), "%s", files[i]);
		if (ASSERT_OK(tw_policy_load(path, &p, &d), path) &&
		    ASSERT_OK(tw_compile(p, &t, &d), path))
			tw_tables_free(&t);
		tw_diags_print(&d, stdout);
		tw_policy_free(p);
		tw_diags_free(&d);
	}
}

TEST(unit_policy_load_missing_file)
{
	struct tw_diags d = {};
	struct tw_policy *p;

	ASSERT_EQ(tw_policy_load("/nonexistent/p.json", &p, &d), -ENOENT, "errno");
	if (ASSERT_EQ(d.count, 1, "one message"))
		ASSERT_STREQ(d.msgs[0], "/nonexistent/p.json: cannot read policy: No such file or directory",
			     "message");
	tw_diags_free(&d);
}

TEST(unit_cidr_parse)
{
	static const struct {
		const char *in;
		int ok;
		const char *canon;
	} cases[] = {
		{ "10.0.0.0/8", 1, "10.0.0.0/8" },
		{ "0.0.0.0/0", 1, "0.0.0.0/0" },
		{ "192.0.2.1", 1, "192.0.2.1/32" },
		{ "fd00:20::/32", 1, "fd00:20::/32" },
		{ "::1", 1, "::1/128" },
		{ "::/0", 1, "::/0" },
		{ "10.0.0.1/8", 0, NULL },
		{ "10.0.0.0/", 0, NULL },
		{ "10.0.0.0/8x", 0, NULL },
		{ "10.0.0/8", 0, NULL },
		{ "256.0.0.0/8", 0, NULL },
		{ "fd00::1/64", 0, NULL },
		{ "::ffff:1.2.3.4", 0, NULL },
		{ "", 0, NULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tw_cidr c;
		char err[256], out[64];
		int r = tw_cidr_parse(cases[i].in, &c, err, sizeof(err));

		if (!ASSERT_EQ(r == 0, cases[i].ok, cases[i].in))
			continue;
		if (r) {
			ASSERT_TRUE(strlen(err) > 0, "error explains");
			continue;
		}
		tw_cidr_format(&c, out, sizeof(out));
		ASSERT_STREQ(out, cases[i].canon, cases[i].in);
	}
}

/* ---- compiled tables against a brute-force reference ---- */

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8 ^ rnd_state << 13;
}

/*
 * Random rules; sparse ones spread over 2048 /16s so that some /16s hold few
 * /24s (hashed) and others many (dense blocks). IPv6 lengths come from 32
 * drawn at random from 8..128, the most a policy may use.
 */
static void random_policy(struct tw_policy *p, int n, int family, bool sparse)
{
	uint8_t lens[121];
	int i, tries;

	for (i = 0; i < 121; i++)
		lens[i] = 8 + i;
	for (i = 0; i < TW_V6_MAX_LENS; i++) {
		int j = i + rnd() % (121 - i);
		uint8_t x = lens[i];

		lens[i] = lens[j];
		lens[j] = x;
	}
	memset(p, 0, sizeof(*p));
	p->ntiers = 3;
	p->rules = calloc(n, sizeof(*p->rules));
	for (i = 0, tries = 0; i < n && tries < 100 * n; tries++) {
		struct tw_policy_rule *r = &p->rules[p->nrules];
		int bytes = family == 4 ? 4 : 16, k;

		memset(r, 0, sizeof(*r));
		r->cidr.family = family;
		/* A narrow address space so prefixes nest often. */
		r->cidr.addr[0] = family == 4 ? 10 + (sparse ? rnd() % 8 : 0) : 0xfd;
		for (k = 1; k < bytes; k++)
			r->cidr.addr[k] = k < 2 && !sparse ? rnd() % 4 : rnd();
		r->cidr.len = family == 4 ? 8 + rnd() % 25 : lens[rnd() % TW_V6_MAX_LENS];
		if (sparse && r->cidr.len < 16)
			r->cidr.len += 8;
		tw_prefix_mask(r->cidr.addr, bytes, r->cidr.len);
		/* Equal prefixes are the parser's business (conflicts): skip them. */
		for (k = 0; k < p->nrules; k++)
			if (!memcmp(&p->rules[k].cidr, &r->cidr, sizeof(r->cidr)))
				break;
		if (k < p->nrules)
			continue;
		r->tier = 1 + rnd() % 3;
		r->nports = rnd() % 8 ? 0 : 1;
		r->ports[0] = 1000 + p->nrules;
		snprintf(r->jpath, sizeof(r->jpath), "r%d", p->nrules);
		p->nrules++;
		i++;
	}
}

static void check_tables(int family, int nrules, int probes, bool sparse)
{
	struct tw_diags d = {};
	struct tw_tables t;
	struct tw_policy p;
	int i, mismatches = 0;

	random_policy(&p, nrules, family, sparse);
	if (!ASSERT_OK(tw_compile(&p, &t, &d), "compile random policy")) {
		tw_diags_print(&d, stdout);
		goto out;
	}
	for (i = 0; i < probes; i++) {
		const struct tw_policy_rule *r = &p.rules[rnd() % p.nrules];
		uint8_t a[16] = {};
		uint16_t port = rnd() % 4 ? 1000 + rnd() % nrules : 1;
		int k, want, got;

		/* Probe inside a random rule (then perturb the low bits). */
		memcpy(a, r->cidr.addr, 16);
		for (k = (family == 4 ? 4 : 16) - 1 - rnd() % 3; k < (family == 4 ? 4 : 16); k++)
			a[k] ^= rnd();
		want = tw_ref_match(&p, family, a, port);
		got = tw_tables_match(&t, family, a, port);
		if (want != got && mismatches++ < 5)
			TW_FAILED("family %d probe %d port %u: tables say rule %d, reference %d",
				  family, i, port, got, want);
	}
	ASSERT_EQ(mismatches, 0, "table lookups that disagree with the reference");
	if (family == 4)
		ASSERT_TRUE(t.nblocks && t.tail_len && (t.nl24 || !sparse),
			    "dense blocks, nibble blocks and (sparse) hashed /24s all judged");
	tw_tables_free(&t);
out:
	free(p.rules);
	tw_diags_free(&d);
}

TEST(unit_compile_v4_matches_reference)
{
	check_tables(4, 3000, 20000, false);
	check_tables(4, 3000, 20000, true);
}

TEST(unit_compile_v6_matches_reference)
{
	check_tables(6, 500, 5000, false);
}

/* The policy text parses, and compiling it fails with err and one error saying what. */
static void expect_compile_refusal(const char *text, int err, const char *what)
{
	struct tw_diags d = {};
	struct tw_policy *p = tw_ref_policy(text, &d);
	struct tw_tables t;

	if (!ASSERT_TRUE(p != NULL, "parses"))
		goto out;
	ASSERT_EQ(tw_compile(p, &t, &d), err, "compile refuses");
	if (ASSERT_EQ(d.count, 1, "one error"))
		ASSERT_CONTAINS(d.msgs[0], what, "names the problem");
out:
	tw_policy_free(p);
	tw_diags_free(&d);
}

TEST(unit_compile_refuses_too_many_v6_lengths)
{
	char text[8192];
	int n, i;

	n = snprintf(text, sizeof(text), "{ \"version\": 1, \"tiers\": {\"a\": {}},\n \"destinations\": [ { \"tier\": \"a\", \"cidrs\": [");
	for (i = 0; i <= TW_V6_MAX_LENS; i++)
		n += snprintf(text + n, sizeof(text) - n, "%s\"fd00::/%d\"", i ? ", " : "", 64 + i);
	snprintf(text + n, sizeof(text) - n, "] } ] }\n");
	expect_compile_refusal(text, -E2BIG, "33 different prefix lengths; at most 32 fit");
}

TEST(unit_compile_port_fallthrough)
{
	const char *text =
		T("{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},")
		T("  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"10.0.0.0/8\"] },")
		T("    { \"tier\": \"staging\", \"cidrs\": [\"10.1.0.0/16\"], \"ports\": [80] },")
		T("    { \"tier\": \"prod\", \"cidrs\": [\"10.1.0.0/16\"], \"ports\": [443] } ] }");
	uint8_t a[16] = { 10, 1, 2, 3 };
	struct tw_diags d = {};
	struct tw_policy *p = tw_ref_policy(text, &d);
	struct tw_tables t;

	tw_diags_print(&d, stdout);
	if (!ASSERT_TRUE(p != NULL, "parses") || !ASSERT_OK(tw_compile(p, &t, &d), "compiles"))
		goto out;
	ASSERT_EQ(tw_tables_match(&t, 4, a, 80), 1, "port 80: the staging /16");
	ASSERT_EQ(tw_tables_match(&t, 4, a, 443), 2, "port 443: the prod /16");
	ASSERT_EQ(tw_tables_match(&t, 4, a, 22), 0, "other ports fall through to the /8");
	a[0] = 11;
	ASSERT_EQ(tw_tables_match(&t, 4, a, 22), -1, "outside every rule");
	tw_tables_free(&t);
out:
	tw_policy_free(p);
	tw_diags_free(&d);
}

TEST(unit_compile_rejects_deep_port_nesting)
{
	char text[4096];
	int n, i;

	n = snprintf(text, sizeof(text), "{ \"version\": 1, \"tiers\": {\"a\": {}},\n \"destinations\": [");
	for (i = 0; i <= TW_MAX_CHAIN; i++)
		n += snprintf(text + n, sizeof(text) - n, "%s{ \"tier\": \"a\", \"cidrs\": [\"10.0.0.0/%d\"], \"ports\": [%d] }",
			      i ? ",\n" : "", 8 + i, 100 + i);
	snprintf(text + n, sizeof(text) - n, "] }\n");
	expect_compile_refusal(text, -EINVAL, "nested port-scoped rules");
}

TEST(unit_json_locate)
{
	const char *text = T("{\"a\": [1, {\"b\": \"x,]}\"}, [2, 3]],") T("  \"c\": {\"d\": true}}");
	int line, col;

	tw_json_locate(text, strlen(text), "a[1].b", &line, &col);
	ASSERT_EQ(line * 100 + col, 112, "a[1].b at 1:12");
	tw_json_locate(text, strlen(text), "a[2][1]", &line, &col);
	ASSERT_EQ(line * 100 + col, 130, "a[2][1] at 1:30 (after a string holding ,]})");
	tw_json_locate(text, strlen(text), "c.d", &line, &col);
	ASSERT_EQ(line * 100 + col, 209, "c.d at 2:9");
	tw_json_locate(text, strlen(text), "c.zz", &line, &col);
	ASSERT_EQ(line * 100 + col, 203, "missing member points at its parent");
}

