// SPDX-License-Identifier: GPL-2.0
/*
 * Which process a run's command is: named by a pidfd the caller passes with
 * its request (SCM_RIGHTS), never by a pid number alone. A number is freed
 * when its process is reaped and may be given to any other process, so the
 * checks (a live child of the caller) and the move into the run's cgroup are
 * made for the number the pidfd holds, and the pidfd is asked after the move
 * whether that process is still unreaped: if it is, the number named it
 * all along. cgroup.procs takes numbers only, hence the check after.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "log.h"
#include "runpid.h"
#include "util.h"

int dm_proc_stat(int pid, int *ppid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	int fd, i;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may hold anything, even ") " */
	if (!p)
		return -EIO;
	/* Fields after comm: state ppid ... starttime is the 20th of them. */
	p += 2;
	for (i = 0; i < 19 && p; i++) {
		if (i == 1)
			*ppid = atoi(p);
		p = strchr(p, ' ');
		p = p ? p + 1 : NULL;
	}
	if (!p)
		return -EIO;
	*start = strtoull(p, NULL, 10);
	return 0;
}

/* The "Pid:" of a pidfd's fdinfo: -1 once reaped, -ENOTTY for an fd that is no pidfd. */
static int pidfd_pid(int pidfd)
{
	char path[64], *text = NULL, *p;
	int pid;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	if (tw_read_file(path, &text, NULL))
		return -EBADF;
	p = strstr(text, "\nPid:");
	pid = p ? atoi(p + 5) : -ENOTTY;
	free(text);
	return pid;
}

/* Not yet reaped: its number is still its own. */
static bool pidfd_alive(int pidfd)
{
	return !syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0);
}

int dm_pidfd_child(int pidfd, int parent, char *why, size_t len)
{
	unsigned long long start;
	int pid, ppid = 0;

	if (pidfd < 0) {
		snprintf(why, len, "\"run\" needs the command's pidfd passed with the request "
			 "(SCM_RIGHTS): a pid number alone may be reused");
		return -EINVAL;
	}
	pid = pidfd_pid(pidfd);
	if (pid == -ENOTTY || pid == -EBADF) {
		snprintf(why, len, "the descriptor passed with \"run\" is not a pidfd");
		return -EINVAL;
	}
	if (pid <= 0 || !pidfd_alive(pidfd)) {
		snprintf(why, len, "the command's process (its pidfd) has exited");
		return -ESRCH;
	}
	if (dm_proc_stat(pid, &ppid, &start) || ppid != parent || !pidfd_alive(pidfd)) {
		snprintf(why, len, "the pidfd must name a waiting child of the caller (pid %d)", parent);
		return -EPERM;
	}
	return pid;
}

static int write_pid(const char *procs, int pid)
{
	char txt[16];
	int fd = open(procs, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	snprintf(txt, sizeof(txt), "%d", pid);
	if (write(fd, txt, strlen(txt)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int dm_pidfd_move(int pidfd, int pid, const char *procs, const char *back_procs, char *why,
		  size_t len)
{
	int err = write_pid(procs, pid);

	if (!err && pidfd_alive(pidfd))
		return 0;
	if (!err) {
		/* Reaped between the checks and the move: whatever has the number now is not ours. */
		write_pid(back_procs, pid);
		tw_warn("run: pid %d was reaped while it was moved into %s; moved back", pid, procs);
		err = -ESRCH;
	}
	snprintf(why, len, "cannot move pid %d into %s: %s", pid, procs,
		 err == -ESRCH ? "the command exited (its pidfd) during the move" : strerror(-err));
	return err;
}
