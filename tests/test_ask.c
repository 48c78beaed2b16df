// SPDX-License-Identifier: GPL-2.0
/*
 * The operator's questions against a real daemon and kernel: explain agrees
 * with what the hooks really do (random targets, real connects from real
 * cgroups), which names the tag and who asked for it, reload answers with
 * its errors and status tells about it, simulate replays a recorded log
 * against a draft policy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ctl.h"
#include "fixture.h"
#include "net.h"
#include "policy.h"
#include "reference.h"
#include "std.h"
#include "test.h"

/* The standard tiers and rules, staging logging its allowed use too. */
static void ask_policy(char *buf, size_t len, const char *staging)
{
	snprintf(buf, len,
"{ \"version\": 1,\n"
"  \"tiers\": { \"dev\": {\"mode\": \"audit\"}, \"staging\": %s, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/agents/dev\", \"tier\": \"dev\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"},\n"
"               {\"path\": \"/nest\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/nest/inner\", \"tier\": \"prod\"} ],\n"
"  \"destinations\": [\n"
"    {\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\", \"::1/128\"]},\n"
"    {\"tier\": \"prod\", \"cidrs\": [\"127.21.0.0/16\"], \"ports\": [%d]},\n"
"    {\"tier\": \"prod\", \"cidrs\": [\"127.22.0.0/16\"]},\n"
"    {\"tier\": \"staging\", \"cidrs\": [\"127.22.1.0/24\"], \"ports\": [%d]},\n"
"    {\"tier\": \"staging\", \"cidrs\": [\"127.30.0.0/16\"]} ] }\n",
		 staging, P_SCOPED, P_NESTED);
}

static bool ask_start(struct fx *f)
{
	char policy[4096];

	ask_policy(policy, sizeof(policy), "{\"log\": \"all\"}");
	return std_start_with(f, policy);
}

static json_t *explain(struct fx *f, const char *cg, const char *ip, int port, const char *proto)
{
	json_t *r = NULL;

	if (tw_ctl_call(f->sock, json_pack("{s:s, s:s, s:{s:s, s:i, s:s}}", "cmd", "explain",
					   "cgroup", cg, "target", "ip", ip, "port", port,
					   "proto", proto), &r, 5000))
		return NULL;
	return r;
}

