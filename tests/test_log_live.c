// SPDX-License-Identifier: GPL-2.0
/*
 * The log of a real tierwalld under load: queries and verify-log after a
 * crash, followers (one stalled), metrics over HTTP, flood control's counts,
 * "log": "all", rotation with no gap and kill -9 mid-flood, every decision
 * accounted for. Host traffic goes only to 127.0.0.0/8.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cgroup.h"
#include "ctl.h"
#include "evlog.h"
#include "fixture.h"
#include "follow.h"
#include "std.h"
#include "net.h"
#include "test.h"

TEST(log_query_verify_and_crash)
{
	char out[16384], cli[PATH_MAX * 2], cg[PATH_MAX];
	struct fx f;
	pid_t p1, p2;
	int i, rc;

	if (!std_start(&f))
		goto out;
	snprintf(cli, sizeof(cli), "%s/tierwall --socket %s", tw_build_dir, f.sock);
	for (i = 0; i < 3; i++)
		fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, &p1);
	fx_net(&f, "agents/dev", TW_OP_UDP_SENDTO, "127.20.0.1", P_ANY, &p2);
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 3) + fx_wait_events(&f, "sendmsg", 0, 1), 4,
		  "four decisions logged");

	fx_sh(out, sizeof(out), "%s events --tier staging --kind connect | wc -l", cli);
	ASSERT_EQ(atoi(out), 3, "--tier --kind");
	fx_sh(out, sizeof(out), "%s events --verdict audit | wc -l", cli);
	ASSERT_EQ(atoi(out), 1, "--verdict");
	fx_cg_display(&f, "agents", cg, sizeof(cg));
	fx_sh(out, sizeof(out), "%s events --cgroup %s | wc -l", cli, cg);
	ASSERT_EQ(atoi(out), 4, "--cgroup takes the subtree");
	fx_sh(out, sizeof(out), "%s events --pid %d | wc -l", cli, p1);
	ASSERT_EQ(atoi(out), 1, "--pid");
	fx_sh(out, sizeof(out), "%s events --since 1h --kind connect | wc -l", cli);
	ASSERT_EQ(atoi(out), 3, "--since");
	fx_sh(out, sizeof(out), "%s events --until 2000-01-01T00:00:00Z | wc -l", cli);
	ASSERT_EQ(atoi(out), 0, "--until");
	rc = fx_sh(out, sizeof(out), "%s events --since yesterday", cli);
	ASSERT_EQ(rc, 2, "a bad --since is a usage error");
	ASSERT_CONTAINS(out, "neither a duration", "and says what it takes");

	rc = fx_sh(out, sizeof(out), "%s verify-log %s", cli, f.log_dir);
	ASSERT_EQ(rc, 0, "verify-log on the daemon's log");
	ASSERT_CONTAINS(out, "chain intact", "intact");

	/* A crash, a restart: the chain and the sequence go on. */
	kill(f.daemon, SIGKILL);
	waitpid(f.daemon, NULL, 0);
	f.daemon = 0;
	if (!ASSERT_OK(fx_start(&f, NULL), "restart after kill -9"))
		goto out;
	fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, &p1);
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 4), 4, "logged after the restart");
	rc = fx_sh(out, sizeof(out), "%s verify-log %s", cli, f.log_dir);
	ASSERT_EQ(rc, 0, "the chain survives kill -9 and restart");

	/* The first denial, wherever the daemon's own records put it (GNU sed's 0,/re/). */
	fx_sh(NULL, 0, "sed -i '0,/\"deny\"/s//\"allow\"/' %s/events.jsonl", f.log_dir);
	rc = fx_sh(out, sizeof(out), "%s verify-log %s", cli, f.log_dir);
	ASSERT_EQ(rc, 3, "an edited denial is caught: exit 3");
	ASSERT_CONTAINS(out, "TAMPERED", "and reported");
out:
	fx_cleanup(&f);
}

/*
 * Any reader may follow, a tiered process too: followers past the bound are
 * refused, so they cannot take the daemon's descriptors (its accept loop, its
 * cgroup names in records) or memory; the socket still answers.
 */
