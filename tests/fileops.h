/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a test's child does from inside its cgroup (fx_do): file operations
 * shared by the secret-file and self-protection tests. Each returns 0 or
 * -errno of the call under test (other failures: -1000 and up).
 */
#ifndef TW_TEST_FILEOPS_H
#define TW_TEST_FILEOPS_H

#include <sys/types.h>

struct fop {
	const char *path;
	const char *path2;
	int flags;		/* open flags; openat2 resolve flags */
	int sock;		/* a descriptor to receive from */
	pid_t pid;		/* a process to act on */
	long arg;		/* a number to write, a signal */
};

int op_open(void *a);		/* open(path, flags) */
int op_unlink(void *a);
int op_truncate(void *a);
int op_rename(void *a);		/* path -> path2 */
int op_link(void *a);		/* path -> path2 */
int op_symlink(void *a);	/* path2 <- path */

/* Create or replace path with text (not an op: the caller's own process); 0 or -errno. */
int write_file(const char *path, const char *text, mode_t mode);

#endif
