// SPDX-License-Identifier: GPL-2.0
/*
 * Self-protection: a tiered root process tries to switch tierwall off or
 * step around it, and gets EPERM and a tamper event; an untagged root
 * process doing the same succeeds. Like the secret-file tests, these run
 * where BPF LSM loads (the QEMU guests of tests/vm) and skip elsewhere.
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
#include "fixture.h"
#include "sockets.h"
#include "tamperops.h"
#include "test.h"
#include "util.h"

static const char *const cgs[] = {
	"agents/staging", "agents/staging/sub", "services/prod", "untagged", NULL
};

static bool protect_start(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	if (!fx_lsm_ready())
		return false;
	if (!ASSERT_OK(fx_init(f, cgs), "fixture"))
		return false;
	/* No secrets: self-protection does not depend on them. */
	fx_write_policy(f,
"{ \"version\": 1,\n"
"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ] }\n");
	return fx_started(f, NULL);
}

/* The tamper event of pid: deny, from staging, with this op. */
static json_t *tamper(struct fx *f, pid_t pid, const char *op)
{
	json_t *e = fx_event_kind(f, "tamper", pid);

	if (!ASSERT_TRUE(e != NULL, "tamper event in events.jsonl"))
		return NULL;
	ASSERT_STREQ(json_string_value(json_object_get(e, "op")), op, "event op");
	ASSERT_STREQ(json_string_value(json_object_get(e, "verdict")), "deny", "event verdict");
	ASSERT_STREQ(json_string_value(json_object_get(e, "tier")), "staging", "event tier");
	return e;
}

static void tamper_done(struct fx *f, pid_t pid, const char *op)
{
	json_decref(tamper(f, pid, op));
}

/* The same, and one of its fields as wanted. */
static void tamper_says(struct fx *f, pid_t pid, const char *op, const char *key, const char *want)
{
	json_t *e = tamper(f, pid, op);

	if (e)
		ASSERT_STREQ(json_string_value(json_object_get(e, key)), want, key);
	json_decref(e);
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* tierwalld still answers. */
static bool daemon_alive(struct fx *f)
{
	json_t *r = NULL;
	int err = tw_ctl_call(f->sock, json_pack("{s:s}", "cmd", "status"), &r, 2000);

	json_decref(r);
	return !err;
}

/* ---- what a child does (0 or -errno) ---- */

/* snprintf into buf, giving buf: where a struct fop's path points. */
#define FMT(buf, ...) (snprintf(buf, sizeof(buf), __VA_ARGS__), buf)

/* A process that waits to be looked at or signalled, in cgroup rel (NULL: here). */
static pid_t sleeper(struct fx *f, const char *rel)
{
	pid_t p = fork();

	if (!p) {
		if (rel && fx_move(f, rel, getpid()))
			_exit(1);
		pause();
		_exit(0);
	}
	return p;
}

static void sleeper_end(pid_t p)
{
	if (p > 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
	}
}

/* Which cgroup a process is in, relative to the fixture root (or the whole line). */
static void cgroup_of(pid_t pid, char *out, size_t len)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "sed -n 's/^0:://p' /proc/%d/cgroup", pid);
	fx_sh(out, len, "%s", cmd);
	out[strcspn(out, "\n")] = '\0';
}

/* ---- the tests ---- */

