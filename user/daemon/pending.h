/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_PENDING_H
#define TW_DAEMON_PENDING_H

#include "state.h"
#include "pendtier.h"

/* Is tag i a pods' root's (its cgroups below are pending unless placed)? */
bool dm_tag_pending(const struct daemon *d, int i);
/* A tag's tier as the tag records and replies name it: "untiered", "pending" or the tier's. */
const char *dm_tag_tier_name(const struct daemon *d, int tier);
/* The tier a tag request names ("untiered": TW_TIER_NONE), -ENOENT if the policy lacks it. */
int dm_tier_or_untiered(const struct daemon *d, const char *name);
/* First thing at start: this daemon's cgroup, if pending in the previous instance's maps, released. */
int dm_pending_release_self(struct daemon *d);
/* Tag the pods' roots pending (after the policy's tags), and place this daemon's own cgroup. */
void dm_tag_pending_roots(struct daemon *d);
/* Is cgroup abs pending now (its nearest tag a root's)? */
bool dm_pending_below(struct daemon *d, const char *abs);
/* Once a second (it says when): roots found again, pending containers counted, overdue ones recorded. */
void dm_pending_tick(struct daemon *d);
/* For metrics (any thread): pending containers, and the oldest one's age in seconds. */
int dm_pending_counts(uint64_t *oldest_age);
/* For status: {"roots", "roots_from", "containers", "oldest"}. */
json_t *dm_pending_json(const struct daemon *d);

#endif
