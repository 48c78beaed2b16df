// SPDX-License-Identifier: GPL-2.0
/*
 * tierwalld: loads a policy, tags cgroups with tiers, attaches the network
 * programs to the cgroup root, streams decisions from the ring buffer into
 * LOG_DIR/events.jsonl and answers the CLI on a Unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "compile.h"
#include "ctl.h"
#include "dns.h"
#include "event.h"
#include "evlog.h"
#include "follow.h"
#include "metrics.h"
#include "loader.h"
#include "log.h"
#include "lsm.h"
#include "policy.h"
#include "secrets.h"
#include "util.h"

#define TW_VERSION		"0.1.0"
#define DEFAULT_LOG_DIR		"/var/log/tierwall"
#define DEFAULT_PIN_DIR		"/sys/fs/bpf/tierwall"
#define POLL_MS			50	/* ring buffer drained at least this often */
#define PATH_CACHE		1024
#define MAX_TAGS		65536
#define MAX_HOST_ADDRS		65536
#define DNS_SETTLE_MS		3000	/* first answers awaited before attaching */

struct tag {
	uint64_t id;
	int level;
	int tier;
	bool from_policy;
	char *path;			/* absolute */
};

struct path_slot {
	uint64_t id;
	bool missing;
	char path[PATH_MAX];
};

struct daemon {
	/* options */
	const char *policy_file;
	const char *log_dir;
	const char *pin_dir;
	const char *sock_path;
	bool to_stdout;
	bool network_only;
	uint32_t ringbuf_bytes;
	long follow_queue_mb;
	long flood_ms;
	uint64_t next_flush;
	char root[PATH_MAX];		/* cgroup root, resolved */
	char mount[PATH_MAX];		/* cgroup2 mount */

	struct tw_policy *policy;
	struct tw_secrets *secrets;	/* NULL unless files are enforced */
	struct tw_dns *dns;		/* NULL unless the policy has exact hostnames */
	struct tw_dns_opts dns_opts;
	struct tw_tables tables;
	struct tw_bpf *bpf;
	struct ring_buffer *rb;
	struct tw_event_ctx ectx;
	char host[256];

	struct tag *tags;
	int ntags;

	struct tw_evlog *log;
	struct tw_followers *followers;
	struct tw_metrics *metrics;
	const char *metrics_addr;
	uint64_t loaded_at;		/* policy load time, unix seconds */
	/* Events written, by kind, verdict and tier: read by the metrics thread. */
	uint64_t by_kind[TW_EV_MAX + 1][3][TW_MAX_TIERS + 1];
	struct tw_evlog_opts log_opts;
	uint64_t logged, bad_records;
	uint64_t drops_reported;
	uint64_t refused_reported;
	uint64_t next_drop_check;

	int ctl_fd, sig_fd, ep_fd;
	struct path_slot *paths;
	struct { uint32_t dev; char path[PATH_MAX]; } mounts[16];
	int nmounts;
	bool stop;
};

/* ---- the event log ---- */

/* Written to the log first; only then shown anywhere else. */
static void print_lines(void *arg, const char *lines, size_t len)
{
	struct daemon *d = arg;

	if (d->to_stdout) {
		fwrite(lines, 1, len, stdout);
		fflush(stdout);
	}
	tw_followers_publish(d->followers, lines, len);
}

static void log_json(struct daemon *d, json_t *o)
{
	if (o && !tw_evlog_append(d->log, o))
		d->logged++;
}

static void log_flush(struct daemon *d)
{
	tw_evlog_flush(d->log);
}

static void log_daemon(struct daemon *d, const char *what, json_t *extra)
{
	json_t *o = tw_event_daemon(what, &d->ectx);

	if (o && extra)
		json_object_update(o, extra);
	json_decref(extra);
	log_json(d, o);
	log_flush(d);
}

/* ---- cgroup ids to paths, for events ---- */

static const char *cgroup_path_cb(void *arg, uint64_t id)
{
	struct daemon *d = arg;
	struct path_slot *s;
	char abs[PATH_MAX];

	if (!id)
		return NULL;
	s = &d->paths[id % PATH_CACHE];
	if (s->id != id) {
		s->id = id;
		s->missing = tw_cgroup_find(d->root, id, abs, sizeof(abs)) != 0;
		/* Paths as /proc/PID/cgroup shows them: from the cgroup2 mount. */
		if (!s->missing)
			snprintf(s->path, sizeof(s->path), "%s",
				 abs[strlen(d->mount)] ? abs + strlen(d->mount) : "/");
	}
	return s->missing ? NULL : s->path;
}

static const char *dev_path_cb(void *arg, uint32_t kdev)
{
	struct daemon *d = arg;
	int i;

	for (i = 0; i < d->nmounts; i++)
		if (d->mounts[i].dev == kdev)
			return d->mounts[i].path;
	i = d->nmounts < 16 ? d->nmounts++ : (int)(kdev % 16);
	d->mounts[i].dev = kdev;
	if (!tw_dev_mount(kdev, d->mounts[i].path, sizeof(d->mounts[i].path))) {
		d->nmounts--;
		return NULL;
	}
	return d->mounts[i].path;
}

static int on_event(void *ctx, void *data, size_t size)
{
	struct daemon *d = ctx;

	if (tw_event_check(data, size)) {
		if (!d->bad_records++)
			tw_err("ring buffer record of %zu bytes not understood (ABI mismatch?)", size);
		return 0;	/* keep consuming: a negative return stops polling */
	}
	{
		char body[8192];
		int n = tw_event_body(data, &d->ectx, body, sizeof(body));

		if (n < 0) {
			if (!d->bad_records++)
				tw_err("cannot encode a ring buffer record (%d)", n);
			return 0;
		}
		if (tw_evlog_append_body(d->log, body, n))
			return 0;	/* refused while the log cannot be written: counted */
		d->logged++;
	}
	{
		const struct tw_event_hdr *h = data;

		if (h->verdict <= TW_VERDICT_AUDIT && h->tier <= TW_MAX_TIERS && h->kind <= TW_EV_MAX)
			__atomic_fetch_add(&d->by_kind[h->kind][h->verdict][h->tier], 1,
					   __ATOMIC_RELAXED);
	}
	return 0;
}

/* ---- tags ---- */

static const char *rel_path(const struct daemon *d, const char *abs)
{
	size_t n = strlen(d->mount);

	return abs[n] ? abs + n : "/";
}

