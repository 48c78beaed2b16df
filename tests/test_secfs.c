// SPDX-License-Identifier: GPL-2.0
/*
 * Secrets on disk filesystems in the guests: ext4 (and a handle's
 * disconnected dentry there), btrfs subvolumes whose inode numbers repeat.
 * The modules come from each guest kernel's own package and the images are
 * made on the host (tests/vm/mkinitrd.sh); elsewhere these skip, saying so.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <linux/btrfs.h>
#include "fileops.h"
#include "fixture.h"
#include "secfix.h"
#include "test.h"

struct disk {
	char dir[PATH_MAX];	/* mount point */
	char loop[64];		/* loop device, "" when none */
	bool mounted;
};

/* The guest's modules for loop, ext4 and btrfs; false: skipped, saying why. */
static bool fs_modules(void)
{
	char out[256] = "";
	struct utsname u;

	uname(&u);
	if (access("/images/ext4.img", F_OK) || fx_guest_modules()) {
		/* The guests are built to carry them: there, missing is a broken build. */
		if (getenv("TW_GUEST"))
			ASSERT_TRUE(false, "the guest carries filesystem modules and images (make vm)");
		else
			tw_test_skip("no filesystem modules or images for kernel %s (the guests of tests/vm "
				     "carry them)", u.release);
		return false;
	}
	fx_sh(out, sizeof(out), "grep -cwE 'ext4|btrfs' /proc/filesystems");
	return ASSERT_EQ(atoi(out), 2, "ext4 and btrfs registered");
}

/* A fresh copy of the image, on a loop device, mounted at dir. */
static bool disk_mount(struct disk *d, struct sec *s, const char *type)
{
	char img[PATH_MAX];

	snprintf(d->dir, sizeof(d->dir), "%s/%s", s->f.tmp, type);
	snprintf(img, sizeof(img), "%s/%s.img", s->f.tmp, type);
	mkdir(d->dir, 0755);
	fx_sh(d->loop, sizeof(d->loop), "cp /images/%s.img %s && l=$(losetup -f) && losetup $l %s && "
					"printf %%s $l", type, img, img);
	if (!ASSERT_TRUE(!strncmp(d->loop, "/dev/loop", 9), "a loop device")) {
		d->loop[0] = '\0';
		return false;
	}
	d->mounted = !mount(d->loop, d->dir, type, 0, NULL);
	return ASSERT_TRUE(d->mounted, "mounted");
}

static void disk_umount(struct disk *d)
{
	if (d->mounted)
		umount2(d->dir, MNT_DETACH);
	if (d->loop[0])
		fx_sh(NULL, 0, "losetup -d %s", d->loop);
}

struct handle {
	const char *mnt;	/* the mount's root, for open_by_handle_at */
	struct file_handle *h;
};

static int op_open_handle(void *a)
{
	struct handle *x = a;
	int m = open(x->mnt, O_RDONLY | O_DIRECTORY), fd;

	if (m < 0)
		return -1000;
	fd = open_by_handle_at(m, x->h, O_RDONLY);
	close(m);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static struct file_handle *handle_of(const char *path)
{
	struct file_handle *h = calloc(1, sizeof(*h) + MAX_HANDLE_SZ);
	int mnt;

	if (!h)
		return NULL;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, path, h, &mnt, 0)) {
		free(h);
		return NULL;
	}
	return h;
}

TEST(lsm_secret_ext4)
{
	char dir[PATH_MAX * 2], key[PATH_MAX * 2], in[PATH_MAX * 2], late[PATH_MAX * 2];
	char other[PATH_MAX * 2], tmp[PATH_MAX * 2];
	struct fop o = { .flags = O_RDONLY };
	struct handle hl = {}, ho = {};
	struct disk d = {};
	struct sec s;
	pid_t pid;

	if (!fs_modules() || !sec_init(&s) || !disk_mount(&d, &s, "ext4"))
		goto out;
	snprintf(dir, sizeof(dir), "%s/prod/", d.dir);
	snprintf(in, sizeof(in), "%s/prod/db.key", d.dir);
	snprintf(key, sizeof(key), "%s/key.pem", d.dir);
	snprintf(other, sizeof(other), "%s/other.txt", d.dir);
	mkdir(dir, 0755);
	if (!ASSERT_OK(sec_write(in, "db\n") || sec_write(key, "k1\n") || sec_write(other, "o\n"), "files") ||
	    !sec_run(&s, (const char *const[]){ dir, key, NULL }))
		goto out;
	o.path = in;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "a file in a protected directory");
	sec_check_event(&s, pid, "open", in, dir);
	o.path = key;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "a protected file");
	snprintf(tmp, sizeof(tmp), "%s.tmp", key);
	ASSERT_OK(sec_write(tmp, "k2\n") || rename(tmp, key), "owner rotates it");
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "rotated");
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_open, &o, NULL), 0, "prod reads it");
	o.path = other;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "an unrelated file on the same ext4");

	/*
	 * A handle opened after the dentry cache dropped the file: its dentry is
	 * cut off from its parents, so where it lies cannot be told. Refused.
	 */
	snprintf(late, sizeof(late), "%s/prod/late.key", d.dir);
	ASSERT_OK(sec_write(late, "late\n"), "a file created after start");
	hl = (struct handle){ .mnt = d.dir, .h = handle_of(late) };
	ho = (struct handle){ .mnt = d.dir, .h = handle_of(other) };
	if (!ASSERT_TRUE(hl.h && ho.h, "file handles"))
		goto out;
	fx_sh(NULL, 0, "sync; echo 2 > /proc/sys/vm/drop_caches");
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open_handle, &hl, &pid), EPERM,
		  "open_by_handle_at of a file in the protected directory");
	{
		json_t *e = fx_event_kind(&s.f, "file", pid);

		if (ASSERT_TRUE(e != NULL, "the refusal is an event"))
			ASSERT_CONTAINS(json_string_value(json_object_get(e, "reason")), "handle",
					"reason: a disconnected handle");
		json_decref(e);
	}
	ASSERT_EQ(fx_do(&s.f, "untagged", op_open_handle, &hl, NULL), 0, "untagged opens it by handle");
	ASSERT_EQ(fx_do(&s.f, "untagged", op_open_handle, &ho, NULL), 0, "and the unrelated one");
	o.path = other;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "the unrelated file by name");
