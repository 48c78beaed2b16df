// SPDX-License-Identifier: GPL-2.0
/* The fixture's processes and sockets: shell commands, listeners, HTTP (see fixture.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sched.h>
#include <net/if.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "cgroup.h"
#include "ctl.h"
#include "fixture.h"
#include "lsm.h"
#include "loader.h"
#include "net.h"
#include "sockets.h"
#include "test.h"

int fx_sh(char *out, size_t outlen, const char *fmt, ...)
{
	char cmd[8192];
	size_t n = 0;
	va_list ap;
	FILE *p;
	int st;

	strcpy(cmd, "{ ");
	va_start(ap, fmt);
	vsnprintf(cmd + 2, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	strcat(cmd, "\n} 2>&1 </dev/null");
	fflush(stdout);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out && outlen)
		n = fread(out, 1, outlen - 1, p);
	if (out && outlen)
		out[n] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * A listener whose setup failed would make every "nothing arrived" check
 * pass without testing anything: the failure fails the test, loudly.
 */
static int setup_failed(const char *what, const char *addr, int port, int err)
{
	TW_FAILED("%s on %s port %d: %s (the checks that use it would test nothing)", what, addr, port,
		  strerror(-err));
	return err;
}

int fx_listen_tcp(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, err;

	if (tw_sockaddr(addr, port, &ss, &len))
		return setup_failed("TCP listener", addr, port, -EINVAL);
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return setup_failed("TCP listener", addr, port, -errno);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 128)) {
		err = -errno;
		close(fd);
		return setup_failed("TCP listener", addr, port, err);
	}
	return fd;
}

int fx_bind_udp(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err;

	if (tw_sockaddr(addr, port, &ss, &len))
		return setup_failed("UDP socket", addr, port, -EINVAL);
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return setup_failed("UDP socket", addr, port, -errno);
	if (bind(fd, (struct sockaddr *)&ss, len)) {
		err = -errno;
		close(fd);
		return setup_failed("UDP socket", addr, port, err);
	}
	return fd;
}

bool fx_accepted(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int c;

	if (lfd < 0)
		return TW_FAILED("no listener to check (its setup failed)");
	if (poll(&p, 1, 2000) != 1)
		return false;
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return false;
	close(c);
	return true;
}

bool fx_received(int ufd)
{
	struct pollfd p = { .fd = ufd, .events = POLLIN };
	char buf[64];

	if (ufd < 0)
		return TW_FAILED("no UDP socket to check (its setup failed)");
	return poll(&p, 1, 2000) == 1 && recv(ufd, buf, sizeof(buf), 0) > 0;
}

bool fx_nothing_arrived(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fd < 0)
		return TW_FAILED("no socket to check (its setup failed)");
	return poll(&p, 1, 200) == 0;
}

int fx_http_get(int port, const char *path, char *out, size_t len)
{
	struct sockaddr_storage ss;
	struct pollfd p;
	socklen_t sl;
	size_t n = 0;
	char req[512];
	int fd, err = 0;

	if (tw_sockaddr("127.0.0.1", port, &ss, &sl))
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl)) {
		err = -errno;
		goto out;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
		err = -errno;
		goto out;
	}
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (n + 1 < len && poll(&p, 1, 5000) == 1) {
		ssize_t r = recv(fd, out + n, len - n - 1, 0);

		if (r <= 0)
			break;
		n += r;
	}
out:
	out[n] = '\0';
	close(fd);
	return err;
}

int fx_ctl_begin(struct fx *f, const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	json_t *req = json_pack("{s:s}", "cmd", cmd);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		err = -errno;
	else
		err = tw_ctl_send(fd, req);
	json_decref(req);
	if (err && fd >= 0)
		close(fd);
	return err ?: fd;
}

int fx_ctl_reply(int fd, int wait_ms, json_t **reply)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char *line;
	int err;

	*reply = NULL;
	if (poll(&p, 1, wait_ms) != 1)
		return -EAGAIN;
	/* The daemon writes its reply line at once: the rest of it is on its way. */
	err = tw_ctl_read_line(fd, &line, fx_timeout_ms(60000));
	if (err)
		return err;
	*reply = json_loads(line, 0, NULL);
	free(line);
	return *reply ? 0 : -EPROTO;
}

int fx_reload(struct fx *f)
{
	json_t *req = json_pack("{s:s}", "cmd", "reload"), *r = NULL;
	/* A reload loads every program again: under TCG beside other work, minutes. */
	int err = tw_ctl_call(f->sock, req, &r, fx_timeout_ms(120000));

	if (!err)
		err = json_is_true(json_object_get(r, "ok")) ? 0 : 1;
	json_decref(req);
	json_decref(r);
	return err;
}
