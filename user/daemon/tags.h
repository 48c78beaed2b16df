/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_TAGS_H
#define TW_DAEMON_TAGS_H

#include "state.h"

/* Index of the tag on cgroup id, or -1. */
int dm_find_tag(struct daemon *d, uint64_t id);
/* Tag an existing cgroup directory; -errno with why filled on failure. */
int dm_add_tag(struct daemon *d, const char *abs, int tier, bool from_policy,
	       char *why, size_t whylen);
int dm_remove_tag(struct daemon *d, int i);
/* The policy's cgroups: each must exist. */
int dm_tag_policy_cgroups(struct daemon *d);

#endif
