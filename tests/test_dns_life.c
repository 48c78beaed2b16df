// SPDX-License-Identifier: GPL-2.0
/*
 * Hostnames across routine operations: a reload or a restart while the
 * resolver is unreachable keeps every address a name is known to have.
 * Runs in a private network and mount namespace with its own dnsmasq
 * (fx_dns_start): nothing leaves the machine.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "ctl.h"
#include "fixture.h"
#include "net.h"
#include "test.h"

static const char *policy =
	"{ \"version\": 1,\n"
	"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"db.prod.test\"] } ] }\n";

static const char *policy2 =
	"{ \"version\": 1,\n"
	"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"db.prod.test\"], \"ports\": [%d] } ] }\n";

TEST(resolver_down_known_addresses_kept)
{
	static const char *const cgs[] = { "staging", NULL };
	char text[1024];
	struct fx_dns x = { .old_net = -1, .old_mnt = -1, .old_cwd = -1 };
	int port = fx_port(6), err;
	struct fx f;

	if (!ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	err = fx_dns_start(&x, &f, "127.44.0.7 db.prod.test\n");
	if (err) {
		if (err != 1)
			ASSERT_OK(err, "dnsmasq in a private namespace");
		goto out;
	}
	fx_write_policy(&f, policy);
	if (!ASSERT_OK(fx_start(&f, NULL), "tierwalld starts"))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.7", port, NULL), EPERM,
		  "the name's address is denied");

	/* The resolver goes away. */
	kill(x.dnsmasq, SIGTERM);
	waitpid(x.dnsmasq, NULL, 0);
	x.dnsmasq = 0;
	ASSERT_EQ(tw_dns_ask("127.0.0.1", "db.prod.test", 0), -ETIMEDOUT, "the resolver is unreachable");

	/* A reload: the new policy's resolver cannot ask, but knows what the old one knew. */
	snprintf(text, sizeof(text), policy2, port);
	fx_write_policy(&f, text);
	ASSERT_OK(fx_sighup_reload(&f), "reloaded");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.7", port, NULL), EPERM,
		  "still denied after a reload with the resolver down");

	/* A restart, and a crash: the new daemon starts from what the old one knew. */
	fx_stop(&f);
	if (!ASSERT_OK(fx_start(&f, NULL), "start again with the resolver down"))
		goto out;
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "the new daemon's programs replaced the old ones");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.7", port, NULL), EPERM,
		  "still denied after a restart with the resolver down");
	kill(f.daemon, SIGKILL);
	waitpid(f.daemon, NULL, 0);
	f.daemon = 0;
	if (!ASSERT_OK(fx_start(&f, NULL), "start after kill -9"))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.7", port, NULL), EPERM,
		  "still denied after a crash and a start with the resolver down");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.8", port, NULL), ECONNREFUSED,
		  "control: an address the name never had is free");
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}
