// SPDX-License-Identifier: GPL-2.0
/*
 * The OCI hook adapter (tierwall-oci-hook): what CRI-O's and podman's
 * createRuntime hook calls carry, read into a container; the real podman
 * runs in tests/oci.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "runtime.h"
#include "test.h"

static int read_state(const char *state, json_t **req, struct tw_rt_container *c, char *why, size_t len)
{
	FILE *in = fmemopen((void *)state, strlen(state), "r");
	int err = tw_oci_hook.read(in, req, c, why, len);

	fclose(in);
	return err;
}

TEST(unit_oci_hook_adapter)
{
	const char *sandbox =
		"{\"ociVersion\":\"1.0.2\",\"id\":\"s1\",\"status\":\"creating\",\"pid\":4321,\"bundle\":\"/b\","
		"\"annotations\":{\"io.kubernetes.cri-o.ContainerType\":\"sandbox\","
		"\"io.kubernetes.cri-o.SandboxID\":\"s1\",\"io.kubernetes.cri-o.Labels\":"
		"\"{\\\"io.kubernetes.pod.name\\\":\\\"web\\\",\\\"io.kubernetes.pod.namespace\\\":\\\"shop\\\","
		"\\\"io.kubernetes.pod.uid\\\":\\\"u1\\\",\\\"tierwall.io/tier\\\":\\\"staging\\\"}\"}}";
	const char *app =
		"{\"ociVersion\":\"1.0.2\",\"id\":\"c1\",\"status\":\"creating\",\"pid\":4322,"
		"\"annotations\":{\"io.kubernetes.cri-o.ContainerType\":\"container\","
		"\"io.kubernetes.cri-o.SandboxID\":\"s1\",\"io.kubernetes.cri-o.Labels\":"
		"\"{\\\"io.kubernetes.container.name\\\":\\\"app\\\",\\\"io.kubernetes.pod.name\\\":\\\"web\\\","
		"\\\"io.kubernetes.pod.namespace\\\":\\\"shop\\\"}\"}}";
	const char *podman =
		"{\"ociVersion\":\"1.0.2-dev\",\"id\":\"p1\",\"status\":\"creating\",\"pid\":4323,"
		"\"annotations\":{\"io.container.manager\":\"libpod\",\"tierwall.io/tier\":\"prod\"}}";
	static const struct { const char *state, *error; } bad[] = {
		{ "[]", "the OCI state on stdin is not a JSON object" },
		{ "{\"id\":\"x\"}", "the OCI state has no container pid" },
		/* A pid past int: truncated it would name another process (4294967297 is pid 1). */
		{ "{\"id\":\"x\",\"pid\":4294967297}", "the OCI state has no container pid" },
		{ "{\"id\":\"x\",\"pid\":2147483648}", "the OCI state has no container pid" },
		{ "{\"id\":\"x\",\"pid\":1,\"annotations\":{\"io.kubernetes.cri-o.ContainerType\":\"container\"}}",
		  "a CRI-O container without annotation io.kubernetes.cri-o.SandboxID" },
		{ "{\"id\":\"x\",\"pid\":1,\"annotations\":{\"io.kubernetes.cri-o.ContainerType\":\"sandbox\","
		  "\"io.kubernetes.cri-o.Labels\":\"{nope\"}}", "annotation io.kubernetes.cri-o.Labels is not a JSON object" },
		{ "{\"id\":\"x\",\"pid\":1,\"annotations\":{\"io.kubernetes.cri-o.ContainerType\":\"infra\"}}",
		  "is \"infra\", not \"sandbox\" or \"container\"" },
	};
	struct tw_rt_container c;
	char why[256];
	json_t *req = NULL, *r;
	size_t i;

	if (ASSERT_OK(read_state(sandbox, &req, &c, why, sizeof(why)), "CRI-O sandbox")) {
		ASSERT_TRUE(c.is_sandbox && c.tag_parent && !c.by_sandbox, "a sandbox, placed on its pod's cgroup");
		ASSERT_EQ(c.event, TW_RT_START, "createRuntime is the start");
		ASSERT_EQ(c.pid, 4321, "pid");
		ASSERT_STREQ(c.pod, "web", "pod from the labels annotation");
		ASSERT_STREQ(c.ns, "shop", "namespace");
		ASSERT_STREQ(c.pod_uid, "u1", "uid");
		ASSERT_STREQ(c.container, "POD", "the sandbox");
		ASSERT_STREQ(json_string_value(json_object_get(c.labels, "tierwall.io/tier")), "staging",
			     "the pod's labels");
		r = tw_pod_request(&c, "/kubepods/podu1");
		ASSERT_STREQ(json_string_value(json_object_get(json_object_get(r, "meta"), "container_id")), "s1",
			     "its request names its id, for the app containers");
		json_decref(r);
	}
	json_decref(req);
	if (ASSERT_OK(read_state(app, &req, &c, why, sizeof(why)), "CRI-O app container")) {
		ASSERT_TRUE(!c.is_sandbox && c.by_sandbox && !c.labels, "its tier comes from its sandbox");
		ASSERT_STREQ(c.container, "app", "container name from its labels");
		r = tw_pod_request(&c, "/kubepods/podu1/crio-c1");
		ASSERT_STREQ(json_string_value(json_object_get(r, "sandbox")), "s1", "the request names the sandbox");
		ASSERT_TRUE(json_is_object(json_object_get(r, "labels")), "labels an object, even empty");
		json_decref(r);
	}
	json_decref(req);
	if (ASSERT_OK(read_state(podman, &req, &c, why, sizeof(why)), "podman")) {
		ASSERT_TRUE(!c.is_sandbox && !c.by_sandbox && !c.ns, "a container of no namespace");
		ASSERT_STREQ(json_string_value(json_object_get(c.labels, "tierwall.io/tier")), "prod",
			     "its annotations are its labels");
	}
	json_decref(req);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		req = NULL;
		ASSERT_EQ(read_state(bad[i].state, &req, &c, why, sizeof(why)), -EINVAL, bad[i].error);
		ASSERT_CONTAINS(why, bad[i].error, bad[i].error);
		json_decref(req);
	}
	ASSERT_EQ(tw_oci_hook.reply(stdout, NULL, "no"), 1, "a refusal is a non-zero exit");
	ASSERT_EQ(tw_oci_hook.reply(stdout, NULL, NULL), 0, "a placed container exits 0");
}
