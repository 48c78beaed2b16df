// SPDX-License-Identifier: GPL-2.0
/*
 * Hostnames end to end: a real daemon, a real dnsmasq in a private network
 * namespace, real resolver clients (dns_*, host only: the guests have no
 * dnsmasq), and the daemon-attached guard (integ_dns_*, also in the guests).
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
#include "event.h"
#include "evlog.h"
#include "fixture.h"
#include "net.h"
#include "test.h"
#include "util.h"

/* ---- end to end: a real daemon, dnsmasq, resolver clients ---- */

#define HOSTS_V1 "127.44.0.1 api.prod.test\nfd00:44::1 api.prod.test\n127.45.0.1 api.staging.test\n" \
		 "127.46.0.1 free.test\n"

static const char *dns_policy =
	"{ \"version\": 1,\n"
	"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [\n"
	"    { \"tier\": \"prod\", \"hostnames\": [\"api.prod.test\", \"late.prod.test\", \"*.wild.prod.test\"] },\n"
	"    { \"tier\": \"staging\", \"hostnames\": [\"api.staging.test\"] } ] }\n";

/* getaddrinfo() in the child: 0 if it resolved to want (NULL: anything), else 1 (via fx_do). */
struct lookup {
	const char *name;
	const char *want;
};

static int do_lookup(void *arg)
{
	const struct lookup *l = arg;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res, *ai;
	char txt[INET6_ADDRSTRLEN];
	int found = 0;

	if (getaddrinfo(l->name, NULL, &hints, &res))
		return -1;	/* fx_do reports -ret */
	for (ai = res; ai; ai = ai->ai_next) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, txt, sizeof(txt));
		found |= !l->want || !strcmp(txt, l->want);
	}
	freeaddrinfo(res);
	return found ? 0 : -1;
}

static int lookup_in(struct fx *f, const char *rel, const char *name, const char *want, pid_t *pid)
{
	struct lookup l = { .name = name, .want = want };

	return fx_do(f, rel, do_lookup, &l, pid);
}

struct query {
	const char *server;
	const char *name;
	bool tcp;
};

static int do_query(void *arg)
{
	const struct query *q = arg;

	return tw_dns_ask(q->server, q->name, q->tcp);
}

static int query_in(struct fx *f, const char *rel, const char *server, const char *name, bool tcp,
		    pid_t *pid)
{
	struct query q = { .server = server, .name = name, .tcp = tcp };

	return fx_do(f, rel, do_query, &q, pid);
}

static const char *jstr(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Start dnsmasq and the daemon; 0, or 1 when the test was skipped. */
static int dns_setup_with(struct fx *f, struct fx_dns *x, const char *const *extra,
			  const char *policy, const char *hosts)
{
	static const char *const cgs[] = { "staging", "prod", "other", NULL };
	int err;

	memset(x, 0, sizeof(*x));	/* cleanup may run before fx_dns_start */
	x->old_net = x->old_mnt = x->old_cwd = -1;
	if (!ASSERT_OK(fx_init(f, cgs), "fixture"))
		return -1;
	err = fx_dns_start(x, f, hosts);
	if (err)
		return err == 1 ? 1 : (ASSERT_OK(err, "dnsmasq in a private namespace"), -1);
	if (!ASSERT_OK(fx_write_policy(f, policy), "policy"))
		return -1;
	if (!ASSERT_OK(fx_start(f, extra), "tierwalld starts")) {
		char out[8192];

		fx_sh(out, sizeof(out), "cat %s", f->daemon_out);
		printf("%s", out);
		return -1;
	}
	return 0;
}

static int dns_setup(struct fx *f, struct fx_dns *x, const char *const *extra)
{
	return dns_setup_with(f, x, extra, dns_policy, HOSTS_V1);
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
	json_t *e = NULL;
	int port = fx_port(1), lfd = -1, i;
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
	kill(f.daemon, SIGHUP);
	/* The connect comes first: the loop checks at least once, right after SIGHUP. */
	for (i = 0; i < 100; i++) {
		char out[256];

		ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
			  "denied while the reload runs");
		if (!fx_sh(out, sizeof(out), "grep -q '\"reload\":true' %s/events.jsonl", f.log_dir))
			break;
		usleep(50 * 1000);
	}
	ASSERT_TRUE(i < 100, "reloaded");
	printf("    %d connects denied while the reload ran\n", i + 1);
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "denied after the reload");
	ASSERT_EQ(lookup_in(&f, "staging", "api.prod.test", NULL, NULL), 1, "the guard is back too");
out:
	json_decref(e);
	if (lfd >= 0)
		close(lfd);
	fx_cleanup(&f);
	fx_dns_stop(&x);
}

/* Poll op until it returns want: bounded at about secs seconds. */
static bool eventually(struct fx *f, const char *addr, int port, int want, int secs)
{
	int i;

	for (i = 0; i < secs * 5; i++) {
		if (fx_net(f, "staging", TW_OP_TCP_CONNECT, addr, port, NULL) == want)
			return true;
		usleep(200 * 1000);
	}
	return false;
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

/* The daemon follows /etc/resolv.conf: a new server is used without a reload. */
TEST(resolver_change_followed)
{
	struct fx f;
	struct fx_dns x;
	int port = fx_port(7), i;
	char out[8192];
	json_t *e = NULL;

	if (dns_setup(&f, &x, NULL))
		goto out;
	/* A server nobody answers at: every name starts failing. */
	ASSERT_OK(fx_dns_set_resolver(&f, "127.0.0.2"), "resolver moved away");
	for (i = 0; i < 100; i++) {
		fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock);
		if (strstr(out, "api.prod.test") && strstr(out, "\"failures\": 2"))
			break;
		usleep(100 * 1000);
	}
	ASSERT_TRUE(i < 100, "names fail against the dead server (and addresses are kept)");
	ASSERT_EQ(fx_net(&f, "staging", TW_OP_TCP_CONNECT, "127.44.0.1", port, NULL), EPERM,
		  "known address still enforced while resolution fails");
	/* The real server is back, and late.prod.test now exists. */
	ASSERT_OK(fx_dns_set_hosts(&x, HOSTS_V1 "127.44.0.5 late.prod.test\n"), "new record");
	ASSERT_OK(fx_dns_set_resolver(&f, "127.0.0.1"), "resolver back");
	ASSERT_TRUE(eventually(&f, "127.44.0.5", port, EPERM, 6), "resolved soon after the change");
	for (i = 0; i < 50 && !(e = fx_daemon_event(&f, "resolver_changed")); i++)
		usleep(100 * 1000);
	ASSERT_TRUE(e != NULL, "the change is on the record");
	json_decref(e);
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
