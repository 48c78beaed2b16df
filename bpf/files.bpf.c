// SPDX-License-Identifier: GPL-2.0
/*
 * Secret files: BPF LSM programs that keep a tiered process away from the
 * files another tier owns. A file is matched by identity, never by path
 * string: its own (dev, ino), or the (dev, ino) of a protected directory
 * among its dentry parents. Symlinks, hard links, bind mounts, /proc/self/fd
 * reopens, openat2 resolve flags, relative paths and renames all arrive at
 * the same inode and dentries, so they all meet the same rule.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "secret.bpf.h"

#define EEXIST		17
#define FMODE_EXEC	0x20

/*
 * Per-inode cache of match_dentry()'s answer, valid while runtime.file_gen
 * is unchanged: a tiered process opening an ordinary file pays one storage
 * lookup instead of a walk up its parents.
 */
enum { IC_NONE, IC_SECRET, IC_TOO_DEEP };

struct icache {
	__u64 gen;
	struct tw_secret_val v;
	__u32 state;
};

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct icache);
} icache SEC(".maps");

static __always_inline struct tw_runtime *runtime_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&runtime, &zero);
}

/* Protection may have moved (rename, link, new secret): drop every cached answer. */
static __always_inline void bump_gen(void)
{
	struct tw_runtime *rt = runtime_get();

	if (rt)
		__sync_fetch_and_add(&rt->file_gen, 1);
}

/* The secret for an inode at depth (0: the file itself, else a directory above it). */
static __always_inline struct tw_secret_val *lookup_inode(struct inode *inode, int depth)
{
	struct tw_secret_key k = {};

	if (!inode)
		return NULL;
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.ino = BPF_CORE_READ(inode, i_ino);
	return secret_at(&k, depth);
}

/*
 * The secret protecting a dentry: its inode, or the nearest protected
 * directory above it on the same filesystem. A walk that runs out of depth
 * on a filesystem with protected directories sets *too_deep: the caller
 * then refuses rather than guess.
 */
static __always_inline struct tw_secret_val *match_dentry(struct dentry *d, bool *too_deep)
{
	struct tw_secret_val *v;
	struct super_block *sb;
	int i;

	v = lookup_inode(BPF_CORE_READ(d, d_inode), 0);
	if (v)
		return v;
	sb = BPF_CORE_READ(d, d_sb);
	if (!secret_dev_walks(BPF_CORE_READ(sb, s_dev)))
		return NULL;
	for (i = 0; i < TW_MAX_DEPTH; i++) {
		struct dentry *p = BPF_CORE_READ(d, d_parent);

		if (!p || p == d)
			return NULL;	/* reached the filesystem's root */
		d = p;
		v = lookup_inode(BPF_CORE_READ(d, d_inode), i + 1);
		if (v)
			return v;
	}
	*too_deep = true;
	return NULL;
}

static __always_inline void emit_file(int op, struct dentry *dn, const struct decision *d)
{
	struct inode *inode = BPF_CORE_READ(dn, d_inode);
	struct tw_flood_key k = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.kind = TW_EV_FILE,
		.port_or_op = op,
	};
	struct tw_file_event *e;
	__u64 ino = inode ? BPF_CORE_READ(inode, i_ino) : 0;
	__u32 dev = inode ? BPF_CORE_READ(inode, i_sb, s_dev) : BPF_CORE_READ(dn, d_sb, s_dev);
	__u32 n;

	__builtin_memcpy(k.target, &dev, 4);
	__builtin_memcpy(k.target + 8, &ino, 8);
	if (flood_fold(&k, &n))
		return;
	e = event_start(sizeof(*e), TW_EV_FILE, d);
	if (!e) {
		count_n(CNT_RB_DROP, n - 1);
		return;
	}
	e->h.count = n;
	e->h.aggregated = n > 1;
	e->op = op;
	e->pad = 0;
	e->secret = d->rule;
	e->pad2 = 0;
	e->dev = dev;
	e->ino = ino;
	dentry_names(dn, e->names, &e->nparts, &e->complete);
	flood_remember(&k, e);
	event_submit(e);
}