/* Replace the first from in s (room for the result) by to. */
static void replace(char *s, const char *from, const char *to)
{
	char *at = strstr(s, from), rest[8192];

	if (!at)
		return;
	snprintf(rest, sizeof(rest), "%s", at + strlen(from));
	sprintf(at, "%s%s", to, rest);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The record a decision of pid left, if any (every record of these pids is a decision). */
static const char *recorded_verdict(struct fx *f, pid_t pid, json_t **ev)
{
	*ev = NULL;
	if (!fx_count_events(f, "connect", pid) && !fx_count_events(f, "sendmsg", pid))
		return NULL;
	*ev = fx_event_kind(f, fx_count_events(f, "connect", pid) ? "connect" : "sendmsg", pid);
	return jstr(*ev, "verdict");
}

/*
 * The policy's own meaning, computed apart from the kernel's dst.bpf.h that
 * explain shares with the hooks: the caller's tier from the nearest tagged
 * ancestor, the destination's owner from the most specific CIDR whose ports
 * cover the port (tw_ref_match, a brute-force walk over the parsed policy).
 */
static int ref_tier(const struct tw_policy *p, const char *cg)
{
	char path[PATH_MAX];
	size_t best = 0, n;
	int i, tier = 0;

	snprintf(path, sizeof(path), "/%s", cg);
	for (i = 0; i < p->ncgroups; i++) {
		n = strlen(p->cgroups[i].path);
		if (!strncmp(path, p->cgroups[i].path, n) && (!path[n] || path[n] == '/') && n >= best) {
			best = n;
			tier = p->cgroups[i].tier;
		}
	}
	return tier;
}

/* "allow", "audit" or "deny" for cg calling ip:port; *rule: the CIDR entry that owns it, or NULL. */
static const char *ref_verdict(const struct tw_policy *p, const char *cg, const char *ip, int port,
			       const char **rule)
{
	uint8_t a[16] = {};
	int family = 4, tier = ref_tier(p, cg), owner, r;

	if (inet_pton(AF_INET, ip, a) != 1) {
		family = 6;
		inet_pton(AF_INET6, ip, a);
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {	/* the IPv4 address is judged */
			memmove(a, a + 12, 4);
			memset(a + 4, 0, 12);
			family = 4;
		}
	}
	if (family == 4 && !a[0] && !a[1] && !a[2] && !a[3]) {	/* 0.0.0.0 reaches loopback */
		a[0] = 127;
		a[3] = 1;
	}
	r = tw_ref_match(p, family, a, port);
	*rule = r >= 0 ? p->rules[r].jpath : NULL;
	owner = r >= 0 ? p->rules[r].tier : 0;
	if (!tier || !owner || owner == tier)
		return "allow";
	return p->tiers[tier].mode == TW_MODE_AUDIT ? "audit" : "deny";
}

#define NTARGETS 72

TEST(integ_explain_agrees_with_kernel_randomised)
{
	/* Callers of staging, of prod, and the rest (audit tier, untagged). */
	static const char *const cgs[] = { "agents/staging", "nest", "services/prod", "nest/inner",
					   "agents/dev", "untagged" };
	static const char *const nets[] = { "127.20", "127.21", "127.22", "127.22.1", "127.30",
					    "127.40", "::1", "::ffff:127.20", "0.0.0.0" };
	struct { pid_t pid; char what[96]; const char *verdict; bool rec; json_t *rule; } t[NTARGETS];
	int ports[3] = { P_ANY, P_SCOPED, P_NESTED }, i, n = 0, denied = 0, audited = 0, allowed = 0;
	unsigned int seed = getpid() ^ time(NULL);
	struct tw_policy *pol = NULL;
	struct tw_diags d = {};
	struct fx f;

	memset(t, 0, sizeof(t));
	if (!ask_start(&f))
		goto out;
	if (!ASSERT_OK(tw_policy_load(f.policy, &pol, &d), "the policy, for the reference"))
		goto out;
	printf("    seed %u\n", seed);
	srand(seed);
	for (i = 0; i < NTARGETS; i++) {
		/* First every network on every port from a staging and a prod caller, then at random. */
		const char *cg = i < 54 ? cgs[2 * (i / 27) + rand() % 2] : cgs[rand() % 6];
		const char *net = nets[i < 54 ? i % 9 : rand() % 9], *want, *want_rule;
		int port = ports[i < 54 ? i / 9 % 3 : rand() % 3];
		int op = rand() % 2 ? TW_OP_TCP_CONNECT : TW_OP_UDP_SENDTO;
		char ip[64];
		json_t *r;
		int rc;

		if (!strchr(net, ':') && strcmp(net, "0.0.0.0"))
			snprintf(ip, sizeof(ip), strlen(net) > 7 ? "%s.%d" : "%s.%d.%d", net, 1 + rand() % 250,
				 1 + rand() % 250);
		else if (!strcmp(net, "::ffff:127.20"))
			snprintf(ip, sizeof(ip), "%s.%d.%d", net, 1 + rand() % 250, 1 + rand() % 250);
		else
			snprintf(ip, sizeof(ip), "%s", net);
		r = explain(&f, cg, ip, port, op == TW_OP_TCP_CONNECT ? "tcp" : "udp");
		if (!ASSERT_TRUE(json_is_true(json_object_get(r, "ok")), "explain answers")) {
			printf("    %s %s:%d: %s\n", cg, ip, port, jstr(r, "error") ?: "no reply");
			json_decref(r);
			goto out;
		}
		rc = fx_net(&f, cg, op, ip, port, &t[n].pid);
		snprintf(t[n].what, sizeof(t[n].what), "%s %s %s:%d", cg,
			 op == TW_OP_TCP_CONNECT ? "tcp" : "udp", ip, port);
		t[n].verdict = strcmp(jstr(r, "verdict"), "deny") ? strcmp(jstr(r, "verdict"), "audit") ?
			       "allow" : "audit" : "deny";
		t[n].rec = json_is_true(json_object_get(r, "recorded"));
		t[n].rule = json_incref(json_object_get(r, "rule"));
		want = ref_verdict(pol, cg, ip, port, &want_rule);
		/* The policy's meaning, explain's answer and the kernel's (EPERM is a denial) agree. */
		if (!ASSERT_STREQ(t[n].verdict, want, t[n].what) ||
		    !ASSERT_EQ(rc == EPERM, !strcmp(want, "deny"), t[n].what))
			printf("    policy: %s (%s); explain: %s (%s); the call returned %d\n", want,
			       want_rule ?: "no rule", t[n].verdict, jstr(r, "rule") ?: "no rule", rc);
		if (ref_tier(pol, cg) && !ASSERT_STREQ(jstr(r, "rule") ?: "none", want_rule ?: "none", t[n].what))
			printf("    the rule explain named is not the policy's\n");
		denied += rc == EPERM;
		audited += !strcmp(t[n].verdict, "audit");
		allowed += rc != EPERM;
		n++;
		json_decref(r);
	}
	/* What was recorded, and with which verdict and rule, is what explain said. */
	for (i = 0; i < n; i++) {
		json_t *ev;
		const char *v;

		v = recorded_verdict(&f, t[i].pid, &ev);
		if (t[i].rec && !v) {
			/* Once the daemon answers a drain, every decision is in the log. */
			ASSERT_OK(fx_drain(&f), "drain");
			v = recorded_verdict(&f, t[i].pid, &ev);
		}
		ASSERT_EQ(v != NULL, t[i].rec, t[i].what);
		if (v) {
			ASSERT_STREQ(v, t[i].verdict, t[i].what);
			ASSERT_TRUE(json_equal(json_object_get(ev, "rule"), t[i].rule), "the recorded rule is explain's");
		}
		json_decref(ev);
	}
	printf("    %d targets: %d denied, %d allowed (%d of them audited)\n", n, denied, allowed, audited);
	/* The random draw covers both sides (a positive control for every refusal). */
	ASSERT_TRUE(denied > 0 && allowed > 0, "both verdicts were drawn");
out:
	for (i = 0; i < NTARGETS; i++)
		json_decref(t[i].rule);
	tw_policy_free(pol);
	tw_diags_free(&d);
	fx_cleanup(&f);
}

/* `tierwall ARGS` against the fixture's daemon; exit status, output in out. */
static int cli(struct fx *f, char *out, size_t len, const char *fmt, const char *arg)
{
	char args[1024];

	snprintf(args, sizeof(args), fmt, arg);
	return fx_sh(out, len, "%s/tierwall --socket %s %s 2>&1", tw_build_dir, f->sock, args);
}

TEST(ask_explain_names_caller_tag_rule_and_verdict)
{
	char out[8192], pid[32], sib[PATH_MAX + 2];
	json_t *r = NULL;
	struct fx f;

	if (!ask_start(&f))
		goto out;
	/* The nearest tagged ancestor gives the tier: /nest/inner is prod inside staging's /nest. */
	ASSERT_EQ(cli(&f, out, sizeof(out), "explain --cgroup %s 127.30.0.9:80", "/nest/inner/x"), 1,
		  "a cgroup that does not exist is an error");
	fx_mkcg(&f, "nest/inner/x");
	ASSERT_EQ(cli(&f, out, sizeof(out), "explain --cgroup %s 127.30.0.9:80", "/nest/inner/x"), 0,
		  "explain exits 0");
	ASSERT_CONTAINS(out, "tier     prod, from the tag on /nest/inner (policy: cgroups[4])", "the tagged ancestor");
	ASSERT_CONTAINS(out, "destinations[4].cidrs[0] 127.30.0.0/16, owned by staging", "the rule");
	ASSERT_CONTAINS(out, "verdict  deny (the caller gets EPERM; recorded)", "the verdict");
	ASSERT_EQ(cli(&f, out, sizeof(out), "--json explain --cgroup %s [::1]:443", "agents/staging"), 0, "--json");
	r = json_loads(out, 0, NULL);
	ASSERT_STREQ(jstr(r, "verdict"), "deny", "json verdict");
	ASSERT_STREQ(jstr(r, "rule"), "destinations[0].cidrs[1]", "json rule");
	ASSERT_STREQ(jstr(r, "cidr"), "::1/128", "json cidr");
	ASSERT_STREQ(jstr(r, "tier"), "staging", "json tier");
	ASSERT_STREQ(jstr(r, "target_tier"), "prod", "json target_tier");
	ASSERT_STREQ(jstr(r, "tagged_cgroup"), "/agents/staging", "json tagged_cgroup");
	json_decref(r);
	r = NULL;
	/* Port-scoped: 127.21/16 is prod's on one port only. */
	snprintf(pid, sizeof(pid), "127.21.0.1:%d", P_SCOPED + 5);
	cli(&f, out, sizeof(out), "explain --cgroup /agents/staging %s", pid);
	ASSERT_CONTAINS(out, "no rule: nobody owns it", "another port of a port-scoped rule");
	ASSERT_CONTAINS(out, "verdict  allow", "allowed there");
	/* Audit mode, own tier recorded ("log": "all"), unspecified address, untiered, outside the root. */
	cli(&f, out, sizeof(out), "explain --cgroup %s 127.20.0.1:5432", "/agents/dev");
	ASSERT_CONTAINS(out, "verdict  audit (allowed: the tier is in audit mode; recorded)", "audit tier");
	cli(&f, out, sizeof(out), "explain --cgroup %s 127.30.2.2:8080/udp", "/agents/staging");
	ASSERT_CONTAINS(out, "verdict  allow (allowed; recorded)", "own tier, log all");
	ASSERT_CONTAINS(out, "owned by staging", "own tier's rule named");
	cli(&f, out, sizeof(out), "explain --cgroup %s 0.0.0.0:80", "/services/prod");
	ASSERT_CONTAINS(out, "judged   127.0.0.1", "0.0.0.0 is judged as loopback");
	cli(&f, out, sizeof(out), "explain --cgroup %s 127.20.0.1:80", "/untagged");
	ASSERT_CONTAINS(out, "tier     none", "untagged");
	ASSERT_CONTAINS(out, "verdict  allow (allowed; not recorded)", "untagged allowed");
	snprintf(pid, sizeof(pid), "%d", getpid());
	cli(&f, out, sizeof(out), "explain --pid %s 127.20.0.1:80", pid);
	ASSERT_CONTAINS(out, "outside the daemon's cgroup root", "a process outside the root");
	/* ROOTX beside ROOT: a name that begins with the root's is not below it. */
	snprintf(sib, sizeof(sib), "%sX", f.root);
	if (ASSERT_OK(mkdir(sib, 0755) ? -errno : 0, "a cgroup beside the root")) {
		pid_t kid = fork();

		if (!kid) {
			pause();
			_exit(0);
		}
		fx_sh(NULL, 0, "echo %d > %s/cgroup.procs", kid, sib);
		snprintf(pid, sizeof(pid), "%d", kid);
		cli(&f, out, sizeof(out), "explain --pid %s 127.20.0.1:80", pid);
		ASSERT_CONTAINS(out, "outside the daemon's cgroup root", "a process in it is outside the root");
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
		rmdir(sib);
	}
	/* Bad arguments: exit 2. */
	ASSERT_EQ(cli(&f, out, sizeof(out), "explain %s", "127.0.0.1"), 2, "no caller named");
	ASSERT_EQ(cli(&f, out, sizeof(out), "explain --cgroup / %s", "1.2.3.4:99999"), 2, "bad port");
out:
	json_decref(r);
	fx_cleanup(&f);
}

/*
 * A file target is looked up by the CLI, never by the daemon: a reader (a
 * tiered process, a --group member with fusermount) names a path on a FUSE
 * mount that never answers, and the daemon, its log and its socket go on.
 */
TEST(ask_explain_file_never_stalls_the_daemon)
{
	char dir[PATH_MAX + 16], path[PATH_MAX + 32], opts[128], out[8192];
	json_t *r = NULL;
	int fuse = -1;
	bool mounted = false;
	struct fx f;

	if (!ask_start(&f))
		goto out;
	fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse < 0) {
		tw_test_skip("no /dev/fuse");
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/fuse", f.tmp);
	snprintf(path, sizeof(path), "%s/x", dir);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse);
	mkdir(dir, 0700);
	if (!ASSERT_OK(mount("tw-test-fuse", dir, "fuse", 0, opts), "a FUSE mount nobody serves"))
		goto out;
	mounted = true;
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s, s:s, s:{s:s}}", "cmd", "explain", "cgroup",
						"/agents/staging", "target", "path", path), &r, 3000),
		  "explain of a path on it answers");
	ASSERT_TRUE(!json_is_true(json_object_get(r, "ok")), "refused: no identities");
	ASSERT_CONTAINS(json_string_value(json_object_get(r, "error")) ?: "", "\"levels\"", "and told why");
	json_decref(r);
	r = NULL;
	/* A caller named by a cgroup path is not looked up outside the root either. */
	snprintf(out, sizeof(out), "%s/../../../../../../../../..%s", f.root, dir);
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s, s:s}", "cmd", "which", "cgroup", path), &r, 3000),
		  "which of a cgroup on it answers");
	ASSERT_TRUE(!json_is_true(json_object_get(r, "ok")), "refused: outside the root");
	json_decref(r);
	r = NULL;
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s, s:s}", "cmd", "which", "cgroup", out), &r, 3000),
		  "and through the root's parents");
	ASSERT_TRUE(!json_is_true(json_object_get(r, "ok")), "refused too");
	json_decref(r);
	r = NULL;
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s, s:s}", "cmd", "which", "cgroup",
						"/agents/staging"), &r, 3000), "which of a cgroup");
	ASSERT_STREQ(json_string_value(json_object_get(r, "tier")), "staging", "answers");
	json_decref(r);
	r = NULL;
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s}", "cmd", "status"), &r, 3000),
		  "status still answers");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "a denial");
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 1), 1, "is logged");
	/* The CLI reads a file's identities itself: explain of a real file works. */
	ASSERT_EQ(cli(&f, out, sizeof(out), "explain --cgroup /agents/staging %s", f.policy), 0,
		  "explain of a file");
	ASSERT_CONTAINS(out, f.policy, "names it");
	ASSERT_EQ(cli(&f, out, sizeof(out), "explain --cgroup /agents/staging %s/nothing", f.tmp), 1,
		  "a missing file is an error");
