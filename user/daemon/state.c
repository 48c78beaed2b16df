// SPDX-License-Identifier: GPL-2.0
/* The daemon's log helpers and event context. */
#include <stdio.h>
#include <string.h>
#include "cgroup.h"
#include "secrets.h"
#include "state.h"

/* Written to the log first; only then shown anywhere else. */
void dm_print_lines(void *arg, const char *lines, size_t len)
{
	struct daemon *d = arg;

	if (d->to_stdout) {
		fwrite(lines, 1, len, stdout);
		fflush(stdout);
	}
	tw_followers_publish(d->followers, lines, len);
}

void dm_log_json(struct daemon *d, json_t *o)
{
	if (o && !tw_evlog_append(d->log, o))
		d->logged++;
}

void dm_log_flush(struct daemon *d)
{
	tw_evlog_flush(d->log);
}

void dm_log_daemon(struct daemon *d, const char *what, json_t *extra)
{
	json_t *o = tw_event_daemon(what, &d->ectx);

	if (o && extra)
		json_object_update(o, extra);
	json_decref(extra);
	dm_log_json(d, o);
	dm_log_flush(d);
}

const char *dm_cgroup_path(void *arg, uint64_t id)
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

const char *dm_dev_path(void *arg, uint32_t kdev)
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

const char *dm_rel_path(const struct daemon *d, const char *abs)
{
	size_t n = strlen(d->mount);

	return abs[n] ? abs + n : "/";
}

/* A cgroup as the policy names it (below the daemon's root), for messages. */
const char *dm_policy_path(const struct daemon *d, const char *abs)
{
	size_t n = strlen(d->root);

	if (strncmp(abs, d->root, n) || (abs[n] && abs[n] != '/'))
		return abs;
	return abs[n] ? abs + n : "/";
}

const char *dm_tier_name(const struct daemon *d, int tier)
{
	return tier > 0 && tier <= d->policy->ntiers ? d->policy->tiers[tier].name : NULL;
}
