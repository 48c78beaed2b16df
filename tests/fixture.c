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

static bool daemon_exited(struct fx *f, int timeout_ms)
{
	int i;

	for (i = 0; i <= timeout_ms / 20; i++) {
		if (waitpid(f->daemon, &f->daemon_status, WNOHANG) == f->daemon) {
			f->daemon = 0;
			return true;
		}
		if (i < timeout_ms / 20)
			usleep(20 * 1000);
	}
	return false;
}

int fx_start(struct fx *f, const char *const *extra)
{
	const char *argv[32];
	char bin[PATH_MAX];
	int n = 0, i, fd;

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

	f->daemon = fork();
	if (f->daemon < 0)
		return -errno;
	if (!f->daemon) {
		fd = open(f->daemon_out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		if (f->own_cgroupns && (fx_move(f, f->own_cgroupns, getpid()) || unshare(CLONE_NEWCGROUP)))
			_exit(126);
		execv(bin, (char **)argv);
		_exit(127);
	}
	/* Ready when it answers status; bounded at 15 s. */
	for (i = 0; i < 150; i++) {
		json_t *r = NULL;

		/* Ready when it enforces: status says "starting" until then. */
		if (!tw_ctl_call(f->sock, json_pack("{s:s}", "cmd", "status"), &r, 1000) &&
		    !strcmp(json_string_value(json_object_get(r, "state")) ?: "", "running")) {
			json_decref(r);
			return 0;
		}
		json_decref(r);
		if (daemon_exited(f, 100))
			return 1;
	}
	return -ETIMEDOUT;
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
	if (!daemon_exited(f, 10000)) {
		printf("    tierwalld did not stop within 10 s of SIGTERM; killing it\n");
		kill(f->daemon, SIGKILL);
		daemon_exited(f, 5000);
		f->daemon_status = -1;
	}
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
	fx_stop(f);
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
	return !tw_lsm_usable(why, len);
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

/* ---- reading the event log ---- */

/* The first (or, with last, the newest) event match says yes to; count counts them all. */
static json_t *scan_log(struct fx *f, bool (*match)(json_t *, const void *), const void *arg,
			int *count, bool last)
{
	char path[PATH_MAX * 2], *line = NULL;
	json_t *found = NULL;
	size_t cap = 0;
	FILE *l;

	snprintf(path, sizeof(path), "%s/events.jsonl", f->log_dir);
	l = fopen(path, "r");
	if (!l)
		return NULL;
	while (getline(&line, &cap, l) > 0) {
		json_t *o = json_loads(line, 0, NULL);

		if (o && match(o, arg)) {
			if (count)
				(*count)++;
			if (!found || last) {
				json_decref(found);
				found = o;
				continue;
			}
		}
		json_decref(o);
	}
	free(line);
	fclose(l);
	return found;
}

json_t *fx_last_event(struct fx *f, bool (*match)(json_t *, const void *), const void *arg)
{
	return scan_log(f, match, arg, NULL, true);
}

struct ev_key {
	pid_t pid;
	int port;
	const char *kind;
	const char *event;
};

static bool match_pid_port(json_t *o, const void *arg)
{
	const struct ev_key *k = arg;

	return json_integer_value(json_object_get(o, "pid")) == k->pid &&
	       json_integer_value(json_object_get(json_object_get(o, "dst"), "port")) == k->port;
}

static bool match_kind_pid(json_t *o, const void *arg)
{
	const struct ev_key *k = arg;
	const char *kind = json_string_value(json_object_get(o, "kind"));

	return kind && !strcmp(kind, k->kind) &&
	       (!k->pid || json_integer_value(json_object_get(o, "pid")) == k->pid);
}

static bool match_daemon(json_t *o, const void *arg)
{
	const struct ev_key *k = arg;
	const char *e = json_string_value(json_object_get(o, "event"));

	return e && !strcmp(e, k->event);
}

json_t *fx_event(struct fx *f, pid_t pid, int port)
{
	struct ev_key k = { .pid = pid, .port = port };
	json_t *o;
	int i;

	/* The daemon drains the ring buffer every 50 ms; allow it 5 s. */
	for (i = 0; i < 100; i++) {
		o = scan_log(f, match_pid_port, &k, NULL, false);
		if (o)
			return o;
		usleep(50 * 1000);
	}
	return NULL;
}

int fx_count_events(struct fx *f, const char *kind, pid_t pid)
{
	struct ev_key k = { .pid = pid, .kind = kind };
	int n = 0;

	json_decref(scan_log(f, match_kind_pid, &k, &n, false));
	return n;
}

int fx_wait_events(struct fx *f, const char *kind, pid_t pid, int n)
{
	int i, got = 0;

	for (i = 0; i < 100; i++) {
		got = fx_count_events(f, kind, pid);
		if (got >= n)
			break;
		usleep(50 * 1000);
	}
	return got;
}

json_t *fx_event_kind(struct fx *f, const char *kind, pid_t pid)
{
	struct ev_key k = { .pid = pid, .kind = kind };
	json_t *o;
	int i;

	for (i = 0; i < 100; i++) {
		o = scan_log(f, match_kind_pid, &k, NULL, false);
		if (o)
			return o;
		usleep(50 * 1000);
	}
	return NULL;
}

json_t *fx_daemon_event(struct fx *f, const char *what)
{
	struct ev_key k = { .event = what };

	return scan_log(f, match_daemon, &k, NULL, false);
}