static void publish_levels(struct daemon *d)
{
	uint64_t mask = 0;
	int i;

	for (i = 0; i < d->ntags; i++)
		mask |= 1ULL << d->tags[i].level;
	tw_bpf_set_levels(d->bpf, mask);
}

static int find_tag(struct daemon *d, uint64_t id)
{
	int i;

	for (i = 0; i < d->ntags; i++)
		if (d->tags[i].id == id)
			return i;
	return -1;
}

/* Tag an existing cgroup directory; err names why not. */
static int add_tag(struct daemon *d, const char *abs, int tier, bool from_policy,
		   char *why, size_t whylen)
{
	uint64_t id;
	int level, i, err;

	err = tw_cgroup_id(abs, &id);
	level = err ? err : tw_cgroup_level(d->mount, abs);
	if (err || level < 0) {
		snprintf(why, whylen, "cannot read cgroup %s: %s", abs,
			 strerror(err ? -err : -level));
		return err ? err : level;
	}
	if (level >= TW_MAX_LEVELS) {
		snprintf(why, whylen, "cgroup %s is %d levels deep; tierwall sees %d",
			 abs, level, TW_MAX_LEVELS - 1);
		return -E2BIG;
	}
	i = find_tag(d, id);
	if (i < 0) {
		if (d->ntags == MAX_TAGS) {
			snprintf(why, whylen, "%d cgroups are tagged already", MAX_TAGS);
			return -ENOSPC;
		}
		i = d->ntags;
		d->tags[i].path = strdup(abs);
		if (!d->tags[i].path)
			return -ENOMEM;
	}
	/* Map entry first, then the level mask: the kernel never sees a half tag. */
	err = tw_bpf_tag(d->bpf, id, tier);
	if (err) {
		snprintf(why, whylen, "cannot update cgroup_tiers map: %s", strerror(-err));
		if (i == d->ntags)
			free(d->tags[i].path);
		return err;
	}
	d->tags[i].id = id;
	d->tags[i].level = level;
	d->tags[i].tier = tier;
	d->tags[i].from_policy = from_policy;
	if (i == d->ntags)
		d->ntags++;
	publish_levels(d);
	return 0;
}

static int remove_tag(struct daemon *d, int i)
{
	int err = tw_bpf_untag(d->bpf, d->tags[i].id);

	if (err && err != -ENOENT)
		return err;
	free(d->tags[i].path);
	d->tags[i] = d->tags[--d->ntags];
	publish_levels(d);
	return 0;
}

static int tag_policy_cgroups(struct daemon *d)
{
	int i, err;

	for (i = 0; i < d->policy->ncgroups; i++) {
		const struct tw_policy_cgroup *c = &d->policy->cgroups[i];
		char abs[PATH_MAX + 64], why[PATH_MAX + 128];

		snprintf(abs, sizeof(abs), "%s%s", d->root, strcmp(c->path, "/") ? c->path : "");
		err = tw_is_cgroup2_dir(abs);
		if (err) {
			tw_err("%s: %s.path: cgroup \"%s\" cannot be tagged: %s is %s (create it before starting tierwalld)",
			       d->policy_file, c->jpath, c->path, abs,
			       err == -ENOENT ? "missing" : "not a cgroup2 directory");
			return err;
		}
		err = add_tag(d, abs, c->tier, true, why, sizeof(why));
		if (err) {
			tw_err("%s: %s: %s", d->policy_file, c->jpath, why);
			return err;
		}
	}
	return 0;
}

/* ---- control socket ---- */

static json_t *reply_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *reply_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *tag_json(const struct daemon *d, const struct tag *t)
{
	return json_pack("{s:s, s:s, s:I, s:i, s:s, s:s}",
			 "cgroup", rel_path(d, t->path), "path", t->path,
			 "cgroup_id", (json_int_t)t->id, "level", t->level,
			 "tier", d->policy->tiers[t->tier].name,
			 "source", t->from_policy ? "policy" : "cli");
}

/* Exact names with their addresses, wildcards (judged only by the DNS guard). */
static json_t *hostnames_json(struct daemon *d)
{
	json_t *wild = json_array();
	int i;

	for (i = 0; i < d->policy->nhosts; i++)
		if (d->policy->hosts[i].wildcard)
			json_array_append_new(wild, json_pack("{s:s, s:s}", "hostname",
				d->policy->hosts[i].name, "tier", d->policy->tiers[d->policy->hosts[i].tier].name));
	return json_pack("{s:b, s:o, s:o}", "dns_guard", tw_bpf_has_dns(d->bpf),
			 "names", tw_dns_status(d->dns), "wildcards", wild);
}

static json_t *cmd_status(struct daemon *d)
{
	json_t *progs = json_array(), *o;
	struct tw_stats st = {};
	int i;

	for (i = 0; i < tw_bpf_nprogs(d->bpf); i++) {
		const char *name;
		uint32_t id = 0;
		bool att;

		if (!tw_bpf_prog_info(d->bpf, i, &name, &id, &att))
			json_array_append_new(progs, json_pack("{s:s, s:i, s:b}", "hook", name,
							       "prog_id", id, "attached", att));
	}
	tw_bpf_stats(d->bpf, &st);
	o = json_pack("{s:b, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:i, s:i, s:i}",
		      "ok", 1, "version", TW_VERSION, "pid", getpid(),
		      "policy", d->policy->digest, "policy_file", d->policy_file,
		      "cgroup_root", d->root, "log", tw_evlog_path(d->log), "pin_dir", d->pin_dir,
		      "degraded", d->network_only ? json_pack("[s]", "secrets not enforced (--network-only)") : json_array(),
		      "programs", progs,
		      "counters",
		      "denied", (json_int_t)st.denied, "audited", (json_int_t)st.audited,
		      "ringbuf_drops", (json_int_t)st.ringbuf_drops,
		      "events_logged", (json_int_t)d->logged,
		      "bad_records", (json_int_t)d->bad_records,
		      "log_write_errors", (json_int_t)tw_evlog_write_errors(d->log),
		      "log_refused", (json_int_t)tw_evlog_refused(d->log),
		      "followers", (json_int_t)tw_followers_count(d->followers),
		      "follow_dropped", (json_int_t)tw_followers_dropped(d->followers),
		      "tiers", d->policy->ntiers, "rules", d->policy->nrules,
		      "tagged_cgroups", d->ntags);
	json_object_set_new(o, "secrets", json_pack("{s:b, s:i, s:i, s:i}",
		"enforced", d->secrets != NULL, "paths", d->policy->nsecrets,
		"identities", d->secrets ? (int)tw_secrets_count(d->secrets) : 0,
		"pending", tw_secrets_pending(d->secrets)));
	json_object_set_new(o, "hostnames", hostnames_json(d));
	return o;
}

