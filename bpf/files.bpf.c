// SPDX-License-Identifier: GPL-2.0
/*
 * Secret files: BPF LSM programs that keep a tiered process away from what
 * another tier's rules name (match.bpf.h: by identity, never by path
 * string, so symlinks, hard links, bind mounts, /proc/self/fd reopens,
 * openat2 flags, relative paths and renames all meet the same rule), and
 * keep the rules naming the right thing while files, names and mounts
 * change: a rule is "whatever this path names". Whoever renames, links or
 * creates at a watched name, the kernel learns the inode that arrives
 * before the call returns and tells the daemon (name_state), which
 * re-resolves; until it has, what lies behind a changed name on a rule's
 * way is refused to other tiers. A filesystem mounted on or below a
 * protected path is learned as it is mounted. Unix sockets in protected
 * directories are judged at connect and send. The judging and learning
 * helpers are in files.bpf.h; here are the hooks.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "files.bpf.h"

#define MS_REMOUNT		32
#define MS_PROPAGATION		((1 << 17) | (1 << 18) | (1 << 19) | (1 << 20))
#define MS_REC_SILENT		(16384 | 32768)

/* A mount(2) onto a protected path, from sb_mount to sb_kern_mount in the same task. */
struct pending_mount {
	struct tw_secret_val v;
	__u32 set;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct pending_mount);
} mount_pending SEC(".maps");

SEC("lsm/file_open")
int BPF_PROG(tw_file_open, struct file *file)
{
	/* Exec opens carry __FMODE_EXEC in f_flags (f_mode gets FMODE_EXEC later). */
	int exec = (BPF_CORE_READ(file, f_flags) | BPF_CORE_READ(file, f_mode)) & FMODE_EXEC;

	return judge(file->f_path.dentry, file->f_path.mnt, exec ? TW_OP_EXEC : TW_OP_OPEN);
}

SEC("lsm/file_receive")
int BPF_PROG(tw_file_receive, struct file *file)
{
	return judge(file->f_path.dentry, file->f_path.mnt, TW_OP_RECEIVE);
}

SEC("lsm/inode_unlink")
int BPF_PROG(tw_inode_unlink, struct inode *dir, struct dentry *dentry)
{
	int err = judge_change(dentry, TW_OP_UNLINK);

	if (!err)
		touch_name(dentry);
	return err;
}

SEC("lsm/inode_rmdir")
int BPF_PROG(tw_inode_rmdir, struct inode *dir, struct dentry *dentry)
{
	int err = judge_change(dentry, TW_OP_UNLINK);

	if (!err)
		touch_name(dentry);
	return err;
}

/* New names: at a watched name, or in a protected directory, are the owner's to make. */
static __always_inline int judge_create(struct dentry *dn)
{
	int err = judge_change(dn, TW_OP_CREATE);

	if (!err)
		touch_name(dn);
	return err;
}

SEC("lsm/inode_create")
int BPF_PROG(tw_inode_create, struct inode *dir, struct dentry *dentry, umode_t mode)
{
	return judge_create(dentry);
}

SEC("lsm/inode_mkdir")
int BPF_PROG(tw_inode_mkdir, struct inode *dir, struct dentry *dentry, umode_t mode)
{
	return judge_create(dentry);
}

SEC("lsm/inode_symlink")
int BPF_PROG(tw_inode_symlink, struct inode *dir, struct dentry *dentry, const char *old_name)
{
	return judge_create(dentry);
}

SEC("lsm/inode_mknod")
int BPF_PROG(tw_inode_mknod, struct inode *dir, struct dentry *dentry, umode_t mode, dev_t dev)
{
	return judge_create(dentry);
}

/*
 * Moving or renaming a secret, overwriting one, moving into a protected
 * directory, or to or from a watched name (RENAME_EXCHANGE calls this once
 * per direction). The inode arriving at a watched name is learned before
 * it gets there, so no open in between finds it unprotected.
 */
SEC("lsm/inode_rename")
int BPF_PROG(tw_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry)
{
	struct inode *moving = old_dentry->d_inode;
	struct tw_fname_val *n;
	int err = judge_change(old_dentry, TW_OP_RENAME);

	if (!err)
		err = judge_change(new_dentry, TW_OP_RENAME);
	if (err)
		return err;
	touch_name(old_dentry);
	n = touch_name(new_dentry);
	if (n && moving && arrive(moving, n, false))
		return deny();	/* no room to learn it: a name we could not protect must not change */
	/* Whoever does it, a rename that touches protection moves what the cache knows. */
	if (protected_sb(old_dentry) || protected_sb(new_dentry))
		bump_gen();
	return 0;
}

