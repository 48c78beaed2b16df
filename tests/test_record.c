// SPDX-License-Identifier: GPL-2.0
/*
 * Records that cannot be blinded: whatever bytes and sizes a process puts
 * in its cgroup, file or task names, the decision is written, verifiable,
 * and readable by `tierwall events`; strict UTF-8 with the exact bytes kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include "event.h"
#include "evlog.h"
#include "evquery.h"
#include "fixture.h"
#include "policy.h"
#include "test.h"
#include "text.h"
#include "util.h"

TEST(unit_utf8_strict)
{
	static const struct { const char *s; bool ok; const char *what; } cases[] = {
		{ "plain", true, "ASCII" },
		{ "caf\xc3\xa9", true, "2-byte" },
		{ "\xe2\x82\xac", true, "3-byte" },
		{ "\xf0\x9f\x98\x80", true, "4-byte" },
		{ "\xf4\x8f\xbf\xbf", true, "U+10FFFF" },
		{ "\xed\x9f\xbf", true, "U+D7FF, just below the surrogates" },
		{ "\xed\xa0\x80", false, "a surrogate (U+D800)" },
		{ "\xed\xbf\xbf", false, "a surrogate (U+DFFF)" },
		{ "\xff", false, "0xff" },
		{ "\xc0\xaf", false, "overlong 2-byte" },
		{ "\xe0\x80\xaf", false, "overlong 3-byte" },
		{ "\xf0\x80\x80\xaf", false, "overlong 4-byte" },
		{ "\xf4\x90\x80\x80", false, "past U+10FFFF" },
		{ "\xf5\x80\x80\x80", false, "0xf5 lead" },
		{ "\xc3", false, "cut short" },
		{ "\xe2\x82", false, "cut short (3)" },
		{ "\x80", false, "lone continuation" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		ASSERT_EQ(tw_utf8_valid(cases[i].s, strlen(cases[i].s)), cases[i].ok, cases[i].what);
}

/* The daemon's own records (tags, runs, requests) take outside names through tw_json_set_text. */
TEST(unit_text_field_cut_says_truncated)
{
	char *huge = malloc(TW_FIELD_MAX + 2);
	json_t *o = json_object();

	if (!ASSERT_TRUE(huge && o, "setup"))
		goto out;
	memset(huge, 'a', TW_FIELD_MAX);
	huge[TW_FIELD_MAX] = '\0';
	tw_json_set_text(o, "cgroup", huge);
	ASSERT_EQ(json_string_length(json_object_get(o, "cgroup")), TW_FIELD_MAX, "a field of the longest size");
	ASSERT_TRUE(!json_object_get(o, "cgroup_truncated"), "is whole");
	huge[TW_FIELD_MAX] = 'b';
	huge[TW_FIELD_MAX + 1] = '\0';
	tw_json_set_text(o, "cgroup", huge);
	ASSERT_EQ(json_string_length(json_object_get(o, "cgroup")), TW_FIELD_MAX, "one byte longer: cut");
	ASSERT_TRUE(json_is_true(json_object_get(o, "cgroup_truncated")), "and says so");
out:
	json_decref(o);
	free(huge);
}

static const char *hostile;

static const char *hostile_path(void *arg, uint64_t id)
{
	return id == 1 ? hostile : NULL;
}

/* The bytes behind a "<key>_raw" member. */
static int unbase64(const char *b64, unsigned char *out, size_t cap)
{
	size_t n = strlen(b64);
	int len;

	if (!b64 || n / 4 * 3 > cap)
		return -1;
	len = EVP_DecodeBlock(out, (const unsigned char *)b64, n);
	if (len >= 0)
		len -= (n && b64[n - 1] == '=') + (n > 1 && b64[n - 2] == '=');
	return len;
}

/* One kernel record through the real encoder and log writer, read back from the file. */
static json_t *roundtrip(const char *dir, const void *rec, const struct tw_event_ctx *c)
{
	static char body[TW_EVENT_MAX];
	const struct tw_evlog_opts o = {};
	struct tw_evlog *l;
	char **files, out[1024];
	json_t *r = NULL;
	FILE *f;
	int n;

	n = tw_event_body(rec, c, body, sizeof(body));
	if (!ASSERT_TRUE(n > 0, "the record is encoded") ||
	    !ASSERT_OK(tw_evlog_open(&l, dir, &o), "log"))
		return NULL;
	ASSERT_OK(tw_evlog_append_body(l, body, n), "appended");
	tw_evlog_close(l);
	f = fmemopen(out, sizeof(out), "w");
	ASSERT_OK(tw_verify_log(dir, f, NULL), "verify-log accepts it");
	fclose(f);
	files = tw_evlog_files(dir);
	if (files && files[0]) {
		char *text = NULL;

		if (!tw_read_file(files[0], &text, NULL)) {
			char *last = text + strlen(text) - 1, *nl;

			*last = '\0';	/* the final newline */
			nl = strrchr(text, '\n');
			r = json_loads(nl ? nl + 1 : text, 0, NULL);
		}
		free(text);
	}
	tw_evlog_files_free(files);
	ASSERT_TRUE(r != NULL, "the line read back parses as JSON (jansson is strict UTF-8)");
	return r;
}

