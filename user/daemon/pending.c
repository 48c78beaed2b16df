// SPDX-License-Identifier: GPL-2.0
/*
 * Pending pods: fail closed in the kernel, whatever the runtime. Each pods'
 * root (the policy's kubernetes.pods_roots, else those of
 * TW_KUBE_FOUND_ROOTS that exist below the daemon's cgroup root) carries a
 * tag of tier TW_TIER_PENDING (maps/pending.h); a pod the daemon places
 * (hook, CRI sync, restored tag) gets a tag of its own, its tier or
 * untiered. The kernel's one tier lookup finds the nearest: a cgroup below
 * a root that nobody placed is refused every tier's destinations, names and
 * secrets, also while no daemon runs (the tags stay in the pinned map).
 *
 * Once a second the daemon counts the pending containers (cgroups with
 * processes whose nearest tag is a root's) for status and metrics, and
 * records one still pending 10 s after the daemon is up (pending_overdue).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "log.h"
#include "pending.h"
#include "pendmap.h"
#include "tags.h"
#include "util.h"

#define OVERDUE_S	10
#define SCAN_MAX	20000	/* cgroups looked at per scan: a bound, not a limit seen in practice */
#define SCAN_DEPTH	8
#define REPORTED_MAX	1024

static const char *const found_roots[] = TW_KUBE_FOUND_ROOTS;

static struct {
	uint64_t next_check;		/* monotonic ns */
	uint64_t up_since;		/* monotonic s of the first check (the daemon is up) */
	int count;
	uint64_t oldest_since;		/* unix s */
	char oldest[PATH_MAX];
	uint64_t reported[REPORTED_MAX];	/* cgroup ids already recorded as overdue */
	int nreported;
} pend;

bool dm_tag_pending(const struct daemon *d, int i)
{
	return i >= 0 && d->tags[i].source == TAG_PENDING;
}

const char *dm_tag_tier_name(const struct daemon *d, int tier)
{
	if (tier == TW_TIER_NONE)
		return "untiered";
	if (tier == TW_TIER_PENDING)
		return "pending";
	return dm_tier_name(d, tier);
}

int dm_tier_or_untiered(const struct daemon *d, const char *name)
{
	if (name && !strcmp(name, "untiered"))
		return TW_TIER_NONE;
	return tw_policy_tier_id(d->policy, name) ?: -ENOENT;
}

/* Ids of abs's ancestors by level, abs's own last: the number of levels. */
static int ancestor_ids(const struct daemon *d, const char *abs, uint64_t *ids, int max)
{
	char p[PATH_MAX];
	int level = tw_cgroup_level(d->mount, abs), i;

	if (level < 0 || level >= max)
		return level < 0 ? level : -E2BIG;
	snprintf(p, sizeof(p), "%s", abs);
	for (i = level; i >= 0; i--) {
		char *slash;

		if (tw_cgroup_id(p, &ids[i]))
			ids[i] = 0;
		slash = strrchr(p, '/');
		if (slash)
			*slash = '\0';
	}
	return level + 1;
}

int dm_pending_release_self(struct daemon *d)
{
	uint64_t ids[TW_MAX_LEVELS];
	char abs[PATH_MAX];
	int n, err;

	if (!d->pin_dir[0] || dm_cgroup_of_pid(d, getpid(), abs, sizeof(abs)))
		return 0;
	n = ancestor_ids(d, abs, ids, TW_MAX_LEVELS);
	err = n > 0 ? tw_old_release(d->pin_dir, ids, n) : 0;
	if (err < 0)
		tw_warn("cannot release this daemon's cgroup %s from pending in %s: %s",
			dm_rel_path(d, abs), d->pin_dir, strerror(-err));
	else if (err)
		tw_info("this daemon's cgroup %s was pending: released (untiered) in the previous "
			"instance's maps", dm_rel_path(d, abs));
	return err < 0 ? err : 0;
}

/* The daemon's own cgroup, if it is pending: placed untiered (the agent's pod). */
static void place_self(struct daemon *d)
{
	struct tag origin = { .source = TAG_RUNTIME, .uid = getuid(), .pid = getpid() };
	char abs[PATH_MAX], why[PATH_MAX + 128];

	if (dm_cgroup_of_pid(d, getpid(), abs, sizeof(abs)) ||
	    !dm_tag_pending(d, dm_effective_tag(d, abs)))
		return;
	origin.meta = json_pack("{s:s}", "via", "self");
	if (dm_add_tag(d, abs, TW_TIER_NONE, &origin, why, sizeof(why)))
		tw_err("cannot place this daemon's own cgroup: %s", why);
	json_decref(origin.meta);
}

static void tag_root(struct daemon *d, const char *rel, bool warn)
{
	struct tag origin = { .source = TAG_PENDING, .pid = -1 };
	char abs[PATH_MAX + 64], why[PATH_MAX + 128];
	int i;

	snprintf(abs, sizeof(abs), "%s%s", d->root, rel);
	if (tw_is_cgroup2_dir(abs)) {
		if (warn)
			tw_warn("%s: %s: pods' root %s does not exist (yet): pods below it are pending once it does",
				d->policy_file, d->policy->kube.roots_jpath, rel);
		return;
	}
	i = dm_find_tag_path(d, abs);
	if (i >= 0 && d->tags[i].source != TAG_PENDING)
		return;	/* the policy or a runtime tags it: that tier holds */
	if (i >= 0 && d->tags[i].id)
		return;
	if (dm_add_tag(d, abs, TW_TIER_PENDING, &origin, why, sizeof(why)))
		tw_err("pods' root %s: %s", rel, why);
}

