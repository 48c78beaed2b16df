/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_ADOPT_H
#define TW_DAEMON_ADOPT_H

#include "state.h"

/* --cri-socket: the runtime's CRI socket, or "none" (default TW_CRI_DEFAULT). */
void dm_adopt_socket(const char *path);
/* Once the daemon is ready: tier the pods already running, from the CRI, in a thread. */
void dm_adopt_start(struct daemon *d);
/* From the event loop: once the sync is over, log its outcome (the "cri_sync" record). */
void dm_adopt_tick(struct daemon *d);
void dm_adopt_stop(struct daemon *d);
/* status "cri": the socket, the sync's state and the containers it could not place. */
json_t *dm_adopt_status(void);

#endif
