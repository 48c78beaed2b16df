// SPDX-License-Identifier: GPL-2.0
/*
 * The "grant" control request: {"cmd": "grant", "op": request | show |
 * approve | revoke | list, ...}. A deliberate change to who may do what: a
 * request changes nothing, so any client may make one (a tiered caller only
 * for its own tier); approving needs a member of one of the policy's
 * approver groups (by the peer's groups, SO_PEERGROUPS) who is not the
 * requester (dm_same_person: the same uid other than root, or the same login
 * uid), never a tiered caller. One uid, or one tier, has at most
 * PENDING_EACH requests pending.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cgroup.h"
#include "dns.h"
#include "grants.h"
#include "persist.h"
#include "reply.h"
#include "tags.h"
#include "util.h"

#define MAX_PEER_GROUPS	256
#define PENDING_EACH	16	/* pending requests of one uid or one tier */

bool dm_grant_op_changes(json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));

	return op && (!strcmp(op, "approve") || !strcmp(op, "revoke"));
}

/* Is the peer on fd in one of the policy's approver groups? */
static bool approver(const struct daemon *d, int fd, const struct ucred *peer)
{
	gid_t groups[MAX_PEER_GROUPS];
	socklen_t len = sizeof(groups);
	int i, j, n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len))
		len = 0;
	n = len / sizeof(gid_t);
	for (i = 0; i < d->policy->grants.ngroups; i++) {
		struct group *gr = getgrnam(d->policy->grants.groups[i]);

		if (!gr)
			continue;
		if (peer->gid == gr->gr_gid)
			return true;
		for (j = 0; j < n; j++)
			if (groups[j] == gr->gr_gid)
				return true;
	}
	return false;
}

/* The tier of the peer's cgroup, 0 when untagged (or gone: then -1). */
static int peer_tier(struct daemon *d, const struct ucred *peer, char *abs, size_t len)
{
	int i;

	if (dm_cgroup_of_pid(d, peer->pid, abs, len))
		return -1;
	i = dm_effective_tag(d, abs);
	return i < 0 ? 0 : d->tags[i].tier;
}

/* s as a policy writes a hostname (lowercase, no trailing dot), or NULL if it is not one. */
static char *host_name(const char *s)
{
	size_t i, n = strlen(s);
	char *h;

	if (n && s[n - 1] == '.')
		n--;
	if (!n || n > TW_HOSTNAME_MAX || strspn(s, "0123456789.") >= n)
		return NULL;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.' && s[i] != '_')
			return NULL;
	h = strndup(s, n);
	for (i = 0; h && i < n; i++)
		h[i] = tolower((unsigned char)h[i]);
	return h;
}

/*
 * "ADDR[/LEN][:PORT[,PORT]...][/tcp|/udp]", IPv6 with ports as
 * "[ADDR[/LEN]]:PORTS", or a policy hostname in place of ADDR[/LEN].
 */
static int parse_target(struct grant *g, const char *s, char *why, size_t len)
{
	char buf[128], *addr = buf, *ports = NULL, *proto, *p, *end;
	char err[128];

	snprintf(buf, sizeof(buf), "%s", s);
	proto = strrchr(buf, '/');
	if (proto && (!strcmp(proto, "/tcp") || !strcmp(proto, "/udp"))) {
		g->proto = proto[1] == 't' ? 6 : 17;
		*proto = '\0';
	}
	if (buf[0] == '[') {
		addr = buf + 1;
		p = strchr(addr, ']');
		if (!p || (p[1] && p[1] != ':')) {
			snprintf(why, len, "\"%s\": an IPv6 target with ports is [ADDRESS]:PORT", s);
			return -EINVAL;
		}
		*p = '\0';
		ports = p[1] ? p + 2 : NULL;
	} else if ((p = strchr(buf, ':')) && !strchr(p + 1, ':')) {
		*p = '\0';
		ports = p + 1;
	}
	if (tw_cidr_parse(addr, &g->to, err, sizeof(err)) && !(g->host = host_name(addr))) {
		snprintf(why, len, "\"%s\" is not an address, CIDR or hostname: %s", addr, err);
		return -EINVAL;
	}
	for (p = ports; p && *p; p = *end ? end + 1 : end) {
		long v = strtol(p, &end, 10);

		if (end == p || (*end && *end != ',') || v < 1 || v > 65535 || g->nports == TW_GRANT_PORTS) {
			snprintf(why, len, "\"%s\": ports are 1 to 65535, at most %d, comma-separated",
				 ports, TW_GRANT_PORTS);
			return -EINVAL;
		}
		g->ports[g->nports++] = v;
	}
	return 0;
}

/* The cgroup a pod's tag names (NAMESPACE/NAME), or -1. */
static int pod_tag(struct daemon *d, const char *pod)
{
	const char *slash = strchr(pod, '/');
	int i;

	for (i = 0; slash && i < d->ntags; i++) {
		const char *ns = json_string_value(json_object_get(d->tags[i].meta, "namespace"));
		const char *name = json_string_value(json_object_get(d->tags[i].meta, "pod"));

		if (d->tags[i].source == TAG_POD && ns && name && strlen(ns) == (size_t)(slash - pod) &&
		    !strncmp(ns, pod, slash - pod) && !strcmp(name, slash + 1))
			return i;
	}
	return -1;
}

/* Who the grant is for: its tier, and its cgroup unless the whole tier. */
static json_t *parse_scope(struct daemon *d, struct grant *g, json_t *req, int *tier)
{
	const char *t = json_string_value(json_object_get(req, "tier"));
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	const char *pod = json_string_value(json_object_get(req, "pod"));
	char abs[PATH_MAX];
	int i, err;

	if (!!t + !!cg + !!pod != 1)
		return dm_reply_err("a grant is for exactly one of \"tier\", \"cgroup\" and \"pod\"");
	if (t) {
		if (!(*tier = tw_policy_tier_id(d->policy, t)))
			return dm_reply_err("unknown tier \"%s\" (see `tierwall tiers`)", t);
		return NULL;
	}
	if (pod) {
		if ((i = pod_tag(d, pod)) < 0)
			return dm_reply_err("no tagged pod \"%s\" (NAMESPACE/NAME)", pod);
		g->pod = strdup(pod);
		snprintf(abs, sizeof(abs), "%s", d->tags[i].path);
	} else {
		err = tw_cgroup_resolve(d->root, cg, abs, sizeof(abs));
		if (err)
			return dm_reply_err("cgroup \"%s\" under %s: %s", cg, d->root, strerror(-err));
		if ((i = dm_effective_tag(d, abs)) < 0)
			return dm_reply_err("cgroup %s has no tier: nothing refuses it", dm_policy_path(d, abs));
	}
	*tier = d->tags[i].tier;
	g->cgroup = strdup(abs);
	g->cg_level = tw_cgroup_level(d->mount, abs);
	if (tw_cgroup_id(abs, &g->cgroup_id) || g->cg_level < 0)
		return dm_reply_err("cannot read cgroup %s", dm_policy_path(d, abs));
	return NULL;
}

/* What the grant allows: a network target or a secret path, for how long, why. */
static json_t *parse_what(struct daemon *d, struct grant *g, json_t *req, int tier)
{
	const char *to = json_string_value(json_object_get(req, "to"));
	const char *secret = json_string_value(json_object_get(req, "secret"));
	const char *dur = json_string_value(json_object_get(req, "for"));
	const char *reason = json_string_value(json_object_get(req, "reason"));
	char why[256];

	if (!!to == !!secret)
		return dm_reply_err("a grant allows exactly one of \"to\" (a destination) and \"secret\" (a path)");
	if (to && parse_target(g, to, why, sizeof(why)))
		return dm_reply_err("--to %s", why);
	if (secret)
		g->secret = strdup(secret);
	if (!dur || tw_parse_duration(dur, &g->duration_s) || g->duration_s <= 0)
		return dm_reply_err("--for \"%s\": a positive duration like 90s, 15m or 4h", dur ?: "");
	if (g->duration_s > d->policy->grants.max_s)
		return dm_reply_err("--for %s is longer than the policy allows (\"max\": %lds)", dur,
				    d->policy->grants.max_s);
	if (!reason || !reason[0])
		return dm_reply_err("--reason: say why the exception is needed");
	g->reason = strdup(reason);
	if (dm_grant_reach(d, g, tier, why, sizeof(why)) < 0)
		return dm_reply_err("%s", why);
	return NULL;
}

