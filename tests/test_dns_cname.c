// SPDX-License-Identifier: GPL-2.0
/*
 * Names learned from answers: a name no tier owns whose answer CNAMEs into
 * another tier's name (exact, or under a "*." wildcard) must not hand that
 * tier's addresses to a tiered process. dnsmasq's --cname makes the answers
 * (tests/fxdns.c): alias.free.test -> api.prod.test, walias.free.test ->
 * db.wild.prod.test, salias.free.test -> api.staging.test (staging's own).
 */
#include <errno.h>
#include <string.h>
#include "dnse2e.h"
#include "test.h"

#define HOSTS_CNAME HOSTS_V1 "127.44.0.8 db.wild.prod.test\n"

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

TEST(dns_cname_into_other_tier_dropped)
{
	struct fx f;
	struct fx_dns x;
	json_t *e;
	pid_t pid;

	if (dns_setup_with(&f, &x, NULL, dns_policy, HOSTS_CNAME))
		goto out;
	/* Untagged: the aliases resolve to prod's addresses (the zone really answers). */
	ASSERT_OK(lookup_in(&f, "other", "alias.free.test", "127.44.0.1", NULL), "untagged: alias -> prod");
	ASSERT_OK(lookup_in(&f, "other", "walias.free.test", "127.44.0.8", NULL), "untagged: alias -> wildcard prod");

	ASSERT_EQ(lookup_in(&f, "staging", "alias.free.test", NULL, &pid), 1,
		  "staging: an alias into a prod name does not resolve");
	e = fx_event_kind(&f, "dns", pid);
	if (ASSERT_TRUE(e != NULL, "dns event")) {
		ASSERT_STREQ(jstr(e, "verdict"), "deny", "verdict");
		ASSERT_STREQ(jstr(e, "reason"), "answer_names_other_tier", "reason");
		ASSERT_STREQ(jstr(e, "name"), "api.prod.test", "the name in the answer");
		ASSERT_STREQ(jstr(e, "hostname"), "api.prod.test", "policy hostname");
		ASSERT_STREQ(jstr(e, "target_tier"), "prod", "owner");
		ASSERT_STREQ(jstr(e, "tier"), "staging", "receiver");
	}
	json_decref(e);
	ASSERT_EQ(lookup_in(&f, "staging", "walias.free.test", NULL, NULL), 1,
		  "staging: an alias into a wildcard prod name does not resolve");
	ASSERT_EQ(query_in(&f, "staging", "127.0.0.1", "alias.free.test", true, NULL), ETIMEDOUT,
		  "staging: nor over TCP");

	/* Controls: staging's own names and names no tier owns, directly or by alias. */
	ASSERT_OK(lookup_in(&f, "staging", "salias.free.test", "127.45.0.1", NULL), "staging: alias -> own name");
	ASSERT_OK(lookup_in(&f, "staging", "free.test", "127.46.0.1", NULL), "staging: a free name");
	ASSERT_OK(query_in(&f, "other", "127.0.0.1", "alias.free.test", true, NULL), "untagged: over TCP");
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}
