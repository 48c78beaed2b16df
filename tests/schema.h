/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_TEST_SCHEMA_H
#define TW_TEST_SCHEMA_H

#include <jansson.h>

/*
 * Not a JSON Schema validator: a check that every field of ev is
 * documented in policies/event.schema.json for its kind, and every field
 * the schema requires is there. Failures are test failures naming what.
 */
void schema_check(json_t *schema, json_t *ev, const char *what);
/* schema_check() on every record of a log file; the number of records. */
int schema_check_log(const char *schema_file, const char *log_file);

#endif
