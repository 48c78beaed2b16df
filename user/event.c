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

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* comm and file names are whatever a process chose: keep them printable ASCII. */
static void clean_name(char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s >= 0x7f)
			*s = '?';
}

static void clean_comm(const char *in, char *out)
{
	memcpy(out, in, 15);
	out[15] = '\0';
	clean_name(out);
}

static json_t *dst_json(const struct tw_event *e)
{
	char ip[INET6_ADDRSTRLEN + 8];
	const char *proto;

	if (e->family == 4 && e->mapped) {
		strcpy(ip, "::ffff:");
		inet_ntop(AF_INET, e->daddr, ip + 7, sizeof(ip) - 7);
	} else {
		inet_ntop(e->family == 4 ? AF_INET : AF_INET6, e->daddr, ip, sizeof(ip));
	}
	proto = e->proto == IPPROTO_TCP ? "tcp" : e->proto == IPPROTO_UDP ? "udp" : NULL;
	return json_pack("{s:s, s:i, s:o}", "ip", ip, "port", e->dport,
			 "proto", proto ? json_string(proto) : json_integer(e->proto));
}

static void put_common(json_t *o, const char *kind, uint64_t seq, uint64_t real_ns,
		       const struct tw_event_ctx *c)
{
	char ts[64];

	tw_format_time(real_ns, ts, sizeof(ts));
	json_object_set_new(o, "v", json_integer(TW_EVENT_SCHEMA));
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "seq", json_integer(seq));
	json_object_set_new(o, "host", json_string(c->host));
	json_object_set_new(o, "kind", json_string(kind));
}

/* Fields every decision has: who, which tier, against which tier. */
static json_t *hdr_json(const struct tw_event_hdr *h, uint64_t seq,
			const struct tw_event_ctx *c)
{
	const struct tw_policy *p = c->policy;
	json_t *o = json_object();
	char comm[16];

	if (!o)
		return NULL;
	clean_comm(h->comm, comm);
	put_common(o, tw_kind_name(h->kind), seq, h->ts_boot_ns + c->boot_to_real, c);
	json_object_set_new(o, "verdict", json_string(tw_verdict_name(h->verdict)));
	json_object_set_new(o, "tier", str_or_null(tier_name(p, h->tier)));
	json_object_set_new(o, "cgroup", str_or_null(c->cgroup_path(c->arg, h->cgroup_id)));
	json_object_set_new(o, "cgroup_id", json_integer(h->cgroup_id));
	json_object_set_new(o, "tagged_cgroup",
			    str_or_null(c->cgroup_path(c->arg, h->tagged_cgroup_id)));
	json_object_set_new(o, "pid", json_integer(h->pid));
	json_object_set_new(o, "tid", json_integer(h->tid));
	json_object_set_new(o, "comm", json_string(comm));
	json_object_set_new(o, "uid", json_integer(h->uid));
	json_object_set_new(o, "target_tier", str_or_null(tier_name(p, h->target_tier)));
	json_object_set_new(o, "count", json_integer(h->count));
	if (h->aggregated)
		json_object_set_new(o, "aggregated", json_true());
	return o;
}

static void net_json(json_t *o, const struct tw_event *e, const struct tw_policy *p)
{
	const struct tw_policy_rule *r = NULL;
	char cidr[64] = "";

	if (e->rule < (uint32_t)p->nrules) {
		r = &p->rules[e->rule];
		tw_cidr_format(&r->cidr, cidr, sizeof(cidr));
	}
	json_object_set_new(o, "dst", dst_json(e));
	json_object_set_new(o, "rule", r ? json_string(r->jpath) : json_null());
	json_object_set_new(o, "cidr", r ? json_string(cidr) : json_null());
}

/* "/mnt/point/a/b/file" from the names the kernel sent, file first. */
static void file_path(const struct tw_file_event *e, const struct tw_event_ctx *c,
		      char *out, size_t len)
{
	const char *mnt = e->complete && c->dev_path ? c->dev_path(c->arg, e->dev) : NULL;
	size_t n;
	int i;

	n = snprintf(out, len, "%s", mnt ? (strcmp(mnt, "/") ? mnt : "") : e->complete ? "" : "...");
	for (i = e->nparts - 1; i >= 0 && i < TW_PATH_PARTS && n < len; i--) {
		char name[TW_NAME_LEN + 1];

		memcpy(name, e->names[i], TW_NAME_LEN);
		name[TW_NAME_LEN] = '\0';
		clean_name(name);
		n += snprintf(out + n, len - n, "/%s", name);
	}
	if (!e->nparts)
		snprintf(out + n, len - n, "/");
}

static void file_json(json_t *o, const struct tw_file_event *e, const struct tw_event_ctx *c)
{
	const struct tw_policy *p = c->policy;
	const struct tw_policy_secret *s = NULL;
	char path[TW_PATH_PARTS * (TW_NAME_LEN + 1) + 4096], dev[32];

	if (e->secret < (uint32_t)p->nsecrets)
		s = &p->secrets[e->secret];
	file_path(e, c, path, sizeof(path));
	snprintf(dev, sizeof(dev), "%u:%u", e->dev >> 20, e->dev & 0xfffff);
	json_object_set_new(o, "op", json_string(tw_op_name(e->op)));
	json_object_set_new(o, "path", json_string(path));
	json_object_set_new(o, "secret", s ? json_string(s->path) : json_null());
	json_object_set_new(o, "rule", s ? json_string(s->jpath) : json_null());
	json_object_set_new(o, "dev", json_string(dev));
	json_object_set_new(o, "ino", json_integer(e->ino));
	if (!s)
		json_object_set_new(o, "reason", json_string(
			"path deeper than the kernel walks on a filesystem with protected directories"));
}

json_t *tw_event_json(const void *data, uint64_t seq, const struct tw_event_ctx *c)
{
	const struct tw_event_hdr *h = data;
	json_t *o = hdr_json(h, seq, c);

	if (!o)
		return NULL;
	if (h->kind == TW_EV_FILE)
		file_json(o, data, c);
	else
		net_json(o, data, c->policy);
	json_object_set_new(o, "policy", json_string(c->policy->digest));
	return o;
}

json_t *tw_event_daemon(const char *what, uint64_t seq, const struct tw_event_ctx *c)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	put_common(o, "daemon", seq, tw_now_ns(CLOCK_REALTIME), c);
	json_object_set_new(o, "event", json_string(what));
	json_object_set_new(o, "pid", json_integer(getpid()));
	if (c->policy)
		json_object_set_new(o, "policy", json_string(c->policy->digest));
	return o;
}