static json_t *cmd_tiers(struct daemon *d)
{
	json_t *tags = json_array(), *tiers = json_array();
	int i;

	for (i = 1; i <= d->policy->ntiers; i++)
		json_array_append_new(tiers, json_pack("{s:s, s:s}", "name", d->policy->tiers[i].name,
						       "mode", d->policy->tiers[i].mode == TW_MODE_AUDIT ?
						       "audit" : "enforce"));
	for (i = 0; i < d->ntags; i++)
		json_array_append_new(tags, tag_json(d, &d->tags[i]));
	return json_pack("{s:b, s:o, s:o}", "ok", 1, "tiers", tiers, "tags", tags);
}

static json_t *cmd_tag(struct daemon *d, json_t *req, bool untag)
{
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	const char *tier = json_string_value(json_object_get(req, "tier"));
	char abs[PATH_MAX], why[PATH_MAX + 128];
	uint64_t id;
	int t = 0, i, err;

	if (!cg || (!untag && !tier))
		return reply_err("request needs \"cgroup\"%s", untag ? "" : " and \"tier\"");
	if (!untag && !(t = tw_policy_tier_id(d->policy, tier)))
		return reply_err("unknown tier \"%s\" (the policy defines %d tiers; see `tierwall tiers`)",
				 tier, d->policy->ntiers);
	err = tw_cgroup_resolve(d->root, cg, abs, sizeof(abs));
	if (err)
		return reply_err("cgroup \"%s\" under %s: %s", cg, d->root,
				 err == -EXDEV ? "outside the daemon's cgroup root" :
				 err == -EMEDIUMTYPE ? "not a cgroup2 directory" : strerror(-err));
	if (untag) {
		if (tw_cgroup_id(abs, &id) || (i = find_tag(d, id)) < 0)
			return reply_err("cgroup %s is not tagged", rel_path(d, abs));
		err = remove_tag(d, i);
		if (err)
			return reply_err("cannot untag %s: %s", abs, strerror(-err));
		log_daemon(d, "untag", json_pack("{s:s}", "cgroup", rel_path(d, abs)));
		return json_pack("{s:b, s:s}", "ok", 1, "cgroup", rel_path(d, abs));
	}
	err = add_tag(d, abs, t, false, why, sizeof(why));
	if (err)
		return reply_err("%s", why);
	log_daemon(d, "tag", json_pack("{s:s, s:s}", "cgroup", rel_path(d, abs), "tier", tier));
	return json_pack("{s:b, s:s, s:s}", "ok", 1, "cgroup", rel_path(d, abs), "tier", tier);
}

/* One request, one reply; true if fd was kept (a follower). */
static bool serve_client(struct daemon *d, int fd)
{
	json_t *req = NULL, *reply;
	const char *cmd;
	char *line, why[256];
	bool kept = false;

	/* A client that sends nothing cannot hold the daemon for long. */
	if (tw_ctl_read_line(fd, &line, 1000))
		return false;
	req = json_loads(line, 0, NULL);
	free(line);
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd)
		reply = reply_err("request is not a JSON object with \"cmd\"");
	else if (!strcmp(cmd, "status"))
		reply = cmd_status(d);
	else if (!strcmp(cmd, "tiers"))
		reply = cmd_tiers(d);
	else if (!strcmp(cmd, "tag"))
		reply = cmd_tag(d, req, false);
	else if (!strcmp(cmd, "untag"))
		reply = cmd_tag(d, req, true);
	else if (!strcmp(cmd, "follow"))
		reply = (kept = !tw_followers_add(d->followers, fd, req, why, sizeof(why))) ?
			NULL : reply_err("%s", why);
	else
		reply = reply_err("unknown command \"%s\"", cmd);
	json_decref(req);
	if (reply) {
		tw_ctl_send(fd, reply);
		json_decref(reply);
	}
	return kept;
}

