/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only: the grants a hook consults after a rule refused (see
 * maps/grants.h). Looked at only on the refusal path, so callers with no
 * refusal pay nothing; a grant allows until its boot-time deadline,
 * checked here at every decision, and counts what it allowed.
 */
#ifndef TW_GRANT_BPF_H
#define TW_GRANT_BPF_H

#include <bpf/bpf_endian.h>
#include "tier.bpf.h"
#include "grants.h"

/* A cgroup ancestor of the caller at level: the hooks' own; explain defines it from its question. */
#ifndef GRANT_ANCESTOR
#define GRANT_ANCESTOR(level)	bpf_get_current_ancestor_cgroup_id(level)
#endif

/* Written by the daemon: a slot per active grant (kind TW_GRANT_FREE: empty). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_grant);
	__uint(max_entries, TW_MAX_GRANTS);
} grants SEC(".maps");

/* What a refused decision was about, for the slot walk. */
struct gprobe {
	__u32 ip[4];		/* net: network order */
	__u64 now;		/* boot ns */
	__u32 secret;		/* secret: the policy path index */
	__u32 found;		/* slot + 1 of the grant that allows it */
	__u32 hosts[TW_HOST_OWNERS];	/* net: hostnames (index + 1) the address is one of */
	__u16 port;
	__u8 family;
	__u8 proto;
	__u8 kind;		/* enum tw_grant_kind */
	__u8 tier;
};

/* Word w (0-3) of a netmask of len bits (IPv4: word 0), network order; dst.bpf.h's too. */
static __always_inline __u32 prefix_mask(__u32 len, int w)
{
	int bits = (int)len - 32 * w;

	if (bits >= 32)
		return 0xffffffff;
	if (bits <= 0)
		return 0;
	return bpf_htonl(~0u << (32 - bits));
}

static __always_inline bool grant_net_match(const struct tw_grant *g, const struct gprobe *p)
{
	const __u32 *a = (const __u32 *)g->addr;
	int w;

	if (g->proto && g->proto != p->proto)
		return false;
	if (g->host) {
		for (w = 0; w < TW_HOST_OWNERS && p->hosts[w] != g->host; w++)
			;
		if (w == TW_HOST_OWNERS)
			return false;
	} else {
		if (g->family != p->family)
			return false;
		for (w = 0; w < 4; w++)
			if ((p->ip[w] & prefix_mask(g->prefix, w)) != (a[w] & prefix_mask(g->prefix, w)))
				return false;
	}
	if (!g->nports)
		return true;
	for (w = 0; w < TW_GRANT_PORTS; w++) {
		if (w >= g->nports)
			break;
		if (g->ports[w] == p->port)
			return true;
	}
	return false;
}

static long grant_probe_one(__u32 i, struct gprobe *p)
{
	struct tw_grant *g = bpf_map_lookup_elem(&grants, &i);

	if (!g || g->kind != p->kind || g->tier != p->tier || p->now >= g->deadline_ns)
		return 0;
	if (g->cgroup_id && GRANT_ANCESTOR(g->cg_level) != g->cgroup_id)
		return 0;
	if (p->kind == TW_GRANT_NET ? !grant_net_match(g, p) : g->secret != p->secret)
		return 0;
	p->found = i + 1;
	return 1;
}

/* The live grant for tier that allows p, or NULL. No side effects: explain calls it too. */
static __always_inline struct tw_grant *grant_find(struct gprobe *p, __u32 tier)
{
	__u32 slot;

	p->tier = tier;
	p->now = bpf_ktime_get_boot_ns();
	p->found = 0;
	bpf_loop(TW_MAX_GRANTS, grant_probe_one, p, 0);
	if (!p->found)
		return NULL;
	slot = p->found - 1;
	return bpf_map_lookup_elem(&grants, &slot);
}

/* After a rule refused: does a live grant allow it? Sets d->grant and counts the use. */
static __always_inline bool grant_allows(struct gprobe *p, struct decision *d)
{
	struct tw_grant *g = grant_find(p, d->tier);

	if (!g)
		return false;
	__sync_fetch_and_add(&g->uses, 1);
	d->grant = g->id;
	d->verdict = TW_VERDICT_ALLOW;
	return true;
}

#endif
