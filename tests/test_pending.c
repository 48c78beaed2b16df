// SPDX-License-Identifier: GPL-2.0
/*
 * Pending pods: a cgroup below a pods' root that no hook or sync placed is
 * refused every tier's destinations, before and after the daemon places
 * its neighbours, while the daemon is stopped, and again after it is back;
 * placed pods (tiered or untiered) are judged by their own tag. Status and
 * metrics count the pending containers; one still pending 10 s on is a
 * daemon event. In the guests (BPF LSM): the agent's own pod starting
 * pending loads, attaches and takes over.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "ctl.h"
#include "fixture.h"
#include "net.h"
#include "podhook.h"
#include "policy.h"
#include "schema.h"
#include "test.h"

#define PROD	"127.23.0.1"
#define STAGING	"127.24.0.1"

static const char *policy_text =
	"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},"
	"  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"127.23.0.0/16\"] },"
	"                      { \"tier\": \"staging\", \"cidrs\": [\"127.24.0.0/16\"] } ] }";

/* status's "pending" section (NULL if none). */
static json_t *pending_status(struct fx *f)
{
	json_t *r = NULL, *p;

	if (tw_ctl_call(f->sock, json_pack("{s:s}", "cmd", "status"), &r, fx_timeout_ms(5000)))
		return NULL;
	p = json_incref(json_object_get(r, "pending"));
	json_decref(r);
	return p;
}

static bool oldest_is(struct fx *f, const char *cg)
{
	json_t *p = pending_status(f);
	const char *old = json_string_value(json_object_get(json_object_get(p, "oldest"), "cgroup"));
	bool ok = json_integer_value(json_object_get(p, "containers")) == 1 && old && strstr(old, cg);

	json_decref(p);
	return ok;
}

static int connect_from(struct fx *f, const char *rel, const char *addr, int port)
{
	pid_t pid;

	return fx_net(f, rel, TW_OP_TCP_CONNECT, addr, port, &pid);
}

