// SPDX-License-Identifier: GPL-2.0
/* Reading the event log back: filters for `tierwall events`, and verify-log. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "batch.h"
#include "evlog.h"
#include "evquery.h"
#include "seal.h"
#include "util.h"

int tw_filter_time(const char *arg, uint64_t now_ns, uint64_t *ns)
{
	long secs;

	if (!tw_parse_duration(arg, &secs)) {
		*ns = now_ns - (uint64_t)secs * 1000000000ull;
		return 0;
	}
	return tw_parse_time(arg, ns);
}

static bool str_is(json_t *ev, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(ev, key));

	return !want || (v && !strcmp(v, want));
}

bool tw_filter_match(const struct tw_filter *f, json_t *ev)
{
	const char *cg = json_string_value(json_object_get(ev, "cgroup"));
	uint64_t ts;

	if (!str_is(ev, "tier", f->tier) || !str_is(ev, "kind", f->kind) ||
	    !str_is(ev, "verdict", f->verdict))
		return false;
	if (f->cgroup) {
		size_t n = strlen(f->cgroup);

		while (n > 1 && f->cgroup[n - 1] == '/')
			n--;
		if (!cg || strncmp(cg, f->cgroup, n) || (cg[n] && cg[n] != '/' && n > 1))
			return false;
	}
	if (f->pid && json_integer_value(json_object_get(ev, "pid")) != f->pid)
		return false;
	if (f->since_ns || f->until_ns) {
		if (tw_parse_time(json_string_value(json_object_get(ev, "ts")) ?: "", &ts))
			return false;
		if ((f->since_ns && ts < f->since_ns) || (f->until_ns && ts > f->until_ns))
			return false;
	}
	return true;
}

/* ---- verify-log ---- */

struct chain {
	FILE *out;
	const char *file;
	char prev_file[PATH_MAX];
	long prev_line;
	/* The batch the previous record is in (batch.h), and where it began. */
	struct tw_batch batch;
	char batch_file[PATH_MAX];
	long batch_line;
	uint64_t batch_seq;
	uint64_t seq;			/* of the previous record */
	uint64_t records;
	uint64_t first_seq;
	bool started, broken;
	/* chain.head, read before the files: every record up to it is on disk. */
	uint64_t head_seq;
	char head_hash[TW_HASH_HEX + 1];
	bool head_seen;
	bool unreadable;
	char file_seen[PATH_MAX * 2];
	int nfiles;
	/* Seals (--verify-key): the epochs seen, and what no seal covers yet. */
	struct tw_unseal *u;
	uint64_t from_epoch, last_epoch, epochs;
	bool sealed, key_rejected;	/* a seal made with another key */
	char last_seal_ts[64];
	uint64_t last_seal_seq;
	uint64_t open_seq, open_records;	/* first record after the last seal */
	char open_where[PATH_MAX + 64];
};

static int broken(struct chain *c, long lineno, const char *fmt, const char *detail)
{
	fprintf(c->out, "TAMPERED: %s:%ld: ", c->file, lineno);
	fprintf(c->out, fmt, detail);
	fprintf(c->out, "\n");
	c->broken = true;
	return 1;
}

/*
 * A seal covers, through its prev, every record before it: it must be the
 * next epoch's, and its MAC must match under that epoch's key. Records
 * after the last seal are in the epoch still open on the node.
 */
