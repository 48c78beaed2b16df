// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <sys/syscall.h>
#include "fixture.h"
#include "net.h"
#include "sockets.h"
#include "test.h"

int tw_send_fd(int sock, int fd)
{
	char dummy = 'x', buf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -errno;
}

int tw_recv_fd(int sock)
{
	char dummy, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *c;
	struct pollfd p = { .fd = sock, .events = POLLIN };
	int fd;

	if (poll(&p, 1, 5000) != 1 || recvmsg(sock, &m, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

int tw_take_fd(int pid, int fd)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0), r;

	if (pidfd < 0)
		return -errno;
	r = syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	if (r < 0)
		r = -errno;
	close(pidfd);
	return r;
}

int tw_icmp_socket(int family, int type)
{
	int fd = socket(family, type | SOCK_CLOEXEC, family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6);

	return fd < 0 ? -errno : fd;
}

static uint16_t csum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += b[i] << 8 | b[i + 1];
	if (n & 1)
		s += b[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return htons(~s);
}

/* Is this datagram (with the IPv4 header on a raw socket) an echo reply? */
static int is_reply(const uint8_t *b, ssize_t n, int family, int type)
{
	if (family == AF_INET && type == SOCK_RAW) {
		if (n < 20 || n < (b[0] & 15) * 4 + 8)
			return 0;
		b += (b[0] & 15) * 4;
	}
	return n > 0 && b[0] == (family == AF_INET ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY);
}

int tw_icmp_echo(int fd, const struct sockaddr *sa, socklen_t len)
{
	uint8_t msg[16] = { [0] = ICMP_ECHO, [4] = 0x12, [5] = 0x34, [7] = 1 }, in[256];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int i, type = 0;
	socklen_t tl = sizeof(type);

	getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
	if (sa->sa_family == AF_INET6)
		msg[0] = ICMP6_ECHO_REQUEST;	/* the kernel sums ICMPv6 */
	else
		memcpy(msg + 2, (uint16_t[]){ csum(msg, sizeof(msg)) }, 2);
	if (sendto(fd, msg, sizeof(msg), 0, sa, len) != sizeof(msg))
		return -errno;
	/* A raw socket on lo also sees the request go by: a few packets, 2 s. */
	for (i = 0; i < 4 && poll(&p, 1, 2000) == 1; i++)
		if (is_reply(in, recv(fd, in, sizeof(in), 0), sa->sa_family, type))
			return 0;
	return -ETIMEDOUT;
}

int tw_bind(int fd, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (tw_sockaddr(addr, port, &ss, &len))
		return -EINVAL;
	return bind(fd, (struct sockaddr *)&ss, len) ? -errno : 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = write(fd, text, strlen(text)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int tw_netns_enter(struct tw_netns *ns, const char *v4, const char *v6)
{
	char cmd[256];

	ns->old = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns->old < 0 || unshare(CLONE_NEWNET))
		return -errno;
	snprintf(cmd, sizeof(cmd), "ip link set lo up%s%s%s%s%s", v4 ? " && ip addr add " : "",
		 v4 ? v4 : "", v4 ? "/32 dev lo" : "", v6 ? " && ip -6 addr add " : "", v6 ? v6 : "");
	if (v6)
		strcat(cmd, "/128 dev lo");
	fflush(stdout);
	if (system(cmd))
		return -EIO;
	return write_file("/proc/sys/net/ipv4/ping_group_range", "0 2147483647");
}

void tw_netns_leave(struct tw_netns *ns)
{
	if (ns->old < 0)
		return;
	if (setns(ns->old, CLONE_NEWNET))
		printf("    cannot return to the original network namespace: %s\n", strerror(errno));
	close(ns->old);
	ns->old = -1;
}

bool tw_sock_share(struct fx *f, const char *policy)
{
	static const char *const cgroups[] = { "staging", "prod", "free", NULL };
	/* One group per policy text (a file's tests pass the same static text). */
	static struct fx_group groups[4];
	struct fx_group *g = groups;

	memset(f, 0, sizeof(*f));
	if (geteuid()) {
		tw_test_skip("needs root (cgroups and BPF)");
		return false;
	}
	while (g < groups + 4 && g->text && g->text != policy)
		g++;
	if (!ASSERT_TRUE(g < groups + 4, "at most 4 socket test policies"))
		return false;
	if (!g->text)
		*g = (struct fx_group){ .name = "sock", .cgroups = cgroups, .text = policy, .slots = 3 };
	return fx_share(f, g);
}

void tw_check_sock_event(struct fx *f, pid_t pid, const char *op, const char *family,
			 const char *type, const char *protocol, long uid)
{
	json_t *e = fx_event_kind(f, "socket", pid);

	if (!ASSERT_TRUE(e != NULL, "socket event in the log"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(e, "verdict")), "deny", "verdict");
	ASSERT_STREQ(json_string_value(json_object_get(e, "tier")), "staging", "tier");
	ASSERT_STREQ(json_string_value(json_object_get(e, "op")), op, "op");
	ASSERT_STREQ(json_string_value(json_object_get(e, "family")), family, "family");
	ASSERT_STREQ(json_string_value(json_object_get(e, "type")), type, "type");
	ASSERT_STREQ(json_string_value(json_object_get(e, "protocol")), protocol, "protocol");
	if (uid >= 0)
		ASSERT_EQ(json_integer_value(json_object_get(e, "uid")), uid, "uid");
	json_decref(e);
}