SEC("lsm/path_truncate")
int BPF_PROG(tw_path_truncate, const struct path *path)
{
	return judge_change(path->dentry, TW_OP_TRUNCATE);
}

/* The hook gained an idmap argument in 6.3: the loader keeps the one that fits. */
SEC("lsm/inode_setattr")
int BPF_PROG(tw_inode_setattr, struct dentry *dentry, struct iattr *attr)
{
	return judge_change(dentry, TW_OP_SETATTR);
}

SEC("lsm/inode_setattr")
int BPF_PROG(tw_inode_setattr_idmap, void *idmap, struct dentry *dentry, struct iattr *attr)
{
	return judge_change(dentry, TW_OP_SETATTR);
}

/*
 * A hard link gives an inode a second name, perhaps outside its
 * directory. Refuse it to other tiers; when it is allowed and touches
 * protection (a secret, a protected directory, a watched name), remember
 * the inode itself, so every name of it is caught by identity.
 */
SEC("lsm/inode_link")
int BPF_PROG(tw_inode_link, struct dentry *old_dentry, struct inode *dir, struct dentry *new_dentry)
{
	struct inode *inode = old_dentry->d_inode;
	struct tw_secret_val v = {};
	struct tw_fname_val *n;
	struct match m;
	int err;

	err = judge_change(old_dentry, TW_OP_LINK);
	if (!err)
		err = judge_change(new_dentry, TW_OP_LINK);
	if (err || !inode)
		return err;
	n = touch_name(new_dentry);
	if (n)
		return arrive(inode, n, true) ? deny() : 0;
	match_sb(old_dentry, &m);
	if (m.state != M_SECRET)
		match_sb(new_dentry, &m);
	if (m.state != M_SECRET)
		return 0;
	v.secret = m.v.secret;
	v.tier = m.v.tier;
	/* No room to remember it: a name we could not protect must not exist. */
	return learn(inode, &v, true) ? deny() : 0;
}

/*
 * Following a symlink while a name on a rule's path is being re-resolved:
 * the symlink itself changed, or it lies behind a changed name. Until the
 * daemon knows where the path leads now, other tiers do not go there.
 */
SEC("lsm/inode_follow_link")
int BPF_PROG(tw_follow_link, struct dentry *dentry, struct inode *inode, bool rcu)
{
	struct tw_fname_val *n;
	struct decision d = {};
	struct match m;

	if (!any_stale())
		return 0;
	caller_tier(&d);
	if (d.tier == TW_TIER_NONE)
		return 0;
	n = name_of(dentry);
	if (n && slot_stale(n->slot)) {
		__builtin_memset(&m, 0, sizeof(m));
		m.state = M_STALE;
		m.v.secret = n->secret;
		m.v.tier = n->tier;
	} else {
		match_sb(dentry, &m);
		if (m.state != M_STALE)
			return 0;	/* the rest is judged when opened */
	}
	return verdict(dentry, TW_OP_FOLLOW, &d, &m);
}

/* ---- mounts ---- */

static __always_inline void pending_clear(void)
{
	struct pending_mount *pm = bpf_task_storage_get(&mount_pending, bpf_get_current_task_btf(), 0, 0);

	if (pm)
		pm->set = 0;
}

/*
 * A mount on or below a protected path (or on a name on a rule's way): a
 * tiered caller of another tier is refused; for anyone else, a new
 * filesystem's root is learned in sb_kern_mount, so it stays protected
 * wherever it is bind-mounted later, in any mount namespace. Binds and
 * moves are found by the mount walk where they are mounted.
 */
SEC("lsm/sb_mount")
int BPF_PROG(tw_sb_mount, const char *dev_name, const struct path *path, const char *type,
	     unsigned long flags, void *data)
{
	struct dentry *dn = path->dentry;
	struct pending_mount *pm;
	struct decision d = {};
	struct match m;
	int err;

	pending_clear();
	if ((flags & MS_REMOUNT) || (!(flags & ~(MS_PROPAGATION | MS_REC_SILENT)) &&
				     (flags & MS_PROPAGATION)))
		return 0;	/* nothing is mounted over anything */
	match_path(dn, path->mnt, &m);
	if (m.state == M_NONE) {
		/* On a name a rule passes through: what its path names may change. */
		touch_name(dn);
		bump_gen();	/* where mounts are changes what the mount walk finds */
		return 0;
	}
	caller_tier(&d);
	if (d.tier != TW_TIER_NONE) {
		err = verdict(dn, TW_OP_MOUNT, &d, &m);
		if (err)
			return err;
	}
	touch_name(dn);
	bump_gen();
	pm = bpf_task_storage_get(&mount_pending, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!pm)
		return deny();	/* a root we could not learn must not be mounted there */
	pm->v = m.v;
	if (m.state != M_SECRET && m.state != M_STALE) {
		pm->v.secret = TW_SECRET_NONE;
		pm->v.tier = 0;	/* nobody's: refused to every tier */
	}
	pm->v.flags = 0;
	pm->set = 1;
	return 0;
}

