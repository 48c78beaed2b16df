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
 * elsewhere is caught by identity), and the names on each path's way, which
 * the kernel watches: a rule means whatever its path names, after every
 * change. Paths that do not exist yet are protected when they appear.
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
/* The BPF LSM maps' sizes for these rules, with headroom: secrets, watched names. */
void tw_secrets_size_maps(const struct tw_secrets *s, struct tw_bpf_opts *o);
/* Put every resolved identity and watched name into the kernel maps. */
int tw_secrets_push(struct tw_secrets *s, struct tw_bpf *b);
/* Always -1 now: the kernel reports changed names (tw_secrets_tick), no inotify. */
int tw_secrets_fd(const struct tw_secrets *s);
/* Are btrfs subvolumes told apart in its keys (tw_chain_subvols() when resolved)? */
bool tw_secrets_subvols(const struct tw_secrets *s);
/* Kept for callers of the inotify days; does nothing. */
int tw_secrets_poll(struct tw_secrets *s, struct tw_bpf *b,
		    void (*cb)(void *arg, const char *path), void *arg);
/* Paths that name nothing yet. */
int tw_secrets_pending(const struct tw_secrets *s);
void tw_secrets_free(struct tw_secrets *s);

/* What re-resolving found; any callback may be NULL. */
struct tw_secrets_report {
	void (*appeared)(void *arg, const char *path);	/* a path named nothing, now something */
	void (*rotated)(void *arg, const struct tw_policy_secret *ps,
			const struct tw_secret_key *was, const struct tw_secret_key *now);
	void *arg;
};

/*
 * Cheap when nothing changed (two loads): else re-resolve every path through
 * a name the kernel saw change, protect what it names now, report it, and
 * end the kernel's refusals behind those names. Call it often (every tick).
 */
int tw_secrets_tick(struct tw_secrets *s, struct tw_bpf *b, const struct tw_secrets_report *r);
/*
 * Once the programs watching the names are attached (start, reload):
 * every path resolved again, as tw_secrets_tick does, so a change made
 * after tw_secrets_resolve read a name and before the kernel watched it
 * is protected and reported too.
 */
int tw_secrets_resync(struct tw_secrets *s, struct tw_bpf *b, const struct tw_secrets_report *r);

/* Mount point of a filesystem by kernel dev_t, from mountinfo; NULL if none. */
const char *tw_dev_mount(uint32_t kdev, char *out, size_t len);

#endif
