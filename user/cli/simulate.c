// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall simulate DRAFT.json: "what would this policy change break?"
 * Every decision the log holds is judged again under the draft, by the
 * hooks' own decision code: the draft is compiled, loaded into temporary
 * BPF maps with the explain program (nothing attached, nothing enforced),
 * and each record's caller and target are asked of it. What the log does
 * not hold cannot be replayed: allowed traffic is recorded only for tiers
 * with "log": "all", and the output says so.
 *
 * The caller's tier under the draft is the nearest tag above its cgroup
 * among the draft's own cgroups, the daemon's runtime and pod tags (kept
 * by a reload when their tier still exists) and, for a record whose tag is
 * gone, the tag the record names when the policy did not set it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "cli.h"
#include "compile.h"
#include "ctl.h"
#include "evlog.h"
#include "evquery.h"
#include "explainer.h"
#include "chain.h"
#include "ident.h"
#include "levels.h"
#include "log.h"
#include "policy.h"
#include "ruleref.h"
#include "util.h"

#define SIM_HOSTS	65536	/* hostname addresses the draft's maps hold */

static const char *log_dir;
static uint64_t since_ns;

struct sim {
	struct tw_policy *p;
	struct tw_explainer *x;
	char root_rel[PATH_MAX];	/* the daemon's root below the cgroup2 mount */
	json_t *live_tags;		/* the daemon's tags, or NULL */
	json_t *hosts;			/* "family/addr" -> [host index + 1, ...] */
	json_t *groups;			/* "old>new|kind|tier|target" -> change */
	uint64_t decisions, unchanged, first_ns, last_ns;
	uint64_t newly_denied, newly_allowed, changed;
	json_t *allow_tiers;		/* tiers whose allowed use is in the log */
	char **tag_paths;		/* the draft's cgroups[i].path as records name cgroups */
};

static bool exit_code;	/* --exit-code: 3 when anything would change */

