// SPDX-License-Identifier: GPL-2.0
/*
 * NRI v2's wire as tierwall-nri-plugin reads it (user/runtime/nri2*.c): the
 * multiplexer's frames, ttrpc's messages, the API's protobuf. The bytes are
 * built here field by field as containerd 1.7 sends them (field numbers of
 * nri.pkg.api.v1alpha1); the plugin against a real containerd 1.7.24 is
 * tests/k8s/nri2.py's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "cgroup.h"
#include "nri2.h"
#include "podhook.h"
#include "test.h"

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* A PodSandbox as containerd sends it at RunPodSandbox. */
static size_t pod_msg_at(uint8_t *buf, size_t cap, const char *name, const char *label_value,
			 const char *cgroup_parent)
{
	uint8_t kv[256], linux_[256];
	struct tw_pb_out o = { .p = buf, .cap = cap }, k = { .p = kv, .cap = sizeof(kv) },
			 l = { .p = linux_, .cap = sizeof(linux_) };

	tw_pb_put_bytes(&o, 1, "5b1d", 4);
	tw_pb_put_bytes(&o, 2, name, strlen(name));
	tw_pb_put_bytes(&o, 3, "uid-1", 5);
	tw_pb_put_bytes(&o, 4, "shop", 4);
	tw_pb_put_bytes(&k, 1, "tierwall.io/tier", 16);
	tw_pb_put_bytes(&k, 2, label_value, strlen(label_value));
	tw_pb_put_bytes(&o, 5, kv, k.len);
	tw_pb_put_bytes(&o, 7, "runc", 4);		/* runtime_handler: skipped */
	tw_pb_put_bytes(&l, 3, cgroup_parent, strlen(cgroup_parent));
	tw_pb_put_bytes(&o, 8, linux_, l.len);
	tw_pb_put_varint(&o, 9, 4242);
	return o.err ? 0 : o.len;
}

static size_t pod_msg(uint8_t *buf, size_t cap, const char *label_value)
{
	return pod_msg_at(buf, cap, "web", label_value, "/kubepods/besteffort/poduid-1");
}

/* ttrpc Request {Plugin.StateChange, StateChangeEvent{RUN_POD_SANDBOX, pod}} in a ttrpc frame. */
static size_t run_pod_request(uint8_t *buf, size_t cap, const char *label_value)
{
	uint8_t pod[1024], ev[1200];
	struct tw_pb_out e = { .p = ev, .cap = sizeof(ev) }, r = { .p = buf + NRI2_TT_HDR,
								   .cap = cap - NRI2_TT_HDR };
	size_t n = pod_msg(pod, sizeof(pod), label_value);

	tw_pb_put_varint(&e, 1, NRI2_RUN_POD_SANDBOX);
	tw_pb_put_bytes(&e, 2, pod, n);
	nri2_req_encode(&r, NRI2_SVC_PLUGIN, "StateChange", ev, e.len, 2000000000LL);
	be32(buf, r.len);
	be32(buf + 4, 7);
	buf[8] = NRI2_TT_REQUEST;
	buf[9] = 0;
	return NRI2_TT_HDR + r.len;
}

static void mux_hdr(uint8_t *p, uint32_t conn, uint32_t len)
{
	be32(p, conn);
	be32(p + 4, len);
}

/* One request split over two mux frames, the trunk fed a byte at a time. */
TEST(unit_nri2_request_across_frames)
{
	uint8_t tt[2048], trunk[4096];
	struct nri2_rx rx = {};
	struct nri2_msg m;
	struct nri2_req req;
	size_t n = run_pod_request(tt, sizeof(tt), "staging"), half = n / 2, i, t = 0;
	json_t *ev = NULL, *pod;
	int got = 0, err = 0;

	mux_hdr(trunk, NRI2_CONN_PLUGIN, half);
	memcpy(trunk + 8, tt, half);
	mux_hdr(trunk + 8 + half, 9, 3);		/* a conn nobody opened: dropped */
	memcpy(trunk + 16 + half, "xyz", 3);
	mux_hdr(trunk + 19 + half, NRI2_CONN_PLUGIN, n - half);
	memcpy(trunk + 27 + half, tt + half, n - half);
	t = 27 + n;
	for (i = 0; i < t && !err; i++) {
		err = nri2_rx_feed(&rx, trunk + i, 1);
		while (!err && (err = nri2_rx_next(&rx, &m)) > 0) {
			err = 0;
			got++;
			if (!ASSERT_EQ(m.conn, NRI2_CONN_PLUGIN, "conn") || !ASSERT_EQ(m.stream, 7, "stream") ||
			    !ASSERT_EQ(m.type, NRI2_TT_REQUEST, "type") ||
			    !ASSERT_OK(nri2_req_decode(m.data, m.len, &req), "request") ||
			    !ASSERT_TRUE(nri2_req_is(&req, NRI2_SVC_PLUGIN, "StateChange"), "method") ||
			    !ASSERT_EQ(req.timeout_ns, 2000000000LL, "the runtime's deadline") ||
			    !ASSERT_OK(nri2_decode_event(req.payload, req.payload_len, false, &ev), "event"))
				goto out;
		}
	}
	ASSERT_EQ(err, 0, "no error");
	ASSERT_EQ(got, 1, "one message");
	pod = json_object_get(ev, "pod");
	ASSERT_EQ(json_integer_value(json_object_get(ev, "event")), NRI2_RUN_POD_SANDBOX, "event");
	ASSERT_STREQ(json_string_value(json_object_get(pod, "namespace")), "shop", "namespace");
	ASSERT_STREQ(json_string_value(json_object_get(pod, "name")), "web", "name");
	ASSERT_STREQ(json_string_value(json_object_get(pod, "cgroup_parent")),
		     "/kubepods/besteffort/poduid-1", "cgroup parent");
	ASSERT_EQ(json_integer_value(json_object_get(pod, "pid")), 4242, "sandbox pid");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(pod, "labels"), "tierwall.io/tier")),
		     "staging", "label");
