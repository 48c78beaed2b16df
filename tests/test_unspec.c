// SPDX-License-Identifier: GPL-2.0
/*
 * Unspecified destinations: connect() or sendto() to 0.0.0.0, :: or
 * ::ffff:0.0.0.0 is not refused by the kernel, it goes to the socket's
 * bound address or to loopback. tierwall judges that address. Prod owns
 * 127.0.0.1 (a local database proxy), 127.0.0.5 and ::1, with real
 * listeners; 127.0.0.6 belongs to nobody.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>
#include <sys/socket.h>
#include "fixture.h"
#include "net.h"
#include "test.h"

#define P	fx_port(3)

static const char *const cgroups[] = { "staging", "prod", "free", NULL };

static const char policy[] =
	"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ {\"path\": \"/staging\", \"tier\": \"staging\"},\n"
	"               {\"path\": \"/prod\", \"tier\": \"prod\"} ],\n"
	"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.0.0.1/32\", \"127.0.0.5/32\", \"::1/128\"]} ] }\n";

/* One call from a child: socket, optional bind and IP_PKTINFO source, then op. */
struct call {
	int op;			/* TW_OP_* */
	const char *bind;	/* NULL: not bound */
	const char *dst;
	const char *pktinfo;	/* sendto: IPv4 source through IP_PKTINFO */
	int port;		/* 0: P (fx_port is per process: the parent's) */
};

static int sendto_pktinfo(int fd, const struct sockaddr *sa, socklen_t len, const char *src)
{
	char buf[CMSG_SPACE(sizeof(struct in_pktinfo))] = {}, data[] = "x";
	struct iovec iov = { .iov_base = data, .iov_len = 1 };
	struct msghdr m = { .msg_name = (void *)sa, .msg_namelen = len, .msg_iov = &iov,
			    .msg_iovlen = 1, .msg_control = buf, .msg_controllen = sizeof(buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);

	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(*pi));
	inet_pton(AF_INET, src, &pi->ipi_spec_dst);
	return sendmsg(fd, &m, 0) == 1 ? 0 : -errno;
}

static int do_call(void *arg)
{
	const struct call *c = arg;
	struct sockaddr_storage ss, bs;
	socklen_t len, blen;
	int fd, err;

	if (tw_sockaddr(c->dst, c->port, &ss, &len))
		return -EINVAL;
	fd = tw_op_socket(c->op, ss.ss_family);
	if (fd < 0)
		return -EBADF;
	if (c->bind && (tw_sockaddr(c->bind, 0, &bs, &blen) ||
			bind(fd, (struct sockaddr *)&bs, blen)))
		return -EADDRNOTAVAIL;
	if (c->pktinfo)
		err = sendto_pktinfo(fd, (struct sockaddr *)&ss, len, c->pktinfo);
	else
		err = tw_op_run(fd, c->op, (struct sockaddr *)&ss, len);
	/* A UDP connect is only half the story: the datagram must arrive, or not. */
	if (!err && c->op == TW_OP_UDP_CONNECT && send(fd, "x", 1, 0) != 1)
		err = -errno;
	close(fd);
	return err;
}

static int call_with(struct fx *f, const char *cg, struct call *c, pid_t *pid)
{
	c->port = P;
	return fx_do(f, cg, do_call, c, pid);
}

static int call(struct fx *f, const char *cg, int op, const char *bind, const char *dst, pid_t *pid)
{
	struct call c = { .op = op, .bind = bind, .dst = dst };

	return call_with(f, cg, &c, pid);
}

/* The denial is logged with what the caller wrote, and what was judged. */
static void check_unspec_event(struct fx *f, pid_t pid, const char *kind, const char *wrote,
			       const char *effective, const char *rule)
{
	json_t *e = fx_event(f, pid, P), *dst;

	if (!ASSERT_TRUE(e != NULL, "event for the unspecified destination"))
		return;
	dst = json_object_get(e, "dst");
	ASSERT_STREQ(json_string_value(json_object_get(e, "kind")), kind, "kind");
	ASSERT_STREQ(json_string_value(json_object_get(e, "target_tier")), "prod", "target tier");
	ASSERT_STREQ(json_string_value(json_object_get(dst, "ip")), wrote, "dst.ip as written");
	ASSERT_STREQ(json_string_value(json_object_get(dst, "effective")), effective,
		     "dst.effective as judged");
	ASSERT_STREQ(json_string_value(json_object_get(e, "rule")), rule, "rule of the effective address");
	json_decref(e);
}

