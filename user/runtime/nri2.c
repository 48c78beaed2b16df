// SPDX-License-Identifier: GPL-2.0
/*
 * The NRI v2 plugin's session (containerd 1.7 and 2.x; wire in nri2.h).
 * One thread: the runtime calls its plugins one at a time and waits, so a
 * call is answered before the next is read.
 *
 *   RegisterPlugin  (ours, conn 2) first, then the runtime calls (conn 1):
 *   Configure       subscribe to RunPodSandbox, RemovePodSandbox,
 *                   CreateContainer, StartContainer
 *   Synchronize     place every running pod and container
 *   RunPodSandbox   tier the pod's cgroup (its cgroup parent) before any of
 *                   its containers exists: they are born below the tag
 *   CreateContainer place the pod if RunPodSandbox was missed (the plugin
 *                   connected later)
 *   StartContainer  tag the container's own cgroup with its names, so its
 *                   events say which container (same tier as its pod)
 *
 * Each answer comes only once tierwalld confirmed the tag (it is in the
 * kernel's map then) or refused the pod, and before the runtime's own
 * deadline for the call (its plugin_request_timeout, 2 s by default, sent
 * with each request): past it the runtime would drop the plugin and start
 * the pod anyway. A refusal (an unknown tier, no daemon outside the exempt
 * namespaces) is an error answer: the runtime does not start the pod.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "nri2.h"
#include "runtime.h"

#define NAME		"tierwall-nri-plugin"
#define DEFAULT_DEADLINE_MS	2000	/* containerd's plugin_request_timeout */
#define MARGIN_MS	300		/* answer this long before the runtime gives up */
#define MIN_BUDGET_MS	100
#define PLACED_MAX	4096		/* pods remembered as placed (a ring) */
#define REGISTER_STREAM	1

struct session {
	int fd;
	const struct tw_nri2_conf *conf;
	struct tw_hook_conf hc;
	struct nri2_rx rx;
	bool registered, configured, done;
	char (*placed)[72];
	unsigned nplaced;
};

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* How long a call may take: the runtime's deadline for it, less a margin. */
static int budget_ms(const struct nri2_req *r)
{
	int64_t ms = r->timeout_ns > 0 ? r->timeout_ns / 1000000 : DEFAULT_DEADLINE_MS;

	if (ms > 60000)
		ms = 60000;
	ms -= MARGIN_MS;
	return ms < MIN_BUDGET_MS ? MIN_BUDGET_MS : (int)ms;
}

static bool is_placed(const struct session *s, const char *id)
{
	unsigned i, n = s->nplaced < PLACED_MAX ? s->nplaced : PLACED_MAX;

	for (i = 0; id && *id && i < n; i++)
		if (!strcmp(s->placed[i], id))
			return true;
	return false;
}

static void set_placed(struct session *s, const char *id, bool placed)
{
	unsigned i, n = s->nplaced < PLACED_MAX ? s->nplaced : PLACED_MAX;

	for (i = 0; i < n; i++)
		if (!strcmp(s->placed[i], id)) {
			if (!placed)
				s->placed[i][0] = '\0';
			return;
		}
	if (placed && *id)
		snprintf(s->placed[s->nplaced++ % PLACED_MAX], sizeof(s->placed[0]), "%s", id);
}

/* The pod's cgroup: its cgroup parent, else the parent of its sandbox's cgroup. */
static int pod_cgroup(json_t *pod, char *out, size_t len)
{
	const char *parent = str(pod, "cgroup_parent");
	int pid = json_integer_value(json_object_get(pod, "pid"));
	char *slash;

	if (parent && *parent)
		return tw_runtime_cgroup(parent, out, len);
	if (tw_pid_cgroup(pid, out, len))
		return -ENOENT;
	slash = strrchr(out, '/');
	if (!slash || slash == out)
		return -ENOENT;
	*slash = '\0';
	return 0;
}

static void note_line(const struct session *s, const struct tw_rt_container *c,
		      int err, const char *why, const char *note)
{
	const char *what = c->container ?: "pod";

	if (err)
		fprintf(stderr, NAME ": refused %s/%s %s: %s\n", c->ns ?: "", c->pod ?: "", what, why);
	else if (!s->conf->quiet && note[0])
		fprintf(stderr, NAME ": %s/%s %s: %s%s\n", c->ns ?: "", c->pod ?: "", what,
			strncmp(note, "untiered", 8) ? "tier " : "", note);
}

