// SPDX-License-Identifier: GPL-2.0
/*
 * Fingerprints of the tiers' secret files (see fingerprint.h): what lets the
 * daemon recognise a secret pasted into an environment variable, a config
 * file or a copy, without keeping the secret. Digests are sorted once per
 * build and searched by bisection; the build reads every secret file again,
 * which is cheap for key files and bounded for the rest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <openssl/sha.h>
#include "fingerprint.h"
#include "log.h"
#include "util.h"

#define MAX_DEPTH	32

struct fp_entry {
	uint8_t md[SHA256_DIGEST_LENGTH];
	uint32_t file;
	uint8_t kind;
	uint8_t tier;
	uint8_t shared;
};

struct fp_file {
	char *path;
	uint32_t kdev;
	uint64_t ino;
	int secret;
	int tier;
};

struct watch {
	int wd;
	bool any;		/* inside a secret directory: every change counts */
	char *dir;
};

struct tw_fp {
	const struct tw_policy *p;
	struct fp_entry *e;
	size_t n, cap;
	struct fp_file *f;
	size_t nf;
	struct watch *w;
	size_t nw;
	int ifd;
	size_t max_size, bytes;
	unsigned int skipped, shared;
};

/* ---- what counts as a credential ---- */

static bool seg_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

static int char_class(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? 0 : c >= 'A' && c <= 'Z' ? 1 : c >= '0' && c <= '9' ? 2 : 3;
}

static bool token_ok(const char *s, size_t n)
{
	unsigned int count[256] = {}, changes = 0;
	bool letter = false, digit = false;
	double sum = 0;
	size_t i;

	if (n < TW_FP_MIN_TOKEN)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		count[c]++;
		letter |= char_class(c) < 2;
		digit |= char_class(c) == 2;
		changes += i && char_class(c) != char_class(s[i - 1]);
	}
	if (!letter || !digit || changes * 6 < n)
		return false;
	for (i = 0; i < 256; i++)
		if (count[i])
			sum += count[i] * log2(count[i]);
	/* Shannon entropy log2(n) - sum/n, at least 3 bits per character. */
	return log2(n) - sum / n >= 3.0;
}

/* Each credential token of s[0..n): a run of [A-Za-z0-9+/] that passes the rule. */
static int next_token(const char *s, size_t n, size_t *pos, size_t *len)
{
	size_t i = *pos, start;

	while (i < n) {
		while (i < n && !seg_char(s[i]))
			i++;
		start = i;
		while (i < n && seg_char(s[i]))
			i++;
		if (token_ok(s + start, i - start)) {
			*pos = i;
			*len = i - start;
			return (int)start;
		}
	}
	*pos = n;
	return -1;
}

bool tw_fp_is_credential(const char *s, size_t n)
{
	size_t pos = 0, len;

	return next_token(s, n, &pos, &len) >= 0;
}

static void trim(const char **s, size_t *n)
{
	while (*n && strchr(" \t\r", (*s)[0])) {
		(*s)++;
		(*n)--;
	}
	while (*n && strchr(" \t\r", (*s)[*n - 1]))
		(*n)--;
}

/* ---- the index ---- */

static int add_digest(struct tw_fp *x, const void *data, size_t len, uint32_t file, int kind)
{
	struct fp_entry *e;

	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;

		e = realloc(x->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		x->e = e;
		x->cap = cap;
	}
	e = &x->e[x->n++];
	SHA256(data, len, e->md);
	e->file = file;
	e->kind = kind;
	e->tier = x->f[file].tier;
	e->shared = 0;
	return 0;
}

/* Whole content, then each line that carries a token, then each token. */
static int digest_content(struct tw_fp *x, uint32_t file, const char *buf, size_t len)
{
	const char *line = buf, *end = buf + len;
	bool any = false;
	int err = 0;

	while (line < end && !err) {
		const char *nl = memchr(line, '\n', end - line);
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line), pos = 0, tlen;
		const char *l = line;
		int at;

		trim(&l, &n);
		at = next_token(l, n, &pos, &tlen);
		if (at >= 0) {
			any = true;
			err = add_digest(x, l, n, file, TW_FP_LINE);
		}
		for (; at >= 0 && !err; at = next_token(l, n, &pos, &tlen))
			err = add_digest(x, l + at, tlen, file, TW_FP_TOKEN);
		line = nl ? nl + 1 : end;
	}
	if (any && !err)
		err = add_digest(x, buf, len, file, TW_FP_FILE);
	return err;
}

