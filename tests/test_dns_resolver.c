// SPDX-License-Identifier: GPL-2.0
/*
 * Hostnames end to end, the resolver's side (host only: the guests have no
 * dnsmasq): a changed record is followed after its TTL and the old address
 * kept for the grace period, a missing name is retried and reported, a new
 * server in /etc/resolv.conf is used without a reload.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "dnse2e.h"
#include "fixture.h"
#include "net.h"
#include "test.h"

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

TEST(resolver_ttl_refresh_and_grace)
{
	static const char *const extra[] = { "--dns-grace", "4s", NULL };
	struct fx f;
	struct fx_dns x;
	int port = fx_port(2);
	json_t *e;

	if (dns_setup(&f, &x, extra))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM, "v1 address denied");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.9", port, NULL), ECONNREFUSED,
		  "future address still free");
	/* The record changes; TTL 1 s: the daemon must notice on its own. */
	ASSERT_OK(fx_dns_set_hosts(&x, "127.44.0.9 api.prod.test\n127.45.0.1 api.staging.test\n"), "change record");
	ASSERT_TRUE(eventually(&f, "127.44.0.9", port, EPERM, 10), "new address denied after the TTL refresh");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "old address still denied within the grace period");
	ASSERT_TRUE(eventually(&f, "127.44.0.1", port, ECONNREFUSED, 15), "old address released after the grace period");
	e = fx_daemon_event(&f, "hostname_addresses");
	ASSERT_TRUE(e != NULL, "address changes are logged");
	json_decref(e);
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

TEST(resolver_unresolvable_name_retried_and_reported)
{
	char maddr[64], out[8192];
	const char *extra[] = { "--metrics", maddr, NULL };
	struct fx f;
	struct fx_dns x;
	int port = fx_port(3);
	json_t *e;
	/* The guests' static daemon has no HTTP metrics (no static GnuTLS): checked on the host. */
	bool metrics = fx_sh(NULL, 0, "grep -q 'has no HTTP metrics' %s/tierwalld", tw_build_dir) != 0;

	/* late.prod.test does not exist yet: the daemon starts all the same. */
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%d", fx_port(4));
	if (dns_setup(&f, &x, metrics ? extra : NULL))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "the rest of the policy is enforced");
	e = fx_daemon_event(&f, "hostname_unresolved");
	ASSERT_STREQ(e ? jstr(e, "hostname") : NULL, "late.prod.test", "failure reported in the log");
	json_decref(e);
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock), 0, "status");
	ASSERT_CONTAINS(out, "\"failing\"", "status shows the failing name");
	if (metrics && ASSERT_OK(fx_http_get(fx_port(4), "/metrics", out, sizeof(out)), "metrics")) {
		ASSERT_CONTAINS(out, "tierwall_hostnames 3\n", "exact names counted");
		ASSERT_CONTAINS(out, "tierwall_hostnames_failing 1\n", "the failing one too");
	}
	ASSERT_OK(fx_dns_set_hosts(&x, HOSTS_V1 "127.44.0.5 late.prod.test\n"), "the name appears");
	ASSERT_TRUE(eventually(&f, "127.44.0.5", port, EPERM, 12), "retried with backoff, then enforced");
	e = fx_daemon_event(&f, "hostname_resolved");
	ASSERT_STREQ(e ? jstr(e, "hostname") : NULL, "late.prod.test", "recovery reported");
	json_decref(e);
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* The daemon follows /etc/resolv.conf: a new server is used without a reload. */
TEST(resolver_change_followed)
{
	struct fx f;
	struct fx_dns x;
	int port = fx_port(7);
	long long end;
	bool failing;
	char out[8192];
	json_t *e = NULL;

	if (dns_setup(&f, &x, NULL))
		goto out;
	/* A server nobody answers at: every name starts failing. */
	ASSERT_OK(fx_dns_set_resolver(&f, "127.0.0.2"), "resolver moved away");
	/* The daemon retries on its own time: ask its status until it says so (bounded). */
	end = fx_now_ms() + fx_timeout_ms(60000);
	do {
		fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock);
		failing = strstr(out, "api.prod.test") && strstr(out, "\"failures\": 2");
	} while (!failing && fx_now_ms() < end && !usleep(100 * 1000));
	ASSERT_TRUE(failing, "names fail against the dead server (and addresses are kept)");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "known address still enforced while resolution fails");
	/* The real server is back, and late.prod.test now exists. */
	ASSERT_OK(fx_dns_set_hosts(&x, HOSTS_V1 "127.44.0.5 late.prod.test\n"), "new record");
	ASSERT_OK(fx_dns_set_resolver(&f, "127.0.0.1"), "resolver back");
	ASSERT_TRUE(eventually(&f, "127.44.0.5", port, EPERM, 6), "resolved soon after the change");
	e = fx_await_daemon_event(&f, "resolver_changed");
	ASSERT_TRUE(e != NULL, "the change is on the record");
	json_decref(e);
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}
