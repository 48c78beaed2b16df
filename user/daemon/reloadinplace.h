/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_RELOADINPLACE_H
#define TW_DAEMON_RELOADINPLACE_H

#include "state.h"

/*
 * A reload that changes only CIDR destinations, applied to the loaded maps
 * (user/kernel/dirdiff.h): the programs stay. 0: applied, np and nt
 * consumed; -ENOSPC: it cannot be applied in place (other sections
 * changed, hostnames or secrets, the maps lack room), nothing was written
 * and np and nt are still usable for a program swap; other -errno: the
 * reload failed.
 */
int dm_reload_in_place(struct daemon *d, struct tw_policy *np, struct tw_tables *nt);

#endif
