// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall run --tier T [--audit] [--attest FILE]... [--json] -- CMD [ARGS...]
 *
 * CMD runs in a fresh cgroup of tier T that the daemon creates, tags and
 * removes; stdin, stdout and stderr are CMD's own, and signals sent to this
 * process are passed on. Before CMD starts, its environment, arguments and
 * the --attest files are attested (attest.c). When it ends, whatever it left
 * running is killed, the log is drained and the daemon's tally of the run's
 * records is printed on stderr (JSON with --json): every out-of-tier attempt,
 * counted as the kernel counted it.
 *
 * Exit: CMD's status (128+N for a signal); 78 when attestation refused to
 * start CMD; 3 with --audit when an attempt or a finding was seen, or the
 * run could not be fully accounted for; 1 when tierwall failed before CMD
 * started. CMD may exit 3 or 78 itself: --json says which ("exit_from").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "cli.h"
#include "log.h"
#include "util.h"

#define EXIT_CONFIG	78		/* EX_CONFIG: the command's configuration is wrong */
#define STOP_TRIES	500		/* run_stop every 20 ms: 10 s for what was left to die */

static const char *tier;
static bool audit;
static char *attest_files[64];
static int nattest;
static volatile sig_atomic_t child;

static int run_opt(int c, const char *arg)
{
	switch (c) {
	case 't': tier = arg; return 0;
	case 'a': audit = true; return 0;
	case 'A':
		if (nattest == (int)ARRAY_SIZE(attest_files)) {
			tw_err("run: at most %zu --attest files", ARRAY_SIZE(attest_files));
			return -1;
		}
		attest_files[nattest++] = (char *)arg;
		return 0;
	}
	return -1;
}

/* The terminal signals the whole foreground group: the command has that one already. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	if (child > 0 && si->si_code != SI_KERNEL)
		kill(child, sig);
}

static void pass_signals(void)
{
	static const int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
				    SIGWINCH, SIGCONT };
	struct sigaction sa = { .sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* A child that waits for the word before it becomes CMD: the daemon moves it first. */