TEST(lsm_protect_cgroup_moves)
{
	char p[PATH_MAX * 2];
	char staging[PATH_MAX * 2], disp[PATH_MAX], before[PATH_MAX], after[PATH_MAX];
	struct fop x = {};
	struct fx f;
	json_t *e;
	pid_t pid;
	int sv[2], fd;

	if (!protect_start(&f))
		goto out;
	snprintf(staging, sizeof(staging), "%s/agents/staging", f.root);

	/* Moving itself out of its tier: into another tier, or into none. */
	x.path = FMT(p, "%s/services/prod/cgroup.procs", f.root);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_write, &x, &pid), EPERM, "staging joins prod");
	e = tamper(&f, pid, "cgroup_write");
	if (e) {
		fx_cg_display(&f, "services/prod", disp, sizeof(disp));
		ASSERT_STREQ(jstr(e, "target_cgroup"), disp, "event target_cgroup");
		ASSERT_STREQ(jstr(e, "target_tier"), "prod", "event target_tier");
		ASSERT_STREQ(jstr(e, "via"), "open", "event via");
		ASSERT_CONTAINS(jstr(e, "path"), "/services/prod/cgroup.procs", "event path");
	}
	json_decref(e);
	x.path = FMT(p, "%s/untagged/cgroup.procs", f.root);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_write, &x, &pid), EPERM, "staging joins an untagged cgroup");
	tamper_done(&f, pid, "cgroup_write");
	/* cgroup.threads: within a threaded subtree, thr/t, which staging is not part of. */
	x.path = FMT(p, "%s/thr/t/cgroup.type", f.root);
	if (ASSERT_OK(fx_mkcg(&f, "thr/t"), "threaded subtree") &&
	    ASSERT_OK(tw_write_text(x.path, "threaded"), "thr/t is threaded")) {
		x.path = FMT(p, "%s/thr/t/cgroup.threads", f.root);
		ASSERT_EQ(fx_do(&f, "agents/staging", op_write, &x, &pid), EPERM,
			  "staging's thread joins an untagged threaded cgroup");
		tamper_done(&f, pid, "cgroup_write");
		ASSERT_EQ(fx_do(&f, "thr", op_write, &x, NULL), 0, "an untagged thread does");
	}
	x.path = FMT(p, "%s/untagged/cgroup.freeze", f.root);
	x.arg = 1;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_write, &x, &pid), EPERM, "staging freezes another cgroup");
	tamper_done(&f, pid, "cgroup_write");
	/* From outside the cgroup: had it been frozen, whoever joined it would hang. */
	x.arg = 0;
	ASSERT_EQ(fx_do(&f, NULL, op_write, &x, NULL), 0, "untagged writes cgroup.freeze");

	/* chown or chmod of another cgroup's files: a way to gain write access above the tier. */
	x.path = FMT(p, "%s/untagged/cgroup.procs", f.root);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_chown, &x, &pid), EPERM, "staging chowns untagged's cgroup.procs");
	tamper_done(&f, pid, "cgroup_write");
	ASSERT_EQ(fx_do(&f, "untagged", op_chown, &x, NULL), 0, "untagged chowns it (to root again)");

	/* Pulling a process in from outside: tierwalld itself, to kill it with cgroup.kill. */
	cgroup_of(f.daemon, before, sizeof(before));
	x.path = FMT(p, "%s/agents/staging/sub/cgroup.procs", f.root);
	x.arg = f.daemon;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_write, &x, &pid), EPERM,
		  "root in staging pulls tierwalld into its own tier");
	tamper_says(&f, pid, "cgroup_write", "via", "migrate");
	cgroup_of(f.daemon, after, sizeof(after));
	ASSERT_STREQ(after, before, "tierwalld stayed where it was");

	/* Controls: an untagged root moves anywhere; a non-root staging process within its tier. */
	x.arg = 0;
	x.path = FMT(p, "%s/services/prod/cgroup.procs", f.root);
	ASSERT_EQ(fx_do(&f, "untagged", op_write, &x, NULL), 0, "untagged root joins prod");
	x.path = FMT(p, "%s/agents/staging/sub/cgroup.procs", f.root);
	fx_sh(NULL, 0, "chown 1000 %s/cgroup.procs %s/sub/cgroup.procs %s/sub", staging, staging, staging);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_write, &x, &pid), EPERM, "root in staging, same tier: refused");
	fflush(stdout);
	pid = fork();
	if (!pid) {
		if (fx_move(&f, "agents/staging", getpid()) || setresuid(1000, 1000, 1000))
			_exit(100);
		_exit(-op_write(&x));
	}
	ASSERT_TRUE(waitpid(pid, &fd, 0) == pid && WIFEXITED(fd), "non-root child exits");
	ASSERT_EQ(WEXITSTATUS(fd), 0, "a non-root staging process moves within its tier (delegated subtree)");

	/* clone3(CLONE_INTO_CGROUP): the hook sees no target, so tiered callers never get it. */
	x.path = FMT(p, "%s/untagged", f.root);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_clone3, &x, &pid), EPERM, "clone3 into an untagged cgroup");
	tamper_done(&f, pid, "clone_into_cgroup");
	ASSERT_EQ(fx_do(&f, "untagged", op_clone3, &x, NULL), 0, "untagged clone3 into a cgroup");

	/* A writable cgroup.procs passed over SCM_RIGHTS. */
	x.path = FMT(p, "%s/services/prod/cgroup.procs", f.root);
	fd = open(x.path, O_WRONLY | O_CLOEXEC);
	if (ASSERT_TRUE(fd >= 0, "untagged opens prod's cgroup.procs") &&
	    ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ? -errno : 0, "socketpair")) {
		ASSERT_OK(tw_send_fd(sv[0], fd), "sent");
		ASSERT_OK(tw_send_fd(sv[0], fd), "sent");
		x.sock = sv[1];
		ASSERT_EQ(fx_do(&f, "agents/staging", op_recv_write, &x, &pid), EPERM,
			  "staging receives it");
		e = tamper(&f, pid, "cgroup_write");
		if (e)
			ASSERT_STREQ(jstr(e, "via"), "receive", "event via");
		json_decref(e);
		ASSERT_EQ(fx_do(&f, "untagged", op_recv_write, &x, NULL), 0, "untagged receives and uses it");
		close(sv[0]);
		close(sv[1]);
	}
	if (fd >= 0)
		close(fd);
