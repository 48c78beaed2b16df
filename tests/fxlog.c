// SPDX-License-Identifier: GPL-2.0
/*
 * The fixture's reading of the event log (see fixture.h). A decision is in
 * the log once the daemon has answered a drain request made after it, so
 * the waits for decisions ask for one and then read the log once: no poll
 * count, no sleep deciding "done". Only when no daemon answers (stopped,
 * restarting) do they poll, and records the daemon writes on its own time
 * (fx_await) are polled for; both up to a last-resort deadline.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "ctl.h"
#include "fixture.h"
#include "util.h"

#define EVENT_MS	60000	/* last resort for a record to appear (TW_TEST_TIMEOUT_SCALE) */
#define RELOAD_MS	120000	/* for a reload's result: it loads every program again */
#define POLL_US		(50 * 1000)

int fx_timeout_ms(int ms)
{
	const char *s = getenv("TW_TEST_TIMEOUT_SCALE");
	double k = s ? strtod(s, NULL) : 1, v;

	/* Only ever longer: a deadline is a last resort, never what passes a test. */
	v = ms * (k > 1 ? k : 1);
	return v < 1e9 ? (int)v : 1000000000;
}

long long fx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int fx_drain(struct fx *f)
{
	json_t *req = json_pack("{s:s}", "cmd", "drain"), *r = NULL;
	int err = tw_ctl_call(f->sock, req, &r, fx_timeout_ms(EVENT_MS));

	if (!err && !json_is_true(json_object_get(r, "ok")))
		err = -EAGAIN;	/* starting, or the log cannot be written now */
	json_decref(req);
	json_decref(r);
	return err;
}

/* Does path lie at or below dir? */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return path && !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

/*
 * A shared daemon's slot (fx_share) sees its own cgroups' records and the
 * daemon's; of those naming a file, only the ones below its own directory.
 */
static bool in_slot(const struct fx *f, json_t *o)
{
	json_t *c = json_object_get(o, "cgroup"), *p = json_object_get(o, "path");

	if (!f->borrowed)
		return true;
	if (!c)
		return !f->slot_files || !json_is_string(p) || below(json_string_value(p), f->tmp);
	/* A packet's record (egress) may know only the tagged cgroup. */
	if (json_is_null(c))
		c = json_object_get(o, "tagged_cgroup");
	/* Neither: a cgroup removed before its record was written, another slot's. */
	return below(json_string_value(c), f->slot);
}

/*
 * The first (or, with last, the newest) event match says yes to; count
 * counts them all. Only lines containing needle (if given) are parsed: a
 * wait reads a log of thousands of records many times.
 */
static json_t *scan_log(struct fx *f, bool (*match)(json_t *, const void *), const void *arg,
			const char *needle, int *count, bool last)
{
	char path[PATH_MAX * 2], *line = NULL;
	json_t *found = NULL;
	size_t cap = 0;
	FILE *l;

	snprintf(path, sizeof(path), "%s/events.jsonl", f->log_dir);
	l = fopen(path, "r");
	if (!l)
		return NULL;
	while (getline(&line, &cap, l) > 0) {
		json_t *o = needle && !strstr(line, needle) ? NULL : json_loads(line, 0, NULL);

		if (o && in_slot(f, o) && match(o, arg)) {
			if (count)
				(*count)++;
			if (!found || last) {
				json_decref(found);
				found = o;
				continue;
			}
		}
		json_decref(o);
	}
	free(line);
	fclose(l);
	return found;
}

/*
 * Until at least n events match (the first, or the newest, in *found if
 * asked): after an answered drain one read is final for decisions; without
 * one, or for records the daemon logs on its own (drained false), poll.
 */
static int await_log_ms(struct fx *f, bool (*match)(json_t *, const void *), const void *arg,
			const char *needle, int n, bool drained, bool last, json_t **found, int ms)
{
	long long end = fx_now_ms() + fx_timeout_ms(ms);
	bool final = drained && !fx_drain(f);
	json_t *o;
	int count;

	for (;;) {
		count = 0;
		o = scan_log(f, match, arg, needle, &count, last);
		if (count >= n || final || fx_now_ms() >= end)
			break;
		json_decref(o);
		usleep(POLL_US);
	}
	if (found)
		*found = o;
	else
		json_decref(o);
	return count;
}

static int await_log(struct fx *f, bool (*match)(json_t *, const void *), const void *arg,
		     const char *needle, int n, bool drained, bool last, json_t **found)
{
	return await_log_ms(f, match, arg, needle, n, drained, last, found, EVENT_MS);
}

json_t *fx_last_event(struct fx *f, bool (*match)(json_t *, const void *), const void *arg)
{
	return scan_log(f, match, arg, NULL, NULL, true);
}

