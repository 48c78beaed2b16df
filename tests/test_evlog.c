// SPDX-License-Identifier: GPL-2.0
/* The event log: hash chain, verify-log, rotation and compression, retention, filters. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "evlog.h"
#include "evquery.h"
#include "fixture.h"
#include "test.h"
#include "util.h"

static char *mkdir_tmp(void)
{
	char tmpl[] = "/tmp/tw-evlog-XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void rm_tmp(char *d)
{
	if (d)
		fx_sh(NULL, 0, "rm -rf %s", d);
	free(d);
}

/* n records through the real writer, flushing every `every` records. */
static int write_records(const char *dir, const struct tw_evlog_opts *o, int n, int every)
{
	struct tw_evlog *l;
	int i, err;

	err = tw_evlog_open(&l, dir, o);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		err = tw_evlog_append(l, json_pack("{s:s, s:i, s:s, s:s}", "ts",
						   "2026-11-23T13:00:00.000000000Z", "seq", 0,
						   "kind", i % 2 ? "connect" : "file", "pad",
						   "0123456789012345678901234567890123456789"));
		if (!err && (i + 1) % every == 0)
			err = tw_evlog_flush(l);
		if (err)
			break;
	}
	tw_evlog_close(l);
	return err;
}

static int verify(const char *dir, char *out, size_t len)
{
	FILE *f = fmemopen(out, len, "w");
	int err = tw_verify_log(dir, f, NULL);

	fclose(f);
	return err;
}

/* sed a line of the current log file in place. */
static void edit(const char *dir, const char *sed)
{
	fx_sh(NULL, 0, "sed -i '%s' %s/%s", sed, dir, TW_EVLOG_CURRENT);
}

TEST(unit_evlog_chain_and_tampering)
{
	const struct tw_evlog_opts o = {};
	char *dir = mkdir_tmp(), out[1024];

	if (!ASSERT_TRUE(dir != NULL, "tmp dir"))
		return;
	ASSERT_OK(write_records(dir, &o, 10, 3), "write 10 records");
	ASSERT_OK(write_records(dir, &o, 5, 1), "a restart continues the log");
	ASSERT_OK(verify(dir, out, sizeof(out)), "intact chain verifies");
	ASSERT_CONTAINS(out, "OK: 15 records in 1 file, seq 1..15", "summary");

	fx_sh(NULL, 0, "cp %s/%s %s/orig", dir, TW_EVLOG_CURRENT, dir);
	edit(dir, "4s/connect/file!/");
	ASSERT_EQ(verify(dir, out, sizeof(out)), -EBADMSG, "an edited record");
	/* Flushed every 3 records: a batch (batch.h) of seq 4..6, checked by the next one's prev. */
	ASSERT_CONTAINS(out, ":4..6 (seq 4..6): a record of it was changed", "names the edited record's batch");

	fx_sh(NULL, 0, "cp %s/orig %s/%s", dir, dir, TW_EVLOG_CURRENT);
	edit(dir, "6d");
	ASSERT_EQ(verify(dir, out, sizeof(out)), -EBADMSG, "a removed record");
	ASSERT_CONTAINS(out, "records between them were removed or reordered", "says removed");

	fx_sh(NULL, 0, "cp %s/orig %s/%s", dir, dir, TW_EVLOG_CURRENT);
	edit(dir, "7{h;d};8G");
	ASSERT_EQ(verify(dir, out, sizeof(out)), -EBADMSG, "two records swapped");

	fx_sh(NULL, 0, "cp %s/orig %s/%s", dir, dir, TW_EVLOG_CURRENT);
	edit(dir, "3p");
	ASSERT_EQ(verify(dir, out, sizeof(out)), -EBADMSG, "a duplicated (inserted) record");
	ASSERT_CONTAINS(out, "reordered or inserted", "says inserted");

	fx_sh(NULL, 0, "cp %s/orig %s/%s", dir, dir, TW_EVLOG_CURRENT);
	edit(dir, "$d");
	ASSERT_EQ(verify(dir, out, sizeof(out)), -EBADMSG, "the last record removed");
	ASSERT_CONTAINS(out, "removed from the end", "chain.head catches it");

	fx_sh(NULL, 0, "cp %s/orig %s/%s", dir, dir, TW_EVLOG_CURRENT);
	edit(dir, "$s/file/connect/");
	ASSERT_EQ(verify(dir, out, sizeof(out)), -EBADMSG, "the last record edited");
	ASSERT_CONTAINS(out, ":15: is the record chain.head names, but it was changed", "chain.head catches it");

	fx_sh(NULL, 0, "cp %s/orig %s/%s", dir, dir, TW_EVLOG_CURRENT);
	ASSERT_OK(verify(dir, out, sizeof(out)), "restored copy verifies again");

	/* A live log runs ahead of chain.head (records are written first): not tampering. */
	fx_sh(NULL, 0, "cp %s/%s %s/head.old", dir, TW_EVLOG_HEAD, dir);
	ASSERT_OK(write_records(dir, &o, 3, 3), "three more records");
	fx_sh(NULL, 0, "cp %s/head.old %s/%s", dir, dir, TW_EVLOG_HEAD);
	ASSERT_OK(verify(dir, out, sizeof(out)), "a log ahead of its head verifies");
	rm_tmp(dir);
}

