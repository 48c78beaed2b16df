/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_UNINSTALL_H
#define TW_DAEMON_UNINSTALL_H

#include "state.h"

/* Detach everything and remove pins and state, through the daemon if one runs. */
int dm_uninstall(struct daemon *d);

#endif
