// SPDX-License-Identifier: GPL-2.0
/*
 * Pods. The runtime hook (tierwall-nri) and the CRI sync name a container's
 * cgroup, as /proc/PID/cgroup shows it on the host, with its pod's labels;
 * the policy's "kubernetes" section gives the tier, and the request is
 * served as a "tag" with source "pod" and the pod's names as meta, which
 * the events of that cgroup then carry. An untiered pod below a pods' root
 * is tagged "untiered" (released from pending, pending.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cgroup.h"
#include "reply.h"
#include "pending.h"
#include "pods.h"
#include "podtier.h"
#include "tags.h"

/* The tag of the sandbox with this id (its meta's container_id), or -1. */
static int sandbox_tag(struct daemon *d, const char *id)
{
	int i;

	for (i = 0; id && i < d->ntags; i++) {
		const char *cid = json_string_value(json_object_get(d->tags[i].meta, "container_id"));

		if (cid && !strcmp(cid, id))
			return i;
	}
	return -1;
}

/*
 * An app container that says only its sandbox (CRI-O): the sandbox's tier,
 * and its pod's names beside the container's own. -1 with why if the
 * sandbox was never placed.
 */
static int tier_by_sandbox(struct daemon *d, json_t *req, const char *sandbox, char *why, size_t len)
{
	int i = sandbox_tag(d, sandbox);
	json_t *meta = json_object_get(req, "meta"), *sm;

	if (i < 0) {
		snprintf(why, len, "its pod sandbox %.64s was never placed (CRI-O with drop_infra_ctr = true "
			 "runs no sandbox container, so no hook sees the pod's labels: set drop_infra_ctr = "
			 "false)", sandbox);
		return -1;
	}
	sm = d->tags[i].meta;
	if (json_is_object(meta)) {
		static const char *const keys[] = { "pod", "namespace", "pod_uid" };
		size_t k;

		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if (json_object_get(sm, keys[k]))
				json_object_set(meta, keys[k], json_object_get(sm, keys[k]));
	}
	return d->tags[i].tier;
}

json_t *dm_pod_request(struct daemon *d, json_t *req)
{
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	const char *ns = json_string_value(json_object_get(req, "namespace"));
	json_t *labels = json_object_get(req, "labels"), *meta = json_object_get(req, "meta");
	char abs[PATH_MAX + 64], res[PATH_MAX], why[512];
	int t;

	if (!cg || cg[0] != '/' || strstr(cg, "/..") || !json_is_object(labels) ||
	    (meta && !json_is_object(meta)))
		return dm_reply_err("a pod request needs \"cgroup\" (as in /proc/PID/cgroup), \"labels\" "
			       "(an object) and optionally \"meta\" (an object)");
	if (json_is_string(json_object_get(req, "sandbox")))
		t = tier_by_sandbox(d, req, json_string_value(json_object_get(req, "sandbox")), why, sizeof(why));
	else
		t = tw_pod_tier(d->policy, ns, labels, why, sizeof(why));
	if (t < 0)
		return dm_reply_err("%s", why);
	snprintf(abs, sizeof(abs), "%s%s", d->mount, strcmp(cg, "/") ? cg : "");
	/* As the tag will resolve it: "/kubepods/" or "/kubepods/." is the root itself. */
	if (!tw_cgroup_resolve(d->root, abs, res, sizeof(res)))
		snprintf(abs, sizeof(abs), "%s", res);
	if (dm_tag_pending(d, dm_find_tag_path(d, abs)))
		return dm_reply_err("cgroup %s is a pods' root, not a pod's own cgroup: a pod is placed on "
				    "its own cgroup below it", cg);
	/* Untiered below a pods' root: placed as such, or it stays pending. */
	if (!t && !dm_pending_below(d, abs))
		return json_pack("{s:b, s:n, s:s}", "ok", 1, "tier", "cgroup", cg);
	json_object_set_new(req, "cgroup", json_string(abs));
	json_object_set_new(req, "tier", json_string(t ? d->policy->tiers[t].name : "untiered"));
	json_object_set_new(req, "source", json_string("pod"));
	/* A pod never overrides a tier it inherits: that conflict refuses the pod. */
	json_object_del(req, "force");
	json_object_del(req, "labels");
	return NULL;
}

/*
 * Events look up the tag of their tagged cgroup: remember where it was. A
 * hit is checked against the tag array, so a tag that moved (removal swaps
 * the last one in) is only looked for again.
 */
#define META_CACHE	256

static struct { uint64_t id; int i; } meta_cache[META_CACHE];

const json_t *dm_tag_meta(void *arg, uint64_t id)
{
	struct daemon *d = arg;
	int *slot = &meta_cache[id % META_CACHE].i, i;

	if (!id)
		return NULL;
	if (meta_cache[id % META_CACHE].id == id && *slot < d->ntags && d->tags[*slot].id == id)
		return d->tags[*slot].meta;
	i = dm_find_tag(d, id);
	if (i < 0)
		return NULL;
	meta_cache[id % META_CACHE].id = id;
	*slot = i;
	return d->tags[i].meta;
}
