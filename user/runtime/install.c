// SPDX-License-Identifier: GPL-2.0
/*
 * What the runtime hooks' install and uninstall share: this binary copied
 * into the runtime's hook directory, and files written atomically (a
 * runtime reading its configuration sees the old file or the new one).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "runtime.h"

/* Write data to path atomically (a reader sees the old file or the new one). */
int tw_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tierwall-tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) || fchmod(fd, mode))
		err = -errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int tw_install_self(const char *dir, const char *name)
{
	char dst[4096];
	struct stat st;
	char *buf;
	int fd, err;

	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		return -errno;
	buf = malloc(st.st_size);
	if (!buf || read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		close(fd);
		return -EIO;
	}
	close(fd);
	if (mkdir(dir, 0755) && errno != EEXIST)
		err = -errno;
	else
		err = tw_write_atomic((snprintf(dst, sizeof(dst), "%s/%s", dir, name), dst), buf,
				      st.st_size, 0755);
	free(buf);
	return err;
}
