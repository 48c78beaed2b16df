// SPDX-License-Identifier: GPL-2.0
/*
 * Tags: which cgroups carry which tier, in the daemon and in the kernel's
 * cgroup_tiers map, where they come from (policy, runtime, pod) and who
 * asked, and how a caller's own tier is found from userspace.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cgroup.h"
#include "log.h"
#include "pending.h"
#include "tags.h"

static const char *const source_names[] = {
	[TAG_POLICY] = "policy", [TAG_RUNTIME] = "runtime", [TAG_POD] = "pod", [TAG_RUN] = "run",
	[TAG_PENDING] = "pending",
};

const char *dm_tag_source_name(enum tag_source s)
{
	return source_names[s];
}

int dm_tag_source_parse(const char *s)
{
	size_t i;

	for (i = 0; s && i < sizeof(source_names) / sizeof(source_names[0]); i++)
		if (!strcmp(s, source_names[i]))
			return i;
	return -EINVAL;
}

static void publish_levels(struct daemon *d)
{
	uint64_t mask = 0;
	int i;

	for (i = 0; i < d->ntags; i++)
		if (d->tags[i].id)
			mask |= 1ULL << d->tags[i].level;
	tw_bpf_set_levels(d->bpf, mask);
}

int dm_find_tag(struct daemon *d, uint64_t id)
{
	int i;

	for (i = 0; id && i < d->ntags; i++)
		if (d->tags[i].id == id)
			return i;
	return -1;
}

int dm_find_tag_path(struct daemon *d, const char *abs)
{
	int i;

	for (i = 0; i < d->ntags; i++)
		if (!strcmp(d->tags[i].path, abs))
			return i;
	return -1;
}

/* Identity and depth of a cgroup directory, checked against what the programs see. */
static int cgroup_of(struct daemon *d, const char *abs, uint64_t *id, int *level,
		     char *why, size_t whylen)
{
	int err = tw_cgroup_id(abs, id);

	*level = err ? err : tw_cgroup_level(d->mount, abs);
	if (err || *level < 0) {
		err = err ? err : *level;
		snprintf(why, whylen, "cannot read cgroup %s: %s", abs, strerror(-err));
		return err;
	}
	if (*level >= TW_MAX_LEVELS) {
		snprintf(why, whylen, "cgroup %s is %d levels deep; tierwall sees %d",
			 abs, *level, TW_MAX_LEVELS - 1);
		return -E2BIG;
	}
	return 0;
}

int dm_add_tag(struct daemon *d, const char *abs, int tier, const struct tag *origin,
	       char *why, size_t whylen)
{
	struct tag *t;
	uint64_t id;
	int level, i, err;

	err = cgroup_of(d, abs, &id, &level, why, whylen);
	if (err)
		return err;
	i = dm_find_tag(d, id);
	if (i < 0 && origin->source == TAG_POLICY)
		i = dm_find_tag_path(d, abs);
	if (i < 0) {
		if (d->ntags == MAX_TAGS) {
			snprintf(why, whylen, "%d cgroups are tagged already", MAX_TAGS);
			return -ENOSPC;
		}
		i = d->ntags;
		memset(&d->tags[i], 0, sizeof(d->tags[i]));
	}
	t = &d->tags[i];
	/* Map entry first, then the level mask: the kernel never sees a half tag. */
	err = tw_bpf_tag(d->bpf, id, tier, origin->flags);
	if (err) {
		snprintf(why, whylen, "cannot update cgroup_tiers map: %s", strerror(-err));
		return err;
	}
	if (t->id && t->id != id)
		tw_bpf_untag(d->bpf, t->id);
	if (!t->path || strcmp(t->path, abs)) {
		free(t->path);
		t->path = strdup(abs);
	}
	json_decref(t->meta);
	t->meta = json_incref(origin->meta);
	t->source = origin->source;
	t->flags = origin->flags;
	t->policy_index = origin->policy_index;
	t->uid = origin->uid;
	t->pid = origin->pid;
	t->since = origin->since ? origin->since : (uint64_t)time(NULL);
	t->id = id;
	t->level = level;
	t->tier = tier;
	if (i == d->ntags)
		d->ntags++;
	publish_levels(d);
	d->state_dirty |= origin->source != TAG_POLICY && origin->source != TAG_PENDING;
	return 0;
}

