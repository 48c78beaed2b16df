// SPDX-License-Identifier: GPL-2.0
/*
 * Secret rules follow their names: the owner rotates keys, retargets
 * certbot's symlinks, swaps directories, kubelet rewrites a volume; the
 * real tierwalld and BPF LSM programs keep other tiers out at every step,
 * and the owners, the owning tier and untagged processes keep working.
 * Guests only (BPF LSM), like test_lsm.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include "fileops.h"
#include "fixture.h"
#include "secfix.h"
#include "test.h"
#include "util.h"

/* ---- (a) file rules: whatever inode arrives at the name is the secret ---- */

TEST(lsm_secret_file_rule_follows_its_name)
{
	char tmp[PATH_MAX], spare[PATH_MAX];
	struct fop o = { .flags = O_RDONLY };
	struct sec s;
	pid_t pid;
	int fd;

	if (!sec_share(&s))
		goto out;
	o.path = s.key;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "before any change");

	/* write tmp; mv tmp key */
	snprintf(tmp, sizeof(tmp), "%s.tmp", s.key);
	ASSERT_OK(sec_write(tmp, "key v2\n"), "owner writes the new key");
	ASSERT_OK(rename(tmp, s.key) ? -errno : 0, "owner renames it over the old one");
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "renamed over: refused at once");
	sec_check_event(&s, pid, "open", s.key, s.key);

	/* rm key; create key (O_CREAT) */
	ASSERT_OK(unlink(s.key) ? -errno : 0, "owner removes it");
	ASSERT_OK(sec_write(s.key, "key v3\n"), "owner creates it again");
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "created again: refused at once");
	sec_check_event(&s, pid, "open", s.key, s.key);

	/* A hard link of another file onto the name. */
	snprintf(spare, sizeof(spare), "%s/spare", s.tls);
	ASSERT_OK(sec_write(spare, "key v4\n"), "owner writes a spare");
	ASSERT_OK(unlink(s.key) ? -errno : 0, "owner removes the key");
	ASSERT_OK(link(spare, s.key) ? -errno : 0, "owner links the spare at the name");
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "linked at the name");
	o.path = spare;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM,
		  "and by its other name: it is the secret now");
	ASSERT_OK(unlink(spare) ? -errno : 0, "owner drops the spare name");

	/* RENAME_EXCHANGE: the other file takes the name, the key takes the other's. */
	ASSERT_OK(sec_write(tmp, "key v5\n"), "owner writes the next key");
	ASSERT_OK(syscall(SYS_renameat2, AT_FDCWD, tmp, AT_FDCWD, s.key, RENAME_EXCHANGE) ? -errno : 0,
		  "RENAME_EXCHANGE");
	o.path = s.key;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "exchanged in: refused");
	o.path = tmp;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM,
		  "the previous key under its new name: still protected");

	/* The owner, the owning tier and untagged processes keep working; an unrelated file opens. */
	o.path = s.key;
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_open, &o, NULL), 0, "prod reads the key");
	ASSERT_EQ(fx_do(&s.f, "untagged", op_open, &o, NULL), 0, "untagged reads the key");
	fd = open(s.key, O_RDONLY);
	ASSERT_TRUE(fd >= 0, "the owner reads the key");
	if (fd >= 0)
		close(fd);
	o.path = s.other;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0,
		  "staging opens an unrelated file in the same directory");
	ASSERT_TRUE(fx_await_daemon_events(&s.f, "secret_rotated", 1) >= 1, "rotations are daemon events");
	sec_check_rotated(&s, s.key);
out:
	fx_cleanup(&s.f);
}

/*
 * The owning tier rotates the key 1,000 times (rename over, every tenth
 * time rm and create) while staging opens the name as fast as it can.
 */
#define RACE_ROTATIONS	1000
#define RACE_OPENS	2000000
#define RACE_SECONDS	300

struct race {
	const char *path;
	volatile int stop;	/* shared: the rotator is done */
	int opened, refused, missing, other;
};

static int op_race_open(void *a)
{
	struct race *r = a;
	time_t end = time(NULL) + RACE_SECONDS;
	int i, fd;

	for (i = 0; i < RACE_OPENS && !r->stop && time(NULL) < end; i++) {
		fd = open(r->path, O_RDONLY);
		if (fd >= 0) {
			r->opened++;
			close(fd);
		} else if (errno == EPERM) {
			r->refused++;
		} else if (errno == ENOENT) {
			r->missing++;
		} else {
			r->other++;
		}
	}
	return 0;
}

