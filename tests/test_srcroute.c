// SPDX-License-Identifier: GPL-2.0
/*
 * Source routes: a sticky routing header or IPv4 source route sends a
 * packet through an address the connect and sendmsg hooks never judged.
 * The cgroup setsockopt program refuses them to a tiered process, root or
 * not, and leaves other options and untagged processes alone. Packets that
 * carry a route anyway (a per-message IP_RETOPTS or routing-header cmsg,
 * options set before joining a tier) are refused at sendmsg by BPF LSM, and
 * dropped by the DNS guard's egress program where it runs (on kernels whose
 * cgroup_skb programs know the sending task, 6.18, for a socket made before
 * its owner joined a tier). Every route here names loopback only.
 */
#include <errno.h>
#include <grp.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "fixture.h"
#include "net.h"
#include "sockets.h"
#include "test.h"
#include "util.h"

static const char policy[] =
	"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ {\"path\": \"/staging\", \"tier\": \"staging\"},\n"
	"               {\"path\": \"/prod\", \"tier\": \"prod\"} ],\n"
	"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"]} ] }\n";

/* A segment routing header (type 4): first through ::1, then to ::1. */
struct srh {
	uint8_t nexthdr, hdrlen, type, segments_left, first_segment, flags;
	uint16_t tag;
	struct in6_addr seg[2];
};

static void fill_srh(struct srh *h)
{
	memset(h, 0, sizeof(*h));
	h->hdrlen = sizeof(h->seg) / 8;
	h->type = 4;
	h->segments_left = 1;
	h->first_segment = 1;
	h->seg[0] = in6addr_loopback;
	h->seg[1] = in6addr_loopback;
}

/* One setsockopt from a child: which socket, which option, as whom. */
struct opt {
	int family, type, level, name;
	const char *what;
	bool nobody;
};

/* The option's value: a route through loopback, or an int flag. */
static socklen_t opt_value(const struct opt *o, unsigned char *buf, size_t len)
{
	static const unsigned char lsrr[8] = { 1 /* NOP */, 131 /* LSRR */, 7, 4, 127, 0, 0, 1 };
	struct cmsghdr *c = (struct cmsghdr *)buf;
	int one = 1;

	memset(buf, 0, len);
	if (o->level == IPPROTO_IP && o->name == IP_OPTIONS) {
		memcpy(buf, lsrr, sizeof(lsrr));
		return sizeof(lsrr);
	}
	if (o->name == IPV6_RTHDR) {
		fill_srh((struct srh *)buf);
		return sizeof(struct srh);
	}
	if (o->name == IPV6_2292PKTOPTIONS) {
		/*
		 * RFC 2292: the options as cmsgs. A routing header among them
		 * must be type 2, which needs CONFIG_IPV6_MIP6 (Debian's
		 * kernels, not every one): a hop limit is what the kernel
		 * takes everywhere, and is refused all the same.
		 */
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_HOPLIMIT;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &(int){ 64 }, sizeof(int));
		return CMSG_SPACE(sizeof(int));
	}
	if (o->name == SO_RCVBUF) {
		/* Past a page: the program must hand the kernel the caller's buffer. */
		memcpy(buf, &(int){ 65536 }, sizeof(int));
		return 8192;
	}
	memcpy(buf, &one, sizeof(one));
	return sizeof(one);
}

