// SPDX-License-Identifier: GPL-2.0
/*
 * A cgroup namespace of our own. On cgroup v2 a container that is not
 * privileged gets one, and when it is given the host's cgroup2 mount the
 * kernel writes every /proc/PID/cgroup relative to the namespace's root
 * ("/../../kubepods/..." for a process outside it): read as they are, a
 * tiered caller's cgroup would be misread as some other one. Once, at
 * start, tw_cgroupns_init() finds the namespace's root in the mount (the
 * cgroup whose cgroup.procs lists us, less our path in the namespace);
 * tw_pid_cgroup() (cgroup.c) then puts it in front of every path it reads.
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cgroupfs.h"
#include "cgroupns.h"

static char ns_root[PATH_MAX];	/* "" while the mount's root is our namespace's */

/* Is the cgroup2 mount's root above our namespace's ("/.." in mountinfo)? 1, 0 or -errno. */
static int mount_above_ns(void)
{
	char line[8192], root[4096];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	int above = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		/* The first one, as tw_cgroup2_mount() takes it. */
		if (sscanf(line, "%*s %*s %*s %4095s", root) == 1)
			above = !strncmp(root, "/..", 3);
		break;
	}
	fclose(f);
	return above;
}

static size_t mount_len;
static char found[PATH_MAX];

/* nftw has no user argument: this runs once, from one thread, at start. */
static int find_self(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	char procs[PATH_MAX + 16];
	long pid;
	FILE *f;

	if (type != FTW_D)
		return 0;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
	f = fopen(procs, "re");
	while (f && fscanf(f, "%ld", &pid) == 1) {
		if (pid == getpid()) {
			snprintf(found, sizeof(found), "%s", path[mount_len] ? path + mount_len : "/");
			fclose(f);
			return 1;
		}
	}
	if (f)
		fclose(f);
	return 0;
}

int tw_cgroup_join(const char *a, const char *b, char *out, size_t len)
{
	char buf[2 * PATH_MAX + 2], *save, *tok;
	size_t n = 0, l;

	snprintf(buf, sizeof(buf), "%s/%s", a, b);
	if (len < 2)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			char *s = strrchr(out, '/');

			if (s)
				*s = '\0';
			n = strlen(out);
			continue;
		}
		l = strlen(tok);
		if (n + 1 + l + 1 > len)
			return -ENAMETOOLONG;
		out[n++] = '/';
		memcpy(out + n, tok, l + 1);
		n += l;
	}
	if (!n)
		snprintf(out, len, "/");
	return 0;
}

int tw_cgroupns_init(char *root, size_t len)
{
	char mount[PATH_MAX], own[PATH_MAX];
	size_t fl, ol;
	int err;

	ns_root[0] = '\0';
	err = mount_above_ns();
	if (err <= 0)
		return err;
	err = tw_cgroup2_mount(mount, sizeof(mount));
	if (!err)
		err = tw_pid_cgroup_raw(getpid(), own, sizeof(own));	/* untranslated: ns_root is "" */
	if (err)
		return err;
	mount_len = strlen(mount);
	found[0] = '\0';
	if (nftw(mount, find_self, 16, FTW_PHYS | FTW_MOUNT) != 1)
		return -ENOENT;
	/* found = the namespace's root + own (own is "/" right after unshare). */
	fl = strlen(found);
	ol = strcmp(own, "/") ? strlen(own) : 0;
	if (ol > fl || strcmp(found + fl - ol, ol ? own : ""))
		return -EXDEV;
	snprintf(ns_root, sizeof(ns_root), "%.*s", (int)(fl - ol), found);
	if (!ns_root[0])
		snprintf(ns_root, sizeof(ns_root), "/");
	snprintf(root, len, "%s", ns_root);
	return 1;
}

const char *tw_cgroupns_root(void)
{
	return ns_root;
}