static int sim_opt(int c, const char *arg)
{
	long secs;

	if (c == 'L') {
		log_dir = arg;
		return 0;
	}
	if (c == 'x') {
		exit_code = true;
		return 0;
	}
	if (c != 's')
		return -1;
	if (tw_parse_duration(arg, &secs)) {
		tw_err("--since: \"%s\" is not a duration (90s, 30m, 2h, 7d)", arg);
		exit(EXIT_USAGE);
	}
	since_ns = tw_now_ns(CLOCK_REALTIME) - (uint64_t)secs * 1000000000ull;
	return 0;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- what the daemon knows: its root, tags, hostname addresses, log ---- */

static json_t *ask(const char *cmd)
{
	json_t *r = NULL;

	if (tw_ctl_call(tw_sock_path, json_pack("{s:s}", "cmd", cmd), &r, 2000) ||
	    !json_is_true(json_object_get(r, "ok"))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

static void add_host(struct sim *s, const char *ip, int host)
{
	json_t *a, *v;
	char key[80];
	size_t i;

	snprintf(key, sizeof(key), "%s", ip);
	a = json_object_get(s->hosts, key);
	if (!a) {
		a = json_array();
		json_object_set_new(s->hosts, key, a);
	}
	json_array_foreach(a, i, v)
		if (json_integer_value(v) == host)
			return;
	if (json_array_size(a) < TW_HOST_OWNERS)
		json_array_append_new(a, json_integer(host));
}

/* An exact hostname of the draft, as index + 1, or 0. */
static int draft_host(const struct sim *s, const char *name)
{
	int i;

	for (i = 0; name && i < s->p->nhosts; i++)
		if (!s->p->hosts[i].wildcard && !strcasecmp(s->p->hosts[i].name, name))
			return i + 1;
	return 0;
}

static void daemon_info(struct sim *s, char *dir, size_t len)
{
	json_t *st = ask("status"), *tiers = ask("tiers"), *v, *a;
	const char *root = str(tiers, "cgroup_root"), *logf = str(st, "log");
	char mnt[PATH_MAX];
	size_t i, j;

	if (log_dir)
		snprintf(dir, len, "%s", log_dir);
	else if (logf && strrchr(logf, '/'))
		snprintf(dir, len, "%.*s", (int)(strrchr(logf, '/') - logf), logf);
	else
		snprintf(dir, len, "%s", DEFAULT_LOG_DIR);
	if (root && !tw_cgroup2_mount(mnt, sizeof(mnt)) && !strncmp(root, mnt, strlen(mnt)))
		snprintf(s->root_rel, sizeof(s->root_rel), "%s", root + strlen(mnt));
	s->live_tags = json_incref(json_object_get(tiers, "tags"));
	/* Addresses the daemon's resolver has now for names the draft keeps. */
	json_array_foreach(json_object_get(json_object_get(st, "hostnames"), "names"), i, v) {
		int h = draft_host(s, str(v, "hostname"));

		json_array_foreach(json_object_get(v, "addresses"), j, a)
			if (h)
				add_host(s, str(a, "address"), h);
	}
	json_decref(st);
	json_decref(tiers);
}

/* Pass 1: the addresses records saw for the draft's names. */
static int learn_hosts(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct sim *s = arg;
	json_t *o = line ? json_loadb(line, len, 0, NULL) : NULL, *dst = json_object_get(o, "dst");
	int h = draft_host(s, str(o, "hostname"));

	if (h && dst && str(o, "kind") && strcmp(str(o, "kind"), "dns"))
		add_host(s, str(dst, "effective") ?: str(dst, "ip"), h);
	json_decref(o);
	return 0;
}

static int key_of(const char *ip, struct tw_host_key *k, uint8_t *family)
{
	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET, ip, k->addr) == 1) {
		k->family = *family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, k->addr) != 1)
		return -EINVAL;
	k->family = *family = 6;
	/* ::ffff:a.b.c.d is judged as a.b.c.d, and held so. */
	if (!memcmp(k->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(k->addr, k->addr + 12, 4);
		memset(k->addr + 4, 0, 12);
		k->family = 4;
	}
	return 0;
}

static int fill_hosts(struct sim *s)
{
	const char *ip;
	json_t *a, *h;
	size_t i;
	int err;

	json_object_foreach(s->hosts, ip, a) {
		struct tw_host_val v = {};
		struct tw_host_key k;
		uint8_t fam;

		if (key_of(ip, &k, &fam))
			continue;
		json_array_foreach(a, i, h) {
			const struct tw_policy_host *ph = &s->p->hosts[json_integer_value(h) - 1];

			v.rule[i] = s->p->nrules + ph->group + 1;
			v.host[i] = json_integer_value(h);
		}
		err = tw_explainer_host(s->x, &k, &v);
		if (err)
			return err;
	}
	return 0;
}

/* The draft's secrets as identities; paths missing now protect nothing yet. */
static int fill_secrets(struct sim *s)
{
	int i, err;

	for (i = 0; i < s->p->nsecrets; i++) {
		const struct tw_policy_secret *sec = &s->p->secrets[i];
		struct tw_secret_key k = {};
		struct tw_secret_val v = { .secret = i, .tier = sec->tier };
		struct stat st;

		if (stat(sec->path, &st))
			continue;
		k.dev = tw_kdev(st.st_dev);
		k.ino = st.st_ino;
		v.is_dir = S_ISDIR(st.st_mode);
		err = tw_explainer_secret(s->x, &k, &v);
		if (!err && v.is_dir)
			err = tw_explainer_secret_dev(s->x, k.dev);
		if (err)
			return err;
	}
	return 0;
}

/* ---- the caller's tier under the draft ---- */

static bool below(const char *cg, const char *anc)
{
	size_t n = strlen(anc);

	if (!strcmp(anc, "/"))
		return true;
	return !strncmp(cg, anc, n) && (cg[n] == '/' || !cg[n]);
}

/* A candidate tag: keep it if it is nearer than the best so far (ties: the policy's). */
static void consider(const struct sim *s, const char *cg, const char *path, const char *tier,
		     const char **best, int *tid)
{
	int t = tier ? tw_policy_tier_id(s->p, tier) : 0;

	if (!t || !path || !below(cg, path))
		return;
	if (*best && strlen(path) <= strlen(*best))
		return;
	*best = path;
	*tid = t;
}

static bool live_policy_tag(const struct sim *s, const char *path)
{
	json_t *v;
	size_t i;

	json_array_foreach(s->live_tags, i, v)
		if (!strcmp(str(v, "source") ?: "", "policy") && !strcmp(str(v, "cgroup") ?: "", path))
			return true;
	return false;
}

static int draft_tier(const struct sim *s, json_t *rec)
{
	const char *cg = str(rec, "cgroup") ?: str(rec, "tagged_cgroup");
	const char *tagged = str(rec, "tagged_cgroup"), *best = NULL;
	json_t *v;
	size_t i;
	int tid = 0, n;

	if (!cg)
		return tw_policy_tier_id(s->p, str(rec, "tier") ?: "");
	/* The draft's own tags first: on one cgroup the policy's tag is the one kept. */
	for (n = 0; n < s->p->ncgroups; n++)
		consider(s, cg, s->tag_paths[n], s->p->tiers[s->p->cgroups[n].tier].name, &best, &tid);
	json_array_foreach(s->live_tags, i, v)
		if (strcmp(str(v, "source") ?: "", "policy"))
			consider(s, cg, str(v, "cgroup"), str(v, "tier"), &best, &tid);
	if (tagged && !live_policy_tag(s, tagged))
		consider(s, cg, tagged, str(rec, "tier"), &best, &tid);
	return tid;
}

/* The draft's tagged cgroups in the form records carry them (from the cgroup2 mount). */
static int tag_paths(struct sim *s)
{
	int i;

	s->tag_paths = calloc(s->p->ncgroups + 1, sizeof(*s->tag_paths));
	for (i = 0; s->tag_paths && i < s->p->ncgroups; i++)
		if (asprintf(&s->tag_paths[i], "%s%s", s->root_rel[0] ? s->root_rel : "",
			     strcmp(s->p->cgroups[i].path, "/") || !s->root_rel[0] ?
			     s->p->cgroups[i].path : "") < 0)
			return -ENOMEM;
	return s->tag_paths ? 0 : -ENOMEM;
}

/* ---- judging one record ---- */

/* The question a record asks; false if it is not a decision that can be asked again. */
static bool question(const struct sim *s, json_t *rec, struct tw_explain *x, char *target,
		     size_t len)
{
	const char *kind = str(rec, "kind") ?: "", *reason = str(rec, "reason");
	json_t *dst = json_object_get(rec, "dst");

	if (!strcmp(kind, "connect") || !strcmp(kind, "sendmsg")) {
		const char *ip = str(dst, "effective") ?: str(dst, "ip");

		if (!ip || inet_pton(strchr(ip, ':') ? AF_INET6 : AF_INET, ip, x->addr) != 1)
			return false;
		x->what = TW_EXPLAIN_NET;
		x->family = strchr(ip, ':') ? 6 : 4;
		x->port = json_integer_value(json_object_get(dst, "port"));
		snprintf(target, len, "%s:%d/%s", ip, x->port, str(dst, "proto") ?: "?");
	} else if (!strcmp(kind, "dns") && (!reason || !strcmp(reason, "name_of_other_tier")) &&
		   str(rec, "name")) {
		char name[TW_DNS_NAME_MAX];

		snprintf(name, sizeof(name), "%s", str(rec, "name"));
		if (name[0] && name[strlen(name) - 1] == '.')
			name[strlen(name) - 1] = '\0';
		x->what = TW_EXPLAIN_NAME;
		tw_name_key(name, &x->name);
		snprintf(target, len, "query %s", name);
	} else if (!strcmp(kind, "file") && str(rec, "path")) {
		x->what = TW_EXPLAIN_FILE;
		if (tw_explain_levels(str(rec, "path"), tw_chain_subvols(), x)) {
			unsigned int maj, min;

			/* Gone since: its identity as recorded, no parents to walk. */
			if (sscanf(str(rec, "dev") ?: "", "%u:%u", &maj, &min) != 2)
				return false;
			memset(x->levels, 0, sizeof(x->levels[0]));
			x->levels[0].key.dev = x->levels[0].sbdev = maj << 20 | min;
			x->levels[0].key.ino = json_integer_value(json_object_get(rec, "ino"));
			x->levels[0].flags = TW_XL_START | TW_XL_ROOT;
			x->nlevels = 1;
			x->more_parents = x->more_mounts = 0;
		}
		snprintf(target, len, "%s %s", str(rec, "op") ?: "open", str(rec, "path"));
	} else if (!strcmp(kind, "dns") || !strcmp(kind, "socket")) {
		/* Refused whatever the target (a malformed query, a socket the hooks cannot judge). */
		x->what = TW_EXPLAIN_REFUSAL;
		snprintf(target, len, "%s %s", kind, reason ?: str(rec, "family") ?: "");
	} else {
		return false;
	}
	return true;
}

static void record_change(struct sim *s, json_t *rec, const struct tw_explain *x,
			  const char *target, const char *old, uint64_t n)
{
	const char *now = tw_explain_verdict(x->verdict), *tier = str(rec, "tier") ?: "-";
	char key[1024];
	json_t *g;

	snprintf(key, sizeof(key), "%s>%s|%s|%s|%s", old, now, str(rec, "kind"), tier, target);
	g = json_object_get(s->groups, key);
	if (!g) {
		g = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:I}", "was", old, "now", now,
			      "kind", str(rec, "kind"), "tier", tier, "target", target,
			      "was_rule", str(rec, "rule"), "count", (json_int_t)0);
		json_object_set_new(g, "now_tier", x->out_tier && x->out_tier <= (uint32_t)s->p->ntiers ?
				    json_string(s->p->tiers[x->out_tier].name) : json_null());
		tw_explain_fields(s->p, x, g);
		json_object_del(g, "verdict");		/* "now" says it */
		json_object_set_new(s->groups, key, g);
	}
	json_object_set_new(g, "count", json_integer(json_integer_value(json_object_get(g, "count")) + n));
	if (!strcmp(now, "deny"))
		s->newly_denied += n;
	else if (!strcmp(now, "allow"))
		s->newly_allowed += n;
	else
		s->changed += n;
}

