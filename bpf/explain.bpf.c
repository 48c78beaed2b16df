// SPDX-License-Identifier: GPL-2.0
/*
 * explain: the decision the hooks would make, for any caller and target,
 * from the live maps. Run by the daemon with BPF_PROG_TEST_RUN; it calls
 * the same functions the hooks do (tier_of, dst_owner, name_owner, the
 * file walk's level checks of level.bpf.h, mode_verdict), never a second
 * copy, and records and counts nothing.
 *
 * A raw_tp program rather than a syscall one: syscall programs are
 * sleepable, and sleepable programs may not use LPM tries (names).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tierwall.h"

/* The question and the answer: one slot, written and read by the daemon around each run. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_explain);
	__uint(max_entries, 1);
} explain_io SEC(".maps");

/* A grant's cgroup is checked against the asked-about caller's ancestors, not ours. */
static __always_inline __u64 explain_ancestor(__u32 level)
{
	struct tw_explain *x;
	__u32 zero = 0;

	x = bpf_map_lookup_elem(&explain_io, &zero);
	return x ? x->ancestors[level & (TW_MAX_LEVELS - 1)] : 0;
}

#define GRANT_ANCESTOR(level)	explain_ancestor(level)
#include "dst.bpf.h"
#include "names.bpf.h"
#include "level.bpf.h"

static __always_inline int explain_net(struct tw_explain *x, struct decision *d)
{
	__u32 w[4], host = 0;
	struct dst dst = {};
	int owner;

	__builtin_memcpy(w, x->addr, 16);
	/* As an unbound socket would send it: 0.0.0.0 and :: to loopback. */
	if (x->family == 4)
		dst_v4(&dst, w[0], 0, false);
	else
		dst_v6(&dst, w[0], w[1], w[2], w[3], false, 0);
	dst.port = x->port;
	owner = dst_owner(&dst, d, &host);
	x->host = host;
	x->judged_family = dst.family;
	__builtin_memcpy(x->judged, dst.ip, 16);
	return owner;
}

/*
 * The walk match.bpf.h makes over dentries and mounts (tw_match_sb, then
 * match_path), over the levels the daemon read: at each run's start the
 * file or mountpoint itself, then its parents, each with the name the walk
 * came up through, until something protects it.
 */
struct xwalk {
	struct tw_explain *x;
	struct match m;
	__u32 depth;		/* parents walked in this run */
	__u8 skip;		/* this run's filesystem has no protected directory */
	__u8 at_root;		/* the last level seen was its filesystem's root */
	__u8 stale;
	__u8 state;		/* enum tw_explain_file, once done */
};

static __always_inline __u8 xf_of(__u8 state)
{
	return state == M_SECRET ? TW_XF_SECRET : state == M_STALE ? TW_XF_STALE : TW_XF_NONE;
}

static long xwalk_step(__u32 i, struct xwalk *w)
{
	struct tw_explain_level *l = &w->x->levels[i & (TW_EXPLAIN_LEVELS - 1)];
	struct tw_fname_val *n = NULL;
	struct tw_secret_val *v;
	struct tw_fname_key k;
	bool names;

	if (i >= w->x->nlevels || i >= TW_EXPLAIN_LEVELS)
		return 1;
	if (l->flags & TW_XL_START) {
		/* A run that ended below its filesystem's root: the hooks walk on, unseen. */
		if (i && !w->skip && !w->at_root) {
			w->state = TW_XF_UNSEEN;
			return 1;
		}
		/* match_sb(): the inode itself, then its filesystem's parents if any are protected. */
		w->depth = 0;
		w->at_root = !!(l->flags & TW_XL_ROOT);
		v = entry_at(&l->key, l->igen, !(l->flags & TW_XL_IGEN));
		if (v && entry_protects(v, &w->m)) {
			w->state = xf_of(w->m.state);
			return 1;
		}
		w->skip = !bpf_map_lookup_elem(&secret_devs, &l->sbdev);
		return 0;
	}
	if (w->skip)
		return 0;
	w->depth++;
	w->at_root = !!(l->flags & TW_XL_ROOT);
	v = level_dir(&l->key, l->igen, !(l->flags & TW_XL_IGEN), w->stale, &names);
	if (names) {
		__builtin_memset(&k, 0, sizeof(k));
		k.dir = l->key;
		__builtin_memcpy(k.name, l->name, sizeof(k.name));
		n = bpf_map_lookup_elem(&fnames, &k);
	}
	if (level_protects(v, n, &w->m)) {
		w->state = xf_of(w->m.state);
		return 1;
	}
	if (w->depth >= TW_MAX_DEPTH) {
		w->state = TW_XF_DEEP;	/* the hooks' bpf_loop ends here, root or not */
		return 1;
	}
	return 0;
}

