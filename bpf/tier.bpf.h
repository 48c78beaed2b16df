/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only: the maps every tierwall program shares (the daemon loads
 * them once and hands the same fds to each object) and the tier lookup.
 */
#ifndef TW_TIER_BPF_H
#define TW_TIER_BPF_H

#include <bpf/bpf_core_read.h>
#include "tierwall.h"
#include "pendtier.h"

/* Wake the daemon only past this much unread data; it also polls on a timer. */
#define TW_WAKE_BYTES	(256 * 1024)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_tier_key);
	__type(value, struct tw_tier_val);
	__uint(max_entries, 65536);
} cgroup_tiers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_tier_info);
	__uint(max_entries, TW_MAX_TIERS + 1);
} tier_info SEC(".maps");

/* Level mask of tagged cgroups; written by the daemon through mmap. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_runtime);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
} runtime SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_stats);
	__uint(max_entries, 1);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_flood_key);
	__type(value, struct tw_flood_val);
	__uint(max_entries, 16384);
} flood SEC(".maps");

/* Who sent DNS on a socket (see struct tw_dns_caller); shared by net and dns. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tw_dns_caller);
} dns_callers SEC(".maps");

/* A zeroed value to insert from (too large for the stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_flood_val);
	__uint(max_entries, 1);
} flood_zero SEC(".maps");

/* Where the tier lookup reads the caller's ancestors from (a constant per call site). */
enum tier_src {
	TIER_CURRENT,	/* the current task */
	TIER_SKB,	/* from: the skb whose socket sends it (egress may run on nobody's behalf) */
	TIER_GIVEN,	/* from: ids[level], from the daemon (explain, for any pid or cgroup) */
	TIER_CGROUP,	/* from: a struct cgroup (self-protection: where a process is sent) */
};

/*
 * The id of the caller's ancestor cgroup at level, 0 above the caller.
 * src is a constant where this is inlined, so each program holds only the
 * helpers it may call. A cgroup's ancestors[] is read as raw memory: the
 * verifier does not take a variable index into a BTF array.
 */
static __always_inline __u64 ancestor_id(int src, const void *from, int level)
{
	struct cgroup *cg = (struct cgroup *)from, *a = NULL;

	if (src == TIER_SKB)
		return bpf_skb_ancestor_cgroup_id((struct __sk_buff *)from, level);
	if (src == TIER_GIVEN)
		return ((const __u64 *)from)[level & (TW_MAX_LEVELS - 1)];
	if (src != TIER_CGROUP)
		return bpf_get_current_ancestor_cgroup_id(level);
	if (level > BPF_CORE_READ(cg, level))
		return 0;
	bpf_probe_read_kernel(&a, sizeof(a), (void *)((unsigned long)cg +
			      bpf_core_field_offset(struct cgroup, ancestors) + level * sizeof(a)));
	return a ? BPF_CORE_READ(a, kn, id) : 0;
}

/* Who decided what, common to every decision. */
struct decision {
	__u64 tagged;
	__u32 tier;
	__u32 target;
	__u32 rule;
	__u8 verdict;
	__u8 flags;		/* the tag's TW_TAG_* */
};

/*
 * Tier of the caller: the nearest tagged ancestor, deepest tagged level
 * first, into d with its tag's flags (one lookup). One copy for the hooks,
 * self-protection and explain. TW_TIER_PENDING: below a pods' root, not
 * placed yet (maps/pending.h); a placed pod's own tag is found first.
 */
static __always_inline __u32 tier_of(int src, const void *from, struct decision *d)
{
	struct tw_runtime *rt;
	__u32 zero = 0, lo, hi;
	__u64 mask;
	int i;

	d->tier = TW_TIER_NONE;
	d->flags = 0;
	rt = bpf_map_lookup_elem(&runtime, &zero);
	if (!rt || !rt->level_mask)
		return TW_TIER_NONE;
	mask = rt->level_mask;
	lo = rt->min_level;
	hi = rt->max_level;

	for (i = 0; i < TW_MAX_LEVELS; i++) {
		struct tw_tier_val *val;
		struct tw_tier_key key;
		int level = (int)hi - i;

		if (level < (int)lo || level < 0)
			break;
		if (!(mask & (1ULL << (level & (TW_MAX_LEVELS - 1)))))
			continue;
		key.cgroup_id = ancestor_id(src, from, level);
		if (!key.cgroup_id)
			continue;	/* caller lives above this level */
		val = bpf_map_lookup_elem(&cgroup_tiers, &key);
		if (val) {
			d->tagged = key.cgroup_id;
			d->flags = val->flags;
			d->tier = val->tier;
			return d->tier;
		}
	}
	return TW_TIER_NONE;
}