/* The file's tests share one daemon (fx_share), each on cgroups of its own. */
static bool start(struct fx *f)
{
	static const struct fx_group unspec = {
		.name = "unspec", .cgroups = cgroups, .text = policy, .slots = 2,
	};

	memset(f, 0, sizeof(*f));
	if (geteuid()) {
		tw_test_skip("needs root (cgroups and BPF)");
		return false;
	}
	return fx_share(f, &unspec);
}

TEST(integ_unspecified_tcp_connect)
{
	struct call mapped_bound = { .op = TW_OP_TCP_CONNECT, .bind = "::ffff:127.0.0.6", .dst = "::" };
	int l1, l5, l6, l61;
	struct fx f;
	pid_t pid;

	if (!start(&f))
		goto out;
	l1 = fx_listen_tcp("127.0.0.1", P);
	l5 = fx_listen_tcp("127.0.0.5", P);
	l6 = fx_listen_tcp("127.0.0.6", P);
	l61 = fx_listen_tcp("::1", P);
	if (!ASSERT_TRUE(l1 >= 0 && l5 >= 0 && l6 >= 0 && l61 >= 0, "listeners"))
		goto out;
	ASSERT_EQ(call(&f, "staging", TW_OP_TCP_CONNECT, NULL, "127.0.0.1", NULL), EPERM,
		  "staging -> prod's 127.0.0.1");
	ASSERT_EQ(call(&f, "staging", TW_OP_TCP_CONNECT, NULL, "0.0.0.0", &pid), EPERM,
		  "staging -> 0.0.0.0: the kernel would take it to 127.0.0.1");
	check_unspec_event(&f, pid, "connect", "0.0.0.0", "127.0.0.1", "destinations[0].cidrs[0]");
	ASSERT_EQ(call(&f, "staging", TW_OP_TCP_CONNECT, "127.0.0.5", "0.0.0.0", &pid), EPERM,
		  "bound to 127.0.0.5 -> 0.0.0.0: judged as 127.0.0.5");
	check_unspec_event(&f, pid, "connect", "0.0.0.0", "127.0.0.5", "destinations[0].cidrs[1]");
	ASSERT_EQ(call(&f, "staging", TW_OP_TCP_CONNECT, NULL, "::", &pid), EPERM, "staging -> ::");
	check_unspec_event(&f, pid, "connect", "::", "::1", "destinations[0].cidrs[2]");
	ASSERT_EQ(call(&f, "staging", TW_OP_TCP_CONNECT, NULL, "::ffff:0.0.0.0", &pid), EPERM,
		  "staging -> ::ffff:0.0.0.0");
	check_unspec_event(&f, pid, "connect", "::ffff:0.0.0.0", "::ffff:127.0.0.1",
			   "destinations[0].cidrs[0]");
	ASSERT_EQ(call_with(&f, "staging", &mapped_bound, &pid), EPERM,
		  "bound to ::ffff:127.0.0.6 -> ::: the kernel takes it to 127.0.0.1");
	check_unspec_event(&f, pid, "connect", "::", "::ffff:127.0.0.1", "destinations[0].cidrs[0]");
	ASSERT_TRUE(fx_nothing_arrived(l1) && fx_nothing_arrived(l5) && fx_nothing_arrived(l61),
		    "prod accepted nothing");

	/* Judged as the bound address, not as loopback: 127.0.0.6 is nobody's. */
	ASSERT_EQ(call(&f, "staging", TW_OP_TCP_CONNECT, "127.0.0.6", "0.0.0.0", NULL), 0,
		  "bound to 127.0.0.6 -> 0.0.0.0");
	ASSERT_TRUE(fx_accepted(l6), "reached 127.0.0.6");
	ASSERT_EQ(call(&f, "free", TW_OP_TCP_CONNECT, NULL, "0.0.0.0", NULL), 0, "untagged -> 0.0.0.0");
	ASSERT_TRUE(fx_accepted(l1), "reached 127.0.0.1");
	ASSERT_EQ(call(&f, "prod", TW_OP_TCP_CONNECT, NULL, "::", NULL), 0, "prod -> ::");
	ASSERT_TRUE(fx_accepted(l61), "reached ::1");
	close(l1);
	close(l5);
	close(l6);
	close(l61);
out:
	fx_cleanup(&f);
}

