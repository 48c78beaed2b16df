// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's conventions, with the real binaries against a real daemon:
 * options anywhere before "--", the exit codes a CI step reads, events'
 * filters and output, one time and cgroup form (the man pages: test_clidoc.c).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>
#include "ctl.h"
#include "fixture.h"
#include "net.h"
#include "std.h"
#include "test.h"
#include "util.h"

/* `tierwall ARGS` against the fixture's daemon; its exit status, stdout (and stderr unless quiet) in out. */
#define CLI(f, out, quiet, fmt, ...)							\
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s " fmt "%s", tw_build_dir, (f)->sock,	\
	      ##__VA_ARGS__, (quiet) ? " 2>/dev/null" : "")

static const char *verdict_of(const char *out, char *buf, size_t len)
{
	json_t *o = json_loads(out, 0, NULL);

	snprintf(buf, len, "%s", json_string_value(json_object_get(o, "verdict")) ?: "(none)");
	json_decref(o);
	return buf;
}

TEST(cli_options_after_operands)
{
	char out[16384], v[32];
	struct fx f;

	if (!std_start(&f))
		goto out;
	ASSERT_EQ(CLI(&f, out, true, "explain --json --cgroup /agents/staging 127.20.0.1:80"), 0,
		  "explain, options first");
	ASSERT_STREQ(verdict_of(out, v, sizeof(v)), "deny", "options first: the verdict");
	ASSERT_EQ(CLI(&f, out, true, "explain --cgroup /agents/staging 127.20.0.1:80 --json"), 0,
		  "explain, --json after the target");
	ASSERT_STREQ(verdict_of(out, v, sizeof(v)), "deny", "--json after the target: the same verdict");
	ASSERT_EQ(CLI(&f, out, true, "explain 127.20.0.1:80 --cgroup /agents/staging --json"), 0,
		  "explain, every option after the target");
	ASSERT_STREQ(verdict_of(out, v, sizeof(v)), "deny", "the same verdict");
	/* "--" ends the options: what follows is an operand even if it looks like one. */
	ASSERT_EQ(CLI(&f, out, false, "explain --cgroup /agents/staging -- --json"), 2,
		  "an option after -- is an operand");
	ASSERT_CONTAINS(out, "invalid target \"--json\"", "and is read as the target");
	ASSERT_EQ(CLI(&f, out, false, "which --cgroup /agents/staging --json"), 0, "which, --json last");
	ASSERT_CONTAINS(out, "\"tier\": \"staging\"", "which answers in JSON");
	ASSERT_EQ(CLI(&f, out, false, "tiers --json"), 0, "tiers --json");
	fx_mkcg(&f, "fresh");
	ASSERT_EQ(CLI(&f, out, false, "tag /fresh staging --json"), 0, "tag, --json after the operands");
	ASSERT_CONTAINS(out, "\"tier\": \"staging\"", "tag answers in JSON");
	ASSERT_EQ(CLI(&f, out, false, "tag /fresh prod"), 1, "another tier without --force");
	ASSERT_EQ(CLI(&f, out, false, "tag /fresh prod --force"), 0, "--force after the operands");
	ASSERT_CONTAINS(out, "(was staging)", "overrode the tier");
	ASSERT_EQ(CLI(&f, out, false, "untag /fresh --json"), 0, "untag, --json last");
	ASSERT_CONTAINS(out, "\"ok\": true", "untag answers in JSON");
	ASSERT_EQ(CLI(&f, out, false, "events --log-dir %s --kind daemon --json", f.log_dir), 0,
		  "events, options only");
	ASSERT_CONTAINS(out, "\"event\":\"policy_loaded\"", "events read the log");
	/* run: options stop at the command, whose own options are its own. */
	ASSERT_EQ(CLI(&f, out, false, "run --tier staging echo --json"), 0, "run CMD --json");
	ASSERT_CONTAINS(out, "--json", "the command got --json");
out:
	fx_cleanup(&f);
}

/* The standard policy with prod's 127.20.0.0/16 given up: staging's denials there would be allowed. */
static void draft_policy(char *buf, size_t len)
{
	static const char cut[] = "\"127.20.0.0/16\", ";
	char *p;

	std_policy(buf, len);
	p = strstr(buf, cut);
	if (p)
		memmove(p, p + strlen(cut), strlen(p + strlen(cut)) + 1);
}