/*
 * Pending requests of one requester: of its tier when tiered (a tiered root
 * may take any uid), else of its uid. Only an untiered root has no cap, so
 * no one else fills the store and keeps others from asking.
 */
static int pending_of(const struct daemon *d, const struct grant *new, const struct ucred *peer, int own)
{
	int i, n = 0;

	if (!own && !peer->uid)
		return 0;
	for (i = 0; i < d->ngrants; i++) {
		const struct grant *g = &d->grants[i];

		if (g != new && g->state == GRANT_PENDING && g->req_tier == own && (own || g->req.uid == peer->uid))
			n++;
	}
	return n;
}

static json_t *op_request(struct daemon *d, const struct ucred *peer, json_t *req)
{
	struct grant *g = dm_grant_new(d);
	char abs[PATH_MAX];
	json_t *err;
	int tier = 0, own;

	if (!g)
		return dm_reply_err("too many grants pending or active");
	g->requested_at = time(NULL);
	g->requested_boot = tw_now_ns(CLOCK_BOOTTIME);
	dm_person(&g->req, peer->uid, peer->pid);
	err = parse_scope(d, g, req, &tier) ?: parse_what(d, g, req, tier);
	own = err ? 0 : peer_tier(d, peer, abs, sizeof(abs));
	if (!err && own < 0)
		err = dm_reply_err("the process that connected (pid %d) is gone", (int)peer->pid);
	else if (!err && own && own != tier)
		err = dm_reply_err("refused: the caller runs in tier %s and may request grants only for "
				   "its own tier", dm_tier_name(d, own));
	else if (!err && pending_of(d, g, peer, own) >= PENDING_EACH)
		err = dm_reply_err("refused: %d requests of yours are pending already; revoke one or wait "
				   "until they lapse", PENDING_EACH);
	if (err) {
		/* Nothing changes: the id is not used. */
		dm_grant_clear(g);
		d->ngrants--;
		d->next_grant--;
		return err;
	}
	g->req_tier = own;
	snprintf(g->tier, sizeof(g->tier), "%s", dm_tier_name(d, tier));
	dm_grant_record(d, "grant_requested", g, NULL);
	dm_state_save(d);
	return json_pack("{s:b, s:i, s:s}", "ok", 1, "id", (int)g->id, "state", "pending");
}

static struct grant *grant_arg(struct daemon *d, json_t *req, json_t **err)
{
	json_t *id = json_object_get(req, "id");
	struct grant *g = json_is_integer(id) ? dm_grant_find(d, json_integer_value(id)) : NULL;

	*err = NULL;
	if (!g)
		*err = json_is_integer(id) ? dm_reply_err("no grant %lld", json_integer_value(id)) :
					      dm_reply_err("request needs \"id\" (an integer)");
	return g;
}

static json_t *op_approve(struct daemon *d, int fd, const struct ucred *peer, json_t *req)
{
	struct grant *g;
	struct person who;
	json_t *err;

	g = grant_arg(d, req, &err);
	if (!g)
		return err;
	if (g->state != GRANT_PENDING)
		return dm_reply_err("grant %u is %s, not pending", g->id,
				    g->state == GRANT_ACTIVE ? "active already" : "ended");
	if (!approver(d, fd, peer))
		return dm_reply_err("permission denied: uid %d is in none of the approver groups (grants.approvers.groups)",
				    (int)peer->uid);
	dm_person(&who, peer->uid, peer->pid);
	if (dm_same_person(&who, &g->req) && !d->policy->grants.self_approval)
		return dm_reply_err("refused: grant %u was requested by the same person (uid %d); another "
				    "approver must approve it", g->id, (int)peer->uid);
	g->appr = who;
	g->self_approved = dm_same_person(&who, &g->req);
	if (dm_grant_activate(d, g))
		return dm_reply_err("grant %u cannot be put in force (see the daemon's log)", g->id);
	dm_grant_record(d, "grant_approved", g, NULL);
	dm_state_save(d);
	return json_pack("{s:b, s:o}", "ok", 1, "grant", dm_grant_json(d, g, true));
}

