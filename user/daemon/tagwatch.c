// SPDX-License-Identifier: GPL-2.0
/*
 * Tags that never lapse silently. A service or container restart removes
 * and recreates its cgroup: the new directory has a new id the kernel map
 * does not know. Policy tags follow their path: the new cgroup is tagged
 * as soon as inotify on its parent reports it, and at the latest by the
 * once-a-second check. Runtime and pod tags belong to one cgroup: when it
 * goes, the tag is dropped with a tag_lost record.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>
#include "cgroup.h"
#include "log.h"
#include "pending.h"
#include "tags.h"
#include "tagwatch.h"
#include "text.h"
#include "util.h"

#define CHECK_NS	1000000000ull
#define WATCH_MASK	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)

int dm_tagwatch_init(struct daemon *d)
{
	d->tag_watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (d->tag_watch_fd < 0) {
		tw_err("inotify for tagged cgroups: %s", strerror(errno));
		return -errno;
	}
	dm_tagwatch_update(d);
	return 0;
}

/* Watch the parent of each tagged path, or its nearest existing ancestor. */
void dm_tagwatch_add(struct daemon *d, const char *path)
{
	char dir[PATH_MAX], *slash;

	if (d->tag_watch_fd < 0)
		return;
	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = '\0';
		if (inotify_add_watch(d->tag_watch_fd, dir, WATCH_MASK) >= 0 ||
		    strlen(dir) <= strlen(d->mount))
			break;
	}
}

void dm_tagwatch_update(struct daemon *d)
{
	int i;

	for (i = 0; i < d->ntags; i++)
		dm_tagwatch_add(d, d->tags[i].path);
}

static void follow_policy_tag(struct daemon *d, int i, uint64_t now_id)
{
	struct tag *t = &d->tags[i];
	const char *rule = d->policy->cgroups[t->policy_index].jpath;
	const char *tier = dm_tag_tier_name(d, t->tier);
	uint64_t was = t->id;
	char why[PATH_MAX + 128];
	struct tag origin = *t;

	if (!now_id) {
		tw_warn("policy-tagged cgroup %s (%s) was removed; it is tagged again when it reappears",
			dm_rel_path(d, t->path), tier);
		dm_tag_missing(d, i);
		dm_log_daemon(d, "tag_missing", json_pack("{s:s, s:s, s:I, s:s}", "cgroup",
			      dm_rel_path(d, t->path), "tier", tier, "cgroup_id", (json_int_t)was,
			      "rule", rule));
		return;
	}
	origin.meta = NULL;
	origin.since = 0;
	if (dm_add_tag(d, t->path, t->tier, &origin, why, sizeof(why))) {
		tw_err("cannot tag recreated cgroup %s: %s", dm_rel_path(d, t->path), why);
		return;
	}
	tw_info("policy-tagged cgroup %s (%s) was created again: tagged", dm_rel_path(d, t->path), tier);
	dm_log_daemon(d, "tag_followed", json_pack("{s:s, s:s, s:I, s:I, s:s}", "cgroup",
		      dm_rel_path(d, t->path), "tier", tier, "cgroup_id", (json_int_t)now_id,
		      "previous_cgroup_id", (json_int_t)was, "rule", rule));
}

static void lose_tag(struct daemon *d, int i)
{
	struct tag *t = &d->tags[i];
	json_t *o;

	tw_warn("runtime-tagged cgroup %s (%s) was removed: tag dropped", dm_rel_path(d, t->path),
		dm_tag_tier_name(d, t->tier));
	o = json_pack("{s:I, s:s, s:s, s:i, s:i, s:s}", "cgroup_id", (json_int_t)t->id,
		      "tier", dm_tag_tier_name(d, t->tier), "source", dm_tag_source_name(t->source),
		      "requested_by_uid", (int)t->uid, "requested_by_pid", t->pid, "why", "cgroup removed");
	tw_json_set_text(o, "cgroup", dm_rel_path(d, t->path));	/* a runtime tag's path: any bytes */
	dm_log_daemon(d, "tag_lost", o);
	dm_remove_tag(d, i);
}

void dm_tags_check(struct daemon *d)
{
	bool changed = false;
	int i;

	d->next_tag_check = tw_now_ns(CLOCK_MONOTONIC) + CHECK_NS;
	for (i = d->ntags - 1; i >= 0; i--) {
		uint64_t id = 0;

		if (tw_cgroup_id(d->tags[i].path, &id))
			id = 0;
		if (id == d->tags[i].id)
			continue;
		changed = true;
		if (d->tags[i].source == TAG_POLICY)
			follow_policy_tag(d, i, id);
		else if (d->tags[i].source == TAG_PENDING)
			dm_remove_tag(d, i);	/* found again below when it comes back */
		else
			lose_tag(d, i);
	}
	if (changed)
		dm_tagwatch_update(d);
}

void dm_tagwatch_event(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	/* Which name changed does not matter: every tagged path is looked at again. */
	while (read(d->tag_watch_fd, buf, sizeof(buf)) > 0)
		;
	dm_tags_check(d);
}

void dm_tagwatch_tick(struct daemon *d)
{
	if (tw_now_ns(CLOCK_MONOTONIC) >= d->next_tag_check)
		dm_tags_check(d);
}

void dm_tagwatch_free(struct daemon *d)
{
	if (d->tag_watch_fd >= 0)
		close(d->tag_watch_fd);
	d->tag_watch_fd = -1;
}
