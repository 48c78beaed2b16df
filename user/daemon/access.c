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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>
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

/* POSIX ACL as the kernel takes it in system.posix_acl_access (no libacl needed). */
struct acl_entry {
	uint16_t tag;
	uint16_t perm;
	uint32_t id;
};

enum { ACL_USER_OBJ = 1, ACL_GROUP_OBJ = 4, ACL_GROUP = 8, ACL_MASK = 0x10, ACL_OTHER = 0x20 };

static int gid_cmp(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The owning group's own bits: from the ACL when there is one (with an ACL
 * the mode's group bits are its mask, 7 once named entries were added).
 */
static int group_obj_perm(const char *path, const struct stat *st)
{
	struct { uint32_t version; struct acl_entry e[TW_GRANT_MAX_GROUPS + 8]; } acl;
	ssize_t len = getxattr(path, "system.posix_acl_access", &acl, sizeof(acl));
	int i;

	for (i = 0; len > 4 && i < (int)((len - 4) / sizeof(acl.e[0])); i++)
		if (acl.e[i].tag == ACL_GROUP_OBJ)
			return acl.e[i].perm;
	return (st->st_mode >> 3) & 7;
}

/*
 * Give each of gids (sorted) perm on path by a named-group ACL entry, and
 * nothing to any other group: a reload that drops a group takes its entry
 * away (n = 0: no ACL, the owning group's bits as they were).
 */
static void acl_groups(const char *path, const gid_t *gids, int n, int perm)
{
	struct { uint32_t version; struct acl_entry e[TW_GRANT_MAX_GROUPS + 4]; } acl = { .version = 2 };
	struct stat st;
	int i, k = 0, gobj;

	if (stat(path, &st))
		return;
	gobj = group_obj_perm(path, &st);
	if (!n) {
		if (getxattr(path, "system.posix_acl_access", NULL, 0) <= 0)
			return;
		if (removexattr(path, "system.posix_acl_access") ||
		    chmod(path, (st.st_mode & 07707) | gobj << 3))
			tw_warn("cannot take the grant approver groups' access to %s away: %s", path,
				strerror(errno));
		return;
	}
	acl.e[k++] = (struct acl_entry){ ACL_USER_OBJ, (st.st_mode >> 6) & 7, -1 };
	acl.e[k++] = (struct acl_entry){ ACL_GROUP_OBJ, gobj, -1 };
	for (i = 0; i < n; i++)
		if (!i || gids[i] != gids[i - 1])
			acl.e[k++] = (struct acl_entry){ ACL_GROUP, perm, gids[i] };
	acl.e[k++] = (struct acl_entry){ ACL_MASK, 7, -1 };
	acl.e[k++] = (struct acl_entry){ ACL_OTHER, st.st_mode & 7, -1 };
	if (setxattr(path, "system.posix_acl_access", &acl, 4 + k * sizeof(acl.e[0]), 0))
		tw_warn("cannot let the grant approver groups reach %s: %s", path, strerror(errno));
}

/*
 * Grant approvers reach the socket as the read-only group does: read and
 * write for each approver group by an ACL entry, and its private directory
 * traversable (what they may do there is grantreq.c's to decide). Called at
 * start and after each reload: the entries are exactly the loaded policy's
 * groups, none when it has no grants section.
 */
void dm_access_approvers(struct daemon *d)
{
	char dir[PATH_MAX], *slash;
	gid_t gids[TW_GRANT_MAX_GROUPS];
	struct stat st;
	int i, n = 0;

	for (i = 0; d->policy->grants.enabled && i < d->policy->grants.ngroups; i++) {
		struct group *g = getgrnam(d->policy->grants.groups[i]);

		if (g)
			gids[n++] = g->gr_gid;
		else
			tw_warn("grants: approver group %s does not exist", d->policy->grants.groups[i]);
	}
	qsort(gids, n, sizeof(gids[0]), gid_cmp);
	acl_groups(d->sock_path, gids, n, 6);
	snprintf(dir, sizeof(dir), "%s", d->sock_path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (!stat(dir, &st) && !st.st_uid && !(st.st_mode & 07))
		acl_groups(dir, gids, n, 1);
}

static void share_group(struct daemon *d)
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

void dm_access_setup(struct daemon *d)
{
	share_group(d);
	/* After the group's modes: an ACL keeps the owning group's bits as they are now. */
	dm_access_approvers(d);
}
