// SPDX-License-Identifier: GPL-2.0
/*
 * The audit log end to end, with the real daemon: hostile cgroup names
 * still give verifiable records; the drain request accounts for every
 * decision of a bounded flood; readers see every seq exactly once while
 * rotation and compression run; a sealed log verifies across rotations,
 * restarts and downtime.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cgroup.h"
#include "ctl.h"
#include "evlog.h"
#include "fixture.h"
#include "net.h"
#include "test.h"
#include "util.h"

#define QUOTES_LEVELS	16
#define PORT		fx_port(9)

static const char *const log_cgroups[] = { "agents/staging", "untagged", NULL };

static bool log_init(struct fx *f)
{
	char mnt[PATH_MAX];

	memset(f, 0, sizeof(*f));
	if (geteuid() || tw_cgroup2_mount(mnt, sizeof(mnt))) {
		tw_test_skip("needs root and a cgroup2 mount");
		return false;
	}
	if (!ASSERT_OK(fx_init(f, log_cgroups), "fixture"))
		return false;
	return !fx_write_policy(f,
		"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ],\n"
		"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"]} ] }\n");
}

static bool log_run(struct fx *f, const char *const *opts)
{
	char out[4096] = "";
	int err = fx_start(f, opts);

	if (err) {
		fx_sh(out, sizeof(out), "cat %s", f->daemon_out);
		TW_FAILED("tierwalld did not start (%d): %s", err, out);
		return false;
	}
	return true;
}

static bool log_start(struct fx *f, const char *const *opts)
{
	return log_init(f) && log_run(f, opts);
}

/* The drain request: everything decided so far is in the log. */
static json_t *drain(struct fx *f)
{
	json_t *req = json_pack("{s:s}", "cmd", "drain"), *r = NULL;
	int err = tw_ctl_call(f->sock, req, &r, 10000);

	json_decref(req);
	if (err || !json_is_true(json_object_get(r, "ok"))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

struct acct {
	pid_t pid;
	uint64_t upto;
	long records, decisions, lost, seals, max_seq;
};

static int add_record(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct acct *a = arg;
	json_t *o = line ? json_loadb(line, len, 0, NULL) : NULL;
	const char *kind = json_string_value(json_object_get(o, "kind"));
	long seq = json_integer_value(json_object_get(o, "seq"));

	if (!o || (uint64_t)seq > a->upto) {
		json_decref(o);
		return 0;
	}
	if (seq > a->max_seq)
		a->max_seq = seq;
	if (!strcmp(kind ?: "", "connect") && json_integer_value(json_object_get(o, "pid")) == a->pid) {
		a->records++;
		a->decisions += json_integer_value(json_object_get(o, "count"));
	} else if (!strcmp(kind ?: "", "lost")) {
		a->lost += json_integer_value(json_object_get(o, "count"));
	}
	json_decref(o);
	return 0;
}

struct flood {
	int n;
	int targets;		/* distinct addresses, 127.20.x.y from first on */
	int first;
	int repeat;		/* connects in a row to each (0: 1) */
};

/* n connects to other tiers' addresses (a spread of targets); fails unless every one is EPERM. */
static int op_flood(void *arg)
{
	const struct flood *fl = arg;
	char addr[32];
	int i, err;

	for (i = 0; i < fl->n; i++) {
		int t = fl->first + i / (fl->repeat ?: 1) % fl->targets;

		snprintf(addr, sizeof(addr), "127.20.%d.%d", t / 250, 1 + t % 250);
		err = tw_net(TW_OP_TCP_CONNECT, addr, PORT);
		if (err != -EPERM)
			return err ? err : -EINVAL;
	}
	return 0;
}

/*
 * In a staging child: each of n targets once, in two halves with a drain
 * between (the parent's), then twice more: every repeat folds into a window
 * of an hour. One process: flood control folds per process.
 */
static int paced_flood(int n, int go, int done)
{
	struct flood half = { .n = n / 2, .targets = n / 2 };
	struct flood again = { .n = 2 * n, .targets = n, .repeat = 2 };
	char c = 0;
	int err;

	err = op_flood(&half);
	if (!err && write(done, "a", 1) == 1 && read(go, &c, 1) == 1) {
		half.first = n / 2;
		err = op_flood(&half);
	}
	if (!err && write(done, "b", 1) == 1 && read(go, &c, 1) == 1)
		err = op_flood(&again);
	return err;
}

/*
 * `make test`'s bounded flood: decisions = logged + folded + lost, at the
 * drain's seq, with losses. 14,000 targets' first records fit a 1 MiB ring
 * (about 9,300 records) in halves; their 28,000 repeats fold, and the
 * drain's flush of their windows overflows it: lost inside the drain
 * request, which must count them before it answers.
 */
TEST(log_drain_accounts_for_a_bounded_flood)
{
	const char *const opts[] = { "--ringbuf-mb", "1", "--flood-window", "3600000", NULL };
	const int targets = 14000, n = 3 * targets;
	int go[2] = { -1, -1 }, done[2] = { -1, -1 }, l = -1, st = -1, i;
	pid_t kid = -1;
	struct acct a = {};
	struct fx f;
	json_t *r = NULL;
	char c;

	if (!log_start(&f, opts))
		goto out;
	l = fx_listen_tcp("127.20.0.1", PORT);
	if (!ASSERT_TRUE(l >= 0, "listener for the control"))
		goto out;
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_TCP_CONNECT, "127.20.0.1", PORT, NULL), 0,
		  "control: an untagged process reaches the prod address");
	ASSERT_TRUE(fx_accepted(l), "and is accepted");
	if (!ASSERT_OK(pipe(go) || pipe(done) ? -errno : 0, "pipes"))
		goto out;
	fflush(stdout);
	kid = fork();
	if (!kid) {
		char cg[PATH_MAX * 2];

		snprintf(cg, sizeof(cg), "%s/agents/staging", f.root);
		_exit(tw_join_cgroup(cg) || paced_flood(targets, go[0], done[1]) ? 1 : 0);
	}
	if (!ASSERT_TRUE(kid > 0, "fork"))
		goto out;
	a.pid = kid;
	for (i = 0; i < 2; i++) {
		if (!ASSERT_EQ(read(done[0], &c, 1), 1, "the child flooded half the targets"))
			goto out;
		r = drain(&f);
		ASSERT_TRUE(r != NULL, "a drain answers");
		json_decref(r);
		ASSERT_EQ(write(go[1], "g", 1), 1, "go on");
	}
	waitpid(kid, &st, 0);
	kid = -1;
	ASSERT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st), "42,000 connects, every one EPERM");
	r = drain(&f);
	if (!ASSERT_TRUE(r != NULL, "the drain request answers"))
		goto out;
	a.upto = json_integer_value(json_object_get(r, "seq"));
	ASSERT_EQ(json_integer_value(json_object_get(r, "denied")), n, "the kernel counted every denial");
	ASSERT_OK(tw_evlog_scan(f.log_dir, add_record, &a), "read the log");
	ASSERT_EQ(a.max_seq, (long)a.upto, "the log holds every record up to the drain's seq");
	printf("    %d decisions = %ld logged + %ld folded + %ld lost\n", n, a.records,
	       a.decisions - a.records, a.lost);
	ASSERT_EQ(a.decisions + a.lost, n, "decisions = logged + folded + lost");
	ASSERT_EQ(a.lost, json_integer_value(json_object_get(r, "ringbuf_drops")),
		  "every drop the kernel counted is in a lost record before the drain's seq");
	ASSERT_TRUE(a.lost > 0, "the full ring lost some");
	ASSERT_TRUE(a.records < a.decisions, "flood control folded repeats");
