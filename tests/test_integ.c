// SPDX-License-Identifier: GPL-2.0
/*
 * Integration tests: the real tierwalld on a private cgroup subtree of this
 * machine's kernel, real sockets from processes in real cgroups, events read
 * back from the log. Host traffic goes only to 127.0.0.0/8 and ::1; other
 * addresses are used only inside a network namespace a test creates.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cgroup.h"
#include "ctl.h"
#include "evlog.h"
#include "fixture.h"
#include "std.h"
#include "net.h"
#include "test.h"


TEST(integ_tcp_connect_other_tier_denied)
{
	struct fx f;
	pid_t pid;
	int l;

	if (!std_share(&f))
		goto out;
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, &pid),
		  EPERM, "staging -> prod connect");
	ASSERT_TRUE(fx_nothing_arrived(l), "nothing reached the prod listener");
	check_event(&f, pid, P_ANY, "connect", "deny", "staging", "prod", "agents/staging",
		    "127.20.0.1", "tcp", "destinations[0].cidrs[0]");
	close(l);
out:
	fx_cleanup(&f);
}

TEST(integ_tcp_own_tier_and_unowned_allowed)
{
	struct fx f;
	int l1, l2, l3;

	if (!std_share(&f))
		goto out;
	l1 = fx_listen_tcp("127.30.0.1", P_ANY);
	l2 = fx_listen_tcp("127.0.0.1", P_ANY);
	l3 = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.30.0.1", P_ANY, NULL), 0,
		  "staging -> staging's own destination");
	ASSERT_TRUE(fx_accepted(l1), "own-tier listener accepted");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.0.0.1", P_ANY, NULL), 0,
		  "staging -> destination no tier owns");
	ASSERT_TRUE(fx_accepted(l2), "unowned listener accepted");
	ASSERT_EQ(fx_net(&f, "services/prod", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0,
		  "prod -> prod");
	ASSERT_TRUE(fx_accepted(l3), "prod listener accepted prod");
	ASSERT_EQ(fx_wait_events(&f, "connect", 0, 1), 0, "allowed connects log nothing");
	close(l1);
	close(l2);
	close(l3);
out:
	fx_cleanup(&f);
}

TEST(integ_untagged_cgroup_unaffected)
{
	struct fx f;
	int l, u;

	if (!std_share(&f))
		goto out;
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	u = fx_bind_udp("127.20.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0,
		  "untagged -> prod connect");
	ASSERT_TRUE(fx_accepted(l), "prod listener accepted the untagged process");
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_UDP_SENDTO, "127.20.0.1", P_ANY, NULL), 0,
		  "untagged -> prod sendto");
	ASSERT_TRUE(fx_received(u), "datagram arrived");
	close(l);
	close(u);
out:
	fx_cleanup(&f);
}

TEST(integ_udp_connect_and_sendto)
{
	struct fx f;
	pid_t p1, p2;
	int u_prod, u_own;

	if (!std_share(&f))
		goto out;
	u_prod = fx_bind_udp("127.20.0.1", P_ANY);
	u_own = fx_bind_udp("127.30.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_UDP_CONNECT, "127.20.0.1", P_ANY, &p1), EPERM,
		  "staging -> prod UDP connect");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_UDP_SENDTO, "127.20.0.1", P_ANY, &p2), EPERM,
		  "staging -> prod UDP sendto (unconnected)");
	ASSERT_TRUE(fx_nothing_arrived(u_prod), "no datagram reached prod");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_UDP_SENDTO, "127.30.0.1", P_ANY, NULL), 0,
		  "staging -> staging sendto");
	ASSERT_TRUE(fx_received(u_own), "own-tier datagram arrived");
	check_event(&f, p1, P_ANY, "connect", "deny", "staging", "prod", "agents/staging",
		    "127.20.0.1", "udp", "destinations[0].cidrs[0]");
	check_event(&f, p2, P_ANY, "sendmsg", "deny", "staging", "prod", "agents/staging",
		    "127.20.0.1", "udp", "destinations[0].cidrs[0]");
	close(u_prod);
	close(u_own);
out:
	fx_cleanup(&f);
}

TEST(integ_child_cgroup_created_later_inherits)
{
	struct fx f;
	json_t *e;
	char cg[PATH_MAX];
	pid_t pid;

	if (!std_share(&f))
		goto out;
	/* Created after the daemon tagged its parent: no daemon involvement. */
	ASSERT_OK(fx_mkcg(&f, "agents/staging/late/deeper"), "mkdir child cgroups");
	ASSERT_EQ(fx_net(&f, "agents/staging/late/deeper", TW_OP_TCP_CONNECT, "127.20.0.9", P_ANY, &pid),
		  EPERM, "grandchild of a staging cgroup -> prod");
	e = fx_event(&f, pid, P_ANY);
	if (ASSERT_TRUE(e != NULL, "event")) {
		fx_cg_display(&f, "agents/staging", cg, sizeof(cg));
		ASSERT_STREQ(json_string_value(json_object_get(e, "tagged_cgroup")), cg,
			     "tagged_cgroup names the ancestor whose tier applied");
		ASSERT_STREQ(json_string_value(json_object_get(e, "tier")), "staging", "inherited tier");
	}
	json_decref(e);