TEST(pending_pod_refused_until_placed)
{
	static const char *const cgs[] = { "kubepods/poda/c1", "kubepods/podb/c1", "kubepods/podc/c1",
					   "kubepods/podd/c1", "other/x", NULL };
	int port = fx_port(80), lp = -1, ls = -1, lu = -1;
	struct init_proc a = {}, c = {}, w = {};
	json_t *r = NULL, *ev = NULL, *p;
	char path[PATH_MAX + 32];
	struct fx f;

	if (fx_init(&f, cgs))
		return;
	fx_write_policy(&f, policy_text);
	lp = fx_listen_tcp(PROD, port);
	ls = fx_listen_tcp(STAGING, port);
	lu = fx_listen_tcp("127.0.0.1", port);
	if (!ASSERT_TRUE(lp >= 0 && ls >= 0 && lu >= 0, "listeners") ||
	    !ASSERT_OK(fx_start(&f, NULL), "daemon starts"))
		goto out;
	/* Nobody placed pod a: every tier's destination is refused, the rest is not. */
	if (!ASSERT_OK(init_start(&f, cgs[0], PROD, port, &a), "init a"))
		goto out;
	ASSERT_EQ(init_run(&a), EPERM, "a pending pod's connect to prod");
	ASSERT_EQ(connect_from(&f, cgs[0], STAGING, port), EPERM, "and to staging");
	ASSERT_EQ(connect_from(&f, cgs[0], "127.0.0.1", port), 0, "not to what no tier owns");
	ASSERT_EQ(connect_from(&f, cgs[4], PROD, port), 0, "a cgroup outside the pods' root is untiered");
	ev = fx_event(&f, a.pid, port);
	ASSERT_TRUE(json_is_true(json_object_get(ev, "pending")), "the event says pending");
	ASSERT_TRUE(json_is_null(json_object_get(ev, "tier")), "with no tier");
	ASSERT_CONTAINS(json_string_value(json_object_get(ev, "tagged_cgroup")), "/kubepods",
			"and the pods' root whose tag applied");
	json_decref(ev);
	ev = NULL;
	/* Placed untiered by the hook (the pid's cgroup): its own tag, nothing refused. */
	if (!ASSERT_OK(init_start(&f, cgs[1], PROD, port, &w), "init b"))
		goto out;
	r = nri_invoke(&f, w.pid, "cb", "default", "plain", NULL, 3000);
	placed(r, "untiered pod placed");
	json_decref(r);
	r = NULL;
	ASSERT_EQ(init_run(&w), 0, "an untiered pod, placed, reaches prod from its first instruction");
	/* A staging pod reaches its own tier from its first instruction, not prod. */
	if (!ASSERT_OK(init_start(&f, cgs[2], STAGING, port, &c), "init c"))
		goto out;
	r = nri_invoke(&f, c.pid, "cc", "shop", "web", "staging", 3000);
	placed(r, "staging pod placed");
	json_decref(r);
	r = NULL;
	ASSERT_EQ(init_run(&c), 0, "a staging pod's first connect to staging");
	ASSERT_EQ(connect_from(&f, cgs[2], PROD, port), EPERM, "its connect to prod");
	/* Status counts the pending containers and names the oldest; then it is overdue. */
	memset(&a, 0, sizeof(a));
	if (!ASSERT_OK(init_start(&f, cgs[3], PROD, port, &a), "a waiting pending container"))
		goto out;
	ASSERT_TRUE(FX_UNTIL(oldest_is(&f, "kubepods/podd/c1"), 5000),
		    "status: one pending container, the oldest named");
	p = pending_status(&f);
	ASSERT_STREQ(json_string_value(json_object_get(p, "roots_from")), "found", "roots found");
	json_decref(p);
	ev = fx_await_daemon_event(&f, "pending_overdue");
	ASSERT_CONTAINS(json_string_value(json_object_get(ev, "cgroup")), "kubepods/podd/c1",
			"still pending 10 s on: a daemon event naming it");
	json_decref(ev);
	ev = NULL;
	snprintf(path, sizeof(path), "%s/events.jsonl", f.log_dir);
	ASSERT_TRUE(schema_check_log("policies/event.schema.json", path) > 0,
		    "the schema documents \"pending\" and pending_overdue");
	/* Daemon stopped: pending holds, placed pods keep their tag. */
	ASSERT_EQ(fx_stop(&f), 0, "daemon stops");
	ASSERT_EQ(connect_from(&f, cgs[0], PROD, port), EPERM, "no daemon: still pending");
	ASSERT_EQ(connect_from(&f, cgs[1], PROD, port), 0, "no daemon: the untiered pod stays placed");
	ASSERT_EQ(connect_from(&f, cgs[2], PROD, port), EPERM, "no daemon: staging stays staging");
	/* Back: the same. */
	if (!ASSERT_OK(fx_start(&f, NULL), "daemon starts again"))
		goto out;
	ASSERT_EQ(connect_from(&f, cgs[0], STAGING, port), EPERM, "restarted: still pending");
	ASSERT_EQ(connect_from(&f, cgs[1], PROD, port), 0, "restarted: untiered pod restored");
	ASSERT_EQ(connect_from(&f, cgs[2], STAGING, port), 0, "restarted: staging restored");
	init_run(&a);
out:
	if (lp >= 0)
		close(lp);
	if (ls >= 0)
		close(ls);
	if (lu >= 0)
		close(lu);
	json_decref(ev);
	fx_cleanup(&f);
}

