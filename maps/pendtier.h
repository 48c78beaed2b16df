/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pending pods, shared by BPF and userspace. The pods' roots (kubepods,
 * libpod_parent, ...) carry a tag of tier TW_TIER_PENDING in cgroup_tiers,
 * and every pod the daemon has placed a tag of its own below it: its tier,
 * or TW_TIER_NONE (explicitly untiered). A cgroup whose nearest tag is a
 * root's is pending: no destination, name or secret is ever owned by this
 * tier id, so the hooks refuse it every tier's, with no code of their own.
 * Self-protection does not count it as a tier (protect.bpf.h: tiered()).
 */
#ifndef TW_PENDTIER_H
#define TW_PENDTIER_H

/* Above every real tier (1..TW_MAX_TIERS), still a __u8 in the records. */
#define TW_TIER_PENDING		255

#endif