static int add_file(struct tw_fp *x, const char *path, int secret)
{
	struct fp_file *nf;
	struct stat st;
	char *buf;
	ssize_t r;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		x->skipped++;	/* unreadable, or not a file: nothing to recognise it by */
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (st.st_size > TW_FP_MAX_FILE || x->nf >= TW_FP_MAX_FILES ||
	    x->bytes + st.st_size > TW_FP_MAX_BYTES) {
		x->skipped++;
		close(fd);
		return 0;
	}
	buf = malloc(st.st_size + 1);
	nf = realloc(x->f, (x->nf + 1) * sizeof(*nf));
	if (nf)
		x->f = nf;
	if (!buf || !nf) {
		free(buf);
		close(fd);
		return -ENOMEM;
	}
	r = tw_read_fd(fd, buf, st.st_size);
	close(fd);
	if (r < 0) {
		x->skipped++;
		free(buf);
		return 0;
	}
	x->f[x->nf] = (struct fp_file){ .path = strdup(path), .kdev = tw_kdev(st.st_dev),
					 .ino = st.st_ino, .secret = secret,
					 .tier = x->p->secrets[secret].tier };
	x->bytes += r;
	if ((size_t)r > x->max_size)
		x->max_size = r;
	err = digest_content(x, x->nf++, buf, r);
	free(buf);
	return err;
}

static void add_watch(struct tw_fp *x, const char *dir, bool any)
{
	struct watch *nw;
	int wd;

	if (x->ifd < 0)
		return;
	wd = inotify_add_watch(x->ifd, dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
			       IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
	nw = wd < 0 ? NULL : realloc(x->w, (x->nw + 1) * sizeof(*nw));
	if (!nw)
		return;
	x->w = nw;
	x->w[x->nw++] = (struct watch){ .wd = wd, .any = any, .dir = strdup(dir) };
}

/* Every regular file below dir, on dir's filesystem, symlinks not followed. */
static int add_tree(struct tw_fp *x, const char *dir, dev_t dev, int secret, int depth)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int err = 0;
	DIR *dp;

	if (depth > MAX_DEPTH || !(dp = opendir(dir)))
		return 0;
	add_watch(x, dir, true);
	while (!err && (de = readdir(dp))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    lstat(path, &st) || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode))
			err = add_tree(x, path, dev, secret, depth + 1);
		else if (S_ISREG(st.st_mode))
			err = add_file(x, path, secret);
	}
	closedir(dp);
	return err;
}

/* Watch where a secret file is, or will appear: its nearest existing ancestor. */
static void watch_parent(struct tw_fp *x, const char *path)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	while ((slash = strrchr(dir, '/'))) {
		*(slash == dir ? slash + 1 : slash) = '\0';
		if (!access(dir, F_OK) || slash == dir) {
			add_watch(x, dir, false);
			return;
		}
	}
}

static int cmp_entry(const void *a, const void *b)
{
	const struct fp_entry *x = a, *y = b;
	int c = memcmp(x->md, y->md, sizeof(x->md));

	return c ? c : (x->file > y->file) - (x->file < y->file);
}

/* Sort, and keep one entry per digest: shared when two tiers have it. */
static void seal_index(struct tw_fp *x)
{
	size_t i, j, out = 0;

	qsort(x->e, x->n, sizeof(*x->e), cmp_entry);
	for (i = 0; i < x->n; i = j) {
		bool shared = false;

		for (j = i + 1; j < x->n && !memcmp(x->e[j].md, x->e[i].md, SHA256_DIGEST_LENGTH); j++)
			shared |= x->e[j].tier != x->e[i].tier;
		x->e[out] = x->e[i];
		x->e[out++].shared = shared;
		x->shared += shared;
	}
	x->n = out;
}

int tw_fp_build(struct tw_fp **out, const struct tw_policy *p)
{
	struct tw_fp *x = calloc(1, sizeof(*x));
	struct stat st;
	int i, err = 0;

	if (!x)
		return -ENOMEM;
	x->p = p;
	x->ifd = p->nsecrets ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
	for (i = 0; i < p->nsecrets && !err; i++) {
		const char *path = p->secrets[i].path;
		char bare[PATH_MAX];
		size_t n = strlen(path);

		snprintf(bare, sizeof(bare), "%.*s", (int)(n > 1 && path[n - 1] == '/' ? n - 1 : n), path);
		watch_parent(x, bare);
		if (stat(bare, &st))
			continue;	/* not there yet: the watch sees it appear */
		if (S_ISDIR(st.st_mode))
			err = add_tree(x, bare, st.st_dev, i, 0);
		else
			err = add_file(x, bare, i);
	}
	if (err) {
		tw_fp_free(x);
		return err;
	}
	seal_index(x);
	if (x->skipped)
		tw_warn("fingerprints: %u secret file(s) not fingerprinted (unreadable, over %d bytes, "
			"or beyond %d files / %d MiB)", x->skipped, TW_FP_MAX_FILE, TW_FP_MAX_FILES,
			TW_FP_MAX_BYTES >> 20);
	*out = x;
	return 0;
}

