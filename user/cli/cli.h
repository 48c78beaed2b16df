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

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

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
void tw_print_json(json_t *o);

/* The same; -errno in *rc instead of a message when the daemon cannot be reached. */
json_t *tw_call_quiet(json_t *req, int *rc);
/* Ask the daemon for cmd; with --json print the reply and return NULL with *rc set. */
json_t *tw_query(const char *cmd, int *rc);

/* cli_status.c */
int do_status(int argc, char **argv);

/* run.c, attest.c */
int do_run(int argc, char **argv);
/* Findings of the daemon on env, cmd and files for tier (JSON array), NULL on failure. */
json_t *tw_attest(const char *tier, char *const *cmd, char *const *files, int nfiles);
void tw_attest_print(json_t *findings, FILE *f);

/* events.c */
int do_events(int argc, char **argv);
int do_verify(int argc, char **argv);
/* logcmd.c */
int do_keygen(int argc, char **argv);
int do_drain(int argc, char **argv);

#endif
