/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_ATTESTD_H
#define TW_DAEMON_ATTESTD_H

#include "state.h"

/* The "attest" request: other tiers' secrets and endpoints in the given texts. */
json_t *dm_cmd_attest(struct daemon *d, json_t *req);

#endif
