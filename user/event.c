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
	default: return "unknown";
	}
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
	const struct tw_event *e = data;

	if (size < sizeof(*e))
		return -EINVAL;
	if (e->size != sizeof(*e) || !e->kind || e->kind > TW_EV_SENDMSG)
		return -EPROTO;
	return 0;
}

static const char *tier_name(const struct tw_policy *p, int id)
{
	return id >= 1 && id <= p->ntiers ? p->tiers[id].name : NULL;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* comm is whatever the process chose: keep it printable ASCII for the log. */
static void clean_comm(const char *in, char *out)
{
	int i;

	for (i = 0; i < 15 && in[i]; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
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

json_t *tw_event_json(const struct tw_event *e, uint64_t seq,
		      const struct tw_event_ctx *c)
{
	const struct tw_policy *p = c->policy;
	const struct tw_policy_rule *r = NULL;
	char comm[16], cidr[64] = "";
	json_t *o = json_object();

	if (!o)
		return NULL;
	if (e->rule < (uint32_t)p->nrules) {
		r = &p->rules[e->rule];
		tw_cidr_format(&r->cidr, cidr, sizeof(cidr));
	}
	clean_comm(e->comm, comm);
	put_common(o, tw_kind_name(e->kind), seq, e->ts_boot_ns + c->boot_to_real, c);
	json_object_set_new(o, "verdict", json_string(tw_verdict_name(e->verdict)));
	json_object_set_new(o, "tier", str_or_null(tier_name(p, e->tier)));
	json_object_set_new(o, "cgroup", str_or_null(c->cgroup_path(c->arg, e->cgroup_id)));
	json_object_set_new(o, "cgroup_id", json_integer(e->cgroup_id));
	json_object_set_new(o, "tagged_cgroup",
			    str_or_null(c->cgroup_path(c->arg, e->tagged_cgroup_id)));
	json_object_set_new(o, "pid", json_integer(e->pid));
	json_object_set_new(o, "tid", json_integer(e->tid));
	json_object_set_new(o, "comm", json_string(comm));
	json_object_set_new(o, "uid", json_integer(e->uid));
	json_object_set_new(o, "dst", dst_json(e));
	json_object_set_new(o, "target_tier", str_or_null(tier_name(p, e->target_tier)));
	json_object_set_new(o, "rule", r ? json_string(r->jpath) : json_null());
	json_object_set_new(o, "cidr", r ? json_string(cidr) : json_null());
	json_object_set_new(o, "policy", json_string(p->digest));
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
