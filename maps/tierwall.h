/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel/userspace ABI of tierwall: map keys and values, the event
 * record, and the constants both sides agree on. Included by the BPF programs
 * (after vmlinux.h) and by userspace (after <linux/types.h>), so it uses only
 * __u8/__u16/__u32/__u64 and defines no system constants.
 */
#ifndef TIERWALL_ABI_H
#define TIERWALL_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define TW_ABI_VERSION		3

/* Tier ids are 1..TW_MAX_TIERS; 0 means "untagged". */
#define TW_MAX_TIERS		254
#define TW_TIER_NONE		0

/* Cgroup levels the inheritance walk can see (bit n of level_mask = level n). */
#define TW_MAX_LEVELS		64

/* Ports listed per destination entry; more is a policy error. */
#define TW_MAX_PORTS		16

/*
 * Port-scoped rules fall through to the next less specific rule when the
 * port does not match. This bounds that walk; deeper nesting is a policy
 * error, never a silent allow.
 */
#define TW_MAX_CHAIN		8

/*
 * IPv4 destinations: a direct first level by the top 16 bits (v4_dir),
 * then the third byte either in a dense 256-entry block of v4_blocks (a
 * /16 holding many longer prefixes) or in the v4_l24 hash keyed by
 * the /24 (a sparse /16: only its /24s that differ from it are stored), then
 * the fourth byte in two 16-entry nibble blocks of v4_tail (only where a
 * /24 is split by a /25-/32). At most four lookups: array, array or hash,
 * array, array. An entry is 0 (no rule), a rule index + 1, or one of:
 *   TW_DIR_BLOCK | n   (first level only) third byte in v4_blocks[n];
 *   TW_DIR_HASH | ref  (first level only) third byte in v4_l24, whose
 *                      missing /24s are judged by ref;
 *   TW_DIR_TAIL | n    (third-byte and nibble levels) next nibble in
 *                      v4_tail[n].
 * A block is one array element: array elements are 8-byte aligned, so one
 * __u32 per element would take twice the memory.
 */
#define TW_DIR_L1		65536
#define TW_DIR_BLOCK_SIZE	256
#define TW_DIR_TAIL_SIZE	16
#define TW_DIR_BLOCK		0x80000000u
#define TW_DIR_HASH		0x40000000u
#define TW_DIR_TAIL		0x20000000u
#define TW_DIR_FLAGS		(TW_DIR_BLOCK | TW_DIR_HASH | TW_DIR_TAIL)
/* Rule refs and block numbers stay below the flag bits. */
#define TW_DIR_MAX_REF		(TW_DIR_TAIL - 1)

struct tw_dir_block {
	__u32 e[TW_DIR_BLOCK_SIZE];
};

struct tw_dir_tail {
	__u32 e[TW_DIR_TAIL_SIZE];
};

/*
 * IPv6 destinations: one hash (v6_pfx) keyed by (prefix length, masked
 * address), probed for each length the policy uses, longest first
 * (v6_lens): the first hit is the most specific rule. The probes per
 * decision are bounded by the distinct lengths a policy may use.
 */
#define TW_V6_MAX_LENS		32

struct tw_v6_key {
	__u32 len;
	__u8 addr[16];
};

struct tw_v6_lens {
	__u32 n;
	__u8 len[TW_V6_MAX_LENS];	/* longest first */
};

/* Verdicts and modes. */
enum tw_mode {
	TW_MODE_ENFORCE = 0,
	TW_MODE_AUDIT = 1,
};

enum tw_verdict {
	TW_VERDICT_ALLOW = 0,
	TW_VERDICT_DENY = 1,
	TW_VERDICT_AUDIT = 2,
};

/* Event kinds: one list, shared by the BPF side and the log encoder. */
enum tw_event_kind {
	TW_EV_CONNECT = 1,
	TW_EV_SENDMSG = 2,
	TW_EV_FILE = 3,
	TW_EV_DNS = 4,
	TW_EV_SOCKET = 5,
	TW_EV_TAMPER = 6,
	TW_EV_MAX = TW_EV_TAMPER,
};

