/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_SECRETWATCH_H
#define TW_SECRETWATCH_H

struct daemon;

/* Every tick: paths whose names changed are resolved again and logged. */
void dm_secrets_tick(struct daemon *d);
/* Once programs attach (start, reload): every path resolved again and what moved logged. */
void dm_secrets_resync(struct daemon *d);

#endif
