// SPDX-License-Identifier: GPL-2.0
/*
 * The policy's "drift" section: directory trees the daemon watches for
 * copies of the tiers' secrets.
 *
 *   "drift": { "roots": ["/tmp/", "/home/agent/"], "mode": "enforce" }
 *
 * A root is a normalised absolute directory path (the trailing / optional);
 * "/" itself is refused (every file the node writes). mode defaults to the
 * policy's: "enforce" makes a whole-file copy a secret of its owning tier,
 * "audit" only records it. Checked like the rest, every error located.
 */
#include <stdlib.h>
#include <string.h>
#include "section.h"

/* Absolute, no '.', '..' or '//' components; the trailing slash is dropped. */
static char *norm_root(const char *s)
{
	size_t n = strlen(s);
	const char *p;
	char *out;

	if (*s != '/' || n < 2 || strstr(s, "//"))
		return NULL;
	for (p = s; (p = strstr(p, "/.")); p++)
		if (p[2] == '/' || p[2] == '\0' || (p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
			return NULL;
	out = strdup(s);
	if (out && out[n - 1] == '/')
		out[n - 1] = '\0';
	return out;
}

static void parse_roots(struct pctx *c, json_t *arr)
{
	struct tw_policy_drift *dr = &c->p->drift;
	size_t i;
	json_t *v;
	int k;

	if (!arr) {
		tw_diag(c->d, "drift", "missing required key \"roots\"");
		return;
	}
	if (!want_type(c, "drift.roots", arr, JSON_ARRAY, "an array of directory paths"))
		return;
	if (!json_array_size(arr))
		tw_diag(c->d, "drift.roots", "empty list of roots");
	if (json_array_size(arr) > TW_DRIFT_MAX_ROOTS) {
		tw_diag(c->d, "drift.roots", "%zu roots, at most %d", json_array_size(arr),
			TW_DRIFT_MAX_ROOTS);
		return;
	}
	dr->roots = calloc(json_array_size(arr) + 1, sizeof(*dr->roots));
	json_array_foreach(arr, i, v) {
		char jp[TW_JPATH_MAX];
		char *root;

		snprintf(jp, sizeof(jp), "drift.roots[%zu]", i);
		if (!want_type(c, jp, v, JSON_STRING, "an absolute directory path"))
			continue;
		if (!strcmp(json_string_value(v), "/")) {
			tw_diag(c->d, jp, "\"/\" would read every file the node writes; name the directories "
				"agents write to (/tmp/, a workspace)");
			continue;
		}
		root = norm_root(json_string_value(v));
		if (!root) {
			tw_diag(c->d, jp, "\"%s\" is not a normalised absolute path (no '.', '..' or '//')",
				json_string_value(v));
			continue;
		}
		for (k = 0; k < dr->nroots; k++)
			if (!strcmp(dr->roots[k], root))
				break;
		if (k < dr->nroots) {
			tw_diag(c->d, jp, "\"%s\" is already listed at drift.roots[%d]", root, k);
			free(root);
			continue;
		}
		dr->roots[dr->nroots++] = root;
	}
}

void tw_parse_drift(struct pctx *c, json_t *v)
{
	static const char *const keys[] = { "roots", "mode", NULL };
	struct tw_policy_drift *dr = &c->p->drift;
	json_t *mode;

	dr->mode = c->p->mode;
	if (!v || !want_type(c, "drift", v, JSON_OBJECT, "an object"))
		return;
	check_keys(c, "drift", v, keys);
	mode = json_object_get(v, "mode");
	if (mode && want_type(c, "drift.mode", mode, JSON_STRING, "\"enforce\" or \"audit\"")) {
		if (!strcmp(json_string_value(mode), "audit"))
			dr->mode = TW_MODE_AUDIT;
		else if (!strcmp(json_string_value(mode), "enforce"))
			dr->mode = TW_MODE_ENFORCE;
		else
			tw_diag(c->d, "drift.mode", "unknown mode \"%s\" (expected \"enforce\" or \"audit\")",
				json_string_value(mode));
	}
	parse_roots(c, json_object_get(v, "roots"));
}

void tw_drift_free(struct tw_policy_drift *dr)
{
	int i;

	for (i = 0; i < dr->nroots; i++)
		free(dr->roots[i]);
	free(dr->roots);
	dr->roots = NULL;
	dr->nroots = 0;
}