/* The roots tagged; warn: say which ones the policy names that are missing. */
static void tag_roots(struct daemon *d, bool warn)
{
	const struct tw_policy_kube *k = &d->policy->kube;
	size_t i;

	if (k->roots_set) {
		for (i = 0; i < (size_t)k->nroots; i++)
			tag_root(d, k->roots[i], warn);
	} else {
		for (i = 0; i < sizeof(found_roots) / sizeof(found_roots[0]); i++)
			tag_root(d, found_roots[i], false);
	}
	place_self(d);
}

void dm_tag_pending_roots(struct daemon *d)
{
	tag_roots(d, true);
}

bool dm_pending_below(struct daemon *d, const char *abs)
{
	return dm_tag_pending(d, dm_effective_tag(d, abs));
}

static bool has_procs(const char *dir)
{
	char path[PATH_MAX + 16], c;
	FILE *f;
	bool any;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return false;
	any = fread(&c, 1, 1, f) == 1;
	fclose(f);
	return any;
}

static bool reported(uint64_t id)
{
	int i;

	for (i = 0; i < pend.nreported; i++)
		if (pend.reported[i] == id)
			return true;
	return false;
}

static void overdue(struct daemon *d, const char *dir, uint64_t id, uint64_t since)
{
	if (reported(id) || pend.nreported == REPORTED_MAX)
		return;
	pend.reported[pend.nreported++] = id;
	tw_warn("cgroup %s is still pending %llu s after it appeared: no hook or sync placed it",
		dm_rel_path(d, dir), (unsigned long long)((uint64_t)time(NULL) - since));
	dm_log_daemon(d, "pending_overdue", json_pack("{s:s, s:I, s:I, s:i}", "cgroup",
		      dm_rel_path(d, dir), "cgroup_id", (json_int_t)id, "since", (json_int_t)since,
		      "after_s", OVERDUE_S));
}

/* Count the pending containers below dir (its nearest tag is a root's). */
static void scan(struct daemon *d, const char *dir, int depth, int *budget, bool overdue_on)
{
	struct dirent *e;
	struct stat st;
	uint64_t id;
	DIR *dh;

	if (--*budget < 0 || depth > SCAN_DEPTH || tw_cgroup_id(dir, &id))
		return;
	if (depth && dm_find_tag(d, id) >= 0)
		return;		/* placed: it and everything below */
	if (depth && has_procs(dir) && !stat(dir, &st)) {
		uint64_t since = st.st_ctime;

		pend.count++;
		if (!pend.oldest_since || since < pend.oldest_since) {
			pend.oldest_since = since;
			snprintf(pend.oldest, sizeof(pend.oldest), "%s", dm_rel_path(d, dir));
		}
		if (overdue_on && (uint64_t)time(NULL) >= since + OVERDUE_S)
			overdue(d, dir, id, since);
	}
	dh = opendir(dir);
	if (!dh)
		return;
	while ((e = readdir(dh))) {
		char sub[PATH_MAX];

		if (e->d_type != DT_DIR || e->d_name[0] == '.' ||
		    snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name) >= (int)sizeof(sub))
			continue;
		scan(d, sub, depth + 1, budget, overdue_on);
	}
	closedir(dh);
}

void dm_pending_tick(struct daemon *d)
{
	uint64_t ns = tw_now_ns(CLOCK_MONOTONIC), now = ns / 1000000000ull;
	int budget = SCAN_MAX, i;
	bool overdue_on;

	if (ns < pend.next_check)
		return;
	pend.next_check = ns + 1000000000ull;
	if (!pend.up_since)
		pend.up_since = now;
	overdue_on = now >= pend.up_since + OVERDUE_S;
	tag_roots(d, false);	/* a root that appeared, or came back */
	pend.count = 0;
	pend.oldest_since = 0;
	pend.oldest[0] = '\0';
	for (i = 0; i < d->ntags; i++)
		if (d->tags[i].source == TAG_PENDING && d->tags[i].id)
			scan(d, d->tags[i].path, 0, &budget, overdue_on);
	if (!pend.count)
		pend.nreported = 0;
}

int dm_pending_counts(uint64_t *oldest_age)
{
	/* The metrics thread: a count a second stale is fine for a gauge. */
	int n = __atomic_load_n(&pend.count, __ATOMIC_RELAXED);
	uint64_t since = __atomic_load_n(&pend.oldest_since, __ATOMIC_RELAXED), now = time(NULL);

	*oldest_age = n && since && now > since ? now - since : 0;
	return n;
}

json_t *dm_pending_json(const struct daemon *d)
{
	json_t *roots = json_array(), *o;
	int i;

	for (i = 0; i < d->ntags; i++)
		if (d->tags[i].source == TAG_PENDING && d->tags[i].id)
			json_array_append_new(roots, json_string(dm_rel_path(d, d->tags[i].path)));
	o = json_pack("{s:o, s:s, s:i}", "roots", roots, "roots_from",
		      d->policy->kube.roots_set ? "policy" : "found", "containers", pend.count);
	if (pend.count)
		json_object_set_new(o, "oldest", json_pack("{s:s, s:I, s:I}", "cgroup", pend.oldest,
				    "since", (json_int_t)pend.oldest_since,
				    "seconds", (json_int_t)((uint64_t)time(NULL) - pend.oldest_since)));
	return o;
}
