// SPDX-License-Identifier: GPL-2.0
/*
 * The NRI API's messages (nri.pkg.api.v1alpha1, NRI 0.6), the fields the
 * plugin reads, decoded into JSON objects. Field numbers are the API's:
 *   PodSandbox      1 id, 3 uid, 2 name, 4 namespace, 5 labels (map),
 *                   8 linux (LinuxPodSandbox: 3 cgroup_parent), 9 pid
 *   Container       1 id, 2 pod_sandbox_id, 3 name, 11 linux
 *                   (LinuxContainer: 5 cgroups_path), 12 pid
 *   StateChangeEvent 1 event, 2 pod, 3 container
 *   CreateContainerRequest 1 pod, 2 container
 *   SynchronizeRequest 1 pods, 2 containers
 *   ConfigureRequest 1 config, 2 runtime_name, 3 runtime_version
 *   RegisterPluginRequest 1 plugin_name, 2 plugin_idx
 *   ConfigureResponse 2 events
 * Strings must be UTF-8 (proto3 says so; jansson insists).
 */
#include <errno.h>
#include <string.h>
#include "nri2.h"

/* Set key to the string field f: -EBADMSG unless it is bytes of UTF-8. */
static int set_str(json_t *o, const char *key, const struct tw_pb_field *f)
{
	json_t *s;

	if (f->wire != TW_PB_LEN)
		return -EBADMSG;
	s = json_stringn((const char *)f->data, f->len);
	if (!s)
		return -EBADMSG;
	return json_object_set_new(o, key, s) ? -ENOMEM : 0;
}

static int set_uint(json_t *o, const char *key, const struct tw_pb_field *f)
{
	if (f->wire != TW_PB_VARINT || f->v > UINT32_MAX)
		return -EBADMSG;
	return json_object_set_new(o, key, json_integer(f->v)) ? -ENOMEM : 0;
}

/* One map<string, string> entry {1 key, 2 value} into obj. */
static int map_entry(json_t *obj, const struct tw_pb_field *e)
{
	struct tw_pb in;
	struct tw_pb_field f;
	json_t *kv;
	const char *k;
	int n, err = 0;

	if (e->wire != TW_PB_LEN)
		return -EBADMSG;
	kv = json_pack("{s:s, s:s}", "k", "", "v", "");
	in = tw_pb_init(e->data, e->len);
	while (!err && (n = tw_pb_next(&in, &f)) > 0)
		if (f.num == 1 || f.num == 2)
			err = set_str(kv, f.num == 1 ? "k" : "v", &f);
	if (!err && n < 0)
		err = n;
	k = json_string_value(json_object_get(kv, "k"));
	/* A key with a NUL cannot be a label: jansson keys are C strings. */
	if (!err && strlen(k) != json_string_length(json_object_get(kv, "k")))
		err = -EBADMSG;
	if (!err)
		err = json_object_set(obj, k, json_object_get(kv, "v")) ? -ENOMEM : 0;
	json_decref(kv);
	return err;
}

/* The one string field num of a nested message f, into o[key]. */
static int nested_str(json_t *o, const char *key, const struct tw_pb_field *f, uint32_t num)
{
	struct tw_pb in;
	struct tw_pb_field g;
	int n, err = 0;

	if (f->wire != TW_PB_LEN)
		return -EBADMSG;
	in = tw_pb_init(f->data, f->len);
	while (!err && (n = tw_pb_next(&in, &g)) > 0)
		if (g.num == num)
			err = set_str(o, key, &g);
	return err ?: (n < 0 ? n : 0);
}

int nri2_decode_pod(const uint8_t *p, size_t len, json_t **out)
{
	struct tw_pb in = tw_pb_init(p, len);
	json_t *o = json_pack("{s:s, s:{}, s:i}", "id", "", "labels", "pid", 0);
	struct tw_pb_field f;
	int n, err = 0;

	while (!err && (n = tw_pb_next(&in, &f)) > 0) {
		switch (f.num) {
		case 1: err = set_str(o, "id", &f); break;
		case 2: err = set_str(o, "name", &f); break;
		case 3: err = set_str(o, "uid", &f); break;
		case 4: err = set_str(o, "namespace", &f); break;
		case 5: err = map_entry(json_object_get(o, "labels"), &f); break;
		case 8: err = nested_str(o, "cgroup_parent", &f, 3); break;
		case 9: err = set_uint(o, "pid", &f); break;
		}
	}
	if (!err && n < 0)
		err = n;
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return 0;
}

