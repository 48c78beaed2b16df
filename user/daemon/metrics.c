// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition over HTTP (libmicrohttpd, its own thread).
 * The handler only reads: kernel counters through the bpf syscall, the
 * daemon's counters as aligned 64-bit loads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "log.h"
#include "metrics.h"
#include "util.h"

int tw_metrics_start(struct tw_metrics **out, const char *addr, tw_metrics_fn fn, void *arg,
		     char *why, size_t len)
{
	struct tw_metrics *m = NULL;
	int err = tw_metrics_bind(&m, addr, why, len);

	if (!err)
		err = tw_metrics_serve(m, fn, arg, why, len);
	if (err) {
		tw_metrics_stop(m);
		return err;
	}
	*out = m;
	return 0;
}

#ifdef TW_METRICS_NONE
/*
 * The statically linked daemon in the QEMU test guests: Debian ships no
 * static GnuTLS for libmicrohttpd, so that build has no HTTP endpoint.
 */
int tw_metrics_addr(const char *addr, struct sockaddr_in *sa, char *why, size_t len)
{
	snprintf(why, len, "this static build (for the test guests) has no HTTP metrics");
	return -EOPNOTSUPP;
}

int tw_metrics_bind(struct tw_metrics **out, const char *addr, char *why, size_t len)
{
	return tw_metrics_addr(addr, NULL, why, len);
}

int tw_metrics_serve(struct tw_metrics *m, tw_metrics_fn fn, void *arg, char *why, size_t len)
{
	return -EOPNOTSUPP;
}

void tw_metrics_stop(struct tw_metrics *m)
{
}

void tw_metric_printf(struct buf *b, const char *fmt, ...)
{
}
#else
#include <microhttpd.h>

int tw_metrics_addr(const char *addr, struct sockaddr_in *out, char *why, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *colon = strrchr(addr, ':');
	char host[64];
	long port;

	if (!colon || (size_t)(colon - addr) >= sizeof(host) ||
	    tw_parse_long(colon + 1, 1, 65535, &port)) {
		snprintf(why, len, "\"%s\" is not ADDRESS:PORT (e.g. 127.0.0.1:9464)", addr);
		return -EINVAL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(why, len, "\"%s\" is not an IPv4 address", host);
		return -EINVAL;
	}
	sa.sin_port = htons(port);
	if (out)
		*out = sa;
	return 0;
}

struct tw_metrics {
	struct MHD_Daemon *mhd;
	int fd;				/* listening; MHD's once it serves */
	tw_metrics_fn fn;
	void *arg;
};

struct buf {
	char *s;
	size_t len, cap;
};

void tw_metric_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->len + n < b->cap) {
			b->len += n;
			return;
		}
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (!b->s) {
			b->len = b->cap = 0;
			return;
		}
	}
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *data,
			      size_t *data_size, void **state)
{
	struct tw_metrics *m = cls;
	struct MHD_Response *r;
	struct buf b = { .s = malloc(4096), .cap = 4096 };
	enum MHD_Result ret;
	unsigned int code = MHD_HTTP_OK;

	if (!b.s)
		return MHD_NO;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		tw_metric_printf(&b, "only GET\n");
	} else if (strcmp(url, "/metrics")) {
		code = MHD_HTTP_NOT_FOUND;
		tw_metric_printf(&b, "tierwall serves /metrics\n");
	} else {
		m->fn(m->arg, &b);
	}
	r = MHD_create_response_from_buffer(b.len, b.s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", code == MHD_HTTP_OK ?
				"text/plain; version=0.0.4; charset=utf-8" : "text/plain");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

int tw_metrics_bind(struct tw_metrics **out, const char *addr, char *why, size_t len)
{
	struct sockaddr_in sa;
	struct tw_metrics *m;
	int one = 1, err;

	err = tw_metrics_addr(addr, &sa, why, len);
	if (err)
		return err;
	/* Metrics name tiers and policies: meant for a local scraper. */
	if ((ntohl(sa.sin_addr.s_addr) >> 24) != 127)
		tw_warn("--metrics %s is not a loopback address: anyone who reaches it can read the metrics",
			addr);
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->fd < 0 || setsockopt(m->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(m->fd, 16)) {
		err = -errno;
		snprintf(why, len, "cannot listen on %s: %s", addr, strerror(-err));
		if (m->fd >= 0)
			close(m->fd);
		free(m);
		return err;
	}
	*out = m;
	return 0;
}

int tw_metrics_serve(struct tw_metrics *m, tw_metrics_fn fn, void *arg, char *why, size_t len)
{
	m->fn = fn;
	m->arg = arg;
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
				  handle, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
				  MHD_OPTION_CONNECTION_TIMEOUT, 10u,
				  MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(why, len, "cannot serve: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}

void tw_metrics_stop(struct tw_metrics *m)
{
	if (!m)
		return;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);	/* closes the socket too */
	else
		close(m->fd);
	free(m);
}
#endif
