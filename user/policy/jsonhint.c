// SPDX-License-Identifier: GPL-2.0
/*
 * What is wrong with a policy that is not JSON, said the way its author
 * would fix it: jansson's "string or '}' expected near '/'" becomes "JSON
 * has no comments". Only the text up to where jansson stopped is looked at,
 * outside strings.
 */
#include <stdbool.h>
#include "jsonhint.h"

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *tw_json_hint(const char *text, size_t len, size_t pos)
{
	bool in_str = false;
	size_t i, j;

	for (i = 0; i < len && blank(text[i]); i++)
		;
	if (i == len)
		return "the file is empty (a policy is one JSON object)";
	if (len >= 3 && (unsigned char)text[0] == 0xef && (unsigned char)text[1] == 0xbb &&
	    (unsigned char)text[2] == 0xbf)
		return "the file starts with a UTF-8 byte-order mark; JSON has none: save it without";
	/* Up to and just past where the parser stopped: the culprit is there. */
	for (i = 0; i < len && i <= pos + 1; i++) {
		char c = text[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '/' && i + 1 < len && (text[i + 1] == '/' || text[i + 1] == '*')) {
			return "JSON has no comments (// or /* */): remove it, or put the note in a "
			       "key the policy does not read elsewhere";
		} else if (c == '#') {
			return "JSON has no comments (#): remove it";
		} else if (c == ',') {
			for (j = i + 1; j < len && blank(text[j]); j++)
				;
			if (j < len && (text[j] == '}' || text[j] == ']') && j + 1 >= pos)
				return text[j] == '}' ? "a trailing comma before '}': JSON allows none after the last member" :
				       "a trailing comma before ']': JSON allows none after the last element";
		}
	}
	return NULL;
}