static int judge(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct sim *s = arg;
	json_t *rec;

	if (!line) {
		tw_err("cannot read %s: %s", pos->file, strerror(-(int)len));
		return 0;
	}
	rec = json_loadb(line, len, 0, NULL);
	struct tw_explain x = { .tier_given = 1 };
	const char *old = str(rec, "verdict");
	uint64_t ts = 0, n;
	char target[512];

	if (!rec || !old || tw_parse_time(str(rec, "ts") ?: "", &ts) || ts < since_ns ||
	    !question(s, rec, &x, target, sizeof(target)))
		goto out;
	n = json_integer_value(json_object_get(rec, "count")) ?: 1;
	x.tier = draft_tier(s, rec);
	if (tw_explainer_run(s->x, &x))
		goto out;
	s->decisions += n;
	if (!strcmp(old, "allow") && str(rec, "tier"))
		json_object_set_new(s->allow_tiers, str(rec, "tier"), json_true());
	if (!s->first_ns)
		s->first_ns = ts;
	s->last_ns = ts;
	if (!strcmp(tw_explain_verdict(x.verdict), old))
		s->unchanged += n;
	else
		record_change(s, rec, &x, target, old, n);
out:
	json_decref(rec);
	return 0;
}

/* ---- the answer ---- */

static json_t *changes(struct sim *s, const char *now, bool other)
{
	json_t *a = json_array(), *g;
	const char *k;

	json_object_foreach(s->groups, k, g) {
		bool match = !strcmp(str(g, "now"), now);

		if (other ? strcmp(str(g, "now"), "deny") && strcmp(str(g, "now"), "allow") : match)
			json_array_append(a, g);
	}
	return a;
}

