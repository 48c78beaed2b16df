// SPDX-License-Identifier: GPL-2.0
/*
 * Pods and the runtime hook: the policy's kubernetes section, pod -> tier,
 * cgroup layouts of every driver, the NRI v0.1 adapter, and tierwall-nri
 * against a real daemon with a process standing in for runc's init (the
 * real containerd runs in tests/k8s). Readiness: "starting" until
 * enforcement is complete, and sd_notify against a real NOTIFY_SOCKET.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include "ctl.h"
#include "event.h"
#include "fixture.h"
#include "net.h"
#include "podhook.h"
#include "policy.h"
#include "podtier.h"
#include "runtime.h"
#include "schema.h"
#include "test.h"

#define T(s) s "\n"

static struct tw_policy *parse(const char *text, struct tw_diags *d)
{
	struct tw_policy *p = NULL;

	tw_policy_parse("k.json", text, strlen(text), &p, d);
	return p;
}

TEST(unit_kube_policy_errors)
{
	static const struct { const char *text, *error; } bad[] = {
		{ T("{ \"version\": 1, \"tiers\": {\"prod\": {}},")
		  T("  \"kubernetes\": { \"namespaces\": { \"payments\": \"qa\" } } }"),
		  "k.json:2:35: kubernetes.namespaces.payments: undefined tier \"qa\" (define it under \"tiers\")" },
		{ T("{ \"version\": 1, \"tiers\": {\"prod\": {}},")
		  T("  \"kubernetes\": { \"namespaces\": { \"Pay_ments\": \"prod\" } } }"),
		  "k.json:2:35: kubernetes.namespaces.Pay_ments: invalid namespace name \"Pay_ments\"" },
		{ T("{ \"version\": 1, \"tiers\": {\"prod\": {}},")
		  T("  \"kubernetes\": { \"tier_label\": \"-bad/tier\" } }"),
		  "k.json:2:19: kubernetes.tier_label: invalid label key \"-bad/tier\"" },
		{ T("{ \"version\": 1, \"tiers\": {\"prod\": {}},")
		  T("  \"kubernetes\": { \"tier_lable\": \"x\" } }"),
		  "k.json:2:19: kubernetes.tier_lable: unknown key \"tier_lable\" (expected \"tier_label\", \"namespaces\", \"label_overrides_namespace\", \"pods_roots\")" },
		{ T("{ \"version\": 1, \"tiers\": {\"prod\": {}},")
		  T("  \"kubernetes\": { \"label_overrides_namespace\": \"yes\" } }"),
		  "k.json:2:19: kubernetes.label_overrides_namespace: expected true or false, found a string" },
		{ T("{ \"version\": 1, \"tiers\": {\"prod\": {}},")
		  T("  \"kubernetes\": { \"namespaces\": [\"prod\"] } }"),
		  "k.json:2:19: kubernetes.namespaces: expected an object of namespace: tier, found an array" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct tw_diags d = {};
		struct tw_policy *p = parse(bad[i].text, &d);

		ASSERT_TRUE(p == NULL, bad[i].error);
		if (ASSERT_EQ(d.count, 1, bad[i].error))
			ASSERT_TRUE(!strncmp(d.msgs[0], bad[i].error, strlen(bad[i].error)) ||
				    TW_FAILED("got \"%s\"", d.msgs[0]), bad[i].error);
		tw_diags_free(&d);
	}
}

TEST(unit_pod_tier)
{
	const char *text =
		T("{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},")
		T("  \"kubernetes\": { \"tier_label\": \"example.com/env\",")
		T("                    \"namespaces\": { \"payments\": \"prod\" } } }");
	struct tw_diags d = {};
	struct tw_policy *p = parse(text, &d);
	json_t *staging = json_pack("{s:s}", "example.com/env", "staging");
	json_t *prod = json_pack("{s:s}", "example.com/env", "prod");
	json_t *qa = json_pack("{s:s}", "example.com/env", "qa");
	json_t *other = json_pack("{s:s}", "tierwall.io/tier", "prod"), *none = json_object();
	char why[512] = "";

	if (!ASSERT_TRUE(p != NULL, "policy"))
		goto out;
	ASSERT_STREQ(p->kube.tier_label, "example.com/env", "label key");
	ASSERT_EQ(tw_pod_tier(p, "web", staging, why, sizeof(why)), 1, "label");
	ASSERT_EQ(tw_pod_tier(p, "web", other, why, sizeof(why)), 0, "another label key: untiered");
	ASSERT_EQ(tw_pod_tier(p, "web", none, why, sizeof(why)), 0, "no label: untiered");
	ASSERT_EQ(tw_pod_tier(p, "payments", none, why, sizeof(why)), 2, "namespace default");
	ASSERT_EQ(tw_pod_tier(p, "payments", prod, why, sizeof(why)), 2, "label agreeing");
	ASSERT_EQ(tw_pod_tier(p, "web", qa, why, sizeof(why)), -EINVAL, "unknown tier is an error");
	ASSERT_CONTAINS(why, "example.com/env=\"qa\" names a tier the policy does not define "
			"(its tiers: staging, prod)", "says which");
	ASSERT_EQ(tw_pod_tier(p, "payments", staging, why, sizeof(why)), -EINVAL,
		  "a label may not override its namespace");
	ASSERT_CONTAINS(why, "contradicts namespace payments's tier prod (policy kubernetes.namespaces.payments)",
			"says why");
	p->kube.label_overrides = true;
	ASSERT_EQ(tw_pod_tier(p, "payments", staging, why, sizeof(why)), 1, "unless the policy allows it");
out:
	json_decref(staging);
	json_decref(prod);
	json_decref(qa);
	json_decref(other);
	json_decref(none);
	tw_policy_free(p);
	tw_diags_free(&d);
	/* Without the section: the default label, nothing by namespace. */
	p = parse(T("{ \"version\": 1, \"tiers\": {\"dev\": {}} }"), &d);
	if (ASSERT_TRUE(p != NULL, "policy without the section")) {
		json_t *l = json_pack("{s:s}", "tierwall.io/tier", "dev");

		ASSERT_EQ(tw_pod_tier(p, "kube-system", l, why, sizeof(why)), 1, "default label key");
		json_decref(l);
	}
	tw_policy_free(p);
	tw_diags_free(&d);
}

