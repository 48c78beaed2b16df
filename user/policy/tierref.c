// SPDX-License-Identifier: GPL-2.0
/*
 * Tiers by name: the lookup every layer uses, and the "tier" member the
 * section parsers check. Below policy.c, dests.c and kube.c, which call it.
 */
#include <stdio.h>
#include <string.h>
#include <jansson.h>
#include "policy.h"
#include "section.h"

/* The tier a "tier" member names, or 0 after reporting why not. */
int tw_ref_tier(struct pctx *c, const char *jp, json_t *obj)
{
	char tp[TW_JPATH_MAX];
	json_t *v = json_object_get(obj, "tier");
	int id;

	snprintf(tp, sizeof(tp), "%s.tier", jp);
	if (!v) {
		tw_diag(c->d, jp, "missing required key \"tier\"");
		return 0;
	}
	if (!want_type(c, tp, v, JSON_STRING, "a tier name"))
		return 0;
	id = tw_policy_tier_id(c->p, json_string_value(v));
	if (!id)
		tw_diag(c->d, tp, "undefined tier \"%s\" (define it under \"tiers\")",
			json_string_value(v));
	return id;
}

int tw_policy_tier_id(const struct tw_policy *p, const char *name)
{
	int i;

	for (i = 1; i <= p->ntiers; i++)
		if (!strcmp(p->tiers[i].name, name))
			return i;
	return 0;
}
