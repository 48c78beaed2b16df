// SPDX-License-Identifier: GPL-2.0
/*
 * Routine operations that must never open the boundary: a crash and a
 * restart, a reload, and a storm of reloads while every tier hammers the
 * hooks. Named integ_* so the QEMU guests run them too (with file opens
 * where BPF LSM loads).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ctl.h"
#include "evlog.h"
#include "fixture.h"
#include "net.h"
#include "std.h"
#include "test.h"
#include "util.h"

TEST(integ_crash_keeps_enforcing_and_restart_takes_over)
{
	char out[4096];
	struct stat st;
	struct fx f;
	json_t *e;
	pid_t pid;
	int l;

	if (!std_start(&f))
		goto out;
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, &pid), EPERM,
		  "enforcing");
	e = fx_event(&f, pid, P_ANY);
	json_decref(e);
	/* A crash: pinned links keep the kernel enforcing without the daemon. */
	kill(f.daemon, SIGKILL);
	waitpid(f.daemon, NULL, 0);
	f.daemon = 0;
	ASSERT_OK(stat(f.pin, &st), "pins survive the crash");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "still enforcing with no daemon");

	if (!ASSERT_OK(fx_start(&f, NULL), "restart over the stale socket and pins"))
		goto out;
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "the old links were replaced, not stacked");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, &pid), EPERM,
		  "the new daemon enforces");
	e = fx_event(&f, pid, P_ANY);
	ASSERT_TRUE(e && json_integer_value(json_object_get(e, "seq")) > 4,
		    "seq continues the log across the restart");
	json_decref(e);

	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwalld --uninstall --pin-dir %s --state-dir %s "
			"--log-dir %s --socket %s", tw_build_dir, f.pin, f.state, f.log_dir, f.sock),
		  0, "uninstall");
	ASSERT_EQ(fx_cgroup_progs(f.root), 0, "uninstall detaches everything");
	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_TRUE(l >= 0, "listener");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0,
		  "no enforcement after uninstall");
	ASSERT_TRUE(fx_accepted(l), "accepted");
	close(l);
out:
	fx_cleanup(&f);
}

TEST(integ_sighup_reloads_policy)
{
	char out[16384], policy[4096], moved[4096], *at;
	struct fx f;
	int l, rc;

	if (!std_start(&f))
		goto out;
	fx_mkcg(&f, "fresh");
	rc = fx_sh(out, sizeof(out), "%s/tierwall --socket %s tag /fresh staging", tw_build_dir, f.sock);
	ASSERT_EQ(rc, 0, "a runtime tag");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "before: 127.20/16 is prod's");

	/* The same policy with prod's first range moved from 127.20/16 to 127.40/16. */
	std_policy(policy, sizeof(policy));
	at = strstr(policy, "127.20.0.0/16");
	snprintf(moved, sizeof(moved), "%.*s127.40.0.0/16%s", (int)(at - policy), policy,
		 at + strlen("127.20.0.0/16"));
	fx_write_policy(&f, moved);
	ASSERT_OK(fx_sighup_reload(&f), "SIGHUP reloads: the new policy is on the record");

	l = fx_listen_tcp("127.20.0.1", P_ANY);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), 0,
		  "after: 127.20/16 is nobody's");
	ASSERT_TRUE(fx_accepted(l), "accepted");
	close(l);
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.40.0.1", P_ANY, NULL), EPERM,
		  "after: 127.40/16 is prod's");
	ASSERT_EQ(fx_net(&f, "fresh", TW_OP_TCP_CONNECT, "127.40.0.1", P_ANY, NULL), EPERM,
		  "the runtime tag survived the reload");
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "one set of programs attached, not two");

	/* A broken policy: the loaded one stays in force. */
	fx_write_policy(&f, "{ \"version\": 1, \"tiers\": {} }\n");
	ASSERT_EQ(fx_sighup_reload(&f), 1, "a failed reload is on the record");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.40.0.1", P_ANY, NULL), EPERM,
		  "and enforcement goes on unchanged");
	rc = fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir);
	ASSERT_EQ(rc, 0, "the log's chain is intact across the reloads");
out:
	fx_cleanup(&f);
}

/*
 * The storm: two policies that agree on X (prod's) and Y (staging's) and
 * disagree on Z, with secret directories that agree (prod/) and disagree
 * (flip/) in the same way. Whatever instant a decision falls on, its
 * verdict must be one of the two policies', and every refusal a record.
 */
/* 50 on the host; 5 in a TCG guest, where one reload under this load takes ~10 s. */
#define STORM_RELOADS	(getenv("TW_GUEST") ? 5 : 50)
#define STORM_PORT	fx_port(5)
#define T_X		0	/* 127.50.0.1, prod's in both */
#define T_Y		1	/* 127.50.0.2, staging's in both */
#define T_Z		2	/* 127.50.0.3, prod's in A, staging's in B */
#define T_FREE		3	/* an unowned file (opens only) */

