// SPDX-License-Identifier: GPL-2.0
/*
 * Runs (`tierwall run`): a command in a fresh cgroup with a tier, created,
 * tagged and removed by the daemon, and a tally of every out-of-tier attempt
 * made from it. The cgroup is made below the caller's own cgroup when that
 * is inside the daemon's root (the caller's limits still hold, and a run
 * started inside a run is part of it), else in ROOT/tierwall-runs. Its tag
 * (source "run", with the audit flag for --audit) is kept in the state file
 * like any runtime tag. The tally is made from the log itself: every line
 * the log writes passes here, and those of the run's cgroup tree are
 * counted, so after the drain request the counts are the kernel's, folded
 * repeats included.
 *
 *   run      {tier, audit, pid, command}  the caller's waiting child moves in
 *   run_stop {id}          kill what is left; "empty" once nothing runs there
 *   run_end  {id, seq}     after drain: the summary, the cgroups removed
 *
 * A run whose requester is gone (killed before run_end) is stopped and
 * removed by the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "reply.h"
#include "log.h"
#include "persist.h"
#include "runpid.h"
#include "runs.h"
#include "tags.h"
#include "tagwatch.h"
#include "util.h"

#define MAX_RUNS	1024
#define MAX_ROWS	1000		/* distinct targets listed per run */
#define GC_NS		1000000000ull
#define RUNS_DIR	"tierwall-runs"

struct run {
	char id[32];
	char rel[PATH_MAX];		/* the cgroup as records name it */
	size_t rel_len;
	json_t *rows;			/* "kind verdict target_tier target rule" -> row */
	uint64_t attempts, lost;
	bool truncated;
};

static struct {
	struct run *r[MAX_RUNS];
	int n;
	uint64_t next_gc;
	char why[256];
} runs;

/* ---- the tally, from the log's own lines ---- */

static bool under(const char *path, const char *rel, size_t n)
{
	return path && !strncmp(path, rel, n) && (path[n] == '\0' || path[n] == '/');
}

static void target_of(json_t *o, const char *kind, char *out, size_t len)
{
	json_t *dst = json_object_get(o, "dst");
	const char *host = json_string_value(json_object_get(o, "hostname"));

#define S(obj, k) (json_string_value(json_object_get(obj, k)) ?: "?")
	if (!strcmp(kind, "dns"))
		snprintf(out, len, "%s %s", S(o, "name"), S(o, "qtype"));
	else if (dst)
		snprintf(out, len, "%s:%lld/%s%s%s%s", S(dst, "ip"),
			 json_integer_value(json_object_get(dst, "port")), S(dst, "proto"),
			 host ? " (" : "", host ?: "", host ? ")" : "");
	else if (!strcmp(kind, "file"))
		snprintf(out, len, "%s", S(o, "path"));
	else if (!strcmp(kind, "socket"))
		snprintf(out, len, "%s %s/%s/%s", S(o, "op"), S(o, "family"), S(o, "type"),
			 S(o, "protocol"));
	else
		snprintf(out, len, "%s%s%s", S(o, "op"), json_object_get(o, "command") ? " " : "",
			 json_string_value(json_object_get(o, "command")) ?: "");
#undef S
}

