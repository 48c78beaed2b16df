// SPDX-License-Identifier: GPL-2.0
/*
 * Grants end to end against the kernel: requested, shown, approved by
 * someone else, used, revoked and expired; the kernel's deadline with the
 * daemon frozen; kept across kill -9, restart and reload; ended by a
 * reload that drops the tier; and every refusal of bad input changing
 * nothing. Approvers are uid 4242 in group "users" (gid 100), reaching the socket by
 * its ACL; the read-only group is nogroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "fixture.h"
#include "net.h"
#include "schema.h"
#include "secfix.h"
#include "std.h"
#include "test.h"
#include "util.h"

static const char *const cgs[] = { "agents/staging", "agents/qa", NULL };
static const char *const extra[] = { "--group", "nogroup", NULL };

static void grant_policy(char *buf, size_t len, bool qa)
{
	snprintf(buf, len,
"{ \"version\": 1, \"mode\": \"enforce\",\n"
"  \"tiers\": { \"staging\": {}, \"prod\": {}%s },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"}%s ],\n"
"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.77.0.0/16\"]} ],\n"
"  \"grants\": { \"max\": \"1h\", \"approvers\": { \"groups\": [\"users\"] }, \"pending_for\": \"1h\" } }\n",
		 qa ? ", \"qa\": {}" : "", qa ? ", {\"path\": \"/agents/qa\", \"tier\": \"qa\"}" : "");
}

/* tierwall ARGS as root (who empty) or as `setpriv WHO`, in cgroup cg (NULL: the test's). */
static int cli(struct fx *f, char *out, size_t len, const char *cg, const char *who, const char *args)
{
	char in[PATH_MAX + 64] = "";

	if (cg)
		snprintf(in, sizeof(in), "echo $$ > %s/%s/cgroup.procs && ", f->root, cg);
	return fx_sh(out, len, "%sexec %s%s %s/tierwall --socket %s %s 2>&1", in, who ? "setpriv " : "",
		     who ?: "", tw_build_dir, f->sock, args);
}

#define APPROVER	"--reuid 4242 --regid 4242 --groups 100"
#define OUTSIDER	"--reuid 4243 --regid 4243 --groups 65534"

static int request(struct fx *f, const char *args)
{
	char out[4096], cmd[1024];

	snprintf(cmd, sizeof(cmd), "grant request %s --reason 'load test'", args);
	if (cli(f, out, sizeof(out), NULL, NULL, cmd)) {
		fprintf(stderr, "    %s: %s", cmd, out);
		return -1;
	}
	return atoi(out);
}

static int grants_count(struct fx *f)
{
	char out[16384];
	json_t *r;
	int n;

	if (cli(f, out, sizeof(out), NULL, NULL, "grants --json"))
		return -1;
	r = json_loads(out, 0, NULL);
	n = json_array_size(json_object_get(r, "grants"));
	json_decref(r);
	return n;
}

static int approve(struct fx *f, int id, const char *who, const char *cg, char *out, size_t len)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "grant approve %d", id);
	return cli(f, out, len, cg, who, cmd);
}

static int conn(struct fx *f, const char *ip, int port, pid_t *pid)
{
	return fx_net(f, "agents/staging", TW_OP_TCP_CONNECT, ip, port, pid);
}

static bool start(struct fx *f)
{
	char policy[4096];

	if (!can_run() || !ASSERT_OK(fx_init(f, cgs), "fixture"))
		return false;
	grant_policy(policy, sizeof(policy), true);
	fx_write_policy(f, policy);
	return fx_started(f, extra);
}

/* The integer at key (a.b: nested) of `tierwall ARGS --json`'s answer, -1 if none. */
static long long answer(struct fx *f, const char *args, const char *key, const char *sub)
{
	char out[16384];
	long long v = -1;
	json_t *r, *o;

	if (cli(f, out, sizeof(out), NULL, NULL, args))
		return -1;
	r = json_loads(out, 0, NULL);
	o = json_object_get(r, key);
	if (sub)
		o = json_is_array(o) ? json_array_get(o, 0) : o, o = json_object_get(o, sub);
	if (json_is_integer(o))
		v = json_integer_value(o);
	json_decref(r);
	return v;
}