/* The layouts of every cgroup driver, as the runtime's cgroupsPath gives them. */
TEST(unit_runtime_cgroup_layouts)
{
	static const struct { const char *in, *out; } ok[] = {
		/* containerd or CRI-O, cgroupfs driver (this machine's tests run it) */
		{ "/kubepods/besteffort/pod0d5c-41/3f2a", "/kubepods/besteffort/pod0d5c-41/3f2a" },
		{ "/kubepods/pod0d5c-41/3f2a", "/kubepods/pod0d5c-41/3f2a" },
		/* containerd, systemd driver: burstable, guaranteed (no QoS slice) */
		{ "kubepods-burstable-pod0d5c_41.slice:cri-containerd:3f2a",
		  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0d5c_41.slice/cri-containerd-3f2a.scope" },
		{ "kubepods-pod0d5c_41.slice:cri-containerd:3f2a",
		  "/kubepods.slice/kubepods-pod0d5c_41.slice/cri-containerd-3f2a.scope" },
		/* CRI-O, systemd driver */
		{ "kubepods-besteffort-pod0d5c_41.slice:crio:3f2a",
		  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0d5c_41.slice/crio-3f2a.scope" },
		/* runc's defaults: no slice is system.slice, no prefix is NAME.scope */
		{ ":cri-containerd:3f2a", "/system.slice/cri-containerd-3f2a.scope" },
		{ "-.slice::3f2a", "/3f2a.scope" },
		{ "kubepods.slice::pod.slice", "/kubepods.slice/pod.slice" },
		/* a pod's cgroup parent (NRI v2's RunPodSandbox), systemd driver */
		{ "kubepods-besteffort-pod0d5c_41.slice",
		  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0d5c_41.slice" },
	};
	static const char *const bad[] = {
		"", "kubepods/besteffort", "/kubepods/../x", "/a/./b", "a:b", "a:b:c:d",
		"kubepods-.slice:p:n", "kube/pods.slice:p:n", "kubepods.slice:p:", "x.service:p:n",
		"-.slice", "kubepods.service",
	};
	char out[512];
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		out[0] = '\0';
		ASSERT_OK(tw_runtime_cgroup(ok[i].in, out, sizeof(out)), ok[i].in);
		ASSERT_STREQ(out, ok[i].out, ok[i].in);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_EQ(tw_runtime_cgroup(bad[i], out, sizeof(out)), -EINVAL, bad[i]);
	ASSERT_OK(tw_pid_cgroup(getpid(), out, sizeof(out)), "own cgroup from /proc");
	ASSERT_EQ(out[0], '/', "a hierarchy path");
}

/* What containerd 1.6 sends (recorded from its NRI v0.1 client) and what it reads back. */
TEST(unit_nri_v01_adapter)
{
	const char *req =
		"{\"conf\":{\"socket\":\"/run/x.sock\",\"exempt_namespaces\":[\"infra\"],\"timeout_ms\":700},"
		"\"version\":\"0.1\",\"state\":\"create\",\"id\":\"c1\",\"sandboxID\":\"s1\",\"pid\":4321,"
		"\"spec\":{\"resources\":{},\"cgroupsPath\":\"/kubepods/besteffort/podu1/c1\","
		"\"annotations\":{\"io.kubernetes.cri.container-name\":\"app\","
		"\"io.kubernetes.cri.sandbox-namespace\":\"ignored\"}},"
		"\"labels\":{\"io.kubernetes.pod.name\":\"web\",\"io.kubernetes.pod.namespace\":\"shop\","
		"\"io.kubernetes.pod.uid\":\"u1\",\"tierwall.io/tier\":\"staging\"}}";
	struct tw_rt_container c;
	struct tw_hook_conf hc = {};
	char why[256], out[512] = "";
	json_t *r = NULL, *res;
	FILE *in = fmemopen((void *)req, strlen(req), "r"), *o = fmemopen(out, sizeof(out), "w");

	if (!ASSERT_OK(tw_nri_v01.read(in, &r, &c, why, sizeof(why)), "request parses"))
		goto out;
	ASSERT_EQ(c.event, TW_RT_START, "create is the start");
	ASSERT_STREQ(c.id, "c1", "id");
	ASSERT_TRUE(!c.is_sandbox, "a container, not the sandbox");
	ASSERT_EQ(c.pid, 4321, "pid");
	ASSERT_STREQ(c.cgroups_path, "/kubepods/besteffort/podu1/c1", "cgroupsPath");
	ASSERT_STREQ(c.pod, "web", "pod from the kubelet's label");
	ASSERT_STREQ(c.ns, "shop", "namespace from the kubelet's label");
	ASSERT_STREQ(c.pod_uid, "u1", "uid");
	ASSERT_STREQ(c.container, "app", "container from containerd's annotation");
	ASSERT_OK(tw_hook_conf(c.conf, &hc, why, sizeof(why)), "conf");
	ASSERT_STREQ(hc.socket, "/run/x.sock", "socket");
	ASSERT_EQ(hc.timeout_ms, 700, "timeout");
	ASSERT_STREQ(json_string_value(json_array_get(hc.exempt, 0)), "infra", "exempt list");
	tw_nri_v01.reply(o, r, "tierwall: no");
	fclose(o);
	o = NULL;
	res = json_loads(out, 0, NULL);
	ASSERT_STREQ(json_string_value(json_object_get(res, "error")), "tierwall: no",
		     "a refusal is a JSON result with \"error\"");
	ASSERT_STREQ(json_string_value(json_object_get(res, "plugin")), "tierwall-nri", "plugin");
	json_decref(res);
out:
	if (o)
		fclose(o);
	fclose(in);
	tw_hook_conf_free(&hc);
	json_decref(r);
}

TEST(unit_hook_conf_defaults_and_errors)
{
	struct tw_hook_conf hc = {};
	char why[256];
	json_t *bad = json_pack("{s:s}", "exempt_namespaces", "kube-system");

	ASSERT_OK(tw_hook_conf(NULL, &hc, why, sizeof(why)), "no conf: defaults");
	ASSERT_STREQ(hc.socket, TW_HOOK_SOCKET, "socket");
	ASSERT_EQ(hc.timeout_ms, 5000, "5 s");
	ASSERT_STREQ(json_string_value(json_array_get(hc.exempt, 0)), "tierwall", "own namespace exempt");
	ASSERT_STREQ(json_string_value(json_array_get(hc.exempt, 1)), "kube-system", "and kube-system");
	tw_hook_conf_free(&hc);
	ASSERT_EQ(tw_hook_conf(bad, &hc, why, sizeof(why)), -EINVAL, "exempt must be a list");
	ASSERT_CONTAINS(why, "exempt_namespaces", "says which");
	tw_hook_conf_free(&hc);
	json_decref(bad);
}

static const json_t *pod_meta(void *arg, uint64_t id)
{
	static json_t *m;

	if (!m)
		m = json_pack("{s:s, s:s, s:s}", "pod", "web", "namespace", "shop", "container", "app");
	return id == 77 ? m : NULL;
}

static const char *pod_path(void *arg, uint64_t id)
{
	return id == 77 ? "/kubepods/podu1/c1" : NULL;
}

TEST(unit_event_pod_fields)
{
	const char *text = T("{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}} }");
	struct tw_event e = {
		.h = { .kind = TW_EV_CONNECT, .size = sizeof(e), .verdict = TW_VERDICT_DENY, .tier = 1,
		       .target_tier = 2, .cgroup_id = 77, .tagged_cgroup_id = 77, .count = 1 },
		.family = 4, .proto = IPPROTO_TCP, .dport = 443,
	};
	struct tw_event_ctx c = { .host = "h", .cgroup_path = pod_path, .tag_meta = pod_meta };
	struct tw_diags d = {};
	json_t *o = NULL, *schema = json_load_file("policies/event.schema.json", 0, NULL);

	c.policy = parse(text, &d);
	if (!ASSERT_TRUE(c.policy != NULL, "policy"))
		goto out;
	o = tw_event_json(&e, &c);
	ASSERT_STREQ(json_string_value(json_object_get(o, "pod")), "web", "pod");
	ASSERT_STREQ(json_string_value(json_object_get(o, "namespace")), "shop", "namespace");
	ASSERT_STREQ(json_string_value(json_object_get(o, "container")), "app", "container");
	ASSERT_STREQ(json_string_value(json_object_get(o, "tier")), "staging", "beside the tier");
	if (schema) {
		json_object_set_new(o, "seq", json_integer(1));
		json_object_set_new(o, "prev", json_string("0"));
		schema_check(schema, o, "pod event");
	}
	json_decref(o);
	e.h.tagged_cgroup_id = 78;
	o = tw_event_json(&e, &c);
	ASSERT_TRUE(!json_object_get(o, "pod"), "no pod fields for other tags");
out:
	json_decref(o);
	json_decref(schema);
	tw_policy_free((struct tw_policy *)c.policy);
	tw_diags_free(&d);
}

/* ---- tierwall-nri against a real daemon ---- */

TEST(pod_nri_hook_tiers_before_first_instruction)
{
	static const char *const cgs[] = { "kubepods/poda/c1", "kubepods/podb/c1", "kubepods/podc/c1",
					   "kubepods/podd/c1", NULL };
	struct fx f;
	struct init_proc a = {}, b = {}, c = {}, d = {};
	int port = fx_port(70), lfd = -1, err;
	json_t *r = NULL, *ev = NULL;
	char text[1024];

	if (fx_init(&f, cgs))
		return;
	snprintf(text, sizeof(text),
		 "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},"
		 "  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"] } ],"
		 "  \"kubernetes\": { \"namespaces\": { \"payments\": \"prod\" } } }");
	fx_write_policy(&f, text);
	lfd = fx_listen_tcp("127.20.0.1", port);
	if (!ASSERT_TRUE(lfd >= 0, "prod listener") || !ASSERT_OK(fx_start(&f, NULL), "daemon starts"))
		goto out;
	/* A staging pod: its first connect to prod is refused, and the event names the pod. */
	if (!ASSERT_OK(init_start(&f, cgs[0], "127.20.0.1", port, &a), "init a"))
		goto out;
	r = nri_invoke(&f, a.pid, "ca", "shop", "web", "staging", 3000);
	placed(r, "staging pod placed");
	json_decref(r);
	err = init_run(&a);
	ASSERT_EQ(err, EPERM, "first instruction judged by the staging tier");
	ev = fx_event(&f, a.pid, port);
	ASSERT_STREQ(json_string_value(json_object_get(ev, "pod")), "web", "event names the pod");
	ASSERT_STREQ(json_string_value(json_object_get(ev, "namespace")), "shop", "and its namespace");
	ASSERT_STREQ(json_string_value(json_object_get(ev, "container")), "app", "and the container");
	ASSERT_STREQ(json_string_value(json_object_get(ev, "tier")), "staging", "beside the tier");
	json_decref(ev);
	ev = NULL;
	/* A pod in a prod namespace (no label) reaches prod; an untiered one too. */
	if (!ASSERT_OK(init_start(&f, cgs[1], "127.20.0.1", port, &b), "init b"))
		goto out;
	r = nri_invoke(&f, b.pid, "cb", "payments", "pay", NULL, 3000);
	placed(r, "prod pod placed");
	json_decref(r);
	ASSERT_EQ(init_run(&b), 0, "prod pod reaches prod");
	if (!ASSERT_OK(init_start(&f, cgs[2], "127.20.0.1", port, &c), "init c"))
		goto out;
	r = nri_invoke(&f, c.pid, "cc", "default", "plain", NULL, 3000);
	placed(r, "untiered pod starts");
	json_decref(r);
	ASSERT_EQ(init_run(&c), 0, "untiered pod unaffected");
	/* A tier the policy does not define: refused, with the reason. */
	r = nri_invoke(&f, getpid(), "cd", "default", "typo", "qa", 3000);
	ASSERT_CONTAINS(result_error(r), "tierwall.io/tier=\"qa\" names a tier the policy does not define",
			"unknown tier refused");
	json_decref(r);
	r = nri_invoke(&f, getpid(), "ce", "payments", "liar", "staging", 3000);
	ASSERT_CONTAINS(result_error(r), "contradicts namespace payments's tier prod", "label vs namespace");
	json_decref(r);
	/* Exempt means "when no daemon answers": a refusal still stands. */
	r = nri_invoke(&f, getpid(), "ci", "kube-system", "typo", "qa", 3000);
	ASSERT_CONTAINS(result_error(r), "names a tier the policy does not define",
			"a pod of an exempt namespace that the daemon refuses does not start");
	json_decref(r);
	/* No daemon: fail closed, except in exempt namespaces. */
	fx_stop(&f);
	if (!ASSERT_OK(init_start(&f, cgs[3], "127.0.0.1", 1, &d), "init d"))
		goto out;
	r = nri_invoke(&f, d.pid, "cf", "default", "late", "staging", 400);
	ASSERT_CONTAINS(result_error(r), "did not confirm the tier of pod default/late container app within 400 ms",
			"no daemon: refused after the timeout");
	json_decref(r);
	r = nri_invoke(&f, d.pid, "cg", "kube-system", "dns", NULL, 400);
	placed(r, "exempt namespace starts without the daemon");
	json_decref(r);
	r = NULL;
	ASSERT_EQ(init_run(&d), ECONNREFUSED, "and runs untiered");
out:
	if (lfd >= 0)
		close(lfd);
	json_decref(ev);
	fx_cleanup(&f);
}

