// SPDX-License-Identifier: GPL-2.0
/*
 * Rough edges found by using tierwall as a new user would: cgroups named
 * the same way everywhere, filters that cannot match are errors, the event
 * table, following across a restart, JSON syntax errors in words, check's
 * warnings, --version and --json everywhere, responders reading without root.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "fixture.h"
#include "net.h"
#include "policy.h"
#include "std.h"
#include "test.h"

static int cli(struct fx *f, char *out, size_t len, const char *args)
{
	return fx_sh(out, len, "%s/tierwall --socket %s %s 2>&1", tw_build_dir, f->sock, args);
}

/* Lines of out that contain both a and b. */
static int lines_with(const char *out, const char *a, const char *b)
{
	const char *l = out;
	int n = 0;

	while (l && *l) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[4096];

		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		n += strstr(line, a) && (!b || strstr(line, b));
		l = nl ? nl + 1 : NULL;
	}
	return n;
}

TEST(ask_events_cgroups_as_in_the_policy_and_table)
{
	char out[65536], pa[32], pb[32], cmd[256];
	pid_t a, b;
	struct fx f;

	if (!std_start(&f))
		goto out;
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.3", P_ANY, &a), EPERM, "staging denied");
	ASSERT_EQ(fx_net(&f, "services/prod", TW_OP_TCP_CONNECT, "127.30.0.3", P_ANY, &b), EPERM, "prod denied");
	ASSERT_TRUE(fx_wait_events(&f, "connect", 0, 2) >= 2, "both recorded");
	snprintf(pa, sizeof(pa), "\"pid\":%d,", a);
	snprintf(pb, sizeof(pb), "\"pid\":%d,", b);
	/* The policy's form, with and without the leading slash, and everything below it. */
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --cgroup /agents/staging"), 0, "events --cgroup");
	ASSERT_EQ(lines_with(out, pa, NULL), 1, "the staging record, named as in the policy");
	ASSERT_EQ(lines_with(out, pb, NULL), 0, "not prod's");
	cli(&f, out, sizeof(out), "events --cgroup agents");
	ASSERT_EQ(lines_with(out, pa, NULL), 1, "a parent cgroup matches what is below it");
	cli(&f, out, sizeof(out), "events --cgroup /services/prod");
	ASSERT_EQ(lines_with(out, pb, NULL), 1, "prod's record");
	/* tiers prints them the same way. */
	cli(&f, out, sizeof(out), "tiers");
	ASSERT_CONTAINS(out, "\n/agents/staging ", "tiers: as in the policy");
	ASSERT_TRUE(!strstr(out, "/tw-test-"), "tiers: not from the cgroup2 mount");
	/* Piped: JSON lines, unless --table asks for the table (header, cgroup column). */
	cli(&f, out, sizeof(out), "events --kind connect");
	ASSERT_TRUE(out[0] == '{', "piped output is JSON lines");
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --table --kind connect"), 0, "--table");
	ASSERT_TRUE(!strncmp(out, "TIME ", 5), "the table starts with its header");
	ASSERT_CONTAINS(out, " CGROUP ", "a cgroup column");
	snprintf(cmd, sizeof(cmd), " %d ", a);
	ASSERT_EQ(lines_with(out, cmd, "/agents/staging "), 1, "the row names the cgroup as in the policy");
	/* verify-log --json. */
	snprintf(cmd, sizeof(cmd), "--json verify-log %s", f.log_dir);
	ASSERT_EQ(cli(&f, out, sizeof(out), cmd), 0, "verify-log --json");
	ASSERT_CONTAINS(out, "\"intact\": true", "intact, as JSON");
out:
	fx_cleanup(&f);
}