static void count_record(struct run *r, json_t *o)
{
	const char *kind = json_string_value(json_object_get(o, "kind")) ?: "?";
	const char *verdict = json_string_value(json_object_get(o, "verdict"));
	const char *target_tier = json_string_value(json_object_get(o, "target_tier"));
	const char *rule = json_string_value(json_object_get(o, "rule")) ?:
			   json_string_value(json_object_get(o, "reason"));
	json_int_t n = json_integer_value(json_object_get(o, "count")) ?: 1;
	char target[PATH_MAX + 64], key[2 * PATH_MAX];
	json_t *row;

	if (!verdict || (strcmp(verdict, "deny") && strcmp(verdict, "audit")))
		return;	/* own-tier use ("log": "all") is no attempt */
	r->attempts += n;
	target_of(o, kind, target, sizeof(target));
	snprintf(key, sizeof(key), "%s\x1f%s\x1f%s\x1f%s\x1f%s", kind, verdict, target_tier ?: "",
		 target, rule ?: "");
	row = json_object_get(r->rows, key);
	if (row) {
		json_object_set_new(row, "count",
				    json_integer(json_integer_value(json_object_get(row, "count")) + n));
	} else if (json_object_size(r->rows) < MAX_ROWS) {
		json_object_set_new(r->rows, key, json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:I}",
			"kind", kind, "verdict", verdict, "target_tier", target_tier, "target", target,
			"rule", rule, "count", (json_int_t)n));
	} else {
		r->truncated = true;	/* counted in attempts, not listed */
	}
}

static void tally_line(const char *line, size_t len)
{
	bool lost = memmem(line, len, "\"kind\":\"lost\"", 13) != NULL;
	json_t *o = NULL;
	int i;

	for (i = 0; i < runs.n; i++) {
		struct run *r = runs.r[i];

		if (!lost && !memmem(line, len, r->id, strlen(r->id)))
			continue;	/* cheap: the run's id is its cgroup's name */
		if (!o && !(o = json_loadb(line, len, 0, NULL)))
			return;
		if (lost)
			r->lost += json_integer_value(json_object_get(o, "count"));
		else if (under(json_string_value(json_object_get(o, "cgroup")), r->rel, r->rel_len) ||
			 under(json_string_value(json_object_get(o, "tagged_cgroup")), r->rel, r->rel_len))
			count_record(r, o);
	}
	json_decref(o);
}

void dm_runs_on_flush(void *arg, const char *lines, size_t len)
{
	const char *p = lines, *end = lines + len;

	dm_print_lines(arg, lines, len);
	while (runs.n && p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		tally_line(p, n);
		p += n + 1;
	}
}

/* ---- finding runs and their processes ---- */

static int find_run_tag(struct daemon *d, const char *id)
{
	int i;

	for (i = 0; id && i < d->ntags; i++)
		if (d->tags[i].source == TAG_RUN &&
		    !strcmp(json_string_value(json_object_get(d->tags[i].meta, "run")) ?: "", id))
			return i;
	return -1;
}

static int find_run(const char *id)
{
	int i;

	for (i = 0; i < runs.n; i++)
		if (!strcmp(runs.r[i]->id, id))
			return i;
	return -1;
}

static void forget_run(int i)
{
	json_decref(runs.r[i]->rows);
	free(runs.r[i]);
	runs.r[i] = runs.r[--runs.n];
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		err = -errno;
	close(fd);
	return err;
}

static bool populated(const char *abs)
{
	char path[PATH_MAX + 32], *text = NULL;
	bool yes;

	snprintf(path, sizeof(path), "%s/cgroup.events", abs);
	if (tw_read_file(path, &text, NULL))
		return false;	/* gone */
	yes = strstr(text, "populated 1") != NULL;
	free(text);
	return yes;
}

/* Kernels before 5.14 have no cgroup.kill: every process of the tree, by pid. */
static int kill_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	char procs[PATH_MAX + 32], *text = NULL, *p;

	if (type != FTW_D)
		return 0;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	if (tw_read_file(procs, &text, NULL))
		return 0;
	for (p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		if (atoi(p) > 0)
			kill(atoi(p), SIGKILL);
	free(text);
	return 0;
}

static void kill_tree(const char *abs)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/cgroup.kill", abs);
	if (write_str(path, "1") == -ENOENT)
		nftw(abs, kill_cb, 16, FTW_PHYS | FTW_MOUNT);
}

static int rmdir_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (type == FTW_DP && rmdir(path) && errno != ENOENT)
		return -errno;
	return 0;
}

