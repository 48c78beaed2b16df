// SPDX-License-Identifier: GPL-2.0
/*
 * Policy parsing and validation. jansson parses; validation walks the tree
 * with a JSON path and reports every error it finds (diag.c gives each its
 * file, line and column). The sections: tiers, cgroups and secrets here,
 * destinations in dests.c, kubernetes and drift in kube.c and driftcfg.c;
 * what they share below them in diag.c and tierref.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "jsonhint.h"
#include "policy.h"
#include "section.h"
#include "util.h"

static int parse_mode(struct pctx *c, const char *jp, json_t *v, int def)
{
	const char *s;

	if (!v)
		return def;
	if (!want_type(c, jp, v, JSON_STRING, "\"enforce\" or \"audit\""))
		return def;
	s = json_string_value(v);
	if (!strcmp(s, "enforce"))
		return TW_MODE_ENFORCE;
	if (!strcmp(s, "audit"))
		return TW_MODE_AUDIT;
	tw_diag(c->d, jp, "unknown mode \"%s\" (expected \"enforce\" or \"audit\")", s);
	return def;
}

/* "log": "denials" (default) or "all" (also allowed use of the tier's own resources). */
static bool parse_log(struct pctx *c, const char *jp, json_t *v)
{
	const char *s;

	if (!v)
		return false;
	if (!want_type(c, jp, v, JSON_STRING, "\"denials\" or \"all\""))
		return false;
	s = json_string_value(v);
	if (!strcmp(s, "all"))
		return true;
	if (strcmp(s, "denials"))
		tw_diag(c->d, jp, "unknown log setting \"%s\" (expected \"denials\" or \"all\")", s);
	return false;
}

static bool valid_tier_name(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= TW_TIER_NAME_MAX || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
		return false;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* ---- sections ---- */

static void parse_tiers(struct pctx *c, json_t *tiers)
{
	static const char *const keys[] = { "mode", "log", NULL };
	const char *name;
	json_t *v;

	if (!tiers) {
		tw_diag(c->d, "", "missing required key \"tiers\"");
		return;
	}
	if (!want_type(c, "tiers", tiers, JSON_OBJECT, "an object of tier names"))
		return;
	if (!json_object_size(tiers))
		tw_diag(c->d, "tiers", "no tiers defined");
	json_object_foreach(tiers, name, v) {
		char jp[TW_JPATH_MAX], mp[TW_JPATH_MAX];
		struct tw_policy_tier *t;

		snprintf(jp, sizeof(jp), "tiers.%s", name);
		if (!valid_tier_name(name)) {
			tw_diag(c->d, jp, "invalid tier name \"%s\" (lowercase letters, digits, '-' and '_', at most %d)",
				name, TW_TIER_NAME_MAX - 1);
			continue;
		}
		if (!strcmp(name, "untiered") || !strcmp(name, "pending")) {
			/* Tag requests and records name placed and pending pods so. */
			tw_diag(c->d, jp, "tier name \"%s\" is reserved", name);
			continue;
		}
		if (c->p->ntiers == TW_MAX_TIERS) {
			tw_diag(c->d, jp, "more than %d tiers", TW_MAX_TIERS);
			return;
		}
		if (!want_type(c, jp, v, JSON_OBJECT, "an object ({} for defaults)"))
			continue;
		check_keys(c, jp, v, keys);
		t = &c->p->tiers[++c->p->ntiers];
		strcpy(t->name, name);
		snprintf(mp, sizeof(mp), "%s.mode", jp);
		t->mode = parse_mode(c, mp, json_object_get(v, "mode"), c->p->mode);
		snprintf(mp, sizeof(mp), "%s.log", jp);
		t->log_all = parse_log(c, mp, json_object_get(v, "log"));
	}
}

/* Normalise a cgroup path: leading '/', no trailing '/', no '.', '..' or '//'. */
char *tw_norm_cgroup(const char *s, const char **why)
{
	char *out, *o;
	const char *p;

	if (*s != '/') {
		*why = "must start with '/' (it is relative to the daemon's cgroup root)";
		return NULL;
	}
	out = malloc(strlen(s) + 1);
	if (!out)
		return NULL;
	for (p = s, o = out; *p;) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			*why = "may not contain '.' or '..' components";
			free(out);
			return NULL;
		}
		*o++ = '/';
		memcpy(o, p, n);
		o += n;
		p += n;
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
	return out;
}

