// SPDX-License-Identifier: GPL-2.0
/*
 * NRI's multiplexer and ttrpc's message framing (see nri2.h). Bytes from
 * the trunk are split into mux frames; each frame's bytes join its conn's
 * stream (a ttrpc message may span frames: ttrpc writes through a buffer),
 * and whole ttrpc messages are taken from the streams. Frames for other
 * conns are dropped, as NRI's own multiplexer does.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "nri2.h"

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Drop what was consumed, then make room for n more bytes (at most max held). */
static int buf_room(struct nri2_buf *b, size_t n, size_t max)
{
	size_t want;
	uint8_t *np;

	if (b->off) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + n > max)
		return -EMSGSIZE;
	if (b->len + n <= b->cap)
		return 0;
	want = b->cap ? b->cap : 4096;
	while (want < b->len + n)
		want *= 2;
	np = realloc(b->p, want);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = want;
	return 0;
}

static int buf_add(struct nri2_buf *b, const void *data, size_t n, size_t max)
{
	int err = n ? buf_room(b, n, max) : 0;

	if (err || !n)
		return err;
	memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

int nri2_rx_feed(struct nri2_rx *rx, const void *data, size_t len)
{
	/* A whole frame at most, plus what a read may bring beyond it. */
	int err = buf_add(&rx->trunk, data, len, NRI2_MUX_HDR + NRI2_MUX_MAX + 65536);

	if (err)
		snprintf(rx->err, sizeof(rx->err), "nri mux: %zu bytes buffered without a whole frame",
			 rx->trunk.len);
	return err;
}

/* A whole ttrpc message from conn c's stream: 1, 0 not yet, -errno. */
static int take_msg(struct nri2_rx *rx, uint32_t c, struct nri2_msg *m)
{
	struct nri2_buf *b = &rx->conn[c];
	size_t have = b->len - b->off;
	const uint8_t *h;
	uint32_t n;

	if (have < NRI2_TT_HDR)
		return 0;	/* (b->p may still be NULL) */
	h = b->p + b->off;
	n = be32(h);
	if (n > NRI2_TT_MAX) {
		snprintf(rx->err, sizeof(rx->err), "ttrpc on nri conn %u: a message of %u bytes "
			 "(at most %u)", c, n, NRI2_TT_MAX);
		return -EMSGSIZE;
	}
	if (have < NRI2_TT_HDR + (size_t)n)
		return 0;
	*m = (struct nri2_msg){ .conn = c, .stream = be32(h + 4), .type = h[8], .flags = h[9],
				.data = h + NRI2_TT_HDR, .len = n };
	b->off += NRI2_TT_HDR + n;
	if (m->type < NRI2_TT_REQUEST || m->type > NRI2_TT_DATA) {
		snprintf(rx->err, sizeof(rx->err), "ttrpc on nri conn %u: message type %u (stream %u) "
			 "is not a request, response or data", c, m->type, m->stream);
		return -EBADMSG;
	}
	return 1;
}

/* One whole mux frame from the trunk into its conn's stream: 1, 0 not yet, -errno. */
static int take_frame(struct nri2_rx *rx)
{
	struct nri2_buf *t = &rx->trunk;
	size_t have = t->len - t->off;
	const uint8_t *h;
	uint32_t cid, n;
	int err;

	if (have < NRI2_MUX_HDR)
		return 0;
	h = t->p + t->off;
	cid = be32(h);
	n = be32(h + 4);
	if (n > NRI2_MUX_MAX) {
		snprintf(rx->err, sizeof(rx->err), "nri mux: a frame of %u bytes for conn %u (at most %u)",
			 n, cid, NRI2_MUX_MAX);
		return -EMSGSIZE;
	}
	if (!cid) {
		snprintf(rx->err, sizeof(rx->err), "nri mux: a frame for conn 0 (reserved)");
		return -EBADMSG;
	}
	if (have < NRI2_MUX_HDR + (size_t)n)
		return 0;
	t->off += NRI2_MUX_HDR + n;
	if (cid != NRI2_CONN_PLUGIN && cid != NRI2_CONN_RUNTIME)
		return 1;
	err = buf_add(&rx->conn[cid], h + NRI2_MUX_HDR, n, NRI2_TT_HDR + NRI2_TT_MAX);
	if (err)
		snprintf(rx->err, sizeof(rx->err), "ttrpc on nri conn %u: more than a message's "
			 "%u bytes buffered", cid, NRI2_TT_MAX);
	return err ?: 1;
}

int nri2_rx_next(struct nri2_rx *rx, struct nri2_msg *m)
{
	uint32_t c;
	int err;

	for (;;) {
		for (c = NRI2_CONN_PLUGIN; c <= NRI2_CONN_RUNTIME; c++) {
			err = take_msg(rx, c, m);
			if (err)
				return err;
		}
		err = take_frame(rx);
		if (err <= 0)
			return err;
	}
}

void nri2_rx_free(struct nri2_rx *rx)
{
	size_t i;

	free(rx->trunk.p);
	for (i = 0; i < 3; i++)
		free(rx->conn[i].p);
	memset(rx, 0, sizeof(*rx));
}

int nri2_send(int fd, uint32_t conn, uint32_t stream, uint8_t type, const void *payload, size_t len)
{
	size_t total = NRI2_MUX_HDR + NRI2_TT_HDR + len, done = 0;
	uint8_t *f;
	int err = 0;

	if (len > NRI2_TT_MAX)
		return -EMSGSIZE;
	f = malloc(total);
	if (!f)
		return -ENOMEM;
	put_be32(f, conn);
	put_be32(f + 4, NRI2_TT_HDR + len);
	put_be32(f + 8, len);
	put_be32(f + 12, stream);
	f[16] = type;
	f[17] = 0;
	if (len)
		memcpy(f + NRI2_MUX_HDR + NRI2_TT_HDR, payload, len);
	while (done < total) {
		ssize_t n = send(fd, f + done, total - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EPIPE;
			break;
		}
		done += n;
	}
	free(f);
	return err;
}
