// SPDX-License-Identifier: GPL-2.0
/*
 * Resolving a policy path name by name (openat from "/", readlinkat for
 * symlinks), recording each name in its directory by identity, the way
 * the kernel's hooks see it: a dentry's name and its parent's inode.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/statfs.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include "chain.h"
#include "util.h"

bool tw_chain_subvols(void)
{
	return !access("/sys/kernel/btf/btrfs", F_OK);
}

/* The superblock dev of the mount fd is on, from mountinfo ("id parent maj:min ..."). */
static int mount_dev(int fd, uint32_t *dev)
{
	struct statx sx;
	char line[4096];
	unsigned long long id;
	unsigned int maj, min;
	int err = -ENOENT;
	FILE *f;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) || !(sx.stx_mask & STATX_MNT_ID))
		return -errno ? -errno : -EOPNOTSUPP;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llu %*u %u:%u", &id, &maj, &min) == 3 && id == sx.stx_mnt_id) {
			*dev = maj << 20 | min;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int tw_fd_key(int fd, bool subvols, struct tw_secret_key *k, uint32_t *sbdev)
{
	struct statfs sfs;
	struct stat st;
	int err;

	if (fstat(fd, &st) || fstatfs(fd, &sfs))
		return -errno;
	memset(k, 0, sizeof(*k));
	k->dev = tw_kdev(st.st_dev);
	k->ino = st.st_ino;
	*sbdev = k->dev;
	if (sfs.f_type != BTRFS_SUPER_MAGIC)
		return 0;
	/* btrfs: stat() gives the subvolume's device, the superblock has its own. */
	err = mount_dev(fd, sbdev);
	if (err)
		return err;
	if (!subvols)
		k->dev = *sbdev;	/* the kernel side keys btrfs by its superblock then */
	return 0;
}

/*
 * i_generation, which tells a reused inode number from the inode: the
 * ioctl where the filesystem has it, a tmpfs file handle's first word
 * (shmem_encode_fh) where it does not. false: it cannot be read.
 */
bool tw_read_igen(int dirfd, const char *name, mode_t mode, uint32_t *igen)
{
	struct { struct file_handle h; uint32_t w[8]; } fh = { .h.handle_bytes = sizeof(fh.w) };
	struct statfs sfs;
	int fd, mnt, v;
	bool ok = false;

	if (S_ISREG(mode) || S_ISDIR(mode)) {
		fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0) {
			if (!ioctl(fd, FS_IOC_GETVERSION, &v)) {
				*igen = v;
				ok = true;
			}
			close(fd);
		}
	}
	if (ok)
		return true;
	if (!fstatfs(dirfd, &sfs) && sfs.f_type == TMPFS_MAGIC &&
	    !name_to_handle_at(dirfd, name, &fh.h, &mnt, 0) && fh.h.handle_type == 1 &&
	    fh.h.handle_bytes >= 12) {
		memcpy(igen, fh.h.f_handle, 4);
		return true;
	}
	return false;
}

/* Record name in dirfd as the next link. */
static int add_link(struct tw_chain *c, int dirfd, const char *name, bool subvols)
{
	struct tw_link *l;
	int err;

	if (c->n == TW_CHAIN_MAX)
		return -ELOOP;
	l = &c->link[c->n];
	memset(l, 0, sizeof(*l));
	err = tw_fd_key(dirfd, subvols, &l->key.dir, &l->sbdev);
	if (err)
		return err;
	/* The kernel reads the name into the same room: longer names share a key (fail closed). */
	memcpy(l->key.name, name, strnlen(name, sizeof(l->key.name) - 1));
	l->what = TW_FN_PATH;
	c->n++;
	return 0;
}

/* The target: name in dirfd, stat()ed without following. */
static int found(struct tw_chain *c, int dirfd, const char *name, const struct stat *st,
		 bool want_dir, bool subvols)
{
	int fd, err;

	c->found = true;
	c->is_dir = S_ISDIR(st->st_mode);
	c->kind = want_dir && !c->is_dir ? TW_CHAIN_NOT_DIR :
		  !want_dir && c->is_dir ? TW_CHAIN_IS_DIR : TW_CHAIN_OK;
	c->link[c->n - 1].what = want_dir ? TW_FN_DIR : TW_FN_FILE;
	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = tw_fd_key(fd, subvols, &c->key, &c->sbdev);
	close(fd);
	if (!err)
		c->igen_ok = tw_read_igen(dirfd, name, st->st_mode, &c->igen);
	return err;
}