static void parse_cgroups(struct pctx *c, json_t *arr)
{
	static const char *const keys[] = { "path", "tier", NULL };
	size_t i, j;
	json_t *v;

	if (!arr)
		return;
	if (!want_type(c, "cgroups", arr, JSON_ARRAY, "an array"))
		return;
	c->p->cgroups = calloc(json_array_size(arr) + 1, sizeof(*c->p->cgroups));
	json_array_foreach(arr, i, v) {
		struct tw_policy_cgroup *cg;
		char jp[TW_JPATH_MAX], pp[TW_JPATH_MAX];
		const char *why = "is invalid";
		json_t *path;
		char *norm;
		int tier;

		snprintf(jp, sizeof(jp), "cgroups[%zu]", i);
		snprintf(pp, sizeof(pp), "%s.path", jp);
		if (!want_type(c, jp, v, JSON_OBJECT, "an object"))
			continue;
		check_keys(c, jp, v, keys);
		tier = tw_ref_tier(c, jp, v);
		path = json_object_get(v, "path");
		if (!path) {
			tw_diag(c->d, jp, "missing required key \"path\"");
			continue;
		}
		if (!want_type(c, pp, path, JSON_STRING, "a cgroup path"))
			continue;
		norm = tw_norm_cgroup(json_string_value(path), &why);
		if (!norm) {
			tw_diag(c->d, pp, "cgroup path \"%s\" %s", json_string_value(path), why);
			continue;
		}
		for (j = 0; j < (size_t)c->p->ncgroups; j++)
			if (!strcmp(c->p->cgroups[j].path, norm))
				break;
		if (j < (size_t)c->p->ncgroups) {
			tw_diag(c->d, pp, "cgroup \"%s\" is already tagged at %s",
				norm, c->p->cgroups[j].jpath);
			free(norm);
			continue;
		}
		if (!tier) {
			free(norm);
			continue;
		}
		cg = &c->p->cgroups[c->p->ncgroups++];
		cg->path = norm;
		cg->tier = tier;
		snprintf(cg->jpath, sizeof(cg->jpath), "%s", jp);
	}
}

static bool valid_secret_path(const char *s)
{
	const char *p;

	if (*s != '/' || strstr(s, "//"))
		return false;
	for (p = s; (p = strstr(p, "/.")); p++)
		if (p[2] == '/' || p[2] == '\0' || (p[2] == '.' && (p[3] == '/' || p[3] == '\0')))
			return false;
	return true;
}

static void parse_secrets(struct pctx *c, json_t *arr)
{
	static const char *const keys[] = { "tier", "paths", NULL };
	size_t i, j, total = 0;
	json_t *v, *s;
	int k;

	if (!arr)
		return;
	if (!want_type(c, "secrets", arr, JSON_ARRAY, "an array"))
		return;
	json_array_foreach(arr, i, v) {
		json_t *paths = json_is_object(v) ? json_object_get(v, "paths") : NULL;

		total += json_is_array(paths) ? json_array_size(paths) : 0;
	}
	c->p->secrets = calloc(total + 1, sizeof(*c->p->secrets));
	json_array_foreach(arr, i, v) {
		char jp[TW_JPATH_MAX], pp[TW_JPATH_MAX];
		json_t *paths;
		int tier;

		snprintf(jp, sizeof(jp), "secrets[%zu]", i);
		snprintf(pp, sizeof(pp), "%s.paths", jp);
		if (!want_type(c, jp, v, JSON_OBJECT, "an object"))
			continue;
		check_keys(c, jp, v, keys);
		tier = tw_ref_tier(c, jp, v);
		paths = json_object_get(v, "paths");
		if (!paths) {
			tw_diag(c->d, jp, "missing required key \"paths\"");
			continue;
		}
		if (!want_type(c, pp, paths, JSON_ARRAY, "an array of absolute paths"))
			continue;
		if (!json_array_size(paths))
			tw_diag(c->d, pp, "empty path list");
		json_array_foreach(paths, j, s) {
			struct tw_policy_secret *sec;
			char ep[TW_JPATH_MAX];

			snprintf(ep, sizeof(ep), "%s[%zu]", pp, j);
			if (!want_type(c, ep, s, JSON_STRING, "an absolute path"))
				continue;
			if (!strcmp(json_string_value(s), "/")) {
				tw_diag(c->d, ep, "\"/\" would make every file a secret; name the directories to protect");
				continue;
			}
			if (!valid_secret_path(json_string_value(s))) {
				tw_diag(c->d, ep, "\"%s\" is not a normalised absolute path (no '.', '..' or '//')",
					json_string_value(s));
				continue;
			}
			for (k = 0; k < c->p->nsecrets; k++)
				if (!strcmp(c->p->secrets[k].path, json_string_value(s)))
					break;
			if (k < c->p->nsecrets) {
				tw_diag(c->d, ep, "\"%s\" is already listed at %s",
					json_string_value(s), c->p->secrets[k].jpath);
				continue;
			}
			if (!tier)
				continue;
			sec = &c->p->secrets[c->p->nsecrets++];
			sec->path = strdup(json_string_value(s));
			sec->tier = tier;
			snprintf(sec->jpath, sizeof(sec->jpath), "%s", ep);
		}
	}
}

