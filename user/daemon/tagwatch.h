/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_TAGWATCH_H
#define TW_DAEMON_TAGWATCH_H

#include "state.h"

/* inotify on the parents of tagged cgroups (d->tag_watch_fd, for the epoll loop). */
int dm_tagwatch_init(struct daemon *d);
/* After tags changed: watch the parents of new tagged paths too. */
void dm_tagwatch_update(struct daemon *d);
/* The same for one tagged path (a new tag): its nearest existing parent watched. */
void dm_tagwatch_add(struct daemon *d, const char *path);
/* Every tagged path looked at again: follow policy tags, drop lost runtime tags. */
void dm_tags_check(struct daemon *d);
/* tag_watch_fd is readable. */
void dm_tagwatch_event(struct daemon *d);
/* From the run loop: the periodic check when it is due. */
void dm_tagwatch_tick(struct daemon *d);
void dm_tagwatch_free(struct daemon *d);

#endif
