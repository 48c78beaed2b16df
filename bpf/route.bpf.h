/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only: a packet that carries its own route. An IPv4 source route
 * (an LSRR or SSRR option) or an IPv6 routing header sends it first to an
 * address no connect or sendmsg hook judged. The sticky socket options are
 * refused at setsockopt (sock.bpf.c); these checks catch what passes there:
 * the per-message forms (IP_RETOPTS and IPv6 routing-header cmsgs, which
 * the sendmsg hooks cannot see) and options set on a socket before its
 * owner joined a tier. Each returns an enum tw_sockopt, 0 for no route.
 */
#ifndef TW_ROUTE_BPF_H
#define TW_ROUTE_BPF_H

#define IPOPT_END		0
#define IPOPT_NOOP		1
#define IPOPT_LSRR		131
#define IPOPT_SSRR		137
#define IP_OPT_MAX		40
#define NEXTHDR_HOP		0
#define NEXTHDR_ROUTING		43
#define NEXTHDR_FRAGMENT	44
#define NEXTHDR_DEST		60
#define ROUTE_EXT_MAX		8	/* extension headers walked; deeper is not let through */

/* An IPv4 header of ihl words: do its options hold a source route? */
static __always_inline __u8 ip4_route(struct __sk_buff *skb, __u8 ihl)
{
	__u8 o[IP_OPT_MAX] = {};
	__u32 n = (ihl & 0xf) * 4, i = 0, k;

	if (n <= 20)
		return TW_SOCKOPT_NONE;
	n -= 20;
	if (bpf_skb_load_bytes(skb, 20, o, n))
		return TW_SOCKOPT_IP_OPTIONS;	/* unreadable: not let through */
	for (k = 0; k < IP_OPT_MAX; k++) {
		if (i >= n || i + 1 >= IP_OPT_MAX || o[i] == IPOPT_END)
			break;
		if (o[i] == IPOPT_LSRR || o[i] == IPOPT_SSRR)
			return TW_SOCKOPT_IP_OPTIONS;
		if (o[i] == IPOPT_NOOP) {
			i++;
			continue;
		}
		if (o[i + 1] < 2)
			return TW_SOCKOPT_IP_OPTIONS;	/* malformed: not let through */
		i += o[i + 1];
	}
	return TW_SOCKOPT_NONE;
}

static __always_inline bool ip6_ext(__u8 nexthdr)
{
	return nexthdr == NEXTHDR_HOP || nexthdr == NEXTHDR_DEST || nexthdr == NEXTHDR_FRAGMENT ||
	       nexthdr == NEXTHDR_ROUTING;
}

/* The extension headers after the fixed IPv6 header: is one of them a routing header? */
static __always_inline __u8 ip6_route(struct __sk_buff *skb, __u8 nexthdr)
{
	__u32 off = 40;
	__u8 h[2];
	int k;

	for (k = 0; k < ROUTE_EXT_MAX && ip6_ext(nexthdr); k++) {
		if (nexthdr == NEXTHDR_ROUTING || bpf_skb_load_bytes(skb, off, h, sizeof(h)))
			return TW_SOCKOPT_IPV6_RTHDR;
		off += nexthdr == NEXTHDR_FRAGMENT ? 8 : (h[1] + 1) * 8;
		nexthdr = h[0];
	}
	return ip6_ext(nexthdr) ? TW_SOCKOPT_IPV6_RTHDR : TW_SOCKOPT_NONE;
}

#endif
