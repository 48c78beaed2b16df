/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for protect.bpf.c: root's ways out through files (/proc/sys,
 * /sys/kernel, /sys/module, securityfs, tracefs, debugfs, /proc/kcore, raw
 * storage and kernel memory), judged by what a file is, not its path.
 */
#ifndef TW_GUARD_FILE_BPF_H
#define TW_GUARD_FILE_BPF_H

#include "protect.bpf.h"
#include "guard_cgroup.bpf.h"	/* name_is, and a cgroup's own files */

/* The name of the top directory under a pseudo filesystem's root, and of the one below it. */
static __always_inline int top_names(struct dentry *dn, struct dentry **top, struct dentry **second)
{
	int i;

	*top = *second = NULL;
	for (i = 0; i < 12; i++) {
		struct dentry *p = BPF_CORE_READ(dn, d_parent);

		if (!p || p == dn)
			return 0;
		if (BPF_CORE_READ(p, d_parent) == p) {
			*top = dn;
			return 0;
		}
		*second = dn;
		dn = p;
	}
	return -1;	/* deeper than any file judged here */
}

static __always_inline __u32 current_net_ns(void)
{
	return BPF_CORE_READ(bpf_get_current_task_btf(), nsproxy, net_ns, ns.inum);
}

/*
 * Writes to /proc/sys, except net.* opened in a network namespace of the
 * caller's own (those are that namespace's). A received or pre-opened
 * descriptor may be the host's: only a fresh open counts.
 */
static __always_inline bool is_sysctl_write(struct dentry *dn, int how)
{
	struct dentry *top, *second;
	struct tw_guard *g;

	if (top_names(dn, &top, &second) || !top || !name_is(top, "sys", 3))
		return false;
	if (how != TW_HOW_OPEN || !second || !name_is(second, "net", 3))
		return true;
	g = guard_get();
	return !g || !g->net_ns || current_net_ns() == g->net_ns;
}

/* /sys/kernel (uevent_helper, ...), /sys/module (parameters). */
static __always_inline bool is_sysfs_kernel(struct dentry *dn)
{
	struct dentry *top, *second;

	if (top_names(dn, &top, &second) || !top)
		return false;
	return name_is(top, "kernel", 6) || name_is(top, "module", 6);
}

static __always_inline bool is_kcore(struct dentry *dn)
{
	struct dentry *p = BPF_CORE_READ(dn, d_parent);

	return p && BPF_CORE_READ(p, d_parent) == p && name_is(dn, "kcore", 5);
}

/* Opened in any mode: raw storage, physical and kernel memory, kernel tracing. */
static __always_inline int any_mode_op(struct inode *inode, __u64 magic, umode_t mode)
{
	dev_t rdev;

	if ((mode & S_IFMT) == S_IFBLK)
		return TW_TAMPER_RAW_DEVICE;
	if ((mode & S_IFMT) == S_IFCHR) {
		rdev = inode->i_rdev;
		if (rdev == KDEV_MEM || rdev == KDEV_KMEM || rdev == KDEV_PORT)
			return TW_TAMPER_RAW_DEVICE;
	}
	if (magic == TRACEFS_MAGIC || magic == DEBUGFS_MAGIC)
		return TW_TAMPER_KERNEL_FILE;
	return 0;
}

/* A file opened (or received) by a tiered process, judged by what it is. */
static __always_inline int judge_file(struct file *file, int how)
{
	/* Direct BTF loads, not helper calls: every open by everyone comes here. */
	struct inode *inode = file->f_inode;
	struct dentry *dn = file->f_path.dentry;
	__u64 magic = inode->i_sb->s_magic;
	bool wr = file->f_mode & FMODE_WRITE;
	int op = any_mode_op(inode, magic, inode->i_mode);
	struct attempt a = { .dn = dn, .how = how };
	struct decision d = {};

	/* Cheapest first: a read of an ordinary file stops here (one array load for the seal key). */
	if (!wr && !op && magic != PROC_SUPER_MAGIC && !is_sealed(inode))
		return 0;
	if (!tiered(&d))
		return 0;
	if (op) {
		a.op = op;
		return refuse(&d, &a);
	}
	if (magic == PROC_SUPER_MAGIC) {
		if (is_kcore(dn))
			a.op = TW_TAMPER_KERNEL_FILE;
		else if (wr && is_sysctl_write(dn, how))
			a.op = TW_TAMPER_SYSCTL;
		return a.op ? refuse(&d, &a) : 0;
	}
	if (magic == CGROUP2_SUPER_MAGIC)
		return judge_cgroup_file(file, &d, how);
	if ((magic == SYSFS_MAGIC && is_sysfs_kernel(dn)) || magic == SECURITYFS_MAGIC)
		a.op = TW_TAMPER_KERNEL_FILE;
	else if (is_sealed(inode))
		a.op = TW_TAMPER_OPEN;	/* reading it gives every later epoch's key */
	else if (wr && touches_guarded(dn, TW_GUARD_SELF))
		a.op = TW_TAMPER_WRITE;
	return a.op ? refuse(&d, &a) : 0;
}

#endif
