// SPDX-License-Identifier: GPL-2.0
/*
 * The CRI client (cri.h). gRPC is HTTP/2 with one POST per call: headers
 * naming the method, a body of 5-byte-framed protobuf messages, the status
 * in the trailers. libnghttp2 does the HTTP/2; we drive its session over a
 * non-blocking socket, polling against each call's deadline.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <nghttp2/nghttp2.h>
#include "cri.h"
#include "pb.h"

#define SERVICE		"/runtime.v1.RuntimeService/"
#define MAX_BODY	(16u << 20)	/* a node's worth of pods, with room */
#define WINDOW		(1u << 20)

struct tw_cri {
	int fd;
	nghttp2_session *s;
	/* The call in flight. */
	int32_t stream;
	bool closed;
	const uint8_t *req;
	size_t req_len, req_off;
	uint8_t *body;
	size_t body_len;
	bool too_big;
	int http_status, grpc_status;
	uint32_t reset;
	char grpc_msg[256];
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static ssize_t on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *arg)
{
	struct tw_cri *c = arg;
	ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? NGHTTP2_ERR_WOULDBLOCK :
		       NGHTTP2_ERR_CALLBACK_FAILURE;
	return n;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *arg)
{
	struct tw_cri *c = arg;
	char v[16];

	if (frame->hd.stream_id != c->stream)
		return 0;
	snprintf(v, sizeof(v), "%.*s", (int)valuelen, value);
	if (namelen == 7 && !memcmp(name, ":status", 7))
		c->http_status = atoi(v);
	else if (namelen == 11 && !memcmp(name, "grpc-status", 11))
		c->grpc_status = atoi(v);
	else if (namelen == 12 && !memcmp(name, "grpc-message", 12))
		snprintf(c->grpc_msg, sizeof(c->grpc_msg), "%.*s", (int)valuelen, value);
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
		   size_t len, void *arg)
{
	struct tw_cri *c = arg;
	uint8_t *nb;

	if (id != c->stream || c->too_big)
		return 0;
	if (c->body_len + len > MAX_BODY) {
		c->too_big = true;
		return 0;
	}
	nb = realloc(c->body, c->body_len + len);
	if (!nb)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	memcpy(nb + c->body_len, data, len);
	c->body = nb;
	c->body_len += len;
	return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t error, void *arg)
{
	struct tw_cri *c = arg;

	if (id == c->stream) {
		c->closed = true;
		c->reset = error;
	}
	return 0;
}

static ssize_t read_req(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			uint32_t *flags, nghttp2_data_source *src, void *arg)
{
	struct tw_cri *c = arg;
	size_t n = c->req_len - c->req_off;

	if (n > len)
		n = len;
	memcpy(buf, c->req + c->req_off, n);
	c->req_off += n;
	if (c->req_off == c->req_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return n;
}

int tw_cri_open(struct tw_cri **cp, const char *path, char *why, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	nghttp2_settings_entry iv[] = { { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW },
					{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 } };
	nghttp2_session_callbacks *cb;
	struct tw_cri *c;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, len, "%s: path too long for a unix socket", path);
		return -ENAMETOOLONG;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	memcpy(sa.sun_path, path, strlen(path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		snprintf(why, len, "cannot connect to %s: %s", path, strerror(-err));
		tw_cri_close(c);
		return err;
	}
	if (nghttp2_session_callbacks_new(&cb)) {
		tw_cri_close(c);
		return -ENOMEM;
	}
	nghttp2_session_callbacks_set_send_callback(cb, on_send);
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	err = nghttp2_session_client_new(&c->s, cb, c);
	nghttp2_session_callbacks_del(cb);
	if (!err)
		err = nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 2);
	if (!err)
		err = nghttp2_session_set_local_window_size(c->s, NGHTTP2_FLAG_NONE, 0, 16 * WINDOW);
	if (err) {
		snprintf(why, len, "HTTP/2 session: %s", nghttp2_strerror(err));
		tw_cri_close(c);
		return -ENOMEM;
	}
	*cp = c;
	return 0;
}