TEST(cli_exit_codes_for_ci)
{
	char out[16384], draft[4096], path[PATH_MAX + 16];
	struct fx f;
	FILE *d;

	if (!std_start(&f))
		goto out;
	ASSERT_EQ(CLI(&f, out, false, "explain --exit-code --cgroup /agents/staging 127.20.0.1:80"), 3,
		  "explain --exit-code: deny is 3");
	ASSERT_CONTAINS(out, "verdict  deny", "and the answer is printed");
	ASSERT_EQ(CLI(&f, out, false, "explain --cgroup /agents/staging 127.20.0.1:80"), 0,
		  "without --exit-code: 0");
	ASSERT_EQ(CLI(&f, out, false, "explain --exit-code --cgroup /agents/staging 127.30.0.1:80"), 0,
		  "explain --exit-code: allow is 0");
	ASSERT_EQ(CLI(&f, out, false, "explain --exit-code --cgroup /agents/dev 127.20.0.1:80"), 0,
		  "explain --exit-code: audit is 0");
	ASSERT_EQ(CLI(&f, out, false, "explain --cgroup /agents/staging 127.20.0.1:99999"), 2,
		  "a bad target is a bad argument");
	ASSERT_CONTAINS(out, "invalid target \"127.20.0.1:99999\"", "and says so");

	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "a denial to replay");
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 1), 1, "logged");
	snprintf(path, sizeof(path), "%s/draft.json", f.tmp);
	draft_policy(draft, sizeof(draft));
	d = fopen(path, "w");
	if (!ASSERT_TRUE(d && fputs(draft, d) >= 0 && !fclose(d), "draft written"))
		goto out;
	ASSERT_EQ(CLI(&f, out, false, "simulate --exit-code %s", f.policy), 0,
		  "simulate --exit-code: the same policy changes nothing: 0");
	ASSERT_EQ(CLI(&f, out, false, "simulate %s --exit-code", path), 3,
		  "simulate --exit-code: a change is 3");
	ASSERT_CONTAINS(out, "newly allowed", "and the change is printed");
	ASSERT_EQ(CLI(&f, out, false, "simulate %s", path), 0, "without --exit-code: 0");

	ASSERT_EQ(CLI(&f, out, false, "run --tier qa -- true"), 2, "run --tier UNKNOWN: bad argument");
	ASSERT_CONTAINS(out, "unknown tier \"qa\": the policy defines dev, staging, prod",
			"names the policy's tiers");
	ASSERT_EQ(CLI(&f, out, false, "run --tier staging --audit -- true"), 0,
		  "run --audit with no attempt: the command's status");
	ASSERT_EQ(CLI(&f, out, false, "nonsense"), 2, "an unknown command: 2");
	ASSERT_EQ(CLI(&f, out, false, "events --bogus"), 2, "an unknown option: 2");
	ASSERT_EQ(CLI(&f, out, false, "verify-log %s", f.log_dir), 0, "an intact log: 0");
	fx_stop(&f);
	fx_sh(NULL, 0, "sed -i '2s/\"kind\"/\"KIND\"/' %s/events.jsonl", f.log_dir);
	ASSERT_EQ(CLI(&f, out, false, "verify-log %s", f.log_dir), 3, "tampered: 3");
	ASSERT_CONTAINS(out, "TAMPERED", "says so");
	ASSERT_EQ(CLI(&f, out, true, "verify-log --json %s", f.log_dir), 3, "tampered, --json: 3");
	ASSERT_CONTAINS(out, "\"intact\": false", "the JSON says so");
	ASSERT_EQ(CLI(&f, out, false, "verify-log %s/nowhere", f.tmp), 1, "no log to check: 1");
out:
	fx_cleanup(&f);
}

