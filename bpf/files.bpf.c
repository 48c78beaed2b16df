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
 * directories are judged at connect and send.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "match.bpf.h"

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

static __always_inline int why_of(int state)
{
	switch (state) {
	case M_STALE: return TW_WHY_STALE;
	case M_DEEP: return TW_WHY_DEEP;
	case M_DISCONNECTED: return TW_WHY_DISCONNECTED;
	case M_UNPLACED: return TW_WHY_UNPLACED;
	default: return TW_WHY_MATCH;
	}
}

/* The record of a decision on dn (an address read with probes); global: verified once. */
__noinline int tw_emit_file(int op, __u64 dentry, const struct decision *d, int why)
{
	struct dentry *dn = (void *)dentry;
	struct inode *inode;
	struct tw_flood_key k = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.kind = TW_EV_FILE,
		.port_or_op = op,
	};
	struct tw_file_event *e;
	__u64 ino;
	__u32 dev;
	__u32 n;

	if (!d || !dn)
		return 0;
	inode = BPF_CORE_READ(dn, d_inode);
	ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	dev = inode ? inode_dev(inode) : BPF_CORE_READ(dn, d_sb, s_dev);
	__builtin_memcpy(k.target, &dev, 4);
	__builtin_memcpy(k.target + 8, &ino, 8);
	if (flood_fold(&k, &n))
		return 0;
	e = event_start(sizeof(*e), TW_EV_FILE, d);
	if (!e) {
		count_n(CNT_RB_DROP, n - 1);
		return 0;
	}
	e->h.count = n;
	e->h.aggregated = n > 1;
	e->op = op;
	e->why = why;
	e->secret = d->rule;
	e->pad2 = 0;
	e->dev = dev;
	e->ino = ino;
	dentry_names(dn, e->names, &e->nparts, &e->complete);
	flood_remember(&k, e);
	event_submit(e);
	return 0;
}

static __always_inline void emit_file(int op, struct dentry *dn, const struct decision *d, int why)
{
	tw_emit_file(op, addr_of(dn), d, why);
}

/* Refuse (or, in audit mode, allow and record) what m says protects dn; 0 when the caller may. */
static __always_inline int verdict(struct dentry *dn, int op, struct decision *d, const struct match *m)
{
	bool rule = m->state == M_SECRET || m->state == M_STALE;

	if (m->state == M_NONE)
		return 0;
	if (rule && m->v.tier == d->tier) {
		/* Own tier: allowed, and on the record if the tier asks for it. */
		if (d->tier && logs_all(d->tier)) {
			d->target = d->tier;
			d->rule = m->v.secret;
			d->verdict = TW_VERDICT_ALLOW;
			emit_file(op, dn, d, TW_WHY_MATCH);
		}
		return 0;
	}
	d->target = rule ? m->v.tier : 0;
	d->rule = rule ? m->v.secret : TW_SECRET_NONE;
	decide(d);
	/* A filesystem learned as nobody's: mounted where the programs could not place it. */
	emit_file(op, dn, d, rule && m->v.secret == TW_SECRET_NONE ? TW_WHY_UNPLACED : why_of(m->state));
	return d->verdict == TW_VERDICT_AUDIT ? 0 : deny();
}

/* 0 allows, -EPERM refuses; untagged callers cost one tier lookup. dn: the kernel's own pointer. */
static __always_inline int judge(struct dentry *dn, struct vfsmount *mnt, int op)
{
	struct decision d = {};
	struct match m;

	caller_tier(&d);
	if (d.tier == TW_TIER_NONE || !dn)
		return 0;
	match_cached(dn, mnt, &m);
	return verdict(dn, op, &d, &m);
}

/*
 * Changing a name: the secret behind it, or a name on another tier's path
 * (a directory or symlink its secret is reached through: swapping it
 * would hand that tier a file of the caller's choosing).
 */