out:
	fx_cleanup(&f);
}

TEST(lsm_protect_bpf_and_signals)
{
	struct fop x = {};
	struct fx f;
	json_t *e;
	pid_t pid, target = -1;
	int st;

	if (!protect_start(&f))
		goto out;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_bpf, &x, &pid), EPERM, "bpf() from staging");
	e = tamper(&f, pid, "bpf");
	if (e)
		ASSERT_EQ(json_integer_value(json_object_get(e, "bpf_cmd")), BPF_MAP_GET_NEXT_ID, "bpf_cmd");
	json_decref(e);
	ASSERT_EQ(fx_do(&f, "untagged", op_bpf, &x, NULL), 0, "bpf() untagged");

	x.pid = f.daemon;
	x.arg = 0;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_kill, &x, &pid), EPERM, "kill(tierwalld, 0) from staging");
	e = tamper(&f, pid, "signal");
	if (e) {
		ASSERT_EQ(json_integer_value(json_object_get(e, "target_pid")), f.daemon, "target_pid");
		ASSERT_EQ(json_integer_value(json_object_get(e, "signal")), 0, "signal");
	}
	json_decref(e);
	x.arg = SIGTERM;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_kill, &x, &pid), EPERM, "kill(tierwalld, SIGTERM) from staging");
	tamper_done(&f, pid, "signal");
	x.arg = SIGKILL;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_sigio, &x, &pid), 0, "SIGKILL through F_SETSIG (write goes on)");
	tamper_says(&f, pid, "signal", "via", "sigio");
	ASSERT_TRUE(daemon_alive(&f), "tierwalld still answers");
	x.arg = 0;
	ASSERT_EQ(fx_do(&f, "untagged", op_kill, &x, NULL), 0, "kill(tierwalld, 0) untagged");

	/* The same F_SETSIG signal reaches anyone else: the control for the sigio refusal. */
	target = sleeper(&f, NULL);
	x.pid = target;
	x.arg = SIGTERM;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_sigio, &x, NULL), 0, "SIGTERM through F_SETSIG to a sleeper");
	ASSERT_EQ(waitpid(target, &st, 0), target, "the sleeper ended");
	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "by that signal");
	target = -1;
