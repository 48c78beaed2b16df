// SPDX-License-Identifier: GPL-2.0
/*
 * The OCI hook adapter (CRI-O, podman): the runtime runs the hooks.d
 * entry's binary in the createRuntime stage with the container's state on
 * stdin ({"ociVersion", "id", "status", "pid", "bundle", "annotations"}),
 * after its cgroup is made and its init process waits in it, before the
 * container's first instruction; a non-zero exit fails the create.
 *
 * CRI-O puts the pod's labels (a JSON string) in io.kubernetes.cri-o.Labels
 * on the sandbox container only, which is placed on the pod's cgroup; an
 * app container says io.kubernetes.cri-o.SandboxID and takes its tier from
 * its sandbox's tag. Podman: a container's annotations are its labels, so
 * `--annotation tierwall.io/tier=staging` names its tier; it has no
 * namespace, and so is never exempt.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "runtime.h"

#define CRIO_TYPE	"io.kubernetes.cri-o.ContainerType"
#define CRIO_SANDBOX_ID	"io.kubernetes.cri-o.SandboxID"
#define CRIO_LABELS	"io.kubernetes.cri-o.Labels"
#define CRIO_NAME	"io.kubernetes.cri-o.ContainerName"
#define LABEL_CONTAINER	"io.kubernetes.container.name"

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* CRI-O's labels annotation, decoded and kept in req (owned there). */
static json_t *crio_labels(json_t *req, json_t *ann, char *why, size_t len)
{
	const char *s = str(ann, CRIO_LABELS);
	json_error_t jerr;
	json_t *l;

	if (!s)
		return NULL;
	l = json_loads(s, 0, &jerr);
	if (!json_is_object(l)) {
		json_decref(l);
		snprintf(why, len, "annotation %s is not a JSON object: %s", CRIO_LABELS, jerr.text);
		return NULL;
	}
	json_object_set_new(req, "tierwall.labels", l);
	return l;
}

static int crio_read(json_t *req, json_t *ann, struct tw_rt_container *c, char *why, size_t len)
{
	const char *type = str(ann, CRIO_TYPE);
	json_t *labels = crio_labels(req, ann, why, len);

	if (!labels && str(ann, CRIO_LABELS))
		return -EINVAL;
	c->sandbox_id = str(ann, CRIO_SANDBOX_ID);
	c->is_sandbox = type && !strcmp(type, "sandbox");
	if (!c->is_sandbox && (!type || strcmp(type, "container"))) {
		snprintf(why, len, "annotation %s is \"%s\", not \"sandbox\" or \"container\"", CRIO_TYPE,
			 type ? type : "");
		return -EINVAL;
	}
	c->pod = str(labels, TW_LABEL_POD_NAME) ?: str(ann, TW_LABEL_POD_NAME);
	c->ns = str(labels, TW_LABEL_POD_NAMESPACE) ?: str(ann, TW_LABEL_POD_NAMESPACE);
	c->pod_uid = str(labels, TW_LABEL_POD_UID) ?: str(ann, TW_LABEL_POD_UID);
	if (c->is_sandbox) {
		c->labels = labels;
		c->container = "POD";
		c->tag_parent = true;
		return 0;
	}
	/* An app container's labels are its own, not the pod's: its sandbox says the tier. */
	c->container = str(labels, LABEL_CONTAINER) ?: str(ann, CRIO_NAME);
	c->by_sandbox = true;
	if (!c->sandbox_id) {
		snprintf(why, len, "a CRI-O container without annotation %s", CRIO_SANDBOX_ID);
		return -EINVAL;
	}
	return 0;
}

static int oci_read(FILE *in, json_t **req, struct tw_rt_container *c, char *why, size_t len)
{
	json_error_t jerr;
	json_int_t pid;
	json_t *ann;

	memset(c, 0, sizeof(*c));
	*req = json_loadf(in, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!json_is_object(*req)) {
		snprintf(why, len, "the OCI state on stdin is not a JSON object: %s", jerr.text);
		return -EINVAL;
	}
	ann = json_object_get(*req, "annotations");
	c->id = str(*req, "id");
	pid = json_integer_value(json_object_get(*req, "pid"));
	/* Truncated, a pid past int would name another process (4294967297 is pid 1). */
	c->pid = pid > 0 && pid <= INT_MAX ? (int)pid : 0;
	/* createRuntime runs once, at create: every call is the start. */
	c->event = TW_RT_START;
	if (!c->id || c->pid <= 0) {
		snprintf(why, len, "the OCI state has no container %s", c->id ? "pid" : "id");
		return -EINVAL;
	}
	if (str(ann, CRIO_TYPE))
		return crio_read(*req, ann, c, why, len);
	/* Podman (or any OCI runtime user): the annotations are the labels. */
	c->labels = json_is_object(ann) ? ann : NULL;
	c->container = c->id;
	return 0;
}

static int oci_reply(FILE *out, json_t *req, const char *error)
{
	(void)out;
	(void)req;
	return error ? 1 : 0;	/* the runtime fails the create; why is on stderr */
}

const struct tw_rt_adapter tw_oci_hook = {
	.name = "oci-hook",
	.read = oci_read,
	.reply = oci_reply,
};
