// SPDX-License-Identifier: GPL-2.0
/*
 * The network rules that need BPF LSM (netlsm.bpf.c), in the guests: packet
 * sockets, sending on a socket made before the process joined its tier, and
 * sockets carried across the boundary (SCM_RIGHTS, pidfd_getfd). On a host
 * without BPF LSM these SKIP with the reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "fixture.h"
#include "net.h"
#include "sockets.h"
#include "test.h"

#define P	fx_port(5)

static const char policy[] =
	"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ {\"path\": \"/staging\", \"tier\": \"staging\"},\n"
	"               {\"path\": \"/prod\", \"tier\": \"prod\"} ],\n"
	"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"]} ] }\n";

/* The file's tests share one daemon (fx_share), each on cgroups of its own. */
static bool start(struct fx *f)
{
	static const char *const cgroups[] = { "staging", "prod", "free", NULL };
	static const struct fx_group netlsm = {
		.name = "netlsm", .cgroups = cgroups, .text = policy, .slots = 3,
	};
	char why[256];

	memset(f, 0, sizeof(*f));
	if (!fx_lsm_usable(why, sizeof(why))) {
		tw_test_skip("BPF LSM unusable here: %s", why);
		return false;
	}
	return fx_share(f, &netlsm);
}

/* A socket of a kind, made in the child's cgroup, then used from `then` (NULL: stays). */
struct use {
	struct fx *f;
	int kind;		/* SOCK_RAW: ICMP; SOCK_PACKET: AF_PACKET raw; SOCK_DGRAM: AF_PACKET dgram */
	const char *then;
	bool send;		/* send on it (else: only make it) */
};

/* An Ethernet frame out of lo: whoever sends it is past every IP hook. */
static int packet_send(int fd)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = if_nametoindex("lo"), .sll_halen = ETH_ALEN };
	unsigned char frame[64] = { [12] = 0x08, [14] = 0x45 };

	return sendto(fd, frame, sizeof(frame), 0, (struct sockaddr *)&sll, sizeof(sll)) < 0 ? -errno : 0;
}

static int do_use(void *arg)
{
	const struct use *u = arg;
	struct sockaddr_storage ss;
	char path[PATH_MAX * 2];
	socklen_t len;
	int fd, err;

	if (u->kind == SOCK_RAW)
		fd = tw_icmp_socket(AF_INET, SOCK_RAW);
	else
		fd = socket(AF_PACKET, u->kind == SOCK_DGRAM ? SOCK_DGRAM : SOCK_RAW,
			    htons(u->kind == SOCK_DGRAM ? ETH_P_IP : ETH_P_ALL));
	if (fd < 0)
		return fd == -1 ? -errno : fd;
	snprintf(path, sizeof(path), "%s/%s", u->f->root, u->then ? u->then : "");
	if (u->then && tw_join_cgroup(path))
		return -ECHILD;
	if (!u->send)
		return 0;
	if (u->kind != SOCK_RAW)
		return packet_send(fd);
	tw_sockaddr("127.20.0.1", 0, &ss, &len);
	err = tw_icmp_echo(fd, (struct sockaddr *)&ss, len);
	close(fd);
	return err;
}

static int use(struct fx *f, const char *cg, int kind, const char *then, bool send, pid_t *pid)
{
	struct use u = { .f = f, .kind = kind, .then = then, .send = send };

	return fx_do(f, cg, do_use, &u, pid);
}