out:
	if (kid > 0) {
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
	}
	for (i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (done[i] >= 0)
			close(done[i]);
	}
	if (l >= 0)
		close(l);
	json_decref(r);
	fx_cleanup(&f);
}

/* Every seq from 1 on, each once, in `tierwall events` output; the highest seen. */
static long events_seqs(struct fx *f, long *dups, long *gaps)
{
	char cmd[PATH_MAX * 2], *line = NULL;
	size_t cap = 0;
	long last = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s/tierwall events --json --log-dir %s", tw_build_dir, f->log_dir);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	while (getline(&line, &cap, p) > 0) {
		long seq = strncmp(line, "{\"seq\":", 7) ? 0 : atol(line + 7);

		if (seq <= last)
			(*dups)++;
		else if (seq != last + 1)
			(*gaps)++;
		if (seq > last)
			last = seq;
	}
	free(line);
	pclose(p);
	return last;
}

/* Rotated segments so far, gzipped or still waiting for the compressor. */
static int segments(struct fx *f)
{
	char out[64];

	fx_sh(out, sizeof(out), "ls %s | grep -c 'events\\.[0-9]*\\.jsonl'", f->log_dir);
	return atoi(out);
}

/*
 * Batches of 5,000 denials, each read while it runs and once after it,
 * until the daemon has rotated (and gzipped) at least three segments: as
 * many batches as that takes, whatever the machine's load (at most 20).
 */
