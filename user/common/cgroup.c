// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include "cgroup.h"

int tw_is_cgroup2_dir(const char *path)
{
	struct statfs sfs;
	struct stat st;

	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (statfs(path, &sfs))
		return -errno;
	return sfs.f_type == CGROUP2_SUPER_MAGIC ? 0 : -EMEDIUMTYPE;
}

/* The cgroup2 mount and the kernfs file handle type, for the id -> path lookup. */
static int handle_type = -1, mount_fd = -1;

int tw_cgroup_id(const char *path, uint64_t *id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	int mount_id;

	if (name_to_handle_at(AT_FDCWD, path, &h.fh, &mount_id, 0))
		return -errno;
	memcpy(id, h.fh.f_handle, sizeof(*id));
	handle_type = h.fh.handle_type;
	return 0;
}

/* The kernel opens a cgroup by its id (a kernfs file handle): no walk of the tree. */
static int find_by_handle(const char *root, uint64_t id, char *out, size_t outlen)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	char link[64];
	ssize_t n;
	int fd;

	if (handle_type < 0)
		return -ENOENT;
	if (mount_fd < 0)
		mount_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mount_fd < 0)
		return -errno;
	h.fh.handle_type = handle_type;
	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(mount_fd, &h.fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, outlen - 1);
	close(fd);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return 0;
}

int tw_cgroup_level(const char *mount, const char *path)
{
	char m[PATH_MAX], p[PATH_MAX];
	size_t n;
	int level = 0;
	char *s;

	if (!realpath(mount, m) || !realpath(path, p))
		return -errno;
	n = strlen(m);
	if (strncmp(p, m, n) || (p[n] && p[n] != '/'))
		return -EXDEV;
	for (s = p + n; *s; s++)
		if (*s == '/' && s[1])
			level++;
	return level;
}

/* A ".." component: a path that may leave the cgroup tree. */
static bool has_dotdot(const char *s)
{
	const char *p;

	for (p = strstr(s, ".."); p; p = strstr(p + 2, ".."))
		if ((p == s || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return true;
	return false;
}

static bool lex_under(const char *path, const char *dir, size_t n)
{
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

int tw_cgroup_resolve(const char *root, const char *arg, char *out, size_t outlen)
{
	char r[PATH_MAX], p[PATH_MAX];
	size_t n;
	int err;

	if (!realpath(root, r))
		return -errno;
	n = strlen(r);
	/*
	 * Only paths in the cgroup tree are looked up: a caller's path elsewhere
	 * may be on a mount that never answers (FUSE) and stall the daemon.
	 */
	if (has_dotdot(arg))
		return -EXDEV;
	/* An absolute path that lies under the root is taken as it is. */
	if (arg[0] == '/' && (lex_under(arg, r, n) || lex_under(arg, root, strlen(root))) &&
	    realpath(arg, p) && lex_under(p, r, n)) {
		snprintf(out, outlen, "%s", p);
	} else {
		snprintf(p, sizeof(p), "%s/%s", r, arg[0] == '/' ? arg + 1 : arg);
		if (!realpath(p, out))
			return -errno;
		if (strncmp(out, r, n) || (out[n] != '/' && out[n]))
			return -EXDEV;
	}
	err = tw_is_cgroup2_dir(out);
	return err;
}

static uint64_t find_id;
static char *find_out;
static size_t find_len;

static int find_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	uint64_t id = 0;

	if (type != FTW_D || tw_cgroup_id(path, &id) || id != find_id)
		return 0;
	snprintf(find_out, find_len, "%s", path);
	return 1;
}

int tw_cgroup_find(const char *root, uint64_t id, char *out, size_t outlen)
{
	int r;

	if (!find_by_handle(root, id, out, outlen))
		return 0;
	/* nftw has no user argument; the daemon calls this from one thread. */
	find_id = id;
	find_out = out;
	find_len = outlen;
	r = nftw(root, find_cb, 16, FTW_PHYS | FTW_MOUNT);
	return r == 1 ? 0 : r < 0 ? -errno : -ENOENT;
}

int tw_pid_cgroup(int pid, char *out, size_t len)
{
	char raw[4096 + 16];
	int err;

	if (!tw_cgroupns_root()[0])
		return tw_pid_cgroup_raw(pid, out, len);
	err = tw_pid_cgroup_raw(pid, raw, sizeof(raw));
	return err ? err : tw_cgroup_join(tw_cgroupns_root(), raw, out, len);
}