/* explain names the grant, which lists it, status counts it. */
static void told(struct fx *f, int id)
{
	ASSERT_EQ(answer(f, "explain --json --cgroup agents/staging 127.77.0.5:5432", "grant", NULL), id,
		  "explain names the grant that allows it");
	ASSERT_EQ(answer(f, "explain --json --cgroup agents/staging 127.77.0.6:5432", "grant", NULL), -1,
		  "and none where it does not");
	ASSERT_EQ(answer(f, "which --json --cgroup agents/staging", "grants", "grant"), id,
		  "which lists the cgroup's grant");
	ASSERT_EQ(answer(f, "status --json", "grants", "active"), 1, "status counts it");
}

/* Bad input is an error that changes nothing. */
static void bad_requests(struct fx *f)
{
	static const char *const bad[] = {
		"--tier staging --to 127.77.0.5:5432 --for 2h",		/* over the maximum */
		"--tier staging --to 127.77.0.5:5432 --for 0",
		"--tier staging --to 127.77.0.5:5432 --for=-5m",
		"--tier staging --to 127.77.0.5:5432 --for soon",
		"--tier staging --to 127.99.0.1:5432 --for 1m",		/* no rule refuses it */
		"--tier staging --to 127.77.0.0/16 --for 1m",		/* wider than max_prefix */
		"--tier nosuch --to 127.77.0.5:5432 --for 1m",
	};
	char out[4096], cmd[512];
	int before = grants_count(f);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(cmd, sizeof(cmd), "grant request %s --reason x", bad[i]);
		ASSERT_EQ(cli(f, out, sizeof(out), NULL, NULL, cmd), 1, bad[i]);
		ASSERT_TRUE(strlen(out) > 10 && !strstr(out, "Segmentation"), "a clear error");
	}
	ASSERT_EQ(cli(f, out, sizeof(out), "agents/staging", NULL,
		      "grant request --tier qa --to 127.77.0.9 --for 1m --reason x"), 1,
		  "a tiered caller requests for another tier");
	ASSERT_CONTAINS(out, "only for its own tier", "refused: only for its own tier");
	ASSERT_EQ(grants_count(f), before, "bad requests change nothing");
}

