/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_METRICS_H
#define TW_METRICS_H

#include <stddef.h>
#include <netinet/in.h>

/* A Prometheus /metrics endpoint over HTTP. */
struct tw_metrics;
struct buf;

/* Writes the exposition text into b with tw_metric_printf; runs on the HTTP thread. */
typedef void (*tw_metrics_fn)(void *arg, struct buf *b);

void tw_metric_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "ADDRESS:PORT" (IPv4) into *sa (if not NULL); -EINVAL and why if it is not one. */
int tw_metrics_addr(const char *addr, struct sockaddr_in *sa, char *why, size_t len);
/*
 * Listen on addr now, serve later: the port is taken before anything else
 * is made, so a busy one refuses the start while nothing is loaded yet.
 */
int tw_metrics_bind(struct tw_metrics **out, const char *addr, char *why, size_t len);
/* Answer on the bound socket; fn runs on the HTTP thread from now on. */
int tw_metrics_serve(struct tw_metrics *m, tw_metrics_fn fn, void *arg, char *why, size_t len);
/* Both at once (a reload's restart). -errno and why on failure. */
int tw_metrics_start(struct tw_metrics **out, const char *addr, tw_metrics_fn fn, void *arg,
		     char *why, size_t len);
void tw_metrics_stop(struct tw_metrics *m);

#endif