out:
	fx_cleanup(&f);
}

TEST(integ_nearest_tagged_ancestor_wins)
{
	struct fx f;
	int l;

	if (!std_share(&f))
		goto out;
	/* /nest is staging, /nest/inner is prod: a process below inner is prod. */
	fx_mkcg(&f, "nest/inner/job");
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "nest/inner/job", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0,
		  "prod (nearest tag) -> prod");
	ASSERT_TRUE(fx_accepted(l), "accepted");
	ASSERT_EQ(fx_net(&f, "nest/inner/job", TW_OP_TCP_CONNECT, "127.30.0.1", P_ANY, NULL), EPERM,
		  "prod (nearest tag) -> staging");
	ASSERT_EQ(fx_net(&f, "nest", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "staging (outer tag) -> prod");
	close(l);
out:
	fx_cleanup(&f);
}

TEST(integ_audit_mode_allows_and_logs)
{
	struct fx f;
	pid_t pid;
	int l;

	if (!std_share(&f))
		goto out;
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "agents/dev", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, &pid), 0,
		  "dev (audit) -> prod connect goes through");
	ASSERT_TRUE(fx_accepted(l), "prod listener accepted");
	check_event(&f, pid, P_ANY, "connect", "audit", "dev", "prod", "agents/dev",
		    "127.20.0.1", "tcp", "destinations[0].cidrs[0]");
	close(l);
out:
	fx_cleanup(&f);
}

TEST(integ_port_scoped_rules)
{
	struct fx f;
	pid_t pid;
	int l1, l2, l3;

	if (!std_share(&f))
		goto out;
	l1 = fx_listen_tcp("127.21.0.1", P_ANY);
	l2 = fx_listen_tcp("127.22.1.1", P_NESTED);
	l3 = fx_listen_tcp("127.22.1.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.21.0.1", P_SCOPED, &pid), EPERM,
		  "prod's port on 127.21/16");
	check_event(&f, pid, P_SCOPED, "connect", "deny", "staging", "prod", "agents/staging",
		    "127.21.0.1", "tcp", "destinations[1].cidrs[0]");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.21.0.1", P_ANY, NULL), 0,
		  "another port on 127.21/16 is nobody's");
	ASSERT_TRUE(fx_accepted(l1), "accepted");
	/* Nested: staging owns P_NESTED on 127.22.1/24 inside prod's 127.22/16. */
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.22.1.1", P_NESTED, NULL), 0,
		  "staging's port inside prod's range");
	ASSERT_TRUE(fx_accepted(l2), "accepted");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.22.1.1", P_ANY, &pid), EPERM,
		  "other ports fall through to prod's /16");
	ASSERT_TRUE(fx_nothing_arrived(l3), "not accepted");
	check_event(&f, pid, P_ANY, "connect", "deny", "staging", "prod", "agents/staging",
		    "127.22.1.1", "tcp", "destinations[2].cidrs[0]");
	ASSERT_EQ(fx_net(&f, "services/prod", TW_OP_TCP_CONNECT, "127.22.1.1", P_NESTED, NULL), EPERM,
		  "prod -> staging's port inside prod's range");
	close(l1);
	close(l2);
	close(l3);