out:
	if (fuse >= 0)
		close(fuse);	/* aborts the connection: anything waiting on it fails */
	if (mounted)
		umount2(dir, MNT_DETACH);
	json_decref(r);
	fx_cleanup(&f);
}

static int sleeper(void *arg)
{
	int *fd = arg;
	char c;

	/* Stay until the test closes the pipe. */
	return read(*fd, &c, 1) < 0 ? -errno : 0;
}

TEST(ask_which_names_tag_source_and_requester)
{
	char out[8192], arg[64];
	int p[2] = { -1, -1 };
	json_t *r = NULL, *rep = NULL;
	pid_t child = 0;
	struct fx f;

	if (!ask_start(&f))
		goto out;
	fx_mkcg(&f, "jobs/run-1");
	fx_mkcg(&f, "pods/web");
	ASSERT_EQ(cli(&f, out, sizeof(out), "tag %s staging", "/jobs"), 0, "runtime tag");
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "cmd", "tag",
		  "cgroup", "/pods/web", "tier", "prod", "source", "pod", "meta", "pod", "web",
		  "namespace", "shop"), &rep, 5000), "pod tag");
	ASSERT_TRUE(json_is_true(json_object_get(rep, "ok")), "pod tag accepted");
	/* A live process below the runtime tag. */
	if (!ASSERT_OK(pipe(p), "pipe"))
		goto out;
	child = fork();
	if (!child) {
		char path[PATH_MAX * 2];

		close(p[1]);
		snprintf(path, sizeof(path), "%s/jobs/run-1", f.root);
		_exit(tw_join_cgroup(path) ? 1 : -sleeper(&p[0]));
	}
	close(p[0]);
	p[0] = -1;
	/* It has joined its cgroup when /proc says so. */
	snprintf(arg, sizeof(arg), "/proc/%d/cgroup", child);
	FX_UNTIL(!fx_sh(out, sizeof(out), "grep -q jobs/run-1 %s", arg), 60000);
	snprintf(arg, sizeof(arg), "%d", child);
	ASSERT_EQ(cli(&f, out, sizeof(out), "which %s", arg), 0, "which PID");
	ASSERT_CONTAINS(out, "tier     staging, from the tag on /jobs (runtime, asked by uid 0", "runtime tag and requester");
	cli(&f, out, sizeof(out), "--json which %s", arg);
	r = json_loads(out, 0, NULL);
	ASSERT_STREQ(jstr(r, "source"), "runtime", "json source");
	ASSERT_STREQ(jstr(r, "cgroup"), "/jobs/run-1", "json cgroup as in the policy");
	ASSERT_STREQ(jstr(r, "tagged_cgroup"), "/jobs", "json tagged_cgroup");
	ASSERT_EQ(json_integer_value(json_object_get(r, "requested_by_uid")), 0, "requested by root");
	ASSERT_TRUE(json_integer_value(json_object_get(r, "requested_by_pid")) > 0, "requester pid");
	json_decref(r);
	cli(&f, out, sizeof(out), "--json which --cgroup %s", "/pods/web");
	r = json_loads(out, 0, NULL);
	ASSERT_STREQ(jstr(r, "source"), "pod", "pod source");
	ASSERT_STREQ(jstr(json_object_get(r, "meta"), "namespace"), "shop", "pod metadata");
	json_decref(r);
	cli(&f, out, sizeof(out), "--json which --cgroup %s", "/services/prod");
	r = json_loads(out, 0, NULL);
	ASSERT_STREQ(jstr(r, "source"), "policy", "policy source");
	ASSERT_STREQ(jstr(r, "rule"), "cgroups[2]", "the policy entry");
	ASSERT_TRUE(!json_object_get(r, "warning"), "the kernel's map agrees with the tags");
	json_decref(r);
	r = NULL;
	cli(&f, out, sizeof(out), "which --cgroup %s", "/untagged");
	ASSERT_CONTAINS(out, "tier     none", "untagged");
