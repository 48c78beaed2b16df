// SPDX-License-Identifier: GPL-2.0
/* The policy entry an explain answer names (see ruleref.h). */
#include <arpa/inet.h>
#include <sys/socket.h>
#include "ruleref.h"

const char *tw_explain_verdict(int verdict)
{
	return verdict == TW_VERDICT_DENY ? "deny" : verdict == TW_VERDICT_AUDIT ? "audit" : "allow";
}

static const char *tier_name(const struct tw_policy *p, uint32_t t)
{
	return t >= 1 && t <= (uint32_t)p->ntiers ? p->tiers[t].name : NULL;
}

static void net_fields(const struct tw_policy *p, const struct tw_explain *x, json_t *o)
{
	char cidr[64];

	if (x->host >= 1 && x->host <= (uint32_t)p->nhosts) {
		/* The address is one a policy hostname resolved to. */
		json_object_set_new(o, "rule", json_string(p->hosts[x->host - 1].jpath));
		json_object_set_new(o, "hostname", json_string(p->hosts[x->host - 1].name));
	} else if (x->rule < (uint32_t)p->nrules) {
		tw_cidr_format(&p->rules[x->rule].cidr, cidr, sizeof(cidr));
		json_object_set_new(o, "rule", json_string(p->rules[x->rule].jpath));
		json_object_set_new(o, "cidr", json_string(cidr));
	}
}

void tw_explain_fields(const struct tw_policy *p, const struct tw_explain *x, json_t *o)
{
	json_object_set_new(o, "verdict", json_string(tw_explain_verdict(x->verdict)));
	json_object_set_new(o, "target_tier", json_string(x->owner ? tier_name(p, x->target_tier) : NULL));
	json_object_set_new(o, "recorded", json_boolean(x->recorded));
	json_object_set_new(o, "rule", json_null());
	if (!x->owner)
		return;
	if (x->what == TW_EXPLAIN_NET) {
		net_fields(p, x, o);
	} else if (x->what == TW_EXPLAIN_NAME && x->rule >= 1 && x->rule <= (uint32_t)p->nhosts) {
		json_object_set_new(o, "rule", json_string(p->hosts[x->rule - 1].jpath));
		json_object_set_new(o, "hostname", json_string(p->hosts[x->rule - 1].name));
	} else if (x->what == TW_EXPLAIN_FILE && x->too_deep) {
		json_object_set_new(o, "reason", json_string(
			"path deeper than the kernel walks on a filesystem with protected directories"));
	} else if (x->what == TW_EXPLAIN_FILE && x->rule < (uint32_t)p->nsecrets) {
		json_object_set_new(o, "rule", json_string(p->secrets[x->rule].jpath));
		json_object_set_new(o, "secret", json_string(p->secrets[x->rule].path));
	}
}