TEST(log_live_followers_bounded)
{
	int fds[TW_MAX_FOLLOWERS + 1], i, n = 0;
	json_t *reply = NULL;
	struct fx f;

	if (!std_start(&f))
		goto out;
	for (i = 0; i < TW_MAX_FOLLOWERS; i++) {
		fds[n] = tw_ctl_open(f.sock, json_pack("{s:s}", "cmd", "follow"), &reply, 2000);
		if (fds[n] >= 0)
			n++;
		json_decref(reply);
		reply = NULL;
	}
	ASSERT_EQ(n, TW_MAX_FOLLOWERS, "followers up to the bound are accepted");
	fds[n] = tw_ctl_open(f.sock, json_pack("{s:s}", "cmd", "follow"), &reply, 2000);
	ASSERT_TRUE(fds[n] < 0 || !json_is_true(json_object_get(reply, "ok")), "one more is refused");
	ASSERT_CONTAINS(json_string_value(json_object_get(reply, "error")) ?: "", "too many",
			"and told why");
	if (fds[n] >= 0)
		close(fds[n]);
	json_decref(reply);
	reply = NULL;
	ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s}", "cmd", "status"), &reply, 2000),
		  "status still answers");
	ASSERT_TRUE(json_is_true(json_object_get(reply, "ok")), "status ok");
	json_decref(reply);
	reply = NULL;
	close(fds[--n]);
	for (i = 0; i < 50; i++) {
		fds[n] = tw_ctl_open(f.sock, json_pack("{s:s}", "cmd", "follow"), &reply, 2000);
		if (json_is_true(json_object_get(reply, "ok")))
			break;
		if (fds[n] >= 0)
			close(fds[n]);
		fds[n] = -1;
		json_decref(reply);
		reply = NULL;
		usleep(20 * 1000);	/* until the daemon has seen the close */
	}
	ASSERT_TRUE(fds[n] >= 0, "a place freed is taken again");
	n += fds[n] >= 0;
out:
	json_decref(reply);
	while (n > 0)
		close(fds[--n]);
	fx_cleanup(&f);
}

/* A steady storm: 20 ms of pause per 1,000 connects leaves the reading follower CPU. */
static int op_connect_flood(void *arg)
{
	int i, n = *(int *)arg;

	for (i = 0; i < n; i++) {
		tw_net(TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY);
		if (i % 100 == 99)
			usleep(2000);
	}
	return 0;
}

static int count_lines(const char *path, const char *needle)
{
	char out[64];

	fx_sh(out, sizeof(out), "grep -c '%s' %s", needle, path);
	return atoi(out);
}