static int rotate(const char *key, int n)
{
	char tmp[PATH_MAX], text[32];
	int i, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.new", key);
	for (i = 0; i < n && !err; i++) {
		snprintf(text, sizeof(text), "key %d\n", i);
		if (i % 10 == 9) {
			err = unlink(key) ? -errno : sec_write(key, text);
			continue;
		}
		err = sec_write(tmp, text);
		if (!err && rename(tmp, key))
			err = -errno;
	}
	return err ? err : i;
}

TEST(lsm_secret_rotation_race)
{
	struct race *r = MAP_FAILED;
	int go[2] = { -1, -1 }, st;
	pid_t rot = -1;
	struct sec s;
	char b = 1;

	if (!sec_share(&s))
		goto out;
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_TRUE(r != MAP_FAILED, "shared counters") || !ASSERT_OK(pipe(go), "pipe"))
		goto out;
	memset(r, 0, sizeof(*r));
	r->path = s.key;
	fflush(stdout);
	rot = fork();
	if (!rot) {
		/* The owning tier rotates (moved into prod before it starts). */
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(1);
		st = rotate(s.key, RACE_ROTATIONS);
		r->stop = 1;
		_exit(st == RACE_ROTATIONS ? 0 : 2);
	}
	close(go[0]);
	if (!ASSERT_TRUE(rot > 0, "fork") || !ASSERT_OK(fx_move(&s.f, "services/prod", rot), "rotator in prod") ||
	    !ASSERT_EQ(write(go[1], &b, 1), 1, "go"))
		goto out;
	ASSERT_OK(fx_do(&s.f, "agents/staging", op_race_open, r, NULL), "staging's loop ran");
	ASSERT_TRUE(waitpid(rot, &st, 0) == rot && WIFEXITED(st) && !WEXITSTATUS(st),
		    "prod rotated the key 1,000 times");
	rot = -1;
	ASSERT_EQ(r->opened, 0, "staging never opened the key");
	ASSERT_TRUE(r->refused > 0, "staging's opens were refused while the key rotated");
	ASSERT_EQ(r->other, 0, "no other errors");
	printf("    race: %d refused, %d missing (between rm and create), %d opened\n", r->refused, r->missing,
	       r->opened);
	/* Control: after the storm, prod and untagged still read it; staging still cannot. */
	{
		struct fop o = { .path = s.key, .flags = O_RDONLY };

		ASSERT_EQ(fx_do(&s.f, "services/prod", op_open, &o, NULL), 0, "prod reads the key");
		ASSERT_EQ(fx_do(&s.f, "untagged", op_open, &o, NULL), 0, "untagged reads the key");
		ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "staging still refused");
		o.path = s.other;
		ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "unrelated file opens");
	}
out:
	if (rot > 0) {
		close(go[1]);
		go[1] = -1;
		waitpid(rot, NULL, 0);
	}
	if (go[1] >= 0)
		close(go[1]);
	if (r != MAP_FAILED)
		munmap(r, sizeof(*r));
	fx_cleanup(&s.f);
}

/* ---- (b) symlink rules: certbot's live/ -> archive/ ---- */

TEST(lsm_secret_symlink_retarget)
{
	char cert2[PATH_MAX], tmp[PATH_MAX];
	struct fop o = { .flags = O_RDONLY };
	struct sec s;
	pid_t pid;

	if (!sec_share(&s))
		goto out;
	o.path = s.live;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "the live certificate");
	o.path = s.cert1;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "its archive name");

	/* certbot renew: a new archive file, then the live link swapped atomically. */
	snprintf(cert2, sizeof(cert2), "%s/archive/site/privkey2.pem", s.f.tmp);
	snprintf(tmp, sizeof(tmp), "%s.tmp", s.live);
	ASSERT_OK(sec_write(cert2, "cert 2\n"), "the renewed key in archive/");
	ASSERT_OK(symlink("../../archive/site/privkey2.pem", tmp) ? -errno : 0, "new link");
	ASSERT_OK(rename(tmp, s.live) ? -errno : 0, "swapped over live/");
	/* Until the daemon re-resolved: refused (following the changed link), never a window. */
	o.path = s.live;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "retargeted: refused at once");
	sec_check_event(&s, pid, NULL, NULL, s.live);
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_open, &o, NULL), 0, "prod reads it meanwhile");
	ASSERT_TRUE(fx_await_daemon_events(&s.f, "secret_rotated", 1) >= 1, "the daemon re-resolved it");
	sec_check_rotated(&s, cert2);
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "retargeted: refused after");
	sec_check_event(&s, pid, "open", cert2, s.live);
	o.path = cert2;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "the new archive name");
	o.path = s.cert1;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "the old key stays protected");
	o.path = s.live;
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_open, &o, NULL), 0, "prod reads it");
	ASSERT_EQ(fx_do(&s.f, "untagged", op_open, &o, NULL), 0, "untagged reads it");
	o.path = s.other;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "an unrelated file opens");
	o.path = s.readme_link;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0,
		  "an unrelated symlink in live/ is followed");
