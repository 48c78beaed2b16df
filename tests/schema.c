// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "schema.h"
#include "test.h"

/*
 * Not a JSON Schema validator: a check that every field the encoder writes
 * is documented in policies/event.schema.json for its kind, and every field
 * the schema requires is written.
 */
static json_t *schema_def(json_t *schema, const char *name)
{
	return json_object_get(json_object_get(schema, "$defs"), name);
}

static void schema_collect(json_t *schema, json_t *def, json_t *allowed, json_t *required)
{
	json_t *v, *ref;
	const char *k;
	size_t i;

	json_object_foreach(json_object_get(def, "properties"), k, v)
		json_object_set(allowed, k, json_true());
	json_array_foreach(json_object_get(def, "required"), i, v)
		json_array_append(required, v);
	json_array_foreach(json_object_get(def, "allOf"), i, ref) {
		const char *r = json_string_value(json_object_get(ref, "$ref"));

		if (r && !strncmp(r, "#/$defs/", 8))
			schema_collect(schema, schema_def(schema, r + 8), allowed, required);
	}
}

void schema_check(json_t *schema, json_t *ev, const char *what)
{
	const char *kind = json_string_value(json_object_get(ev, "kind"));
	json_t *allowed = json_object(), *required = json_array(), *v;
	const char *k;
	size_t i;

	schema_collect(schema, schema_def(schema, "common"), allowed, required);
	json_array_foreach(json_object_get(schema, "required"), i, v)
		json_array_append(required, v);
	if (!ASSERT_TRUE(kind && schema_def(schema, kind), what))
		goto out;
	schema_collect(schema, schema_def(schema, kind), allowed, required);
	json_object_foreach(ev, k, v)
		if (!json_object_get(allowed, k))
			TW_FAILED("%s: field \"%s\" is not in the schema for kind %s", what, k, kind);
	json_array_foreach(required, i, v)
		if (!json_object_get(ev, json_string_value(v)))
			TW_FAILED("%s: required field \"%s\" missing", what, json_string_value(v));
out:
	json_decref(allowed);
	json_decref(required);
}

int schema_check_log(const char *schema_file, const char *log_file)
{
	json_error_t jerr;
	json_t *schema = json_load_file(schema_file, 0, &jerr), *o;
	char *line = NULL, what[64];
	size_t cap = 0;
	int n = 0;
	FILE *f;

	if (!schema) {
		TW_FAILED("%s: %s", schema_file, jerr.text);
		return -1;
	}
	f = fopen(log_file, "r");
	while (f && getline(&line, &cap, f) > 0) {
		o = json_loads(line, 0, NULL);
		snprintf(what, sizeof(what), "log record %d", ++n);
		schema_check(schema, o, what);
		json_decref(o);
	}
	if (f)
		fclose(f);
	free(line);
	json_decref(schema);
	return n;
}
