// SPDX-License-Identifier: GPL-2.0
/*
 * A grant's life as the operator reads it: `grant request --json` gives
 * the id; `grant show` the diff with from, until, requester and reason;
 * `grants --json` the uses the kernel counted, repeats folded into one
 * record included; metrics count active and pending grants; a request not
 * approved in pending_for lapses on the record and cannot be approved.
 * Approver: uid 4242 in "users" (gid 100).
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
#include "std.h"
#include "test.h"
#include "util.h"

#define APPROVER	GRANT_APPROVER
#define USES		5

static const char *const cgs[] = { "agents/staging", NULL };

/* max: the policy's grants.max. */
static void policy(struct fx *f, const char *max)
{
	char buf[1024];

	snprintf(buf, sizeof(buf),
"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ],\n"
"  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"127.77.0.0/16\"] } ],\n"
"  \"grants\": { \"max\": \"%s\", \"pending_for\": \"2s\", \"approvers\": { \"groups\": [\"users\"] } } }\n",
		 max);
	fx_write_policy(f, buf);
}

/* The grant's entry in `grants --json` (a reference), or NULL. */
static json_t *listed(struct fx *f, int id)
{
	char out[16384];
	json_t *r, *g, *found = NULL;
	size_t i;

	if (grant_cli(f, out, sizeof(out), NULL, "grants --json"))
		return NULL;
	r = json_loads(out, 0, NULL);
	json_array_foreach(json_object_get(r, "grants"), i, g)
		if (json_integer_value(json_object_get(g, "grant")) == id)
			found = json_incref(g);
	json_decref(r);
	return found;
}

/* Allow records of the grant: how many decisions they stand for (folded counts). */
static long long recorded(struct fx *f, int id)
{
	char path[PATH_MAX + 32], line[8192];
	long long n = 0;
	FILE *in;

	if (fx_drain(f))
		return -1;
	snprintf(path, sizeof(path), "%s/events.jsonl", f->log_dir);
	in = fopen(path, "re");
	while (in && fgets(line, sizeof(line), in)) {
		json_t *o = json_loads(line, 0, NULL);

		if (json_integer_value(json_object_get(o, "grant")) == id &&
		    !strcmp(json_string_value(json_object_get(o, "verdict")) ?: "", "allow"))
			n += json_integer_value(json_object_get(o, "count")) ?: 1;
		json_decref(o);
	}
	if (in)
		fclose(in);
	return n;
}

static bool lapsed_id(json_t *o, const void *id)
{
	return !strcmp(json_string_value(json_object_get(o, "event")) ?: "", "grant_lapsed") &&
	       json_integer_value(json_object_get(o, "grant")) == *(const int *)id;
}

TEST(grant_life_shown_counted_lapsed)
{
	char out[16384], maddr[64];
	int port = fx_port(11), id, late, i;
	struct fx f;
	json_t *r, *e;

	if (!can_run() || !ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	policy(&f, "1h");
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", port);
	if (!fx_started(&f, (const char *const[]){ "--group", "none", "--metrics", maddr, NULL }))
		goto out;
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant request --json --tier staging --to 127.77.0.5:5432 "
		      "--for 30m --reason 'load test'"), 0, "request --json");
	r = json_loads(out, 0, NULL);
	id = json_integer_value(json_object_get(r, "id"));
	json_decref(r);
	ASSERT_TRUE(id > 0, "--json: an object with the id");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), APPROVER, "grant approve %d", id), 0, "approved");

	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant show %d", id), 0, "show");
	ASSERT_CONTAINS(out, "+ cgroup  /agents/staging (tier staging)", "show: the cgroups");
	ASSERT_CONTAINS(out, "+ allow   127.77.0.5/32 port 5432 any", "show: the address and port");
	ASSERT_CONTAINS(out, "  from    ", "show: from when");
	ASSERT_CONTAINS(out, "  until   ", "show: until when");
	ASSERT_CONTAINS(out, "  by      uid 0", "show: who asked");
	ASSERT_CONTAINS(out, "  reason  load test", "show: why");

	/* Repeats fold into a record with a count; the kernel counts every one. */
	for (i = 0; i < USES; i++)
		ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL),
			  ECONNREFUSED, "allowed by the grant");
	e = listed(&f, id);
	ASSERT_EQ(json_integer_value(json_object_get(e, "uses")), USES, "grants: the kernel's uses");
	ASSERT_TRUE(json_integer_value(json_object_get(e, "left_s")) > 0, "grants: time left");
	json_decref(e);
	ASSERT_EQ(recorded(&f, id), USES, "every use on the record (folded repeats counted)");

	/* A request nobody approves lapses after pending_for (2 s), by the daemon's own clock. */
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant request --tier staging --to 127.77.0.6 --for 1m "
		      "--reason later"), 0, "another request");
	late = atoi(out);
	if (ASSERT_OK(fx_http_get(port, "/metrics", out, sizeof(out)), "metrics")) {
		ASSERT_CONTAINS(out, "tierwall_grants{state=\"active\"} 1", "metrics: one active");
		ASSERT_CONTAINS(out, "tierwall_grants{state=\"pending\"} 1", "metrics: one pending");
	}
	e = fx_await(&f, lapsed_id, &late);
	ASSERT_TRUE(e != NULL, "grant_lapsed on the record");
	json_decref(e);
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), APPROVER, "grant approve %d", late), 1, "a lapsed request: exit 1");
	ASSERT_CONTAINS(out, "not pending", "it is not pending any more");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.6", 5432, NULL), EPERM,
		  "and allows nothing");

	/*
	 * A reload lowers max to 2 s: the 30-minute grant, approved more than 2 s
	 * ago, ends in the kernel at the reload (the daemon frozen right after).
	 */
	policy(&f, "2s");
	ASSERT_EQ(fx_reload(&f), 0, "reload: max 2s");
	kill(f.daemon, SIGSTOP);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), EPERM,
		  "shortened past its new deadline: refused, the daemon frozen");
	kill(f.daemon, SIGCONT);
	e = fx_await_daemon_event(&f, "grant_shortened");
	ASSERT_TRUE(e && json_integer_value(json_object_get(e, "grant")) == id &&
		    json_integer_value(json_object_get(e, "duration_s")) == 2, "grant_shortened on the record");
	json_decref(e);
out:
	fx_cleanup(&f);
}
