// SPDX-License-Identifier: GPL-2.0
/*
 * The NRI v0.1 adapter (containerd 1.6). containerd runs the plugin as
 * "/opt/nri/bin/TYPE invoke" with a JSON request on stdin, synchronously,
 * before the container's (or the pod sandbox's) first instruction: state
 * "create", its id and sandboxID, the pid still in runc's init, the OCI
 * spec's cgroupsPath and annotations, the pod's labels and the plugin's own
 * "conf" from /etc/nri/conf.json. It reads one JSON result from stdout and
 * ignores the exit status: only a result with "error" set (or output that
 * is not JSON) fails the start, so every answer is a JSON result.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "runtime.h"

#define PLUGIN	"tierwall-nri"

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int nri_read(FILE *in, json_t **req, struct tw_rt_container *c, char *why, size_t len)
{
	json_error_t jerr;
	json_int_t pid;
	json_t *spec, *ann;
	const char *state;

	memset(c, 0, sizeof(*c));
	*req = json_loadf(in, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(*req)) {
		snprintf(why, len, "the NRI request is not a JSON object: %s", jerr.text);
		return -EINVAL;
	}
	state = str(*req, "state");
	spec = json_object_get(*req, "spec");
	ann = json_object_get(spec, "annotations");
	c->event = state && !strcmp(state, "create") ? TW_RT_START : TW_RT_OTHER;
	c->id = str(*req, "id");
	c->sandbox_id = str(*req, "sandboxID");
	c->is_sandbox = c->id && c->sandbox_id && !strcmp(c->id, c->sandbox_id);
	pid = json_integer_value(json_object_get(*req, "pid"));
	/* Truncated, a pid past int would name another process: unknown instead (cgroupsPath). */
	c->pid = pid > 0 && pid <= INT_MAX ? (int)pid : 0;
	c->cgroups_path = str(spec, "cgroupsPath");
	c->labels = json_object_get(*req, "labels");
	c->conf = json_object_get(*req, "conf");
	/* The kubelet's labels first; containerd's CRI annotations say the same. */
	c->pod = str(c->labels, TW_LABEL_POD_NAME);
	if (!c->pod)
		c->pod = str(ann, "io.kubernetes.cri.sandbox-name");
	c->ns = str(c->labels, TW_LABEL_POD_NAMESPACE);
	if (!c->ns)
		c->ns = str(ann, "io.kubernetes.cri.sandbox-namespace");
	c->pod_uid = str(c->labels, TW_LABEL_POD_UID);
	if (!c->pod_uid)
		c->pod_uid = str(ann, "io.kubernetes.cri.sandbox-uid");
	c->container = c->is_sandbox ? "POD" : str(ann, "io.kubernetes.cri.container-name");
	if (c->event == TW_RT_START && !c->id) {
		snprintf(why, len, "the NRI request has no container id");
		return -EINVAL;
	}
	return 0;
}

static int nri_reply(FILE *out, json_t *req, const char *error)
{
	const char *ver = str(req, "version");
	json_t *r = json_pack("{s:s, s:s}", "plugin", PLUGIN, "version", ver ? ver : "0.1");

	if (error)
		json_object_set_new(r, "error", json_string(error));
	json_dumpf(r, out, JSON_COMPACT);
	fputc('\n', out);
	fflush(out);
	json_decref(r);
	return 0;	/* containerd 1.6 reads the result, not the status */
}

const struct tw_rt_adapter tw_nri_v01 = {
	.name = "nri-v0.1",
	.read = nri_read,
	.reply = nri_reply,
};
