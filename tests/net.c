// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/time.h>
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

size_t tw_dns_wire(const char *name, unsigned char *out)
{
	size_t n = 0;

	while (*name) {
		size_t l = strcspn(name, ".");

		out[n++] = l;
		memcpy(out + n, name, l);
		n += l;
		name += l;
		if (*name)
			name++;
	}
	out[n++] = 0;
	return n;
}

size_t tw_dns_msg(unsigned char *out, unsigned short qd, const unsigned char *wire, size_t wlen,
		  unsigned short qtype)
{
	unsigned char hdr[12] = { 0x12, 0x34, 0x01, 0x00, qd >> 8, qd & 0xff };

	memcpy(out, hdr, 12);
	memcpy(out + 12, wire, wlen);
	out[12 + wlen] = qtype >> 8;
	out[13 + wlen] = qtype & 0xff;
	out[14 + wlen] = 0;
	out[15 + wlen] = 1;
	return 16 + wlen;
}

int tw_dns_ask(const char *server, const char *name, int tcp)
{
	unsigned char wire[300], msg[402], buf[1024];
	struct timeval tv = { .tv_sec = 1 };
	struct sockaddr_storage ss;
	socklen_t sl;
	size_t ml;
	int fd, n, err = 0;

	if (strlen(name) > 253)
		return -EINVAL;
	ml = tw_dns_msg(msg + 2, 1, wire, tw_dns_wire(name, wire), 1);
	msg[0] = ml >> 8;
	msg[1] = ml & 0xff;
	if (tw_sockaddr(server, 53, &ss, &sl))
		return -EINVAL;
	fd = socket(ss.ss_family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (tcp) {
		if (connect(fd, (struct sockaddr *)&ss, sl) || send(fd, msg, ml + 2, 0) < 0)
			err = -errno;
	} else if (sendto(fd, msg + 2, ml, 0, (struct sockaddr *)&ss, sl) < 0) {
		err = -errno;
	}
	if (!err) {
		n = recv(fd, buf, sizeof(buf), 0);
		err = n > 0 ? 0 : -ETIMEDOUT;
	}
	close(fd);
	return err;
}
