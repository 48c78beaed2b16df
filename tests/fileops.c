// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fileops.h"

int op_open(void *a)
{
	struct fop *o = a;
	int fd = open(o->path, o->flags);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int op_unlink(void *a) { return unlink(((struct fop *)a)->path) ? -errno : 0; }
int op_truncate(void *a) { return truncate(((struct fop *)a)->path, 0) ? -errno : 0; }

int op_rename(void *a)
{
	struct fop *o = a;

	return rename(o->path, o->path2) ? -errno : 0;
}

int op_link(void *a)
{
	struct fop *o = a;

	return link(o->path, o->path2) ? -errno : 0;
}

int op_symlink(void *a)
{
	struct fop *o = a;

	return symlink(o->path2, o->path) ? -errno : 0;
}

int write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0) {
		close(fd);
		return -errno;
	}
	return close(fd) ? -errno : 0;
}
