// SPDX-License-Identifier: GPL-2.0
/*
 * explain's view of a file (see levels.h): the levels the hooks' walk
 * (bpf/match.bpf.h) goes through for it, read from userspace. Its parents
 * up to its mount's root, then for each mount above it the directory it
 * covers (seen in a clone of the mount below, without its submounts) and
 * that one's parents; each level with the name the walk came up through.
 * Also their form on the control socket, written by the CLI, read by the daemon.
 */
#include <ctype.h>
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

/* mountinfo's octal escapes (\040 for a space) undone in place. */
static void unescape(char *s)
{
	char *o = s;
	unsigned int c;

	for (; *s; s++, o++) {
		if (s[0] == '\\' && sscanf(s + 1, "%3o", &c) == 1 && c < 256) {
			*o = c;
			s += 3;
		} else {
			*o = *s;
		}
	}
	*o = '\0';
}

/*
 * Mount id's root within its filesystem (mountinfo's 4th field) into root,
 * and its superblock's dev into *dev. false: not found.
 */
static bool mount_root(struct gather *g, uint64_t id, char *root, uint32_t *dev)
{
	char line[3 * PATH_MAX], r[PATH_MAX];
	unsigned long long mid;
	unsigned int maj, min;

	rewind(g->mountinfo);
	while (fgets(line, sizeof(line), g->mountinfo)) {
		if (sscanf(line, "%llu %*u %u:%u %4095s", &mid, &maj, &min, r) != 4 || mid != id)
			continue;
		unescape(r);
		snprintf(root, PATH_MAX, "%s", r);
		*dev = maj << 20 | min;
		return true;
	}
	return false;
}

/*
 * Where this namespace shows the filesystem dev from its root: a mount of
 * it whose root is "/", its mountpoint into at. false: none.
 */
static bool whole_mount(struct gather *g, uint32_t dev, char *at)
{
	char line[3 * PATH_MAX], r[PATH_MAX], mp[PATH_MAX];
	unsigned int maj, min;

	rewind(g->mountinfo);
	while (fgets(line, sizeof(line), g->mountinfo)) {
		if (sscanf(line, "%*u %*u %u:%u %4095s %4095s", &maj, &min, r, mp) != 4 ||
		    (maj << 20 | min) != dev || strcmp(r, "/"))
			continue;
		unescape(mp);
		snprintf(at, PATH_MAX, "%s", mp);
		return true;
	}
	return false;
}

/* Is mount id's root its filesystem's root (the hooks' walk ends there)? */
static bool at_fs_root(struct gather *g, uint64_t id)
{
	char root[PATH_MAX];
	uint32_t dev;

	return mount_root(g, id, root, &dev) && !strcmp(root, "/");
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
	char name[NAME_MAX + 1], prev[NAME_MAX + 1], parent[PATH_MAX];
	uint64_t pid;
	int err;

	snprintf(prev, sizeof(prev), "%s", first_name ?: "");
	for (;;) {
		bool top = !strcmp(path, "/");

		if (!top) {
			snprintf(parent, sizeof(parent), "%s", path);
			up(parent, name, sizeof(name));
			err = mnt_id(parent, &pid);
			if (err)
				return err;
			top = pid != id;
		}
		err = add(g, AT_FDCWD, path, start ? NULL : prev,
			  (start ? TW_XL_START : 0) | (top && at_fs_root(g, id) ? TW_XL_ROOT : 0));
		if (err || top)
			return err;
		start = false;
		up(path, prev, sizeof(prev));
	}
}

/*
 * A mount of a directory below its filesystem's root (a bind mount): the
 * hooks walk on above it, through parents this mount does not show. Where
 * the filesystem is mounted whole too, they are read there. 0 and the run
 * goes on, or nothing is added (explain then says it cannot see them).
 */
static int beyond(struct gather *g, uint64_t id)
{
	struct tw_explain_level *l = &g->x->levels[g->x->nlevels - 1];
	char root[PATH_MAX], at[PATH_MAX], path[2 * PATH_MAX + 1], name[NAME_MAX + 1];
	struct tw_secret_key k;
	uint32_t dev, sbdev;
	uint64_t wid;
	int fd, err;

	if (l->flags & TW_XL_ROOT || !mount_root(g, id, root, &dev) || !whole_mount(g, dev, at))
		return 0;
	snprintf(path, sizeof(path), "%s%s", strcmp(at, "/") ? at : "", root);
	/* The same directory there (not something mounted over it), and that mount's id. */
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	err = tw_fd_key(fd, g->subvols, &k, &sbdev);
	close(fd);
	if (err || memcmp(&k, &l->key, sizeof(k)) || mnt_id(path, &wid))
		return 0;
	up(path, name, sizeof(name));
	return run(g, path, wid, false, name);
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
	if (!err)
		err = beyond(&g, id);
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
		if (!err)
			err = beyond(&g, id);
	}
	if (!err && mounts == TW_MNT_DEPTH)
		x->more_mounts = 1;
	fclose(g.mountinfo);
	return err == -E2BIG ? 0 : err;
}

