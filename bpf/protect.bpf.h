/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for protect.bpf.c: who tierwalld is, the tier of any cgroup
 * (not only the caller's), the tamper record, and the daemon's own files.
 */
#ifndef TW_PROTECT_BPF_H
#define TW_PROTECT_BPF_H

#include "tier.bpf.h"

#define FMODE_WRITE		0x2
#define S_IFMT			00170000
#define S_IFBLK			0060000
#define S_IFCHR			0020000
#define S_IFDIR			0040000
#define CGROUP2_SUPER_MAGIC	0x63677270
#define PROC_SUPER_MAGIC	0x9fa0
#define SYSFS_MAGIC		0x62656572
#define SECURITYFS_MAGIC	0x73636673
#define TRACEFS_MAGIC		0x74726163
#define DEBUGFS_MAGIC		0x64626720
#define BPF_FS_MAGIC		0xcafe4a11
#define CLONE_INTO_CGROUP	0x200000000ULL
#define PTRACE_MODE_NOAUDIT	0x04
#define MS_REMOUNT		32
#define MS_BIND			4096
#define MS_MOVE			8192
#define MS_PROPAGATION		((1 << 17) | (1 << 18) | (1 << 19) | (1 << 20))
#define MS_REC_SILENT		(16384 | 32768)
#define MNT_SHARED		0x1000
#define CGRP_ROOT_NS_DELEGATE	(1 << 3)
#define CAP_DAC_OVERRIDE	1
#define KDEV_MEM		(1 << 20 | 1)	/* /dev/mem, /dev/kmem, /dev/port: major 1 */
#define KDEV_KMEM		(1 << 20 | 2)
#define KDEV_PORT		(1 << 20 | 4)
#define GUARD_WALK		16	/* parents looked at for a guarded directory above a mount point */
#define FS_IOC_SETFLAGS		0x40086602	/* chattr: +i, +a ... */
#define FS_IOC32_SETFLAGS	0x40046602
#define FS_IOC_FSSETXATTR	0x401c5820

/* Who tierwalld is (struct tw_guard), set by the daemon through tw_guard_set. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_guard);
	__uint(max_entries, 1);
} guard SEC(".maps");

/* The daemon's files and directories and those above them: (dev, ino) -> TW_GUARD_*. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_secret_key);
	__type(value, __u32);
	__uint(max_entries, 256);
} guarded SEC(".maps");

/* Filesystems that hold a guarded file or directory: no remount. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 64);
} guarded_devs SEC(".maps");

/* kernfs_node lost .parent for .__parent in 6.15 (RCU-protected). */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

/* ---- who is who ---- */

static __always_inline struct tw_guard *guard_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&guard, &zero);
}

/* The running tierwalld, not a process that reuses its pid. */
static __always_inline bool is_daemon(struct task_struct *p, const struct tw_guard *g)
{
	if (!g || !g->tgid || p->tgid != g->tgid)
		return false;
	return p->group_leader->start_boottime == g->start_ns;
}

/*
 * A tiered caller, d->tier set; tierwalld itself is never judged. A pending
 * caller is not tiered here: the agent's own pod starts pending whenever no
 * agent runs, and must still load its programs and take over.
 */
static __always_inline bool tiered(struct decision *d)
{
	caller_tier(d);
	if (d->tier == TW_TIER_NONE || d->tier == TW_TIER_PENDING)
		return false;
	return !is_daemon(bpf_get_current_task_btf(), guard_get());
}

/* Tier of a cgroup (not the caller's): the one tier_of(), as it judges the caller. */
static __always_inline __u32 cgroup_tier(struct cgroup *cg, __u64 *tagged)
{
	struct decision t = {};

	if (!cg)
		return TW_TIER_NONE;
	tier_of(TIER_CGROUP, cg, &t);
	*tagged = t.tagged;
	return t.tier;
}

/* Is cg the cgroup with this id, or below it? */
static __always_inline bool cgroup_within(struct cgroup *cg, __u64 id)
{
	__u64 off = bpf_core_field_offset(struct cgroup, ancestors);
	int i, level = BPF_CORE_READ(cg, level);

	for (i = 0; i < TW_MAX_LEVELS && i <= level; i++) {
		struct cgroup *a = NULL;

		bpf_probe_read_kernel(&a, sizeof(a), (void *)((unsigned long)cg + off + i * sizeof(a)));
		if (a && BPF_CORE_READ(a, kn, id) == id)
			return true;
	}
	return false;
}

static __always_inline struct cgroup *task_cgroup(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp);
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(struct kernfs_node___new, __parent))
		return BPF_CORE_READ((struct kernfs_node___new *)kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___old *)kn, parent);
}

