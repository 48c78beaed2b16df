/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only: which sockets a tiered process may hold. The cgroup connect
 * and sendmsg hooks judge TCP and UDP over IPv4 and IPv6, and nothing else
 * an inet socket can do: raw and ICMP "ping" sockets send with no hook,
 * UDP-Lite connects without one, SCTP reaches addresses given in sendmsg
 * and in the peer's INIT, MPTCP opens subflows from a kernel worker to
 * addresses the peer advertises. Packet and XDP sockets bypass IP. All of
 * these are refused to a tiered process: what cannot be judged is not let
 * through.
 */
#ifndef TW_SOCK_BPF_H
#define TW_SOCK_BPF_H

#include "tier.bpf.h"

#define AF_INET		2
#define AF_INET6	10
#define AF_PACKET	17
#define AF_XDP		44

/*
 * true: whatever this socket reaches is judged by the cgroup hooks (TCP,
 * UDP), or it carries no IP traffic a process can aim (unix, netlink, ...).
 * protocol is the socket's own (sk_protocol), never the 0 socket() takes.
 */
static __always_inline bool sock_judgeable(__u32 family, __u32 type, __u32 protocol)
{
	if (family != AF_INET && family != AF_INET6)
		return family != AF_PACKET && family != AF_XDP;
	return (type == SOCK_STREAM && protocol == IPPROTO_TCP) ||
	       (type == SOCK_DGRAM && protocol == IPPROTO_UDP);
}

/*
 * A socket refused to a tiered caller (d: its tier): counted, recorded,
 * true if the tier's audit mode lets it through anyway. A packet socket's
 * protocol is its ethertype, in network order as socket() takes it. from:
 * what the record may read of the current task (EV_*; a cgroup_skb program
 * may have none of it).
 */
static __always_inline bool refuse_sock_from(struct decision *d, int op, __u32 family, __u32 type,
					     __u32 protocol, __u8 option, int from)
{
	struct tw_flood_key k = {
		.cgroup_id = from & EV_TASK ? bpf_get_current_cgroup_id() : d->tagged,
		.tgid = from & EV_PID ? bpf_get_current_pid_tgid() >> 32 : 0,
		.kind = TW_EV_SOCKET,
		.port_or_op = op,
	};
	struct tw_sock_event *e;
	__u32 n;

	if (family == AF_PACKET)
		protocol = bpf_ntohs(protocol);
	d->target = TW_TIER_NONE;
	d->rule = 0;
	decide(d);
	__builtin_memcpy(k.target, &family, 4);
	__builtin_memcpy(k.target + 4, &type, 4);
	__builtin_memcpy(k.target + 8, &protocol, 4);
	k.target[12] = option;
	if (flood_fold(&k, &n))
		goto out;
	e = event_begin(sizeof(*e), TW_EV_SOCKET, d, from);
	if (!e) {
		count_n(CNT_RB_DROP, n - 1);
		goto out;
	}
	e->h.count = n;
	e->h.aggregated = n > 1;
	e->family = family;
	e->type = type;
	e->protocol = protocol;
	e->op = op;
	e->option = option;
	flood_remember(&k, e);
	event_submit(e);
out:
	return d->verdict == TW_VERDICT_AUDIT;
}

/* The same from a program in the caller's own context (socket(), setsockopt, BPF LSM). */
static __always_inline bool refuse_sock(struct decision *d, int op, __u32 family, __u32 type,
					__u32 protocol, __u8 option)
{
	return refuse_sock_from(d, op, family, type, protocol, option, EV_PID | EV_COMM | EV_TASK);
}

#endif
