// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket under pressure and the runs' pid: idle clients from a
 * tiered root never push out a runtime hook's pod request (control.c's
 * reserved slots), and `run` moves the process its pidfd names, never
 * whatever holds the pid number by then (runpid.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "ctl.h"
#include "net.h"
#include "runhelp.h"
#include "fixture.h"
#include "podhook.h"
#include "runtime.h"
#include "std.h"
#include "test.h"
#include "util.h"

#define IDLE		100

static int ctl_connect(struct fx *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * In a tiered cgroup: IDLE connections that never send, then a status
 * request whose reply means the daemon accepted them all (it accepts in
 * order); "r" on ready, then hold them until hold closes.
 */
static void idle_flood(struct fx *f, int ready, int hold)
{
	int fds[IDLE], i, sfd;
	json_t *r = NULL;
	char c;

	for (i = 0; i < IDLE; i++)
		if ((fds[i] = ctl_connect(f)) < 0)
			_exit(10);
	sfd = fx_ctl_begin(f, "status");
	if (sfd < 0 || fx_ctl_reply(sfd, fx_timeout_ms(30000), &r) || !json_is_true(json_object_get(r, "ok")))
		_exit(11);
	if (write(ready, "r", 1) != 1)
		_exit(12);
	(void)!read(hold, &c, 1);	/* until the test closes it */
	_exit(0);
}

static pid_t start_flood(struct fx *f, const char *rel, int *hold_w)
{
	int ready[2], hold[2];
	char c = 0, path[PATH_MAX * 2];
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC) || pipe2(hold, O_CLOEXEC))
		return -1;
	pid = fork();
	if (!pid) {
		close(ready[0]);
		close(hold[1]);
		snprintf(path, sizeof(path), "%s/%s", f->root, rel);
		if (tw_join_cgroup(path))
			_exit(13);
		idle_flood(f, ready[1], hold[0]);
	}
	close(ready[1]);
	close(hold[0]);
	*hold_w = hold[1];
	if (pid > 0 && read(ready[0], &c, 1) != 1)
		c = 0;
	close(ready[0]);
	return c == 'r' ? pid : -1;
}

static void stop_flood(pid_t pid, int hold_w)
{
	int st;

	close(hold_w);
	if (pid > 0)
		waitpid(pid, &st, 0);
}

TEST(control_idle_clients_of_a_tiered_root_never_evict_pod_requests)
{
	static const char *const cgs[] = { "kubepods/poda/c1", "kubepods/podb/c1", "agents/staging", NULL };
	struct tw_rt_container ct = { .pod = "web", .ns = "shop", .container = "app", .id = "ca" };
	char cg[PATH_MAX * 2];
	struct init_proc b = {};
	int pod_fd = -1, hold = -1;
	json_t *req = NULL, *r = NULL, *st = NULL;
	pid_t flood = -1;
	struct fx f;

	if (!can_run() || fx_init(&f, cgs))
		return;
	fx_write_policy(&f, "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},"
			"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"} ],"
			"  \"kubernetes\": { \"namespaces\": {} } }");
	if (!fx_started(&f, NULL))
		goto out;
	/* The hook has connected, its request not read yet: the oldest client of all. */
	pod_fd = ctl_connect(&f);
	if (!ASSERT_TRUE(pod_fd >= 0, "the hook connects"))
		goto out;
	flood = start_flood(&f, "agents/staging", &hold);
	if (!ASSERT_TRUE(flood > 0, "a staging root holds 100 idle clients, all accepted"))
		goto out;
	ct.labels = json_pack("{s:s}", "tierwall.io/tier", "staging");
	fx_cg_display(&f, cgs[0], cg, sizeof(cg));
	req = tw_pod_request(&ct, cg);
	ASSERT_OK(tw_ctl_send(pod_fd, req), "the hook's pod request goes out");
	ASSERT_OK(fx_ctl_reply(pod_fd, fx_timeout_ms(30000), &r), "and is answered, not dropped");
	ASSERT_TRUE(json_is_true(json_object_get(r, "ok")), "the pod is placed");
	ASSERT_STREQ(json_string_value(json_object_get(r, "tier")), "staging", "with its tier");
	/* The real hook, while the idle clients are still held. */
	if (ASSERT_OK(init_start(&f, cgs[1], "127.0.0.1", fx_port(71), &b), "init b")) {
		json_t *h = nri_invoke(&f, b.pid, "cb", "shop", "api", "staging", 5000);

		placed(h, "tierwall-nri places a pod beside 100 idle clients");
		json_decref(h);
		kill(b.pid, SIGKILL);
		waitpid(b.pid, NULL, 0);
	}
	if (ASSERT_OK(tw_ctl_call(f.sock, json_pack("{s:s}", "cmd", "status"), &st, fx_timeout_ms(30000)),
		      "status"))
		ASSERT_TRUE(json_integer_value(json_object_get(json_object_get(st, "counters"),
						"control_dropped")) >= IDLE + 1 - 48,
			    "the idle clients gave way to each other (control_dropped)");