static __always_inline int explain_file(struct tw_explain *x, struct decision *d)
{
	struct xwalk w = { .x = x };

	if (!x->nlevels || x->nlevels > TW_EXPLAIN_LEVELS)
		return OWNER_NONE;
	w.stale = any_stale();
	w.state = 0xff;
	bpf_loop(TW_EXPLAIN_LEVELS, xwalk_step, &w, 0);
	if (w.state == 0xff) {
		/* Nothing protects what was seen: did the daemon see all the hooks would? */
		if (!w.skip && !w.at_root)
			w.state = x->more_parents ? TW_XF_DEEP : TW_XF_UNSEEN;
		else
			w.state = x->more_mounts ? TW_XF_UNPLACED : TW_XF_NONE;
	}
	x->file_state = w.state;
	if (w.state == TW_XF_NONE)
		return OWNER_NONE;
	/* A filesystem learned as nobody's: mounted where the hooks could not place it. */
	if (w.state == TW_XF_SECRET && w.m.v.secret == TW_SECRET_NONE)
		w.state = TW_XF_UNPLACED;
	if (w.state == TW_XF_SECRET || w.state == TW_XF_STALE) {
		d->target = w.m.v.tier;
		d->rule = w.m.v.secret;
		return w.m.v.tier == d->tier ? OWNER_SELF : OWNER_OTHER;
	}
	d->target = 0;
	d->rule = TW_SECRET_NONE;
	return OWNER_OTHER;
}

/* The grant the hooks would let it through by (a TCP connect), 0: none. */
static __always_inline __u32 explain_grant(struct tw_explain *x, struct decision *d)
{
	struct gprobe p = { .family = x->judged_family, .proto = 6, .port = x->port };
	struct tw_grant *g;

	if (x->what == TW_EXPLAIN_NET) {
		struct dst dst = { .family = x->judged_family };

		p.kind = TW_GRANT_NET;
		__builtin_memcpy(p.ip, x->judged, 16);
		__builtin_memcpy(dst.ip, x->judged, 16);
		grant_probe_hosts(&p, &dst);
	} else if (x->what == TW_EXPLAIN_FILE && d->rule != TW_SECRET_NONE) {
		p.kind = TW_GRANT_SECRET;
		p.secret = d->rule;
	} else {
		return 0;
	}
	g = grant_find(&p, d->tier);
	return g ? g->id : 0;
}

SEC("raw_tp")
int tw_explain(void *ctx)
{
	struct decision d = {};
	struct tw_explain *x;
	__u32 zero = 0;
	int owner = OWNER_NONE;

	x = bpf_map_lookup_elem(&explain_io, &zero);
	if (!x)
		return 1;
	if (x->tier_given)
		d.tier = x->tier;
	else
		tier_of(TIER_GIVEN, x->ancestors, &d);
	x->out_tier = d.tier;
	x->tagged = d.tagged;
	x->target_tier = 0;
	x->rule = 0;
	x->host = 0;
	x->file_state = 0;
	x->judged_family = 0;
	/* Untiered callers: every hook lets them through at once. */
	if (d.tier != TW_TIER_NONE) {
		if (x->what == TW_EXPLAIN_NET)
			owner = explain_net(x, &d);
		else if (x->what == TW_EXPLAIN_NAME)
			owner = name_owner(&x->name, &d);
		else if (x->what == TW_EXPLAIN_FILE)
			owner = explain_file(x, &d);
		else if (x->what == TW_EXPLAIN_REFUSAL)
			owner = OWNER_OTHER;
	}
	x->owner = owner;
	x->target_tier = d.target;
	x->rule = d.rule;
	x->verdict = owner == OWNER_OTHER ? mode_verdict(&d) : TW_VERDICT_ALLOW;
	x->recorded = owner == OWNER_OTHER || (owner == OWNER_SELF && logs_all(d.tier));
	x->grant = owner == OWNER_OTHER ? explain_grant(x, &d) : 0;
	if (x->grant)
		x->verdict = TW_VERDICT_ALLOW;	/* and recorded, with the grant's id */
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