TEST(log_live_followers_one_stalled)
{
	char a_out[PATH_MAX + 16], out[4096], cmd[PATH_MAX * 3], policy[4096];
	/* One record per decision (no flood folding), 4 MiB per follower. */
	const char *const small_queue[] = { "--follow-queue-mb", "4", "--flood-window", "0", NULL };
	int flood = 20000, burst = 2000, logged = 0, got = 0, i, b, stalled = -1, small = 4096;
	json_t *reply = NULL;
	struct fx f;
	pid_t a = 0;

	if (!can_run() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture"))
		return;
	std_policy(policy, sizeof(policy));
	fx_write_policy(&f, policy);
	/* 4 MiB per follower: the 20,000-event flood (~10 MiB) overflows a stalled one. */
	if (!ASSERT_OK(fx_start(&f, small_queue), "tierwalld starts"))
		goto out;
	/* Follower A reads everything; follower B subscribes and never reads. */
	snprintf(a_out, sizeof(a_out), "%s/a.out", f.tmp);
	snprintf(cmd, sizeof(cmd), "exec %s/tierwall --socket %s events -f --kind connect > %s 2>&1",
		 tw_build_dir, f.sock, a_out);
	a = fork();
	if (!a) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	stalled = tw_ctl_open(f.sock, json_pack("{s:s}", "cmd", "follow"), &reply, 2000);
	if (!ASSERT_TRUE(stalled >= 0, "stalled follower subscribed"))
		goto out;
	setsockopt(stalled, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (i = 0; i < 100 && !strstr(out, "\"followers\":2"); i++) {
		fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json | tr -d ' \\n'",
		      tw_build_dir, f.sock);
		usleep(50 * 1000);
	}
	ASSERT_CONTAINS(out, "\"followers\":2", "two followers connected");

	/*
	 * In bursts of 2,000 (~1 MiB): a reader that keeps up gets every line
	 * however busy the machine is; the stalled one overflows all the same.
	 */
	for (b = 0; b < flood / burst; b++) {
		fx_do(&f, "agents/staging", op_connect_flood, &burst, NULL);
		for (i = 0; i < 200; i++) {
			char log[PATH_MAX + 16];

			snprintf(log, sizeof(log), "%s/events.jsonl", f.log_dir);
			logged = count_lines(log, "\"kind\":\"connect\"");
			got = count_lines(a_out, "\"kind\":\"connect\"");
			if (logged >= (b + 1) * burst && got >= logged)
				break;
			usleep(50 * 1000);
		}
	}
	ASSERT_EQ(logged, flood, "every denial of the flood is in the log");
	ASSERT_EQ(got, logged, "the reading follower got every one, live");
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json | tr -d ' \\n'", tw_build_dir,
	      f.sock);
	ASSERT_CONTAINS(out, "\"ringbuf_drops\":0", "no ring buffer loss");
	ASSERT_TRUE(!strstr(out, "\"follow_dropped\":0"), "the stalled follower's losses are counted");

	/* B wakes up: it gets what fit, then a notice of how much it lost. */
	{
		char *line = NULL;
		bool told = false;
		long lost = 0;

		for (i = 0; i < 100000 && !told; i++) {
			if (tw_ctl_read_line(stalled, &line, 2000))
				break;
			if (strstr(line, "\"follow_dropped\"")) {
				json_t *o = json_loads(line, 0, NULL);

				lost = json_integer_value(json_object_get(o, "count"));
				json_decref(o);
				told = true;
			}
			free(line);
		}
		ASSERT_TRUE(told, "the stalled follower is told it lost lines");
		ASSERT_TRUE(lost > 0, "with the number lost");
	}
out:
	if (stalled >= 0)
		close(stalled);
	json_decref(reply);
	if (a > 0) {
		kill(a, SIGTERM);
		waitpid(a, NULL, 0);
	}
	fx_cleanup(&f);
}

TEST(log_metrics_endpoint)
{
	char out[65536], policy[4096], addr[64], line[256];
	const char *extra[] = { "--metrics", addr, NULL };
	struct fx f;

	if (!can_run() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture"))
		return;
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", fx_port(5));
	std_policy(policy, sizeof(policy));
	fx_write_policy(&f, policy);
	if (!ASSERT_OK(fx_start(&f, extra), "tierwalld starts with --metrics"))
		goto out;
	fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL);
	fx_net(&f, "agents/dev", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL);
	fx_wait_events(&f, "connect", 0, 2);
	if (!ASSERT_OK(fx_http_get(fx_port(5), "/metrics", out, sizeof(out)), "scrape over HTTP"))
		goto out;
	ASSERT_CONTAINS(out, " 200 OK", "200 OK");
	ASSERT_CONTAINS(out, "text/plain; version=0.0.4", "Prometheus text format");
	ASSERT_CONTAINS(out, "tierwall_events_total{kind=\"connect\",verdict=\"deny\",tier=\"staging\"} 1\n",
			"the denial, by kind, verdict and tier");
	ASSERT_CONTAINS(out, "tierwall_events_total{kind=\"connect\",verdict=\"audit\",tier=\"dev\"} 1\n",
			"the audit");
	ASSERT_CONTAINS(out, "tierwall_kernel_decisions_total{verdict=\"deny\"} 1\n", "kernel counter");
	ASSERT_CONTAINS(out, "tierwall_ringbuf_drops_total 0\n", "drops");
	ASSERT_CONTAINS(out, "tierwall_ringbuf_fill_bytes ", "ring buffer fill");
	ASSERT_CONTAINS(out, "tierwall_program_attached{hook=\"cgroup/connect4\"} 1\n", "attach status");
	ASSERT_CONTAINS(out, "tierwall_degraded 0\n", "not degraded");
	snprintf(line, sizeof(line), "tierwall_policy_info{digest=\"%s", "sha256:");
	ASSERT_CONTAINS(out, line, "policy digest");
	ASSERT_CONTAINS(out, "tierwall_policy_load_timestamp_seconds ", "load time");
	ASSERT_OK(fx_http_get(fx_port(5), "/other", out, sizeof(out)), "second request");
	ASSERT_CONTAINS(out, " 404 Not Found", "other paths are 404");
out:
	fx_cleanup(&f);
}

