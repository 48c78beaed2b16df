// SPDX-License-Identifier: GPL-2.0
/*
 * explain's view of a file (see levels.h): the levels the hooks' walk
 * (bpf/match.bpf.h) goes through for it, read from userspace. Its parents
 * up to its mount's root, then for each mount above it the directory it
 * covers (seen in a clone of the mount below, without its submounts) and
 * that one's parents; each level with the name the walk came up through.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/mount.h>
#include "chain.h"
#include "levels.h"

struct gather {
	struct tw_explain *x;
	bool subvols;
	FILE *mountinfo;
};

static int mnt_id(const char *path, uint64_t *id)
{
	struct statx sx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &sx))
		return -errno;
	if (!(sx.stx_mask & STATX_MNT_ID))
		return -EOPNOTSUPP;
	*id = sx.stx_mnt_id;
	return 0;
}

/* Is mount id's root its filesystem's root (mountinfo's 4th field "/")? */
static bool mount_at_fs_root(struct gather *g, uint64_t id)
{
	char line[4096], root[PATH_MAX];
	unsigned long long mid;

	rewind(g->mountinfo);
	while (fgets(line, sizeof(line), g->mountinfo))
		if (sscanf(line, "%llu %*u %*u:%*u %4095s", &mid, root) == 2 && mid == id)
			return !strcmp(root, "/");
	return false;
}

/* The parent of path in place ("/a/b" -> "/a", "/a" -> "/"); the cut name in *name. */
static void up(char *path, char *name, size_t len)
{
	char *slash = strrchr(path, '/');

	snprintf(name, len, "%s", slash + 1);
	*(slash == path ? slash + 1 : slash) = '\0';
}

/* Add name in dirfd as the next level (name: the one the walk came up through, or NULL). */
static int add(struct gather *g, int dirfd, const char *self, const char *name, uint8_t flags)
{
	struct tw_explain_level *l;
	struct stat st;
	int fd, err;

	if (g->x->nlevels == TW_EXPLAIN_LEVELS) {
		g->x->more_parents = 1;
		return -E2BIG;
	}
	l = &g->x->levels[g->x->nlevels];
	memset(l, 0, sizeof(*l));
	fd = openat(dirfd, self, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fstat(fd, &st) ? -errno : tw_fd_key(fd, g->subvols, &l->key, &l->sbdev);
	close(fd);
	if (err)
		return err;
	if (tw_read_igen(dirfd, self, st.st_mode, &l->igen))
		flags |= TW_XL_IGEN;
	if (name)
		memcpy(l->name, name, strnlen(name, sizeof(l->name) - 1));
	l->flags = flags;
	g->x->nlevels++;
	return 0;
}

/*
 * path (absolute, no symlinks) and its parents on mount id: levels from the
 * first (START when start) to the mount's root, left in path.
 */
static int run(struct gather *g, char *path, uint64_t id, bool start, const char *first_name)
{
	char name[NAME_MAX + 1], prev[NAME_MAX + 1];
	uint64_t pid;
	int err;

	snprintf(prev, sizeof(prev), "%s", first_name ?: "");
	for (;;) {
		bool top = !strcmp(path, "/");

		if (!top) {
			char parent[PATH_MAX];

			snprintf(parent, sizeof(parent), "%s", path);
			up(parent, name, sizeof(name));
			err = mnt_id(parent, &pid);
			if (err)
				return err;
			top = pid != id;
		}
		err = add(g, AT_FDCWD, path, start ? NULL : prev,
			  (start ? TW_XL_START : 0) |
			  (top && mount_at_fs_root(g, id) ? TW_XL_ROOT : 0));
		if (err || top)
			return err;
		start = false;
		up(path, prev, sizeof(prev));
	}
}

/* The directory mount root path covers (in the mount below, without submounts): a START level. */
static int covered(struct gather *g, const char *path)
{
	char parent[PATH_MAX], name[NAME_MAX + 1];
	int tree, err;

	snprintf(parent, sizeof(parent), "%s", path);
	up(parent, name, sizeof(name));
	tree = syscall(SYS_open_tree, AT_FDCWD, parent, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0)
		return -errno;
	err = add(g, tree, name, NULL, TW_XL_START);
	close(tree);
	return err;
}

int tw_explain_levels(const char *path, bool subvols, struct tw_explain *x)
{
	struct gather g = { .x = x, .subvols = subvols };
	char real[PATH_MAX], name[NAME_MAX + 1];
	uint64_t id;
	int err, mounts = 0;

	x->nlevels = 0;
	x->more_parents = x->more_mounts = 0;
	if (!realpath(path, real))
		return -errno;
	g.mountinfo = fopen("/proc/self/mountinfo", "re");
	if (!g.mountinfo)
		return -errno;
	err = mnt_id(real, &id);
	if (!err)
		err = run(&g, real, id, true, NULL);
	/* Each mount above, as far as the hooks look (they give up after TW_MNT_DEPTH). */
	while (!err && strcmp(real, "/") && mounts < TW_MNT_DEPTH) {
		mounts++;
		err = covered(&g, real);
		if (err)
			break;
		up(real, name, sizeof(name));
		err = mnt_id(real, &id);
		if (!err)
			err = run(&g, real, id, false, name);
	}
	if (!err && mounts == TW_MNT_DEPTH)
		x->more_mounts = 1;
	fclose(g.mountinfo);
	return err == -E2BIG ? 0 : err;
}
