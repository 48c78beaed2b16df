// SPDX-License-Identifier: GPL-2.0
/*
 * A rotation the daemon must not miss, made deterministic: the kernel's
 * hooks see a rename before it is done, so the test holds one there (the
 * rename waits for the new file's inode lock, which a write() stalled on a
 * userfaultfd page holds) while the daemon looks at the changed name, at
 * start, or at a reload. However the timing falls, the rule follows its
 * name: the inode it names afterwards is refused to other tiers and
 * reported as secret_rotated. Guests only (BPF LSM).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include "fileops.h"
#include "fixture.h"
#include "secfix.h"
#include "test.h"
#include "util.h"

/* A rename stopped after the hooks ran and before the name changed. */
struct inflight {
	struct fx *f;
	const char *dir;		/* the name's directory, locked by the rename meanwhile */
	char from[PATH_MAX], to[PATH_MAX];
	int uffd, fd;
	char *page;
	long pagesz;
	pthread_t writer, mover, releaser;
	bool has_writer, has_mover, has_releaser, released;
	pid_t mover_tid;		/* shared */
	int mover_err;
	int go;				/* shared: the releaser stops waiting for the daemon */
};

/* Holds the new file's inode lock until the page it writes from is supplied. */
static void *write_stalled(void *a)
{
	struct inflight *x = a;

	if (pwrite(x->fd, x->page, 16, 0) < 0)
		perror("the stalled write");
	return NULL;
}

