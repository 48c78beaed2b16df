/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-only, for the DNS guard: the per-CPU room a name is read into and
 * the walks that check its labels and make its policy key (names.bpf.h).
 */
#ifndef TW_DNSNAME_BPF_H
#define TW_DNSNAME_BPF_H

#include "tier.bpf.h"

/* Per-CPU room for one question: too big for the 512-byte stack. */
struct scratch {
	__u8 wire[TW_DNS_NAME_MAX];	/* the name as sent */
	__u8 wire_pad[64];		/* room for dnsanswer.bpf.h's 64-byte label copies */
	struct tw_name_key key;		/* reversed, lowercase, dotted */
	__u64 hash;			/* of the key, for flood control */
	__u32 wire_len;			/* bytes of wire[] that were read */
	__u16 qtype;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct scratch);
	__uint(max_entries, 1);
} scratch_map SEC(".maps");


/* State of the two walks over a name; bpf_loop callbacks verify once, not per byte. */
struct walk {
	__u64 labels[4];	/* bit n: wire[n] is a label length */
	__u64 hash;
	__u32 n;		/* bytes of wire[] loaded */
	__u32 pos;		/* parse: next label; then: offset of the root byte */
	__u32 d;		/* dotted length */
	int reason;
};

static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch_map, &zero);
}

/* One label, left to right; each must end within 255 bytes. */
static long parse_label(__u32 i, struct walk *w)
{
	struct scratch *s = scratch();
	__u32 pos = w->pos;
	__u8 len;

	if (!s)
		goto bad;
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
	w->labels[(pos >> 6) & 3] |= 1ULL << (pos & 63);
	w->pos = pos + len + 1;
	if (w->pos > TW_DNS_NAME_MAX - 2) {
		w->reason = TW_DNS_LONG;	/* with the root byte: over 255 */
		return 1;
	}
	return 0;
bad:
	w->reason = TW_DNS_TRUNCATED;
	return 1;
}

/*
 * Dotted form d = wire[1..pos-1] with length bytes read as '.'; key byte
 * j = d[D-1-j] = wire[pos-1-j]. Bytes that could fake a separator or the
 * end ('.' and 0 inside a label) become 1, which no policy name contains.
 */
static long reverse_byte(__u32 j, struct walk *w)
{
	struct scratch *s = scratch();
	__u32 at;
	__u8 c;

	if (!s || j >= w->d)
		return 1;
	at = (w->pos - 1 - j) & 0xff;
	c = s->wire[at];
	if (w->labels[(at >> 6) & 3] & (1ULL << (at & 63)))
		c = '.';
	else if (c >= 'A' && c <= 'Z')
		c += 'a' - 'A';
	else if (c == '.' || c == 0)
		c = 1;
	s->key.name[j & 0xff] = c;
	w->hash = (w->hash ^ c) * 0x100000001b3ULL;
	return 0;
}

/* Key and hash of the name in s->wire whose root byte is at w->pos (labels marked in w). */
static __always_inline void name_key(struct scratch *s, struct walk *w)
{
	w->d = w->pos ? w->pos - 1 : 0;
	bpf_loop(TW_DNS_NAME_MAX, reverse_byte, w, 0);
	s->key.name[w->d & 0xff] = 0;
	s->key.prefixlen = (w->d + 1) * 8;
	s->hash = w->hash;
}

#endif
