// SPDX-License-Identifier: GPL-2.0
/*
 * Network rules that need BPF LSM; loaded where BPF LSM runs, beside net,
 * sock and dns. For a tiered caller:
 * - socket_create refuses packet and XDP sockets (the cgroup sock_create
 *   hook never sees them);
 * - socket_sendmsg refuses sending on a socket it could not have made (one
 *   made before its process joined the tier, or inherited), refuses a
 *   message whose cmsgs carry a route (IP_RETOPTS, an IPv6 routing header:
 *   the cgroup sendmsg hooks cannot see cmsgs) or whose socket had one set
 *   before its owner joined the tier, and records the sender of
 *   every DNS message on a socket connected to port 53, so the guard judges
 *   the task that sends, not the one that connected;
 * - socket_sendmsg and file_permission refuse, on a socket connected to
 *   port 53, sends whose data stays in the sender's pages (splice,
 *   sendfile, MSG_ZEROCOPY, io_uring SEND_ZC): the sender could rewrite
 *   them after the DNS guard read them and before the server does;
 * - file_receive refuses a socket passed over SCM_RIGHTS or taken with
 *   pidfd_getfd when it is connected to another tier's destination (the
 *   same decision as connect, from dst.bpf.h) or is one it could not make.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "dst.bpf.h"
#include "sock.bpf.h"

#define DNS_PORT	53

/* Set by the loader: the DNS guard is loaded and reads who sent DNS on a socket. */
const volatile bool dns_guard = false;

SEC("lsm/socket_create")
int BPF_PROG(tw_socket_create, int family, int type, int protocol, int kern)
{
	struct decision d = {};

	/* inet sockets are cgroup sock_create's, with their resolved protocol. */
	if (kern || (family != AF_PACKET && family != AF_XDP))
		return 0;
	caller_tier(&d);
	if (d.tier == TW_TIER_NONE)
		return 0;
	return refuse_sock(&d, TW_NET_CREATE, family, type, protocol, 0) ? 0 : deny();
}

/* A packet socket's protocol is its ethertype (packet_sock.num); sk_protocol stays 0. */
static __always_inline __u32 sock_protocol(struct sock *sk, __u32 family)
{
	if (family == AF_PACKET && bpf_core_type_exists(struct packet_sock))
		return BPF_CORE_READ((struct packet_sock *)sk, num);
	return BPF_CORE_READ(sk, sk_protocol);
}

#define SOL_IP		0
#define SOL_IPV6	41
#define IP_RETOPTS	7
#define IPV6_2292RTHDR	5
#define IPV6_RTHDR	57
#define CMSG_WALK_MAX	16	/* cmsgs looked at; a message with more is refused */

/*
 * Does this message's control data carry a route? ____sys_sendmsg copied
 * it into the kernel before this hook, and the protocol parses that same
 * copy. What cannot be read, or has more cmsgs than walked, is refused.
 */
static __always_inline __u8 cmsg_route(struct msghdr *msg)
{
	__u64 len = msg->msg_controllen, off = 0;
	void *ctl = msg->msg_control;
	struct cmsghdr c;
	int k;

	for (k = 0; k < CMSG_WALK_MAX; k++) {
		if (off + sizeof(c) > len)
			return TW_SOCKOPT_NONE;
		if (bpf_probe_read_kernel(&c, sizeof(c), ctl + off))
			return TW_SOCKOPT_IP_OPTIONS;
		if (c.cmsg_level == SOL_IP && c.cmsg_type == IP_RETOPTS)
			return TW_SOCKOPT_IP_OPTIONS;
		if (c.cmsg_level == SOL_IPV6 && (c.cmsg_type == IPV6_RTHDR || c.cmsg_type == IPV6_2292RTHDR))
			return TW_SOCKOPT_IPV6_RTHDR;
		if (c.cmsg_len < sizeof(c))
			return TW_SOCKOPT_NONE;	/* the kernel refuses it (EINVAL) */
		off += (c.cmsg_len + 7) & ~7ULL;
	}
	return off + sizeof(c) > len ? TW_SOCKOPT_NONE : TW_SOCKOPT_IP_OPTIONS;
}

/*
 * Routes set on the socket before its owner joined a tier (setsockopt is
 * refused after): IPv4 options (any, as on egress: route.bpf.h), an IPv6
 * routing header. NULL pointers read as 0.
 */
static __always_inline __u8 sticky_route(struct sock *sk)
{
	struct inet_sock *inet = (struct inet_sock *)sk;

	if (BPF_CORE_READ(inet, inet_opt, opt.optlen))
		return TW_SOCKOPT_IP_OPTIONS;
	if (BPF_CORE_READ(inet, pinet6, opt, srcrt))
		return TW_SOCKOPT_IPV6_RTHDR;
	return TW_SOCKOPT_NONE;
}

/* A tiered caller's message with a route in its cmsgs or on its socket: 0, or the refusal. */
static __always_inline int judge_routes(struct sock *sk, struct msghdr *msg, __u32 family, __u32 type,
					__u32 protocol)
{
	struct decision d = {};
	__u8 opt;

	if (family != AF_INET && family != AF_INET6)
		return 0;
	opt = sticky_route(sk);
	if (opt == TW_SOCKOPT_NONE && msg->msg_controllen)
		opt = cmsg_route(msg);
	if (opt == TW_SOCKOPT_NONE)
		return 0;
	caller_tier(&d);
	if (d.tier == TW_TIER_NONE)
		return 0;
	return refuse_sock(&d, TW_NET_ROUTE, family, type, protocol, opt) ? 0 : deny();
}

