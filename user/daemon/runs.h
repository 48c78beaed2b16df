/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_RUNS_H
#define TW_DAEMON_RUNS_H

#include <sys/socket.h>
#include "state.h"

/* run, run_stop, run_end (see runs.c); pidfd: passed with the request, -1 if none. */
json_t *dm_cmd_run(struct daemon *d, const struct ucred *peer, int pidfd, const char *cmd,
		   json_t *req);
/*
 * Would this request let the tiered caller pid out of its tier (a run or an
 * attestation for another tier, audit mode, ending another tier's run)? The
 * reason, or NULL when it may (untiered callers always may).
 */
const char *dm_runs_forbidden(struct daemon *d, int pid, const char *cmd, json_t *req);
/* The log's on_flush: lines go out as before, and into the tallies of runs. */
void dm_runs_on_flush(void *arg, const char *lines, size_t len);
/* From the run loop: runs whose requester is gone are stopped and removed. */
void dm_runs_tick(struct daemon *d);

#endif
