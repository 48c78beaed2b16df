// SPDX-License-Identifier: GPL-2.0
/*
 * Sockets the cgroup hooks cannot judge (raw, ICMP "ping", UDP-Lite, SCTP,
 * MPTCP) are refused to a tiered process at socket(); TCP Fast Open is
 * judged like a connect. Other addresses than loopback live only in a
 * network namespace the test enters and leaves.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>
#include "fixture.h"
#include "net.h"
#include "sockets.h"
#include "test.h"

#define P	fx_port(4)

static const char policy[] =
	"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ {\"path\": \"/staging\", \"tier\": \"staging\"},\n"
	"               {\"path\": \"/prod\", \"tier\": \"prod\"} ],\n"
	"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\", \"10.20.0.0/16\", \"fd00:20::/32\"]} ] }\n";

/* An echo request to addr (IPv4 or IPv6) and its reply, from a child. */
struct ping {
	int type;		/* SOCK_DGRAM (ping socket) or SOCK_RAW */
	const char *addr;
	bool nobody;		/* as uid and gid 65534, no groups */
};

/* 0: a reply came back; the errno of socket(); 100 + errno of sendto(); ETIMEDOUT. */
static int do_ping(void *arg)
{
	const struct ping *p = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err;

	if (tw_sockaddr(p->addr, 0, &ss, &len))
		return -EINVAL;
	if (p->nobody && (setgroups(0, NULL) || setgid(65534) || setuid(65534)))
		return -ECHILD;
	fd = tw_icmp_socket(ss.ss_family, p->type);
	if (fd < 0)
		return fd;
	err = tw_icmp_echo(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return err == -EPERM ? -(100 + EPERM) : err;
}

static int ping(struct fx *f, const char *cg, int type, const char *addr, bool nobody, pid_t *pid)
{
	struct ping p = { .type = type, .addr = addr, .nobody = nobody };

	return fx_do(f, cg, do_ping, &p, pid);
}

/* A socket of this kind, from a child: 0 or the errno of socket(). */
struct kind {
	int family, type, protocol;
};

static int do_socket(void *arg)
{
	const struct kind *k = arg;
	int fd = socket(k->family, k->type, k->protocol);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}


/*
 * The trick: where ping_group_range is open (systemd opens it), anyone may
 * make an ICMP socket, and its sendto() has no cgroup hook. In a network
 * namespace of the test's own, prod's 10.20.0.1 and fd00:20::1 answer.
 */
TEST(integ_sock_ping_and_raw_refused)
{
	struct tw_netns ns = { .old = -1 };
	struct fx f;
	pid_t pid;

	if (!tw_sock_share(&f, policy))
		goto out;
	if (!ASSERT_OK(tw_netns_enter(&ns, "10.20.0.1", "fd00:20::1"), "private network namespace"))
		goto out;
	ASSERT_EQ(ping(&f, "free", SOCK_DGRAM, "10.20.0.1", true, NULL), 0,
		  "untagged nobody pings prod through an ICMP socket (ping_group_range is open)");
	ASSERT_EQ(ping(&f, "staging", SOCK_DGRAM, "10.20.0.1", true, &pid), EPERM,
		  "staging nobody: EPERM at socket()");
	tw_check_sock_event(&f, pid, "create", "inet", "dgram", "icmp", 65534);
	ASSERT_EQ(ping(&f, "free", SOCK_DGRAM, "fd00:20::1", true, NULL), 0, "untagged ICMPv6 ping socket");
	ASSERT_EQ(ping(&f, "staging", SOCK_DGRAM, "fd00:20::1", true, &pid), EPERM,
		  "staging ICMPv6 ping socket");
	tw_check_sock_event(&f, pid, "create", "inet6", "dgram", "icmpv6", 65534);
	ASSERT_EQ(ping(&f, "free", SOCK_RAW, "10.20.0.1", false, NULL), 0, "untagged root, raw socket");
	ASSERT_EQ(ping(&f, "staging", SOCK_RAW, "10.20.0.1", false, &pid), EPERM,
		  "staging root, raw socket");
	tw_check_sock_event(&f, pid, "create", "inet", "raw", "icmp", 0);
	ASSERT_EQ(ping(&f, "staging", SOCK_RAW, "fd00:20::1", false, NULL), EPERM, "staging root, raw IPv6");
	ASSERT_EQ(ping(&f, "prod", SOCK_DGRAM, "10.20.0.1", false, NULL), EPERM,
		  "prod too: a socket that cannot be judged is no tier's");
out:
	tw_netns_leave(&ns);
	fx_cleanup(&f);
}

/* UDP-Lite has no connect hook: today its connect() reaches prod and send() follows. */
static int do_udplite(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(*(int *)arg) };
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);

	if (fd < 0)
		return -errno;
	inet_pton(AF_INET, "127.20.0.1", &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) || send(fd, "x", 1, 0) != 1)
		return -(100 + errno);
	close(fd);
	return 0;
}

/* TCP Fast Open: sendto() with MSG_FASTOPEN connects and sends in one call. */
struct tfo {
	const char *addr;
	int port;
};

