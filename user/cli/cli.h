/* SPDX-License-Identifier: GPL-2.0 */
/* The CLI's shared parts: options every command takes, and the daemon call. */
#ifndef TW_CLI_H
#define TW_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>

#define DEFAULT_LOG_DIR	"/var/log/tierwall"
#define CTL_TIMEOUT_MS	5000
/* A reload's reply: its result, once every program is loaded again (slow on a busy machine). */
#define RELOAD_TIMEOUT_MS	300000

/*
 * One meaning across commands: 1 tierwall failed, 2 bad arguments, 3 the
 * answer is the one a CI step fails on (run --audit saw attempts, simulate
 * --exit-code: something would change, explain --exit-code: deny,
 * verify-log: tampered), 4 verify-log's key is not the log's.
 */
enum { EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_ANSWER = 3, EXIT_KEY = 4 };

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(int argc, char **argv);
};

extern const char *tw_sock_path;
extern bool tw_want_json;
extern const struct cmd *tw_cur;

void tw_cmd_usage(FILE *f, const struct cmd *c);
/* Common options of every command; returns the index of the first operand. */
int tw_parse_opts(int argc, char **argv, const char *extra_short,
		  const struct option *extra, int (*on_extra)(int c, const char *arg));
/* Exit 2 with usage unless exactly n operands follow first. */
void tw_want_operands(int argc, int first, int n);
/* Ask the daemon; prints one clear error and returns NULL on any failure. */
json_t *tw_call(json_t *req);
/* The same, passing pass_fd with the request (SCM_RIGHTS). */
json_t *tw_call_fd(json_t *req, int pass_fd);
void tw_print_json(json_t *o);

/* The reply whatever it says; NULL (a message printed unless quiet) when unreachable. */
json_t *tw_call_reply(json_t *req, int *rc, bool quiet);
/* The same, waiting up to wait_ms for the reply (a reload loads every program again). */
json_t *tw_call_reply_ms(json_t *req, int *rc, bool quiet, int wait_ms);
/* The same; -errno in *rc instead of a message when the daemon cannot be reached. */
json_t *tw_call_quiet(json_t *req, int *rc);
/* Ask the daemon for cmd; with --json print the reply and return NULL with *rc set. */
json_t *tw_query(const char *cmd, int *rc);

/* cli_status.c */
int do_status(int argc, char **argv);

/* policycmd.c */
int do_check(int argc, char **argv);
int do_sign(int argc, char **argv);
int do_reload(int argc, char **argv);

/* explain.c */
int do_explain(int argc, char **argv);
int do_which(int argc, char **argv);

/* simulate.c */
int do_simulate(int argc, char **argv);

/* evshow.c: how events take their filters and are shown */
struct tw_filter;
/* Ask the daemon for its cgroup root and tiers, once (nothing when it does not answer). */
void tw_ev_daemon_info(void);
/* Is tier one of the loaded policy's (true when no daemon answered)? Its tiers into list. */
bool tw_ev_tier_defined(const char *tier, char *list, size_t len);
/* Does cg (as tag takes it: root-relative or absolute) name the daemon's whole cgroup root? */
bool tw_ev_is_root(const char *cg);
/* --cgroup as the policy names it, in the form records carry; the record's form shown back. */
const char *tw_ev_cgroup_filter(const char *cg);
const char *tw_ev_policy_path(const char *cg);
/* Exit 2 on a filter that cannot match: unknown kind, verdict or tier, --until before --since. */
void tw_ev_check_filter(const struct tw_filter *f, const char *dir);
/* The message for a log that cannot be shown: permission denied, or none there. */
void tw_ev_no_log(const char *dir);
void tw_ev_table_header(void);
void tw_ev_table_row(json_t *o);
void tw_ev_short_row(json_t *o);
/* Rows in colour (deny, audit, tamper): events sets it for a terminal without NO_COLOR. */
extern bool tw_ev_colour;
struct tw_verify_opts;
int tw_ev_verify_json(const char *dir, const struct tw_verify_opts *opts);
int tw_verify_exit(int err);
/* run.c, attest.c */
int do_run(int argc, char **argv);
/* Findings of the daemon on env, cmd and files for tier (JSON array), NULL on failure. */
json_t *tw_attest(const char *tier, char *const *cmd, char *const *files, int nfiles);
void tw_attest_print(json_t *findings, FILE *f);

/* grant.c */
int do_grant(int argc, char **argv);
int do_grants(int argc, char **argv);

/* events.c */
int do_events(int argc, char **argv);
int do_verify(int argc, char **argv);
/* logcmd.c */
int do_keygen(int argc, char **argv);
int do_drain(int argc, char **argv);

#endif
