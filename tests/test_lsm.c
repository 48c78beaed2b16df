// SPDX-License-Identifier: GPL-2.0
/*
 * Secret files: the real tierwalld with BPF LSM programs, real files, real
 * processes in tiered cgroups trying every way around a rule. These run
 * where BPF LSM can load: natively if the host allows it, else in the QEMU
 * guests of tests/vm (on this project's CI host, BPF LSM is refused).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/openat2.h>
#include "cgroup.h"
#include "fileops.h"
#include "fixture.h"
#include "net.h"
#include "tierwall.h"
#include "test.h"
#include "util.h"

static const char *const lsm_cgroups[] = {
	"agents/staging", "agents/dev", "services/prod", "untagged", NULL
};

struct lsm {
	struct fx f;
	char prod[PATH_MAX];		/* protected directory (trailing /) */
	char key[PATH_MAX];		/* a file in it */
	char script[PATH_MAX];		/* an executable in it */
	char single[PATH_MAX];		/* a protected single file */
	char later[PATH_MAX];		/* protected path created after start */
	char pre_link[PATH_MAX];	/* hard link made before the daemon started */
	char outside[PATH_MAX];		/* an unprotected file */
};

static bool lsm_start(struct lsm *l)
{
	char policy[8192], out[4096] = "";
	struct fx *f = &l->f;
	int err;

	/* Zeroed first: a skipped test's cleanup must find nothing to stop or remove. */
	memset(l, 0, sizeof(*l));
	if (!fx_lsm_ready())
		return false;
	if (!ASSERT_OK(fx_init(f, lsm_cgroups), "fixture"))
		return false;
	snprintf(l->prod, sizeof(l->prod), "%s/secrets/prod/", f->tmp);
	snprintf(l->key, sizeof(l->key), "%s/secrets/prod/db.key", f->tmp);
	snprintf(l->script, sizeof(l->script), "%s/secrets/prod/rotate.sh", f->tmp);
	snprintf(l->single, sizeof(l->single), "%s/single.key", f->tmp);
	snprintf(l->later, sizeof(l->later), "%s/later/dir/new.key", f->tmp);
	snprintf(l->pre_link, sizeof(l->pre_link), "%s/pre-link", f->tmp);
	snprintf(l->outside, sizeof(l->outside), "%s/notes.txt", f->tmp);
	fx_sh(NULL, 0, "mkdir -p %s/secrets/prod/sub %s/secrets/staging", f->tmp, f->tmp);
	write_file(l->key, "prod-db-password\n", 0644);
	write_file(l->script, "#!/bin/sh\nexit 0\n", 0755);
	write_file(l->single, "prod-api-key\n", 0644);
	write_file(l->outside, "nothing secret\n", 0644);
	if (!ASSERT_OK(link(l->key, l->pre_link) ? -errno : 0, "hard link before start"))
		return false;
	snprintf(policy, sizeof(policy),
"{ \"version\": 1,\n"
"  \"tiers\": { \"dev\": {\"mode\": \"audit\"}, \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/agents/dev\", \"tier\": \"dev\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s\", \"%s\", \"%s\"]},\n"
"                {\"tier\": \"staging\", \"paths\": [\"%s/secrets/staging/\"]} ] }\n",
		 l->prod, l->single, l->later, f->tmp);
	fx_write_policy(f, policy);
	err = fx_start(f, NULL);
	if (err) {
		fx_sh(out, sizeof(out), "grep -v \"^;\" %s | grep -B40 -m2 -E \"^(libbpf: prog .*failed|processed|[0-9]+: .*invalid|R[0-9].*(invalid|!read_ok|unbounded|not allowed))\" | tail -c 3500 | sed \"s/^/    | /\"", f->daemon_out);
		TW_FAILED("tierwalld did not start (%d, wait status 0x%x): %s", err,
			  f->daemon_status, out);
		return false;
	}
	return true;
}

