// SPDX-License-Identifier: GPL-2.0
/*
 * Attestation for `tierwall run`, the client side: the command's
 * environment, its arguments and each --attest file go to the daemon, which
 * alone holds the fingerprints and judges them (never this unprivileged
 * process). Texts travel as base64 (files need not be UTF-8) in requests of
 * at most CHUNK bytes, split at line ends, each piece saying where it came
 * from and at which line it starts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "cli.h"
#include "log.h"
#include "util.h"

#define CHUNK	(32 * 1024)	/* raw bytes per request: 64 KiB is a request's limit */

extern char **environ;

struct batch {
	const char *tier;
	json_t *items;
	size_t bytes;
	json_t *findings;
	bool failed;
};

static void flush(struct batch *b)
{
	json_t *r, *f;
	size_t i;

	if (!json_array_size(b->items) || b->failed) {
		json_array_clear(b->items);
		b->bytes = 0;
		return;
	}
	r = tw_call(json_pack("{s:s, s:s, s:O}", "cmd", "attest", "tier", b->tier, "items", b->items));
	if (!r) {
		b->failed = true;
	} else {
		json_array_foreach(json_object_get(r, "findings"), i, f)
			json_array_append(b->findings, f);
		json_decref(r);
	}
	json_array_clear(b->items);
	b->bytes = 0;
}

static void add_piece(struct batch *b, const char *where, const char *text, size_t len,
		      long line, bool whole)
{
	char *enc = malloc(4 * ((len + 2) / 3) + 1);

	if (!enc) {
		b->failed = true;
		return;
	}
	if (b->bytes + len > CHUNK)
		flush(b);
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)text, len);
	json_array_append_new(b->items, json_pack("{s:s, s:s, s:i, s:b}", "where", where,
						  "b64", enc, "line", (int)line, "whole", whole));
	free(enc);
	b->bytes += len;
}

/* A text in pieces of at most CHUNK bytes, cut after a newline where there is one. */
static void add_text(struct batch *b, const char *where, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	long line = 1;

	if (len <= CHUNK) {
		add_piece(b, where, text, len, 1, true);
		return;
	}
	while (p < end) {
		size_t n = end - p > CHUNK ? CHUNK : (size_t)(end - p);
		const char *nl = n < (size_t)(end - p) ? memrchr(p, '\n', n) : NULL;
		const char *q;

		if (nl)
			n = nl - p + 1;
		add_piece(b, where, p, n, line, false);
		for (q = p; q < p + n; q++)
			line += *q == '\n';
		p += n;
	}
}

json_t *tw_attest(const char *tier, char *const *cmd, char *const *files, int nfiles)
{
	struct batch b = { .tier = tier, .items = json_array(), .findings = json_array() };
	char where[256], *text;
	size_t len;
	int i, err;

	for (i = 0; environ && environ[i]; i++) {
		const char *eq = strchr(environ[i], '=');

		if (!eq)
			continue;
		snprintf(where, sizeof(where), "env %.*s", (int)(eq - environ[i]), environ[i]);
		add_text(&b, where, eq + 1, strlen(eq + 1));
	}
	for (i = 0; cmd[i]; i++) {
		snprintf(where, sizeof(where), "argv[%d]", i);
		add_text(&b, where, cmd[i], strlen(cmd[i]));
	}
	for (i = 0; i < nfiles && !b.failed; i++) {
		err = tw_read_file(files[i], &text, &len);
		if (err) {
			tw_err("run: --attest %s: %s", files[i], strerror(-err));
			b.failed = true;
			break;
		}
		add_text(&b, files[i], text, len);
		free(text);
	}
	flush(&b);
	json_decref(b.items);
	if (b.failed) {
		json_decref(b.findings);
		return NULL;
	}
	return b.findings;
}

void tw_attest_print(json_t *findings, FILE *f)
{
	json_t *x;
	size_t i;

	json_array_foreach(findings, i, x) {
		const char *match = json_string_value(json_object_get(x, "match")) ?: "?";
		const char *where = json_string_value(json_object_get(x, "where")) ?: "?";
		long line = json_integer_value(json_object_get(x, "line"));
		char at[300];

		if (line && strncmp(where, "env ", 4) && strncmp(where, "argv[", 5))
			snprintf(at, sizeof(at), "%s:%ld", where, line);
		else if (line > 1)
			snprintf(at, sizeof(at), "%s (line %ld)", where, line);
		else
			snprintf(at, sizeof(at), "%s", where);
		if (!strcmp(match, "hostname") || !strcmp(match, "address"))
			fprintf(f, "tierwall run: attest: %s: %s %s of tier %s (%s)\n", at, match,
				json_string_value(json_object_get(x, "value")),
				json_string_value(json_object_get(x, "tier")),
				json_string_value(json_object_get(x, "rule")));
		else
			fprintf(f, "tierwall run: attest: %s: %s of tier %s's secret %s (%s)\n", at,
				!strcmp(match, "file") ? "a whole copy" : !strcmp(match, "line") ?
				"a line" : "a token", json_string_value(json_object_get(x, "tier")),
				json_string_value(json_object_get(x, "copies")),
				json_string_value(json_object_get(x, "rule")));
	}
}