static __always_inline int judge_change(struct dentry *dn, int op)
{
	struct tw_fname_val *n;
	struct decision d = {};
	struct match m;

	caller_tier(&d);
	if (d.tier == TW_TIER_NONE || !dn)
		return 0;
	n = name_of(dn);
	if (n && (n->what & TW_FN_PATH) && n->tier != d.tier) {
		__builtin_memset(&m, 0, sizeof(m));
		m.state = M_SECRET;
		m.v.secret = n->secret;
		m.v.tier = n->tier;
		return verdict(dn, op, &d, &m);
	}
	match_cached(dn, NULL, &m);
	return verdict(dn, op, &d, &m);
}

/* The same where the hook hands out a pointer it read itself (no cache). */
static __always_inline int judge_read(struct dentry *dn, struct vfsmount *mnt, int op)
{
	struct decision d = {};
	struct match m;

	caller_tier(&d);
	if (d.tier == TW_TIER_NONE || !dn)
		return 0;
	match_path(dn, mnt, &m);
	return verdict(dn, op, &d, &m);
}

/* A name changed (whoever did it): the daemon re-resolves what passes through it. */
static __always_inline struct tw_fname_val *touch_name(struct dentry *dn)
{
	struct tw_fname_val *n = name_of(dn);

	if (n)
		name_changed(n);
	return n;
}

/*
 * Remember that inode is protected by v, whatever name it has later: in
 * the secrets map (persistent: directories, whose files walk up to them,
 * and inodes with several names), else in its own storage. Merges into an
 * entry that only held watched names. 0, or -1 when there is no room.
 */
static __always_inline int learn(struct inode *inode, struct tw_secret_val *v, bool persist)
{
	struct tw_secret_val *old;
	struct tw_secret_key k;
	struct istate *st;
	__u32 one = 1, dev;
	long err;

	v->is_dir = is_dir(inode);
	v->learned = 1;
	v->flags = (v->flags & TW_SV_PATH) | TW_SV_KERNEL | TW_SV_IGEN;
	v->igen = BPF_CORE_READ(inode, i_generation);
	if (!v->is_dir && !persist) {
		st = bpf_inode_storage_get(&istate, inode, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!st)
			return -1;
		st->lv = *v;
		st->learned = 1;
		return 0;
	}
	inode_key(inode, &k);
	old = bpf_map_lookup_elem(&secrets, &k);
	if (old) {
		/* Already protected stays as it is; a directory of watched names gains it. */
		if (!old->is_dir && (old->flags & (TW_SV_NAMES | TW_SV_NAMES_PATH)) && v->is_dir) {
			old->secret = v->secret;
			old->tier = v->tier;
			old->slot = v->slot;
			old->flags |= v->flags & TW_SV_PATH;
			old->is_dir = 1;
			bump_gen();
		}
		return 0;
	}
	err = bpf_map_update_elem(&secrets, &k, v, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return -1;
	if (v->is_dir) {
		/* Files below it are found by walking up: its filesystem is walked. */
		dev = BPF_CORE_READ(inode, i_sb, s_dev);
		bpf_map_update_elem(&secret_devs, &dev, &one, BPF_ANY);
	}
	bump_gen();	/* answers cached for it, or below it, change */
	return 0;
}

/* inode arrives at watched name n: it is what the rule names now (on its way: protected while stale). */
static __always_inline int arrive(struct inode *inode, const struct tw_fname_val *n, bool persist)
{
	struct tw_secret_val v = { .secret = n->secret, .tier = n->tier, .slot = n->slot };

	if (!(n->what & (TW_FN_FILE | TW_FN_DIR)))
		v.flags = TW_SV_PATH;
	return learn(inode, &v, persist);
}

/* Does anything protect dn on its filesystem? (rename and link move that) */
static __always_inline bool protected_sb(struct dentry *dn)
{
	struct match m;

	match_sb(dn, &m);
	return m.state != M_NONE;
}

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
