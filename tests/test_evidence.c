// SPDX-License-Identifier: GPL-2.0
/*
 * Evidence is never silently empty: a log file the reader cannot read is an
 * error naming it, and a log removed or cut under its chain.head is a
 * finding, before and after the daemon restarts on it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "evlog.h"
#include "fixture.h"
#include "schema.h"
#include "test.h"

struct ev_dir {
	char dir[64];		/* the log, 0755 so other users reach its files */
	char bin[64];		/* a copy of the CLI that uid 65534 may run */
};

static bool ev_init(struct ev_dir *e)
{
	snprintf(e->dir, sizeof(e->dir), "/tmp/tw-evidence-XXXXXX");
	if (!mkdtemp(e->dir)) {
		e->dir[0] = e->bin[0] = '\0';
		return false;
	}
	snprintf(e->bin, sizeof(e->bin), "%s-bin", e->dir);
	return !fx_sh(NULL, 0, "chmod 755 %s && mkdir -m 755 %s && cp %s/tierwall %s/ && chmod 755 %s/tierwall",
		      e->dir, e->bin, tw_build_dir, e->bin, e->bin);
}

static void ev_cleanup(struct ev_dir *e)
{
	if (e->dir[0])
		fx_sh(NULL, 0, "rm -rf %s %s", e->dir, e->bin);
}

/* n records through the daemon's own writer: one daemon run. */
static int ev_write(struct ev_dir *e, int n)
{
	const struct tw_evlog_opts o = { .host = "evidence-test" };
	struct tw_evlog *l;
	int i, err;

	err = tw_evlog_open(&l, e->dir, &o);
	for (i = 0; !err && i < n; i++)
		err = tw_evlog_append(l, json_pack("{s:i, s:s, s:s, s:s, s:s, s:i}", "v", 1, "ts",
						   "2026-12-07T17:00:00.000000000Z", "host", "evidence-test",
						   "kind", "daemon", "event", "start", "pid", 1));
	if (!err) {
		err = tw_evlog_flush(l);
		tw_evlog_close(l);
	}
	return err;
}

/* `tierwall ARGS` as uid 65534 (uid 0 if root), stdout and stderr in out; its exit status. */
static int ev_cli(struct ev_dir *e, bool root, char *out, size_t len, const char *args)
{
	return fx_sh(out, len, "%s%s/tierwall --socket %s/no.sock %s 2>&1",
		     root ? "" : "setpriv --reuid 65534 --regid 65534 --clear-groups ", e->bin, e->dir,
		     args);
}

TEST(log_unreadable_files_are_errors_not_an_empty_log)
{
	char out[8192], args[256];
	struct ev_dir e;

	if (!ASSERT_TRUE(ev_init(&e), "a log dir and the CLI in /tmp"))
		goto out;
	if (!ASSERT_OK(ev_write(&e, 10), "10 records, files 0640 root:root"))
		goto out;
	snprintf(args, sizeof(args), "events --log-dir %s", e.dir);
	ASSERT_EQ(ev_cli(&e, false, out, sizeof(out), args), 1, "events: unreadable events.jsonl fails");
	ASSERT_CONTAINS(out, "events.jsonl: Permission denied", "naming the file");
	snprintf(args, sizeof(args), "verify-log %s", e.dir);
	ASSERT_EQ(ev_cli(&e, false, out, sizeof(out), args), 1, "verify-log: unreadable events.jsonl fails");
	ASSERT_CONTAINS(out, "events.jsonl: cannot read: Permission denied", "naming the file");
	ASSERT_TRUE(!strstr(out, "OK:"), "never \"OK: 0 records\"");

	fx_sh(NULL, 0, "chmod 644 %s/%s", e.dir, TW_EVLOG_CURRENT);
	ASSERT_EQ(ev_cli(&e, false, out, sizeof(out), args), 1, "verify-log: unreadable chain.head fails");
	ASSERT_CONTAINS(out, "chain.head: cannot read: Permission denied", "naming it");

	fx_sh(NULL, 0, "chmod 644 %s/%s", e.dir, TW_EVLOG_HEAD);
	ASSERT_EQ(ev_cli(&e, false, out, sizeof(out), args), 0, "control: all readable, verify-log passes");
	ASSERT_CONTAINS(out, "OK: 10 records", "and counts them");

	fx_sh(NULL, 0, "chmod 711 %s", e.dir);
	ASSERT_EQ(ev_cli(&e, false, out, sizeof(out), args), 1, "verify-log: an unlistable log dir fails");
	ASSERT_CONTAINS(out, "cannot read: Permission denied", "saying why");
	snprintf(args, sizeof(args), "events --log-dir %s", e.dir);
	ASSERT_EQ(ev_cli(&e, false, out, sizeof(out), args), 1, "events: an unlistable log dir fails");
	ASSERT_CONTAINS(out, "permission denied", "saying why");

	/* A gzip segment cut short: an error naming it, not a record that ends early. */
	fx_sh(NULL, 0, "cd %s && chmod 755 . && mv %s events.00000001.jsonl && gzip events.00000001.jsonl && "
	      "truncate -s $(( $(stat -c %%s events.00000001.jsonl.gz) / 2 )) events.00000001.jsonl.gz",
	      e.dir, TW_EVLOG_CURRENT);
	snprintf(args, sizeof(args), "verify-log %s", e.dir);
	ASSERT_EQ(ev_cli(&e, true, out, sizeof(out), args), 1, "verify-log: a cut .gz fails");
	ASSERT_CONTAINS(out, "events.00000001.jsonl.gz: cannot read: Input/output error", "naming it");
	snprintf(args, sizeof(args), "events --log-dir %s", e.dir);
	ASSERT_EQ(ev_cli(&e, true, out, sizeof(out), args), 1, "events: a cut .gz fails");
	ASSERT_CONTAINS(out, "events.00000001.jsonl.gz: Input/output error", "naming it");
out:
	ev_cleanup(&e);
}