static json_t *answer(struct sim *s, const char *draft, const char *dir)
{
	char first[64] = "", last[64] = "";
	json_t *tiers = json_array(), *v;
	const char *k;

	json_object_foreach(s->allow_tiers, k, v)
		json_array_append_new(tiers, json_string(k));
	if (s->first_ns) {
		tw_format_time(s->first_ns, first, sizeof(first));
		tw_format_time(s->last_ns, last, sizeof(last));
	}
	return json_pack("{s:b, s:s, s:s, s:s, s:o, s:I, s:I, s:s?, s:s?, s:o, s:o, s:o, s:{s:I, s:I, s:I}}",
		"ok", 1, "draft", draft, "log_dir", dir,
		"covers", "the decisions the log holds: denials and audits, socket and DNS refusals, and "
			  "allowed use only for tiers with \"log\": \"all\"; other allowed traffic is "
			  "not recorded and cannot be replayed",
		"allowed_use_logged_for", tiers,
		"decisions", (json_int_t)s->decisions, "unchanged", (json_int_t)s->unchanged,
		"from", first[0] ? first : NULL, "to", last[0] ? last : NULL,
		"newly_denied", changes(s, "deny", false), "newly_allowed", changes(s, "allow", false),
		"changed_mode", changes(s, "", true),
		"totals", "newly_denied", (json_int_t)s->newly_denied,
		"newly_allowed", (json_int_t)s->newly_allowed, "changed_mode", (json_int_t)s->changed);
}

