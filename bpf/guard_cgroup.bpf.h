/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for protect.bpf.c: a cgroup's files written by a tiered
 * caller (only its own tier's, and moving tasks only where it cannot pull
 * one in from outside its tier) and cgroup directories of other tiers.
 */
#ifndef TW_GUARD_CGROUP_BPF_H
#define TW_GUARD_CGROUP_BPF_H

#include "protect.bpf.h"

/*
 * Could this caller move a task in from outside its tier? Migration needs
 * write access to the common ancestor's cgroup.procs, above the tier, which
 * root owns: fsuid 0, or CAP_DAC_OVERRIDE (in any user namespace: one that
 * maps uid 0 gives it over root's files), unless the caller sits in a cgroup
 * namespace rooted inside its tier on an nsdelegate mount, where the kernel
 * refuses moves across the namespace root. (chown and chmod of those files
 * are refused to it: see judge_cgroup_dentry.)
 */
static __always_inline bool could_pull(struct cgroup *target, const struct decision *d, int how)
{
	struct task_struct *t = bpf_get_current_task_btf();
	const struct cred *c = BPF_CORE_READ(t, cred);
	__u64 caps = 0, off = bpf_core_field_offset(struct cred, cap_effective);
	struct cgroup *ns_root;

	/* kernel_cap_t is u32[2] before 6.3 and u64 since: the same 8 bytes on little endian. */
	bpf_probe_read_kernel(&caps, sizeof(caps), (void *)((unsigned long)c + off));
	if (BPF_CORE_READ(c, fsuid.val) && !(caps & (1ULL << CAP_DAC_OVERRIDE)))
		return false;
	if (how != TW_HOW_OPEN || !(BPF_CORE_READ(target, root, flags) & CGRP_ROOT_NS_DELEGATE))
		return true;
	ns_root = BPF_CORE_READ(t, nsproxy, cgroup_ns, root_cset, dfl_cgrp);
	return !ns_root || !cgroup_within(ns_root, d->tagged);
}

static __always_inline bool name_is(struct dentry *dn, const char *want, int len)
{
	char name[16] = {};
	int i;

	if (BPF_CORE_READ(dn, d_name.len) != len)
		return false;
	bpf_probe_read_kernel(name, len < 15 ? len : 15, BPF_CORE_READ(dn, d_name.name));
	for (i = 0; i < 15 && i < len; i++)
		if (name[i] != want[i])
			return false;
	return true;
}

/* Writing a file of a cgroup: only of the caller's tier, and moving tasks only where it cannot pull. */
static __always_inline int judge_cgroup_file(struct file *file, struct decision *d, int how)
{
	struct dentry *dn = BPF_CORE_READ(file, f_path.dentry);
	struct cgroup *cg = inode_cgroup(BPF_CORE_READ(file, f_inode));
	struct attempt a = { .dn = dn, .op = TW_TAMPER_CGROUP_WRITE, .how = how };
	__u64 tagged = 0;

	if (!cg)
		return 0;
	a.cgroup_id = BPF_CORE_READ(cg, kn, id);
	d->target = cgroup_tier(cg, &tagged);
	if (d->target != d->tier)
		return refuse(d, &a);
	if ((name_is(dn, "cgroup.procs", 12) || name_is(dn, "cgroup.threads", 14)) &&
	    could_pull(cg, d, how)) {
		a.how = TW_HOW_MIGRATE;
		return refuse(d, &a);
	}
	return 0;
}

/*
 * A cgroup directory or file of another tier, changed some other way than
 * written: removed (its tag goes with it), or chown/chmod (to write it, or
 * to gain write access above the tier).
 */
static __always_inline int judge_cgroup_dentry(struct dentry *dn, struct decision *d,
					       struct attempt *a)
{
	struct cgroup *cg;
	__u64 tagged = 0;

	if (BPF_CORE_READ(dn, d_sb, s_magic) != CGROUP2_SUPER_MAGIC)
		return 0;
	cg = inode_cgroup(BPF_CORE_READ(dn, d_inode));
	if (!cg)
		return 0;
	d->target = cgroup_tier(cg, &tagged);
	if (d->target == d->tier)
		return 0;
	a->op = TW_TAMPER_CGROUP_WRITE;
	a->cgroup_id = BPF_CORE_READ(cg, kn, id);
	return refuse(d, a);
}

#endif
