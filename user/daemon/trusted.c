// SPDX-License-Identifier: GPL-2.0
/*
 * The files the daemon trusts besides its own directories: the policy and
 * its signature, the keys that check it (--policy-pubkey), the seal key, and the runtime hooks' files (NRI conf and
 * binaries, NRI v2 plugins, OCI hooks.d entries: a tiered root that could
 * rewrite them would point the hook at a socket of its own). protect.c
 * guards each by inode and every (directory, name) its path resolves
 * through; this file says which they are, and watches the directories they
 * lie in so that what the kubelet or an operator swaps in is guarded as soon
 * as it arrives, with or without --watch-policy.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "log.h"
#include "protect.h"
#include "trusted.h"
#include "util.h"

/* Guarded when there and no --guard-path is given (each documented in tierwalld(8)). */
static const char *const default_paths[] = {
	"/etc/nri/conf.json",			/* NRI v0.1: which plugins containerd runs */
	"/opt/nri/bin",				/* NRI v0.1: the plugins themselves */
	"/opt/nri/plugins",			/* NRI v2: pre-installed plugins */
	"/etc/containers/oci/hooks.d",		/* OCI hooks (CRI-O, podman) */
	"/usr/share/containers/oci/hooks.d",
};

#define MAX_WATCHES	(2 * DM_TRUSTED_MAX)

static int watch_fd = -1;
static int wds[MAX_WATCHES], nwds;

int dm_trusted_opt(struct daemon *d, const char *arg)
{
	if (d->nguard_paths == (int)ARRAY_SIZE(d->guard_paths)) {
		tw_err("--guard-path: at most %zu", ARRAY_SIZE(d->guard_paths));
		return -EINVAL;
	}
	if (!arg[0]) {
		tw_err("--guard-path: empty path");
		return -EINVAL;
	}
	d->guard_paths[d->nguard_paths++] = arg;
	return 0;
}

/* path made absolute (the chain walk starts at "/"), then what it is. */
static int add(struct trusted *t, int *n, int max, const char *path, bool sealed)
{
	char cwd[PATH_MAX];
	struct stat st;

	if (*n == max)
		return -E2BIG;
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		snprintf(t[*n].path, sizeof(t[*n].path), "%s", path);
	else
		snprintf(t[*n].path, sizeof(t[*n].path), "%s/%s", cwd, path);
	if (stat(t[*n].path, &st))
		return -errno;
	t[*n].sealed = sealed;
	t[*n].dir = S_ISDIR(st.st_mode);
	(*n)++;
	return 0;
}

int dm_trusted_list(struct daemon *d, struct trusted *t, int max)
{
	char sig[PATH_MAX];
	int n = 0, i, err;

	if (add(t, &n, max, d->policy_file, false))
		return -ENOENT;	/* mid-swap: the reload that comes tells */
	snprintf(sig, sizeof(sig), "%s.sig", d->policy_file);
	if (!access(sig, F_OK) && (err = add(t, &n, max, sig, false)) && err != -ENOENT)
		return err;
	/* The keys a signature is checked with: whoever writes one signs the policy. */
	for (i = 0; i < d->npubkeys; i++) {
		err = add(t, &n, max, d->policy_pubkeys[i], false);
		if (err) {
			tw_err("self-protection: --policy-pubkey %s: %s", d->policy_pubkeys[i], strerror(-err));
			return err;
		}
	}
	if (d->seal_key && (err = add(t, &n, max, d->seal_key, true))) {
		tw_err("self-protection: --seal-key %s: %s", d->seal_key, strerror(-err));
		return err;
	}
	for (i = 0; i < d->nguard_paths; i++) {
		err = add(t, &n, max, d->guard_paths[i], false);
		if (err) {
			tw_err("--guard-path %s: %s", d->guard_paths[i], strerror(-err));
			return err;
		}
	}
	for (i = 0; !d->nguard_paths && i < (int)ARRAY_SIZE(default_paths); i++)
		if (!access(default_paths[i], F_OK) && (err = add(t, &n, max, default_paths[i], false)))
			return err;
	return n;
}

int dm_trusted_watch_init(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };

	watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (watch_fd < 0) {
		tw_err("self-protection: inotify: %s", strerror(errno));
		return -errno;
	}
	ev.data.fd = watch_fd;
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, watch_fd, &ev);
	return dm_protect(d, d->bpf);	/* again, now that it is watched: nothing slips between */
}

static void watch(const char *dir)
{
	int wd;

	if (nwds == MAX_WATCHES)
		return;
	wd = inotify_add_watch(watch_fd, dir, IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
			       IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
	if (wd >= 0)
		wds[nwds++] = wd;
}

/* The directory of path as given (where the kubelet swaps ..data) and of what it names. */
void dm_trusted_rewatch(struct daemon *d, const struct trusted *t, int n)
{
	char dir[PATH_MAX], *slash;
	int i, k;

	if (watch_fd < 0)
		return;
	for (i = 0; i < nwds; i++)
		inotify_rm_watch(watch_fd, wds[i]);
	nwds = 0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < 2; k++) {
			if (k ? !realpath(t[i].path, dir) : !snprintf(dir, sizeof(dir), "%s", t[i].path))
				continue;
			if (t[i].dir) {
				watch(dir);
				continue;
			}
			slash = strrchr(dir, '/');
			if (slash)
				slash[slash == dir] = '\0';
			watch(dir);
		}
	}
}

int dm_trusted_fd(void)
{
	return watch_fd;
}

void dm_trusted_event(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(watch_fd, buf, sizeof(buf)) > 0)
		;
	/* No quiet time: what arrived is guarded now, a policy reload follows its own rules. */
	if (dm_protect(d, d->bpf))
		tw_err("self-protection: guarding the trusted files again failed; the last guard stays");
}

void dm_trusted_free(void)
{
	if (watch_fd >= 0)
		close(watch_fd);
	watch_fd = -1;
	nwds = 0;
}
