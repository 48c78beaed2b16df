// SPDX-License-Identifier: GPL-2.0
/*
 * Live followers on the control socket (`tierwall events -f`). Each gets
 * the lines just written to the log that match its filter, through its own
 * bounded queue and a nonblocking socket: a slow or stuck follower loses
 * lines (counted, and told to it in-line once it catches up), never the
 * daemon's time or the other followers' lines.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "ctl.h"
#include "evquery.h"
#include "follow.h"
#include "util.h"

struct follower {
	int fd;
	struct tw_filter filter;
	json_t *req;			/* owns the filter's strings */
	char *q;
	size_t qlen, qcap;		/* grows on demand up to the limit */
	uint64_t dropped;		/* lines dropped since the last notice */
	bool want_out;
};

struct tw_followers {
	int epfd;
	size_t max_queue;
	struct follower *f;
	int n;
	uint64_t dropped_total;
};

struct tw_followers *tw_followers_new(int epfd, size_t max_queue)
{
	struct tw_followers *F = calloc(1, sizeof(*F));

	if (F) {
		F->epfd = epfd;
		F->max_queue = max_queue;
	}
	return F;
}

static void drop_follower(struct tw_followers *F, int i)
{
	epoll_ctl(F->epfd, EPOLL_CTL_DEL, F->f[i].fd, NULL);
	close(F->f[i].fd);
	json_decref(F->f[i].req);
	free(F->f[i].q);
	F->f[i] = F->f[--F->n];
}

static void set_out(struct tw_followers *F, struct follower *f, bool out)
{
	struct epoll_event ev = { .events = EPOLLRDHUP | (out ? EPOLLOUT : 0), .data.fd = f->fd };

	if (f->want_out != out && !epoll_ctl(F->epfd, EPOLL_CTL_MOD, f->fd, &ev))
		f->want_out = out;
}

static bool enqueue(struct follower *f, size_t max, const char *line, size_t len)
{
	if (f->qlen + len + 1 > max)
		return false;
	if (f->qlen + len + 1 > f->qcap) {
		size_t cap = f->qcap ? f->qcap : 65536;
		char *nq;

		while (cap < f->qlen + len + 1)
			cap *= 2;
		if (cap > max)
			cap = max;
		nq = realloc(f->q, cap);
		if (!nq)
			return false;
		f->q = nq;
		f->qcap = cap;
	}
	memcpy(f->q + f->qlen, line, len);
	f->q[f->qlen + len] = '\n';
	f->qlen += len + 1;
	return true;
}

/* Tell a follower how many lines it lost, where the gap is; false if no room yet. */
static bool tell_dropped(struct follower *f, size_t max)
{
	char notice[160], ts[64];
	int n;

	tw_format_time(tw_now_ns(CLOCK_REALTIME), ts, sizeof(ts));
	n = snprintf(notice, sizeof(notice),
		     "{\"v\":1,\"ts\":\"%s\",\"kind\":\"follow_dropped\",\"count\":%llu}",
		     ts, (unsigned long long)f->dropped);
	if (!enqueue(f, max, notice, n))
		return false;
	f->dropped = 0;
	return true;
}

/* Send what is queued without blocking; -1 if the follower is gone. */
static int push(struct tw_followers *F, struct follower *f)
{
	bool again = true;

	while (again) {
		again = false;
		while (f->qlen) {
			ssize_t w = send(f->fd, f->q, f->qlen, MSG_DONTWAIT | MSG_NOSIGNAL);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (w < 0)
				return -1;
			memmove(f->q, f->q + w, f->qlen - w);
			f->qlen -= w;
		}
		/* Caught up after losing lines: say so even if no new line comes. */
		if (f->dropped && f->qlen < F->max_queue / 2)
			again = tell_dropped(f, F->max_queue);
	}
	set_out(F, f, f->qlen > 0);
	return 0;
}

static void offer(struct tw_followers *F, struct follower *f, const char *line, size_t len)
{
	/* The notice goes where the gap is, just before the next line that fits. */
	if (f->dropped && f->qlen + 160 + len + 1 <= F->max_queue)
		tell_dropped(f, F->max_queue);
	if (f->dropped || !enqueue(f, F->max_queue, line, len)) {
		f->dropped++;
		F->dropped_total++;
	}
}

void tw_followers_publish(struct tw_followers *F, const char *lines, size_t len)
{
	const char *p = lines, *end = lines + len;
	int i;

	if (!F || !F->n)
		return;
	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_t *o = json_loadb(p, n, 0, NULL);

		for (i = 0; o && i < F->n; i++)
			if (tw_filter_match(&F->f[i].filter, o))
				offer(F, &F->f[i], p, n);
		json_decref(o);
		p += n + 1;
	}
	for (i = 0; i < F->n; i++)
		if (push(F, &F->f[i]))
			drop_follower(F, i--);
}

int tw_followers_add(struct tw_followers *F, int fd, json_t *req, char *why, size_t len)
{
	struct epoll_event ev = { .events = EPOLLRDHUP, .data.fd = fd };
	struct follower *f, *nf;
	json_t *ok;

	if (F->n >= TW_MAX_FOLLOWERS) {
		snprintf(why, len, "too many live followers (%d): try again later", TW_MAX_FOLLOWERS);
		return -EBUSY;
	}
	nf = realloc(F->f, (F->n + 1) * sizeof(*nf));
	if (!nf) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	F->f = nf;
	f = &F->f[F->n];
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->req = json_incref(req);
	f->filter.tier = json_string_value(json_object_get(req, "tier"));
	f->filter.kind = json_string_value(json_object_get(req, "kind"));
	f->filter.verdict = json_string_value(json_object_get(req, "verdict"));
	f->filter.cgroup = json_string_value(json_object_get(req, "cgroup"));
	f->filter.pid = json_integer_value(json_object_get(req, "pid"));
	ok = json_pack("{s:b}", "ok", 1);
	if (tw_ctl_send(fd, ok) || epoll_ctl(F->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		snprintf(why, len, "cannot start following: %s", strerror(errno));
		json_decref(ok);
		json_decref(f->req);
		return -EIO;
	}
	json_decref(ok);
	F->n++;
	return 0;
}

bool tw_followers_event(struct tw_followers *F, int fd, uint32_t events)
{
	int i;

	for (i = 0; F && i < F->n; i++) {
		if (F->f[i].fd != fd)
			continue;
		if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || push(F, &F->f[i]))
			drop_follower(F, i);
		return true;
	}
	return false;
}

int tw_followers_count(const struct tw_followers *F)
{
	return F ? F->n : 0;
}

uint64_t tw_followers_dropped(const struct tw_followers *F)
{
	return F ? F->dropped_total : 0;
}

void tw_followers_free(struct tw_followers *F)
{
	if (!F)
		return;
	while (F->n)
		drop_follower(F, 0);
	free(F->f);
	free(F);
}