/* Why the DNS guard dropped a query. */
enum tw_dns_reason {
	TW_DNS_OWNED = 1,	/* the name belongs to another tier */
	TW_DNS_POINTER = 2,	/* compression pointer in the question */
	TW_DNS_LABEL = 3,	/* label over 63 bytes (or a reserved label type) */
	TW_DNS_LONG = 4,	/* name over 255 bytes */
	TW_DNS_TRUNCATED = 5,	/* the packet ends before the question does */
	TW_DNS_COUNT = 6,	/* question count other than 0 or 1, or queries per segment */
	TW_DNS_UNPARSED = 7,	/* headers the guard cannot see past (fragments, options) */
	TW_DNS_URGENT = 8,	/* TCP urgent data: the server would read another stream */
	TW_DNS_PAGED = 9,	/* UDP data left in the sender's pages (splice, zerocopy) */
	TW_DNS_ANSWER = 10,	/* an answer's owner or CNAME target is another tier's name */
	TW_DNS_REASON_MAX = TW_DNS_ANSWER,
};

/*
 * What a network or socket decision was about: the call itself (connect,
 * sendmsg), or a socket being made, used to send, or received from another
 * process (SCM_RIGHTS, pidfd_getfd).
 */
enum tw_net_op {
	TW_NET_CALL = 0,
	TW_NET_CREATE = 1,
	TW_NET_SEND = 2,
	TW_NET_RECEIVE = 3,
	TW_NET_SETSOCKOPT = 4,
	TW_NET_ROUTE = 5,	/* a packet carrying its own route, dropped on egress */
	TW_NET_OP_MAX = TW_NET_ROUTE,
};

/* A socket option refused because it routes (tw_sock_event.option). */
enum tw_sockopt {
	TW_SOCKOPT_NONE = 0,
	TW_SOCKOPT_IP_OPTIONS = 1,		/* IPv4 source routes: LSRR, SSRR */
	TW_SOCKOPT_IPV6_RTHDR = 2,
	TW_SOCKOPT_IPV6_2292PKTOPTIONS = 3,	/* may carry a routing header */
	TW_SOCKOPT_SO_ZEROCOPY = 4,		/* data sent from the sender's own pages */
	TW_SOCKOPT_PAGES = 5,			/* op send: splice, sendfile, zerocopy to port 53 */
	TW_SOCKOPT_MAX = TW_SOCKOPT_PAGES,
};

/*
 * An unspecified destination as the caller wrote it: the kernel sends it to
 * the socket's bound address or to loopback, and that address is judged.
 */
enum tw_wrote {
	TW_WROTE_JUDGED = 0,	/* the caller wrote the address that was judged */
	TW_WROTE_ANY4 = 1,	/* 0.0.0.0 */
	TW_WROTE_ANY6 = 2,	/* :: */
	TW_WROTE_ANY_MAPPED = 3,	/* ::ffff:0.0.0.0 */
};

/* File operations judged by the LSM programs. */
enum tw_file_op {
	TW_OP_OPEN = 1,
	TW_OP_EXEC = 2,
	TW_OP_RECEIVE = 3,	/* a descriptor passed over SCM_RIGHTS */
	TW_OP_UNLINK = 4,
	TW_OP_RENAME = 5,
	TW_OP_TRUNCATE = 6,
	TW_OP_SETATTR = 7,
	TW_OP_LINK = 8,
	TW_OP_CREATE = 9,	/* a new name at a watched name or in a protected directory */
	TW_OP_FOLLOW = 10,	/* following a symlink on a path that is being re-resolved */
	TW_OP_CONNECT = 11,	/* connect() to a Unix socket */
	TW_OP_SEND = 12,	/* sendmsg() to a Unix datagram socket */
	TW_OP_MOUNT = 13,	/* a mount on or below a protected path */
	TW_OP_MAX = TW_OP_MOUNT,
};