json_t *fx_await(struct fx *f, bool (*match)(json_t *, const void *), const void *arg)
{
	json_t *o;

	await_log(f, match, arg, NULL, 1, false, false, &o);
	return o;
}

json_t *fx_await_decision(struct fx *f, bool (*match)(json_t *, const void *), const void *arg)
{
	json_t *o;

	await_log(f, match, arg, NULL, 1, true, true, &o);
	return o;
}

struct ev_key {
	pid_t pid;
	int port;
	const char *kind;
	const char *event;
};

static bool match_pid_port(json_t *o, const void *arg)
{
	const struct ev_key *k = arg;

	return json_integer_value(json_object_get(o, "pid")) == k->pid &&
	       json_integer_value(json_object_get(json_object_get(o, "dst"), "port")) == k->port;
}

static bool match_kind_pid(json_t *o, const void *arg)
{
	const struct ev_key *k = arg;
	const char *kind = json_string_value(json_object_get(o, "kind"));

	return kind && !strcmp(kind, k->kind) &&
	       (!k->pid || json_integer_value(json_object_get(o, "pid")) == k->pid);
}

static bool match_daemon(json_t *o, const void *arg)
{
	const struct ev_key *k = arg;
	const char *e = json_string_value(json_object_get(o, "event"));

	return e && !strcmp(e, k->event);
}

json_t *fx_event(struct fx *f, pid_t pid, int port)
{
	struct ev_key k = { .pid = pid, .port = port };
	json_t *o;

	await_log(f, match_pid_port, &k, NULL, 1, true, false, &o);
	return o;
}

int fx_count_events(struct fx *f, const char *kind, pid_t pid)
{
	struct ev_key k = { .pid = pid, .kind = kind };
	int n = 0;

	json_decref(scan_log(f, match_kind_pid, &k, kind, &n, false));
	return n;
}

int fx_wait_events(struct fx *f, const char *kind, pid_t pid, int n)
{
	struct ev_key k = { .pid = pid, .kind = kind };

	return await_log(f, match_kind_pid, &k, kind, n, true, false, NULL);
}

json_t *fx_event_kind(struct fx *f, const char *kind, pid_t pid)
{
	struct ev_key k = { .pid = pid, .kind = kind };
	json_t *o;

	await_log(f, match_kind_pid, &k, kind, 1, true, false, &o);
	return o;
}

json_t *fx_daemon_event(struct fx *f, const char *what)
{
	struct ev_key k = { .event = what };

	return scan_log(f, match_daemon, &k, what, NULL, false);
}

json_t *fx_await_daemon_event(struct fx *f, const char *what)
{
	struct ev_key k = { .event = what };
	json_t *o;

	await_log(f, match_daemon, &k, what, 1, false, false, &o);
	return o;
}

int fx_await_daemon_events(struct fx *f, const char *what, int n)
{
	struct ev_key k = { .event = what };

	return await_log(f, match_daemon, &k, what, n, false, false, NULL);
}

/* A reload's result on the record: the new policy loaded, or the reload refused. */
static bool match_reload_result(json_t *o, const void *arg)
{
	const char *e = json_string_value(json_object_get(o, "event"));

	return e && (!strcmp(e, "policy_reload_failed") ||
		     (!strcmp(e, "policy_loaded") && json_is_true(json_object_get(o, "reload"))));
}

int fx_sighup_reload(struct fx *f)
{
	int before = 0;
	json_t *o;
	bool ok;

	/* Every earlier result is on disk: the daemon flushes each when it logs it. */
	json_decref(scan_log(f, match_reload_result, NULL, "policy_", &before, false));
	if (!f->daemon || kill(f->daemon, SIGHUP))
		return -ESRCH;
	if (await_log_ms(f, match_reload_result, NULL, "policy_", before + 1, false, true, &o,
			 RELOAD_MS) <= before) {
		json_decref(o);
		return -ETIMEDOUT;
	}
	ok = !strcmp(json_string_value(json_object_get(o, "event")) ?: "", "policy_loaded");
	json_decref(o);
	return ok ? 0 : 1;
}

bool fx_await_output(struct fx *f, const char *text)
{
	long long end = fx_now_ms() + fx_timeout_ms(EVENT_MS);
	char *out;
	size_t len;
	bool found;

	for (;;) {
		found = false;
		if (!tw_read_file(f->daemon_out, &out, &len)) {
			found = memmem(out, len, text, strlen(text)) != NULL;
			free(out);
		}
		if (found || fx_now_ms() >= end)
			return found;
		usleep(POLL_US);
	}
}
