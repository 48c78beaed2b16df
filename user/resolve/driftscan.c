// SPDX-License-Identifier: GPL-2.0
/*
 * Walking and watching the drift roots (see driftscan.h). inotify, not
 * fanotify: fanotify sees a whole mount or filesystem at once, so a root
 * like /home/agent would bring every write on the node's root filesystem to
 * the daemon, to be resolved to a path and mostly thrown away; its events
 * with names (a file moved or linked in) need FID mode, i.e. filesystem
 * marks and file handles, which overlayfs and FUSE lack on older kernels.
 * inotify costs a watch per directory, sees only the roots, gives names for
 * every event and works on every filesystem and kernel; the race it has (a
 * file created in a new directory before its watch) is closed by walking the
 * directory after watching it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "driftscan.h"
#include "log.h"
#include "util.h"

#define MAX_QUEUED	65536		/* files waiting to be checked */
#define RETRY_NS	10000000000ull	/* a missing root is looked for again */
#define MASK		(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_ONLYDIR)

struct dir_item {
	char *path;
	int depth;
	dev_t dev;
};

struct tw_driftscan {
	char **roots;
	int nroots;
	bool *missing;
	int ifd;
	char **wd_dir;			/* indexed by watch descriptor */
	int *wd_depth;
	dev_t *wd_dev;
	size_t nwd;
	size_t watched;
	unsigned int unwatched;
	struct dir_item *dirs;		/* to walk */
	size_t ndirs, capdirs;
	char **files;			/* written, moved or linked in: to check */
	size_t nfiles;
	DIR *cur;			/* the directory being read */
	struct dir_item curdir;
	uint64_t checked, next_retry;
	bool rescan;
};

static int push_dir(struct tw_driftscan *s, const char *path, int depth, dev_t dev)
{
	struct dir_item *nd;

	if (depth > TW_DRIFT_MAX_DEPTH)
		return 0;
	if (s->ndirs == s->capdirs) {
		size_t cap = s->capdirs ? s->capdirs * 2 : 64;

		nd = realloc(s->dirs, cap * sizeof(*nd));
		if (!nd)
			return -ENOMEM;
		s->dirs = nd;
		s->capdirs = cap;
	}
	s->dirs[s->ndirs] = (struct dir_item){ .path = strdup(path), .depth = depth, .dev = dev };
	if (!s->dirs[s->ndirs].path)
		return -ENOMEM;
	s->ndirs++;
	return 0;
}

static void push_file(struct tw_driftscan *s, const char *path)
{
	if (s->nfiles >= MAX_QUEUED) {
		s->rescan = true;	/* too much at once: walk it all again */
		return;
	}
	s->files[s->nfiles] = strdup(path);
	if (s->files[s->nfiles])
		s->nfiles++;
}

static void watch(struct tw_driftscan *s, const char *dir, int depth, dev_t dev)
{
	int wd = s->watched < TW_DRIFT_MAX_DIRS ? inotify_add_watch(s->ifd, dir, MASK) : -1;

	if (wd < 0) {
		if (!s->unwatched++)
			tw_warn("drift: cannot watch %s (%s): changes below it are seen only at the next "
				"scan (raise fs.inotify.max_user_watches?)", dir,
				s->watched >= TW_DRIFT_MAX_DIRS ? "too many directories" : strerror(errno));
		return;
	}
	if ((size_t)wd >= s->nwd) {
		size_t n = wd + 1024;
		char **nd = realloc(s->wd_dir, n * sizeof(*nd));
		int *np = nd ? realloc(s->wd_depth, n * sizeof(*np)) : NULL;
		dev_t *nv = np ? realloc(s->wd_dev, n * sizeof(*nv)) : NULL;

		if (nd)
			s->wd_dir = nd;
		if (np)
			s->wd_depth = np;
		if (!nv)
			return;
		s->wd_dev = nv;
		memset(s->wd_dir + s->nwd, 0, (n - s->nwd) * sizeof(*nd));
		s->nwd = n;
	}
	if (!s->wd_dir[wd])
		s->watched++;
	free(s->wd_dir[wd]);
	s->wd_dir[wd] = strdup(dir);
	s->wd_depth[wd] = depth;
	s->wd_dev[wd] = dev;
}

static void close_cur(struct tw_driftscan *s)
{
	if (s->cur)
		closedir(s->cur);
	s->cur = NULL;
	free(s->curdir.path);
	s->curdir.path = NULL;
}

void tw_driftscan_rescan(struct tw_driftscan *s)
{
	struct stat st;
	int i;

	close_cur(s);
	while (s->ndirs)
		free(s->dirs[--s->ndirs].path);
	for (i = 0; i < s->nroots; i++) {
		bool was = s->missing[i];

		int err = stat(s->roots[i], &st) ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;

		s->missing[i] = err != 0;
		if (err && !was)
			tw_warn("drift: root %s is not a directory (%s): looked for again every %llu s",
				s->roots[i], strerror(err), RETRY_NS / 1000000000ull);
		if (!s->missing[i])
			push_dir(s, s->roots[i], 0, st.st_dev);
	}
	s->rescan = false;
}

