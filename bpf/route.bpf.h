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

#define NEXTHDR_HOP		0
#define NEXTHDR_ROUTING		43
#define NEXTHDR_DEST		60
#define ROUTE_EXT_MAX		2	/* headers that may come before a routing header */

/*
 * IPv4: any option at all. Telling a source route from other options takes
 * a walk over each option that costs the verifier more than the DNS guard
 * itself, and a tiered process has no option it needs: it can only have set
 * them itself (IP_OPTIONS before joining, IP_RETOPTS per message). A
 * NetLabel (CIPSO) label on a tiered process's packets would be dropped too.
 */
static __always_inline __u8 ip4_route(__u8 ihl)
{
	return ihl > 5 ? TW_SOCKOPT_IP_OPTIONS : TW_SOCKOPT_NONE;
}

/*
 * IPv6: the kernel writes a routing header after at most a hop-by-hop and a
 * destination options header (ipv6_push_nfrag_opts): is it there?
 */
static __always_inline __u8 ip6_route(struct __sk_buff *skb, __u8 nexthdr)
{
	__u32 off = 40;
	__u8 h[2];
	int k;

	for (k = 0; k < ROUTE_EXT_MAX; k++) {
		if (nexthdr == NEXTHDR_ROUTING)
			return TW_SOCKOPT_IPV6_RTHDR;
		if (nexthdr != NEXTHDR_HOP && nexthdr != NEXTHDR_DEST)
			return TW_SOCKOPT_NONE;
		if (bpf_skb_load_bytes(skb, off, h, sizeof(h)))
			return TW_SOCKOPT_IPV6_RTHDR;	/* unreadable: not let through */
		off += (h[1] + 1) * 8;
		nexthdr = h[0];
	}
	return nexthdr == NEXTHDR_ROUTING ? TW_SOCKOPT_IPV6_RTHDR : TW_SOCKOPT_NONE;
}

#endif
