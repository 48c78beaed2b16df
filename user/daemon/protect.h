/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_PROTECT_H
#define TW_DAEMON_PROTECT_H

#include "state.h"

/*
 * Tell the kernel side of b who tierwalld is and which files are its own.
 * 0 also when b runs unprotected (no BPF LSM): that is reported, not fatal.
 */
int dm_protect(struct daemon *d, struct tw_bpf *b);
/* Stopping: the programs (if they stay pinned) protect nobody's pid any more. */
void dm_protect_stop(struct daemon *d);
/* "bpf-lsm", or "none (why)". */
const char *dm_protect_mode(struct daemon *d);
/* The "protection" section of status. */
json_t *dm_protect_json(struct daemon *d);

#endif