out:
	if (p[1] >= 0)
		close(p[1]);
	if (child > 0)
		waitpid(child, NULL, 0);
	json_decref(r);
	json_decref(rep);
	fx_cleanup(&f);
}

TEST(ask_reload_request_reports_errors_and_status_tells)
{
	char policy[4096], out[16384], metrics[16384];
	json_t *st = NULL, *rl;
	struct fx f;
	int port = fx_port(9);
	char maddr[64];

	if (!can_run() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture"))
		return;
	ask_policy(policy, sizeof(policy), "{}");
	fx_write_policy(&f, policy);
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", port);
	if (!ASSERT_OK(fx_start(&f, (const char *const[]){ "--metrics", maddr, NULL }), "daemon starts"))
		goto out;
	/* A broken edit: a trailing comma. The loaded policy stays. */
	fx_write_policy(&f, "{ \"version\": 1, \"tiers\": { \"prod\": {}, } }\n");
	ASSERT_EQ(cli(&f, out, sizeof(out), "reload%s", ""), 1, "a failed reload exits 1");
	ASSERT_CONTAINS(out, "policy.json:1:", "the error names file:line");
	ASSERT_CONTAINS(out, "trailing comma", "and its cause");
	cli(&f, out, sizeof(out), "--json status%s", "");
	st = json_loads(out, 0, NULL);
	rl = json_object_get(st, "reload");
	ASSERT_STREQ(jstr(json_object_get(rl, "last_reload"), "result"), "failed", "status: last reload failed");
	ASSERT_TRUE(json_is_true(json_object_get(rl, "policy_file_differs")), "status: the file differs");
	json_decref(st);
	st = NULL;
	cli(&f, out, sizeof(out), "status%s", "");
	ASSERT_CONTAINS(out, "reload      last at ", "status text: the last reload");
	ASSERT_CONTAINS(out, "the policy file differs from the loaded policy", "status text: the file differs");
	ASSERT_TRUE(!strstr(out, "(null)"), "status never prints (null)");
	if (fx_http_get(port, "/metrics", metrics, sizeof(metrics)) == 0) {
		ASSERT_CONTAINS(metrics, "tierwall_reload_success 0", "metrics: failed");
		ASSERT_CONTAINS(metrics, "tierwall_policy_file_differs 1", "metrics: differs");
	}
	/* Still enforcing the old policy. */
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "the loaded policy stays in force");
	/* Fixed: prod no longer owns 127.20/16. */
	ask_policy(policy, sizeof(policy), "{}");
	replace(policy, "\"127.20.0.0/16\", ", "");
	fx_write_policy(&f, policy);
	ASSERT_EQ(cli(&f, out, sizeof(out), "reload%s", ""), 0, "a good reload exits 0");
	ASSERT_CONTAINS(out, "reloaded ", "it says so");
	ASSERT_NE(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "the new policy is in force when reload returns");
	cli(&f, out, sizeof(out), "--json status%s", "");
	st = json_loads(out, 0, NULL);
	rl = json_object_get(st, "reload");
	ASSERT_STREQ(jstr(json_object_get(rl, "last_reload"), "result"), "ok", "status: last reload ok");
	ASSERT_TRUE(json_is_false(json_object_get(rl, "policy_file_differs")), "status: the file is loaded");
	if (fx_http_get(port, "/metrics", metrics, sizeof(metrics)) == 0) {
		ASSERT_CONTAINS(metrics, "tierwall_reload_success 1", "metrics: ok");
		ASSERT_CONTAINS(metrics, "tierwall_policy_file_differs 0", "metrics: same");
	}
out:
	json_decref(st);
	fx_cleanup(&f);
}

