/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_EVQUERY_H
#define TW_EVQUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

/* What `tierwall events` keeps; unset fields match everything. */
struct tw_filter {
	const char *tier;
	const char *kind;
	const char *verdict;
	const char *cgroup;		/* this cgroup and everything below it */
	long pid;			/* 0: any */
	uint64_t since_ns, until_ns;	/* 0: open-ended */
};

/* --since/--until value: a duration back from now_ns (10m, 2h) or an RFC 3339 time. */
int tw_filter_time(const char *arg, uint64_t now_ns, uint64_t *ns);
bool tw_filter_match(const struct tw_filter *f, json_t *ev);

/*
 * Check the hash chain of the log in dir, oldest segment to current file and
 * chain.head. Prints a summary or the first break to out; 0 if intact,
 * -EBADMSG if tampered, -EKEYREJECTED if a seal was made with another key
 * than verify_key's, other -errno if it cannot be read.
 */
struct tw_verify_opts {
	const char *verify_key;		/* check the seals with this key (seal.h) */
	uint64_t from_epoch;		/* the first epoch expected (older ones removed) */
};
int tw_verify_log(const char *dir, FILE *out, const struct tw_verify_opts *o);

#endif
