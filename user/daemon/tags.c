// SPDX-License-Identifier: GPL-2.0
/* Tags: which cgroups carry which tier, in the daemon and in the kernel map. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cgroup.h"
#include "log.h"
#include "tags.h"

static void publish_levels(struct daemon *d)
{
	uint64_t mask = 0;
	int i;

	for (i = 0; i < d->ntags; i++)
		mask |= 1ULL << d->tags[i].level;
	tw_bpf_set_levels(d->bpf, mask);
}

int dm_find_tag(struct daemon *d, uint64_t id)
{
	int i;

	for (i = 0; i < d->ntags; i++)
		if (d->tags[i].id == id)
			return i;
	return -1;
}

/* Tag an existing cgroup directory; err names why not. */
int dm_add_tag(struct daemon *d, const char *abs, int tier, bool from_policy,
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
	i = dm_find_tag(d, id);
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

int dm_remove_tag(struct daemon *d, int i)
{
	int err = tw_bpf_untag(d->bpf, d->tags[i].id);

	if (err && err != -ENOENT)
		return err;
	free(d->tags[i].path);
	d->tags[i] = d->tags[--d->ntags];
	publish_levels(d);
	return 0;
}

int dm_tag_policy_cgroups(struct daemon *d)
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
		err = dm_add_tag(d, abs, c->tier, true, why, sizeof(why));
		if (err) {
			tw_err("%s: %s: %s", d->policy_file, c->jpath, why);
			return err;
		}
	}
	return 0;
}