/*
 * Wait for every name operation already under way in dirfd to finish: the
 * kernel's hooks see a rename, unlink or create before it is done, holding
 * the directory's lock until it is, and reading the directory takes that
 * lock. A name looked up after this shows what those operations left.
 */
static int dir_settle(int dirfd)
{
	char buf[512];
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return -errno;
	/* One batch is enough: the lock is taken before the first entry; a long name's EINVAL too. */
	n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	close(fd);
	return n < 0 && errno != EINVAL ? -errno : 0;
}

/* Go on from *dirfd to the directory name (absolute: from "/"). */
static int step(int *dirfd, const char *name, int flags)
{
	int fd = openat(*dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC | flags);

	if (fd < 0)
		return -errno;
	close(*dirfd);
	*dirfd = fd;
	return 0;
}

static int resolve(const char *path, bool subvols, bool settle, struct tw_chain *c)
{
	char rest[PATH_MAX * 2], comp[NAME_MAX + 1], target[PATH_MAX];
	size_t len = strlen(path);
	bool want_dir = len > 1 && path[len - 1] == '/';
	int dirfd, links = 0, err = 0;
	struct stat st;
	char *p = rest;

	memset(c, 0, sizeof(*c));
	snprintf(rest, sizeof(rest), "%.*s", (int)(want_dir ? len - 1 : len), path);
	dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	for (;;) {
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;	/* "/" itself: policy validation refuses it */
		n = strcspn(p, "/");
		if (n > NAME_MAX) {
			err = -ENAMETOOLONG;
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		while (*p == '/')
			p++;
		if (!strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			err = step(&dirfd, "..", 0);
			if (err)
				break;
			continue;
		}
		err = add_link(c, dirfd, comp, subvols);
		if (!err && settle)
			err = dir_settle(dirfd);
		if (err)
			break;
		if (fstatat(dirfd, comp, &st, AT_SYMLINK_NOFOLLOW)) {
			err = errno == ENOENT ? 0 : -errno;
			if (!err && !*p)
				c->link[c->n - 1].what = want_dir ? TW_FN_DIR : TW_FN_FILE;
			break;	/* missing: the kernel tells us when it appears */
		}
		if (S_ISLNK(st.st_mode)) {
			ssize_t tl = readlinkat(dirfd, comp, target, sizeof(target) - 1);
			char more[PATH_MAX * 2];

			if (++links > TW_CHAIN_LINKS || tl < 0) {
				err = tl < 0 ? -errno : -ELOOP;
				break;
			}
			target[tl] = '\0';
			snprintf(more, sizeof(more), "%s/%s", target, p);
			snprintf(rest, sizeof(rest), "%s", more);
			p = rest;
			if (target[0] == '/' && (err = step(&dirfd, "/", 0)))
				break;
			continue;
		}
		if (!*p) {
			err = found(c, dirfd, comp, &st, want_dir, subvols);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			err = -ENOTDIR;
			break;
		}
		err = step(&dirfd, comp, O_NOFOLLOW);
		if (err)
			break;
	}
	close(dirfd);
	return err;
}

int tw_chain_resolve(const char *path, bool subvols, struct tw_chain *c)
{
	return resolve(path, subvols, false, c);
}

int tw_chain_resolve_settled(const char *path, bool subvols, struct tw_chain *c)
{
	return resolve(path, subvols, true, c);
}

bool tw_chain_same(const struct tw_chain *a, const struct tw_chain *b)
{
	int i;

	if (a->n != b->n || a->found != b->found ||
	    (a->found && memcmp(&a->key, &b->key, sizeof(a->key))))
		return false;
	for (i = 0; i < a->n; i++)
		if (memcmp(&a->link[i].key, &b->link[i].key, sizeof(a->link[i].key)) ||
		    a->link[i].what != b->link[i].what)
			return false;
	return true;
}
