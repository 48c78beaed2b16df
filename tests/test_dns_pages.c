// SPDX-License-Identifier: GPL-2.0
/*
 * What the DNS server reads is what the guard judged: a tiered sender
 * (uid 65534 in staging) hands the kernel a harmless query that stays in its
 * own pages (vmsplice + splice, sendfile from a memfd, MSG_ZEROCOPY, io_uring
 * SEND_ZC and SENDMSG_ZC, which need no SO_ZEROCOPY), then
 * rewrites those pages into a query for a prod name before the server reads
 * it. The server here is the test itself, on 127.0.0.1:53 in a private
 * network namespace: it reads only after the rewrite, and records every
 * byte it got. The prod name must never be among them; untagged senders are
 * the controls. A plain query sent last on the same socket says "done".
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include "fixture.h"
#include "net.h"
#include "sockets.h"
#include "test.h"
#include "uring.h"

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif

static const char policy[] =
	"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"*.prod.test\"] } ] }\n";

/* Same length: the harmless name is rewritten in place into the prod one. */
#define HARMLESS	"db.prod.tesx"
#define PROD		"db.prod.test"
#define DONE		"done.free.tesx"
static const unsigned char prod_wire[] = "\2db\4prod\4test";

enum path { SPLICE, SENDFILE, ZEROCOPY, SEND_ZC, SENDMSG_ZC };
static const char *const path_names[] = {
	"vmsplice+splice", "sendfile from a memfd", "MSG_ZEROCOPY", "io_uring SEND_ZC", "io_uring SENDMSG_ZC",
};

struct race {
	enum path path;
	bool tcp;
};

/* A query for name, with TCP's length prefix if tcp; its length. */
static size_t query(unsigned char *out, const char *name, bool tcp)
{
	unsigned char wire[300];
	size_t n = tw_dns_msg(out + 2, 1, wire, tw_dns_wire(name, wire), 1);

	out[0] = n >> 8;
	out[1] = n & 0xff;
	if (!tcp)
		memmove(out, out + 2, n);
	return tcp ? n + 2 : n;
}

/* Where the name sits in a query built by query(). */
static size_t name_at(bool tcp)
{
	return (tcp ? 2 : 0) + 12 + 1;
}

/* io_uring's zero-copy sends: the page is rewritten once the send completed, before its notification. */
static int send_zc(int fd, const struct race *r, unsigned char *page, size_t len)
{
	struct iovec iov = { .iov_base = page, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct uring u;
	bool more;
	int rc = uring_open(&u);

	if (rc)
		return rc;
	rc = uring_send_zc(&u, fd, page, len, r->path == SENDMSG_ZC ? &mh : NULL, &more);
	if (rc == (int)len)
		memcpy(page + name_at(r->tcp), prod_wire, 13);	/* the kernel may still read the page */
	uring_close(&u);
	return rc == (int)len ? 0 : rc < 0 ? rc : -EIO;
}

static int send_from_pages(int fd, const struct race *r, unsigned char *page, size_t len)
{
	struct iovec iov = { .iov_base = page, .iov_len = len };
	int p[2], mfd, on = 1;
	off_t off = 0;

	switch (r->path) {
	case SPLICE:
		if (pipe(p))
			return -errno;
		if (vmsplice(p[1], &iov, 1, 0) != (ssize_t)len ||
		    splice(p[0], NULL, fd, NULL, len, 0) != (ssize_t)len)
			return -errno;
		memcpy(page + name_at(r->tcp), prod_wire, 13);	/* after the guard */
		return 0;
	case SENDFILE:
		mfd = memfd_create("query", MFD_CLOEXEC);
		if (mfd < 0 || write(mfd, page, len) != (ssize_t)len ||
		    sendfile(fd, mfd, &off, len) != (ssize_t)len)
			return -errno;
		return pwrite(mfd, prod_wire, 13, name_at(r->tcp)) == 13 ? 0 : -EIO;
	case ZEROCOPY:
		if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &on, sizeof(on)) ||
		    send(fd, page, len, MSG_ZEROCOPY) != (ssize_t)len)
			return -errno;
		memcpy(page + name_at(r->tcp), prod_wire, 13);
		return 0;
	case SEND_ZC:
	case SENDMSG_ZC:
		return send_zc(fd, r, page, len);
	}
	return -EINVAL;
}

