/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_DAEMON_LOCK_H
#define TW_DAEMON_LOCK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Create dir if needed and hold an exclusive lock on it in *fd. -EBUSY
 * (with the holder's pid in the message) while another daemon holds it.
 * what names the option in messages ("--pin-dir").
 */
int dm_lock_dir(const char *dir, const char *what, int *fd);
/* The same without a word: -EBUSY while another holds it. */
int dm_try_lock_dir(const char *dir, int *fd);
void dm_unlock(int *fd);
/* Is dir ("" for none) absent, so this start would make it? */
bool dm_dir_absent(const char *dir);
/* Remove a directory this start made, and what it put in it (a refused start's log). */
void dm_dir_unmake(const char *dir);
/*
 * The id of a tierwall program attached on root, an ancestor or a
 * descendant that is not this daemon's predecessor's (pinned in pin_dir),
 * with where it is in at; 0 when there is none.
 */
int dm_check_overlap(const char *mount, const char *root, const char *pin_dir,
		     char *at, size_t len);

#endif
