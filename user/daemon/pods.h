/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_PODS_H
#define TW_DAEMON_PODS_H

#include "state.h"

/*
 * A "pod" request (the runtime hook, the CRI sync): the tier of the pod's
 * labels and namespace. Returns the reply when there is nothing to tag (an
 * untiered pod, an error for that pod), or NULL after rewriting req into
 * the "tag" request that tiers the container's cgroup (source "pod").
 */
json_t *dm_pod_request(struct daemon *d, json_t *req);
/* Event context: the meta ({pod, namespace, container, ...}) of the tag on cgroup id, or NULL. */
const json_t *dm_tag_meta(void *arg, uint64_t id);

#endif
