// SPDX-License-Identifier: GPL-2.0
/*
 * Readiness. The control socket listens from early in setup, so a second
 * daemon is refused at once, but "the socket is there" is not "it
 * enforces": that takes the programs attached and every tag applied. Until
 * then a small thread answers each request on the socket: status says
 * "starting", anything else gets an error marked "starting" (the runtime
 * hook retries those within its timeout). systemd hears READY=1 only once
 * the daemon is complete (Type=notify), written by hand: one datagram, no
 * libsystemd in the daemon or its static builds.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "log.h"
#include "ready.h"

#define REQ_TIMEOUT_MS	500	/* a client has this long to send its request line */

static struct {
	pthread_t thread;
	bool running;
	int stop_fd;
	int ctl_fd;
} starting = { .stop_fd = -1 };

static void answer(int fd)
{
	char buf[4096], *reply;
	size_t n = 0;
	json_t *req, *r;
	const char *cmd;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (n < sizeof(buf) - 1 && !memchr(buf, '\n', n) && poll(&p, 1, REQ_TIMEOUT_MS) == 1) {
		ssize_t got = recv(fd, buf + n, sizeof(buf) - 1 - n, MSG_DONTWAIT);

		if (got <= 0)
			break;
		n += got;
	}
	buf[n] = '\0';
	req = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (cmd && !strcmp(cmd, "status"))
		r = json_pack("{s:b, s:s, s:s, s:i, s:[]}", "ok", 1, "state", "starting",
			      "version", TW_VERSION, "pid", getpid(), "programs");
	else
		r = json_pack("{s:b, s:b, s:s}", "ok", 0, "starting", 1, "error",
			      "tierwalld is starting: enforcement is not complete yet, ask again");
	reply = json_dumps(r, JSON_COMPACT);
	if (reply) {
		size_t len = strlen(reply);

		reply[len] = '\n';	/* json_dumps leaves room: the NUL becomes the newline */
		send(fd, reply, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	free(reply);
	json_decref(r);
	json_decref(req);
}

static void *serve(void *arg)
{
	struct pollfd p[2] = { { .fd = starting.ctl_fd, .events = POLLIN },
			       { .fd = starting.stop_fd, .events = POLLIN } };

	while (poll(p, 2, -1) >= 0 || errno == EINTR) {
		int fd;

		if (p[1].revents)
			break;
		fd = accept4(starting.ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;	/* EAGAIN: someone else took it */
		answer(fd);
		close(fd);
	}
	return NULL;
}

int dm_ready_begin(struct daemon *d)
{
	int err;

	starting.ctl_fd = d->ctl_fd;
	starting.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (starting.stop_fd < 0)
		return -errno;
	err = pthread_create(&starting.thread, NULL, serve, NULL);
	if (err) {
		close(starting.stop_fd);
		starting.stop_fd = -1;
		return -err;
	}
	starting.running = true;
	return 0;
}

void dm_ready_end(struct daemon *d)
{
	uint64_t one = 1;

	if (!starting.running)
		return;
	if (write(starting.stop_fd, &one, sizeof(one)) != sizeof(one))
		tw_warn("cannot stop the startup responder: %s", strerror(errno));
	pthread_join(starting.thread, NULL);
	close(starting.stop_fd);
	starting.stop_fd = -1;
	starting.running = false;
}

int dm_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd, err = 0;

	if (!path || !*path)
		return 0;
	if ((path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	memcpy(sa.sun_path, path, strlen(path));
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0)
		err = -errno;
	close(fd);
	if (err)
		tw_warn("cannot notify the service manager at %s: %s", path, strerror(-err));
	return err;
}