out:
	fx_cleanup(&f);
}

TEST(integ_ipv6_and_v4_mapped)
{
	struct fx f;
	pid_t p1, p2, p3, p4;
	int l6 = -1, l4 = -1, u6 = -1;

	if (!std_share(&f))
		goto out;
	l6 = fx_listen_tcp("::1", P_ANY);
	u6 = fx_bind_udp("::1", P_ANY);
	l4 = fx_listen_tcp("127.30.0.1", P_ANY);
	if (!ASSERT_TRUE(l6 >= 0 && u6 >= 0 && l4 >= 0, "listeners"))
		goto out;
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "::1", P_ANY, &p1), EPERM,
		  "staging -> prod ::1");
	check_event(&f, p1, P_ANY, "connect", "deny", "staging", "prod", "agents/staging",
		    "::1", "tcp", "destinations[0].cidrs[1]");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_UDP_SENDTO, "::1", P_ANY, &p2), EPERM,
		  "staging -> prod ::1 UDP sendto");
	ASSERT_TRUE(fx_nothing_arrived(u6), "no datagram");
	check_event(&f, p2, P_ANY, "sendmsg", "deny", "staging", "prod", "agents/staging",
		    "::1", "udp", "destinations[0].cidrs[1]");
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_UDP_SENDTO, "::1", P_ANY, NULL), 0, "untagged -> ::1 sendto");
	ASSERT_TRUE(fx_received(u6), "its datagram arrived (the socket works)");
	ASSERT_EQ(fx_net(&f, "untagged", TW_OP_TCP_CONNECT, "::1", P_ANY, NULL), 0, "untagged -> ::1");
	ASSERT_TRUE(fx_accepted(l6), "accepted");
	ASSERT_EQ(fx_net(&f, "services/prod", TW_OP_TCP_CONNECT, "::1", P_ANY, NULL), 0, "prod -> ::1");
	ASSERT_TRUE(fx_accepted(l6), "accepted");
	/* An AF_INET6 socket to ::ffff:a.b.c.d is judged by the IPv4 rules. */
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "::ffff:127.20.0.1", P_ANY, &p3), EPERM,
		  "staging -> prod through a v4-mapped address");
	check_event(&f, p3, P_ANY, "connect", "deny", "staging", "prod", "agents/staging",
		    "::ffff:127.20.0.1", "tcp", "destinations[0].cidrs[0]");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "::ffff:127.30.0.1", P_ANY, NULL), 0,
		  "staging -> staging through a v4-mapped address");
	ASSERT_TRUE(fx_accepted(l4), "accepted");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_UDP_SENDTO, "::ffff:127.20.0.1", P_ANY, &p4), EPERM,
		  "v4-mapped UDP sendto");
	/* The kernel sends it down the IPv4 path; the event shows what the caller wrote. */
	check_event(&f, p4, P_ANY, "sendmsg", "deny", "staging", "prod", "agents/staging",
		    "::ffff:127.20.0.1", "udp", "destinations[0].cidrs[0]");
out:
	if (l6 >= 0)
		close(l6);
	if (l4 >= 0)
		close(l4);
	if (u6 >= 0)
		close(u6);
	fx_cleanup(&f);
}