void tw_cri_close(struct tw_cri *c)
{
	if (!c)
		return;
	nghttp2_session_del(c->s);
	if (c->fd >= 0)
		close(c->fd);
	free(c->body);
	free(c);
}

/* Send and receive until the call's stream closes or the deadline passes. */
static int pump(struct tw_cri *c, uint64_t deadline, char *why, size_t len)
{
	uint8_t buf[16384];

	while (!c->closed) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int64_t left = (int64_t)(deadline - now_ms());
		int rv = nghttp2_session_send(c->s);
		ssize_t n;

		if (rv) {
			snprintf(why, len, "HTTP/2: %s", nghttp2_strerror(rv));
			return -EPROTO;
		}
		if (left <= 0) {
			snprintf(why, len, "no answer in time");
			return -ETIMEDOUT;
		}
		if (nghttp2_session_want_write(c->s))
			p.events |= POLLOUT;
		if (poll(&p, 1, left) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			snprintf(why, len, "the runtime closed the connection%s%s",
				 n ? ": " : "", n ? strerror(errno) : "");
			return -ECONNRESET;
		}
		rv = nghttp2_session_mem_recv(c->s, buf, n);
		if (rv < 0) {
			snprintf(why, len, "HTTP/2: %s", nghttp2_strerror(rv));
			return -EPROTO;
		}
	}
	return 0;
}

/* One unary call: msg out, the reply's message (in c->body, after its 5-byte frame) back. */
static int call(struct tw_cri *c, const char *method, const uint8_t *msg, size_t msg_len,
		int timeout_ms, const uint8_t **out, size_t *out_len, char *why, size_t len)
{
	char path[128], tmp[256];
	uint8_t frame[512];
	nghttp2_nv nv[] = {
#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }
		NV(":method", "POST"), NV(":scheme", "http"),
		{ (uint8_t *)":path", (uint8_t *)path, 5, 0, NGHTTP2_NV_FLAG_NONE },
		NV(":authority", "localhost"), NV("content-type", "application/grpc"),
		NV("te", "trailers"), NV("user-agent", "tierwalld"),
#undef NV
	};
	nghttp2_data_provider dp = { .read_callback = read_req };
	uint32_t n;
	int err;

	if (msg_len > sizeof(frame) - 5)
		return -EMSGSIZE;
	snprintf(path, sizeof(path), SERVICE "%s", method);
	nv[2].valuelen = strlen(path);
	frame[0] = 0;		/* not compressed */
	frame[1] = msg_len >> 24;
	frame[2] = msg_len >> 16;
	frame[3] = msg_len >> 8;
	frame[4] = msg_len;
	memcpy(frame + 5, msg, msg_len);
	free(c->body);
	c->body = NULL;
	c->body_len = c->req_off = 0;
	c->req = frame;
	c->req_len = msg_len + 5;
	c->closed = c->too_big = false;
	c->http_status = 0;
	c->grpc_status = -1;
	c->reset = 0;
	c->grpc_msg[0] = '\0';
	c->stream = nghttp2_submit_request(c->s, NULL, nv, sizeof(nv) / sizeof(nv[0]), &dp, NULL);
	if (c->stream < 0) {
		snprintf(why, len, "%s: HTTP/2: %s", method, nghttp2_strerror(c->stream));
		return -EPROTO;
	}
	err = pump(c, now_ms() + timeout_ms, tmp, sizeof(tmp));
	c->req = NULL;
	if (err) {
		snprintf(why, len, "%s: %s", method, tmp);
		return err;
	}
	if (c->reset || c->http_status != 200 || c->grpc_status) {
		snprintf(why, len, "%s: %s%s (HTTP %d, gRPC status %d%s%s)", method,
			 c->reset ? "stream reset" : "refused", c->too_big ? ", answer too large" : "",
			 c->http_status, c->grpc_status, c->grpc_msg[0] ? ": " : "", c->grpc_msg);
		return c->grpc_status == 12 ? -EOPNOTSUPP : -EPROTO;	/* 12: UNIMPLEMENTED */
	}
	if (c->too_big || c->body_len < 5 || c->body[0] ||
	    (n = (uint32_t)c->body[1] << 24 | c->body[2] << 16 | c->body[3] << 8 | c->body[4]) >
	    c->body_len - 5) {
		snprintf(why, len, "%s: the answer is not one uncompressed gRPC message (%zu bytes)",
			 method, c->body_len);
		return -EBADMSG;
	}
	*out = c->body + 5;
	*out_len = n;
	return 0;
}