TEST(ask_simulate_replays_recorded_log)
{
	char policy[4096], draft[PATH_MAX + 16], out[16384];
	json_t *r = NULL, *a;
	struct fx f;
	size_t i;

	if (!ask_start(&f))
		goto out;
	/* Recorded: 3 staging denials to 127.20/16, 2 allowed staging uses of 127.30.5/24 (log all). */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.7", P_ANY, NULL), EPERM,
			  "denied connect recorded");
	for (i = 0; i < 2; i++)
		ASSERT_NE(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.30.5.9", P_ANY, NULL), EPERM,
			  "allowed connect recorded");
	ASSERT_NE(fx_net(&f, "agents/dev", TW_OP_TCP_CONNECT, "127.30.0.1", P_ANY, NULL), EPERM,
		  "an audited connect recorded");
	ASSERT_TRUE(fx_wait_events(&f, "connect", 0, 6) >= 6, "records in the log");
	/* The draft: 127.20/16 given to nobody, 127.30.5/24 carved out for prod, dev enforcing. */
	ask_policy(policy, sizeof(policy), "{\"log\": \"all\"}");
	replace(policy, "127.20.0.0/16", "127.99.0.0/16");
	replace(policy, "\"127.30.0.0/16\"]}", "\"127.30.0.0/16\"]},\n    {\"tier\": \"prod\", \"cidrs\": [\"127.30.5.0/24\"]}");
	replace(policy, "{\"mode\": \"audit\"}", "{}");
	snprintf(draft, sizeof(draft), "%s/draft.json", f.tmp);
	fx_sh(NULL, 0, "cat > %s <<'EOF'\n%sEOF", draft, policy);
	ASSERT_EQ(cli(&f, out, sizeof(out), "--json simulate %s", draft), 0, "simulate exits 0");
	r = json_loads(out, 0, NULL);
	if (!ASSERT_TRUE(r != NULL, "simulate --json is JSON")) {
		printf("%s\n", out);
		goto out;
	}
	a = json_object_get(json_object_get(r, "totals"), "newly_allowed");
	ASSERT_EQ(json_integer_value(a), 3, "the three denials become allowed");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(r, "totals"), "newly_denied")), 3,
		  "the two allowed uses and the audit become denied");
	json_array_foreach(json_object_get(r, "newly_denied"), i, a)
		if (strstr(jstr(a, "target") ?: "", "127.30.5.9"))
			break;
	ASSERT_EQ(json_integer_value(json_object_get(a, "count")), 2, "both uses of 127.30.5.9");
	ASSERT_STREQ(jstr(a, "rule"), "destinations[5].cidrs[0]", "by the new rule");
	ASSERT_STREQ(jstr(a, "target_tier"), "prod", "owned by prod");
	ASSERT_CONTAINS(jstr(r, "covers"), "\"log\": \"all\"", "it says what it covers");
	ASSERT_STREQ(json_string_value(json_array_get(json_object_get(r, "allowed_use_logged_for"), 0)),
		     "staging", "whose allowed use the log holds");
	json_decref(r);
	r = NULL;
	ASSERT_EQ(cli(&f, out, sizeof(out), "simulate %s", draft), 0, "text output");
	ASSERT_CONTAINS(out, "newly denied: 3 decisions", "text: newly denied");
	ASSERT_CONTAINS(out, "newly allowed: 3 decisions", "text: newly allowed");
	ASSERT_CONTAINS(out, "127.20.0.7:", "text: the target");
	/* The live policy as a draft changes nothing. */
	ASSERT_EQ(cli(&f, out, sizeof(out), "--json simulate %s", f.policy), 0, "simulate the loaded policy");
	r = json_loads(out, 0, NULL);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(r, "totals"), "newly_denied")) +
		  json_integer_value(json_object_get(json_object_get(r, "totals"), "newly_allowed")), 0,
		  "no change against itself");
	ASSERT_TRUE(json_integer_value(json_object_get(r, "decisions")) >= 6, "every decision replayed");
	/* A draft that does not validate: its errors, exit 1. */
	fx_sh(NULL, 0, "echo '{\"version\": 1}' > %s", draft);
	ASSERT_EQ(cli(&f, out, sizeof(out), "simulate %s", draft), 1, "an invalid draft");
	ASSERT_CONTAINS(out, "missing required key \"tiers\"", "its error");
out:
	json_decref(r);
	fx_cleanup(&f);
}
