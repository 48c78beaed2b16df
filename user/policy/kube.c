// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's "kubernetes" section: which pod label names a pod's tier
 * and which namespaces give their pods one by default.
 *
 *   "kubernetes": { "tier_label": "tierwall.io/tier",
 *                   "namespaces": { "payments": "prod" },
 *                   "label_overrides_namespace": false,
 *                   "pods_roots": ["/kubepods"] }
 *
 * Checked like the rest of the policy: every error located. Without the
 * section pods are tiered by the default label alone.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "section.h"

/* A DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 bytes (namespaces). */
static bool dns_label(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	return true;
}

/* A label name: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 bytes. */
static bool label_name(const char *s, size_t n)
{
	size_t i;

	if (!n || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

/* A label key: [DNS subdomain '/'] name, as Kubernetes validates it. */
static bool label_key(const char *s)
{
	const char *slash = strchr(s, '/'), *p, *dot;

	if (!slash)
		return label_name(s, strlen(s));
	if (slash == s || slash - s > 253)
		return false;
	for (p = s; p < slash; p = dot + 1) {
		dot = memchr(p, '.', slash - p);
		if (!dot)
			dot = slash;
		if (!dns_label(p, dot - p))
			return false;
		if (dot == slash)
			break;
	}
	return label_name(slash + 1, strlen(slash + 1));
}

static void parse_namespaces(struct pctx *c, json_t *v)
{
	struct tw_policy_kube *k = &c->p->kube;
	const char *name;
	json_t *t;

	if (!v || !want_type(c, "kubernetes.namespaces", v, JSON_OBJECT,
			     "an object of namespace: tier"))
		return;
	k->ns = calloc(json_object_size(v) + 1, sizeof(*k->ns));
	json_object_foreach(v, name, t) {
		char jp[TW_JPATH_MAX];
		int tier;

		snprintf(jp, sizeof(jp), "kubernetes.namespaces.%s", name);
		if (!dns_label(name, strlen(name))) {
			tw_diag(c->d, jp, "invalid namespace name \"%s\" (a DNS label: lowercase letters, "
				"digits and '-', at most 63)", name);
			continue;
		}
		if (!want_type(c, jp, t, JSON_STRING, "a tier name"))
			continue;
		tier = tw_policy_tier_id(c->p, json_string_value(t));
		if (!tier) {
			tw_diag(c->d, jp, "undefined tier \"%s\" (define it under \"tiers\")",
				json_string_value(t));
			continue;
		}
		k->ns[k->nns].name = strdup(name);
		k->ns[k->nns].tier = tier;
		snprintf(k->ns[k->nns].jpath, sizeof(k->ns[k->nns].jpath), "%s", jp);
		k->nns++;
	}
}

/* "pods_roots": cgroup paths below the daemon's root; [] turns pending off. */
static void parse_roots(struct pctx *c, json_t *arr)
{
	struct tw_policy_kube *k = &c->p->kube;
	size_t i;
	json_t *v;

	if (!arr || !want_type(c, "kubernetes.pods_roots", arr, JSON_ARRAY, "an array of cgroup paths"))
		return;
	k->roots_set = true;
	snprintf(k->roots_jpath, sizeof(k->roots_jpath), "kubernetes.pods_roots");
	k->roots = calloc(json_array_size(arr) + 1, sizeof(*k->roots));
	json_array_foreach(arr, i, v) {
		const char *why = "is invalid";
		char jp[TW_JPATH_MAX];
		char *norm = NULL;

		snprintf(jp, sizeof(jp), "kubernetes.pods_roots[%zu]", i);
		if (!want_type(c, jp, v, JSON_STRING, "a cgroup path"))
			continue;
		norm = tw_norm_cgroup(json_string_value(v), &why);
		if (norm && !strcmp(norm, "/")) {
			free(norm);
			norm = NULL;
			why = "may not be the daemon's cgroup root itself (every process would be pending)";
		}
		if (!norm) {
			tw_diag(c->d, jp, "cgroup path \"%s\" %s", json_string_value(v), why);
			continue;
		}
		k->roots[k->nroots++] = norm;
	}
}

void tw_parse_kubernetes(struct pctx *c, json_t *v)
{
	static const char *const keys[] = {
		"tier_label", "namespaces", "label_overrides_namespace", "pods_roots", NULL
	};
	struct tw_policy_kube *k = &c->p->kube;
	json_t *label, *over;

	snprintf(k->tier_label, sizeof(k->tier_label), "%s", TW_KUBE_TIER_LABEL);
	if (!v || !want_type(c, "kubernetes", v, JSON_OBJECT, "an object"))
		return;
	check_keys(c, "kubernetes", v, keys);
	label = json_object_get(v, "tier_label");
	if (label && want_type(c, "kubernetes.tier_label", label, JSON_STRING, "a label key")) {
		if (!label_key(json_string_value(label)) ||
		    strlen(json_string_value(label)) > TW_KUBE_LABEL_MAX)
			tw_diag(c->d, "kubernetes.tier_label", "invalid label key \"%s\" "
				"(an optional DNS subdomain and '/', then a name of at most 63 "
				"letters, digits, '-', '_' and '.')", json_string_value(label));
		else
			snprintf(k->tier_label, sizeof(k->tier_label), "%s", json_string_value(label));
	}
	over = json_object_get(v, "label_overrides_namespace");
	if (over && !json_is_boolean(over))
		want_type(c, "kubernetes.label_overrides_namespace", over, JSON_TRUE, "true or false");
	k->label_overrides = json_is_true(over);
	parse_namespaces(c, json_object_get(v, "namespaces"));
	parse_roots(c, json_object_get(v, "pods_roots"));
}

void tw_kube_free(struct tw_policy_kube *k)
{
	int i;

	for (i = 0; i < k->nns; i++)
		free(k->ns[i].name);
	free(k->ns);
	k->ns = NULL;
	k->nns = 0;
	for (i = 0; i < k->nroots; i++)
		free(k->roots[i]);
	free(k->roots);
	k->roots = NULL;
	k->nroots = 0;
}