void tw_fp_free(struct tw_fp *x)
{
	size_t i;

	if (!x)
		return;
	for (i = 0; i < x->nf; i++)
		free(x->f[i].path);
	for (i = 0; i < x->nw; i++)
		free(x->w[i].dir);
	if (x->ifd >= 0)
		close(x->ifd);
	free(x->w);
	free(x->f);
	free(x->e);
	free(x);
}

/* ---- lookups ---- */

static const struct fp_entry *find(const struct tw_fp *x, const void *data, size_t len)
{
	struct fp_entry key;

	SHA256(data, len, key.md);
	key.file = 0;
	for (size_t lo = 0, hi = x->n; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(key.md, x->e[mid].md, SHA256_DIGEST_LENGTH);

		if (!c)
			return x->e[mid].shared ? NULL : &x->e[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* A hit says what matched: a whole file, a line or a token, whatever was looked up. */
static bool report(const struct tw_fp *x, const struct fp_entry *e, long line,
		   int skip_tier, tw_fp_cb cb, void *arg)
{
	const struct fp_file *f;
	struct tw_fp_hit h;

	if (!e || e->tier == skip_tier)
		return false;
	f = &x->f[e->file];
	h = (struct tw_fp_hit){ .tier = f->tier, .secret = f->secret, .copies = f->path,
				.kind = e->kind, .line = e->kind == TW_FP_FILE && !line ? 0 : line };
	cb(arg, &h);
	return true;
}

void tw_fp_scan(const struct tw_fp *x, const char *text, size_t len, long first_line,
		bool whole, int skip_tier, tw_fp_cb cb, void *arg)
{
	const char *line = text, *end = text + len;
	long no = first_line;

	if (!x || !x->n)
		return;
	if (whole) {
		const struct fp_entry *e = find(x, text, len);

		if (e && e->kind == TW_FP_FILE && report(x, e, 0, skip_tier, cb, arg))
			return;	/* a copy of a whole file says it all */
	}
	for (; line < end; no++) {
		const char *nl = memchr(line, '\n', end - line), *l = line;
		size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line), pos = 0, tlen;
		uint32_t seen[8];
		int at, nseen = 0, k;

		trim(&l, &n);
		at = next_token(l, n, &pos, &tlen);
		if (at >= 0 && !report(x, find(x, l, n), no, skip_tier, cb, arg)) {
			/* Tokens: each secret file named once per line. */
			for (; at >= 0; at = next_token(l, n, &pos, &tlen)) {
				const struct fp_entry *e = find(x, l + at, tlen);

				for (k = 0; e && k < nseen && seen[k] != e->file; k++)
					;
				if (!e || k < nseen || !report(x, e, no, skip_tier, cb, arg))
					continue;
				if (nseen < 8)
					seen[nseen++] = e->file;
			}
		}
		line = nl ? nl + 1 : end;
	}
}

bool tw_fp_is_secret_file(const struct tw_fp *x, uint32_t kdev, uint64_t ino)
{
	size_t i;

	for (i = 0; x && i < x->nf; i++)
		if (x->f[i].kdev == kdev && x->f[i].ino == ino)
			return true;
	return false;
}

size_t tw_fp_max_size(const struct tw_fp *x)
{
	return x ? x->max_size : 0;
}

/* ---- changes ---- */

int tw_fp_fd(const struct tw_fp *x)
{
	return x ? x->ifd : -1;
}

/* Does dir/name lead to a secret path (the path itself, or a directory above it)? */
static bool leads_to_secret(const struct tw_fp *x, const char *dir, const char *name)
{
	char path[PATH_MAX];
	size_t n;
	int i;

	n = snprintf(path, sizeof(path), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
	for (i = 0; i < x->p->nsecrets; i++) {
		const char *s = x->p->secrets[i].path;

		if (!strncmp(s, path, n) && (s[n] == '\0' || s[n] == '/'))
			return true;
	}
	return false;
}

bool tw_fp_changed(struct tw_fp *x)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t r;
	size_t i;

	while (x && x->ifd >= 0 && (r = read(x->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF)) {
				changed = true;
				continue;
			}
			for (i = 0; i < x->nw && x->w[i].wd != ev->wd; i++)
				;
			if (i < x->nw && (x->w[i].any || (ev->len && leads_to_secret(x, x->w[i].dir, ev->name))))
				changed = true;
		}
	}
	return changed;
}

json_t *tw_fp_status(const struct tw_fp *x)
{
	return json_pack("{s:I, s:I, s:i, s:i}", "files", (json_int_t)(x ? x->nf : 0),
			 "fingerprints", (json_int_t)(x ? x->n : 0), "shared", x ? (int)x->shared : 0,
			 "skipped", x ? (int)x->skipped : 0);
}