static const char *const storm_addr[] = { "127.50.0.1", "127.50.0.2", "127.50.0.3" };

struct storm_result {
	long tries[4], refused[4];
	long violations;
};

struct storm_child {
	pid_t pid, was;		/* was: the pid, after it is reaped */
	bool files;
	const char *tier;
	struct storm_result *res;	/* shared with the child */
	volatile int *stop;		/* shared: set by the parent when the storm is over */
};

static void storm_policy(struct fx *f, bool b, bool files)
{
	char p[4096], sec[1024] = "";

	if (files)
		snprintf(sec, sizeof(sec), ",\n  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/files/prod/\"]},\n"
			 "               {\"tier\": \"%s\", \"paths\": [\"%s/files/flip/\"]} ]",
			 f->tmp, b ? "staging" : "prod", f->tmp);
	snprintf(p, sizeof(p),
		 "{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		 "  \"cgroups\": [ {\"path\": \"/staging\", \"tier\": \"staging\"},\n"
		 "               {\"path\": \"/prod\", \"tier\": \"prod\"} ],\n"
		 "  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.50.0.1/32\"]},\n"
		 "                      {\"tier\": \"staging\", \"cidrs\": [\"127.50.0.2/32\"]},\n"
		 "                      {\"tier\": \"%s\", \"cidrs\": [\"127.50.0.3/32\"]} ]%s }\n",
		 b ? "staging" : "prod", sec);
	fx_write_policy(f, p);
}

/* May this verdict come from either policy? (staging and prod callers.) */
static bool storm_ok(bool staging, int target, bool refused)
{
	switch (target) {
	case T_X:
		return refused == staging;	/* prod's in both */
	case T_Y:
		return refused == !staging;	/* staging's in both */
	case T_FREE:
		return !refused;
	default:
		return true;			/* Z and flip/: either policy's answer */
	}
}

