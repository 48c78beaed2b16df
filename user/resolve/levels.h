/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_LEVELS_H
#define TW_LEVELS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "tierwall.h"

/*
 * The levels of path (x->levels, x->nlevels, x->more_parents and
 * more_mounts) as the hooks' walk meets them, in this process's mount
 * namespace; subvols as tw_chain_subvols(). 0 or -errno.
 */
int tw_explain_levels(const char *path, bool subvols, struct tw_explain *x);

/*
 * The same levels on the control socket: the CLI reads them where its
 * caller sees the path, the daemon only judges them (it never looks a
 * caller's path up: a mount that never answers would stall it).
 * tw_levels_json: {"levels": [...], "more_parents", "more_mounts", "subvols"}
 * added to t. tw_levels_parse: back into x; NULL, or what is wrong, in why.
 */
void tw_levels_json(const struct tw_explain *x, bool subvols, json_t *t);
int tw_levels_parse(json_t *t, bool subvols, struct tw_explain *x, char *why, size_t len);

#endif
