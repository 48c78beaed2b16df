/* SPDX-License-Identifier: GPL-2.0 */
/* The grant tests' CLI runner (grantfix.c). */
#ifndef TW_TESTS_GRANTFIX_H
#define TW_TESTS_GRANTFIX_H

#include <stddef.h>
#include "fixture.h"

/* Approvers in the host tests' policies: uid 4242 in "users" (gid 100). */
#define GRANT_APPROVER	"--reuid 4242 --regid 4242 --groups 100"

/* tierwall ARGS (printf-style) as root (who NULL) or as `setpriv WHO`: its exit status, output in out. */
int grant_cli(struct fx *f, char *out, size_t len, const char *who, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif
