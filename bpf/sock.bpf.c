// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets a tiered process may not make: a cgroup sock_create program,
 * attached on the daemon's root like the others, refuses (EPERM from
 * socket()) every IPv4 and IPv6 socket but TCP and UDP to a tiered caller
 * (see sock.bpf.h for why). The kernel runs it for inet sockets only; packet
 * sockets need BPF LSM (netlsm.bpf.c).
 *
 * Socket options that route: a cgroup setsockopt program refuses (EPERM)
 * to a tiered caller the sticky source routes, which send a packet through
 * an address connect() and sendmsg() never judged, and SO_ZEROCOPY.
 */
/*
 * Only UAPI context structs here, whose layout is ABI: no CO-RE, so libbpf
 * need not parse the kernel's BTF (seconds per start in a TCG guest).
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "sock.bpf.h"

SEC("cgroup/sock_create")
int tw_sock_create(struct bpf_sock *ctx)
{
	struct decision d = {};

	/* The socket's own protocol: 0 in socket() is TCP or UDP by now. */
	if (sock_judgeable(ctx->family, ctx->type, ctx->protocol))
		return 1;
	caller_tier(&d);
	if (d.tier == TW_TIER_NONE)
		return 1;
	return refuse_sock(&d, TW_NET_CREATE, ctx->family, ctx->type, ctx->protocol, 0);
}

#define SOL_SOCKET		1
#define SO_ZEROCOPY		60
#define SOL_IP			0
#define SOL_IPV6		41
#define IP_OPTIONS		4
#define IPV6_2292PKTOPTIONS	6
#define IPV6_RTHDR		57
#define SOCKOPT_PAGE		4096

/*
 * An IPv4 source route (IP_OPTIONS with LSRR or SSRR) or an IPv6 routing
 * header (type 2, or a segment routing header) sends the packet first to an
 * address of the caller's choosing: another tier's, while the hooks saw the
 * tier's own. IPV6_2292PKTOPTIONS sets a routing header among others. Left
 * alone, as they do not change where a packet goes: hop-by-hop and
 * destination options (IPV6_HOPOPTS, IPV6_DSTOPTS, IPV6_RTHDRDSTOPTS), and
 * IPV6_2292RTHDR, which as a socket option only asks to receive routing
 * headers (its cmsg form routes: that is sendmsg's). IP options go on IPv6
 * sockets too, for their IPv4-mapped traffic.
 */
static __always_inline __u8 refused_option(__s32 level, __s32 optname)
{
	/*
	 * Not a route, but the same kind of bypass: MSG_ZEROCOPY sends leave
	 * the data in the sender's pages, rewritable after the DNS guard read
	 * it (doc/threat-model.md), and need this option first.
	 */
	if (level == SOL_SOCKET)
		return optname == SO_ZEROCOPY ? TW_SOCKOPT_SO_ZEROCOPY : TW_SOCKOPT_NONE;
	if (level == SOL_IP)
		return optname == IP_OPTIONS ? TW_SOCKOPT_IP_OPTIONS : TW_SOCKOPT_NONE;
	if (level != SOL_IPV6)
		return TW_SOCKOPT_NONE;
	switch (optname) {
	case IPV6_RTHDR: return TW_SOCKOPT_IPV6_RTHDR;
	case IPV6_2292PKTOPTIONS: return TW_SOCKOPT_IPV6_2292PKTOPTIONS;
	default: return TW_SOCKOPT_NONE;
	}
}

SEC("cgroup/setsockopt")
int tw_setsockopt(struct bpf_sockopt *ctx)
{
	struct bpf_sock *sk = ctx->sk;
	struct decision d = {};
	__u8 opt = refused_option(ctx->level, ctx->optname);

	if (opt && sk) {
		caller_tier(&d);
		if (d.tier != TW_TIER_NONE &&
		    !refuse_sock(&d, TW_NET_SETSOCKOPT, sk->family, sk->type, sk->protocol, opt))
			return 0;
	}
	/*
	 * Unchanged. Past a page the program sees only the first one: 0 makes
	 * the kernel take the caller's own buffer (else EFAULT before 6.5).
	 */
	if (ctx->optlen > SOCKOPT_PAGE)
		ctx->optlen = 0;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
