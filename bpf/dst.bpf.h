/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only: who owns a destination, and the decision on it. One copy for
 * every program that judges an address (the connect and sendmsg hooks, and
 * the BPF LSM program that judges a connected socket being received); the
 * net object owns these maps, the others share them by name.
 */
#ifndef TW_DST_BPF_H
#define TW_DST_BPF_H

#include "grant.bpf.h"

#define LOOPBACK4	0x7f000001	/* INADDR_LOOPBACK */

/* Sized by the daemon from the policy before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_rule);
	__uint(map_flags, BPF_F_MMAPABLE);	/* filled with one memcpy */
	__uint(max_entries, 1);
} rules SEC(".maps");

/* The IPv4 and IPv6 tables of maps/tierwall.h; all sized by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TW_DIR_L1);
} v4_dir SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_dir_block);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
} v4_blocks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);		/* address >> 8 */
	__type(value, __u32);
	__uint(max_entries, 1);
} v4_l24 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_dir_tail);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
} v4_tail SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_v6_key);
	__type(value, __u32);
	__uint(max_entries, 1);
} v6_pfx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_v6_lens);
	__uint(max_entries, 1);
} v6_lens SEC(".maps");

/* Addresses the daemon resolved policy hostnames to; sized by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_host_key);
	__type(value, struct tw_host_val);
	__uint(max_entries, 1);
} host_addrs SEC(".maps");

/* A destination to judge; addresses in network order. */
struct dst {
	__u32 ip[4];		/* judged: v4 in ip[0] */
	__u16 port;		/* host byte order */
	__u8 family;		/* 4 or 6: which table judges it */
	__u8 mapped;		/* ::ffff:a.b.c.d judged as a.b.c.d */
	__u8 wrote;		/* enum tw_wrote: an unspecified address stood for ip */
	__u8 op;		/* enum tw_net_op */
};

/* The entry of v4_tail[e & ~TW_DIR_TAIL] for the nibble of a at shift. */
static __always_inline __u32 v4_nibble(__u32 e, __u32 a, int shift)
{
	__u32 idx = e & ~TW_DIR_TAIL;
	struct tw_dir_tail *t = bpf_map_lookup_elem(&v4_tail, &idx);

	return t ? t->e[(a >> shift) & 0xf] : 0;
}

/* Most specific rule for an IPv4 address (network order): index + 1 or 0. */
static __always_inline __u32 lookup_v4(__u32 daddr_be)
{
	__u32 a = bpf_ntohl(daddr_be);
	__u32 idx = a >> 16, key = a >> 8, e, *v;
	struct tw_dir_block *b;

	v = bpf_map_lookup_elem(&v4_dir, &idx);
	if (!v)
		return 0;
	e = *v;
	if (e & TW_DIR_BLOCK) {
		idx = e & ~TW_DIR_BLOCK;
		b = bpf_map_lookup_elem(&v4_blocks, &idx);
		e = b ? b->e[(a >> 8) & 0xff] : 0;
	} else if (e & TW_DIR_HASH) {
		v = bpf_map_lookup_elem(&v4_l24, &key);
		e = v ? *v : e & ~TW_DIR_HASH;	/* a /24 not stored is judged as its /16 */
	}
	if (e & TW_DIR_TAIL)
		e = v4_nibble(e, a, 4);
	if (e & TW_DIR_TAIL)
		e = v4_nibble(e, a, 0);
	return e & TW_DIR_FLAGS ? 0 : e;
}

/* One IPv6 probe per length in use (bpf_loop: verified once, not per length). */
struct v6_probe {
	__u32 ip[4];
	struct tw_v6_lens l;
	__u32 ref;
};

static long v6_probe_one(__u32 i, struct v6_probe *p)
{
	struct tw_v6_key key;
	__u32 *v;
	int w;

	if (i >= p->l.n || i >= TW_V6_MAX_LENS)
		return 1;
	key.len = p->l.len[i];
	for (w = 0; w < 4; w++)
		((__u32 *)key.addr)[w] = p->ip[w] & prefix_mask(key.len, w);
	v = bpf_map_lookup_elem(&v6_pfx, &key);
	if (!v)
		return 0;
	p->ref = *v;
	return 1;
}

/* Most specific rule for an IPv6 address: each length in use, longest first. */
static __always_inline __u32 lookup_v6(const struct dst *d)
{
	struct v6_probe p = {};
	struct tw_v6_lens *l;
	__u32 zero = 0;

	l = bpf_map_lookup_elem(&v6_lens, &zero);
	if (!l)
		return 0;
	p.l = *l;
	__builtin_memcpy(p.ip, d->ip, 16);
	bpf_loop(TW_V6_MAX_LENS, v6_probe_one, &p, 0);
	return p.ref;
}