/* The log saved as orig, with one sed edit applied: verify-log's answer into out. */
static int verify_edited(const char *dir, const char *sed, char *out, size_t len)
{
	fx_sh(NULL, 0, "cp %s/orig %s/%s", dir, dir, TW_EVLOG_CURRENT);
	if (sed[0])
		edit(dir, sed);
	return verify(dir, out, len);
}

/* Does line n (from 1) of the current file carry prev? -1 if there is no such line. */
static int line_has_prev(const char *dir, int n)
{
	char out[4096];

	if (fx_sh(out, sizeof(out), "sed -n '%dp' %s/%s", n, dir, TW_EVLOG_CURRENT) || !out[0])
		return -1;
	return strstr(out, "\"prev\":\"") != NULL;
}

/*
 * Batches (batch.h): prev only on the first record of each written block,
 * and every record still covered: a change, a removal or a merge of two
 * batches inside a batch is found, and a restart chains to the last batch.
 */
TEST(unit_evlog_batches_cover_every_record)
{
	const struct tw_evlog_opts o = {};
	char *dir = mkdir_tmp(), out[1024];

	if (!ASSERT_TRUE(dir != NULL, "tmp dir"))
		return;
	ASSERT_OK(write_records(dir, &o, 8, 4), "two batches of 4");
	ASSERT_OK(write_records(dir, &o, 3, 3), "a restart chains to the batch of seq 5..8");
	ASSERT_EQ(line_has_prev(dir, 1), 1, "a log's first record carries prev");
	ASSERT_EQ(line_has_prev(dir, 2), 0, "the next of its batch does not");
	ASSERT_EQ(line_has_prev(dir, 5), 1, "the next block starts a batch");
	ASSERT_EQ(line_has_prev(dir, 9), 1, "so does the first record after a restart");
	ASSERT_OK(verify(dir, out, sizeof(out)), "intact batches verify");
	ASSERT_CONTAINS(out, "OK: 11 records in 1 file, seq 1..11", "summary");

	fx_sh(NULL, 0, "cp %s/%s %s/orig", dir, TW_EVLOG_CURRENT, dir);
	ASSERT_EQ(verify_edited(dir, "6s/connect/file!/", out, sizeof(out)), -EBADMSG,
		  "a record inside a batch edited");
	ASSERT_CONTAINS(out, ":9: does not follow the batch before it", "found by the next batch's prev");
	ASSERT_CONTAINS(out, ":5..8 (seq 5..8): a record of it was changed", "names the batch");
	ASSERT_EQ(verify_edited(dir, "7d", out, sizeof(out)), -EBADMSG, "a record inside a batch removed");
	ASSERT_CONTAINS(out, "records between them were removed or reordered", "found by its seq");
	ASSERT_EQ(verify_edited(dir, "5s/,\"prev\":\"[0-9a-f]*\"//", out, sizeof(out)), -EBADMSG,
		  "two batches merged (a prev removed)");
	ASSERT_EQ(verify_edited(dir, "1s/,\"prev\":\"[0-9a-f]*\"//", out, sizeof(out)), -EBADMSG,
		  "a first record without prev");
	ASSERT_CONTAINS(out, "records before it were removed", "says so");
	ASSERT_OK(verify_edited(dir, "", out, sizeof(out)), "the saved copy verifies again");
	rm_tmp(dir);
}

static int count_line(void *arg, const char *line, size_t len, long lineno)
{
	(*(int *)arg)++;
	return 0;
}

