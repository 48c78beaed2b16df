// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall simulate: each record's question asked again of the draft. The
 * caller's tier under the draft is the nearest tag above its cgroup among
 * the draft's own cgroups, the daemon's runtime and pod tags (kept by a
 * reload when their tier still exists) and, for a record whose tag is
 * gone, the tag the record names when the policy did not set it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "chain.h"
#include "explainer.h"
#include "levels.h"
#include "log.h"
#include "policy.h"
#include "ruleref.h"
#include "simulate.h"
#include "util.h"

/* ---- the caller's tier under the draft ---- */

static bool below(const char *cg, const char *anc)
{
	size_t n = strlen(anc);

	if (!strcmp(anc, "/"))
		return true;
	return !strncmp(cg, anc, n) && (cg[n] == '/' || !cg[n]);
}

/* A candidate tag: keep it if it is nearer than the best so far (ties: the policy's). */
static void consider(const struct sim *s, const char *cg, const char *path, const char *tier,
		     const char **best, int *tid)
{
	int t = tier ? tw_policy_tier_id(s->p, tier) : 0;

	if (!t || !path || !below(cg, path))
		return;
	if (*best && strlen(path) <= strlen(*best))
		return;
	*best = path;
	*tid = t;
}

static bool live_policy_tag(const struct sim *s, const char *path)
{
	json_t *v;
	size_t i;

	json_array_foreach(s->live_tags, i, v)
		if (!strcmp(str(v, "source") ?: "", "policy") && !strcmp(str(v, "cgroup") ?: "", path))
			return true;
	return false;
}

static int draft_tier(const struct sim *s, json_t *rec)
{
	const char *cg = str(rec, "cgroup") ?: str(rec, "tagged_cgroup");
	const char *tagged = str(rec, "tagged_cgroup"), *best = NULL;
	json_t *v;
	size_t i;
	int tid = 0, n;

	if (!cg)
		return tw_policy_tier_id(s->p, str(rec, "tier") ?: "");
	/* The draft's own tags first: on one cgroup the policy's tag is the one kept. */
	for (n = 0; n < s->p->ncgroups; n++)
		consider(s, cg, s->tag_paths[n], s->p->tiers[s->p->cgroups[n].tier].name, &best, &tid);
	json_array_foreach(s->live_tags, i, v)
		if (strcmp(str(v, "source") ?: "", "policy"))
			consider(s, cg, str(v, "cgroup"), str(v, "tier"), &best, &tid);
	if (tagged && !live_policy_tag(s, tagged))
		consider(s, cg, tagged, str(rec, "tier"), &best, &tid);
	return tid;
}

/* The draft's tagged cgroups in the form records carry them (from the cgroup2 mount). */
int sim_tag_paths(struct sim *s)
{
	int i;

	s->tag_paths = calloc(s->p->ncgroups + 1, sizeof(*s->tag_paths));
	for (i = 0; s->tag_paths && i < s->p->ncgroups; i++)
		if (asprintf(&s->tag_paths[i], "%s%s", s->root_rel[0] ? s->root_rel : "",
			     strcmp(s->p->cgroups[i].path, "/") || !s->root_rel[0] ?
			     s->p->cgroups[i].path : "") < 0)
			return -ENOMEM;
	return s->tag_paths ? 0 : -ENOMEM;
}

/* ---- judging one record ---- */