TEST(log_events_during_rotation_and_compression_every_seq_once)
{
	const char *const opts[] = { "--rotate-mb", "1", "--keep", "0", "--flood-window", "0", NULL };
	struct flood fl = { .n = 5000, .targets = 64, .first = 250 };
	long dups = 0, gaps = 0, reads = 0, seen = 0, upto = 0;
	int st, i, batch = 0, segs = 0;
	struct fx f;
	json_t *r;
	pid_t kid;

	if (!log_start(&f, opts))
		goto out;
	for (batch = 0; batch < 20 && (batch < 3 || segs < 3); batch++) {
		fflush(stdout);
		kid = fork();
		if (!kid) {
			char cg[PATH_MAX * 2];

			snprintf(cg, sizeof(cg), "%s/agents/staging", f.root);
			_exit(tw_join_cgroup(cg) || op_flood(&fl) ? 1 : 0);
		}
		/* Readers while the daemon rotates every MiB and gzips behind them; bounded. */
		for (i = 0; i < 600 && waitpid(kid, &st, WNOHANG) == 0; i++, reads++)
			events_seqs(&f, &dups, &gaps);
		if (i == 600)
			waitpid(kid, &st, 0);
		if (!ASSERT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st), "the flood: every connect EPERM"))
			goto out;
		events_seqs(&f, &dups, &gaps);
		reads++;
		r = drain(&f);
		if (!ASSERT_TRUE(r != NULL, "drain"))
			goto out;
		upto = json_integer_value(json_object_get(r, "seq"));
		json_decref(r);
		segs = segments(&f);
	}
	seen = events_seqs(&f, &dups, &gaps);
	printf("    %d batches, %ld reads, %d segments; after the last drain, seq 1..%ld\n", batch, reads,
	       segs, seen);
	ASSERT_EQ(dups, 0, "no record read twice");
	ASSERT_EQ(gaps, 0, "no record missed");
	ASSERT_TRUE(seen >= upto, "every record up to the drain's seq");
	ASSERT_TRUE(seen >= (long)batch * fl.n, "one record per decision");
	ASSERT_TRUE(segs >= 3, "rotated several times");
out:
	fx_cleanup(&f);
}

