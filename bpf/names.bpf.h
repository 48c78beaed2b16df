/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only: who owns a DNS name, one copy for the DNS guard and explain.
 * Keys are the lowercase dotted name reversed, then a 0 (struct
 * tw_name_key): an exact policy name is its whole key, "*.example.com" the
 * prefix "moc.elpmaxe.", so one longest-prefix lookup answers both.
 */
#ifndef TW_NAMES_BPF_H
#define TW_NAMES_BPF_H

#include "tier.bpf.h"

/* Names owned by a tier; filled by the daemon from the policy. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct tw_name_key);
	__type(value, struct tw_name_val);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} names SEC(".maps");

/*
 * Who owns the name key for a caller of tier d->tier: sets d->target and
 * d->rule (the hostname index + 1: DNS decisions have no rule). No side
 * effects.
 */
static __always_inline int name_owner(const struct tw_name_key *key, struct decision *d)
{
	struct tw_name_val *v = bpf_map_lookup_elem(&names, key);

	if (!v)
		return OWNER_NONE;
	d->rule = v->host;
	d->target = v->tier;
	return v->tier == d->tier ? OWNER_SELF : OWNER_OTHER;
}

#endif
