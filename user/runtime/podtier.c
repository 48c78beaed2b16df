// SPDX-License-Identifier: GPL-2.0
/*
 * Pod -> tier. A missing tier is never guessed: a label naming a tier the
 * policy lacks is an error for that pod (it does not start), not a silent
 * "untiered"; only a pod with no label in an unmapped namespace is untiered.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "podtier.h"

static void tier_list(const struct tw_policy *p, char *out, size_t len)
{
	size_t n = 0;
	int i;

	out[0] = '\0';
	for (i = 1; i <= p->ntiers && n < len; i++)
		n += snprintf(out + n, len - n, "%s%s", i > 1 ? ", " : "", p->tiers[i].name);
}

static const struct tw_policy_kube_ns *find_ns(const struct tw_policy *p, const char *ns)
{
	int i;

	for (i = 0; ns && i < p->kube.nns; i++)
		if (!strcmp(p->kube.ns[i].name, ns))
			return &p->kube.ns[i];
	return NULL;
}

int tw_pod_tier(const struct tw_policy *p, const char *ns, json_t *labels, char *why, size_t len)
{
	const char *key = p->kube.tier_label;
	json_t *lv = json_object_get(labels, key);
	const struct tw_policy_kube_ns *m = find_ns(p, ns);
	const char *val = json_string_value(lv);
	char tiers[256];
	int t;

	if (!lv)
		return m ? m->tier : 0;
	tier_list(p, tiers, sizeof(tiers));
	t = val ? tw_policy_tier_id(p, val) : 0;
	if (!t) {
		snprintf(why, len, "pod label %s=\"%s\" names a tier the policy does not define "
			 "(its tiers: %s)", key, val ? val : "", tiers);
		return -EINVAL;
	}
	if (m && m->tier != t && !p->kube.label_overrides) {
		snprintf(why, len, "pod label %s=%s contradicts namespace %s's tier %s (policy %s); "
			 "set kubernetes.label_overrides_namespace to let labels override",
			 key, val, ns, p->tiers[m->tier].name, m->jpath);
		return -EINVAL;
	}
	return t;
}
