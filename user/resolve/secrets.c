// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "log.h"
#include "secrets.h"
#include "util.h"

struct entry {
	struct tw_secret_key key;
	struct tw_secret_val val;
};

struct pending {
	int secret;		/* policy secret index */
	int wd;			/* inotify watch on the nearest existing ancestor */
};

struct tw_secrets {
	const struct tw_policy *policy;
	const char *file;
	struct entry *e;
	uint32_t n, cap;
	uint32_t *devs;
	uint32_t ndevs;
	struct pending *pend;
	int npend;
	int ifd;
};

const char *tw_dev_mount(uint32_t kdev, char *out, size_t len)
{
	char line[4096], want[32], root[PATH_MAX], mnt[PATH_MAX], devs[32];
	const char *found = NULL;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return NULL;
	snprintf(want, sizeof(want), "%u:%u", kdev >> 20, kdev & 0xfffff);
	/* "id parent maj:min root mountpoint ...": the mount of the fs root wins. */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %31s %4095s %4095s", devs, root, mnt) != 3 ||
		    strcmp(devs, want))
			continue;
		if (!found || !strcmp(root, "/")) {
			snprintf(out, len, "%s", mnt);
			found = out;
			if (!strcmp(root, "/"))
				break;
		}
	}
	fclose(f);
	return found;
}

static int add_entry(struct tw_secrets *s, const struct stat *st, int secret, bool is_dir,
		     bool below)
{
	const struct tw_policy_secret *ps = &s->policy->secrets[secret];
	struct entry *e;
	uint32_t i;

	/* Two policy paths naming one file: fine for one owner, a conflict for two. */
	for (i = 0; !below && i < s->n; i++) {
		e = &s->e[i];
		if (e->val.learned || e->key.dev != tw_kdev(st->st_dev) || e->key.ino != st->st_ino)
			continue;
		if (e->val.tier == ps->tier)
			return 0;
		tw_err("%s: %s: \"%s\" is the same file as %s, which another tier owns",
		       s->file, ps->jpath, ps->path, s->policy->secrets[e->val.secret].jpath);
		return -EINVAL;
	}
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 64;

		e = realloc(s->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->e = e;
		s->cap = cap;
	}
	e = &s->e[s->n++];
	memset(e, 0, sizeof(*e));
	e->key.dev = tw_kdev(st->st_dev);
	e->key.ino = st->st_ino;
	e->val.secret = secret;
	e->val.tier = ps->tier;
	e->val.is_dir = is_dir;
	e->val.learned = below;
	return 0;
}

/* nftw has no user argument; the daemon resolves from one thread. */
static struct tw_secrets *walk_s;
static int walk_secret, walk_err;

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *f)
{
	if (type == FTW_D || type == FTW_DP || !f->level)
		return 0;
	if (walk_s->n >= TW_SECRETS_MAX_FILES) {
		tw_err("%s: more than %d files below protected directories",
		       walk_s->file, TW_SECRETS_MAX_FILES);
		walk_err = -E2BIG;
		return 1;
	}
	walk_err = add_entry(walk_s, st, walk_secret, false, true);
	return walk_err ? 1 : 0;
}

static int add_dev(struct tw_secrets *s, uint32_t dev)
{
	uint32_t i, *nd;

	for (i = 0; i < s->ndevs; i++)
		if (s->devs[i] == dev)
			return 0;
	nd = realloc(s->devs, (s->ndevs + 1) * sizeof(*nd));
	if (!nd)
		return -ENOMEM;
	s->devs = nd;
	s->devs[s->ndevs++] = dev;
	return 0;
}

/* Protect one existing path; -ENOENT if it does not exist (yet). */
static int resolve_one(struct tw_secrets *s, int i)
{
	const struct tw_policy_secret *ps = &s->policy->secrets[i];
	size_t len = strlen(ps->path);
	bool want_dir = len > 1 && ps->path[len - 1] == '/';
	struct stat st;
	int err;

	char bare[PATH_MAX];

	/* Stat without the trailing slash, so "file/" is reported as what it is. */
	snprintf(bare, sizeof(bare), "%.*s", (int)(want_dir ? len - 1 : len), ps->path);
	if (stat(bare, &st)) {
		err = -errno;
		if (err != -ENOENT)
			tw_err("%s: %s: cannot resolve \"%s\": %s", s->file, ps->jpath, ps->path,
			       strerror(-err));
		return err;
	}
	if (want_dir && !S_ISDIR(st.st_mode)) {
		tw_err("%s: %s: \"%s\" is not a directory (drop the trailing /)", s->file, ps->jpath,
		       ps->path);
		return -ENOTDIR;
	}
	if (!want_dir && S_ISDIR(st.st_mode)) {
		tw_err("%s: %s: \"%s\" is a directory: end it with / to protect everything below it",
		       s->file, ps->jpath, ps->path);
		return -EISDIR;
	}
	err = add_entry(s, &st, i, want_dir, false);
	if (err || !want_dir)
		return err;
	err = add_dev(s, tw_kdev(st.st_dev));
	if (err)
		return err;
	walk_s = s;
	walk_secret = i;
	walk_err = 0;
	if (nftw(ps->path, walk_cb, 32, FTW_PHYS | FTW_MOUNT) < 0 && !walk_err) {
		tw_err("%s: %s: cannot walk \"%s\": %s", s->file, ps->jpath, ps->path, strerror(errno));
		return -errno;
	}
	return walk_err;
}

