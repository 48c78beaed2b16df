// SPDX-License-Identifier: GPL-2.0
/*
 * The DNS guard: a cgroup_skb egress program that reads the question of DNS
 * queries (UDP and TCP to port 53) sent by tiered processes and drops those
 * for a name another tier owns, exactly or by a "*.suffix" wildcard. It
 * catches what the daemon's resolver cannot know in advance: wildcard names
 * and names that appear later.
 *
 * The parser trusts nothing in the packet: every length is checked against
 * what was really sent, loops are bounded, and anything it cannot read to
 * the end (compression pointers in a question, labels over 63 bytes, names
 * over 255, truncation, lying counts, headers it cannot see past) is dropped
 * as malformed, never let through.
 *
 * Running on every packet anyway, it also drops any packet of a tiered
 * sender that carries its own route (route.bpf.h), whatever its port.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "names.bpf.h"
#include "route.bpf.h"
#include "sock.bpf.h"

#include "dnspkt.bpf.h"
#include "dnsname.bpf.h"
#include "dnsanswer.bpf.h"

/*
 * Set by the loader: which task helpers this kernel gives cgroup_skb
 * programs (TW_SKB_*; 6.1 none, 6.12 pid and comm). With TW_SKB_CGROUP a
 * UDP query is judged by the task sending it (UDP egress runs in the
 * sender's context); otherwise pid and comm name the sender of a socket
 * with no recorded caller (connected before tierwalld started).
 */
const volatile int task_helpers = 0;

/*
 * The caller the connect/sendmsg programs recorded on this socket: its tier
 * and identity hold whatever context this packet leaves in.
 */
static __always_inline void recorded_caller(struct __sk_buff *skb, struct pkt *p)
{
	struct bpf_sock *sk = skb->sk;
	struct tw_dns_caller *c;

	if (!sk)
		return;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return;
	c = bpf_sk_storage_get(&dns_callers, sk, NULL, 0);
	if (!c)
		return;
	__builtin_memcpy(&p->who, c, sizeof(p->who));
	p->known = 1;
}

/* Who the current task is, for an event about the query it sends (TW_SKB_CGROUP). */
static __always_inline void current_identity(struct __sk_buff *skb, struct tw_dns_caller *c)
{
	__u64 id = bpf_get_current_pid_tgid();

	c->pid = id >> 32;
	c->tid = (__u32)id;
	c->uid = task_helpers & TW_SKB_UID ? (__u32)bpf_get_current_uid_gid() :
					     bpf_get_socket_uid(skb);
	c->cgroup_id = bpf_get_current_cgroup_id();
	bpf_get_current_comm(c->comm, sizeof(c->comm));
}

/*
 * Who sends this packet. The task itself where the kernel lets a cgroup_skb
 * program see it and the packet leaves in its context: UDP is sent from the
 * sendmsg call, TCP may leave from softirq on nobody's behalf. A tiered
 * current task decides; an untagged one does not loosen what the socket says
 * (a packet reinjected by an NFQUEUE daemon leaves in the daemon's context).
 * Else the caller recorded on the socket at connect, sendto and (BPF LSM)
 * every send; an untagged record older than the last tag change gives way
 * to the socket's own cgroup if that is tagged now (`tierwall tag` on a
 * running process). Else the socket's cgroup.
 */
static __always_inline void sender(struct __sk_buff *skb, struct pkt *p, struct decision *d)
{
	if ((task_helpers & TW_SKB_CGROUP) && p->proto == PROTO_UDP && !p->ingress) {
		caller_tier(d);
		if (d->tier != TW_TIER_NONE) {
			p->current = 1;		/* who it is: only if there is an event */
			return;
		}
	}
	recorded_caller(skb, p);
	if (!p->known) {
		tier_of(TIER_SKB, skb, d);
		return;
	}
	d->tier = p->who.tier;
	d->flags = p->who.flags;
	d->tagged = p->who.tagged_cgroup_id;
	if (d->tier == TW_TIER_NONE && p->who.tag_gen != tag_gen())
		tier_of(TIER_SKB, skb, d);
}

/*
 * Read the one question of the message at [off, end) into s: the wire name,
 * its reversed dotted lowercase key, qtype. 0 if there is a name to judge,
 * else a tw_dns_reason.
 */