TEST(integ_cli_tag_at_runtime)
{
	char out[4096], cli[PATH_MAX + 64];
	struct fx f;
	pid_t pid;
	int l, rc;

	if (!std_start(&f))
		goto out;
	snprintf(cli, sizeof(cli), "%s/tierwall --socket %s", tw_build_dir, f.sock);
	fx_mkcg(&f, "fresh");
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0, "before tagging");
	ASSERT_TRUE(fx_accepted(l), "accepted");

	rc = fx_sh(out, sizeof(out), "%s tag /fresh staging", cli);
	ASSERT_EQ(rc, 0, "tierwall tag");
	ASSERT_CONTAINS(out, "tagged", "tag output");
	ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, &pid), EPERM,
		  "next connect after tagging");
	check_event(&f, pid, P_ANY, "connect", "deny", "staging", "prod", "fresh",
		    "127.20.0.1", "tcp", "destinations[0].cidrs[0]");

	rc = fx_sh(out, sizeof(out), "%s tiers", cli);
	ASSERT_EQ(rc, 0, "tierwall tiers");
	ASSERT_CONTAINS(out, "/fresh", "tiers lists the runtime tag");
	ASSERT_CONTAINS(out, "runtime", "and says where it came from");

	/* An absolute path names the same cgroup. */
	rc = fx_sh(out, sizeof(out), "%s untag %s/fresh", cli, f.root);
	ASSERT_EQ(rc, 0, "tierwall untag (absolute path)");
	ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0, "after untag");
	ASSERT_TRUE(fx_accepted(l), "accepted");

	rc = fx_sh(out, sizeof(out), "%s tag /fresh qa", cli);
	ASSERT_EQ(rc, 1, "unknown tier fails");
	ASSERT_CONTAINS(out, "unknown tier \"qa\"", "says which tier");
	rc = fx_sh(out, sizeof(out), "%s tag /no/such/cgroup staging", cli);
	ASSERT_EQ(rc, 1, "missing cgroup fails");
	ASSERT_CONTAINS(out, "No such file or directory", "says why");
	rc = fx_sh(out, sizeof(out), "%s untag /fresh", cli);
	ASSERT_EQ(rc, 1, "untag of an untagged cgroup fails");
	ASSERT_CONTAINS(out, "not tagged", "says why");
	rc = fx_sh(out, sizeof(out), "%s tag /fresh", cli);
	ASSERT_EQ(rc, 2, "missing argument is a usage error");
	rc = fx_sh(out, sizeof(out), "%s/tierwall --socket %s/nope.sock tiers", tw_build_dir, f.tmp);
	ASSERT_EQ(rc, 1, "unreachable daemon");
	ASSERT_CONTAINS(out, "cannot reach tierwalld", "says so");
	ASSERT_TRUE(fx_daemon_event(&f, "tag") != NULL, "the tag is in the log");
	close(l);
out:
	fx_cleanup(&f);
}

TEST(integ_judge_caller_not_socket)
{
	struct fx f;
	pid_t pid;
	int l;

	if (!std_share(&f))
		goto out;
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_EQ(fx_net_moved(&f, "untagged", "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1",
			       P_ANY, &pid), EPERM,
		  "socket made while untagged, connect after moving into staging");
	check_event(&f, pid, P_ANY, "connect", "deny", "staging", "prod", "agents/staging",
		    "127.20.0.1", "tcp", "destinations[0].cidrs[0]");
	ASSERT_EQ(fx_net_moved(&f, "untagged", "agents/staging", TW_OP_UDP_SENDTO, "127.20.0.1",
			       P_ANY, NULL), EPERM, "same for UDP sendto");
	ASSERT_EQ(fx_net_passed(&f, "untagged", "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1",
				P_ANY, &pid), EPERM,
		  "socket received over SCM_RIGHTS by a staging process");
	ASSERT_EQ(fx_net_passed(&f, "agents/staging", "untagged", TW_OP_TCP_CONNECT, "127.20.0.1",
				P_ANY, NULL), 0,
		  "staging's socket used by an untagged process is judged by that process");
	ASSERT_TRUE(fx_accepted(l), "accepted");
	ASSERT_EQ(fx_net_moved(&f, "agents/staging", "services/prod", TW_OP_TCP_CONNECT, "127.20.0.1",
			       P_ANY, NULL), 0, "a process moved to prod is judged as prod");
	ASSERT_TRUE(fx_accepted(l), "accepted");
	close(l);
out:
	fx_cleanup(&f);
}