static void accept_clients(struct daemon *d)
{
	int fd;

	while ((fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		if (!serve_client(d, fd))
			close(fd);
}

/* ---- metrics ---- */

static void write_dns_metrics(struct daemon *d, struct buf *b)
{
	int names, failing, addrs;

	/* Read without a lock: counts that are a tick stale are fine for a gauge. */
	tw_dns_counts(d->dns, &names, &failing, &addrs);
	tw_metric_printf(b, "# HELP tierwall_hostnames Exact policy hostnames the daemon resolves.\n"
			    "# TYPE tierwall_hostnames gauge\n"
			    "tierwall_hostnames %d\n"
			    "# HELP tierwall_hostnames_failing Hostnames whose last resolution failed.\n"
			    "# TYPE tierwall_hostnames_failing gauge\n"
			    "tierwall_hostnames_failing %d\n"
			    "# HELP tierwall_hostname_addresses Addresses held for hostnames, grace included.\n"
			    "# TYPE tierwall_hostname_addresses gauge\n"
			    "tierwall_hostname_addresses %d\n", names, failing, addrs);
}

static void write_metrics(void *arg, struct buf *b)
{
	struct daemon *d = arg;
	struct tw_stats st = {};
	int k, v, t, i;

	tw_bpf_stats(d->bpf, &st);
	tw_metric_printf(b, "# HELP tierwall_events_total Decisions written to the event log.\n"
			    "# TYPE tierwall_events_total counter\n");
	for (k = 1; k <= TW_EV_MAX; k++)
		for (v = TW_VERDICT_ALLOW; v <= TW_VERDICT_AUDIT; v++)
			for (t = 1; t <= d->policy->ntiers; t++)
				tw_metric_printf(b, "tierwall_events_total{kind=\"%s\",verdict=\"%s\",tier=\"%s\"} %llu\n",
						 tw_kind_name(k), tw_verdict_name(v), d->policy->tiers[t].name,
						 (unsigned long long)__atomic_load_n(&d->by_kind[k][v][t], __ATOMIC_RELAXED));
	tw_metric_printf(b, "# HELP tierwall_kernel_decisions_total Denials and audits counted in the kernel.\n"
			    "# TYPE tierwall_kernel_decisions_total counter\n"
			    "tierwall_kernel_decisions_total{verdict=\"deny\"} %llu\n"
			    "tierwall_kernel_decisions_total{verdict=\"audit\"} %llu\n"
			    "# HELP tierwall_ringbuf_drops_total Events lost because the ring buffer was full.\n"
			    "# TYPE tierwall_ringbuf_drops_total counter\n"
			    "tierwall_ringbuf_drops_total %llu\n"
			    "# HELP tierwall_ringbuf_fill_bytes Bytes waiting in the ring buffer.\n"
			    "# TYPE tierwall_ringbuf_fill_bytes gauge\n"
			    "tierwall_ringbuf_fill_bytes %llu\n"
			    "# HELP tierwall_ringbuf_size_bytes Size of the ring buffer.\n"
			    "# TYPE tierwall_ringbuf_size_bytes gauge\n"
			    "tierwall_ringbuf_size_bytes %u\n",
			 (unsigned long long)st.denied, (unsigned long long)st.audited,
			 (unsigned long long)st.ringbuf_drops,
			 (unsigned long long)tw_bpf_ringbuf_fill(d->bpf), d->ringbuf_bytes);
	tw_metric_printf(b, "# HELP tierwall_log_records_total Records written to the event log.\n"
			    "# TYPE tierwall_log_records_total counter\n"
			    "tierwall_log_records_total %llu\n"
			    "# HELP tierwall_log_write_errors_total Failed writes to the event log.\n"
			    "# TYPE tierwall_log_write_errors_total counter\n"
			    "tierwall_log_write_errors_total %llu\n"
			    "# HELP tierwall_followers Live followers of the event log.\n"
			    "# TYPE tierwall_followers gauge\n"
			    "tierwall_followers %d\n"
			    "# HELP tierwall_follow_dropped_total Lines live followers lost by falling behind.\n"
			    "# TYPE tierwall_follow_dropped_total counter\n"
			    "tierwall_follow_dropped_total %llu\n",
			 (unsigned long long)d->logged,
			 (unsigned long long)tw_evlog_write_errors(d->log),
			 tw_followers_count(d->followers),
			 (unsigned long long)tw_followers_dropped(d->followers));
	tw_metric_printf(b, "# HELP tierwall_policy_info The loaded policy.\n"
			    "# TYPE tierwall_policy_info gauge\n"
			    "tierwall_policy_info{digest=\"%s\",tiers=\"%d\",rules=\"%d\",secrets=\"%d\"} 1\n"
			    "# HELP tierwall_policy_load_timestamp_seconds When the policy was loaded.\n"
			    "# TYPE tierwall_policy_load_timestamp_seconds gauge\n"
			    "tierwall_policy_load_timestamp_seconds %llu\n"
			    "# HELP tierwall_degraded 1 when running with --network-only.\n"
			    "# TYPE tierwall_degraded gauge\n"
			    "tierwall_degraded %d\n"
			    "# HELP tierwall_program_attached 1 for each attached program.\n"
			    "# TYPE tierwall_program_attached gauge\n",
			 d->policy->digest, d->policy->ntiers, d->policy->nrules,
			 d->policy->nsecrets, (unsigned long long)d->loaded_at, d->network_only);
	for (i = 0; i < tw_bpf_nprogs(d->bpf); i++) {
		const char *name;
		uint32_t id;
		bool att;

		if (!tw_bpf_prog_info(d->bpf, i, &name, &id, &att))
			tw_metric_printf(b, "tierwall_program_attached{hook=\"%s\"} %d\n", name, att);
	}
	write_dns_metrics(d, b);
}

/* ---- policy reload (SIGHUP): a takeover inside one process ---- */

static void reload_failed(struct daemon *d, struct tw_diags *diags, const char *why)
{
	json_t *errs = json_array();
	int i;

	for (i = 0; diags && i < diags->count; i++)
		json_array_append_new(errs, json_string(diags->msgs[i]));
	if (why)
		json_array_append_new(errs, json_string(why));
	tw_err("policy reload from %s failed; the loaded policy stays in force", d->policy_file);
	if (diags)
		tw_diags_print(diags, stderr);
	if (why)
		tw_err("%s", why);
	log_daemon(d, "policy_reload_failed", json_pack("{s:o}", "errors", errs));
}

static void reload(struct daemon *d)
{
	struct tw_bpf_opts bo = { .tag_capacity = MAX_TAGS, .ringbuf_bytes = d->ringbuf_bytes,
				  .host_capacity = MAX_HOST_ADDRS };
	struct tw_policy *np = NULL, *op = d->policy;
	struct tw_secrets *ns = NULL, *os = d->secrets;
	struct tw_dns *nd = NULL, *od = d->dns;
	struct tw_tables nt = {}, ot = d->tables;
	struct tw_bpf *nb = NULL, *ob = d->bpf;
	struct ring_buffer *nrb = NULL, *orb = d->rb;
	struct epoll_event ev = { .events = EPOLLIN };
	struct { char *path; char tier[TW_TIER_NAME_MAX]; } *keep = NULL;
	struct tw_diags diags = {};
	char why[1024] = "";
	int i, nkeep = 0, err;

	tw_info("SIGHUP: reloading %s", d->policy_file);
	err = tw_policy_load(d->policy_file, &np, &diags);
	if (!err)
		err = tw_compile(np, &nt, &diags);
	if (err) {
		reload_failed(d, &diags, NULL);
		goto out_new;
	}
	for (i = 0; i < np->ncgroups; i++) {
		char abs[PATH_MAX + 64];

		snprintf(abs, sizeof(abs), "%s%s", d->root, strcmp(np->cgroups[i].path, "/") ? np->cgroups[i].path : "");
		if (tw_is_cgroup2_dir(abs)) {
			snprintf(why, sizeof(why), "%s: cgroup \"%s\" does not exist", np->cgroups[i].jpath,
				 np->cgroups[i].path);
			reload_failed(d, NULL, why);
			goto out_new;
		}
	}
	if (np->nsecrets && !d->network_only) {
		if (tw_lsm_active(why, sizeof(why)) || tw_secrets_resolve(&ns, np, d->policy_file)) {
			reload_failed(d, NULL, why[0] ? why : "a secret path cannot be resolved (see above)");
			goto out_new;
		}
		bo.files = true;
		bo.secrets_capacity = tw_secrets_count(ns) + TW_SECRETS_HEADROOM;
	}
	err = tw_bpf_load(&nb, &nt, np, &bo, why, sizeof(why));
	if (!err && ns)
		err = tw_secrets_push(ns, nb);
	if (!err && !(nrb = tw_bpf_ringbuf(nb, on_event, d)))
		err = -errno;
	if (!err)
		err = tw_dns_new(&nd, np, nb, &d->dns_opts, why, sizeof(why));
	if (err) {
		reload_failed(d, NULL, why[0] ? why : strerror(-err));
		goto out_new;
	}
	tw_dns_settle(nd, DNS_SETTLE_MS);
	tw_bpf_set_flood_window(nb, (uint64_t)d->flood_ms * 1000000);

	/* Tags: the new policy's, plus runtime tags whose tier still exists. */
	keep = calloc(d->ntags + 1, sizeof(*keep));
	for (i = 0; keep && i < d->ntags; i++) {
		const char *tier = op->tiers[d->tags[i].tier].name;

		if (d->tags[i].from_policy)
			continue;
		if (!tw_policy_tier_id(np, tier)) {
			tw_warn("runtime tag of %s dropped: the new policy has no tier \"%s\"",
				d->tags[i].path, tier);
			continue;
		}
		keep[nkeep].path = strdup(d->tags[i].path);
		snprintf(keep[nkeep++].tier, TW_TIER_NAME_MAX, "%s", tier);
	}
	for (i = 0; i < d->ntags; i++)
		free(d->tags[i].path);
	d->ntags = 0;
	d->bpf = nb;
	d->policy = np;
	err = tag_policy_cgroups(d);
	for (i = 0; i < nkeep; i++) {
		if (!err)
			err = add_tag(d, keep[i].path, tw_policy_tier_id(np, keep[i].tier), false,
				      why, sizeof(why));
		free(keep[i].path);
	}
	free(keep);
	if (!err)
		err = tw_bpf_attach(nb, d->root);
	if (!err && d->pin_dir[0])
		err = tw_bpf_pin(nb, d->pin_dir);
	if (err) {
		/* Half-built: the old programs are still attached and judging. */
		tw_err("reload failed while attaching; restart tierwalld to recover its tags");
		d->bpf = ob;
		d->policy = op;
		reload_failed(d, NULL, "attaching the new programs failed");
		goto out_new;
	}

	/* The new programs judge: retire the old ones, then tell what they held. */
	tw_metrics_stop(d->metrics);
	d->metrics = NULL;
	tw_bpf_detach(ob);
	tw_bpf_flood_flush(ob, true);
	ring_buffer__consume(orb);	/* decoded with the old policy */
	log_flush(d);
	epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, ring_buffer__epoll_fd(orb), NULL);
	ev.data.fd = ring_buffer__epoll_fd(nrb);
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (tw_secrets_fd(os) >= 0)
		epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, tw_secrets_fd(os), NULL);
	if (tw_secrets_fd(ns) >= 0) {
		ev.data.fd = tw_secrets_fd(ns);
		epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (tw_dns_fd(od) >= 0)
		epoll_ctl(d->ep_fd, EPOLL_CTL_DEL, tw_dns_fd(od), NULL);
	if (tw_dns_fd(nd) >= 0) {
		ev.data.fd = tw_dns_fd(nd);
		epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	d->dns = nd;
	d->rb = nrb;
	d->tables = nt;
	d->secrets = ns;
	d->ectx.policy = np;
	d->drops_reported = 0;
	d->loaded_at = time(NULL);
	memset(d->by_kind, 0, sizeof(d->by_kind));	/* tier ids changed meaning */
	ring_buffer__free(orb);
	tw_dns_free(od);
	tw_bpf_destroy(ob);
	tw_tables_free(&ot);
	tw_secrets_free(os);
	tw_policy_free(op);
	if (d->metrics_addr &&
	    tw_metrics_start(&d->metrics, d->metrics_addr, write_metrics, d, why, sizeof(why)))
		tw_err("--metrics after reload: %s", why);
	log_daemon(d, "policy_loaded", json_pack("{s:b, s:i, s:i, s:i, s:i}", "reload", 1,
						  "tiers", np->ntiers, "rules", np->nrules,
						  "hostnames", np->nhosts, "tagged_cgroups", d->ntags));
	tw_info("reloaded %s (%s): %d tiers, %d rules, %d tagged cgroups", d->policy_file,
		np->digest, np->ntiers, np->nrules, d->ntags);
	tw_diags_free(&diags);
	return;
out_new:
	tw_dns_free(nd);
	ring_buffer__free(nrb);
	tw_bpf_destroy(nb);
	tw_tables_free(&nt);
	tw_secrets_free(ns);
	tw_policy_free(np);
	tw_diags_free(&diags);
}

/* ---- main ---- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tierwalld --policy FILE [options]\n"
"\n"
"Enforce environment tiers on cgroups: deny connections to other tiers'\n"
"destinations and log every decision.\n"
"\n"
"  --policy FILE        policy to enforce (required; SIGHUP reloads it)\n"
"  --cgroup-root DIR    cgroup2 directory to attach to (default: the cgroup2 mount)\n"
"  --log-dir DIR        where events.jsonl is written (default " DEFAULT_LOG_DIR ")\n"
"  --pin-dir DIR        bpffs directory for pinned maps and links, or \"none\"\n"
"                       (default " DEFAULT_PIN_DIR ")\n"
"  --socket PATH        control socket for the CLI (default " TW_CTL_DEFAULT ")\n"
"  --stdout             also print every event to stdout\n"
"  --network-only       start even though the policy's secrets cannot be enforced\n"
"                       (degraded; reported in status and the log)\n"
"  --ringbuf-mb N       ring buffer size in MiB, a power of two (default 4)\n"
"  --rotate-mb N        rotate events.jsonl past N MiB (default 64; 0: never)\n"
"  --rotate-age D       rotate it when older than D: 90s, 30m, 24h, 7d (default 24h)\n"
"  --keep N             rotated segments kept, gzip-compressed (default 30; 0: all)\n"
"  --keep-mb N          and at most N MiB of them (default 0: no limit)\n"
"  --follow-queue-mb N  events queued per live follower before it loses some (default 16)\n"
"  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464)\n"
"  --flood-window MS    a caller's repeats on one target within MS become one record\n"
"                       with a count (default 1000; 0: a record per decision)\n"
"  --dns-server LIST    resolve policy hostnames with these servers, ADDR[:PORT],...\n"
"                       (default: /etc/resolv.conf, like the clients)\n"
"  --dns-grace D        keep an address that left a hostname's answer for D, so\n"
"                       clients' cached answers stay judged (default 10m)\n"
"  --dns-max-refresh D  re-resolve hostnames at least every D, whatever the TTL,\n"
"                       and retry failing ones at least that often (default 5m)\n"
"  -v, --verbose        libbpf debug output\n"
"  -h, --help           this help\n");
}

static void report_dns(void *arg, const char *what, json_t *extra)
{
	struct daemon *d = arg;

	log_daemon(d, what, extra);
	log_flush(d);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !tw_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int parse_args(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "cgroup-root", required_argument, NULL, 'c' },
		{ "log-dir", required_argument, NULL, 'l' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "socket", required_argument, NULL, 's' },
		{ "stdout", no_argument, NULL, 'o' },
		{ "network-only", no_argument, NULL, 'n' },
		{ "ringbuf-mb", required_argument, NULL, 'r' },
		{ "rotate-mb", required_argument, NULL, 'R' },
		{ "rotate-age", required_argument, NULL, 'A' },
		{ "keep", required_argument, NULL, 'k' },
		{ "keep-mb", required_argument, NULL, 'K' },
		{ "follow-queue-mb", required_argument, NULL, 'F' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "flood-window", required_argument, NULL, 'W' },
		{ "dns-server", required_argument, NULL, 'D' },
		{ "dns-grace", required_argument, NULL, 'G' },
		{ "dns-max-refresh", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *root = NULL;
	long mb, v;
	int c;

	d->log_dir = DEFAULT_LOG_DIR;
	d->pin_dir = DEFAULT_PIN_DIR;
	d->sock_path = TW_CTL_DEFAULT;
	d->ringbuf_bytes = 4 << 20;
	d->follow_queue_mb = TW_FOLLOW_QUEUE_MB;
	d->flood_ms = 1000;
	d->dns_opts = (struct tw_dns_opts){ .grace_s = 600, .max_refresh_s = 300, .max_backoff_s = 300,
					    .report = report_dns, .arg = d };
	d->log_opts = (struct tw_evlog_opts){ .rotate_bytes = 64ull << 20,
					      .rotate_secs = 24 * 3600, .keep_segments = 30 };
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p': d->policy_file = optarg; break;
		case 'c': root = optarg; break;
		case 'l': d->log_dir = optarg; break;
		case 'P': d->pin_dir = optarg; break;
		case 's': d->sock_path = optarg; break;
		case 'o': d->to_stdout = true; break;
		case 'n': d->network_only = true; break;
		case 'v': tw_verbose = true; break;
		case 'r':
			if (tw_parse_long(optarg, 1, 1024, &mb) || (mb & (mb - 1))) {
				tw_err("--ringbuf-mb: \"%s\" is not a power of two from 1 to 1024", optarg);
				return -EINVAL;
			}
			d->ringbuf_bytes = mb << 20;
			break;
		case 'R':
		case 'K':
		case 'k':
			if (tw_parse_long(optarg, 0, 1 << 20, &v)) {
				tw_err("--%s: \"%s\" is not a number from 0 to 1048576",
				       c == 'R' ? "rotate-mb" : c == 'K' ? "keep-mb" : "keep", optarg);
				return -EINVAL;
			}
			if (c == 'R')
				d->log_opts.rotate_bytes = (uint64_t)v << 20;
			else if (c == 'K')
				d->log_opts.keep_bytes = (uint64_t)v << 20;
			else
				d->log_opts.keep_segments = v;
			break;
		case 'M': d->metrics_addr = optarg; break;
		case 'D': {
			char why[256];

			if (tw_dns_check_servers(optarg, why, sizeof(why))) {
				tw_err("%s", why);
				return -EINVAL;
			}
			d->dns_opts.servers = optarg;
			break;
		}
		case 'G':
		case 'T':
			if (tw_parse_duration(optarg, &v) || v > 7 * 86400 || (c == 'T' && v < 1)) {
				tw_err("--%s: \"%s\" is not a duration like 90s, 30m or 24h (%s to 7d)",
				       c == 'G' ? "dns-grace" : "dns-max-refresh", optarg, c == 'G' ? "0s" : "1s");
				return -EINVAL;
			}
			if (c == 'G')
				d->dns_opts.grace_s = v;
			else
				d->dns_opts.max_refresh_s = d->dns_opts.max_backoff_s = v;
			break;
		case 'W':
			if (tw_parse_long(optarg, 0, 3600000, &d->flood_ms)) {
				tw_err("--flood-window: \"%s\" is not a number of ms from 0 to 3600000", optarg);
				return -EINVAL;
			}
			break;
		case 'F':
			if (tw_parse_long(optarg, 1, 4096, &d->follow_queue_mb)) {
				tw_err("--follow-queue-mb: \"%s\" is not a number from 1 to 4096", optarg);
				return -EINVAL;
			}
			break;
		case 'A':
			if (tw_parse_duration(optarg, &v)) {
				tw_err("--rotate-age: \"%s\" is not a duration like 90s, 30m, 24h or 7d",
				       optarg);
				return -EINVAL;
			}
			d->log_opts.rotate_secs = v;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		tw_err("unexpected argument \"%s\" (see --help)", argv[optind]);
		return -EINVAL;
	}
	if (!d->policy_file) {
		tw_err("--policy FILE is required (see --help)");
		return -EINVAL;
	}
	if (tw_cgroup2_mount(d->mount, sizeof(d->mount))) {
		tw_err("no cgroup2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup)");
		return -ENOENT;
	}
	if (!root)
		root = d->mount;
	if (tw_is_cgroup2_dir(root) || !realpath(root, d->root) ||
	    tw_cgroup_level(d->mount, d->root) < 0) {
		tw_err("--cgroup-root %s is not a directory of the cgroup2 hierarchy at %s",
		       root, d->mount);
		return -EINVAL;
	}
	return 0;
}

/* Secrets need BPF LSM: refuse, naming cause and fix, unless degraded on purpose. */
static int refuse_secrets(struct daemon *d, const char *why)
{
	tw_err("%s: %s: the policy protects %d secret path(s), but %s. Refusing to start half-enforced. "
	       "Enable BPF LSM (lsm=...,bpf on the kernel command line), or start with --network-only "
	       "to enforce only the network rules (degraded: reported in status and the log).",
	       d->policy_file, d->policy->secrets[0].jpath, d->policy->nsecrets, why);
	return -EOPNOTSUPP;
}

static int check_enforceable(struct daemon *d)
{
	char why[512];
	struct statfs sfs;

	if (d->policy->nsecrets && !d->network_only && tw_lsm_active(why, sizeof(why)))
		return refuse_secrets(d, why);
	if (d->network_only)
		tw_warn("DEGRADED: --network-only: secrets in %s are NOT enforced", d->policy_file);
	if (!strcmp(d->pin_dir, "none")) {
		d->pin_dir = "";
	} else {
		char parent[PATH_MAX], *slash;

		snprintf(parent, sizeof(parent), "%s", d->pin_dir);
		slash = strrchr(parent, '/');
		if (slash)
			*(slash == parent ? slash + 1 : slash) = '\0';
		/* Like systemd and Cilium: bring up the conventional bpffs if absent. */
		if (!statfs(parent, &sfs) && sfs.f_type != BPF_FS_MAGIC &&
		    !strncmp(d->pin_dir, "/sys/fs/bpf/", 12) && !strchr(d->pin_dir + 12, '/')) {
			if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
				tw_warn("cannot mount bpffs at /sys/fs/bpf: %s", strerror(errno));
			else
				tw_info("mounted bpffs at /sys/fs/bpf");
		}
		if (statfs(parent, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
			tw_err("--pin-dir %s is not inside a bpffs mount (mount -t bpf bpf /sys/fs/bpf, or --pin-dir none)",
			       d->pin_dir);
			return -EINVAL;
		}
	}
	return 0;
}

/* What a previous instance's kernel side still held goes into this log. */
static void recover(struct daemon *d, struct tw_old_maps *old)
{
	uint64_t before = d->logged, lost = 0, repeats = 0;
	json_t *o;

	if (old->events < 0 && old->flood < 0)
		return;
	tw_old_maps_drain(old, on_event, d, &lost, &repeats);
	if (lost) {
		o = tw_event_daemon("ringbuf_full", &d->ectx);
		json_object_set_new(o, "kind", json_string("lost"));
		json_object_set_new(o, "count", json_integer(lost));
		json_object_set_new(o, "total", json_integer(lost));
		json_object_set_new(o, "previous_instance", json_true());
		log_json(d, o);
	}
	log_daemon(d, "takeover", json_pack("{s:I, s:I, s:I}", "records", (json_int_t)(d->logged - before),
					    "repeats", (json_int_t)repeats, "lost", (json_int_t)lost));
	tw_info("took over from a previous tierwalld: %llu records, %llu folded repeats, %llu lost",
		(unsigned long long)(d->logged - before), (unsigned long long)repeats,
		(unsigned long long)lost);
}

static int setup(struct daemon *d)
{
	struct tw_bpf_opts bo = { .tag_capacity = MAX_TAGS, .ringbuf_bytes = d->ringbuf_bytes,
				  .host_capacity = MAX_HOST_ADDRS };
	char why[1024];
	struct tw_diags diags = {};
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	int err;

	err = tw_policy_load(d->policy_file, &d->policy, &diags);
	if (!err)
		err = tw_compile(d->policy, &d->tables, &diags);
	if (err) {
		tw_diags_print(&diags, stderr);
		tw_err("refusing to start: %d error(s) in %s", diags.count, d->policy_file);
		tw_diags_free(&diags);
		return err;
	}
	err = check_enforceable(d);
	if (err)
		return err;
	gethostname(d->host, sizeof(d->host) - 1);
	d->ectx = (struct tw_event_ctx){
		.host = d->host, .policy = d->policy, .cgroup_path = cgroup_path_cb,
		.dev_path = dev_path_cb, .arg = d,
		.boot_to_real = tw_boot_to_realtime_offset(),
	};
	d->paths = calloc(PATH_CACHE, sizeof(*d->paths));
	d->tags = calloc(MAX_TAGS, sizeof(*d->tags));
	if (!d->paths || !d->tags)
		return -ENOMEM;
	/* Before touching the kernel: a second daemon must not attach anything. */
	d->ctl_fd = tw_ctl_listen(d->sock_path);
	if (d->ctl_fd < 0) {
		err = d->ctl_fd;
		tw_err("cannot listen on %s: %s", d->sock_path,
		       err == -EADDRINUSE ? "another tierwalld answers there" : strerror(-err));
		return err;
	}
	d->log_opts.on_flush = print_lines;
	d->log_opts.arg = d;
	err = tw_evlog_open(&d->log, d->log_dir, &d->log_opts);
	if (err)
		return err;

	if (d->policy->nsecrets && !d->network_only) {
		err = tw_secrets_resolve(&d->secrets, d->policy, d->policy_file);
		if (err)
			return err;
		bo.files = true;
		bo.secrets_capacity = tw_secrets_count(d->secrets) + TW_SECRETS_HEADROOM;
	}
	err = tw_bpf_load(&d->bpf, &d->tables, d->policy, &bo, why, sizeof(why));
	if (err)
		return bo.files && err != -ENOMEM ? refuse_secrets(d, why) :
		       (tw_err("%s", why), err);
	if (d->secrets) {
		err = tw_secrets_push(d->secrets, d->bpf);
		if (err) {
			tw_err("cannot fill the secrets map: %s", strerror(-err));
			return err;
		}
	}
	tw_bpf_set_flood_window(d->bpf, (uint64_t)d->flood_ms * 1000000);
	/* Names never block the policy: whatever is unresolved is retried later. */
	err = tw_dns_new(&d->dns, d->policy, d->bpf, &d->dns_opts, why, sizeof(why));
	if (err) {
		tw_err("%s", why);
		return err;
	}
	tw_dns_settle(d->dns, DNS_SETTLE_MS);
	/* Tags before attach: enforcement is complete from the first packet. */
	err = tag_policy_cgroups(d);
	if (err)
		return err;
	d->rb = tw_bpf_ringbuf(d->bpf, on_event, d);
	if (!d->rb) {
		err = -errno;
		tw_err("cannot open the event ring buffer: %s", strerror(-err));
		return err;
	}
	err = tw_bpf_attach(d->bpf, d->root);
	if (!err && d->pin_dir[0]) {
		struct tw_old_maps old;

		/* Take over from a crashed instance: attach first, then its leftovers. */
		tw_old_maps_open(d->pin_dir, &old);
		err = tw_bpf_pin(d->bpf, d->pin_dir);
		if (!err)
			recover(d, &old);
		tw_old_maps_close(&old);
	}
	if (err)
		return err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->ep_fd < 0)
		return -errno;
	ev.data.fd = d->ctl_fd;
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, d->ctl_fd, &ev);
	d->followers = tw_followers_new(d->ep_fd, (size_t)d->follow_queue_mb << 20);
	if (!d->followers)
		return -ENOMEM;
	d->loaded_at = time(NULL);
	if (d->metrics_addr) {
		err = tw_metrics_start(&d->metrics, d->metrics_addr, write_metrics, d, why, sizeof(why));
		if (err) {
			tw_err("--metrics: %s", why);
			return err;
		}
	}
	ev.data.fd = d->sig_fd;
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, d->sig_fd, &ev);
	ev.data.fd = ring_buffer__epoll_fd(d->rb);
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (tw_secrets_fd(d->secrets) >= 0) {
		ev.data.fd = tw_secrets_fd(d->secrets);
		epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (tw_dns_fd(d->dns) >= 0) {
		ev.data.fd = tw_dns_fd(d->dns);
		epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	return 0;
}

static void secret_appeared(void *arg, const char *path)
{
	struct daemon *d = arg;

	tw_info("%s appeared: protected", path);
	log_daemon(d, "secret_protected", json_pack("{s:s}", "path", path));
}

/* Windows of folded repeats that ended become aggregated records. */
static void flush_floods(struct daemon *d, bool force)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	int err;

	if (!d->flood_ms || (!force && now < d->next_flush))
		return;
	d->next_flush = now + 250000000ull;
	err = tw_bpf_flood_flush(d->bpf, force);
	if (err)
		tw_err("flood control flush failed: %s", strerror(-err));
}

/* Ring buffer drops are counted in the kernel; turn each increase into an event. */
static void report_drops(struct daemon *d)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	struct tw_stats st;
	json_t *o;

	if (now < d->next_drop_check || tw_bpf_stats(d->bpf, &st))
		return;
	d->next_drop_check = now + 1000000000ull;
	/* Records the log refused while it could not be written, told once it can. */
	if (tw_evlog_refused(d->log) > d->refused_reported && !tw_evlog_pending(d->log)) {
		uint64_t r = tw_evlog_refused(d->log);

		o = tw_event_daemon("log_write_failed", &d->ectx);
		json_object_set_new(o, "kind", json_string("lost"));
		json_object_set_new(o, "count", json_integer(r - d->refused_reported));
		json_object_set_new(o, "total", json_integer(r));
		d->refused_reported = r;
		log_json(d, o);
		log_flush(d);
	}
	if (st.ringbuf_drops == d->drops_reported)
		return;
	o = tw_event_daemon("ringbuf_full", &d->ectx);
	json_object_set_new(o, "kind", json_string("lost"));
	json_object_set_new(o, "count", json_integer(st.ringbuf_drops - d->drops_reported));
	json_object_set_new(o, "total", json_integer(st.ringbuf_drops));
	d->drops_reported = st.ringbuf_drops;
	log_json(d, o);
	log_flush(d);
	/* Only once it is in the log: a successor subtracts what is recorded here. */
	tw_bpf_set_drops_reported(d->bpf, st.ringbuf_drops);
}

