/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for files.bpf.c: what protects a dentry reached through a
 * mount. By identity, never by path string: the inode itself; a protected
 * directory or a watched name among its parents on the same filesystem (the
 * parent walk); else the same for the point each mount above it is mounted
 * on. One answer per inode and mount is cached until protection may have
 * moved (runtime.file_gen).
 */
#ifndef TW_MATCH_BPF_H
#define TW_MATCH_BPF_H

#include "level.bpf.h"

/*
 * Per inode: the last answer for it (valid while runtime.file_gen is
 * unchanged and for the same mount), and what it learned when it arrived
 * at a watched name (valid for as long as the inode lives).
 */
struct istate {
	__u64 gen;
	__u64 mnt;
	struct tw_secret_val v;
	__u8 state;		/* enum match_state */
	__u8 why;
	__u8 learned;		/* lv holds: it arrived at a watched name */
	__u8 pad[5];
	struct tw_secret_val lv;
};

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct istate);
} istate SEC(".maps");

/* The parent walk, one level per bpf_loop step (verified once, not per level). */
struct walk {
	__u64 c;		/* the dentry whose parent is looked at next */
	__u64 root;		/* its filesystem's root dentry */
	struct match m;
	__u8 stale;		/* some name is stale: look up names on the way too */
	__u8 done;
};

static long walk_step(__u32 i, struct walk *w)
{
	struct dentry *c = (void *)w->c, *p = BPF_CORE_READ(c, d_parent);
	struct tw_fname_val *n;
	struct tw_secret_val *v;
	struct tw_secret_key k;
	struct inode *dir;
	bool names;

	if (!p || p == c) {
		/* The top: the filesystem's root, or a dentry cut off from it. */
		w->m.state = w->c == w->root ? M_NONE : M_DISCONNECTED;
		w->done = 1;
		return 1;
	}
	dir = BPF_CORE_READ(p, d_inode);
	v = NULL;
	n = NULL;
	if (dir) {
		inode_key(dir, &k);
		v = level_dir(&k, BPF_CORE_READ(dir, i_generation), false, w->stale, &names);
		if (names)
			n = name_in(&k, c);
	}
	if (level_protects(v, n, &w->m)) {
		w->done = 1;
		return 1;
	}
	w->c = (__u64)p;
	return 0;
}

/*
 * What protects the dentry at d on its own filesystem: its inode, or its
 * parents and their names. Global (not inlined, verified once for all its
 * callers): d is an address read with probes, m its caller's answer.
 */
__noinline int tw_match_sb(__u64 d, struct match *m)
{
	struct dentry *dn = (void *)d;
	struct super_block *sb;
	struct tw_secret_val *v;
	struct walk w = {};
	__u32 dev;

	if (!m)
		return 0;
	__builtin_memset(m, 0, sizeof(*m));	/* M_NONE, and no stale bytes for the cache */
	if (!dn)
		return 0;
	sb = BPF_CORE_READ(dn, d_sb);
	v = lookup_inode(BPF_CORE_READ(dn, d_inode));
	if (v && entry_protects(v, m))
		return 0;
	dev = BPF_CORE_READ(sb, s_dev);
	if (!bpf_map_lookup_elem(&secret_devs, &dev))
		return 0;
	w.c = d;
	w.root = (__u64)BPF_CORE_READ(sb, s_root);
	w.stale = any_stale();
	bpf_loop(TW_MAX_DEPTH, walk_step, &w, 0);
	if (!w.done) {
		m->state = M_DEEP;
		return 0;
	}
	*m = w.m;
	return 0;
}

static __always_inline void match_sb(struct dentry *d, struct match *m)
{
	tw_match_sb(addr_of(d), m);
}

/*
 * The same through the mount d was reached by: a filesystem mounted on or
 * below a protected path (in this mount namespace) is protected too. One
 * mounted before a rule saw it, in another namespace, was learned when it
 * was mounted (files.bpf.c), so its own root protects it.
 */
static __always_inline void match_path(struct dentry *d, struct vfsmount *mnt, struct match *m)
{
	struct mount *mt;
	int i;

	match_sb(d, m);
	if (m->state != M_NONE || !mnt)
		return;
	mt = (void *)((unsigned long)mnt - bpf_core_field_offset(struct mount, mnt));
	for (i = 0; i < TW_MNT_DEPTH; i++) {
		struct mount *parent = BPF_CORE_READ(mt, mnt_parent);

		if (!parent || parent == mt)
			return;	/* the namespace's root, or a detached tree */
		match_sb(BPF_CORE_READ(mt, mnt_mountpoint), m);
		if (m->state != M_NONE)
			return;
		mt = parent;
	}
	m->state = M_UNPLACED;
}

/* match_path() through the inode's cache; d must be the kernel's own pointer. */
static __always_inline void match_cached(struct dentry *d, struct vfsmount *mnt, struct match *m)
{
	struct tw_runtime *rt = runtime_get();
	struct inode *inode = d->d_inode;
	struct istate *st = NULL;
	__u64 gen = rt ? rt->file_gen : 0;

	if (inode)
		st = bpf_inode_storage_get(&istate, inode, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (st && st->learned && entry_protects(&st->lv, m))
		return;
	/* gen + 1: a fresh entry (gen 0) never looks valid. */
	if (st && st->gen == gen + 1 && st->mnt == (__u64)mnt) {
		m->state = st->state;
		m->v = st->v;
		return;
	}
	match_path(d, mnt, m);
	/* A disconnected dentry says nothing about the inode's other, connected names. */
	if (st && m->state != M_DISCONNECTED) {
		st->gen = gen + 1;
		st->mnt = (__u64)mnt;
		st->state = m->state;
		st->v = m->v;
	}
}

#endif