/* Non-loopback addresses, only inside a network namespace of our own. */
TEST(integ_netns_non_loopback_cidrs)
{
	char staging[PATH_MAX * 2];
	struct fx f;
	pid_t c;
	int st = -1;

	if (!std_share(&f))
		goto out;
	if (fx_sh(NULL, 0, "command -v ip >/dev/null")) {
		tw_test_skip("iproute2 (ip) is not installed");
		goto out;
	}
	snprintf(staging, sizeof(staging), "%s/agents/staging", f.root);
	fflush(stdout);
	c = fork();
	if (!c) {
		int l_prod, l_own, r1, r2, r3;

		/* A broken rule can only reach this namespace's own lo. */
		if (unshare(CLONE_NEWNET) ||
		    system("ip link set lo up && ip addr add 10.20.0.1/32 dev lo && "
			   "ip addr add 10.30.0.1/32 dev lo && ip -6 addr add fd00:20::1/128 dev lo") ||
		    tw_join_cgroup(staging))
			_exit(100);
		l_prod = fx_listen_tcp("10.20.0.1", P_ANY);
		l_own = fx_listen_tcp("10.30.0.1", P_ANY);
		if (l_prod < 0 || l_own < 0)
			_exit(101);
		r1 = tw_net(TW_OP_TCP_CONNECT, "10.20.0.1", P_ANY);
		r2 = tw_net(TW_OP_TCP_CONNECT, "10.30.0.1", P_ANY);
		r3 = tw_net(TW_OP_TCP_CONNECT, "fd00:20::1", P_ANY);
		_exit((r1 == -EPERM) | (r2 == 0 && fx_accepted(l_own)) << 1 |
		      (r3 == -EPERM) << 2 | fx_nothing_arrived(l_prod) << 3);
	}
	waitpid(c, &st, 0);
	if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) < 100, "netns set up"))
		goto out;
	st = WEXITSTATUS(st);
	ASSERT_TRUE(st & 1, "staging -> 10.20.0.1 (prod) EPERM");
	ASSERT_TRUE(st & 2, "staging -> 10.30.0.1 (own tier) connected");
	ASSERT_TRUE(st & 4, "staging -> fd00:20::1 (prod) EPERM");
	ASSERT_TRUE(st & 8, "prod listener saw nothing");
	ASSERT_EQ(fx_wait_events(&f, "connect", c, 2), 2, "two denials logged for the netns process");
out:
	fx_cleanup(&f);
}

TEST(integ_status_and_events_cli)
{
	char out[16384], cli[PATH_MAX + 64];
	struct fx f;
	int rc;

	if (!std_start(&f))
		goto out;
	snprintf(cli, sizeof(cli), "%s/tierwall --socket %s", tw_build_dir, f.sock);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "one denial");
	ASSERT_EQ(fx_net(&f, "agents/dev", TW_OP_UDP_SENDTO, "127.20.0.1", P_ANY, NULL), 0,
		  "one audit");
	rc = fx_sh(out, sizeof(out), "%s status --json", cli);
	ASSERT_EQ(rc, 0, "status");
	{
		json_t *s = json_loads(out, 0, NULL), *c = json_object_get(s, "counters");
		json_t *progs = json_object_get(s, "programs"), *p;
		size_t i;
		int attached = 0;

		ASSERT_TRUE(s != NULL, "status --json is JSON");
		char why[256];

		json_array_foreach(progs, i, p)
			attached += json_is_true(json_object_get(p, "attached")) &&
				    strncmp(json_string_value(json_object_get(p, "hook")), "lsm/", 4);
		ASSERT_EQ(attached, 6, "connect4/6, sendmsg4/6, sock_create and setsockopt attached");
		ASSERT_EQ(json_is_true(json_object_get(json_object_get(s, "network_lsm"), "loaded")),
			  fx_lsm_usable(why, sizeof(why)), "network BPF LSM programs loaded where BPF LSM runs");
		ASSERT_EQ(json_integer_value(json_object_get(c, "denied")), 1, "denied counter");
		ASSERT_EQ(json_integer_value(json_object_get(c, "audited")), 1, "audited counter");
		ASSERT_EQ(json_integer_value(json_object_get(c, "ringbuf_drops")), 0, "no drops");
		ASSERT_EQ(json_array_size(json_object_get(s, "degraded")), 0, "not degraded");
		json_decref(s);
	}
	rc = fx_sh(out, sizeof(out), "%s status", cli);
	ASSERT_CONTAINS(out, "attached", "human status lists programs");
	/* Wait for the audit event to be written, then read the log through the CLI. */
	ASSERT_EQ(fx_wait_events(&f, "sendmsg", 0, 1), 1, "audit logged");
	rc = fx_sh(out, sizeof(out), "%s events --log-dir %s | grep -c '\"verdict\"'", cli, f.log_dir);
	ASSERT_EQ(atoi(out), 2, "tierwall events prints both decisions");
	rc = fx_sh(out, sizeof(out), "%s events", cli);
	ASSERT_CONTAINS(out, "\"event\":\"policy_loaded\"", "events finds the log through the daemon");
