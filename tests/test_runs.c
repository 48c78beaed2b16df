// SPDX-License-Identifier: GPL-2.0
/*
 * `tierwall run` on the host: the real daemon and CLI, commands that
 * connect to real listeners on loopback from the run's cgroup, the summary
 * checked against the log and the kernel's counters; who may run what; the
 * run's cgroup and whatever the command left behind removed; signals passed
 * on. Secret files need BPF LSM: those runs are in test_lsm_runs.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cgroup.h"
#include "fixture.h"
#include "runhelp.h"
#include "schema.h"
#include "std.h"
#include "test.h"
#include "util.h"

static void log_matches_schema(struct fx *f)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/events.jsonl", f->log_dir);
	ASSERT_TRUE(schema_check_log("policies/event.schema.json", path) > 0,
		    "records checked against policies/event.schema.json");
}

/* A file holding a prod address, so the command line itself names none (attestation). */
static const char *prod_addr_file(struct fx *f, const char *addr)
{
	static char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%s/addr", f->tmp);
	write_text_file(path, addr);
	return path;
}

TEST(run_tiered_caller_refused_other_tier_and_audit)
{
	char out[8192], marker[PATH_MAX + 32];
	struct fx f;

	if (!std_start(&f))
		goto out;
	snprintf(marker, sizeof(marker), "%s/ran", f.tmp);
	ASSERT_EQ(run_cli(&f, "agents/staging", out, sizeof(out), "run --tier prod -- touch %s", marker),
		  1, "a staging process is refused a prod run");
	ASSERT_CONTAINS(out, "refused", "and told why");
	ASSERT_TRUE(access(marker, F_OK), "the command never ran");
	ASSERT_EQ(run_cli(&f, "agents/staging", out, sizeof(out), "run --tier staging --audit -- touch %s",
			  marker), 1, "and an audit run of its own tier");
	ASSERT_CONTAINS(out, "audit mode", "told why");
	ASSERT_TRUE(access(marker, F_OK), "the command never ran");
	ASSERT_EQ(count_records(&f, "tamper"), 2, "each refusal is a tamper record");
	ASSERT_EQ(run_cli(&f, "agents/staging", out, sizeof(out), "run --tier staging -- touch %s",
			  marker), 0, "its own tier, enforced, it may run");
	ASSERT_OK(access(marker, F_OK), "and the command ran");
	ASSERT_CONTAINS(out, "no out-of-tier attempt", "and end its own run with a summary");
	ASSERT_TRUE(!strstr(out, "INCOMPLETE"), "a complete one");
	ASSERT_EQ(count_records(&f, "tamper"), 2, "ending its own run is no tamper attempt");
	unlink(marker);
	ASSERT_EQ(run_cli(&f, NULL, out, sizeof(out), "run --tier prod --audit -- touch %s", marker), 0,
		  "an untiered caller may run any tier, in audit mode too");
	ASSERT_OK(access(marker, F_OK), "and the command ran");
	log_matches_schema(&f);
out:
	fx_cleanup(&f);
}

static void check_row(json_t *s, const char *verdict, const char *target, const char *rule,
		      long long count)
{
	json_t *r = run_row(s, 0);

	ASSERT_EQ(json_array_size(json_object_get(s, "targets")), 1, "one target");
	ASSERT_STREQ(json_string_value(json_object_get(r, "kind")), "connect", "kind");
	ASSERT_STREQ(json_string_value(json_object_get(r, "verdict")), verdict, "verdict");
	ASSERT_STREQ(json_string_value(json_object_get(r, "target_tier")), "prod", "target tier");
	ASSERT_STREQ(json_string_value(json_object_get(r, "target")), target, "target");
	ASSERT_STREQ(json_string_value(json_object_get(r, "rule")), rule, "rule");
	ASSERT_EQ(json_integer_value(json_object_get(r, "count")), count, "count");
}

/* Gone, or a zombie its new parent has not reaped yet. */
static bool dead(int pid)
{
	char state = fx_proc_state(pid);

	return !state || state == 'Z';
}

