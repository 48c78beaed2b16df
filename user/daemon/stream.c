// SPDX-License-Identifier: GPL-2.0
/* The ring buffer into the log: records, folded repeats, drops, a predecessor's leftovers. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "log.h"
#include "stream.h"
#include "util.h"

/* Nothing is dropped: what cannot be written becomes a lost record that says why. */
static int log_lost(struct daemon *d, void *data, size_t size, const char *why)
{
	if (!d->bad_records++)
		tw_err("ring buffer record of %zu bytes: %s", size, why);
	dm_log_json(d, tw_event_lost(data, size, why, &d->ectx));
	return 0;	/* keep consuming: a negative return stops polling */
}

int dm_on_event(void *ctx, void *data, size_t size)
{
	static char body[TW_EVENT_MAX];
	struct daemon *d = ctx;
	const struct tw_event_hdr *h = data;
	int n;

	if (tw_event_check(data, size))
		return log_lost(d, data, size, "record_not_understood");
	n = tw_event_body(data, &d->ectx, body, sizeof(body));
	if (n < 0)
		return log_lost(d, data, size, "record_too_large");
	if (tw_evlog_append_body(d->log, body, n))
		return 0;	/* refused while the log cannot be written: counted */
	d->logged++;
	if (h->verdict <= TW_VERDICT_AUDIT && h->tier <= TW_MAX_TIERS && h->kind <= TW_EV_MAX)
		__atomic_fetch_add(&d->by_kind[h->kind][h->verdict][h->tier], 1, __ATOMIC_RELAXED);
	return 0;
}

/* What a previous instance's kernel side still held goes into this log. */
void dm_recover(struct daemon *d, struct tw_old_maps *old)
{
	uint64_t before = d->logged, lost = 0, repeats = 0;
	json_t *o;

	if (old->events < 0 && old->flood < 0)
		return;
	tw_old_maps_drain(old, dm_on_event, d, &lost, &repeats);
	if (lost) {
		o = tw_event_daemon("ringbuf_full", &d->ectx);
		json_object_set_new(o, "kind", json_string("lost"));
		json_object_set_new(o, "count", json_integer(lost));
		json_object_set_new(o, "total", json_integer(lost));
		json_object_set_new(o, "previous_instance", json_true());
		dm_log_json(d, o);
	}
	dm_log_daemon(d, "takeover", json_pack("{s:I, s:I, s:I}", "records", (json_int_t)(d->logged - before),
					    "repeats", (json_int_t)repeats, "lost", (json_int_t)lost));
	tw_info("took over from a previous tierwalld: %llu records, %llu folded repeats, %llu lost",
		(unsigned long long)(d->logged - before), (unsigned long long)repeats,
		(unsigned long long)lost);
}

/* Windows of folded repeats that ended become aggregated records. */
void dm_flush_floods(struct daemon *d, bool force)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	int err;

	if (!d->flood_ms || (!force && now < d->next_flush))
		return;
	d->next_flush = now + 250000000ull;
	err = tw_bpf_flood_flush(d->bpf, force);
	if (err)
		tw_err("flood control flush failed: %s", strerror(-err));
}

/* Ring buffer drops are counted in the kernel; turn each increase into an event. */
/* Drops a ring buffer's counters hold beyond what was logged become a "lost" record. */
static void report_ring_drops(struct daemon *d, struct tw_bpf *b)
{
	struct tw_stats st;
	json_t *o;

	if (tw_bpf_stats(b, &st) || st.ringbuf_drops == d->drops_reported)
		return;
	o = tw_event_daemon("ringbuf_full", &d->ectx);
	json_object_set_new(o, "kind", json_string("lost"));
	json_object_set_new(o, "count", json_integer(st.ringbuf_drops - d->drops_reported));
	json_object_set_new(o, "total", json_integer(st.ringbuf_drops));
	d->drops_reported = st.ringbuf_drops;
	dm_log_json(d, o);
	dm_log_flush(d);
	/* Only once it is in the log: a successor subtracts what is recorded here. */
	tw_bpf_set_drops_reported(b, st.ringbuf_drops);
}

void dm_report_drops(struct daemon *d)
{
	uint64_t now = tw_now_ns(CLOCK_MONOTONIC);
	json_t *o;

	if (now < d->next_drop_check)
		return;
	d->next_drop_check = now + 1000000000ull;
	/* Records the log refused while it could not be written, told once it can. */
	if (tw_evlog_refused(d->log) > d->refused_reported && !tw_evlog_pending(d->log)) {
		uint64_t r = tw_evlog_refused(d->log);

		o = tw_event_daemon("log_write_failed", &d->ectx);
		json_object_set_new(o, "kind", json_string("lost"));
		json_object_set_new(o, "count", json_integer(r - d->refused_reported));
		json_object_set_new(o, "total", json_integer(r));
		d->refused_reported = r;
		dm_log_json(d, o);
		dm_log_flush(d);
	}
	report_ring_drops(d, d->bpf);
}

void dm_report_retired_drops(struct daemon *d, struct tw_bpf *old)
{
	report_ring_drops(d, old);
	d->drops_reported = 0;	/* the new programs count from zero */
}
