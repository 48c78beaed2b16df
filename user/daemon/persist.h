/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_PERSIST_H
#define TW_DAEMON_PERSIST_H

#include "state.h"

/* What state.json holds, now. */
json_t *dm_state_snapshot(const struct daemon *d);
/* Write STATE_DIR/state.json (runtime tags, hostname addresses) atomically. */
int dm_state_save(struct daemon *d);
/* The saved state, or NULL (none, or unreadable: said once). */
json_t *dm_state_load(const struct daemon *d);
/* Runtime and pod tags back, each checked; every one dropped is a tag_lost record. */
void dm_state_restore_tags(struct daemon *d, json_t *state, bool quiet);
void dm_state_remove(const struct daemon *d);

#endif