TEST(ask_events_filter_values_checked)
{
	char out[65536];
	struct fx f;

	if (!std_start(&f))
		goto out;
	ASSERT_NE(fx_net(&f, "agents/dev", TW_OP_TCP_CONNECT, "127.20.0.3", P_ANY, NULL), EPERM, "an audit");
	ASSERT_TRUE(fx_wait_events(&f, "connect", 0, 1) >= 1, "recorded");
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --kind connekt"), 2, "unknown kind");
	ASSERT_CONTAINS(out, "unknown kind \"connekt\"", "says which");
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --verdict denied"), 2, "unknown verdict");
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --tier prd"), 2, "unknown tier");
	ASSERT_CONTAINS(out, "the policy defines", "lists the tiers");
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --since 1h --until 2h"), 2, "--until before --since");
	/* Positive controls: known values are fine, even with nothing to show. */
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --tier prod --kind file --verdict allow"), 0, "known values");
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --tier dev --verdict audit"), 0, "a tier of the policy");
	ASSERT_EQ(lines_with(out, "\"verdict\":\"audit\"", NULL), 1, "its record");
	/* A tier an earlier policy had is known from the records that name it. */
	fx_sh(NULL, 0, "sed -i 's/\"dev\": {\"mode\": \"audit\"}, //; "
	      "s/{\"path\": \"\\/agents\\/dev\", \"tier\": \"dev\"},//' %s", f.policy);
	ASSERT_EQ(cli(&f, out, sizeof(out), "reload"), 0, "reload without dev");
	ASSERT_EQ(cli(&f, out, sizeof(out), "events --tier dev"), 0, "dev, known from its records");
out:
	fx_cleanup(&f);
}

/* `tierwall events -f ARGS` in the background, its output into file; its pid. */
static pid_t follower(struct fx *f, const char *args, const char *file)
{
	char cmd[PATH_MAX * 3];
	pid_t p;

	snprintf(cmd, sizeof(cmd), "exec %s/tierwall --socket %s events -f %s > %s 2>&1",
		 tw_build_dir, f->sock, args, file);
	fflush(stdout);
	p = fork();
	if (!p) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return p;
}

static bool file_has(const char *file, const char *what)
{
	char out[65536];

	return FX_UNTIL(!fx_sh(out, sizeof(out), "grep -c -- '%s' %s", what, file) && atoi(out) > 0,
			60000);
}

static bool exited(pid_t p, int *st)
{
	return FX_UNTIL(waitpid(p, st, WNOHANG) == p, 60000);
}

TEST(ask_events_follow_retry_survives_restart)
{
	char once[PATH_MAX + 16], keep[PATH_MAX + 16], want[64];
	pid_t p1 = 0, p2 = 0, a, b;
	struct fx f;
	int st = 0;

	if (!std_start(&f))
		goto out;
	snprintf(once, sizeof(once), "%s/once.out", f.tmp);
	snprintf(keep, sizeof(keep), "%s/keep.out", f.tmp);
	p1 = follower(&f, "--kind connect", once);
	p2 = follower(&f, "--retry --kind connect", keep);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.3", P_ANY, &a), EPERM, "denied");
	snprintf(want, sizeof(want), "\"pid\":%d,", a);
	ASSERT_TRUE(file_has(once, want) && file_has(keep, want), "both followers see it");
	ASSERT_TRUE(fx_stop(&f) == 0 && !fx_start(&f, NULL), "the daemon restarts");
	/* Without --retry a follower ends when the daemon goes: the restart really cut the stream. */
	if (ASSERT_TRUE(exited(p1, &st), "the plain follower ended"))
		p1 = 0;
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "with exit 1");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.4", P_ANY, &b), EPERM, "denied again");
	snprintf(want, sizeof(want), "\"pid\":%d,", b);
	ASSERT_TRUE(file_has(keep, want), "--retry sees records after the restart");
	ASSERT_EQ(waitpid(p2, &st, WNOHANG), 0, "and is still following");
	snprintf(want, sizeof(want), "\"pid\":%d,", a);
	ASSERT_TRUE(!fx_sh(NULL, 0, "test $(grep -c -- '%s' %s) = 1", want, keep), "no record shown twice");
out:
	if (p1 > 0) {
		kill(p1, SIGTERM);
		waitpid(p1, NULL, 0);
	}
	if (p2 > 0) {
		kill(p2, SIGTERM);
		waitpid(p2, NULL, 0);
	}
	fx_cleanup(&f);
}

static const char *parse_error(const char *text, size_t len, char *buf, size_t n)
{
	struct tw_diags d = {};
	struct tw_policy *p = NULL;

	buf[0] = '\0';
	if (tw_policy_parse("p.json", text, len, &p, &d) && d.count)
		snprintf(buf, n, "%s", d.msgs[0]);
	tw_policy_free(p);
	tw_diags_free(&d);
	return buf;
}

