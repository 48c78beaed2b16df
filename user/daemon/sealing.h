/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_SEALING_H
#define TW_DAEMON_SEALING_H

#include "state.h"

#define DM_SEAL_USAGE \
"  --seal-key FILE      seal the log with this key (tierwall keygen makes it): each\n" \
"                       epoch ends with a MAC, then the key steps one way\n" \
"  --seal-epoch D       epoch length: 90s, 15m, 1h (default 15m; also at each rotation)\n"

/* --seal-key (key) or --seal-epoch; -EINVAL with the message printed. */
int dm_seal_opt(struct daemon *d, bool key, const char *arg);
/* Open the seal key and hand it to the log's options (before the log opens). */
int dm_seal_setup(struct daemon *d);

#endif
