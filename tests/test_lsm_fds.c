// SPDX-License-Identifier: GPL-2.0
/*
 * Secret files, continued: descriptors passed in, a cgroup changing tier,
 * audit and "log": "all" records, status, and a secret that cannot be
 * resolved. Where they run: as test_lsm.c.
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

	if (!lsm_share(&l))
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

	if (!lsm_share(&l))
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
	/* The secret-file programs, netlsm's 4, and self-protection's. */
	ASSERT_EQ(lsm_attached, 19 + 4 + json_integer_value(json_object_get(json_object_get(s, "protection"),
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
