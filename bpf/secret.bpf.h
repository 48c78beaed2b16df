/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only: which secret protects a file, one copy for the BPF LSM
 * programs (which walk dentries) and explain (which is given the
 * identities of a path and its parents by the daemon). A file is matched
 * by identity: its own (dev, ino), or the nearest protected directory among
 * its parents on the same filesystem.
 */
#ifndef TW_SECRET_BPF_H
#define TW_SECRET_BPF_H

#include "tier.bpf.h"

/* Rule index reported when a walk ran out of depth on a protected filesystem. */
#define TW_SECRET_TOO_DEEP	0xffffffffu

/* Sized by the daemon from the policy (plus room for learned hard links). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_secret_key);
	__type(value, struct tw_secret_val);
	__uint(max_entries, 65536);
} secrets SEC(".maps");

/* Devices holding a protected directory: only their files need the parent walk. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1024);
} secret_devs SEC(".maps");

/* The secret for identity k: the file itself (depth 0), or a protected directory above it. */
static __always_inline struct tw_secret_val *secret_at(const struct tw_secret_key *k, int depth)
{
	struct tw_secret_val *v = bpf_map_lookup_elem(&secrets, k);

	return v && (!depth || v->is_dir) ? v : NULL;
}

/* Does the filesystem dev hold a protected directory (is a parent walk needed)? */
static __always_inline bool secret_dev_walks(__u32 dev)
{
	return bpf_map_lookup_elem(&secret_devs, &dev) != NULL;
}

/*
 * Who owns a file protected by v (NULL: nothing found; too_deep: the walk
 * ran out on a protected filesystem, which refuses rather than guesses) for
 * a caller of tier d->tier: sets d->target and d->rule. No side effects.
 */
static __always_inline int file_owner(const struct tw_secret_val *v, bool too_deep,
				      struct decision *d)
{
	if (!v && !too_deep)
		return OWNER_NONE;
	d->target = v ? v->tier : 0;
	d->rule = v ? v->secret : TW_SECRET_TOO_DEEP;
	return v && v->tier == d->tier ? OWNER_SELF : OWNER_OTHER;
}

#endif
