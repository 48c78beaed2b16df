// SPDX-License-Identifier: GPL-2.0
/*
 * What the runtime hook does with a container, whatever the runtime: ask
 * tierwalld to tier its cgroup from the pod's labels and wait for the
 * confirmation (the tag is in the kernel's map when the daemon answers), so
 * the container's first instruction is judged by its tier.
 *
 * Fail closed: a daemon that cannot be reached or does not answer within the
 * timeout (5 s) refuses the container, except in the exempt namespaces of
 * the hook's own configuration, so the agent and the cluster's own pods can
 * always start (with no daemon to ask, at once). An answer that the pod's
 * tier is wrong refuses it everywhere.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "ctl.h"
#include "runtime.h"

#define RETRY_MS	100

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tw_hook_conf(json_t *conf, struct tw_hook_conf *hc, char *why, size_t len)
{
	json_t *sock = json_object_get(conf, "socket"), *ex = json_object_get(conf, "exempt_namespaces");
	json_t *tmo = json_object_get(conf, "timeout_ms"), *v;
	size_t i;

	snprintf(hc->socket, sizeof(hc->socket), "%s", TW_HOOK_SOCKET);
	hc->timeout_ms = TW_HOOK_TIMEOUT_MS;
	hc->exempt = json_pack("[s, s]", "tierwall", "kube-system");
	if (conf && !json_is_object(conf)) {
		snprintf(why, len, "the hook's conf is not a JSON object");
		return -EINVAL;
	}
	if (sock && (!json_is_string(sock) ||
		     snprintf(hc->socket, sizeof(hc->socket), "%s", json_string_value(sock)) >=
		     (int)sizeof(hc->socket))) {
		snprintf(why, len, "conf.socket must be a path of at most %zu bytes", sizeof(hc->socket) - 1);
		return -EINVAL;
	}
	if (tmo && (!json_is_integer(tmo) || json_integer_value(tmo) < 100 ||
		    json_integer_value(tmo) > 60000)) {
		snprintf(why, len, "conf.timeout_ms must be an integer from 100 to 60000");
		return -EINVAL;
	}
	if (tmo)
		hc->timeout_ms = json_integer_value(tmo);
	if (ex) {
		json_array_foreach(ex, i, v)
			if (!json_is_string(v))
				break;
		if (!json_is_array(ex) || i < json_array_size(ex)) {
			snprintf(why, len, "conf.exempt_namespaces must be an array of namespace names");
			return -EINVAL;
		}
		json_decref(hc->exempt);
		hc->exempt = json_incref(ex);
	}
	return 0;
}

json_t *tw_hook_ns_list(const char *csv)
{
	json_t *list = json_array();
	char *copy = strdup(csv), *tok, *save;

	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(list, json_string(tok));
	free(copy);
	return list;
}

void tw_hook_conf_free(struct tw_hook_conf *hc)
{
	json_decref(hc->exempt);
	hc->exempt = NULL;
}

static bool exempt(const struct tw_hook_conf *hc, const char *ns)
{
	json_t *v;
	size_t i;

	json_array_foreach(hc->exempt, i, v)
		if (ns && !strcmp(json_string_value(v), ns))
			return true;
	return false;
}

/* The container's cgroup: the kernel's answer for its pid, else the runtime's path. */
static int container_cgroup(const struct tw_rt_container *c, char *out, size_t len,
			    char *why, size_t whylen)
{
	int err = tw_pid_cgroup(c->pid, out, len);

	if (!err)
		return 0;
	if (!tw_runtime_cgroup(c->cgroups_path, out, len))
		return 0;
	snprintf(why, whylen, "cannot find the cgroup of container %s: pid %d: %s; cgroupsPath \"%s\" "
		 "is not a cgroupfs or systemd path", c->id, c->pid, strerror(-err),
		 c->cgroups_path ? c->cgroups_path : "");
	return err;
}

