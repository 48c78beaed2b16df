// SPDX-License-Identifier: GPL-2.0
/*
 * Responders read without root: members of --group (default "tierwall",
 * when that group exists) may connect to the control socket and read the
 * event log. On the socket they may only read (status, tiers, events,
 * explain, which): SO_PEERCRED's uid decides, so anything that changes
 * enforcement still needs root. The log directory gets the group and the
 * setgid bit, so every segment the daemon writes later is the group's too;
 * only the log's own files are shared (a seal key is kept outside it anyway).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include "access.h"
#include "log.h"

bool dm_access_allowed(uid_t uid, const char *cmd)
{
	/* grant: a request changes nothing; grantreq.c decides who approves. */
	static const char *const reads[] = { "status", "tiers", "follow", "explain", "which",
					     "drain", "grant", NULL };
	const char *const *r;

	if (!uid)
		return true;
	for (r = reads; *r; r++)
		if (!strcmp(*r, cmd))
			return true;
	return false;
}

static void share(const char *path, gid_t gid, mode_t mode)
{
	if (chown(path, -1, gid) || chmod(path, mode))
		tw_warn("cannot give group access to %s: %s", path, strerror(errno));
}

/* The socket's directory, when it is a private one of root's (made by us): traversable by the group. */
static void share_parent(const char *path, gid_t gid)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (!stat(dir, &st) && !st.st_uid && (st.st_mode & 07777) == 0700)
		share(dir, gid, 0750);
}

static void share_log(const char *dir, gid_t gid)
{
	char path[PATH_MAX + 256];
	struct dirent *e;
	DIR *dp;

	share(dir, gid, 02750);
	dp = opendir(dir);
	while (dp && (e = readdir(dp))) {
		/* The log's own files only: whatever else lies there (a key) stays private. */
		if (strncmp(e->d_name, "events.", 7) && strcmp(e->d_name, TW_EVLOG_HEAD))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		share(path, gid, 0640);
	}
	if (dp)
		closedir(dp);
}

void dm_access_setup(struct daemon *d)
{
	struct group *g;

	if (!d->group || !strcmp(d->group, "none"))
		return;
	g = getgrnam(d->group);
	if (!g) {
		if (strcmp(d->group, DEFAULT_GROUP))
			tw_warn("--group %s: no such group; the socket and log stay root's", d->group);
		return;
	}
	share(d->sock_path, g->gr_gid, 0660);
	share_parent(d->sock_path, g->gr_gid);
	share_log(d->log_dir, g->gr_gid);
	tw_info("group %s may read: status, tiers, events, explain, which", d->group);
}
