// SPDX-License-Identifier: GPL-2.0
/* tierwall simulate: what would change, as JSON and as text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "explainer.h"
#include "simulate.h"
#include "util.h"

/* ---- the answer ---- */

static json_t *changes(struct sim *s, const char *now, bool other)
{
	json_t *a = json_array(), *g;
	const char *k;

	json_object_foreach(s->groups, k, g) {
		bool match = !strcmp(str(g, "now"), now);

		if (other ? strcmp(str(g, "now"), "deny") && strcmp(str(g, "now"), "allow") : match)
			json_array_append(a, g);
	}
	return a;
}

json_t *sim_answer(struct sim *s, const char *draft, const char *dir)
{
	char first[64] = "", last[64] = "";
	json_t *tiers = json_array(), *v;
	const char *k;

	json_object_foreach(s->allow_tiers, k, v)
		json_array_append_new(tiers, json_string(k));
	if (s->first_ns) {
		tw_format_time(s->first_ns, first, sizeof(first));
		tw_format_time(s->last_ns, last, sizeof(last));
	}
	return json_pack("{s:b, s:s, s:s, s:s, s:o, s:I, s:I, s:s?, s:s?, s:o, s:o, s:o, s:{s:I, s:I, s:I}}",
		"ok", 1, "draft", draft, "log_dir", dir,
		"covers", "the decisions the log holds: denials and audits, socket and DNS refusals, and "
			  "allowed use only for tiers with \"log\": \"all\"; other allowed traffic is "
			  "not recorded and cannot be replayed",
		"allowed_use_logged_for", tiers,
		"decisions", (json_int_t)s->decisions, "unchanged", (json_int_t)s->unchanged,
		"from", first[0] ? first : NULL, "to", last[0] ? last : NULL,
		"newly_denied", changes(s, "deny", false), "newly_allowed", changes(s, "allow", false),
		"changed_mode", changes(s, "", true),
		"totals", "newly_denied", (json_int_t)s->newly_denied,
		"newly_allowed", (json_int_t)s->newly_allowed, "changed_mode", (json_int_t)s->changed);
}

#define SHOWN	20	/* changes listed per section in text; --json has them all */

static int by_count(const void *x, const void *y)
{
	json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "count"));
	json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "count"));

	return a < b ? 1 : a > b ? -1 : 0;
}

static void print_group(const char *title, json_t *arr, uint64_t total)
{
	size_t i, n = json_array_size(arr);
	json_t **a = calloc(n + 1, sizeof(*a)), *g;

	printf("\n%s: %llu decision%s\n", title, (unsigned long long)total, total == 1 ? "" : "s");
	for (i = 0; a && i < n; i++)
		a[i] = json_array_get(arr, i);
	if (a)
		qsort(a, n, sizeof(*a), by_count);
	for (i = 0; a && i < n && i < SHOWN; i++) {
		g = a[i];
		printf("  %-10s %-7s %-32s %s -> %s", str(g, "tier"), str(g, "kind"), str(g, "target"),
		       str(g, "was"), str(g, "now"));
		if (str(g, "rule"))
			printf("  %s %s (%s)", str(g, "rule"),
			       str(g, "cidr") ?: str(g, "hostname") ?: str(g, "secret") ?: "",
			       str(g, "target_tier") ?: "-");
		else if (str(g, "was_rule"))
			printf("  (was %s)", str(g, "was_rule"));
		if (!str(g, "now_tier"))
			printf("  [untiered under the draft]");
		printf("  x%lld\n", json_integer_value(json_object_get(g, "count")));
	}
	if (n > SHOWN)
		printf("  ... and %zu more targets (--json lists every one)\n", n - SHOWN);
	free(a);
}

void sim_print_answer(json_t *o)
{
	json_t *t = json_object_get(o, "totals"), *v;
	size_t i;

	printf("simulate %s against the log in %s: %lld decisions", str(o, "draft"), str(o, "log_dir"),
	       json_integer_value(json_object_get(o, "decisions")));
	if (str(o, "from"))
		printf(" from %.19sZ to %.19sZ", str(o, "from"), str(o, "to"));
	printf("\ncovers: %s", str(o, "covers"));
	json_array_foreach(json_object_get(o, "allowed_use_logged_for"), i, v)
		printf("%s%s", i ? ", " : " (in this log: ", json_string_value(v));
	printf("%s\n", json_array_size(json_object_get(o, "allowed_use_logged_for")) ? ")" : "");
	print_group("newly denied", json_object_get(o, "newly_denied"),
		    json_integer_value(json_object_get(t, "newly_denied")));
	print_group("newly allowed", json_object_get(o, "newly_allowed"),
		    json_integer_value(json_object_get(t, "newly_allowed")));
	if (json_integer_value(json_object_get(t, "changed_mode")))
		print_group("now audited (allowed and recorded)", json_object_get(o, "changed_mode"),
			    json_integer_value(json_object_get(t, "changed_mode")));
	printf("\nunchanged: %lld decisions\n", json_integer_value(json_object_get(o, "unchanged")));
}
