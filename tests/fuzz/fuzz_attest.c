// SPDX-License-Identifier: GPL-2.0
/*
 * What attestation and drift read: any text, scanned for other tiers'
 * secrets (fingerprints) and endpoints (names and addresses). Properties:
 * a hit never names the run's own tier or a tier the policy lacks, names
 * come out lowercase without the trailing dot, and nothing before a secret's
 * line or a prod URL hides it (the line and the name appended to any input
 * are always found).
 */
#include <unistd.h>
#include "compile.h"
#include "endpoints.h"
#include "fingerprint.h"
#include "fuzz.h"
#include "policy.h"

#define OWN_TIER	1	/* staging: the run's tier; prod is 2 */

static struct tw_policy *policy;
static struct tw_tables tables;
static struct tw_fp *fp;
static json_t *known;
static const char line[] = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj";
static const char url[] = "postgres://app@FEED-DB.prod.example.:5432/feed";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/tw-fuzz-attest-XXXXXX", path[64], text[1024];
	struct tw_diags d = {};
	FILE *f;

	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/db.pem", dir);
	f = fopen(path, "w");
	fprintf(f, "-----BEGIN PRIVATE KEY-----\n%s\nabc\n-----END PRIVATE KEY-----\n", line);
	fclose(f);
	snprintf(text, sizeof(text),
		 "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
		 "  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"10.20.0.0/16\", \"fd00:20::/32\"],\n"
		 "    \"hostnames\": [\"feed-db.prod.example\", \"*.prod.example\"]},\n"
		 "    {\"tier\": \"prod\", \"cidrs\": [\"10.21.0.0/16\"], \"ports\": [5432]},\n"
		 "    {\"tier\": \"staging\", \"cidrs\": [\"10.30.0.0/16\"], \"hostnames\": [\"db.staging.example\"]} ],\n"
		 "  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/\"]} ] }", dir);
	if (tw_policy_parse("p.json", text, strlen(text), &policy, &d) || tw_compile(policy, &tables, &d) ||
	    tw_fp_build(&fp, policy))
		abort();
	unlink(path);
	rmdir(dir);	/* the fingerprints stay; the files are not needed any more */
	known = json_pack("{s:[s, s]}", "feed-db.prod.example", "192.0.2.7", "2001:db8::7");
	return 0;
}

static void on_fp(void *arg, const struct tw_fp_hit *h)
{
	FZ_CHECK(h->tier == 2, "secret hit of tier %d", h->tier);
	FZ_CHECK(h->kind >= TW_FP_FILE && h->kind <= TW_FP_TOKEN, "kind %d", h->kind);
	*(int *)arg |= 1;
}

static void on_ep(void *arg, const struct tw_ep_hit *h)
{
	size_t n = strlen(h->value), i;

	FZ_CHECK(h->tier == 2, "endpoint hit of tier %d (%s)", h->tier, h->value);
	FZ_CHECK(n && h->value[n - 1] != '.', "value \"%s\"", h->value);
	for (i = 0; !strcmp(h->what, "hostname") && i < n; i++)
		FZ_CHECK(h->value[i] < 'A' || h->value[i] > 'Z', "uppercase in \"%s\"", h->value);
	*(int *)arg |= !strcmp(h->value, "feed-db.prod.example") ? 2 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + sizeof(line) + sizeof(url) + 2);
	int found = 0;

	if (!text)
		abort();
	memcpy(text, data, size);
	tw_fp_scan(fp, text, size, 1, true, OWN_TIER, on_fp, &found);
	tw_ep_scan(policy, &tables, known, text, size, 1, OWN_TIER, on_ep, &found);
	/* Whatever came before, a prod key line and a prod URL on lines of their own are found. */
	size += sprintf(text + size, "\n%s\n%s", line, url);
	found = 0;
	tw_fp_scan(fp, text, size, 1, false, OWN_TIER, on_fp, &found);
	tw_ep_scan(policy, &tables, known, text, size, 1, OWN_TIER, on_ep, &found);
	FZ_CHECK(found == 3, "the appended key line and URL were not both found (%d)", found);
	free(text);
	return 0;
}