/* The first record of events.jsonl, parsed. */
static json_t *first_record(struct ev_dir *e)
{
	char out[4096];

	fx_sh(out, sizeof(out), "head -1 %s/%s", e->dir, TW_EVLOG_CURRENT);
	return json_loads(out, 0, NULL);
}

TEST(log_removed_under_its_head_is_a_finding_before_and_after_restart)
{
	char out[8192], args[256], path[128];
	struct ev_dir e;
	json_t *r = NULL;

	if (!ASSERT_TRUE(ev_init(&e), "a log dir and the CLI in /tmp"))
		goto out;
	snprintf(args, sizeof(args), "verify-log %s", e.dir);
	ASSERT_OK(ev_write(&e, 10), "a first run: 10 records");
	ASSERT_OK(ev_write(&e, 5), "control: a restart on an intact log");
	ASSERT_EQ(ev_cli(&e, true, out, sizeof(out), args), 0, "control: it verifies");
	ASSERT_CONTAINS(out, "OK: 15 records", "one chain, no reset");

	fx_sh(NULL, 0, "rm %s/%s", e.dir, TW_EVLOG_CURRENT);
	ASSERT_EQ(ev_cli(&e, true, out, sizeof(out), args), 3, "a head with no records is a finding");
	ASSERT_CONTAINS(out, "names seq 15 but there are no records", "saying so");

	ASSERT_OK(ev_write(&e, 3), "a restart on the removed log");
	r = first_record(&e);
	ASSERT_STREQ(json_string_value(json_object_get(r, "kind")) ?: "", "chain_reset",
		     "the restart's first record is a chain_reset");
	ASSERT_EQ(json_integer_value(json_object_get(r, "head_seq")), 15, "naming the head it found");
	ASSERT_EQ(json_integer_value(json_object_get(r, "seq")), 16, "seq goes on after it");
	ASSERT_CONTAINS(json_string_value(json_object_get(r, "reason")) ?: "", "no records", "and why");
	snprintf(path, sizeof(path), "%s/%s", e.dir, TW_EVLOG_CURRENT);
	ASSERT_EQ(schema_check_log("policies/event.schema.json", path), 4, "the schema lists it");
	ASSERT_EQ(ev_cli(&e, true, out, sizeof(out), args), 3, "a reset is a finding");
	ASSERT_CONTAINS(out, "tierwalld reset the chain here", "named where");
	json_decref(r);
	r = NULL;

	/* The last records cut off while stopped: the restart says so too. */
	fx_sh(NULL, 0, "rm %s/*", e.dir);
	ASSERT_OK(ev_write(&e, 10), "a new log: 10 records");
	fx_sh(NULL, 0, "sed -i '8,$d' %s/%s", e.dir, TW_EVLOG_CURRENT);
	ASSERT_OK(ev_write(&e, 2), "a restart on the cut log");
	ASSERT_EQ(ev_cli(&e, true, out, sizeof(out), args), 3, "the cut is a finding after the restart");
	ASSERT_CONTAINS(out, "ends before it", "saying why");
	ASSERT_CONTAINS(out, ":8: tierwalld reset the chain here", "where the cut was");
out:
	json_decref(r);
	ev_cleanup(&e);
}
