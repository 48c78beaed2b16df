/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_ASK_H
#define TW_DAEMON_ASK_H

#include "state.h"

/* `explain` and `which` requests: the reply, or NULL when cmd is neither. */
json_t *dm_ask_request(struct daemon *d, const char *cmd, json_t *req);

#endif