/* A level's name as hex: a file name need not be UTF-8, which JSON strings must be. */
static json_t *level_json(const struct tw_explain_level *l)
{
	char hex[2 * TW_FNAME_LEN + 1] = "";
	size_t i, n = strnlen(l->name, sizeof(l->name));

	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", (unsigned char)l->name[i]);
	return json_pack("{s:I, s:I, s:s, s:I, s:I, s:i}", "dev", (json_int_t)l->key.dev,
			 "ino", (json_int_t)l->key.ino, "name", hex, "igen", (json_int_t)l->igen,
			 "sbdev", (json_int_t)l->sbdev, "flags", l->flags);
}

void tw_levels_json(const struct tw_explain *x, bool subvols, json_t *t)
{
	json_t *a = json_array();
	uint32_t i;

	for (i = 0; i < x->nlevels && i < TW_EXPLAIN_LEVELS; i++)
		json_array_append_new(a, level_json(&x->levels[i]));
	json_object_set_new(t, "levels", a);
	json_object_set_new(t, "more_parents", json_boolean(x->more_parents));
	json_object_set_new(t, "more_mounts", json_boolean(x->more_mounts));
	json_object_set_new(t, "subvols", json_boolean(subvols));
}

/* v as an integer in [0, max], else false. */
static bool uint_in(json_t *v, uint64_t max, uint64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
		return false;
	*out = json_integer_value(v);
	return true;
}

static int level_parse(json_t *v, struct tw_explain_level *l)
{
	const char *hex = json_string_value(json_object_get(v, "name"));
	uint64_t dev, ino, igen, sbdev, flags;
	size_t i, n = hex ? strlen(hex) : 0;
	unsigned int c;

	if (!uint_in(json_object_get(v, "dev"), UINT32_MAX, &dev) ||
	    !uint_in(json_object_get(v, "ino"), INT64_MAX, &ino) ||
	    !uint_in(json_object_get(v, "igen"), UINT32_MAX, &igen) ||
	    !uint_in(json_object_get(v, "sbdev"), UINT32_MAX, &sbdev) ||
	    !uint_in(json_object_get(v, "flags"), TW_XL_START | TW_XL_ROOT | TW_XL_IGEN, &flags) ||
	    !hex || n % 2 || n / 2 >= TW_FNAME_LEN)
		return -EINVAL;
	memset(l, 0, sizeof(*l));
	for (i = 0; i < n / 2; i++) {
		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &c) != 1 || !c)
			return -EINVAL;
		l->name[i] = c;
	}
	l->key.dev = dev;
	l->key.ino = ino;
	l->igen = igen;
	l->sbdev = sbdev;
	l->flags = flags;
	return 0;
}

int tw_levels_parse(json_t *t, bool subvols, struct tw_explain *x, char *why, size_t len)
{
	json_t *a = json_object_get(t, "levels"), *v;
	size_t i;

	if (!json_array_size(a) || json_array_size(a) > TW_EXPLAIN_LEVELS) {
		snprintf(why, len, "a file target needs \"levels\": 1 to %d, as `tierwall explain` "
			 "sends them", TW_EXPLAIN_LEVELS);
		return -EINVAL;
	}
	if (json_is_true(json_object_get(t, "subvols")) != subvols) {
		snprintf(why, len, "the file was read with btrfs subvolumes %s; the daemon %s (the "
			 "btrfs module was loaded or unloaded since it started: restart it)",
			 subvols ? "as one" : "told apart",
			 subvols ? "tells them apart" : "does not tell them apart");
		return -EINVAL;
	}
	json_array_foreach(a, i, v)
		if (level_parse(v, &x->levels[i])) {
			snprintf(why, len, "\"levels\"[%zu] is not {dev, ino, name (hex), igen, sbdev, "
				 "flags} in range", i);
			return -EINVAL;
		}
	x->nlevels = json_array_size(a);
	x->more_parents = json_is_true(json_object_get(t, "more_parents"));
	x->more_mounts = json_is_true(json_object_get(t, "more_mounts"));
	return 0;
}