/* The cgroup a cgroup2 file or directory belongs to. */
static __always_inline struct cgroup *inode_cgroup(struct inode *inode)
{
	struct kernfs_node *kn = BPF_CORE_READ(inode, i_private);

	if ((BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFDIR)
		kn = kn_parent(kn);
	return kn ? BPF_CORE_READ(kn, priv) : NULL;
}

/* ---- the record ---- */

struct attempt {
	struct dentry *dn;	/* the file, directory or mount point, if any */
	__u64 cgroup_id;	/* the target's cgroup, if any */
	__u32 pid;
	__u32 arg;
	__u8 op;
	__u8 how;
};

static __always_inline void emit(const struct decision *d, const struct attempt *a)
{
	/* Not BPF_CORE_READ(a->dn, ...): that would relocate struct attempt too. */
	struct dentry *dn = a->dn;
	struct inode *inode = dn ? BPF_CORE_READ(dn, d_inode) : NULL;
	struct tw_flood_key k = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.kind = TW_EV_TAMPER,
		.port_or_op = a->op,
	};
	struct tw_tamper_event *e;
	__u64 ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	__u32 dev = dn ? BPF_CORE_READ(dn, d_sb, s_dev) : 0;
	__u32 n;

	__builtin_memcpy(k.target, &dev, 4);
	__builtin_memcpy(k.target + 4, &a->pid, 4);
	__builtin_memcpy(k.target + 8, dn ? (void *)&ino : (void *)&a->cgroup_id, 8);
	if (flood_fold(&k, &n))
		return;
	e = event_start(sizeof(*e), TW_EV_TAMPER, d);
	if (!e) {
		count_n(CNT_RB_DROP, n - 1);
		return;
	}
	e->h.count = n;
	e->h.aggregated = n > 1;
	e->op = a->op;
	e->how = a->how;
	e->target_pid = a->pid;
	e->target_cgroup_id = a->cgroup_id;
	e->dev = dev;
	e->arg = a->arg;
	e->ino = ino;
	e->nparts = 0;
	e->complete = 0;
	if (dn)
		dentry_names(dn, e->names, &e->nparts, &e->complete);
	flood_remember(&k, e);
	event_submit(e);
}

/* Refuse (or, for a tier in audit mode, allow) and say so. */
static __always_inline int refuse(struct decision *d, const struct attempt *a)
{
	decide(d);
	emit(d, a);
	return d->verdict == TW_VERDICT_AUDIT ? 0 : deny();
}

/* ---- the daemon's files ---- */

static __always_inline __u32 guard_flags(struct inode *inode)
{
	struct tw_secret_key k = {};
	__u32 *f;

	if (!inode)
		return 0;
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.ino = BPF_CORE_READ(inode, i_ino);
	f = bpf_map_lookup_elem(&guarded, &k);
	return f ? *f : 0;
}

/* Does changing dn touch the daemon's files: dn itself (self) or its directory? */
static __always_inline bool touches_guarded(struct dentry *dn, __u32 self)
{
	struct dentry *p = BPF_CORE_READ(dn, d_parent);

	if (guard_flags(BPF_CORE_READ(dn, d_inode)) & self)
		return true;
	return p && p != dn && (guard_flags(BPF_CORE_READ(p, d_inode)) & TW_GUARD_CHILDREN);
}

/* A mount on dn would cover the daemon's files: dn is one, above one, or below a guarded directory. */
static __always_inline bool covers_guarded(struct dentry *dn)
{
	int i;

	if (guard_flags(BPF_CORE_READ(dn, d_inode)))
		return true;
	for (i = 0; i < GUARD_WALK; i++) {
		struct dentry *p = BPF_CORE_READ(dn, d_parent);

		if (!p || p == dn)
			return false;
		dn = p;
		if (guard_flags(BPF_CORE_READ(dn, d_inode)) & TW_GUARD_CHILDREN)
			return true;
	}
	return false;
}

static __always_inline int judge_dentry(struct dentry *dn, __u32 self, int op)
{
	struct attempt a = { .dn = dn, .op = op };
	struct decision d = {};

	if (!dn || !tiered(&d) || !touches_guarded(dn, self))
		return 0;
	return refuse(&d, &a);
}

/* New names in a guarded directory (planting a symlink where the daemon will write). */
static __always_inline int judge_create(struct inode *dir, struct dentry *dn)
{
	struct attempt a = { .dn = dn, .op = TW_TAMPER_CREATE };
	struct decision d = {};

	if (!tiered(&d) || !(guard_flags(dir) & TW_GUARD_CHILDREN))
		return 0;
	return refuse(&d, &a);
}

#endif