static void check_raw(json_t *o, const char *key, const char *want, size_t wantlen)
{
	char k[64];
	unsigned char bytes[TW_FIELD_MAX + 16];
	int n;

	snprintf(k, sizeof(k), "%s_raw", key);
	n = unbase64(json_string_value(json_object_get(o, k)) ?: "", bytes, sizeof(bytes));
	if (ASSERT_EQ(n, (long long)wantlen, k))
		ASSERT_TRUE(!memcmp(bytes, want, wantlen), "the raw bytes are exactly the name's");
}

TEST(unit_event_hostile_names_never_dropped)
{
	const char *text = "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}} }";
	struct tw_event e = {
		.h = { .kind = TW_EV_CONNECT, .size = sizeof(e), .verdict = TW_VERDICT_DENY,
		       .tier = 1, .target_tier = 2, .cgroup_id = 1, .tagged_cgroup_id = 1,
		       .count = 1, .comm = "ag\xff\xed\xa0\x80nt" },
		.family = 4, .proto = IPPROTO_TCP, .dport = 1,
	};
	struct tw_event_ctx c = { .host = "h", .cgroup_path = hostile_path };
	struct tw_diags d = {};
	char *quotes = malloc(16 * 251 + 2), *huge = malloc(3 * TW_FIELD_MAX), *dir = NULL;
	char tmpl[] = "/tmp/tw-record-XXXXXX";
	json_t *o = NULL;
	int i;

	tw_policy_parse("t.json", text, strlen(text), (struct tw_policy **)&c.policy, &d);
	if (!ASSERT_TRUE(c.policy && quotes && huge, "setup") ||
	    !ASSERT_TRUE((dir = mkdtemp(tmpl)) != NULL, "tmp dir"))
		goto out;
	/* 16 levels of 250 '"': 4,016 bytes that escape to twice as many. */
	for (i = 0; i < 16; i++) {
		quotes[i * 251] = '/';
		memset(quotes + i * 251 + 1, '"', 250);
	}
	quotes[16 * 251] = '\0';
	hostile = quotes;
	o = roundtrip(dir, &e, &c);
	ASSERT_STREQ(json_string_value(json_object_get(o, "cgroup")), quotes, "every quote kept");
	ASSERT_TRUE(!json_object_get(o, "cgroup_truncated"), "not cut");
	ASSERT_TRUE(!json_object_get(o, "cgroup_raw"), "valid UTF-8 has no raw copy");
	ASSERT_STREQ(json_string_value(json_object_get(o, "comm")), "ag\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdnt",
		     "comm: each bad byte is U+FFFD");
	check_raw(o, "comm", "ag\xff\xed\xa0\x80nt", 8);
	json_decref(o);

	/* Not UTF-8: a surrogate and 0xff, as cgroup names. */
	hostile = "/agents/\xed\xa0\x80/x\xff";
	o = roundtrip(dir, &e, &c);
	ASSERT_STREQ(json_string_value(json_object_get(o, "cgroup")),
		     "/agents/\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd/x\xef\xbf\xbd", "U+FFFD in place of bad bytes");
	check_raw(o, "cgroup", hostile, strlen(hostile));
	check_raw(o, "tagged_cgroup", hostile, strlen(hostile));
	json_decref(o);

	/* Longer than any field may be: cut, said so, still one record. Control bytes escape 6x. */
	memset(huge, '\x01', 3 * TW_FIELD_MAX - 1);
	huge[0] = '/';
	huge[3 * TW_FIELD_MAX - 1] = '\0';
	huge[100] = '\xff';
	hostile = huge;
	o = roundtrip(dir, &e, &c);
	ASSERT_EQ(strlen(json_string_value(json_object_get(o, "cgroup")) ?: ""), TW_FIELD_MAX + 2,
		  "cut at TW_FIELD_MAX bytes (one of them U+FFFD)");
	ASSERT_TRUE(json_is_true(json_object_get(o, "cgroup_truncated")), "cgroup_truncated");
	check_raw(o, "cgroup", huge, TW_FIELD_MAX);
out:
	json_decref(o);
	if (dir)
		fx_sh(NULL, 0, "rm -rf %s", dir);
	free(quotes);
	free(huge);
	tw_policy_free((struct tw_policy *)c.policy);
	tw_diags_free(&d);
}

/* What cannot be encoded at all is still a record: lost, with the reason. */
TEST(unit_event_unreadable_record_is_lost_record)
{
	struct tw_event_hdr h = { .kind = 99, .size = sizeof(h), .count = 3, .cgroup_id = 5 };
	struct tw_event_ctx c = { .host = "h" };
	json_t *o;

	ASSERT_NE(tw_event_check(&h, sizeof(h)), 0, "an unknown kind is refused by the check");
	o = tw_event_lost(&h, sizeof(h), "record_not_understood", &c);
	ASSERT_STREQ(json_string_value(json_object_get(o, "kind")), "lost", "kind lost");
	ASSERT_STREQ(json_string_value(json_object_get(o, "reason")), "record_not_understood", "reason");
	ASSERT_EQ(json_integer_value(json_object_get(o, "count")), 3, "the decisions it stood for");
	ASSERT_EQ(json_integer_value(json_object_get(o, "cgroup_id")), 5, "what the header tells");
	json_decref(o);
}