static __noinline int read_question(struct __sk_buff *skb, __u32 off, __u32 end,
				    struct scratch *s)
{
	struct walk w = { .hash = 0xcbf29ce484222325ULL };
	__u8 hdr[DNS_HDR_LEN];
	__u16 qd, qtype;
	__u32 n;

	s->wire_len = 0;
	s->qtype = 0;
	if (off > end || end - off < DNS_HDR_LEN)
		return TW_DNS_TRUNCATED;
	if (bpf_skb_load_bytes(skb, off, hdr, sizeof(hdr)))
		return TW_DNS_TRUNCATED;
	qd = (hdr[4] << 8) | hdr[5];
	/*
	 * Servers answer one question (RFC 9619). None asks nothing of a
	 * server, and is what a query read out of step looks like.
	 */
	if (qd != 1)
		return TW_DNS_COUNT;
	off += DNS_HDR_LEN;
	if (end <= off)
		return TW_DNS_TRUNCATED;
	/* Read 1..256 bytes; the barrier keeps the bounds where 6.1's verifier sees them. */
	n = end - off - 1;
	if (n > TW_DNS_NAME_MAX - 1)
		n = TW_DNS_NAME_MAX - 1;
	barrier_var(n);
	n &= TW_DNS_NAME_MAX - 1;
	if (bpf_skb_load_bytes(skb, off, s->wire, n + 1))
		return TW_DNS_TRUNCATED;
	n++;
	s->wire_len = n;
	w.n = n;

	/* 128 labels of at least 2 bytes cannot fit in 255: the walk ends first. */
	bpf_loop(128, parse_label, &w, 0);
	if (w.reason)
		return w.reason;
	if (w.pos >= n)
		return TW_DNS_TRUNCATED;
	s->wire_len = w.pos + 1;
	if (off + w.pos + 5 > end)
		return TW_DNS_TRUNCATED;	/* no room for qtype and qclass */
	if (bpf_skb_load_bytes(skb, off + w.pos + 1, &qtype, sizeof(qtype)))
		return TW_DNS_TRUNCATED;
	s->qtype = bpf_ntohs(qtype);

	name_key(s, &w);
	return 0;
}

/* d->rule carries the matched hostname index + 1 (DNS decisions have no rule). */
static __noinline void dns_emit(struct __sk_buff *skb, const struct pkt *p,
				const struct scratch *s, int reason, const struct decision *d)
{
	const struct tw_dns_caller *who = p->known ? &p->who : NULL;
	struct tw_flood_key k = { .kind = TW_EV_DNS, .port_or_op = s->qtype };
	/* An answer arrives in no one's context: only the socket's record says who. */
	int from = p->ingress ? 0 : task_helpers & (EV_PID | EV_COMM);
	struct tw_dns_caller cur;
	struct tw_dns_event *e;
	__u32 cnt;

	if ((task_helpers & TW_SKB_CGROUP) && p->current) {
		current_identity(skb, &cur);
		who = &cur;
	}
	k.cgroup_id = who ? who->cgroup_id : bpf_skb_cgroup_id(skb);
	k.tgid = who ? who->pid : from & EV_PID ? bpf_get_current_pid_tgid() >> 32 : 0;
	__builtin_memcpy(k.target, &s->hash, 8);
	k.target[8] = reason;
	if (flood_fold(&k, &cnt))
		return;
	e = event_begin(sizeof(*e), TW_EV_DNS, d, who ? 0 : from);
	if (!e) {
		count_n(CNT_RB_DROP, cnt - 1);
		return;
	}
	if (who) {
		e->h.pid = who->pid;
		e->h.tid = who->tid;
		e->h.uid = who->uid;
		__builtin_memcpy(e->h.comm, who->comm, sizeof(e->h.comm));
	} else {
		e->h.uid = bpf_get_socket_uid(skb);
	}
	e->h.count = cnt;
	e->h.aggregated = cnt > 1;
	e->h.cgroup_id = k.cgroup_id;	/* the caller's, or the socket's */
	e->family = p->family;
	e->proto = p->proto;
	e->reason = reason;
	e->wire_len = s->wire_len > 255 ? 255 : s->wire_len;
	e->qtype = s->qtype;
	e->dport = p->dport;
	e->host = d->rule;
	e->pad = 0;
	__builtin_memcpy(e->daddr, p->daddr, 16);
	__builtin_memcpy(e->wire, s->wire, sizeof(e->wire));
	flood_remember(&k, e);
	event_submit(e);
}