int tw_policy_parse(const char *file, const char *text, size_t len,
		    struct tw_policy **out, struct tw_diags *d)
{
	static const char *const keys[] = {
		"version", "mode", "tiers", "cgroups", "destinations", "secrets", "kubernetes", "drift",
		NULL
	};
	struct pctx c = { .d = d };
	json_error_t jerr;
	json_t *root, *ver;
	int before = d->count;
	const char *hint;

	d->file = file;
	d->text = text;
	d->len = len;
	*out = NULL;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		d->text = NULL;	/* the locator needs valid JSON; jansson has the position */
		hint = tw_json_hint(text, len, jerr.position);
		if (hint)
			tw_diag(d, NULL, "%d:%d: invalid JSON: %s (%s)", jerr.line, jerr.column, hint,
				jerr.text);
		else
			tw_diag(d, NULL, "%d:%d: invalid JSON: %s", jerr.line, jerr.column, jerr.text);
		/* Rewrite "file: L:C:" into "file:L:C:" for one format everywhere. */
		if (d->count > before) {
			char *m = d->msgs[d->count - 1], *colon = strstr(m, ": ");

			if (colon)
				memmove(colon + 1, colon + 2, strlen(colon + 2) + 1);
		}
		return -EINVAL;
	}
	c.p = calloc(1, sizeof(*c.p));
	if (!c.p) {
		json_decref(root);
		return -ENOMEM;
	}
	tw_sha256_hex(text, len, c.p->digest);

	if (!want_type(&c, "", root, JSON_OBJECT, "a JSON object at the top level"))
		goto out;
	check_keys(&c, "", root, keys);
	ver = json_object_get(root, "version");
	if (!ver)
		tw_diag(d, "", "missing required key \"version\" (use 1)");
	else if (!json_is_integer(ver) || json_integer_value(ver) != 1)
		tw_diag(d, "version", "unsupported policy version (this tierwall reads version 1)");
	c.p->mode = parse_mode(&c, "mode", json_object_get(root, "mode"), TW_MODE_ENFORCE);
	parse_tiers(&c, json_object_get(root, "tiers"));
	parse_cgroups(&c, json_object_get(root, "cgroups"));
	tw_parse_destinations(&c, json_object_get(root, "destinations"));
	tw_check_rule_conflicts(&c);
	parse_secrets(&c, json_object_get(root, "secrets"));
	tw_parse_kubernetes(&c, json_object_get(root, "kubernetes"));
	tw_parse_drift(&c, json_object_get(root, "drift"));
out:
	json_decref(root);
	if (d->count > before) {
		tw_policy_free(c.p);
		return -EINVAL;
	}
	*out = c.p;
	return 0;
}

int tw_policy_load(const char *file, struct tw_policy **out, struct tw_diags *d)
{
	size_t len;
	char *text;
	int err;

	*out = NULL;
	err = tw_read_file(file, &text, &len);
	if (err) {
		d->file = file;
		d->text = NULL;
		tw_diag(d, NULL, "cannot read policy: %s", strerror(-err));
		return err;
	}
	err = tw_policy_parse(file, text, len, out, d);
	d->text = NULL;	/* text is freed below */
	free(text);
	return err;
}

void tw_policy_free(struct tw_policy *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; i < p->ncgroups; i++)
		free(p->cgroups[i].path);
	for (i = 0; i < p->nsecrets; i++)
		free(p->secrets[i].path);
	for (i = 0; i < p->nhosts; i++)
		free(p->hosts[i].name);
	free(p->hosts);
	free(p->hrules);
	free(p->cgroups);
	free(p->rules);
	free(p->secrets);
	tw_kube_free(&p->kube);
	tw_drift_free(&p->drift);
	free(p);
}
