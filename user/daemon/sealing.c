// SPDX-License-Identifier: GPL-2.0
/* The daemon's side of sealing: its options, and the key handed to the log (seal.c does the rest). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "log.h"
#include "seal.h"
#include "sealing.h"
#include "util.h"

int dm_seal_opt(struct daemon *d, bool key, const char *arg)
{
	long v;

	if (key) {
		/* There and ours to step (its mode and place are checked when it is opened). */
		int fd = open(arg, O_RDWR | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0) {
			tw_err("--seal-key: %s: %s (" TW_SEAL_KEYGEN_HINT ")",
			       arg, strerror(errno));
			return -EINVAL;
		}
		close(fd);
		d->seal_key = arg;
		return 0;
	}
	if (tw_parse_duration(arg, &v) || v < 1 || v > 7 * 86400) {
		tw_err("--seal-epoch: \"%s\" is not a duration like 90s, 15m or 1h (1s to 7d)", arg);
		return -EINVAL;
	}
	d->log_opts.seal_secs = v;
	return 0;
}

int dm_seal_setup(struct daemon *d)
{
	char why[PATH_MAX + 256];
	int err;

	d->log_opts.host = d->host;
	if (!d->seal_key)
		return 0;
	err = tw_seal_open(&d->log_opts.seal, d->seal_key, d->log_dir, why, sizeof(why));
	if (err) {
		tw_err("--seal-key: %s", why);
		return err;
	}
	tw_info("sealing the log: epoch %llu, key %s", (unsigned long long)tw_seal_epoch(d->log_opts.seal),
		d->seal_key);
	return 0;
}
