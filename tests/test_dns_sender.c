// SPDX-License-Identifier: GPL-2.0
/*
 * The DNS guard judges the task that sends a query, not the one that
 * connected the socket: a resolver socket connected before its process
 * joined a tier (moved into a tagged cgroup, or its cgroup tagged at
 * runtime with `tierwall tag`) must not resolve another tier's names.
 * Everything happens in a private network namespace with a TCP listener on
 * 127.0.0.1:53 (no answers: a query that arrives is a query let through).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "cgroup.h"
#include "fixture.h"
#include "loader.h"
#include "net.h"
#include "sockets.h"
#include "test.h"

static const char policy[] =
	"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ { \"path\": \"/staging\", \"tier\": \"staging\" } ],\n"
	"  \"destinations\": [ { \"tier\": \"prod\", \"hostnames\": [\"*.prod.test\"] } ] }\n";

enum how { MOVE, TAG };

/*
 * A child connects a socket to 127.0.0.1:53 from cgroup `from`, then the
 * parent moves it to cgroup `to` (MOVE; a tiered process may not move itself:
 * self-protection) or tags `from` (TAG), then the child sends a query for
 * name on it. Returns 0 if the send went out, else its errno.
 */
struct sender {
	struct fx *f;
	const char *from, *to, *name;
	bool tcp;
	enum how how;
	int lfd;		/* TCP: the listener; the query must arrive, or not */
	bool arrived;
	pid_t pid;
};

static int send_query(int fd, const char *name, bool tcp)
{
	unsigned char wire[300], msg[402];
	size_t ml = tw_dns_msg(msg + 2, 1, wire, tw_dns_wire(name, wire), 1);

	msg[0] = ml >> 8;
	msg[1] = ml & 0xff;
	return send(fd, tcp ? msg : msg + 2, tcp ? ml + 2 : ml, 0) < 0 ? -errno : 0;
}

static void child(struct sender *s, int ready, int go)
{
	struct pollfd p = { .fd = go, .events = POLLIN };
	char path[PATH_MAX * 2];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->f->root, s->from);
	if (tw_join_cgroup(path))
		_exit(200);
	fd = tw_op_socket(s->tcp ? TW_OP_TCP_CONNECT : TW_OP_UDP_CONNECT, AF_INET);
	if (fd < 0 || tw_op_run(fd, TW_OP_TCP_CONNECT, (struct sockaddr *)&(struct sockaddr_in){
			.sin_family = AF_INET, .sin_port = htons(53),
			.sin_addr.s_addr = htonl(INADDR_LOOPBACK) }, sizeof(struct sockaddr_in)))
		_exit(201);
	if (write(ready, "c", 1) != 1 || poll(&p, 1, fx_timeout_ms(60000)) != 1)
		_exit(203);
	_exit(-send_query(fd, s->name, s->tcp));
}

