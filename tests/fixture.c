// SPDX-License-Identifier: GPL-2.0
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
#include <sys/wait.h>
#include <sys/pidfd.h>
#include <sys/un.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/utsname.h>
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
#include "util.h"

static int instance;

int fx_port(int n)
{
	return 20000 + (getpid() % 2000) * 16 + n;
}

int fx_mkcg(struct fx *f, const char *rel)
{
	char path[PATH_MAX * 2], *p;

	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	/* mkdir -p */
	for (p = path + strlen(f->root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0755) && errno != EEXIST ? -errno : 0;
}

void fx_cg_display(struct fx *f, const char *rel, char *out, size_t len)
{
	char mnt[PATH_MAX];

	tw_cgroup2_mount(mnt, sizeof(mnt));
	snprintf(out, len, "%s/%s", f->root + strlen(mnt), rel);
}

int fx_init(struct fx *f, const char *const *cgroups)
{
	char mnt[PATH_MAX];
	int err;

	memset(f, 0, sizeof(*f));
	err = tw_cgroup2_mount(mnt, sizeof(mnt));
	if (err)
		return err;
	instance++;
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/tw-test-%d-%d", getpid(), instance);
	snprintf(f->root, sizeof(f->root), "%s/tw-test-%d-%d", mnt, getpid(), instance);
	snprintf(f->sock, sizeof(f->sock), "%s/ctl.sock", f->tmp);
	snprintf(f->log_dir, sizeof(f->log_dir), "%s/log", f->tmp);
	snprintf(f->pin, sizeof(f->pin), "/sys/fs/bpf/tw-test-%d-%d", getpid(), instance);
	snprintf(f->policy, sizeof(f->policy), "%s/policy.json", f->tmp);
	snprintf(f->state, sizeof(f->state), "%s/state", f->tmp);
	snprintf(f->daemon_out, sizeof(f->daemon_out), "%s/daemon.out", f->tmp);
	if (mkdir(f->tmp, 0700) || mkdir(f->root, 0755))
		return -errno;
	for (; cgroups && *cgroups; cgroups++) {
		err = fx_mkcg(f, *cgroups);
		if (err)
			return err;
	}
	return 0;
}

int fx_write_policy(struct fx *f, const char *text)
{
	FILE *p = fopen(f->policy, "w");

	if (!p)
		return -errno;
	fputs(text, p);
	return fclose(p) ? -errno : 0;
}

#define START_MS	120000	/* last resort: a TCG guest on a busy host loads BPF LSM slowly */
#define STOP_MS		60000

/* Has our daemon exited (reaped) within timeout_ms? Woken by its pidfd, not by polling. */
static bool daemon_exited(struct fx *f, int timeout_ms)
{
	long long end = fx_now_ms() + timeout_ms;
	struct pollfd p = { .fd = pidfd_open(f->daemon, 0), .events = POLLIN };
	bool gone = false;

	for (;;) {
		if (waitpid(f->daemon, &f->daemon_status, WNOHANG) == f->daemon) {
			f->daemon = 0;
			gone = true;
			break;
		}
		if (fx_now_ms() >= end)
			break;
		/* Without a pidfd (an old kernel) look again every 20 ms. */
		poll(&p, 1, p.fd < 0 ? 20 : (int)(end - fx_now_ms()));
	}
	if (p.fd >= 0)
		close(p.fd);
	return gone;
}

/* The fixture's NOTIFY_SOCKET (kept open: the daemon says STOPPING=1 at exit). */
static int notify_listen(struct fx *f, char *path, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char junk[256];

	snprintf(path, len, "%s/notify.sock", f->tmp);
	if (f->notify_fd > 0) {
		while (recv(f->notify_fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;	/* an earlier daemon's STOPPING=1 */
		return 0;
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	f->notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f->notify_fd < 0)
		return -errno;
	unlink(path);
	if (bind(f->notify_fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(f->notify_fd);
		f->notify_fd = 0;
		return -errno;
	}
	return 0;
}

/* READY=1 arrives once enforcement is complete: 0, 1 if the daemon exited first, or -ETIMEDOUT. */
/* The last-resort bound on readiness: START_MS unless the test says otherwise. */
static int start_ms(const struct fx *f)
{
	return fx_timeout_ms(f->start_timeout_s ? f->start_timeout_s * 1000 : START_MS);
}

static int wait_notified(struct fx *f)
{
	long long end = fx_now_ms() + start_ms(f);
	struct pollfd p[2] = { { .fd = f->notify_fd, .events = POLLIN },
			       { .fd = pidfd_open(f->daemon, 0), .events = POLLIN } };
	char msg[256];
	int err = -ETIMEDOUT;
	ssize_t n;

	while (fx_now_ms() < end) {
		poll(p, 2, p[1].fd < 0 ? 100 : (int)(end - fx_now_ms()));
		n = recv(f->notify_fd, msg, sizeof(msg) - 1, MSG_DONTWAIT);
		if (n > 0) {
			msg[n] = '\0';
			if (strstr(msg, "READY=1")) {
				err = 0;
				break;
			}
		}
		if (daemon_exited(f, 0)) {
			err = 1;
			break;
		}
	}
	if (p[1].fd >= 0)
		close(p[1].fd);
	return err;
}

/* The test has its own NOTIFY_SOCKET: ready when status says "running" (not "starting"). */
static int wait_running(struct fx *f)
{
	long long end = fx_now_ms() + start_ms(f);
	json_t *req = json_pack("{s:s}", "cmd", "status"), *r;
	int err = -ETIMEDOUT;

	while (fx_now_ms() < end) {
		r = NULL;
		if (!tw_ctl_call(f->sock, req, &r, 1000) &&
		    !strcmp(json_string_value(json_object_get(r, "state")) ?: "", "running"))
			err = 0;
		json_decref(r);
		if (!err)
			break;
		if (daemon_exited(f, 100)) {
			err = 1;
			break;
		}
	}
	json_decref(req);
	return err;
}

int fx_start(struct fx *f, const char *const *extra)
{
	const char *argv[32];
	char bin[PATH_MAX], notify[PATH_MAX + 16];
	bool own_notify = !getenv("NOTIFY_SOCKET");
	int n = 0, fd, err;
	long long t0;

	snprintf(bin, sizeof(bin), "%s/tierwalld", tw_build_dir);
	argv[n++] = bin;
	argv[n++] = "--policy";
	argv[n++] = f->policy;
	argv[n++] = "--cgroup-root";
	argv[n++] = f->root;
	argv[n++] = "--log-dir";
	argv[n++] = f->log_dir;
	argv[n++] = "--pin-dir";
	argv[n++] = f->pin;
	argv[n++] = "--socket";
	argv[n++] = f->sock;
	argv[n++] = "--state-dir";
	argv[n++] = f->state;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	if (own_notify && (err = notify_listen(f, notify, sizeof(notify))))
		return err;

	t0 = fx_now_ms();
	tw_costs.starts++;
	f->daemon = fork();
	if (f->daemon < 0)
		return -errno;
	if (!f->daemon) {
		fd = open(f->daemon_out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		if (f->own_cgroupns && (fx_move(f, f->own_cgroupns, getpid()) || unshare(CLONE_NEWCGROUP)))
			_exit(126);
		if (f->in_cgroup && fx_move(f, f->in_cgroup, getpid()))
			_exit(126);
		if (own_notify)
			setenv("NOTIFY_SOCKET", notify, 1);
		execv(bin, (char **)argv);
		_exit(127);
	}
	err = own_notify ? wait_notified(f) : wait_running(f);
	tw_costs.start_s += (fx_now_ms() - t0) / 1000.0;
	return err;
}

bool fx_started(struct fx *f, const char *const *extra)
{
	char out[4096] = "";
	int err = fx_start(f, extra);

	if (err) {
		fx_sh(out, sizeof(out), "tail -c 3000 %s", f->daemon_out);
		TW_FAILED("tierwalld did not start (%d): %s", err, out);
	}
	return !err;
}

int fx_stop(struct fx *f)
{
	long long t0;
	pid_t pid;

	if (!f->daemon)
		return f->daemon_status;
	/* Only ever signal our own live child, never a pid that may have been reused. */
	pid = waitpid(f->daemon, &f->daemon_status, WNOHANG);
	if (pid == f->daemon || (pid < 0 && errno == ECHILD)) {
		if (pid < 0)
			printf("    fx_stop: pid %d is not a child of the tests; not signalled\n", f->daemon);
		f->daemon = 0;
		return pid < 0 ? -1 : f->daemon_status;
	}
	kill(f->daemon, SIGTERM);
	t0 = fx_now_ms();
	tw_costs.stops++;
	if (!daemon_exited(f, fx_timeout_ms(STOP_MS))) {
		printf("    tierwalld did not stop within %d s of SIGTERM; killing it\n",
		       fx_timeout_ms(STOP_MS) / 1000);
		kill(f->daemon, SIGKILL);
		daemon_exited(f, 5000);
		f->daemon_status = -1;
	}
	tw_costs.stop_s += (fx_now_ms() - t0) / 1000.0;
	return f->daemon_status;
}

static int rm_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	/* cgroup directories go with rmdir; their control files cannot be unlinked. */
	if (type == FTW_DP)
		rmdir(path);
	else if (strncmp(path, "/sys/fs/cgroup", 14))
		unlink(path);
	return 0;
}

void fx_cleanup(struct fx *f)
{
	if (!f->tmp[0])
		return;
	if (f->borrowed) {
		/*
		 * A slot: its cgroups go, the shared daemon and its files stay.
		 * Its decisions are logged first, while their cgroups still have names.
		 */
		fx_drain(f);
		nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
		f->tmp[0] = '\0';
		return;
	}
	fx_stop(f);
	if (f->notify_fd > 0)
		close(f->notify_fd);
	f->notify_fd = 0;
	if (f->root[0])
		nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	nftw(f->pin, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	nftw(f->tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	f->tmp[0] = '\0';
}

/* ---- acting from inside cgroups ---- */

static int child_result(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void join_or_die(struct fx *f, const char *rel)
{
	char path[PATH_MAX * 2];

	if (!rel)
		return;
	snprintf(path, sizeof(path), "%s/%s", f->root, rel);
	if (tw_join_cgroup(path))
		_exit(200);
}

int fx_do(struct fx *f, const char *rel, int (*fn)(void *), void *arg, pid_t *pid)
{
	pid_t c;

	fflush(stdout);
	c = fork();
	if (c < 0)
		return -1;
	if (!c) {
		join_or_die(f, rel);
		_exit(-fn(arg));
	}
	if (pid)
		*pid = c;
	return child_result(c);
}

bool fx_lsm_usable(char *why, size_t len)
{
	/* Asked once per run: the kernel's answer cannot change, and under TCG it costs seconds. */
	static char reason[256];
	static int err = 1;

	if (err == 1)
		err = tw_lsm_usable(reason, sizeof(reason));
	snprintf(why, len, "%s", err ? reason : "");
	return !err;
}

bool fx_lsm_ready(void)
{
	char why[256];

	if (geteuid()) {
		tw_test_skip("needs root");
		return false;
	}
	if (!fx_lsm_usable(why, sizeof(why))) {
		tw_test_skip("BPF LSM cannot be used on this kernel (%s); tests/vm runs these in QEMU guests",
			     why);
		return false;
	}
	return true;
}

char fx_proc_state(pid_t pid)
{
	char path[64], *stat = NULL, *p, state = 0;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (tw_read_file(path, &stat, NULL))
		return 0;
	p = strrchr(stat, ')');
	if (p && p[1] == ' ')
		state = p[2];
	free(stat);
	return state;
}

int fx_guest_modules(void)
{
	char order[PATH_MAX];
	struct utsname u;

	uname(&u);
	snprintf(order, sizeof(order), "/lib/modules/%s/order", u.release);
	if (access(order, F_OK))
		return -ENOENT;
	/* Already loaded ones fail to load again: callers check what they need after. */
	fx_sh(NULL, 0, "cd /lib/modules/%s && for m in $(cat order); do case $m in "
		       "*.xz) unxz -c $m > /tmp/tw-mod.ko && insmod /tmp/tw-mod.ko ;; *) insmod $m ;; esac; "
		       "done; rm -f /tmp/tw-mod.ko", u.release);
	return 0;
}

int fx_cgroup_progs(const char *cgroup_dir)
{
	__u32 cnt = 0;
	int fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY), err;

	if (fd < 0)
		return -errno;
	err = bpf_prog_query(fd, BPF_CGROUP_INET4_CONNECT, 0, NULL, NULL, &cnt);
	close(fd);
	return err ? -errno : (int)cnt;
}

int fx_move(struct fx *f, const char *rel, pid_t pid)
{
	char path[PATH_MAX * 2], num[16];
	int fd, n, err = 0;

	snprintf(path, sizeof(path), "%s/%s/cgroup.procs", f->root, rel);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = snprintf(num, sizeof(num), "%d", pid);
	if (write(fd, num, n) != n)
		err = -errno;
	close(fd);
	return err;
}

int fx_do_moved(struct fx *f, const char *rel, const char *to_rel, int (*before)(void *),
		int (*after)(void *), void *arg, pid_t *pid)
{
	int ready[2], go[2], r;
	char b = 0;
	pid_t c;

	if (pipe2(ready, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		return -1;
	fflush(stdout);
	c = fork();
	if (c < 0)
		return -1;
	if (!c) {
		join_or_die(f, rel);
		r = before(arg);
		if (r)
			_exit(-r);
		/* A tiered process may not leave its tier by itself: the parent moves it. */
		if (write(ready[1], &b, 1) != 1 || read(go[0], &b, 1) != 1 || b != 1)
			_exit(205);
		_exit(-after(arg));
	}
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], &b, 1) == 1) {
		b = !fx_move(f, to_rel, c);
		if (write(go[1], &b, 1) != 1)
			b = 0;
	}
	close(ready[0]);
	close(go[1]);
	if (pid)
		*pid = c;
	return child_result(c);
}

int fx_net(struct fx *f, const char *rel, int op, const char *addr, int port, pid_t *pid)
{
	return fx_net_moved(f, rel, rel, op, addr, port, pid);
}

struct net_call {
	int op, fd;
	struct sockaddr_storage ss;
	socklen_t len;
};

static int net_socket(void *arg)
{
	struct net_call *n = arg;

	n->fd = tw_op_socket(n->op, n->ss.ss_family);
	return n->fd < 0 ? -202 : 0;
}

static int net_call(void *arg)
{
	struct net_call *n = arg;

	return tw_op_run(n->fd, n->op, (struct sockaddr *)&n->ss, n->len);
}

static int net_here(void *arg)
{
	int err = net_socket(arg);

	return err ? err : net_call(arg);
}

int fx_net_moved(struct fx *f, const char *create_rel, const char *call_rel, int op,
		 const char *addr, int port, pid_t *pid)
{
	struct net_call n = { .op = op };

	if (tw_sockaddr(addr, port, &n.ss, &n.len))
		return 201;
	if (call_rel == create_rel)
		return fx_do(f, create_rel, net_here, &n, pid);
	return fx_do_moved(f, create_rel, call_rel, net_socket, net_call, &n, pid);
}

int fx_net_passed(struct fx *f, const char *create_rel, const char *call_rel, int op,
		  const char *addr, int port, pid_t *caller)
{
	struct sockaddr_storage ss;
	socklen_t len;
	pid_t creator, c;
	int sv[2], fd, r;

	if (tw_sockaddr(addr, port, &ss, &len) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	fflush(stdout);
	creator = fork();
	if (!creator) {
		join_or_die(f, create_rel);
		fd = tw_op_socket(op, ss.ss_family);
		_exit(fd < 0 || tw_send_fd(sv[0], fd) ? 203 : 0);
	}
	c = fork();
	if (!c) {
		join_or_die(f, call_rel);
		fd = tw_recv_fd(sv[1]);
		if (fd < 0)
			_exit(204);
		_exit(-tw_op_run(fd, op, (struct sockaddr *)&ss, len));
	}
	close(sv[0]);
	close(sv[1]);
	r = child_result(creator);
	if (caller)
		*caller = c;
	return r ? -1 : child_result(c);
}
