// SPDX-License-Identifier: GPL-2.0
/*
 * Network enforcement: cgroup connect4/6 and sendmsg4/6 programs that deny a
 * tiered process's connections to destinations owned by another tier.
 *
 * The caller is judged by the task's own cgroup (bpf_get_current_*), not by
 * the cgroup the socket was created in: these hooks run the programs of the
 * socket's cgroup, but the tier comes from whoever calls connect/sendmsg.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "tier.bpf.h"

#define SK_ALLOW	1
#define SK_DENY		0
#define DNS_PORT	53

/* Set by the loader: the DNS guard is loaded and reads who sent DNS on a socket. */
const volatile bool dns_guard = false;

/* Sized by the daemon from the policy before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct tw_rule);
	__uint(map_flags, BPF_F_MMAPABLE);	/* filled with one memcpy */
	__uint(max_entries, 1);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, TW_DIR_L1);
} v4_dir SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct tw_lpm6_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1);
} v6_lpm SEC(".maps");

/* Addresses the daemon resolved policy hostnames to; sized by the daemon. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct tw_host_key);
	__type(value, struct tw_host_val);
	__uint(max_entries, 1);
} host_addrs SEC(".maps");

/* Most specific rule for an IPv4 address (network order): index + 1 or 0. */
static __always_inline __u32 lookup_v4(__u32 daddr_be)
{
	__u32 a = bpf_ntohl(daddr_be);
	__u32 idx = a >> 16, *e;
	int step;

	/* Three levels at most: /16, then 8 bits, then 8 bits. */
	for (step = 0; step < 3; step++) {
		e = bpf_map_lookup_elem(&v4_dir, &idx);
		if (!e)
			return 0;
		if (!(*e & TW_DIR_BLOCK))
			return *e;
		idx = TW_DIR_L1 + (*e & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE +
		      ((a >> (step == 0 ? 8 : 0)) & 0xff);
	}
	return 0;
}

/* Destination as read once from the context; addresses in network order. */
struct dst {
	__u32 ip[4];
	__u16 port;		/* host byte order */
	__u8 family;		/* 4 or 6: which table judges it */
	__u8 mapped;		/* ::ffff:a.b.c.d judged as a.b.c.d */
};

static __always_inline __u32 lookup_v6(const struct dst *d)
{
	struct tw_lpm6_key key = { .prefixlen = 128 };
	__u32 *v;

	__builtin_memcpy(key.addr, d->ip, 16);
	v = bpf_map_lookup_elem(&v6_lpm, &key);
	return v ? *v : 0;
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
static __always_inline struct tw_rule *match_rule(__u32 ref, __u16 port,
						  __u32 *index)
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
 * one of the caller's own tier's names resolved there too.
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
		if (r->tier == tier) {
			*own = true;
		} else if (!other) {
			other = r;
			*index = idx;
			*host = v->host[i];
		}
	}
	return other;
}

static __always_inline void emit(int kind, __u32 proto, const struct dst *dst,
				 const struct decision *d, __u32 host)
{
	struct tw_flood_key k = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.kind = kind,
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
	e->pad = 0;
	e->dport = dst->port;
	e->pad2 = 0;
	e->rule = d->rule;
	__builtin_memcpy(e->daddr, dst->ip, 16);
	e->host = host;
	e->pad3 = 0;
	flood_remember(&k, e);
	event_submit(e);
}

/*
 * DNS on this socket will be judged by the DNS guard as coming from this
 * caller, tagged or not: egress may run in another context, and the socket
 * may have been made by someone else.
 */
static __always_inline void remember_dns_caller(struct bpf_sock_addr *ctx,
						const struct decision *d)
{
	struct tw_dns_caller *c;
	struct bpf_sock *sk = ctx->sk;
	__u64 id;

	if (!sk)
		return;
	c = bpf_sk_storage_get(&dns_callers, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!c)
		return;	/* no memory: the guard falls back to the socket's cgroup */
	id = bpf_get_current_pid_tgid();
	c->tier = d->tier;
	c->pid = id >> 32;
	c->tid = (__u32)id;
	c->uid = (__u32)bpf_get_current_uid_gid();
	c->tagged_cgroup_id = d->tagged;
	c->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(c->comm, sizeof(c->comm));
}

/*
 * The whole decision: 1 lets the call through, 0 fails it with EPERM.
 * A CIDR rule decides for its addresses (the operator's own word, and the
 * way to settle an address several tiers' names share). Elsewhere any
 * hostname of another tier that resolved to the address denies it, even if
 * one of the caller's own names resolved there too: a staging name pointing
 * at production is the mistake this exists to catch.
 */
