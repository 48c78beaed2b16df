// SPDX-License-Identifier: GPL-2.0
/*
 * Hostnames end to end: a real daemon, a real dnsmasq in a private network
 * namespace, real resolver clients (dns_*, host only: the guests have no
 * dnsmasq), and the daemon-attached guard (integ_dns_*, also in the guests).
 * The resolver's own life (TTLs, retries, a changed server) is in
 * test_dns_resolver.c; the shared setup in dnse2e.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <netdb.h>
#include <signal.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include "cgroup.h"
#include "dnse2e.h"
#include "event.h"
#include "evlog.h"
#include "fixture.h"
#include "net.h"
#include "test.h"
#include "util.h"

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

TEST(dns_queries_for_other_tiers_names_dropped)
{
	struct fx f;
	struct fx_dns x;
	json_t *e = NULL;
	pid_t pid;
	char out[8192];

	if (dns_setup(&f, &x, NULL))
		goto out;
	/* Untagged: everything resolves (the zone really answers these). */
	ASSERT_OK(lookup_in(&f, "other", "api.prod.test", "127.44.0.1", NULL), "untagged resolves a prod name");
	ASSERT_OK(lookup_in(&f, "other", "x.wild.prod.test", "127.44.0.7", NULL), "untagged resolves a wildcard name");

	/* Staging: prod names fail, exact, by wildcard, in any case, with a trailing dot. */
	ASSERT_EQ(lookup_in(&f, "staging", "api.prod.test", NULL, &pid), 1, "staging cannot resolve a prod name");
	e = fx_event_kind(&f, "dns", pid);
	if (ASSERT_TRUE(e != NULL, "dns event")) {
		ASSERT_STREQ(jstr(e, "verdict"), "deny", "verdict");
		ASSERT_STREQ(jstr(e, "name"), "api.prod.test", "queried name");
		ASSERT_TRUE(jstr(e, "qtype") && (!strcmp(jstr(e, "qtype"), "A") || !strcmp(jstr(e, "qtype"), "AAAA")),
			    "qtype");
		ASSERT_STREQ(jstr(e, "hostname"), "api.prod.test", "policy hostname");
		ASSERT_STREQ(jstr(e, "target_tier"), "prod", "owner");
		ASSERT_STREQ(jstr(e, "tier"), "staging", "caller");
		ASSERT_STREQ(jstr(e, "reason"), "name_of_other_tier", "reason");
	}
	json_decref(e);
	ASSERT_EQ(lookup_in(&f, "staging", "deep.x.wild.prod.test", NULL, &pid), 1, "wildcard caught");
	e = fx_event_kind(&f, "dns", pid);
	ASSERT_STREQ(e ? jstr(e, "hostname") : NULL, "*.wild.prod.test", "wildcard named in the event");
	json_decref(e);
	ASSERT_EQ(lookup_in(&f, "staging", "API.Prod.Test.", NULL, NULL), 1, "case and trailing dot");
	/* Its own and unowned names still resolve. */
	ASSERT_OK(lookup_in(&f, "staging", "api.staging.test", "127.45.0.1", NULL), "own name resolves");
	ASSERT_OK(lookup_in(&f, "staging", "free.test", "127.46.0.1", NULL), "unowned name resolves");

	/* The same over IPv6 to ::1, and over TCP. */
	ASSERT_EQ(query_in(&f, "staging", "::1", "api.prod.test", false, NULL), EPERM, "UDP to ::1: EPERM");
	ASSERT_OK(query_in(&f, "staging", "::1", "free.test", false, NULL), "UDP to ::1, free name answered");
	ASSERT_EQ(query_in(&f, "staging", "127.0.0.1", "api.prod.test", true, &pid), ETIMEDOUT,
		  "TCP query never answered");
	e = fx_event_kind(&f, "dns", pid);
	ASSERT_STREQ(e ? jstr(json_object_get(e, "dst"), "proto") : NULL, "tcp", "TCP drop logged");
	json_decref(e);
	ASSERT_OK(query_in(&f, "staging", "127.0.0.1", "free.test", true, NULL), "TCP query for a free name");
	ASSERT_OK(query_in(&f, "other", "127.0.0.1", "api.prod.test", true, NULL), "TCP untagged");
	ASSERT_EQ(query_in(&f, "staging", "::1", "api.prod.test", true, NULL), ETIMEDOUT,
		  "TCP over IPv6 to ::1: never answered");
	ASSERT_OK(query_in(&f, "staging", "::1", "free.test", true, NULL), "TCP to ::1, free name answered");
	ASSERT_OK(query_in(&f, "other", "::1", "api.prod.test", true, NULL), "TCP to ::1 untagged answered");

	/* The CLI shows what the names resolved to. */
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock), 0, "status");
	ASSERT_CONTAINS(out, "\"dns_guard\": true", "guard loaded");
	ASSERT_CONTAINS(out, "127.44.0.1", "resolved address listed");
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/*
 * The urgent-byte trick over real TCP: the first segment holds a clean query
 * whose last byte is sent as urgent data (MSG_OOB), so the server reads that
 * query one byte short and completes it with the next segment's first byte;
 * the guard reads the next segment from its start, sees [01 00] as a length
 * and a zero-question message, while the server reads [00 1f] and the query
 * for api.prod.test behind it. 0 if an answer for api.prod.test came back.
 */