/* ---- what a child does from inside its cgroup (0 or -errno) ---- */

/* openat2 from AT_FDCWD with path, or beneath directory path with path2. */
static int op_openat2(void *a)
{
	struct fop *o = a;
	struct open_how how = { .flags = O_RDONLY, .resolve = o->flags };
	int dfd = AT_FDCWD, fd;

	if (o->path2) {
		dfd = open(o->path, O_PATH | O_DIRECTORY);
		if (dfd < 0)
			return -1004;
	}
	fd = syscall(SYS_openat2, dfd, o->path2 ? o->path2 : o->path, &how, sizeof(how));
	if (dfd >= 0)
		close(dfd);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* O_PATH never opens the file; reopening it through /proc must be judged. */
static int op_opath_reopen(void *a)
{
	struct fop *o = a;
	char p[64];
	int fd = open(o->path, O_PATH), fd2;

	if (fd < 0)
		return -errno;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	fd2 = open(p, o->flags);
	close(fd);
	if (fd2 < 0)
		return -errno;
	close(fd2);
	return 0;
}

static int op_chdir_open(void *a)
{
	struct fop *o = a;
	int fd;

	if (chdir(o->path))
		return -1000;	/* chdir itself is not what is judged */
	fd = open(o->path2, O_RDONLY);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int op_chmod(void *a) { return chmod(((struct fop *)a)->path, 0666) ? -errno : 0; }

static int op_exec(void *a)
{
	struct fop *o = a;

	execl(o->path, o->path, (char *)NULL);
	return -errno;
}

/* Denied in staging (then the test moves the same process to prod). */
static int op_open_refused(void *a)
{
	int first = op_open(a);

	return first == -EPERM ? 0 : first ? first : -1001;
}

/* Receive one descriptor; -EPERM if the kernel dropped it (MSG_CTRUNC). */
static int op_recv_fd(void *a)
{
	struct fop *o = a;
	char dummy, buf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *c;

	if (recvmsg(o->sock, &m, 0) != 1)
		return -errno;
	c = CMSG_FIRSTHDR(&m);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return (m.msg_flags & MSG_CTRUNC) ? -EPERM : -1003;
	return 0;
}

static void check_file_event(struct lsm *l, pid_t pid, const char *op, const char *verdict,
			     const char *tier, const char *file, const char *secret)
{
	json_t *e = fx_event_kind(&l->f, "file", pid);
	struct stat st;
	char dev[32];

	if (!ASSERT_TRUE(e != NULL, "file event in events.jsonl"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(e, "op")), op, "event op");
	ASSERT_STREQ(json_string_value(json_object_get(e, "verdict")), verdict, "event verdict");
	ASSERT_STREQ(json_string_value(json_object_get(e, "tier")), tier, "event tier");
	ASSERT_STREQ(json_string_value(json_object_get(e, "target_tier")), "prod", "event target_tier");
	ASSERT_STREQ(json_string_value(json_object_get(e, "secret")), secret, "event secret");
	if (file && !stat(file, &st)) {
		uint32_t k = tw_kdev(st.st_dev);

		snprintf(dev, sizeof(dev), "%u:%u", k >> 20, k & 0xfffff);
		ASSERT_STREQ(json_string_value(json_object_get(e, "dev")), dev, "event dev");
		ASSERT_EQ(json_integer_value(json_object_get(e, "ino")), st.st_ino, "event ino");
	}
	if (file)
		ASSERT_CONTAINS(json_string_value(json_object_get(e, "path")), strrchr(file, '/'),
				"event path names the file");
	json_decref(e);
}

TEST(lsm_open_read_write_by_tier)
{
	struct fop rd, wr;
	struct lsm l;
	pid_t pid;

	if (!lsm_start(&l))
		goto out;
	rd = (struct fop){ .path = l.key, .flags = O_RDONLY };
	wr = (struct fop){ .path = l.key, .flags = O_WRONLY };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &rd, &pid), EPERM, "staging reads prod's secret");
	check_file_event(&l, pid, "open", "deny", "staging", l.key, l.prod);
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &wr, NULL), EPERM, "staging writes prod's secret");
	ASSERT_EQ(fx_do(&l.f, "services/prod", op_open, &rd, NULL), 0, "prod reads its own secret");
	ASSERT_EQ(fx_do(&l.f, "services/prod", op_open, &wr, NULL), 0, "prod writes its own secret");
	ASSERT_EQ(fx_do(&l.f, "untagged", op_open, &rd, NULL), 0, "untagged reads it");
	ASSERT_EQ(fx_do(&l.f, NULL, op_open, &rd, NULL), 0, "a process outside the root reads it");
	rd.path = l.single;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &rd, &pid), EPERM, "a single-file secret");
	check_file_event(&l, pid, "open", "deny", "staging", l.single, l.single);
	rd.path = l.outside;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &rd, NULL), 0, "an unprotected file");
	ASSERT_EQ(fx_count_events(&l.f, "file", 0), 3, "exactly the denials were logged");
