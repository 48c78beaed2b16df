// SPDX-License-Identifier: GPL-2.0
/*
 * Policy parsing and validation. jansson parses; validation walks the tree
 * with a JSON path and reports every error it finds, each with file, line
 * and column. jansson keeps no source positions for values, so
 * tw_json_locate() rescans the (already valid) text along that path.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "jsonhint.h"
#include "policy.h"
#include "section.h"
#include "util.h"

#define TW_MAX_DIAGS	100

/* ---- diagnostics ---- */

void tw_diag(struct tw_diags *d, const char *jpath, const char *fmt, ...)
{
	char msg[512], *line;
	int l = 0, c = 0;
	va_list ap;

	if (d->count >= TW_MAX_DIAGS)
		return;
	if (d->count == d->cap) {
		int cap = d->cap ? d->cap * 2 : 8;
		char **m = realloc(d->msgs, cap * sizeof(*m));

		if (!m)
			return;
		d->msgs = m;
		d->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d->text && jpath)
		tw_json_locate(d->text, d->len, jpath, &l, &c);
	if (l && jpath && *jpath)
		l = asprintf(&line, "%s:%d:%d: %s: %s", d->file, l, c, jpath, msg);
	else if (l)
		l = asprintf(&line, "%s:%d:%d: %s", d->file, l, c, msg);
	else
		l = asprintf(&line, "%s: %s", d->file, msg);
	if (l < 0)
		return;
	if (d->count == TW_MAX_DIAGS - 1) {
		free(line);	/* the last slot says why the list ends (fuzz_policy found it leaked) */
		line = strdup("too many errors, stopping here");
	}
	d->msgs[d->count++] = line;
}

void tw_diags_print(const struct tw_diags *d, FILE *f)
{
	int i;

	for (i = 0; i < d->count; i++)
		fprintf(f, "%s\n", d->msgs[i]);
}

void tw_diags_free(struct tw_diags *d)
{
	int i;

	for (i = 0; i < d->count; i++)
		free(d->msgs[i]);
	free(d->msgs);
	d->msgs = NULL;
	d->count = d->cap = 0;
}

/* ---- locating a JSON path in the text ---- */

static const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

static const char *skip_string(const char *p, const char *end)
{
	for (p++; p < end && *p != '"'; p++)
		if (*p == '\\')
			p++;
	return p < end ? p + 1 : end;
}

