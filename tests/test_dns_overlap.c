// SPDX-License-Identifier: GPL-2.0
/*
 * A DNS answer over TCP is judged per segment, from the segment's first
 * byte, as if each started a message; the receiver reads the stream. A
 * server (anyone on the path) that resends bytes the client already has,
 * shifted, makes the two disagree: a segment starting 2 bytes into the
 * first message is, to the guard, one harmless message (header, no records,
 * trailing bytes ignored); to the client, whose stream keeps the first
 * copy of those bytes, its tail is a new message that CNAMEs into prod.
 * The server here is the kernel's own socket plus one segment written by a
 * raw socket with the sequence numbers TCP_REPAIR reads off it.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "dnse2e.h"
#include "test.h"

#define FIRST	58	/* the first message's bytes, after its 2-byte length */
#define PROD_WIRE "\003api\004prod\004test"

static const unsigned char header[12] = { 0x12, 0x34, 0x81, 0x80 };	/* an answer, no records */

/* The message the client's stream gets from the shifted segment: free.test CNAME api.prod.test. */
static size_t evil_msg(unsigned char *p)
{
	static const unsigned char m[] = {
		0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
		4, 'f', 'r', 'e', 'e', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 15,
		3, 'a', 'p', 'i', 4, 'p', 'r', 'o', 'd', 4, 't', 'e', 's', 't', 0,
	};

	memcpy(p, m, sizeof(m));
	return sizeof(m);
}

static uint16_t csum(const void *p, size_t len, uint32_t sum)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (b[i] << 8) | b[i + 1];
	if (len & 1)
		sum += b[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static int queue_seq(int fd, int queue, uint32_t *seq)
{
	socklen_t l = sizeof(*seq);

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)))
		return -errno;
	return getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &l) ? -errno : 0;
}

/* One segment from the server's address and port to the client's, at seq, carrying data. */
static int inject(int conn, uint32_t seq, uint32_t ack, const unsigned char *data, size_t len)
{
	struct sockaddr_in me, peer;
	socklen_t sl = sizeof(me);
	unsigned char pkt[1024], pseudo[12];
	struct iphdr *ip = (void *)pkt;
	struct tcphdr *th = (void *)(pkt + sizeof(*ip));
	int raw, err = 0;
	uint32_t sum;

	if (getsockname(conn, (void *)&me, &sl) || (sl = sizeof(peer), getpeername(conn, (void *)&peer, &sl)))
		return -errno;
	memset(pkt, 0, sizeof(*ip) + sizeof(*th));
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = me.sin_addr.s_addr;
	ip->daddr = peer.sin_addr.s_addr;
	ip->tot_len = htons(sizeof(*ip) + sizeof(*th) + len);
	th->source = me.sin_port;
	th->dest = peer.sin_port;
	th->seq = htonl(seq);
	th->ack_seq = htonl(ack);
	th->doff = 5;
	th->ack = 1;
	th->psh = 1;
	th->window = htons(65535);
	memcpy(pkt + sizeof(*ip) + sizeof(*th), data, len);
	memcpy(pseudo, &ip->saddr, 4);
	memcpy(pseudo + 4, &ip->daddr, 4);
	pseudo[8] = 0;
	pseudo[9] = IPPROTO_TCP;
	pseudo[10] = (sizeof(*th) + len) >> 8;
	pseudo[11] = (sizeof(*th) + len) & 0xff;
	sum = csum(pseudo, sizeof(pseudo), 0);
	th->check = htons(~csum(th, sizeof(*th) + len, sum) & 0xffff);
	raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (raw < 0)
		return -errno;
	if (sendto(raw, pkt, sizeof(*ip) + sizeof(*th) + len, 0, (void *)&peer, sizeof(peer)) < 0)
		err = -errno;
	close(raw);
	return err;
}

