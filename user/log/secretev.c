// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's record of a secret path that names another inode now
 * (secret_rotated): what it names now and what it named before, both
 * still protected. One copy, for the daemon and the schema test.
 */
#include <stdio.h>
#include "event.h"

json_t *tw_event_rotated(const char *path, const char *rule, const struct tw_secret_key *was,
			 const struct tw_secret_key *now, const struct tw_event_ctx *c)
{
	json_t *o = tw_event_daemon("secret_rotated", c);
	char a[32], b[32];

	if (!o)
		return NULL;
	snprintf(a, sizeof(a), "%u:%u", was->dev >> 20, was->dev & 0xfffff);
	snprintf(b, sizeof(b), "%u:%u", now->dev >> 20, now->dev & 0xfffff);
	json_object_update_new(o, json_pack("{s:s, s:s, s:s, s:I, s:s, s:I}", "path", path, "rule", rule,
					    "dev", b, "ino", (json_int_t)now->ino, "previous_dev", a,
					    "previous_ino", (json_int_t)was->ino));
	return o;
}