TEST(lsm_net_packet_sockets_and_sockets_from_before_the_tier)
{
	struct fx f;
	pid_t pid;

	if (!start(&f))
		goto out;
	ASSERT_OK(use(&f, "free", SOCK_PACKET, NULL, true, NULL), "untagged packet socket sends");
	ASSERT_EQ(use(&f, "staging", SOCK_PACKET, NULL, false, &pid), EPERM, "staging packet socket");
	tw_check_sock_event(&f, pid, "create", "packet", "raw", "all", -1);
	ASSERT_EQ(use(&f, "staging", SOCK_DGRAM, NULL, false, NULL), EPERM, "staging cooked packet socket");
	/* Made outside the tier, used inside it: the send is refused. */
	ASSERT_EQ(use(&f, "free", SOCK_PACKET, "staging", true, &pid), EPERM,
		  "packet socket made untagged, sent from staging");
	tw_check_sock_event(&f, pid, "send", "packet", "raw", "all", -1);
	ASSERT_OK(use(&f, "free", SOCK_RAW, NULL, true, NULL), "untagged raw ICMP socket: echo answered");
	ASSERT_EQ(use(&f, "free", SOCK_RAW, "staging", true, &pid), EPERM,
		  "raw socket made untagged, echo sent from staging");
	tw_check_sock_event(&f, pid, "send", "inet", "raw", "icmp", -1);
out:
	fx_cleanup(&f);
}

/* The test process (outside the daemon's root) passes fd to a child in cg over SCM_RIGHTS. */
struct recv {
	int sock;
	int type;		/* what the child does with it: SOCK_STREAM / SOCK_DGRAM send */
};

static int do_recv(void *arg)
{
	const struct recv *r = arg;
	int fd = tw_recv_fd(r->sock);

	if (fd < 0)
		return -EPERM;	/* the descriptor never arrived */
	return r->type && send(fd, "x", 1, MSG_NOSIGNAL) != 1 ? -EIO : 0;
}

static int pass(struct fx *f, const char *cg, int fd, int type, pid_t *pid)
{
	struct recv r = { .type = type };
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	r.sock = sv[1];
	err = tw_send_fd(sv[0], fd);
	if (!err)
		err = fx_do(f, cg, do_recv, &r, pid);
	close(sv[0]);
	close(sv[1]);
	return err;
}

/* A socket of type connected to addr:port from here; -1 on failure. */
static int connected(int type, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (tw_sockaddr(addr, port, &ss, &len))
		return -1;
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void close_all(const int *fds, int n)
{
	while (n--)
		if (fds[n] >= 0)
			close(fds[n]);
}

static void check_receive_event(struct fx *f, pid_t pid, const char *proto)
{
	json_t *e = fx_event(f, pid, P);

	if (!ASSERT_TRUE(e != NULL, "connect event for the received socket"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(e, "kind")), "connect", "kind");
	ASSERT_STREQ(json_string_value(json_object_get(e, "op")), "receive", "op");
	ASSERT_STREQ(json_string_value(json_object_get(e, "target_tier")), "prod", "target tier");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(e, "dst"), "ip")), "127.20.0.1",
		     "the socket's peer");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(e, "dst"), "proto")), proto, "proto");
	json_decref(e);
}

TEST(lsm_net_socket_received_over_scm_rights)
{
	int lp = -1, l = -1, up = -1, tp = -1, t = -1, u = -1, raw = -1;
	struct fx f;
	pid_t pid;

	if (!start(&f))
		goto out;
	lp = fx_listen_tcp("127.20.0.1", P);
	l = fx_listen_tcp("127.0.0.1", P);
	up = fx_bind_udp("127.20.0.1", P);
	tp = connected(SOCK_STREAM, "127.20.0.1", P);
	t = connected(SOCK_STREAM, "127.0.0.1", P);
	u = connected(SOCK_DGRAM, "127.20.0.1", P);
	raw = tw_icmp_socket(AF_INET, SOCK_RAW);
	if (!ASSERT_TRUE(lp >= 0 && l >= 0 && up >= 0 && tp >= 0 && t >= 0 && u >= 0 && raw >= 0,
			 "listeners and sockets connected by an untagged process"))
		goto out;
	ASSERT_EQ(pass(&f, "staging", tp, SOCK_STREAM, &pid), EPERM,
		  "staging receives a TCP connection to prod: refused");
	check_receive_event(&f, pid, "tcp");
	ASSERT_EQ(pass(&f, "staging", u, SOCK_DGRAM, &pid), EPERM, "staging receives a UDP socket connected to prod");
	check_receive_event(&f, pid, "udp");
	ASSERT_EQ(pass(&f, "staging", raw, 0, &pid), EPERM, "staging receives a raw socket");
	tw_check_sock_event(&f, pid, "receive", "inet", "raw", "icmp", -1);
	ASSERT_TRUE(fx_nothing_arrived(up), "nothing reached prod over UDP");

	ASSERT_OK(pass(&f, "free", tp, SOCK_STREAM, NULL), "untagged receives it and sends");
	ASSERT_OK(pass(&f, "prod", tp, SOCK_STREAM, NULL), "prod receives its own tier's connection");
	ASSERT_OK(pass(&f, "staging", t, SOCK_STREAM, NULL), "staging receives a connection to an unowned address");
	ASSERT_OK(pass(&f, "free", raw, 0, NULL), "untagged receives the raw socket");
out:
	close_all((int[]){ lp, l, up, tp, t, u, raw }, 7);
	fx_cleanup(&f);
}

