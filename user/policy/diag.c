// SPDX-License-Identifier: GPL-2.0
/*
 * Policy diagnostics: every error with file, line and column. jansson keeps
 * no source positions for values, so tw_json_locate() rescans the (already
 * valid) text along the error's JSON path. And the type and key checks every
 * section parser shares.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "policy.h"
#include "section.h"
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
