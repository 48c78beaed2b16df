// SPDX-License-Identifier: GPL-2.0
/*
 * The CRI client: its protobuf decoder on malformed input, and a runtime
 * that does not answer (reported in status, the daemon serving all along).
 * Placing real pods is tests/k8s/run.py's, on containerd's CRI.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "cri.h"
#include "ctl.h"
#include "fixture.h"
#include "pb.h"
#include "schema.h"
#include "test.h"
#include "util.h"

#define T(s) s "\n"

/* A map<string, string> entry, as field num of out. */
static void put_entry(struct tw_pb_out *o, uint32_t num, const char *k, const char *v)
{
	uint8_t buf[256];
	struct tw_pb_out e = { .p = buf, .cap = sizeof(buf) };

	tw_pb_put_bytes(&e, 1, k, strlen(k));
	tw_pb_put_bytes(&e, 2, v, strlen(v));
	tw_pb_put_bytes(o, num, buf, e.len);
}

/* A ListPodSandboxResponse with one pod, an unknown field of each wire type in it. */
static size_t one_pod(uint8_t *out, size_t cap, const char *label_value)
{
	static const uint8_t unknown[] = { 0x3d, 1, 2, 3, 4, 0x41, 1, 2, 3, 4, 5, 6, 7, 8, 0x48, 0x96, 0x01 };
	uint8_t pod[512], meta[128];
	struct tw_pb_out m = { .p = meta, .cap = sizeof(meta) }, p = { .p = pod, .cap = sizeof(pod) };
	struct tw_pb_out o = { .p = out, .cap = cap };

	tw_pb_put_bytes(&m, 1, "web", 3);
	tw_pb_put_bytes(&m, 2, "u-1", 3);
	tw_pb_put_bytes(&m, 3, "shop", 4);
	tw_pb_put_bytes(&p, 1, "abc", 3);
	tw_pb_put_bytes(&p, 2, meta, m.len);
	tw_pb_put_varint(&p, 3, 0);
	put_entry(&p, 5, "tierwall.io/tier", label_value);
	memcpy(pod + p.len, unknown, sizeof(unknown));	/* fixed32 7, fixed64 8, varint 9 */
	p.len += sizeof(unknown);
	tw_pb_put_bytes(&o, 1, pod, p.len);
	return o.err ? 0 : o.len;
}

static int pods(const void *buf, size_t len, json_t **out)
{
	*out = NULL;
	return tw_cri_decode_pods(buf, len, out);
}

TEST(unit_cri_decoder_refuses_malformed)
{
	static const struct { const char *what; uint8_t b[16]; size_t n; } bad[] = {
		{ "a truncated key varint", { 0x8a }, 1 },
		{ "a truncated length varint", { 0x0a, 0x80 }, 2 },
		{ "a length past the end", { 0x0a, 0x05, 'a' }, 3 },
		{ "a 2^64-1 length", { 0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 11 },
		{ "an 11-byte varint", { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 12 },
		{ "field number 0", { 0x02, 0x00 }, 2 },
		{ "a group (wire type 3)", { 0x0b }, 1 },
		{ "a truncated fixed64", { 0x09, 1, 2, 3 }, 4 },
		{ "an item that is a varint", { 0x08, 0x01 }, 2 },
		{ "an id that is a varint", { 0x0a, 0x02, 0x08, 0x01 }, 4 },
		{ "metadata past its item", { 0x0a, 0x03, 0x12, 0x05, 0x0a }, 5 },
		{ "an id with a NUL", { 0x0a, 0x04, 0x0a, 0x02, 'a', 0 }, 6 },
		{ "an id that is not UTF-8", { 0x0a, 0x04, 0x0a, 0x02, 0xc3, 0x28 }, 6 },
		{ "a label value past its entry", { 0x0a, 0x06, 0x2a, 0x04, 0x0a, 0x01, 'k', 0x12 }, 8 },
	};
	uint8_t buf[1024];
	size_t n = one_pod(buf, sizeof(buf), "staging"), i, cut;
	json_t *o = NULL, *p;
	int err, pid = 0;

	if (!ASSERT_TRUE(n > 0, "encoded"))
		return;
	err = pods(buf, n, &o);
	ASSERT_OK(err, "a well-formed response decodes, unknown fields skipped");
	p = json_array_get(o, 0);
	ASSERT_EQ((int)json_array_size(o), 1, "one pod");
	ASSERT_STREQ(json_string_value(json_object_get(p, "id")), "abc", "id");
	ASSERT_STREQ(json_string_value(json_object_get(p, "name")), "web", "metadata.name");
	ASSERT_STREQ(json_string_value(json_object_get(p, "namespace")), "shop", "metadata.namespace");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(p, "labels"), "tierwall.io/tier")),
		     "staging", "labels");
	json_decref(o);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err = pods(bad[i].b, bad[i].n, &o);
		if (!ASSERT_EQ(err, -EBADMSG, bad[i].what))
			json_decref(o);
	}
	/* Every cut inside the one item is a length past the end. */
	for (cut = 2; cut < n; cut++) {
		err = pods(buf, cut, &o);
		if (!ASSERT_EQ(err, -EBADMSG, "a truncated response"))
			json_decref(o);
	}
	n = one_pod(buf, sizeof(buf), "st\xff");
	ASSERT_EQ(pods(buf, n, &o), -EBADMSG, "a label that is not UTF-8");
	/* The pid: verbose info["info"] is JSON; anything else is no pid, never a guess. */
	{
		struct tw_pb_out s = { .p = buf, .cap = sizeof(buf) };

		put_entry(&s, 2, "info", "{\"pid\": 4242, \"sandboxID\": \"abc\"}");
		ASSERT_OK(tw_cri_decode_pid(buf, s.len, &pid), "pid decoded");
		ASSERT_EQ(pid, 4242, "the pid");
		s.len = 0;
		put_entry(&s, 2, "info", "{\"pid\": 0}");
		ASSERT_EQ(tw_cri_decode_pid(buf, s.len, &pid), -ESRCH, "pid 0 is no process");
		s.len = 0;
		put_entry(&s, 2, "info", "{\"pid\": 42");
		ASSERT_EQ(tw_cri_decode_pid(buf, s.len, &pid), -ENOENT, "info that is not JSON");
		s.len = 0;
		put_entry(&s, 2, "other", "{\"pid\": 42}");
		ASSERT_EQ(tw_cri_decode_pid(buf, s.len, &pid), -ENOENT, "no info key");
		ASSERT_EQ(tw_cri_decode_pid(buf, s.len - 1, &pid), -EBADMSG, "a truncated status");
	}
}

