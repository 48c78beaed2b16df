// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's life cycle against the boundary: a stop is not an uninstall,
 * tags survive restarts and follow recreated cgroups, one daemon per pin and
 * log directory, a control socket no client can stall and no tiered process
 * can use to change enforcement, reloads that never open a gap.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "ctl.h"
#include "fixture.h"
#include "net.h"
#include "schema.h"
#include "std.h"
#include "test.h"

/* `tierwall ARGS` against the fixture's daemon; exit status, output in out. */
static int cli(struct fx *f, char *out, size_t len, const char *args)
{
	return fx_sh(out, len, "%s/tierwall --socket %s %s 2>&1", tw_build_dir, f->sock, args);
}

static int uninstall(struct fx *f, char *out, size_t len)
{
	return fx_sh(out, len, "%s/tierwalld --uninstall --pin-dir %s --state-dir %s --log-dir %s "
		     "--socket %s 2>&1", tw_build_dir, f->pin, f->state, f->log_dir, f->sock);
}

/* Every record the daemon wrote is documented in the event schema. */
static void log_matches_schema(const char *log_dir)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/events.jsonl", log_dir);
	ASSERT_TRUE(schema_check_log("policies/event.schema.json", path) > 0,
		    "records checked against policies/event.schema.json");
}

static int restart(struct fx *f, bool kill9)
{
	if (kill9) {
		kill(f->daemon, SIGKILL);
		waitpid(f->daemon, NULL, 0);
		f->daemon = 0;
	} else {
		fx_stop(f);
	}
	return fx_start(f, NULL);
}

TEST(life_stop_keeps_enforcing_uninstall_detaches)
{
	char out[8192];
	struct stat st;
	struct fx f;
	json_t *e;
	int l = -1, rc;

	if (!std_start(&f))
		goto out;
	rc = fx_stop(&f);
	ASSERT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "SIGTERM: exit 0");
	e = fx_daemon_event(&f, "stop");
	ASSERT_TRUE(e && json_is_true(json_object_get(e, "enforcing")), "stop event says it still enforces");
	json_decref(e);
	ASSERT_TRUE(stat(f.sock, &st) && errno == ENOENT, "socket removed");
	ASSERT_OK(stat(f.pin, &st), "pins stay");
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "programs stay attached");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "a stop is not an uninstall: still enforcing");
	rc = fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --pin-dir %s", tw_build_dir,
		   f.sock, f.pin);
	ASSERT_EQ(rc, 1, "status without a daemon: exit 1");
	ASSERT_CONTAINS(out, "not running, enforcing", "status says the node still enforces");
	/* Not told the pin dir: the kernel's links say it, never a wrong "not enforcing". */
	rc = fx_sh(out, sizeof(out), "%s/tierwall --socket %s status", tw_build_dir, f.sock);
	ASSERT_EQ(rc, 1, "status without --pin-dir: exit 1");
	ASSERT_CONTAINS(out, "enforcing: ", "finds the programs pinned elsewhere");
	ASSERT_TRUE(!strstr(out, "not enforcing"), "never \"not enforcing\"");
	rc = fx_sh(out, sizeof(out), "setpriv --reuid 65534 --regid 65534 --clear-groups "
		   "%s/tierwall --socket /tmp/tw-no-daemon-%d.sock status", tw_build_dir, getpid());
	ASSERT_EQ(rc, 1, "status as a user who cannot list links: exit 1");
	ASSERT_CONTAINS(out, "enforcement unknown", "says it does not know");

	rc = uninstall(&f, out, sizeof(out));
	ASSERT_EQ(rc, 0, "tierwalld --uninstall");
	ASSERT_TRUE(stat(f.pin, &st) && errno == ENOENT, "pins removed");
	ASSERT_TRUE(stat(f.state, &st) && errno == ENOENT, "state removed");
	ASSERT_EQ(fx_cgroup_progs(f.root), 0, "programs detached");
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_TRUE(l >= 0, "listener");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0,
		  "no enforcement after uninstall");
	ASSERT_TRUE(fx_accepted(l), "accepted");
	e = fx_daemon_event(&f, "uninstall");
	ASSERT_TRUE(e != NULL, "the uninstall is on the record");
	json_decref(e);
	rc = fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --pin-dir %s", tw_build_dir,
		   f.sock, f.pin);
	ASSERT_CONTAINS(out, "not running, not enforcing", "status after uninstall");
	rc = fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir);
	ASSERT_EQ(rc, 0, "the log's chain is intact");
	log_matches_schema(f.log_dir);