/* Have tierwalld tier c within ms: 0 done, -errno with why to refuse. */
static int place(struct session *s, struct tw_rt_container *c, int ms, char *why, size_t len)
{
	struct tw_hook_conf hc = s->hc;
	char note[512];
	int err;

	hc.timeout_ms = ms;
	c->event = TW_RT_START;
	err = tw_hook_place(&hc, c, why, len, note, sizeof(note));
	note_line(s, c, err, why, note);
	return err;
}

static int place_pod(struct session *s, json_t *pod, int ms, char *why, size_t len)
{
	struct tw_rt_container c = {
		.id = str(pod, "id"), .sandbox_id = str(pod, "id"), .is_sandbox = true,
		.pod = str(pod, "name"), .ns = str(pod, "namespace"), .pod_uid = str(pod, "uid"),
		.labels = json_object_get(pod, "labels"),
	};
	char cg[4096];
	int err;

	if (!c.id || !*c.id) {
		snprintf(why, len, "tierwall: the runtime sent a pod without an id");
		return -EINVAL;
	}
	err = pod_cgroup(pod, cg, sizeof(cg));
	if (err) {
		snprintf(why, len, "tierwall: cannot find the cgroup of pod %s/%s: cgroup parent \"%s\", "
			 "sandbox pid %lld", c.ns ?: "?", c.pod ?: "?", str(pod, "cgroup_parent") ?: "",
			 json_integer_value(json_object_get(pod, "pid")));
		note_line(s, &c, err, why, "");
		return err;
	}
	c.cgroups_path = cg;
	err = place(s, &c, ms, why, len);
	if (!err)
		set_placed(s, c.id, true);
	return err;
}

/* A container's own tag, below its pod's: it names the container in events. */
static int place_container(struct session *s, json_t *pod, json_t *ctr, int ms, char *why, size_t len)
{
	struct tw_rt_container c = {
		.id = str(ctr, "id"), .sandbox_id = str(ctr, "pod_sandbox_id"),
		.pid = json_integer_value(json_object_get(ctr, "pid")),
		.cgroups_path = str(ctr, "cgroups_path"), .container = str(ctr, "name"),
		.pod = str(pod, "name"), .ns = str(pod, "namespace"), .pod_uid = str(pod, "uid"),
		.labels = json_object_get(pod, "labels"),
	};

	return place(s, &c, ms, why, len);
}

static int reply(struct session *s, uint32_t stream, int code, const char *msg,
		 const void *payload, size_t plen)
{
	uint8_t buf[4096];
	struct tw_pb_out o = { .p = buf, .cap = sizeof(buf) };

	nri2_resp_encode(&o, code, msg, payload, plen);
	if (o.err)
		return -EMSGSIZE;
	return nri2_send(s->fd, NRI2_CONN_PLUGIN, stream, NRI2_TT_RESPONSE, buf, o.len);
}

static int on_configure(struct session *s, uint32_t stream, const struct nri2_req *r)
{
	uint32_t events = NRI2_EVENT_BIT(NRI2_RUN_POD_SANDBOX) | NRI2_EVENT_BIT(NRI2_REMOVE_POD_SANDBOX) |
			  NRI2_EVENT_BIT(NRI2_CREATE_CONTAINER) | NRI2_EVENT_BIT(NRI2_START_CONTAINER);
	uint8_t buf[16];
	struct tw_pb_out o = { .p = buf, .cap = sizeof(buf) };
	char why[512] = "";
	json_t *req = NULL, *conf;
	int err;

	err = nri2_decode_configure(r->payload, r->payload_len, &req);
	if (err)
		return reply(s, stream, NRI2_INVALID_ARGUMENT, "tierwall: a ConfigureRequest that is not "
			     "one", NULL, 0);
	/* A pre-installed plugin's configuration is the runtime's: the v0.1 hook's "conf" keys. */
	if (s->conf->from_runtime && *str(req, "config")) {
		conf = json_loads(str(req, "config"), 0, NULL);
		tw_hook_conf_free(&s->hc);
		err = tw_hook_conf(conf ?: json_null(), &s->hc, why, sizeof(why));
		if (!conf)
			snprintf(why, sizeof(why), "the plugin's configuration is not JSON");
		json_decref(conf);
		if (!conf || err) {
			fprintf(stderr, NAME ": configuration from %s: %s\n", str(req, "runtime_name") ?: "?",
				why);
			json_decref(req);
			s->done = true;
			return reply(s, stream, NRI2_INVALID_ARGUMENT, why, NULL, 0);
		}
	}
	if (!s->conf->quiet)
		fprintf(stderr, NAME ": configured by %s %s; tierwalld at %s\n", str(req, "runtime_name") ?: "?",
			str(req, "runtime_version") ?: "?", s->hc.socket);
	json_decref(req);
	s->configured = true;
	nri2_encode_configure_reply(&o, events);
	return reply(s, stream, NRI2_OK, NULL, buf, o.len);
}

