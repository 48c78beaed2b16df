// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets a tiered process may not make: a cgroup sock_create program,
 * attached on the daemon's root like the others, refuses (EPERM from
 * socket()) every IPv4 and IPv6 socket but TCP and UDP to a tiered caller
 * (see sock.bpf.h for why). The kernel runs it for inet sockets only; packet
 * sockets need BPF LSM (netlsm.bpf.c).
 */
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
	return refuse_sock(&d, TW_NET_CREATE, ctx->family, ctx->type, ctx->protocol);
}

char LICENSE[] SEC("license") = "GPL";
