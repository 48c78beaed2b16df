// SPDX-License-Identifier: GPL-2.0
/*
 * Secret paths followed as they change: the kernel counts changes at the
 * names rules watch, each tick resolves the paths through them again
 * (tw_secrets_tick) and the log says what a path names now:
 * secret_protected when it names something for the first time,
 * secret_rotated when protection moved to another inode. Once programs
 * attach (start, reload) every path is resolved again (dm_secrets_resync):
 * what changed between reading a path and the kernel watching its names
 * is reported and protected too.
 */
#include <stdio.h>
#include "event.h"
#include "log.h"
#include "secrets.h"
#include "secretwatch.h"
#include "state.h"

static void appeared(void *arg, const char *path)
{
	struct daemon *d = arg;

	tw_info("%s appeared: protected", path);
	dm_log_daemon(d, "secret_protected", json_pack("{s:s}", "path", path));
	dm_log_flush(d);
}

static void rotated(void *arg, const struct tw_policy_secret *ps, const struct tw_secret_key *was,
		    const struct tw_secret_key *now)
{
	struct daemon *d = arg;

	tw_info("%s names another inode now (%u:%u %llu, was %u:%u %llu): protected", ps->path,
		now->dev >> 20, now->dev & 0xfffff, (unsigned long long)now->ino,
		was->dev >> 20, was->dev & 0xfffff, (unsigned long long)was->ino);
	dm_log_json(d, tw_event_rotated(ps->path, ps->jpath, was, now, &d->ectx));
	dm_log_flush(d);
}

void dm_secrets_tick(struct daemon *d)
{
	const struct tw_secrets_report rep = { .appeared = appeared, .rotated = rotated, .arg = d };

	if (tw_secrets_tick(d->secrets, d->bpf, &rep))
		tw_err("the secret paths could not all be resolved again: see above");
}

void dm_secrets_resync(struct daemon *d)
{
	const struct tw_secrets_report rep = { .appeared = appeared, .rotated = rotated, .arg = d };

	if (tw_secrets_resync(d->secrets, d->bpf, &rep))
		tw_err("the secret paths could not all be resolved once the programs watched them: "
		       "see above");
}
