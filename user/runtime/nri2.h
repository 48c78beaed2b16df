/* SPDX-License-Identifier: GPL-2.0 */
/*
 * NRI v2's wire, in three layers (the plugin's logic is nri2.c):
 *
 *   nri2mux.c  NRI's multiplexer on the runtime's socket: frames of
 *              [conn id u32 BE][length u32 BE][bytes]; conn 1 carries the
 *              runtime's calls to the plugin, conn 2 the plugin's calls to
 *              the runtime. Each conn is a byte stream of ttrpc messages:
 *              [length u32 BE][stream id u32 BE][type u8][flags u8][payload].
 *   nri2rpc.c  ttrpc's Request {service, method, payload, timeout} and
 *              Response {status {code, message}, payload} (protobuf).
 *   nri2msg.c  the NRI API's messages (nri.pkg.api.v1alpha1), the fields
 *              the plugin reads, as JSON objects.
 *
 * Every decoder reads bytes from another process: lengths are checked
 * against what arrived and against the protocols' maxima, and a bad frame
 * is -EBADMSG or -EMSGSIZE with a message, never a fault.
 */
#ifndef TW_NRI2_H
#define TW_NRI2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "pb.h"

#define NRI2_MUX_HDR		8
#define NRI2_MUX_MAX		(1u << 24)	/* the multiplexer's largest payload */
#define NRI2_TT_HDR		10
#define NRI2_TT_MAX		(4u << 20)	/* ttrpc's largest message */

enum { NRI2_CONN_PLUGIN = 1, NRI2_CONN_RUNTIME = 2 };
enum { NRI2_TT_REQUEST = 1, NRI2_TT_RESPONSE = 2, NRI2_TT_DATA = 3 };

#define NRI2_SVC_PLUGIN		"nri.pkg.api.v1alpha1.Plugin"
#define NRI2_SVC_RUNTIME	"nri.pkg.api.v1alpha1.Runtime"

/* The API's events (enum Event), and the mask ConfigureResponse subscribes with. */
enum {
	NRI2_RUN_POD_SANDBOX = 1, NRI2_STOP_POD_SANDBOX, NRI2_REMOVE_POD_SANDBOX,
	NRI2_CREATE_CONTAINER, NRI2_POST_CREATE_CONTAINER, NRI2_START_CONTAINER,
	NRI2_EVENT_LAST = 12,
};
#define NRI2_EVENT_BIT(e)	(1u << ((e) - 1))

/* gRPC status codes used in answers. */
enum { NRI2_OK = 0, NRI2_INVALID_ARGUMENT = 3, NRI2_PERMISSION_DENIED = 7,
       NRI2_UNIMPLEMENTED = 12, NRI2_UNAVAILABLE = 14 };

/* One ttrpc message; data points into the receiver, valid until its next call. */
struct nri2_msg {
	uint32_t conn, stream;
	uint8_t type, flags;
	const uint8_t *data;
	size_t len;
};

struct nri2_buf {
	uint8_t *p;
	size_t len, off, cap;	/* bytes held, of which off consumed */
};

/* What arrived on the trunk, not yet whole frames or messages. */
struct nri2_rx {
	struct nri2_buf trunk;
	struct nri2_buf conn[3];	/* ttrpc byte streams of conns 1 and 2 */
	char err[160];
};

/* nri2mux.c */
int nri2_rx_feed(struct nri2_rx *rx, const void *data, size_t len);
/* The next whole message: 1, 0 when more bytes are needed, -errno with rx->err. */
int nri2_rx_next(struct nri2_rx *rx, struct nri2_msg *m);
void nri2_rx_free(struct nri2_rx *rx);
/* One ttrpc message in one mux frame, written whole to fd. */
int nri2_send(int fd, uint32_t conn, uint32_t stream, uint8_t type, const void *payload, size_t len);

/* nri2rpc.c */
struct nri2_req {
	const uint8_t *service, *method, *payload;
	size_t service_len, method_len, payload_len;
	int64_t timeout_ns;		/* 0: none given */
};

struct nri2_resp {
	int code;
	char message[256];
	const uint8_t *payload;
	size_t payload_len;
};

int nri2_req_decode(const uint8_t *p, size_t len, struct nri2_req *r);
bool nri2_req_is(const struct nri2_req *r, const char *service, const char *method);
int nri2_resp_decode(const uint8_t *p, size_t len, struct nri2_resp *r);
void nri2_req_encode(struct tw_pb_out *o, const char *service, const char *method,
		     const void *payload, size_t len, int64_t timeout_ns);
void nri2_resp_encode(struct tw_pb_out *o, int code, const char *message,
		      const void *payload, size_t len);

/* nri2msg.c: decoded messages are JSON objects the caller frees. */
/* PodSandbox: {id, name, uid, namespace, labels{}, cgroup_parent, pid}. */
int nri2_decode_pod(const uint8_t *p, size_t len, json_t **out);
/* Container: {id, pod_sandbox_id, name, pid, cgroups_path}. */
int nri2_decode_container(const uint8_t *p, size_t len, json_t **out);
/*
 * StateChangeEvent (pod 2, container 3, event 1) and CreateContainerRequest
 * (pod 1, container 2): {event, pod?, container?}.
 */
int nri2_decode_event(const uint8_t *p, size_t len, bool create_request, json_t **out);
/* SynchronizeRequest: {pods: [], containers: []}. */
int nri2_decode_sync(const uint8_t *p, size_t len, json_t **out);
/* ConfigureRequest: {config, runtime_name, runtime_version}. */
int nri2_decode_configure(const uint8_t *p, size_t len, json_t **out);
void nri2_encode_register(struct tw_pb_out *o, const char *name, const char *idx);
void nri2_encode_configure_reply(struct tw_pb_out *o, uint32_t events);

#endif