TEST(run_enforce_and_audit_against_a_listener)
{
	char out[8192], target[64], pidfile[PATH_MAX + 32], cg[PATH_MAX * 2], *pid = NULL;
	int lfd = -1, sfd = -1, port = P_ANY;
	const char *addr;
	json_t *s = NULL;
	struct fx f;

	if (!std_start(&f))
		goto out;
	lfd = fx_listen_tcp("127.20.0.9", port);
	sfd = fx_listen_tcp("127.30.0.9", port);
	if (!ASSERT_TRUE(lfd >= 0 && sfd >= 0, "prod and staging listeners"))
		goto out;
	addr = prod_addr_file(&f, "127.20.0.9");
	snprintf(target, sizeof(target), "127.20.0.9:%d/tcp", port);

	ASSERT_EQ(run_cli(&f, NULL, out, sizeof(out), "run --json --tier staging -- sh -c '%s/tw_probe "
			  "tcp-connect $(cat %s) %d'", tw_build_dir, addr, port), 1,
		  "enforce: the command's own status (tw_probe: 1 = EPERM)");
	ASSERT_TRUE(fx_nothing_arrived(lfd), "nothing reached the prod listener");
	s = run_summary(out);
	if (!ASSERT_TRUE(s != NULL, "a JSON summary"))
		goto out;
	ASSERT_STREQ(json_string_value(json_object_get(s, "exit_from")), "command", "exit from");
	ASSERT_EQ(json_integer_value(json_object_get(s, "attempts")), 1, "one attempt");
	check_row(s, "deny", target, "destinations[0].cidrs[0]", 1);
	ASSERT_TRUE(json_is_null(json_object_get(s, "incomplete")), "fully accounted for");
	json_decref(s);

	ASSERT_EQ(run_cli(&f, NULL, out, sizeof(out), "run --json --audit --tier staging -- sh -c "
			  "'%s/tw_probe tcp-connect $(cat %s) %d'", tw_build_dir, addr, port), 3,
		  "audit: exit 3 when an attempt was seen");
	ASSERT_TRUE(fx_accepted(lfd), "the connection went through");
	s = run_summary(out);
	if (!ASSERT_TRUE(s != NULL, "a JSON summary"))
		goto out;
	ASSERT_STREQ(json_string_value(json_object_get(s, "exit_from")), "tierwall", "exit from");
	ASSERT_EQ(json_integer_value(json_object_get(s, "command_status")), 0, "the command's status");
	check_row(s, "audit", target, "destinations[0].cidrs[0]", 1);
	json_decref(s);

	addr = prod_addr_file(&f, "127.30.0.9");
	ASSERT_EQ(run_cli(&f, NULL, out, sizeof(out), "run --json --audit --tier staging -- sh -c "
			  "'%s/tw_probe tcp-connect $(cat %s) %d'", tw_build_dir, addr, port), 0,
		  "audit, own tier only: the command's status");
	ASSERT_TRUE(fx_accepted(sfd), "the staging listener was reached");
	s = run_summary(out);
	ASSERT_EQ(json_integer_value(json_object_get(s, "attempts")), 0, "no attempt");
	json_decref(s);

	/* What the command leaves behind goes with the run's cgroup. */
	snprintf(pidfile, sizeof(pidfile), "%s/pid", f.tmp);
	ASSERT_EQ(run_cli(&f, NULL, out, sizeof(out), "run --json --tier staging -- sh -c "
			  "'sleep 60 & echo $! > %s; exit 7'", pidfile), 7, "the command's exit code");
	s = run_summary(out);
	/* Its cgroup as the policy names it: below the daemon's root. */
	snprintf(cg, sizeof(cg), "%s%s", f.root, json_string_value(json_object_get(s, "cgroup")) ?: "/x");
	ASSERT_TRUE(json_string_value(json_object_get(s, "cgroup")) && !strncmp(cg + strlen(f.root),
		    "/tierwall-runs/run-", 19) && access(cg, F_OK), "the run's cgroup is gone");
	if (ASSERT_OK(tw_read_file(pidfile, &pid, NULL), "the background pid"))
		ASSERT_TRUE(dead(atoi(pid)), "what it left running was killed");
	ASSERT_TRUE(wait_record(&f, "daemon", "event", "run_end") != NULL, "run_end on the record");
	/* A caller in its own pid namespace (a container) names its child by its pid there. */
	if (!access("/usr/bin/unshare", X_OK))
		ASSERT_EQ(fx_sh(out, sizeof(out), "exec unshare --pid --fork %s/tierwall --socket %s run "
				"--tier staging -- sh -c 'exit 9'", tw_build_dir, f.sock), 9,
			  "a caller in another pid namespace");
	log_matches_schema(&f);
out:
	free(pid);
	json_decref(s);
	if (lfd >= 0)
		close(lfd);
	if (sfd >= 0)
		close(sfd);
	fx_cleanup(&f);
}

