/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_PERSIST_H
#define TW_DAEMON_PERSIST_H

#include "state.h"

/* What state.json holds, now. */
json_t *dm_state_snapshot(const struct daemon *d);
/* Write STATE_DIR/state.json (runtime tags, hostname addresses) atomically, now. */
int dm_state_save(struct daemon *d);
/* The same, written by the state writer thread (statewrite.c): never blocks the loop. */
void dm_state_save_soon(struct daemon *d);
/* A save the writer thread could not make: the state is dirty again. */
void dm_state_save_tick(struct daemon *d);
/* Write what is queued, then end the writer thread (before a stop's own save or removal). */
void dm_state_writer_stop(void);
/* The snapshot's text (malloc'd), and the atomic write of one (persist.c). */
char *dm_state_text(const struct daemon *d);
int dm_state_write(const char *dir, const char *text);
/* The saved state, or NULL (none, or unreadable: said once). */
json_t *dm_state_load(const struct daemon *d);
/* Runtime and pod tags back, each checked; every one dropped is a tag_lost record. */
void dm_state_restore_tags(struct daemon *d, json_t *state, bool quiet);
void dm_state_remove(const struct daemon *d);

#endif
