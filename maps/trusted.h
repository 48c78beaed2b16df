/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Self-protection of the files the daemon trusts (bpf/protect.bpf.h,
 * user/daemon/trusted.c), beside the TW_GUARD_* flags of tierwall.h: the
 * names a trusted path resolves through, and the one file no tiered process
 * opens at all (the seal key).
 */
#ifndef TW_MAPS_TRUSTED_H
#define TW_MAPS_TRUSTED_H

#include "tierwall.h"

/*
 * guarded flag: a directory whose subdirectories are guarded as it is
 * (TW_GUARD_CHILDREN one level further down): a ConfigMap volume, where
 * the kubelet writes the next ..TIMESTAMP directory before it swaps ..data.
 */
#define TW_GUARD_TREE		8

/*
 * guarded_names: (directory, name) that a trusted path resolves through,
 * symlinks' targets included (struct tw_fname_key, as the secret rules'
 * fnames) -> 1. No tiered process creates, removes, renames or links at
 * one of these names, nor changes what is there.
 */
#define TW_GUARDED_NAMES	512

/* sealed[0]: the seal key, which no tiered process opens at all (dev 0: none). */
struct tw_sealed {
	__u32 dev;
	__u32 pad;
	__u64 ino;
};

#endif
