/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_TRUSTED_H
#define TW_DAEMON_TRUSTED_H

#include "state.h"

/* A file the daemon trusts, guarded by name as well as by inode (trusted.c). */
struct trusted {
	char path[PATH_MAX];	/* absolute */
	bool sealed;		/* the seal key: no tiered process opens it at all */
	bool dir;		/* a directory: what is in it is guarded too */
};

#define DM_TRUSTED_MAX	32	/* policy, .sig, seal key, 8 keys, 16 --guard-path, room */

/* --guard-path PATH (repeatable): -EINVAL with the message printed. */
int dm_trusted_opt(struct daemon *d, const char *arg);
/*
 * The trusted paths now: the policy, its signature (if there), the seal
 * key, and --guard-path's (or the defaults that exist). -errno with a
 * message for a --guard-path that is missing.
 */
int dm_trusted_list(struct daemon *d, struct trusted *t, int max);
/*
 * Watching the directories the trusted paths lie in: a change there (the
 * kubelet's swap, an operator's mv) guards what arrived at once.
 */
int dm_trusted_watch_init(struct daemon *d);
void dm_trusted_rewatch(struct daemon *d, const struct trusted *t, int n);
int dm_trusted_fd(void);
void dm_trusted_event(struct daemon *d);
void dm_trusted_free(void);

#endif