static int check_seal(struct chain *c, json_t *o, const char *line, size_t len, uint64_t seq,
		      long lineno)
{
	const char *kind = json_string_value(json_object_get(o, "kind"));
	uint64_t epoch = json_integer_value(json_object_get(o, "epoch"));
	uint64_t want = c->sealed ? c->last_epoch + 1 : c->from_epoch;
	char what[PATH_MAX + 256];
	int err;

	if (!kind || strcmp(kind, "seal")) {
		if (!c->open_seq) {
			c->open_seq = seq;
			snprintf(c->open_where, sizeof(c->open_where), "%s:%ld (seq %llu)", c->file,
				 lineno, (unsigned long long)seq);
		}
		c->open_records++;
		return 0;
	}
	snprintf(what, sizeof(what), "%s", c->open_seq ? c->open_where : "this seal");
	if (epoch > want)
		return broken(c, lineno, want == c->from_epoch && !c->sealed ?
			      "%s: seals epochs after the first missing ones: epochs before it were removed "
			      "(if retention removed them, verify from this epoch with --from-epoch)" :
			      "%s: epochs between the last seal and this one are missing: whole epochs were removed",
			      "is a seal of a later epoch than the next");
	if (epoch < want)
		return broken(c, lineno, "%s: an epoch sealed twice: records were reordered or inserted",
			      "is a seal of an earlier epoch");
	err = tw_unseal_check(c->u, line, len, epoch);
	c->key_rejected = err == -EKEYREJECTED;
	if (err == -EKEYREJECTED)
		return broken(c, lineno, "%s: this seal was made with another key (not this verification key's id)",
			      "is a seal");
	if (err) {
		char msg[PATH_MAX + 512];

		snprintf(msg, sizeof(msg), "the seal of epoch %llu does not match: a record from %s up to this seal "
			 "was altered, removed, inserted or reordered (the first record it fails to cover), "
			 "or the seal was forged", (unsigned long long)epoch, what);
		return broken(c, lineno, "%s", msg);
	}
	c->sealed = true;
	c->last_epoch = epoch;
	c->epochs++;
	c->last_seal_seq = seq;
	snprintf(c->last_seal_ts, sizeof(c->last_seal_ts), "%s",
		 json_string_value(json_object_get(o, "ts")) ?: "?");
	c->open_seq = c->open_records = 0;
	return 0;
}

/*
 * A chain_reset record: tierwalld found chain.head naming records it could
 * not find. The chain goes on from it, so the rest is still checked.
 */
static void check_reset(struct chain *c, json_t *o, long lineno)
{
	if (strcmp(json_string_value(json_object_get(o, "kind")) ?: "", "chain_reset"))
		return;
	fprintf(c->out, "TAMPERED: %s:%ld: tierwalld reset the chain here: %s named seq %lld, but %s: "
		"records before this one were removed or changed while it was stopped\n",
		c->file, lineno, TW_EVLOG_HEAD, json_integer_value(json_object_get(o, "head_seq")),
		json_string_value(json_object_get(o, "reason")) ?: "?");
	c->broken = true;
}

/* Where the previous batch is: a record, or the records from its first to the previous one. */
static void batch_where(const struct chain *c, char *out, size_t len)
{
	if (c->batch_seq == c->seq)
		snprintf(out, len, "%s:%ld (seq %llu)", c->prev_file, c->prev_line,
			 (unsigned long long)c->seq);
	else
		snprintf(out, len, "%s:%ld..%s%s%ld (seq %llu..%llu)", c->batch_file, c->batch_line,
			 strcmp(c->batch_file, c->prev_file) ? c->prev_file : "",
			 strcmp(c->batch_file, c->prev_file) ? ":" : "", c->prev_line,
			 (unsigned long long)c->batch_seq, (unsigned long long)c->seq);
}

/*
 * A record that carries prev starts a batch: prev must be the hash of the
 * batch before (batch.h). One that carries none is the next of its batch:
 * its seq must follow, and the next prev covers its bytes.
 */
static int check_chain(struct chain *c, const char *prev, uint64_t seq, long lineno)
{
	bool one = c->batch_seq == c->seq;
	char where[2 * PATH_MAX + 96], hash[TW_HASH_HEX + 1];

	if (!prev) {
		snprintf(where, sizeof(where), "%s:%ld (seq %llu)", c->prev_file, c->prev_line,
			 (unsigned long long)c->seq);
		if (seq == c->seq + 1)
			return 0;
		return broken(c, lineno, seq <= c->seq ? "is out of order after %s: records were reordered or inserted" :
			      "skips ahead of %s: records between them were removed or reordered", where);
	}
	batch_where(c, where, sizeof(where));
	tw_batch_hex(&c->batch, hash);
	if (strcmp(prev, hash))
		return broken(c, lineno,
			      seq == c->seq + 1 ? (one ? "does not follow the record before it, %s: that record was changed" :
						   "does not follow the batch before it, %s: a record of it was changed") :
			      seq <= c->seq ? "is out of order after %s: records were reordered or inserted" :
			      "skips ahead of %s: records between them were removed or reordered", where);
	if (seq != c->seq + 1)
		return broken(c, lineno, "chains to %s but its seq does not follow: this record was changed",
			      where);
	return 0;
}