/* The pod of container ctr among the synchronized pods. */
static json_t *find_pod(json_t *pods, const char *id)
{
	json_t *p;
	size_t i;

	json_array_foreach(pods, i, p)
		if (id && !strcmp(str(p, "id") ?: "", id))
			return p;
	return NULL;
}

/*
 * Every running pod and container placed: within the call's budget when it
 * can be, the rest just after answering (the runtime's deadline covers the
 * whole list, and a pod is better placed late than not at all).
 */
#define LATE_MS		500
static int on_synchronize(struct session *s, uint32_t stream, const struct nri2_req *r)
{
	uint64_t end = now_ms() + budget_ms(r);
	json_t *sync, *pods, *ctrs, *v;
	int err = 0, failed = 0;
	bool answered = false;
	char why[1024];
	size_t i;

	err = nri2_decode_sync(r->payload, r->payload_len, &sync);
	if (err)
		return reply(s, stream, NRI2_INVALID_ARGUMENT, "tierwall: a SynchronizeRequest that is not "
			     "one", NULL, 0);
	pods = json_object_get(sync, "pods");
	ctrs = json_object_get(sync, "containers");
	for (i = 0; i < json_array_size(pods) + json_array_size(ctrs); i++) {
		int64_t left = (int64_t)(end - now_ms());

		if (!answered && left < MIN_BUDGET_MS) {
			err = reply(s, stream, NRI2_OK, NULL, NULL, 0);
			answered = true;
		}
		left = answered ? LATE_MS : left;
		if (i < json_array_size(pods)) {
			v = json_array_get(pods, i);
			failed += place_pod(s, v, (int)left, why, sizeof(why)) != 0;
		} else {
			v = json_array_get(ctrs, i - json_array_size(pods));
			failed += place_container(s, find_pod(pods, str(v, "pod_sandbox_id")) ?: json_object(),
						  v, (int)left, why, sizeof(why)) != 0;
		}
	}
	if (!s->conf->quiet)
		fprintf(stderr, NAME ": synchronized %zu pods and %zu containers (%d not placed)\n",
			json_array_size(pods), json_array_size(ctrs), failed);
	json_decref(sync);
	return answered ? err : reply(s, stream, NRI2_OK, NULL, NULL, 0);
}

static int on_event(struct session *s, uint32_t stream, const struct nri2_req *r, bool create)
{
	json_t *ev, *pod, *ctr;
	char why[2048] = "";
	int err = 0, ms = budget_ms(r);

	if (nri2_decode_event(r->payload, r->payload_len, create, &ev))
		return reply(s, stream, NRI2_INVALID_ARGUMENT, create ? "tierwall: a CreateContainerRequest "
			     "that is not one" : "tierwall: a StateChangeEvent that is not one", NULL, 0);
	pod = json_object_get(ev, "pod");
	ctr = json_object_get(ev, "container");
	switch (json_integer_value(json_object_get(ev, "event"))) {
	case NRI2_RUN_POD_SANDBOX:
		err = pod ? place_pod(s, pod, ms, why, sizeof(why)) : 0;
		break;
	case NRI2_CREATE_CONTAINER:
		if (pod && !is_placed(s, str(pod, "id")))
			err = place_pod(s, pod, ms, why, sizeof(why));
		break;
	case NRI2_START_CONTAINER:
		err = pod && ctr ? place_container(s, pod, ctr, ms, why, sizeof(why)) : 0;
		break;
	case NRI2_REMOVE_POD_SANDBOX:
		if (pod)
			set_placed(s, str(pod, "id") ?: "", false);
		break;
	}
	json_decref(ev);
	if (err)
		return reply(s, stream, NRI2_PERMISSION_DENIED, why, NULL, 0);
	return reply(s, stream, NRI2_OK, NULL, NULL, 0);
}

