/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_JSONHINT_H
#define TW_JSONHINT_H

#include <stddef.h>

/*
 * Why JSON text that failed to parse at byte pos failed, in words, for the
 * mistakes people make in hand-written JSON: an empty file, a byte-order
 * mark, a comment, a trailing comma. NULL if it is none of these.
 */
const char *tw_json_hint(const char *text, size_t len, size_t pos);

#endif
