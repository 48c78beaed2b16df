/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_READY_H
#define TW_DAEMON_READY_H

#include "state.h"

/* From the moment the control socket listens: answer "starting" to every request. */
int dm_ready_begin(struct daemon *d);
/* Enforcement is complete (or setup failed): stop answering for the daemon. Idempotent. */
void dm_ready_end(struct daemon *d);
/*
 * Tell the service manager (sd_notify protocol: one datagram to
 * $NOTIFY_SOCKET, a path or "@abstract"); nothing without one.
 */
int dm_notify(const char *state);

#endif