static int op_same_target(void *arg)
{
	int i, n = *(int *)arg;

	for (i = 0; i < n; i++)
		if (tw_net(TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY) != -EPERM)
			return -1;
	tw_net(TW_OP_TCP_CONNECT, "127.20.0.2", P_ANY);	/* another target: its own record */
	return 0;
}

struct sum {
	pid_t pid;
	long records, decisions, aggregated, other_target;
};

static int sum_counts(void *arg, const char *line, size_t len, long lineno)
{
	struct sum *s = arg;
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *ip = json_string_value(json_object_get(json_object_get(o, "dst"), "ip"));

	if (json_integer_value(json_object_get(o, "pid")) == s->pid && ip) {
		if (!strcmp(ip, "127.20.0.2")) {
			s->other_target++;
		} else {
			s->records++;
			s->decisions += json_integer_value(json_object_get(o, "count"));
			s->aggregated += json_is_true(json_object_get(o, "aggregated"));
		}
	}
	json_decref(o);
	return 0;
}

TEST(log_flood_control_accounts_for_every_decision)
{
	char out[8192], log[PATH_MAX + 16];
	int n = 3000, i;
	struct sum s = {};
	struct fx f;
	json_t *st;

	if (!std_start(&f))
		goto out;
	ASSERT_OK(fx_do(&f, "agents/staging", op_same_target, &n, &s.pid), "3,000 denied connects");
	/* Let one window end and be flushed while running, then stop: the rest is flushed too. */
	usleep(1600 * 1000);
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock);
	st = json_loads(out, 0, NULL);
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(st, "counters"), "denied")),
		  n + 1, "the kernel counted every denial");
	json_decref(st);
	fx_stop(&f);
	snprintf(log, sizeof(log), "%s/events.jsonl", f.log_dir);
	tw_evlog_read(log, sum_counts, &s);
	ASSERT_EQ(s.decisions, n, "the counts add up to every decision, nothing silent");
	ASSERT_TRUE(s.records < n / 10, "a few records instead of one per decision");
	ASSERT_TRUE(s.aggregated >= 1, "repeats were folded into aggregated records");
	ASSERT_EQ(s.other_target, 1, "another target is not folded into this one");
	i = fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir);
	ASSERT_EQ(i, 0, "and the chain is intact");
out:
	fx_cleanup(&f);
}

TEST(log_all_records_own_tier_use)
{
	char policy[4096], fixed[4096], *at;
	struct fx f;
	pid_t p1, p2;
	json_t *e;
	int l;

	if (!can_run() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture"))
		return;
	std_policy(policy, sizeof(policy));
	at = strstr(policy, "\"staging\": {}");
	if (!ASSERT_TRUE(at != NULL, "policy has a staging tier"))
		goto out;
	snprintf(fixed, sizeof(fixed), "%.*s\"staging\": {\"log\": \"all\"}%s", (int)(at - policy),
		 policy, at + strlen("\"staging\": {}"));
	fx_write_policy(&f, fixed);
	if (!ASSERT_OK(fx_start(&f, NULL), "tierwalld starts"))
		goto out;
	l = fx_listen_tcp("127.30.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.30.0.1", P_ANY, &p1), 0,
		  "staging uses its own destination");
	ASSERT_TRUE(fx_accepted(l), "accepted");
	e = fx_event(&f, p1, P_ANY);
	if (ASSERT_TRUE(e != NULL, "the allowed use is on the record")) {
		ASSERT_STREQ(json_string_value(json_object_get(e, "verdict")), "allow", "verdict allow");
		ASSERT_STREQ(json_string_value(json_object_get(e, "target_tier")), "staging", "own tier");
		ASSERT_STREQ(json_string_value(json_object_get(e, "rule")), "destinations[4].cidrs[0]", "rule");
	}
	json_decref(e);
	ASSERT_EQ(fx_net(&f, "services/prod", TW_OP_TCP_CONNECT, "127.20.0.2", P_ANY, &p2), ECONNREFUSED,
		  "prod uses its own destination (nothing listens): prod does not log all");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.0.0.1", P_ANY, NULL),
		  ECONNREFUSED, "staging to a destination no tier owns (nothing listens)");
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 3), 1,
		  "only the own-tier use by the tier that logs all is recorded");
	close(l);