/* The run's tags (its own and any below it), then its cgroups, deepest first. */
static int remove_tree(struct daemon *d, const char *abs)
{
	size_t n = strlen(abs);
	int i;

	for (i = 0; i < d->ntags; i++)
		if (!strncmp(d->tags[i].path, abs, n) &&
		    (d->tags[i].path[n] == '\0' || d->tags[i].path[n] == '/') &&
		    d->tags[i].source != TAG_POLICY && !dm_remove_tag(d, i))
			i--;
	dm_state_save(d);
	return nftw(abs, rmdir_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) ? -EBUSY : 0;
}

/* ---- who may ---- */

static const char *tier_of_pid(struct daemon *d, int pid)
{
	char abs[PATH_MAX];
	int i;

	if (dm_cgroup_of_pid(d, pid, abs, sizeof(abs)) || (i = dm_effective_tag(d, abs)) < 0)
		return NULL;
	/* NULL (untiered, pending) stands for "may run any tier" as for untagged callers */
	return dm_tier_name(d, d->tags[i].tier);
}

const char *dm_runs_forbidden(struct daemon *d, int pid, const char *cmd, json_t *req)
{
	const char *own = tier_of_pid(d, pid), *want;
	char abs[PATH_MAX];
	int i;

	if (strcmp(cmd, "run") && strcmp(cmd, "attest") && strcmp(cmd, "run_stop") &&
	    strcmp(cmd, "run_end"))
		return NULL;
	if (dm_cgroup_of_pid(d, pid, abs, sizeof(abs)))
		return "the process that connected is gone";	/* not known to be untiered */
	if (!own)
		return NULL;	/* an untiered caller (root) may run any tier */
	if (!strcmp(cmd, "run") || !strcmp(cmd, "attest")) {
		want = json_string_value(json_object_get(req, "tier")) ?: "";
		if (strcmp(want, own))
			snprintf(runs.why, sizeof(runs.why), "a tiered process may run commands (and "
				 "attest them) only in its own tier (%s), not in %s", own, want);
		else if (json_is_true(json_object_get(req, "audit")))
			snprintf(runs.why, sizeof(runs.why), "a tiered process may not run in audit "
				 "mode: what it would be refused would be let through");
		else
			return NULL;
		return runs.why;
	}
	i = find_run_tag(d, json_string_value(json_object_get(req, "id")));
	if (i < 0 || !strcmp(dm_tier_name(d, d->tags[i].tier), own))
		return NULL;
	snprintf(runs.why, sizeof(runs.why), "a tiered process may end only runs of its own tier");
	return runs.why;
}

/* ---- run ---- */

/* Where the run's cgroup goes: below the caller's own, if that is inside our root. */
static int run_parent(struct daemon *d, int pid, char *out, size_t len)
{
	size_t n = strlen(d->root);

	if (!dm_cgroup_of_pid(d, pid, out, len) && !strncmp(out, d->root, n) &&
	    (out[n] == '\0' || out[n] == '/'))
		return 0;
	snprintf(out, len, "%s/%s", d->root, RUNS_DIR);
	return mkdir(out, 0755) && errno != EEXIST ? -errno : 0;
}

