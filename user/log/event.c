// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel records to JSON lines: checked against their kind's size, then
 * written by the JSON writer in jw.h with names from the policy.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "event.h"
#include "pendtier.h"
#include "jw.h"
#include "text.h"
#include "util.h"

const char *tw_kind_name(int kind)
{
	switch (kind) {
	case TW_EV_CONNECT: return "connect";
	case TW_EV_SENDMSG: return "sendmsg";
	case TW_EV_FILE: return "file";
	case TW_EV_DNS: return "dns";
	case TW_EV_SOCKET: return "socket";
	case TW_EV_TAMPER: return "tamper";
	default: return "unknown";
	}
}

const char *tw_op_name(int op)
{
	static const char *const names[] = {
		[TW_OP_OPEN] = "open", [TW_OP_EXEC] = "exec", [TW_OP_RECEIVE] = "receive",
		[TW_OP_UNLINK] = "unlink", [TW_OP_RENAME] = "rename",
		[TW_OP_TRUNCATE] = "truncate", [TW_OP_SETATTR] = "setattr", [TW_OP_LINK] = "link",
		[TW_OP_CREATE] = "create", [TW_OP_FOLLOW] = "follow", [TW_OP_CONNECT] = "connect",
		[TW_OP_SEND] = "send", [TW_OP_MOUNT] = "mount",
	};

	return op > 0 && op <= TW_OP_MAX ? names[op] : "unknown";
}

/* Why a file was refused when no rule matched it, or matched it only while it moves. */
static const char *file_why(int why)
{
	static const char *const names[] = {
		[TW_WHY_DEEP] = "path deeper than the kernel walks on a filesystem with protected directories",
		[TW_WHY_STALE] = "a name on the rule's path changed: re-resolving",
		[TW_WHY_DISCONNECTED] = "a handle's dentry cut off from its parents on a filesystem with protected directories",
		[TW_WHY_UNPLACED] = "a mount whose place below the protected paths cannot be told",
	};

	return why > 0 && why <= TW_WHY_MAX ? names[why] : NULL;
}

const char *tw_net_op_name(int op)
{
	static const char *const names[] = {
		[TW_NET_CALL] = "call", [TW_NET_CREATE] = "create", [TW_NET_SEND] = "send",
		[TW_NET_RECEIVE] = "receive", [TW_NET_SETSOCKOPT] = "setsockopt",
		[TW_NET_ROUTE] = "route",
	};

	return op >= 0 && op <= TW_NET_OP_MAX ? names[op] : "unknown";
}

const char *tw_tamper_op_name(int op)
{
	static const char *const names[] = {
		[TW_TAMPER_CGROUP_WRITE] = "cgroup_write",
		[TW_TAMPER_CLONE_INTO_CGROUP] = "clone_into_cgroup",
		[TW_TAMPER_BPF] = "bpf", [TW_TAMPER_SIGNAL] = "signal", [TW_TAMPER_PTRACE] = "ptrace",
		[TW_TAMPER_UNLINK] = "unlink", [TW_TAMPER_RMDIR] = "rmdir", [TW_TAMPER_RENAME] = "rename",
		[TW_TAMPER_LINK] = "link", [TW_TAMPER_CREATE] = "create", [TW_TAMPER_WRITE] = "write",
		[TW_TAMPER_TRUNCATE] = "truncate", [TW_TAMPER_SETATTR] = "setattr",
		[TW_TAMPER_MOUNT] = "mount", [TW_TAMPER_MOVE_MOUNT] = "move_mount",
		[TW_TAMPER_UMOUNT] = "umount", [TW_TAMPER_PIVOT_ROOT] = "pivot_root",
		[TW_TAMPER_SYSCTL] = "sysctl", [TW_TAMPER_KERNEL_FILE] = "kernel_file",
		[TW_TAMPER_RAW_DEVICE] = "raw_device", [TW_TAMPER_MODULE] = "module_load",
		[TW_TAMPER_KEXEC] = "kexec_load", [TW_TAMPER_KERNEL_LOAD] = "kernel_load",
		[TW_TAMPER_OPEN] = "open",
	};

	return op > 0 && op <= TW_TAMPER_OP_MAX ? names[op] : "unknown";
}

