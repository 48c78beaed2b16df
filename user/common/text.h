/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strings from outside (cgroup and file names, comm, anything a tiered
 * process chose) into JSON without losing or faking a byte: strict UTF-8
 * (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF), and the
 * exact bytes in base64 when they are not UTF-8.
 */
#ifndef TW_TEXT_H
#define TW_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Longest outside string a record holds; longer ones are cut, with "<key>_truncated". */
#define TW_FIELD_MAX	4096

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
int tw_utf8_seq(const unsigned char *s, size_t n);
/* Is all of s[0..n) strict UTF-8 (NUL counts as invalid: C strings end there)? */
bool tw_utf8_valid(const char *s, size_t n);
/* s[0..n) with each byte of an invalid sequence as U+FFFD; malloc'd, NUL-terminated. */
char *tw_utf8_fix(const char *s, size_t n);
/* Base64 (RFC 4648, padded) of n bytes into out, which holds TW_B64_LEN(n) bytes. */
#define TW_B64_LEN(n)	(4 * (((n) + 2) / 3) + 1)
size_t tw_base64(const void *data, size_t n, char *out);
/*
 * Set o[key] to the string s (NULL: null): cut at TW_FIELD_MAX with
 * "<key>_truncated": true, and "<key>_raw" (base64) when it is not UTF-8.
 */
void tw_json_set_text(json_t *o, const char *key, const char *s);

#endif
