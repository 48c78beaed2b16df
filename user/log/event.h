/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_EVENT_H
#define TW_EVENT_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "policy.h"
#include "tierwall.h"

/* Version of the JSON event record ("v" in every event). */
#define TW_EVENT_SCHEMA	1

/* What a raw record needs to become an environment-tagged event. */
struct tw_event_ctx {
	const char *host;
	const struct tw_policy *policy;		/* tier names, rule paths, digest */
	int64_t boot_to_real;			/* add to boot-time ns for wall time */
	/* Path of a cgroup id, or NULL if unknown. */
	const char *(*cgroup_path)(void *arg, uint64_t id);
	/* Meta of the tag on a cgroup id ({"pod", "namespace", "container"} for pods), or NULL. */
	const json_t *(*tag_meta)(void *arg, uint64_t id);
	/* Mount point of a kernel dev_t, or NULL if unknown. */
	const char *(*dev_path)(void *arg, uint32_t kdev);
	void *arg;
};

/*
 * Largest body tw_event_body writes: every outside string is cut at
 * TW_FIELD_MAX (text.h), so any record fits, whatever names it carries.
 */
#define TW_EVENT_MAX	(256 << 10)

/* 0 if data is a record this build understands, else -EINVAL/-EPROTO. */
int tw_event_check(const void *data, size_t size);

/*
 * The JSON members of a kernel decision record (checked by tw_event_check),
 * without braces and without "seq" and "prev" (the log writer adds those).
 * Returns the length, or -ENOSPC if it needs more than len bytes.
 */
int tw_event_body(const void *record, const struct tw_event_ctx *c, char *out, size_t len);
/* The same record as a JSON object (for readers and tests, not the hot path). */
json_t *tw_event_json(const void *record, const struct tw_event_ctx *c);

/*
 * A "lost" record for a kernel record that cannot be written (not
 * understood, or too large to encode): why, and what the header tells.
 */
json_t *tw_event_lost(const void *record, size_t size, const char *why,
		      const struct tw_event_ctx *c);

/* The daemon's own lifecycle ("start", "policy_loaded", "stop", ...). */
json_t *tw_event_daemon(const char *what, const struct tw_event_ctx *c);
/* secret_rotated: the policy path (and its JSON path) names now, not was (secretev.c). */
json_t *tw_event_rotated(const char *path, const char *rule, const struct tw_secret_key *was,
			 const struct tw_secret_key *now, const struct tw_event_ctx *c);

const char *tw_kind_name(int kind);
const char *tw_verdict_name(int verdict);
const char *tw_op_name(int op);
/* create, send, receive (enum tw_net_op) */
const char *tw_net_op_name(int op);
const char *tw_tamper_op_name(int op);
/* How a tamper attempt came ("open", "receive" ...), or why a mount was refused; NULL if none. */
const char *tw_tamper_how_name(int how);
const char *tw_dns_reason_name(int reason);
const char *tw_qtype_name(unsigned int qtype, char *buf, size_t len);
/*
 * A wire-format DNS name in presentation form ("api.example.com", "\\."
 * and "\\DDD" escapes). 0 if it ended properly, -1 if cut off ("..." added).
 */
int tw_dns_name_format(const uint8_t *wire, size_t len, char *out, size_t outlen);

#endif