const char *tw_verdict_name(int verdict)
{
	switch (verdict) {
	case TW_VERDICT_ALLOW: return "allow";
	case TW_VERDICT_DENY: return "deny";
	case TW_VERDICT_AUDIT: return "audit";
	default: return "unknown";
	}
}

int tw_event_check(const void *data, size_t size)
{
	const struct tw_event_hdr *h = data;
	size_t want;

	if (size < sizeof(*h))
		return -EINVAL;
	switch (h->kind) {
	case TW_EV_CONNECT:
	case TW_EV_SENDMSG:
		want = sizeof(struct tw_event);
		break;
	case TW_EV_FILE:
		want = sizeof(struct tw_file_event);
		break;
	case TW_EV_DNS:
		want = sizeof(struct tw_dns_event);
		break;
	case TW_EV_SOCKET:
		want = sizeof(struct tw_sock_event);
		break;
	case TW_EV_TAMPER:
		want = sizeof(struct tw_tamper_event);
		break;
	default:
		return -EPROTO;
	}
	if (size < want)
		return -EINVAL;
	return h->size == want ? 0 : -EPROTO;
}

static const char *tier_name(const struct tw_policy *p, int id)
{
	return id >= 1 && id <= p->ntiers ? p->tiers[id].name : NULL;
}

/* An address as text, a mapped IPv4 one as "::ffff:a.b.c.d". */
static void w_ip(struct w *w, int family, bool mapped, const uint8_t *addr)
{
	if (family == 4 && mapped)
		w_lit(w, "::ffff:");
	if (family == 4)
		w_ipv4(w, addr);
	else
		w_ipv6(w, addr);
}

static void w_addr(struct w *w, int family, bool mapped, const uint8_t *addr)
{
	w_raw(w, "\"", 1);
	w_ip(w, family, mapped, addr);
	w_raw(w, "\"", 1);
}

/*
 * "dst": {ip, port, proto}, the address as the caller wrote it (a mapped
 * one too); an unspecified one also gets "effective", the address judged.
 */
static void w_dst_obj(struct w *w, int family, bool mapped, const uint8_t *addr, uint16_t port,
		      uint8_t proto, int wrote)
{
	static const char *const unspec[] = {
		[TW_WROTE_ANY4] = "0.0.0.0", [TW_WROTE_ANY6] = "::",
		[TW_WROTE_ANY_MAPPED] = "::ffff:0.0.0.0",
	};
	w_key(w, "dst");
	w_raw(w, "{", 1);
	w->comma = false;
	if (wrote > TW_WROTE_JUDGED && wrote <= TW_WROTE_ANY_MAPPED) {
		w_kstr(w, "ip", unspec[wrote]);
		w_key(w, "effective");
	} else {
		w_key(w, "ip");
	}
	w_addr(w, family, mapped, addr);
	w_ku64(w, "port", port);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		w_kplain(w, "proto", proto == IPPROTO_TCP ? "tcp" : "udp");
	else
		w_ku64(w, "proto", proto);
	w_raw(w, "}", 1);
	w->comma = true;
}

static void w_dst(struct w *w, const struct tw_event *e)
{
	w_dst_obj(w, e->family, e->mapped, e->daddr, e->dport, e->proto, e->wrote);
}

static const struct tw_policy_host *host_ref(const struct tw_policy *p, uint32_t host)
{
	return host >= 1 && host <= (uint32_t)p->nhosts ? &p->hosts[host - 1] : NULL;
}