out:
	fx_cleanup(&s.f);
}

/* ---- (c) directory rules: swapped, recreated; kubelet's AtomicWriter ---- */

static int op_mkdir(void *a) { return mkdir(((struct fop *)a)->path, 0755) ? -errno : 0; }
static int op_create(void *a) { return sec_write(((struct fop *)a)->path, "planted\n"); }

TEST(lsm_secret_directory_swapped_and_recreated)
{
	char dir[PATH_MAX], old[PATH_MAX], fresh[PATH_MAX], f[PATH_MAX], sub[PATH_MAX], side[PATH_MAX];
	struct fop o = { .flags = O_RDONLY };
	struct sec s;
	pid_t pid;

	if (!sec_share(&s))
		goto out;
	snprintf(dir, sizeof(dir), "%s/svc/prod", s.f.tmp);
	snprintf(old, sizeof(old), "%s/svc/prod.old", s.f.tmp);
	snprintf(fresh, sizeof(fresh), "%s/svc/prod.new", s.f.tmp);
	snprintf(f, sizeof(f), "%s/db.key", dir);
	snprintf(side, sizeof(side), "%s/svc/side.txt", s.f.tmp);
	ASSERT_OK(sec_write(f, "db 1\n") || sec_write(side, "side\n"), "files");
	o.path = f;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "before the swap");

	/* mv prod prod.old; mv prod.new prod */
	mkdir(fresh, 0755);
	snprintf(sub, sizeof(sub), "%s/db.key", fresh);
	ASSERT_OK(sec_write(sub, "db 2\n"), "the new directory's key");
	ASSERT_OK(rename(dir, old) ? -errno : 0, "mv prod prod.old");
	o.path = dir;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_mkdir, &o, NULL), EPERM, "staging cannot take the name");
	ASSERT_OK(rename(fresh, dir) ? -errno : 0, "mv prod.new prod");
	o.path = f;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "swapped in: refused at once");
	sec_check_event(&s, pid, "open", f, s.svc);
	snprintf(sub, sizeof(sub), "%s/db.key", old);
	o.path = sub;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "the old directory stays protected");
	ASSERT_TRUE(fx_await_daemon_events(&s.f, "secret_rotated", 1) >= 1, "the swap is a rotation");
	sec_check_rotated(&s, dir);

	/* rm -rf prod; mkdir prod; a file and a subdirectory in it */
	fx_sh(NULL, 0, "rm -rf %s %s", dir, old);
	o.path = f;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_create, &o, NULL), ENOENT, "gone");
	ASSERT_OK(mkdir(dir, 0700) ? -errno : 0, "mkdir prod again");
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_create, &o, NULL), EPERM, "staging cannot plant a file");
	ASSERT_OK(sec_write(f, "db 3\n"), "a key in it");
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "recreated: refused at once");
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	mkdir(sub, 0755);
	strcat(sub, "/deep.key");
	ASSERT_OK(sec_write(sub, "deep\n"), "a key in a subdirectory");
	o.path = sub;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "and below it");
	o = (struct fop){ .path = dir, .flags = O_RDONLY | O_DIRECTORY };
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "listing it");

	/* Controls. */
	o = (struct fop){ .path = f, .flags = O_RDONLY };
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_open, &o, NULL), 0, "prod reads its key");
	ASSERT_EQ(fx_do(&s.f, "untagged", op_open, &o, NULL), 0, "untagged reads it");
	o.path = side;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "a file beside the directory opens");
out:
	fx_cleanup(&s.f);
}

