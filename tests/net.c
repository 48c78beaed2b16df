// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include "net.h"

int tw_parse_op(const char *s)
{
	if (!strcmp(s, "tcp-connect"))
		return TW_OP_TCP_CONNECT;
	if (!strcmp(s, "udp-connect"))
		return TW_OP_UDP_CONNECT;
	if (!strcmp(s, "udp-sendto"))
		return TW_OP_UDP_SENDTO;
	return -EINVAL;
}

int tw_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return 0;
	}
	return -EINVAL;
}

int tw_op_socket(int op, int family)
{
	int fd = socket(family, (op == TW_OP_TCP_CONNECT ? SOCK_STREAM : SOCK_DGRAM) |
			SOCK_CLOEXEC, 0);

	return fd < 0 ? -errno : fd;
}

int tw_op_run(int fd, int op, const struct sockaddr *sa, socklen_t len)
{
	static const char msg[] = "tierwall-probe";
	int r;

	if (op == TW_OP_UDP_SENDTO)
		r = sendto(fd, msg, sizeof(msg), 0, sa, len) < 0 ? -1 : 0;
	else
		r = connect(fd, sa, len);
	return r ? -errno : 0;
}

int tw_net(int op, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err;

	err = tw_sockaddr(addr, port, &ss, &len);
	if (err)
		return err;
	fd = tw_op_socket(op, ss.ss_family);
	if (fd < 0)
		return fd;
	err = tw_op_run(fd, op, (struct sockaddr *)&ss, len);
	close(fd);
	return err;
}

int tw_join_cgroup(const char *dir)
{
	char path[4096];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, "0", 1) != 1)
		err = -errno;
	close(fd);
	return err;
}
