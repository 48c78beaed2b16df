/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SECRETS_H
#define TW_SECRETS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "loader.h"
#include "policy.h"

/*
 * The policy's secret paths resolved to (device, inode) identities: a file,
 * or a directory plus every file already below it (so an existing hard link
 * elsewhere is caught by identity). Paths that do not exist yet are watched
 * with inotify and protected when they appear.
 */
struct tw_secrets;

/* Extra secrets entries the kernel may add for hard links made later. */
#define TW_SECRETS_HEADROOM	65536
/* Most files below protected directories taken at start. */
#define TW_SECRETS_MAX_FILES	1000000

/* Resolve every path; on failure one message names the path and why. */
int tw_secrets_resolve(struct tw_secrets **out, const struct tw_policy *p, const char *file);
/* Entries resolved so far (to size the secrets map). */
uint32_t tw_secrets_count(const struct tw_secrets *s);
/* Put every resolved identity into the kernel maps. */
int tw_secrets_push(struct tw_secrets *s, struct tw_bpf *b);
/* inotify descriptor for paths still missing, or -1 when none are. */
int tw_secrets_fd(const struct tw_secrets *s);
/* After inotify activity: protect pending paths that now exist; cb per path. */
int tw_secrets_poll(struct tw_secrets *s, struct tw_bpf *b,
		    void (*cb)(void *arg, const char *path), void *arg);
int tw_secrets_pending(const struct tw_secrets *s);
void tw_secrets_free(struct tw_secrets *s);

/* Mount point of a filesystem by kernel dev_t, from mountinfo; NULL if none. */
const char *tw_dev_mount(uint32_t kdev, char *out, size_t len);

#endif