out:
	if (l >= 0)
		close(l);
	fx_cleanup(&f);
}

TEST(life_uninstall_through_running_daemon)
{
	char out[8192];
	struct stat st;
	struct fx f;
	int rc;

	if (!std_start(&f))
		goto out;
	rc = uninstall(&f, out, sizeof(out));
	ASSERT_EQ(rc, 0, "tierwalld --uninstall while the daemon runs");
	FX_UNTIL(waitpid(f.daemon, &rc, WNOHANG) == f.daemon && !(f.daemon = 0), 60000);
	ASSERT_EQ(f.daemon, 0, "the daemon exited");
	ASSERT_TRUE(stat(f.pin, &st) && errno == ENOENT, "pins removed");
	ASSERT_EQ(fx_cgroup_progs(f.root), 0, "programs detached");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL),
		  ECONNREFUSED, "no enforcement");
out:
	fx_cleanup(&f);
}

/* The tags `tierwall tiers --json` lists for cgroup rel (display path), as "tier/source", or "". */
static void listed(struct fx *f, const char *rel, char *what, size_t len)
{
	char cg[PATH_MAX];
	json_t *r = NULL, *t;
	size_t i;

	what[0] = '\0';
	fx_cg_display(f, rel, cg, sizeof(cg));
	if (tw_ctl_call(f->sock, json_pack("{s:s}", "cmd", "tiers"), &r, 2000))
		return;
	json_array_foreach(json_object_get(r, "tags"), i, t)
		if (!strcmp(json_string_value(json_object_get(t, "cgroup")) ?: "", cg))
			snprintf(what, len, "%s/%s", json_string_value(json_object_get(t, "tier")),
				 json_string_value(json_object_get(t, "source")));
	json_decref(r);
}

TEST(life_runtime_tags_survive_restarts)
{
	char out[8192], what[64];
	struct fx f;
	json_t *e;
	int round;

	if (!std_start(&f))
		goto out;
	fx_mkcg(&f, "fresh");
	fx_mkcg(&f, "doomed");
	fx_mkcg(&f, "reborn");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /fresh staging"), 0, "runtime tag");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /doomed prod"), 0, "another, whose cgroup will go");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /reborn staging"), 0, "another, whose cgroup will be made again");
	for (round = 0; round < 2; round++) {
		bool kill9 = round == 1;

		if (!kill9) {
			/* Removed while no daemon runs: the next start must say so. */
			fx_stop(&f);
			rmdir(strcat(strcpy(out, f.root), "/doomed"));
			rmdir(strcat(strcpy(out, f.root), "/reborn"));
			fx_mkcg(&f, "reborn");	/* the same name, a new cgroup (a greater id) */
			ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
				  "enforced while the daemon is down");
			if (!ASSERT_OK(fx_start(&f, NULL), "start again"))
				goto out;
		} else if (!ASSERT_OK(restart(&f, true), "kill -9, start again")) {
			goto out;
		}
		listed(&f, "fresh", what, sizeof(what));
		ASSERT_STREQ(what, "staging/runtime", kill9 ? "listed after kill -9" : "listed after SIGTERM");
		ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
			  "enforced by the new daemon");
	}
	e = fx_daemon_event(&f, "tag_lost");
	ASSERT_TRUE(e != NULL, "the tag of the removed cgroup is reported lost");
	ASSERT_STREQ(e ? json_string_value(json_object_get(e, "why")) : NULL, "cgroup removed", "and why");
	json_decref(e);
	listed(&f, "doomed", what, sizeof(what));
	ASSERT_STREQ(what, "", "the lost tag is no longer listed");
	listed(&f, "reborn", what, sizeof(what));
	ASSERT_STREQ(what, "", "a tag is not restored onto a cgroup made again under its name");
	ASSERT_EQ(fx_net(&f, "reborn", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), ECONNREFUSED,
		  "which is not judged");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tiers --json"), 0, "tiers");
	ASSERT_CONTAINS(out, "\"uid\": 0", "the requester is kept");
	log_matches_schema(f.log_dir);
out:
	fx_cleanup(&f);
}

