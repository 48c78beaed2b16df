/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_EVLOG_H
#define TW_EVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/*
 * The event log: LOG_DIR/events.jsonl plus rotated, gzip-compressed
 * segments events.NNNNNNNN.jsonl.gz (oldest has the smallest N). Every
 * record carries "seq" (+1 per record); the first record of each written
 * block carries "prev", the SHA-256 of the block before (batch.h), so the
 * records form one chain across rotations and daemon restarts.
 * LOG_DIR/chain.head holds the last record's seq and its batch's hash.
 */
#define TW_EVLOG_CURRENT	"events.jsonl"
#define TW_EVLOG_HEAD		"chain.head"
#define TW_HASH_HEX		64
#define TW_SEAL_EPOCH_SECS	(15 * 60)

struct tw_evlog_opts {
	uint64_t rotate_bytes;		/* rotate past this size (0: never) */
	uint64_t rotate_secs;		/* rotate a segment this old (0: never) */
	int keep_segments;		/* rotated segments kept (0: all) */
	uint64_t keep_bytes;		/* rotated bytes kept (0: no limit) */
	uint64_t max_queue;		/* bytes held while writes fail (0: 64 MiB) */
	/* Sealing (seal.h), or NULL; the log takes it and closes it. */
	struct tw_seal *seal;
	uint64_t seal_secs;		/* epoch length (0: TW_SEAL_EPOCH_SECS) */
	const char *host;		/* for seal records */
	/* Called with lines once they are in the log file (--stdout, followers). */
	void (*on_flush)(void *arg, const char *lines, size_t len);
	void *arg;
};

struct tw_evlog;
struct tw_seal;

/* Open or create the log in dir and continue its sequence and chain. */
int tw_evlog_open(struct tw_evlog **out, const char *dir, const struct tw_evlog_opts *o);
/*
 * Queue a record from the members of a JSON object (no braces): seq goes
 * first, prev last. -ENOBUFS when writes have been failing long enough to
 * fill the queue: the record is refused and counted (tw_evlog_refused).
 */
int tw_evlog_append_body(struct tw_evlog *l, const char *body, size_t len);
/* The same for a JSON object (any seq or prev in it is replaced); takes o. */
int tw_evlog_append(struct tw_evlog *l, json_t *o);
/* Write what is queued (before anything else sees it), then rotate if due. */
int tw_evlog_flush(struct tw_evlog *l);
/* Seal the current epoch now and step the key (sealed logs only). */
int tw_evlog_end_epoch(struct tw_evlog *l);
const char *tw_evlog_path(const struct tw_evlog *l);
uint64_t tw_evlog_written(const struct tw_evlog *l);
/* seq of the last record in the file (not merely queued). */
uint64_t tw_evlog_seq(const struct tw_evlog *l);
uint64_t tw_evlog_write_errors(const struct tw_evlog *l);
/* Bytes queued and not yet written. */
size_t tw_evlog_pending(const struct tw_evlog *l);
/* Records refused because writes kept failing and the queue was full. */
uint64_t tw_evlog_refused(const struct tw_evlog *l);
void tw_evlog_close(struct tw_evlog *l);

/* evread.c: reading. */
/* The files of a log, oldest first, current last; NULL-terminated, free with tw_evlog_files_free. */
char **tw_evlog_files(const char *dir);
void tw_evlog_files_free(char **files);

/* Read a log file (plain or .gz) line by line; cb returns non-zero to stop. */
int tw_evlog_read(const char *path, int (*cb)(void *arg, const char *line, size_t len, long lineno),
		  void *arg);

/* N of a segment's name events.N.jsonl[.gz], else 0. */
unsigned int tw_evlog_seg_number(const char *name);

/* Where a record was read: the file (a .gz if compressed meanwhile), its line. */
struct tw_evlog_pos {
	const char *file;
	long lineno;
};
/*
 * A record of the log; line NULL reports a file that could not be read
 * (len is then the -errno). Non-zero stops the scan.
 */
typedef int (*tw_record_fn)(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos);
/*
 * Every record written before the call, oldest first, each exactly once,
 * whatever rotation, compression or retention runs meanwhile.
 */
int tw_evlog_scan(const char *dir, tw_record_fn cb, void *arg);

/*
 * LOG_DIR/chain.head: the seq of the last record written and the hash (65 bytes) of
 * its batch up to it (batch.h).
 * -ENOENT when there is none, -EBADMSG when it is not "SEQ HASH", else -errno.
 */
int tw_evlog_read_head(const char *dir, uint64_t *seq, char *hash);

/* SHA-256 of a line as 64 hex digits (out has room for 65). */
void tw_hash_line(const char *line, size_t len, char *out);

#endif
