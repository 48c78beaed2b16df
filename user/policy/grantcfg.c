// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's "grants" section: whether time-boxed exceptions may be
 * requested at all, for how long, and who approves them.
 *
 *   "grants": { "max": "4h", "approvers": { "groups": ["tierwall-approvers"] },
 *               "pending_for": "1h", "self_approval": false,
 *               "max_prefix": { "ipv4": 24, "ipv6": 64 } }
 *
 * Without the section nothing is grantable. Durations are written as
 * everywhere else (90s, 15m, 4h); zero is refused.
 */
#include <stdlib.h>
#include <string.h>
#include "section.h"
#include "util.h"

/* A positive duration at jp into *secs; dflt when absent. */
static void parse_dur(struct pctx *c, const char *jp, json_t *v, long dflt, long *secs)
{
	*secs = dflt;
	if (!v)
		return;
	if (!want_type(c, jp, v, JSON_STRING, "a duration like \"90s\", \"15m\" or \"4h\""))
		return;
	if (tw_parse_duration(json_string_value(v), secs) || *secs <= 0)
		tw_diag(c->d, jp, "\"%s\" is not a positive duration (like \"90s\", \"15m\", \"4h\")",
			json_string_value(v));
}

static void parse_groups(struct pctx *c, json_t *ap)
{
	static const char *const keys[] = { "groups", NULL };
	struct tw_policy_grants *g = &c->p->grants;
	json_t *arr, *v;
	size_t i;

	if (!ap) {
		tw_diag(c->d, "grants", "missing required key \"approvers\"");
		return;
	}
	if (!want_type(c, "grants.approvers", ap, JSON_OBJECT, "an object with \"groups\""))
		return;
	check_keys(c, "grants.approvers", ap, keys);
	arr = json_object_get(ap, "groups");
	if (!arr) {
		tw_diag(c->d, "grants.approvers", "missing required key \"groups\"");
		return;
	}
	if (!want_type(c, "grants.approvers.groups", arr, JSON_ARRAY, "an array of group names"))
		return;
	if (!json_array_size(arr) || json_array_size(arr) > TW_GRANT_MAX_GROUPS) {
		tw_diag(c->d, "grants.approvers.groups", "%zu groups: list 1 to %d approver groups",
			json_array_size(arr), TW_GRANT_MAX_GROUPS);
		return;
	}
	json_array_foreach(arr, i, v) {
		char jp[TW_JPATH_MAX];

		snprintf(jp, sizeof(jp), "grants.approvers.groups[%zu]", i);
		if (!want_type(c, jp, v, JSON_STRING, "a group name"))
			continue;
		if (!json_string_length(v) || json_string_length(v) >= TW_GRANT_GROUP_MAX) {
			tw_diag(c->d, jp, "a group name is 1 to %d bytes", TW_GRANT_GROUP_MAX - 1);
			continue;
		}
		snprintf(g->groups[g->ngroups++], TW_GRANT_GROUP_MAX, "%s", json_string_value(v));
	}
}

static void parse_prefix(struct pctx *c, json_t *v)
{
	static const char *const keys[] = { "ipv4", "ipv6", NULL };
	struct tw_policy_grants *g = &c->p->grants;
	json_t *x;

	if (!v || !want_type(c, "grants.max_prefix", v, JSON_OBJECT, "an object"))
		return;
	check_keys(c, "grants.max_prefix", v, keys);
	x = json_object_get(v, "ipv4");
	if (x && (!json_is_integer(x) || json_integer_value(x) < 8 || json_integer_value(x) > 32))
		tw_diag(c->d, "grants.max_prefix.ipv4", "a prefix length from 8 to 32");
	else if (x)
		g->max_prefix4 = json_integer_value(x);
	x = json_object_get(v, "ipv6");
	if (x && (!json_is_integer(x) || json_integer_value(x) < 16 || json_integer_value(x) > 128))
		tw_diag(c->d, "grants.max_prefix.ipv6", "a prefix length from 16 to 128");
	else if (x)
		g->max_prefix6 = json_integer_value(x);
}

void tw_parse_grants(struct pctx *c, json_t *v)
{
	static const char *const keys[] = { "max", "approvers", "pending_for", "self_approval",
					    "max_prefix", NULL };
	struct tw_policy_grants *g = &c->p->grants;
	json_t *self;

	memset(g, 0, sizeof(*g));
	g->max_prefix4 = 24;
	g->max_prefix6 = 64;
	if (!v || !want_type(c, "grants", v, JSON_OBJECT, "an object"))
		return;
	g->enabled = true;
	check_keys(c, "grants", v, keys);
	if (!json_object_get(v, "max"))
		tw_diag(c->d, "grants", "missing required key \"max\" (the longest a grant may last, like \"4h\")");
	parse_dur(c, "grants.max", json_object_get(v, "max"), 0, &g->max_s);
	parse_dur(c, "grants.pending_for", json_object_get(v, "pending_for"), 3600, &g->pending_s);
	self = json_object_get(v, "self_approval");
	if (self && !json_is_boolean(self))
		tw_diag(c->d, "grants.self_approval", "expected true or false");
	g->self_approval = json_is_true(self);
	parse_groups(c, json_object_get(v, "approvers"));
	parse_prefix(c, json_object_get(v, "max_prefix"));
}
