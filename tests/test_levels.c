// SPDX-License-Identifier: GPL-2.0
/*
 * explain's view of a file (user/resolve/levels.c): the levels the hooks'
 * walk meets, through a tmpfs mounted below a directory and a bind mount
 * of a subdirectory, checked against stat() of each directory. Host and
 * guests (root: it mounts in a private mount namespace).
 */
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fixture.h"
#include "levels.h"
#include "test.h"
#include "util.h"

/* Does level i hold the identity of path (as stat() reports it)? */
static bool is(const struct tw_explain *x, int i, const char *path)
{
	struct stat st;

	return i < (int)x->nlevels && !stat(path, &st) && x->levels[i].key.dev == tw_kdev(st.st_dev) &&
	       x->levels[i].key.ino == st.st_ino;
}

/* The checks, in a child with mounts of its own; its exit code says how many failed. */
static int child(const char *d)
{
	static struct tw_explain x;
	char p[PATH_MAX + 32], q[PATH_MAX + 32], f[PATH_MAX + 32];
	struct stat covered;
	int bad = 0, i;

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 100;
	snprintf(p, sizeof(p), "%s/m", d);
	if (mkdir(p, 0755) || stat(p, &covered) || mount("none", p, "tmpfs", 0, NULL))
		return 101;
	snprintf(f, sizeof(f), "%s/m/a/f", d);
	snprintf(q, sizeof(q), "%s/m/a", d);
	if (mkdir(q, 0755) || fx_sh(NULL, 0, "echo x > %s", f))
		return 102;
	/* The file, its parents to the tmpfs root, then the directory it covers and above. */
	if (tw_explain_levels(f, false, &x))
		return 103;
	bad += !is(&x, 0, f) || x.levels[0].flags != (TW_XL_START | (x.levels[0].flags & TW_XL_IGEN));
	bad += !is(&x, 1, q) || strcmp(x.levels[1].name, "f");
	bad += !is(&x, 2, p) || strcmp(x.levels[2].name, "a") || !(x.levels[2].flags & TW_XL_ROOT);
	bad += x.levels[3].flags != (TW_XL_START | (x.levels[3].flags & TW_XL_IGEN)) ||
	       x.levels[3].key.ino != covered.st_ino;
	bad += !is(&x, 4, d) || strcmp(x.levels[4].name, "m");
	for (i = 0; i < (int)x.nlevels && !(x.levels[i].flags & TW_XL_ROOT && i > 2); i++)
		;
	bad += i == (int)x.nlevels;	/* the walk reaches a filesystem's root above d */
	/* A bind mount of a subdirectory: its parents read where the filesystem shows them. */
	snprintf(p, sizeof(p), "%s/b", d);
	snprintf(q, sizeof(q), "%s/src", d);
	snprintf(f, sizeof(f), "%s/b/g", d);
	if (mkdir(p, 0755) || mkdir(q, 0755) || mount(q, p, NULL, MS_BIND, NULL) ||
	    fx_sh(NULL, 0, "echo y > %s", f))
		return 104;
	if (tw_explain_levels(f, false, &x))
		return 105;
	bad += !is(&x, 0, f);
	bad += !is(&x, 1, q) || strcmp(x.levels[1].name, "g") || (x.levels[1].flags & TW_XL_START);
	bad += !is(&x, 2, d) || strcmp(x.levels[2].name, "src");
	if (bad)
		for (i = 0; i < (int)x.nlevels; i++)
			printf("    level %d: %u:%llu \"%s\" flags %u\n", i, x.levels[i].key.dev,
			       (unsigned long long)x.levels[i].key.ino, x.levels[i].name, x.levels[i].flags);
	return bad;
}

TEST(unit_explain_levels_follow_mounts_and_names)
{
	char d[] = "/tmp/tw-levels-XXXXXX";
	int status = -1;
	pid_t pid;

	if (geteuid()) {
		tw_test_skip("needs root (mounts)");
		return;
	}
	if (!ASSERT_TRUE(mkdtemp(d) != NULL, "temporary directory"))
		return;
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(child(d));
	if (ASSERT_TRUE(pid > 0, "fork"))
		waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFEXITED(status), "the child ended");
	ASSERT_EQ(WEXITSTATUS(status), 0, "levels as stat() sees them (100+: setup failed)");
	fx_sh(NULL, 0, "rm -rf %s", d);
}