static const char *skip_value(const char *p, const char *end)
{
	int depth = 0;

	for (p = skip_ws(p, end); p < end; p++) {
		if (*p == '"') {
			p = skip_string(p, end) - 1;
			if (!depth)
				return p + 1;
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if (*p == '}' || *p == ']') {
			if (!depth)
				return p;
			if (!--depth)
				return p + 1;
		} else if (!depth && (*p == ',' || isspace((unsigned char)*p))) {
			return p;
		}
	}
	return end;
}

/* Member key of the current object or index of the current array, then its value. */
static const char *find_member(const char *p, const char *end, const char *key,
			       size_t klen, long idx, const char **keypos)
{
	long i = 0;

	p = skip_ws(p, end);
	if (p >= end || (*p != '{' && *p != '['))
		return NULL;
	if (*p == '{') {
		for (p++;;) {
			const char *k, *ke;

			p = skip_ws(p, end);
			if (p >= end || *p != '"')
				return NULL;
			k = p + 1;
			ke = skip_string(p, end) - 1;
			p = skip_ws(ke + 1, end);
			if (p >= end || *p != ':')
				return NULL;
			p = skip_ws(p + 1, end);
			if (key && (size_t)(ke - k) == klen && !memcmp(k, key, klen)) {
				*keypos = k - 1;
				return p;
			}
			p = skip_ws(skip_value(p, end), end);
			if (p >= end || *p != ',')
				return NULL;
			p++;
		}
	}
	for (p++;; i++) {
		p = skip_ws(p, end);
		if (p >= end || *p == ']')
			return NULL;
		if (!key && i == idx) {
			*keypos = p;
			return p;
		}
		p = skip_ws(skip_value(p, end), end);
		if (p >= end || *p != ',')
			return NULL;
		p++;
	}
}

void tw_json_locate(const char *text, size_t len, const char *jpath,
		    int *line, int *col)
{
	const char *end = text + len, *p = skip_ws(text, end), *at = p, *s = jpath;
	const char *q;

	/* Object members point at their key, array elements at the element. */
	while (*s) {
		const char *keypos = NULL;

		if (*s == '.') {
			s++;
			continue;
		}
		if (*s == '[') {
			long idx = strtol(s + 1, (char **)&s, 10);

			if (*s == ']')
				s++;
			q = find_member(p, end, NULL, 0, idx, &keypos);
		} else {
			size_t n = strcspn(s, ".[");

			q = find_member(p, end, s, n, 0, &keypos);
			s += n;
		}
		if (!q)
			break;	/* point at the deepest part that exists */
		p = q;
		at = keypos;
	}
	*line = 1;
	*col = 1;
	for (q = text; q < at && q < end; q++) {
		if (*q == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

/* ---- validation helpers ---- */

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

bool want_type(struct pctx *c, const char *jp, const json_t *v,
		      json_type t, const char *what)
{
	if (json_typeof(v) == t)
		return true;
	tw_diag(c->d, jp, "expected %s, found %s", what, type_name(v));
	return false;
}

/* Report keys of obj not in allowed (NULL-terminated). */
void check_keys(struct pctx *c, const char *jp, json_t *obj,
		       const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		char kp[TW_JPATH_MAX], list[256] = "";
		const char *const *a;
		bool ok = false;

		for (a = allowed; *a; a++) {
			ok |= !strcmp(*a, key);
			snprintf(list + strlen(list), sizeof(list) - strlen(list),
				 "%s\"%s\"", a == allowed ? "" : ", ", *a);
		}
		if (ok)
			continue;
		snprintf(kp, sizeof(kp), "%s%s%s", jp, *jp ? "." : "", key);
		tw_diag(c->d, kp, "unknown key \"%s\" (expected %s)", key, list);
	}
}

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

/* The tier a "tier" member names, or 0 after reporting why not. */
static int ref_tier(struct pctx *c, const char *jp, json_t *obj)
{
	char tp[TW_JPATH_MAX];
	json_t *v = json_object_get(obj, "tier");
	int id;

	snprintf(tp, sizeof(tp), "%s.tier", jp);
	if (!v) {
		tw_diag(c->d, jp, "missing required key \"tier\"");
		return 0;
	}
	if (!want_type(c, tp, v, JSON_STRING, "a tier name"))
		return 0;
	id = tw_policy_tier_id(c->p, json_string_value(v));
	if (!id)
		tw_diag(c->d, tp, "undefined tier \"%s\" (define it under \"tiers\")",
			json_string_value(v));
	return id;
}

int tw_policy_tier_id(const struct tw_policy *p, const char *name)
{
	int i;

	for (i = 1; i <= p->ntiers; i++)
		if (!strcmp(p->tiers[i].name, name))
			return i;
	return 0;
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
static char *norm_cgroup(const char *s, const char **why)
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
		tier = ref_tier(c, jp, v);
		path = json_object_get(v, "path");
		if (!path) {
			tw_diag(c->d, jp, "missing required key \"path\"");
			continue;
		}
		if (!want_type(c, pp, path, JSON_STRING, "a cgroup path"))
			continue;
		norm = norm_cgroup(json_string_value(path), &why);
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

static int parse_ports(struct pctx *c, const char *jp, json_t *arr,
		       uint16_t *ports)
{
	size_t i, j;
	json_t *v;
	int n = 0;

	if (!want_type(c, jp, arr, JSON_ARRAY, "an array of port numbers"))
		return -1;
	if (!json_array_size(arr)) {
		tw_diag(c->d, jp, "empty port list (leave \"ports\" out to mean all ports)");
		return -1;
	}
	if (json_array_size(arr) > TW_MAX_PORTS) {
		tw_diag(c->d, jp, "%zu ports listed, at most %d per entry",
			json_array_size(arr), TW_MAX_PORTS);
		return -1;
	}
	json_array_foreach(arr, i, v) {
		char ip[TW_JPATH_MAX];
		json_int_t port;

		snprintf(ip, sizeof(ip), "%s[%zu]", jp, i);
		if (!want_type(c, ip, v, JSON_INTEGER, "a port number"))
			return -1;
		port = json_integer_value(v);
		if (port < 1 || port > 65535) {
			tw_diag(c->d, ip, "port %lld out of range 1-65535", (long long)port);
			return -1;
		}
		for (j = 0; j < (size_t)n; j++)
			if (ports[j] == port)
				break;
		if (j < (size_t)n) {
			tw_diag(c->d, ip, "port %lld listed twice", (long long)port);
			return -1;
		}
		ports[n++] = port;
	}
	return n;
}

static bool all_digits_and_dots(const char *s)
{
	return strspn(s, "0123456789.") == strlen(s);
}

bool tw_hostname_parse(const char *in, char *out, bool *wildcard, char *why, size_t whylen)
{
	const char *name = in, *label;
	size_t n = strlen(in), i, len;
	int k;

	*wildcard = false;
	if (n && in[n - 1] == '.')
		n--;	/* "example.com." is "example.com" */
	if (!n) {
		snprintf(why, whylen, "empty hostname");
		return false;
	}
	if (n >= 2 && !strncmp(in, "*.", 2)) {
		*wildcard = true;
		name += 2;
		n -= 2;
	}
	if (memchr(name, '*', n)) {
		snprintf(why, whylen, "\"%s\": a wildcard is allowed only as the whole first label (\"*.example.com\")", in);
		return false;
	}
	if (!n) {
		snprintf(why, whylen, "\"%s\": a wildcard needs a domain after \"*.\"", in);
		return false;
	}
	/* Only one trailing dot is the root: "a.b.." has an empty last label (found by fuzz_fields). */
	if (name[n - 1] == '.') {
		snprintf(why, whylen, "\"%s\": empty label (two dots, or a leading dot)", in);
		return false;
	}
	if (n + (*wildcard ? 2 : 0) > TW_HOSTNAME_MAX) {
		snprintf(why, whylen, "\"%.40s...\" is %zu characters long, at most %d", in,
			 n + (*wildcard ? 2 : 0), TW_HOSTNAME_MAX);
		return false;
	}
	for (label = name, k = 1; label < name + n; label += len + 1, k++) {
		const char *dot = memchr(label, '.', name + n - label);

		len = dot ? (size_t)(dot - label) : (size_t)(name + n - label);
		if (!len) {
			snprintf(why, whylen, "\"%s\": empty label (two dots, or a leading dot)", in);
			return false;
		}
		if (len > 63) {
			snprintf(why, whylen, "\"%s\": label %d is %zu characters long, at most 63", in, k, len);
			return false;
		}
		for (i = 0; i < len; i++) {
			unsigned char ch = label[i];

			if (!isalnum(ch) && ch != '-' && ch != '_') {
				snprintf(why, whylen, "\"%s\": label %d has '%c' (use letters, digits, '-' and '_')",
					 in, k, isprint(ch) ? ch : '?');
				return false;
			}
		}
		if (label[0] == '-' || label[len - 1] == '-') {
			snprintf(why, whylen, "\"%s\": label %d starts or ends with '-'", in, k);
			return false;
		}
	}
	if (!*wildcard && all_digits_and_dots(name)) {
		snprintf(why, whylen, "\"%s\" is an IP address: put it under \"cidrs\"", in);
		return false;
	}
	len = 0;
	if (*wildcard) {
		memcpy(out, "*.", 2);
		len = 2;
	}
	for (i = 0; i < n; i++)
		out[len++] = tolower((unsigned char)name[i]);
	out[len] = '\0';
	return true;
}

static void parse_hostnames(struct pctx *c, const char *jp, json_t *arr, int tier,
			    int nports, const uint16_t *ports)
{
	struct tw_policy_rule *g = NULL;
	size_t j;
	json_t *s;

	if (!want_type(c, jp, arr, JSON_ARRAY, "an array of hostnames"))
		return;
	if (!json_array_size(arr))
		tw_diag(c->d, jp, "empty hostname list");
	if (tier) {
		g = &c->p->hrules[c->p->nhrules++];
		g->tier = tier;
		g->nports = nports;
		memcpy(g->ports, ports, sizeof(g->ports));
		snprintf(g->jpath, sizeof(g->jpath), "%s", jp);
	}
	json_array_foreach(arr, j, s) {
		char ep[TW_JPATH_MAX], why[512], name[TW_HOSTNAME_MAX + 3];
		struct tw_policy_host *h;
		bool wild;
		int k;

		snprintf(ep, sizeof(ep), "%s[%zu]", jp, j);
		if (!want_type(c, ep, s, JSON_STRING, "a hostname string"))
			continue;
		if (!tw_hostname_parse(json_string_value(s), name, &wild, why, sizeof(why))) {
			tw_diag(c->d, ep, "%s", why);
			continue;
		}
		for (k = 0; k < c->p->nhosts; k++)
			if (!strcmp(c->p->hosts[k].name, name))
				break;
		if (k < c->p->nhosts) {
			const struct tw_policy_host *o = &c->p->hosts[k];

			if (o->tier == tier)
				tw_diag(c->d, ep, "\"%s\" is a duplicate of %s", name, o->jpath);
			else
				tw_diag(c->d, ep, "\"%s\" is already owned by tier \"%s\" at %s: a name belongs to one tier",
					name, c->p->tiers[o->tier].name, o->jpath);
			continue;
		}
		if (!g)
			continue;
		h = &c->p->hosts[c->p->nhosts++];
		h->name = strdup(name);
		h->wildcard = wild;
		h->tier = tier;
		h->group = g - c->p->hrules;
		snprintf(h->jpath, sizeof(h->jpath), "%s", ep);
	}
}

static void parse_destinations(struct pctx *c, json_t *arr)
{
	static const char *const keys[] = { "tier", "cidrs", "hostnames", "ports", NULL };
	size_t nhosts = 0;
	size_t i, j, total = 0;
	json_t *v;

	if (!arr)
		return;
	if (!want_type(c, "destinations", arr, JSON_ARRAY, "an array"))
		return;
	json_array_foreach(arr, i, v) {
		json_t *cidrs = json_is_object(v) ? json_object_get(v, "cidrs") : NULL;
		json_t *hosts = json_is_object(v) ? json_object_get(v, "hostnames") : NULL;

		total += json_is_array(cidrs) ? json_array_size(cidrs) : 0;
		nhosts += json_is_array(hosts) ? json_array_size(hosts) : 0;
	}
	c->p->rules = calloc(total + 1, sizeof(*c->p->rules));
	c->p->hosts = calloc(nhosts + 1, sizeof(*c->p->hosts));
	c->p->hrules = calloc(json_array_size(arr) + 1, sizeof(*c->p->hrules));
	json_array_foreach(arr, i, v) {
		char jp[TW_JPATH_MAX], cp[TW_JPATH_MAX], pp[TW_JPATH_MAX], hjp[TW_JPATH_MAX];
		uint16_t ports[TW_MAX_PORTS] = {};
		json_t *cidrs, *pv, *s, *hp;
		int tier, nports = 0;

		snprintf(jp, sizeof(jp), "destinations[%zu]", i);
		snprintf(cp, sizeof(cp), "%s.cidrs", jp);
		snprintf(pp, sizeof(pp), "%s.ports", jp);
		if (!want_type(c, jp, v, JSON_OBJECT, "an object"))
			continue;
		check_keys(c, jp, v, keys);
		tier = ref_tier(c, jp, v);
		pv = json_object_get(v, "ports");
		if (pv && (nports = parse_ports(c, pp, pv, ports)) < 0)
			tier = nports = 0;	/* still check the CIDRs */
		hp = json_object_get(v, "hostnames");
		if (hp) {
			snprintf(hjp, sizeof(hjp), "%s.hostnames", jp);
			parse_hostnames(c, hjp, hp, tier, nports, ports);
		}
		cidrs = json_object_get(v, "cidrs");
		if (!cidrs) {
			if (!hp)
				tw_diag(c->d, jp, "needs \"cidrs\", \"hostnames\" or both");
			continue;
		}
		if (!want_type(c, cp, cidrs, JSON_ARRAY, "an array of CIDRs"))
			continue;
		if (!json_array_size(cidrs))
			tw_diag(c->d, cp, "empty CIDR list");
		json_array_foreach(cidrs, j, s) {
			struct tw_policy_rule *r;
			char ep[TW_JPATH_MAX], why[256];
			struct tw_cidr cidr;

			snprintf(ep, sizeof(ep), "%s[%zu]", cp, j);
			if (!want_type(c, ep, s, JSON_STRING, "a CIDR string"))
				continue;
			if (tw_cidr_parse(json_string_value(s), &cidr, why, sizeof(why))) {
				tw_diag(c->d, ep, "%s", why);
				continue;
			}
			if (!tier)
				continue;
			r = &c->p->rules[c->p->nrules++];
			r->cidr = cidr;
			r->tier = tier;
			r->nports = nports;
			memcpy(r->ports, ports, sizeof(ports));
			snprintf(r->jpath, sizeof(r->jpath), "%s", ep);
		}
	}
}

static bool ports_overlap(const struct tw_policy_rule *a, const struct tw_policy_rule *b)
{
	int i, j;

	if (!a->nports || !b->nports)
		return true;
	for (i = 0; i < a->nports; i++)
		for (j = 0; j < b->nports; j++)
			if (a->ports[i] == b->ports[j])
				return true;
	return false;
}

static int cmp_rule_prefix(const void *x, const void *y)
{
	const struct tw_policy_rule *a = *(const struct tw_policy_rule **)x;
	const struct tw_policy_rule *b = *(const struct tw_policy_rule **)y;

	if (a->cidr.family != b->cidr.family)
		return a->cidr.family - b->cidr.family;
	if (a->cidr.len != b->cidr.len)
		return a->cidr.len - b->cidr.len;
	if (memcmp(a->cidr.addr, b->cidr.addr, 16))
		return memcmp(a->cidr.addr, b->cidr.addr, 16);
	return a < b ? -1 : 1;	/* document order */
}

/* The same CIDR twice: a duplicate (same tier) or a conflict (ports overlap). */
static void check_rule_conflicts(struct pctx *c)
{
	struct tw_policy_rule **v;
	int i, j;

	if (c->p->nrules < 2)
		return;
	v = malloc(c->p->nrules * sizeof(*v));
	if (!v)
		return;
	for (i = 0; i < c->p->nrules; i++)
		v[i] = &c->p->rules[i];
	qsort(v, c->p->nrules, sizeof(*v), cmp_rule_prefix);
	for (i = 1; i < c->p->nrules; i++) {
		for (j = i - 1; j >= 0; j--) {
			struct tw_policy_rule *a = v[j], *b = v[i];
			char txt[64];

			if (a->cidr.family != b->cidr.family || a->cidr.len != b->cidr.len ||
			    memcmp(a->cidr.addr, b->cidr.addr, 16))
				break;
			tw_cidr_format(&b->cidr, txt, sizeof(txt));
			if (a->tier == b->tier)
				tw_diag(c->d, b->jpath, "%s is a duplicate of %s (merge them into one entry)",
					txt, a->jpath);
			else if (ports_overlap(a, b))
				tw_diag(c->d, b->jpath, "%s conflicts with %s: both tiers \"%s\" and \"%s\" own it on %s",
					txt, a->jpath, c->p->tiers[b->tier].name,
					c->p->tiers[a->tier].name,
					a->nports && b->nports ? "a common port" : "every port");
		}
	}
	free(v);
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
		tier = ref_tier(c, jp, v);
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
	parse_destinations(&c, json_object_get(root, "destinations"));
	check_rule_conflicts(&c);
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