/* The policy names the roots: only those; an operator releases a pod with tag "untiered". */
TEST(pending_roots_from_policy)
{
	static const char *const cgs[] = { "pods/pa", "kubepods/pb", NULL };
	int port = fx_port(81), lp = -1;
	json_t *r = NULL, *p;
	char abs[PATH_MAX];
	struct fx f;

	if (fx_init(&f, cgs))
		return;
	fx_write_policy(&f, "{ \"version\": 1, \"tiers\": {\"prod\": {}},"
			    "  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"127.23.0.0/16\"] } ],"
			    "  \"kubernetes\": { \"pods_roots\": [\"/pods\"] } }");
	lp = fx_listen_tcp(PROD, port);
	if (!ASSERT_TRUE(lp >= 0, "listener") || !ASSERT_OK(fx_start(&f, NULL), "daemon starts"))
		goto out;
	ASSERT_EQ(connect_from(&f, cgs[0], PROD, port), EPERM, "below the policy's root: pending");
	ASSERT_EQ(connect_from(&f, cgs[1], PROD, port), 0, "kubepods is not a root when the policy names them");
	p = pending_status(&f);
	ASSERT_STREQ(json_string_value(json_object_get(p, "roots_from")), "policy", "roots from the policy");
	ASSERT_CONTAINS(json_string_value(json_array_get(json_object_get(p, "roots"), 0)), "/pods", "the root");
	json_decref(p);
	snprintf(abs, sizeof(abs), "%s/pods/pa", f.root);
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s, s:s, s:s}", "cmd", "tag", "cgroup", abs,
						"tier", "untiered"), &r, fx_timeout_ms(5000)), "tag request");
	ASSERT_TRUE(json_is_true(json_object_get(r, "ok")), "tagged untiered");
	json_decref(r);
	ASSERT_EQ(connect_from(&f, cgs[0], PROD, port), 0, "released by hand");
out:
	if (lp >= 0)
		close(lp);
	fx_cleanup(&f);
}

TEST(unit_pods_roots_policy_errors)
{
	static const struct { const char *roots, *error; } bad[] = {
		{ "[\"/\"]", "kubernetes.pods_roots[0]: cgroup path \"/\" may not be the daemon's cgroup root" },
		{ "[\"kubepods\"]", "kubernetes.pods_roots[0]: cgroup path \"kubepods\" must start with '/'" },
		{ "[\"/a/../b\"]", "kubernetes.pods_roots[0]: cgroup path \"/a/../b\" may not contain" },
		{ "\"/kubepods\"", "kubernetes.pods_roots: expected an array of cgroup paths" },
		{ "[], \"x\": 1", "kubernetes.x: unknown key" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[256];
		struct tw_diags d = {};
		struct tw_policy *p = NULL;

		snprintf(text, sizeof(text), "{ \"version\": 1, \"tiers\": {\"prod\": {}},"
			 " \"kubernetes\": { \"pods_roots\": %s } }", bad[i].roots);
		tw_policy_parse("k.json", text, strlen(text), &p, &d);
		ASSERT_TRUE(p == NULL, bad[i].error);
		if (ASSERT_EQ(d.count, 1, bad[i].error))
			ASSERT_CONTAINS(d.msgs[0], bad[i].error, bad[i].error);
		tw_policy_free(p);
		tw_diags_free(&d);
	}
	{
		const char *text = "{ \"version\": 1, \"tiers\": {\"pending\": {}} }";
		struct tw_diags d = {};
		struct tw_policy *p = NULL;

		tw_policy_parse("k.json", text, strlen(text), &p, &d);
		ASSERT_TRUE(p == NULL && d.count >= 1 && strstr(d.msgs[0], "tier name \"pending\" is reserved"),
			    "\"pending\" is no tier's name");
		tw_policy_free(p);
		tw_diags_free(&d);
	}
}

/*
 * The agent's own pod starts pending (a previous instance's pins are
 * there, no agent runs): on BPF LSM, where tiered processes are refused
 * bpf(), it still loads, attaches and takes over, and places itself; a
 * pod nobody placed stays refused its secret.
 */
TEST(lsm_pending_agent_takes_over)
{
	static const char *const cgs[] = { "kubepods/agent/c1", "kubepods/podz/c1", NULL };
	char text[1024], key[PATH_MAX], why[256], out[4096] = "";
	struct init_proc z = {};
	json_t *r = NULL, *ev;
	struct fx f;

	if (!fx_lsm_usable(why, sizeof(why))) {
		tw_test_skip("%s", why);
		return;
	}
	if (fx_init(&f, cgs))
		return;
	snprintf(key, sizeof(key), "%s/prod-db.key", f.tmp);
	fx_sh(NULL, 0, "echo prod-db-password > %s", key);
	snprintf(text, sizeof(text),
		 "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},"
		 "  \"secrets\": [ { \"tier\": \"prod\", \"paths\": [\"%s\"] } ] }", key);
	fx_write_policy(&f, text);
	if (!ASSERT_OK(fx_start(&f, NULL), "first agent starts") || !ASSERT_EQ(fx_stop(&f), 0, "and stops"))
		goto out;
	/* No agent runs: the agent's own pod is pending, under the first one's programs. */
	f.in_cgroup = cgs[0];
	if (fx_start(&f, NULL)) {
		fx_sh(out, sizeof(out), "tail -c 2000 %s", f.daemon_out);
		TW_FAILED("the agent in a pending pod did not start: %s", out);
		goto out;
	}
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s}", "cmd", "status"), &r, fx_timeout_ms(5000)), "status");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(r, "protection"), "mode")), "bpf-lsm",
		     "self-protection loaded and attached");
	json_decref(r);
	r = NULL;
	ev = fx_await_daemon_event(&f, "start");
	json_decref(ev);
	z.path = key;
	if (!ASSERT_OK(init_start(&f, cgs[1], NULL, 0, &z), "init z"))
		goto out;
	ASSERT_EQ(init_run(&z), EPERM, "a pod nobody placed: refused prod's secret");
	ev = fx_event_kind(&f, "file", z.pid);
	ASSERT_TRUE(json_is_true(json_object_get(ev, "pending")), "the file event says pending");
	json_decref(ev);
