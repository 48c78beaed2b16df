// SPDX-License-Identifier: GPL-2.0
/*
 * `tierwall check` warnings: policies that load and enforce but probably do
 * not mean what their author thinks. Carve-outs are found through the
 * compiled tables: each rule's parent is the most specific rule containing
 * it, so a parent of another tier is a hole cut in that tier's range.
 */
#include <string.h>
#include "lint.h"

static void whole_ranges(const struct tw_policy *p, struct tw_diags *w)
{
	static const struct tw_cidr lo = { .family = 4, .len = 8, .addr = { 127 } };
	char txt[64];
	int i;

	for (i = 0; i < p->nrules; i++) {
		const struct tw_policy_rule *r = &p->rules[i];

		tw_cidr_format(&r->cidr, txt, sizeof(txt));
		if (!r->cidr.len)
			tw_diag(w, r->jpath, "tier \"%s\" owns every %s address (%s): every other tier is "
				"refused everything not carved out for it", p->tiers[r->tier].name,
				r->cidr.family == 4 ? "IPv4" : "IPv6", txt);
		else if (tw_cidr_contains(&r->cidr, &lo))
			tw_diag(w, r->jpath, "tier \"%s\" owns all of 127.0.0.0/8 (%s): other tiers lose "
				"loopback (local resolvers, sidecars, their own listeners)",
				p->tiers[r->tier].name, txt);
	}
}

static void root_tags(const struct tw_policy *p, struct tw_diags *w)
{
	int i;

	for (i = 0; i < p->ncgroups; i++)
		if (!strcmp(p->cgroups[i].path, "/"))
			tw_diag(w, p->cgroups[i].jpath, "tags the daemon's cgroup root: every process "
				"below it, system services included, gets tier \"%s\"",
				p->tiers[p->cgroups[i].tier].name);
}

static void carve_outs(const struct tw_policy *p, const struct tw_tables *t, struct tw_diags *w)
{
	char in[64], out[64];
	int i;

	for (i = 0; i < p->nrules; i++) {
		const struct tw_policy_rule *r = &p->rules[i], *o;
		uint32_t ref = t->rules[i].parent;

		/* The nearest containing rule of another tier with a shorter prefix. */
		for (o = NULL; ref; ref = t->rules[ref - 1].parent) {
			o = &p->rules[ref - 1];
			if (o->tier != r->tier && o->cidr.len < r->cidr.len)
				break;
			o = NULL;
		}
		if (!o)
			continue;
		tw_cidr_format(&r->cidr, in, sizeof(in));
		tw_cidr_format(&o->cidr, out, sizeof(out));
		tw_diag(w, r->jpath, "%s of tier \"%s\" is carved out of %s of tier \"%s\" (%s): "
			"intended? the more specific rule wins", in, p->tiers[r->tier].name, out,
			p->tiers[o->tier].name, o->jpath);
	}
}

void tw_policy_lint(const struct tw_policy *p, const struct tw_tables *t, struct tw_diags *w)
{
	whole_ranges(p, w);
	root_tags(p, w);
	carve_outs(p, t, w);
}