int nri2_decode_container(const uint8_t *p, size_t len, json_t **out)
{
	struct tw_pb in = tw_pb_init(p, len);
	json_t *o = json_pack("{s:s, s:i}", "id", "", "pid", 0);
	struct tw_pb_field f;
	int n, err = 0;

	while (!err && (n = tw_pb_next(&in, &f)) > 0) {
		switch (f.num) {
		case 1: err = set_str(o, "id", &f); break;
		case 2: err = set_str(o, "pod_sandbox_id", &f); break;
		case 3: err = set_str(o, "name", &f); break;
		case 11: err = nested_str(o, "cgroups_path", &f, 5); break;
		case 12: err = set_uint(o, "pid", &f); break;
		}
	}
	if (!err && n < 0)
		err = n;
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return 0;
}

/* A sub-message field decoded with fn into o[key]. */
static int set_msg(json_t *o, const char *key, const struct tw_pb_field *f,
		   int (*fn)(const uint8_t *, size_t, json_t **))
{
	json_t *v;
	int err;

	if (f->wire != TW_PB_LEN)
		return -EBADMSG;
	err = fn(f->data, f->len, &v);
	if (!err && json_object_set_new(o, key, v))
		err = -ENOMEM;
	return err;
}

int nri2_decode_event(const uint8_t *p, size_t len, bool create_request, json_t **out)
{
	uint32_t pod = create_request ? 1 : 2, ctr = create_request ? 2 : 3;
	struct tw_pb in = tw_pb_init(p, len);
	json_t *o = json_pack("{s:i}", "event", create_request ? NRI2_CREATE_CONTAINER : 0);
	struct tw_pb_field f;
	int n, err = 0;

	while (!err && (n = tw_pb_next(&in, &f)) > 0) {
		if (f.num == pod)
			err = set_msg(o, "pod", &f, nri2_decode_pod);
		else if (f.num == ctr)
			err = set_msg(o, "container", &f, nri2_decode_container);
		else if (f.num == 1 && !create_request)
			err = f.wire == TW_PB_VARINT && f.v < NRI2_EVENT_LAST ?
			      (json_object_set_new(o, "event", json_integer(f.v)), 0) : -EBADMSG;
	}
	if (!err && n < 0)
		err = n;
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return 0;
}

int nri2_decode_sync(const uint8_t *p, size_t len, json_t **out)
{
	struct tw_pb in = tw_pb_init(p, len);
	json_t *o = json_pack("{s:[], s:[]}", "pods", "containers"), *v;
	struct tw_pb_field f;
	int n, err = 0;

	while (!err && (n = tw_pb_next(&in, &f)) > 0) {
		if ((f.num != 1 && f.num != 2))
			continue;
		if (f.wire != TW_PB_LEN) {
			err = -EBADMSG;
			break;
		}
		err = (f.num == 1 ? nri2_decode_pod : nri2_decode_container)(f.data, f.len, &v);
		if (!err)
			json_array_append_new(json_object_get(o, f.num == 1 ? "pods" : "containers"), v);
	}
	if (!err && n < 0)
		err = n;
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return 0;
}

int nri2_decode_configure(const uint8_t *p, size_t len, json_t **out)
{
	static const char *const keys[] = { NULL, "config", "runtime_name", "runtime_version" };
	struct tw_pb in = tw_pb_init(p, len);
	json_t *o = json_pack("{s:s}", "config", "");
	struct tw_pb_field f;
	int n, err = 0;

	while (!err && (n = tw_pb_next(&in, &f)) > 0)
		if (f.num >= 1 && f.num <= 3)
			err = set_str(o, keys[f.num], &f);
	if (!err && n < 0)
		err = n;
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return 0;
}

void nri2_encode_register(struct tw_pb_out *o, const char *name, const char *idx)
{
	tw_pb_put_bytes(o, 1, name, strlen(name));
	tw_pb_put_bytes(o, 2, idx, strlen(idx));
}

void nri2_encode_configure_reply(struct tw_pb_out *o, uint32_t events)
{
	tw_pb_put_varint(o, 2, events);
}