/* The question a record asks; false if it is not a decision that can be asked again. */
static bool question(const struct sim *s, json_t *rec, struct tw_explain *x, char *target,
		     size_t len)
{
	const char *kind = str(rec, "kind") ?: "", *reason = str(rec, "reason");
	json_t *dst = json_object_get(rec, "dst");

	if (!strcmp(kind, "connect") || !strcmp(kind, "sendmsg")) {
		const char *ip = str(dst, "effective") ?: str(dst, "ip");

		if (!ip || inet_pton(strchr(ip, ':') ? AF_INET6 : AF_INET, ip, x->addr) != 1)
			return false;
		x->what = TW_EXPLAIN_NET;
		x->family = strchr(ip, ':') ? 6 : 4;
		x->port = json_integer_value(json_object_get(dst, "port"));
		snprintf(target, len, "%s:%d/%s", ip, x->port, str(dst, "proto") ?: "?");
	} else if (!strcmp(kind, "dns") && (!reason || !strcmp(reason, "name_of_other_tier")) &&
		   str(rec, "name")) {
		char name[TW_DNS_NAME_MAX];

		snprintf(name, sizeof(name), "%s", str(rec, "name"));
		if (name[0] && name[strlen(name) - 1] == '.')
			name[strlen(name) - 1] = '\0';
		x->what = TW_EXPLAIN_NAME;
		tw_name_key(name, &x->name);
		snprintf(target, len, "query %s", name);
	} else if (!strcmp(kind, "file") && str(rec, "path")) {
		x->what = TW_EXPLAIN_FILE;
		if (tw_explain_levels(str(rec, "path"), tw_chain_subvols(), x)) {
			unsigned int maj, min;

			/* Gone since: its identity as recorded, no parents to walk. */
			if (sscanf(str(rec, "dev") ?: "", "%u:%u", &maj, &min) != 2)
				return false;
			memset(x->levels, 0, sizeof(x->levels[0]));
			x->levels[0].key.dev = x->levels[0].sbdev = maj << 20 | min;
			x->levels[0].key.ino = json_integer_value(json_object_get(rec, "ino"));
			x->levels[0].flags = TW_XL_START | TW_XL_ROOT;
			x->nlevels = 1;
			x->more_parents = x->more_mounts = 0;
		}
		snprintf(target, len, "%s %s", str(rec, "op") ?: "open", str(rec, "path"));
	} else if (!strcmp(kind, "dns") || !strcmp(kind, "socket")) {
		/* Refused whatever the target (a malformed query, a socket the hooks cannot judge). */
		x->what = TW_EXPLAIN_REFUSAL;
		snprintf(target, len, "%s %s", kind, reason ?: str(rec, "family") ?: "");
	} else {
		return false;
	}
	return true;
}

static void record_change(struct sim *s, json_t *rec, const struct tw_explain *x,
			  const char *target, const char *old, uint64_t n)
{
	const char *now = tw_explain_verdict(x->verdict), *tier = str(rec, "tier") ?: "-";
	char key[1024];
	json_t *g;

	snprintf(key, sizeof(key), "%s>%s|%s|%s|%s", old, now, str(rec, "kind"), tier, target);
	g = json_object_get(s->groups, key);
	if (!g) {
		g = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s?, s:I}", "was", old, "now", now,
			      "kind", str(rec, "kind"), "tier", tier, "target", target,
			      "was_rule", str(rec, "rule"), "count", (json_int_t)0);
		json_object_set_new(g, "now_tier", x->out_tier && x->out_tier <= (uint32_t)s->p->ntiers ?
				    json_string(s->p->tiers[x->out_tier].name) : json_null());
		tw_explain_fields(s->p, x, g);
		json_object_del(g, "verdict");		/* "now" says it */
		json_object_set_new(s->groups, key, g);
	}
	json_object_set_new(g, "count", json_integer(json_integer_value(json_object_get(g, "count")) + n));
	if (!strcmp(now, "deny"))
		s->newly_denied += n;
	else if (!strcmp(now, "allow"))
		s->newly_allowed += n;
	else
		s->changed += n;
}

int sim_judge(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct sim *s = arg;
	json_t *rec;

	if (!line) {
		tw_err("cannot read %s: %s", pos->file, strerror(-(int)len));
		return 0;
	}
	rec = json_loadb(line, len, 0, NULL);
	struct tw_explain x = { .tier_given = 1 };
	const char *old = str(rec, "verdict");
	uint64_t ts = 0, n;
	char target[512];

	if (!rec || !old || tw_parse_time(str(rec, "ts") ?: "", &ts) || ts < s->since_ns ||
	    !question(s, rec, &x, target, sizeof(target)))
		goto out;
	n = json_integer_value(json_object_get(rec, "count")) ?: 1;
	x.tier = draft_tier(s, rec);
	if (tw_explainer_run(s->x, &x))
		goto out;
	s->decisions += n;
	if (!strcmp(old, "allow") && str(rec, "tier"))
		json_object_set_new(s->allow_tiers, str(rec, "tier"), json_true());
	if (!s->first_ns)
		s->first_ns = ts;
	s->last_ns = ts;
	if (!strcmp(tw_explain_verdict(x.verdict), old))
		s->unchanged += n;
	else
		record_change(s, rec, &x, target, old, n);
out:
	json_decref(rec);
	return 0;
}