out:
	json_decref(ev);
	nri2_rx_free(&rx);
}

static int feed_one(const uint8_t *p, size_t n, char *err, size_t len)
{
	struct nri2_rx rx = {};
	struct nri2_msg m;
	int r = nri2_rx_feed(&rx, p, n);

	while (!r && (r = nri2_rx_next(&rx, &m)) > 0)
		;
	snprintf(err, len, "%s", rx.err);
	nri2_rx_free(&rx);
	return r;
}

/* Frames that are not NRI's: a clear error each, never a fault or a guess. */
TEST(unit_nri2_bad_frames)
{
	uint8_t b[64] = {}, pod[512], bad[8] = { 0x0a, 0x05, 'a', 'b' };	/* id: 5 bytes, 2 there */
	char why[200];
	json_t *o = NULL;
	size_t n;

	mux_hdr(b, 1, NRI2_MUX_MAX + 1);
	ASSERT_EQ(feed_one(b, 8, why, sizeof(why)), -EMSGSIZE, "a mux frame over 16 MiB");
	ASSERT_CONTAINS(why, "a frame of 16777217 bytes for conn 1", "says which");
	mux_hdr(b, 0, 4);
	ASSERT_EQ(feed_one(b, 12, why, sizeof(why)), -EBADMSG, "conn 0");
	ASSERT_CONTAINS(why, "conn 0 (reserved)", "says which");
	mux_hdr(b, 1, 10);
	be32(b + 8, NRI2_TT_MAX + 1);
	ASSERT_EQ(feed_one(b, 18, why, sizeof(why)), -EMSGSIZE, "a ttrpc message over 4 MiB");
	ASSERT_CONTAINS(why, "a message of 4194305 bytes", "says which");
	be32(b + 8, 0);
	b[16] = 9;
	ASSERT_EQ(feed_one(b, 18, why, sizeof(why)), -EBADMSG, "message type 9");
	ASSERT_CONTAINS(why, "message type 9", "says which");
	mux_hdr(b, 1, 20);
	ASSERT_EQ(feed_one(b, 18, why, sizeof(why)), 0, "half a frame: more bytes needed");
	ASSERT_EQ(nri2_decode_pod(bad, 4, &o), -EBADMSG, "a string past the message's end");
	n = pod_msg(pod, sizeof(pod), "stag\xff\xfe");
	ASSERT_EQ(nri2_decode_pod(pod, n, &o), -EBADMSG, "a label that is not UTF-8");
	ASSERT_EQ(nri2_decode_event((uint8_t[]){ 0x08, 0x63 }, 2, false, &o), -EBADMSG, "event 99");
	ASSERT_EQ(nri2_decode_event((uint8_t[]){ 0x12, 0x02, 0x08, 0x01 }, 4, false, &o), -EBADMSG,
		  "a pod whose id is a number");
}

