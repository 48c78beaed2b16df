// SPDX-License-Identifier: GPL-2.0
/* The grant tests' CLI runner: tierwall as root or as another user, against the fixture's daemon. */
#include <stdarg.h>
#include <stdio.h>
#include "grantfix.h"
#include "test.h"

int grant_cli(struct fx *f, char *out, size_t len, const char *who, const char *fmt, ...)
{
	char args[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return fx_sh(out, len, "exec %s%s %s/tierwall --socket %s %s 2>&1", who ? "setpriv " : "",
		     who ?: "", tw_build_dir, f->sock, args);
}