static __always_inline __u32 caller_tier(struct decision *d)
{
	return tier_of(TIER_CURRENT, NULL, d);
}

enum tw_counter { CNT_DENIED, CNT_AUDITED, CNT_RB_DROP };

static __always_inline void count_n(enum tw_counter c, __u64 n)
{
	__u32 zero = 0;
	struct tw_stats *s = bpf_map_lookup_elem(&stats, &zero);

	if (!s)
		return;
	if (c == CNT_DENIED)
		s->denied += n;
	else if (c == CNT_AUDITED)
		s->audited += n;
	else
		s->ringbuf_drops += n;
}

static __always_inline void count(enum tw_counter c)
{
	count_n(c, 1);
}

/* Does the caller's tier log allowed use of its own resources ("log": "all")? */
static __always_inline bool logs_all(__u32 tier)
{
	struct tw_tier_info *ti = bpf_map_lookup_elem(&tier_info, &tier);

	return ti && ti->log_all;
}

/*
 * Is this decision's caller in audit mode (allowed, and recorded)? Its tag's
 * flag (a `tierwall run --audit`), else its tier's mode.
 */
static __always_inline bool audit_mode(const struct decision *d)
{
	struct tw_tier_info *ti;

	if (d->flags & TW_TAG_AUDIT)
		return true;
	ti = bpf_map_lookup_elem(&tier_info, &d->tier);
	return ti && ti->mode == TW_MODE_AUDIT;
}

/* Who owns what a caller reaches for, as the decisions below see it. */
enum owner {
	OWNER_NONE,	/* nobody: allowed, not recorded */
	OWNER_SELF,	/* the caller's own tier: allowed, recorded if it logs all */
	OWNER_OTHER,	/* another tier (or nothing the hooks can judge): refused */
};

/* The verdict on a cross-tier access, by the caller's tag and tier mode. */
static __always_inline __u8 mode_verdict(const struct decision *d)
{
	return audit_mode(d) ? TW_VERDICT_AUDIT : TW_VERDICT_DENY;
}

/* Settle the verdict for a cross-tier access, and count it. */
static __always_inline void decide(struct decision *d)
{
	d->verdict = mode_verdict(d);
	count(d->verdict == TW_VERDICT_AUDIT ? CNT_AUDITED : CNT_DENIED);
}

/* What event_begin may read of the current task. */
#define EV_PID		TW_SKB_PID
#define EV_COMM		TW_SKB_COMM
#define EV_TASK		4	/* uid and cgroup too: a program in task context */

/*
 * Reserve a record of size bytes with its header filled; NULL is counted.
 * cgroup_skb programs get fewer task helpers (6.1 none, 6.12 no uid): they
 * say which ones, and fill the rest from the socket.
 */
static __always_inline void *event_begin(__u32 size, int kind, const struct decision *d, int from)
{
	struct tw_event_hdr *h;
	__u64 id = 0;

	h = bpf_ringbuf_reserve(&events, size, 0);
	if (!h) {
		count(CNT_RB_DROP);
		return NULL;
	}
	if (from & EV_PID)
		id = bpf_get_current_pid_tgid();
	h->kind = kind;
	h->size = size;
	h->verdict = d->verdict;
	h->tier = d->tier;
	h->target_tier = d->target;
	h->aggregated = 0;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->uid = from & EV_TASK ? (__u32)bpf_get_current_uid_gid() : 0;
	h->count = 1;
	h->ts_boot_ns = bpf_ktime_get_boot_ns();
	h->cgroup_id = from & EV_TASK ? bpf_get_current_cgroup_id() : 0;
	h->tagged_cgroup_id = d->tagged;
	if (from & EV_COMM)
		bpf_get_current_comm(h->comm, sizeof(h->comm));
	else
		__builtin_memset(h->comm, 0, sizeof(h->comm));
	return h;
}

#define EPERM		1

/*
 * A BPF LSM refusal: -EPERM through an empty asm. Without it clang computes
 * "cond ? -EPERM : 0" as -(cond & 1), which newer verifiers cannot bound to
 * [-4095, 0].
 */
static __always_inline int deny(void)
{
	int r = -EPERM;

	asm volatile("" : "+r"(r));
	return r;
}

