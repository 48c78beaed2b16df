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
