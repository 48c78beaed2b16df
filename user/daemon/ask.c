// SPDX-License-Identifier: GPL-2.0
/*
 * The operator's questions: `explain` (what would the kernel decide for this
 * process or cgroup and this address, name or file, and by which rule) and
 * `which` (what tier is it in, from which tag, asked for by whom). The
 * verdict comes from the explain BPF program on the live maps, through the
 * hooks' own decision code; this file only gathers the identities the
 * kernel judges by and names what the answer points at.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "ask.h"
#include "pendtier.h"
#include "cgroup.h"
#include "reply.h"
#include "explainer.h"
#include "chain.h"
#include "ident.h"
#include "levels.h"
#include "ruleref.h"
#include "tags.h"

struct caller {
	char abs[PATH_MAX];
	int pid;			/* 0: asked by cgroup */
	bool outside;			/* not below the daemon's root: no hook runs for it */
	struct tw_explain q;		/* ancestors filled */
};

/* A cgroup as the policy and `tag` name it: relative to the daemon's root. */
static const char *root_path(const struct daemon *d, const char *abs)
{
	size_t n = strlen(d->root);

	return !strncmp(abs, d->root, n) && abs[n] == '/' ? abs + n : "/";
}

/* The caller a request names ("pid" or "cgroup"), its ancestors read from the cgroup tree. */
static json_t *find_caller(struct daemon *d, json_t *req, struct caller *c)
{
	json_t *pid = json_object_get(req, "pid");
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	size_t n = strlen(d->root);
	int err;

	memset(c, 0, sizeof(*c));
	if (json_is_integer(pid)) {
		c->pid = json_integer_value(pid);
		if (c->pid <= 0 || dm_cgroup_of_pid(d, c->pid, c->abs, sizeof(c->abs)))
			return dm_reply_err("no process %d (or its cgroup cannot be read)", c->pid);
	} else if (cg) {
		err = tw_cgroup_resolve(d->root, cg, c->abs, sizeof(c->abs));
		if (err)
			return dm_reply_err("cgroup \"%s\" under %s: %s", cg, d->root,
				       err == -EXDEV ? "outside the daemon's cgroup root" : strerror(-err));
	} else {
		return dm_reply_err("request needs \"pid\" or \"cgroup\"");
	}
	c->outside = strncmp(c->abs, d->root, n) || (c->abs[n] && c->abs[n] != '/');
	err = tw_cgroup_ancestors(d->mount, c->abs, c->q.ancestors);
	if (err < 0)
		return dm_reply_err("cannot read the cgroups of %s: %s", c->abs, strerror(-err));
	return NULL;
}

/* Ask the kernel's decision code; NULL or the error reply. */
static json_t *run(struct daemon *d, const struct caller *c, struct tw_explain *x)
{
	const char *why;
	struct tw_explainer *e = tw_bpf_explainer(d->bpf, &why);
	int err;

	memcpy(x->ancestors, c->q.ancestors, sizeof(x->ancestors));
	if (!e)
		return dm_reply_err("explain is not available: %s", why);
	err = tw_explainer_run(e, x);
	return err ? dm_reply_err("the explain program failed: %s", strerror(-err)) : NULL;
}

/* Who the caller is and where its tier comes from. */
static json_t *caller_json(struct daemon *d, const struct caller *c, const struct tw_explain *x)
{
	json_t *o = json_pack("{s:b, s:s, s:s?}", "ok", 1, "cgroup", root_path(d, c->abs),
			      "tier", c->outside ? NULL : dm_tier_name(d, x->out_tier));
	int i = x->tagged ? dm_find_tag(d, x->tagged) : -1;

	json_object_set_new(o, "pid", c->pid ? json_integer(c->pid) : json_null());
	json_object_set_new(o, "tagged_cgroup", i >= 0 ? json_string(root_path(d, d->tags[i].path)) :
				json_null());
	if (i >= 0)
		json_object_set_new(o, "tag", dm_tag_json(d, &d->tags[i]));
	if (!c->outside && x->out_tier == TW_TIER_PENDING)
		json_object_set_new(o, "pending", json_true());	/* refused every tier's */
	if (c->outside)
		json_object_set_new(o, "outside_root", json_string(d->root));
	return o;
}

