/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DRIFTSCAN_H
#define TW_DRIFTSCAN_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

/*
 * The files below the policy's drift roots that may hold a copy of a
 * secret: every regular file at start (walked a slice at a time, so the
 * daemon's loop never waits for a large tree), then each file written
 * (IN_CLOSE_WRITE), moved in (IN_MOVED_TO) or created (IN_CREATE: a hard
 * link, or an empty file about to be written), with inotify on every
 * directory of the trees; a directory that appears is watched, then walked,
 * so what was created in it meanwhile is seen. Symlinks are not followed and
 * other filesystems mounted below a root are not entered.
 */
struct tw_driftscan;

/* Most directories watched at once (each is an inotify watch). */
#define TW_DRIFT_MAX_DIRS	65536
#define TW_DRIFT_MAX_DEPTH	64

int tw_driftscan_new(struct tw_driftscan **out, char *const *roots, int nroots);
void tw_driftscan_free(struct tw_driftscan *s);
int tw_driftscan_fd(const struct tw_driftscan *s);
/* Read inotify events into the queues. */
void tw_driftscan_events(struct tw_driftscan *s);
/* Everything again (the fingerprints changed, or events were lost). */
void tw_driftscan_rescan(struct tw_driftscan *s);
/*
 * Walk and hand out candidate files (cb per path) until the queues are empty
 * or CLOCK_MONOTONIC passes deadline_ns; true while work remains.
 */
bool tw_driftscan_work(struct tw_driftscan *s, uint64_t deadline_ns,
		       void (*cb)(void *arg, const char *path), void *arg);
/* {"roots", "missing", "watched_dirs", "unwatched_dirs", "files_checked", "pending"} */
json_t *tw_driftscan_status(const struct tw_driftscan *s);

#endif