static int storm_open(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static void storm_run(struct fx *f, struct storm_child *c)
{
	char files[4][PATH_MAX + 32];
	struct storm_result r = {};
	bool staging = !strcmp(c->tier, "staging");
	uint64_t end = tw_now_ns(CLOCK_MONOTONIC) + 300000000000ull;
	long i;
	int t, err;

	snprintf(files[T_X], sizeof(files[0]), "%s/files/prod/s", f->tmp);
	snprintf(files[T_Z], sizeof(files[0]), "%s/files/flip/s", f->tmp);
	snprintf(files[T_FREE], sizeof(files[0]), "%s/files/free", f->tmp);
	/* Bounded: a million rounds or five minutes, whichever ends first. */
	for (i = 0; i < 1000000 && !*c->stop; i++) {
		for (t = 0; t < 4; t++) {
			if (c->files ? t == T_Y : t == T_FREE)
				continue;
			err = c->files ? storm_open(files[t]) :
			      tw_net(TW_OP_TCP_CONNECT, storm_addr[t], STORM_PORT);
			r.tries[t]++;
			r.refused[t] += err == -EPERM;
			if (!storm_ok(staging, t, err == -EPERM) || (err && err != -EPERM && err != -ECONNREFUSED))
				r.violations++;
		}
		usleep(20000);	/* a load a TCG guest's daemon keeps up with, reloads included */
		if (tw_now_ns(CLOCK_MONOTONIC) > end)
			break;
	}
	*c->res = r;
	_exit(0);
}

static int storm_start(struct fx *f, struct storm_child *c, const char *tier, bool files)
{
	char cg[PATH_MAX + 32];

	c->tier = tier;
	c->files = files;
	fflush(stdout);
	c->pid = fork();
	if (c->pid < 0)
		return -errno;
	if (!c->pid) {
		snprintf(cg, sizeof(cg), "%s/%s", f->root, tier);
		if (tw_join_cgroup(cg))
			_exit(3);
		storm_run(f, c);
	}
	return 0;
}

static int storm_finish(struct storm_child *c)
{
	int st = -1;

	waitpid(c->pid, &st, 0);
	c->was = c->pid;
	c->pid = 0;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}

/* Denial records by pid and target, counts summed. */
struct storm_log {
	struct storm_child *c;
	int n;
	long records[4][4];
	long lost;
};

static int storm_scan(void *arg, const char *line, size_t len, long lineno)
{
	struct storm_log *s = arg;
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *kind = json_string_value(json_object_get(o, "kind"));
	const char *ip = json_string_value(json_object_get(json_object_get(o, "dst"), "ip"));
	const char *path = json_string_value(json_object_get(o, "path"));
	long pid = json_integer_value(json_object_get(o, "pid"));
	long n = json_integer_value(json_object_get(o, "count"));
	int i, t = -1;

	if (kind && !strcmp(kind, "lost"))
		s->lost += n;
	if (!kind || !json_object_get(o, "verdict") ||
	    strcmp(json_string_value(json_object_get(o, "verdict")), "deny"))
		goto out;
	for (i = 0; ip && i < 3; i++)
		if (!strcmp(ip, storm_addr[i]))
			t = i;
	if (path && strstr(path, "prod/s"))
		t = T_X;
	else if (path && strstr(path, "flip/s"))
		t = T_Z;
	for (i = 0; t >= 0 && i < s->n; i++)
		if (s->c[i].was == pid)
			s->records[i][t] += n;
out:
	json_decref(o);
	return 0;
}

TEST(integ_reload_storm)
{
	static const char *const cgs[] = { "staging", "prod", NULL };
	/* A record per decision, in one file (rotation under load is tested on its own). */
	static const char *const extra[] = { "--flood-window", "0", "--rotate-mb", "0", NULL };
	struct storm_child c[3] = {};
	struct storm_result *r;
	volatile int *stop;
	struct storm_log log = { .c = c };
	char why[256], out[1024], **files, **fp;
	bool lsm = fx_lsm_usable(why, sizeof(why));
	struct fx f;
	int i, t, nc = lsm ? 3 : 2, done = 0;

	if (!can_run())
		return;
	/* Results and the stop flag in memory the children share with us. */
	r = std_shared_page();
	if (!ASSERT_TRUE(r != NULL, "shared memory"))
		return;
	stop = (volatile int *)&r[3];
	for (i = 0; i < 3; i++) {
		c[i].res = &r[i];
		c[i].stop = stop;
	}
	if (!ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	if (lsm)
		fx_sh(out, sizeof(out), "mkdir -p %s/files/prod %s/files/flip && echo k > %s/files/prod/s && "
		      "echo k > %s/files/flip/s && echo f > %s/files/free", f.tmp, f.tmp, f.tmp, f.tmp, f.tmp);
	else
		printf("    no file opens in the storm: %s\n", why);
	storm_policy(&f, false, lsm);
	if (!ASSERT_OK(fx_start(&f, extra), "tierwalld starts"))
		goto out;
	ASSERT_OK(storm_start(&f, &c[0], "staging", false), "staging connects");
	ASSERT_OK(storm_start(&f, &c[1], "prod", false), "prod connects");
	if (lsm)
		ASSERT_OK(storm_start(&f, &c[2], "staging", true), "staging opens");
	for (i = 0; i < STORM_RELOADS; i++) {
		storm_policy(&f, i % 2 == 0, lsm);
		if (!ASSERT_OK(fx_reload(&f), "a reload completes"))
			break;
		done++;
	}
	usleep(300 * 1000);
	*stop = 1;
	for (i = 0; i < nc; i++)
		ASSERT_OK(storm_finish(&c[i]), "a hammering process reports");
	log.n = nc;
	ASSERT_OK(fx_drain(&f), "every decision of the storm is in the log");
	files = tw_evlog_files(f.log_dir);
	for (fp = files; fp && *fp; fp++)
		tw_evlog_read(*fp, storm_scan, &log);
	tw_evlog_files_free(files);
	printf("    %d reloads:", done);
	for (i = 0; i < nc; i++) {
		printf(" %s %s %ld/%ld/%ld tries, %ld/%ld/%ld refused;", c[i].tier,
		       c[i].files ? "opens" : "connects", r[i].tries[0], r[i].tries[c[i].files ? 3 : 1],
		       r[i].tries[2], r[i].refused[0], r[i].refused[c[i].files ? 3 : 1], r[i].refused[2]);
		ASSERT_EQ(r[i].violations, 0, "every verdict is one of the two policies'");
		ASSERT_TRUE(r[i].tries[T_X] > STORM_RELOADS, "each process tried throughout the storm");
		for (t = 0; t < 4; t++)
			if (log.records[i][t] < r[i].refused[t])
				TW_FAILED("%s target %d: %ld refusals, only %ld denial records",
					  c[i].tier, t, r[i].refused[t], log.records[i][t]);
	}
	printf("\n");
	if (tw_test_failed()) {
		/* What the daemon says it did, to tell a lost record from a miscounted one. */
		fx_sh(out, sizeof(out), "%s/tierwall --socket %s status --json | grep -A12 counters; ls -l %s",
		      tw_build_dir, f.sock, f.log_dir);
		printf("%s", out);
	}
	ASSERT_EQ(log.lost, 0, "nothing lost from the log");
	ASSERT_EQ(done, STORM_RELOADS, "every reload completed");
	ASSERT_EQ(fx_sh(out, sizeof(out), "%s/tierwall verify-log %s", tw_build_dir, f.log_dir), 0,
		  "the chain is intact");
out:
	for (i = 0; i < 3; i++)
		if (c[i].pid > 0) {
			kill(c[i].pid, SIGKILL);
			waitpid(c[i].pid, NULL, 0);
		}
	munmap(r, 4096);
	fx_cleanup(&f);
}
