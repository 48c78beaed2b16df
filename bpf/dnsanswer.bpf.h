/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for the DNS guard's ingress side: the names an answer
 * carries. A name no tier owns may CNAME into another tier's name and hand
 * back its addresses, so every owner name in the question and answer
 * sections and every CNAME and DNAME target is read (compression pointers
 * followed, backwards only, as RFC 1035 makes them) and judged like a
 * query's name. What cannot be read to the end is a reason, never a pass.
 */
#ifndef TW_DNSANSWER_BPF_H
#define TW_DNSANSWER_BPF_H

#include "dnsname.bpf.h"

#define ANS_MAX		4096	/* bytes of an answer read; a longer one is not passed */
#define ANS_RRS		32	/* answer records judged; more are not passed */
#define RR_CNAME	5
#define RR_DNAME	39

/* One name being read out of msg[] into the scratch wire[]. */
struct awalk {
	struct walk w;		/* the name read so far, for name_key */
	__u32 at;		/* next byte of the name in msg[] */
	__u32 len;		/* bytes of msg[] that hold the message */
	__u32 next;		/* where the message goes on after the name; 0 until known */
	__u32 done;		/* the root label was reached */
};

/* The walk over an answer's records. */
struct rrwalk {
	struct decision d;	/* the receiver's tier in; target and rule of a match out */
	__u32 at;		/* the next record in msg[] */
	__u32 n;		/* bytes of msg[] that hold the message */
	__u32 qd, total;	/* questions, questions and answers */
	int reason;
};

/*
 * Per-CPU copy of one answer, and the walks' state: kept here, not on the
 * stack, the callbacks see it as unknown values and verify once instead of
 * once per distinct offset.
 */
struct answer {
	__u8 msg[ANS_MAX + 64];	/* a label is copied 64 bytes at a time */
	struct awalk a;
	struct rrwalk r;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct answer);
	__uint(max_entries, 1);
} answer_map SEC(".maps");

static __always_inline struct answer *answer(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&answer_map, &zero);
}

static __always_inline __u32 msg16(const struct answer *m, __u32 at)
{
	return (m->msg[at & (ANS_MAX - 1)] << 8) | m->msg[(at + 1) & (ANS_MAX - 1)];
}

static __always_inline long answer_stop(struct awalk *a, int reason)
{
	a->w.reason = reason;
	return 1;
}

/* One label or pointer of the name at a->at. */
static long answer_label(__u32 i, void *unused)
{
	struct scratch *s = scratch();
	struct answer *m = answer();
	struct awalk *a;
	__u32 at, pos, to;
	__u8 len;

	if (!s || !m)
		return 1;
	a = &m->a;
	at = a->at;
	pos = a->w.pos;
	if (at >= a->len || pos >= TW_DNS_NAME_MAX)
		return answer_stop(a, TW_DNS_TRUNCATED);
	len = m->msg[at & (ANS_MAX - 1)];
	if ((len & 0xc0) == 0xc0) {
		if (at + 1 >= a->len)
			return answer_stop(a, TW_DNS_TRUNCATED);
		to = msg16(m, at) & 0x3fff;
		if (to >= at)	/* every jump goes back: the walk ends */
			return answer_stop(a, TW_DNS_POINTER);
		if (!a->next)
			a->next = at + 2;
		a->at = to;
		return 0;
	}
	if (len & 0xc0)
		return answer_stop(a, TW_DNS_LABEL);
	if (!len) {
		s->wire[pos & 0xff] = 0;
		if (!a->next)
			a->next = at + 1;
		a->done = 1;
		return 1;
	}
	if (pos + len + 1 > TW_DNS_NAME_MAX - 2)
		return answer_stop(a, TW_DNS_LONG);	/* with the root byte: over 255 */
	if (at + len + 1 > a->len)
		return answer_stop(a, TW_DNS_TRUNCATED);
	a->w.labels[(pos >> 6) & 3] |= 1ULL << (pos & 63);
	s->wire[pos & 0xff] = len;
	/* Fixed size, no per-byte loop: bytes past the label are overwritten or never read. */
	__builtin_memcpy(&s->wire[(pos + 1) & 0xff], &m->msg[(at + 1) & (ANS_MAX - 1)], 64);
	a->w.pos = pos + len + 1;
	a->at = at + len + 1;
	return 0;
}

