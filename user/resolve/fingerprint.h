/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_FINGERPRINT_H
#define TW_FINGERPRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "policy.h"

/*
 * SHA-256 fingerprints of every tier's secret files, never their content:
 * the whole file, each line that carries a credential, and each credential
 * token. A token is a run of at least TW_FP_MIN_TOKEN characters of
 * [A-Za-z0-9+/=] (trailing '=' dropped) that mixes letters and digits,
 * carries at least 3 bits of Shannon entropy per character and changes
 * character class (lower, upper, digit, other) at least once every 6
 * characters: random keys pass (97% at 20 characters, all but 1 in 1,000
 * at 40), words, paths, dates and identifiers joined by '_', '-' or '.' do
 * not. Blank lines, PEM armour and lines without such a token are never
 * fingerprinted, a file without one is not either, and a fingerprint that
 * two tiers' secrets share never counts.
 */
#define TW_FP_MIN_TOKEN		20
#define TW_FP_MAX_FILE		(1 << 20)	/* larger files are not fingerprinted */
#define TW_FP_MAX_FILES		10000
#define TW_FP_MAX_BYTES		(64 << 20)	/* read per build */

enum tw_fp_kind { TW_FP_FILE = 1, TW_FP_LINE = 2, TW_FP_TOKEN = 3 };

struct tw_fp_hit {
	int tier;		/* the tier that owns the secret */
	int secret;		/* its policy path (index in policy->secrets) */
	const char *copies;	/* the secret file whose content matched */
	enum tw_fp_kind kind;
	long line;		/* where in the scanned text (1-based), 0: the whole text */
};

typedef void (*tw_fp_cb)(void *arg, const struct tw_fp_hit *h);

struct tw_fp;

/*
 * Fingerprint the policy's secret files as they are now, and watch them
 * (inotify) for changes. Files that cannot be read or are too large are
 * counted, not fatal.
 */
int tw_fp_build(struct tw_fp **out, const struct tw_policy *p);
void tw_fp_free(struct tw_fp *x);

/* Does s[0..n) hold a credential token (the rule above)? */
bool tw_fp_is_credential(const char *s, size_t n);

/*
 * Report what in text matches another tier's secret (any tier but skip_tier;
 * 0 reports all): with whole, the text as a whole; each line; each token. A
 * line is reported once per secret file; first_line numbers the text's first line.
 */
void tw_fp_scan(const struct tw_fp *x, const char *text, size_t len, long first_line,
		bool whole, int skip_tier, tw_fp_cb cb, void *arg);

/* Is (kernel dev_t, inode) one of the fingerprinted files themselves? */
bool tw_fp_is_secret_file(const struct tw_fp *x, uint32_t kdev, uint64_t ino);
/* The largest fingerprinted file (nothing larger can be a whole copy). */
size_t tw_fp_max_size(const struct tw_fp *x);

/* inotify descriptor over the secret files' directories; -1 if none. */
int tw_fp_fd(const struct tw_fp *x);
/* Read its events: true if a secret file may have changed (rebuild). */
bool tw_fp_changed(struct tw_fp *x);

/* {"files", "fingerprints", "shared", "skipped"} */
json_t *tw_fp_status(const struct tw_fp *x);

#endif
