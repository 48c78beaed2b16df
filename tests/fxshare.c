// SPDX-License-Identifier: GPL-2.0
/*
 * One daemon shared by the tests of a file (see fx_share in fixture.h):
 * under TCG a daemon start loads every BPF object again, seconds each time,
 * so the tests that only need an enforcing daemon on their own cgroups get
 * a slot of one instead of a daemon of their own.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <jansson.h>
#include "cgroup.h"
#include "fixture.h"
#include "test.h"

static struct fx shared;
static const struct fx_group *group;
static int used;			/* slots handed out so far */

static void share_end(void)
{
	fx_cleanup(&shared);
	group = NULL;
	used = 0;
}

/* Slot k's directory for its files (the slot's f->tmp). */
static void slot_dir(char *out, size_t len, int k)
{
	snprintf(out, len, "%s/s%d", shared.tmp, k);
}

/* e's "paths" with "@SLOT@" in them standing for slot k's directory. */
static json_t *slotted_secret(json_t *e, int k)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	json_t *c = json_deep_copy(e), *paths = json_array(), *v;
	const char *s, *at;
	size_t i;

	slot_dir(dir, sizeof(dir), k);
	json_array_foreach(json_object_get(e, "paths"), i, v) {
		s = json_string_value(v) ?: "";
		at = strstr(s, "@SLOT@");
		if (at)
			snprintf(path, sizeof(path), "%.*s%s%s", (int)(at - s), s, dir, at + 6);
		else
			snprintf(path, sizeof(path), "%s", s);
		json_array_append_new(paths, json_string(path));
	}
	json_object_set_new(c, "paths", paths);
	return c;
}

/* Every slot's copy of the "secrets" entries, for a group with files. */
static int slot_secrets(json_t *p, int slots)
{
	json_t *in = json_object_get(p, "secrets"), *out = json_array(), *e;
	size_t i;
	int k;

	if (!in)
		return 0;
	for (k = 1; k <= slots; k++)
		json_array_foreach(in, i, e)
			json_array_append_new(out, slotted_secret(e, k));
	return json_object_set_new(p, "secrets", out) ? -ENOMEM : 0;
}

/* The group's policy with its "cgroups" entries repeated under /s1 ... /sN (and secrets per slot). */
static int write_slotted_policy(const struct fx_group *g)
{
	char text[16384], path[PATH_MAX];
	json_t *p, *in, *out, *e, *c;
	size_t i;
	int k, err = -EINVAL;

	if (g->text)
		snprintf(text, sizeof(text), "%s", g->text);
	else
		g->policy(text, sizeof(text));
	p = json_loads(text, 0, NULL);
	in = json_object_get(p, "cgroups");
	out = json_array();
	if (!p || !json_is_array(in) || !out)
		goto out;
	for (k = 1; k <= g->slots; k++) {
		json_array_foreach(in, i, e) {
			snprintf(path, sizeof(path), "/s%d%s", k,
				 json_string_value(json_object_get(e, "path")) ?: "");
			c = json_deep_copy(e);
			json_object_set_new(c, "path", json_string(path));
			json_array_append_new(out, c);
		}
	}
	json_object_set(p, "cgroups", out);
	if (g->files && slot_secrets(p, g->slots))
		goto out;
	err = json_dump_file(p, shared.policy, JSON_INDENT(1)) ? -EIO : 0;
out:
	json_decref(out);
	json_decref(p);
	return err;
}

static bool share_start(const struct fx_group *g)
{
	char rel[PATH_MAX];
	int k, err;
	const char *const *c;

	share_end();
	err = fx_init(&shared, NULL);
	for (k = 1; !err && k <= g->slots; k++) {
		for (c = g->cgroups; !err && *c; c++) {
			snprintf(rel, sizeof(rel), "s%d/%s", k, *c);
			err = fx_mkcg(&shared, rel);
		}
		/* The files exist before the daemon starts, as an own daemon's would. */
		if (!err && g->files) {
			slot_dir(rel, sizeof(rel), k);
			err = mkdir(rel, 0755) ? -errno : g->files(rel);
		}
	}
	if (!err)
		err = write_slotted_policy(g);
	if (!ASSERT_OK(err, "shared daemon's cgroups and policy") || !fx_started(&shared, NULL)) {
		share_end();
		return false;
	}
	group = g;
	return true;
}

/* Still running? (A test that killed it by mistake must not fail the next ones.) */
static bool shared_alive(void)
{
	return shared.daemon && waitpid(shared.daemon, &shared.daemon_status, WNOHANG) == 0;
}

bool fx_share(struct fx *f, const struct fx_group *g)
{
	char mnt[PATH_MAX];

	memset(f, 0, sizeof(*f));
	if (tw_cgroup2_mount(mnt, sizeof(mnt)))
		return ASSERT_TRUE(false, "a cgroup2 mount");
	if ((group != g || used >= g->slots || !shared_alive()) && !share_start(g))
		return false;
	tw_test_at_file_end(share_end);
	*f = shared;
	f->borrowed = true;
	f->notify_fd = -1;
	used++;
	snprintf(f->root, sizeof(f->root), "%s/s%d", shared.root, used);
	snprintf(f->slot, sizeof(f->slot), "%s", f->root + strlen(mnt));
	if (g->files) {
		slot_dir(f->tmp, sizeof(f->tmp), used);
		f->slot_files = true;
	}
	return true;
}

bool fx_lsm_share(struct fx *f, const struct fx_group *g)
{
	memset(f, 0, sizeof(*f));	/* a skipped test's cleanup finds nothing */
	return fx_lsm_ready() && fx_share(f, g);
}