static __always_inline bool rule_has_port(const struct tw_rule *r, __u16 port)
{
	int i;

	if (!r->nports)
		return true;
	for (i = 0; i < TW_MAX_PORTS; i++) {
		if (i >= r->nports)
			break;
		if (r->ports[i] == port)
			return true;
	}
	return false;
}

/*
 * Walk from the most specific rule towards less specific ones until one
 * covers the port. Returns the matching rule (and its index) or NULL.
 */
static __always_inline struct tw_rule *match_rule(__u32 ref, __u16 port, __u32 *index)
{
	int i;

	for (i = 0; i < TW_MAX_CHAIN; i++) {
		struct tw_rule *r;
		__u32 idx;

		if (!ref)
			return NULL;
		idx = ref - 1;
		r = bpf_map_lookup_elem(&rules, &idx);
		if (!r)
			return NULL;
		if (rule_has_port(r, port)) {
			*index = idx;
			return r;
		}
		ref = r->parent;
	}
	return NULL;
}

/*
 * Rules of the hostnames that resolved to dst: the first owned by a tier
 * other than the caller's that covers the port, or NULL. *own tells whether
 * one of the caller's own tier's names resolved there too; with no other
 * owner, *index and *host then name that one (for a "log": "all" record).
 */
static __always_inline struct tw_rule *match_host(const struct dst *dst, __u32 tier,
						  __u32 *index, __u32 *host, bool *own)
{
	struct tw_host_key k = { .family = dst->family };
	struct tw_rule *other = NULL;
	struct tw_host_val *v;
	int i;

	__builtin_memcpy(k.addr, dst->ip, 16);
	v = bpf_map_lookup_elem(&host_addrs, &k);
	if (!v)
		return NULL;
	for (i = 0; i < TW_HOST_OWNERS; i++) {
		struct tw_rule *r;
		__u32 idx;

		if (!v->rule[i])
			break;
		idx = v->rule[i] - 1;
		r = bpf_map_lookup_elem(&rules, &idx);
		if (!r || !rule_has_port(r, dst->port))
			continue;
		if (r->tier != tier && !other) {
			other = r;
			*index = idx;
			*host = v->host[i];
		} else if (r->tier == tier && !*own && !other) {
			*index = idx;
			*host = v->host[i];
		}
		*own |= r->tier == tier;
	}
	return other;
}

/* For a hostname grant: which policy hostnames resolved to dst (index + 1 each). */
static __always_inline void grant_probe_hosts(struct gprobe *p, const struct dst *dst)
{
	struct tw_host_key k = { .family = dst->family };
	struct tw_host_val *v;

	__builtin_memcpy(k.addr, dst->ip, 16);
	v = bpf_map_lookup_elem(&host_addrs, &k);
	if (v)
		__builtin_memcpy(p->hosts, v->host, sizeof(p->hosts));
}

/*
 * Who owns dst for a caller of tier d->tier: sets d->target and d->rule,
 * and *host (hostname index + 1, 0 for a CIDR rule). A CIDR rule decides
 * for its addresses (the operator's own word, and the way to settle an
 * address several tiers' names share). Elsewhere any hostname of another
 * tier that resolved to the address makes it that tier's, even if one of
 * the caller's own names resolved there too: a staging name pointing at
 * production is the mistake this exists to catch. No side effects: the
 * hooks and explain call it alike.
 */
static __always_inline int dst_owner(const struct dst *dst, struct decision *d, __u32 *host)
{
	struct tw_rule *r;
	bool own = false;
	__u32 ref;

	*host = 0;
	ref = dst->family == 4 ? lookup_v4(dst->ip[0]) : lookup_v6(dst);
	r = match_rule(ref, dst->port, &d->rule);
	if (r)
		own = r->tier == d->tier;
	else
		r = match_host(dst, d->tier, &d->rule, host, &own);
	if (r && r->tier != d->tier) {
		d->target = r->tier;
		return OWNER_OTHER;
	}
	if (!own)
		return OWNER_NONE;
	d->target = d->tier;
	return OWNER_SELF;
}

/*
 * An IPv4 destination as the kernel will use it. The kernel does not refuse
 * 0.0.0.0: its route lookup (ip_route_output_key_hash_rcu) sends it to the
 * socket's source address src, or to 127.0.0.1 when there is none.
 */