/*
 * Read the name at msg[at] into s (wire, key, hash); m->a.next is where
 * the message goes on. 0, or a tw_dns_reason.
 */
static __noinline int answer_name(struct scratch *s, struct answer *m, __u32 at)
{
	struct walk w;
	int unused = 0;

	__builtin_memset(&m->a.w, 0, sizeof(m->a.w));
	m->a.w.hash = 0xcbf29ce484222325ULL;
	m->a.at = at;
	m->a.len = m->r.n;
	m->a.next = 0;
	m->a.done = 0;
	/* 127 labels and as many jumps, at most */
	bpf_loop(TW_DNS_NAME_MAX, answer_label, &unused, 0);
	if (m->a.w.reason)
		return m->a.w.reason;
	if (!m->a.done)
		return TW_DNS_LONG;
	__builtin_memcpy(&w, &m->a.w, sizeof(w));
	s->wire_len = w.pos + 1;
	name_key(s, &w);
	return 0;
}

/* Read and judge the name at msg[at]: 0 to go on, else the reason (in m->r too). */
static __always_inline int rr_name(struct answer *m, struct scratch *s, __u32 at)
{
	int reason = answer_name(s, m, at);

	if (!reason && name_owner(&s->key, &m->r.d) == OWNER_OTHER)
		reason = TW_DNS_ANSWER;
	m->r.reason = reason;
	return reason;
}

/* Record i: its owner name, then a CNAME or DNAME target. */
static long answer_rr(__u32 i, void *unused)
{
	struct scratch *s = scratch();
	struct answer *m = answer();
	__u32 at, rd, type;

	if (!s || !m)
		return 1;
	if (i >= m->r.total || rr_name(m, s, m->r.at))
		return 1;
	at = m->a.next;
	if (i < m->r.qd) {
		s->qtype = msg16(m, at);
		m->r.at = at + 4;
		return 0;
	}
	if (at + 10 > m->r.n)
		goto trunc;
	type = msg16(m, at);
	rd = msg16(m, at + 8);
	at += 10;
	if (at + rd > m->r.n)
		goto trunc;
	m->r.at = at + rd;
	if (type != RR_CNAME && type != RR_DNAME)
		return 0;
	if (rr_name(m, s, at))
		return 1;
	if (m->a.next > at + rd)
		goto trunc;
	return 0;
trunc:
	m->r.reason = TW_DNS_TRUNCATED;
	return 1;
}

/*
 * Every name of the answer at [off, end) judged for tier d->tier: 0 if no
 * other tier owns any, TW_DNS_ANSWER with that name in the scratch
 * (d->target, d->rule set), or another tw_dns_reason.
 */
static __always_inline int answer_names(struct __sk_buff *skb, struct decision *d,
					__u32 off, __u32 end)
{
	struct answer *m = answer();
	int unused = 0;
	__u32 n;

	if (!m || off > end || end - off < DNS_HDR_LEN || end - off > ANS_MAX)
		return TW_DNS_TRUNCATED;
	n = end - off;
	barrier_var(n);
	if (n > ANS_MAX)
		n = ANS_MAX;
	if (n < DNS_HDR_LEN || bpf_skb_load_bytes(skb, off, m->msg, n))
		return TW_DNS_TRUNCATED;
	__builtin_memset(&m->r, 0, sizeof(m->r));
	m->r.at = DNS_HDR_LEN;
	m->r.n = n;
	m->r.qd = msg16(m, 4);
	m->r.total = m->r.qd + msg16(m, 6);
	if (m->r.qd > 1 || m->r.total > ANS_RRS + 1)
		return TW_DNS_COUNT;
	m->r.d.tier = d->tier;
	bpf_loop(ANS_RRS + 1, answer_rr, &unused, 0);
	d->target = m->r.d.target;
	d->rule = m->r.d.rule;
	return m->r.reason;
}

#endif
