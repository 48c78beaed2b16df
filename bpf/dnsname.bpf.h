/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for the DNS guard: the per-CPU room a name is read into and
 * the walk that checks its labels and makes its policy key (names.bpf.h).
 *
 * The key is written backwards as the labels are read, eight bytes at a
 * time: wire byte w goes to rkey[KEY_END - w], so the key of a name whose
 * root byte is at pos starts at rkey[KEY_END - (pos - 1)] and ends with the
 * 0 at rkey[KEY_END]. A label's last eight-byte store may run past it into
 * the key of the labels after it, which are written later and overwrite it
 * (or into the room below the key, for the last label).
 */
#ifndef TW_DNSNAME_BPF_H
#define TW_DNSNAME_BPF_H

#include "tier.bpf.h"

#define KEY_END		264	/* rkey[] index of wire byte 0: the key's closing 0 */
#define KEY_ROOM	528	/* the lowest store is KEY_END - 260, the key reads 260 bytes */

/* Per-CPU room for one question: too big for the 512-byte stack. */
struct scratch {
	__u8 hdr[DNS_HDR_LEN];		/* a query's header, read in one go with its question */
	__u8 wire[TW_DNS_NAME_MAX];	/* the name as sent */
	__u8 wire_pad[64];		/* room for dnsanswer.bpf.h's 64-byte label copies */
	__u8 rkey[KEY_ROOM];		/* the struct tw_name_key, built backwards (above) */
	__u32 wire_len;			/* bytes of wire[] that were read */
	__u32 key_len;			/* the key's bytes with its 0; 0: no name was read */
	__u64 hash;			/* key_hash, for a record's flood control */
	/*
	 * The current label's next chunk and end (key_label): here, not on
	 * the stack, the walk's steps see unknown values and verify once.
	 */
	__u32 at, lend;
	int reason;			/* read_question's, for judge_msg after name_unowned */
	__u16 qtype;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct scratch);
	__uint(max_entries, 1);
} scratch_map SEC(".maps");

/* State of the walk over a name's labels; bpf_loop callbacks verify once, not per byte. */
struct walk {
	__u32 n;		/* bytes of wire[] loaded */
	__u32 pos;		/* next label; then: offset of the root byte */
	int reason;
};

/* Steps of a walk over a name: a label each, and a chunk each for labels' bytes past 8. */
#define WALK_CHUNKS	32

static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_map, &zero);
}

/*
 * Eight name bytes as the key holds them: lowercase, and '.' and 0 (which
 * could fake a separator or the end inside a label) made 1, which no policy
 * name contains. Lane by lane, without carries between lanes.
 */
static __always_inline __u64 key_bytes(__u64 x)
{
	const __u64 ones = 0x0101010101010101ULL, hi = ones * 0x80, lo = ones * 0x7f;
	__u64 t = x & lo, up, y, z;

	/* 'A'..'Z': bit 7 of t + (0x80 - 'A') set, of t + (0x80 - 'Z' - 1) clear, of x clear */
	up = (t + ones * (0x80 - 'A')) & ~(t + ones * (0x80 - 'Z' - 1)) & ~x & hi;
	x |= up >> 2;
	/* bit 7 set in the lanes equal to '.' or to 0 */
	y = x ^ (ones * '.');
	z = ~(((y & lo) + lo) | y | lo) | ~(((x & lo) + lo) | x | lo);
	z >>= 7;
	return (x & ~(z * 0xff)) | z;
}

/* Eight wire bytes from wire[w0] into the key, reversed (w0 < TW_DNS_NAME_MAX). */
static __always_inline void key_chunk(struct scratch *s, __u32 w0)
{
	__u64 x;

	w0 &= 0xff;
	x = *(__u64 *)&s->wire[w0];
	*(__u64 *)&s->rkey[KEY_END - 7 - w0] = __builtin_bswap64(key_bytes(x));
}

/*
 * The label of len bytes whose length byte is wire[pos] (pos + len <
 * TW_DNS_NAME_MAX - 1): its separator (the closing 0 for the first label)
 * and its first eight bytes; s->at and s->lend say what is left of it, one
 * chunk per later bpf_loop step (no loop inside a step: the verifier would
 * explore each of its exits).
 */
static __always_inline void key_label(struct scratch *s, __u32 pos, __u32 len)
{
	s->rkey[KEY_END - (pos & 0xff)] = pos ? '.' : 0;
	key_chunk(s, pos + 1);
	s->at = pos + 9;
	s->lend = pos + 1 + len;
}

/* The rest of the current label, a chunk at a time: true if there was some. */
static __always_inline bool key_more(struct scratch *s)
{
	if (s->at >= s->lend)
		return false;
	key_chunk(s, s->at);
	s->at += 8;
	return true;
}

/* Before a walk: no key, no label under way. */
static __always_inline void key_start(struct scratch *s)
{
	s->key_len = 0;
	s->at = 0;
	s->lend = 0;
}

/* The key's length and prefix once the root byte is at pos; NULL-free pointer to it. */
static __always_inline void key_finish(struct scratch *s, __u32 pos)
{
	__u32 d = pos ? (pos - 1) & 0xff : 0;

	s->rkey[KEY_END] = 0;
	*(__u32 *)&s->rkey[KEY_END - 4 - d] = (d + 1) * 8;
	s->key_len = d + 1;
}

/* The key key_finish made (s->key_len > 0). */
static __always_inline struct tw_name_key *skey(struct scratch *s)
{
	return (struct tw_name_key *)&s->rkey[KEY_END - 3 - (s->key_len & 0xff)];
}

/* One label, left to right; each must end within 255 bytes. */
static long parse_label(__u32 i, struct walk *w)
{
	struct scratch *s = scratch();
	__u32 pos = w->pos;
	__u8 len;

	if (!s)
		goto bad;
	if (key_more(s))
		return 0;
	if (pos >= w->n || pos >= TW_DNS_NAME_MAX) {
		w->reason = TW_DNS_TRUNCATED;
		return 1;
	}
	len = s->wire[pos & 0xff];
	if (!len)
		return 1;
	if ((len & 0xc0) == 0xc0) {
		w->reason = TW_DNS_POINTER;
		return 1;
	}
	if (len & 0xc0) {
		w->reason = TW_DNS_LABEL;
		return 1;
	}
	w->pos = pos + len + 1;
	if (w->pos > TW_DNS_NAME_MAX - 2) {
		w->reason = TW_DNS_LONG;	/* with the root byte: over 255 */
		return 1;
	}
	key_label(s, pos, len);
	return 0;
bad:
	w->reason = TW_DNS_TRUNCATED;
	return 1;
}

struct key_hash {
	__u64 hash;
	__u32 from, n;
};

static long hash_byte(__u32 j, struct key_hash *h)
{
	struct scratch *s = scratch();

	if (!s || j >= h->n)
		return 1;
	h->hash = (h->hash ^ s->rkey[(h->from + j) & 0x1ff]) * 0x100000001b3ULL;
	return 0;
}

/* FNV-1a of the key's name bytes (0: no name), for flood control: only when a record is made. */
static __always_inline __u64 key_hash(const struct scratch *s)
{
	struct key_hash h = { .hash = 0xcbf29ce484222325ULL };

	if (!s->key_len)
		return 0;
	h.n = (s->key_len - 1) & 0xff;
	h.from = KEY_END - h.n;
	bpf_loop(TW_DNS_NAME_MAX, hash_byte, &h, 0);
	return h.hash;
}

#endif