/* ---- the messages (field numbers: cri.proto) ---- */

/* A string field as JSON; NULL for a wire type or bytes that are not a string. */
static json_t *str(const struct tw_pb_field *f)
{
	if (f->wire != TW_PB_LEN || memchr(f->data, 0, f->len))
		return NULL;
	return json_stringn((const char *)f->data, f->len);
}

static int set_str(json_t *o, const char *key, const struct tw_pb_field *f)
{
	json_t *s = str(f);

	return s ? json_object_set_new(o, key, s) : -EBADMSG;
}

/* A map<string, string> entry into o. */
static int map_entry(const struct tw_pb_field *e, json_t *o)
{
	struct tw_pb r;
	struct tw_pb_field f;
	json_t *k = NULL, *v = NULL;
	int rv, err = 0;

	if (e->wire != TW_PB_LEN)
		return -EBADMSG;
	r = tw_pb_init(e->data, e->len);
	while (!err && (rv = tw_pb_next(&r, &f)) > 0) {
		json_t **slot = f.num == 1 ? &k : f.num == 2 ? &v : NULL;

		if (!slot)
			continue;
		json_decref(*slot);
		*slot = str(&f);
		err = *slot ? 0 : -EBADMSG;
	}
	if (!err && rv < 0)
		err = rv;
	if (!err)
		err = json_object_set_new(o, k ? json_string_value(k) : "", v ?: json_string("")) ?
		      -ENOMEM : 0;
	else
		json_decref(v);
	json_decref(k);
	return err;
}

/* Each field of a message to fn; -EBADMSG for bytes that are not one. */
static int each(const struct tw_pb_field *m, int (*fn)(const struct tw_pb_field *f, json_t *o),
		json_t *o)
{
	struct tw_pb r;
	struct tw_pb_field f;
	int rv, err = 0;

	if (m->wire != TW_PB_LEN)
		return -EBADMSG;
	r = tw_pb_init(m->data, m->len);
	while (!err && (rv = tw_pb_next(&r, &f)) > 0)
		err = fn(&f, o);
	return err ?: rv;
}

static int pod_meta(const struct tw_pb_field *f, json_t *o)
{
	static const char *const keys[] = { [1] = "name", [2] = "uid", [3] = "namespace" };

	return f->num >= 1 && f->num <= 3 ? set_str(o, keys[f->num], f) : 0;
}

static int pod_field(const struct tw_pb_field *f, json_t *o)
{
	switch (f->num) {
	case 1:
		return set_str(o, "id", f);
	case 2:
		return each(f, pod_meta, o);
	case 3:
		return f->wire == TW_PB_VARINT ? json_object_set_new(o, "state", json_integer(f->v)) :
		       -EBADMSG;
	case 5:
		return map_entry(f, json_object_get(o, "labels"));
	}
	return 0;
}

static int ctr_meta(const struct tw_pb_field *f, json_t *o)
{
	return f->num == 1 ? set_str(o, "name", f) : 0;
}

static int ctr_field(const struct tw_pb_field *f, json_t *o)
{
	switch (f->num) {
	case 1:
		return set_str(o, "id", f);
	case 2:
		return set_str(o, "pod_sandbox_id", f);
	case 3:
		return each(f, ctr_meta, o);
	case 6:
		return f->wire == TW_PB_VARINT ? json_object_set_new(o, "state", json_integer(f->v)) :
		       -EBADMSG;
	}
	return 0;
}