TEST(unit_policy_json_syntax_errors_named)
{
	static const char bom[] = "\xef\xbb\xbf{ \"version\": 1, \"tiers\": { \"prod\": {} } }";
	const char *t;
	char m[1024];

	t = "{ \"version\": 1, // the first\n \"tiers\": { \"prod\": {} } }";
	ASSERT_CONTAINS(parse_error(t, strlen(t), m, sizeof(m)), "JSON has no comments", "a // comment");
	ASSERT_CONTAINS(m, "p.json:1:", "located");
	t = "{ \"version\": 1, /* x */ \"tiers\": { \"prod\": {} } }";
	ASSERT_CONTAINS(parse_error(t, strlen(t), m, sizeof(m)), "JSON has no comments", "a /* */ comment");
	t = "{ \"version\": 1, \"tiers\": { \"prod\": {}, } }";
	ASSERT_CONTAINS(parse_error(t, strlen(t), m, sizeof(m)), "trailing comma before '}'", "a trailing comma");
	t = "{ \"version\": 1, \"tiers\": { \"prod\": {} },\n \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"10.0.0.0/8\",]} ] }";
	ASSERT_CONTAINS(parse_error(t, strlen(t), m, sizeof(m)), "trailing comma before ']'", "in an array");
	ASSERT_CONTAINS(m, "p.json:2:", "on its line");
	ASSERT_CONTAINS(parse_error(bom, strlen(bom), m, sizeof(m)), "byte-order mark", "a BOM");
	ASSERT_CONTAINS(parse_error("", 0, m, sizeof(m)), "the file is empty", "an empty file");
	ASSERT_CONTAINS(parse_error(" \n\n", 3, m, sizeof(m)), "the file is empty", "only blanks");
	/* Other syntax errors keep jansson's words; strings holding // are not comments. */
	t = "{ \"version\" 1 }";
	ASSERT_TRUE(!strstr(parse_error(t, strlen(t), m, sizeof(m)), "comment") && strstr(m, "invalid JSON"),
		    "a missing colon is not called a comment");
	t = "{ \"version\": 1, \"x\": \"http://a/\" \"tiers\": {} }";
	ASSERT_TRUE(!strstr(parse_error(t, strlen(t), m, sizeof(m)), "comment"), "// inside a string");
}

/* `tierwall check` on policy text: exit status, stdout+stderr in out. */
static int check(struct fx *f, const char *text, bool json, char *out, size_t len)
{
	char path[PATH_MAX + 16];
	FILE *p;

	snprintf(path, sizeof(path), "%s/check.json", f->tmp);
	p = fopen(path, "w");
	fputs(text, p);
	fclose(p);
	return fx_sh(out, len, "%s/tierwall %scheck %s 2>&1", tw_build_dir, json ? "--json " : "", path);
}

#define POL(tiers, cgroups, dests) "{ \"version\": 1, \"tiers\": {" tiers "}, \"cgroups\": [" cgroups \
	"], \"destinations\": [" dests "] }\n"