/* Why a file was refused other than by a matching secret (tw_file_event.why). */
enum tw_file_why {
	TW_WHY_MATCH = 0,
	TW_WHY_DEEP = 1,	/* deeper than the walk goes on a filesystem with protected directories */
	TW_WHY_STALE = 2,	/* a name on the rule's path changed: the daemon is re-resolving it */
	TW_WHY_DISCONNECTED = 3,	/* a dentry cut off from its parents (open_by_handle_at) */
	TW_WHY_UNPLACED = 4,	/* a mount whose root the programs cannot place under the rule */
	TW_WHY_MAX = TW_WHY_UNPLACED,
};

/* What a tiered process tried against tierwall or the node (kind tamper). */
enum tw_tamper_op {
	TW_TAMPER_CGROUP_WRITE = 1,	/* a file of a cgroup of another tier (cgroup.procs, ...) */
	TW_TAMPER_CLONE_INTO_CGROUP = 2,
	TW_TAMPER_BPF = 3,
	TW_TAMPER_SIGNAL = 4,
	TW_TAMPER_PTRACE = 5,
	TW_TAMPER_UNLINK = 6,
	TW_TAMPER_RMDIR = 7,
	TW_TAMPER_RENAME = 8,
	TW_TAMPER_LINK = 9,
	TW_TAMPER_CREATE = 10,
	TW_TAMPER_WRITE = 11,
	TW_TAMPER_TRUNCATE = 12,
	TW_TAMPER_SETATTR = 13,
	TW_TAMPER_MOUNT = 14,
	TW_TAMPER_MOVE_MOUNT = 15,
	TW_TAMPER_UMOUNT = 16,
	TW_TAMPER_PIVOT_ROOT = 17,
	TW_TAMPER_SYSCTL = 18,
	TW_TAMPER_KERNEL_FILE = 19,	/* /sys/kernel, /sys/module, securityfs, tracefs, debugfs, /proc/kcore */
	TW_TAMPER_RAW_DEVICE = 20,	/* block devices, /dev/mem, /dev/kmem, /dev/port */
	TW_TAMPER_MODULE = 21,
	TW_TAMPER_KEXEC = 22,
	TW_TAMPER_KERNEL_LOAD = 23,	/* other kernel_read_file/kernel_load_data: policy, certificates */
	TW_TAMPER_OPEN = 24,		/* the seal key, opened at all */
	TW_TAMPER_OP_MAX = TW_TAMPER_OPEN,
};

/* How a tamper attempt came: the file's way in, or why a mount was refused. */
enum tw_tamper_how {
	TW_HOW_OPEN = 1,
	TW_HOW_RECEIVE = 2,	/* SCM_RIGHTS */
	TW_HOW_MIGRATE = 3,	/* a task migration's permission check (cgroup.procs write) */
	TW_HOW_SIGIO = 4,	/* F_SETOWN/O_ASYNC signal */
	TW_HOW_BPFFS = 5,	/* mount: a BPF filesystem */
	TW_HOW_GUARDED = 6,	/* mount: on, below or above one of the daemon's paths */
	TW_HOW_GUARDED_FS = 7,	/* mount: the filesystem holding one (remount) */
	TW_HOW_DAEMON_NS = 8,	/* mount: moving mounts or the root in the daemon's namespace */
	TW_HOW_MAX = TW_HOW_DAEMON_NS,
};

/*
 * Self-protection: who tierwalld is, written by the daemon itself through
 * a BPF syscall program (guard map, one slot), cleared when it stops.
 */
struct tw_guard {
	__u32 tgid;		/* 0: no daemon to protect */
	__u32 mnt_ns;		/* the daemon's mount namespace (inode number) */
	__u64 start_ns;		/* its start_boottime: a reused pid is not the daemon */
	__u32 net_ns;		/* its network namespace */
	__u32 pad;
};

/* guarded: (dev, ino) of the daemon's files and directories -> TW_GUARD_* flags. */
#define TW_GUARD_SELF		1	/* not removed, renamed, written or covered by a mount */
#define TW_GUARD_CHILDREN	2	/* a directory: nothing in it removed, renamed, written or created */
#define TW_GUARD_ABOVE		4	/* a directory above one of those: not removed, renamed or covered */