/* verify-log --verify-key: the log's key 0, another key 4, a changed sealed record 3. */
TEST(cli_verify_log_key_mismatch_is_4)
{
	char out[16384], key[PATH_MAX + 16], vkey[PATH_MAX + 16], other[PATH_MAX + 16], okey[PATH_MAX + 16];
	const char *opts[] = { "--seal-key", key, NULL };
	char policy[4096];
	struct fx f;

	if (!can_run() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture"))
		return;
	std_policy(policy, sizeof(policy));
	fx_write_policy(&f, policy);
	snprintf(key, sizeof(key), "%s/seal.key", f.tmp);
	snprintf(vkey, sizeof(vkey), "%s/verify.key", f.tmp);
	snprintf(other, sizeof(other), "%s/other-seal.key", f.tmp);
	snprintf(okey, sizeof(okey), "%s/other-verify.key", f.tmp);
	if (!ASSERT_EQ(CLI(&f, out, false, "keygen --seal-key %s --verify-key %s", key, vkey), 0, "keygen") ||
	    !ASSERT_EQ(CLI(&f, out, false, "keygen --verify-key %s --seal-key %s", okey, other), 0,
		       "another keygen") ||
	    !fx_started(&f, opts))
		goto out;
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "a denial");
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 1), 1, "logged");
	fx_stop(&f);	/* a stop seals the epoch */
	ASSERT_EQ(CLI(&f, out, false, "verify-log --verify-key %s %s", vkey, f.log_dir), 0, "the log's key: 0");
	ASSERT_CONTAINS(out, "SEALED", "sealed");
	ASSERT_EQ(CLI(&f, out, false, "verify-log %s --verify-key %s", f.log_dir, okey), 4, "another key: 4");
	ASSERT_CONTAINS(out, "another key", "says so");
	ASSERT_EQ(CLI(&f, out, true, "verify-log --json --verify-key %s %s", okey, f.log_dir), 4,
		  "another key, --json: 4");
	ASSERT_CONTAINS(out, "\"key_mismatch\": true", "the JSON says so");
	fx_sh(NULL, 0, "sed -i '2s/\"kind\"/\"KIND\"/' %s/events.jsonl", f.log_dir);
	ASSERT_EQ(CLI(&f, out, false, "verify-log --verify-key %s %s", vkey, f.log_dir), 3,
		  "a changed record, the right key: 3");
out:
	fx_cleanup(&f);
}

/* Lines of out that contain s. */
static int count_lines(const char *out, const char *s)
{
	const char *p = out;
	int n = 0;

	for (; (p = strstr(p, s)); p += strlen(s))
		n++;
	return n;
}

/* The seq of the first JSON line of out, 0 if none. */
static long long first_seq(const char *out)
{
	const char *p = strstr(out, "\"seq\":");

	return p ? atoll(p + 6) : 0;
}

TEST(cli_events_filters_last_and_output)
{
	char out[65536], addr[32];
	json_t *rep = NULL;
	struct fx f;
	int i;

	if (!std_start(&f))
		goto out;
	fx_mkcg(&f, "pods/web");
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "cmd", "tag",
		  "cgroup", "/pods/web", "tier", "prod", "source", "pod", "meta", "pod", "web",
		  "namespace", "shop"), &rep, 5000), "a pod's tag");
	ASSERT_TRUE(json_is_true(json_object_get(rep, "ok")), "accepted");
	for (i = 1; i <= 12; i++) {
		snprintf(addr, sizeof(addr), "127.20.0.%d", i);
		ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, addr, P_ANY, NULL), EPERM, addr);
	}
	ASSERT_EQ(fx_net(&f, "agents/dev", TW_OP_UDP_SENDTO, "127.20.0.1", P_ANY, NULL), 0, "an audit");
	ASSERT_EQ(fx_net(&f, "pods/web", TW_OP_TCP_CONNECT, "127.30.0.1", P_ANY, NULL), EPERM,
		  "the pod's denial");
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 13), 13, "13 denials logged");
	ASSERT_EQ(fx_wait_events(&f, "sendmsg", 0, 1), 1, "the audit logged");

	/* Comma-separated and repeated values add up; each one checked. */
	CLI(&f, out, true, "events --kind connect,sendmsg");
	ASSERT_EQ(count_lines(out, "\"verdict\""), 14, "--kind connect,sendmsg");
	CLI(&f, out, true, "events --kind connect --kind sendmsg");
	ASSERT_EQ(count_lines(out, "\"verdict\""), 14, "--kind connect --kind sendmsg");
	CLI(&f, out, true, "events --kind sendmsg");
	ASSERT_EQ(count_lines(out, "\"verdict\""), 1, "--kind sendmsg");
	CLI(&f, out, true, "events --verdict audit,deny --tier dev,prod");
	ASSERT_EQ(count_lines(out, "\"verdict\""), 2, "--verdict audit,deny --tier dev,prod");
	ASSERT_EQ(CLI(&f, out, false, "events --kind connect,conect"), 2, "a typo in a list");
	ASSERT_CONTAINS(out, "unknown kind \"conect\"", "is named");
	ASSERT_EQ(CLI(&f, out, false, "events --kind connect,"), 2, "an empty value");
	/* --pod, --namespace: the pod's own decision. */
	CLI(&f, out, true, "events --pod web");
	ASSERT_EQ(count_lines(out, "\"verdict\""), 1, "--pod web");
	ASSERT_CONTAINS(out, "127.30.0.1", "the pod's record");
	CLI(&f, out, true, "events --namespace shop --kind connect");
	ASSERT_EQ(count_lines(out, "\"verdict\""), 1, "--namespace shop");
	CLI(&f, out, true, "events --namespace other");
	ASSERT_EQ(count_lines(out, "\"seq\""), 0, "--namespace other: none");
	/* -n N: the last N that match. */
	CLI(&f, out, true, "events -n 3 --kind connect");
	ASSERT_EQ(count_lines(out, "\"seq\""), 3, "-n 3");
	ASSERT_CONTAINS(out, "127.30.0.1", "the newest is among them");
	ASSERT_TRUE(!strstr(out, "\"127.20.0.1\""), "the oldest is not");
	CLI(&f, out, true, "events --last all --kind connect");
	ASSERT_EQ(count_lines(out, "\"seq\""), 13, "--last all");
	ASSERT_EQ(CLI(&f, out, false, "events -n many"), 2, "-n takes a number or all");
	/* --output short and table; a daemon record's WHAT names the cgroup and the tier granted. */
	CLI(&f, out, true, "events --output short --kind connect -n 1");
	ASSERT_CONTAINS(out, "deny prod->staging", "short: verdict, tier->target");
	ASSERT_CONTAINS(out, "/pods/web connect 127.30.0.1:", "short: cgroup as in the policy, what");
	CLI(&f, out, true, "events --output table --kind daemon");
	ASSERT_CONTAINS(out, "tag /pods/web as prod [pod]", "table: the tag's WHAT");
	ASSERT_TRUE(!strstr(out, "\033["), "no colour when not a terminal");
	ASSERT_EQ(CLI(&f, out, false, "events --output yaml"), 2, "an unknown output");
	/* Colour on a terminal only, and not with NO_COLOR. */
	fx_sh(out, sizeof(out), "script -qec '%s/tierwall --socket %s events --output short --kind connect "
	      "-n 1' /dev/null", tw_build_dir, f.sock);
	ASSERT_CONTAINS(out, "\033[1;31mdeny\033[0m", "a denial in red on a terminal");
	fx_sh(out, sizeof(out), "NO_COLOR=1 script -qec '%s/tierwall --socket %s events --output short "
	      "--kind connect -n 1' /dev/null", tw_build_dir, f.sock);
	ASSERT_CONTAINS(out, "deny prod", "NO_COLOR: the row");
	ASSERT_TRUE(!strstr(out, "\033["), "NO_COLOR: no colour");
	fx_sh(out, sizeof(out), "script -qec '%s/tierwall --socket %s events --output json -n 1' /dev/null",
	      tw_build_dir, f.sock);
	ASSERT_TRUE(!strstr(out, "\033["), "JSON: never colour");
	json_decref(rep);