/* staging, prod and untagged against the volume's names, after each step. */
static void volume_check(struct sec *s, const char *step, const char *const *names)
{
	char p[PATH_MAX * 2], what[256];
	struct fop o = { .flags = O_RDONLY };
	int i;

	for (i = 0; names[i]; i++) {
		snprintf(p, sizeof(p), "%s%s", s->vol, names[i]);
		o.path = p;
		snprintf(what, sizeof(what), "%s: staging opens %s", step, names[i]);
		ASSERT_EQ(fx_do(&s->f, "agents/staging", op_open, &o, NULL), EPERM, what);
		snprintf(what, sizeof(what), "%s: prod opens %s", step, names[i]);
		ASSERT_EQ(fx_do(&s->f, "services/prod", op_open, &o, NULL), 0, what);
		snprintf(what, sizeof(what), "%s: untagged opens %s", step, names[i]);
		ASSERT_EQ(fx_do(&s->f, "untagged", op_open, &o, NULL), 0, what);
	}
}

/*
 * One AtomicWriter write, as pkg/volume/util/atomic_writer.go does it:
 * files into a new timestamped directory, ..data_tmp -> it, renamed over
 * ..data, missing top-level links, stale ones removed, the old directory
 * removed.
 */
static int atomic_write(struct sec *s, int gen, const char *const *keys, const char *gone)
{
	char ts[64], p[PATH_MAX * 2], t[PATH_MAX * 2], old[PATH_MAX * 2] = "";
	ssize_t n;
	int i;

	snprintf(p, sizeof(p), "%s..data", s->vol);
	n = readlink(p, t, sizeof(t) - 1);
	if (n > 0) {
		t[n] = '\0';
		snprintf(old, sizeof(old), "%s%s", s->vol, t);
	}
	snprintf(ts, sizeof(ts), "..2026_11_27_18_00_0%d.00000000%d", gen, gen);
	snprintf(p, sizeof(p), "%s%s", s->vol, ts);
	if (mkdir(p, 0755))
		return -errno;
	for (i = 0; keys[i]; i++) {
		snprintf(p, sizeof(p), "%s%s/%s", s->vol, ts, keys[i]);
		snprintf(t, sizeof(t), "%s generation %d\n", keys[i], gen);
		if (sec_write(p, t))
			return -1;
	}
	snprintf(p, sizeof(p), "%s..data_tmp", s->vol);
	snprintf(t, sizeof(t), "%s..data", s->vol);
	if (symlink(ts, p) || rename(p, t))
		return -errno;
	for (i = 0; keys[i]; i++) {
		snprintf(p, sizeof(p), "%s%s", s->vol, keys[i]);
		snprintf(t, sizeof(t), "..data/%s", keys[i]);
		if (symlink(t, p) && errno != EEXIST)
			return -errno;
	}
	if (gone) {
		snprintf(p, sizeof(p), "%s%s", s->vol, gone);
		if (unlink(p))
			return -errno;
	}
	return old[0] ? fx_sh(NULL, 0, "rm -rf '%s'", old) : 0;
}

TEST(lsm_secret_kubelet_atomic_writer)
{
	static const char *const both[] = { "tls.key", "tls.crt", NULL };
	static const char *const one[] = { "tls.key", NULL };
	static const char *const seen_both[] = { "tls.key", "tls.crt", "..data/tls.key", "..data/tls.crt", NULL };
	static const char *const seen_one[] = { "tls.key", "..data/tls.key", NULL };
	struct fop o = { .flags = O_RDONLY };
	char crt[PATH_MAX * 2];
	bool mounted = false;
	struct sec s;

	if (!sec_share(&s))
		goto out;
	/* kubelet mounts the volume's tmpfs after the node's daemons started. */
	if (!ASSERT_OK(mount("tmpfs", s.vol, "tmpfs", 0, "mode=0755") ? -errno : 0, "tmpfs on the volume"))
		goto out;
	mounted = true;
	ASSERT_OK(atomic_write(&s, 1, both, NULL), "create");
	volume_check(&s, "created", seen_both);
	ASSERT_OK(atomic_write(&s, 2, both, NULL), "first update");
	volume_check(&s, "updated", seen_both);
	ASSERT_OK(atomic_write(&s, 3, both, NULL), "second update");
	volume_check(&s, "updated again", seen_both);
	ASSERT_OK(atomic_write(&s, 4, one, "tls.crt"), "a key deleted");
	volume_check(&s, "deleted", seen_one);
	snprintf(crt, sizeof(crt), "%stls.crt", s.vol);
	o.path = crt;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), ENOENT, "the deleted key is gone");
	o.path = s.other;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "an unrelated file opens");
out:
	if (mounted)
		umount2(s.vol, MNT_DETACH);
	fx_cleanup(&s.f);
}