static int on_request(struct session *s, const struct nri2_msg *m, char *why, size_t len)
{
	struct nri2_req r;

	if (nri2_req_decode(m->data, m->len, &r)) {
		snprintf(why, len, "ttrpc request on stream %u is not a Request message", m->stream);
		return -EBADMSG;
	}
	if (nri2_req_is(&r, NRI2_SVC_PLUGIN, "Configure"))
		return on_configure(s, m->stream, &r);
	if (!s->configured)
		return reply(s, m->stream, NRI2_UNAVAILABLE, "tierwall: not configured yet", NULL, 0);
	if (nri2_req_is(&r, NRI2_SVC_PLUGIN, "Synchronize"))
		return on_synchronize(s, m->stream, &r);
	if (nri2_req_is(&r, NRI2_SVC_PLUGIN, "StateChange"))
		return on_event(s, m->stream, &r, false);
	if (nri2_req_is(&r, NRI2_SVC_PLUGIN, "CreateContainer"))
		return on_event(s, m->stream, &r, true);
	if (nri2_req_is(&r, NRI2_SVC_PLUGIN, "Shutdown")) {
		s->done = true;
		return reply(s, m->stream, NRI2_OK, NULL, NULL, 0);
	}
	if (nri2_req_is(&r, NRI2_SVC_PLUGIN, "UpdateContainer") ||
	    nri2_req_is(&r, NRI2_SVC_PLUGIN, "StopContainer"))
		return reply(s, m->stream, NRI2_OK, NULL, NULL, 0);
	return reply(s, m->stream, NRI2_UNIMPLEMENTED, "tierwall: method not implemented", NULL, 0);
}

static int on_message(struct session *s, const struct nri2_msg *m, char *why, size_t len)
{
	struct nri2_resp resp;

	if (m->conn == NRI2_CONN_PLUGIN && m->type == NRI2_TT_REQUEST)
		return on_request(s, m, why, len);
	if (m->conn == NRI2_CONN_RUNTIME && m->type == NRI2_TT_RESPONSE &&
	    m->stream == REGISTER_STREAM) {
		if (nri2_resp_decode(m->data, m->len, &resp)) {
			snprintf(why, len, "the answer to RegisterPlugin is not a Response message");
			return -EBADMSG;
		}
		if (resp.code) {
			snprintf(why, len, "the runtime refused to register the plugin: %s (code %d)",
				 resp.message, resp.code);
			return -EPERM;
		}
		s->registered = true;
		return 0;
	}
	return 0;	/* nothing else is ours: streams' data, answers we did not ask for */
}

static int register_plugin(struct session *s)
{
	uint8_t body[512], buf[1024];
	struct tw_pb_out b = { .p = body, .cap = sizeof(body) }, o = { .p = buf, .cap = sizeof(buf) };

	nri2_encode_register(&b, s->conf->name, s->conf->idx);
	nri2_req_encode(&o, NRI2_SVC_RUNTIME, "RegisterPlugin", body, b.len, 5000000000LL);
	if (b.err || o.err)
		return -EMSGSIZE;
	return nri2_send(s->fd, NRI2_CONN_RUNTIME, REGISTER_STREAM, NRI2_TT_REQUEST, buf, o.len);
}

static int serve(struct session *s, char *why, size_t len)
{
	uint8_t buf[65536];
	struct nri2_msg m;
	ssize_t n;
	int err;

	err = register_plugin(s);
	if (err) {
		snprintf(why, len, "RegisterPlugin: %s", strerror(-err));
		return err;
	}
	while (!s->done) {
		n = read(s->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(why, len, "the runtime closed the connection%s%s", n ? ": " : "",
				 n ? strerror(errno) : "");
			return 0;
		}
		err = nri2_rx_feed(&s->rx, buf, n);
		while (!err && !s->done && (err = nri2_rx_next(&s->rx, &m)) > 0)
			err = on_message(s, &m, why, len);
		if (err == -EBADMSG || err == -EMSGSIZE || err == -ENOMEM)
			snprintf(why, len, "%s", s->rx.err[0] ? s->rx.err : why);
		if (err < 0) {
			if (!why[0])
				snprintf(why, len, "%s", strerror(-err));
			return err;
		}
	}
	snprintf(why, len, "the runtime shut the plugin down");
	return 0;
}

int tw_nri2_serve(int fd, const struct tw_nri2_conf *conf, char *why, size_t len)
{
	struct session s = { .fd = fd, .conf = conf, .hc = conf->hc };
	int err;

	why[0] = '\0';
	s.hc.exempt = json_incref(conf->hc.exempt);
	s.placed = calloc(PLACED_MAX, sizeof(*s.placed));
	if (!s.placed) {
		snprintf(why, len, "out of memory");
		json_decref(s.hc.exempt);
		return -ENOMEM;
	}
	err = serve(&s, why, len);
	nri2_rx_free(&s.rx);
	free(s.placed);
	tw_hook_conf_free(&s.hc);
	return err < 0 ? err : s.configured;
}