/* cgroup_tiers: cgroup id -> tier of that cgroup and everything below it. */
struct tw_tier_key {
	__u64 cgroup_id;
};

struct tw_tier_val {
	__u32 tier;
	__u32 flags;		/* TW_TAG_*: how this tag judges, beside its tier */
};

/*
 * tw_tier_val.flags. TW_TAG_AUDIT: cross-tier use below this tag is allowed
 * and recorded as audit, whatever the tier's mode (`tierwall run --audit`).
 */
#define TW_TAG_AUDIT		1

/* tier_info[tier]: per-tier settings resolved from the policy. */
struct tw_tier_info {
	__u8 mode;		/* enum tw_mode */
	__u8 defined;
	__u8 log_all;		/* also log allowed use of this tier's own destinations and secrets */
	__u8 pad;
};

/* rules[i]: one CIDR of one destination entry. */
struct tw_rule {
	__u32 parent;		/* next rule to try when ports miss: index + 1, 0 = none */
	__u8 tier;		/* owning tier */
	__u8 nports;		/* 0 = all ports */
	__u16 ports[TW_MAX_PORTS];	/* host byte order */
};

/* Daemon-written runtime config (runtime map, one slot, mmapped). */
struct tw_runtime {
	__u64 level_mask;	/* levels that hold at least one tagged cgroup */
	__u32 min_level;
	__u32 max_level;
	__u64 file_gen;		/* bumped when what is protected may have changed */
	__u64 flood_ns;		/* repeats within this window fold into one record (0: off) */
	__u64 drops_reported;	/* ring buffer drops the daemon has logged as lost */
	__u64 tag_gen;		/* changes whenever a tag is added or removed */
};

/* Per-CPU counters (stats map, one slot). */
struct tw_stats {
	__u64 denied;
	__u64 audited;
	__u64 ringbuf_drops;
};

/*
 * secrets: (device, inode) of a protected file or directory -> owner. The
 * device is the kernel's internal dev_t (major << 20 | minor) of what stat()
 * reports: the filesystem's, or on btrfs the subvolume's (inode numbers
 * repeat across subvolumes).
 */
struct tw_secret_key {
	__u32 dev;
	__u32 pad;
	__u64 ino;
};

struct tw_secret_val {
	__u32 secret;		/* index of the policy path that protects it */
	__u8 tier;		/* owning tier; 0: not protected itself (TW_SV_NAMES only) */
	__u8 is_dir;		/* protects everything below it too */
	__u8 learned;		/* found below a directory, or added by the kernel */
	__u8 flags;		/* TW_SV_* */
	__u32 igen;		/* TW_SV_IGEN: the inode's i_generation: a reused number is not it */
	__u32 slot;		/* TW_SV_PATH: its name's name_state slot */
};

#define TW_SV_KERNEL		1	/* added by the kernel: a hard link, a name's new inode, a mount's root */
#define TW_SV_IGEN		16	/* igen holds (always with TW_SV_KERNEL) */
#define TW_SV_NAMES		2	/* a directory holding names rules watch (fnames) */
#define TW_SV_NAMES_PATH	4	/* ... among them names on the way to a secret, not secrets themselves */
#define TW_SV_PATH		8	/* arrived at a name on a rule's path: protected while that name is stale */

/*
 * fnames: a name in a directory that a rule watches, as the kernel sees it
 * (parent's identity, the dentry's name cut to TW_FNAME_LEN - 1 bytes): the
 * rule's file or directory itself (whatever inode arrives there is the
 * secret), or a name on its way there (a directory or symlink it resolves
 * through). A change at a name bumps its name_state slot: the daemon
 * re-resolves, and until it has, other tiers are refused what lies behind it.
 */
#define TW_FNAME_LEN		64

struct tw_fname_key {
	struct tw_secret_key dir;
	char name[TW_FNAME_LEN];	/* NUL-padded */
};

#define TW_FN_FILE		1	/* a file rule's name */
#define TW_FN_DIR		2	/* a directory rule's name */
#define TW_FN_PATH		4	/* on the way to a rule's file or directory */