/* Is there a query on a connection the listener has? Bounded at 2 s. */
static bool query_arrived(int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	char buf[512];
	bool got = false;
	int c;

	if (poll(&p, 1, 2000) != 1 || (c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return false;
	p = (struct pollfd){ .fd = c, .events = POLLIN };
	got = poll(&p, 1, 2000) == 1 && recv(c, buf, sizeof(buf), 0) > 0;
	close(c);
	return got;
}

static int run_sender(struct sender *s)
{
	char out[4096];
	int ready[2], go[2], st = -1;

	if (pipe(ready) || pipe(go))
		return -1;
	fflush(stdout);
	s->pid = fork();
	if (!s->pid)
		child(s, ready[1], go[0]);
	close(ready[1]);
	close(go[0]);
	if (read(ready[0], out, 1) != 1) {
		s->pid = waitpid(s->pid, &st, 0) > 0 ? s->pid : 0;
		return -1;
	}
	if (s->how == MOVE && fx_move(s->f, s->to, s->pid)) {
		printf("    could not move %d to %s\n", (int)s->pid, s->to);
		kill(s->pid, SIGKILL);	/* -1: the test fails, never passes */
	}
	if (s->how == TAG && fx_sh(out, sizeof(out), "%s/tierwall --socket %s tag /%s staging",
				   tw_build_dir, s->f->sock, s->from))
		printf("    tierwall tag: %s\n", out);
	if (write(go[1], "g", 1) != 1)
		kill(s->pid, SIGKILL);
	close(ready[0]);
	close(go[1]);
	s->arrived = s->tcp && query_arrived(s->lfd);
	waitpid(s->pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool start(struct fx *f, struct tw_netns *ns, int *lfd)
{
	static const char *const cgroups[] = { "staging", "free", "fresh", "fresh2", NULL };

	if (geteuid()) {
		tw_test_skip("needs root (cgroups and BPF)");
		return false;
	}
	if (!ASSERT_OK(fx_init(f, cgroups), "fixture") || !ASSERT_OK(fx_write_policy(f, policy), "policy") ||
	    !ASSERT_OK(fx_start(f, NULL), "tierwalld starts"))
		return false;
	if (!ASSERT_OK(tw_netns_enter(ns, NULL, NULL), "private network namespace"))
		return false;
	*lfd = fx_listen_tcp("127.0.0.1", 53);
	return ASSERT_TRUE(*lfd >= 0, "listener on 127.0.0.1:53");
}

static void finish(struct fx *f, struct tw_netns *ns, int lfd)
{
	if (lfd >= 0)
		close(lfd);
	tw_netns_leave(ns);
	fx_cleanup(f);
}

/* UDP: the guard sees the sender (6.18 and later) or BPF LSM records it at every send. */
TEST(integ_dns_sender_udp_socket_from_before_the_tier)
{
	struct tw_netns ns = { .old = -1 };
	char why[256];
	struct sender s;
	struct fx f;
	int lfd = -1;

	if (!start(&f, &ns, &lfd))
		goto out;
	if (!(tw_skb_task_helpers() & TW_SKB_CGROUP) && !fx_lsm_usable(why, sizeof(why))) {
		tw_test_skip("this kernel gives cgroup_skb no current cgroup and has no BPF LSM: "
			     "the moved sender stays open (doc/threat-model.md)");
		goto out;
	}
	printf("    the sender is seen by %s\n", tw_skb_task_helpers() & TW_SKB_CGROUP ?
	       "the guard itself (cgroup_skb may read the current task's cgroup)" :
	       "BPF LSM socket_sendmsg, at every send");
	s = (struct sender){ .f = &f, .from = "free", .to = "staging", .name = "db.prod.test", .how = MOVE };
	ASSERT_EQ(run_sender(&s), EPERM, "connected untagged, moved into staging, query for a prod name");
	ASSERT_TRUE(fx_event_kind(&f, "dns", s.pid) != NULL, "dns event names the process");
	s = (struct sender){ .f = &f, .from = "fresh", .name = "db.prod.test", .how = TAG };
	ASSERT_EQ(run_sender(&s), EPERM, "connected untagged, cgroup tagged at runtime, query for a prod name");
	/* Controls: other names pass; the move out of a tier is judged by the sender too. */
	s = (struct sender){ .f = &f, .from = "free", .to = "staging", .name = "db.staging.test", .how = MOVE };
	ASSERT_EQ(run_sender(&s), 0, "moved into staging, query for another name");
	/* Out of a tier: BPF LSM sees the untagged sender; the guard alone keeps the stricter record. */
	s = (struct sender){ .f = &f, .from = "staging", .to = "free", .name = "db.prod.test", .how = MOVE };
	ASSERT_EQ(run_sender(&s), fx_lsm_usable(why, sizeof(why)) ? 0 : EPERM,
		  "connected in staging, moved out, query for a prod name");
	s = (struct sender){ .f = &f, .from = "free", .to = "free", .name = "db.prod.test", .how = MOVE };
	ASSERT_EQ(run_sender(&s), 0, "untagged throughout");
out:
	finish(&f, &ns, lfd);
}

/* TCP may leave in softirq: tags changed since connect, or BPF LSM at send, decide. */
TEST(integ_dns_sender_tcp_tagged_at_runtime)
{
	struct tw_netns ns = { .old = -1 };
	struct sender s;
	struct fx f;
	int lfd = -1;

	if (!start(&f, &ns, &lfd))
		goto out;
	s = (struct sender){ .f = &f, .from = "fresh", .name = "db.prod.test", .tcp = true, .how = TAG,
			     .lfd = lfd };
	ASSERT_EQ(run_sender(&s), 0, "the send itself succeeds (TCP queues it)");
	ASSERT_TRUE(!s.arrived, "connected untagged, cgroup tagged, the prod query never arrives");
	s = (struct sender){ .f = &f, .from = "fresh2", .name = "db.staging.test", .tcp = true, .how = TAG,
			     .lfd = lfd };
	ASSERT_EQ(run_sender(&s), 0, "the same with another name");
	ASSERT_TRUE(s.arrived, "arrives");
	s = (struct sender){ .f = &f, .from = "free", .to = "free", .name = "db.prod.test", .tcp = true,
			     .how = MOVE, .lfd = lfd };
	ASSERT_EQ(run_sender(&s), 0, "untagged");
	ASSERT_TRUE(s.arrived, "arrives");
out:
	finish(&f, &ns, lfd);
}

/* A process that moves after connecting: only BPF LSM sees who sends on TCP. */
TEST(lsm_dns_sender_tcp_moved_into_tier)
{
	struct tw_netns ns = { .old = -1 };
	struct sender s;
	struct fx f;
	char why[256];
	int lfd = -1;

	if (!fx_lsm_usable(why, sizeof(why))) {
		tw_test_skip("BPF LSM unusable here: %s", why);
		return;
	}
	if (!start(&f, &ns, &lfd))
		goto out;
	s = (struct sender){ .f = &f, .from = "free", .to = "staging", .name = "db.prod.test", .tcp = true,
			     .how = MOVE, .lfd = lfd };
	ASSERT_EQ(run_sender(&s), 0, "the send itself succeeds");
	ASSERT_TRUE(!s.arrived, "connected untagged, moved into staging: the prod query never arrives");
	s = (struct sender){ .f = &f, .from = "staging", .to = "free", .name = "db.prod.test", .tcp = true,
			     .how = MOVE, .lfd = lfd };
	ASSERT_EQ(run_sender(&s), 0, "connected in staging, moved out");
	ASSERT_TRUE(s.arrived, "judged by the sender: arrives");
out:
	finish(&f, &ns, lfd);
}
