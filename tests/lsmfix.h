/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The secret-file tests' shared setup (test_lsm.c, test_lsm_fds.c): a daemon
 * protecting a prod directory, a single file and a path made later, and
 * the checks and child operations more than one of them uses.
 */
#ifndef TW_TEST_LSMFIX_H
#define TW_TEST_LSMFIX_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "fixture.h"

struct lsm {
	struct fx f;
	char prod[PATH_MAX];		/* protected directory (trailing /) */
	char key[PATH_MAX];		/* a file in it */
	char script[PATH_MAX];		/* an executable in it */
	char single[PATH_MAX];		/* a protected single file */
	char later[PATH_MAX];		/* protected path created after start */
	char pre_link[PATH_MAX];	/* hard link made before the daemon started */
	char outside[PATH_MAX];		/* an unprotected file */
};

/* Start the daemon on the secret-file policy; false (a failure or a skip said) if not. */
bool lsm_start(struct lsm *l);
/*
 * The same files and policy on a slot of the file's shared daemon (fx_share),
 * for tests that neither restart it nor read its totals.
 */
bool lsm_share(struct lsm *l);
/* The newest file record of pid has these op, verdict, tier, file identity and secret. */
void check_file_event(struct lsm *l, pid_t pid, const char *op, const char *verdict,
		      const char *tier, const char *file, const char *secret);
/* Denied in staging (then the test moves the same process to prod). */
int op_open_refused(void *a);
/* Receive one descriptor; -EPERM if the kernel dropped it (MSG_CTRUNC). */
int op_recv_fd(void *a);

#endif