static int check_line(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct chain *c = arg;
	long lineno = pos->lineno;
	json_t *o, *prevv, *seqv;
	const char *prev;
	uint64_t seq;
	int r = 0;

	if (!line) {
		fprintf(c->out, "%s: cannot read: %s\n", pos->file, strerror(-(int)len));
		c->unreadable = true;
		return 1;
	}
	c->file = pos->file;
	if (strcmp(c->file_seen, pos->file)) {
		snprintf(c->file_seen, sizeof(c->file_seen), "%s", pos->file);
		c->nfiles++;
	}
	o = json_loadb(line, len, 0, NULL);
	prevv = json_object_get(o, "prev");
	prev = json_string_value(prevv);
	seqv = json_object_get(o, "seq");
	seq = json_integer_value(seqv);

	if (!o || (prevv && (!prev || strlen(prev) != TW_HASH_HEX)) || !json_is_integer(seqv)) {
		r = broken(c, lineno, "%snot a chained record (changed, or not written by tierwalld)", "");
	} else if (!c->started) {
		/* Retention may have removed older segments: the oldest record anchors. */
		c->first_seq = seq;
		if (!prev)
			r = broken(c, lineno, "%sis the first record but carries no prev: records before it were removed", "");
		else if (strspn(prev, "0") != TW_HASH_HEX)
			fprintf(c->out, "note: the chain starts at seq %llu; older segments were removed\n",
				(unsigned long long)seq);
	} else {
		r = check_chain(c, prev, seq, lineno);
	}
	/* A seal's MAC covers its prev: a seal always starts a batch. */
	if (!r && c->u && !prev && !strcmp(json_string_value(json_object_get(o, "kind")) ?: "", "seal"))
		r = broken(c, lineno, "%sis a seal without prev: changed", "");
	if (!r && c->u)
		r = check_seal(c, o, line, len, seq, lineno);
	if (!r)
		check_reset(c, o, lineno);
	json_decref(o);
	if (r)
		return 1;
	tw_batch_add(&c->batch, prev != NULL, line, len);
	if (prev) {
		snprintf(c->batch_file, sizeof(c->batch_file), "%s", c->file);
		c->batch_line = lineno;
		c->batch_seq = seq;
	}
	if (c->head_seq && seq == c->head_seq) {
		char hash[TW_HASH_HEX + 1];

		/* chain.head's hash is the batch's up to the record it names. */
		tw_batch_hex(&c->batch, hash);
		c->head_seen = true;
		if (strcmp(hash, c->head_hash))
			return broken(c, lineno, "%sis the record chain.head names, but it was changed", "");
	}
	c->seq = seq;
	c->records++;
	c->started = true;
	snprintf(c->prev_file, sizeof(c->prev_file), "%s", c->file);
	c->prev_line = lineno;
	return 0;
}

/*
 * Read chain.head before the files: the daemon writes records before it
 * updates the head, so a live log may run past it, never end before it.
 */
static int read_head(struct chain *c, const char *dir)
{
	char path[PATH_MAX + 16];
	int err = tw_evlog_read_head(dir, &c->head_seq, c->head_hash);

	snprintf(path, sizeof(path), "%s/%s", dir, TW_EVLOG_HEAD);
	if (err == -ENOENT) {
		c->head_seq = 0;
		fprintf(c->out, "note: no %s: the last record cannot be checked\n", path);
		return 0;
	}
	if (err == -EBADMSG)
		fprintf(c->out, "TAMPERED: %s is not \"SEQ HASH\"\n", path);
	else if (err)
		fprintf(c->out, "%s: cannot read: %s\n", path, strerror(-err));
	return err;
}