#define MSG_ZEROCOPY		0x4000000
#define MSG_SPLICE_PAGES	0x8000000	/* 6.5 and later: splice and sendfile */
#define MAY_WRITE		2

/* A connected inet socket to port 53, while the guard runs. */
static __always_inline bool dns_sock(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return dns_guard && (family == AF_INET || family == AF_INET6) &&
	       BPF_CORE_READ(sk, __sk_common.skc_dport) == bpf_htons(DNS_PORT);
}

/* A tiered caller's send from its own pages on a DNS socket: 0, or the refusal. */
static __always_inline int refuse_pages(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	struct decision d = {};

	caller_tier(&d);
	if (d.tier == TW_TIER_NONE)
		return 0;
	return refuse_sock(&d, TW_NET_SEND, family, BPF_CORE_READ(sk, sk_type),
			   BPF_CORE_READ(sk, sk_protocol), TW_SOCKOPT_PAGES) ? 0 : deny();
}

/*
 * The system calls that write a socket file by copying: write, writev,
 * pwritev2 (x86-64, x32 and ia32 numbers, none of which is splice or
 * sendfile in another table). Everything else that passes file_permission
 * for writing on a socket (splice, sendfile, io_uring, aio) may leave the
 * data in the sender's pages: on 6.1 splice and sendfile reach TCP through
 * sendpage, which no socket hook sees.
 */
static __always_inline bool copying_write(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = BPF_CORE_READ(regs, orig_ax) & ~0x40000000L;

	return nr == 1 || nr == 20 || nr == 328 || nr == 516 || nr == 4 || nr == 146 || nr == 379;
}

SEC("lsm/file_permission")
int BPF_PROG(tw_sock_write, struct file *file, int mask)
{
	struct socket *sock;
	struct sock *sk;

	if (!dns_guard || !(mask & MAY_WRITE))
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || !dns_sock(sk) || copying_write())
		return 0;
	return refuse_pages(sk);
}

SEC("lsm/socket_sendmsg")
int BPF_PROG(tw_socket_sendmsg, struct socket *sock, struct msghdr *msg, int size)
{
	struct sock *sk = sock->sk;
	struct decision d = {};
	__u32 family, type, protocol;

	if (!sk)
		return 0;
	family = sk->__sk_common.skc_family;
	type = sk->sk_type;
	protocol = sock_protocol(sk, family);
	if (sock_judgeable(family, type, protocol)) {
		if (judge_routes(sk, msg, family, type, protocol))
			return deny();
		if ((msg->msg_flags & (MSG_ZEROCOPY | MSG_SPLICE_PAGES)) && dns_sock(sk) &&
		    refuse_pages(sk))
			return deny();
		if (dns_guard && (family == AF_INET || family == AF_INET6) &&
		    sk->__sk_common.skc_dport == bpf_htons(DNS_PORT)) {
			caller_tier(&d);
			record_dns_caller(sk, &d);
		}
		return 0;
	}
	caller_tier(&d);
	if (d.tier == TW_TIER_NONE)
		return 0;
	return refuse_sock(&d, TW_NET_SEND, family, type, protocol, 0) ? 0 : deny();
}

/* The peer of a connected inet socket; false if it has none (listening, unconnected). */
static __always_inline bool sock_peer(struct sock *sk, __u32 family, struct dst *d)
{
	struct in6_addr a6;
	__u16 port = BPF_CORE_READ(sk, __sk_common.skc_dport);

	if (!port)
		return false;
	__builtin_memset(d, 0, sizeof(*d));
	d->port = bpf_ntohs(port);
	d->op = TW_NET_RECEIVE;
	d->family = 4;
	if (family == AF_INET) {
		d->ip[0] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		return true;
	}
	a6 = BPF_CORE_READ(sk, __sk_common.skc_v6_daddr);
	__builtin_memcpy(d->ip, &a6, 16);
	if (!d->ip[0] && !d->ip[1] && d->ip[2] == bpf_htonl(0xffff)) {
		d->ip[0] = d->ip[3];
		d->ip[3] = d->ip[2] = 0;
		d->mapped = 1;
		return true;
	}
	d->family = 6;
	return true;
}

SEC("lsm/file_receive")
int BPF_PROG(tw_sock_receive, struct file *file)
{
	struct socket *sock = bpf_sock_from_file(file);
	__u32 family, type, protocol;
	struct decision d = {};
	struct sock *sk;
	struct dst dst;

	if (!sock)
		return 0;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	type = BPF_CORE_READ(sk, sk_type);
	protocol = sock_protocol(sk, family);
	if (family != AF_INET && family != AF_INET6 && sock_judgeable(family, type, protocol))
		return 0;
	caller_tier(&d);
	if (d.tier == TW_TIER_NONE)
		return 0;
	if (!sock_judgeable(family, type, protocol))
		return refuse_sock(&d, TW_NET_RECEIVE, family, type, protocol, 0) ? 0 : deny();
	if (!sock_peer(sk, family, &dst))
		return 0;	/* its connects and sends are judged as they come */
	return judge_dst(TW_EV_CONNECT, protocol, &dst, &d) ? 0 : deny();
}

char LICENSE[] SEC("license") = "GPL";