static __always_inline void dst_v4(struct dst *d, __u32 ip, __u32 src, bool mapped)
{
	d->ip[0] = ip;
	d->ip[1] = d->ip[2] = d->ip[3] = 0;
	d->family = 4;
	d->mapped = mapped;
	d->wrote = TW_WROTE_JUDGED;
	d->op = TW_NET_CALL;
	if (!ip) {
		d->wrote = mapped ? TW_WROTE_ANY_MAPPED : TW_WROTE_ANY4;
		d->ip[0] = src ? src : bpf_htonl(LOOPBACK4);
	}
}

/*
 * An IPv6 destination, word by word. "::" goes to ::1, or to
 * ::ffff:127.0.0.1 from a socket bound to an IPv4-mapped address
 * (tcp_v6_connect, __ip6_datagram_connect, udpv6_sendmsg); ::ffff:0.0.0.0
 * becomes an IPv4 connect to 0.0.0.0, judged as above.
 */
static __always_inline void dst_v6(struct dst *d, __u32 w0, __u32 w1, __u32 w2, __u32 w3,
				   bool v4_bound, __u32 src4)
{
	if (!w0 && !w1 && w2 == bpf_htonl(0xffff)) {
		dst_v4(d, w3, src4, true);
		return;
	}
	d->wrote = TW_WROTE_JUDGED;
	d->op = TW_NET_CALL;
	d->ip[1] = d->ip[2] = d->ip[3] = 0;
	if (!(w0 | w1 | w2 | w3)) {
		d->wrote = TW_WROTE_ANY6;
		d->family = v4_bound ? 4 : 6;
		d->mapped = v4_bound;
		d->ip[0] = v4_bound ? bpf_htonl(LOOPBACK4) : 0;
		d->ip[3] = v4_bound ? 0 : bpf_htonl(1);
		return;
	}
	d->ip[0] = w0;
	d->ip[1] = w1;
	d->ip[2] = w2;
	d->ip[3] = w3;
	d->family = 6;
	d->mapped = 0;
}

static __always_inline void emit_dst(int kind, __u32 proto, const struct dst *dst,
				     const struct decision *d, __u32 host)
{
	/* A received socket, or an unspecified address, is not the caller's plain connect. */
	struct tw_flood_key k = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.kind = kind | dst->op << 8 | dst->wrote << 12 | (d->grant ? TW_FLOOD_GRANTED : 0),
		.port_or_op = dst->port,
	};
	struct tw_event *e;
	__u32 n;

	__builtin_memcpy(k.target, dst->ip, 16);
	if (flood_fold(&k, &n))
		return;
	e = event_start(sizeof(*e), kind, d);
	if (!e) {
		count_n(CNT_RB_DROP, n - 1);	/* the repeats it carried are lost too */
		return;
	}
	e->h.count = n;
	e->h.aggregated = n > 1;
	e->family = dst->family;
	e->proto = proto;
	e->mapped = dst->mapped;
	e->wrote = dst->wrote;
	e->dport = dst->port;
	e->op = dst->op;
	e->pad2 = 0;
	e->rule = d->rule;
	__builtin_memcpy(e->daddr, dst->ip, 16);
	e->host = host;
	e->grant = d->grant;
	flood_remember(&k, e);
	event_submit(e);
}

/* The decision on dst for a caller of tier d->tier (tagged): true lets it through. */
static __always_inline bool judge_dst(int kind, __u32 proto, const struct dst *dst,
				      struct decision *d)
{
	__u32 host;
	int owner = dst_owner(dst, d, &host);

	if (owner == OWNER_OTHER) {
		struct gprobe p = { .kind = TW_GRANT_NET, .family = dst->family,
				    .proto = proto, .port = dst->port };

		__builtin_memcpy(p.ip, dst->ip, 16);
		grant_probe_hosts(&p, dst);
		/* An approved exception: allowed, and on the record whatever the tier logs. */
		if (grant_allows(&p, d)) {
			emit_dst(kind, proto, dst, d, host);
			return true;
		}
		decide(d);
		emit_dst(kind, proto, dst, d, host);
		return d->verdict == TW_VERDICT_AUDIT;
	}
	/* Own tier: allowed, and on the record (with the rule that owns it) if the tier asks. */
	if (owner == OWNER_SELF && logs_all(d->tier)) {
		d->verdict = TW_VERDICT_ALLOW;
		emit_dst(kind, proto, dst, d, host);
	}
	return true;
}

#endif
