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

/* Why a file is refused other than by its rule, as the hooks' records say it. */
static const char *file_reason(int state)
{
	static const char *const why[] = {
		[TW_XF_STALE] = "a name on the rule's path changed: it would be re-resolved, refused until then",
		[TW_XF_DEEP] = "path deeper than the kernel walks on a filesystem with protected directories",
		[TW_XF_UNPLACED] = "an unplaced mount: below more mounts than the kernel looks through, or mounted where it could not be placed",
		[TW_XF_UNSEEN] = "a mount of a directory below its filesystem's root: the kernel walks parents explain cannot see, refused rather than guessed",
	};

	return state > 0 && state < (int)(sizeof(why) / sizeof(why[0])) ? why[state] : NULL;
}

void tw_explain_fields(const struct tw_policy *p, const struct tw_explain *x, json_t *o)
{
	json_object_set_new(o, "verdict", json_string(tw_explain_verdict(x->verdict)));
	json_object_set_new(o, "target_tier", json_string(x->owner ? tier_name(p, x->target_tier) : NULL));
	json_object_set_new(o, "recorded", json_boolean(x->recorded));
	json_object_set_new(o, "rule", json_null());
	if (x->grant)
		json_object_set_new(o, "grant", json_integer(x->grant));	/* a rule refuses, a grant allows */
	if (!x->owner)
		return;
	if (x->what == TW_EXPLAIN_NET) {
		net_fields(p, x, o);
	} else if (x->what == TW_EXPLAIN_NAME && x->rule >= 1 && x->rule <= (uint32_t)p->nhosts) {
		json_object_set_new(o, "rule", json_string(p->hosts[x->rule - 1].jpath));
		json_object_set_new(o, "hostname", json_string(p->hosts[x->rule - 1].name));
	} else if (x->what == TW_EXPLAIN_FILE) {
		if (file_reason(x->file_state))
			json_object_set_new(o, "reason", json_string(file_reason(x->file_state)));
		if (x->rule < (uint32_t)p->nsecrets) {
			json_object_set_new(o, "rule", json_string(p->secrets[x->rule].jpath));
			json_object_set_new(o, "secret", json_string(p->secrets[x->rule].path));
		}
	}
}