static json_t *cmd_run(struct daemon *d, const struct ucred *peer, int pidfd, json_t *req)
{
	const char *tier = json_string_value(json_object_get(req, "tier"));
	const char *command = json_string_value(json_object_get(req, "command"));
	bool audit = json_is_true(json_object_get(req, "audit"));
	int t, ppid = 0, pid, err;
	unsigned long long rstart;
	struct tag origin = { .source = TAG_RUN, .uid = peer->uid, .pid = peer->pid,
			      .flags = audit ? TW_TAG_AUDIT : 0 };
	char abs[PATH_MAX], why[PATH_MAX + 128], back[PATH_MAX + 32];
	uint8_t rnd[8];
	struct run *r;

	if (!tier || !(t = tw_policy_tier_id(d->policy, tier)))
		return dm_reply_err("request needs \"tier\", a tier of the loaded policy");
	if (runs.n == MAX_RUNS)
		return dm_reply_err("too many runs at once");
	pid = dm_pidfd_child(pidfd, peer->pid, why, sizeof(why));
	if (pid < 0)
		return dm_reply_err("%s", why);
	if (dm_proc_stat(peer->pid, &ppid, &rstart))
		return dm_reply_err("the process that connected (pid %d) is gone", (int)peer->pid);
	err = run_parent(d, peer->pid, abs, sizeof(abs));
	snprintf(back, sizeof(back), "%s/cgroup.procs", abs);
	r = err ? NULL : calloc(1, sizeof(*r));
	if (!r || getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		free(r);
		snprintf(why, sizeof(why), "cannot create a cgroup in %s: %s", abs,
			 strerror(err ? -err : ENOMEM));
		return dm_reply_err("%s", why);
	}
	snprintf(r->id, sizeof(r->id), "run-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1],
		 rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	snprintf(abs + strlen(abs), sizeof(abs) - strlen(abs), "/%s", r->id);
	if (mkdir(abs, 0755)) {
		snprintf(why, sizeof(why), "cannot create %s: %s", abs, strerror(errno));
		free(r);
		return dm_reply_err("%s", why);
	}
	/* The requester's start time tells a reused pid from the requester. */
	origin.meta = json_pack("{s:s, s:b, s:I, s:s?}", "run", r->id, "audit", audit,
				"requester_start", (json_int_t)rstart, "command", command);
	err = dm_add_tag(d, abs, t, &origin, why, sizeof(why));
	json_decref(origin.meta);
	if (!err) {
		char procs[PATH_MAX + 32];

		snprintf(procs, sizeof(procs), "%s/cgroup.procs", abs);
		err = dm_pidfd_move(pidfd, pid, procs, back, why, sizeof(why));
	}
	if (err) {
		remove_tree(d, abs);	/* only the run's own, new cgroup */
		free(r);
		return dm_reply_err("%s", why);
	}
	dm_state_save(d);
	dm_tagwatch_update(d);
	snprintf(r->rel, sizeof(r->rel), "%s", dm_rel_path(d, abs));
	r->rel_len = strlen(r->rel);
	r->rows = json_object();
	runs.r[runs.n++] = r;
	dm_log_daemon(d, "run_start", json_pack("{s:s, s:s, s:s, s:b, s:s?, s:i, s:i, s:i}",
		"run", r->id, "cgroup", r->rel, "tier", tier, "audit", audit, "command", command,
		"command_pid", pid, "requested_by_uid", (int)peer->uid,
		"requested_by_pid", (int)peer->pid));
	return json_pack("{s:b, s:s, s:s, s:s}", "ok", 1, "id", r->id, "cgroup", r->rel,
			 "path", abs);
}

/* ---- run_stop, run_end ---- */

static json_t *cmd_run_stop(struct daemon *d, json_t *req)
{
	int i = find_run_tag(d, json_string_value(json_object_get(req, "id")));

	if (i < 0)
		return dm_reply_err("no such run (ended, or removed with the run it was started in)");
	if (populated(d->tags[i].path))
		kill_tree(d->tags[i].path);
	return json_pack("{s:b, s:b}", "ok", 1, "empty", !populated(d->tags[i].path));
}

static json_t *summary(struct run *r)
{
	json_t *rows = json_array(), *v;
	const char *k;

	json_object_foreach(r->rows, k, v)
		json_array_append(rows, v);
	return json_pack("{s:I, s:o, s:b, s:I}", "attempts", (json_int_t)r->attempts,
			 "targets", rows, "truncated", r->truncated, "lost", (json_int_t)r->lost);
}

/* The run is over: what it attempted, on the record, and its cgroups gone. */
static void end_run(struct daemon *d, int ti, int ri, json_t *extra)
{
	char abs[PATH_MAX], id[32];
	struct run *r = ri >= 0 ? runs.r[ri] : NULL;
	json_t *rec;

	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(d->tags[ti].meta, "run")));
	rec = json_pack("{s:s, s:s, s:s}", "run", id, "cgroup", dm_rel_path(d, d->tags[ti].path),
			"tier", dm_tier_name(d, d->tags[ti].tier));

	if (r)
		json_object_update_new(rec, json_pack("{s:I, s:I, s:I}", "attempts",
			(json_int_t)r->attempts, "targets", (json_int_t)json_object_size(r->rows),
			"lost", (json_int_t)r->lost));
	json_object_update_new(rec, extra);
	snprintf(abs, sizeof(abs), "%s", d->tags[ti].path);
	if (remove_tree(d, abs))
		tw_warn("run %s: cannot remove %s: %s", id, abs, strerror(errno));
	dm_log_daemon(d, "run_end", rec);
	if (r)
		forget_run(ri);
}