/* Watch the nearest existing ancestor of a missing path. */
/* The deepest existing ancestor of a policy path into dir; -ENOENT if none. */
static int nearest_ancestor(const char *path, char *dir, size_t len)
{
	char *slash;

	snprintf(dir, len, "%s", path);
	for (;;) {
		slash = strrchr(dir, '/');
		if (slash && slash[1] == '\0' && slash != dir) {
			*slash = '\0';	/* trailing slash of a directory rule */
			continue;
		}
		if (!slash)
			return -ENOENT;
		*(slash == dir ? slash + 1 : slash) = '\0';
		if (!access(dir, F_OK))
			return 0;
	}
}

/*
 * Watch the nearest existing ancestor. A directory created below it between
 * the look and the watch would go unseen, so look again after watching and
 * follow it down (bounded by the path's depth).
 */
static int watch_parent(struct tw_secrets *s, int i)
{
	const struct tw_policy_secret *ps = &s->policy->secrets[i];
	char dir[PATH_MAX], again[PATH_MAX];
	int wd = -1, depth;

	if (nearest_ancestor(ps->path, dir, sizeof(dir)))
		return -ENOENT;
	if (s->ifd < 0) {
		s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (s->ifd < 0)
			return -errno;
	}
	for (depth = 0; depth < PATH_MAX / 2; depth++) {
		wd = inotify_add_watch(s->ifd, dir, IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
		if (wd < 0) {
			tw_err("%s: %s: \"%s\" does not exist yet and %s cannot be watched: %s", s->file,
			       ps->jpath, ps->path, dir, strerror(errno));
			return -errno;
		}
		if (nearest_ancestor(ps->path, again, sizeof(again)) || !strcmp(again, dir))
			break;
		snprintf(dir, sizeof(dir), "%s", again);	/* it grew meanwhile: go deeper */
	}
	s->pend[s->npend++] = (struct pending){ .secret = i, .wd = wd };
	return 0;
}

/* Protect path i, or watch for it; a creation racing with the watch is seen. */
static int resolve_or_watch(struct tw_secrets *s, int i, bool *pending)
{
	int err = resolve_one(s, i);

	*pending = false;
	if (err != -ENOENT)
		return err;
	err = watch_parent(s, i);
	if (err)
		return err;
	err = resolve_one(s, i);
	if (err != -ENOENT) {
		s->npend--;	/* appeared in between: no longer pending */
		return err;
	}
	*pending = true;
	return 0;
}

int tw_secrets_resolve(struct tw_secrets **out, const struct tw_policy *p, const char *file)
{
	struct tw_secrets *s = calloc(1, sizeof(*s));
	bool pending;
	int i, err = 0;

	if (!s)
		return -ENOMEM;
	s->policy = p;
	s->file = file;
	s->ifd = -1;
	s->pend = calloc(p->nsecrets + 1, sizeof(*s->pend));
	if (!s->pend) {
		free(s);
		return -ENOMEM;
	}
	for (i = 0; i < p->nsecrets && !err; i++) {
		err = resolve_or_watch(s, i, &pending);
		if (pending)
			tw_info("%s: \"%s\" does not exist yet: protected as soon as it is created",
				p->secrets[i].jpath, p->secrets[i].path);
	}
	if (err) {
		tw_secrets_free(s);
		return err;
	}
	*out = s;
	return 0;
}

uint32_t tw_secrets_count(const struct tw_secrets *s)
{
	return s->n;
}

static int push_range(struct tw_secrets *s, struct tw_bpf *b, uint32_t from)
{
	uint32_t i, pass;
	int err;

	/* Devices first: a directory entry without its device would not be walked to. */
	for (i = 0; i < s->ndevs; i++) {
		err = tw_bpf_add_secret_dev(b, s->devs[i]);
		if (err)
			return err;
	}
	/* Files found below directories first, so a path the policy names wins. */
	for (pass = 0; pass < 2; pass++) {
		for (i = from; i < s->n; i++) {
			if (s->e[i].val.learned != !pass)
				continue;
			err = tw_bpf_add_secret(b, &s->e[i].key, &s->e[i].val);
			if (err)
				return err;
		}
	}
	return 0;
}

int tw_secrets_push(struct tw_secrets *s, struct tw_bpf *b)
{
	int err = push_range(s, b, 0);

	tw_bpf_bump_file_gen(b);
	return err;
}

int tw_secrets_fd(const struct tw_secrets *s)
{
	return s ? s->ifd : -1;
}

int tw_secrets_pending(const struct tw_secrets *s)
{
	return s ? s->npend : 0;
}

int tw_secrets_poll(struct tw_secrets *s, struct tw_bpf *b,
		    void (*cb)(void *arg, const char *path), void *arg)
{
	struct pending old[s->policy->nsecrets + 1];
	int i, n = s->npend, err = 0;
	char buf[16384];
	bool pending;

	while (read(s->ifd, buf, sizeof(buf)) > 0)
		;	/* what changed does not matter: retry every pending path */
	memcpy(old, s->pend, n * sizeof(*old));
	s->npend = 0;
	/* Old watches stay: at worst they wake us for nothing. */
	for (i = 0; i < n && !err; i++) {
		uint32_t before = s->n;

		err = resolve_or_watch(s, old[i].secret, &pending);
		if (!err && !pending) {
			err = push_range(s, b, before);
			tw_bpf_bump_file_gen(b);
			if (!err)
				cb(arg, s->policy->secrets[old[i].secret].path);
		}
	}
	return err;
}

void tw_secrets_free(struct tw_secrets *s)
{
	if (!s)
		return;
	if (s->ifd >= 0)
		close(s->ifd);
	free(s->e);
	free(s->devs);
	free(s->pend);
	free(s);
}
