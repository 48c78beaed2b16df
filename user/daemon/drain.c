// SPDX-License-Identifier: GPL-2.0
/*
 * The drain request: a reader (the bench, a test, a canary run's summary)
 * asks when everything decided so far is accounted for, instead of sleeping
 * and hoping. Every flood window is closed (its folded repeats reported),
 * the ring buffer is read to its end, kernel drops become a lost record, and
 * the log is written; the reply gives the seq of the last record on disk and
 * the kernel's decision counters, so decisions = logged + folded + lost can
 * be checked against the log itself.
 */
#include "drain.h"
#include "stream.h"

json_t *dm_cmd_drain(struct daemon *d)
{
	struct tw_stats st = {};
	int err;

	dm_flush_floods(d, true);	/* windows still open are reported now */
	ring_buffer__consume(d->rb);
	d->next_drop_check = 0;
	dm_report_drops(d);		/* drops counted before this point, as a lost record */
	dm_log_flush(d);
	err = tw_bpf_stats(d->bpf, &st);
	if (err || tw_evlog_pending(d->log))
		return json_pack("{s:b, s:s}", "ok", 0, "error",
				 err ? "cannot read the kernel's counters" :
				 "the log cannot be written now: records are queued (see status)");
	return json_pack("{s:b, s:I, s:I, s:I, s:I}", "ok", 1,
			 "seq", (json_int_t)tw_evlog_seq(d->log),
			 "denied", (json_int_t)st.denied, "audited", (json_int_t)st.audited,
			 "ringbuf_drops", (json_int_t)st.ringbuf_drops);
}
