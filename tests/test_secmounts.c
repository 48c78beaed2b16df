// SPDX-License-Identifier: GPL-2.0
/*
 * Secrets reached other than by opening a file by name: Unix sockets in a
 * protected directory, filesystems mounted on or below a protected path
 * after tierwalld started (and bind-mounted into another mount namespace),
 * mounts the programs cannot place. Guests only (BPF LSM).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stddef.h>
#include "fileops.h"
#include "fixture.h"
#include "secfix.h"
#include "test.h"
#include "tierwall.h"

/* ---- (d) Unix sockets ---- */

struct usock {
	const char *path;	/* NULL with abstract */
	const char *abstract;	/* name without the leading NUL */
	int type;
};

static socklen_t usock_addr(const struct usock *u, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (u->abstract) {
		strncpy(a->sun_path + 1, u->abstract, sizeof(a->sun_path) - 2);
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(u->abstract);
	}
	strncpy(a->sun_path, u->path, sizeof(a->sun_path) - 1);
	return sizeof(*a);
}

static int usock_bind(const struct usock *u)
{
	struct sockaddr_un a;
	socklen_t len = usock_addr(u, &a);
	int fd = socket(AF_UNIX, u->type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&a, len) || (u->type == SOCK_STREAM && listen(fd, 64))) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* connect (stream) or sendto (datagram) the socket; 0 or -errno. */
static int op_usock(void *arg)
{
	const struct usock *u = arg;
	struct sockaddr_un a;
	socklen_t len = usock_addr(u, &a);
	int fd = socket(AF_UNIX, u->type, 0), err = 0;

	if (fd < 0)
		return -1000;
	if (u->type == SOCK_STREAM)
		err = connect(fd, (struct sockaddr *)&a, len) ? -errno : 0;
	else
		err = sendto(fd, "x", 1, 0, (struct sockaddr *)&a, len) == 1 ? 0 : -errno;
	close(fd);
	return err;
}

TEST(lsm_secret_unix_sockets)
{
	char db[PATH_MAX], dg[PATH_MAX], pub[PATH_MAX];
	struct usock st = { .type = SOCK_STREAM }, dgram = { .type = SOCK_DGRAM };
	struct usock pubs = { .type = SOCK_STREAM }, abs = { .type = SOCK_STREAM };
	int fst = -1, fdg = -1, fpub = -1, fabs = -1;
	char name[64];
	struct sec s;
	pid_t pid;

	if (!sec_share(&s))
		goto out;
	snprintf(db, sizeof(db), "%sdb.sock", s.svc);
	snprintf(dg, sizeof(dg), "%slog.sock", s.svc);
	snprintf(pub, sizeof(pub), "%s/pub.sock", s.tls);
	snprintf(name, sizeof(name), "tw-abstract-%d", getpid());
	st.path = db;
	dgram.path = dg;
	pubs.path = pub;
	abs.abstract = name;
	fst = usock_bind(&st);
	fdg = usock_bind(&dgram);
	fpub = usock_bind(&pubs);
	fabs = usock_bind(&abs);
	if (!ASSERT_TRUE(fst >= 0 && fdg >= 0 && fpub >= 0 && fabs >= 0, "prod's sockets bound"))
		goto out;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_usock, &st, &pid), EPERM,
		  "staging connects to prod's stream socket");
	sec_check_event(&s, pid, "connect", db, s.svc);
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_usock, &dgram, &pid), EPERM,
		  "staging sends to prod's datagram socket");
	sec_check_event(&s, pid, "send", dg, s.svc);
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_usock, &st, NULL), 0, "prod reaches its socket");
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_usock, &dgram, NULL), 0, "prod sends to its socket");
	ASSERT_EQ(fx_do(&s.f, "untagged", op_usock, &st, NULL), 0, "untagged reaches it");
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_usock, &pubs, NULL), 0,
		  "a socket outside the protected directory");
	/* Abstract sockets have no file and no directory: left alone (doc/threat-model.md says so). */
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_usock, &abs, NULL), 0, "an abstract socket");
out:
	if (fst >= 0)
		close(fst);
	if (fdg >= 0)
		close(fdg);
	if (fpub >= 0)
		close(fpub);
	if (fabs >= 0)
		close(fabs);
	fx_cleanup(&s.f);
}

/* ---- (e) mounts after start ---- */

struct in_ns {
	struct sec *s;
	const char *src;	/* bind-mounted ... */
	const char *dst;	/* ... here, in a new mount namespace */
	struct fop o;		/* then staging does this there */
};

