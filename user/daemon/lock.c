// SPDX-License-Identifier: GPL-2.0
/*
 * One daemon per pin directory, log directory and state directory: an
 * exclusive flock on each directory, held for the daemon's life. The kernel
 * drops it when the holder dies, however it dies, so a successor takes over
 * only from a dead instance and never from a live one. Two daemons on
 * overlapping cgroup roots are found by the programs they attached.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include "lock.h"
#include "pins.h"
#include "log.h"

/* The pid holding a flock on (dev, ino), from /proc/locks; 0 if not found. */
static int lock_holder(dev_t dev, ino_t ino)
{
	char line[256];
	FILE *f = fopen("/proc/locks", "re");
	int pid = 0;

	if (!f)
		return 0;
	while (!pid && fgets(line, sizeof(line), f)) {
		unsigned int maj, min;
		unsigned long i;
		int p;

		/* "1: FLOCK  ADVISORY  WRITE 1234 00:1f:5678 0 EOF" */
		if (sscanf(line, "%*d: FLOCK %*s %*s %d %x:%x:%lu", &p, &maj, &min, &i) == 4 &&
		    maj == major(dev) && min == minor(dev) && i == ino)
			pid = p;
	}
	fclose(f);
	return pid;
}

static int lock_dir(const char *dir, const char *what, int *out, bool quiet)
{
	struct stat st;
	int fd, pid, err;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		tw_err("%s %s: cannot create it: %s", what, dir, strerror(-err));
		return err;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		tw_err("%s %s: %s", what, dir, strerror(-err));
		if (fd >= 0)
			close(fd);
		return err;
	}
	if (!flock(fd, LOCK_EX | LOCK_NB)) {
		*out = fd;
		return 0;
	}
	pid = lock_holder(st.st_dev, st.st_ino);
	close(fd);
	if (quiet)
		return -EBUSY;
	if (pid > 0)
		tw_err("%s %s is in use by a running tierwalld (pid %d): one daemon per %s; stop it first",
		       what, dir, pid, what);
	else
		tw_err("%s %s is locked by another running tierwalld: one daemon per %s; stop it first",
		       what, dir, what);
	return -EBUSY;
}

int dm_lock_dir(const char *dir, const char *what, int *out)
{
	return lock_dir(dir, what, out, false);
}

int dm_try_lock_dir(const char *dir, int *out)
{
	return lock_dir(dir, NULL, out, true);
}

void dm_unlock(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

bool dm_dir_absent(const char *dir)
{
	struct stat st;

	return dir[0] && stat(dir, &st) && errno == ENOENT;
}

void dm_dir_unmake(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *e;
	DIR *dp = opendir(dir);

	while (dp && (e = readdir(dp))) {
		if (e->d_type == DT_DIR)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (dp)
		closedir(dp);
	if (rmdir(dir) && errno != ENOENT)
		tw_warn("cannot remove %s, made by this refused start: %s", dir, strerror(errno));
}

/* Program ids of the links a previous instance pinned in dir: not another daemon. */
static int pinned_prog_ids(const char *dir, uint32_t *ids, int max)
{
	struct bpf_link_info info[32];
	int n = tw_pinned_links(dir, info, max < 32 ? max : 32), i;

	for (i = 0; i < n; i++)
		ids[i] = info[i].prog_id;
	return n;
}

/* A tierwall connect4 program attached directly to cgroup dir that is not ours: its id. */
static uint32_t foreign_program(const char *dir, const uint32_t *ours, int nours)
{
	uint32_t ids[64], cnt = 64, i;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), j;
	uint32_t found = 0;

	if (fd < 0)
		return 0;
	if (bpf_prog_query(fd, BPF_CGROUP_INET4_CONNECT, 0, NULL, ids, &cnt))
		cnt = 0;
	close(fd);
	for (i = 0; i < cnt && !found; i++) {
		struct bpf_prog_info info = {};
		uint32_t len = sizeof(info);
		int pfd = bpf_prog_get_fd_by_id(ids[i]);

		if (pfd >= 0 && !bpf_obj_get_info_by_fd(pfd, &info, &len) &&
		    !strcmp(info.name, "tw_connect4"))
			found = ids[i];
		if (pfd >= 0)
			close(pfd);
		for (j = 0; found && j < nours; j++)
			if (ours[j] == found)
				found = 0;
	}
	return found;
}

static const uint32_t *overlap_ours;
static int overlap_nours, overlap_seen;
static char overlap_at[PATH_MAX];
static uint32_t overlap_prog;

static int overlap_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (type != FTW_D)
		return 0;
	if (++overlap_seen > 100000)
		return 1;	/* bounded: a huge tree is checked in part */
	overlap_prog = foreign_program(path, overlap_ours, overlap_nours);
	if (overlap_prog)
		snprintf(overlap_at, sizeof(overlap_at), "%s", path);
	return overlap_prog != 0;
}

int dm_check_overlap(const char *mount, const char *root, const char *pin_dir,
		     char *at, size_t len)
{
	uint32_t ours[32];
	char p[PATH_MAX], *slash;

	overlap_nours = pinned_prog_ids(pin_dir, ours, 32);
	overlap_ours = ours;
	overlap_seen = 0;
	overlap_prog = 0;
	/* Ancestors of the root (and the root itself), then everything below it. */
	snprintf(p, sizeof(p), "%s", root);
	for (;;) {
		overlap_prog = foreign_program(p, ours, overlap_nours);
		if (overlap_prog) {
			snprintf(at, len, "%s", p);
			return overlap_prog;
		}
		slash = strrchr(p, '/');
		if (!slash || strlen(p) <= strlen(mount))
			break;
		*slash = '\0';
	}
	if (nftw(root, overlap_cb, 16, FTW_PHYS | FTW_MOUNT) == 1 && overlap_prog)
		snprintf(at, len, "%s", overlap_at);
	return overlap_prog;
}