/* Poll until the cgroup's connects are refused: bounded at about ms. */
static bool refused_within(struct fx *f, const char *rel, int ms)
{
	int i;

	for (i = 0; i <= ms / 50; i++) {
		if (fx_net(f, rel, TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL) == EPERM)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

TEST(life_policy_tag_follows_recreated_cgroup)
{
	char path[PATH_MAX + 32], what[64];
	struct fx f;
	json_t *e;
	int i;

	if (!std_start(&f))
		goto out;
	snprintf(path, sizeof(path), "%s/agents/staging", f.root);
	/* A service restart: the cgroup goes and comes back with a new id. */
	for (i = 0; i < 3; i++) {
		if (!ASSERT_OK(rmdir(path), "remove the tagged cgroup") ||
		    !ASSERT_OK(mkdir(path, 0755), "create it again"))
			goto out;
		ASSERT_TRUE(refused_within(&f, "agents/staging", 2000), "tagged again within 2 s");
	}
	e = fx_daemon_event(&f, "tag_followed");
	ASSERT_TRUE(e != NULL, "tag_followed on the record");
	json_decref(e);
	listed(&f, "agents/staging", what, sizeof(what));
	ASSERT_STREQ(what, "staging/policy", "still listed, as the policy's");
	log_matches_schema(f.log_dir);
out:
	fx_cleanup(&f);
}

TEST(life_runtime_tag_lost_with_its_cgroup)
{
	char out[4096], path[PATH_MAX + 32], what[64];
	struct fx f;
	json_t *e = NULL;

	if (!std_start(&f))
		goto out;
	fx_mkcg(&f, "fresh");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /fresh prod"), 0, "runtime tag");
	snprintf(path, sizeof(path), "%s/fresh", f.root);
	ASSERT_OK(rmdir(path), "the cgroup goes");
	e = fx_await_daemon_event(&f, "tag_lost");
	ASSERT_TRUE(e != NULL, "tag_lost on the record");
	ASSERT_STREQ(e ? json_string_value(json_object_get(e, "tier")) : NULL, "prod", "with the tier");
	json_decref(e);
	listed(&f, "fresh", what, sizeof(what));
	ASSERT_STREQ(what, "", "no longer listed");
	ASSERT_OK(mkdir(path, 0755), "a new cgroup of the same name");
	ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), ECONNREFUSED,
		  "is not tagged: runtime tags belong to one cgroup");
	log_matches_schema(f.log_dir);
out:
	fx_cleanup(&f);
}

TEST(life_retag_needs_force_and_names_requester)
{
	char out[8192];
	struct fx f;
	json_t *e;

	if (!std_start(&f))
		goto out;
	fx_mkcg(&f, "agents/staging/tool");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /agents/staging/tool prod"), 1, "inherited tier: refused");
	ASSERT_CONTAINS(out, "cgroup /agents/staging/tool already has tier staging (inherited from /agents/staging)",
			"says why, naming cgroups as the policy does");
	ASSERT_CONTAINS(out, "--force", "and how");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /agents/staging/tool staging"), 0, "same tier: fine");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /agents/staging/tool prod"), 1, "own runtime tag: refused");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag --force /agents/staging/tool prod"), 0, "--force");
	ASSERT_CONTAINS(out, "(was staging)", "says what it was");
	ASSERT_EQ(fx_net(&f, "agents/staging/tool", TW_OP_TCP_CONNECT, "127.30.0.1", P_ANY, NULL), EPERM,
		  "judged by its new tier");
	e = fx_daemon_event(&f, "tag");
	e = json_incref(e);
	ASSERT_TRUE(e && json_integer_value(json_object_get(e, "requested_by_pid")) > 0,
		    "tag events name the requesting pid");
	ASSERT_TRUE(e && json_object_get(e, "requested_by_uid"), "and uid");
	json_decref(e);
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --json --kind daemon"), 0, "events");
	ASSERT_CONTAINS(out, "\"previous_tier\":\"staging\",\"source\":\"runtime\",\"forced\":true",
			"the forced re-tag has the previous tier");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag --force /agents/staging prod"), 1, "a policy tag");
	ASSERT_CONTAINS(out, "by the policy", "changes only with the policy");
	ASSERT_EQ(cli(&f, out, sizeof(out), "untag /agents/staging"), 1, "untag of a policy tag");
	ASSERT_CONTAINS(out, "by the policy", "refused too");
	ASSERT_EQ(cli(&f, out, sizeof(out), "untag /agents/staging/tool"), 0, "untag a runtime tag");
	ASSERT_EQ(fx_net(&f, "agents/staging/tool", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "back to the inherited tier");
	log_matches_schema(f.log_dir);
out:
	fx_cleanup(&f);
}