out:
	fx_cleanup(&l.f);
}

TEST(lsm_other_names_for_the_same_file)
{
	char sym[PATH_MAX], bind[PATH_MAX], bound[PATH_MAX * 2];
	struct fop o;
	struct lsm l;
	pid_t pid;
	int i;
	static const __u64 resolves[] = { 0, RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS };

	if (!lsm_start(&l))
		goto out;
	snprintf(sym, sizeof(sym), "%s/sym", l.f.tmp);
	ASSERT_OK(symlink(l.key, sym) ? -errno : 0, "symlink");
	o = (struct fop){ .path = sym, .flags = O_RDONLY };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, &pid), EPERM, "through a symlink");
	check_file_event(&l, pid, "open", "deny", "staging", l.key, l.prod);

	o.flags = O_WRONLY;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "writing through a symlink");
	o = (struct fop){ .path = l.pre_link, .flags = O_RDONLY };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM,
		  "through a hard link made before tierwalld started");
	o.flags = O_RDWR;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "writing through it");
	o = (struct fop){ .path = l.pre_link, .flags = O_RDONLY };
	ASSERT_EQ(fx_do(&l.f, "services/prod", op_open, &o, NULL), 0, "prod uses the other name");

	snprintf(bind, sizeof(bind), "%s/bind", l.f.tmp);
	mkdir(bind, 0755);
	if (ASSERT_OK(mount(l.prod, bind, NULL, MS_BIND, NULL) ? -errno : 0, "bind mount")) {
		snprintf(bound, sizeof(bound), "%s/db.key", bind);
		o.path = bound;
		ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM,
			  "through a bind mount of the directory");
		o.flags = O_WRONLY | O_TRUNC;
		ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM,
			  "truncating through the bind mount");
		o.flags = O_RDONLY;
		umount(bind);
	}

	o = (struct fop){ .path = l.key, .flags = O_RDONLY };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_opath_reopen, &o, NULL), EPERM,
		  "O_PATH then /proc/self/fd/N reopen");
	for (i = 0; i < (int)ARRAY_SIZE(resolves); i++) {
		o = (struct fop){ .path = l.key, .flags = resolves[i] };
		ASSERT_EQ(fx_do(&l.f, "agents/staging", op_openat2, &o, NULL), EPERM,
			  "openat2 with resolve flags");
		o = (struct fop){ .path = l.prod, .path2 = "db.key",
				  .flags = resolves[i] | RESOLVE_BENEATH };
		ASSERT_EQ(fx_do(&l.f, "agents/staging", op_openat2, &o, NULL), EPERM,
			  "openat2 beneath the directory");
	}
	o = (struct fop){ .path = l.prod, .path2 = "db.key", .flags = RESOLVE_NO_XDEV | RESOLVE_BENEATH };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_openat2, &o, NULL), EPERM, "openat2 NO_XDEV");
	o.flags = RESOLVE_IN_ROOT;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_openat2, &o, NULL), EPERM, "openat2 IN_ROOT");
	o = (struct fop){ .path = l.key, .flags = O_WRONLY };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_opath_reopen, &o, NULL), EPERM,
		  "O_PATH then /proc/self/fd/N reopen for writing");
	o = (struct fop){ .path = l.prod, .path2 = "db.key" };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_chdir_open, &o, NULL), EPERM,
		  "a relative path after chdir into the directory");
	o = (struct fop){ .path = l.prod, .flags = O_RDONLY | O_DIRECTORY };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "listing the directory");