out:
	sleeper_end(target);
	fx_cleanup(&f);
}

TEST(lsm_protect_process_memory)
{
	static int (*const ops[])(void *) = { op_ptrace, op_vm_readv, op_proc_mem, op_pidfd_getfd };
	static const char *const names[] = { "ptrace attach", "process_vm_readv", "/proc/PID/mem",
					     "pidfd_getfd" };
	/* /proc/PID/mem reports the refusal as EACCES (mm_access); the rest as EPERM. */
	static const int errs[] = { EPERM, EPERM, EACCES, EPERM };
	pid_t outside = -1, own = -1, pid;
	struct fop x = {};
	char what[128];
	struct fx f;
	json_t *e;
	size_t i;

	if (!protect_start(&f))
		goto out;
	outside = sleeper(&f, "untagged");
	own = sleeper(&f, "agents/staging");
	for (i = 0; i < ARRAY_SIZE(ops); i++) {
		x.pid = outside;
		snprintf(what, sizeof(what), "%s of an untagged process from staging", names[i]);
		ASSERT_EQ(fx_do(&f, "agents/staging", ops[i], &x, &pid), errs[i], what);
		e = tamper(&f, pid, "ptrace");
		if (e) {
			ASSERT_EQ(json_integer_value(json_object_get(e, "target_pid")), outside, "target_pid");
			ASSERT_STREQ(jstr(e, "mode"), "attach", "mode");
			ASSERT_TRUE(json_is_null(json_object_get(e, "target_tier")), "target has no tier");
		}
		json_decref(e);
		snprintf(what, sizeof(what), "%s of an untagged process, untagged", names[i]);
		ASSERT_EQ(fx_do(&f, "untagged", ops[i], &x, NULL), 0, what);
		x.pid = own;
		snprintf(what, sizeof(what), "%s within staging", names[i]);
		ASSERT_EQ(fx_do(&f, "agents/staging", ops[i], &x, NULL), 0, what);
	}
	x.pid = f.daemon;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_vm_readv, &x, &pid), EPERM, "reading tierwalld's memory");
	tamper_done(&f, pid, "ptrace");
out:
	sleeper_end(outside);
	sleeper_end(own);
	fx_cleanup(&f);
}

