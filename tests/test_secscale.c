// SPDX-License-Identifier: GPL-2.0
/*
 * A policy with many secret paths loads and protects: the kernel's maps
 * (secrets, and the names rules watch) are sized from the rules, not from a
 * fixed default (8,192 watched names refused 10,000 paths once).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fileops.h"
#include "fixture.h"
#include "test.h"

#define NPATHS	6000	/* two watched names each: more than the old 8,192 */

static const char *const cgroups[] = { "agents/staging", "services/prod", NULL };

/* The policy: prod owns NPATHS files, each in a directory of its own. */
static char *many_paths_policy(struct fx *f)
{
	size_t len = 512 + (size_t)NPATHS * (strlen(f->tmp) + 32), n;
	char *p = malloc(len);
	int i;

	if (!p)
		return NULL;
	n = snprintf(p, len, "{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		     "  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
		     "               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
		     "  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [");
	for (i = 0; i < NPATHS; i++)
		n += snprintf(p + n, len - n, "%s\"%s/s/d%d/key\"", i ? ", " : "", f->tmp, i);
	snprintf(p + n, len - n, "]} ] }\n");
	return p;
}

static int make_files(struct fx *f)
{
	char p[PATH_MAX + 64];
	int i, err;

	snprintf(p, sizeof(p), "%s/s", f->tmp);
	if (mkdir(p, 0755))
		return -errno;
	for (i = 0; i < NPATHS; i++) {
		snprintf(p, sizeof(p), "%s/s/d%d", f->tmp, i);
		if (mkdir(p, 0755))
			return -errno;
		snprintf(p, sizeof(p), "%s/s/d%d/key", f->tmp, i);
		err = write_file(p, "prod\n", 0644);
		if (err)
			return err;
	}
	snprintf(p, sizeof(p), "%s/plain", f->tmp);
	return write_file(p, "plain\n", 0644);
}

TEST(lsm_secret_many_paths)
{
	char key[PATH_MAX + 32], other[PATH_MAX + 32], *policy = NULL;
	struct fop o = { .flags = O_RDONLY };
	struct fx f = {};

	if (!fx_lsm_ready())
		goto out;
	if (!ASSERT_OK(fx_init(&f, cgroups), "fixture"))
		goto out;
	if (!ASSERT_OK(make_files(&f), "the files"))
		goto out;
	policy = many_paths_policy(&f);
	if (!ASSERT_TRUE(policy != NULL, "policy") || !ASSERT_OK(fx_write_policy(&f, policy), "written"))
		goto out;
	if (!ASSERT_OK(fx_start(&f, NULL), "tierwalld starts with them all"))
		goto out;
	snprintf(key, sizeof(key), "%s/s/d%d/key", f.tmp, NPATHS - 1);
	snprintf(other, sizeof(other), "%s/plain", f.tmp);
	o.path = key;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open, &o, NULL), EPERM, "the last path is protected");
	ASSERT_EQ(fx_do(&f, "services/prod", op_open, &o, NULL), 0, "prod opens it");
	o.path = other;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open, &o, NULL), 0, "an unrelated file opens");
out:
	free(policy);
	fx_cleanup(&f);
}
