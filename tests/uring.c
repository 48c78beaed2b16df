// SPDX-License-Identifier: GPL-2.0
/*
 * Raw io_uring (io_uring_setup, mmap, io_uring_enter) for the zero-copy
 * send tests: one submission, then its completions in order.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/io_uring.h>
#include "uring.h"

int uring_open(struct uring *u)
{
	struct io_uring_params p;

	memset(u, 0, sizeof(*u));
	memset(&p, 0, sizeof(p));
	u->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (u->fd < 0)
		return -errno;
	u->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	u->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
	u->sq = mmap(NULL, u->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		     IORING_OFF_SQ_RING);
	u->cq = mmap(NULL, u->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		     IORING_OFF_CQ_RING);
	u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, u->fd,
		       IORING_OFF_SQES);
	if (u->sq == MAP_FAILED || u->cq == MAP_FAILED || u->sqes == MAP_FAILED) {
		int err = -errno;

		uring_close(u);
		return err;
	}
	u->sq_tail = (unsigned int *)((char *)u->sq + p.sq_off.tail);
	u->sq_mask = (unsigned int *)((char *)u->sq + p.sq_off.ring_mask);
	u->sq_array = (unsigned int *)((char *)u->sq + p.sq_off.array);
	u->cq_head = (unsigned int *)((char *)u->cq + p.cq_off.head);
	u->cq_tail = (unsigned int *)((char *)u->cq + p.cq_off.tail);
	u->cq_mask = (unsigned int *)((char *)u->cq + p.cq_off.ring_mask);
	u->cqes = (char *)u->cq + p.cq_off.cqes;
	return 0;
}

void uring_close(struct uring *u)
{
	if (u->sq && u->sq != MAP_FAILED)
		munmap(u->sq, u->sq_len);
	if (u->cq && u->cq != MAP_FAILED)
		munmap(u->cq, u->cq_len);
	if (u->sqes && u->sqes != MAP_FAILED)
		munmap(u->sqes, u->sqes_len);
	if (u->fd > 0)
		close(u->fd);
	memset(u, 0, sizeof(*u));
}

/* The next completion, waiting for it. */
static int next_cqe(struct uring *u, struct io_uring_cqe *out)
{
	unsigned int head = *u->cq_head;

	while (head == __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE)) {
		if (syscall(__NR_io_uring_enter, u->fd, 0, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0 &&
		    errno != EINTR)
			return -errno;
	}
	*out = ((struct io_uring_cqe *)u->cqes)[head & *u->cq_mask];
	__atomic_store_n(u->cq_head, head + 1, __ATOMIC_RELEASE);
	return 0;
}

int uring_send_zc(struct uring *u, int fd, const void *buf, size_t len, const struct msghdr *msg,
		  bool *more)
{
	unsigned int tail = *u->sq_tail, i = tail & *u->sq_mask;
	struct io_uring_sqe *sqe = (struct io_uring_sqe *)u->sqes + i;
	struct io_uring_cqe cqe;
	int err;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = msg ? IORING_OP_SENDMSG_ZC : IORING_OP_SEND_ZC;
	sqe->fd = fd;
	sqe->addr = msg ? (uintptr_t)msg : (uintptr_t)buf;
	sqe->len = msg ? 1 : len;
	u->sq_array[i] = i;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	if (syscall(__NR_io_uring_enter, u->fd, 1, 0, 0, NULL, 0) != 1)
		return -errno;
	err = next_cqe(u, &cqe);
	if (err)
		return err;
	*more = cqe.flags & IORING_CQE_F_MORE;
	return cqe.res;
}