TEST(life_one_daemon_per_pin_log_and_state_dir)
{
	char out[8192], pid[32];
	struct fx f;

	if (!std_start(&f))
		goto out;
	snprintf(pid, sizeof(pid), "(pid %d)", f.daemon);
	/* Same pin dir, everything else its own. */
	fx_sh(out, sizeof(out), "%s/tierwalld --policy %s --cgroup-root %s --log-dir %s/log2 "
	      "--state-dir %s/state2 --pin-dir %s --socket %s/s2.sock 2>&1; echo rc=$?",
	      tw_build_dir, f.policy, f.root, f.tmp, f.tmp, f.pin, f.tmp);
	ASSERT_CONTAINS(out, "--pin-dir", "a second daemon on the same pin dir is refused");
	ASSERT_CONTAINS(out, pid, "naming the live one");
	ASSERT_CONTAINS(out, "rc=1\n", "exit 1");
	/* Same log dir. */
	fx_sh(out, sizeof(out), "%s/tierwalld --policy %s --cgroup-root %s --log-dir %s "
	      "--state-dir %s/state2 --pin-dir none --socket %s/s2.sock 2>&1; echo rc=$?",
	      tw_build_dir, f.policy, f.root, f.log_dir, f.tmp, f.tmp);
	ASSERT_CONTAINS(out, "--log-dir", "a second daemon on the same log dir is refused");
	ASSERT_CONTAINS(out, pid, "naming the live one");
	/* Same state dir; bounded: a second daemon that starts is stopped after 5 s. */
	fx_sh(out, sizeof(out), "timeout -s INT 5 %s/tierwalld --policy %s --cgroup-root %s --log-dir %s/log4 "
	      "--state-dir %s --pin-dir none --socket %s/s4.sock 2>&1; echo rc=$?",
	      tw_build_dir, f.policy, f.root, f.tmp, f.state, f.tmp);
	ASSERT_CONTAINS(out, "--state-dir", "a second daemon on the same state dir is refused");
	ASSERT_CONTAINS(out, pid, "naming the live one");
	ASSERT_CONTAINS(out, "rc=1\n", "exit 1");
	/* Same socket: refused before anything else. */
	fx_sh(out, sizeof(out), "%s/tierwalld --policy %s --cgroup-root %s --log-dir %s/log3 "
	      "--state-dir %s/state3 --pin-dir none --socket %s 2>&1; echo rc=$?",
	      tw_build_dir, f.policy, f.root, f.tmp, f.tmp, f.sock);
	ASSERT_CONTAINS(out, "another tierwalld answers there", "a second daemon on the same socket");
	ASSERT_CONTAINS(out, "rc=1\n", "exit 1");
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "the first one's programs are untouched");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "and it still enforces");
	ASSERT_EQ(cli(&f, out, sizeof(out), "status"), 0, "and answers");
	ASSERT_EQ(cli(&f, out, sizeof(out), "verify-log"), 0, "its log is intact");
	/* A dead one is taken over. */
	ASSERT_OK(restart(&f, true), "kill -9, then a new daemon on the same dirs");
out:
	fx_cleanup(&f);
}

TEST(life_overlapping_roots_warned)
{
	char out[8192];
	struct fx f;

	if (!std_start(&f))
		goto out;
	/* A second daemon whose root lies inside the first one's. */
	fx_sh(out, sizeof(out), "echo '{\"version\": 1, \"tiers\": {\"a\": {}}}' > %s/p2.json", f.tmp);
	fx_sh(out, sizeof(out), "timeout -s INT 5 %s/tierwalld --policy %s/p2.json --cgroup-root %s/agents "
	      "--log-dir %s/log2 --state-dir %s/state2 --pin-dir none --socket %s/s2.sock 2>&1",
	      tw_build_dir, f.tmp, f.root, f.tmp, f.tmp, f.tmp);
	ASSERT_CONTAINS(out, "WARNING: another tierwalld's program", "the second daemon warns loudly");
	ASSERT_CONTAINS(out, f.root, "naming where the other one is attached");
	fx_sh(out, sizeof(out), "grep -c overlapping_instance %s/log2/events.jsonl", f.tmp);
	ASSERT_EQ(atoi(out), 1, "and logs it");
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "the first daemon is untouched");
	snprintf(out, sizeof(out), "%s/log2", f.tmp);
	log_matches_schema(out);
out:
	fx_cleanup(&f);
}

/* From inside a cgroup: one control request; 0 if accepted, 1 if refused as tiered, 2 else. */
struct ask {
	const char *sock;
	const char *req;
};

