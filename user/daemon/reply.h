/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replies to control requests, shared by control.c (which reads requests and
 * hands them out) and the rooms that answer them (ask.c, pods.c, runs.c):
 * they call this, never control.c.
 */
#ifndef TW_DAEMON_REPLY_H
#define TW_DAEMON_REPLY_H

#include <jansson.h>

/* The reply to a request that failed: {"ok": false, "error": the message}. */
json_t *dm_reply_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
