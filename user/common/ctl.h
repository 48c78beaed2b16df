/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_CTL_H
#define TW_CTL_H

#include <jansson.h>

/*
 * Control socket: one JSON request line, one JSON reply line, per
 * connection. Replies carry "ok": true, or "ok": false and "error".
 */
#define TW_CTL_DEFAULT		"/run/tierwall/tierwall.sock"	/* beside the state dir: one hostPath */
#define TW_CTL_MAX_LINE		(1 << 20)

/* Listen on path; -EADDRINUSE if a live daemon already answers there. */
int tw_ctl_listen(const char *path);

/* A connected stream socket to the unix socket path (any service's): the fd, or -errno. */
int tw_ctl_connect(const char *path);
/* Send req, read the reply, keep the connection: the fd, or -errno. */
int tw_ctl_open(const char *path, json_t *req, json_t **reply, int timeout_ms);
/* Send req, wait up to timeout_ms for the reply. -errno on failure. */
int tw_ctl_call(const char *path, json_t *req, json_t **reply, int timeout_ms);
/* The same, passing pass_fd along with the request (SCM_RIGHTS): `run` sends its child's pidfd. */
int tw_ctl_call_fd(const char *path, json_t *req, int pass_fd, json_t **reply, int timeout_ms);

/* One line from fd (without the newline), bounded by size and timeout. */
int tw_ctl_read_line(int fd, char **line, int timeout_ms);
int tw_ctl_send(int fd, json_t *o);
int tw_ctl_send_fd(int fd, json_t *o, int pass_fd);

#endif
