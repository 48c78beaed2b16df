/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough io_uring for the tests, by raw syscalls (no liburing on the
 * build machines): one ring, one request at a time, its completions read
 * back in order.
 */
#ifndef TW_TEST_URING_H
#define TW_TEST_URING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct uring {
	int fd;
	void *sq, *cq, *sqes;
	size_t sq_len, cq_len, sqes_len;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	void *cqes;
};

/* 0, or -errno (ENOSYS: no io_uring; EPERM: io_uring_disabled). */
int uring_open(struct uring *u);
void uring_close(struct uring *u);
/*
 * IORING_OP_SEND_ZC of buf on fd (msg NULL), or IORING_OP_SENDMSG_ZC of
 * msg: the first completion's result (bytes sent or -errno), and whether
 * a notification follows (the kernel still holds the pages until then).
 */
int uring_send_zc(struct uring *u, int fd, const void *buf, size_t len, const struct msghdr *msg,
		  bool *more);

#endif