TEST(unit_check_warns_on_risky_policies)
{
	char out[16384];
	struct fx f;
	json_t *r;

	memset(&f, 0, sizeof(f));
	snprintf(f.tmp, sizeof(f.tmp), "/tmp/tw-check-%d", getpid());
	mkdir(f.tmp, 0700);
	ASSERT_EQ(check(&f, POL("\"prod\": {}, \"staging\": {}", "", "{\"tier\": \"prod\", \"cidrs\": [\"0.0.0.0/0\"]}"),
			false, out, sizeof(out)), 0, "0.0.0.0/0: valid");
	ASSERT_CONTAINS(out, "warning: ", "but warned");
	ASSERT_CONTAINS(out, "owns every IPv4 address", "every address");
	ASSERT_CONTAINS(out, "destinations[0].cidrs[0]", "where");
	check(&f, POL("\"prod\": {}", "", "{\"tier\": \"prod\", \"cidrs\": [\"::/0\"]}"), false, out, sizeof(out));
	ASSERT_CONTAINS(out, "owns every IPv6 address", "::/0");
	check(&f, POL("\"prod\": {}", "", "{\"tier\": \"prod\", \"cidrs\": [\"127.0.0.0/8\"]}"), false, out, sizeof(out));
	ASSERT_CONTAINS(out, "owns all of 127.0.0.0/8", "loopback");
	check(&f, POL("\"prod\": {}", "{\"path\": \"/\", \"tier\": \"prod\"}", ""), false, out, sizeof(out));
	ASSERT_CONTAINS(out, "tags the daemon's cgroup root", "a tag on the root");
	ASSERT_EQ(check(&f, POL("\"prod\": {}, \"staging\": {}", "",
				"{\"tier\": \"prod\", \"cidrs\": [\"10.0.0.0/8\"]}, {\"tier\": \"staging\", \"cidrs\": [\"10.1.2.0/24\"]}"),
			true, out, sizeof(out)), 0, "--json check");
	r = json_loads(out, 0, NULL);
	ASSERT_TRUE(json_is_true(json_object_get(r, "ok")), "json: ok");
	ASSERT_CONTAINS(json_string_value(json_array_get(json_object_get(r, "warnings"), 0)),
			"10.1.2.0/24 of tier \"staging\" is carved out of 10.0.0.0/8 of tier \"prod\"", "a carve-out");
	ASSERT_CONTAINS(json_string_value(json_array_get(json_object_get(r, "warnings"), 0)),
			"check.json:1:", "located");
	json_decref(r);
	/* Positive control: the same tier nested, and disjoint ranges, warn about nothing. */
	ASSERT_EQ(check(&f, POL("\"prod\": {}, \"staging\": {}", "{\"path\": \"/a\", \"tier\": \"prod\"}",
				"{\"tier\": \"prod\", \"cidrs\": [\"10.0.0.0/8\", \"10.1.0.0/16\"]}, {\"tier\": \"staging\", \"cidrs\": [\"11.0.0.0/8\"]}"),
			false, out, sizeof(out)), 0, "a plain policy");
	ASSERT_TRUE(!strstr(out, "warning"), "no warning");
	/* --json for errors too. */
	ASSERT_EQ(check(&f, "{ \"version\": 1, }", true, out, sizeof(out)), 1, "an invalid policy");
	r = json_loads(out, 0, NULL);
	ASSERT_TRUE(json_is_false(json_object_get(r, "ok")), "json: not ok");
	ASSERT_CONTAINS(json_string_value(json_array_get(json_object_get(r, "errors"), 0)), "trailing comma",
			"json: its error");
	json_decref(r);
	fx_sh(NULL, 0, "rm -rf %s", f.tmp);
}

TEST(unit_version_and_json_errors)
{
	char out[8192];
	json_t *r;

	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall --version", tw_build_dir), 0, "tierwall --version");
	ASSERT_TRUE(!strncmp(out, "tierwall 0.", 11), "it prints the version");
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwalld --version", tw_build_dir), 0, "tierwalld --version");
	ASSERT_TRUE(!strncmp(out, "tierwalld 0.", 12), "the daemon too");
	/* An error with --json is JSON on stdout (the message stays on stderr too). */
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall --socket /nonexistent/tw.sock --json tiers 2>/dev/null",
			tw_build_dir), 1, "no daemon: exit 1");
	r = json_loads(out, 0, NULL);
	ASSERT_TRUE(json_is_false(json_object_get(r, "ok")), "json error: ok false");
	ASSERT_CONTAINS(json_string_value(json_object_get(r, "error")), "cannot reach tierwalld", "json error: why");
	json_decref(r);
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall --json tag 2>/dev/null", tw_build_dir), 2, "usage: exit 2");
	r = json_loads(out, 0, NULL);
	ASSERT_CONTAINS(json_string_value(json_object_get(r, "error")), "expected 2 arguments", "a usage error as JSON");
	json_decref(r);
}