TEST(grant_request_approve_use_revoke_survive)
{
	char out[8192], policy[4096];
	struct fx f;
	json_t *e;
	pid_t pid;
	long long denial;
	int id, q, r;

	if (!start(&f))
		goto out;
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, &pid), EPERM, "prod's address is refused");
	e = fx_event(&f, pid, 5432);
	denial = json_integer_value(json_object_get(e, "seq"));
	json_decref(e);
	bad_requests(&f);
	id = request(&f, "--tier staging --to 127.77.0.5:5432/tcp --for 1h");
	ASSERT_TRUE(id > 0, "request prints the id");
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, NULL), EPERM, "a request changes nothing");
	ASSERT_EQ(cli(&f, out, sizeof(out), NULL, NULL, "grant show 1"), 0, "show");
	ASSERT_CONTAINS(out, "+ allow   127.77.0.5/32 port 5432 tcp", "show says what it allows");

	/* Who may not approve: the requester, a tiered caller, anyone outside the groups. */
	ASSERT_EQ(approve(&f, id, "--groups 100", NULL, out, sizeof(out)), 1, "requester approves");
	ASSERT_CONTAINS(out, "same person", "the requester cannot approve");
	ASSERT_EQ(approve(&f, id, APPROVER, "agents/staging", out, sizeof(out)), 1, "tiered approves");
	ASSERT_CONTAINS(out, "runs in tier staging", "a tiered caller never approves");
	ASSERT_EQ(approve(&f, id, OUTSIDER, NULL, out, sizeof(out)), 1, "outsider approves");
	ASSERT_CONTAINS(out, "none of the approver groups", "an approver must be in a group");
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, NULL), EPERM, "still refused");
	ASSERT_EQ(approve(&f, id, APPROVER, NULL, out, sizeof(out)), 0, "an approver approves");

	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, &pid), ECONNREFUSED, "the grant allows its target");
	e = fx_event(&f, pid, 5432);
	ASSERT_TRUE(e && !strcmp(json_string_value(json_object_get(e, "verdict")) ?: "", "allow") &&
		    json_integer_value(json_object_get(e, "grant")) == id,
		    "recorded: allow, with the grant's id");
	json_decref(e);
	ASSERT_EQ(conn(&f, "127.77.0.6", 5432, NULL), EPERM, "not another address");
	ASSERT_EQ(conn(&f, "127.77.0.5", 5433, NULL), EPERM, "not another port");
	told(&f, id);

	/* kill -9, restart, reload: it holds. */
	kill(f.daemon, SIGKILL);
	waitpid(f.daemon, NULL, 0);
	f.daemon = 0;
	if (!ASSERT_OK(fx_start(&f, extra), "restart"))
		goto out;
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, NULL), ECONNREFUSED, "kept across kill -9 and restart");
	ASSERT_EQ(fx_reload(&f), 0, "reload");
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, NULL), ECONNREFUSED, "kept across a reload");

	ASSERT_EQ(cli(&f, out, sizeof(out), NULL, APPROVER, "grant revoke 1"), 0, "revoke");
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, NULL), EPERM, "revoked: refused at once");
	ASSERT_EQ(cli(&f, out, sizeof(out), NULL, NULL, "grant revoke 1"), 1, "an ended id: exit 1");
	ASSERT_EQ(cli(&f, out, sizeof(out), NULL, NULL, "grant show 999"), 1, "an unknown id: exit 1");

	/* Exactly what a recorded denial was. */
	snprintf(policy, sizeof(policy), "--from-event %lld --for 5m", denial);
	r = request(&f, policy);
	ASSERT_TRUE(r > id, "--from-event requests");
	snprintf(policy, sizeof(policy), "grant show %d", r);
	ASSERT_EQ(cli(&f, out, sizeof(out), NULL, NULL, policy), 0, "show it");
	ASSERT_CONTAINS(out, "+ cgroup  /agents/staging", "the denial's cgroup");
	ASSERT_CONTAINS(out, "+ allow   127.77.0.5/32 port 5432 tcp", "the denial's target");

	/* A reload that drops the grant's tier ends it, on the record. */
	q = request(&f, "--tier qa --to 127.77.0.9 --for 10m");
	ASSERT_EQ(approve(&f, q, APPROVER, NULL, out, sizeof(out)), 0, "approve qa's");
	grant_policy(policy, sizeof(policy), false);
	fx_write_policy(&f, policy);
	ASSERT_EQ(fx_reload(&f), 0, "reload without qa");
	e = fx_await_daemon_event(&f, "grant_ended");
	ASSERT_TRUE(e && json_integer_value(json_object_get(e, "grant")) == q, "grant_ended names it");
	json_decref(e);
	e = fx_await_daemon_event(&f, "grant_revoked");
	ASSERT_TRUE(e && json_object_get(e, "uses"), "grant_revoked with the kernel's uses");
	json_decref(e);
	ASSERT_EQ(fx_drain(&f), 0, "drain");
	snprintf(policy, sizeof(policy), "%s/events.jsonl", f.log_dir);
	ASSERT_TRUE(schema_check_log("policies/event.schema.json", policy) > 0, "records fit the schema");
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir), 0,
		  "verify-log passes over the grant records");
out:
	fx_cleanup(&f);
}

