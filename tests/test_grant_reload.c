// SPDX-License-Identifier: GPL-2.0
/*
 * Grants across reloads: the approver groups a reload names are the ones
 * the control socket admits and the ones that approve, and a reload that
 * fails after it staged the grants in its new maps leaves exactly the
 * previous grants enforced and told (nothing ended, no slot moved).
 * Approvers: uid 4242 in "users" (gid 100), uid 4244 in "staff" (gid 50);
 * no read-only group, so the socket admits no one else.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include "fixture.h"
#include "grantfix.h"
#include "net.h"
#include "std.h"
#include "test.h"
#include "util.h"

#define USERS	GRANT_APPROVER
#define STAFF	"--reuid 4244 --regid 4244 --groups 50"

static const char *const cgs[] = { "agents/staging", "agents/qa", NULL };
static const char *const extra[] = { "--group", "none", NULL };

/* approvers: the groups' JSON list, or NULL for no grants section; qa: with tier qa; prod's CIDR. */
static void policy_of(struct fx *f, const char *approvers, bool qa, const char *cidr)
{
	char buf[4096], grants[256] = "";

	if (approvers)
		snprintf(grants, sizeof(grants), ",\n  \"grants\": { \"max\": \"1h\", \"approvers\": "
			 "{ \"groups\": %s } }", approvers);
	snprintf(buf, sizeof(buf),
"{ \"version\": 1, \"mode\": \"enforce\",\n"
"  \"tiers\": { \"staging\": {}, \"prod\": {}%s },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"}%s ],\n"
"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"%s\"]} ]%s }\n",
		 qa ? ", \"qa\": {}" : "", qa ? ", {\"path\": \"/agents/qa\", \"tier\": \"qa\"}" : "", cidr,
		 grants);
	fx_write_policy(f, buf);
}

static void policy(struct fx *f, const char *approvers, bool qa)
{
	policy_of(f, approvers, qa, "127.77.0.0/16");
}

static void policy_cidr(struct fx *f, const char *cidr)
{
	policy_of(f, "[\"users\"]", false, cidr);
}

/* A pending grant's id, requested by root. */
static int request(struct fx *f, const char *tier, const char *to)
{
	char out[4096];

	if (grant_cli(f, out, sizeof(out), NULL, "grant request --tier %s --to %s --for 30m --reason test",
		tier, to)) {
		fprintf(stderr, "    grant request: %s", out);
		return -1;
	}
	return atoi(out);
}

/* May who reach the socket at all? (`tierwall grants` reads only.) */
static bool admitted(struct fx *f, const char *who)
{
	char out[4096];

	return !grant_cli(f, out, sizeof(out), who, "grants");
}

TEST(grant_approver_groups_follow_reload)
{
	char out[4096];
	struct fx f;
	int id;

	if (!can_run() || !ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	policy(&f, "[\"users\"]", false);
	if (!fx_started(&f, extra))
		goto out;
	ASSERT_TRUE(admitted(&f, USERS), "a member of users reaches the socket");
	ASSERT_TRUE(!(admitted(&f, STAFF)), "a member of staff does not");

	/* users out, staff in: the socket and the approval both follow. */
	policy(&f, "[\"staff\"]", false);
	ASSERT_EQ(fx_reload(&f), 0, "reload: approvers staff");
	ASSERT_TRUE(!(admitted(&f, USERS)), "users' member refused at the socket");
	id = request(&f, "staging", "127.77.0.5:5432");
	ASSERT_TRUE(id > 0, "root requests");
	ASSERT_NE(grant_cli(&f, out, sizeof(out), USERS, "grant approve %d", id), 0, "users' member approves");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), EPERM,
		  "not approved: refused");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), STAFF, "grant approve %d", id), 0, "staff's member approves");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), ECONNREFUSED,
		  "approved by staff: allowed");

	/* Both groups; then no grants section: nobody but root. */
	policy(&f, "[\"staff\", \"users\"]", false);
	ASSERT_EQ(fx_reload(&f), 0, "reload: approvers staff and users");
	ASSERT_TRUE(admitted(&f, USERS), "users' member admitted again");
	ASSERT_TRUE(admitted(&f, STAFF), "and staff's");
	policy(&f, NULL, false);
	ASSERT_EQ(fx_reload(&f), 0, "reload: no grants section");
	ASSERT_TRUE(!(admitted(&f, USERS)), "no approvers: users' member refused");
	ASSERT_TRUE(!(admitted(&f, STAFF)), "and staff's");
	ASSERT_TRUE(admitted(&f, NULL), "root still reaches it");
