/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_LINT_H
#define TW_LINT_H

#include "compile.h"
#include "policy.h"

/*
 * Risky but valid: a tier owning every address or all of loopback, a tag
 * on the cgroup root, one tier's CIDR carved out of another's. Each is a
 * warning in w (file:line:col: json.path: message; w->text set by the caller).
 */
void tw_policy_lint(const struct tw_policy *p, const struct tw_tables *t, struct tw_diags *w);

#endif
