// SPDX-License-Identifier: GPL-2.0
/*
 * Wall-clock steps change no grant: an active grant's deadline and a
 * pending request's pending_for count on boot time. Steps the wall clock,
 * so it runs in the guests only (TW_GUEST), where the clock is the
 * guest's own; the guest has no users, so root self-approves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fixture.h"
#include "grantfix.h"
#include "net.h"
#include "std.h"
#include "test.h"
#include "util.h"

#define STEP_S	(3 * 3600)

static const char *const cgs[] = { "agents/staging", NULL };

static const char *policy =
	"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
	"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ],\n"
	"  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"127.77.0.0/16\"] } ],\n"
	"  \"grants\": { \"max\": \"1h\", \"pending_for\": \"10m\", \"self_approval\": true,\n"
	"                \"approvers\": { \"groups\": [\"root\"] } } }\n";

/* Step the wall clock by s seconds; *off keeps the sum, to step back at the end. */
static int step_clock(long s, long *off)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += s;
	if (clock_settime(CLOCK_REALTIME, &t))
		return -errno;
	*off += s;
	return 0;
}

/* The state `grants --json` gives grant id (the daemon's tick runs first). */
static const char *state_of(struct fx *f, int id, char *buf, size_t len)
{
	char out[16384];
	json_t *r, *g;
	size_t i;

	snprintf(buf, len, "none");
	if (grant_cli(f, out, sizeof(out), NULL, "grants --json"))
		return buf;
	r = json_loads(out, 0, NULL);
	json_array_foreach(json_object_get(r, "grants"), i, g)
		if (json_integer_value(json_object_get(g, "grant")) == id)
			snprintf(buf, len, "%s", json_string_value(json_object_get(g, "state")) ?: "");
	json_decref(r);
	return buf;
}

TEST(integ_grant_wall_clock_step_changes_nothing)
{
	char out[4096], st[32];
	int active, pending;
	long off = 0;
	struct fx f;

	if (!getenv("TW_GUEST")) {
		tw_test_skip("steps the wall clock: runs in the guests of tests/vm only");
		return;
	}
	if (!can_run() || !ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	fx_write_policy(&f, policy);
	if (!fx_started(&f, NULL))
		goto out;
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant request --tier staging --to 127.77.0.5:5432 --for 30m "
		      "--reason clock"), 0, "request");
	active = atoi(out);
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant request --tier staging --to 127.77.0.6 --for 30m "
		      "--reason clock"), 0, "another request, left pending");
	pending = atoi(out);
	snprintf(st, sizeof(st), "grant approve %d", active);
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "%s", st), 0, "self-approved");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), ECONNREFUSED,
		  "the grant allows");

	/* Hours ahead: past the grant's 30 minutes and the request's pending_for, on the wall. */
	ASSERT_OK(step_clock(STEP_S, &off), "wall clock 3 h ahead");
	ASSERT_STREQ(state_of(&f, active, st, sizeof(st)), "active", "the grant is still active");
	ASSERT_STREQ(state_of(&f, pending, st, sizeof(st)), "pending", "the request is still pending");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), ECONNREFUSED,
		  "the kernel still allows it");
	/* Back, and hours behind: nothing is extended either (the deadline never moved). */
	ASSERT_OK(step_clock(-2 * STEP_S, &off), "wall clock 3 h behind");
	ASSERT_STREQ(state_of(&f, active, st, sizeof(st)), "active", "still active");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.6", 80, NULL), EPERM,
		  "the pending request still allows nothing");
out:
	if (off)
		step_clock(-off, &off);
	fx_cleanup(&f);
}
