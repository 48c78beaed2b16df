// SPDX-License-Identifier: GPL-2.0
/*
 * The "attest" request: before `tierwall run` starts a command, its
 * environment, arguments and --attest files are matched here against the
 * other tiers' secrets (fingerprints) and endpoints (hostnames, addresses).
 * Matching stays in the daemon: the CLI never sees a fingerprint, so short
 * tokens cannot be brute-forced from them, and a finding names where and
 * whose, never the secret.
 *
 *   {"cmd":"attest", "tier":"staging", "items":[{"where":"env DATABASE_URL",
 *    "b64":"...", "line":1, "whole":true}, ...]}
 *   -> {"ok":true, "findings":[{"where", "line", "tier", "match", "rule", ...}]}
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include "attestd.h"
#include "drift.h"
#include "fill.h"
#include "endpoints.h"
#include "fingerprint.h"

#define MAX_FINDINGS	256

struct collect {
	struct daemon *d;
	json_t *findings;
	const char *where;
};

static const char *const match_names[] = {
	[TW_FP_FILE] = "file", [TW_FP_LINE] = "line", [TW_FP_TOKEN] = "token",
};

static void add(struct collect *c, json_t *f, long line)
{
	if (json_array_size(c->findings) >= MAX_FINDINGS) {
		json_decref(f);
		return;
	}
	json_object_set_new(f, "where", json_string(c->where));
	if (line)
		json_object_set_new(f, "line", json_integer(line));
	json_array_append_new(c->findings, f);
}

static void on_secret(void *arg, const struct tw_fp_hit *h)
{
	struct collect *c = arg;
	const struct tw_policy_secret *s = &c->d->policy->secrets[h->secret];

	add(c, json_pack("{s:s, s:s, s:s, s:s, s:s}", "tier", dm_tier_name(c->d, h->tier),
			 "match", match_names[h->kind], "secret", s->path, "copies", h->copies,
			 "rule", s->jpath), h->line);
}

static void on_endpoint(void *arg, const struct tw_ep_hit *h)
{
	struct collect *c = arg;

	add(c, json_pack("{s:s, s:s, s:s, s:s}", "tier", dm_tier_name(c->d, h->tier),
			 "match", h->what, "value", h->value, "rule", h->rule), h->line);
}

/* Base64 without line breaks into a malloc'd buffer; NULL if it is not that. */
static char *decode(const char *b64, size_t *len)
{
	size_t n = strlen(b64), pad = 0;
	char *out;
	int r;

	if (n % 4)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	r = n ? EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)b64, n) : 0;
	if (r < 0) {
		free(out);
		return NULL;
	}
	pad = (n && b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
	*len = r - pad;
	out[*len] = '\0';
	return out;
}

json_t *dm_cmd_attest(struct daemon *d, json_t *req)
{
	const char *tier = json_string_value(json_object_get(req, "tier"));
	struct collect c = { .d = d };
	json_t *items = json_object_get(req, "items"), *it, *known;
	const struct tw_fp *fp = dm_fingerprints(d);
	int t;
	size_t i;

	if (!tier || !json_is_array(items))
		return json_pack("{s:b, s:s}", "ok", 0, "error", "request needs \"tier\" and \"items\"");
	t = tw_policy_tier_id(d->policy, tier);
	if (!t)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "unknown tier");
	/* The tables the scan judges by are the kernel's: mapped for the scan only. */
	if (tw_bpf_share_tables(d->bpf, &d->tables))
		return json_pack("{s:b, s:s}", "ok", 0, "error", "cannot map the policy tables");
	c.findings = json_array();
	known = tw_dns_known(d->dns);
	json_array_foreach(items, i, it) {
		const char *b64 = json_string_value(json_object_get(it, "b64"));
		long line = json_integer_value(json_object_get(it, "line")) ?: 1;
		size_t len;
		char *text;

		c.where = json_string_value(json_object_get(it, "where"));
		if (!c.where || !b64 || !(text = decode(b64, &len))) {
			tw_fill_unshare(&d->tables);
			json_decref(c.findings);
			json_decref(known);
			return json_pack("{s:b, s:s}", "ok", 0, "error",
					 "each item needs \"where\" and \"b64\" (base64 text)");
		}
		tw_fp_scan(fp, text, len, line, json_is_true(json_object_get(it, "whole")), t,
			   on_secret, &c);
		tw_ep_scan(d->policy, &d->tables, known, text, len, line, t, on_endpoint, &c);
		free(text);
	}
	tw_fill_unshare(&d->tables);
	json_decref(known);
	return json_pack("{s:b, s:o, s:b}", "ok", 1, "findings", c.findings,
			 "truncated", json_array_size(c.findings) >= MAX_FINDINGS);
}
