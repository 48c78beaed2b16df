// SPDX-License-Identifier: GPL-2.0
/*
 * The agent's own pod starts pending whenever no agent ran (an install, an
 * upgrade, a crash): the previous instance's programs, still attached,
 * refuse it every tier's destinations, names and secrets, which the new
 * instance needs while it starts (resolving the policy's names, finding its
 * secrets). Before anything else it releases its own cgroup in the previous
 * instance's pinned maps: an explicit untiered tag, its level published.
 * Self-protection lets a pending process do this (pending is not a tier
 * there), as it lets any untiered one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "pendmap.h"
#include "tierwall.h"
#include "pendtier.h"

static int open_pin(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return bpf_obj_get(path);
}

/* The tier of the nearest tagged ancestor in ids[0..n-1], -ENOENT if none. */
static int nearest_tier(int tiers, const uint64_t *ids, int n)
{
	int level;

	for (level = n - 1; level >= 0; level--) {
		struct tw_tier_key k = { .cgroup_id = ids[level] };
		struct tw_tier_val v;

		if (ids[level] && !bpf_map_lookup_elem(tiers, &k, &v))
			return v.tier;
	}
	return -ENOENT;
}

static int publish_level(int rtfd, int level)
{
	struct tw_runtime rt;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(rtfd, &zero, &rt))
		return -errno;
	if (!rt.level_mask || (uint32_t)level < rt.min_level)
		rt.min_level = level;
	if ((uint32_t)level > rt.max_level)
		rt.max_level = level;
	rt.level_mask |= 1ULL << level;
	rt.tag_gen++;
	return bpf_map_update_elem(rtfd, &zero, &rt, 0) ? -errno : 0;
}

int tw_old_release(const char *dir, const uint64_t *ids, int n)
{
	int tiers, rtfd, err;
	struct tw_tier_key k;
	struct tw_tier_val v = { .tier = TW_TIER_NONE };

	if (n < 1 || n > TW_MAX_LEVELS)
		return -EINVAL;
	tiers = open_pin(dir, "cgroup_tiers");
	if (tiers < 0)
		return errno == ENOENT ? 0 : -errno;	/* no previous instance */
	rtfd = open_pin(dir, "runtime");
	err = rtfd < 0 ? -errno : nearest_tier(tiers, ids, n);
	if (err != TW_TIER_PENDING) {
		err = err == -ENOENT || err >= 0 ? 0 : err;
		goto out;
	}
	k.cgroup_id = ids[n - 1];
	err = bpf_map_update_elem(tiers, &k, &v, 0) ? -errno : publish_level(rtfd, n - 1);
	if (!err)
		err = 1;
out:
	if (rtfd >= 0)
		close(rtfd);
	close(tiers);
	return err;
}
