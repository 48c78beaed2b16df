/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_LEVELS_H
#define TW_LEVELS_H

#include <stdbool.h>
#include "tierwall.h"

/*
 * The levels of path (x->levels, x->nlevels, x->more_parents and
 * more_mounts) as the hooks' walk meets them, in this process's mount
 * namespace; subvols as tw_chain_subvols(). 0 or -errno.
 */
int tw_explain_levels(const char *path, bool subvols, struct tw_explain *x);

#endif