/* Sum of "count" over the records of one cgroup tree, and how many records. */
static long long log_count(struct fx *f, const char *cg, int *records, bool *folded)
{
	char path[PATH_MAX + 32], *text = NULL, *line, *save = NULL;
	long long sum = 0;

	*records = 0;
	*folded = false;
	snprintf(path, sizeof(path), "%s/events.jsonl", f->log_dir);
	if (tw_read_file(path, &text, NULL))
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *c = json_string_value(json_object_get(o, "cgroup"));

		if (c && json_object_get(o, "verdict") && !strncmp(c, cg, strlen(cg))) {
			sum += json_integer_value(json_object_get(o, "count"));
			(*records)++;
			*folded |= json_is_true(json_object_get(o, "aggregated"));
		}
		json_decref(o);
	}
	free(text);
	return sum;
}

TEST(run_summary_counts_equal_the_kernels)
{
	char out[8192], cg[PATH_MAX];
	json_t *s = NULL, *d0 = NULL, *d1 = NULL;
	int records, port = P_ANY;
	bool folded;
	struct fx f;

	if (!std_start(&f))
		goto out;
	d0 = drain(&f);
	if (!ASSERT_TRUE(d0 != NULL, "drain before"))
		goto out;
	/* One process, 300 refusals on one target: flood control folds most of them. */
	ASSERT_EQ(run_cli(&f, NULL, out, sizeof(out), "run --json --tier staging -- sh -c '%s/tw_probe "
			  "--repeat 300 tcp-connect $(cat %s) %d'", tw_build_dir,
			  prod_addr_file(&f, "127.20.0.7"), port), 1, "every connect refused");
	s = run_summary(out);
	d1 = drain(&f);
	if (!ASSERT_TRUE(s && d1, "summary and drain after"))
		goto out;
	ASSERT_EQ(json_integer_value(json_object_get(s, "attempts")), 300, "the summary counts all 300");
	ASSERT_EQ(json_integer_value(json_object_get(run_row(s, 0), "count")), 300, "on one target");
	ASSERT_EQ(json_integer_value(json_object_get(d1, "denied")) -
		  json_integer_value(json_object_get(d0, "denied")), 300, "as the kernel counted them");
	/* The run's cgroup as the policy names it; the log's records name it from the mount. */
	fx_cg_display(&f, (json_string_value(json_object_get(s, "cgroup")) ?: "/none") + 1, cg, sizeof(cg));
	ASSERT_EQ(log_count(&f, cg, &records, &folded), 300, "and as the log has them");
	ASSERT_TRUE(folded && records < 300, "repeats were folded into aggregated records");
out:
	json_decref(s);
	json_decref(d0);
	json_decref(d1);
	fx_cleanup(&f);
}

TEST(run_passes_signals_and_exit_status)
{
	char ready[PATH_MAX + 32], bin[PATH_MAX], sock[PATH_MAX], script[PATH_MAX * 2];
	int st = -1;
	struct fx f;
	pid_t p;

	if (!std_start(&f))
		goto out;
	snprintf(ready, sizeof(ready), "%s/ready", f.tmp);
	snprintf(bin, sizeof(bin), "%s/tierwall", tw_build_dir);
	snprintf(sock, sizeof(sock), "%s", f.sock);
	snprintf(script, sizeof(script), "trap 'exit 42' TERM; touch %s; while :; do sleep 0.05; done",
		 ready);
	fflush(stdout);
	p = fork();
	if (!p) {
		execl(bin, bin, "--socket", sock, "run", "--tier", "staging", "--", "sh", "-c", script,
		      (char *)NULL);
		_exit(127);
	}
	FX_UNTIL(!access(ready, F_OK), 60000);
	ASSERT_OK(access(ready, F_OK), "the command started");
	kill(p, SIGTERM);
	if (!FX_UNTIL(waitpid(p, &st, WNOHANG) == p, 60000)) {
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
		/* The daemon ends a run whose requester is gone: nothing is left behind. */
		json_decref(wait_record(&f, "daemon", "event", "run_end"));
	}
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 42,
		    "SIGTERM reached the command, whose status is tierwall run's");
out:
	fx_cleanup(&f);
}