static int parse_addr(const char *s, struct tw_explain *x)
{
	if (inet_pton(AF_INET, s, x->addr) == 1) {
		x->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, x->addr) == 1) {
		x->family = 6;
		return 0;
	}
	return -EINVAL;
}

/* One address at a port: its decision, fields merged into o. */
static json_t *ask_addr(struct daemon *d, const struct caller *c, const char *ip, int port,
			json_t *o)
{
	struct tw_explain x = { .what = TW_EXPLAIN_NET, .port = port };
	char judged[INET6_ADDRSTRLEN];
	json_t *err;

	if (parse_addr(ip, &x))
		return dm_reply_err("\"%s\" is not an IPv4 or IPv6 address", ip);
	err = run(d, c, &x);
	if (err)
		return err;
	tw_explain_fields(d->policy, &x, o);
	json_object_set_new(o, "ip", json_string(ip));
	if (json_object_get(o, "hostname")) {
		/* The rule is a name: every address it stands for now. */
		json_t *known = tw_dns_known(d->dns);

		json_object_set(o, "hostname_addresses",
				json_object_get(known, json_string_value(json_object_get(o, "hostname"))));
		json_decref(known);
	}
	if (x.judged_family && (memcmp(x.judged, x.addr, 16) || x.judged_family != x.family)) {
		/* 0.0.0.0 or ::: judged as where an unbound socket sends it. */
		inet_ntop(x.judged_family == 4 ? AF_INET : AF_INET6, x.judged, judged, sizeof(judged));
		json_object_set_new(o, "judged", json_string(judged));
	}
	return NULL;
}

static int rank(const char *verdict)
{
	return !strcmp(verdict, "deny") ? 2 : !strcmp(verdict, "audit") ? 1 : 0;
}

/* The verdict of o's decision, the worst one so far kept in top. */
static void keep_worst(json_t *top, json_t *o)
{
	const char *v = json_string_value(json_object_get(o, "verdict"));
	const char *t = json_string_value(json_object_get(top, "verdict"));

	if (v && (!t || rank(v) > rank(t)))
		json_object_update(top, o);
}

/*
 * A name: the DNS guard's decision on a query for it, then the connect
 * decision on every address it has now (the daemon's own answers for a
 * policy name, and what the CLI resolved).
 */
static json_t *ask_host(struct daemon *d, const struct caller *c, json_t *tgt, json_t *o)
{
	const char *host = json_string_value(json_object_get(tgt, "host"));
	int port = json_integer_value(json_object_get(tgt, "port"));
	json_t *addrs = json_array(), *dns = json_object(), *all, *known, *v, *err;
	struct tw_explain x = { .what = TW_EXPLAIN_NAME };
	char name[TW_HOSTNAME_MAX + 3], why[256];
	bool wild;
	size_t i;

	if (!host || !tw_hostname_parse(host, name, &wild, why, sizeof(why)) || wild)
		return dm_reply_err("\"%s\" is not a hostname%s%s", host ?: "", host ? ": " : "", host ? why : "");
	json_object_set_new(o, "addresses", addrs);
	json_object_set_new(o, "dns", dns);
	tw_name_key(name, &x.name);
	err = run(d, c, &x);
	if (err)
		return err;
	tw_explain_fields(d->policy, &x, dns);
	keep_worst(o, dns);
	/* What the daemon knows for a policy name, and what the caller's resolver said. */
	all = json_array();
	known = tw_dns_known(d->dns);
	if (json_is_array(json_object_get(known, name)))
		json_array_extend(all, json_object_get(known, name));
	json_decref(known);
	if (json_is_array(json_object_get(tgt, "addresses")))
		json_array_extend(all, json_object_get(tgt, "addresses"));
	json_array_foreach(all, i, v) {
		json_t *a = json_object(), *a2;
		size_t j;

		json_array_foreach(addrs, j, a2)
			if (json_equal(json_object_get(a2, "ip"), v))
				break;
		if (j < json_array_size(addrs) || !json_is_string(v)) {
			json_decref(a);
			continue;
		}
		err = ask_addr(d, c, json_string_value(v), port, a);
		if (err) {
			json_decref(a);
			json_decref(all);
			return err;
		}
		json_array_append_new(addrs, a);
		/* A refused query is refused before any address is reached. */
		if (!x.owner || x.verdict == TW_VERDICT_ALLOW)
			keep_worst(o, a);
	}
	json_decref(all);
	json_object_set_new(o, "hostname", json_string(name));
	return NULL;
}