out:
	f.in_cgroup = NULL;
	fx_cleanup(&f);
}

/* A pods' root named any way that resolves to it (a trailing "/", "/."): still not a pod. */
TEST(pending_root_never_placed_by_a_pod_request)
{
	static const char *const cgs[] = { "kubepods/poda/c1", NULL };
	static const char *const spell[] = { "/", "/.", "//", "/./" };
	int port = fx_port(82), lp = -1;
	char mnt[PATH_MAX], cg[PATH_MAX * 2];
	json_t *r = NULL;
	struct fx f;
	size_t i;

	if (fx_init(&f, cgs))
		return;
	fx_write_policy(&f, policy_text);
	lp = fx_listen_tcp(PROD, port);
	if (!ASSERT_TRUE(lp >= 0, "listener") || !ASSERT_OK(fx_start(&f, NULL), "daemon starts") ||
	    !ASSERT_OK(fx_sh(mnt, sizeof(mnt), "awk '$9 == \"cgroup2\" { print $5; exit }' /proc/self/mountinfo"),
		       "the cgroup2 mount"))
		goto out;
	mnt[strcspn(mnt, "\n")] = '\0';
	ASSERT_EQ(connect_from(&f, cgs[0], PROD, port), EPERM, "pending at first");
	for (i = 0; i < sizeof(spell) / sizeof(spell[0]); i++) {
		/* As /proc/PID/cgroup would show it: below the mount. */
		snprintf(cg, sizeof(cg), "%s/kubepods%s", f.root + (strcmp(mnt, "/") ? strlen(mnt) : 0), spell[i]);
		r = NULL;
		ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s, s:s, s:{}}", "cmd", "pod", "cgroup", cg,
							"labels"), &r, fx_timeout_ms(5000)), "pod request");
		ASSERT_TRUE(!json_is_true(json_object_get(r, "ok")), cg);
		json_decref(r);
		ASSERT_EQ(connect_from(&f, cgs[0], PROD, port), EPERM, "the pod below stays pending");
	}
out:
	if (lp >= 0)
		close(lp);
	fx_cleanup(&f);
}