/* The kernel ends it on time: the daemon is frozen and cannot help. */
TEST(grant_deadline_refuses_with_daemon_stopped)
{
	long long approved, refused = 0, until;
	char out[4096];
	struct fx f;
	json_t *e;
	int id, err;

	if (!start(&f))
		goto out;
	id = request(&f, "--tier staging --to 127.77.0.5:5432 --for 2s");
	ASSERT_TRUE(id > 0, "request");
	ASSERT_EQ(approve(&f, id, APPROVER, NULL, out, sizeof(out)), 0, "approve");
	approved = fx_now_ms();
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, NULL), ECONNREFUSED, "allowed while it lasts");
	kill(f.daemon, SIGSTOP);
	/* Bounded: the grant's 2 s and a generous margin; refused is when it happened. */
	for (until = approved + 30000; fx_now_ms() < until;) {
		err = conn(&f, "127.77.0.5", 5432, NULL);
		if (err == EPERM) {
			refused = fx_now_ms();
			break;
		}
	}
	kill(f.daemon, SIGCONT);
	ASSERT_TRUE(refused > 0, "refused after the deadline with the daemon stopped");
	ASSERT_TRUE(refused <= approved + 3000, "refused within 1 s of the deadline passing");
	e = fx_await_daemon_event(&f, "grant_expired");
	ASSERT_TRUE(e && json_integer_value(json_object_get(e, "uses")) >= 1, "grant_expired with its uses");
	json_decref(e);
out:
	fx_cleanup(&f);
}

static bool file_of_pid(json_t *o, const void *arg)
{
	return !strcmp(json_string_value(json_object_get(o, "kind")) ?: "", "file") &&
	       json_integer_value(json_object_get(o, "pid")) == *(const pid_t *)arg;
}

/*
 * A secret grant, in the guests (BPF LSM): one policy path opens to the
 * granted tier and no other. The guest has no users to approve as, so the
 * policy allows self-approval by group root, which every record then says.
 */
TEST(lsm_grant_secret_opens_one_path_until_revoked)
{
	struct fop o = { .flags = O_RDONLY };
	char policy[8192], out[4096], cmd[PATH_MAX + 128];
	struct sec s;
	json_t *e;
	pid_t pid;
	int id;

	if (!sec_init(&s))
		goto out;
	snprintf(policy, sizeof(policy),
"{ \"version\": 1,\n"
"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s\", \"%s\"]} ],\n"
"  \"grants\": { \"max\": \"1h\", \"approvers\": { \"groups\": [\"root\"] }, \"self_approval\": true } }\n",
		 s.key, s.live);
	fx_write_policy(&s.f, policy);
	if (!fx_started(&s.f, NULL))
		goto out;
	o.path = s.key;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "prod's key is refused");
	snprintf(cmd, sizeof(cmd), "grant request --tier staging --secret %s --for 10m --reason rotate", s.key);
	ASSERT_EQ(cli(&s.f, out, sizeof(out), NULL, NULL, cmd), 0, "request");
	id = atoi(out);
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "pending: still refused");
	ASSERT_EQ(approve(&s.f, id, NULL, NULL, out, sizeof(out)), 0, "self-approved, as the policy allows");

	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), 0, "the grant opens its path");
	e = fx_await_decision(&s.f, file_of_pid, &pid);
	ASSERT_TRUE(e && !strcmp(json_string_value(json_object_get(e, "verdict")) ?: "", "allow") &&
		    json_integer_value(json_object_get(e, "grant")) == id, "recorded: allow, the grant's id");
	json_decref(e);
	o.path = s.live;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "not another secret path");
	e = fx_await_daemon_event(&s.f, "grant_approved");
	ASSERT_TRUE(e && json_is_true(json_object_get(e, "self_approved")), "the record says self-approved");
	json_decref(e);

	snprintf(cmd, sizeof(cmd), "grant revoke %d", id);
	ASSERT_EQ(cli(&s.f, out, sizeof(out), NULL, NULL, cmd), 0, "revoke");
	o.path = s.key;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "revoked: refused again");
out:
	fx_cleanup(&s.f);
}

/*
 * Attack: an approver asks and then approves their own grant, having set
 * their login uid first. A process whose login uid is unset may write
 * /proc/self/loginuid without privilege, so a login uid that differs must
 * not make the same uid another person.
 */
