// SPDX-License-Identifier: GPL-2.0
/*
 * STATE_DIR/state.json: what the kernel maps cannot hold and a restart must
 * not forget. Runtime and pod tags with their source, requester and
 * metadata (cgroup_tiers holds only id -> tier), and every address each
 * policy hostname is known to have, so a restart while the resolver is
 * unreachable enforces all of them. Written whole to a temporary file,
 * fsynced, then renamed over the old one: a crash leaves one or the other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cgroup.h"
#include "log.h"
#include "pending.h"
#include "persist.h"
#include "grants.h"
#include "tags.h"
#include "util.h"

#define STATE_FILE	"state.json"
#define STATE_VERSION	1

static void state_path(const struct daemon *d, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", d->state_dir, name);
}

static json_t *tags_json(const struct daemon *d)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < d->ntags; i++) {
		const struct tag *t = &d->tags[i];

		if (t->source == TAG_POLICY || t->source == TAG_PENDING)
			continue;	/* the policy file (or what is found) says them again */
		json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:i, s:i, s:I}",
			"path", t->path, "cgroup_id", (json_int_t)t->id,
			"tier", dm_tag_tier_name(d, t->tier), "source", dm_tag_source_name(t->source),
			"uid", (int)t->uid, "pid", t->pid, "since", (json_int_t)t->since);

		if (t->meta)
			json_object_set(o, "meta", t->meta);
		if (t->flags)
			json_object_set_new(o, "flags", json_integer(t->flags));
		json_array_append_new(a, o);
	}
	return a;
}

static int write_all(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t w = write(fd, s, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		s += w;
		len -= w;
	}
	return 0;
}

json_t *dm_state_snapshot(const struct daemon *d)
{
	return json_pack("{s:i, s:i, s:s, s:o, s:o, s:o}", "v", STATE_VERSION, "pid", getpid(),
			 "cgroup_root", d->root, "tags", tags_json(d),
			 "hostnames", tw_dns_known(d->dns), "grants", dm_grants_save(d));
}

char *dm_state_text(const struct daemon *d)
{
	json_t *o = dm_state_snapshot(d);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	return s;
}

int dm_state_write(const char *dir, const char *text)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd, dfd, err;

	snprintf(path, sizeof(path), "%s/" STATE_FILE, dir);
	snprintf(tmp, sizeof(tmp), "%s/" STATE_FILE ".tmp", dir);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	err = fd < 0 ? -errno : write_all(fd, text, strlen(text));
	if (!err && fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		tw_err("cannot save %s: %s (tags and addresses since the last save would not survive a restart)",
		       path, strerror(-err));
		unlink(tmp);
		return err;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);	/* the rename itself */
		close(dfd);
	}
	return 0;
}

json_t *dm_state_load(const struct daemon *d)
{
	char path[PATH_MAX];
	json_error_t jerr;
	json_t *o;

	if (!d->state_dir[0])
		return NULL;
	state_path(d, STATE_FILE, path, sizeof(path));
	if (access(path, F_OK))
		return NULL;
	o = json_load_file(path, 0, &jerr);
	if (!o || json_integer_value(json_object_get(o, "v")) != STATE_VERSION) {
		tw_err("%s: %s: runtime tags and hostname addresses of the previous instance are lost",
		       path, o ? "unknown version" : jerr.text);
		json_decref(o);
		return NULL;
	}
	return o;
}

void dm_state_remove(const struct daemon *d)
{
	char path[PATH_MAX];

	if (!d->state_dir[0])
		return;
	state_path(d, STATE_FILE, path, sizeof(path));
	unlink(path);
	rmdir(d->state_dir);
}

static void tag_lost(struct daemon *d, json_t *t, const char *why)
{
	tw_warn("tag of %s (%s, %s) lost: %s", json_string_value(json_object_get(t, "path")),
		json_string_value(json_object_get(t, "tier")),
		json_string_value(json_object_get(t, "source")), why);
	dm_log_daemon(d, "tag_lost", json_pack("{s:s?, s:O?, s:O?, s:O?, s:O?, s:s}",
		"cgroup", json_string_value(json_object_get(t, "path")) ?
			  dm_rel_path(d, json_string_value(json_object_get(t, "path"))) : NULL,
		"cgroup_id", json_object_get(t, "cgroup_id"), "tier", json_object_get(t, "tier"),
		"source", json_object_get(t, "source"), "requested_by_uid", json_object_get(t, "uid"),
		"why", why));
}

/* One saved tag back into the kernel, if it still names the same cgroup. */
static bool restore_tag(struct daemon *d, json_t *t)
{
	const char *path = json_string_value(json_object_get(t, "path"));
	const char *tier = json_string_value(json_object_get(t, "tier"));
	int source = dm_tag_source_parse(json_string_value(json_object_get(t, "source")));
	uint64_t saved = json_integer_value(json_object_get(t, "cgroup_id")), id;
	struct tag origin = { .pid = -1 };
	char why[PATH_MAX + 128];
	size_t n = strlen(d->root);
	int tid, i;

	if (!path || !tier || source < 0 || source == TAG_POLICY || source == TAG_PENDING) {
		tag_lost(d, t, "unreadable entry in the state file");
		return false;
	}
	if (strncmp(path, d->root, n) || (path[n] && path[n] != '/')) {
		tag_lost(d, t, "outside this daemon's cgroup root");
		return false;
	}
	if ((tid = dm_tier_or_untiered(d, tier)) < 0) {
		snprintf(why, sizeof(why), "the policy has no tier \"%s\"", tier);
		tag_lost(d, t, why);
		return false;
	}
	if (tw_cgroup_id(path, &id)) {
		tag_lost(d, t, "cgroup removed");
		return false;
	}
	if (id != saved) {
		tag_lost(d, t, "cgroup removed and created again");
		return false;
	}
	i = dm_find_tag(d, id);
	if (i >= 0 && d->tags[i].source == TAG_POLICY) {
		tag_lost(d, t, "the policy tags this cgroup now");
		return false;
	}
	origin.source = source;
	origin.uid = json_integer_value(json_object_get(t, "uid"));
	origin.pid = json_integer_value(json_object_get(t, "pid"));
	origin.since = json_integer_value(json_object_get(t, "since"));
	origin.flags = json_integer_value(json_object_get(t, "flags"));
	origin.meta = json_is_object(json_object_get(t, "meta")) ? json_object_get(t, "meta") : NULL;
	if (dm_add_tag(d, path, tid, &origin, why, sizeof(why))) {
		tag_lost(d, t, why);
		return false;
	}
	return true;
}

void dm_state_restore_tags(struct daemon *d, json_t *state, bool quiet)
{
	json_t *t;
	size_t i;
	int restored = 0, lost = 0;

	json_array_foreach(json_object_get(state, "tags"), i, t) {
		if (restore_tag(d, t))
			restored++;
		else
			lost++;
	}
	if (!quiet && (restored || lost)) {
		tw_info("runtime tags from %s/%s: %d restored, %d lost", d->state_dir, STATE_FILE,
			restored, lost);
		dm_log_daemon(d, "tags_restored", json_pack("{s:i, s:i}", "restored", restored,
							    "lost", lost));
	}
	d->state_dirty |= lost > 0;
}
