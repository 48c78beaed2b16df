// SPDX-License-Identifier: GPL-2.0
/*
 * Self-protection, the daemon's side: tell the kernel who tierwalld is and
 * which files are its own (pin directory, log directory, control socket,
 * policy file, and every directory above them), so that a tiered process
 * can neither signal nor trace it, nor remove, overwrite or cover what it
 * keeps (bpf/protect.bpf.c). Where BPF LSM is not usable the daemon runs
 * unprotected and says so, at start, in status and in the start event.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "guard.h"
#include "log.h"
#include "protect.h"
#include "util.h"

#define MAX_GUARDED	8

/* What is guarded, for status: the daemon's own paths (not their ancestors). */
static struct {
	char path[MAX_GUARDED][PATH_MAX];
	int n;
	bool told;
} g;

static int guard_inode(struct tw_bpf *b, const struct stat *st, uint32_t flags)
{
	int err = tw_guard_path(tw_bpf_protect(b), tw_kdev(st->st_dev), st->st_ino, flags);

	if (!err && !(flags & TW_GUARD_ABOVE))
		err = tw_guard_dev(tw_bpf_protect(b), tw_kdev(st->st_dev));
	return err;
}

/* path itself (and, if it is a symlink, what it names), and every directory above. */
static int guard_path(struct tw_bpf *b, const char *path, uint32_t flags)
{
	char real[PATH_MAX], *slash;
	struct stat st;
	int err;

	if (!lstat(path, &st) && S_ISLNK(st.st_mode) && (err = guard_inode(b, &st, TW_GUARD_SELF)))
		return err;
	if (!realpath(path, real) || stat(real, &st))
		return -errno;
	err = guard_inode(b, &st, flags);
	while (!err && (slash = strrchr(real, '/'))) {
		slash[slash == real] = '\0';	/* "/a/b" -> "/a" -> "/" */
		if (stat(real, &st))
			return -errno;
		err = guard_inode(b, &st, TW_GUARD_ABOVE);
		if (slash == real)
			break;
	}
	if (!err && g.n < MAX_GUARDED)
		snprintf(g.path[g.n++], PATH_MAX, "%s", path);
	return err;
}

int dm_protect(struct daemon *d, struct tw_bpf *b)
{
	const struct { const char *path; uint32_t flags; } own[] = {
		{ d->pin_dir, TW_GUARD_SELF | TW_GUARD_CHILDREN },
		{ d->log_dir, TW_GUARD_SELF | TW_GUARD_CHILDREN },
		{ d->state_dir, TW_GUARD_SELF | TW_GUARD_CHILDREN },	/* runtime tags, addresses */
		{ d->sock_path, TW_GUARD_SELF },
		{ d->policy_file, TW_GUARD_SELF },
	};
	const char *why = tw_bpf_protect_why(b);
	size_t i;
	int err;

	if (why) {
		if (!g.told)
			tw_warn("self-protection: none (%s): a tiered root process can switch tierwalld off", why);
		g.told = true;
		return 0;
	}
	g.n = 0;
	for (i = 0; i < ARRAY_SIZE(own); i++) {
		if (!own[i].path[0])
			continue;
		err = guard_path(b, own[i].path, own[i].flags);
		if (err) {
			tw_err("self-protection: cannot guard %s: %s", own[i].path, strerror(-err));
			return err;
		}
	}
	err = tw_guard_self(tw_bpf_protect(b), true);
	if (err) {
		tw_err("self-protection: cannot tell the kernel tierwalld's pid: %s", strerror(-err));
		return err;
	}
	if (!g.told)
		tw_info("self-protection: bpf-lsm (pid %d, %d paths guarded)", getpid(), g.n);
	g.told = true;
	return 0;
}

void dm_protect_stop(struct daemon *d)
{
	if (d->bpf && !tw_bpf_protect_why(d->bpf))
		tw_guard_self(tw_bpf_protect(d->bpf), false);
}

const char *dm_protect_mode(struct daemon *d)
{
	static char mode[320];
	const char *why = d->bpf ? tw_bpf_protect_why(d->bpf) : "not loaded";

	if (!why)
		return "bpf-lsm";
	snprintf(mode, sizeof(mode), "none (%s)", why);
	return mode;
}

json_t *dm_protect_json(struct daemon *d)
{
	const char *why = tw_bpf_protect_why(d->bpf);
	json_t *paths = json_array();
	int i;

	if (why)
		return json_pack("{s:s, s:s, s:o}", "mode", "none", "reason", why, "guarded", paths);
	for (i = 0; i < g.n; i++)
		json_array_append_new(paths, json_string(g.path[i]));
	return json_pack("{s:s, s:i, s:i, s:o}", "mode", "bpf-lsm", "daemon_pid", getpid(),
			 "programs", tw_bpf_protect_nprogs(d->bpf), "guarded", paths);
}