out:
	stop_flood(flood, hold);
	if (pod_fd >= 0)
		close(pod_fd);
	json_decref(ct.labels);
	json_decref(req);
	json_decref(r);
	json_decref(st);
	fx_cleanup(&f);
}

/* ---- run: the pidfd, not the number ---- */

/* The pid process pid has in its own (innermost) pid namespace. */
static int inner_pid(pid_t pid)
{
	char path[64], *text = NULL, *p;
	int last = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (tw_read_file(path, &text, NULL))
		return -1;
	p = strstr(text, "\nNSpid:");
	if (p)
		p = strrchr(strtok(p + 7, "\n"), '\t');
	last = p ? atoi(p + 1) : -1;
	free(text);
	return last;
}

static pid_t waiting_child(int *hold_w)
{
	int p[2];
	char c;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (!pid) {
		close(p[1]);
		(void)!read(p[0], &c, 1);
		_exit(0);
	}
	close(p[0]);
	*hold_w = p[1];
	return pid;
}

/*
 * In a new pid namespace (its init sets ns_last_pid on request): child A
 * gets a number, its pidfd is kept, A is killed and reaped, and child B is
 * given the same number. Then `run` is asked for that number with A's pidfd,
 * as `tierwall run` asks. Reported on out as JSON: the reply, B's cgroup,
 * both inner pids.
 */
static void reuse_caller(struct fx *f, int out)
{
	int cmd[2], ack[2], hold_a = -1, hold_b = -1, pidfd, a_in, b_in;
	char c, cgpath[64], *cgtext = NULL;
	pid_t init, a, b;
	json_t *reply = NULL, *res;

	if (pipe2(cmd, O_CLOEXEC) || pipe2(ack, O_CLOEXEC) || unshare(CLONE_NEWPID))
		_exit(20);
	init = fork();
	if (!init) {
		close(cmd[1]);
		while (read(cmd[0], &c, 1) == 1)
			if (write_text_file("/proc/sys/kernel/ns_last_pid", "1") ||
			    write(ack[1], "k", 1) != 1)
				_exit(21);
		_exit(0);
	}
	a = waiting_child(&hold_a);
	a_in = inner_pid(a);
	pidfd = syscall(SYS_pidfd_open, a, 0);
	if (pidfd < 0 || a_in != 2)
		_exit(22);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	close(hold_a);
	if (write(cmd[1], "s", 1) != 1 || read(ack[0], &c, 1) != 1)
		_exit(23);
	b = waiting_child(&hold_b);
	b_in = inner_pid(b);
	tw_ctl_call_fd(f->sock, json_pack("{s:s, s:s, s:b, s:i, s:s}", "cmd", "run", "tier", "staging",
					  "audit", 0, "pid", b_in, "command", "reused"),
		       pidfd, &reply, fx_timeout_ms(30000));
	snprintf(cgpath, sizeof(cgpath), "/proc/%d/cgroup", (int)b);
	tw_read_file(cgpath, &cgtext, NULL);
	res = json_pack("{s:O?, s:s, s:i, s:i}", "reply", reply, "b_cgroup", cgtext ?: "", "a", a_in,
			"b", b_in);
	json_dumpfd(res, out, JSON_COMPACT);
	kill(b, SIGKILL);
	close(cmd[1]);
	while (wait(NULL) > 0)
		;
	_exit(0);
}

TEST(run_moves_the_process_its_pidfd_names_not_a_reused_pid)
{
	char buf[8192] = "";
	json_t *res = NULL, *reply;
	int p[2], st;
	ssize_t n, got = 0;
	pid_t caller;
	struct fx f;

	if (!std_start(&f))
		goto out;
	if (!ASSERT_OK(pipe2(p, O_CLOEXEC), "pipe"))
		goto out;
	caller = fork();
	if (!caller) {
		close(p[0]);
		reuse_caller(&f, p[1]);
	}
	close(p[1]);
	while (got < (ssize_t)sizeof(buf) - 1 && (n = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	close(p[0]);
	waitpid(caller, &st, 0);
	res = json_loads(buf, 0, NULL);
	if (!ASSERT_TRUE(res != NULL, "the caller reports (exit status in its namespace setup)")) {
		fprintf(stdout, "    caller exited %d\n", WEXITSTATUS(st));
		goto out;
	}
	ASSERT_EQ(json_integer_value(json_object_get(res, "b")), json_integer_value(json_object_get(res, "a")),
		  "the second child has the first one's pid number");
	reply = json_object_get(res, "reply");
	ASSERT_TRUE(reply && !json_is_true(json_object_get(reply, "ok")),
		    "run refuses: the process the pidfd names has exited");
	ASSERT_CONTAINS(json_string_value(json_object_get(reply, "error")) ?: "", "exited", "and says so");
	ASSERT_TRUE(!strstr(json_string_value(json_object_get(res, "b_cgroup")), "run-"),
		    "the process now holding the number was not moved into a run");
out:
	json_decref(res);
	fx_cleanup(&f);
}