/* What the plugin writes: one mux frame around one ttrpc message, read back whole. */
TEST(unit_nri2_answers_round_trip)
{
	uint8_t buf[512], body[64];
	struct tw_pb_out o = { .p = buf, .cap = sizeof(buf) }, b = { .p = body, .cap = sizeof(body) };
	struct nri2_resp resp;
	struct nri2_req req;
	json_t *cfg = NULL;

	nri2_encode_configure_reply(&b, NRI2_EVENT_BIT(NRI2_RUN_POD_SANDBOX) |
				    NRI2_EVENT_BIT(NRI2_START_CONTAINER));
	nri2_resp_encode(&o, NRI2_PERMISSION_DENIED, "tierwall: no", body, b.len);
	ASSERT_OK(nri2_resp_decode(buf, o.len, &resp), "response");
	ASSERT_EQ(resp.code, NRI2_PERMISSION_DENIED, "code");
	ASSERT_STREQ(resp.message, "tierwall: no", "message");
	ASSERT_EQ(resp.payload_len, b.len, "payload");
	ASSERT_EQ(NRI2_EVENT_BIT(NRI2_RUN_POD_SANDBOX) | NRI2_EVENT_BIT(NRI2_START_CONTAINER), 0x21,
		  "NRI's mask: bit (event - 1)");
	o.len = b.len = 0;
	nri2_encode_register(&b, "tierwall", "10");
	nri2_req_encode(&o, NRI2_SVC_RUNTIME, "RegisterPlugin", body, b.len, 0);
	ASSERT_OK(nri2_req_decode(buf, o.len, &req), "request");
	ASSERT_TRUE(nri2_req_is(&req, NRI2_SVC_RUNTIME, "RegisterPlugin"), "method");
	ASSERT_TRUE(!nri2_req_is(&req, NRI2_SVC_RUNTIME, "RegisterPlugi"), "a prefix is not the method");
	ASSERT_TRUE(req.payload_len == b.len && !memcmp(req.payload, body, b.len), "payload");
	o.len = 0;
	tw_pb_put_bytes(&o, 1, "{\"socket\":\"/x\"}", 15);
	tw_pb_put_bytes(&o, 2, "containerd", 10);
	tw_pb_put_bytes(&o, 3, "1.7.24", 6);
	if (ASSERT_OK(nri2_decode_configure(buf, o.len, &cfg), "ConfigureRequest"))
		ASSERT_STREQ(json_string_value(json_object_get(cfg, "runtime_version")), "1.7.24", "version");
	json_decref(cfg);
}

/* ---- tierwall-nri-plugin against a real daemon; this test is the runtime ---- */

struct runtime {
	int fd;
	pid_t plugin;
	struct nri2_rx rx;
	uint32_t stream;
};

/* The next message from the plugin (bounded: the plugin answers within 2 s or fails). */
static int rt_next(struct runtime *rt, struct nri2_msg *m)
{
	uint8_t buf[4096];
	struct timeval tv = { 10, 0 };
	ssize_t n;
	int err;

	setsockopt(rt->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (!(err = nri2_rx_next(&rt->rx, m))) {
		n = read(rt->fd, buf, sizeof(buf));
		if (n <= 0)
			return n ? -errno : -EPIPE;
		err = nri2_rx_feed(&rt->rx, buf, n);
		if (err)
			return err;
	}
	return err < 0 ? err : 0;
}

/* Call the plugin's method with payload; its answer's status. */
static int rt_call(struct runtime *rt, const char *method, const void *payload, size_t len,
		   struct nri2_resp *resp)
{
	uint8_t buf[4096];
	struct tw_pb_out o = { .p = buf, .cap = sizeof(buf) };
	struct nri2_msg m;
	int err;

	rt->stream += 2;
	nri2_req_encode(&o, NRI2_SVC_PLUGIN, method, payload, len, 2000000000LL);
	err = nri2_send(rt->fd, NRI2_CONN_PLUGIN, rt->stream, NRI2_TT_REQUEST, buf, o.len);
	if (err || (err = rt_next(rt, &m)))
		return err;
	if (m.conn != NRI2_CONN_PLUGIN || m.type != NRI2_TT_RESPONSE || m.stream != rt->stream)
		return -EPROTO;
	return nri2_resp_decode(m.data, m.len, resp);
}

/* The plugin as containerd starts a pre-installed one, registered and configured. */
static int rt_start(struct runtime *rt, const char *twsock)
{
	uint8_t buf[512];
	struct tw_pb_out o = { .p = buf, .cap = sizeof(buf) };
	struct nri2_resp resp;
	struct nri2_req req;
	struct nri2_msg m;
	char path[4096], conf[512];
	int sv[2], err;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	snprintf(path, sizeof(path), "%s/tierwall-nri-plugin", tw_build_dir);
	rt->plugin = fork();
	if (!rt->plugin) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);		/* its log lines: not the test's */
		dup2(sv[1], 3);		/* dup2 clears CLOEXEC on fd 3 */
		setenv("NRI_PLUGIN_SOCKET", "3", 1);
		setenv("NRI_PLUGIN_NAME", "tierwall", 1);
		setenv("NRI_PLUGIN_IDX", "10", 1);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	rt->fd = sv[0];
	if (rt->plugin < 0)
		return -errno;
	/* RegisterPlugin comes first, on the plugin's conn; answered with an Empty. */
	err = rt_next(rt, &m);
	if (err || m.conn != NRI2_CONN_RUNTIME || nri2_req_decode(m.data, m.len, &req) ||
	    !nri2_req_is(&req, NRI2_SVC_RUNTIME, "RegisterPlugin"))
		return err ?: -EPROTO;
	nri2_resp_encode(&o, 0, NULL, NULL, 0);
	err = nri2_send(rt->fd, NRI2_CONN_RUNTIME, m.stream, NRI2_TT_RESPONSE, buf, o.len);
	if (err)
		return err;
	snprintf(conf, sizeof(conf), "{\"socket\": \"%s\"}", twsock);
	o.len = 0;
	tw_pb_put_bytes(&o, 1, conf, strlen(conf));
	tw_pb_put_bytes(&o, 2, "tw_tests", 8);
	err = rt_call(rt, "Configure", buf, o.len, &resp);
	return err ?: resp.code ? -EPROTO : 0;
}

