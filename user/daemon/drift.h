/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_DRIFT_H
#define TW_DAEMON_DRIFT_H

#include "fingerprint.h"
#include "state.h"

/* Fingerprint the secrets, start watching the drift roots (after epoll exists). */
int dm_drift_init(struct daemon *d);
void dm_drift_free(struct daemon *d);
/* An epoll event on fd: true if it was the fingerprints' or the roots' inotify. */
bool dm_drift_event(struct daemon *d, int fd);
/* From the run loop: rebuild after a change or a reload, scan a slice. */
void dm_drift_tick(struct daemon *d);
/* The fingerprints of the loaded policy's secret files (attestation). */
const struct tw_fp *dm_fingerprints(struct daemon *d);
json_t *dm_drift_status(struct daemon *d);

#endif
