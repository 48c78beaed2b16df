// SPDX-License-Identifier: GPL-2.0
/*
 * ttrpc's envelope (see nri2.h): Request {1 service, 2 method, 3 payload,
 * 4 timeout_nano, 5 metadata} and Response {1 status, 2 payload}, with
 * status google.rpc.Status {1 code, 2 message}.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "nri2.h"

int nri2_req_decode(const uint8_t *p, size_t len, struct nri2_req *r)
{
	struct tw_pb in = tw_pb_init(p, len);
	struct tw_pb_field f;
	int n;

	memset(r, 0, sizeof(*r));
	while ((n = tw_pb_next(&in, &f)) > 0) {
		if (f.num == 1 && f.wire == TW_PB_LEN) {
			r->service = f.data;
			r->service_len = f.len;
		} else if (f.num == 2 && f.wire == TW_PB_LEN) {
			r->method = f.data;
			r->method_len = f.len;
		} else if (f.num == 3 && f.wire == TW_PB_LEN) {
			r->payload = f.data;
			r->payload_len = f.len;
		} else if (f.num == 4 && f.wire == TW_PB_VARINT) {
			r->timeout_ns = (int64_t)f.v;
		}
	}
	if (n < 0)
		return n;
	if (!r->payload)
		r->payload = (const uint8_t *)"";	/* an empty message, never NULL */
	return r->service && r->method ? 0 : -EBADMSG;
}

bool nri2_req_is(const struct nri2_req *r, const char *service, const char *method)
{
	return r->service_len == strlen(service) && !memcmp(r->service, service, r->service_len) &&
	       r->method_len == strlen(method) && !memcmp(r->method, method, r->method_len);
}

static int status_decode(const uint8_t *p, size_t len, struct nri2_resp *r)
{
	struct tw_pb in = tw_pb_init(p, len);
	struct tw_pb_field f;
	int n;

	while ((n = tw_pb_next(&in, &f)) > 0) {
		if (f.num == 1 && f.wire == TW_PB_VARINT)
			r->code = (int)(int32_t)f.v;
		else if (f.num == 2 && f.wire == TW_PB_LEN)
			snprintf(r->message, sizeof(r->message), "%.*s",
				 (int)(f.len < sizeof(r->message) ? f.len : sizeof(r->message) - 1),
				 (const char *)f.data);
	}
	return n;
}

int nri2_resp_decode(const uint8_t *p, size_t len, struct nri2_resp *r)
{
	struct tw_pb in = tw_pb_init(p, len);
	struct tw_pb_field f;
	int n, err;

	memset(r, 0, sizeof(*r));
	while ((n = tw_pb_next(&in, &f)) > 0) {
		if (f.num == 1 && f.wire == TW_PB_LEN) {
			err = status_decode(f.data, f.len, r);
			if (err)
				return err;
		} else if (f.num == 2 && f.wire == TW_PB_LEN) {
			r->payload = f.data;
			r->payload_len = f.len;
		}
	}
	if (!r->payload)
		r->payload = (const uint8_t *)"";
	return n;
}

void nri2_req_encode(struct tw_pb_out *o, const char *service, const char *method,
		     const void *payload, size_t len, int64_t timeout_ns)
{
	tw_pb_put_bytes(o, 1, service, strlen(service));
	tw_pb_put_bytes(o, 2, method, strlen(method));
	tw_pb_put_bytes(o, 3, payload, len);
	if (timeout_ns > 0)
		tw_pb_put_varint(o, 4, timeout_ns);
}

void nri2_resp_encode(struct tw_pb_out *o, int code, const char *message,
		      const void *payload, size_t len)
{
	uint8_t st[1024];
	struct tw_pb_out s = { .p = st, .cap = sizeof(st) };

	if (code)
		tw_pb_put_varint(&s, 1, (uint64_t)(int64_t)code);
	if (message && *message)
		tw_pb_put_bytes(&s, 2, message, strnlen(message, sizeof(st) - 16));
	tw_pb_put_bytes(o, 1, st, s.len);
	o->err |= s.err;
	if (len)
		tw_pb_put_bytes(o, 2, payload, len);
}
