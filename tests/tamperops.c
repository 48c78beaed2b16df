// SPDX-License-Identifier: GPL-2.0
/*
 * What a tiered child does to switch tierwall off or step around it, for
 * the self-protection tests (test_protect.c): each returns 0 or -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "ctl.h"
#include "fileops.h"
#include "sockets.h"
#include "util.h"
#include "tamperops.h"

int tw_write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int op_write(void *a)
{
	struct fop *x = a;
	char num[16];

	snprintf(num, sizeof(num), "%ld", x->arg);
	return tw_write_text(x->path, num);
}

int op_open_wr(void *a)
{
	((struct fop *)a)->flags = O_WRONLY | O_CLOEXEC;
	return op_open(a);
}

int op_open_rd(void *a)
{
	((struct fop *)a)->flags = O_RDONLY | O_CLOEXEC;
	return op_open(a);
}

int op_chown(void *a) { return chown(((struct fop *)a)->path, 0, 0) ? -errno : 0; }

/* clone3(CLONE_INTO_CGROUP) into path (a cgroup directory): the raw syscall. */
int op_clone3(void *a)
{
	struct fop *x = a;
	struct clone_args args = { .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD };
	int cg = open(x->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long pid;

	if (cg < 0)
		return -1000;
	args.cgroup = cg;
	pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		_exit(0);
	close(cg);
	if (pid < 0)
		return -errno;
	waitpid(pid, NULL, 0);
	return 0;
}

int op_bpf(void *a)
{
	__u32 next;

	/* ENOENT (no map at all) still means the call was let through. */
	return bpf_map_get_next_id(0, &next) && errno != ENOENT ? -errno : 0;
}

int op_kill(void *a)
{
	struct fop *x = a;

	return kill(x->pid, x->arg) ? -errno : 0;
}

/* F_SETOWN + F_SETSIG + O_ASYNC: data on the pipe signals the owner. */
int op_sigio(void *a)
{
	struct fop *x = a;
	int p[2];

	if (pipe(p) || fcntl(p[0], F_SETOWN, x->pid) || fcntl(p[0], F_SETSIG, (int)x->arg) ||
	    fcntl(p[0], F_SETFL, O_ASYNC))
		return -1000;
	return write(p[1], "x", 1) == 1 ? 0 : -errno;
}

int op_ptrace(void *a)
{
	struct fop *x = a;

	if (ptrace(PTRACE_SEIZE, x->pid, NULL, NULL))
		return -errno;
	ptrace(PTRACE_DETACH, x->pid, NULL, NULL);
	return 0;
}

int op_vm_readv(void *a)
{
	struct fop *x = a;
	static char src[8] = "secret", dst[8];
	struct iovec l = { dst, sizeof(dst) }, r = { src, sizeof(src) };

	/* The target is a fork of this test: the same address holds the same bytes. */
	return syscall(SYS_process_vm_readv, x->pid, &l, 1, &r, 1, 0) < 0 ? -errno : 0;
}

int op_proc_mem(void *a)
{
	struct fop *x = a;
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", x->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int op_pidfd_getfd(void *a)
{
	struct fop *x = a;
	int pidfd = syscall(SYS_pidfd_open, x->pid, 0), fd;

	if (pidfd < 0)
		return -1000;
	fd = syscall(SYS_pidfd_getfd, pidfd, 0, 0);
	close(pidfd);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* chattr +a: through a descriptor opened only to read. */
int op_chattr(void *a)
{
	int fd = open(((struct fop *)a)->path, O_RDONLY | O_CLOEXEC), flags = 0, err = 0;

	if (fd < 0 || ioctl(fd, FS_IOC_GETFLAGS, &flags))
		return -1000;
	flags ^= FS_APPEND_FL;
	if (ioctl(fd, FS_IOC_SETFLAGS, &flags))
		err = -errno;
	else
		flags ^= FS_APPEND_FL, ioctl(fd, FS_IOC_SETFLAGS, &flags);	/* and back */
	close(fd);
	return err;
}

/* mount(2) of fstype (x->path2: "bpf", "tmpfs") on x->path. */
int op_mount(void *a)
{
	struct fop *x = a;

	return mount(x->path2, x->path, x->path2, 0, NULL) ? -errno : 0;
}

int op_umount(void *a) { return umount2(((struct fop *)a)->path, 0) ? -errno : 0; }

/* fsopen() + fsconfig() + fsmount() + move_mount() of fstype x->path2 onto x->path. */
int op_fsmount(void *a)
{
	struct fop *x = a;
	int fs, mnt, err;

	fs = syscall(SYS_fsopen, x->path2, 0);
	if (fs < 0)
		return -1000;
	if (syscall(SYS_fsconfig, fs, 6 /* FSCONFIG_CMD_CREATE */, NULL, NULL, 0)) {
		close(fs);
		return -1001;
	}
	mnt = syscall(SYS_fsmount, fs, 0, 0);
	close(fs);
	if (mnt < 0)
		return -1002;
	err = syscall(SYS_move_mount, mnt, "", AT_FDCWD, x->path, 4 /* MOVE_MOUNT_F_EMPTY_PATH */) ?
	      -errno : 0;
	close(mnt);
	return err;
}

/* In a mount namespace of its own (made private): a container's view, not the daemon's. */
int op_private_mount(void *a)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return -errno;
	return op_mount(a);
}

int op_pivot_root(void *a)
{
	struct fop *x = a;

	return syscall(SYS_pivot_root, x->path, x->path) ? -errno : 0;
}

/* net.* sysctls of a network namespace of its own are its own. */
int op_netns_sysctl(void *a)
{
	if (unshare(CLONE_NEWNET))
		return -1000;
	return op_open_wr(a);
}

int op_finit_module(void *a)
{
	struct fop *x = a;
	int fd = open(x->path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -1000;
	err = syscall(SYS_finit_module, fd, "", 0) ? -errno : 0;
	close(fd);
	return err;
}

int op_init_module(void *a)
{
	static char junk[512] = "not an ELF object";

	return syscall(SYS_init_module, junk, sizeof(junk), "") ? -errno : 0;
}

int op_kexec_file(void *a)
{
	struct fop *x = a;
	int fd = open(x->path, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return -1000;
	err = syscall(SYS_kexec_file_load, fd, -1, 1, "", 2 /* KEXEC_FILE_NO_INITRAMFS */) ? -errno : 0;
	close(fd);
	return err;
}

/* Receive one descriptor and write "0" to it; -EPERM if the kernel dropped it. */
int op_recv_write(void *a)
{
	struct fop *x = a;
	char dummy, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *c;
	int fd;

	if (recvmsg(x->sock, &m, 0) != 1)
		return -1000;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return (m.msg_flags & MSG_CTRUNC) ? -EPERM : -1001;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return write(fd, "0", 1) == 1 ? 0 : -errno;
}
