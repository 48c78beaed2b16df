/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for files.bpf.c: how a secret file's hooks judge (a verdict
 * from match.bpf.h's lookup, a record for each refusal) and learn (an inode
 * that arrives at a watched name is what the rule names now).
 */
#ifndef TW_FILES_BPF_H
#define TW_FILES_BPF_H

#include "match.bpf.h"
#include "grant.bpf.h"

/* A grant for the secret path d->rule names (an approved exception)? */
static __always_inline bool grant_allows_secret(struct decision *d)
{
	struct gprobe p = { .kind = TW_GRANT_SECRET, .secret = d->rule };

	return grant_allows(&p, d);
}

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
		.kind = TW_EV_FILE | (d && d->grant ? TW_FLOOD_GRANTED : 0),
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
	e->grant = d->grant;
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
	if (rule && grant_allows_secret(d)) {
		emit_file(op, dn, d, TW_WHY_MATCH);
		return 0;
	}
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

#endif
