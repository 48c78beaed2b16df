// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include "lsm.h"

int tw_lsm_active(char *why, size_t len)
{
	static const char path[] = "/sys/kernel/security/lsm";
	char list[512] = "", *tok, *save, copy[512];
	struct statfs sfs;
	ssize_t n;
	int fd;

	/* securityfs is not always mounted; the LSM list lives there. */
	if (access(path, R_OK) && !statfs("/sys/kernel/security", &sfs) &&
	    sfs.f_type != SECURITYFS_MAGIC)
		mount("securityfs", "/sys/kernel/security", "securityfs", 0, NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "cannot read %s (%s): is securityfs available?", path,
			 strerror(errno));
		return -ENOENT;
	}
	n = read(fd, list, sizeof(list) - 1);
	close(fd);
	list[n > 0 ? n : 0] = '\0';
	list[strcspn(list, "\n")] = '\0';
	snprintf(copy, sizeof(copy), "%s", list);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, "bpf"))
			return 0;
	snprintf(why, len, "BPF LSM is not active: the kernel's LSM list is \"%s\"; boot with lsm=%s,bpf",
		 list, list);
	return -EOPNOTSUPP;
}
