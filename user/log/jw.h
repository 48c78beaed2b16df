/* SPDX-License-Identifier: GPL-2.0 */
/* The event encoder's JSON writer (event.c, evlog.c): text into a fixed buffer. */
#ifndef TW_LOG_JW_H
#define TW_LOG_JW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include "text.h"

/*
 * The decision encoder writes JSON text straight into a buffer: no tree,
 * no allocation, no printf. It is the hot path of the daemon (one call per
 * kernel record); a jansson tree per record cost most of the daemon's time.
 */
struct w {
	char *p;
	size_t n, cap;
	bool comma;
};

static inline void w_raw(struct w *w, const char *s, size_t n)
{
	if (w->n + n <= w->cap)
		memcpy(w->p + w->n, s, n);
	w->n += n;	/* past cap: counted, to report the size needed */
}

static inline void w_lit(struct w *w, const char *s)
{
	w_raw(w, s, strlen(s));
}

static inline void w_key(struct w *w, const char *key)
{
	size_t k = strlen(key);	/* a literal: folded at compile time */
	char *o = w->p + w->n;

	if (w->n + k + 4 > w->cap) {
		w->n += k + 3 + w->comma;	/* counted, to report the size needed */
		w->comma = true;
		return;
	}
	/* One store per piece: keys are most of the bytes of a record. */
	if (w->comma)
		*o++ = ',';
	w->comma = true;
	*o++ = '"';
	memcpy(o, key, k);
	o += k;
	*o++ = '"';
	*o++ = ':';
	w->n = o - w->p;
}

/* Bytes that stand for themselves in a JSON string: printable ASCII but " and \\. */
static const bool tw_json_plain[256] = {
	[0x20 ... 0x21] = true, [0x23 ... 0x5b] = true, [0x5d ... 0x7e] = true,
};

/* Some byte of x is below 0x20, 0x7f, '"', '\\' or not ASCII (exact for "any"). */
static inline bool tw_json_word_special(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ull, high = ones << 7;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), d = x ^ (ones * 0x7f);

	/* (v - ones * c) & ~v & high: some byte of v is below c (c <= 0x80). */
	return (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) |
		((d - ones) & ~d) | x) & high;
}

/* How many bytes from p on stand for themselves: 8 at a time while they can. */
static inline size_t tw_json_plain_run(const unsigned char *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x;

		memcpy(&x, p + i, 8);
		if (tw_json_word_special(x))
			break;
	}
	while (i < n && tw_json_plain[p[i]])
		i++;
	return i;
}

/*
 * A JSON string of the first n bytes of s: escaped, and each byte that is
 * not part of a strict UTF-8 sequence as U+FFFD. False if there was one.
 */
static inline bool w_strn(struct w *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	bool valid = true;

	w_raw(w, "\"", 1);
	while (p < end) {
		char esc[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15] };
		int k;

		if (*p == '"' || *p == '\\') {
			esc[1] = *p;
			w_raw(w, esc, 2);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			w_raw(w, esc, 6);
			p++;
		} else if (*p < 0x80) {
			size_t k = tw_json_plain_run(p, end - p);

			w_raw(w, (const char *)p, k);
			p += k;
		} else if ((k = tw_utf8_seq(p, end - p))) {
			w_raw(w, (const char *)p, k);
			p += k;
		} else {
			w_lit(w, "\\ufffd");
			valid = false;
			p++;
		}
	}
	w_raw(w, "\"", 1);
	return valid;
}

static inline void w_str(struct w *w, const char *s)
{
	if (!s)
		w_raw(w, "null", 4);
	else
		w_strn(w, s, strlen(s));
}

static inline void w_true(struct w *w, const char *key, const char *suffix)
{
	char k[64];

	snprintf(k, sizeof(k), "%s%s", key, suffix);
	w_key(w, k);
	w_lit(w, "true");
}

/*
 * A string from outside the daemon, never dropped: cut at TW_FIELD_MAX with
 * "<key>_truncated", and its exact bytes in "<key>_raw" (base64) if they are
 * not UTF-8. The record's size stays bounded whatever the process chose.
 */