TEST(unit_evlog_rotation_compression_retention)
{
	const struct tw_evlog_opts o = { .rotate_bytes = 4096, .keep_segments = 3 };
	char *dir = mkdir_tmp(), out[1024], zc[64];
	char **files, **f;
	int n = 0, segs = 0, gz = 0, lines = 0;

	if (!ASSERT_TRUE(dir != NULL, "tmp dir"))
		return;
	ASSERT_OK(write_records(dir, &o, 400, 10), "write with rotation every 4 KiB");
	files = tw_evlog_files(dir);
	for (f = files; f && *f; f++, n++) {
		segs += strstr(*f, "events.0") != NULL;
		gz += strstr(*f, ".gz") != NULL;
		tw_evlog_read(*f, count_line, &lines);
	}
	ASSERT_EQ(segs, 3, "retention kept 3 rotated segments");
	ASSERT_EQ(gz, 3, "all of them gzip-compressed");
	ASSERT_TRUE(lines > 0 && lines < 400, "older records were removed by retention");
	if (files && files[0]) {
		fx_sh(zc, sizeof(zc), "zcat %s | wc -l", files[0]);
		ASSERT_TRUE(atoi(zc) > 0, "a segment is readable with zcat");
	}
	tw_evlog_files_free(files);
	ASSERT_OK(verify(dir, out, sizeof(out)), "the chain runs across segments");
	ASSERT_CONTAINS(out, "older segments were removed", "and says where it starts");
	rm_tmp(dir);
}

TEST(unit_evlog_torn_tail_dropped)
{
	const struct tw_evlog_opts o = {};
	char *dir = mkdir_tmp(), out[1024];

	if (!ASSERT_TRUE(dir != NULL, "tmp dir"))
		return;
	write_records(dir, &o, 3, 1);
	fx_sh(NULL, 0, "printf '{\"ts\":\"2026' >> %s/%s", dir, TW_EVLOG_CURRENT);
	ASSERT_OK(write_records(dir, &o, 2, 1), "reopen after a torn write");
	ASSERT_OK(verify(dir, out, sizeof(out)), "the torn record was dropped, the chain goes on");
	ASSERT_CONTAINS(out, "OK: 5 records", "five records");
	rm_tmp(dir);
}

TEST(unit_filters_and_times)
{
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "ts", "2026-11-23T13:00:05.5Z",
			       "kind", "connect", "verdict", "deny", "tier", "staging",
			       "cgroup", "/agents/staging/job-1", "pid", 42);
	struct tw_filter f = {};
	uint64_t ns, now;
	long s;

	ASSERT_OK(tw_parse_duration("90s", &s), "90s");
	ASSERT_EQ(s, 90, "90s");
	ASSERT_OK(tw_parse_duration("2h", &s), "2h");
	ASSERT_EQ(s, 7200, "2h");
	ASSERT_OK(tw_parse_duration("7d", &s), "7d");
	ASSERT_EQ(tw_parse_duration("7w", &s), -EINVAL, "unknown unit");
	ASSERT_EQ(tw_parse_duration("-1s", &s), -EINVAL, "negative");
	ASSERT_OK(tw_parse_time("2026-11-23T13:00:05.5Z", &ns), "RFC 3339 with fraction");
	ASSERT_EQ(ns % 1000000000ull, 500000000, "fraction");
	ASSERT_EQ(tw_parse_time("2026-11-23 13:00:05", &ns), -EINVAL, "not RFC 3339");

	ASSERT_TRUE(tw_filter_match(&f, ev), "no filter matches");
	f.cgroup = "/agents";
	ASSERT_TRUE(tw_filter_match(&f, ev), "cgroup subtree");
	f.cgroup = "/agents/stag";
	ASSERT_TRUE(!tw_filter_match(&f, ev), "a name prefix is not a subtree");
	f.cgroup = "/agents/staging/job-1";
	ASSERT_TRUE(tw_filter_match(&f, ev), "the cgroup itself");
	f = (struct tw_filter){ .tier = "staging", .kind = "connect", .verdict = "deny", .pid = 42 };
	ASSERT_TRUE(tw_filter_match(&f, ev), "all fields");
	f.pid = 43;
	ASSERT_TRUE(!tw_filter_match(&f, ev), "other pid");
	f = (struct tw_filter){ .kind = "file" };
	ASSERT_TRUE(!tw_filter_match(&f, ev), "other kind");
	tw_parse_time("2026-11-23T13:00:05Z", &now);
	ASSERT_OK(tw_filter_time("5s", now + 5000000000ull, &f.since_ns), "since 5s ago");
	f.kind = NULL;
	ASSERT_TRUE(tw_filter_match(&f, ev), "inside --since");
	ASSERT_OK(tw_filter_time("2026-11-23T13:00:05Z", 0, &f.until_ns), "until a time");
	ASSERT_TRUE(!tw_filter_match(&f, ev), "after --until");
	json_decref(ev);
}