/*
 * A file: the levels the hooks' walk meets for it, as the caller's CLI read
 * them where the caller sees the path (tw_levels_json), judged as the LSM
 * programs judge them. The daemon never looks the path up: a path on a
 * mount that never answers (FUSE) would stall it, and with it the log.
 */
static json_t *ask_file(struct daemon *d, const struct caller *c, json_t *tgt, json_t *o)
{
	struct tw_explain x = { .what = TW_EXPLAIN_FILE };
	json_t *err;
	char why[256];

	if (!d->secrets)
		json_object_set_new(o, "note", json_string(d->network_only ?
			"secret files are not enforced (--network-only)" :
			"the policy protects no secret files"));
	if (tw_levels_parse(tgt, d->secrets ? tw_secrets_subvols(d->secrets) : tw_chain_subvols(),
			    &x, why, sizeof(why)))
		return dm_reply_err("%s", why);
	if (json_is_string(json_object_get(tgt, "path")))
		json_object_set(o, "path", json_object_get(tgt, "path"));
	err = run(d, c, &x);
	if (!err)
		tw_explain_fields(d->policy, &x, o);
	return err;
}

static json_t *cmd_explain(struct daemon *d, json_t *req)
{
	json_t *tgt = json_object_get(req, "target"), *o, *err;
	struct tw_explain x = { .what = TW_EXPLAIN_TIER };
	struct caller c;

	err = find_caller(d, req, &c);
	if (err)
		return err;
	err = run(d, &c, &x);
	if (err)
		return err;
	o = caller_json(d, &c, &x);
	if (json_object_get(tgt, "ip"))
		err = ask_addr(d, &c, json_string_value(json_object_get(tgt, "ip")) ?: "",
			       json_integer_value(json_object_get(tgt, "port")), o);
	else if (json_object_get(tgt, "host"))
		err = ask_host(d, &c, tgt, o);
	else if (json_object_get(tgt, "levels") || json_object_get(tgt, "path"))
		err = ask_file(d, &c, tgt, o);
	else
		err = dm_reply_err("request needs a \"target\" with \"ip\", \"host\" or \"levels\"");
	if (err) {
		json_decref(o);
		return err;
	}
	if (c.outside) {
		/* No program runs for a process outside the root, whatever the maps say. */
		json_object_set_new(o, "verdict", json_string("allow"));
		json_object_set_new(o, "recorded", json_false());
	}
	json_object_set(o, "target", tgt);
	return o;
}

/* Its tier, the tag that gives it, who asked for that tag; the tier as the kernel finds it. */
static json_t *cmd_which(struct daemon *d, json_t *req)
{
	struct tw_explain x = { .what = TW_EXPLAIN_TIER };
	json_t *o, *err, *tag;
	struct caller c;
	int i;

	err = find_caller(d, req, &c);
	if (!err)
		err = run(d, &c, &x);
	if (err)
		return err;
	o = caller_json(d, &c, &x);
	tag = json_object_get(o, "tag");
	i = dm_effective_tag(d, c.abs);
	/* The tag list and the kernel's map agree; a difference is worth seeing. */
	if (i >= 0 && d->tags[i].id != x.tagged)
		json_object_set_new(o, "warning", json_string("the daemon's tags and the kernel's map disagree"));
	if (tag) {
		json_object_set(o, "source", json_object_get(tag, "source"));
		json_object_set(o, "since", json_object_get(tag, "since"));
		json_object_set(o, "rule", json_object_get(tag, "rule"));
		json_object_set(o, "requested_by_uid", json_object_get(tag, "uid"));
		json_object_set(o, "requested_by_pid", json_object_get(tag, "pid"));
		json_object_set(o, "meta", json_object_get(tag, "meta"));
	}
	return o;
}

json_t *dm_ask_request(struct daemon *d, const char *cmd, json_t *req)
{
	if (!strcmp(cmd, "explain"))
		return cmd_explain(d, req);
	if (!strcmp(cmd, "which"))
		return cmd_which(d, req);
	return NULL;
}
