/* SPDX-License-Identifier: GPL-2.0 */
/* Socket operations the tests and tw_probe perform from inside a cgroup. */
#ifndef TW_TEST_NET_H
#define TW_TEST_NET_H

#include <stddef.h>
#include <sys/socket.h>

enum tw_op {
	TW_OP_TCP_CONNECT,
	TW_OP_UDP_CONNECT,	/* connect() on a UDP socket */
	TW_OP_UDP_SENDTO,	/* sendto() on an unconnected UDP socket */
};

int tw_parse_op(const char *s);
/* "127.0.0.1", "::1" or "::ffff:127.0.0.1" plus port; -EINVAL if none. */
int tw_sockaddr(const char *addr, int port, struct sockaddr_storage *ss, socklen_t *len);
/* The socket an op needs for this address family. */
int tw_op_socket(int op, int family);
/* Perform op on fd: 0 or -errno. */
int tw_op_run(int fd, int op, const struct sockaddr *sa, socklen_t len);
/* socket + op + close: 0 or -errno. */
int tw_net(int op, const char *addr, int port);
/* "a.b" -> "\1a\1b\0" (DNS wire format) into out; returns its length. */
size_t tw_dns_wire(const char *name, unsigned char *out);
/* A DNS message: header with qdcount qd, the wire name, qtype, class IN. */
size_t tw_dns_msg(unsigned char *out, unsigned short qd, const unsigned char *wire, size_t wlen,
		  unsigned short qtype);
/*
 * Ask server:53 for name's A record (res_mkquery would pull in libresolv),
 * over UDP or TCP: 0 with an answer, -errno if sending failed, -ETIMEDOUT if
 * nothing came back within a second.
 */
int tw_dns_ask(const char *server, const char *name, int tcp);
/* Move the calling process into a cgroup2 directory. */
int tw_join_cgroup(const char *dir);

#endif
