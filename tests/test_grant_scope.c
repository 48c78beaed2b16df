// SPDX-License-Identifier: GPL-2.0
/*
 * What a grant reaches, beyond one tier to one address: a policy hostname
 * (its addresses as the resolver finds them, followed when they change,
 * frozen with the daemon stopped; in a private network namespace with its
 * own dnsmasq, nothing leaves the machine), and one pod by
 * NAMESPACE/NAME (placed by tierwall-nri; its tier's other cgroups stay
 * refused). Approver: uid 4242 in "users" (gid 100).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fixture.h"
#include "grantfix.h"
#include "net.h"
#include "podhook.h"
#include "std.h"
#include "test.h"
#include "util.h"

#define APPROVER	GRANT_APPROVER

static const char *const extra[] = { "--group", "none", NULL };

/* Requested by root with args, approved by the approver: its id, or -1. */
static int granted(struct fx *f, const char *args)
{
	char out[4096];
	int id;

	if (grant_cli(f, out, sizeof(out), NULL, "grant request %s --for 30m --reason test", args)) {
		fprintf(stderr, "    grant request %s: %s", args, out);
		return -1;
	}
	id = atoi(out);
	if (grant_cli(f, out, sizeof(out), APPROVER, "grant approve %d", id)) {
		fprintf(stderr, "    grant approve %d: %s", id, out);
		return -1;
	}
	return id;
}

static bool added(json_t *o, const void *addr)
{
	json_t *v;
	size_t i;

	if (strcmp(json_string_value(json_object_get(o, "event")) ?: "", "hostname_addresses"))
		return false;
	json_array_foreach(json_object_get(o, "added"), i, v)
		if (!strcmp(json_string_value(v) ?: "", addr))
			return true;
	return false;
}

static const char *host_policy =
	"{ \"version\": 1,\n"
	"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"db.prod.test\", \"cache.prod.test\"] } ],\n"
	"  \"grants\": { \"max\": \"1h\", \"approvers\": { \"groups\": [\"users\"] } } }\n";

TEST(grant_hostname_follows_its_addresses)
{
	static const char *const cgs[] = { "staging", NULL };
	struct fx_dns x = { .old_net = -1, .old_mnt = -1, .old_cwd = -1 };
	int port = fx_port(7), id, err;
	char out[8192], expect[128];
	json_t *e;
	struct fx f;
	pid_t pid;

	if (!can_run() || !ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	err = fx_dns_start(&x, &f, "127.44.1.5 db.prod.test\n127.44.1.9 cache.prod.test\n");
	if (err) {
		if (err != 1)
			ASSERT_OK(err, "dnsmasq in a private namespace");
		goto out;
	}
	fx_write_policy(&f, host_policy);
	if (!fx_started(&f, extra))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.5", port, &pid), EPERM,
		  "db.prod.test's address is refused");
	e = fx_event(&f, pid, port);
	ASSERT_STREQ(json_string_value(json_object_get(e, "hostname")), "db.prod.test", "refused as the name's");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant request --from-event %lld --for 5m --reason again",
		      json_integer_value(json_object_get(e, "seq"))), 0, "--from-event: that refusal");
	json_decref(e);
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant show %d", atoi(out)), 0, "show it");
	snprintf(expect, sizeof(expect), "+ allow   127.44.1.5 port %d tcp (db.prod.test today)", port);
	ASSERT_CONTAINS(out, expect, "--from-event asks for the name, as its rule refused it");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant request --tier staging --to nosuch.prod.test:%d "
		      "--for 5m --reason x", port), 1, "a hostname no rule names");
	ASSERT_CONTAINS(out, "nothing refuses it", "a clear error");
	snprintf(out, sizeof(out), "--tier staging --to DB.prod.test.:%d/tcp", port);
	id = granted(&f, out);
	ASSERT_TRUE(id > 0, "a hostname grant is requested and approved");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant show %d", id), 0, "show");
	snprintf(expect, sizeof(expect), "+ allow   127.44.1.5 port %d tcp (db.prod.test today)", port);
	ASSERT_CONTAINS(out, expect, "show lists the name's address today");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.5", port, NULL), ECONNREFUSED,
		  "the grant allows the name's address");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.5", port + 1, NULL), EPERM,
		  "not another port");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.9", port, NULL), EPERM,
		  "not another name's address");
	snprintf(expect, sizeof(expect), "explain --json --cgroup staging 127.44.1.5:%d", port);
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "%s", expect), 0, "explain");
	e = json_loads(out, 0, NULL);
	ASSERT_EQ(json_integer_value(json_object_get(e, "grant")), id, "explain names the grant");
	json_decref(e);

	/* The name moves: the grant follows, as the rule does. */
	ASSERT_OK(fx_dns_set_hosts(&x, "127.44.1.6 db.prod.test\n127.44.1.9 cache.prod.test\n"), "db moves");
	e = fx_await(&f, added, "127.44.1.6");
	ASSERT_TRUE(e != NULL, "the daemon finds the new address");
	json_decref(e);
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.6", port, NULL), ECONNREFUSED,
		  "the grant allows the new address");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant show %d", id), 0, "show again");
	snprintf(expect, sizeof(expect), "+ allow   127.44.1.6 port %d tcp (db.prod.test today)", port);
	ASSERT_CONTAINS(out, expect, "show lists the new address");

	/* Frozen with the daemon: the kernel's addresses for the name still allow, until the deadline. */
	kill(f.daemon, SIGSTOP);
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.6", port, NULL), ECONNREFUSED,
		  "with the daemon stopped, still allowed");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.9", port, NULL), EPERM,
		  "and the other name still refused");
	kill(f.daemon, SIGCONT);

	/* Kept across a restart: the grant names the hostname, not the addresses. */
	fx_stop(&f);
	if (!ASSERT_OK(fx_start(&f, extra), "restart"))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.6", port, NULL), ECONNREFUSED,
		  "after a restart, still allowed");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant revoke %d", id), 0, "revoke");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.1.6", port, NULL), EPERM,
		  "revoked: refused");
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

