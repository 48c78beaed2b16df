// SPDX-License-Identifier: GPL-2.0
/* Strict UTF-8 and base64 for strings from outside. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "text.h"

/* Unicode 15, table 3-7: the well-formed byte sequences. */
int tw_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	int len, i;

	if (!n)
		return 0;
	if (c && c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;	/* overlong */
	else if (c == 0xed)
		hi = 0x9f;	/* surrogates */
	else if (c == 0xf0)
		lo = 0x90;	/* overlong */
	else if (c == 0xf4)
		hi = 0x8f;	/* past U+10FFFF */
	if ((size_t)len > n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

bool tw_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		int k = tw_utf8_seq(p + i, n - i);

		if (!k)
			return false;
		i += k;
	}
	return true;
}

char *tw_utf8_fix(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char *out = malloc(3 * n + 1), *o = out;
	size_t i = 0;

	if (!out)
		return NULL;
	while (i < n) {
		int k = tw_utf8_seq(p + i, n - i);

		if (k) {
			memcpy(o, p + i, k);
			o += k;
			i += k;
		} else {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	*o = '\0';
	return out;
}

size_t tw_base64(const void *data, size_t n, char *out)
{
	/* OpenSSL's encoder: no home-made base64 either. */
	return EVP_EncodeBlock((unsigned char *)out, data, n);
}

void tw_json_set_text(json_t *o, const char *key, const char *s)
{
	char k[128];
	size_t n;

	if (!s) {
		json_object_set_new(o, key, json_null());
		return;
	}
	n = strlen(s);
	if (n > TW_FIELD_MAX) {
		n = TW_FIELD_MAX;
		snprintf(k, sizeof(k), "%s_truncated", key);
		json_object_set_new(o, k, json_true());
	}
	if (tw_utf8_valid(s, n)) {
		json_object_set_new(o, key, json_stringn(s, n));
		return;
	}
	{
		char *fixed = tw_utf8_fix(s, n), *b64 = malloc(TW_B64_LEN(n));

		if (fixed && b64) {
			tw_base64(s, n, b64);
			json_object_set_new(o, key, json_string(fixed));
			snprintf(k, sizeof(k), "%s_raw", key);
			json_object_set_new(o, k, json_string(b64));
		}
		free(fixed);
		free(b64);
	}
}