static int rt_run_pod(struct runtime *rt, const char *name, const char *tier, const char *cg,
		      struct nri2_resp *resp)
{
	uint8_t pod[1024], ev[1200];
	struct tw_pb_out e = { .p = ev, .cap = sizeof(ev) };
	size_t n = pod_msg_at(pod, sizeof(pod), name, tier, cg);

	tw_pb_put_varint(&e, 1, NRI2_RUN_POD_SANDBOX);
	tw_pb_put_bytes(&e, 2, pod, n);
	return rt_call(rt, "StateChange", ev, e.len, resp);
}

static void rt_stop(struct runtime *rt)
{
	int st = 0;

	if (rt->fd > 0)
		close(rt->fd);		/* the runtime is gone: a pre-installed plugin ends */
	if (rt->plugin > 0 && waitpid(rt->plugin, &st, 0) == rt->plugin)
		ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the plugin ended with its connection");
	nri2_rx_free(&rt->rx);
}

TEST(pod_nri2_plugin_tiers_pod_at_run_pod_sandbox)
{
	static const char *const cgs[] = { "kubepods/poda/c1", NULL };
	struct runtime rt = { .fd = -1 };
	struct init_proc a = {};
	struct nri2_resp resp;
	struct fx f;
	int port = fx_port(71), lfd = -1, pid;
	char cg[4096], *slash;
	json_t *ev = NULL;

	if (fx_init(&f, cgs))
		return;
	fx_write_policy(&f, "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},"
			"  \"destinations\": [ { \"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"] } ] }");
	lfd = fx_listen_tcp("127.20.0.1", port);
	if (!ASSERT_TRUE(lfd >= 0, "prod listener") || !ASSERT_OK(fx_start(&f, NULL), "daemon starts") ||
	    !ASSERT_OK(init_start(&f, cgs[0], "127.20.0.1", port, &a), "a container's init waits") ||
	    !ASSERT_OK(tw_pid_cgroup(a.pid, cg, sizeof(cg)), "its cgroup") ||
	    !ASSERT_OK(rt_start(&rt, f.sock), "the plugin registers and is configured"))
		goto out;
	slash = strrchr(cg, '/');
	*slash = '\0';				/* the pod's cgroup: its cgroup parent */
	/* RunPodSandbox answered only once the pod's cgroup is tiered: the container below it is. */
	if (!ASSERT_OK(rt_run_pod(&rt, "web", "staging", cg, &resp), "RunPodSandbox answered") ||
	    !ASSERT_EQ(resp.code, NRI2_OK, resp.message))
		goto out;
	pid = a.pid;
	a.pid = 0;
	ASSERT_EQ(init_run(&(struct init_proc){ .pid = pid, .go = a.go }), EPERM,
		  "the container's first connect is judged by the pod's tier");
	ev = fx_event(&f, pid, port);
	if (!ASSERT_STREQ(json_string_value(json_object_get(ev, "pod")), "web", "the event names the pod"))
		json_dumpf(ev, stdout, JSON_COMPACT);
	ASSERT_STREQ(json_string_value(json_object_get(ev, "namespace")), "shop", "and its namespace");
	/* An unknown tier: an error answer, the runtime does not start the pod. */
	if (ASSERT_OK(rt_run_pod(&rt, "typo", "qa", cg, &resp), "RunPodSandbox answered"))
		ASSERT_CONTAINS(resp.message, "tierwall.io/tier=\"qa\" names a tier the policy does not define",
				"an unknown tier is an error answer");
	ASSERT_EQ(resp.code, NRI2_PERMISSION_DENIED, "refused");
out:
	json_decref(ev);
	rt_stop(&rt);
	if (a.pid > 0)
		init_run(&a);		/* let it go, and reap it */
	if (lfd >= 0)
		close(lfd);
	fx_cleanup(&f);
}
