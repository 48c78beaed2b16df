/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_ACCESS_H
#define TW_DAEMON_ACCESS_H

#include <stdbool.h>
#include <sys/types.h>
#include "state.h"

#define DEFAULT_GROUP	"tierwall"

/* Give --group read access: the control socket (and its private directory) and the log. */
void dm_access_setup(struct daemon *d);
/* The policy's grant approver groups reach the socket (an ACL entry each); again after a reload. */
void dm_access_approvers(struct daemon *d);
/* May uid make this request? Root may make any; others only read. */
bool dm_access_allowed(uid_t uid, const char *cmd);

#endif