TEST(integ_unspecified_udp)
{
	struct call info5 = { .op = TW_OP_UDP_SENDTO, .dst = "0.0.0.0", .pktinfo = "127.0.0.5" };
	struct call info6 = { .op = TW_OP_UDP_SENDTO, .dst = "0.0.0.0", .pktinfo = "127.0.0.6" };
	struct call mapped = { .op = TW_OP_UDP_SENDTO, .dst = "::ffff:0.0.0.0" };
	int u1, u5, u6, u61;
	struct fx f;
	pid_t pid;

	if (!start(&f))
		goto out;
	u1 = fx_bind_udp("127.0.0.1", P);
	u5 = fx_bind_udp("127.0.0.5", P);
	u6 = fx_bind_udp("127.0.0.6", P);
	u61 = fx_bind_udp("::1", P);
	if (!ASSERT_TRUE(u1 >= 0 && u5 >= 0 && u6 >= 0 && u61 >= 0, "receivers"))
		goto out;
	ASSERT_EQ(call(&f, "staging", TW_OP_UDP_CONNECT, NULL, "0.0.0.0", &pid), EPERM,
		  "UDP connect to 0.0.0.0");
	check_unspec_event(&f, pid, "connect", "0.0.0.0", "127.0.0.1", "destinations[0].cidrs[0]");
	ASSERT_EQ(call(&f, "staging", TW_OP_UDP_SENDTO, NULL, "0.0.0.0", &pid), EPERM,
		  "UDP sendto 0.0.0.0");
	check_unspec_event(&f, pid, "sendmsg", "0.0.0.0", "127.0.0.1", "destinations[0].cidrs[0]");
	ASSERT_EQ(call(&f, "staging", TW_OP_UDP_SENDTO, "127.0.0.5", "0.0.0.0", NULL), EPERM,
		  "bound to 127.0.0.5, sendto 0.0.0.0");
	ASSERT_EQ(call_with(&f, "staging", &info5, &pid), EPERM,
		  "sendto 0.0.0.0 with IP_PKTINFO source 127.0.0.5");
	check_unspec_event(&f, pid, "sendmsg", "0.0.0.0", "127.0.0.5", "destinations[0].cidrs[1]");
	ASSERT_EQ(call(&f, "staging", TW_OP_UDP_SENDTO, NULL, "::", &pid), EPERM, "UDP sendto ::");
	check_unspec_event(&f, pid, "sendmsg", "::", "::1", "destinations[0].cidrs[2]");
	ASSERT_EQ(call(&f, "staging", TW_OP_UDP_CONNECT, NULL, "::", NULL), EPERM, "UDP connect ::");
	ASSERT_EQ(call_with(&f, "staging", &mapped, &pid), EPERM,
		  "IPv6 socket, sendto ::ffff:0.0.0.0");
	check_unspec_event(&f, pid, "sendmsg", "::ffff:0.0.0.0", "::ffff:127.0.0.1",
			   "destinations[0].cidrs[0]");
	ASSERT_TRUE(fx_nothing_arrived(u1) && fx_nothing_arrived(u5) && fx_nothing_arrived(u61),
		    "prod received nothing");

	ASSERT_EQ(call(&f, "staging", TW_OP_UDP_CONNECT, "127.0.0.6", "0.0.0.0", NULL), 0,
		  "bound to 127.0.0.6, UDP connect 0.0.0.0");
	ASSERT_TRUE(fx_received(u6), "arrived at 127.0.0.6");
	ASSERT_EQ(call_with(&f, "staging", &info6, NULL), 0,
		  "sendto 0.0.0.0 with IP_PKTINFO source 127.0.0.6");
	ASSERT_TRUE(fx_received(u6), "arrived at 127.0.0.6");
	ASSERT_EQ(call(&f, "free", TW_OP_UDP_SENDTO, NULL, "0.0.0.0", NULL), 0, "untagged sendto 0.0.0.0");
	ASSERT_TRUE(fx_received(u1), "arrived at 127.0.0.1");
	ASSERT_EQ(call(&f, "prod", TW_OP_UDP_SENDTO, NULL, "::", NULL), 0, "prod sendto ::");
	ASSERT_TRUE(fx_received(u61), "arrived at ::1");
	close(u1);
	close(u5);
	close(u6);
	close(u61);
out:
	fx_cleanup(&f);
}