static json_t *cmd_run_end(struct daemon *d, json_t *req)
{
	const char *id = json_string_value(json_object_get(req, "id"));
	json_int_t seq = json_integer_value(json_object_get(req, "seq"));
	int ti = find_run_tag(d, id), ri = id ? find_run(id) : -1;
	const char *incomplete = NULL;
	json_t *reply;

	if (ti < 0)
		return dm_reply_err("no such run (ended, or removed with the run it was started in)");
	if (populated(d->tags[ti].path))
		return dm_reply_err("the run still has processes: run_stop first");
	if (!seq || (uint64_t)seq > tw_evlog_seq(d->log))
		return dm_reply_err("\"seq\" must be what the drain request returned");
	if (ri < 0)
		incomplete = "the daemon restarted during the run: its records are in the log, not counted here";
	else if (runs.r[ri]->lost)
		incomplete = "records were lost while it ran (ring buffer full or log unwritable): "
			     "some attempts may not be counted";
	reply = ri >= 0 ? summary(runs.r[ri]) : json_object();
	json_object_set_new(reply, "ok", json_true());
	json_object_set_new(reply, "run", json_string(id));
	json_object_set_new(reply, "logged_through", json_integer(seq));
	json_object_set_new(reply, "incomplete", incomplete ? json_string(incomplete) : json_null());
	end_run(d, ti, ri, json_pack("{s:O?, s:s?}", "exit", json_object_get(req, "exit"),
				     "incomplete", incomplete));
	return reply;
}

json_t *dm_cmd_run(struct daemon *d, const struct ucred *peer, int pidfd, const char *cmd,
		   json_t *req)
{
	if (!strcmp(cmd, "run"))
		return cmd_run(d, peer, pidfd, req);
	if (!strcmp(cmd, "run_stop"))
		return cmd_run_stop(d, req);
	return cmd_run_end(d, req);
}

/* ---- runs nobody waits for ---- */

void dm_runs_tick(struct daemon *d)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	unsigned long long start;
	int i, ppid, before;

	if (now < runs.next_gc)
		return;
	runs.next_gc = now + GC_NS;
	for (i = 0; i < d->ntags; i++) {
		struct tag *t = &d->tags[i];
		const char *id = json_string_value(json_object_get(t->meta, "run"));
		json_int_t want = json_integer_value(json_object_get(t->meta, "requester_start"));

		if (t->source != TAG_RUN || !id)
			continue;
		if (!dm_proc_stat(t->pid, &ppid, &start) && (json_int_t)start == want)
			continue;	/* its tierwall run still waits for it */
		if (populated(t->path)) {
			kill_tree(t->path);
			continue;	/* removed at a later tick, once empty */
		}
		before = d->ntags;
		tw_warn("run %s: its requester (pid %d) is gone: removing %s", id, t->pid, t->path);
		end_run(d, i, find_run(id), json_pack("{s:b}", "abandoned", 1));
		if (d->ntags < before)
			i = -1;	/* the tags moved: look again from the start */
	}
	for (i = 0; i < runs.n; i++)
		if (find_run_tag(d, runs.r[i]->id) < 0)
			forget_run(i--);	/* untagged or removed by hand */
}