struct tw_fname_val {
	__u32 secret;		/* a rule whose path it is on */
	__u32 slot;		/* name_state slot (1..) */
	__u8 tier;		/* owning tier; 0: rules of several tiers pass here */
	__u8 what;		/* TW_FN_* */
	__u16 pad;
};

/*
 * name_state[slot] (mmapped array): the kernel adds to changed at every
 * change at the name (create, rename to or from, link, unlink); the daemon
 * sets resolved to the changed it saw once it re-resolved every rule
 * through the name. Stale while they differ. Slot 0 sums every name.
 */
struct tw_name_state {
	__u64 changed;
	__u64 resolved;
};

/* How far up a file's parents the LSM programs look for a protected directory. */
#define TW_MAX_DEPTH		64
/* Mounts looked through above a file before its place is given up as unknown (refused). */
#define TW_MNT_DEPTH		8
/* Path components an event carries (from the file upwards), and their length. */
#define TW_PATH_PARTS		8
#define TW_NAME_LEN		32

/*
 * Every ring buffer record starts with this header: kind and size first so
 * userspace can refuse records it does not understand.
 */
struct tw_event_hdr {
	__u16 kind;		/* enum tw_event_kind */
	__u16 size;		/* size of the whole record */
	__u8 verdict;		/* enum tw_verdict */
	__u8 tier;		/* caller's tier */
	__u8 target_tier;	/* tier that owns the destination or file */
	__u8 aggregated;	/* 1: repeats folded into this record by flood control */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 uid;
	__u32 count;		/* decisions this record stands for (1 unless aggregated) */
	__u64 ts_boot_ns;	/* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;	/* caller's own cgroup */
	__u64 tagged_cgroup_id;	/* the ancestor whose tag applied */
	char comm[16];
};

/* connect / sendmsg decisions, and connected sockets received. */
struct tw_event {
	struct tw_event_hdr h;
	__u8 family;		/* 4 or 6: the address family that was judged */
	__u8 proto;		/* IPPROTO_TCP / IPPROTO_UDP */
	__u8 mapped;		/* 1: IPv4-mapped IPv6 destination */
	__u8 wrote;		/* enum tw_wrote: what the caller wrote, if not daddr */
	__u16 dport;		/* host byte order */
	__u8 op;		/* enum tw_net_op: TW_NET_CALL or TW_NET_RECEIVE */
	__u8 pad2;
	__u32 rule;		/* rule index */
	__u8 daddr[16];		/* judged; v4 in the first 4 bytes, network order */
	__u32 host;		/* hostname index + 1 the address came from, 0: a CIDR */
	__u32 grant;		/* the grant (maps/grants.h) that allowed it, 0: none */
};

/* The DNS guard's names trie, callers and records (needs tw_event_hdr above). */
#include "dnsabi.h"

/*
 * A socket the cgroup hooks cannot judge (raw, ICMP, packet, SCTP, MPTCP,
 * UDP-Lite, ...), refused to a tiered process.
 */
struct tw_sock_event {
	struct tw_event_hdr h;
	__u16 family;		/* AF_* */
	__u16 type;		/* SOCK_* */
	__u16 protocol;		/* IPPROTO_* (inet), ethertype in host order (packet) */
	__u8 op;		/* enum tw_net_op: create, send, receive or setsockopt */
	__u8 option;		/* enum tw_sockopt: setsockopt's option, else 0 */
};

/*
 * host_addrs: an address a policy hostname resolved to -> the destination
 * entries (rules) whose names resolve to it. Addresses shared by more
 * entries than this keep the first ones (the daemon warns).
 */
#define TW_HOST_OWNERS		4

struct tw_host_key {
	__u8 family;		/* 4 or 6 */
	__u8 pad[3];
	__u8 addr[16];		/* network order; v4 in the first 4 bytes */
};

struct tw_host_val {
	__u32 rule[TW_HOST_OWNERS];	/* rule index + 1, 0 = unused */
	__u32 host[TW_HOST_OWNERS];	/* hostname index + 1 */
};