out:
	fx_cleanup(&f);
}

static bool grant_active(json_t *list, int id)
{
	json_t *g;
	size_t i;

	json_array_foreach(list, i, g)
		if (json_integer_value(json_object_get(g, "grant")) == id)
			return !strcmp(json_string_value(json_object_get(g, "state")) ?: "", "active");
	return false;
}

/* Both grants active, as the daemon tells it. */
static bool both_active(struct fx *f, int a, int b)
{
	char out[16384];
	json_t *r;
	bool ok;

	if (grant_cli(f, out, sizeof(out), NULL, "grants --json"))
		return false;
	r = json_loads(out, 0, NULL);
	ok = grant_active(json_object_get(r, "grants"), a) && grant_active(json_object_get(r, "grants"), b);
	json_decref(r);
	return ok;
}

/*
 * The reload drops qa (its grant would end) and fails at its last step:
 * pinning the new programs, the pin directory hidden under a tmpfs. The
 * qa grant sits in slot 0 and staging's in slot 1 of the old map; the new
 * map would have put staging's in slot 0, so a revoke after the failure
 * clears the wrong slot unless the old slots came back.
 */
TEST(grant_failed_reload_keeps_previous_grants)
{
	char out[4096];
	bool mounted = false;
	json_t *e;
	struct fx f;
	int qa, st;

	if (!can_run() || !ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	policy(&f, "[\"users\"]", true);
	if (!fx_started(&f, extra))
		goto out;
	qa = request(&f, "qa", "127.77.0.9");
	st = request(&f, "staging", "127.77.0.5:5432");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), USERS, "grant approve %d", qa), 0, "approve qa's");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), USERS, "grant approve %d", st), 0, "approve staging's");

	policy(&f, "[\"users\"]", false);
	mounted = ASSERT_OK(mount("tw-test", f.pin, "tmpfs", 0, NULL) ? -errno : 0, "tmpfs over the pins");
	if (!mounted)
		goto out;
	ASSERT_EQ(fx_reload(&f), 1, "the reload fails at pinning");
	mounted = umount(f.pin) != 0;
	ASSERT_TRUE(!(mounted), "tmpfs off the pins");
	ASSERT_EQ(fx_drain(&f), 0, "drain");
	ASSERT_TRUE(!fx_daemon_event(&f, "grant_ended"), "nothing ended on the record");
	ASSERT_TRUE(both_active(&f, qa, st), "both grants still active, as the daemon tells it");
	ASSERT_EQ(fx_net(&f, "agents/qa", TW_OP_TCP_CONNECT, "127.77.0.9", 80, NULL), ECONNREFUSED,
		  "qa's grant still allows");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), ECONNREFUSED,
		  "staging's grant still allows");

	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant revoke %d", st), 0, "revoke staging's");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), EPERM,
		  "staging's revoked: refused in the kernel");
	ASSERT_EQ(fx_net(&f, "agents/qa", TW_OP_TCP_CONNECT, "127.77.0.9", 80, NULL), ECONNREFUSED,
		  "qa's untouched by that revoke");

	/* The same reload with the pins back: it loads, and qa's grant ends now, on the record. */
	ASSERT_EQ(fx_reload(&f), 0, "the reload loads once the pins are back");
	e = fx_await_daemon_event(&f, "grant_ended");
	ASSERT_TRUE(e && json_integer_value(json_object_get(e, "grant")) == qa &&
		    strstr(json_string_value(json_object_get(e, "why")) ?: "", "no tier qa"),
		    "grant_ended names qa's grant and why");
	json_decref(e);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), EPERM,
		  "staging's, revoked before, stays refused");

	/* A reload that takes the rule's reach away ends a grant inside it. */
	st = request(&f, "staging", "127.77.0.5:5432");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), USERS, "grant approve %d", st), 0, "approve a new one");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.77.0.5", 5432, NULL), ECONNREFUSED,
		  "allowed");
	policy_cidr(&f, "127.78.0.0/16");
	ASSERT_EQ(fx_reload(&f), 0, "reload: prod moves to 127.78.0.0/16");
	ASSERT_EQ(fx_await_daemon_events(&f, "grant_ended", 2), 2, "that grant ended on the record");
	ASSERT_EQ(grant_cli(&f, out, sizeof(out), NULL, "grant show %d", st), 0, "show it");
	ASSERT_CONTAINS(out, "(ended)", "it has ended");
out:
	if (mounted)
		umount(f.pin);
	fx_cleanup(&f);
}