static pid_t spawn(char **cmd, int *go)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);	/* tierwall gave up: never run untiered */
		execvp(cmd[0], cmd);
		fprintf(stderr, "tierwall run: %s: %s\n", cmd[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	child = 0;
	return st;
}

/* Nothing of the run may decide any more: what it left running is killed. */
static int stop_run(const char *id)
{
	json_t *r;
	bool empty;
	int i;

	for (i = 0; i < STOP_TRIES; i++) {
		r = tw_call(json_pack("{s:s, s:s}", "cmd", "run_stop", "id", id));
		if (!r)
			return -1;
		empty = json_is_true(json_object_get(r, "empty"));
		json_decref(r);
		if (empty)
			return 0;
		usleep(20 * 1000);
	}
	tw_err("run %s: processes were still in its cgroup %d s after it ended", id,
	       STOP_TRIES / 50);
	return -1;
}

/*
 * The log's drain signal: every decision made so far is in the log, flood
 * windows closed ({"cmd":"drain"} -> {"ok":true,"seq":N,...}).
 */
static int wait_logged(long long *seq)
{
	json_t *r = tw_call(json_pack("{s:s}", "cmd", "drain"));

	if (!r)
		return -1;
	*seq = json_integer_value(json_object_get(r, "seq"));
	json_decref(r);
	return *seq > 0 ? 0 : -1;
}

static json_t *exit_json(int st)
{
	if (WIFSIGNALED(st))
		return json_pack("{s:s, s:i}", "signal", sigabbrev_np(WTERMSIG(st)) ?: "?",
				 "number", WTERMSIG(st));
	return json_pack("{s:i}", "code", WIFEXITED(st) ? WEXITSTATUS(st) : 1);
}

/* The summary: from the daemon's tally of the run's records, or why there is none. */
static json_t *finish(const char *id, int st)
{
	json_t *r = NULL;
	long long seq;

	if (!stop_run(id) && !wait_logged(&seq))
		r = tw_call(json_pack("{s:s, s:s, s:I, s:o}", "cmd", "run_end", "id", id,
				      "seq", (json_int_t)seq, "exit", exit_json(st)));
	if (!r)
		r = json_pack("{s:s, s:s}", "run", id, "incomplete",
			      "the run's records could not be counted (see above); they are in the log");
	json_object_del(r, "ok");
	return r;
}

static void print_summary(json_t *s, const char *id)
{
	const char *inc = json_string_value(json_object_get(s, "incomplete"));
	json_int_t n = json_integer_value(json_object_get(s, "attempts"));
	json_t *row;
	size_t i;

	fprintf(stderr, "tierwall run: %s (tier %s, %s): ", id, tier, audit ? "audit" : "enforce");
	if (n)
		fprintf(stderr, "%lld out-of-tier attempt%s\n  %-7s %-8s %-11s %-32s %-28s %s\n",
			(long long)n, n == 1 ? "" : "s", "VERDICT", "KIND", "TARGET_TIER", "TARGET",
			"RULE", "COUNT");
	else
		fprintf(stderr, "no out-of-tier attempt\n");
	json_array_foreach(json_object_get(s, "targets"), i, row)
		fprintf(stderr, "  %-7s %-8s %-11s %-32s %-28s %lld\n",
			json_string_value(json_object_get(row, "verdict")),
			json_string_value(json_object_get(row, "kind")),
			json_string_value(json_object_get(row, "target_tier")) ?: "-",
			json_string_value(json_object_get(row, "target")),
			json_string_value(json_object_get(row, "rule")) ?: "-",
			json_integer_value(json_object_get(row, "count")));
	if (json_is_true(json_object_get(s, "truncated")))
		fprintf(stderr, "  (more targets than listed: see `tierwall events --cgroup %s`)\n",
			json_string_value(json_object_get(s, "cgroup")) ?: id);
	if (inc)
		fprintf(stderr, "tierwall run: INCOMPLETE: %s\n", inc);
}

/* Whose exit status it is, and why: in --json, and on stderr when it is ours. */
static int verdict(json_t *out, int st, size_t findings)
{
	int code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	const char *why = NULL;

	if (audit && json_integer_value(json_object_get(out, "attempts")))
		why = "out-of-tier attempts in audit mode";
	else if (audit && findings)
		why = "attestation findings in audit mode";
	else if (audit && json_string_value(json_object_get(out, "incomplete")))
		why = "the run could not be fully accounted for";
	json_object_set_new(out, "command_status", json_integer(code));
	if (why) {
		if (!tw_want_json)
			fprintf(stderr, "tierwall run: exit %d: %s (the command exited %d)\n",
				EXIT_ANSWER, why, code);
		json_object_set_new(out, "why", json_string(why));
		code = EXIT_ANSWER;
	}
	json_object_set_new(out, "exit", json_integer(code));
	json_object_set_new(out, "exit_from", json_string(why ? "tierwall" : "command"));
	return code;
}

/* --tier names one of the policy's tiers; if not, say which there are. */
static bool known_tier(void)
{
	char list[512];

	tw_ev_daemon_info();
	if (tw_ev_tier_defined(tier, list, sizeof(list)))
		return true;
	tw_err("run: unknown tier \"%s\": the policy defines %s", tier, list);
	return false;
}

static void print_json(json_t *o)
{
	json_dumpf(o, stderr, JSON_COMPACT);
	fputc('\n', stderr);
}

int do_run(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "tier", required_argument, NULL, 't' },
		{ "audit", no_argument, NULL, 'a' },
		{ "attest", required_argument, NULL, 'A' },
		{}
	};
	int first = tw_parse_opts(argc, argv, "+", extra, run_opt), go, st, rc, pidfd;
	json_t *findings, *r, *out;
	char **cmd = argv + first;
	const char *id;
	pid_t pid;

	if (!tier || first >= argc) {
		tw_err("run: %s", !tier ? "--tier is required" : "no command given (after --)");
		tw_cmd_usage(stderr, tw_cur);
		return EXIT_USAGE;
	}
	if (!known_tier())
		return EXIT_USAGE;
	findings = tw_attest(tier, cmd, attest_files, nattest);
	if (!findings)
		return EXIT_FAIL;
	out = json_pack("{s:s, s:s, s:O}", "tier", tier, "mode", audit ? "audit" : "enforce",
			"findings", findings);
	if (!tw_want_json)
		tw_attest_print(findings, stderr);
	if (json_array_size(findings) && !audit) {
		if (!tw_want_json)
			fprintf(stderr, "tierwall run: exit %d: %s not started: its configuration holds "
				"another tier's credentials or endpoints\n", EXIT_CONFIG, cmd[0]);
		json_object_update_new(out, json_pack("{s:b, s:i, s:s, s:s}", "started", 0,
			"exit", EXIT_CONFIG, "exit_from", "tierwall", "why", "attestation findings"));
		rc = EXIT_CONFIG;
		goto out;
	}
	pid = spawn(cmd, &go);
	if (pid < 0) {
		tw_err("run: cannot start %s: %s", cmd[0], strerror(errno));
		rc = EXIT_FAIL;
		goto out;
	}
	/* The pidfd names the child for good: its pid could be reused before the daemon moves it. */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	r = pidfd < 0 ? NULL : tw_call_fd(json_pack("{s:s, s:s, s:b, s:i, s:s}", "cmd", "run", "tier",
				tier, "audit", audit, "pid", (int)pid, "command", cmd[0]), pidfd);
	if (pidfd < 0)
		tw_err("run: cannot open a pidfd for %s (pid %d): %s", cmd[0], (int)pid, strerror(errno));
	else
		close(pidfd);
	if (!r) {
		close(go);	/* the child exits without running anything */
		wait_child(pid);
		rc = EXIT_FAIL;
		goto out;
	}
	id = json_string_value(json_object_get(r, "id"));
	child = pid;
	pass_signals();
	if (write(go, "x", 1) != 1)
		tw_err("run: cannot start %s: %s", cmd[0], strerror(errno));
	close(go);
	st = wait_child(pid);
	json_object_update_new(out, finish(id, st));
	json_object_set_new(out, "started", json_true());
	json_object_set_new(out, "command_exit", exit_json(st));
	if (json_string_value(json_object_get(r, "cgroup")))	/* named as the policy names cgroups */
		json_object_set_new(out, "cgroup", json_string(tw_ev_policy_path(
			json_string_value(json_object_get(r, "cgroup")))));
	if (!tw_want_json)
		print_summary(out, id);
	rc = verdict(out, st, json_array_size(findings));
	json_decref(r);
out:
	if (tw_want_json)
		print_json(out);
	json_decref(out);
	json_decref(findings);
	return rc;
}