void dm_tag_missing(struct daemon *d, int i)
{
	tw_bpf_untag(d->bpf, d->tags[i].id);
	d->tags[i].id = 0;
	publish_levels(d);
}

int dm_remove_tag(struct daemon *d, int i)
{
	int err = d->tags[i].id ? tw_bpf_untag(d->bpf, d->tags[i].id) : 0;

	if (err && err != -ENOENT)
		return err;
	d->state_dirty |= d->tags[i].source != TAG_POLICY;
	free(d->tags[i].path);
	json_decref(d->tags[i].meta);
	d->tags[i] = d->tags[--d->ntags];
	publish_levels(d);
	return 0;
}

void dm_tags_clear(struct daemon *d)
{
	int i;

	for (i = 0; i < d->ntags; i++) {
		free(d->tags[i].path);
		json_decref(d->tags[i].meta);
	}
	d->ntags = 0;
}

void dm_policy_cgroup_path(const struct daemon *d, const struct tw_policy *p, int i,
			   char *abs, size_t len)
{
	const char *rel = p->cgroups[i].path;

	snprintf(abs, len, "%s%s", d->root, strcmp(rel, "/") ? rel : "");
}

int dm_tag_policy_cgroups(struct daemon *d)
{
	int i, err;

	for (i = 0; i < d->policy->ncgroups; i++) {
		const struct tw_policy_cgroup *c = &d->policy->cgroups[i];
		struct tag origin = { .source = TAG_POLICY, .policy_index = i, .pid = -1 };
		char abs[PATH_MAX + 64], why[PATH_MAX + 128];

		dm_policy_cgroup_path(d, d->policy, i, abs, sizeof(abs));
		err = tw_is_cgroup2_dir(abs);
		if (err) {
			tw_err("%s: %s.path: cgroup \"%s\" cannot be tagged: %s is %s (create it before starting tierwalld)",
			       d->policy_file, c->jpath, c->path, abs,
			       err == -ENOENT ? "missing" : "not a cgroup2 directory");
			return err;
		}
		err = dm_add_tag(d, abs, c->tier, &origin, why, sizeof(why));
		if (err) {
			tw_err("%s: %s: %s", d->policy_file, c->jpath, why);
			return err;
		}
	}
	return 0;
}

int dm_effective_tag(struct daemon *d, const char *abs)
{
	char p[PATH_MAX];
	size_t mnt = strlen(d->mount);
	uint64_t id;
	char *slash;
	int i;

	snprintf(p, sizeof(p), "%s", abs);
	for (;;) {
		if (!tw_cgroup_id(p, &id) && (i = dm_find_tag(d, id)) >= 0)
			return i;
		slash = strrchr(p, '/');
		if (!slash || strlen(p) <= mnt)
			return -1;
		*slash = '\0';
		if (strlen(p) < mnt)
			return -1;
	}
}

int dm_cgroup_of_pid(struct daemon *d, int pid, char *abs, size_t len)
{
	char rel[PATH_MAX];
	int err = tw_pid_cgroup(pid, rel, sizeof(rel));

	if (!err)
		snprintf(abs, len, "%s%s", d->mount, strcmp(rel, "/") ? rel : "");
	return err;
}

json_t *dm_tag_json(const struct daemon *d, const struct tag *t)
{
	json_t *o = json_pack("{s:s, s:s, s:I, s:i, s:s, s:s, s:I}",
			      "cgroup", dm_rel_path(d, t->path), "path", t->path,
			      "cgroup_id", (json_int_t)t->id, "level", t->level,
			      "tier", dm_tag_tier_name(d, t->tier),
			      "source", dm_tag_source_name(t->source), "since", (json_int_t)t->since);

	if (t->source != TAG_POLICY) {
		json_object_set_new(o, "uid", json_integer(t->uid));
		json_object_set_new(o, "pid", json_integer(t->pid));
	} else {
		json_object_set_new(o, "rule", json_string(d->policy->cgroups[t->policy_index].jpath));
	}
	if (!t->id)
		json_object_set_new(o, "missing", json_true());
	if (t->flags & TW_TAG_AUDIT)
		json_object_set_new(o, "audit", json_true());
	if (t->meta)
		json_object_set(o, "meta", t->meta);
	return o;
}