/* A list response: field 1 repeated, each item decoded by fn into {"labels": {}, ...}. */
static int decode_list(const void *buf, size_t len, int (*fn)(const struct tw_pb_field *, json_t *),
		       json_t **out)
{
	struct tw_pb r = tw_pb_init(buf, len);
	struct tw_pb_field f;
	json_t *list = json_array();
	int rv, err = 0;

	while (!err && (rv = tw_pb_next(&r, &f)) > 0) {
		json_t *item;

		if (f.num != 1)
			continue;
		item = json_pack("{s:s, s:{}}", "id", "", "labels");
		err = item ? each(&f, fn, item) : -ENOMEM;
		json_array_append_new(list, item);
	}
	err = err ?: rv;
	if (err) {
		json_decref(list);
		return err == -ENOMEM ? err : -EBADMSG;
	}
	*out = list;
	return 0;
}

int tw_cri_decode_pods(const void *buf, size_t len, json_t **pods)
{
	return decode_list(buf, len, pod_field, pods);
}

int tw_cri_decode_containers(const void *buf, size_t len, json_t **ctrs)
{
	return decode_list(buf, len, ctr_field, ctrs);
}

/* containerd's verbose status: info["info"] is JSON with the init process's "pid". */
int tw_cri_decode_pid(const void *buf, size_t len, int *pid)
{
	struct tw_pb r = tw_pb_init(buf, len);
	struct tw_pb_field f;
	json_t *info = json_object(), *j;
	json_int_t p;
	int rv, err = 0;

	while (!err && (rv = tw_pb_next(&r, &f)) > 0)
		if (f.num == 2)
			err = map_entry(&f, info);
	err = err ?: rv;
	if (err) {
		json_decref(info);
		return -EBADMSG;
	}
	j = json_loads(json_string_value(json_object_get(info, "info")) ?: "", 0, NULL);
	json_decref(info);
	p = json_integer_value(json_object_get(j, "pid"));
	json_decref(j);
	if (!j)
		return -ENOENT;
	if (p <= 0 || p > 1 << 22)
		return -ESRCH;
	*pid = p;
	return 0;
}

/* ---- the calls ---- */

int tw_cri_list_pods(struct tw_cri *c, int timeout_ms, json_t **pods, char *why, size_t len)
{
	/* filter { state { state: SANDBOX_READY (0) } }: the empty value is READY. */
	static const uint8_t req[] = { 0x0a, 0x02, 0x12, 0x00 };
	const uint8_t *out;
	size_t n;
	int err = call(c, "ListPodSandbox", req, sizeof(req), timeout_ms, &out, &n, why, len);

	if (!err && (err = tw_cri_decode_pods(out, n, pods)))
		snprintf(why, len, "ListPodSandbox: the answer is not a ListPodSandboxResponse");
	return err;
}

int tw_cri_list_containers(struct tw_cri *c, int timeout_ms, json_t **ctrs, char *why, size_t len)
{
	/* filter { state { state: CONTAINER_RUNNING (1) } } */
	static const uint8_t req[] = { 0x0a, 0x04, 0x12, 0x02, 0x08, 0x01 };
	const uint8_t *out;
	size_t n;
	int err = call(c, "ListContainers", req, sizeof(req), timeout_ms, &out, &n, why, len);

	if (!err && (err = tw_cri_decode_containers(out, n, ctrs)))
		snprintf(why, len, "ListContainers: the answer is not a ListContainersResponse");
	return err;
}

int tw_cri_pid(struct tw_cri *c, const char *id, bool sandbox, int timeout_ms, int *pid,
	       char *why, size_t len)
{
	const char *method = sandbox ? "PodSandboxStatus" : "ContainerStatus";
	uint8_t buf[400];
	struct tw_pb_out o = { .p = buf, .cap = sizeof(buf) };
	const uint8_t *out;
	size_t n;
	int err;

	tw_pb_put_bytes(&o, 1, id, strlen(id));
	tw_pb_put_varint(&o, 2, 1);		/* verbose: the info map, with the pid */
	if (o.err) {
		snprintf(why, len, "%s: id too long", method);
		return -ENAMETOOLONG;
	}
	err = call(c, method, buf, o.len, timeout_ms, &out, &n, why, len);
	if (err)
		return err;
	err = tw_cri_decode_pid(out, n, pid);
	if (err)
		snprintf(why, len, "%s: %s", method, err == -EBADMSG ? "the answer is not a status" :
			 err == -ENOENT ? "no verbose info with a pid" : "no live pid");
	return err;
}