static void *rename_stalled(void *a)
{
	struct inflight *x = a;

	__atomic_store_n(&x->mover_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	x->mover_err = rename(x->from, x->to) ? -errno : 0;
	return NULL;
}

/* A write stalled on a missing page: its fault is the userfaultfd's first message. */
static int stall_writer(struct inflight *x)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct pollfd p = { .events = POLLIN };
	struct uffd_msg msg;

	x->pagesz = sysconf(_SC_PAGESIZE);
	x->fd = open(x->from, O_WRONLY | O_CLOEXEC);
	x->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (x->fd < 0 || x->uffd < 0 || ioctl(x->uffd, UFFDIO_API, &api))
		return -errno;
	x->page = mmap(NULL, x->pagesz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->page == MAP_FAILED)
		return -errno;
	reg.range.start = (unsigned long)x->page;
	reg.range.len = x->pagesz;
	if (ioctl(x->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (pthread_create(&x->writer, NULL, write_stalled, x))
		return -EAGAIN;
	x->has_writer = true;
	p.fd = x->uffd;
	if (poll(&p, 1, fx_timeout_ms(60000)) != 1 || read(x->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return -ETIMEDOUT;
	return msg.event == UFFD_EVENT_PAGEFAULT ? 0 : -EPROTO;
}

static bool mover_waits(struct inflight *x)
{
	pid_t tid = __atomic_load_n(&x->mover_tid, __ATOMIC_ACQUIRE);

	return tid > 0 && fx_proc_state(tid) == 'D';
}

static void inflight_init(struct inflight *x)
{
	memset(x, 0, sizeof(*x));
	x->uffd = x->fd = -1;
	x->page = MAP_FAILED;
}

/* rename(from, to) past its hooks, waiting for from's inode lock (so holding dir's). */
static int inflight_begin(struct inflight *x, struct fx *f, const char *from, const char *to,
			  const char *dir)
{
	int err;

	x->f = f;
	x->dir = dir;
	snprintf(x->from, sizeof(x->from), "%s", from);
	snprintf(x->to, sizeof(x->to), "%s", to);
	err = stall_writer(x);
	if (err)
		return err;
	if (pthread_create(&x->mover, NULL, rename_stalled, x))
		return -EAGAIN;
	x->has_mover = true;
	/* Uninterruptible: past lock_rename (free) and the hooks, on the new file's lock. */
	return FX_UNTIL(mover_waits(x), 60000) ? 0 : -ETIMEDOUT;
}

/* The page arrives, the write and then the rename complete (once). */
static void inflight_release(struct inflight *x)
{
	struct uffdio_zeropage z = { .range = { (unsigned long)x->page, x->pagesz } };

	if (x->released || x->uffd < 0 || x->page == MAP_FAILED)
		return;
	x->released = true;
	if (ioctl(x->uffd, UFFDIO_ZEROPAGE, &z))
		perror("UFFDIO_ZEROPAGE");
}

/* Everything released and joined; again is a no-op. */
static void inflight_end(struct inflight *x)
{
	if (x->has_releaser) {
		__atomic_store_n(&x->go, 1, __ATOMIC_RELEASE);
		pthread_join(x->releaser, NULL);
	}
	inflight_release(x);
	if (x->has_writer)
		pthread_join(x->writer, NULL);
	if (x->has_mover)
		pthread_join(x->mover, NULL);
	if (x->page != MAP_FAILED)
		munmap(x->page, x->pagesz);
	if (x->uffd >= 0)
		close(x->uffd);
	if (x->fd >= 0)
		close(x->fd);
	x->has_releaser = x->has_writer = x->has_mover = false;
	x->page = MAP_FAILED;
	x->uffd = x->fd = -1;
}

/* Is pid blocked reading dir (getdents64 on an fd open on it)? */
static bool waits_on_dir(pid_t pid, const char *dir)
{
	char path[64], *sc = NULL, link[PATH_MAX];
	unsigned long long fd = 0;
	long nr = -1;
	ssize_t n;

	if (pid <= 0 || fx_proc_state(pid) != 'D')
		return false;
	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	if (tw_read_file(path, &sc, NULL))
		return false;
	if (sscanf(sc, "%ld %llx", &nr, &fd) != 2 || nr != SYS_getdents64) {
		free(sc);
		return false;
	}
	free(sc);
	snprintf(path, sizeof(path), "/proc/%d/fd/%llu", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return !strcmp(link, dir);
}

/* Until the daemon waits for the rename, or the test says go: then the rename goes on. */
static void *release_when_waited_for(void *a)
{
	struct inflight *x = a;

	FX_UNTIL(__atomic_load_n(&x->go, __ATOMIC_ACQUIRE) ||
		 waits_on_dir(__atomic_load_n(&x->f->daemon, __ATOMIC_ACQUIRE), x->dir), 600000);
	inflight_release(x);
	return NULL;
}

static int releaser_start(struct inflight *x)
{
	if (pthread_create(&x->releaser, NULL, release_when_waited_for, x))
		return -EAGAIN;
	x->has_releaser = true;
	return 0;
}

/*
 * The daemon has looked at the names since now: it waits for the rename
 * (reading its directory), or it answered two requests, so a whole turn
 * of its loop, secret paths included, ran in between.
 */
static bool daemon_looked(struct fx *f, const char *dir, int *fd, int *answers)
{
	json_t *r;

	if (waits_on_dir(f->daemon, dir))
		return true;
	if (*fd < 0)
		*fd = fx_ctl_begin(f, "status");
	if (*fd >= 0 && !fx_ctl_reply(*fd, 0, &r)) {
		json_decref(r);
		close(*fd);
		*fd = -1;
		++*answers;
	}
	return *answers >= 2;
}

static void check_followed(struct sec *s, const char *path)
{
	struct fop o = { .path = path, .flags = O_RDONLY };

	ASSERT_EQ(fx_do(&s->f, "agents/staging", op_open, &o, NULL), EPERM,
		  "the inode renamed in is refused to staging");
	ASSERT_EQ(fx_do(&s->f, "services/prod", op_open, &o, NULL), 0, "and prod reads it");
	sec_check_rotated(s, path);
}

/* The owner writes to.new and renames it over to, held half-done (releaser: until the daemon waits). */
static bool hold_rename(struct sec *s, struct inflight *x, const char *to, bool releaser)
{
	char tmp[PATH_MAX + 8];

	snprintf(tmp, sizeof(tmp), "%s.new", to);
	return ASSERT_OK(sec_write(tmp, "new key\n"), "owner writes the new key") &&
	       ASSERT_OK(inflight_begin(x, &s->f, tmp, to, s->tls), "a rename over the key, held half-done") &&
	       (!releaser || ASSERT_OK(releaser_start(x), "releaser"));
}

/* The rename goes on; then (ok: the daemon is up) the rule must have followed it. */
static void release_and_check(struct sec *s, struct inflight *x, bool ok, const char *path)
{
	inflight_end(x);
	if (ok && ASSERT_OK(x->mover_err, "the rename completed"))
		check_followed(s, path);
}

/* The daemon looks at the changed name while the rename is still under way. */
TEST(lsm_secret_rotation_seen_mid_rename)
{
	struct inflight x;
	int ctl = -1, answers = 0;
	struct sec s;

	inflight_init(&x);
	if (!sec_start(&s))
		goto out;
	if (!hold_rename(&s, &x, s.key, false))
		goto out;
	ASSERT_TRUE(FX_UNTIL(daemon_looked(&s.f, s.tls, &ctl, &answers), 120000),
		    "the daemon looked at the changed name while the rename was under way");
	release_and_check(&s, &x, true, s.key);
out:
	if (ctl >= 0)
		close(ctl);
	inflight_end(&x);
	fx_cleanup(&s.f);
}

/* The rename's hooks ran before any program watched; it completes after the daemon read the path. */
TEST(lsm_secret_rotation_before_the_programs_attach)
{
	struct inflight x;
	struct sec s;
	bool up;

	inflight_init(&x);
	if (!sec_init(&s))
		goto out;
	if (!hold_rename(&s, &x, s.key, true))
		goto out;
	up = sec_run(&s, NULL);
	release_and_check(&s, &x, up, s.key);
out:
	inflight_end(&x);
	fx_cleanup(&s.f);
}

/* A path a reload adds is renamed over while the new programs are loaded and attached. */
TEST(lsm_secret_rotation_during_a_reload)
{
	char key2[PATH_MAX + 8];
	const char *more[] = { key2, NULL };
	struct inflight x;
	struct sec s;
	int rc;

	inflight_init(&x);
	if (!sec_start(&s))
		goto out;
	snprintf(key2, sizeof(key2), "%s/key2.pem", s.tls);
	/* Not watched yet: the running programs count no change, so the daemon does not wait. */
	if (!ASSERT_OK(sec_write(key2, "key2 v1\n"), "owner writes key2") || !hold_rename(&s, &x, key2, true))
		goto out;
	sec_policy(&s, more);
	rc = fx_sighup_reload(&s.f);
	release_and_check(&s, &x, ASSERT_OK(rc, "the policy with key2 is loaded"), key2);
out:
	inflight_end(&x);
	fx_cleanup(&s.f);
}