out:
	fx_cleanup(&f);
}

/* -f starts from the last 10 (like journalctl -f), then follows. */
TEST(cli_events_follow_starts_from_the_last_10)
{
	char out[65536], file[PATH_MAX + 16], addr[32];
	long long total;
	pid_t pid = 0;
	struct fx f;
	int i;

	if (!std_start(&f))
		goto out;
	for (i = 1; i <= 12; i++) {
		snprintf(addr, sizeof(addr), "127.20.0.%d", i);
		ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, addr, P_ANY, NULL), EPERM, addr);
	}
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 12), 12, "12 denials logged");
	fx_sh(out, sizeof(out), "wc -l < %s/events.jsonl", f.log_dir);
	total = atoll(out);
	snprintf(file, sizeof(file), "%s/follow.out", f.tmp);
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s events -f > %s 2>&1 & echo $!", tw_build_dir,
	      f.sock, file);
	pid = atoi(out);
	/* The history is shown before following: wait for its 10 lines (bounded). */
	for (i = 0; i < 100; i++) {
		fx_sh(out, sizeof(out), "wc -l < %s", file);
		if (atoi(out) >= 10)
			break;
		usleep(50 * 1000);
	}
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.99", P_ANY, NULL), EPERM,
		  "a new denial");
	for (i = 0; i < 100; i++) {
		fx_sh(out, sizeof(out), "cat %s", file);
		if (strstr(out, "127.20.0.99"))
			break;
		usleep(50 * 1000);
	}
	ASSERT_CONTAINS(out, "127.20.0.99", "followed: the new denial");
	ASSERT_EQ(count_lines(out, "\"seq\""), 11, "the last 10 of the history, then the new one");
	ASSERT_EQ(first_seq(out), total - 9, "starting 10 records from the end");
out:
	if (pid > 0)
		kill(pid, SIGTERM);
	fx_cleanup(&f);
}