/* 0 or -errno of setsockopt() (-ECHILD: could not become 65534). */
static int do_setsockopt(void *arg)
{
	const struct opt *o = arg;
	unsigned char buf[8192];
	socklen_t len = opt_value(o, buf, sizeof(buf));
	int fd, r;

	if (o->nobody && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
		return -ECHILD;
	fd = socket(o->family, o->type, 0);
	if (fd < 0)
		return -errno;
	r = setsockopt(fd, o->level, o->name, buf, len) ? -errno : 0;
	close(fd);
	return r;
}

/* The refusal's record: a socket event, op setsockopt, naming the option. */
static void check_event(struct fx *f, pid_t pid, const struct opt *o)
{
	json_t *e = fx_event_kind(f, "socket", pid);

	if (!ASSERT_TRUE(e != NULL, "the refusal is logged"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(e, "op")), "setsockopt", "op");
	ASSERT_STREQ(json_string_value(json_object_get(e, "option")), o->what, "the option, by name");
	ASSERT_STREQ(json_string_value(json_object_get(e, "family")),
		     o->family == AF_INET ? "inet" : "inet6", "the socket's family");
	ASSERT_STREQ(json_string_value(json_object_get(e, "tier")), "staging", "tier");
	ASSERT_STREQ(json_string_value(json_object_get(e, "verdict")), "deny", "verdict");
	ASSERT_EQ(json_integer_value(json_object_get(e, "uid")), o->nobody ? 65534 : 0, "uid");
	json_decref(e);
}

TEST(integ_sock_source_routes_refused)
{
	static const struct opt routes[] = {
		{ AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RTHDR, "IPV6_RTHDR", true },
		{ AF_INET6, SOCK_STREAM, IPPROTO_IPV6, IPV6_RTHDR, "IPV6_RTHDR", false },
		{ AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_2292PKTOPTIONS, "IPV6_2292PKTOPTIONS", true },
		{ AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_OPTIONS, "IP_OPTIONS", false },
		{ AF_INET, SOCK_STREAM, IPPROTO_IP, IP_OPTIONS, "IP_OPTIONS", false },
		{ AF_INET6, SOCK_DGRAM, IPPROTO_IP, IP_OPTIONS, "IP_OPTIONS", false },
	};
	static const struct opt others[] = {
		{ AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RECVRTHDR, "IPV6_RECVRTHDR", true },
		{ AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_2292RTHDR, "IPV6_2292RTHDR", true },
		{ AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_TOS, "IP_TOS", false },
		{ AF_INET, SOCK_STREAM, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF, 8 KiB optval", true },
	};
	char what[160];
	struct opt o;
	struct fx f = {};
	pid_t pid;
	size_t i;

	if (!tw_sock_share(&f, policy))
		goto out;
	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		o = routes[i];
		snprintf(what, sizeof(what), "%s on %s/%s as %s", o.what, o.family == AF_INET ? "inet" : "inet6",
			 o.type == SOCK_DGRAM ? "udp" : "tcp", o.nobody ? "uid 65534" : "root");
		/* The kernel takes the route from this caller: the refusal is tierwall's. */
		if (!ASSERT_EQ(fx_do(&f, "free", do_setsockopt, &o, NULL), 0, what))
			continue;
		ASSERT_EQ(fx_do(&f, "staging", do_setsockopt, &o, &pid), EPERM, what);
		check_event(&f, pid, &o);
	}
	for (i = 0; i < ARRAY_SIZE(others); i++) {
		o = others[i];
		snprintf(what, sizeof(what), "staging may still set %s", o.what);
		ASSERT_EQ(fx_do(&f, "staging", do_setsockopt, &o, NULL), 0, what);
	}
	ASSERT_EQ(fx_count_events(&f, "socket", 0), (int)ARRAY_SIZE(routes), "one record per refusal, no more");
out:
	fx_cleanup(&f);
}

/* The egress program runs where the policy names hosts: one wildcard, no resolver needed. */
static const char policy_guarded[] =
	"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ {\"path\": \"/staging\", \"tier\": \"staging\"},\n"
	"               {\"path\": \"/prod\", \"tier\": \"prod\"} ],\n"
	"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"],\n"
	"                      \"hostnames\": [\"*.prod.test\"]} ] }\n";

/* A datagram to loopback carrying a route: the route set before, or in the message. */
struct routed {
	int family, port;
	bool sticky;		/* set as a socket option by before(); else a cmsg in sendmsg */
	int fd;
	bool rthdr;		/* IPv6, not sticky: a routing-header cmsg */
};

/* In the first cgroup: the socket, and its sticky route. 0 or -errno. */
static int routed_before(void *arg)
{
	struct routed *r = arg;
	unsigned char buf[256];
	struct opt o = { r->family, SOCK_DGRAM, r->family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6,
			 r->family == AF_INET ? IP_OPTIONS : IPV6_RTHDR, NULL, false };
	socklen_t len = opt_value(&o, buf, sizeof(buf));

	r->fd = socket(r->family, SOCK_DGRAM, 0);
	if (r->fd < 0)
		return -errno;
	if (r->sticky && setsockopt(r->fd, o.level, o.name, buf, len))
		return -errno;
	return 0;
}

