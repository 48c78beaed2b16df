/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for the DNS guard: where a packet's DNS message lies. Every
 * length is checked against what was really sent; headers it cannot see
 * past are a reason, never a pass.
 */
#ifndef TW_DNSPKT_BPF_H
#define TW_DNSPKT_BPF_H

#include "tier.bpf.h"

#define SKB_PASS	1
#define SKB_DROP	0
#define DNS_PORT	53
#define ETH_P_IP_BE	bpf_htons(0x0800)
#define ETH_P_IPV6_BE	bpf_htons(0x86DD)
#define PROTO_TCP	6
#define PROTO_UDP	17
#define DNS_HDR_LEN	12
#define MAX_EXT_HDRS	4	/* IPv6 extension headers walked before giving up */
#define MAX_TCP_MSGS	2	/* glibc writes its A and AAAA queries in one segment */
#define TCP_URG		0x20

/* Where a packet's DNS payload lies; reasons from enum tw_dns_reason. */
struct pkt {
	__u32 off;		/* start of the UDP payload / TCP payload */
	__u32 end;		/* skb->len */
	__u32 seq;		/* TCP: the segment's sequence number */
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u8 known;		/* 1: who holds the caller the socket recorded */
	__u8 current;		/* 1: the sender is the current task (UDP, TW_SKB_CGROUP) */
	__u8 ingress;		/* 1: an answer from port 53; dport, daddr: its source */
	__u32 daddr[4];
	struct tw_dns_caller who;
};


/* 1 if this is DNS to port 53 (p filled), 0 if not DNS, or -reason. */
static __always_inline int l4_dns(struct __sk_buff *skb, struct pkt *p, __u32 l4)
{
	__u8 tcp[14];
	__u16 ports[2];

	if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
		return -TW_DNS_TRUNCATED;
	p->dport = bpf_ntohs(ports[p->ingress ? 0 : 1]);
	if (p->dport != DNS_PORT)
		return 0;
	if (p->proto == PROTO_UDP) {
		p->off = l4 + 8;
		/* One datagram per packet: a UDP GSO batch would hide queries. */
		if (skb->gso_segs > 1)
			return -TW_DNS_COUNT;
		return 1;
	}
	if (bpf_skb_load_bytes(skb, l4, tcp, sizeof(tcp)))
		return -TW_DNS_TRUNCATED;
	p->off = l4 + (tcp[12] >> 4) * 4;
	p->seq = ((__u32)tcp[4] << 24) | ((__u32)tcp[5] << 16) | ((__u32)tcp[6] << 8) | tcp[7];
	/*
	 * The server's stack takes the urgent byte out of the stream it reads,
	 * the guard would not: every later message would be read one byte off.
	 */
	if (tcp[13] & TCP_URG)
		return -TW_DNS_URGENT;
	return 1;
}

static __always_inline int ip4_dns(struct __sk_buff *skb, struct pkt *p)
{
	struct iphdr ip;

	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)))
		return 0;
	if (ip.protocol != PROTO_UDP && ip.protocol != PROTO_TCP)
		return 0;
	p->proto = ip.protocol;
	p->family = 4;
	p->daddr[0] = p->ingress ? ip.saddr : ip.daddr;
	/* A later fragment has no ports to tell DNS from anything else. */
	if (ip.frag_off & bpf_htons(0x1fff) || ip.ihl < 5)
		return -TW_DNS_UNPARSED;
	return l4_dns(skb, p, ip.ihl * 4);
}

static __always_inline int ip6_dns(struct __sk_buff *skb, struct pkt *p)
{
	struct ipv6hdr ip6;
	__u32 off = sizeof(ip6);
	__u8 next, ext[2];
	__u16 frag;
	int i;

	if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)))
		return 0;
	next = ip6.nexthdr;
	p->family = 6;
	__builtin_memcpy(p->daddr, p->ingress ? &ip6.saddr : &ip6.daddr, 16);
	for (i = 0; i < MAX_EXT_HDRS; i++) {
		if (next == PROTO_UDP || next == PROTO_TCP) {
			p->proto = next;
			return l4_dns(skb, p, off);
		}
		if (bpf_skb_load_bytes(skb, off, ext, sizeof(ext)))
			return -TW_DNS_TRUNCATED;
		switch (next) {
		case 0:		/* hop-by-hop */
		case 43:	/* routing */
		case 60:	/* destination options */
			off += (ext[1] + 1) * 8;
			break;
		case 44:	/* fragment: only the first has the ports */
			if (bpf_skb_load_bytes(skb, off + 2, &frag, sizeof(frag)))
				return -TW_DNS_TRUNCATED;
			if (frag & bpf_htons(0xfff8))
				return -TW_DNS_UNPARSED;
			off += 8;
			break;
		case 51:	/* authentication header */
			off += (ext[1] + 2) * 4;
			break;
		default:
			return 0;	/* ICMPv6, ESP, no next header: not DNS */
		}
		next = ext[0];
	}
	if (next == PROTO_UDP || next == PROTO_TCP) {
		p->proto = next;
		return l4_dns(skb, p, off);
	}
	return next == 0 || next == 43 || next == 60 || next == 44 || next == 51 ?
	       -TW_DNS_UNPARSED : 0;
}

/*
 * The fast path every packet takes: read the headers in place (no helper
 * call) and say 1 if this is certainly not DNS to (egress) or from (ingress)
 * port 53, 0 if the full parse must decide (DNS, or headers outside the
 * linear data).
 */
static __always_inline int surely_not_dns(struct __sk_buff *skb, int ingress)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ipv6hdr *ip6 = data;
	struct iphdr *ip = data;
	__u16 *ports;

	if (skb->protocol == ETH_P_IP_BE) {
		if ((void *)(ip + 1) > end)
			return 0;
		if (ip->protocol != PROTO_UDP && ip->protocol != PROTO_TCP)
			return 1;
		if (ip->frag_off & bpf_htons(0x1fff) || ip->ihl < 5)
			return 0;
		ports = data + ip->ihl * 4;
	} else if (skb->protocol == ETH_P_IPV6_BE) {
		if ((void *)(ip6 + 1) > end)
			return 0;
		if (ip6->nexthdr != PROTO_UDP && ip6->nexthdr != PROTO_TCP)
			return 0;	/* extension headers: the full walk decides */
		ports = (void *)(ip6 + 1);
	} else {
		return 1;
	}
	if ((void *)(ports + 2) > end)
		return 0;
	return ports[ingress ? 0 : 1] != bpf_htons(DNS_PORT);
}

#endif