/* super_block.s_mounts: a list head until 6.x, then a pointer to the first mount. */
struct super_block___list {
	struct list_head s_mounts;
} __attribute__((preserve_access_index));

struct super_block___ptr {
	struct mount *s_mounts;
} __attribute__((preserve_access_index));

/* Mounted nowhere yet: a new filesystem, whose root is what the mount shows. */
static __always_inline bool sb_unmounted(const struct super_block *sb)
{
	unsigned long head;

	if (bpf_core_field_exists(struct super_block___ptr, s_mounts))
		return !BPF_CORE_READ((struct super_block___ptr *)sb, s_mounts);
	head = (unsigned long)sb + bpf_core_field_offset(struct super_block___list, s_mounts);
	return (unsigned long)BPF_CORE_READ((struct super_block___list *)sb, s_mounts.next) == head;
}

/* The superblock a mount(2) above is about to mount: learn its root. */
SEC("lsm/sb_kern_mount")
int BPF_PROG(tw_sb_kern_mount, const struct super_block *sb)
{
	struct pending_mount *pm = bpf_task_storage_get(&mount_pending, bpf_get_current_task_btf(), 0, 0);
	struct dentry *root = sb->s_root;
	struct decision d = {};
	struct match m = {};

	if (!pm || !pm->set)
		return 0;
	pm->set = 0;
	/*
	 * A filesystem mounted elsewhere already (a btrfs subvolume, a second
	 * mount of a device) is mounted with a root this hook does not see:
	 * it cannot be placed. Refused, whoever asks.
	 */
	if (!sb_unmounted(sb) || !root || !root->d_inode) {
		caller_tier(&d);
		m.state = M_UNPLACED;
		return verdict(root, TW_OP_MOUNT, &d, &m);
	}
	return learn(root->d_inode, &pm->v, true) ? deny() : 0;
}

/* fsmount() or open_tree() + move_mount(): the mount's root is known here. */
SEC("lsm/move_mount")
int BPF_PROG(tw_move_mount, const struct path *from_path, const struct path *to_path)
{
	struct dentry *to = to_path->dentry, *from = from_path->dentry;
	struct tw_secret_val v = {};
	struct decision d = {};
	struct match m;
	int err;

	pending_clear();
	bump_gen();
	match_path(to, to_path->mnt, &m);
	if (m.state == M_NONE)
		return 0;
	caller_tier(&d);
	if (d.tier != TW_TIER_NONE) {
		err = verdict(to, TW_OP_MOUNT, &d, &m);
		if (err)
			return err;
	}
	touch_name(to);
	if (m.state == M_SECRET || m.state == M_STALE) {
		v.secret = m.v.secret;
		v.tier = m.v.tier;
	} else {
		v.secret = TW_SECRET_NONE;
	}
	return from->d_inode && learn(from->d_inode, &v, true) ? deny() : 0;
}

SEC("lsm/sb_umount")
int BPF_PROG(tw_sb_umount, struct vfsmount *mnt, int flags)
{
	struct mount *mt = (void *)((unsigned long)mnt - bpf_core_field_offset(struct mount, mnt));

	/* What the path names is the covered directory again. */
	touch_name(BPF_CORE_READ(mt, mnt_mountpoint));
	bump_gen();
	return 0;
}

/* ---- Unix sockets: a path-bound socket in a protected directory is a secret (abstract ones have no file) ---- */

static __always_inline int judge_unix(struct sock *other, int op)
{
	struct unix_sock *u = (void *)other;
	struct dentry *dn = BPF_CORE_READ(u, path.dentry);

	if (!dn)
		return 0;
	return judge_read(dn, BPF_CORE_READ(u, path.mnt), op);
}

SEC("lsm/unix_stream_connect")
int BPF_PROG(tw_unix_connect, struct sock *sock, struct sock *other, struct sock *newsk)
{
	return judge_unix(other, TW_OP_CONNECT);
}

SEC("lsm/unix_may_send")
int BPF_PROG(tw_unix_send, struct socket *sock, struct socket *other)
{
	return judge_unix(BPF_CORE_READ(other, sk), TW_OP_SEND);
}

char LICENSE[] SEC("license") = "GPL";