/* Where it was moved: the datagram. 0 or -errno of sendmsg(). */
static int routed_after(void *arg)
{
	struct routed *r = arg;
	union { char buf[CMSG_SPACE(8)]; struct cmsghdr align; } u = {};
	struct sockaddr_storage ss;
	struct iovec iov = { "x", 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c = (struct cmsghdr *)u.buf;
	unsigned char lsrr[16];
	struct opt o = { AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_OPTIONS, NULL, false };
	struct { uint8_t nexthdr, hdrlen, type, segments_left; uint32_t reserved; struct in6_addr a; } rh2 = {
		.hdrlen = 2, .type = 2, .segments_left = 1, .a = in6addr_loopback };
	union { char buf[CMSG_SPACE(sizeof(rh2))]; struct cmsghdr align; } u6 = {};

	if (tw_sockaddr(r->family == AF_INET ? "127.0.0.1" : "::1", r->port, &ss, &m.msg_namelen))
		return -EINVAL;
	m.msg_name = &ss;
	if (!r->sticky && r->family == AF_INET) {
		/* IP_RETOPTS: this message's own IP options, a source route. */
		opt_value(&o, lsrr, sizeof(lsrr));
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_RETOPTS;
		c->cmsg_len = CMSG_LEN(8);
		memcpy(CMSG_DATA(c), lsrr, 8);
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
	} else if (!r->sticky && r->rthdr) {
		/* A type 2 routing header through ::1, the kind a cmsg may carry (CONFIG_IPV6_MIP6). */
		c = (struct cmsghdr *)u6.buf;
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_RTHDR;
		c->cmsg_len = CMSG_LEN(sizeof(rh2));
		memcpy(CMSG_DATA(c), &rh2, sizeof(rh2));
		m.msg_control = u6.buf;
		m.msg_controllen = sizeof(u6.buf);
	}
	return sendmsg(r->fd, &m, 0) == 1 ? 0 : -errno;
}

static int routed_both(void *arg)
{
	return routed_before(arg) ?: routed_after(arg);
}

/* One routed datagram: untagged it leaves, from staging it is dropped and recorded. */
static void routed_case(struct fx *f, struct routed *r, const char *what, const char *option)
{
	int u = fx_bind_udp(r->family == AF_INET ? "127.0.0.1" : "::1", r->port);
	char msg[160];
	pid_t pid;
	json_t *e;

	if (!ASSERT_TRUE(u >= 0, "a receiver on loopback"))
		return;
	snprintf(msg, sizeof(msg), "untagged: %s leaves", what);
	ASSERT_EQ(fx_do(f, "free", routed_both, r, NULL), 0, msg);
	snprintf(msg, sizeof(msg), "staging: %s is dropped (EPERM)", what);
	if (r->sticky)
		ASSERT_EQ(fx_do_moved(f, "free", "staging", routed_before, routed_after, r, &pid), EPERM, msg);
	else
		ASSERT_EQ(fx_do(f, "staging", routed_both, r, &pid), EPERM, msg);
	e = fx_event_kind(f, "socket", pid);
	if (ASSERT_TRUE(e != NULL, "the drop is logged")) {
		ASSERT_STREQ(json_string_value(json_object_get(e, "op")), "route", "op");
		ASSERT_STREQ(json_string_value(json_object_get(e, "option")), option, "what carried the route");
		ASSERT_STREQ(json_string_value(json_object_get(e, "tier")), "staging", "tier");
	}
	json_decref(e);
	/* Drain what the untagged send delivered (loopback may refuse a source route). */
	fx_nothing_arrived(u);
	close(u);
}

TEST(integ_sock_source_routes_in_packets_dropped)
{
	struct routed retopts = { AF_INET, fx_port(5), false, -1, false };
	struct routed v4 = { AF_INET, fx_port(6), true, -1, false }, v6 = { AF_INET6, fx_port(7), true, -1, false };
	struct routed plain = { AF_INET6, fx_port(8), false, -1, false };
	struct fx f = {};
	int u;

	if (!tw_sock_share(&f, policy_guarded))
		goto out;
	routed_case(&f, &retopts, "an IP_RETOPTS source route in sendmsg", "IP_OPTIONS");
	routed_case(&f, &v4, "IP_OPTIONS set before joining the tier", "IP_OPTIONS");
	routed_case(&f, &v6, "IPV6_RTHDR set before joining the tier", "IPV6_RTHDR");
	/* Control: the tier's own datagrams without a route still leave. */
	u = fx_bind_udp("::1", plain.port);
	if (ASSERT_TRUE(u >= 0, "a receiver on ::1")) {
		ASSERT_EQ(fx_do(&f, "staging", routed_both, &plain, NULL), 0, "staging: a plain datagram leaves");
		ASSERT_TRUE(fx_received(u), "and arrives");
		close(u);
	}
out:
	fx_cleanup(&f);
}

/*
 * With BPF LSM, socket_sendmsg reads the cmsgs the sendmsg hooks cannot
 * see: refused whatever the policy (this one names no host, so no egress
 * program runs).
 */
TEST(lsm_sock_source_route_cmsgs_refused)
{
	struct routed retopts = { AF_INET, fx_port(5), false, -1, false };
	struct routed rthdr = { AF_INET6, fx_port(6), false, -1, true };
	struct fx f = {};
	int r;

	if (!fx_lsm_ready())
		return;
	if (!tw_sock_share(&f, policy))
		goto out;
	routed_case(&f, &retopts, "an IP_RETOPTS source route in sendmsg", "IP_OPTIONS");
	r = fx_do(&f, "free", routed_both, &rthdr, NULL);
	if (r == EINVAL)
		printf("    routing-header cmsgs need CONFIG_IPV6_MIP6, not in this kernel: not tested\n");
	else
		routed_case(&f, &rthdr, "an IPV6_RTHDR cmsg in sendmsg", "IPV6_RTHDR");
out:
	fx_cleanup(&f);
}