/* pidfd_getfd from the holder (arg: pid, fd), then a send on what came back. */
static int take_fd(void *arg)
{
	const int *a = arg;
	int fd = tw_take_fd(a[0], a[1]);

	if (fd < 0)
		return fd;
	return send(fd, "x", 1, MSG_NOSIGNAL) == 1 ? 0 : -EIO;
}

/*
 * pidfd_getfd: a holder connects to addr while untagged, then joins cg; a
 * taker in cg takes the descriptor. The holder is in the taker's tier, so
 * only the descriptor is judged, not the taking (reaching into another
 * tier's process is self-protection's, tested there).
 */
static int take_from_holder(struct fx *f, const char *cg, const char *addr, pid_t *taker)
{
	char path[PATH_MAX * 2];
	struct pollfd p;
	int fdpipe[2], done[2], fd = -1, st, port = P;	/* P is per process */
	pid_t holder;

	if (pipe(fdpipe) || pipe(done))
		return -1;
	fflush(stdout);
	holder = fork();
	if (!holder) {
		close(done[1]);
		fd = connected(SOCK_STREAM, addr, port);
		snprintf(path, sizeof(path), "%s/%s", f->root, cg);
		if (fd < 0 || tw_join_cgroup(path) || write(fdpipe[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(1);
		p = (struct pollfd){ .fd = done[0], .events = POLLIN };
		poll(&p, 1, fx_timeout_ms(60000));	/* until the taker is done */
		_exit(0);
	}
	close(fdpipe[1]);
	close(done[0]);
	st = read(fdpipe[0], &fd, sizeof(fd)) == sizeof(fd) ? 0 : -1;
	if (!st) {
		int want = fd;

		st = fx_do(f, cg, take_fd, (int[]){ holder, want }, taker);
	}
	close(done[1]);
	close(fdpipe[0]);
	waitpid(holder, NULL, 0);
	return st;
}

TEST(lsm_net_socket_taken_with_pidfd_getfd)
{
	struct fx f;
	pid_t pid;
	int lp, l;

	if (!start(&f))
		goto out;
	lp = fx_listen_tcp("127.20.0.1", P);
	l = fx_listen_tcp("127.0.0.1", P);
	if (!ASSERT_TRUE(lp >= 0 && l >= 0, "listeners"))
		goto out;
	ASSERT_EQ(take_from_holder(&f, "staging", "127.20.0.1", &pid), EPERM,
		  "staging takes a connection to prod: refused");
	check_receive_event(&f, pid, "tcp");
	ASSERT_OK(take_from_holder(&f, "free", "127.20.0.1", NULL), "untagged takes it and sends");
	ASSERT_OK(take_from_holder(&f, "prod", "127.20.0.1", NULL), "prod takes its own tier's connection");
	ASSERT_OK(take_from_holder(&f, "staging", "127.0.0.1", NULL),
		  "staging takes a connection to an unowned address");
	close(lp);
	close(l);
out:
	fx_cleanup(&f);
}
