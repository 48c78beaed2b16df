// SPDX-License-Identifier: GPL-2.0
/*
 * Network enforcement: cgroup connect4/6 and sendmsg4/6 programs that deny a
 * tiered process's connections to destinations owned by another tier.
 *
 * The caller is judged by the task's own cgroup (bpf_get_current_*), not by
 * the cgroup the socket was created in: these hooks run the programs of the
 * socket's cgroup, but the tier comes from whoever calls connect/sendmsg.
 */
/*
 * Only UAPI context structs here, whose layout is ABI: no CO-RE, so libbpf
 * need not parse the kernel's BTF (seconds per start in a TCG guest).
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "dst.bpf.h"

#define SK_ALLOW	1
#define SK_DENY		0
#define SK_ALLOW_TIERED	2	/* judge()'s: allowed, and the caller has a tier */
#define DNS_PORT	53
#define AF_INET6	10

/* Set by the loader: the DNS guard is loaded and reads who sent DNS on a socket. */
const volatile bool dns_guard = false;

static __always_inline int judge(struct bpf_sock_addr *ctx, int kind, const struct dst *dst)
{
	struct decision d = {};

	caller_tier(&d);
	if (dns_guard && dst->port == DNS_PORT)
		record_dns_caller(ctx->sk, &d);
	if (d.tier == TW_TIER_NONE)
		return SK_ALLOW;
	return judge_dst(kind, ctx->protocol, dst, &d) ? SK_ALLOW_TIERED : SK_DENY;
}

/*
 * The destination as the kernel will use it (dst_v4: an unspecified one is
 * judged as where it goes). src is the source the kernel will use (connect:
 * the bound address; sendmsg: the socket's, or IP_PKTINFO's); sendmsg4 also
 * judges an IPv6 socket's datagram to ::ffff:a.b.c.d.
 */
static __always_inline void read_dst4(struct bpf_sock_addr *ctx, struct dst *d, __u32 src)
{
	struct bpf_sock *sk = ctx->sk;

	dst_v4(d, ctx->user_ip4, src, sk && sk->family == AF_INET6);
	d->port = bpf_ntohs(ctx->user_port);
}

/* ctx->user_ip6 allows only 4-byte loads, hence one word at a time. */
static __always_inline void read_dst6(struct bpf_sock_addr *ctx, struct dst *d, bool v4_bound,
				      __u32 src4)
{
	__u32 w0 = ctx->user_ip6[0], w1 = ctx->user_ip6[1];
	__u32 w2 = ctx->user_ip6[2], w3 = ctx->user_ip6[3];

	dst_v6(d, w0, w1, w2, w3, v4_bound, src4);
	d->port = bpf_ntohs(ctx->user_port);
}

/* Is the socket bound to an IPv4-mapped address (and so an IPv4 socket for connect)? */
static __always_inline bool bound_v4_mapped(struct bpf_sock *sk)
{
	return sk && !sk->src_ip6[0] && !sk->src_ip6[1] && sk->src_ip6[2] == bpf_htonl(0xffff);
}

/*
 * A tiered caller's allowed connect to an unspecified address goes exactly
 * where it was judged: written back, the kernel has nothing left to choose (a
 * socket bound to a broadcast address would otherwise go to 127.0.0.1).
 */
static __always_inline int connect_as_judged(struct bpf_sock_addr *ctx, const struct dst *d, bool v6,
					     int verdict)
{
	if (verdict != SK_ALLOW_TIERED)
		return verdict;
	if (d->wrote == TW_WROTE_JUDGED)
		return SK_ALLOW;
	if (!v6) {
		ctx->user_ip4 = d->ip[0];
		return SK_ALLOW;
	}
	ctx->user_ip6[0] = d->family == 4 ? 0 : d->ip[0];
	ctx->user_ip6[1] = d->family == 4 ? 0 : d->ip[1];
	ctx->user_ip6[2] = d->family == 4 ? bpf_htonl(0xffff) : d->ip[2];
	ctx->user_ip6[3] = d->family == 4 ? d->ip[0] : d->ip[3];
	return SK_ALLOW;
}

SEC("cgroup/connect4")
int tw_connect4(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct dst d;

	read_dst4(ctx, &d, sk ? sk->src_ip4 : 0);
	return connect_as_judged(ctx, &d, false, judge(ctx, TW_EV_CONNECT, &d));
}

SEC("cgroup/connect6")
int tw_connect6(struct bpf_sock_addr *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct dst d;

	read_dst6(ctx, &d, bound_v4_mapped(sk), sk ? sk->src_ip4 : 0);
	return connect_as_judged(ctx, &d, true, judge(ctx, TW_EV_CONNECT, &d));
}

SEC("cgroup/sendmsg4")
int tw_sendmsg4(struct bpf_sock_addr *ctx)
{
	struct dst d;

	read_dst4(ctx, &d, ctx->msg_src_ip4);
	return judge(ctx, TW_EV_SENDMSG, &d) == SK_DENY ? SK_DENY : SK_ALLOW;
}

/*
 * udpv6_sendmsg has already turned "::" into ::ffff:127.0.0.1 for an IPv4-bound
 * socket, and sends ::ffff:a.b.c.d through sendmsg4: here "::" is ::1.
 */
SEC("cgroup/sendmsg6")
int tw_sendmsg6(struct bpf_sock_addr *ctx)
{
	struct dst d;

	read_dst6(ctx, &d, false, 0);
	return judge(ctx, TW_EV_SENDMSG, &d) == SK_DENY ? SK_DENY : SK_ALLOW;
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
	} else if (k->kind == TW_EV_SOCKET) {
		h = bpf_ringbuf_reserve(&events, sizeof(struct tw_sock_event), 0);
		if (h)
			__builtin_memcpy(h, v->rec, sizeof(struct tw_sock_event));
	} else {	/* connect and sendmsg, their op and wrote in the kind's high bits */
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