static int urgent_trick(void *arg)
{
	static const uint8_t prod[] = "\3api\4prod\4test";
	uint8_t seg1[64], seg2[258] = { 0x01, 0x00, 0x1f }, w[64], in[2048];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = 2 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, off = 0;
	size_t l1, n = 0;
	ssize_t r;

	l1 = tw_dns_msg(seg1 + 2, 1, (const uint8_t *)"\4free\4test\0", 11, 1);
	seg1[0] = 0;
	seg1[1] = l1;
	tw_dns_msg(seg2 + 3, 1, w, tw_dns_wire("api.prod.test", w), 1);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -errno;
	/* Corked: one segment, urgent byte last (urgent data is pushed at once). */
	if (setsockopt(fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) ||
	    send(fd, seg1, l1 + 1, 0) != (ssize_t)l1 + 1 || send(fd, seg1 + l1 + 1, 1, MSG_OOB) != 1 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off)) ||
	    send(fd, seg2, sizeof(seg2), 0) != sizeof(seg2))
		return -EIO;
	while (n < sizeof(in) && (r = recv(fd, in + n, sizeof(in) - n, 0)) > 0) {
		n += r;
		if (memmem(in, n, prod, sizeof(prod) - 1))
			break;
	}
	close(fd);
	return memmem(in, n, prod, sizeof(prod) - 1) ? 0 : -ETIMEDOUT;
}