/* ---- readiness ---- */

struct start_arg {
	struct fx *f;
	const char *const *extra;
	int err;
};

static void *start_thread(void *arg)
{
	struct start_arg *s = arg;

	s->err = fx_start(s->f, s->extra);
	return NULL;
}

/* The daemon's "state" in status ("" if it does not answer); the reply in *reply if asked. */
static const char *status_state(struct fx *f, json_t **reply)
{
	static char state[32];
	json_t *r = NULL;

	state[0] = '\0';
	if (tw_ctl_call(f->sock, json_pack("{s:s}", "cmd", "status"), &r, 1000))
		return state;
	snprintf(state, sizeof(state), "%s", json_string_value(json_object_get(r, "state")) ?: "");
	if (reply)
		*reply = r;
	else
		json_decref(r);
	return state;
}

/*
 * The policy names a hostname and the resolver never answers, so setup
 * waits for it: status says "starting" meanwhile, `status --wait` returns
 * once enforcement is complete, and READY=1 reaches a real NOTIFY_SOCKET
 * only then.
 */
TEST(ready_starting_then_notify)
{
	static const char *const cgs[] = { "app", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char text[512], dns[64], out[4096], msg[256] = "", cmd[PATH_MAX * 3];
	const char *extra[] = { "--dns-server", dns, NULL };
	struct start_arg s = { .extra = extra };
	int nfd = -1, dfd = -1, i, rc;
	bool seen_starting = false, joined = false;
	struct timeval tv = { 20, 0 };
	pthread_t th;
	json_t *r = NULL, *v;
	size_t k;
	ssize_t n;
	struct fx f;

	if (fx_init(&f, cgs))
		return;
	s.f = &f;
	dfd = fx_bind_udp("127.0.0.1", fx_port(71));	/* a resolver that never answers */
	snprintf(dns, sizeof(dns), "127.0.0.1:%d", fx_port(71));
	snprintf(text, sizeof(text),
		 "{ \"version\": 1, \"tiers\": {\"prod\": {}},"
		 "  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"db.prod.test\"] } ] }");
	fx_write_policy(&f, text);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify.sock", f.tmp);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!ASSERT_TRUE(dfd >= 0, "silent resolver") ||
	    !ASSERT_OK(bind(nfd, (struct sockaddr *)&sa, sizeof(sa)), "NOTIFY_SOCKET listener"))
		goto out;
	setsockopt(nfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	rc = pthread_create(&th, NULL, start_thread, &s);
	if (!ASSERT_OK(rc, "start"))
		goto out;
	joined = true;
	for (i = 0; i < 200 && !seen_starting; i++) {
		seen_starting = !strcmp(status_state(&f, NULL), "starting");
		usleep(10000);
	}
	ASSERT_TRUE(seen_starting, "status says starting while setup waits");
	ASSERT_TRUE(recv(nfd, msg, sizeof(msg) - 1, MSG_DONTWAIT) < 0, "no READY=1 while starting");
	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s status", tw_build_dir, f.sock);
	rc = fx_sh(out, sizeof(out), "%s", cmd);
	ASSERT_EQ(rc, 1, "tierwall status exits 1 while starting");
	ASSERT_CONTAINS(out, "starting (enforcement not complete yet)", "and says so");
	rc = fx_sh(out, sizeof(out), "%s --wait=30", cmd);
	ASSERT_EQ(rc, 0, "status --wait returns once enforcing");
	ASSERT_CONTAINS(out, "attached", "with the programs attached");
	n = recv(nfd, msg, sizeof(msg) - 1, 0);
	if (ASSERT_TRUE(n > 0, "a datagram on NOTIFY_SOCKET")) {
		msg[n] = '\0';
		ASSERT_CONTAINS(msg, "READY=1", "READY=1");
		/* Sent only after setup: enforcement is complete when it arrives. */
		ASSERT_STREQ(status_state(&f, &r), "running", "running when READY=1 arrives");
		ASSERT_TRUE(json_array_size(json_object_get(r, "programs")) > 0, "programs listed");
		json_array_foreach(json_object_get(r, "programs"), k, v)
			ASSERT_TRUE(json_is_true(json_object_get(v, "attached")), "attached");
	}
	pthread_join(th, NULL);
	joined = false;
	unsetenv("NOTIFY_SOCKET");	/* the daemon has it; nothing else started here needs it */
	ASSERT_OK(s.err, "fx_start");
	fx_stop(&f);
	n = recv(nfd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	ASSERT_TRUE(n > 0 && !strncmp(msg, "STOPPING=1", 10), "STOPPING=1 at stop");
out:
	if (joined)
		pthread_join(th, NULL);
	unsetenv("NOTIFY_SOCKET");
	json_decref(r);
	if (nfd >= 0)
		close(nfd);
	if (dfd >= 0)
		close(dfd);
	fx_cleanup(&f);
}

/* ---- the policy from a ConfigMap ---- */

/* Lay out dir as the kubelet does: ..TS/policy.json, ..data -> ..TS, policy.json -> ..data/policy.json. */
static int configmap_version(const char *dir, const char *ts, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, ts);
	if (mkdir(path, 0755))
		return -errno;
	snprintf(path, sizeof(path), "%s/%s/policy.json", dir, ts);
	fp = fopen(path, "w");
	if (!fp)
		return -errno;
	fputs(text, fp);
	fclose(fp);
	/* The atomic swap: a new symlink renamed over ..data. */
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
	snprintf(path, sizeof(path), "%s/..data", dir);
	if (symlink(ts, tmp) || rename(tmp, path))
		return -errno;
	snprintf(path, sizeof(path), "%s/policy.json", dir);
	if (symlink("..data/policy.json", path) && errno != EEXIST)
		return -errno;
	return 0;
}

TEST(pod_policy_configmap_swap_applied)
{
	static const char *const cgs[] = { "agents/staging", NULL };
	const char *v1 =
		"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},"
		"  \"cgroups\": [ { \"path\": \"/agents/staging\", \"tier\": \"staging\" } ],"
		"  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"] } ] }";
	const char *v2 =
		"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},"
		"  \"cgroups\": [ { \"path\": \"/agents/staging\", \"tier\": \"staging\" } ],"
		"  \"destinations\": [ { \"tier\": \"staging\", \"cidrs\": [\"127.20.0.0/16\"] } ] }";
	char dir[PATH_MAX], policy[PATH_MAX + 16];
	const char *extra[] = { "--watch-policy", "--policy", policy, NULL };
	int port = fx_port(72), lfd, err = -1;
	struct fx f;

	if (fx_init(&f, cgs))
		return;
	snprintf(dir, sizeof(dir), "%s/configmap", f.tmp);
	snprintf(policy, sizeof(policy), "%s/policy.json", dir);
	lfd = fx_listen_tcp("127.20.0.1", port);
	if (!ASSERT_TRUE(lfd >= 0, "listener") || !ASSERT_OK(mkdir(dir, 0755), "configmap dir") ||
	    !ASSERT_OK(configmap_version(dir, "..2026_11_27_01", v1), "first version"))
		goto out;
	/* The ConfigMap's path replaces the fixture's (the later --policy wins). */
	if (!ASSERT_OK(fx_start(&f, extra), "start"))
		goto out;
	ASSERT_EQ(fx_net(&f, cgs[0], TW_OP_TCP_CONNECT, "127.20.0.1", port, NULL), EPERM,
		  "staging refused prod under the first version");
	if (!ASSERT_OK(configmap_version(dir, "..2026_11_27_02", v2), "second version"))
		goto out;
	/* Applied without a signal: bounded wait for the reload. */
	FX_UNTIL(!(err = fx_net(&f, cgs[0], TW_OP_TCP_CONNECT, "127.20.0.1", port, NULL)), 60000);
	ASSERT_EQ(err, 0, "the swapped ConfigMap is in force: the address is staging's now");
	ASSERT_TRUE(fx_accepted(lfd), "and the connection arrived");
out:
	if (lfd >= 0)
		close(lfd);
	if (tw_test_failed()) {
		char log[4096];

		fx_sh(log, sizeof(log), "tail -n 20 %s", f.daemon_out);
		printf("    daemon: %s\n", log);
	}
	fx_cleanup(&f);
}
