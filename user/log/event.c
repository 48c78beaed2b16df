// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "event.h"
#include "util.h"

const char *tw_kind_name(int kind)
{
	switch (kind) {
	case TW_EV_CONNECT: return "connect";
	case TW_EV_SENDMSG: return "sendmsg";
	case TW_EV_FILE: return "file";
	case TW_EV_DNS: return "dns";
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
	};

	return op > 0 && op <= TW_OP_MAX ? names[op] : "unknown";
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

/* comm and file names are whatever a process chose: keep them printable ASCII. */
static void clean_name(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			*s = '?';
}

/*
 * The decision encoder writes JSON text straight into a buffer: no tree,
 * no allocation, no printf. It is the hot path of the daemon (one call per
 * kernel record); a jansson tree per record cost most of the daemon's time.
 */
struct w {
	char *p;
	size_t n, cap;
	bool comma;
};

static void w_raw(struct w *w, const char *s, size_t n)
{
	if (w->n + n <= w->cap)
		memcpy(w->p + w->n, s, n);
	w->n += n;	/* past cap: counted, to report the size needed */
}

static void w_lit(struct w *w, const char *s)
{
	w_raw(w, s, strlen(s));
}

static void w_key(struct w *w, const char *key)
{
	if (w->comma)
		w_raw(w, ",", 1);
	w->comma = true;
	w_raw(w, "\"", 1);
	w_lit(w, key);
	w_raw(w, "\":", 2);
}

/* Length of a valid UTF-8 sequence at s, or 0. */
static int utf8_len(const unsigned char *s)
{
	int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
	int i;

	if (s[0] >= 0xf8)
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void w_str(struct w *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		w_raw(w, "null", 4);
		return;
	}
	w_raw(w, "\"", 1);
	while (*p) {
		char esc[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
		int n;

		if (*p == '"' || *p == '\\') {
			esc[1] = *p;
			w_raw(w, esc, 2);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			w_raw(w, esc, 6);
			p++;
		} else if (*p < 0x80) {
			const unsigned char *q = p;

			while (*q >= 0x20 && *q < 0x7f && *q != '"' && *q != '\\')
				q++;
			w_raw(w, (const char *)p, q - p);
			p = q;
		} else if ((n = utf8_len(p))) {
			w_raw(w, (const char *)p, n);
			p += n;
		} else {
			w_lit(w, "\\ufffd");
			p++;
		}
	}
	w_raw(w, "\"", 1);
}

static void w_u64(struct w *w, uint64_t v)
{
	char d[20];
	int i = sizeof(d);

	do {
		d[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	w_raw(w, d + i, sizeof(d) - i);
}

static void w_kstr(struct w *w, const char *key, const char *v)
{
	w_key(w, key);
	w_str(w, v);
}

static void w_ku64(struct w *w, const char *key, uint64_t v)
{
	w_key(w, key);
	w_u64(w, v);
}

/* RFC 3339 with ns; the date part is formatted once per second. */
static void w_ts(struct w *w, uint64_t ns)
{
	static __thread time_t last = -1;
	static __thread char date[32];
	time_t secs = ns / 1000000000ull;
	uint64_t frac = ns % 1000000000ull;
	char f[10];
	int i;

	if (secs != last) {
		struct tm tm;

		gmtime_r(&secs, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S.", &tm);
		last = secs;
	}
	for (i = 8; i >= 0; i--, frac /= 10)
		f[i] = '0' + frac % 10;
	f[9] = 'Z';
	w_key(w, "ts");
	w_raw(w, "\"", 1);
	w_lit(w, date);
	w_raw(w, f, 10);
	w_raw(w, "\"", 1);
}

/* "dst": {ip, port, proto}; a mapped address is shown as the caller wrote it. */
static void w_dst_obj(struct w *w, int family, bool mapped, const uint8_t *addr, uint16_t port,
		      uint8_t proto)
{
	char ip[INET6_ADDRSTRLEN + 8];

	if (family == 4 && mapped) {
		strcpy(ip, "::ffff:");
		inet_ntop(AF_INET, addr, ip + 7, sizeof(ip) - 7);
	} else {
		inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, ip, sizeof(ip));
	}
	w_key(w, "dst");
	w_raw(w, "{", 1);
	w->comma = false;
	w_kstr(w, "ip", ip);
	w_ku64(w, "port", port);
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
		w_kstr(w, "proto", proto == IPPROTO_TCP ? "tcp" : "udp");
	else
		w_ku64(w, "proto", proto);
	w_raw(w, "}", 1);
	w->comma = true;
}

static void w_dst(struct w *w, const struct tw_event *e)
{
	w_dst_obj(w, e->family, e->mapped, e->daddr, e->dport, e->proto);
}

static const struct tw_policy_host *host_ref(const struct tw_policy *p, uint32_t host)
{
	return host >= 1 && host <= (uint32_t)p->nhosts ? &p->hosts[host - 1] : NULL;
}

static void w_net(struct w *w, const struct tw_event *e, const struct tw_policy *p)
{
	const struct tw_policy_rule *r = e->rule < (uint32_t)p->nrules ? &p->rules[e->rule] : NULL;
	const struct tw_policy_host *h = host_ref(p, e->host);
	char cidr[64];

	w_dst(w, e);
	if (h) {
		/* The address came from resolving this policy hostname. */
		w_kstr(w, "rule", h->jpath);
		w_kstr(w, "hostname", h->name);
		w_kstr(w, "cidr", NULL);
		return;
	}
	w_kstr(w, "rule", r ? r->jpath : NULL);
	if (r)
		tw_cidr_format(&r->cidr, cidr, sizeof(cidr));
	w_kstr(w, "cidr", r ? cidr : NULL);
}

int tw_dns_name_format(const uint8_t *wire, size_t len, char *out, size_t outlen)
{
	size_t pos = 0, n = 0;
	int complete = -1;

	if (outlen < 8)
		return -1;
	while (pos < len && n + 8 < outlen) {
		uint8_t l = wire[pos];
		size_t i;

		if (!l) {
			complete = 0;
			break;
		}
		if (l & 0xc0)
			break;	/* pointer or reserved label type: shown as cut off */
		if (n)
			out[n++] = '.';
		for (i = 1; i <= l && pos + i < len && n + 8 < outlen; i++) {
			uint8_t c = wire[pos + i];

			/* RFC 1035 presentation: \. for a dot in a label, \DDD for the unprintable. */
			if (c == '.' || c == '\\') {
				out[n++] = '\\';
				out[n++] = c;
			} else if (c > 0x20 && c < 0x7f) {
				out[n++] = c;
			} else {
				n += snprintf(out + n, outlen - n, "\\%03u", c);
			}
		}
		if (i <= l)
			break;
		pos += l + 1;
	}
	if (complete && n + 4 < outlen) {
		memcpy(out + n, "...", 3);
		n += 3;
	} else if (!n) {
		out[n++] = '.';	/* the root */
	}
	out[n] = '\0';
	return complete;
}

const char *tw_qtype_name(unsigned int qtype, char *buf, size_t len)
{
	static const struct { unsigned int t; const char *n; } names[] = {
		{ 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 12, "PTR" }, { 15, "MX" },
		{ 16, "TXT" }, { 28, "AAAA" }, { 33, "SRV" }, { 35, "NAPTR" }, { 43, "DS" },
		{ 48, "DNSKEY" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" }, { 255, "ANY" },
		{ 257, "CAA" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].t == qtype)
			return names[i].n;
	snprintf(buf, len, "TYPE%u", qtype);	/* RFC 3597 */
	return buf;
}

const char *tw_dns_reason_name(int reason)
{
	static const char *const names[] = {
		[TW_DNS_OWNED] = "name_of_other_tier",
		[TW_DNS_POINTER] = "compression_pointer",
		[TW_DNS_LABEL] = "label_too_long",
		[TW_DNS_LONG] = "name_too_long",
		[TW_DNS_TRUNCATED] = "truncated",
		[TW_DNS_COUNT] = "question_count",
		[TW_DNS_UNPARSED] = "unparsed_headers",
	};

	return reason > 0 && reason <= TW_DNS_REASON_MAX ? names[reason] : NULL;
}

static void w_dns(struct w *w, const struct tw_dns_event *e, const struct tw_policy *p)
{
	const struct tw_policy_host *h = host_ref(p, e->host);
	char name[TW_DNS_NAME_MAX * 4 + 8], qt[16];
	size_t len = e->wire_len;	/* at most 255: always within wire[] */

	tw_dns_name_format(e->wire, len, name, sizeof(name));
	w_kstr(w, "name", len ? name : NULL);
	w_kstr(w, "qtype", e->qtype ? tw_qtype_name(e->qtype, qt, sizeof(qt)) : NULL);
	w_kstr(w, "hostname", h ? h->name : NULL);
	w_kstr(w, "rule", h ? h->jpath : NULL);
	w_kstr(w, "reason", tw_dns_reason_name(e->reason));
	w_dst_obj(w, e->family, false, e->daddr, e->dport, e->proto);
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

		memcpy(name, names[i], TW_NAME_LEN);
		name[TW_NAME_LEN] = '\0';
		clean_name(name);
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
	w_kstr(w, "path", path);
	w_kstr(w, "secret", s ? s->path : NULL);
	w_kstr(w, "rule", s ? s->jpath : NULL);
	w_kstr(w, "dev", dev);
	w_ku64(w, "ino", e->ino);
	if (!s)
		w_kstr(w, "reason", "path deeper than the kernel walks on a filesystem with protected directories");
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
		w_kstr(w, "target_cgroup", c->cgroup_path(c->arg, e->target_cgroup_id));
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
	w_kstr(w, "path", path);
	w_kstr(w, "dev", dev);
	w_ku64(w, "ino", e->ino);
}

int tw_event_body(const void *record, const struct tw_event_ctx *c, char *out, size_t len)
{
	const struct tw_event_hdr *h = record;
	const struct tw_policy *p = c->policy;
	struct w w = { .p = out, .cap = len };
	char comm[16];

	memcpy(comm, h->comm, 15);
	comm[15] = '\0';
	clean_name(comm);
	w_ku64(&w, "v", TW_EVENT_SCHEMA);
	w_ts(&w, h->ts_boot_ns + c->boot_to_real);
	w_kstr(&w, "host", c->host);
	w_kstr(&w, "kind", tw_kind_name(h->kind));
	w_kstr(&w, "verdict", tw_verdict_name(h->verdict));
	w_kstr(&w, "tier", tier_name(p, h->tier));
	w_kstr(&w, "cgroup", c->cgroup_path(c->arg, h->cgroup_id));
	w_ku64(&w, "cgroup_id", h->cgroup_id);
	w_kstr(&w, "tagged_cgroup", c->cgroup_path(c->arg, h->tagged_cgroup_id));
	w_ku64(&w, "pid", h->pid);
	w_ku64(&w, "tid", h->tid);
	w_kstr(&w, "comm", comm);
	w_ku64(&w, "uid", h->uid);
	w_kstr(&w, "target_tier", tier_name(p, h->target_tier));
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
	else
		w_net(&w, record, p);
	w_kstr(&w, "policy", p->digest);
	return w.n <= len ? (int)w.n : -ENOSPC;
}

json_t *tw_event_json(const void *record, const struct tw_event_ctx *c)
{
	char buf[8192 + 2];
	int n = tw_event_body(record, c, buf + 1, sizeof(buf) - 2);

	if (n < 0)
		return NULL;
	buf[0] = '{';
	buf[n + 1] = '}';
	return json_loadb(buf, n + 2, 0, NULL);
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
	json_object_set_new(o, "host", json_string(c->host));
	json_object_set_new(o, "kind", json_string("daemon"));
	json_object_set_new(o, "event", json_string(what));
	json_object_set_new(o, "pid", json_integer(getpid()));
	if (c->policy)
		json_object_set_new(o, "policy", json_string(c->policy->digest));
	return o;
}