TEST(dns_tcp_urgent_byte_refused)
{
	struct fx f;
	struct fx_dns x;
	json_t *e = NULL;
	pid_t pid;

	if (dns_setup(&f, &x, NULL))
		goto out;
	ASSERT_OK(fx_do(&f, "other", urgent_trick, NULL, NULL),
		  "untagged: the server answers the prod query the trick hides");
	ASSERT_EQ(fx_do(&f, "staging", urgent_trick, NULL, &pid), ETIMEDOUT,
		  "staging: no answer for the prod name");
	e = fx_event_kind(&f, "dns", pid);
	ASSERT_STREQ(e ? jstr(e, "reason") : NULL, "urgent_data", "refused for its urgent data");
	ASSERT_OK(query_in(&f, "staging", "127.0.0.1", "free.test", true, NULL),
		  "staging: a plain TCP query is answered");
out:
	json_decref(e);
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* An audit tier resolves other tiers' names, and each query is logged as audit. */
TEST(dns_audit_tier_resolves_and_is_logged)
{
	static const char *audit_policy =
		"{ \"version\": 1,\n"
		"  \"tiers\": { \"staging\": {\"mode\": \"audit\"}, \"prod\": {} },\n"
		"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
		"  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"api.prod.test\", \"*.wild.prod.test\"] } ] }\n";
	struct fx f;
	struct fx_dns x;
	json_t *e = NULL;
	pid_t pid;

	if (dns_setup_with(&f, &x, NULL, audit_policy, HOSTS_V1))
		goto out;
	ASSERT_OK(lookup_in(&f, "staging", "api.prod.test", "127.44.0.1", &pid), "audit: a prod name resolves");
	e = fx_event_kind(&f, "dns", pid);
	if (ASSERT_TRUE(e != NULL, "dns event")) {
		ASSERT_STREQ(jstr(e, "verdict"), "audit", "verdict audit");
		ASSERT_STREQ(jstr(e, "hostname"), "api.prod.test", "policy hostname");
	}
	ASSERT_OK(query_in(&f, "staging", "::1", "x.wild.prod.test", true, NULL), "audit: TCP to ::1 answered");
	ASSERT_OK(query_in(&f, "staging", "127.0.0.1", "api.prod.test", false, NULL), "audit: UDP answered");
out:
	json_decref(e);
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

TEST(dns_connect_to_resolved_address_denied)
{
	struct fx f;
	struct fx_dns x;
	json_t *e = NULL, *r = NULL;
	int port = fx_port(1), lfd = -1, cfd = -1, i, err;
	long long end;
	pid_t pid;

	if (dns_setup(&f, &x, NULL))
		goto out;
	lfd = fx_listen_tcp("127.44.0.1", port);
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, &pid), EPERM,
		  "staging connect to api.prod.test's address");
	e = fx_event(&f, pid, port);
	if (ASSERT_TRUE(e != NULL, "connect event")) {
		ASSERT_STREQ(jstr(e, "kind"), "connect", "kind");
		ASSERT_STREQ(jstr(e, "hostname"), "api.prod.test", "the hostname the address came from");
		ASSERT_STREQ(jstr(e, "rule"), "destinations[0].hostnames[0]", "rule");
		ASSERT_STREQ(jstr(e, "target_tier"), "prod", "owner");
	}
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_UDP_SENDTO, "127.44.0.1", port, NULL), EPERM, "UDP too");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "::ffff:127.44.0.1", port, NULL), EPERM,
		  "IPv4-mapped form of the address");
	/* The AAAA record: an address only this private namespace could route. */
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "fd00:44::1", port, &pid), EPERM,
		  "the name's IPv6 address");
	json_decref(e);
	e = fx_event(&f, pid, port);
	ASSERT_STREQ(e ? jstr(e, "hostname") : NULL, "api.prod.test", "IPv6 denial names the hostname");
	ASSERT_NE(fx_net(&f, "other", TW_OP_TCP_CONNECT, "fd00:44::1", port, NULL), EPERM,
		  "untagged: not refused by tierwall (no route in the namespace)");
	ASSERT_OK(fx_net(&f, "other", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), "untagged connects");
	ASSERT_TRUE(fx_accepted(lfd), "and really reached the listener");
	ASSERT_OK(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.45.0.1", port, NULL) == ECONNREFUSED ? 0 : -1,
		  "own name's address: allowed (refused by nobody listening)");

	/* A reload resolves again before the new programs take over: no gap. */
	cfd = fx_ctl_begin(&f, "reload");
	if (!ASSERT_TRUE(cfd >= 0, "reload requested"))
		goto out;
	/*
	 * Connect until the reload's result arrives: the first connect right
	 * after the request, then one each time 50 ms pass without the reply.
	 */
	end = fx_now_ms() + fx_timeout_ms(120000);
	for (i = 0, err = -EAGAIN; err == -EAGAIN && fx_now_ms() < end; i++) {
		ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
			  "denied while the reload runs");
		err = fx_ctl_reply(cfd, 50, &r);
	}
	ASSERT_OK(err, "the reload's result");
	ASSERT_TRUE(json_is_true(json_object_get(r, "ok")), "reloaded");
	printf("    %d connects denied while the reload ran\n", i);
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "denied after the reload");
	ASSERT_EQ(lookup_in(&f, "staging", "api.prod.test", NULL, NULL), 1, "the guard is back too");