/* Judge one message at [off, end): SKB_PASS or SKB_DROP. */
static __noinline int judge_msg(struct __sk_buff *skb, const struct pkt *p,
			     struct decision *d, __u32 off, __u32 end)
{
	__u32 zero = 0;
	struct scratch *s;
	int reason, owner;

	s = bpf_map_lookup_elem(&scratch_map, &zero);
	if (!s)
		return SKB_DROP;
	reason = read_question(skb, off, end, s);
	if (!reason) {
		owner = name_owner(&s->key, d);
		if (owner == OWNER_NONE)
			return SKB_PASS;
		if (owner == OWNER_SELF) {
			if (logs_all(d->tier)) {
				d->verdict = TW_VERDICT_ALLOW;
				dns_emit(skb, p, s, 0, d);
			}
			return SKB_PASS;
		}
		reason = TW_DNS_OWNED;
	}
	decide(d);
	dns_emit(skb, p, s, reason, d);
	return d->verdict == TW_VERDICT_AUDIT ? SKB_PASS : SKB_DROP;
}

/* Judge one answer at [off, end) to a tiered socket: SKB_PASS or SKB_DROP. */
static __noinline int judge_answer(struct __sk_buff *skb, const struct pkt *p,
				   struct decision *d, __u32 off, __u32 end)
{
	struct scratch *s = scratch();
	int reason;

	if (!s)
		return SKB_DROP;
	s->qtype = 0;
	reason = answer_names(skb, d, off, end);
	if (!reason)
		return SKB_PASS;
	if (reason != TW_DNS_ANSWER)
		s->wire_len = 0;	/* no name to show */
	decide(d);
	dns_emit(skb, p, s, reason, d);
	return d->verdict == TW_VERDICT_AUDIT ? SKB_PASS : SKB_DROP;
}

/*
 * A datagram whose data is not all in the skb's own linear buffer: splice,
 * sendfile, vmsplice, MSG_ZEROCOPY and io_uring SEND_ZC leave it in the
 * sender's pages, which it may rewrite after this program read them and
 * before the server does. An ordinary send copies a datagram this small
 * into the linear part, so only those paths (and MSG_MORE corking) land here.
 */
static __always_inline bool udp_paged(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	__u32 len = skb->len;

	/*
	 * data_end below data never comes with a real packet: it is
	 * BPF_PROG_TEST_RUN on 6.1 and 6.12, which sets no packet pointers
	 * for cgroup_skb and builds a linear skb.
	 */
	if (end < data)
		return false;
	if (len > 0xffff)
		return true;
	return data + (len & 0xffff) > end;
}

/* A packet the guard cannot read far enough, from a tiered sender. */
static __always_inline int judge_unreadable(struct __sk_buff *skb, const struct pkt *p,
					    struct decision *d, int reason)
{
	__u32 zero = 0;
	struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);

	if (!s)
		return SKB_DROP;
	s->wire_len = 0;
	s->qtype = 0;
	s->hash = 0;
	__builtin_memset(s->wire, 0, sizeof(s->wire));
	decide(d);
	dns_emit(skb, p, s, reason, d);
	return d->verdict == TW_VERDICT_AUDIT ? SKB_PASS : SKB_DROP;
}

/*
 * A packet carrying its own route (route.bpf.h) from a tiered sender:
 * recorded and dropped, whatever its port. SKB_DROP, or -1 to go on (no
 * route, an untiered sender, an audited tier). Packets without IPv4
 * options or IPv6 extension headers leave at the first test.
 */
static __always_inline int judge_route(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct bpf_sock *sk = skb->sk;
	struct iphdr *ip = data;
	struct ipv6hdr *ip6 = data;
	struct decision d = {};
	struct pkt p = {};
	__u8 opt = TW_SOCKOPT_NONE;

	if (skb->protocol == ETH_P_IP_BE && (void *)(ip + 1) <= end)
		opt = ip4_route(ip->ihl);
	else if (skb->protocol == ETH_P_IPV6_BE && (void *)(ip6 + 1) <= end)
		opt = ip6_route(skb, ip6->nexthdr);
	if (opt == TW_SOCKOPT_NONE)
		return -1;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	p.proto = sk ? sk->protocol : 0;
	sender(skb, &p, &d);
	if (d.tier == TW_TIER_NONE ||
	    refuse_sock_from(&d, TW_NET_ROUTE, skb->protocol == ETH_P_IP_BE ? AF_INET : AF_INET6,
			     sk ? sk->type : 0, p.proto, opt, task_helpers & (EV_PID | EV_COMM)))
		return -1;
	return SKB_DROP;
}

