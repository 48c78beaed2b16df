/* SPDX-License-Identifier: GPL-2.0 */
/* Socket tricks the bypass tests play: ICMP echoes, passed descriptors, private namespaces. */
#ifndef TW_TEST_SOCKETS_H
#define TW_TEST_SOCKETS_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

struct fx;

/* Pass fd over a Unix socket (SCM_RIGHTS); 0 or -errno. */
int tw_send_fd(int sock, int fd);
/* The descriptor passed on sock within 5 s, or -1 (none came, or it was refused). */
int tw_recv_fd(int sock);
/* pidfd_getfd(pidfd_open(pid), fd): the descriptor or -errno. */
int tw_take_fd(int pid, int fd);

/* An ICMP (family AF_INET) or ICMPv6 socket, type SOCK_DGRAM (ping) or SOCK_RAW; -errno. */
int tw_icmp_socket(int family, int type);
/* Send an echo request and wait up to 2 s for the reply: 0, -ETIMEDOUT or -errno of sendto(). */
int tw_icmp_echo(int fd, const struct sockaddr *sa, socklen_t len);

/* Bind fd to addr:port (tw_sockaddr forms); 0 or -errno. */
int tw_bind(int fd, const char *addr, int port);

/*
 * A private network namespace for this process (its children follow):
 * loopback up, v4 and v6 (may be NULL) on lo, ping_group_range open to all.
 * Leave returns to the original one; the private one goes with its last user.
 */
struct tw_netns {
	int old;
};

int tw_netns_enter(struct tw_netns *ns, const char *v4, const char *v6);
void tw_netns_leave(struct tw_netns *ns);

/* The socket event of pid: a staging deny with this op and kind (uid -1: any). */
/*
 * A daemon for the socket tests: cgroups staging, prod and free under this
 * policy (a static text), on a slot of the file's shared daemon for it
 * (fx_share). false when the test failed or was skipped (not root).
 */
bool tw_sock_share(struct fx *f, const char *policy);
void tw_check_sock_event(struct fx *f, pid_t pid, const char *op, const char *family,
			 const char *type, const char *protocol, long uid);

#endif
