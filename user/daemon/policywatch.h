/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_POLICYWATCH_H
#define TW_DAEMON_POLICYWATCH_H

#include "state.h"

/* --watch-policy: inotify on the policy file's directory, in the daemon's epoll. */
int dm_policywatch_init(struct daemon *d);
/* The inotify fd, or -1. */
int dm_policywatch_fd(void);
/* It is readable: a reload is due shortly (changes come in bursts). */
void dm_policywatch_event(struct daemon *d);
/* From the run loop: reload when due and the file's digest changed. */
void dm_policywatch_tick(struct daemon *d);
void dm_policywatch_free(void);

#endif
