/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_CONTROL_H
#define TW_DAEMON_CONTROL_H

#include "state.h"

int dm_control_init(struct daemon *d);
void dm_control_free(struct daemon *d);
/* The listening socket is readable: take every waiting client. */
void dm_control_accept(struct daemon *d);
/* An epoll event on fd: true if fd is a control client's (and it was served). */
bool dm_control_event(struct daemon *d, int fd, uint32_t events);
/* From the run loop: drop clients past their deadline. */
void dm_control_tick(struct daemon *d);
/* How many clients were dropped to make room for others (status). */
uint64_t dm_control_dropped(struct daemon *d);

#endif