static void w_net(struct w *w, const struct tw_event *e, const struct tw_policy *p)
{
	const struct tw_policy_rule *r = e->rule < (uint32_t)p->nrules ? &p->rules[e->rule] : NULL;
	const struct tw_policy_host *h = host_ref(p, e->host);

	if (e->op)
		w_kplain(w, "op", tw_net_op_name(e->op));
	if (e->grant)
		w_ku64(w, "grant", e->grant);	/* allowed by this grant, not the policy */
	w_dst(w, e);
	if (h) {
		/* The address came from resolving this policy hostname. */
		w_kstr(w, "rule", h->jpath);
		w_kcstr(w, "hostname", h->name);
		w_kstr(w, "cidr", NULL);
		return;
	}
	w_kstr(w, "rule", r ? r->jpath : NULL);
	w_key(w, "cidr");
	if (!r) {
		w_raw(w, "null", 4);
		return;
	}
	/* As tw_cidr_format writes it, without printf: this is the hot path. */
	w_raw(w, "\"", 1);
	w_ip(w, r->cidr.family, false, r->cidr.addr);
	w_raw(w, "/", 1);
	w_u64(w, r->cidr.len);
	w_raw(w, "\"", 1);
}

static void w_dns(struct w *w, const struct tw_dns_event *e, const struct tw_policy *p)
{
	const struct tw_policy_host *h = host_ref(p, e->host);
	char name[TW_DNS_NAME_MAX * 4 + 8], qt[16];
	size_t len = e->wire_len;	/* at most 255: always within wire[] */

	tw_dns_name_format(e->wire, len, name, sizeof(name));
	w_kcstr(w, "name", len ? name : NULL);
	w_kstr(w, "qtype", e->qtype ? tw_qtype_name(e->qtype, qt, sizeof(qt)) : NULL);
	w_kcstr(w, "hostname", h ? h->name : NULL);
	w_kstr(w, "rule", h ? h->jpath : NULL);
	w_kstr(w, "reason", tw_dns_reason_name(e->reason));
	w_dst_obj(w, e->family, false, e->daddr, e->dport, e->proto, TW_WROTE_JUDGED);
}

/* A name for a small number if there is one, else the number. */
static void w_kname(struct w *w, const char *key, const char *const *names, size_t n, unsigned int v)
{
	if (v < n && names[v])
		w_kstr(w, key, names[v]);
	else
		w_ku64(w, key, v);
}

static const char *ethertype_name(unsigned int t)
{
	switch (t) {
	case 0x0003: return "all";	/* ETH_P_ALL */
	case 0x0800: return "ip";
	case 0x0806: return "arp";
	case 0x86dd: return "ipv6";
	default: return NULL;
	}
}

/* What kind of socket was refused: family, type and protocol by name where known. */
static void w_sock(struct w *w, const struct tw_sock_event *e)
{
	static const char *const families[] = {
		[AF_UNIX] = "unix", [AF_INET] = "inet", [AF_INET6] = "inet6",
		[AF_NETLINK] = "netlink", [AF_PACKET] = "packet", [AF_XDP] = "xdp",
	};
	static const char *const types[] = {
		[SOCK_STREAM] = "stream", [SOCK_DGRAM] = "dgram", [SOCK_RAW] = "raw",
		[SOCK_RDM] = "rdm", [SOCK_SEQPACKET] = "seqpacket", [SOCK_DCCP] = "dccp",
		[SOCK_PACKET] = "packet",
	};
	static const char *const ip_protos[] = {
		[IPPROTO_IP] = "ip", [IPPROTO_ICMP] = "icmp", [IPPROTO_IGMP] = "igmp",
		[IPPROTO_TCP] = "tcp", [IPPROTO_UDP] = "udp", [IPPROTO_IPV6] = "ipv6",
		[IPPROTO_GRE] = "gre", [IPPROTO_ESP] = "esp", [IPPROTO_AH] = "ah",
		[IPPROTO_ICMPV6] = "icmpv6", [IPPROTO_SCTP] = "sctp", [IPPROTO_UDPLITE] = "udplite",
		[IPPROTO_RAW] = "raw", [IPPROTO_MPTCP] = "mptcp",
	};
	static const char *const sockopts[] = {
		[TW_SOCKOPT_IP_OPTIONS] = "IP_OPTIONS", [TW_SOCKOPT_IPV6_RTHDR] = "IPV6_RTHDR",
		[TW_SOCKOPT_IPV6_2292PKTOPTIONS] = "IPV6_2292PKTOPTIONS",
		[TW_SOCKOPT_SO_ZEROCOPY] = "SO_ZEROCOPY", [TW_SOCKOPT_PAGES] = "sender_pages",
	};
	bool inet = e->family == AF_INET || e->family == AF_INET6;

	w_kstr(w, "op", tw_net_op_name(e->op));
	w_kname(w, "family", families, ARRAY_SIZE(families), e->family);
	w_kname(w, "type", types, ARRAY_SIZE(types), e->type);
	if (inet)
		w_kname(w, "protocol", ip_protos, ARRAY_SIZE(ip_protos), e->protocol);
	else if (e->family == AF_PACKET && ethertype_name(e->protocol))
		w_kstr(w, "protocol", ethertype_name(e->protocol));
	else
		w_ku64(w, "protocol", e->protocol);
	if (e->op == TW_NET_SETSOCKOPT || e->op == TW_NET_ROUTE || e->option)
		w_kname(w, "option", sockopts, ARRAY_SIZE(sockopts), e->option);
}

