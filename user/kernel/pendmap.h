/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_PENDMAP_H
#define TW_PENDMAP_H

#include <stdint.h>

/*
 * In the maps pinned in dir by a previous instance: if the cgroup whose
 * ancestors' ids by level are ids[0..n-1] (ids[n-1] itself) is pending,
 * tag it untiered. 1 released, 0 not pending (or no previous instance),
 * -errno.
 */
int tw_old_release(const char *dir, const uint64_t *ids, int n);

#endif
