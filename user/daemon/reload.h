/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_RELOAD_H
#define TW_DAEMON_RELOAD_H

#include "state.h"

/*
 * Reload the policy file; on any failure the loaded policy stays in force,
 * -EINVAL is returned and d->reload_errors says why.
 */
int dm_reload(struct daemon *d);

#endif
