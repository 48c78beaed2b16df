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

/* The group's policy with its "cgroups" entries repeated under /s1 ... /sN. */
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
	for (k = 1; !err && k <= g->slots; k++)
		for (c = g->cgroups; !err && *c; c++) {
			snprintf(rel, sizeof(rel), "s%d/%s", k, *c);
			err = fx_mkcg(&shared, rel);
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
	return true;
}