TEST(grant_self_approval_by_setting_loginuid_refused)
{
	char out[4096];
	struct fx f;
	int id;

	if (!start(&f))
		goto out;
	ASSERT_EQ(cli(&f, out, sizeof(out), NULL, APPROVER,
		      "grant request --tier staging --to 127.77.0.5:5432 --for 10m --reason mine"), 0,
		  "an approver requests");
	id = atoi(out);
	ASSERT_TRUE(id > 0, "request prints the id");
	ASSERT_EQ(fx_sh(out, sizeof(out),
			"exec setpriv " APPROVER " sh -c 'echo 777 > /proc/self/loginuid && "
			"exec %s/tierwall --socket %s grant approve %d' 2>&1", tw_build_dir, f.sock, id), 1,
		  "the same uid, its login uid set by itself, approves");
	ASSERT_CONTAINS(out, "same person", "refused: the same person");
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, NULL), EPERM, "still refused");
out:
	fx_cleanup(&f);
}

/*
 * Attack: an unprivileged client (uid 4243, the read-only group) fills the
 * store with pending requests, so nobody else may ask for a grant until
 * they lapse.
 */
TEST(grant_requests_cannot_exhaust_the_store)
{
	char out[4096];
	struct fx f;
	int id, n;

	if (!start(&f))
		goto out;
	fx_sh(out, sizeof(out),
	      "exec setpriv " OUTSIDER " sh -c 'for i in $(seq 260); do %s/tierwall --socket %s grant "
	      "request --tier staging --to 127.77.0.5:5432 --for 1m --reason spam >/dev/null 2>&1; done'",
	      tw_build_dir, f.sock);
	id = request(&f, "--tier staging --to 127.77.0.5:5432 --for 10m");
	ASSERT_TRUE(id > 0, "another still requests a grant");
	ASSERT_TRUE(grants_count(&f) < 256, "one uid holds no more than its share of pending requests");
	/* A staging root takes a new uid for each request: its tier's share is the cap. */
	fx_sh(out, sizeof(out),
	      "echo $$ > %s/agents/staging/cgroup.procs && for i in $(seq 5000 5039); do setpriv --reuid $i "
	      "--regid $i --groups 65534 %s/tierwall --socket %s grant request --tier staging --to "
	      "127.77.0.5:5432 --for 1m --reason spam >/dev/null 2>&1; done", f.root, tw_build_dir, f.sock);
	n = grants_count(&f);
	ASSERT_TRUE(n > 17 && n <= 33, "a tier holds no more than its share, whatever uids it takes");
out:
	fx_cleanup(&f);
}

/*
 * Attack: another uid claims the requester's login uid (writable without
 * privilege while its own is unset) to revoke a grant it has no say over.
 */
TEST(grant_revoke_by_claimed_loginuid_refused)
{
	char out[4096];
	struct fx f;
	int id;

	if (!start(&f))
		goto out;
	ASSERT_EQ(fx_sh(out, sizeof(out),
			"echo 500 > /proc/self/loginuid && exec setpriv " APPROVER " %s/tierwall --socket %s "
			"grant request --tier staging --to 127.77.0.5:5432 --for 10m --reason mine 2>&1",
			tw_build_dir, f.sock), 0, "uid 4242, login uid 500, requests");
	id = atoi(out);
	ASSERT_EQ(approve(&f, id, "--groups 100", NULL, out, sizeof(out)), 0, "root approves");
	ASSERT_EQ(fx_sh(out, sizeof(out),
			"exec setpriv " OUTSIDER " sh -c 'echo 500 > /proc/self/loginuid && "
			"exec %s/tierwall --socket %s grant revoke %d' 2>&1", tw_build_dir, f.sock, id), 1,
		  "uid 4243 claims login uid 500 and revokes");
	ASSERT_CONTAINS(out, "permission denied", "refused: not its requester");
	ASSERT_EQ(conn(&f, "127.77.0.5", 5432, NULL), ECONNREFUSED, "the grant still allows");
out:
	fx_cleanup(&f);
}
