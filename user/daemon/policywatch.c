// SPDX-License-Identifier: GPL-2.0
/*
 * --watch-policy: reload when the policy file changes, without a signal.
 * A Kubernetes ConfigMap volume never rewrites the file in place: the
 * kubelet writes a new timestamped directory and swaps the "..data"
 * symlink the file's path goes through. So the directory is watched, not
 * the file, and any change there makes a reload due after a short quiet
 * time; the reload happens only if the file's digest differs from the
 * loaded policy's (a reload is as safe as SIGHUP: the old policy stays in
 * force if the new one fails).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include "log.h"
#include "policywatch.h"
#include "reload.h"
#include "util.h"

#define QUIET_MS	200

static int watch_fd = -1;
static uint64_t due_ns;

int dm_policywatch_init(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	char dir[PATH_MAX], *slash;

	if (!d->watch_policy)
		return 0;
	/* The path as given, not resolved: a ConfigMap's file is a symlink into ..data. */
	snprintf(dir, sizeof(dir), "%s", d->policy_file);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (watch_fd < 0 || inotify_add_watch(watch_fd, dir, IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE |
					      IN_DELETE | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF) < 0) {
		int err = -errno;

		tw_err("--watch-policy: cannot watch %s: %s", dir, strerror(-err));
		return err;
	}
	ev.data.fd = watch_fd;
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, watch_fd, &ev);
	tw_info("watching %s for policy changes", dir);
	return 0;
}

int dm_policywatch_fd(void)
{
	return watch_fd;
}

void dm_policywatch_event(struct daemon *d)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(watch_fd, buf, sizeof(buf)) > 0)
		;
	due_ns = tw_now_ns(CLOCK_MONOTONIC) + QUIET_MS * 1000000ull;
}

void dm_policywatch_tick(struct daemon *d)
{
	char digest[72];
	size_t len;
	char *text;

	if (!due_ns || tw_now_ns(CLOCK_MONOTONIC) < due_ns)
		return;
	due_ns = 0;
	if (tw_read_file(d->policy_file, &text, &len))
		return;	/* mid-swap or gone: the next change tells */
	tw_sha256_hex(text, len, digest);
	free(text);
	if (!strcmp(digest, d->policy->digest))
		return;
	tw_info("%s changed: reloading", d->policy_file);
	dm_reload(d);
}

void dm_policywatch_free(void)
{
	if (watch_fd >= 0)
		close(watch_fd);
	watch_fd = -1;
}
