// SPDX-License-Identifier: GPL-2.0
/*
 * explain for hostnames against the real DNS guard and connect hooks
 * (dnsmasq in a private namespace, host only), and the "log": "all" record
 * of an allowed use of the caller's own tier's hostname.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fixture.h"
#include "net.h"
#include "test.h"

static const char *policy =
	"{ \"version\": 1,\n"
	"  \"tiers\": { \"staging\": {\"log\": \"all\"}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [\n"
	"    { \"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"] },\n"
	"    { \"tier\": \"prod\", \"hostnames\": [\"db.prod.test\", \"*.wild.prod.test\"] },\n"
	"    { \"tier\": \"staging\", \"hostnames\": [\"api.staging.test\"] } ] }\n";

#define HOSTS "127.44.0.1 db.prod.test\n127.45.0.1 api.staging.test\n"

static int query(void *arg)
{
	return tw_dns_ask("127.0.0.1", arg, 0);
}

static json_t *explain(struct fx *f, const char *target)
{
	char out[16384];

	if (fx_sh(out, sizeof(out), "%s/tierwall --socket %s --json explain --cgroup /staging %s 2>/dev/null",
		  tw_build_dir, f->sock, target))
		return NULL;
	return json_loads(out, 0, NULL);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

TEST(dns_explain_hostname_and_log_all_own_name)
{
	static const char *const cgs[] = { "staging", "other", NULL };
	int port = fx_port(7), err;
	json_t *r = NULL, *a, *e = NULL;
	struct fx_dns x;
	struct fx f;
	char t[128];
	pid_t pid;

	memset(&x, 0, sizeof(x));
	x.old_net = x.old_mnt = x.old_cwd = -1;
	if (!ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	err = fx_dns_start(&x, &f, HOSTS);
	if (err == 1 || !ASSERT_OK(err, "dnsmasq in a private namespace"))
		goto out;
	fx_write_policy(&f, policy);
	if (!ASSERT_OK(fx_start(&f, NULL), "tierwalld starts"))
		goto out;

	/* A prod name: the query is refused, and so is its address, by the hostname rule. */
	snprintf(t, sizeof(t), "db.prod.test:%d", port);
	r = explain(&f, t);
	if (!ASSERT_TRUE(r != NULL, "explain answers"))
		goto out;
	ASSERT_STREQ(jstr(r, "verdict"), "deny", "verdict");
	ASSERT_STREQ(jstr(json_object_get(r, "dns"), "verdict"), "deny", "the query is refused");
	ASSERT_STREQ(jstr(json_object_get(r, "dns"), "rule"), "destinations[1].hostnames[0]", "by the name's rule");
	a = json_array_get(json_object_get(r, "addresses"), 0);
	ASSERT_STREQ(jstr(a, "ip"), "127.44.0.1", "the address it has now");
	ASSERT_STREQ(jstr(a, "verdict"), "deny", "refused too");
	ASSERT_STREQ(jstr(a, "hostname"), "db.prod.test", "because that name resolves there");
	/* The kernel agrees. */
	ASSERT_NE(fx_do(&f, "staging", query, "db.prod.test", NULL), 0, "the real query fails");
	ASSERT_OK(fx_do(&f, "other", query, "db.prod.test", NULL), "positive control: untagged resolves it");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM, "the real connect");
	json_decref(r);
	/* The address alone: the name it belongs to, and every address that name has now. */
	snprintf(t, sizeof(t), "127.44.0.1:%d", port);
	r = explain(&f, t);
	ASSERT_STREQ(jstr(r, "hostname"), "db.prod.test", "an address: its hostname rule");
	ASSERT_STREQ(json_string_value(json_array_get(json_object_get(r, "hostname_addresses"), 0)),
		     "127.44.0.1", "and the addresses it resolves to now");
	json_decref(r);

	/* A wildcard: only the guard knows it; the address is nobody's. */
	r = explain(&f, "x.wild.prod.test");
	ASSERT_STREQ(jstr(r, "verdict"), "deny", "wildcard: denied");
	ASSERT_STREQ(jstr(json_object_get(r, "dns"), "rule"), "destinations[1].hostnames[1]", "by the wildcard");
	ASSERT_NE(fx_do(&f, "staging", query, "x.wild.prod.test", NULL), 0, "the real query fails");
	json_decref(r);

	/* Its own name: allowed, recorded with that hostname and its rule. */
	snprintf(t, sizeof(t), "api.staging.test:%d", port);
	r = explain(&f, t);
	ASSERT_STREQ(jstr(r, "verdict"), "allow", "own name: allowed");
	a = json_array_get(json_object_get(r, "addresses"), 0);
	ASSERT_TRUE(json_is_true(json_object_get(a, "recorded")), "and recorded (log all)");
	ASSERT_STREQ(jstr(a, "rule"), "destinations[2].hostnames[0]", "explain: the own name's rule");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.45.0.1", port, &pid), ECONNREFUSED,
		  "the real connect goes through");
	e = fx_event(&f, pid, port);
	if (ASSERT_TRUE(e != NULL, "an allow record")) {
		ASSERT_STREQ(jstr(e, "verdict"), "allow", "record: allow");
		ASSERT_STREQ(jstr(e, "hostname"), "api.staging.test", "record: the hostname");
		ASSERT_STREQ(jstr(e, "rule"), "destinations[2].hostnames[0]", "record: its rule, not a CIDR's");
		ASSERT_TRUE(json_is_null(json_object_get(e, "cidr")), "record: no CIDR");
	}
out:
	json_decref(r);
	json_decref(e);
	fx_cleanup(&f);
	fx_dns_stop(&x);
}