int tw_driftscan_new(struct tw_driftscan **out, char *const *roots, int nroots)
{
	struct tw_driftscan *s = calloc(1, sizeof(*s));
	int i;

	if (!s)
		return -ENOMEM;
	s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	s->roots = calloc(nroots + 1, sizeof(*s->roots));
	s->missing = calloc(nroots + 1, sizeof(*s->missing));
	s->files = calloc(MAX_QUEUED, sizeof(*s->files));
	if (s->ifd < 0 || !s->roots || !s->missing || !s->files) {
		tw_driftscan_free(s);
		return -ENOMEM;
	}
	for (i = 0; i < nroots; i++)
		s->roots[s->nroots++] = strdup(roots[i]);
	tw_driftscan_rescan(s);
	s->next_retry = tw_now_ns(CLOCK_MONOTONIC) + RETRY_NS;
	*out = s;
	return 0;
}

void tw_driftscan_free(struct tw_driftscan *s)
{
	size_t i;

	if (!s)
		return;
	close_cur(s);
	while (s->ndirs)
		free(s->dirs[--s->ndirs].path);
	while (s->nfiles)
		free(s->files[--s->nfiles]);
	for (i = 0; i < s->nwd; i++)
		free(s->wd_dir[i]);
	for (i = 0; s->roots && i < (size_t)s->nroots; i++)
		free(s->roots[i]);
	if (s->ifd >= 0)
		close(s->ifd);
	free(s->wd_dir);
	free(s->wd_depth);
	free(s->wd_dev);
	free(s->dirs);
	free(s->files);
	free(s->roots);
	free(s->missing);
	free(s);
}

int tw_driftscan_fd(const struct tw_driftscan *s)
{
	return s ? s->ifd : -1;
}

static void on_event(struct tw_driftscan *s, const struct inotify_event *ev)
{
	char path[PATH_MAX];
	const char *dir;

	if (ev->mask & IN_Q_OVERFLOW) {
		s->rescan = true;
		return;
	}
	if (ev->wd < 0 || (size_t)ev->wd >= s->nwd || !(dir = s->wd_dir[ev->wd]))
		return;
	if (ev->mask & IN_IGNORED) {
		for (int i = 0; i < s->nroots; i++)
			s->missing[i] |= !strcmp(s->roots[i], dir);	/* looked for again */
		free(s->wd_dir[ev->wd]);	/* the directory is gone */
		s->wd_dir[ev->wd] = NULL;
		s->watched--;
		return;
	}
	if (!ev->len || snprintf(path, sizeof(path), "%s/%s", dir, ev->name) >= (int)sizeof(path))
		return;
	if (ev->mask & IN_ISDIR) {
		if (ev->mask & (IN_CREATE | IN_MOVED_TO))
			push_dir(s, path, s->wd_depth[ev->wd] + 1, s->wd_dev[ev->wd]);
		return;
	}
	push_file(s, path);
}

void tw_driftscan_events(struct tw_driftscan *s)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t r;

	while (s && (r = read(s->ifd, buf, sizeof(buf))) > 0)
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			on_event(s, ev);
		}
}

/* One step of the walk: open the next directory, or take one entry of it. */
static void walk_step(struct tw_driftscan *s, void (*cb)(void *, const char *), void *arg)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;

	if (!s->cur) {
		s->curdir = s->dirs[--s->ndirs];
		/* Watch first, then read: what appears meanwhile is an event. */
		watch(s, s->curdir.path, s->curdir.depth, s->curdir.dev);
		s->cur = opendir(s->curdir.path);
		if (!s->cur)
			close_cur(s);
		return;
	}
	de = readdir(s->cur);
	if (!de) {
		close_cur(s);
		return;
	}
	if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
	    snprintf(path, sizeof(path), "%s/%s", s->curdir.path, de->d_name) >= (int)sizeof(path) ||
	    lstat(path, &st) || st.st_dev != s->curdir.dev)
		return;
	if (S_ISDIR(st.st_mode))
		push_dir(s, path, s->curdir.depth + 1, s->curdir.dev);
	else if (S_ISREG(st.st_mode)) {
		s->checked++;
		cb(arg, path);
	}
}

bool tw_driftscan_work(struct tw_driftscan *s, uint64_t deadline_ns,
		       void (*cb)(void *arg, const char *path), void *arg)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	int i, n = 0;

	if (!s)
		return false;
	if (now >= s->next_retry) {
		s->next_retry = now + RETRY_NS;
		for (i = 0; i < s->nroots; i++)
			s->rescan |= s->missing[i] && !access(s->roots[i], F_OK);
	}
	if (s->rescan)
		tw_driftscan_rescan(s);
	/* The clock is read every 32 steps: a step is a readdir entry or one file. */
	while ((s->nfiles || s->cur || s->ndirs) &&
	       (++n % 32 || tw_now_ns(CLOCK_MONOTONIC) < deadline_ns)) {
		if (s->nfiles) {
			char *f = s->files[--s->nfiles];

			s->checked++;
			cb(arg, f);
			free(f);
		} else {
			walk_step(s, cb, arg);
		}
	}
	return s->nfiles || s->cur || s->ndirs;
}

json_t *tw_driftscan_status(const struct tw_driftscan *s)
{
	json_t *roots = json_array(), *missing = json_array();
	int i;

	for (i = 0; s && i < s->nroots; i++)
		json_array_append_new(s->missing[i] ? missing : roots, json_string(s->roots[i]));
	return json_pack("{s:o, s:o, s:I, s:i, s:I, s:b}", "roots", roots, "missing", missing,
			 "watched_dirs", (json_int_t)(s ? s->watched : 0),
			 "unwatched_dirs", s ? (int)s->unwatched : 0,
			 "files_checked", (json_int_t)(s ? s->checked : 0),
			 "scanning", s && (s->nfiles || s->cur || s->ndirs));
}
