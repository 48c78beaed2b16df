// SPDX-License-Identifier: GPL-2.0
/*
 * Reading the event log: its files in order, line by line, and every record
 * exactly once while the daemon rotates and compresses under the reader.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>
#include "evlog.h"

#define GZ_LINE_MAX	(1 << 20)

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

typedef int (*line_fn)(void *arg, const char *line, size_t len, long lineno);

/*
 * A .gz segment is whole when written (the compressor renames it into
 * place): one that is corrupt or cut short is -EIO, checked before a cut
 * last line is taken for a record, never the silent end of the records.
 */
static int read_gz(int fd, line_fn cb, void *arg)
{
	gzFile g = gzdopen(fd, "rb");
	char *line = malloc(GZ_LINE_MAX);
	long lineno = 0;
	int r = 0, zerr = Z_OK;

	if (!g || !line) {
		if (g)
			gzclose(g);
		else
			close(fd);
		free(line);
		return -ENOMEM;
	}
	while (!r && gzgets(g, line, GZ_LINE_MAX)) {
		size_t n = strlen(line);

		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (gzerror(g, &zerr), zerr != Z_OK)
			break;
		r = cb(arg, line, n, ++lineno);
	}
	if (!r && (gzerror(g, &zerr), zerr != Z_OK))
		r = -EIO;
	gzclose(g);
	free(line);
	return r;
}

/*
 * Takes fd. A plain file's unterminated last line is still being written: not
 * a record yet. A read error is -EIO, never the silent end of the records.
 */
static int read_fd(int fd, bool gz, line_fn cb, void *arg)
{
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	FILE *f;
	ssize_t n;
	int r = 0;

	if (gz)
		return read_gz(fd, cb, arg);
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return -errno;
	}
	while (!r && (n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] != '\n')
			break;
		line[--n] = '\0';
		r = cb(arg, line, n, ++lineno);
	}
	if (!r && ferror(f))
		r = -EIO;
	fclose(f);
	free(line);
	return r;	/* the callback's non-zero stop, or 0 */
}

int tw_evlog_read(const char *path, line_fn cb, void *arg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = read_fd(fd, ends_with(path, ".gz"), cb, arg);
	return r < 0 ? r : 0;
}

unsigned int tw_evlog_seg_number(const char *name)
{
	unsigned int n;

	return sscanf(name, "events.%8u.jsonl", &n) == 1 ? n : 0;
}

static int seg_filter(const struct dirent *d)
{
	return tw_evlog_seg_number(d->d_name) &&
	       (ends_with(d->d_name, ".jsonl") || ends_with(d->d_name, ".jsonl.gz"));
}

static int seg_cmp(const struct dirent **a, const struct dirent **b)
{
	unsigned int x = tw_evlog_seg_number((*a)->d_name), y = tw_evlog_seg_number((*b)->d_name);

	if (x != y)
		return x < y ? -1 : 1;
	/* The same segment twice while it is being compressed: .gz first. */
	return ends_with((*a)->d_name, ".gz") ? -1 : 1;
}

/*
 * One listing. readdir may miss an entry renamed while it runs (the daemon
 * renames events.jsonl to a segment, the compressor a .gz.tmp to its .gz):
 * segments are numbered one after another, so a hole, or nothing at all,
 * means "list again".
 */
static char **list_once(const char *dir, bool *holes)
{
	struct dirent **ents = NULL;
	char **out, path[PATH_MAX * 2];
	int n, i, k = 0;
	unsigned int last = 0;

	*holes = false;
	n = scandir(dir, &ents, seg_filter, seg_cmp);
	if (n < 0 && errno != ENOENT)
		return NULL;	/* errno says why: a log we cannot list is not an empty one */
	if (n < 0)
		n = 0;
	out = calloc(n + 2, sizeof(*out));
	for (i = 0; i < n; i++) {
		unsigned int num = tw_evlog_seg_number(ents[i]->d_name);

		if (out && num != last) {
			*holes |= last && num != last + 1;
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			out[k++] = strdup(path);
		}
		last = num;
		free(ents[i]);
	}
	free(ents);
	snprintf(path, sizeof(path), "%s/%s", dir, TW_EVLOG_CURRENT);
	if (out && !access(path, F_OK))
		out[k++] = strdup(path);
	*holes |= out && !k;
	return out;
}

char **tw_evlog_files(const char *dir)
{
	char **out = NULL;
	bool holes = true;
	int i;

	/* Bounded: a log that really has a hole (a segment removed by hand) or no file. */
	for (i = 0; i < 5 && holes; i++) {
		if (i)
			usleep(10 * 1000);
		tw_evlog_files_free(out);
		out = list_once(dir, &holes);
		if (!out)
			break;
	}
	return out;
}