TEST(lsm_protect_daemon_files)
{
	char p[PATH_MAX * 2], q[PATH_MAX * 2];
	char log[PATH_MAX * 2], tmp[PATH_MAX], buf[64];
	struct fop x = {};
	struct fx f;
	json_t *e;
	pid_t pid;
	int map = -1;

	if (!protect_start(&f))
		goto out;
	/* A pin of our own in the pin directory, to remove without detaching anything. */
	map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tw_test", 4, 4, 1, NULL);
	x.path = FMT(p, "%s/test-pin", f.pin);
	x.path2 = FMT(q, "%s/test-pin2", f.pin);
	if (!ASSERT_TRUE(map >= 0 && !bpf_obj_pin(map, x.path), "test pin"))
		goto out;
	ASSERT_EQ(fx_do(&f, "agents/staging", op_unlink, &x, &pid), EPERM, "unlink in the pin directory");
	e = tamper(&f, pid, "unlink");
	if (e)
		ASSERT_CONTAINS(jstr(e, "path"), "/test-pin", "event path");
	json_decref(e);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_rename, &x, &pid), EPERM, "rename in the pin directory");
	tamper_done(&f, pid, "rename");
	ASSERT_EQ(fx_do(&f, "untagged", op_rename, &x, NULL), 0, "untagged renames its pin");
	x.path = FMT(p, "%s/test-pin2", f.pin);
	ASSERT_EQ(fx_do(&f, "untagged", op_unlink, &x, NULL), 0, "untagged unlinks its pin");

	/* The log: overwritten, truncated, removed, or a symlink planted for the next rotation. */
	snprintf(log, sizeof(log), "%s/events.jsonl", f.log_dir);
	x.path = FMT(p, "%s", log);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_wr, &x, &pid), EPERM, "open the log for writing");
	tamper_done(&f, pid, "write");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_truncate, &x, &pid), EPERM, "truncate the log");
	tamper_done(&f, pid, "truncate");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_unlink, &x, &pid), EPERM, "unlink the log");
	tamper_done(&f, pid, "unlink");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_rd, &x, NULL), 0, "reading the log is not tampering");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_chattr, &x, &pid), EPERM, "chattr +a on the log");
	tamper_done(&f, pid, "setattr");
	x.path = FMT(p, "%s/planted", f.log_dir);
	x.path2 = FMT(q, "/etc/passwd");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_symlink, &x, &pid), EPERM, "a symlink in the log directory");
	tamper_done(&f, pid, "create");
	ASSERT_EQ(fx_do(&f, "untagged", op_symlink, &x, NULL), 0, "untagged makes one");
	ASSERT_EQ(fx_do(&f, "untagged", op_unlink, &x, NULL), 0, "and removes it");

	/* The control socket, the policy, and a directory above them all. */
	x.path = FMT(p, "%s", f.sock);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_unlink, &x, &pid), EPERM, "unlink the control socket");
	tamper_done(&f, pid, "unlink");
	x.path = FMT(p, "%s", f.policy);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_wr, &x, &pid), EPERM, "rewrite the policy");
	tamper_done(&f, pid, "write");
	x.path = FMT(p, "%s", f.tmp);
	snprintf(tmp, sizeof(tmp), "%s-moved", f.tmp);
	x.path2 = FMT(q, "%s", tmp);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_rename, &x, &pid), EPERM,
		  "rename a directory above the log and socket");
	tamper_done(&f, pid, "rename");
	ASSERT_TRUE(daemon_alive(&f), "tierwalld still answers on its socket");
	x.path = FMT(p, "%s/notes", f.tmp);
	ASSERT_OK(fx_sh(buf, sizeof(buf), "echo n > %s", x.path), "an ordinary file beside them");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_wr, &x, NULL), 0, "staging writes it");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_chattr, &x, NULL), 0, "chattr +a on it (and back)");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_unlink, &x, NULL), 0, "and removes it");
out:
	if (map >= 0)
		close(map);
	fx_cleanup(&f);
}

