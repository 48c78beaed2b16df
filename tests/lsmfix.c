// SPDX-License-Identifier: GPL-2.0
/* The secret-file tests' shared setup: see lsmfix.h. */
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

static const char *const lsm_cgroups[] = {
	"agents/staging", "agents/dev", "services/prod", "untagged", NULL
};


/* The files of the policy below, in dir (made before the daemon starts: pre-link must predate it). */
static int lsm_files(const char *dir)
{
	char p[PATH_MAX * 2], k[PATH_MAX * 2];

	fx_sh(NULL, 0, "mkdir -p %s/secrets/prod/sub %s/secrets/staging", dir, dir);
	snprintf(k, sizeof(k), "%s/secrets/prod/db.key", dir);
	write_file(k, "prod-db-password\n", 0644);
	snprintf(p, sizeof(p), "%s/secrets/prod/rotate.sh", dir);
	write_file(p, "#!/bin/sh\nexit 0\n", 0755);
	snprintf(p, sizeof(p), "%s/single.key", dir);
	write_file(p, "prod-api-key\n", 0644);
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	write_file(p, "nothing secret\n", 0644);
	snprintf(p, sizeof(p), "%s/pre-link", dir);
	return link(k, p) ? -errno : 0;
}

/* The secret-file policy on the files of lsm_files(dir). */
static void lsm_policy_in(char *buf, size_t len, const char *dir)
{
	snprintf(buf, len,
"{ \"version\": 1,\n"
"  \"tiers\": { \"dev\": {\"mode\": \"audit\"}, \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/agents/dev\", \"tier\": \"dev\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/secrets/prod/\", \"%s/single.key\", \"%s/later/dir/new.key\"]},\n"
"                {\"tier\": \"staging\", \"paths\": [\"%s/secrets/staging/\"]} ] }\n",
		 dir, dir, dir, dir);
}

static void lsm_group_policy(char *buf, size_t len)
{
	lsm_policy_in(buf, len, "@SLOT@");
}

/* The paths of l's files, below its f.tmp. */
static void lsm_paths(struct lsm *l)
{
	const char *t = l->f.tmp;

	snprintf(l->prod, sizeof(l->prod), "%s/secrets/prod/", t);
	snprintf(l->key, sizeof(l->key), "%s/secrets/prod/db.key", t);
	snprintf(l->script, sizeof(l->script), "%s/secrets/prod/rotate.sh", t);
	snprintf(l->single, sizeof(l->single), "%s/single.key", t);
	snprintf(l->later, sizeof(l->later), "%s/later/dir/new.key", t);
	snprintf(l->pre_link, sizeof(l->pre_link), "%s/pre-link", t);
	snprintf(l->outside, sizeof(l->outside), "%s/notes.txt", t);
}

bool lsm_start(struct lsm *l)
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
	lsm_paths(l);
	if (!ASSERT_OK(lsm_files(f->tmp), "the files, and a hard link before start"))
		return false;
	lsm_policy_in(policy, sizeof(policy), f->tmp);
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

bool lsm_share(struct lsm *l)
{
	static const struct fx_group lsm = {
		.name = "lsm", .cgroups = lsm_cgroups, .policy = lsm_group_policy,
		.files = lsm_files, .slots = 5,
	};

	if (!fx_lsm_share(&l->f, &lsm))
		return false;
	lsm_paths(l);
	return true;
}

/* Denied in staging (then the test moves the same process to prod). */
int op_open_refused(void *a)
{
	int first = op_open(a);

	return first == -EPERM ? 0 : first ? first : -1001;
}

/* Receive one descriptor; -EPERM if the kernel dropped it (MSG_CTRUNC). */
int op_recv_fd(void *a)
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

void check_file_event(struct lsm *l, pid_t pid, const char *op, const char *verdict,
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
