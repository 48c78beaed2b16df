/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_RELOADREQ_H
#define TW_DAEMON_RELOADREQ_H

#include "metrics.h"
#include "state.h"

/* `tierwall reload`: reload now; the reply says how it went, with every error. */
json_t *dm_reload_request(struct daemon *d);
/* For status: the last reload, and whether the file on disk is what is loaded. */
json_t *dm_reload_status(struct daemon *d);
/* The same as Prometheus gauges. */
void dm_reload_metrics(struct daemon *d, struct buf *b);

#endif
