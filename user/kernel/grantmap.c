// SPDX-License-Identifier: GPL-2.0
/*
 * The grants map (maps/grants.h) as the daemon writes and reads it: one
 * slot per active grant, and the kernel's count of its uses.
 */
#include <errno.h>
#include <string.h>
#include <bpf/bpf.h>
#include "loader_int.h"

int tw_bpf_grant_set(struct tw_bpf *b, uint32_t slot, const struct tw_grant *g)
{
	struct tw_grant empty = {};

	if (slot >= TW_MAX_GRANTS)
		return -ERANGE;
	return bpf_map_update_elem(bpf_map__fd(b->net->maps.grants), &slot, g ?: &empty, 0) ?
	       -errno : 0;
}

int tw_bpf_grant_uses(struct tw_bpf *b, uint32_t slot, uint64_t *uses)
{
	struct tw_grant g;

	if (slot >= TW_MAX_GRANTS)
		return -ERANGE;
	if (bpf_map_lookup_elem(bpf_map__fd(b->net->maps.grants), &slot, &g))
		return -errno;
	*uses = g.uses;
	return 0;
}