void tw_evlog_files_free(char **files)
{
	char **f;

	for (f = files; f && *f; f++)
		free(*f);
	free(files);
}

/* ---- every record once, under rotation and compression ---- */

struct scan {
	tw_record_fn cb;
	void *arg;
	struct tw_evlog_pos pos;
	uint64_t last_seq;		/* newest seq read from the segments */
	bool skip_seen;			/* reading a current file that was rotated meanwhile */
};

/* The seq the writer puts first on every line; 0 if there is none. */
static uint64_t line_seq(const char *line, size_t len)
{
	return len > 7 && !strncmp(line, "{\"seq\":", 7) ? strtoull(line + 7, NULL, 10) : 0;
}

static int scan_line(void *arg, const char *line, size_t len, long lineno)
{
	struct scan *s = arg;
	uint64_t seq = line_seq(line, len);

	s->pos.lineno = lineno;
	if (s->skip_seen && seq && seq <= s->last_seq)
		return 0;	/* read already, from the segment it was renamed to */
	if (!s->skip_seen && seq > s->last_seq)
		s->last_seq = seq;
	return s->cb(s->arg, line, len, &s->pos);
}

/*
 * The daemon renames events.jsonl to events.N.jsonl, then a child writes
 * events.N.jsonl.gz and unlinks the plain file. Holding the current file
 * open before listing the directory means every record written before the
 * scan began is in a listed segment or in that open file; a plain segment
 * that vanished between the listing and its reading is read as its .gz.
 */
int tw_evlog_scan(const char *dir, tw_record_fn cb, void *arg)
{
	struct scan s = { .cb = cb, .arg = arg };
	char cur[PATH_MAX + 16], gz[PATH_MAX * 2 + 8], **files, **f;
	struct stat held, now;
	int cur_fd, err = 0;

	snprintf(cur, sizeof(cur), "%s/%s", dir, TW_EVLOG_CURRENT);
	cur_fd = open(cur, O_RDONLY | O_CLOEXEC);
	if (cur_fd < 0 && errno != ENOENT) {
		err = -errno;	/* unreadable is not empty: told, like a segment */
		s.pos.file = cur;
		s.cb(s.arg, NULL, err, &s.pos);
		return err;
	}
	files = tw_evlog_files(dir);
	if (!files) {
		err = errno ? -errno : -ENOMEM;
		if (cur_fd >= 0)
			close(cur_fd);
		s.pos.file = dir;
		s.cb(s.arg, NULL, err, &s.pos);
		return err;
	}
	for (f = files; *f && !err; f++) {
		int fd;

		if (!strcmp(*f, cur))
			continue;	/* read from the descriptor held since the start */
		s.pos.file = *f;
		fd = open(*f, O_RDONLY | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && !ends_with(*f, ".gz")) {
			snprintf(gz, sizeof(gz), "%s.gz", *f);
			fd = open(gz, O_RDONLY | O_CLOEXEC);
			s.pos.file = gz;
		}
		if (fd < 0 && errno == ENOENT && !s.last_seq)
			continue;	/* the oldest segment, removed by retention meanwhile */
		err = fd < 0 ? -errno : read_fd(fd, ends_with(s.pos.file, ".gz"), scan_line, &s);
		if (err < 0) {
			s.pos.lineno = 0;
			s.cb(s.arg, NULL, err, &s.pos);	/* told, then the scan stops */
		}
	}
	if (!err && cur_fd >= 0) {
		fstat(cur_fd, &held);
		/* Renamed away meanwhile: its start may be in a segment read above. */
		s.skip_seen = stat(cur, &now) || now.st_ino != held.st_ino;
		s.pos.file = cur;
		err = read_fd(cur_fd, false, scan_line, &s);
		cur_fd = -1;
	}
	if (cur_fd >= 0)
		close(cur_fd);
	tw_evlog_files_free(files);
	return err < 0 ? err : 0;
}

int tw_evlog_read_head(const char *dir, uint64_t *seq, char *hash)
{
	char path[PATH_MAX + 16];
	unsigned long long n;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, TW_EVLOG_HEAD);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	ok = fscanf(f, "%llu %64s", &n, hash) == 2 && strlen(hash) == TW_HASH_HEX &&
	     strspn(hash, "0123456789abcdef") == TW_HASH_HEX;
	fclose(f);
	if (!ok)
		return -EBADMSG;
	*seq = n;
	return 0;
}