out:
	fx_cleanup(&l.f);
}

TEST(lsm_files_that_move_or_appear)
{
	char renamed[PATH_MAX], moved[PATH_MAX], fresh[PATH_MAX], link_out[PATH_MAX];
	char deep[PATH_MAX];
	struct fop o = { .flags = O_RDONLY };
	struct lsm l;
	json_t *e = NULL;
	int i;

	if (!lsm_start(&l))
		goto out;
	/* The owner (here: root, untagged) reorganises after the daemon started. */
	snprintf(renamed, sizeof(renamed), "%s/secrets/prod/db-renamed.key", l.f.tmp);
	ASSERT_OK(rename(l.key, renamed) ? -errno : 0, "rename inside the directory");
	o.path = renamed;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "renamed inside");
	snprintf(moved, sizeof(moved), "%s/moved-out.key", l.f.tmp);
	ASSERT_OK(rename(renamed, moved) ? -errno : 0, "move out of the directory");
	o.path = moved;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM,
		  "moved out: still the same protected file");

	snprintf(fresh, sizeof(fresh), "%s/secrets/prod/sub/created-later.key", l.f.tmp);
	write_file(fresh, "new\n", 0644);
	o.path = fresh;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM,
		  "created in a subdirectory after start");
	snprintf(link_out, sizeof(link_out), "%s/linked-out", l.f.tmp);
	ASSERT_OK(link(fresh, link_out) ? -errno : 0, "owner hard-links it elsewhere");
	o.path = link_out;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM,
		  "through a hard link made after start");

	/* A secret path that did not exist at start. */
	fx_sh(NULL, 0, "mkdir -p %s/later/dir", l.f.tmp);
	write_file(l.later, "late secret\n", 0600);
	e = fx_await_daemon_event(&l.f, "secret_protected");
	ASSERT_TRUE(e != NULL, "the daemon reports the new secret protected");
	json_decref(e);
	o.path = l.later;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "created after start");

	/* Deeper than the kernel walks on a protected filesystem: refused, not guessed. */
	snprintf(deep, sizeof(deep), "%s/secrets/prod", l.f.tmp);
	for (i = 0; i < TW_MAX_DEPTH + 2; i++)
		strcat(deep, "/d");
	fx_sh(NULL, 0, "mkdir -p %s && echo x > %s/f", deep, deep);
	strcat(deep, "/f");
	o.path = deep;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "too deep to walk: refused");
out:
	fx_cleanup(&l.f);
}

