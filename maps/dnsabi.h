/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The DNS guard's part of the kernel/userspace ABI: the names trie's keys,
 * the callers recorded per socket and the record of a judged query.
 * Included by tierwall.h after struct tw_event_hdr.
 */
#ifndef TIERWALL_DNSABI_H
#define TIERWALL_DNSABI_H

/*
 * DNS names on the wire are at most 255 bytes; the guard keeps them in this
 * much room. Keys of the names trie are the lowercase dotted name reversed
 * byte by byte ("moc.elpmaxe.ipa"), then a 0: an exact name is its whole key,
 * a "*.example.com" wildcard the prefix "moc.elpmaxe." (so not the apex).
 */
#define TW_DNS_NAME_MAX		256

struct tw_name_key {
	__u32 prefixlen;	/* bits */
	__u8 name[TW_DNS_NAME_MAX];
};

struct tw_name_val {
	__u32 host;		/* hostname index + 1 */
	__u8 tier;
	__u8 wildcard;
	__u16 pad;
};

/*
 * dns_callers (socket storage): who last connected or sent to port 53 on a
 * socket, written by the connect/sendmsg programs in the caller's context.
 * The DNS guard judges the packets that socket sends by it: the caller's
 * tier (not the socket creator's) and its pid, whatever context egress runs in.
 */
struct tw_dns_caller {
	__u8 tier;		/* TW_TIER_NONE: an untagged caller */
	__u8 flags;		/* its tag's TW_TAG_* */
	__u16 pad;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u64 tagged_cgroup_id;
	__u64 cgroup_id;
	char comm[16];
	__u64 tag_gen;		/* runtime.tag_gen when recorded: older means tags changed since */
};

/* Task helpers the kernel gives cgroup_skb programs (the DNS guard's task_helpers). */
#define TW_SKB_PID		1
#define TW_SKB_COMM		2
#define TW_SKB_CGROUP		8	/* current (ancestor) cgroup ids: the tier of the sender */
#define TW_SKB_UID		16

/* A query the DNS guard judged (cgroup_skb egress). */
struct tw_dns_event {
	struct tw_event_hdr h;
	__u8 family;		/* 4 or 6 */
	__u8 proto;		/* IPPROTO_UDP / IPPROTO_TCP */
	__u8 reason;		/* enum tw_dns_reason; 0 for an allowed query */
	__u8 wire_len;		/* bytes of wire[] that hold the name as sent */
	__u16 qtype;		/* 0 if the question was not read that far */
	__u16 dport;
	__u32 host;		/* hostname index + 1 that matched */
	__u32 pad;
	__u8 daddr[16];		/* the DNS server */
	__u8 wire[TW_DNS_NAME_MAX];	/* the queried name in wire format, as sent */
};

_Static_assert(sizeof(struct tw_dns_event) == 352, "tw_dns_event layout changed");
_Static_assert(sizeof(struct tw_dns_caller) == 56, "tw_dns_caller layout changed");

#endif /* TIERWALL_DNSABI_H */
