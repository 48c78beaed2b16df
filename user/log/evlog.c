// SPDX-License-Identifier: GPL-2.0
/*
 * The event log: append-only JSON lines, hash-chained, rotated by size and
 * age; what becomes of rotated segments (compression, retention) is in
 * segments.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "batch.h"
#include "evlog.h"
#include "jw.h"
#include "log.h"
#include "seal.h"
#include "segments.h"
#include "util.h"

/*
 * The queue goes out in blocks of this size as it fills, while the lines are
 * still in cache (and it never grows past it while writes succeed);
 * chain.head is written at the next flush.
 */
#define BLOCK_BYTES	(128 << 10)
/*
 * chain.head is replaced (a rename, which ext4 makes write back the new
 * file) at most this often while records flow, and at every seal and stop:
 * per tick it cost more than the records of a tick.
 */
#define HEAD_NS		1000000000ull

struct tw_evlog {
	struct tw_evlog_opts o;
	char dir[PATH_MAX];
	char path[PATH_MAX];
	int fd;
	uint64_t seq;			/* of the last record queued */
	uint64_t seq_written;		/* of the last record in the file */
	uint64_t head_seq;		/* of the record chain.head names */
	uint64_t head_ns;		/* when chain.head was last written (monotonic) */
	char prev[TW_HASH_HEX + 1];	/* of the last batch closed */
	struct tw_batch batch;		/* the records since the last that carries prev */
	char *buf;
	size_t len, cap;
	uint64_t size;			/* bytes in the current segment */
	time_t started;			/* when the current segment began */
	unsigned int next_seg;
	pid_t compressor;
	uint64_t written, errors, refused;
	bool flushing;			/* in tw_evlog_flush: no flush from append */
	bool failing;			/* the last write failed: the next tick retries */
};

/* ---- recovering where the chain stands ---- */

struct last_line {
	struct tw_batch batch;		/* the last batch, to chain the next record to */
	char hash[TW_HASH_HEX + 1];
	uint64_t seq;
	bool found;
	int64_t seal_epoch;		/* the last record is a seal of this epoch, else -1 */
};

static int remember_last(void *arg, const char *line, size_t len, long lineno)
{
	struct last_line *l = arg;
	json_t *o = json_loadb(line, len, 0, NULL);

	tw_batch_add(&l->batch, json_object_get(o, "prev") != NULL, line, len);
	l->seq = json_integer_value(json_object_get(o, "seq"));
	l->found = true;
	l->seal_epoch = -1;
	if (!strcmp(json_string_value(json_object_get(o, "kind")) ?: "", "seal"))
		l->seal_epoch = json_integer_value(json_object_get(o, "epoch"));
	json_decref(o);
	return 0;
}

/* Cut a partial last line (a write torn by a crash): it was never a record. */
static void drop_torn_tail(int fd, const char *path)
{
	off_t size = lseek(fd, 0, SEEK_END), at = size;
	char c;

	while (at > 0 && pread(fd, &c, 1, at - 1) == 1 && c != '\n')
		at--;
	if (at < size) {
		tw_warn("%s: dropping %lld bytes of a record torn by a crash", path,
			(long long)(size - at));
		if (ftruncate(fd, at))
			tw_warn("%s: cannot truncate: %s", path, strerror(errno));
	}
}

static time_t first_ts(const char *path)
{
	char line[512];
	struct tm tm = {};
	FILE *f = fopen(path, "re");
	const char *ts;

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f) || !(ts = strstr(line, "\"ts\":\"")) ||
	    !strptime(ts + 6, "%Y-%m-%dT%H:%M:%S", &tm)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	return timegm(&tm);
}

/*
 * chain.head names the last record written. The log ending before it, or
 * at another record, means records were removed or changed while no daemon
 * ran: say so in the chain (a chain_reset record) instead of starting over
 * silently. Running past the head is normal: records go out before it.
 */
static const char *reset_reason(const char *dir, const struct last_line *last, uint64_t *head_seq,
				char *head_hash)
{
	int err = tw_evlog_read_head(dir, head_seq, head_hash);

	if (err) {
		*head_seq = 0;
		head_hash[0] = '\0';	/* what was read is no hash */
	}
	if (err == -ENOENT)
		return NULL;
	if (err == -EBADMSG)
		return "chain.head is not \"SEQ HASH\"";
	if (err)
		return "chain.head cannot be read";
	if (!last->found)
		return "the log has no records";
	if (last->seq < *head_seq)
		return "the log ends before it: records were removed from the end";
	if (last->seq == *head_seq && strcmp(last->hash, head_hash))
		return "the record with that seq is not the one it names";
	return NULL;
}

