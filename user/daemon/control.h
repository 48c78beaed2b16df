/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_CONTROL_H
#define TW_DAEMON_CONTROL_H

#include "state.h"

/* Serve every client waiting on the control socket. */
void dm_accept_clients(struct daemon *d);

#endif
