/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_DRAIN_H
#define TW_DAEMON_DRAIN_H

#include "state.h"

/* {"cmd":"drain"}: every decision made before it is in the log; the reply says up to which seq. */
json_t *dm_cmd_drain(struct daemon *d);

#endif