static int ask_daemon(void *arg)
{
	const struct ask *a = arg;
	json_t *r = NULL;
	const char *err;
	int rc;

	if (tw_ctl_call(a->sock, json_loads(a->req, 0, NULL), &r, 3000))
		return -2;
	err = json_string_value(json_object_get(r, "error"));
	rc = json_is_true(json_object_get(r, "ok")) ? 0 : err && strstr(err, "runs in tier") ? -1 : -2;
	json_decref(r);
	return rc;
}

TEST(life_tiered_caller_cannot_change_enforcement)
{
	static const char *const mutate[] = {
		"{\"cmd\":\"tag\",\"cgroup\":\"/fresh\",\"tier\":\"staging\"}",
		"{\"cmd\":\"untag\",\"cgroup\":\"/fresh\"}",
		"{\"cmd\":\"tag\",\"cgroup\":\"/agents/staging/x\",\"tier\":\"prod\",\"force\":true}",
		"{\"cmd\":\"uninstall\"}",
	};
	char out[4096];
	struct ask a;
	struct fx f;
	size_t i;

	if (!std_start(&f))
		goto out;
	a.sock = f.sock;
	fx_mkcg(&f, "fresh");
	fx_mkcg(&f, "agents/staging/x");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /fresh prod"), 0, "an untagged root caller may tag");
	for (i = 0; i < sizeof(mutate) / sizeof(mutate[0]); i++) {
		a.req = mutate[i];
		ASSERT_EQ(fx_do(&f, "agents/staging", ask_daemon, &a, NULL), 1, mutate[i]);
	}
	a.req = "{\"cmd\":\"status\"}";
	ASSERT_EQ(fx_do(&f, "agents/staging", ask_daemon, &a, NULL), 0, "a tiered caller may read status");
	a.req = "{\"cmd\":\"tiers\"}";
	ASSERT_EQ(fx_do(&f, "agents/staging/x", ask_daemon, &a, NULL), 0, "and tiers");
	ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.30.0.1", P_ANY, NULL), EPERM,
		  "the runtime tag is still prod");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "and the daemon still enforces");
	fx_sh(out, sizeof(out), "grep -c '\"kind\":\"tamper\".*\"op\":\"control\"' %s/events.jsonl", f.log_dir);
	ASSERT_EQ(atoi(out), 4, "every refusal is a tamper record");
	a.req = "{\"cmd\":\"untag\",\"cgroup\":\"/fresh\"}";
	ASSERT_EQ(fx_do(&f, "untagged", ask_daemon, &a, NULL), 0, "an untagged caller may untag");
	log_matches_schema(f.log_dir);
out:
	fx_cleanup(&f);
}

/*
 * A daemon started in a cgroup namespace of its own (a container's, as
 * cgroup v2 gives a pod that is not privileged, with the host's cgroup2
 * mount) reads every caller's /proc/PID/cgroup relative to it: it finds
 * its namespace's root in the mount, and a tiered caller is still refused.
 */
TEST(life_private_cgroupns_callers_read_right)
{
	char policy[4096], out[4096];
	struct ask a;
	struct fx f;

	if (!can_run() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture"))
		return;
	std_policy(policy, sizeof(policy));
	fx_write_policy(&f, policy);
	fx_mkcg(&f, "agent");
	fx_mkcg(&f, "fresh");
	f.own_cgroupns = "agent";
	if (!ASSERT_OK(fx_start(&f, NULL), "tierwalld starts in a cgroup namespace of its own"))
		goto out;
	fx_sh(out, sizeof(out), "cat %s", f.daemon_out);
	ASSERT_CONTAINS(out, "in a cgroup namespace of its own, rooted at", "it says so");
	a.sock = f.sock;
	a.req = "{\"cmd\":\"tag\",\"cgroup\":\"/fresh\",\"tier\":\"staging\"}";
	ASSERT_EQ(fx_do(&f, "agents/staging", ask_daemon, &a, NULL), 1, "a tiered caller may not tag");
	fx_sh(out, sizeof(out), "grep '\"kind\":\"tamper\".*\"op\":\"control\"' %s/events.jsonl", f.log_dir);
	ASSERT_CONTAINS(out, "/agents/staging\",\"tagged_cgroup\"", "the refusal names the caller's cgroup");
	ASSERT_EQ(fx_do(&f, "untagged", ask_daemon, &a, NULL), 0, "an untagged caller may tag");
	ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "and the tag enforces");
out:
	fx_cleanup(&f);
}

