/* SPDX-License-Identifier: GPL-2.0 */
/* What the `tierwall run`, attestation and drift tests share (host and guests). */
#ifndef TW_RUNHELP_H
#define TW_RUNHELP_H

#include <stddef.h>
#include <jansson.h>
#include "fixture.h"

/*
 * `tierwall ARGS` against the fixture's daemon, from inside cgroup rel (NULL:
 * where the tests run); its exit status, stdout and stderr together in out.
 */
int run_cli(struct fx *f, const char *rel, char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The last line of out that is a JSON object (`run --json`'s summary), or NULL. */
json_t *run_summary(const char *out);
/* Row i of a summary's targets. */
json_t *run_row(json_t *summary, size_t i);
/* The first record of kind whose key has the string value val (polled for: the daemon logs it on its own time). */
json_t *wait_record(struct fx *f, const char *kind, const char *key, const char *val);
/* The same, read now (NULL: none yet). */
json_t *read_record(struct fx *f, const char *kind, const char *key, const char *val);
/* Records of this kind so far. */
int count_records(struct fx *f, const char *kind);
/* A random token that tierwall counts as a credential (base64 of random bytes). */
void rand_token(char *out, size_t bytes);
/* A PEM private key of 4 random lines (pem: 1024 bytes); its third line into line (96). */
void rand_pem(char *pem, char *line);
/* The drain request's reply (seq, kernel counters), or NULL. */
json_t *drain(struct fx *f);
int write_text_file(const char *path, const char *text);

#endif