/* The kernel caches per inode what protects it: every way protection moves must show. */
TEST(lsm_cache_follows_protection)
{
	char u[PATH_MAX], u_in[PATH_MAX], x[PATH_MAX], x_in[PATH_MAX], dir[PATH_MAX];
	char dir_f[PATH_MAX], dir_in[PATH_MAX], dir_in_f[PATH_MAX], f2[PATH_MAX], f2_out[PATH_MAX];
	struct fop o = { .flags = O_RDONLY };
	struct lsm l;

	if (!lsm_start(&l))
		goto out;
	snprintf(u, sizeof(u), "%s/u.txt", l.f.tmp);
	snprintf(u_in, sizeof(u_in), "%su.txt", l.prod);
	write_file(u, "u\n", 0644);
	o.path = u;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), 0, "ordinary file (now cached)");
	ASSERT_OK(rename(u, u_in) ? -errno : 0, "owner moves it into the protected directory");
	o.path = u_in;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "moved in: protected");

	snprintf(x, sizeof(x), "%s/x.txt", l.f.tmp);
	snprintf(x_in, sizeof(x_in), "%sx-link", l.prod);
	write_file(x, "x\n", 0644);
	o.path = x;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), 0, "another ordinary file");
	ASSERT_OK(link(x, x_in) ? -errno : 0, "owner hard-links it into the directory");
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM,
		  "its old name is protected too");

	snprintf(dir, sizeof(dir), "%s/project", l.f.tmp);
	snprintf(dir_f, sizeof(dir_f), "%s/project/conf", l.f.tmp);
	snprintf(dir_in, sizeof(dir_in), "%sproject", l.prod);
	snprintf(dir_in_f, sizeof(dir_in_f), "%sproject/conf", l.prod);
	mkdir(dir, 0755);
	write_file(dir_f, "c\n", 0644);
	o.path = dir_f;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), 0, "a file in an ordinary directory");
	ASSERT_OK(rename(dir, dir_in) ? -errno : 0, "owner moves the directory in");
	o.path = dir_in_f;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "the file came along: protected");

	snprintf(f2, sizeof(f2), "%snew-then-gone", l.prod);
	snprintf(f2_out, sizeof(f2_out), "%s/released", l.f.tmp);
	write_file(f2, "r\n", 0644);
	o.path = f2;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "created inside: protected");
	ASSERT_OK(rename(f2, f2_out) ? -errno : 0, "owner moves it out");
	o.path = f2_out;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), 0, "released by its owner");
out:
	fx_cleanup(&l.f);
}

TEST(lsm_nothing_of_the_secret_is_lost)
{
	char other[PATH_MAX], stolen[PATH_MAX], into[PATH_MAX], buf[64] = "";
	struct fop o;
	struct lsm l;
	pid_t pid;
	int fd;

	if (!lsm_start(&l))
		goto out;
	o = (struct fop){ .path = l.key };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_unlink, &o, &pid), EPERM, "unlink");
	check_file_event(&l, pid, "unlink", "deny", "staging", l.key, l.prod);
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_truncate, &o, &pid), EPERM, "truncate");
	check_file_event(&l, pid, "truncate", "deny", "staging", l.key, l.prod);
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_chmod, &o, &pid), EPERM, "chmod (setattr)");
	check_file_event(&l, pid, "setattr", "deny", "staging", l.key, l.prod);
	snprintf(other, sizeof(other), "%s/taken.key", l.f.tmp);
	o.path2 = other;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_rename, &o, &pid), EPERM, "rename it away");
	check_file_event(&l, pid, "rename", "deny", "staging", l.key, l.prod);
	snprintf(stolen, sizeof(stolen), "%s/stolen", l.f.tmp);
	o.path2 = stolen;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_link, &o, &pid), EPERM, "hard-link it");
	check_file_event(&l, pid, "link", "deny", "staging", l.key, l.prod);
	/* Dropping a file over it, or into the directory, is writing prod's secrets. */
	o = (struct fop){ .path = l.outside, .path2 = l.key };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_rename, &o, NULL), EPERM, "rename over it");
	snprintf(into, sizeof(into), "%s/secrets/prod/planted", l.f.tmp);
	o.path2 = into;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_rename, &o, NULL), EPERM, "move a file into the directory");
	o = (struct fop){ .path = l.script };
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_exec, &o, &pid), EPERM, "execute it");
	check_file_event(&l, pid, "exec", "deny", "staging", l.script, l.prod);
	ASSERT_EQ(fx_do(&l.f, "services/prod", op_exec, &o, NULL), 0, "prod executes it");

	fd = open(l.key, O_RDONLY);
	ASSERT_TRUE(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0, "the secret is still there");
	ASSERT_STREQ(buf, "prod-db-password\n", "unchanged");
	if (fd >= 0)
		close(fd);