/* File decisions. */
struct tw_file_event {
	struct tw_event_hdr h;
	__u8 op;		/* enum tw_file_op */
	__u8 nparts;		/* components in names[], file first */
	__u8 complete;		/* names[] reached the filesystem root */
	__u8 why;		/* enum tw_file_why */
	__u32 secret;		/* policy path index that matched (0xffffffff: none) */
	__u32 dev;		/* kernel dev_t of the file */
	__u32 grant;		/* the grant (maps/grants.h) that allowed it, 0: none */
	__u64 ino;
	char names[TW_PATH_PARTS][TW_NAME_LEN];
};

/* A refused attempt on tierwall or the node's kernel (kind tamper). */
struct tw_tamper_event {
	struct tw_event_hdr h;
	__u8 op;		/* enum tw_tamper_op */
	__u8 how;		/* enum tw_tamper_how, 0 if none applies */
	__u8 nparts;		/* components in names[], file first */
	__u8 complete;		/* names[] reached the filesystem root */
	__u32 target_pid;	/* signal, ptrace */
	__u64 target_cgroup_id;	/* cgroup write, signal, ptrace: the target's cgroup */
	__u32 dev;		/* kernel dev_t of the file or mount point, 0 if none */
	__u32 arg;		/* signal number, bpf command, ptrace mode, mount flags */
	__u64 ino;
	char names[TW_PATH_PARTS][TW_NAME_LEN];
};

/*
 * explain: the daemon's question to the decision code the hooks run (one
 * slot of the explain_io map), and its answer. The caller is a tier given
 * outright (simulate) or the cgroup ids of its ancestors by level, as
 * bpf_get_current_ancestor_cgroup_id() would return them (0 beyond its own
 * level); the target is an address, a DNS name, a file with its parents, or
 * nothing (a refusal that depends only on the tier's mode).
 */
enum tw_explain_what {
	TW_EXPLAIN_TIER = 0,		/* the caller's tier only */
	TW_EXPLAIN_NET = 1,		/* addr, family, port */
	TW_EXPLAIN_NAME = 2,		/* name: a query for it */
	TW_EXPLAIN_FILE = 3,		/* levels[] */
	TW_EXPLAIN_REFUSAL = 4,		/* what tiered callers are refused whatever the target */
};

/*
 * What explain is given for a file: the levels the hooks' walk goes
 * through, as the daemon read them. The file itself and its parents up to
 * its filesystem's root, then for each mount above it the directory it is
 * mounted on and that one's parents (TW_XL_START begins such a run); each
 * level with the name the walk came up through in it.
 */
#define TW_EXPLAIN_LEVELS	128	/* a power of two: the program masks its index */

#define TW_XL_START		1	/* a file or mountpoint: matched as itself, then its parents */
#define TW_XL_ROOT		2	/* its filesystem's root: the walk ends here */
#define TW_XL_IGEN		4	/* igen was read */

struct tw_explain_level {
	struct tw_secret_key key;	/* as stat() reports it (a btrfs subvolume's own dev) */
	char name[TW_FNAME_LEN];	/* parents: the previous level's name in it, as fnames keeps it */
	__u32 igen;			/* TW_XL_IGEN: its i_generation */
	__u32 sbdev;			/* TW_XL_START: its filesystem's superblock dev */
	__u8 flags;			/* TW_XL_* */
	__u8 pad[7];
};

/* What explain found for a file (tw_explain.file_state): as the hooks' match says it. */
enum tw_explain_file {
	TW_XF_NONE = 0,
	TW_XF_SECRET = 1,		/* a rule protects it */
	TW_XF_STALE = 2,		/* a name on a rule's path changed: would be re-resolved */
	TW_XF_DEEP = 3,			/* deeper than the walk goes */
	TW_XF_UNPLACED = 4,		/* below more mounts than the walk looks through */
	TW_XF_UNSEEN = 5,		/* a mount of a directory below its filesystem's root: explain cannot see the parents the hooks walk */
};

