// SPDX-License-Identifier: GPL-2.0
/*
 * A pod's secret, in a kernel with BPF LSM (the guests): tierwall-nri
 * places a staging pod's container before its first instruction, which is
 * an open() of prod's secret: refused, and the event names the pod. A pod
 * of prod's namespace opens it. The real containerd runs on the host only
 * (tests/k8s); here the hook gets the request containerd would send.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "fixture.h"
#include "podhook.h"
#include "test.h"

TEST(lsm_pod_secret_refused_before_first_instruction)
{
	static const char *const cgs[] = { "kubepods/poda/c1", "kubepods/podb/c1", "kubepods/podc/c1", NULL };
	struct init_proc a = {}, b = {}, c = {};
	char text[1024], key[PATH_MAX], why[256];
	json_t *r, *ev;
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
		 "  \"secrets\": [ { \"tier\": \"prod\", \"paths\": [\"%s\"] } ],"
		 "  \"kubernetes\": { \"namespaces\": { \"payments\": \"prod\" } } }", key);
	fx_write_policy(&f, text);
	if (!ASSERT_OK(fx_start(&f, NULL), "daemon starts"))
		goto out;
	/* A staging pod: its first instruction opens prod's key. */
	a.path = key;
	if (!ASSERT_OK(init_start(&f, cgs[0], NULL, 0, &a), "init a"))
		goto out;
	r = nri_invoke(&f, a.pid, "ca", "shop", "web", "staging", 3000);
	placed(r, "staging pod placed");
	json_decref(r);
	ASSERT_EQ(init_run(&a), EPERM, "the staging pod's first open of prod's secret");
	ev = fx_event_kind(&f, "file", a.pid);
	ASSERT_STREQ(json_string_value(json_object_get(ev, "pod")), "web", "event names the pod");
	ASSERT_STREQ(json_string_value(json_object_get(ev, "namespace")), "shop", "and its namespace");
	ASSERT_STREQ(json_string_value(json_object_get(ev, "tier")), "staging", "beside the tier");
	ASSERT_STREQ(json_string_value(json_object_get(ev, "path")), key, "and the secret");
	json_decref(ev);
	/* Controls: a prod pod (by namespace) and an untiered pod open it. */
	b.path = key;
	if (!ASSERT_OK(init_start(&f, cgs[1], NULL, 0, &b), "init b"))
		goto out;
	r = nri_invoke(&f, b.pid, "cb", "payments", "pay", NULL, 3000);
	placed(r, "prod pod placed");
	json_decref(r);
	ASSERT_EQ(init_run(&b), 0, "the prod pod opens its secret");
	c.path = key;
	if (!ASSERT_OK(init_start(&f, cgs[2], NULL, 0, &c), "init c"))
		goto out;
	r = nri_invoke(&f, c.pid, "cc", "default", "plain", NULL, 3000);
	placed(r, "untiered pod starts");
	json_decref(r);
	ASSERT_EQ(init_run(&c), 0, "an untiered pod opens it");
out:
	fx_cleanup(&f);
}