out:
	fx_cleanup(&f);
}

TEST(log_rotation_under_load_has_no_gap)
{
	const char *const opts[] = { "--rotate-mb", "1", "--keep", "0", "--flood-window", "0", NULL };
	char out[8192], policy[4096];
	int flood = 20000, rc, i;
	struct fx f;

	if (!can_run() || !ASSERT_OK(fx_init(&f, std_cgroups), "fixture"))
		return;
	std_policy(policy, sizeof(policy));
	fx_write_policy(&f, policy);
	if (!ASSERT_OK(fx_start(&f, opts), "tierwalld starts, rotating every MiB"))
		goto out;
	fx_do(&f, "agents/staging", op_connect_flood, &flood, NULL);
	for (i = 0; i < 100; i++) {
		fx_sh(out, sizeof(out), "%s/tierwall events --log-dir %s --kind connect | wc -l",
		      tw_build_dir, f.log_dir);
		if (atoi(out) >= flood)
			break;
		usleep(100 * 1000);
	}
	ASSERT_EQ(atoi(out), flood, "every record readable across the segments");
	fx_stop(&f);
	/*
	 * The daemon rotates after writing what it drained: on a busy machine it
	 * drains rarely and in large batches, so a segment may hold several MiB
	 * and the count varies; at least two rotations are what this needs.
	 */
	fx_sh(out, sizeof(out), "ls %s | grep -c 'events\\.[0-9]*\\.jsonl\\.gz'", f.log_dir);
	printf("    %d compressed segments\n", atoi(out));
	ASSERT_TRUE(atoi(out) >= 2, "rotated into several compressed segments");
	rc = fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir);
	ASSERT_EQ(rc, 0, "the chain and the seq run unbroken across every rotation");
	ASSERT_CONTAINS(out, "chain intact", "intact");
out:
	fx_cleanup(&f);
}

struct total {
	pid_t pid;
	long decisions, lost;
	bool takeover;
};

static int add_counts(void *arg, const char *line, size_t len, long lineno)
{
	struct total *t = arg;
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *ev = json_string_value(json_object_get(o, "event"));

	if (kind && !strcmp(kind, "connect") && json_integer_value(json_object_get(o, "pid")) == t->pid)
		t->decisions += json_integer_value(json_object_get(o, "count"));
	else if (kind && !strcmp(kind, "lost"))
		t->lost += json_integer_value(json_object_get(o, "count"));
	else if (ev && !strcmp(ev, "takeover"))
		t->takeover = true;
	json_decref(o);
	return 0;
}

TEST(log_kill9_during_flood_loses_nothing)
{
	char out[4096];
	int n = 30000, i, st;
	struct total t = {};
	struct fx f;
	char **files, **fl;

	if (!std_start(&f))
		goto out;
	t.pid = fork();
	if (!t.pid) {
		char cg[PATH_MAX * 2];

		snprintf(cg, sizeof(cg), "%s/agents/staging", f.root);
		if (tw_join_cgroup(cg))
			_exit(1);
		_exit(op_connect_flood(&n) ? 1 : 0);
	}
	usleep(300 * 1000);
	kill(f.daemon, SIGKILL);	/* mid-flood */
	waitpid(f.daemon, NULL, 0);
	f.daemon = 0;
	ASSERT_OK(fx_start(&f, NULL), "restart takes over the pins");
	waitpid(t.pid, &st, 0);
	ASSERT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st), "every connect of the flood was refused");
	fx_stop(&f);
	files = tw_evlog_files(f.log_dir);
	for (fl = files; fl && *fl; fl++)
		tw_evlog_read(*fl, add_counts, &t);
	tw_evlog_files_free(files);
	printf("    %d decisions: %ld in records, %ld counted lost\n", n, t.decisions, t.lost);
	ASSERT_TRUE(t.takeover, "the new daemon reported what the old one left");
	/* The new programs take the old links over in place: one judge per connect, always. */
	ASSERT_EQ(t.decisions + t.lost, n, "every decision is a record, in a count, or counted lost, once");
	i = fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir);
	ASSERT_EQ(i, 0, "the chain survives kill -9 mid-flood");
out:
	fx_cleanup(&f);
}