/* `tierwall run` in the background, its command waiting for a file to appear. */
static pid_t run_waiting(struct fx *f, const char *args, const char *go, const char *then)
{
	char bin[PATH_MAX], script[PATH_MAX * 3];
	pid_t p;

	snprintf(bin, sizeof(bin), "%s/tierwall", tw_build_dir);
	snprintf(script, sizeof(script), "while [ ! -e %s ]; do sleep 0.05; done; %s", go, then);
	fflush(stdout);
	p = fork();
	if (!p) {
		char *argv[16] = { bin, "--socket", f->sock, "run" };
		int n = 4;
		char *a = strdup(args), *tok, *save = NULL;

		for (tok = strtok_r(a, " ", &save); tok && n < 12; tok = strtok_r(NULL, " ", &save))
			argv[n++] = tok;
		argv[n++] = "--";
		argv[n++] = "sh";
		argv[n++] = "-c";
		argv[n++] = script;
		argv[n] = NULL;
		execv(bin, argv);
		_exit(127);
	}
	return p;
}

static int wait_exit(struct fx *f, pid_t p)
{
	int st = -1;

	if (!FX_UNTIL(waitpid(p, &st, WNOHANG) == p, 60000)) {
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
		json_decref(wait_record(f, "daemon", "event", "run_end"));	/* the daemon cleans up */
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(run_abandoned_by_its_requester_is_removed)
{
	char go[PATH_MAX + 32], cg[PATH_MAX * 2], mnt[PATH_MAX];
	json_t *start = NULL, *end = NULL;
	struct fx f;
	pid_t p;

	if (!std_start(&f))
		goto out;
	snprintf(go, sizeof(go), "%s/go", f.tmp);
	p = run_waiting(&f, "--tier staging", go, "true");
	start = wait_record(&f, "daemon", "event", "run_start");
	if (!ASSERT_TRUE(start != NULL, "the run started"))
		goto out;
	tw_cgroup2_mount(mnt, sizeof(mnt));
	snprintf(cg, sizeof(cg), "%s%s", mnt, json_string_value(json_object_get(start, "cgroup")));
	ASSERT_OK(access(cg, F_OK), "its cgroup exists");
	kill(p, SIGKILL);	/* tierwall run dies; its command waits on */
	waitpid(p, NULL, 0);
	end = wait_record(&f, "daemon", "event", "run_end");
	if (ASSERT_TRUE(end != NULL, "the daemon ends the run"))
		ASSERT_TRUE(json_is_true(json_object_get(end, "abandoned")), "as abandoned");
	ASSERT_TRUE(access(cg, F_OK) && errno == ENOENT, "its cgroup, command and all, is gone");
out:
	json_decref(start);
	json_decref(end);
	fx_cleanup(&f);
}

TEST(run_audit_flag_survives_a_daemon_restart)
{
	char go[PATH_MAX + 32], then[PATH_MAX * 2];
	int lfd = -1, port = P_ANY, rc;
	json_t *start = NULL;
	struct fx f;
	pid_t p;

	if (!std_start(&f))
		goto out;
	lfd = fx_listen_tcp("127.20.0.11", port);
	if (!ASSERT_TRUE(lfd >= 0, "prod listener"))
		goto out;
	snprintf(go, sizeof(go), "%s/go", f.tmp);
	snprintf(then, sizeof(then), "%s/tw_probe tcp-connect $(cat %s) %d", tw_build_dir,
		 prod_addr_file(&f, "127.20.0.11"), port);
	p = run_waiting(&f, "--audit --tier staging", go, then);
	start = wait_record(&f, "daemon", "event", "run_start");
	if (!ASSERT_TRUE(start != NULL, "the run started"))
		goto out;
	ASSERT_OK(fx_stop(&f) == 0 ? 0 : -1, "the daemon stops");
	ASSERT_OK(fx_start(&f, NULL), "and starts again, taking over");
	write_text_file(go, "");
	rc = wait_exit(&f, p);
	ASSERT_TRUE(fx_accepted(lfd), "the run's connect was audited, not refused, after the restart");
	ASSERT_EQ(rc, 3, "exit 3: the run cannot be fully accounted for");
	ASSERT_TRUE(wait_record(&f, "daemon", "event", "run_end") != NULL, "and it ended");
out:
	json_decref(start);
	if (lfd >= 0)
		close(lfd);
	fx_cleanup(&f);
}