struct tw_explain {
	/* in */
	__u32 what;			/* enum tw_explain_what */
	__u32 tier;			/* tier_given: the caller's tier */
	__u8 tier_given;		/* else looked up from ancestors[] */
	__u8 family;			/* NET: 4 or 6 */
	__u16 port;			/* NET: host byte order */
	__u8 addr[16];			/* NET: as the caller would write it; network order */
	__u32 nlevels;			/* FILE: in levels[] */
	__u8 more_parents;		/* FILE: the path has parents and mounts beyond levels[] */
	__u8 more_mounts;		/* FILE: more mounts above it than the hooks look through */
	__u8 pad[2];
	__u64 ancestors[TW_MAX_LEVELS];
	struct tw_name_key name;	/* NAME */
	__u32 grant;			/* out, NET and FILE: the grant that allows it (maps/grants.h), 0: none */
	struct tw_explain_level levels[TW_EXPLAIN_LEVELS];
	/* out */
	__u32 out_tier;			/* the caller's tier */
	__u32 owner;			/* 0 nobody, 1 the caller's tier, 2 another (or refused) */
	__u64 tagged;			/* the ancestor whose tag gave the tier */
	__u32 target_tier;
	__u32 rule;			/* NET: rule index; NAME: hostname index + 1; FILE: secret */
	__u32 host;			/* NET: hostname index + 1 the address came from, 0: a CIDR */
	__u8 verdict;			/* enum tw_verdict */
	__u8 recorded;			/* the hooks would write a record */
	__u8 judged_family;		/* NET: the address judged (an unspecified one's target) */
	__u8 file_state;		/* FILE: enum tw_explain_file */
	__u8 judged[16];
};

/*
 * Flood control: the same caller hitting the same denied target within the
 * window is one record with a count. The key names caller and target; the
 * value keeps the latest record, to report the repeats when the window ends.
 */
struct tw_flood_key {
	__u64 cgroup_id;
	__u32 tgid;
	__u16 kind;
	__u16 port_or_op;
	__u8 target[16];	/* destination address, or dev and inode */
};

struct tw_flood_val {
	__u64 window_end;	/* boot ns */
	__u64 pending;		/* repeats folded since the last record */
	__u8 rec[352];		/* sizeof(struct tw_dns_event), the largest record */
};

_Static_assert(sizeof(struct tw_event_hdr) == 64, "tw_event_hdr layout changed");
_Static_assert(sizeof(struct tw_event) == 104, "tw_event layout changed");
_Static_assert(sizeof(struct tw_sock_event) == 72, "tw_sock_event layout changed");
_Static_assert(sizeof(struct tw_host_key) == 20, "tw_host_key layout changed");
_Static_assert(sizeof(struct tw_file_event) == 344, "tw_file_event layout changed");
_Static_assert(sizeof(struct tw_tamper_event) == 352, "tw_tamper_event layout changed");
_Static_assert(sizeof(struct tw_guard) == 24, "tw_guard layout changed");
_Static_assert(sizeof(struct tw_secret_key) == 16, "tw_secret_key layout changed");
_Static_assert(sizeof(struct tw_secret_val) == 16, "tw_secret_val layout changed");
_Static_assert(sizeof(struct tw_fname_key) == 16 + TW_FNAME_LEN, "tw_fname_key layout changed");
_Static_assert(sizeof(struct tw_fname_val) == 12, "tw_fname_val layout changed");
_Static_assert(sizeof(struct tw_name_state) == 16, "tw_name_state layout changed");
_Static_assert(sizeof(struct tw_rule) == 40, "tw_rule layout changed");
_Static_assert(sizeof(struct tw_runtime) == 48, "tw_runtime layout changed");
_Static_assert(sizeof(struct tw_flood_val) == 16 + 352, "tw_flood_val layout changed");

_Static_assert(sizeof(struct tw_explain_level) == 96, "tw_explain_level layout changed");
_Static_assert(sizeof(struct tw_explain) == 864 + 96 * TW_EXPLAIN_LEVELS, "tw_explain layout changed");

#endif /* TIERWALL_ABI_H */