/* "/mnt/point/a/b/file" from the names the kernel sent, file first. */
static void names_path(const char (*names)[TW_NAME_LEN], int nparts, bool complete, uint32_t dev,
		       const struct tw_event_ctx *c, char *out, size_t len)
{
	const char *mnt = complete && c->dev_path ? c->dev_path(c->arg, dev) : NULL;
	size_t n;
	int i;

	n = snprintf(out, len, "%s", mnt ? (strcmp(mnt, "/") ? mnt : "") : complete ? "" : "...");
	for (i = nparts - 1; i >= 0 && i < TW_PATH_PARTS && n < len; i--) {
		char name[TW_NAME_LEN + 1];

		/* Bytes as the kernel sent them: the encoder keeps what is not UTF-8. */
		memcpy(name, names[i], TW_NAME_LEN);
		name[TW_NAME_LEN] = '\0';
		n += snprintf(out + n, len - n, "/%s", name);
	}
	if (!nparts)
		snprintf(out + n, len - n, "/");
}

static void file_path(const struct tw_file_event *e, const struct tw_event_ctx *c,
		      char *out, size_t len)
{
	names_path(e->names, e->nparts, e->complete, e->dev, c, out, len);
}

static void w_file(struct w *w, const struct tw_file_event *e, const struct tw_event_ctx *c)
{
	const struct tw_policy *p = c->policy;
	const struct tw_policy_secret *s = e->secret < (uint32_t)p->nsecrets ? &p->secrets[e->secret] : NULL;
	char path[TW_PATH_PARTS * (TW_NAME_LEN + 1) + 4096], dev[32];

	file_path(e, c, path, sizeof(path));
	snprintf(dev, sizeof(dev), "%u:%u", e->dev >> 20, e->dev & 0xfffff);
	w_kstr(w, "op", tw_op_name(e->op));
	if (e->grant)
		w_ku64(w, "grant", e->grant);
	w_kcstr(w, "path", path);
	w_kcstr(w, "secret", s ? s->path : NULL);
	w_kstr(w, "rule", s ? s->jpath : NULL);
	w_kstr(w, "dev", dev);
	w_ku64(w, "ino", e->ino);
	if (file_why(e->why))
		w_kstr(w, "reason", file_why(e->why));
	else if (!s)
		w_kstr(w, "reason", "no rule matched");
}

