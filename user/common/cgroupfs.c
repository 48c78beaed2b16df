// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup2 filesystem as the kernel shows it: where it is mounted, and a
 * process's path as /proc/PID/cgroup writes it. The bottom of the cgroup
 * files: cgroupns.c reads these to find its namespace's root, cgroup.c
 * reads them through it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "cgroupfs.h"

int tw_cgroup2_mount(char *out, size_t outlen)
{
	char line[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[PATH_MAX], *sep = strstr(line, " - ");

		/* "id parent maj:min root mountpoint opts ... - fstype src opts" */
		if (!sep || strncmp(sep, " - cgroup2 ", 11))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		snprintf(out, outlen, "%s", mnt);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int tw_pid_cgroup_raw(int pid, char *out, size_t len)
{
	char path[64], line[4096 + 16];
	int err = -ENOENT;
	FILE *f;

	if (pid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3))
			continue;
		line[strcspn(line, "\n")] = '\0';
		err = snprintf(out, len, "%s", line + 3) >= (int)len ? -ENAMETOOLONG : 0;
		break;
	}
	fclose(f);
	return err;
}