out:
	fx_cleanup(&l.f);
}

TEST(lsm_descriptor_passing)
{
	struct lsm l;
	struct fop o;
	pid_t pid;
	int sv[2], fd, r;
	char dummy = 'x', buf[CMSG_SPACE(sizeof(int))] = {};
	struct iovec iov = { .iov_base = &dummy, .iov_len = 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
			    .msg_controllen = sizeof(buf) };
	struct cmsghdr *c;

	if (!lsm_start(&l))
		goto out;
	/* An untagged process opens the secret and hands the descriptor over. */
	fd = open(l.key, O_RDONLY);
	if (!ASSERT_TRUE(fd >= 0, "untagged open") ||
	    !ASSERT_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) ? -errno : 0, "socketpair"))
		goto out;
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ASSERT_EQ(sendmsg(sv[0], &m, 0), 1, "sent to staging");
	ASSERT_EQ(sendmsg(sv[0], &m, 0), 1, "sent to prod");
	o = (struct fop){ .sock = sv[1] };
	r = fx_do(&l.f, "agents/staging", op_recv_fd, &o, &pid);
	ASSERT_EQ(r, EPERM, "staging does not receive prod's descriptor");
	check_file_event(&l, pid, "receive", "deny", "staging", l.key, l.prod);
	ASSERT_EQ(fx_do(&l.f, "services/prod", op_recv_fd, &o, NULL), 0, "prod receives it");
	close(sv[0]);
	close(sv[1]);
	close(fd);
out:
	fx_cleanup(&l.f);
}

TEST(lsm_tier_changes_and_audit)
{
	struct fop o;
	struct lsm l;
	pid_t pid;

	if (!lsm_start(&l))
		goto out;
	o = (struct fop){ .path = l.key, .flags = O_RDONLY };
	ASSERT_EQ(fx_do_moved(&l.f, "agents/staging", "services/prod", op_open_refused, op_open, &o, NULL),
		  0, "refused in staging, allowed at the next open after moving to prod");
	o.flags = O_RDONLY;
	ASSERT_EQ(fx_do(&l.f, "agents/dev", op_open, &o, &pid), 0, "dev is in audit mode: allowed");
	check_file_event(&l, pid, "open", "audit", "dev", l.key, l.prod);
out:
	fx_cleanup(&l.f);
}

TEST(lsm_log_all_records_own_tier_use)
{
	char policy[4096], skey[PATH_MAX];
	struct fop o = { .flags = O_RDONLY };
	struct lsm l;
	pid_t pid;
	json_t *e;

	if (!lsm_start(&l))
		goto out;
	/* Restart with staging logging all, on the same files. */
	fx_stop(&l.f);
	snprintf(skey, sizeof(skey), "%s/secrets/staging/own.key", l.f.tmp);
	write_file(skey, "staging key\n", 0600);
	snprintf(policy, sizeof(policy),
"{ \"version\": 1,\n"
"  \"tiers\": { \"staging\": {\"log\": \"all\"}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ],\n"
"  \"secrets\": [ {\"tier\": \"staging\", \"paths\": [\"%s/secrets/staging/\"]},\n"
"                {\"tier\": \"prod\", \"paths\": [\"%s\"]} ] }\n", l.f.tmp, l.prod);
	fx_write_policy(&l.f, policy);
	if (!ASSERT_OK(fx_start(&l.f, NULL), "restart with log all"))
		goto out;
	o.path = skey;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, &pid), 0, "staging reads its own secret");
	e = fx_event_kind(&l.f, "file", pid);
	if (ASSERT_TRUE(e != NULL, "the allowed use is on the record")) {
		ASSERT_STREQ(json_string_value(json_object_get(e, "verdict")), "allow", "verdict allow");
		ASSERT_STREQ(json_string_value(json_object_get(e, "target_tier")), "staging", "own tier");
		ASSERT_STREQ(json_string_value(json_object_get(e, "op")), "open", "op");
	}
	json_decref(e);
	o.path = l.key;
	ASSERT_EQ(fx_do(&l.f, "agents/staging", op_open, &o, NULL), EPERM, "prod's secret still refused");
