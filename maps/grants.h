/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Time-boxed exceptions (grants), shared by the BPF programs and the
 * daemon. An approved grant is one slot of the grants array: the hooks
 * look at the slots only after a rule refused, and a slot allows only
 * until its CLOCK_BOOTTIME deadline, checked at every decision, so an
 * expired grant refuses with the daemon stopped. The kernel counts uses.
 * A hostname grant names the policy hostname, not addresses: it allows
 * whatever the host_addrs map holds for that name at each decision, so its
 * addresses are refreshed as the rule's are, and frozen with the daemon.
 */
#ifndef TIERWALL_GRANTS_H
#define TIERWALL_GRANTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TW_MAX_GRANTS		64	/* active grants at once */
#define TW_GRANT_PORTS		8	/* ports one grant may name (0: any) */

/* Set on a flood key's kind: decisions a grant allowed fold apart from refusals. */
#define TW_FLOOD_GRANTED	0x8000

enum tw_grant_kind {
	TW_GRANT_FREE = 0,
	TW_GRANT_NET = 1,	/* an address, CIDR or hostname, ports and protocol */
	TW_GRANT_SECRET = 2,	/* one policy secret path */
};

struct tw_grant {
	__u32 id;		/* the grant's id; 0 with kind TW_GRANT_FREE */
	__u8 kind;		/* enum tw_grant_kind */
	__u8 tier;		/* the caller's tier it is for */
	__u8 family;		/* net: 4 or 6 */
	__u8 prefix;		/* net: bits of addr that must match */
	__u8 proto;		/* net: IPPROTO_TCP, IPPROTO_UDP, or 0 for either */
	__u8 nports;		/* net: ports[] in use; 0: any port */
	__u8 cg_level;		/* cgroup_id's level, when cgroup_id is set */
	__u8 pad;
	__u16 ports[TW_GRANT_PORTS];
	union {
		__u32 secret;	/* secret: the policy path index */
		__u32 host;	/* net: hostname index + 1, 0: addr and prefix instead */
	};
	__u64 cgroup_id;	/* 0: the whole tier; else only this cgroup and below */
	__u64 deadline_ns;	/* CLOCK_BOOTTIME: allows while now < deadline */
	__u64 uses;		/* decisions it allowed, counted by the kernel */
	__u8 addr[16];		/* net: network order, masked to prefix */
};

_Static_assert(sizeof(struct tw_grant) == 72, "tw_grant layout changed");

#endif