/* Names a process in a delegated subtree may choose: quote-heavy, very deep, not UTF-8. */
TEST(log_hostile_cgroup_names_give_verifiable_records)
{
	const char *const names[] = { "\xed\xa0\x80", "x\xff", NULL };
	char quotes[QUOTES_LEVELS * 251 + 64], out[65536];
	const char *rels[3];
	pid_t pids[3];
	struct fx f;
	int i, n = 0, rc;

	if (!log_start(&f, NULL))
		goto out;
	/* 16 levels of 250 '"' below the staging tier: escaped, past the old 8 KiB record buffer. */
	snprintf(quotes, sizeof(quotes), "agents/staging");
	for (i = 0; i < QUOTES_LEVELS; i++) {
		size_t at = strlen(quotes);

		quotes[at] = '/';
		memset(quotes + at + 1, '"', 250);
		quotes[at + 251] = '\0';
	}
	rels[n++] = quotes;
	for (i = 0; names[i]; i++) {
		static char rel[2][64];

		snprintf(rel[i], sizeof(rel[i]), "agents/staging/%s", names[i]);
		rels[n++] = rel[i];
	}
	for (i = 0; i < n; i++) {
		if (!ASSERT_OK(fx_mkcg(&f, rels[i]), "the hostile cgroup exists"))
			goto out;
		ASSERT_EQ(fx_net(&f, rels[i], TW_OP_TCP_CONNECT, "127.20.2.1", PORT, &pids[i]), EPERM,
			  "a process in it is denied");
		json_decref(fx_event(&f, pids[i], PORT));
	}
	ASSERT_TRUE(drain(&f) != NULL, "drain");
	for (i = 0; i < n; i++) {
		rc = fx_sh(out, sizeof(out), "%s/tierwall events --json --kind connect --pid %d --log-dir %s | "
			   "grep -c '\"cgroup_id\":'", tw_build_dir, pids[i], f.log_dir);
		ASSERT_EQ(atoi(out), 1, "tierwall events --json shows the denial");
	}
	fx_sh(out, sizeof(out), "%s/tierwall events --json --pid %d --log-dir %s | grep -c '%s'",
	      tw_build_dir, pids[0], f.log_dir, "\\\\\"\\\\\"\\\\\"\\\\\"");
	ASSERT_EQ(atoi(out), 1, "the quotes are all there, escaped");
	for (i = 1; i < n; i++) {
		fx_sh(out, sizeof(out), "%s/tierwall events --json --pid %d --log-dir %s | "
		      "grep '\\\\ufffd' | grep -c '\"cgroup_raw\":\"'", tw_build_dir, pids[i], f.log_dir);
		ASSERT_EQ(atoi(out), 1, "U+FFFD for bytes that are not UTF-8, and the exact bytes in cgroup_raw");
	}
	rc = fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir);
	ASSERT_EQ(rc, 0, "verify-log accepts the log");
	ASSERT_CONTAINS(out, "chain intact", "intact");
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock);
	ASSERT_CONTAINS(out, "\"bad_records\": 0", "no record was dropped as bad");
out:
	fx_cleanup(&f);
}

