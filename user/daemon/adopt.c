// SPDX-License-Identifier: GPL-2.0
/*
 * Pods that were running before the daemon (an install, an upgrade, a
 * restart with no state) never passed the runtime hook. Once the daemon
 * enforces, a thread asks the runtime's CRI for the running pods (labels,
 * namespace) and containers (pid, hence cgroup) and sends each container
 * to the daemon's own control socket as the hook's "pod" request, so the
 * tier, the tag, its events and its persistence are the hook's to the
 * byte. The thread keeps the CRI's latency (and a hung runtime) off the
 * event loop; what it could not place is listed in status and logged.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "adopt.h"
#include "cri.h"
#include "ctl.h"
#include "log.h"
#include "runtime.h"

#define CALL_MS		2000	/* one CRI call */
#define PLACE_MS	2000	/* one pod request to ourselves */
#define SYNC_MS		30000	/* the whole sync: past it, the rest is reported unplaced */

static struct {
	const char *socket;
	char ctl[108];
	pthread_t thread;
	bool running, logged;
	volatile bool stop;
	pthread_mutex_t lock;
	json_t *status;		/* under lock */
} ad = { .socket = TW_CRI_DEFAULT, .lock = PTHREAD_MUTEX_INITIALIZER };

struct sync {
	struct tw_cri *cri;
	json_t *st, *unplaced;
	uint64_t deadline;
	int placed, untiered;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dm_adopt_socket(const char *path)
{
	ad.socket = path;
}

static void publish(json_t *st)
{
	pthread_mutex_lock(&ad.lock);
	json_decref(ad.status);
	ad.status = json_deep_copy(st);
	pthread_mutex_unlock(&ad.lock);
}

json_t *dm_adopt_status(void)
{
	json_t *o;

	pthread_mutex_lock(&ad.lock);
	/* Before the sync starts: "waiting" (for enforcement to be complete), or "off" when not asked. */
	o = ad.status ? json_deep_copy(ad.status) : json_pack("{s:s, s:s}", "socket", ad.socket,
				"state", strcmp(ad.socket, "none") ? "waiting" : "off");
	pthread_mutex_unlock(&ad.lock);
	return o;
}

static const char *s(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void unplaced(struct sync *y, json_t *pod, const char *id, const char *name, const char *why)
{
	json_array_append_new(y->unplaced, json_pack("{s:s?, s:s?, s:s?, s:s, s:s}", "pod", s(pod, "name"),
		"namespace", s(pod, "namespace"), "container", name, "container_id", id, "reason", why));
}

/* One container (or a pod's sandbox) to the daemon, as the hook would send it: 0 or -errno with why. */
static int place(struct sync *y, json_t *pod, const char *id, const char *name, bool sandbox,
		 char *why, size_t len)
{
	json_t *labels = json_object_get(pod, "labels"), *req, *reply = NULL;
	struct tw_rt_container c = {
		.event = TW_RT_START, .id = id, .sandbox_id = s(pod, "id"), .is_sandbox = sandbox,
		.labels = labels, .container = name,
		/* The sandbox's metadata, else the kubelet's labels: the hook reads the labels. */
		.pod = s(pod, "name") ?: s(labels, TW_LABEL_POD_NAME),
		.ns = s(pod, "namespace") ?: s(labels, TW_LABEL_POD_NAMESPACE),
		.pod_uid = s(pod, "uid") ?: s(labels, TW_LABEL_POD_UID),
	};
	int err, left = (int)(y->deadline - now_ms());
	char cg[4096];

	if (left <= 0 || ad.stop) {
		snprintf(why, len, "the sync ran out of time");
		return -ETIMEDOUT;
	}
	err = tw_cri_pid(y->cri, id, sandbox, left < CALL_MS ? left : CALL_MS, &c.pid, why, len);
	if (err)
		return err;
	err = tw_pid_cgroup(c.pid, cg, sizeof(cg));
	if (err) {
		snprintf(why, len, "no cgroup for pid %d: %s", c.pid, strerror(-err));
		return err;
	}
	if (strstr(cg, "/..")) {
		snprintf(why, len, "cgroup %s of pid %d is outside this daemon's cgroup namespace", cg, c.pid);
		return -EXDEV;
	}
	req = tw_pod_request(&c, cg);
	if (!req)
		return -ENOMEM;
	json_object_set_new(json_object_get(req, "meta"), "via", json_string("cri"));
	err = tw_ctl_call(ad.ctl, req, &reply, PLACE_MS);
	json_decref(req);
	if (err) {
		snprintf(why, len, "the daemon did not answer: %s", strerror(-err));
	} else if (!json_is_true(json_object_get(reply, "ok"))) {
		snprintf(why, len, "%s", s(reply, "error") ?: "refused");
		err = -EPERM;
	} else if (json_is_string(json_object_get(reply, "tier"))) {
		y->placed++;
	} else {
		y->untiered++;
	}
	json_decref(reply);
	return err;
}

static void place_or_report(struct sync *y, json_t *pod, const char *id, const char *name, bool sandbox)
{
	char why[1024];

	if (place(y, pod, id, name, sandbox, why, sizeof(why)))
		unplaced(y, pod, id, name, why);
}

static json_t *find_pod(json_t *pods, const char *id)
{
	json_t *p;
	size_t i;

	json_array_foreach(pods, i, p)
		if (id && !strcmp(s(p, "id"), id))
			return p;
	return NULL;
}

static void sync_pods(struct sync *y)
{
	json_t *pods = NULL, *ctrs = NULL, *v, *pod;
	char why[1024];
	size_t i;
	int err;

	err = tw_cri_list_pods(y->cri, CALL_MS, &pods, why, sizeof(why));
	if (!err)
		err = tw_cri_list_containers(y->cri, CALL_MS, &ctrs, why, sizeof(why));
	if (err) {
		json_object_set_new(y->st, "state", json_string("unreachable"));
		json_object_set_new(y->st, "error", json_string(why));
		goto out;
	}
	json_object_set_new(y->st, "pods", json_integer(json_array_size(pods)));
	json_object_set_new(y->st, "containers", json_integer(json_array_size(ctrs)));
	/* The sandbox first: a pod's own cgroup is tiered as the hook tiers it. */
	json_array_foreach(pods, i, pod)
		place_or_report(y, pod, s(pod, "id"), "POD", true);
	json_array_foreach(ctrs, i, v) {
		pod = find_pod(pods, s(v, "pod_sandbox_id"));
		if (pod)
			place_or_report(y, pod, s(v, "id"), s(v, "name"), false);
		else
			unplaced(y, NULL, s(v, "id"), s(v, "name"), "its pod sandbox is not ready");
	}
	json_object_set_new(y->st, "state", json_string("synced"));
out:
	json_decref(pods);
	json_decref(ctrs);
}

static void *run(void *arg)
{
	uint64_t t0 = now_ms();
	struct sync y = { .deadline = t0 + SYNC_MS, .unplaced = json_array() };
	char why[1024];
	struct stat sb;
	int err;

	y.st = json_pack("{s:s, s:s, s:I, s:O}", "socket", ad.socket, "state", "syncing",
			 "started_at", (json_int_t)time(NULL), "unplaced", y.unplaced);
	publish(y.st);
	if (stat(ad.socket, &sb) && errno == ENOENT && !strcmp(ad.socket, TW_CRI_DEFAULT)) {
		/* A plain host: nothing to adopt, nothing wrong. */
		json_object_set_new(y.st, "state", json_string("none"));
		json_object_set_new(y.st, "note", json_string("no CRI socket"));
		goto out;
	}
	err = tw_cri_open(&y.cri, ad.socket, why, sizeof(why));
	if (err) {
		json_object_set_new(y.st, "state", json_string("unreachable"));
		json_object_set_new(y.st, "error", json_string(why));
		goto out;
	}
	sync_pods(&y);
	tw_cri_close(y.cri);
out:
	json_object_set_new(y.st, "placed", json_integer(y.placed));
	json_object_set_new(y.st, "untiered", json_integer(y.untiered));
	json_object_set_new(y.st, "duration_ms", json_integer(now_ms() - t0));
	publish(y.st);
	json_decref(y.unplaced);
	json_decref(y.st);
	return NULL;
}

void dm_adopt_start(struct daemon *d)
{
	int err;

	if (!strcmp(ad.socket, "none"))
		return;
	snprintf(ad.ctl, sizeof(ad.ctl), "%s", d->sock_path);
	ad.stop = false;
	ad.logged = false;
	err = pthread_create(&ad.thread, NULL, run, NULL);
	if (err) {
		tw_warn("cannot start the CRI sync: %s: running pods are not tiered", strerror(err));
		return;
	}
	ad.running = true;
}

static bool finished(void)
{
	const char *state;
	bool done;

	pthread_mutex_lock(&ad.lock);
	state = json_string_value(json_object_get(ad.status, "state"));
	done = state && strcmp(state, "syncing") && json_object_get(ad.status, "duration_ms");
	pthread_mutex_unlock(&ad.lock);
	return done;
}

void dm_adopt_tick(struct daemon *d)
{
	json_t *st, *v;
	size_t i;

	if (!ad.running || ad.logged || !finished())
		return;
	pthread_join(ad.thread, NULL);
	ad.running = false;
	ad.logged = true;
	st = dm_adopt_status();
	json_array_foreach(json_object_get(st, "unplaced"), i, v)
		tw_warn("CRI sync: pod %s/%s container %s not tiered: %s", s(v, "namespace") ?: "?",
			s(v, "pod") ?: "?", s(v, "container") ?: "?", s(v, "reason"));
	if (!strcmp(s(st, "state"), "unreachable"))
		tw_warn("CRI sync: %s: pods that ran before this daemon are not tiered", s(st, "error"));
	else if (!strcmp(s(st, "state"), "synced"))
		tw_info("CRI sync: %lld running pods, %lld tiered containers, %lld untiered, %zu not placed",
			json_integer_value(json_object_get(st, "pods")),
			json_integer_value(json_object_get(st, "placed")),
			json_integer_value(json_object_get(st, "untiered")),
			json_array_size(json_object_get(st, "unplaced")));
	json_object_del(st, "started_at");
	dm_log_daemon(d, "cri_sync", st);
	dm_log_flush(d);
}

void dm_adopt_stop(struct daemon *d)
{
	if (ad.running) {
		ad.stop = true;		/* bounded: the call in flight has its deadline */
		pthread_join(ad.thread, NULL);
		ad.running = false;
	}
	pthread_mutex_lock(&ad.lock);
	json_decref(ad.status);
	ad.status = NULL;
	pthread_mutex_unlock(&ad.lock);
}