#define SHOWN	20	/* changes listed per section in text; --json has them all */

static int by_count(const void *x, const void *y)
{
	json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "count"));
	json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "count"));

	return a < b ? 1 : a > b ? -1 : 0;
}

static void print_group(const char *title, json_t *arr, uint64_t total)
{
	size_t i, n = json_array_size(arr);
	json_t **a = calloc(n + 1, sizeof(*a)), *g;

	printf("\n%s: %llu decision%s\n", title, (unsigned long long)total, total == 1 ? "" : "s");
	for (i = 0; a && i < n; i++)
		a[i] = json_array_get(arr, i);
	if (a)
		qsort(a, n, sizeof(*a), by_count);
	for (i = 0; a && i < n && i < SHOWN; i++) {
		g = a[i];
		printf("  %-10s %-7s %-32s %s -> %s", str(g, "tier"), str(g, "kind"), str(g, "target"),
		       str(g, "was"), str(g, "now"));
		if (str(g, "rule"))
			printf("  %s %s (%s)", str(g, "rule"),
			       str(g, "cidr") ?: str(g, "hostname") ?: str(g, "secret") ?: "",
			       str(g, "target_tier") ?: "-");
		else if (str(g, "was_rule"))
			printf("  (was %s)", str(g, "was_rule"));
		if (!str(g, "now_tier"))
			printf("  [untiered under the draft]");
		printf("  x%lld\n", json_integer_value(json_object_get(g, "count")));
	}
	if (n > SHOWN)
		printf("  ... and %zu more targets (--json lists every one)\n", n - SHOWN);
	free(a);
}