out:
	fx_cleanup(&f);
}

static void expect_refusal(const char *policy, const char *const *extra, const char *cgroup,
			   const char *message)
{
	char out[8192] = "";
	const char *const none[] = { NULL };
	struct fx f;
	int rc;

	if (!can_run())
		return;
	if (!ASSERT_OK(fx_init(&f, cgroup ? (const char *const[]){ cgroup, NULL } : none), "fixture"))
		goto out;
	fx_write_policy(&f, policy);
	rc = fx_start(&f, extra);
	fx_sh(out, sizeof(out), "cat %s", f.daemon_out);
	if (ASSERT_EQ(rc, 1, "tierwalld exits instead of starting")) {
		ASSERT_TRUE(WIFEXITED(f.daemon_status) && WEXITSTATUS(f.daemon_status) != 0,
			    "non-zero exit status");
		ASSERT_CONTAINS(out, message, "refusal names the cause");
	}
	ASSERT_TRUE(access(f.pin, F_OK), "nothing pinned");
out:
	fx_cleanup(&f);
}

TEST(integ_daemon_refuses_invalid_policy)
{
	expect_refusal("{ \"version\": 1, \"tiers\": {\"a\": {}},\n"
		       "  \"destinations\": [ {\"tier\": \"a\", \"cidrs\": [\"10.0.0.1/8\"]} ] }\n",
		       NULL, NULL, "policy.json:2:45: destinations[0].cidrs[0]: host bits set");
}

TEST(integ_daemon_refuses_missing_cgroup)
{
	expect_refusal("{ \"version\": 1, \"tiers\": {\"a\": {}},\n"
		       "  \"cgroups\": [ {\"path\": \"/not/there\", \"tier\": \"a\"} ] }\n",
		       NULL, NULL, "cgroups[0].path: cgroup \"/not/there\" cannot be tagged");
}

TEST(integ_daemon_refuses_unenforceable_secrets)
{
	const char *policy = "{ \"version\": 1, \"tiers\": {\"a\": {}},\n"
			     "  \"secrets\": [ {\"tier\": \"a\", \"paths\": [\"/etc/agent/a/\"]} ] }\n";
	const char *const degraded[] = { "--network-only", NULL };
	char out[8192], why[256];
	struct fx f;
	json_t *e;

	if (!can_run())
		return;
	/* Where BPF LSM works, the lsm_* tests cover starting with secrets. */
	if (fx_lsm_usable(why, sizeof(why))) {
		tw_test_skip("BPF LSM works on this kernel, so tierwalld rightly starts; the refusal "
			     "is tested on kernels where it does not (the host, and a guest booted "
			     "without bpf in lsm=)");
		return;
	}
	printf("    BPF LSM unusable here: %s\n", why);
	expect_refusal(policy, NULL, NULL, "--network-only");
	expect_refusal(policy, NULL, NULL, "lsm=");
	if (!can_run() || !ASSERT_OK(fx_init(&f, NULL), "fixture"))
		return;
	fx_write_policy(&f, policy);
	if (!ASSERT_OK(fx_start(&f, degraded), "starts with --network-only"))
		goto out;
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s status", tw_build_dir, f.sock);
	ASSERT_CONTAINS(out, "DEGRADED", "status reports the degraded mode");
	e = fx_daemon_event(&f, "start");
	ASSERT_TRUE(e && json_is_true(json_object_get(e, "degraded")), "start event says degraded");
	json_decref(e);
	fx_stop(&f);
	fx_sh(out, sizeof(out), "cat %s", f.daemon_out);
	ASSERT_CONTAINS(out, "DEGRADED", "the daemon's own output says so");
out:
	fx_cleanup(&f);
}
