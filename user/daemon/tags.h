/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_TAGS_H
#define TW_DAEMON_TAGS_H

#include "state.h"

const char *dm_tag_source_name(enum tag_source s);
/* enum tag_source of a name, or -EINVAL. */
int dm_tag_source_parse(const char *s);

/* Index of the tag on cgroup id (or on path abs), or -1. */
int dm_find_tag(struct daemon *d, uint64_t id);
int dm_find_tag_path(struct daemon *d, const char *abs);
/*
 * Tag an existing cgroup directory with origin's source, requester and
 * metadata; -errno with why filled on failure. A policy tag replaces the
 * tag on its path, whatever cgroup held it before.
 */
int dm_add_tag(struct daemon *d, const char *abs, int tier, const struct tag *origin,
	       char *why, size_t whylen);
int dm_remove_tag(struct daemon *d, int i);
/* A policy tag's cgroup is gone: keep the tag, waiting for its path (id 0). */
void dm_tag_missing(struct daemon *d, int i);
void dm_tags_clear(struct daemon *d);
/* The policy's cgroups: each must exist. */
int dm_tag_policy_cgroups(struct daemon *d);
/* Absolute path of policy p's cgroups[i] under the daemon's root. */
void dm_policy_cgroup_path(const struct daemon *d, const struct tw_policy *p, int i,
			   char *abs, size_t len);

/* The tag that gives cgroup abs its tier (itself or the nearest tagged ancestor), or -1. */
int dm_effective_tag(struct daemon *d, const char *abs);
/* The cgroup2 directory of a process, from /proc/PID/cgroup. */
int dm_cgroup_of_pid(struct daemon *d, int pid, char *abs, size_t len);

json_t *dm_tag_json(const struct daemon *d, const struct tag *t);

#endif
