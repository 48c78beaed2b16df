/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The files the rotation tests change (test_secrets.c, test_secmounts.c):
 * one rule of each kind, owned by prod, plus unprotected neighbours, and a
 * tierwalld started on them.
 */
#ifndef TW_TEST_SECFIX_H
#define TW_TEST_SECFIX_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include "fileops.h"
#include "fixture.h"

struct sec {
	struct fx f;
	char tls[PATH_MAX];		/* an unprotected directory ... */
	char key[PATH_MAX];		/* ... holding a file rule: tls/key.pem */
	char other[PATH_MAX];		/* ... and an unrelated file: tls/other.txt */
	char live[PATH_MAX];		/* a rule through a symlink: live/site/privkey.pem */
	char cert1[PATH_MAX];		/* what it names at start: archive/site/privkey1.pem */
	char readme_link[PATH_MAX];	/* live/site/README -> ../../notes.txt (unprotected) */
	char vol[PATH_MAX];		/* a directory rule: vol/ (kubelet's volume directory) */
	char svc[PATH_MAX];		/* a directory rule: svc/prod/ (swapped; sockets) */
	char notes[PATH_MAX];		/* notes.txt, unprotected */
};

/* Files, policy, daemon; false (skipped or failed) when the test cannot go on. */
bool sec_start(struct sec *s);
/* The same in two steps: the files; then the policy (with more prod paths) and the daemon. */
bool sec_init(struct sec *s);
bool sec_run(struct sec *s, const char *const *more);
/* The policy alone (for a reload): the rules above plus more prod paths. */
void sec_policy(struct sec *s, const char *const *more);
/* The same files and policy on a slot of the file's shared daemon (fx_share). */
bool sec_share(struct sec *s);
static inline int sec_write(const char *path, const char *text)
{
	return write_file(path, text, 0644);
}
/* The newest file event of pid: denied to staging, owned by prod, rule secret (op, file if given). */
void sec_check_event(struct sec *s, pid_t pid, const char *op, const char *file, const char *secret);
/* Within 10 s, a secret_rotated event names the inode file is now, with the rule's fields. */
void sec_check_rotated(struct sec *s, const char *file);

#endif
