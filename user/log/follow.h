/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_FOLLOW_H
#define TW_FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/* Live followers of the event log on the control socket. */
struct tw_followers;

/* Default bytes queued per follower before its lines are dropped (and counted). */
#define TW_FOLLOW_QUEUE_MB	16
/*
 * Followers at once: anyone who may read (a tiered process, a --group
 * member) may follow, and each holds a descriptor and up to its queue.
 */
#define TW_MAX_FOLLOWERS	32

struct tw_followers *tw_followers_new(int epfd, size_t max_queue);
/* Keep fd as a follower with req's filters (tier, kind, verdict, cgroup, pid). */
int tw_followers_add(struct tw_followers *F, int fd, json_t *req, char *why, size_t len);
/* Lines that are now in the log file: offer each to every matching follower. */
void tw_followers_publish(struct tw_followers *F, const char *lines, size_t len);
/* An epoll event on fd: true if fd is a follower's (and it was handled). */
bool tw_followers_event(struct tw_followers *F, int fd, uint32_t events);
int tw_followers_count(const struct tw_followers *F);
uint64_t tw_followers_dropped(const struct tw_followers *F);
void tw_followers_free(struct tw_followers *F);

#endif
