/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_OPTIONS_H
#define TW_DAEMON_OPTIONS_H

#include "state.h"

#define DEFAULT_LOG_DIR		"/var/log/tierwall"
#define DEFAULT_PIN_DIR		"/sys/fs/bpf/tierwall"
#define DEFAULT_STATE_DIR	"/run/tierwall"

/* Fill d's options from argv; -EINVAL with one message on any bad one. */
int dm_parse_args(struct daemon *d, int argc, char **argv);

#endif