/* A pod's container: who it is, from its tag's meta. */
static void w_pod(struct w *w, const json_t *meta)
{
	const char *pod = json_string_value(json_object_get(meta, "pod"));

	if (!pod)
		return;
	/* Names the pod's owner chose: encoded like every string from outside. */
	w_kcstr(w, "pod", pod);
	w_kcstr(w, "namespace", json_string_value(json_object_get(meta, "namespace")));
	w_kcstr(w, "container", json_string_value(json_object_get(meta, "container")));
}

const char *tw_tamper_how_name(int how)
{
	static const char *const names[] = {
		[TW_HOW_OPEN] = "open", [TW_HOW_RECEIVE] = "receive", [TW_HOW_MIGRATE] = "migrate",
		[TW_HOW_SIGIO] = "sigio", [TW_HOW_BPFFS] = "bpffs", [TW_HOW_GUARDED] = "daemon_path",
		[TW_HOW_GUARDED_FS] = "daemon_filesystem", [TW_HOW_DAEMON_NS] = "daemon_namespace",
	};

	return how > 0 && how <= TW_HOW_MAX ? names[how] : NULL;
}

/* What the kernel was asked to read or load, by kernel_read_file_id. */
static const char *load_what(uint32_t id)
{
	static const char *const names[] = {
		"unknown", "firmware", "module", "kexec_image", "kexec_initramfs", "policy",
		"x509_certificate",
	};

	return id < ARRAY_SIZE(names) ? names[id] : "unknown";
}

/* Tamper records: the operation, then whatever names its target. */
static void w_tamper(struct w *w, const struct tw_tamper_event *e, const struct tw_event_ctx *c)
{
	char path[TW_PATH_PARTS * (TW_NAME_LEN + 1) + 4096], dev[32];
	const char *how = tw_tamper_how_name(e->how);

	w_kstr(w, "op", tw_tamper_op_name(e->op));
	if (how)
		w_kstr(w, e->how >= TW_HOW_BPFFS ? "reason" : "via", how);
	if (e->target_pid)
		w_ku64(w, "target_pid", e->target_pid);
	if (e->target_cgroup_id) {
		w_kcstr(w, "target_cgroup", c->cgroup_path(c->arg, e->target_cgroup_id));
		w_ku64(w, "target_cgroup_id", e->target_cgroup_id);
	}
	switch (e->op) {
	case TW_TAMPER_SIGNAL:
		w_ku64(w, "signal", e->arg);
		break;
	case TW_TAMPER_PTRACE:
		/* PTRACE_MODE_READ 1, PTRACE_MODE_ATTACH 2 */
		w_kstr(w, "mode", e->arg & 2 ? "attach" : "read");
		break;
	case TW_TAMPER_BPF:
		w_ku64(w, "bpf_cmd", e->arg);
		break;
	case TW_TAMPER_MOUNT:
	case TW_TAMPER_UMOUNT:
		w_ku64(w, "mount_flags", e->arg);
		break;
	case TW_TAMPER_MODULE:
	case TW_TAMPER_KEXEC:
	case TW_TAMPER_KERNEL_LOAD:
		w_kstr(w, "what", load_what(e->arg));
		break;
	}
	if (!e->dev && !e->nparts && !e->complete)
		return;	/* no file or mount point in this attempt */
	names_path(e->names, e->nparts, e->complete, e->dev, c, path, sizeof(path));
	snprintf(dev, sizeof(dev), "%u:%u", e->dev >> 20, e->dev & 0xfffff);
	w_kcstr(w, "path", path);
	w_kstr(w, "dev", dev);
	w_ku64(w, "ino", e->ino);
}

