/* SPDX-License-Identifier: GPL-2.0 */
/* A pod's tier from its labels and namespace, as the policy's "kubernetes" section says. */
#ifndef TW_PODTIER_H
#define TW_PODTIER_H

#include <stddef.h>
#include <jansson.h>
#include "policy.h"

/*
 * The tier id of a pod in namespace ns with these labels: > 0 a tier,
 * 0 untiered (no label, namespace not mapped), -EINVAL with why when the
 * pod must not run (a tier the policy does not define, a label that
 * contradicts its namespace's tier without the policy's leave).
 */
int tw_pod_tier(const struct tw_policy *p, const char *ns, json_t *labels, char *why, size_t len);

#endif