static __always_inline int judge(struct bpf_sock_addr *ctx, int kind, __u32 proto,
				 const struct dst *dst)
{
	struct decision d = {};
	__u32 ref, host = 0;
	struct tw_rule *r;
	bool own = false;

	d.tier = caller_tier(&d.tagged);
	if (dns_guard && dst->port == DNS_PORT)
		remember_dns_caller(ctx, &d);
	if (d.tier == TW_TIER_NONE)
		return SK_ALLOW;

	ref = dst->family == 4 ? lookup_v4(dst->ip[0]) : lookup_v6(dst);
	r = match_rule(ref, dst->port, &d.rule);
	if (r)
		own = r->tier == d.tier;
	else
		r = match_host(dst, d.tier, &d.rule, &host, &own);
	if (r && r->tier != d.tier) {
		d.target = r->tier;
		decide(&d);
		emit(kind, proto, dst, &d, host);
		return d.verdict == TW_VERDICT_AUDIT ? SK_ALLOW : SK_DENY;
	}
	/* Own tier: allowed, and on the record if the tier asks for it. */
	if (own && logs_all(d.tier)) {
		d.target = d.tier;
		d.verdict = TW_VERDICT_ALLOW;
		emit(kind, proto, dst, &d, 0);
	}
	return SK_ALLOW;
}

static __always_inline void read_dst4(struct bpf_sock_addr *ctx, struct dst *d)
{
	d->ip[0] = ctx->user_ip4;
	d->ip[1] = d->ip[2] = d->ip[3] = 0;
	d->port = bpf_ntohs(ctx->user_port);
	d->family = 4;
	d->mapped = 0;
}

/* ctx->user_ip6 allows only 4-byte loads, hence one word at a time. */
static __always_inline void read_dst6(struct bpf_sock_addr *ctx, struct dst *d)
{
	__u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1];
	__u32 w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];

	d->port = bpf_ntohs(ctx->user_port);
	if (!w0 && !w1 && w2 == bpf_htonl(0xffff)) {
		d->ip[0] = w3;
		d->ip[1] = d->ip[2] = d->ip[3] = 0;
		d->family = 4;
		d->mapped = 1;
		return;
	}
	d->ip[0] = w0;
	d->ip[1] = w1;
	d->ip[2] = w2;
	d->ip[3] = w3;
	d->family = 6;
	d->mapped = 0;
}

SEC("cgroup/connect4")
int tw_connect4(struct bpf_sock_addr *ctx)
{
	struct dst d;

	read_dst4(ctx, &d);
	return judge(ctx, TW_EV_CONNECT, ctx->protocol, &d);
}

SEC("cgroup/connect6")
int tw_connect6(struct bpf_sock_addr *ctx)
{
	struct dst d;

	read_dst6(ctx, &d);
	return judge(ctx, TW_EV_CONNECT, ctx->protocol, &d);
}

SEC("cgroup/sendmsg4")
int tw_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct dst d;

	read_dst4(ctx, &d);
	return judge(ctx, TW_EV_SENDMSG, ctx->protocol, &d);
}

SEC("cgroup/sendmsg6")
int tw_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct dst d;

	read_dst6(ctx, &d);
	return judge(ctx, TW_EV_SENDMSG, ctx->protocol, &d);
}

/*
 * Run by the daemon every few hundred ms (BPF_PROG_TEST_RUN): a window that
 * ended with repeats folded into it becomes one aggregated record, with the
 * count taken atomically; entries idle for two windows are dropped.
 */
struct flush_ctx {
	__u64 now;
	__u64 window;
	__u64 force;		/* the daemon is stopping: report open windows too */
};

static long flush_one(struct bpf_map *map, struct tw_flood_key *k, struct tw_flood_val *v,
		      struct flush_ctx *c)
{
	struct tw_event_hdr *h;
	__u64 n;

	if (c->now < v->window_end && !c->force)
		return 0;
	n = v->pending ? __sync_lock_test_and_set(&v->pending, 0) : 0;
	if (!n) {
		if (c->now > v->window_end + 2 * c->window)
			bpf_map_delete_elem(map, k);
		return 0;
	}
	if (k->kind == TW_EV_FILE) {
		h = bpf_ringbuf_reserve(&events, sizeof(struct tw_file_event), 0);
		if (h)
			__builtin_memcpy(h, v->rec, sizeof(struct tw_file_event));
	} else if (k->kind == TW_EV_DNS) {
		h = bpf_ringbuf_reserve(&events, sizeof(struct tw_dns_event), 0);
		if (h)
			__builtin_memcpy(h, v->rec, sizeof(struct tw_dns_event));
	} else {
		h = bpf_ringbuf_reserve(&events, sizeof(struct tw_event), 0);
		if (h)
			__builtin_memcpy(h, v->rec, sizeof(struct tw_event));
	}
	if (!h) {
		count_n(CNT_RB_DROP, n);
		return 0;
	}
	h->aggregated = 1;
	h->count = n;
	h->ts_boot_ns = c->now;
	bpf_ringbuf_submit(h, BPF_RB_NO_WAKEUP);
	return 0;
}

/* ctx: one __u64 from the daemon, non-zero to flush every window now. */
SEC("syscall")
int tw_flood_flush(__u64 *force)
{
	struct flush_ctx c = { .now = bpf_ktime_get_boot_ns(), .window = flood_window() };

	c.force = *force;
	if (c.window)
		bpf_for_each_map_elem(&flood, flush_one, &c, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