static void run(struct daemon *d)
{
	struct epoll_event evs[16];

	while (!d->stop) {
		int n = epoll_wait(d->ep_fd, evs, 16, POLL_MS), i;

		if (n < 0 && errno != EINTR) {
			tw_err("epoll_wait: %s", strerror(errno));
			break;
		}
		/* Programs wake us only past a fill level: drain on every tick. */
		flush_floods(d, false);
		ring_buffer__consume(d->rb);
		log_flush(d);
		report_drops(d);
		tw_dns_run(d->dns);	/* answers, timeouts, refreshes, expiries */
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == d->sig_fd) {
				struct signalfd_siginfo si;

				if (read(d->sig_fd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					reload(d);
					continue;
				}
				tw_info("signal %d: stopping", si.ssi_signo);
				d->stop = true;
			} else if (evs[i].data.fd == d->ctl_fd) {
				accept_clients(d);
			} else if (evs[i].data.fd == tw_dns_fd(d->dns)) {
				continue;	/* served by tw_dns_run above */
			} else if (evs[i].data.fd == tw_secrets_fd(d->secrets)) {
				if (tw_secrets_poll(d->secrets, d->bpf, secret_appeared, d))
					tw_err("a secret path appeared but could not be protected: see above");
			} else {
				tw_followers_event(d->followers, evs[i].data.fd, evs[i].events);
			}
		}
	}
}

