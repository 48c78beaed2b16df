/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_STATUS_H
#define TW_DAEMON_STATUS_H

#include "state.h"

json_t *dm_status_json(struct daemon *d);
/* Prometheus exposition text (runs on the metrics thread). */
void dm_write_metrics(void *arg, struct buf *b);

#endif