out:
	json_decref(e);
	json_decref(r);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* Make a UDP socket here; once moved to another cgroup, send a query for a prod name on it. */
struct moved {
	int fd;
};

static int query_socket(void *arg)
{
	struct moved *m = arg;

	m->fd = socket(AF_INET, SOCK_DGRAM, 0);
	return m->fd < 0 ? -EIO : 0;
}

static int query_moved(void *arg)
{
	const struct moved *m = arg;
	unsigned char wire[64], msg[128];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	size_t ml = tw_dns_msg(msg, 1, wire, tw_dns_wire("db.prod.test", wire), 1);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sendto(m->fd, msg, ml, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
}

/* n queries for a prod name on one socket: each must fail with EPERM. */
static int query_many(void *arg)
{
	unsigned char wire[64], msg[128];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	size_t ml = tw_dns_msg(msg, 1, wire, tw_dns_wire("db.prod.test", wire), 28);
	int fd = socket(AF_INET, SOCK_DGRAM, 0), i, n = *(int *)arg;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < n; i++)
		if (sendto(fd, msg, ml, 0, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EPERM)
			return -EIO;
	return 0;
}

struct dns_sum {
	pid_t pid;
	long records, decisions;
};

static int sum_dns(void *arg, const char *line, size_t len, long lineno)
{
	struct dns_sum *s = arg;
	json_t *o = json_loadb(line, len, 0, NULL);

	if (jstr(o, "kind") && !strcmp(jstr(o, "kind"), "dns") &&
	    json_integer_value(json_object_get(o, "pid")) == s->pid) {
		s->records++;
		s->decisions += json_integer_value(json_object_get(o, "count"));
	}
	json_decref(o);
	return 0;
}

/* The daemon loads and attaches the guard (host and guests, no DNS server needed). */
TEST(integ_dns_guard_attached_by_daemon)
{
	static const char *const cgs[] = { "staging", NULL };
	const char *policy =
		"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
		"  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"*.prod.test\"] } ] }\n";
	struct moved mv;
	struct fx f;
	json_t *e = NULL;
	pid_t pid;

	if (!ASSERT_OK(fx_init(&f, cgs), "fixture") || !ASSERT_OK(fx_write_policy(&f, policy), "policy") ||
	    !ASSERT_OK(fx_start(&f, NULL), "tierwalld starts"))
		goto out;
	/* Loopback, port 53: nothing listens, so only the guard can make it EPERM. */
	ASSERT_EQ(query_in(&f, "staging", "127.0.0.1", "db.prod.test", false, &pid), EPERM,
		  "query for a prod name from staging");
	/* The caller recorded on the socket gives the pid, even on 6.1. */
	e = fx_event_kind(&f, "dns", pid);
	if (ASSERT_TRUE(e != NULL, "dns event in the log, with the caller's pid")) {
		ASSERT_STREQ(jstr(e, "name"), "db.prod.test", "name");
		ASSERT_STREQ(jstr(e, "hostname"), "*.prod.test", "hostname");
		ASSERT_STREQ(jstr(e, "tier"), "staging", "caller tier");
		ASSERT_STREQ(jstr(e, "comm"), "tw_tests", "caller comm");
	}
	/* Judge the caller, not the socket's maker: both ways (inside the root). */
	ASSERT_OK(fx_mkcg(&f, "free"), "untagged cgroup");
	ASSERT_EQ(fx_do_moved(&f, "free", "staging", query_socket, query_moved, &mv, NULL), EPERM,
		  "socket made untagged, query sent after moving into staging");
	ASSERT_EQ(fx_do_moved(&f, "staging", "free", query_socket, query_moved, &mv, NULL), 0,
		  "socket made in staging, query sent after moving out");
	ASSERT_NE(query_in(&f, "staging", "127.0.0.1", "db.staging.test", false, NULL), EPERM,
		  "other names leave (and find no server)");
	ASSERT_NE(query_in(&f, NULL, "127.0.0.1", "db.prod.test", false, NULL), EPERM, "untagged");

	/* A burst folds into few records whose counts add up to every query. */
	{
		char log[PATH_MAX + 16];
		struct dns_sum sum = {};
		int n = 500;

		ASSERT_OK(fx_do(&f, "staging", query_many, &n, &sum.pid), "500 refused queries");
		fx_stop(&f);	/* flushes the open flood windows */
		snprintf(log, sizeof(log), "%s/events.jsonl", f.log_dir);
		tw_evlog_read(log, sum_dns, &sum);
		ASSERT_EQ(sum.decisions, n, "every query accounted for");
		ASSERT_TRUE(sum.records < n / 10, "in a few records");
	}
out:
	json_decref(e);
	fx_cleanup(&f);
}

/* Names of two tiers on one address: refused to both, unless a CIDR says whose it is. */
TEST(dns_shared_address_settled_by_cidr)
{
	static const char *policy =
		"{ \"version\": 1,\n"
		"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" },\n"
		"               { \"path\": \"/prod\", \"tier\": \"prod\" } ],\n"
		"  \"destinations\": [\n"
		"    { \"tier\": \"prod\", \"hostnames\": [\"api.prod.test\", \"ingress.prod.test\"] },\n"
		"    { \"tier\": \"staging\", \"hostnames\": [\"www.staging.test\", \"ingress.staging.test\"] },\n"
		"    { \"tier\": \"prod\", \"cidrs\": [\"127.47.0.1/32\"] } ] }\n";
	static const char *hosts =
		"127.44.0.1 api.prod.test\n127.44.0.1 www.staging.test\n"
		"127.47.0.1 ingress.prod.test\n127.47.0.1 ingress.staging.test\n";
	struct fx f;
	struct fx_dns x;
	int port = fx_port(6);
	char out[8192];

	if (dns_setup_with(&f, &x, NULL, policy, hosts))
		goto out;
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "shared by names of both tiers: staging refused");
	ASSERT_EQ(fx_net(&f, "prod", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "and prod refused too");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.47.0.1", port, NULL), EPERM,
		  "the CIDR says prod's: staging refused");
	ASSERT_EQ(fx_net(&f, "prod", TW_OP_TCP_CONNECT, "127.47.0.1", port, NULL), ECONNREFUSED,
		  "and prod let through");
	fx_sh(out, sizeof(out), "cat %s", f.daemon_out);
	ASSERT_CONTAINS(out, "127.44.0.1 is an address of names of more than one tier", "warned");
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* Bad resolver options stop the daemon at once, whatever the policy. */
TEST(integ_dns_options_checked)
{
	static const char *const bad[][2] = {
		{ "--dns-server=not-an-ip", "\"not-an-ip\" is not an address" },
		{ "--dns-server=10.0.0.1:99999", "(port 1-65535)" },
		{ "--dns-server=[fd00::1]", "is not an address" },
		{ "--dns-server=", "expected a list" },
		{ "--dns-grace=5 minutes", "--dns-grace: \"5 minutes\" is not a duration" },
		{ "--dns-max-refresh=0s", "--dns-max-refresh: \"0s\"" },
	};
	char out[4096];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int rc = fx_sh(out, sizeof(out), "%s/tierwalld --policy /nonexistent '%s' 2>&1",
			       tw_build_dir, bad[i][0]);

		ASSERT_EQ(rc, 2, bad[i][0]);
		ASSERT_CONTAINS(out, bad[i][1], bad[i][0]);
	}
}