static json_t *op_revoke(struct daemon *d, int fd, const struct ucred *peer, json_t *req)
{
	struct person who;
	struct grant *g;
	json_t *err;

	g = grant_arg(d, req, &err);
	if (!g)
		return err;
	if (g->state == GRANT_ENDED)
		return dm_reply_err("grant %u has ended already (%s)", g->id, g->end);
	dm_person(&who, peer->uid, peer->pid);
	/* Its requester by uid: a login uid is anyone's to claim while unset. */
	if (peer->uid && !approver(d, fd, peer) && peer->uid != g->req.uid)
		return dm_reply_err("permission denied: only root, an approver or its requester revokes grant %u",
				    g->id);
	g->rev = who;
	dm_grant_end(d, g, "grant_revoked", NULL);
	dm_state_save(d);
	return json_pack("{s:b, s:o}", "ok", 1, "grant", dm_grant_json(d, g, true));
}

static json_t *op_list(struct daemon *d)
{
	json_t *a = json_array();
	int i;

	dm_grants_tick(d);
	dm_grants_sync(d);
	for (i = 0; i < d->ngrants; i++)
		json_array_append_new(a, dm_grant_json(d, &d->grants[i], true));
	return json_pack("{s:b, s:o}", "ok", 1, "grants", a);
}

/* The cgroups a grant reaches today: its own, or every cgroup tagged with its tier. */
static json_t *reach_cgroups(struct daemon *d, const struct grant *g)
{
	json_t *a = json_array();
	int i, tier = tw_policy_tier_id(d->policy, g->tier);

	if (g->cgroup) {
		json_array_append_new(a, json_string(dm_policy_path(d, g->cgroup)));
		return a;
	}
	for (i = 0; i < d->ntags; i++)
		if (d->tags[i].tier == tier)
			json_array_append_new(a, json_string(dm_policy_path(d, d->tags[i].path)));
	return a;
}

/* A hostname's addresses today: those the kernel holds for it (the resolver's). */
static json_t *host_addresses(struct daemon *d, const char *host)
{
	json_t *known = tw_dns_known(d->dns), *a = json_object_get(known, host);

	a = json_is_array(a) ? json_incref(a) : json_array();
	json_decref(known);
	return a;
}

static json_t *op_show(struct daemon *d, json_t *req)
{
	struct grant *g;
	json_t *err, *o;

	g = grant_arg(d, req, &err);
	if (!g)
		return err;
	dm_grants_sync(d);
	o = dm_grant_json(d, g, true);
	json_object_set_new(o, "cgroups", reach_cgroups(d, g));
	if (g->host)
		json_object_set_new(o, "addresses", host_addresses(d, g->host));
	return json_pack("{s:b, s:o}", "ok", 1, "grant", o);
}

json_t *dm_grant_request(struct daemon *d, int fd, const struct ucred *peer, json_t *req)
{
	const char *op = json_string_value(json_object_get(req, "op"));

	if (!op)
		return dm_reply_err("request needs \"op\": request, show, approve, revoke or list");
	if (!strcmp(op, "list"))
		return op_list(d);
	if (!strcmp(op, "show"))
		return op_show(d, req);
	if (!strcmp(op, "revoke"))
		return op_revoke(d, fd, peer, req);
	if (!d->policy->grants.enabled)
		return dm_reply_err("the policy has no \"grants\" section: nothing is grantable");
	if (!strcmp(op, "request"))
		return op_request(d, peer, req);
	if (!strcmp(op, "approve"))
		return op_approve(d, fd, peer, req);
	return dm_reply_err("unknown grant op \"%s\" (request, show, approve, revoke, list)", op);
}