/*
 * An answer's segment as the receiver's stream takes it: 0 with *off moved
 * past the bytes the stream already has (a resend, maybe shifted: TCP keeps
 * its first copy, and the stream's next byte starts a message, as every
 * segment the guard passed ended one), 1 if it has all of them, -1 if the
 * segment is ahead of the stream (out of order, or behind one not yet
 * processed): judged from its own start, its bytes would not be read as the
 * stream reads them once the gap fills, so it is dropped and comes again.
 */
static __always_inline int stream_pos(struct __sk_buff *skb, const struct pkt *p, __u32 *off)
{
	struct bpf_sock *sk = skb->sk;
	struct bpf_tcp_sock *tp = sk ? bpf_tcp_sock(sk) : NULL;
	__u32 have;

	if (!tp)
		return 0;	/* no full socket (BPF_PROG_TEST_RUN): judged from its start */
	have = tp->rcv_nxt - p->seq;
	if ((__s32)have < 0)
		return -1;
	if (have >= p->end - *off)
		return 1;
	*off += have;
	return 0;
}

/* TCP: whole length-prefixed messages only (queries or answers); an ACK carries nothing. */
static __always_inline int judge_tcp(struct __sk_buff *skb, struct pkt *p, struct decision *d)
{
	__u32 off = p->off, len;
	__u16 mlen;
	int i, r;

	if (off >= p->end)
		return off == p->end ? SKB_PASS : judge_unreadable(skb, p, d, TW_DNS_TRUNCATED);
	if (p->ingress) {
		r = stream_pos(skb, p, &off);
		if (r)
			return r > 0 ? SKB_PASS : SKB_DROP;
	}
	for (i = 0; i < MAX_TCP_MSGS; i++) {
		if (bpf_skb_load_bytes(skb, off, &mlen, sizeof(mlen)))
			return judge_unreadable(skb, p, d, TW_DNS_TRUNCATED);
		len = bpf_ntohs(mlen);
		off += 2;
		if (off + len > p->end)
			return judge_unreadable(skb, p, d, TW_DNS_TRUNCATED);
		r = p->ingress ? judge_answer(skb, p, d, off, off + len) :
				 judge_msg(skb, p, d, off, off + len);
		if (r == SKB_DROP)
			return SKB_DROP;
		off += len;
		if (off >= p->end)
			return SKB_PASS;
	}
	return judge_unreadable(skb, p, d, TW_DNS_COUNT);
}

/*
 * Both directions: a query to port 53 from a tiered sender (egress), an
 * answer from port 53 to a tiered socket (ingress; the receiving socket's
 * recorded caller, else its cgroup, says the tier).
 */
static __always_inline int judge_packet(struct __sk_buff *skb, const int ingress)
{
	struct decision d = {};
	struct pkt p = { .ingress = ingress };
	int r;

	if (surely_not_dns(skb, ingress))
		return SKB_PASS;
	if (skb->protocol == ETH_P_IP_BE)
		r = ip4_dns(skb, &p);
	else if (skb->protocol == ETH_P_IPV6_BE)
		r = ip6_dns(skb, &p);
	else
		return SKB_PASS;
	if (!r)
		return SKB_PASS;
	sender(skb, &p, &d);
	if (d.tier == TW_TIER_NONE)
		return SKB_PASS;
	p.end = skb->len;
	if (r < 0)
		return judge_unreadable(skb, &p, &d, -r);
	if (p.proto != PROTO_UDP)
		return judge_tcp(skb, &p, &d);
	if (ingress)
		return judge_answer(skb, &p, &d, p.off, p.end);
	return udp_paged(skb) ? judge_unreadable(skb, &p, &d, TW_DNS_PAGED) :
				judge_msg(skb, &p, &d, p.off, p.end);
}

SEC("cgroup_skb/egress")
int tw_dns_egress(struct __sk_buff *skb)
{
	if (judge_route(skb) == SKB_DROP)
		return SKB_DROP;
	return judge_packet(skb, 0);
}

/* Answers whose names lead into another tier: dropped before the resolver reads them. */
SEC("cgroup_skb/ingress")
int tw_dns_ingress(struct __sk_buff *skb)
{
	return judge_packet(skb, 1);
}

char LICENSE[] SEC("license") = "GPL";