/* In a child: a private mount namespace with src bound at dst, and staging opening o there. */
static int staging_in_new_ns(struct in_ns *n)
{
	pid_t c;
	int st;

	fflush(stdout);
	c = fork();
	if (c < 0)
		return -1;
	if (!c) {
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount(n->src, n->dst, NULL, MS_BIND, NULL))
			_exit(201);
		_exit(fx_do(&n->s->f, "agents/staging", op_open, &n->o, NULL));
	}
	return waitpid(c, &st, 0) == c && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(lsm_secret_tmpfs_mounted_after_start)
{
	char certs[PATH_MAX], a[PATH_MAX], there[PATH_MAX], there_a[PATH_MAX * 2];
	struct fop o = { .flags = O_RDONLY };
	bool m1 = false;
	struct in_ns n;
	struct sec s;
	pid_t pid;

	if (!sec_share(&s))
		goto out;
	/* Inside a protected directory, by an untagged process (kubelet does this). */
	snprintf(certs, sizeof(certs), "%scerts", s.svc);
	snprintf(a, sizeof(a), "%s/a.key", certs);
	mkdir(certs, 0755);
	if (!ASSERT_OK(mount("tmpfs", certs, "tmpfs", 0, "mode=0755") ? -errno : 0, "tmpfs in svc/prod/"))
		goto out;
	m1 = true;
	ASSERT_OK(sec_write(a, "a\n"), "a key on it");
	o.path = a;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "a file on the new tmpfs");
	sec_check_event(&s, pid, "open", a, s.svc);
	ASSERT_EQ(fx_do(&s.f, "services/prod", op_open, &o, NULL), 0, "prod reads it");
	ASSERT_EQ(fx_do(&s.f, "untagged", op_open, &o, NULL), 0, "untagged reads it");
	/* The same tmpfs bound into a container's own mount namespace, at an unprotected place. */
	snprintf(there, sizeof(there), "%s/elsewhere", s.f.tmp);
	snprintf(there_a, sizeof(there_a), "%s/a.key", there);
	mkdir(there, 0755);
	n = (struct in_ns){ .s = &s, .src = certs, .dst = there, .o = { .path = there_a, .flags = O_RDONLY } };
	ASSERT_EQ(staging_in_new_ns(&n), EPERM, "bound into another mount namespace: refused");
	n.o.path = s.notes;
	ASSERT_EQ(staging_in_new_ns(&n), 0, "an unrelated file there opens");
out:
	if (m1)
		umount2(certs, MNT_DETACH);
	fx_cleanup(&s.f);
}

/* Deeper in mounts than the programs look: they cannot tell where it is, so it is refused. */
TEST(lsm_secret_unplaced_mount_refused)
{
	char p[PATH_MAX], f[PATH_MAX * 2];
	struct fop o = { .flags = O_RDONLY };
	struct sec s;
	int i, mounted = 0;
	json_t *e;
	pid_t pid;

	if (!sec_share(&s))
		goto out;
	snprintf(p, sizeof(p), "%s/nest", s.f.tmp);
	mkdir(p, 0755);
	for (i = 0; i < TW_MNT_DEPTH + 1; i++) {
		strcat(p, "/m");
		if (!ASSERT_OK((mkdir(p, 0755) && errno != EEXIST) || mount("tmpfs", p, "tmpfs", 0, NULL) ?
			       -errno : 0, "nested tmpfs"))
			goto out;
		mounted++;
	}
	snprintf(f, sizeof(f), "%s/f", p);
	ASSERT_OK(sec_write(f, "deep\n"), "a file at the bottom");
	o.path = f;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, &pid), EPERM, "below too many mounts: refused");
	e = fx_event_kind(&s.f, "file", pid);
	if (ASSERT_TRUE(e != NULL, "the refusal is an event")) {
		ASSERT_STREQ(json_string_value(json_object_get(e, "op")), "open", "event op");
		ASSERT_CONTAINS(json_string_value(json_object_get(e, "reason")), "mount", "event reason");
		ASSERT_TRUE(json_is_null(json_object_get(e, "secret")), "no rule matched");
	}
	json_decref(e);
	ASSERT_EQ(fx_do(&s.f, "untagged", op_open, &o, NULL), 0, "untagged opens it");
	o.path = s.notes;
	ASSERT_EQ(fx_do(&s.f, "agents/staging", op_open, &o, NULL), 0, "an unrelated file opens");
out:
	for (; mounted > 0; mounted--) {
		umount2(p, MNT_DETACH);
		*strrchr(p, '/') = '\0';
	}
	fx_cleanup(&s.f);
}
