/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_STREAM_H
#define TW_DAEMON_STREAM_H

#include "handover.h"
#include "state.h"

/* One ring buffer record into the log (ring_buffer_sample_fn). */
int dm_on_event(void *ctx, void *data, size_t size);
/* What a previous instance's kernel side still held goes into this log. */
void dm_recover(struct daemon *d, struct tw_old_maps *old);
/* Windows of folded repeats that ended (all, if force) become records. */
void dm_flush_floods(struct daemon *d, bool force);
/* Ring buffer drops and refused records become "lost" records. */
void dm_report_drops(struct daemon *d);
/* The same for programs a reload retired, before their counters go. */
void dm_report_retired_drops(struct daemon *d, struct tw_bpf *old);

#endif
