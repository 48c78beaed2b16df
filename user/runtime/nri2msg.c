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

typedef int (*field_fn)(json_t *o, const struct tw_pb_field *f, const void *arg);

/* The message p, field by field through fn, into o: *out = o, or o freed and -errno. */
static int decode(const uint8_t *p, size_t len, json_t *o, field_fn fn, const void *arg, json_t **out)
{
	struct tw_pb in = tw_pb_init(p, len);
	struct tw_pb_field f;
	int n = 0, err = o ? 0 : -ENOMEM;

	while (!err && (n = tw_pb_next(&in, &f)) > 0)
		err = fn(o, &f, arg);
	if (!err && n < 0)
		err = n;
	if (err) {
		json_decref(o);
		return err;
	}
	*out = o;
	return 0;
}

/* A sub-message field, decoded with fn into o[key]. */
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

static int kv_field(json_t *kv, const struct tw_pb_field *f, const void *arg)
{
	return f->num == 1 || f->num == 2 ? set_str(kv, f->num == 1 ? "k" : "v", f) : 0;
}

/* One map<string, string> entry {1 key, 2 value} into obj. */
static int map_entry(json_t *obj, const struct tw_pb_field *e)
{
	json_t *kv;
	int err;

	if (e->wire != TW_PB_LEN)
		return -EBADMSG;
	err = decode(e->data, e->len, json_pack("{s:s, s:s}", "k", "", "v", ""), kv_field, NULL, &kv);
	if (err)
		return err;
	/* A key with a NUL cannot be a label: jansson keys are C strings. */
	if (strlen(json_string_value(json_object_get(kv, "k"))) != json_string_length(json_object_get(kv, "k")))
		err = -EBADMSG;
	else if (json_object_set(obj, json_string_value(json_object_get(kv, "k")), json_object_get(kv, "v")))
		err = -ENOMEM;
	json_decref(kv);
	return err;
}

struct nested { const char *key; uint32_t num; };

static int nested_field(json_t *o, const struct tw_pb_field *f, const void *arg)
{
	const struct nested *n = arg;

	return f->num == n->num ? set_str(o, n->key, f) : 0;
}

/* The string field num of the sub-message f, into o[key]. */
static int nested_str(json_t *o, const char *key, const struct tw_pb_field *f, uint32_t num)
{
	struct nested n = { key, num };
	json_t *tmp;
	int err;

	if (f->wire != TW_PB_LEN)
		return -EBADMSG;
	err = decode(f->data, f->len, json_object(), nested_field, &n, &tmp);
	if (err)
		return err;
	if (json_object_get(tmp, key) && json_object_set(o, key, json_object_get(tmp, key)))
		err = -ENOMEM;
	json_decref(tmp);
	return err;
}

static int pod_field(json_t *o, const struct tw_pb_field *f, const void *arg)
{
	switch (f->num) {
	case 1: return set_str(o, "id", f);
	case 2: return set_str(o, "name", f);
	case 3: return set_str(o, "uid", f);
	case 4: return set_str(o, "namespace", f);
	case 5: return map_entry(json_object_get(o, "labels"), f);
	case 8: return nested_str(o, "cgroup_parent", f, 3);
	case 9: return set_uint(o, "pid", f);
	}
	return 0;
}

int nri2_decode_pod(const uint8_t *p, size_t len, json_t **out)
{
	return decode(p, len, json_pack("{s:s, s:{}, s:i}", "id", "", "labels", "pid", 0), pod_field,
		      NULL, out);
}

static int container_field(json_t *o, const struct tw_pb_field *f, const void *arg)
{
	switch (f->num) {
	case 1: return set_str(o, "id", f);
	case 2: return set_str(o, "pod_sandbox_id", f);
	case 3: return set_str(o, "name", f);
	case 11: return nested_str(o, "cgroups_path", f, 5);
	case 12: return set_uint(o, "pid", f);
	}
	return 0;
}

int nri2_decode_container(const uint8_t *p, size_t len, json_t **out)
{
	return decode(p, len, json_pack("{s:s, s:i}", "id", "", "pid", 0), container_field, NULL, out);
}

static int event_field(json_t *o, const struct tw_pb_field *f, const void *arg)
{
	bool create = *(const bool *)arg;

	if (f->num == (create ? 1u : 2u))
		return set_msg(o, "pod", f, nri2_decode_pod);
	if (f->num == (create ? 2u : 3u))
		return set_msg(o, "container", f, nri2_decode_container);
	if (f->num == 1 && !create)
		return f->wire != TW_PB_VARINT || f->v >= NRI2_EVENT_LAST ? -EBADMSG :
		       json_object_set_new(o, "event", json_integer(f->v)) ? -ENOMEM : 0;
	return 0;
}

int nri2_decode_event(const uint8_t *p, size_t len, bool create_request, json_t **out)
{
	return decode(p, len, json_pack("{s:i}", "event", create_request ? NRI2_CREATE_CONTAINER : 0),
		      event_field, &create_request, out);
}

static int sync_field(json_t *o, const struct tw_pb_field *f, const void *arg)
{
	json_t *v;
	int err;

	if (f->num != 1 && f->num != 2)
		return 0;
	if (f->wire != TW_PB_LEN)
		return -EBADMSG;
	err = (f->num == 1 ? nri2_decode_pod : nri2_decode_container)(f->data, f->len, &v);
	if (!err && json_array_append_new(json_object_get(o, f->num == 1 ? "pods" : "containers"), v))
		err = -ENOMEM;
	return err;
}

int nri2_decode_sync(const uint8_t *p, size_t len, json_t **out)
{
	return decode(p, len, json_pack("{s:[], s:[]}", "pods", "containers"), sync_field, NULL, out);
}

static int configure_field(json_t *o, const struct tw_pb_field *f, const void *arg)
{
	static const char *const keys[] = { NULL, "config", "runtime_name", "runtime_version" };

	return f->num >= 1 && f->num <= 3 ? set_str(o, keys[f->num], f) : 0;
}

int nri2_decode_configure(const uint8_t *p, size_t len, json_t **out)
{
	return decode(p, len, json_pack("{s:s}", "config", ""), configure_field, NULL, out);
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