TEST(lsm_protect_mounts)
{
	char p[PATH_MAX * 2], q[PATH_MAX * 2];
	char dir[PATH_MAX * 2], bpfmnt[PATH_MAX * 2];
	struct fop x = {};
	struct fx f;
	pid_t pid;

	if (!protect_start(&f))
		goto out;
	snprintf(dir, sizeof(dir), "%s/mnt", f.tmp);
	snprintf(bpfmnt, sizeof(bpfmnt), "%s/bpfmnt", f.tmp);
	mkdir(dir, 0755);
	mkdir(bpfmnt, 0755);

	x.path = FMT(p, "%s", dir);
	x.path2 = FMT(q, "bpf");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_mount, &x, &pid), EPERM, "mount a bpffs");
	tamper_says(&f, pid, "mount", "reason", "bpffs");
	x.path2 = FMT(q, "tmpfs");
	x.path = FMT(p, "%s", f.log_dir);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_mount, &x, &pid), EPERM, "a tmpfs over the log directory");
	tamper_says(&f, pid, "mount", "reason", "daemon_path");
	x.path = FMT(p, "%s", f.pin);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_mount, &x, NULL), EPERM, "a tmpfs over the pin directory");
	x.path = FMT(p, "%s", f.log_dir);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_fsmount, &x, &pid), EPERM,
		  "fsopen + fsmount + move_mount of a tmpfs over the log directory");
	tamper_done(&f, pid, "move_mount");
	x.path = FMT(p, "%s", dir);
	x.path2 = FMT(q, "bpf");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_fsmount, &x, &pid), EPERM, "fsmount of a bpffs");
	tamper_done(&f, pid, "move_mount");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_pivot_root, &x, &pid), EPERM,
		  "pivot_root in tierwalld's mount namespace");
	tamper_done(&f, pid, "pivot_root");

	/* Controls: untagged mounts and unmounts; staging unmounts nobody's bpffs. */
	x.path2 = FMT(q, "tmpfs");
	ASSERT_EQ(fx_do(&f, "untagged", op_fsmount, &x, NULL), 0, "untagged fsmount of a tmpfs");
	ASSERT_EQ(fx_do(&f, "untagged", op_umount, &x, NULL), 0, "untagged umount");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_mount, &x, NULL), 0, "staging mounts a tmpfs elsewhere");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_umount, &x, NULL), 0, "and unmounts it");
	x.path = FMT(p, "%s", bpfmnt);
	x.path2 = FMT(q, "bpf");
	ASSERT_EQ(fx_do(&f, "untagged", op_mount, &x, NULL), 0, "untagged mounts a bpffs");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_umount, &x, &pid), EPERM, "staging unmounts a bpffs");
	tamper_done(&f, pid, "umount");
	ASSERT_EQ(fx_do(&f, "untagged", op_umount, &x, NULL), 0, "untagged unmounts it");

	/* A namespace of its own (a container's): its mounts are its own business. */
	x.path = FMT(p, "%s", f.log_dir);
	x.path2 = FMT(q, "tmpfs");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_private_mount, &x, NULL), 0,
		  "staging, in a private mount namespace, mounts over its view of the log directory");
	ASSERT_TRUE(daemon_alive(&f), "tierwalld still answers");
out:
	umount2(bpfmnt, MNT_DETACH);
	fx_cleanup(&f);
}