/* Sealed: rotation, a stop, downtime across several epochs, a restart; then verify. */
TEST(log_sealed_across_rotation_restart_and_downtime)
{
	char key[PATH_MAX + 16], vkey[PATH_MAX + 16], out[8192];
	const char *const opts[] = { "--seal-key", key, "--seal-epoch", "1s", "--rotate-mb", "1",
				     "--flood-window", "0", NULL };
	struct flood fl = { .n = 6000, .targets = 64, .first = 750 };
	struct fx f;
	pid_t pid;
	int rc;

	if (!log_init(&f))
		goto out;
	snprintf(key, sizeof(key), "%s/seal.key", f.tmp);
	snprintf(vkey, sizeof(vkey), "%s/verify.key", f.tmp);
	rc = fx_sh(out, sizeof(out), "%s/tierwall keygen --seal-key %s --verify-key %s", tw_build_dir, key, vkey);
	if (!ASSERT_EQ(rc, 0, "tierwall keygen"))
		goto out;
	ASSERT_CONTAINS(out, "tierwall-verify-key v1 id=", "the verification key is printed");
	if (!log_run(&f, opts))
		goto out;
	ASSERT_OK(fx_do(&f, "agents/staging", op_flood, &fl, NULL), "6,000 denied connects");
	ASSERT_TRUE(drain(&f) != NULL, "drain");
	fx_stop(&f);
	usleep(2500 * 1000);	/* down for more than two epoch lengths */
	if (!log_run(&f, opts))
		goto out;
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.3.1", PORT, &pid), EPERM,
		  "denied after the restart");
	json_decref(fx_event(&f, pid, PORT));
	fx_stop(&f);
	fx_sh(out, sizeof(out), "ls %s | grep -c 'events\\.[0-9]*\\.jsonl\\.gz'", f.log_dir);
	/* How many depends on how the daemon batched its writes (a busy machine: fewer). */
	ASSERT_TRUE(atoi(out) >= 1, "rotated into gzip segments");
	rc = fx_sh(out, sizeof(out), "%s/tierwall verify-log --verify-key %s %s", tw_build_dir, vkey, f.log_dir);
	printf("%s", out);
	ASSERT_EQ(rc, 0, "the sealed log verifies with the operator's key");
	ASSERT_CONTAINS(out, "SEALED: epochs 0..", "from the first epoch");
	fx_sh(out, sizeof(out), "cat %s", key);
	ASSERT_TRUE(!strstr(out, "epoch 00000000000000000000"), "the node's key has moved on");
	/* One record removed from a gzip segment: named, even without the key. */
	rc = fx_sh(out, sizeof(out), "(cd %s && f=$(ls events.*.jsonl.gz | head -1) && zcat $f | sed 5d | gzip > t.gz && "
		   "mv t.gz $f) && %s/tierwall verify-log --verify-key %s %s", f.log_dir, tw_build_dir, vkey, f.log_dir);
	ASSERT_EQ(rc, 3, "a record removed from a gzip segment fails: exit 3");
	ASSERT_CONTAINS(out, "TAMPERED", "named");
out:
	fx_cleanup(&f);
}

/* kill -9 right after a rotation left events.jsonl empty: the restart continues seq and chain. */
TEST(log_restart_after_rotation_continues_seq)
{
	const char *const opts[] = { "--rotate-age", "1s", "--flood-window", "0", NULL };
	char out[4096], path[PATH_MAX + 32];
	json_t *r = NULL;
	struct stat st;
	long before;
	pid_t pid;
	int rc, i;

	struct fx f;

	if (!log_start(&f, opts))
		goto out;
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.4.1", PORT, NULL), EPERM, "a denial");
	usleep(1200 * 1000);	/* the segment is now older than --rotate-age */
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.4.2", PORT, NULL), EPERM,
		  "a denial whose flush rotates");
	r = drain(&f);
	if (!ASSERT_TRUE(r != NULL, "drain"))
		goto out;
	before = json_integer_value(json_object_get(r, "seq"));
	snprintf(path, sizeof(path), "%s/%s", f.log_dir, TW_EVLOG_CURRENT);
	/* Rotated by age at the next tick; bounded wait. */
	for (i = 0; i < 50 && !(stat(path, &st) == 0 && st.st_size == 0); i++)
		usleep(100 * 1000);
	ASSERT_EQ(st.st_size, 0, "rotated: events.jsonl is empty");
	kill(f.daemon, SIGKILL);
	fx_stop(&f);
	/* No --rotate-age now: the record read back stays in events.jsonl, however slow the machine. */
	if (!log_run(&f, opts + 2))
		goto out;
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.4.3", PORT, &pid), EPERM,
		  "a denial after the restart");
	json_decref(r);
	r = fx_event(&f, pid, PORT);
	ASSERT_TRUE(r && json_integer_value(json_object_get(r, "seq")) > before,
		    "seq continues after the restart, not from 1");
	rc = fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir);
	ASSERT_EQ(rc, 0, "the chain verifies across the rotation and the restart");
out:
	json_decref(r);
	fx_cleanup(&f);
}