/*
 * The same request, but the process that connected exits (and is reaped)
 * before its child, which kept the socket, sends it: SO_PEERCRED still names
 * the dead pid. Like ask_daemon: 0 if accepted, -1 if refused, -2 else.
 */
static int ask_after_connector_exits(void *arg)
{
	const struct ask *a = arg;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	int fd, st;
	ssize_t n;
	pid_t p;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", a->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	p = fork();
	if (!p)
		_exit(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? 1 : 0);
	if (p < 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st))
		return -2;
	snprintf(buf, sizeof(buf), "%s\n", a->req);
	if (send(fd, buf, strlen(buf), MSG_NOSIGNAL) != (ssize_t)strlen(buf))
		return -2;
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return -2;
	buf[n] = '\0';
	return strstr(buf, "\"ok\":true") ? 0 : strstr(buf, "refused") ? -1 : -2;
}

TEST(life_tiered_caller_refused_when_connector_exits)
{
	static const char *const mutate[] = {
		"{\"cmd\":\"tag\",\"cgroup\":\"/agents/staging/x\",\"tier\":\"prod\",\"force\":true}",
		"{\"cmd\":\"untag\",\"cgroup\":\"/fresh\"}",
		"{\"cmd\":\"attest\",\"tier\":\"prod\",\"items\":[]}",
		"{\"cmd\":\"uninstall\"}",
	};
	char out[4096];
	struct ask a;
	struct fx f;
	size_t i;

	if (!std_start(&f))
		goto out;
	a.sock = f.sock;
	fx_mkcg(&f, "fresh");
	fx_mkcg(&f, "agents/staging/x");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag /fresh prod"), 0, "an untagged root caller may tag");
	for (i = 0; i < sizeof(mutate) / sizeof(mutate[0]); i++) {
		a.req = mutate[i];
		ASSERT_EQ(fx_do(&f, "agents/staging", ask_after_connector_exits, &a, NULL), 1, mutate[i]);
	}
	a.req = "{\"cmd\":\"status\"}";
	ASSERT_EQ(fx_do(&f, "agents/staging", ask_after_connector_exits, &a, NULL), 0,
		  "reading still works the same way");
	ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.30.0.1", P_ANY, NULL), EPERM,
		  "the runtime tag is still prod");
	ASSERT_EQ(fx_net(&f, "agents/staging/x", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "staging/x is still staging and the daemon still enforces");
	a.req = "{\"cmd\":\"untag\",\"cgroup\":\"/fresh\"}";
	ASSERT_EQ(fx_do(&f, "untagged", ask_after_connector_exits, &a, NULL), 1,
		  "nor from an untagged caller: who connected is unknown");
	ASSERT_EQ(fx_do(&f, "untagged", ask_daemon, &a, NULL), 0, "an untagged caller that stays may untag");
out:
	fx_cleanup(&f);
}

/* A client that sends one byte every 100 ms, for at most secs seconds. */
static pid_t trickler(const char *sock, int secs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pid_t p = fork();
	int fd, i;

	if (p)
		return p;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(1);
	for (i = 0; i < secs * 10; i++) {
		if (send(fd, i ? " " : "{", 1, MSG_NOSIGNAL) != 1)
			_exit(0);	/* dropped by the daemon: fine */
		usleep(100 * 1000);
	}
	_exit(0);
}

TEST(life_trickling_client_stalls_nothing)
{
	struct fx f;
	pid_t t[3] = {}, pid;
	json_t *r;
	int i, ok = 0;

	if (!std_start(&f))
		goto out;
	for (i = 0; i < 3; i++)
		t[i] = trickler(f.sock, 6);
	usleep(300 * 1000);
	for (i = 0; i < 5; i++) {
		r = NULL;
		ok += !tw_ctl_call(f.sock, json_pack("{s:s}", "cmd", "status"), &r, 1000);
		json_decref(r);
		usleep(200 * 1000);
	}
	ASSERT_EQ(ok, 5, "status answers within 1 s every time while clients trickle");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, &pid), EPERM,
		  "a denial meanwhile");
	for (i = 0; i < 20 && !fx_count_events(&f, "connect", pid); i++)
		usleep(100 * 1000);
	ASSERT_EQ(fx_count_events(&f, "connect", pid), 1, "reaches the log within 2 s while clients trickle");
out:
	for (i = 0; i < 3; i++)
		if (t[i] > 0) {
			kill(t[i], SIGKILL);
			waitpid(t[i], NULL, 0);
		}
	fx_cleanup(&f);
}
