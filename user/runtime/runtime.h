/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A container as a runtime hook sees it, whatever the runtime, and the
 * adapters that read one from a runtime and answer it. tierwall-nri's
 * main works on this interface only:
 *
 *   done:    NRI v0.1 (containerd 1.6: "invoke", JSON request on stdin,
 *            JSON result on stdout, "error" refuses the container);
 *            NRI v2 (containerd 1.7+: tierwall-nri-plugin, a ttrpc plugin
 *            on the runtime's socket, nri2*.c);
 *            OCI createRuntime hooks (CRI-O and podman, hooks.d: state on
 *            stdin, a non-zero exit refuses; ocihook.c, tierwall-oci-hook)
 */
#ifndef TW_RUNTIME_H
#define TW_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <jansson.h>
#include "cgroup.h"
#include "ctl.h"

/* Kubelet's labels on every pod sandbox. */
#define TW_LABEL_POD_NAME	"io.kubernetes.pod.name"
#define TW_LABEL_POD_NAMESPACE	"io.kubernetes.pod.namespace"
#define TW_LABEL_POD_UID	"io.kubernetes.pod.uid"

enum tw_rt_event {
	TW_RT_START,		/* about to run its first instruction: tier it now */
	TW_RT_OTHER,		/* anything else: nothing to do */
};

struct tw_rt_container {
	enum tw_rt_event event;
	const char *id;
	const char *sandbox_id;
	bool is_sandbox;		/* the pod's sandbox (pause) container */
	int pid;			/* its init process, 0 if unknown */
	const char *cgroups_path;	/* the runtime spec's linux.cgroupsPath */
	const char *pod, *ns, *pod_uid, *container;
	json_t *labels;			/* the pod's labels (borrowed) */
	json_t *conf;			/* the hook's own configuration (borrowed), or NULL */
	/*
	 * CRI-O: the sandbox is placed on the pod's cgroup (its own cgroup's
	 * parent), so every container of the pod is below it; an app
	 * container's labels lack the pod's, its tier is its sandbox's.
	 */
	bool tag_parent;
	bool by_sandbox;
};

struct tw_rt_adapter {
	const char *name;
	/* Parse what the runtime sent; req keeps the strings c points to. */
	int (*read)(FILE *in, json_t **req, struct tw_rt_container *c, char *why, size_t len);
	/* Answer the runtime: error NULL lets the container run. Returns the exit status. */
	int (*reply)(FILE *out, json_t *req, const char *error);
};

extern const struct tw_rt_adapter tw_nri_v01;
extern const struct tw_rt_adapter tw_oci_hook;

/* What the hook does with a container, given its configuration (hook.c). */
struct tw_hook_conf {
	char socket[108];
	int timeout_ms;
	json_t *exempt;			/* array of namespace names */
};

#define TW_HOOK_SOCKET		TW_CTL_DEFAULT
#define TW_HOOK_TIMEOUT_MS	5000

/* Defaults, then what conf (the NRI plugin's "conf") says. -EINVAL with why. */
int tw_hook_conf(json_t *conf, struct tw_hook_conf *hc, char *why, size_t len);
void tw_hook_conf_free(struct tw_hook_conf *hc);
/* "a,b,c" (an --exempt option) as the conf's exempt_namespaces array. */
json_t *tw_hook_ns_list(const char *csv);
/*
 * Have the daemon tier c before it runs. 0: done (tiered, untiered, or let
 * through as exempt, said in note); -errno with why: refuse the container.
 */
int tw_hook_place(const struct tw_hook_conf *hc, const struct tw_rt_container *c,
		  char *why, size_t len, char *note, size_t notelen);
/*
 * A hook's whole run: read what rt's runtime sent on stdin, place it with
 * conf (NULL: the one the runtime sent), answer on stdout; the exit status.
 */
int tw_hook_invoke(const struct tw_rt_adapter *rt, json_t *conf, const char *name);
/*
 * The daemon's "pod" request for c in cgroup cg (as /proc/PID/cgroup shows
 * it): the hook's and the CRI sync's, so both tier a pod alike.
 */
json_t *tw_pod_request(const struct tw_rt_container *c, const char *cg);

/* nri2.c: an NRI v2 plugin session (containerd 1.7 and 2.x). */
struct tw_nri2_conf {
	struct tw_hook_conf hc;		/* tierwalld's socket, exempt namespaces */
	const char *name, *idx;		/* registered as IDX-NAME */
	bool from_runtime;		/* pre-installed: hc from Configure's config too */
	bool quiet;			/* log refusals only */
};

/*
 * Register on fd (a connected NRI socket), then serve the runtime's calls:
 * pods are tiered at RunPodSandbox (and at CreateContainer if missed),
 * containers named at StartContainer, running pods at Synchronize. Returns
 * 1 once configured and then closed or shut down by the runtime, 0 when
 * closed before, -errno with why when the runtime broke the protocol.
 */
int tw_nri2_serve(int fd, const struct tw_nri2_conf *conf, char *why, size_t len);

/* install.c: write path atomically; copy this binary to dir/name. -errno. */
int tw_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
int tw_install_self(const char *dir, const char *name);

/* layout.c: cgroup paths, always as the unified hierarchy's "/a/b" (as /proc/PID/cgroup). */
/*
 * A runtime's linux.cgroupsPath as a hierarchy path: cgroupfs
 * ("/kubepods/besteffort/pod<UID>/<ID>") as it is; systemd's
 * "SLICE:PREFIX:NAME" ("kubepods-besteffort-pod<UID_>.slice:cri-containerd:<ID>",
 * CRI-O's "crio") expanded the way systemd nests slices; a bare slice (a
 * pod's cgroup parent, "kubepods-besteffort-pod<UID_>.slice") the same way.
 */
int tw_runtime_cgroup(const char *cgroups_path, char *out, size_t len);

#endif