/* A unix socket that takes connections into its backlog and never answers. */
static int mute_runtime(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static json_t *cri_status(struct fx *f)
{
	json_t *r = NULL, *c;

	if (tw_ctl_call(f->sock, json_pack("{s:s}", "cmd", "status"), &r, 1000))
		return NULL;
	c = json_incref(json_object_get(r, "cri"));
	json_decref(r);
	return c;
}

/* The sync is over (state not "syncing"); every status answered meanwhile. */
static json_t *wait_sync(struct fx *f, int *answered, int *asked)
{
	const char *st;
	json_t *c = NULL;
	int i;

	for (i = 0; i < 150; i++, usleep(100 * 1000)) {
		json_decref(c);
		c = cri_status(f);
		(*asked)++;
		*answered += c != NULL;
		st = c ? json_string_value(json_object_get(c, "state")) ?: "" : "";
		if (c && strcmp(st, "syncing") && strcmp(st, "waiting"))
			break;
	}
	return c;
}

TEST(cri_runtime_that_does_not_answer_is_reported_daemon_serves)
{
	const char *text = T("{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}} }");
	char path[PATH_MAX + 16], missing[PATH_MAX + 16];
	const char *extra[] = { "--cri-socket", path, NULL };
	int lfd = -1, asked = 0, answered = 0;
	json_t *c = NULL, *ev = NULL, *schema = json_load_file("policies/event.schema.json", 0, NULL);
	struct fx f;

	if (!ASSERT_OK(fx_init(&f, NULL), "fixture") || !ASSERT_OK(fx_write_policy(&f, text), "policy"))
		goto out;
	snprintf(path, sizeof(path), "%s/cri.sock", f.tmp);
	lfd = mute_runtime(path);
	if (!ASSERT_TRUE(lfd >= 0, "the mute runtime listens") || !ASSERT_OK(fx_start(&f, extra), "daemon"))
		goto out;
	c = wait_sync(&f, &answered, &asked);
	ASSERT_EQ(answered, asked, "status answered every time while the runtime hung");
	ASSERT_STREQ(json_string_value(json_object_get(c, "state")), "unreachable", "reported unreachable");
	ASSERT_TRUE(strstr(json_string_value(json_object_get(c, "error")) ?: "", "no answer in time") != NULL,
		    "why: no answer in time");
	ev = fx_await_daemon_event(&f, "cri_sync");	/* the loop logs it on its next tick */
	ASSERT_STREQ(json_string_value(json_object_get(ev, "state")), "unreachable", "logged");
	if (ev && schema)
		schema_check(schema, ev, "cri_sync record");
	json_decref(ev);
	json_decref(c);
	ev = c = NULL;
	fx_stop(&f);

	/* An explicit socket that is not there is an error; the default's absence is not. */
	snprintf(missing, sizeof(missing), "%s/none.sock", f.tmp);
	extra[1] = missing;
	if (!ASSERT_OK(fx_start(&f, extra), "daemon, missing socket"))
		goto out;
	c = wait_sync(&f, &answered, &asked);
	ASSERT_STREQ(json_string_value(json_object_get(c, "state")), "unreachable", "a missing --cri-socket");
	ASSERT_TRUE(strstr(json_string_value(json_object_get(c, "error")) ?: "", "No such file") != NULL,
		    "why: no such file");
	json_decref(c);
	c = NULL;
	fx_stop(&f);
	if (access(TW_CRI_DEFAULT, F_OK) && ASSERT_OK(fx_start(&f, NULL), "daemon, default socket")) {
		c = wait_sync(&f, &answered, &asked);
		ASSERT_STREQ(json_string_value(json_object_get(c, "state")), "none", "a plain host");
		ASSERT_STREQ(json_string_value(json_object_get(c, "note")), "no CRI socket", "said so");
		ASSERT_TRUE(!json_object_get(c, "error"), "not an error");
	}
out:
	json_decref(c);
	json_decref(schema);
	if (lfd >= 0)
		close(lfd);
	fx_cleanup(&f);
}