/* Run a shell command as uid:gid (no other groups); exit status, output in out. */
static int run_as(uid_t uid, gid_t gid, char *out, size_t len, const char *fmt, const char *a,
		  const char *b)
{
	char cmd[PATH_MAX * 3];
	int pfd[2], st;
	ssize_t n, got = 0;
	pid_t p;

	snprintf(cmd, sizeof(cmd), fmt, a, b);
	if (pipe(pfd))
		return -1;
	fflush(stdout);
	p = fork();
	if (!p) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (got + 1 < (ssize_t)len && (n = read(pfd[0], out + got, len - got - 1)) > 0)
		got += n;
	out[got] = '\0';
	close(pfd[0]);
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(ask_group_readers_read_only)
{
	const char *const extra[] = { "--group", "nogroup", NULL };
	char policy[4096], out[65536], bin[PATH_MAX + 16], base[PATH_MAX * 2], bindir[64];
	struct group *g = getgrnam("nogroup");
	struct fx f;

	bindir[0] = '\0';
	if (!can_run())
		return;
	if (!g) {
		tw_test_skip("no group \"nogroup\" on this machine to stand in for tierwall");
		return;
	}
	if (!ASSERT_OK(fx_init(&f, std_cgroups), "fixture"))
		goto out;
	std_policy(policy, sizeof(policy));
	fx_write_policy(&f, policy);
	if (!ASSERT_OK(fx_start(&f, extra), "daemon with --group"))
		goto out;
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.3", P_ANY, NULL), EPERM, "a record");
	ASSERT_TRUE(fx_wait_events(&f, "connect", 0, 1) >= 1, "in the log");
	/* The CLI where those users may run it. */
	snprintf(bindir, sizeof(bindir), "/tmp/tw-bin-%d", getpid());
	snprintf(bin, sizeof(bin), "%s/tierwall", bindir);
	fx_sh(NULL, 0, "mkdir -m 755 %s && cp %s/tierwall %s && chmod 755 %s", bindir, tw_build_dir,
	      bin, bin);
	snprintf(base, sizeof(base), "%s --socket %s", bin, f.sock);
	/* A member of the group reads: status, tiers, explain, which, events. */
	ASSERT_EQ(run_as(65534, g->gr_gid, out, sizeof(out), "%s status", base, ""), 0, "member: status");
	ASSERT_EQ(run_as(65534, g->gr_gid, out, sizeof(out), "%s tiers", base, ""), 0, "member: tiers");
	ASSERT_EQ(run_as(65534, g->gr_gid, out, sizeof(out), "%s explain --cgroup /agents/staging 127.20.0.1:80",
			 base, ""), 0, "member: explain");
	ASSERT_CONTAINS(out, "verdict  deny", "member: explain answers");
	ASSERT_EQ(run_as(65534, g->gr_gid, out, sizeof(out), "%s which --cgroup /agents/staging", base, ""), 0,
		  "member: which");
	ASSERT_EQ(run_as(65534, g->gr_gid, out, sizeof(out), "%s events --kind connect", base, ""), 0,
		  "member: events");
	ASSERT_CONTAINS(out, "\"verdict\":\"deny\"", "member: reads the log");
	/* ... but changes nothing. */
	ASSERT_EQ(run_as(65534, g->gr_gid, out, sizeof(out), "%s tag /untagged staging", base, ""), 1,
		  "member: tag refused");
	ASSERT_CONTAINS(out, "permission denied", "member: says why");
	ASSERT_EQ(run_as(65534, g->gr_gid, out, sizeof(out), "%s reload", base, ""), 1, "member: reload refused");
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_TCP_CONNECT, "127.20.0.3", P_ANY, NULL), ECONNREFUSED,
		  "the refused tag did not happen");
	/* Anyone else: permission denied, on the socket and on the log. */
	ASSERT_EQ(run_as(12345, 12345, out, sizeof(out), "%s status", base, ""), 1, "other: status");
	ASSERT_CONTAINS(out, "Permission denied", "other: socket refused");
	ASSERT_EQ(run_as(12345, 12345, out, sizeof(out), "%s events --log-dir %s", base, f.log_dir), 1,
		  "other: events");
	ASSERT_CONTAINS(out, "permission denied reading the event log", "other: not \"no event log\"");
out:
	if (bindir[0])
		fx_sh(NULL, 0, "rm -rf %s", bindir);
	fx_cleanup(&f);
}