/* The server's side of one connection: a harmless first message, then the shifted copy. */
static int serve(int lfd)
{
	unsigned char buf[512], seg[512];
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	int conn, one = 1, on = 1, off = -1 /* TCP_REPAIR_OFF_NO_WP */;
	uint32_t wseq, rnxt;
	size_t n;

	if (poll(&pfd, 1, 10000) != 1 || (conn = accept(lfd, NULL, NULL)) < 0)
		return 1;
	setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (read(conn, buf, sizeof(buf)) <= 0)	/* the query */
		return 2;
	/* The first message: [len 58][header, no records, zeros]. */
	memset(seg, 0, sizeof(seg));
	seg[0] = 0;
	seg[1] = FIRST;
	memcpy(seg + 2, header, sizeof(header));
	if (write(conn, seg, 2 + FIRST) != 2 + FIRST)
		return 3;
	usleep(200 * 1000);
	if (setsockopt(conn, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) ||
	    queue_seq(conn, TCP_SEND_QUEUE, &wseq) || queue_seq(conn, TCP_RECV_QUEUE, &rnxt) ||
	    setsockopt(conn, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)))
		return 4;
	/*
	 * From stream byte 2 on: to the guard a message of all of it (length,
	 * header with no records, then bytes it never reads); the client
	 * already has bytes 2..59 and keeps those, so for it the new ones,
	 * from seg[FIRST] on, are [length][free.test CNAME api.prod.test].
	 */
	memset(seg, 0, sizeof(seg));
	memcpy(seg + 2, header, sizeof(header));
	n = evil_msg(seg + FIRST + 2);
	seg[FIRST] = n >> 8;
	seg[FIRST + 1] = n & 0xff;
	n += FIRST + 2;
	seg[0] = (n - 2) >> 8;
	seg[1] = (n - 2) & 0xff;
	if (inject(conn, wseq - FIRST, rnxt, seg, n))
		return 5;
	usleep(3000 * 1000);	/* the client reads, then closes */
	close(conn);
	return 0;
}

/* The client, in its cgroup: EEXIST if a message it read names api.prod.test. */
static int ask_one(const char *server)
{
	static const unsigned char q[] = {
		0, 27, 0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		4, 'f', 'r', 'e', 'e', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1,
	};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct timeval tv = { 3, 0 };
	unsigned char buf[1024];
	int fd, i, err = 0;

	inet_pton(AF_INET, server, &sa.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (void *)&sa, sizeof(sa)) || write(fd, q, sizeof(q)) != sizeof(q)) {
		err = errno;
		close(fd);
		return err ?: EIO;
	}
	for (i = 0; i < 2 && !err; i++) {
		unsigned char l[2];
		size_t len, got = 0;
		ssize_t r;

		if (recv(fd, l, 2, MSG_WAITALL) != 2) {
			err = errno ?: ECONNRESET;
			break;
		}
		len = (l[0] << 8) | l[1];
		while (got < len && (r = recv(fd, buf + got, len - got > sizeof(buf) - got ?
					      sizeof(buf) - got : len - got, 0)) > 0)
			got += r;
		if (got < len)
			err = errno ?: ECONNRESET;
		else if (memmem(buf, len, PROD_WIRE, sizeof(PROD_WIRE) - 1))
			err = EEXIST;
	}
	close(fd);
	return err;
}

/* fx_do's convention: -errno. */
static int ask(void *arg)
{
	return -ask_one(arg);
}

/* A server of its own per call: the last connection may linger on its address. */
static int shifted_answer_to(struct fx *f, const char *rel, const char *server, pid_t *pid)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
	int lfd, one = 1, st = 0, r;
	pid_t srv;

	inet_pton(AF_INET, server, &sa.sin_addr);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, (void *)&sa, sizeof(sa)) || listen(lfd, 4)) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	srv = fork();
	if (srv == 0)
		_exit(serve(lfd));
	r = fx_do(f, rel, ask, (void *)server, pid);
	if (srv > 0) {
		waitpid(srv, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			printf("    # server (%s): status %d\n", rel, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	close(lfd);
	return r;
}

TEST(dns_tcp_answer_shifted_resend_never_hides_another_tiers_name)
{
	struct fx f;
	struct fx_dns x;
	json_t *e;
	pid_t pid;
	int r;

	if (dns_setup(&f, &x, NULL))
		goto out;
	/* Control: an untagged client's stream does get the CNAME into prod (the trick works). */
	ASSERT_EQ(shifted_answer_to(&f, "other", "127.87.0.53", NULL), EEXIST,
		  "untagged: the shifted resend puts a CNAME into prod in the stream");
	/* A staging client must never read it: the segment is judged as the stream reads it, or dropped. */
	r = shifted_answer_to(&f, "staging", "127.87.0.54", &pid);
	ASSERT_TRUE(r != EEXIST, "staging: no message naming api.prod.test reaches the resolver");
	e = fx_event_kind(&f, "dns", pid);
	if (ASSERT_TRUE(e != NULL, "a dns event")) {
		ASSERT_STREQ(json_string_value(json_object_get(e, "reason")), "answer_names_other_tier",
			     "the resent bytes judged as the stream reads them");
		ASSERT_STREQ(json_string_value(json_object_get(e, "name")), "api.prod.test", "the name");
	}
	json_decref(e);
out:
	fx_cleanup(&f);
	fx_dns_stop(&x);
}
