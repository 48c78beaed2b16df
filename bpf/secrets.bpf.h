/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for files.bpf.c and explain.bpf.c: the secret-file maps, a
 * file's identity as stat() reports it, and the names rules watch (a rule
 * is "whatever this path names": the names on its way, in their
 * directories, are watched). No local storage here: explain loads where
 * BPF LSM does not.
 */
#ifndef TW_SECRETS_BPF_H
#define TW_SECRETS_BPF_H

#include "tier.bpf.h"

#define EEXIST			17
#define FMODE_EXEC		0x20
#define S_IFMT			00170000
#define S_IFDIR			0040000
#define BTRFS_SUPER_MAGIC	0x9123683e
/* Index reported when nothing in the policy matched (too deep, unplaced). */
#define TW_SECRET_NONE		0xffffffffu

/* Sized by the daemon from the policy, with room for what the kernel learns. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_secret_key);
	__type(value, struct tw_secret_val);
	__uint(max_entries, 65536);
} secrets SEC(".maps");

/* Filesystems (superblock dev) holding a protected directory or watched names: walked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4096);
} secret_devs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_fname_key);
	__type(value, struct tw_fname_val);
	__uint(max_entries, 4096);
} fnames SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_name_state);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 4096);
} name_state SEC(".maps");

/* btrfs: stat() reports the subvolume's own anonymous device. */
struct btrfs_root___tw {
	dev_t anon_dev;
} __attribute__((preserve_access_index));

struct btrfs_inode___tw {
	struct btrfs_root___tw *root;
	struct inode vfs_inode;
} __attribute__((preserve_access_index));

/*
 * A kernel pointer as a plain number, for a global function (6.1 takes no
 * BTF pointers there): read back through a probe, the verifier forgets
 * its type.
 */
static __always_inline __u64 addr_of(const void *p)
{
	__u64 a = 0;

	bpf_probe_read_kernel(&a, sizeof(a), &p);
	return a;
}

static __always_inline struct tw_runtime *runtime_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&runtime, &zero);
}

/* Protection may have moved (rename, link, mount, new secret): drop every cached answer. */
static __always_inline void bump_gen(void)
{
	struct tw_runtime *rt = runtime_get();

	if (rt)
		__sync_fetch_and_add(&rt->file_gen, 1);
}

/*
 * The device stat() reports for inode: its filesystem's, or on btrfs its
 * subvolume's (the btrfs module's BTF must be there when the object loads;
 * without it every subvolume shares the filesystem's device: fail closed).
 */
static __always_inline __u32 inode_dev(struct inode *inode)
{
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);
	__u32 dev = BPF_CORE_READ(sb, s_dev);

	if (bpf_core_type_exists(struct btrfs_inode___tw) &&
	    BPF_CORE_READ(sb, s_magic) == BTRFS_SUPER_MAGIC) {
		struct btrfs_inode___tw *bi = (void *)((unsigned long)inode -
			bpf_core_field_offset(struct btrfs_inode___tw, vfs_inode));

		dev = BPF_CORE_READ(bi, root, anon_dev);
	}
	return dev;
}

static __always_inline void inode_key(struct inode *inode, struct tw_secret_key *k)
{
	k->dev = inode_dev(inode);
	k->pad = 0;
	k->ino = BPF_CORE_READ(inode, i_ino);
}

static __always_inline bool is_dir(struct inode *inode)
{
	return (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFDIR;
}

/*
 * The secrets entry for identity k, if it is really that inode: an entry
 * made with the inode's i_generation (igen) holds only for it, not for a
 * reused number. any_gen: igen could not be read (explain, on a filesystem
 * that does not tell it): the entry holds.
 */
static __always_inline struct tw_secret_val *entry_at(const struct tw_secret_key *k, __u32 igen,
						      bool any_gen)
{
	struct tw_secret_val *v = bpf_map_lookup_elem(&secrets, k);

	if (v && !any_gen && (v->flags & (TW_SV_KERNEL | TW_SV_IGEN)) && v->igen != igen)
		return NULL;	/* the number was freed and reused */
	return v;
}

/* The secrets entry for inode, if it is really that inode. */
static __always_inline struct tw_secret_val *lookup_inode(struct inode *inode)
{
	struct tw_secret_key k;

	if (!inode)
		return NULL;
	inode_key(inode, &k);
	return entry_at(&k, BPF_CORE_READ(inode, i_generation), false);
}

static __always_inline struct tw_name_state *nstate(__u32 slot)
{
	return bpf_map_lookup_elem(&name_state, &slot);
}

static __always_inline bool slot_stale(__u32 slot)
{
	struct tw_name_state *st = nstate(slot);

	return st && st->changed != st->resolved;
}

/* Is any watched name waiting for the daemon? (slot 0 sums them all) */
static __always_inline bool any_stale(void)
{
	return slot_stale(0);
}

/* A change at a watched name: the daemon re-resolves what passes through it. */
static __always_inline void name_changed(const struct tw_fname_val *n)
{
	struct tw_name_state *st = nstate(n->slot), *all = nstate(0);

	if (st)
		__sync_fetch_and_add(&st->changed, 1);
	if (all)
		__sync_fetch_and_add(&all->changed, 1);
	bump_gen();	/* cached answers under the name may no longer hold */
}

/* The watched name d has in its parent dir (whose key is given), if any. */
static __always_inline struct tw_fname_val *name_in(const struct tw_secret_key *dir, struct dentry *d)
{
	struct tw_fname_key k;

	__builtin_memset(&k, 0, sizeof(k));
	k.dir = *dir;
	bpf_probe_read_kernel_str(k.name, sizeof(k.name), BPF_CORE_READ(d, d_name.name));
	return bpf_map_lookup_elem(&fnames, &k);
}

/* The watched name of dentry d itself (in its parent directory), if any. */
static __always_inline struct tw_fname_val *name_of(struct dentry *d)
{
	struct dentry *p = BPF_CORE_READ(d, d_parent);
	struct inode *dir;
	struct tw_secret_key k;
	struct tw_secret_val *pv;

	if (!p || p == d)
		return NULL;
	dir = BPF_CORE_READ(p, d_inode);
	if (!dir)
		return NULL;
	inode_key(dir, &k);
	pv = bpf_map_lookup_elem(&secrets, &k);
	if (!pv || !(pv->flags & (TW_SV_NAMES | TW_SV_NAMES_PATH)))
		return NULL;
	return name_in(&k, d);
}

#endif