out:
	fx_cleanup(&l.f);
}

TEST(lsm_status_reports_enforcement)
{
	char out[16384];
	struct lsm l;
	json_t *s, *p;
	size_t i;
	int lsm_attached = 0;

	if (!lsm_start(&l))
		goto out;
	fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json", tw_build_dir, l.f.sock);
	s = json_loads(out, 0, NULL);
	if (!ASSERT_TRUE(s != NULL, "status is JSON"))
		goto out;
	json_array_foreach(json_object_get(s, "programs"), i, p)
		lsm_attached += !strncmp(json_string_value(json_object_get(p, "hook")), "lsm/", 4) &&
				json_is_true(json_object_get(p, "attached"));
	/* The secret-file programs, netlsm's 3, and self-protection's. */
	ASSERT_EQ(lsm_attached, 19 + 3 + json_integer_value(json_object_get(json_object_get(s, "protection"),
									   "programs")),
		  "the LSM programs are attached");
	ASSERT_TRUE(json_is_true(json_object_get(json_object_get(s, "network_lsm"), "loaded")),
		    "network LSM programs loaded");
	ASSERT_STREQ(json_string_value(json_object_get(json_object_get(s, "protection"), "mode")),
		     "bpf-lsm", "self-protection");
	ASSERT_TRUE(json_is_true(json_object_get(json_object_get(s, "secrets"), "enforced")),
		    "secrets enforced");
	ASSERT_EQ(json_integer_value(json_object_get(json_object_get(s, "secrets"), "pending")), 1,
		  "one path waits to be created");
	ASSERT_EQ(json_array_size(json_object_get(s, "degraded")), 0, "not degraded");
	json_decref(s);
out:
	fx_cleanup(&l.f);
}

/* A secret path that cannot be resolved (other than "not yet") stops the daemon. */
TEST(lsm_unresolvable_secret_refused)
{
	static const struct { const char *path; const char *why; } cases[] = {
		{ "%s/notes.txt/inner.key", "Not a directory" },
		{ "%s/notes.txt/", "is not a directory (drop the trailing /)" },
		{ "%s/secrets/prod", "is a directory: end it with /" },
	};
	char why[256], policy[1024], path[PATH_MAX], out[8192];
	size_t i;

	if (geteuid() || !fx_lsm_usable(why, sizeof(why))) {
		tw_test_skip("needs root and BPF LSM (%s); tests/vm runs this in QEMU guests",
			     geteuid() ? "not root" : why);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct fx f;

		if (!ASSERT_OK(fx_init(&f, NULL), "fixture"))
			return;
		fx_sh(NULL, 0, "mkdir -p %s/secrets/prod && echo n > %s/notes.txt", f.tmp, f.tmp);
		snprintf(path, sizeof(path), cases[i].path, f.tmp);
		snprintf(policy, sizeof(policy),
			 "{ \"version\": 1, \"tiers\": {\"prod\": {}},\n"
			 "  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s\"]} ] }\n", path);
		fx_write_policy(&f, policy);
		if (ASSERT_EQ(fx_start(&f, NULL), 1, "tierwalld refuses to start")) {
			fx_sh(out, sizeof(out), "cat %s", f.daemon_out);
			ASSERT_CONTAINS(out, "secrets[0].paths[0]", "names the policy entry");
			ASSERT_CONTAINS(out, cases[i].why, "and why");
		}
		fx_cleanup(&f);
	}
}