/* In the child (in its cgroup): 0 if the kernel took the data, else the errno. */
static int race(void *arg)
{
	const struct race *r = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	unsigned char *page, done[400];
	size_t len, dlen;
	int fd, err;

	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
		return -ECHILD;
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	fd = socket(AF_INET, (r->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (page == MAP_FAILED || fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -ECHILD;
	len = query(page, HARMLESS, r->tcp);
	err = send_from_pages(fd, r, page, len);
	dlen = query(done, DONE, r->tcp);
	if (send(fd, done, dlen, 0) != (ssize_t)dlen && !err)
		err = -errno;
	close(fd);
	return err;
}

struct server {
	int udp, tcp;
	unsigned char got[8192];
	size_t n;
};

/* Read what arrived until the "done" query (or EOF, or a last-resort deadline); true if it came. */
static bool read_until_done(struct server *s, bool tcp)
{
	static const unsigned char done[] = "\4done\4free\4tesx";
	long long end = fx_now_ms() + fx_timeout_ms(3000);
	struct pollfd p = { .fd = s->udp, .events = POLLIN };
	int c = -1;
	ssize_t r;

	s->n = 0;
	if (tcp) {
		p.fd = s->tcp;
		if (poll(&p, 1, fx_timeout_ms(3000)) != 1 || (c = accept4(s->tcp, NULL, NULL, SOCK_CLOEXEC)) < 0)
			return false;
		p.fd = c;
	}
	while (s->n < sizeof(s->got) && fx_now_ms() < end) {
		if (memmem(s->got, s->n, done, sizeof(done) - 1))
			break;
		if (poll(&p, 1, end - fx_now_ms()) != 1)
			break;
		r = recv(p.fd, s->got + s->n, sizeof(s->got) - s->n, 0);
		if (r <= 0)
			break;
		s->n += r;
	}
	if (c >= 0)
		close(c);
	return memmem(s->got, s->n, done, sizeof(done) - 1) != NULL;
}

static bool start(struct fx *f, struct tw_netns *ns, struct server *s)
{
	static const char *const cgroups[] = { "staging", "free", NULL };

	s->udp = s->tcp = -1;
	if (geteuid()) {
		tw_test_skip("needs root (cgroups and BPF)");
		return false;
	}
	if (!ASSERT_OK(fx_init(f, cgroups), "fixture") || !ASSERT_OK(fx_write_policy(f, policy), "policy") ||
	    !ASSERT_OK(fx_start(f, NULL), "tierwalld starts") ||
	    !ASSERT_OK(tw_netns_enter(ns, NULL, NULL), "private network namespace"))
		return false;
	s->udp = fx_bind_udp("127.0.0.1", 53);
	s->tcp = fx_listen_tcp("127.0.0.1", 53);
	return ASSERT_TRUE(s->udp >= 0 && s->tcp >= 0, "server on 127.0.0.1:53");
}

static void finish(struct fx *f, struct tw_netns *ns, struct server *s)
{
	if (s->udp >= 0)
		close(s->udp);
	if (s->tcp >= 0)
		close(s->tcp);
	tw_netns_leave(ns);
	fx_cleanup(f);
}

/*
 * One path from staging and from an untagged cgroup. closed: whether this
 * kernel must keep the rewritten query from the server (else it is a
 * documented opening, reported); lsm: BPF LSM refuses the send itself.
 */
static void run_path(struct fx *f, struct server *s, enum path path, bool tcp, bool closed, bool lsm)
{
	struct race r = { .path = path, .tcp = tcp };
	const char *how = path_names[path];
	bool leaked;
	json_t *e;
	pid_t pid;
	int rc;

	rc = fx_do(f, "staging", race, &r, &pid);
	read_until_done(s, tcp);
	leaked = memmem(s->got, s->n, prod_wire, sizeof(prod_wire)) != NULL;
	printf("    staging, %s over %s: send %s, %s\n", how, tcp ? "TCP" : "UDP",
	       rc ? strerror(rc) : "taken", leaked ? "the server read the prod name" : "no prod name");
	if (closed) {
		ASSERT_TRUE(!leaked, "staging: the rewritten prod name never reaches the server");
		/* Refused at the call (a socket record) or dropped by the guard (a dns record). */
		e = fx_event_kind(f, path == ZEROCOPY || lsm ? "socket" : "dns", pid);
		ASSERT_TRUE(e != NULL, "staging: the refusal is recorded");
		json_decref(e);
	} else if (leaked) {
		printf("    open on this kernel without BPF LSM (doc/threat-model.md)\n");
	}
	if (path == ZEROCOPY)
		ASSERT_EQ(rc, EPERM, "staging: SO_ZEROCOPY refused");
	if ((path == SEND_ZC || path == SENDMSG_ZC) && lsm)
		ASSERT_EQ(rc, EPERM, "staging: the zero-copy send refused (socket_sendmsg sees MSG_ZEROCOPY)");
	rc = fx_do(f, "free", race, &r, &pid);
	ASSERT_EQ(rc, 0, "untagged: the send is taken");
	ASSERT_TRUE(read_until_done(s, tcp), "untagged: the server reads the whole exchange");
	printf("    untagged: the server read %s\n",
	       memmem(s->got, s->n, prod_wire, sizeof(prod_wire)) ? "the rewritten prod name (the race is real)" :
								     "the name as sent");
}

/* Every path over UDP or TCP; TCP's splice and sendfile are closed only where BPF LSM runs. */
static void run_paths(bool tcp)
{
	struct tw_netns ns = { .old = -1 };
	struct server s;
	struct fx f;
	char why[256];
	bool lsm = fx_lsm_usable(why, sizeof(why));

	if (start(&f, &ns, &s)) {
		run_path(&f, &s, SPLICE, tcp, !tcp || lsm, lsm);
		run_path(&f, &s, SENDFILE, tcp, !tcp || lsm, lsm);
		run_path(&f, &s, ZEROCOPY, tcp, true, lsm);
		/* No SO_ZEROCOPY needed: over TCP only BPF LSM refuses them. */
		run_path(&f, &s, SEND_ZC, tcp, !tcp || lsm, lsm);
		run_path(&f, &s, SENDMSG_ZC, tcp, !tcp || lsm, lsm);
	}
	finish(&f, &ns, &s);
}

/* The guard drops a datagram whose data is not in the packet's own buffer, on every kernel. */
TEST(integ_dns_pages_udp_rewrite_never_reaches_server)
{
	run_paths(false);
}

/* TCP data always sits in page fragments: the guard cannot tell; BPF LSM refuses the send. */
TEST(integ_dns_pages_tcp_rewrite_never_reaches_server)
{
	run_paths(true);
}
