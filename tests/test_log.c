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
	const char *addr_fmt;
};

/* n connects to other tiers' addresses (a spread of targets); fails unless every one is EPERM. */
static int op_flood(void *arg)
{
	const struct flood *fl = arg;
	char addr[32];
	int i, err;

	for (i = 0; i < fl->n; i++) {
		snprintf(addr, sizeof(addr), fl->addr_fmt, i % 64);
		err = tw_net(TW_OP_TCP_CONNECT, addr, PORT);
		if (err != -EPERM)
			return err ? err : -EINVAL;
	}
	return 0;
}

/* `make test`'s bounded flood: decisions = logged + folded + lost, at the drain's seq. */
TEST(log_drain_accounts_for_a_bounded_flood)
{
	struct flood fl = { .n = 20000, .addr_fmt = "127.20.0.%d" };
	struct acct a = {};
	struct fx f;
	json_t *r = NULL;
	int l = -1;

	if (!log_start(&f, NULL))
		goto out;
	l = fx_listen_tcp("127.20.0.1", PORT);
	if (!ASSERT_TRUE(l >= 0, "listener for the control"))
		goto out;
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_TCP_CONNECT, "127.20.0.1", PORT, NULL), 0,
		  "control: an untagged process reaches the prod address");
	ASSERT_TRUE(fx_accepted(l), "and is accepted");
	ASSERT_OK(fx_do(&f, "agents/staging", op_flood, &fl, &a.pid), "20,000 connects, every one EPERM");
	r = drain(&f);
	if (!ASSERT_TRUE(r != NULL, "the drain request answers"))
		goto out;
	a.upto = json_integer_value(json_object_get(r, "seq"));
	ASSERT_EQ(json_integer_value(json_object_get(r, "denied")), fl.n, "the kernel counted every denial");
	ASSERT_OK(tw_evlog_scan(f.log_dir, add_record, &a), "read the log");
	ASSERT_EQ(a.max_seq, (long)a.upto, "the log holds every record up to the drain's seq");
	printf("    %d decisions = %ld logged + %ld folded + %ld lost\n", fl.n, a.records,
	       a.decisions - a.records, a.lost);
	ASSERT_EQ(a.decisions + a.lost, fl.n, "decisions = logged + folded + lost");
	ASSERT_TRUE(a.records < fl.n, "flood control folded repeats");
out:
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

TEST(log_events_during_rotation_and_compression_every_seq_once)
{
	const char *const opts[] = { "--rotate-mb", "1", "--keep", "0", "--flood-window", "0", NULL };
	struct flood fl = { .n = 30000, .addr_fmt = "127.20.1.%d" };
	long dups = 0, gaps = 0, reads = 0, seen;
	char out[256];
	struct fx f;
	json_t *r = NULL;
	pid_t kid = -1;
	int st, i;

	if (!log_start(&f, opts))
		goto out;
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
	if (waitpid(kid, &st, WNOHANG) == 0)
		waitpid(kid, &st, 0);
	kid = -1;
	ASSERT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st), "the flood: every connect EPERM");
	r = drain(&f);
	if (!ASSERT_TRUE(r != NULL, "drain"))
		goto out;
	seen = events_seqs(&f, &dups, &gaps);
	printf("    %ld reads during the flood; after the drain, seq 1..%ld\n", reads, seen);
	ASSERT_TRUE(reads >= 3, "several reads ran during the flood");
	ASSERT_EQ(dups, 0, "no record read twice");
	ASSERT_EQ(gaps, 0, "no record missed");
	ASSERT_TRUE(seen >= json_integer_value(json_object_get(r, "seq")), "every record up to the drain's seq");
	ASSERT_TRUE(seen >= fl.n, "one record per decision");
	/* Segments, gzipped or still waiting for the compressor. */
	fx_sh(out, sizeof(out), "ls %s | grep -c 'events\\.[0-9]*\\.jsonl'", f.log_dir);
	printf("    %d segments\n", atoi(out));
	/* 30,000 records make 4 to 6 MiB, as the cgroup paths in them are long or short. */
	ASSERT_TRUE(atoi(out) >= 3, "rotated several times");
out:
	json_decref(r);
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
	struct flood fl = { .n = 6000, .addr_fmt = "127.20.3.%d" };
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
	ASSERT_EQ(rc, 3, "a record removed from a gzip segment fails");
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