static void print_answer(json_t *o)
{
	json_t *t = json_object_get(o, "totals"), *v;
	size_t i;

	printf("simulate %s against the log in %s: %lld decisions", str(o, "draft"), str(o, "log_dir"),
	       json_integer_value(json_object_get(o, "decisions")));
	if (str(o, "from"))
		printf(" from %.19sZ to %.19sZ", str(o, "from"), str(o, "to"));
	printf("\ncovers: %s", str(o, "covers"));
	json_array_foreach(json_object_get(o, "allowed_use_logged_for"), i, v)
		printf("%s%s", i ? ", " : " (in this log: ", json_string_value(v));
	printf("%s\n", json_array_size(json_object_get(o, "allowed_use_logged_for")) ? ")" : "");
	print_group("newly denied", json_object_get(o, "newly_denied"),
		    json_integer_value(json_object_get(t, "newly_denied")));
	print_group("newly allowed", json_object_get(o, "newly_allowed"),
		    json_integer_value(json_object_get(t, "newly_allowed")));
	if (json_integer_value(json_object_get(t, "changed_mode")))
		print_group("now audited (allowed and recorded)", json_object_get(o, "changed_mode"),
			    json_integer_value(json_object_get(t, "changed_mode")));
	printf("\nunchanged: %lld decisions\n", json_integer_value(json_object_get(o, "unchanged")));
}

static int load_draft(struct sim *s, const char *file, struct tw_tables *t)
{
	struct tw_diags d = {};
	char why[256];
	int err;

	err = tw_policy_load(file, &s->p, &d);
	if (!err) {
		err = tw_compile(s->p, t, &d);
		if (err) {
			tw_policy_free(s->p);
			s->p = NULL;
		}
	}
	if (err) {
		tw_diags_print(&d, stderr);
		tw_err("%s: %d error%s: nothing to simulate", file, d.count, d.count == 1 ? "" : "s");
		tw_diags_free(&d);
		return err;
	}
	err = tw_explainer_open(&s->x);
	if (!err)
		err = tw_explainer_load(s->x, t, SIM_HOSTS, s->p->nsecrets, why, sizeof(why));
	if (!err)
		err = tw_explainer_fill(s->x, t, s->p);
	if (err)
		tw_err("cannot load the draft into temporary BPF maps: %s%s",
		       err == -EPERM ? "permission denied (simulate needs root: CAP_BPF)" : strerror(-err),
		       why[0] && err != -EPERM ? why : "");
	return err;
}

int do_simulate(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "since", required_argument, NULL, 's' },
		{ "log-dir", required_argument, NULL, 'L' },
		{ "exit-code", no_argument, NULL, 'x' },
		{}
	};
	int first = tw_parse_opts(argc, argv, NULL, extra, sim_opt), rc = EXIT_FAIL;
	struct sim s = { .hosts = json_object(), .groups = json_object(), .allow_tiers = json_object() };
	struct tw_tables t = {};
	char dir[PATH_MAX], **files;
	json_t *o;

	tw_want_operands(argc, first, 1);
	if (load_draft(&s, argv[first], &t))
		goto out;
	daemon_info(&s, dir, sizeof(dir));
	if (tag_paths(&s))
		goto out;
	files = tw_evlog_files(dir);
	if (!files || !files[0]) {
		tw_ev_no_log(dir);
		tw_evlog_files_free(files);
		goto out;
	}
	tw_evlog_files_free(files);
	tw_evlog_scan(dir, learn_hosts, &s);
	if (fill_hosts(&s) || fill_secrets(&s)) {
		tw_err("cannot fill the draft's temporary maps");
		goto out;
	}
	tw_evlog_scan(dir, judge, &s);
	o = answer(&s, argv[first], dir);
	if (tw_want_json)
		tw_print_json(o);
	else
		print_answer(o);
	json_decref(o);
	rc = exit_code && s.newly_denied + s.newly_allowed + s.changed ? EXIT_ANSWER : 0;
out:
	for (first = 0; s.tag_paths && first < s.p->ncgroups; first++)
		free(s.tag_paths[first]);
	free(s.tag_paths);
	tw_explainer_free(s.x);
	tw_tables_free(&t);
	tw_policy_free(s.p);
	json_decref(s.hosts);
	json_decref(s.groups);
	json_decref(s.allow_tiers);
	json_decref(s.live_tags);
	return rc;
}