static int do_fastopen(void *arg)
{
	const struct tfo *t = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;

	if (fd < 0 || tw_sockaddr(t->addr, t->port, &ss, &len))
		return -EBADF;
	r = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len) == 1 ? 0 : -errno;
	close(fd);
	return r;
}

TEST(integ_sock_kinds_refused)
{
	struct kind mptcp = { AF_INET, SOCK_STREAM, IPPROTO_MPTCP };
	struct kind tcp = { AF_INET6, SOCK_STREAM, 0 }, udp = { AF_INET, SOCK_DGRAM, 0 };
	struct tfo own = { "127.0.0.1", P }, prod = { "127.20.0.1", P };
	int port = P, u, l, lp;
	struct fx f;
	pid_t pid;

	if (!tw_sock_share(&f, policy))
		goto out;
	u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
	if (u < 0 && errno == EPROTONOSUPPORT) {
		tw_test_skip("UDP-Lite is not available here: not tested (the rest was)");
	} else if (ASSERT_TRUE(u >= 0 && !tw_bind(u, "127.20.0.1", P), "UDP-Lite receiver on prod's address")) {
		ASSERT_EQ(fx_do(&f, "free", do_udplite, &port, NULL), 0, "untagged UDP-Lite to prod");
		ASSERT_TRUE(fx_received(u), "arrived");
		ASSERT_EQ(fx_do(&f, "staging", do_udplite, &port, &pid), EPERM,
			  "staging UDP-Lite: EPERM at socket()");
		tw_check_sock_event(&f, pid, "create", "inet", "dgram", "udplite", getuid());
		ASSERT_TRUE(fx_nothing_arrived(u), "nothing reached prod");
	}
	if (u >= 0)
		close(u);

	if (fx_do(&f, "free", do_socket, &mptcp, NULL) == 0) {
		ASSERT_EQ(fx_do(&f, "staging", do_socket, &mptcp, &pid), EPERM, "staging MPTCP socket");
		tw_check_sock_event(&f, pid, "create", "inet", "stream", "mptcp", getuid());
	} else {
		tw_test_skip("MPTCP is not available here: not tested (the rest was)");
	}
	ASSERT_EQ(fx_do(&f, "staging", do_socket, &tcp, NULL), 0, "staging TCP socket (IPv6)");
	ASSERT_EQ(fx_do(&f, "staging", do_socket, &udp, NULL), 0, "staging UDP socket");

	/* Fast Open is a connect: judged by the same hook. */
	lp = fx_listen_tcp("127.20.0.1", P);
	l = fx_listen_tcp("127.0.0.1", P);
	if (!ASSERT_TRUE(lp >= 0 && l >= 0, "listeners"))
		goto out;
	ASSERT_EQ(fx_do(&f, "staging", do_fastopen, &own, NULL), 0, "staging TFO to an unowned address");
	ASSERT_TRUE(fx_accepted(l), "accepted");
	ASSERT_EQ(fx_do(&f, "staging", do_fastopen, &prod, &pid), EPERM, "staging TFO to prod");
	ASSERT_TRUE(fx_nothing_arrived(lp), "prod accepted nothing");
	ASSERT_EQ(fx_wait_events(&f, "connect", pid, 1), 1, "the TFO connect is logged");
	ASSERT_EQ(fx_do(&f, "free", do_fastopen, &prod, NULL), 0, "untagged TFO to prod");
	ASSERT_TRUE(fx_accepted(lp), "accepted");
	close(l);
	close(lp);
out:
	fx_cleanup(&f);
}

/* SCTP is a module (sctp.ko) many kernels lack: without it there is nothing to refuse (a skip). */
TEST(integ_sock_sctp_refused)
{
	struct kind sctp = { AF_INET6, SOCK_STREAM, IPPROTO_SCTP };
	struct fx f = {};
	int fd = socket(AF_INET6, SOCK_STREAM, IPPROTO_SCTP), err = errno;
	pid_t pid;

	if (fd < 0 && !fx_guest_modules()) {
		fd = socket(AF_INET6, SOCK_STREAM, IPPROTO_SCTP);
		err = errno;
	}
	if (fd < 0) {
		/* The guests carry sctp.ko: there, missing is a broken build. */
		if (getenv("TW_GUEST"))
			ASSERT_TRUE(false, "the guest's kernel has SCTP (sctp.ko, make vm)");
		else
			tw_test_skip("this kernel has no SCTP: socket(AF_INET6, SOCK_STREAM, IPPROTO_SCTP): %s",
				     strerror(err));
		return;
	}
	close(fd);
	if (!tw_sock_share(&f, policy))
		goto out;
	ASSERT_EQ(fx_do(&f, "free", do_socket, &sctp, NULL), 0, "untagged SCTP socket");
	ASSERT_EQ(fx_do(&f, "staging", do_socket, &sctp, &pid), EPERM, "staging SCTP socket");
	tw_check_sock_event(&f, pid, "create", "inet6", "stream", "sctp", getuid());
out:
	fx_cleanup(&f);
}
