// SPDX-License-Identifier: GPL-2.0
/*
 * Self-protection, the daemon's side: tell the kernel who tierwalld is and
 * which files are its own (pin directory, log directory, control socket,
 * and the files it trusts: trusted.c), and every directory above them, so
 * that a tiered process can neither signal nor trace it, nor remove,
 * overwrite or cover what it keeps (bpf/protect.bpf.c). A trusted file's
 * path is also guarded name by name, the way the kernel resolves it
 * (symlinks' targets too), so nothing can be swapped in at any of its
 * names. Where BPF LSM is not usable the daemon runs unprotected and says
 * so, at start, in status and in the start event.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "chain.h"
#include "guard.h"
#include "log.h"
#include "protect.h"
#include "trusted.h"
#include "util.h"

#define MAX_GUARDED	(4 + DM_TRUSTED_MAX)
#define MAX_FILES	256	/* the guarded map's size (bpf/protect.bpf.h) */

/* What is guarded, for status: the daemon's own paths (not their ancestors). */
static struct {
	char path[MAX_GUARDED][PATH_MAX];
	int n;
	bool told;
} g;

/* What the next push makes the kernel's maps hold. */
static struct {
	struct tw_secret_key file[MAX_FILES];
	uint32_t flags[MAX_FILES];
	int nfiles;
	struct tw_fname_key name[TW_GUARDED_NAMES];
	int nnames;
} set;

static int add_file(const struct tw_secret_key *k, uint32_t flags)
{
	int i;

	for (i = 0; i < set.nfiles; i++) {
		if (!memcmp(&set.file[i], k, sizeof(*k))) {
			set.flags[i] |= flags;
			return 0;
		}
	}
	if (set.nfiles == MAX_FILES)
		return -E2BIG;
	set.file[set.nfiles] = *k;
	set.flags[set.nfiles++] = flags;
	return 0;
}

static int guard_inode(struct tw_bpf *b, const struct stat *st, uint32_t flags)
{
	struct tw_secret_key k = { .dev = tw_kdev(st->st_dev), .ino = st->st_ino };
	int err = add_file(&k, flags);

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

/*
 * Every name the path resolves through. A directory holding "..data" is a
 * kubelet AtomicWriter volume (a ConfigMap): the next ..TIMESTAMP directory
 * is written there before the swap, so the whole tree is guarded.
 */
static int guard_names(const char *path)
{
	static struct tw_chain c;
	int i, err = tw_chain_resolve(path, false, &c);

	if (err)
		return err;
	if (!c.found)
		return -ENOENT;
	for (i = 0; i < c.n; i++) {
		if (!strcmp(c.link[i].key.name, "..data") && (err = add_file(&c.link[i].key.dir, TW_GUARD_TREE)))
			return err;
		if (set.nnames == TW_GUARDED_NAMES)
			return -E2BIG;
		set.name[set.nnames++] = c.link[i].key;
	}
	return 0;
}

static int guard_trusted(struct tw_bpf *b, const struct trusted *t)
{
	struct stat st;
	int err = guard_path(b, t->path, t->dir ? TW_GUARD_SELF | TW_GUARD_CHILDREN : TW_GUARD_SELF);

	if (!err)
		err = guard_names(t->path);
	if (!err && t->sealed && !(err = stat(t->path, &st) ? -errno : 0))
		err = tw_guard_sealed(tw_bpf_protect(b), tw_kdev(st.st_dev), st.st_ino);
	return err;
}

static int guard_all(struct daemon *d, struct tw_bpf *b)
{
	const struct { const char *path; uint32_t flags; } own[] = {
		{ d->pin_dir, TW_GUARD_SELF | TW_GUARD_CHILDREN },
		{ d->log_dir, TW_GUARD_SELF | TW_GUARD_CHILDREN },
		{ d->state_dir, TW_GUARD_SELF | TW_GUARD_CHILDREN },	/* runtime tags, addresses */
		{ d->sock_path, TW_GUARD_SELF },
	};
	static struct trusted t[DM_TRUSTED_MAX];
	int i, n, err;

	g.n = set.nfiles = set.nnames = 0;
	for (i = 0; i < (int)ARRAY_SIZE(own); i++) {
		if (!own[i].path[0])
			continue;
		err = guard_path(b, own[i].path, own[i].flags);
		if (err) {
			tw_err("self-protection: cannot guard %s: %s", own[i].path, strerror(-err));
			return err;
		}
	}
	n = dm_trusted_list(d, t, DM_TRUSTED_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		err = guard_trusted(b, &t[i]);
		if (err) {
			tw_err("self-protection: cannot guard %s: %s", t[i].path, strerror(-err));
			return err;
		}
	}
	dm_trusted_rewatch(d, t, n);
	err = tw_guard_files(tw_bpf_protect(b), set.file, set.flags, set.nfiles);
	if (!err)
		err = tw_guard_names(tw_bpf_protect(b), set.name, set.nnames);
	if (err)
		tw_err("self-protection: cannot fill the guard maps: %s", strerror(-err));
	return err;
}

int dm_protect(struct daemon *d, struct tw_bpf *b)
{
	const char *why = tw_bpf_protect_why(b);
	int err;

	if (why) {
		if (!g.told)
			tw_warn("self-protection: none (%s): a tiered root process can switch tierwalld off", why);
		g.told = true;
		return 0;
	}
	err = guard_all(d, b);
	if (err)
		return err;
	err = tw_guard_self(tw_bpf_protect(b), true);
	if (err) {
		tw_err("self-protection: cannot tell the kernel tierwalld's pid: %s", strerror(-err));
		return err;
	}
	if (!g.told)
		tw_info("self-protection: bpf-lsm (pid %d, %d paths, %d names guarded)", getpid(), g.n,
			set.nnames);
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