/* 2026-12-07T17:10:00Z: the form every JSON answer gives a time in. */
static bool rfc3339(const char *s)
{
	int y, mo, d, h, mi, se;
	char z;

	return s && strlen(s) == 20 &&
	       sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &se, &z) == 7 && z == 'Z';
}

TEST(cli_json_times_and_cgroups_in_one_form)
{
	char out[16384], root[PATH_MAX], want[64], probe[PATH_MAX + 16];
	json_t *o = NULL, *tag;
	struct fx f;

	if (!std_start(&f))
		goto out;
	fx_cg_display(&f, "services/prod", root, sizeof(root));	/* named from the mount */
	ASSERT_EQ(CLI(&f, out, true, "which --cgroup /agents/staging --json"), 0, "which --json");
	o = json_loads(out, 0, NULL);
	tag = json_object_get(o, "tag");
	ASSERT_TRUE(json_integer_value(json_object_get(o, "since")) > 0, "since: epoch seconds, as before");
	ASSERT_TRUE(rfc3339(json_string_value(json_object_get(o, "since_time"))), "since_time: RFC 3339 UTC");
	ASSERT_TRUE(rfc3339(json_string_value(json_object_get(tag, "since_time"))), "and the tag's");
	ASSERT_STREQ(json_string_value(json_object_get(tag, "cgroup")), "/agents/staging",
		     "the tag's cgroup as the policy names it");
	ASSERT_STREQ(json_string_value(json_object_get(o, "cgroup")), "/agents/staging", "the caller's too");
	json_decref(o);
	ASSERT_EQ(CLI(&f, out, true, "explain --cgroup /agents/staging 127.20.0.1 --json"), 0, "explain");
	o = json_loads(out, 0, NULL);
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(o, "tag"), "cgroup")),
		     "/agents/staging", "explain: the tag's cgroup as the policy names it");
	json_decref(o);
	ASSERT_EQ(CLI(&f, out, true, "tiers --json"), 0, "tiers --json");
	snprintf(probe, sizeof(probe), "\"cgroup\": \"%s\"", root);
	ASSERT_TRUE(!strstr(out, probe), "tiers: no cgroup named from the mount");
	ASSERT_CONTAINS(out, "\"cgroup\": \"/services/prod\"", "tiers: cgroups as in the policy");
	ASSERT_CONTAINS(out, "\"since_time\": \"", "tiers: times in RFC 3339");
	ASSERT_EQ(CLI(&f, out, true, "status --json"), 0, "status --json");
	o = json_loads(out, 0, NULL);
	ASSERT_TRUE(rfc3339(json_string_value(json_object_get(json_object_get(o, "reload"),
								 "loaded_at_time"))),
		    "status: loaded_at_time beside loaded_at");
	json_decref(o);
	o = NULL;
	ASSERT_EQ(CLI(&f, out, false, "run --json --tier staging -- true"), 0, "run --json");
	snprintf(want, sizeof(want), "\"cgroup\":\"/tierwall-runs/run-");
	ASSERT_CONTAINS(out, want, "run: its cgroup as the policy would name it");
out:
	json_decref(o);
	fx_cleanup(&f);
}

/* `tag /` tiers the daemon's whole root: only with --whole-root, and it does what it says. */
TEST(cli_tag_whole_root_needs_its_own_option)
{
	char out[8192];
	struct fx f;
	int l = -1;

	if (!std_start(&f))
		goto out;
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_EQ(CLI(&f, out, false, "tag / staging"), 2, "tag / without --whole-root: bad argument");
	ASSERT_CONTAINS(out, "the daemon's whole cgroup root", "says what it would do");
	ASSERT_CONTAINS(out, "--whole-root", "and how to mean it");
	ASSERT_EQ(CLI(&f, out, false, "tag --force %s/ staging", f.root), 2, "nor --force, nor its absolute path");
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0,
		  "untagged: not refused, nothing was tagged");
	ASSERT_EQ(CLI(&f, out, false, "tag --whole-root / staging"), 0, "tag --whole-root /");
	ASSERT_CONTAINS(out, "tagged the whole cgroup root as staging", "says what it did");
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "a cgroup without a tag of its own is now staging: refused prod's address");
	ASSERT_EQ(CLI(&f, out, false, "untag /"), 0, "untag /");
	ASSERT_CONTAINS(out, "untagged /\n", "named as in the policy");
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0,
		  "untagged again");
out:
	if (l >= 0)
		close(l);
	fx_cleanup(&f);
}
