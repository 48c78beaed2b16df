/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_METRICS_H
#define TW_METRICS_H

#include <stddef.h>

/* A Prometheus /metrics endpoint over HTTP. */
struct tw_metrics;
struct buf;

/* Writes the exposition text into b with tw_metric_printf; runs on the HTTP thread. */
typedef void (*tw_metrics_fn)(void *arg, struct buf *b);

void tw_metric_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Listen on "ADDRESS:PORT" (IPv4). -errno and why on failure. */
int tw_metrics_start(struct tw_metrics **out, const char *addr, tw_metrics_fn fn, void *arg,
		     char *why, size_t len);
void tw_metrics_stop(struct tw_metrics *m);

#endif