TEST(lsm_protect_kernel_exits)
{
	char p[PATH_MAX * 2];
	char junk[PATH_MAX * 2];
	struct fop x = {};
	struct fx f;
	pid_t pid;
	int r;

	if (!protect_start(&f))
		goto out;
	x.path = FMT(p, "/proc/sys/kernel/core_pattern");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_wr, &x, &pid), EPERM, "write core_pattern");
	tamper_says(&f, pid, "sysctl", "path", "/proc/sys/kernel/core_pattern");
	x.path = FMT(p, "/proc/sys/kernel/modprobe");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_wr, &x, NULL), EPERM, "write modprobe");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_rd, &x, NULL), 0, "read it");
	ASSERT_EQ(fx_do(&f, "untagged", op_open_wr, &x, NULL), 0, "untagged opens it for writing");
	x.path = FMT(p, "/proc/sys/net/ipv4/ping_group_range");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_wr, &x, NULL), EPERM, "the host's net.* sysctls");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_netns_sysctl, &x, NULL), 0,
		  "net.* of a network namespace of its own");

	snprintf(junk, sizeof(junk), "%s/junk.ko", f.tmp);
	fx_sh(NULL, 0, "head -c 4096 /dev/zero > %s", junk);
	x.path = FMT(p, "%s", junk);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_finit_module, &x, &pid), EPERM, "finit_module");
	tamper_says(&f, pid, "module_load", "what", "module");
	r = fx_do(&f, "untagged", op_finit_module, &x, NULL);
	ASSERT_TRUE(r != EPERM && r != 0 && r < 200, "untagged finit_module reaches the module loader (and fails on junk)");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_init_module, &x, &pid), EPERM, "init_module");
	tamper_done(&f, pid, "module_load");
	r = fx_do(&f, "untagged", op_init_module, &x, NULL);
	ASSERT_TRUE(r != EPERM && r != 0 && r < 200, "untagged init_module reaches the module loader");
	r = fx_do(&f, "agents/staging", op_kexec_file, &x, &pid);
	if (r == ENOSYS) {
		printf("    kexec_file_load: not built into this kernel\n");
	} else {
		ASSERT_EQ(r, EPERM, "kexec_file_load");
		tamper_done(&f, pid, "kexec_load");
		r = fx_do(&f, "untagged", op_kexec_file, &x, NULL);
		ASSERT_TRUE(r != EPERM && r != 0 && r < 200, "untagged kexec_file_load reaches the loader");
	}

	x.path = FMT(p, "/dev/mem");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_rd, &x, &pid), EPERM, "open /dev/mem");
	tamper_done(&f, pid, "raw_device");
	ASSERT_EQ(fx_do(&f, "untagged", op_open_rd, &x, NULL), 0, "untagged opens /dev/mem");
	x.path = FMT(p, "%s/blk", f.tmp);
	fx_sh(NULL, 0, "mknod %s b 1 0", x.path);
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_rd, &x, NULL), EPERM, "open a block device node");
	ASSERT_NE(fx_do(&f, "untagged", op_open_rd, &x, NULL), EPERM, "untagged: up to the driver");
	x.path = FMT(p, "/proc/kcore");
	ASSERT_EQ(fx_do(&f, "agents/staging", op_open_rd, &x, &pid), EPERM, "open /proc/kcore");
	tamper_done(&f, pid, "kernel_file");
	ASSERT_EQ(fx_do(&f, "untagged", op_open_rd, &x, NULL), 0, "untagged opens /proc/kcore");
	x.path = FMT(p, "/sys/kernel/uevent_helper");
	if (!access(x.path, F_OK)) {
		ASSERT_EQ(fx_do(&f, "agents/staging", op_open_wr, &x, NULL), EPERM, "write uevent_helper");
		ASSERT_EQ(fx_do(&f, "untagged", op_open_wr, &x, NULL), 0, "untagged opens it for writing");
	}
out:
	fx_cleanup(&f);
}

/* Host and guests: the daemon says which mode it is in, in status and at start. */
TEST(integ_protection_mode_reported)
{
	char why[256], out[16384];
	bool lsm = geteuid() == 0 && fx_lsm_usable(why, sizeof(why));
	const char *want = lsm ? "bpf-lsm" : "none";
	json_t *s = NULL, *p, *e = NULL;
	struct fx f;

	if (geteuid()) {
		tw_test_skip("needs root");
		return;
	}
	if (!ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	fx_write_policy(&f, "{ \"version\": 1, \"tiers\": { \"staging\": {} },\n"
			    "  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ] }\n");
	if (!ASSERT_OK(fx_start(&f, NULL), "tierwalld starts, protected or not"))
		goto out;
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, f.sock);
	s = json_loads(out, 0, NULL);
	p = json_object_get(s, "protection");
	if (!ASSERT_TRUE(p != NULL, "status has a protection section"))
		goto out;
	ASSERT_STREQ(jstr(p, "mode"), want, "protection mode");
	if (!lsm)
		ASSERT_TRUE(jstr(p, "reason") && *jstr(p, "reason"), "says why not");
	else
		ASSERT_TRUE(json_integer_value(json_object_get(p, "programs")) > 10, "its programs");
	e = fx_daemon_event(&f, "start");
	ASSERT_TRUE(e && !strncmp(jstr(e, "protection") ?: "", want, strlen(want)),
		    "the start event names the mode");
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s status", tw_build_dir, f.sock);
	ASSERT_CONTAINS(out, lsm ? "protection  bpf-lsm" : "protection  NONE", "status text");
out:
	json_decref(s);
	json_decref(e);
	fx_cleanup(&f);
}
