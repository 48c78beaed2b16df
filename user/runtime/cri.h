/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A client of the Kubernetes CRI (runtime.v1.RuntimeService) on the
 * runtime's unix socket: gRPC over HTTP/2 (libnghttp2 frames it), the few
 * messages tierwalld reads (cri.proto beside this file) coded by hand.
 * Every call has a deadline: a runtime that hangs costs the caller no more.
 */
#ifndef TW_CRI_H
#define TW_CRI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define TW_CRI_DEFAULT		"/run/containerd/containerd.sock"

struct tw_cri;

/* Connect; -errno with why (-ENOENT: no socket there). */
int tw_cri_open(struct tw_cri **c, const char *path, char *why, size_t len);
void tw_cri_close(struct tw_cri *c);

/*
 * The running pods (READY sandboxes): [{id, name, uid, namespace, labels}],
 * and the running containers: [{id, pod_sandbox_id, name}].
 */
int tw_cri_list_pods(struct tw_cri *c, int timeout_ms, json_t **pods, char *why, size_t len);
int tw_cri_list_containers(struct tw_cri *c, int timeout_ms, json_t **ctrs, char *why, size_t len);
/* The pid of a container (sandbox false) or a pod's sandbox, from the verbose status. */
int tw_cri_pid(struct tw_cri *c, const char *id, bool sandbox, int timeout_ms, int *pid,
	       char *why, size_t len);

/* The decoders, apart for tests and fuzzing: -EBADMSG for a message that is not one. */
int tw_cri_decode_pods(const void *buf, size_t len, json_t **pods);
int tw_cri_decode_containers(const void *buf, size_t len, json_t **ctrs);
int tw_cri_decode_pid(const void *buf, size_t len, int *pid);

#endif
