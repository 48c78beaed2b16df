// SPDX-License-Identifier: GPL-2.0
/* Identities the kernel judges by, read from userspace (see ident.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "ident.h"
#include "util.h"

int tw_cgroup_ancestors(const char *mount, const char *abs, __u64 ids[TW_MAX_LEVELS])
{
	char p[PATH_MAX];
	size_t n = strlen(mount), i;
	int level = 0, err;
	uint64_t id;

	memset(ids, 0, TW_MAX_LEVELS * sizeof(ids[0]));
	if (strncmp(abs, mount, n) || (abs[n] && abs[n] != '/'))
		return -EXDEV;
	/* The mount itself, then the prefix before each further '/': one level each. */
	for (i = n; ; i++) {
		if (abs[i] && abs[i] != '/')
			continue;
		if (level >= TW_MAX_LEVELS)
			return -E2BIG;
		snprintf(p, sizeof(p), "%.*s", (int)(i ? i : 1), abs);
		err = tw_cgroup_id(p, &id);
		if (err)
			return err;
		ids[level] = id;
		if (!abs[i])
			return level;
		level++;
	}
}
