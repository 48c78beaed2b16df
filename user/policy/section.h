/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the policy's section parsers share (policy.c, dests.c, kube.c,
 * driftcfg.c call it; diag.c and tierref.c define it); not for other layers.
 */
#ifndef TW_POLICY_SECTION_H
#define TW_POLICY_SECTION_H

#include <jansson.h>
#include "policy.h"

struct pctx {
	struct tw_diags *d;
	struct tw_policy *p;
};

/* Report at jp unless v has type t (described as what). */
bool want_type(struct pctx *c, const char *jp, const json_t *v, json_type t, const char *what);
/* Report keys of obj not in allowed (NULL-terminated). */
void check_keys(struct pctx *c, const char *jp, json_t *obj, const char *const *allowed);

/* tierref.c: the tier a "tier" member of obj names, or 0 after reporting why not. */
int tw_ref_tier(struct pctx *c, const char *jp, json_t *obj);

/* dests.c: the "destinations" section, then CIDRs given twice. */
void tw_parse_destinations(struct pctx *c, json_t *arr);
void tw_check_rule_conflicts(struct pctx *c);

/* policy.c: a cgroup path normalised (malloc'd), or NULL with why. */
char *tw_norm_cgroup(const char *s, const char **why);

/* kube.c: the "kubernetes" section (v may be NULL: the defaults). */
void tw_parse_kubernetes(struct pctx *c, json_t *v);
void tw_kube_free(struct tw_policy_kube *k);

/* driftcfg.c: the "drift" section (v may be NULL: no roots). */
void tw_parse_drift(struct pctx *c, json_t *v);
void tw_drift_free(struct tw_policy_drift *dr);

#endif
