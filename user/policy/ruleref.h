/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The policy entry an explain answer (struct tw_explain) names, as JSON
 * fields: "rule" (its JSON path) and "cidr", "hostname" or "secret", plus
 * "verdict", "target_tier" and "recorded". For the daemon's explain and the
 * CLI's simulate alike.
 */
#ifndef TW_RULEREF_H
#define TW_RULEREF_H

#include <jansson.h>
#include "policy.h"

void tw_explain_fields(const struct tw_policy *p, const struct tw_explain *x, json_t *o);
const char *tw_explain_verdict(int verdict);

#endif