static int check_head(struct chain *c)
{
	if (c->head_seq && !c->head_seen && c->head_seq > c->seq) {
		fprintf(c->out, "TAMPERED: %s names seq %llu but the log ends at seq %llu: records were removed from the end\n",
			TW_EVLOG_HEAD, (unsigned long long)c->head_seq, (unsigned long long)c->seq);
		return -EBADMSG;
	}
	return 0;
}

/* No log file: nothing was logged here, unless chain.head says records were. */
static int no_records(struct chain *c, const char *dir)
{
	int err = tw_evlog_read_head(dir, &c->head_seq, c->head_hash);

	if (err == -ENOENT) {
		fprintf(c->out, "%s: no event log here\n", dir);
		return -ENOENT;
	}
	if (err)
		return read_head(c, dir);	/* says why it cannot be read */
	fprintf(c->out, "TAMPERED: %s/%s names seq %llu but there are no records: the log was removed\n",
		dir, TW_EVLOG_HEAD, (unsigned long long)c->head_seq);
	return -EBADMSG;
}

static int seal_summary(struct chain *c, FILE *out)
{
	if (!c->sealed) {
		fprintf(out, "TAMPERED: no seal in this log: it is not sealed (first unsealed record: %s)\n",
			c->open_seq ? c->open_where : "none");
		return -EBADMSG;
	}
	fprintf(out, "SEALED: epochs %llu..%llu, each sealed with key %s; the last sealed epoch is %llu, sealed at %s (seq %llu)\n",
		(unsigned long long)c->from_epoch, (unsigned long long)c->last_epoch, tw_unseal_id(c->u),
		(unsigned long long)c->last_epoch, c->last_seal_ts, (unsigned long long)c->last_seal_seq);
	if (c->open_records)
		fprintf(out, "note: %llu record%s from %s on are in the epoch still open on the node: its key is there, "
			"so a change to them or their truncation cannot be detected until it is sealed\n",
			(unsigned long long)c->open_records, c->open_records == 1 ? "" : "s", c->open_where);
	return 0;
}

int tw_verify_log(const char *dir, FILE *out, const struct tw_verify_opts *o)
{
	char **files = tw_evlog_files(dir), why[PATH_MAX + 256];
	struct chain c = { .out = out, .from_epoch = o ? o->from_epoch : 0 };
	int err = 0;

	if (o && o->verify_key) {
		err = tw_unseal_open(&c.u, o->verify_key, why, sizeof(why));
		if (err) {
			fprintf(out, "%s\n", why);
			tw_evlog_files_free(files);
			return err;
		}
	}

	if (!files) {
		err = -errno;
		fprintf(out, "%s: cannot read: %s\n", dir, strerror(-err));
	} else if (!files[0]) {
		err = no_records(&c, dir);
	} else {
		err = read_head(&c, dir);
		/* An unreadable head still lets the files say what else is unreadable. */
		if (err != -EBADMSG) {
			int scan = tw_evlog_scan(dir, check_line, &c);

			err = err ?: scan;
		}
	}
	tw_evlog_files_free(files);
	if (!err && c.unreadable)
		err = -EIO;
	if (!err && c.broken)
		err = c.key_rejected ? -EKEYREJECTED : -EBADMSG;
	if (!err)
		err = check_head(&c);
	if (!err) {
		fprintf(out, "OK: %llu records in %d file%s, seq %llu..%llu, chain intact\n",
			(unsigned long long)c.records, c.nfiles, c.nfiles == 1 ? "" : "s",
			(unsigned long long)c.first_seq, (unsigned long long)c.seq);
		if (c.u)
			err = seal_summary(&c, out);
		else
			fprintf(out, "note: without --verify-key only the hash chain is checked: anyone who can write "
				"the log can recompute it, so a rewrite cannot be detected\n");
	}
	tw_unseal_close(c.u);
	return err;
}
