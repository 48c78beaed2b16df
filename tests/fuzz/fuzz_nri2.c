// SPDX-License-Identifier: GPL-2.0
/*
 * What tierwall-nri-plugin reads from the container runtime (nri2*.c): the
 * bytes of the NRI socket, fed in chunks whose sizes the first byte picks,
 * through the multiplexer and ttrpc framing; each whole message decoded as
 * a Request or Response and its payload as every NRI message the plugin
 * reads. Whatever the bytes: no fault, errors are -EBADMSG or -EMSGSIZE,
 * and a decoded pod has a string id and string labels.
 */
#include <errno.h>
#include <jansson.h>
#include "nri2.h"
#include "fuzz.h"

static void check_pod(json_t *pod)
{
	json_t *v;
	const char *k;

	FZ_CHECK(json_is_string(json_object_get(pod, "id")), "a pod has an id");
	json_object_foreach(json_object_get(pod, "labels"), k, v)
		FZ_CHECK(json_is_string(v), "label %s is a string", k);
}

static void decode_all(const uint8_t *p, size_t len)
{
	json_t *o = NULL, *v;
	size_t i;
	int err;

	if (!(err = nri2_decode_event(p, len, false, &o)) && json_object_get(o, "pod"))
		check_pod(json_object_get(o, "pod"));
	FZ_CHECK(!err || err == -EBADMSG, "event: err %d", err);
	json_decref(o);
	o = NULL;
	if (!(err = nri2_decode_event(p, len, true, &o)) && json_object_get(o, "pod"))
		check_pod(json_object_get(o, "pod"));
	FZ_CHECK(!err || err == -EBADMSG, "create: err %d", err);
	json_decref(o);
	o = NULL;
	if (!(err = nri2_decode_sync(p, len, &o)))
		json_array_foreach(json_object_get(o, "pods"), i, v)
			check_pod(v);
	FZ_CHECK(!err || err == -EBADMSG, "sync: err %d", err);
	json_decref(o);
	o = NULL;
	err = nri2_decode_configure(p, len, &o);
	FZ_CHECK(!err || err == -EBADMSG, "configure: err %d", err);
	json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nri2_rx rx = {};
	struct nri2_msg m;
	struct nri2_req req;
	struct nri2_resp resp;
	size_t chunk, off = 1;
	int err = 0;

	if (!size)
		return 0;
	chunk = data[0] ? data[0] : size;
	while (off < size && !err) {
		size_t n = size - off < chunk ? size - off : chunk;

		err = nri2_rx_feed(&rx, data + off, n);
		off += n;
		while (!err && (err = nri2_rx_next(&rx, &m)) > 0) {
			err = 0;
			FZ_CHECK(m.conn == NRI2_CONN_PLUGIN || m.conn == NRI2_CONN_RUNTIME, "conn %u", m.conn);
			FZ_CHECK(m.len <= NRI2_TT_MAX, "message of %zu bytes", m.len);
			if (!nri2_req_decode(m.data, m.len, &req))
				decode_all(req.payload, req.payload_len);
			if (!nri2_resp_decode(m.data, m.len, &resp))
				FZ_CHECK(strlen(resp.message) < sizeof(resp.message), "message bounded");
			decode_all(m.data, m.len);
		}
	}
	FZ_CHECK(!err || err == -EBADMSG || err == -EMSGSIZE, "rx: err %d", err);
	FZ_CHECK(!err || rx.err[0], "an error says what");
	nri2_rx_free(&rx);
	return 0;
}