static inline void w_ktext(struct w *w, const char *key, const char *s, size_t n)
{
	char b64[TW_B64_LEN(TW_FIELD_MAX)];
	bool cut = n > TW_FIELD_MAX;

	if (!s) {
		w_key(w, key);
		w_raw(w, "null", 4);
		return;
	}
	if (cut)
		n = TW_FIELD_MAX;
	w_key(w, key);
	if (!w_strn(w, s, n)) {
		char k[64];

		snprintf(k, sizeof(k), "%s_raw", key);
		w_key(w, k);
		w_raw(w, "\"", 1);
		w_raw(w, b64, tw_base64(s, n, b64));
		w_raw(w, "\"", 1);
	}
	if (cut)
		w_true(w, key, "_truncated");
}

static inline void w_kcstr(struct w *w, const char *key, const char *s)
{
	w_ktext(w, key, s, s ? strlen(s) : 0);
}

static inline void w_u64(struct w *w, uint64_t v)
{
	char d[20];
	int i = sizeof(d);

	do {
		d[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	w_raw(w, d + i, sizeof(d) - i);
}

/* Dotted quad of 4 bytes in network order (as inet_ntop, without its printf). */
static inline void w_ipv4(struct w *w, const uint8_t *a)
{
	int i;

	for (i = 0; i < 4; i++) {
		if (i)
			w_raw(w, ".", 1);
		w_u64(w, a[i]);
	}
}

/*
 * IPv6 text exactly as glibc's inet_ntop writes it: the first longest run
 * of two or more zero groups as "::", lowercase hex without leading zeros,
 * ::ffff:a.b.c.d and ::a.b.c.d with a dotted quad.
 */
static inline void w_ipv6(struct w *w, const uint8_t *a)
{
	static const char hex[] = "0123456789abcdef";
	int words[8], best = -1, best_len = 0, cur = -1, i;

	for (i = 0; i < 8; i++) {
		words[i] = a[2 * i] << 8 | a[2 * i + 1];
		if (!words[i] && cur < 0)
			cur = i;
		if ((words[i] || i == 7) && cur >= 0) {
			int len = (words[i] ? i : 8) - cur;

			if (len > best_len) {
				best = cur;
				best_len = len;
			}
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (i = 0; i < 8; i++) {
		char d[4];
		int n = 0, v = words[i], shift;

		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				w_raw(w, ":", 1);
			continue;
		}
		if (i)
			w_raw(w, ":", 1);
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
			w_ipv4(w, a + 12);
			return;
		}
		for (shift = 12; shift > 0 && !(v >> shift); shift -= 4)
			;
		for (; shift >= 0; shift -= 4)
			d[n++] = hex[(v >> shift) & 15];
		w_raw(w, d, n);
	}
	if (best >= 0 && best + best_len == 8)
		w_raw(w, ":", 1);
}

static inline void w_kstr(struct w *w, const char *key, const char *v)
{
	w_key(w, key);
	w_str(w, v);
}

/*
 * "key":"s" for a name the daemon itself made (its own tables, a policy
 * digest): nothing in it needs escaping, so it is copied as is.
 */
static inline void w_kplain(struct w *w, const char *key, const char *s)
{
	w_key(w, key);
	w_raw(w, "\"", 1);
	w_lit(w, s);
	w_raw(w, "\"", 1);
}

static inline void w_ku64(struct w *w, const char *key, uint64_t v)
{
	w_key(w, key);
	w_u64(w, v);
}

/* RFC 3339 with ns; the date part is formatted once per second. */
static inline void w_ts(struct w *w, uint64_t ns)
{
	static __thread time_t last = -1;
	static __thread char date[32];
	time_t secs = ns / 1000000000ull;
	uint64_t frac = ns % 1000000000ull;
	char f[10];
	int i;

	if (secs != last) {
		struct tm tm;

		gmtime_r(&secs, &tm);
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S.", &tm);
		last = secs;
	}
	for (i = 8; i >= 0; i--, frac /= 10)
		f[i] = '0' + frac % 10;
	f[9] = 'Z';
	w_key(w, "ts");
	w_raw(w, "\"", 1);
	w_lit(w, date);
	w_raw(w, f, 10);
	w_raw(w, "\"", 1);
}

#endif