static __always_inline void *event_start(__u32 size, int kind, const struct decision *d)
{
	return event_begin(size, kind, d, EV_PID | EV_COMM | EV_TASK);
}

/* Bumped by the daemon on every tag change: older records may name an old tier. */
static __always_inline __u64 tag_gen(void)
{
	struct tw_runtime *rt;
	__u32 zero = 0;

	rt = bpf_map_lookup_elem(&runtime, &zero);
	return rt ? rt->tag_gen : 0;
}

/*
 * DNS on this socket will be judged by the DNS guard as coming from this
 * caller, tagged or not: egress may run in another context, and the socket
 * may have been made by someone else. sk: whatever socket pointer the
 * program type hands out (struct bpf_sock *, or struct sock * in BPF LSM).
 */
static __always_inline void record_dns_caller(void *sk, const struct decision *d)
{
	struct tw_dns_caller *c;
	__u64 id;

	if (!sk)
		return;
	c = bpf_sk_storage_get(&dns_callers, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return;	/* no memory: the guard falls back to the socket's cgroup */
	id = bpf_get_current_pid_tgid();
	c->tier = d->tier;
	c->flags = d->flags;
	c->pad = 0;
	c->pid = id >> 32;
	c->tid = (__u32)id;
	c->uid = (__u32)bpf_get_current_uid_gid();
	c->tagged_cgroup_id = d->tagged;
	c->cgroup_id = bpf_get_current_cgroup_id();
	c->tag_gen = tag_gen();
	bpf_get_current_comm(c->comm, sizeof(c->comm));
}

/* Names from dn upwards (file first) for an event; userspace joins them under the mount point. */
static __always_inline void dentry_names(struct dentry *dn, char names[TW_PATH_PARTS][TW_NAME_LEN],
					 __u8 *nparts, __u8 *complete)
{
	int i;

	*nparts = 0;
	for (i = 0; i < TW_PATH_PARTS; i++) {
		struct dentry *p = BPF_CORE_READ(dn, d_parent);

		if (!p || p == dn)
			break;
		bpf_probe_read_kernel_str(names[i], TW_NAME_LEN, BPF_CORE_READ(dn, d_name.name));
		*nparts = i + 1;
		dn = p;
	}
	*complete = BPF_CORE_READ(dn, d_parent) == dn;
}

static __always_inline void event_submit(void *e)
{
	/* Batch wakeups: one per event caps a connect storm (see doc/design.md). */
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= TW_WAKE_BYTES ?
		      BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;

	bpf_ringbuf_submit(e, flags);
}

/* ---- flood control ---- */

static __always_inline __u64 flood_window(void)
{
	__u32 zero = 0;
	struct tw_runtime *rt = bpf_map_lookup_elem(&runtime, &zero);

	return rt ? rt->flood_ns : 0;
}

/*
 * Before emitting a decision: true if it folds into the caller's open
 * window for this target (no record now, counted as pending). Otherwise
 * *count is what the new record stands for: this decision plus the repeats
 * folded since the last record.
 */
static __always_inline bool flood_fold(const struct tw_flood_key *k, __u32 *count)
{
	__u64 w = flood_window(), now;
	struct tw_flood_val *v;

	*count = 1;
	if (!w)
		return false;
	v = bpf_map_lookup_elem(&flood, k);
	if (!v)
		return false;
	now = bpf_ktime_get_boot_ns();
	if (now < v->window_end) {
		__sync_fetch_and_add(&v->pending, 1);
		return true;
	}
	*count += __sync_lock_test_and_set(&v->pending, 0);
	v->window_end = now + w;
	return false;
}

/* After emitting: open or refresh the window and keep the record for the repeats. */
#define flood_remember(k, e) do {						\
	struct tw_flood_val *v_ = bpf_map_lookup_elem(&flood, (k));		\
	__u32 zero_ = 0;							\
										\
	if (!flood_window())							\
		break;								\
	if (!v_) {								\
		struct tw_flood_val *z_ = bpf_map_lookup_elem(&flood_zero, &zero_); \
										\
		/* Full: no folding for this target, every decision a record. */	\
		if (!z_ || bpf_map_update_elem(&flood, (k), z_, BPF_NOEXIST))	\
			break;							\
		v_ = bpf_map_lookup_elem(&flood, (k));				\
		if (!v_)							\
			break;							\
		v_->window_end = bpf_ktime_get_boot_ns() + flood_window();	\
	}									\
	__builtin_memcpy(v_->rec, (e), sizeof(*(e)));				\
} while (0)

#endif