int tw_hook_invoke(const struct tw_rt_adapter *rt, json_t *conf, const char *name)
{
	struct tw_hook_conf hc = {};
	struct tw_rt_container c;
	char why[2048] = "", note[512] = "";
	json_t *req = NULL;
	int err;

	err = rt->read(stdin, &req, &c, why, sizeof(why));
	if (!err)
		err = tw_hook_conf(conf ? conf : c.conf, &hc, why, sizeof(why));
	if (!err)
		err = tw_hook_place(&hc, &c, why, sizeof(why), note, sizeof(note));
	/* The runtime shows stderr in its log: one line per decision that matters. */
	if (err)
		fprintf(stderr, "%s: refused %s: %s\n", name, c.id ? c.id : "?", why);
	else if (note[0])
		fprintf(stderr, "%s: %s/%s %s: %s%s\n", name, c.ns ? c.ns : "", c.pod ? c.pod : "",
			c.container ? c.container : "", strncmp(note, "untiered", 8) ? "tier " : "", note);
	err = rt->reply(stdout, req, err ? why : NULL);
	tw_hook_conf_free(&hc);
	json_decref(req);
	return err;
}

json_t *tw_pod_request(const struct tw_rt_container *c, const char *cg)
{
	json_t *req = json_pack("{s:s, s:s, s:s?, s:O?, s:{s:s?, s:s?, s:s?, s:s?, s:s?}}",
				"cmd", "pod", "cgroup", cg, "namespace", c->ns,
				"labels", c->labels, "meta", "pod", c->pod, "namespace", c->ns,
				"container", c->container, "pod_uid", c->pod_uid,
				"container_id", c->id);

	if (req && !json_is_object(json_object_get(req, "labels")))
		json_object_set_new(req, "labels", json_object());
	/* The daemon places it as it placed the sandbox of that id. */
	if (req && c->by_sandbox)
		json_object_set_new(req, "sandbox", json_string(c->sandbox_id));
	return req;
}

int tw_hook_place(const struct tw_hook_conf *hc, const struct tw_rt_container *c,
		  char *why, size_t len, char *note, size_t notelen)
{
	uint64_t end = now_ms() + hc->timeout_ms;
	char cg[4096], last[512] = "no answer";
	bool ex = exempt(hc, c->ns);
	json_t *req, *reply = NULL;
	int err;

	note[0] = '\0';
	if (c->event != TW_RT_START)
		return 0;
	err = container_cgroup(c, cg, sizeof(cg), why, len);
	if (err)
		return err;
	if (c->tag_parent && strrchr(cg, '/') && strrchr(cg, '/') != cg)
		*strrchr(cg, '/') = '\0';
	req = tw_pod_request(c, cg);
	if (!req) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		int64_t left = (int64_t)(end - now_ms());
		struct timespec ts = { 0, RETRY_MS * 1000000L };

		if (left <= 0)
			break;
		err = tw_ctl_call(hc->socket, req, &reply, (int)left);
		if (!err && json_is_true(json_object_get(reply, "ok"))) {
			json_t *t = json_object_get(reply, "tier");

			snprintf(note, notelen, "%s", json_is_string(t) ? json_string_value(t) : "");
			json_decref(reply);
			json_decref(req);
			return 0;
		}
		if (!err && !json_is_true(json_object_get(reply, "starting"))) {
			/* The daemon answered: this pod must not run, exempt or not. */
			snprintf(why, len, "tierwall: %s", json_string_value(json_object_get(reply, "error")));
			json_decref(reply);
			json_decref(req);
			return -EPERM;
		}
		if (!err)
			snprintf(last, sizeof(last), "tierwalld is starting");
		else
			snprintf(last, sizeof(last), "%s: %s", hc->socket, strerror(-err));
		json_decref(reply);
		reply = NULL;
		/* No daemon at all: an exempt pod need not wait for one. */
		if (ex && (err == -ENOENT || err == -ECONNREFUSED))
			break;
		if (left > RETRY_MS)
			nanosleep(&ts, NULL);
	}
	json_decref(req);
	if (ex) {
		snprintf(note, notelen, "untiered: tierwalld did not answer (%s); namespace %s is exempt",
			 last, c->ns);
		return 0;
	}
	snprintf(why, len, "tierwall: tierwalld did not confirm the tier of pod %s/%s container %s within "
		 "%d ms (%s): refusing to start it (fail closed; only namespaces exempt in the hook's "
		 "configuration start without tierwalld)", c->ns ? c->ns : "?", c->pod ? c->pod : "?",
		 c->container ? c->container : c->id, hc->timeout_ms, last);
	return -ETIMEDOUT;
}
