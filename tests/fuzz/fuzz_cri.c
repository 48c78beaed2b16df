// SPDX-License-Identifier: GPL-2.0
/*
 * The CRI answers tierwalld decodes (bytes from the container runtime):
 * ListPodSandbox, ListContainers, a verbose status's pid. The first byte
 * picks the decoder. Whatever the bytes: no fault, -EBADMSG or a result
 * whose every item has an id and string labels.
 */
#include <errno.h>
#include <jansson.h>
#include "cri.h"
#include "fuzz.h"

static void check_list(json_t *list)
{
	json_t *item, *v;
	const char *k;
	size_t i;

	FZ_CHECK(json_is_array(list), "a list");
	json_array_foreach(list, i, item) {
		FZ_CHECK(json_is_string(json_object_get(item, "id")), "item %zu has an id", i);
		json_object_foreach(json_object_get(item, "labels"), k, v)
			FZ_CHECK(json_is_string(v), "label %s is a string", k);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *out = NULL;
	int err, pid = 0;

	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		err = tw_cri_decode_pods(data + 1, size - 1, &out);
		break;
	case 1:
		err = tw_cri_decode_containers(data + 1, size - 1, &out);
		break;
	default:
		err = tw_cri_decode_pid(data + 1, size - 1, &pid);
		FZ_CHECK(err || pid > 0, "a pid is a process");
		FZ_CHECK(!err || err == -EBADMSG || err == -ENOENT || err == -ESRCH, "err %d", err);
		return 0;
	}
	FZ_CHECK(!err || err == -EBADMSG, "err %d", err);
	if (!err)
		check_list(out);
	json_decref(out);
	return 0;
}
