// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "ctl.h"

static int ctl_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int tw_ctl_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, err;

	err = ctl_addr(path, &sa);
	if (err)
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int tw_ctl_listen(const char *path)
{
	struct sockaddr_un sa;
	int fd, err;

	err = ctl_addr(path, &sa);
	if (err)
		return err;
	fd = tw_ctl_connect(path);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);	/* stale socket of a daemon that is gone */
	/* The default lives in /run/tierwall, which a fresh boot has not made yet. */
	if (strrchr(path, '/') > path) {
		char dir[sizeof(sa.sun_path)];

		snprintf(dir, sizeof(dir), "%.*s", (int)(strrchr(path, '/') - path), path);
		if (mkdir(dir, 0700) && errno != EEXIST)
			return -errno;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Only root may tag cgroups or read status. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0600) ||
	    listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int tw_ctl_read_line(int fd, char **line, int timeout_ms)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *nb;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int err;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;
		char *nl;

		err = poll(&pfd, 1, timeout_ms);
		if (err < 0 && errno == EINTR)
			continue;
		if (err <= 0) {
			err = err ? -errno : -ETIMEDOUT;
			goto out_free;
		}
		if (n + 1 >= cap) {
			if (cap >= TW_CTL_MAX_LINE) {
				err = -EMSGSIZE;
				goto out_free;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				err = -ENOMEM;
				goto out_free;
			}
			buf = nb;
			cap *= 2;
		}
		/* Peek first: take this line only, later lines stay in the socket. */
		r = recv(fd, buf + n, cap - n - 1, MSG_PEEK);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			err = r ? -errno : -ECONNRESET;
			goto out_free;
		}
		nl = memchr(buf + n, '\n', r);
		r = recv(fd, buf + n, nl ? (size_t)(nl - (buf + n)) + 1 : (size_t)r, 0);
		if (r <= 0) {
			err = r ? -errno : -ECONNRESET;
			goto out_free;
		}
		n += r;
		buf[n] = '\0';
		if (nl) {
			buf[n - 1] = '\0';
			*line = buf;
			return 0;
		}
	}
out_free:
	free(buf);
	return err;
}

/* The first chunk carries pass_fd (SCM_RIGHTS) when it is >= 0: a pidfd names a process for good. */
static ssize_t send_chunk(int fd, const char *buf, size_t len, int pass_fd)
{
	union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } ctl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (pass_fd < 0)
		return send(fd, buf, len, MSG_NOSIGNAL);
	memset(&ctl, 0, sizeof(ctl));
	m.msg_control = ctl.b;
	m.msg_controllen = sizeof(ctl.b);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	return sendmsg(fd, &m, MSG_NOSIGNAL);
}

int tw_ctl_send_fd(int fd, json_t *o, int pass_fd)
{
	char *s = json_dumps(o, JSON_COMPACT);
	size_t len, off = 0;
	int err = 0;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	s[len++] = '\n';	/* json_dumps leaves room: we replace the NUL */
	while (off < len) {
		ssize_t w = send_chunk(fd, s + off, len - off, off ? -1 : pass_fd);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = -errno;
			break;
		}
		off += w;
	}
	free(s);
	return err;
}

int tw_ctl_send(int fd, json_t *o)
{
	return tw_ctl_send_fd(fd, o, -1);
}

static int ctl_open(const char *path, json_t *req, int pass_fd, json_t **reply, int timeout_ms)
{
	json_error_t jerr;
	char *line;
	int fd, err;

	fd = tw_ctl_connect(path);
	if (fd < 0)
		return fd;
	err = tw_ctl_send_fd(fd, req, pass_fd);
	if (!err)
		err = tw_ctl_read_line(fd, &line, timeout_ms);
	if (err) {
		close(fd);
		return err;
	}
	*reply = json_loads(line, 0, &jerr);
	free(line);
	if (!*reply) {
		close(fd);
		return -EPROTO;
	}
	return fd;
}

int tw_ctl_open(const char *path, json_t *req, json_t **reply, int timeout_ms)
{
	return ctl_open(path, req, -1, reply, timeout_ms);
}

int tw_ctl_call_fd(const char *path, json_t *req, int pass_fd, json_t **reply, int timeout_ms)
{
	int fd = ctl_open(path, req, pass_fd, reply, timeout_ms);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int tw_ctl_call(const char *path, json_t *req, json_t **reply, int timeout_ms)
{
	return tw_ctl_call_fd(path, req, -1, reply, timeout_ms);
}
