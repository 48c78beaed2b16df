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

#include "lsmfix.h"

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

TEST(lsm_open_read_write_by_tier)
{
	struct fop rd, wr;
	struct lsm l;
	pid_t pid;

	if (!lsm_share(&l))
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

	if (!lsm_share(&l))
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

	if (!lsm_share(&l))
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

	if (!lsm_share(&l))
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

	if (!lsm_share(&l))
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