static void teardown(struct daemon *d)
{
	int i;

	tw_metrics_stop(d->metrics);	/* its thread reads what follows */
	if (d->bpf) {
		tw_bpf_unpin(d->bpf);
		tw_bpf_detach(d->bpf);
		/* Detached: no new decisions. Tell what was folded or is still queued. */
		if (d->rb && d->log) {
			flush_floods(d, true);
			ring_buffer__consume(d->rb);
			log_flush(d);
			d->next_drop_check = 0;
			report_drops(d);
		}
		tw_bpf_destroy(d->bpf);
	}
	if (d->log) {
		log_daemon(d, "stop", NULL);
		tw_evlog_close(d->log);
	}
	tw_followers_free(d->followers);
	ring_buffer__free(d->rb);
	if (d->ctl_fd > 0) {
		close(d->ctl_fd);
		unlink(d->sock_path);
	}
	for (i = 0; i < d->ntags; i++)
		free(d->tags[i].path);
	free(d->tags);
	free(d->paths);
	tw_secrets_free(d->secrets);
	tw_dns_free(d->dns);
	tw_tables_free(&d->tables);
	tw_policy_free(d->policy);
}

int main(int argc, char **argv)
{
	struct daemon d = { .ctl_fd = -1 };
	int err;

	tw_log_init("tierwalld");
	libbpf_set_print(libbpf_print);
	err = parse_args(&d, argc, argv);
	if (err)
		return 2;
	err = setup(&d);
	if (!err) {
		log_daemon(&d, "start", json_pack("{s:s, s:s, s:s, s:b}", "version", TW_VERSION,
						  "cgroup_root", d.root, "policy_file", d.policy_file,
						  "degraded", d.network_only));
		log_daemon(&d, "policy_loaded", json_pack("{s:i, s:i, s:i, s:i, s:i}",
							  "tiers", d.policy->ntiers,
							  "rules", d.policy->nrules,
							  "hostnames", d.policy->nhosts,
							  "tagged_cgroups", d.ntags,
							  "v4_blocks", d.tables.nblocks));
		tw_info("enforcing %s (%s) on %s: %d tiers, %d rules, %d tagged cgroups%s; events in %s",
			d.policy_file, d.policy->digest, d.root, d.policy->ntiers,
			d.policy->nrules, d.ntags, d.network_only ? " [DEGRADED: secrets not enforced]" : "",
			tw_evlog_path(d.log));
		run(&d);
	}
	teardown(&d);
	return err ? 1 : 0;
}