/* match_dentry() through the inode's cache entry; NULL with *too_deep as it says. */
static __always_inline struct tw_secret_val *match_cached(struct dentry *dentry,
							  struct tw_secret_val *out,
							  bool *too_deep)
{
	struct tw_runtime *rt = runtime_get();
	struct inode *inode = dentry->d_inode;
	struct tw_secret_val *v;
	struct icache *c = NULL;
	__u64 gen = rt ? rt->file_gen : 0;

	if (inode)
		c = bpf_inode_storage_get(&icache, inode, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (c && c->gen == gen + 1) {
		*too_deep = c->state == IC_TOO_DEEP;
		if (c->state != IC_SECRET)
			return NULL;
		*out = c->v;
		return out;
	}
	v = match_dentry(dentry, too_deep);
	if (v)
		*out = *v;
	if (c) {
		/* gen + 1: a fresh entry (gen 0) never looks valid. */
		c->gen = gen + 1;
		c->state = v ? IC_SECRET : *too_deep ? IC_TOO_DEEP : IC_NONE;
		if (v)
			c->v = *v;
	}
	return v ? out : NULL;
}

/* 0 allows, -EPERM refuses; untagged callers cost one tier lookup. */
static __always_inline int judge(struct dentry *dentry, int op)
{
	struct tw_secret_val *v, val;
	struct decision d = {};
	bool too_deep = false;
	int owner;

	caller_tier(&d);
	if (d.tier == TW_TIER_NONE || !dentry)
		return 0;
	v = match_cached(dentry, &val, &too_deep);
	owner = file_owner(v, too_deep, &d);
	if (owner == OWNER_NONE)
		return 0;
	if (owner == OWNER_SELF) {
		/* Own tier: allowed, and on the record if the tier asks for it. */
		if (logs_all(d.tier)) {
			d.verdict = TW_VERDICT_ALLOW;
			emit_file(op, dentry, &d);
		}
		return 0;
	}
	decide(&d);
	emit_file(op, dentry, &d);
	if (d.verdict == TW_VERDICT_AUDIT)
		return 0;
	return deny();
}

SEC("lsm/file_open")
int BPF_PROG(tw_file_open, struct file *file)
{
	/* Exec opens carry __FMODE_EXEC in f_flags (f_mode gets FMODE_EXEC later). */
	int exec = (BPF_CORE_READ(file, f_flags) | BPF_CORE_READ(file, f_mode)) & FMODE_EXEC;
	int op = exec ? TW_OP_EXEC : TW_OP_OPEN;

	return judge(file->f_path.dentry, op);
}

SEC("lsm/file_receive")
int BPF_PROG(tw_file_receive, struct file *file)
{
	return judge(file->f_path.dentry, TW_OP_RECEIVE);
}

SEC("lsm/inode_unlink")
int BPF_PROG(tw_inode_unlink, struct inode *dir, struct dentry *dentry)
{
	return judge(dentry, TW_OP_UNLINK);
}

/*
 * Moving or renaming a secret, overwriting one, or moving into a protected
 * directory. Whoever does it, a rename that touches protection moves what
 * the cache knows: invalidate it.
 */
SEC("lsm/inode_rename")
int BPF_PROG(tw_inode_rename, struct inode *old_dir, struct dentry *old_dentry,
	     struct inode *new_dir, struct dentry *new_dentry)
{
	bool deep = false;
	int err = judge(old_dentry, TW_OP_RENAME);

	if (!err)
		err = judge(new_dentry, TW_OP_RENAME);
	if (!err && (match_dentry(old_dentry, &deep) || match_dentry(new_dentry, &deep)))
		bump_gen();
	return err;
}

SEC("lsm/path_truncate")
int BPF_PROG(tw_path_truncate, const struct path *path)
{
	return judge(path->dentry, TW_OP_TRUNCATE);
}

/* The hook gained an idmap argument in 6.3: the loader keeps the one that fits. */
SEC("lsm/inode_setattr")
int BPF_PROG(tw_inode_setattr, struct dentry *dentry, struct iattr *attr)
{
	return judge(dentry, TW_OP_SETATTR);
}

SEC("lsm/inode_setattr")
int BPF_PROG(tw_inode_setattr_idmap, void *idmap, struct dentry *dentry, struct iattr *attr)
{
	return judge(dentry, TW_OP_SETATTR);
}

/*
 * A hard link gives a secret a second name, perhaps outside its directory.
 * Refuse it to other tiers; when it is allowed, remember the inode itself,
 * so the new name is caught by identity wherever it lives.
 */
SEC("lsm/inode_link")
int BPF_PROG(tw_inode_link, struct dentry *old_dentry, struct inode *dir,
	     struct dentry *new_dentry)
{
	struct tw_secret_val *v, learned;
	struct tw_secret_key k = {};
	struct inode *inode;
	bool too_deep = false;
	int err;

	err = judge(old_dentry, TW_OP_LINK);
	if (!err)
		err = judge(new_dentry, TW_OP_LINK);
	if (err)
		return err;
	v = match_dentry(old_dentry, &too_deep);
	if (!v)
		v = match_dentry(new_dentry, &too_deep);
	inode = BPF_CORE_READ(old_dentry, d_inode);
	if (!v || !inode)
		return 0;
	learned = *v;
	learned.is_dir = 0;
	learned.learned = 1;
	k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
	k.ino = BPF_CORE_READ(inode, i_ino);
	err = bpf_map_update_elem(&secrets, &k, &learned, BPF_NOEXIST);
	if (!err)
		bump_gen();
	if (!err || err == -EEXIST)
		return 0;
	/* No room to remember it: a name we could not protect must not exist. */
	return deny();
}

char LICENSE[] SEC("license") = "GPL";