TEST(unit_evlog_rotation_by_age_and_retention_by_bytes)
{
	const struct tw_evlog_opts age = { .rotate_secs = 1 };
	const struct tw_evlog_opts bytes = { .rotate_bytes = 2048, .keep_bytes = 3000 };
	char *dir = mkdir_tmp(), out[1024];
	char **files, **f;
	uint64_t total = 0;
	struct stat st;
	int n = 0;

	if (!ASSERT_TRUE(dir != NULL, "tmp dir"))
		return;
	ASSERT_OK(write_records(dir, &age, 3, 3), "a first batch");
	usleep(1100 * 1000);
	ASSERT_OK(write_records(dir, &age, 3, 3), "a batch after the segment aged");
	/* The writer rotates when a flush finds the segment too old. */
	files = tw_evlog_files(dir);
	for (f = files; f && *f; f++)
		n++;
	tw_evlog_files_free(files);
	ASSERT_EQ(n, 2, "rotated by age: one segment and the current file");
	ASSERT_OK(verify(dir, out, sizeof(out)), "chain intact across the age rotation");
	rm_tmp(dir);

	dir = mkdir_tmp();
	ASSERT_OK(write_records(dir, &bytes, 300, 5), "write with a byte budget");
	files = tw_evlog_files(dir);
	for (f = files; f && *f; f++)
		if (strstr(*f, ".gz") && !stat(*f, &st))
			total += st.st_size;
	tw_evlog_files_free(files);
	ASSERT_TRUE(total > 0 && total <= 3000, "rotated segments kept within --keep-mb's budget");
	rm_tmp(dir);
}

/* Disk full: the backlog is bounded, the excess is refused and counted, writing resumes. */
TEST(unit_evlog_disk_full_is_bounded_and_counted)
{
	struct tw_evlog_opts o = { .max_queue = 8192 };
	char *dir = mkdir_tmp(), out[1024];
	struct tw_evlog *l = NULL;
	int i, refused = 0, flush_err = 0;

	if (geteuid()) {
		tw_test_skip("needs root to mount a tiny tmpfs");
		rm_tmp(dir);
		return;
	}
	if (!ASSERT_TRUE(dir != NULL, "tmp dir") ||
	    !ASSERT_OK(fx_sh(NULL, 0, "mount -t tmpfs -o size=16k tmpfs %s", dir), "tiny tmpfs"))
		goto out;
	if (!ASSERT_OK(tw_evlog_open(&l, dir, &o), "open"))
		goto out_umount;
	for (i = 0; i < 400; i++) {
		int err = tw_evlog_append(l, json_pack("{s:s, s:i}", "kind", "connect", "n", i));

		refused += err == -ENOBUFS;
		flush_err |= tw_evlog_flush(l) != 0;
	}
	ASSERT_TRUE(flush_err, "writes failed once the filesystem was full");
	ASSERT_TRUE(refused > 0, "records beyond the backlog were refused");
	ASSERT_EQ(tw_evlog_refused(l), refused, "and counted");
	ASSERT_TRUE(tw_evlog_pending(l) <= 8192, "the backlog stayed within its bound");
	/* Space again: the backlog goes out and the chain is intact. */
	fx_sh(NULL, 0, "mount -o remount,size=1m %s", dir);
	ASSERT_OK(tw_evlog_flush(l), "flush after space returned");
	ASSERT_EQ(tw_evlog_pending(l), 0, "backlog written");
	tw_evlog_close(l);
	l = NULL;
	ASSERT_OK(verify(dir, out, sizeof(out)), "no gap in the chain: refused records never got a seq");
out_umount:
	tw_evlog_close(l);
	fx_sh(NULL, 0, "umount %s", dir);
out:
	rm_tmp(dir);
}

/* A rotation at the last flush leaves events.jsonl empty: a reopen continues from the segments. */
TEST(unit_evlog_reopen_after_rotation_continues)
{
	const struct tw_evlog_opts o = { .rotate_bytes = 1 };	/* every flush rotates */
	char *dir = mkdir_tmp(), out[1024], path[256];
	struct stat st;

	if (!ASSERT_TRUE(dir != NULL, "tmp dir"))
		return;
	ASSERT_OK(write_records(dir, &o, 4, 1), "four records, a rotation after each");
	snprintf(path, sizeof(path), "%s/%s", dir, TW_EVLOG_CURRENT);
	ASSERT_OK(stat(path, &st), "events.jsonl exists");
	ASSERT_EQ(st.st_size, 0, "and is empty after the last rotation");
	ASSERT_OK(write_records(dir, &o, 2, 1), "reopened: two more");
	ASSERT_OK(verify(dir, out, sizeof(out)), "the log verifies");
	ASSERT_CONTAINS(out, "seq 1..6", "seq continued across the reopen");
	rm_tmp(dir);
}
