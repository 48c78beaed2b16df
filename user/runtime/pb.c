// SPDX-License-Identifier: GPL-2.0
/* The protobuf wire format, the parts the CRI client needs (see pb.h). */
#include <errno.h>
#include <string.h>
#include "pb.h"

static int get_varint(struct tw_pb *r, uint64_t *v)
{
	int shift;

	*v = 0;
	for (shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end)
			return -EBADMSG;	/* truncated */
		*v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return 0;
	}
	return -EBADMSG;			/* more than 10 bytes */
}

static int skip(struct tw_pb *r, size_t n)
{
	if ((size_t)(r->end - r->p) < n)
		return -EBADMSG;
	r->p += n;
	return 0;
}

int tw_pb_next(struct tw_pb *r, struct tw_pb_field *f)
{
	uint64_t key;

	memset(f, 0, sizeof(*f));
	if (r->p >= r->end)
		return 0;
	if (get_varint(r, &key) || key >> 32 || !(key >> 3))
		return -EBADMSG;
	f->num = key >> 3;
	f->wire = key & 7;
	switch (f->wire) {
	case TW_PB_VARINT:
		return get_varint(r, &f->v) ?: 1;
	case TW_PB_FIXED64:
		return skip(r, 8) ?: 1;
	case TW_PB_FIXED32:
		return skip(r, 4) ?: 1;
	case TW_PB_LEN:
		if (get_varint(r, &f->v) || f->v > (uint64_t)(r->end - r->p))
			return -EBADMSG;	/* a length past the end */
		f->data = r->p;
		f->len = f->v;
		r->p += f->len;
		return 1;
	}
	return -EBADMSG;			/* groups: not in proto3 */
}

static void put_raw_varint(struct tw_pb_out *o, uint64_t v)
{
	do {
		if (o->len >= o->cap) {
			o->err = true;
			return;
		}
		o->p[o->len++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
}

void tw_pb_put_varint(struct tw_pb_out *o, uint32_t num, uint64_t v)
{
	put_raw_varint(o, (uint64_t)num << 3 | TW_PB_VARINT);
	put_raw_varint(o, v);
}

void tw_pb_put_bytes(struct tw_pb_out *o, uint32_t num, const void *data, size_t len)
{
	put_raw_varint(o, (uint64_t)num << 3 | TW_PB_LEN);
	put_raw_varint(o, len);
	if (o->err || o->cap - o->len < len) {
		o->err = true;
		return;
	}
	memcpy(o->p + o->len, data, len);
	o->len += len;
}