static const char *pod_policy =
	"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
	"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ],\n"
	"  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"127.23.0.0/16\"] } ],\n"
	"  \"grants\": { \"max\": \"1h\", \"approvers\": { \"groups\": [\"users\"] } } }\n";

/* A staging pod placed by the hook: its init waits in cgroup rel, then leaves. */
static bool place(struct fx *f, const char *rel, const char *id, const char *name)
{
	struct init_proc p = {};
	json_t *r;
	bool ok;

	if (!ASSERT_OK(init_start(f, rel, "127.0.0.1", 9, &p), "a pod's init waits"))
		return false;
	r = nri_invoke(f, p.pid, id, "shop", name, "staging", 3000);
	ok = placed(r, "staging pod placed");
	json_decref(r);
	init_run(&p);
	return ok;
}

TEST(grant_pod_scope_is_that_pod_only)
{
	static const char *const cgs[] = { "kubepods/poda/c1", "kubepods/podb/c1", "agents/staging", NULL };
	char out[8192];
	struct fx f;
	int id;

	if (!can_run() || !ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	fx_write_policy(&f, pod_policy);
	if (!fx_started(&f, extra))
		goto out;
	if (!place(&f, cgs[0], "ca", "web") || !place(&f, cgs[1], "cb", "api"))
		goto out;
	ASSERT_EQ(fx_net(&f, cgs[0], TW_OP_TCP_CONNECT, "127.23.0.5", 5432, NULL), EPERM,
		  "shop/web's connect to prod is refused");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant request --pod shop/nosuch --to 127.23.0.5:5432 "
		      "--for 5m --reason x"), 1, "a pod nobody placed");
	ASSERT_CONTAINS(out, "no tagged pod", "a clear error");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant request --pod shop --to 127.23.0.5:5432 "
		      "--for 5m --reason x"), 1, "not NAMESPACE/NAME");
	id = granted(&f, "--pod shop/web --to 127.23.0.5:5432");
	ASSERT_TRUE(id > 0, "a grant for pod shop/web");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant show %d", id), 0, "show");
	ASSERT_CONTAINS(out, "+ cgroup  /kubepods/poda/c1 (tier staging)", "show names the pod's cgroup only");
	ASSERT_TRUE(!strstr(out, "podb"), "and not the other pod's");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grants --json"), 0, "grants");
	ASSERT_CONTAINS(out, "shop/web", "the list says which pod");

	ASSERT_EQ(fx_net(&f, cgs[0], TW_OP_TCP_CONNECT, "127.23.0.5", 5432, NULL), ECONNREFUSED,
		  "shop/web reaches its grant's target");
	ASSERT_EQ(fx_net(&f, cgs[1], TW_OP_TCP_CONNECT, "127.23.0.5", 5432, NULL), EPERM,
		  "shop/api, the same tier, does not");
	ASSERT_EQ(fx_net(&f, cgs[2], TW_OP_TCP_CONNECT, "127.23.0.5", 5432, NULL), EPERM,
		  "nor the tier's other cgroups");
	ASSERT_EQ(fx_net(&f, cgs[0], TW_OP_TCP_CONNECT, "127.23.0.6", 5432, NULL), EPERM,
		  "nor shop/web another address");
out:
	fx_cleanup(&f);
}