int tw_event_body(const void *record, const struct tw_event_ctx *c, char *out, size_t len)
{
	const struct tw_event_hdr *h = record;
	const struct tw_policy *p = c->policy;
	struct w w = { .p = out, .cap = len };

	w_ku64(&w, "v", TW_EVENT_SCHEMA);
	w_ts(&w, h->ts_boot_ns + c->boot_to_real);
	w_kcstr(&w, "host", c->host);
	w_kplain(&w, "kind", tw_kind_name(h->kind));
	w_kplain(&w, "verdict", tw_verdict_name(h->verdict));
	w_kcstr(&w, "tier", tier_name(p, h->tier));
	if (h->tier == TW_TIER_PENDING) {
		/* Below a pods' root, not placed yet: refused every tier's (maps/pendtier.h). */
		w_key(&w, "pending");
		w_lit(&w, "true");
	}
	w_kcstr(&w, "cgroup", c->cgroup_path(c->arg, h->cgroup_id));
	w_ku64(&w, "cgroup_id", h->cgroup_id);
	w_kcstr(&w, "tagged_cgroup", c->cgroup_path(c->arg, h->tagged_cgroup_id));
	if (c->tag_meta && h->tagged_cgroup_id)
		w_pod(&w, c->tag_meta(c->arg, h->tagged_cgroup_id));
	w_ku64(&w, "pid", h->pid);
	w_ku64(&w, "tid", h->tid);
	w_ktext(&w, "comm", h->comm, strnlen(h->comm, sizeof(h->comm)));
	w_ku64(&w, "uid", h->uid);
	w_kcstr(&w, "target_tier", tier_name(p, h->target_tier));
	w_ku64(&w, "count", h->count);
	if (h->aggregated) {
		w_key(&w, "aggregated");
		w_lit(&w, "true");
	}
	if (h->kind == TW_EV_FILE)
		w_file(&w, record, c);
	else if (h->kind == TW_EV_TAMPER)
		w_tamper(&w, record, c);
	else if (h->kind == TW_EV_DNS)
		w_dns(&w, record, p);
	else if (h->kind == TW_EV_SOCKET)
		w_sock(&w, record);
	else
		w_net(&w, record, p);
	w_kplain(&w, "policy", p->digest);
	return w.n <= len ? (int)w.n : -ENOSPC;
}

json_t *tw_event_json(const void *record, const struct tw_event_ctx *c)
{
	char *buf = malloc(TW_EVENT_MAX + 2);
	int n = buf ? tw_event_body(record, c, buf + 1, TW_EVENT_MAX) : -ENOMEM;
	json_t *o = NULL;

	if (n >= 0) {
		buf[0] = '{';
		buf[n + 1] = '}';
		o = json_loadb(buf, n + 2, 0, NULL);
	}
	free(buf);
	return o;
}

json_t *tw_event_lost(const void *record, size_t size, const char *why,
		      const struct tw_event_ctx *c)
{
	const struct tw_event_hdr *h = record;
	json_t *o = tw_event_daemon("unencodable", c);

	json_object_set_new(o, "kind", json_string("lost"));
	json_object_set_new(o, "reason", json_string(why));
	json_object_set_new(o, "count", json_integer(size >= sizeof(*h) && h->count ? h->count : 1));
	json_object_set_new(o, "total", json_integer(size >= sizeof(*h) && h->count ? h->count : 1));
	json_object_set_new(o, "record_bytes", json_integer(size));
	if (size >= sizeof(*h)) {
		/* What can still be told about the decision, as numbers. */
		json_object_set_new(o, "record_kind", json_integer(h->kind));
		json_object_set_new(o, "cgroup_id", json_integer(h->cgroup_id));
		json_object_set_new(o, "decision_pid", json_integer(h->pid));
	}
	return o;
}

json_t *tw_event_daemon(const char *what, const struct tw_event_ctx *c)
{
	json_t *o = json_object();
	char ts[64];

	if (!o)
		return NULL;
	tw_format_time(tw_now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	json_object_set_new(o, "v", json_integer(TW_EVENT_SCHEMA));
	json_object_set_new(o, "ts", json_string(ts));
	tw_json_set_text(o, "host", c->host);
	json_object_set_new(o, "kind", json_string("daemon"));
	json_object_set_new(o, "event", json_string(what));
	json_object_set_new(o, "pid", json_integer(getpid()));
	if (c->policy)
		json_object_set_new(o, "policy", json_string(c->policy->digest));
	return o;
}
