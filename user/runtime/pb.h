/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough protobuf for the CRI messages tierwalld reads and writes:
 * varints and length-delimited fields, written by hand. The decoder reads
 * bytes from another process and never trusts a length.
 */
#ifndef TW_PB_H
#define TW_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { TW_PB_VARINT = 0, TW_PB_FIXED64 = 1, TW_PB_LEN = 2, TW_PB_FIXED32 = 5 };

struct tw_pb {
	const uint8_t *p, *end;
};

struct tw_pb_field {
	uint32_t num;
	int wire;
	uint64_t v;			/* TW_PB_VARINT (and the fixed ones) */
	const uint8_t *data;		/* TW_PB_LEN: inside the message */
	size_t len;
};

static inline struct tw_pb tw_pb_init(const void *buf, size_t len)
{
	return (struct tw_pb){ .p = buf, .end = (const uint8_t *)buf + len };
}

/* The next field: 1, 0 at the end, -EBADMSG for bytes that are not a message. */
int tw_pb_next(struct tw_pb *r, struct tw_pb_field *f);

/* A message written into a fixed buffer; err once it did not fit. */
struct tw_pb_out {
	uint8_t *p;
	size_t len, cap;
	bool err;
};

void tw_pb_put_varint(struct tw_pb_out *o, uint32_t num, uint64_t v);
void tw_pb_put_bytes(struct tw_pb_out *o, uint32_t num, const void *data, size_t len);

#endif