static void write_reset(struct tw_evlog *l, const char *why, uint64_t head_seq, const char *head_hash,
			uint64_t found_seq)
{
	char ts[64];
	json_t *o, *host;

	tw_format_time(tw_now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	tw_warn("%s/%s: %s; the chain goes on from seq %llu with a chain_reset record", l->dir,
		TW_EVLOG_HEAD, why, (unsigned long long)l->seq + 1);
	/* A host name that is not UTF-8 is "?" here: this record must get out. */
	host = json_string(l->o.host ?: "?") ?: json_string("?");
	o = json_pack("{s:i, s:s, s:o, s:s, s:i, s:I, s:s, s:I, s:s}", "v", 1, "ts", ts, "host", host,
		      "kind", "chain_reset", "pid", (int)getpid(), "head_seq", (json_int_t)head_seq,
		      "head_hash", head_hash, "found_seq", (json_int_t)found_seq, "reason", why);
	if (!o || tw_evlog_append(l, o) || tw_evlog_flush(l))
		tw_err("%s: cannot write the chain_reset record", l->path);
}

int tw_evlog_open(struct tw_evlog **out, const char *dir, const struct tw_evlog_opts *o)
{
	struct tw_evlog *l = calloc(1, sizeof(*l));
	struct last_line last = { .seal_epoch = -1 };
	char **files, **f, head_hash[TW_HASH_HEX + 1] = "";
	uint64_t head_seq = 0;
	const char *why;
	struct stat st;
	int err;

	if (!l)
		return -ENOMEM;
	l->o = *o;
	l->fd = -1;
	if (mkdir(dir, 0750) && errno != EEXIST) {
		err = -errno;
		tw_err("cannot create log directory %s: %s", dir, strerror(-err));
		goto out_free;
	}
	/* Absolute, so `tierwall events` finds it from any directory. */
	if (!realpath(dir, l->dir)) {
		err = -errno;
		tw_err("cannot resolve log directory %s: %s", dir, strerror(-err));
		goto out_free;
	}
	snprintf(l->path, sizeof(l->path), "%s/%s", l->dir, TW_EVLOG_CURRENT);
	l->fd = open(l->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (l->fd < 0) {
		err = -errno;
		tw_err("cannot open %s: %s", l->path, strerror(-err));
		goto out_free;
	}
	drop_torn_tail(l->fd, l->path);
	/* The chain continues from the newest record, wherever it is. */
	files = tw_evlog_files(l->dir);
	for (f = files; f && *f; f++) {
		unsigned int n = tw_evlog_seg_number(strrchr(*f, '/') + 1);

		if (n >= l->next_seg)
			l->next_seg = n + 1;
	}
	for (f = files; f && *f; f++)
		;
	while (f > files && !last.found) {
		f--;
		tw_evlog_read(*f, remember_last, &last);
	}
	if (last.found)
		tw_batch_hex(&last.batch, last.hash);
	tw_evlog_files_free(files);
	if (!l->next_seg)
		l->next_seg = 1;
	memset(l->prev, '0', TW_HASH_HEX);
	if (last.found) {
		memcpy(l->prev, last.hash, TW_HASH_HEX);
		l->seq = l->seq_written = last.seq;
	}
	why = reset_reason(l->dir, &last, &head_seq, head_hash);
	if (why && !last.found && head_seq) {
		/* Nothing left to chain to: chain to the head, seq numbers never repeat. */
		memcpy(l->prev, head_hash, TW_HASH_HEX);
		l->seq = l->seq_written = head_seq;
	}
	/* Stopped between a seal and the key's step: take the step now. */
	while (l->o.seal && last.found && last.seal_epoch >= (int64_t)tw_seal_epoch(l->o.seal)) {
		err = tw_seal_advance(l->o.seal, tw_now_ns(CLOCK_REALTIME));
		if (err) {
			tw_err("cannot overwrite the seal key: %s", strerror(-err));
			goto out_free;
		}
	}
	l->head_seq = l->seq_written;
	fstat(l->fd, &st);
	l->size = st.st_size;
	l->started = l->size ? first_ts(l->path) : time(NULL);
	if (!l->started)
		l->started = time(NULL);
	if (why)
		write_reset(l, why, head_seq, head_hash, last.found ? last.seq : 0);
	*out = l;
	return 0;
out_free:
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return err;
}

/* ---- writing ---- */

static int write_out(struct tw_evlog *l);

/* Room for n more bytes in the queue. */
static int reserve(struct tw_evlog *l, size_t n)
{
	size_t cap = l->cap ? l->cap : 65536;
	char *nb;

	if (l->len + n <= l->cap)
		return 0;
	while (cap < l->len + n)
		cap *= 2;
	nb = realloc(l->buf, cap);
	if (!nb)
		return -ENOMEM;
	l->buf = nb;
	l->cap = cap;
	return 0;
}

int tw_evlog_append_body(struct tw_evlog *l, const char *body, size_t len)
{
	char head[32], *line;
	struct w w = { .p = head, .cap = sizeof(head) };
	size_t n, h;
	bool first;

	/*
	 * A segment ends near --rotate-mb even when the daemon writes a large
	 * batch at once: flushed (and sealed, and rotated) before this record
	 * takes its seq.
	 */
	if (l->o.rotate_bytes && !l->flushing && l->size && !l->failing &&
	    l->size + l->len + len > l->o.rotate_bytes)
		tw_evlog_flush(l);
	first = !l->batch.open;	/* starts a batch (batch.h): carries prev */
	w_lit(&w, "{\"seq\":");
	w_u64(&w, l->seq + 1);
	w_raw(&w, ",", 1);
	h = w.n;
	n = h + len + 10 + TW_HASH_HEX + 2;
	/* Writes failing (disk full): hold a bounded backlog, count the rest. */
	if (l->len + n > (l->o.max_queue ? l->o.max_queue : 64ull << 20)) {
		l->refused++;
		return -ENOBUFS;
	}
	if (reserve(l, n + 1))
		return -ENOMEM;
	line = l->buf + l->len;
	memcpy(line, head, h);
	memcpy(line + h, body, len);
	n = h + len;
	if (first) {
		memcpy(line + n, ",\"prev\":\"", 9);
		memcpy(line + n + 9, l->prev, TW_HASH_HEX);
		n += 9 + TW_HASH_HEX;
		line[n++] = '"';
	}
	line[n++] = '}';
	tw_batch_add(&l->batch, first, line, n);
	line[n] = '\n';
	l->len += n + 1;
	l->seq++;
	if (l->len >= BLOCK_BYTES && !l->flushing && !l->failing)
		write_out(l);
	return 0;
}

int tw_evlog_append(struct tw_evlog *l, json_t *o)
{
	char *s;
	size_t n;
	int err;

	if (!o)
		return -ENOMEM;
	json_object_del(o, "seq");
	json_object_del(o, "prev");
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	n = strlen(s);
	/* The members only: the log writer puts seq first and prev last. */
	err = n >= 2 ? tw_evlog_append_body(l, s + 1, n - 2) : -EINVAL;
	free(s);
	return err;
}

static void write_head(struct tw_evlog *l)
{
	char tmp[PATH_MAX + 16], path[PATH_MAX + 16];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", l->dir, TW_EVLOG_HEAD);
	snprintf(path, sizeof(path), "%s/%s", l->dir, TW_EVLOG_HEAD);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	if (dprintf(fd, "%llu %s\n", (unsigned long long)l->seq, l->prev) > 0 && !close(fd)) {
		if (!rename(tmp, path)) {
			l->head_seq = l->seq;
			l->head_ns = tw_now_ns(CLOCK_MONOTONIC);
		}
	} else {
		close(fd);
	}
}

static void reap_compressor(struct tw_evlog *l, bool wait)
{
	int st;

	if (l->compressor > 0 && waitpid(l->compressor, &st, wait ? 0 : WNOHANG) == l->compressor) {
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			tw_err("compressing a rotated log segment failed; it stays uncompressed");
		l->compressor = 0;
	}
}

static int rotate(struct tw_evlog *l)
{
	char seg[PATH_MAX + 32];
	int fd;

	reap_compressor(l, true);	/* one compression at a time */
	snprintf(seg, sizeof(seg), "%s/events.%08u.jsonl", l->dir, l->next_seg++);
	if (rename(l->path, seg))
		return -errno;
	fd = open(l->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	close(l->fd);
	l->fd = fd;
	l->size = 0;
	l->started = time(NULL);
	l->compressor = tw_segment_compress(seg);
	if (l->compressor < 0)
		tw_err("cannot fork to compress %s: %s", seg, strerror(errno));
	tw_segments_retain(l->dir, l->o.keep_segments, l->o.keep_bytes);
	return 0;
}

/* The next record starts a batch, chained to this one's hash. */
static void close_batch(struct tw_evlog *l)
{
	if (!l->batch.open)
		return;
	tw_batch_hex(&l->batch, l->prev);
	l->batch.open = false;
}

/* The queue into the file, which closes its batch; its lines to on_flush. */
static int write_out(struct tw_evlog *l)
{
	size_t off = 0;
	int err;

	while (off < l->len) {
		ssize_t w = write(l->fd, l->buf + off, l->len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* Loud, counted, and the lines stay queued for the next try. */
			err = -errno;
			l->failing = true;
			if (!l->errors++)
				tw_err("cannot write %s: %s", l->path, strerror(-err));
			memmove(l->buf, l->buf + off, l->len - off);
			l->len -= off;
			l->size += off;
			return err;
		}
		off += w;
	}
	l->failing = false;
	if (!l->len)
		return 0;
	close_batch(l);
	if (l->o.on_flush)
		l->o.on_flush(l->o.arg, l->buf, l->len);
	l->size += l->len;
	l->written += l->len;
	l->len = 0;
	l->seq_written = l->seq;
	return 0;
}

static int write_queue(struct tw_evlog *l)
{
	int err = write_out(l);

	if (!err && l->head_seq != l->seq_written &&
	    tw_now_ns(CLOCK_MONOTONIC) - l->head_ns >= HEAD_NS)
		write_head(l);
	return err;
}

/* chain.head names the last record written, now (a seal, a stop). */
static int write_all(struct tw_evlog *l)
{
	int err = write_out(l);

	if (!err && l->head_seq != l->seq_written)
		write_head(l);
	return err;
}

/*
 * Close the epoch: its seal goes to the file, then the key takes its
 * one-way step and the old key is overwritten on disk (fsync) before any
 * record of the new epoch. A seal that the disk refuses stays queued with
 * its MAC and is written with the backlog.
 */
static int seal_epoch(struct tw_evlog *l)
{
	char body[1024];
	int n, err;

	close_batch(l);	/* the seal carries prev, so its MAC covers all before it */
	n = tw_seal_body(l->o.seal, l->seq + 1, l->prev, l->o.host ? l->o.host : "", body,
			 sizeof(body));
	if (n < 0)
		return n;
	err = tw_evlog_append_body(l, body, n);
	if (err)
		return err;	/* refused (backlog full): the epoch goes on, sealed later */
	write_all(l);
	err = tw_seal_advance(l->o.seal, tw_now_ns(CLOCK_REALTIME));
	if (err)
		tw_err("cannot overwrite the seal key: %s: the old epoch's key may remain on disk",
		       strerror(-err));
	return err;
}

int tw_evlog_end_epoch(struct tw_evlog *l)
{
	int err = write_all(l);

	return err ? err : l->o.seal ? seal_epoch(l) : -EINVAL;
}

static bool epoch_due(const struct tw_evlog *l)
{
	uint64_t secs = l->o.seal_secs ? l->o.seal_secs : TW_SEAL_EPOCH_SECS;

	return l->o.seal && tw_now_ns(CLOCK_REALTIME) - tw_seal_since(l->o.seal) >= secs * 1000000000ull;
}

static int flush(struct tw_evlog *l);

int tw_evlog_flush(struct tw_evlog *l)
{
	int err;

	l->flushing = true;
	err = flush(l);
	l->flushing = false;
	return err;
}

static int flush(struct tw_evlog *l)
{
	int err;

	reap_compressor(l, false);
	err = write_queue(l);
	if (err)
		return err;
	if (epoch_due(l))
		seal_epoch(l);
	/* An empty file is never rotated: segments hold records. */
	if (l->size && ((l->o.rotate_bytes && l->size >= l->o.rotate_bytes) ||
	    (l->o.rotate_secs && time(NULL) - l->started >= (time_t)l->o.rotate_secs))) {
		/* Every segment ends with a seal: an epoch never spans two files. */
		if (l->o.seal)
			seal_epoch(l);
		err = rotate(l);
		if (err)
			tw_err("cannot rotate %s: %s", l->path, strerror(-err));
	}
	return 0;
}

const char *tw_evlog_path(const struct tw_evlog *l)
{
	return l->path;
}

uint64_t tw_evlog_seq(const struct tw_evlog *l)
{
	return l->seq_written;
}

uint64_t tw_evlog_written(const struct tw_evlog *l)
{
	return l->written;
}

size_t tw_evlog_pending(const struct tw_evlog *l)
{
	return l->len;
}

uint64_t tw_evlog_refused(const struct tw_evlog *l)
{
	return l->refused;
}

uint64_t tw_evlog_write_errors(const struct tw_evlog *l)
{
	return l->errors;
}

void tw_evlog_close(struct tw_evlog *l)
{
	if (!l)
		return;
	tw_evlog_flush(l);
	if (l->o.seal) {
		seal_epoch(l);	/* a stop closes the epoch too */
		tw_seal_close(l->o.seal);
	}
	write_all(l);
	reap_compressor(l, true);
	close(l->fd);
	free(l->buf);
	free(l);
}