out:
	free(hl.h);
	free(ho.h);
	disk_umount(&d);
	fx_cleanup(&s.f);
}

static int subvol(const char *top, const char *name)
{
	struct btrfs_ioctl_vol_args a = {};
	int fd = open(top, O_RDONLY | O_DIRECTORY), err;

	if (fd < 0)
		return -errno;
	snprintf(a.name, sizeof(a.name), "%s", name);
	err = ioctl(fd, BTRFS_IOC_SUBVOL_CREATE, &a) ? -errno : 0;
	close(fd);
	return err;
}

TEST(lsm_secret_btrfs_subvolumes)
{
	char a_key[PATH_MAX * 2], b_txt[PATH_MAX * 2], a_dir[PATH_MAX * 2], b_dir[PATH_MAX * 2];
	char a_in[PATH_MAX * 2], b_in[PATH_MAX * 2], p[PATH_MAX * 2], tmp[PATH_MAX * 2];
	struct fop o = { .flags = O_RDONLY };
	struct stat sa, sb, da, db;
	struct disk d = {};
	struct sec s;
	pid_t pid;

	if (!fs_modules() || !sec_init(&s) || !disk_mount(&d, &s, "btrfs"))
		goto out;
	if (!ASSERT_OK(subvol(d.dir, "a"), "subvolume a") || !ASSERT_OK(subvol(d.dir, "b"), "subvolume b"))
		goto out;
	/* The same layout in both: the same inode numbers, told apart by the subvolume. */
	snprintf(a_key, sizeof(a_key), "%s/a/key.pem", d.dir);
	snprintf(b_txt, sizeof(b_txt), "%s/b/notes.txt", d.dir);
	snprintf(p, sizeof(p), "%s/a/prod", d.dir);
	mkdir(p, 0755);
	snprintf(a_dir, sizeof(a_dir), "%s/a/prod/", d.dir);
	snprintf(p, sizeof(p), "%s/b/prod", d.dir);
	mkdir(p, 0755);
	snprintf(b_dir, sizeof(b_dir), "%s/b/prod/", d.dir);
	snprintf(a_in, sizeof(a_in), "%s/a/prod/db.key", d.dir);
	snprintf(b_in, sizeof(b_in), "%s/b/prod/db.txt", d.dir);
	if (!ASSERT_OK(sec_write(a_key, "a\n") || sec_write(b_txt, "b\n") || sec_write(a_in, "a\n") ||
		       sec_write(b_in, "b\n"), "files"))
		goto out;
	stat(a_key, &sa);
	stat(b_txt, &sb);
	stat(a_in, &da);
	stat(b_in, &db);
	ASSERT_TRUE(sa.st_ino == sb.st_ino && sa.st_dev != sb.st_dev, "one inode number in two subvolumes");
	ASSERT_TRUE(da.st_ino == db.st_ino, "and again below the directories");
	if (!sec_run(&s, (const char *const[]){ a_key, a_dir, NULL }))
		goto out;
	o.path = a_key;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "the protected file");
	sec_check_event(&s, pid, "open", a_key, a_key);
	o.path = a_in;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "a file in the protected directory");
	o.path = b_txt;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "the same number in the other subvolume");
	o.path = b_in;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "and below its same-numbered directory");
	snprintf(tmp, sizeof(tmp), "%s.tmp", a_key);
	ASSERT_OK(sec_write(tmp, "a2\n") || rename(tmp, a_key), "owner rotates the key");
	o.path = a_key;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), EPERM, "rotated");
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_open, &o, NULL), 0, "prod reads it");
	ASSERT_EQ(fx_do(&s.f, "untagged", op_open, &o, NULL), 0, "untagged reads it");
out:
	disk_umount(&d);
	fx_cleanup(&s.f);
}
