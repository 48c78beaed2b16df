// SPDX-License-Identifier: GPL-2.0
/*
 * Segment sequences over real TCP, which carry per-socket state that a test
 * run's fresh packet does not: a real tierwalld (policy owning the names of
 * tests/guard) in a private network namespace (only its own loopback), this
 * process in a staging cgroup, a DNS-over-TCP listener on 127.0.0.1:53.
 * The input is segments ([length byte][bytes]...), each sent alone
 * (TCP_NODELAY). Property: no query the reference refuses ever reaches the
 * listener, however the stream is cut, retransmitted or coalesced.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cgroup.h"
#include "ctl.h"
#include "fuzz.h"
#include "net.h"
#include "reference.h"

static char root[PATH_MAX], tmp[64];
static pid_t daemon_pid;
static int lfd;

static const char policy[] =
	"{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
	"  \"cgroups\": [ {\"path\": \"/staging\", \"tier\": \"staging\"} ],\n"
	"  \"destinations\": [ {\"tier\": \"prod\", \"hostnames\": [\"api.prod.test\", \"*.wild.prod.test\"]},\n"
	"                      {\"tier\": \"staging\", \"hostnames\": [\"own.staging.test\"]} ] }\n";

static void cleanup(void)
{
	char cg[PATH_MAX + 16], mnt[PATH_MAX];

	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	if (!tw_cgroup2_mount(mnt, sizeof(mnt)))
		tw_join_cgroup(mnt);
	snprintf(cg, sizeof(cg), "%s/staging", root);
	rmdir(cg);
	rmdir(root);
	snprintf(cg, sizeof(cg), "rm -rf %s", tmp);
	if (system(cg))
		;
}

static void die(const char *what)
{
	fprintf(stderr, "fuzz_dnstcp: %s: %s (root, cgroup2 and BPF needed)\n", what, strerror(errno));
	cleanup();
	exit(1);
}

static void start_daemon(const char *bin)
{
	char pol[128], sock[128], logd[128];
	FILE *f;
	int i;

	snprintf(pol, sizeof(pol), "%s/policy.json", tmp);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", tmp);
	snprintf(logd, sizeof(logd), "%s/log", tmp);
	f = fopen(pol, "w");
	if (!f)
		die("policy");
	fputs(policy, f);
	fclose(f);
	daemon_pid = fork();
	if (!daemon_pid) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);	/* a crashing fuzzer takes it along */
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(126);
		execl(bin, bin, "--policy", pol, "--cgroup-root", root, "--log-dir", logd, "--pin-dir",
		      "none", "--state-dir", "none", "--socket", sock, "--flood-window", "0", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) {
		json_t *req = json_pack("{s:s}", "cmd", "status"), *r = NULL;
		int err = tw_ctl_call(sock, req, &r, 1000);
		/* It answers "starting" until its programs are attached. */
		bool running = !err && !strcmp(json_string_value(json_object_get(r, "state")) ?: "",
					       "running");

		json_decref(req);
		json_decref(r);
		if (running)
			return;
		usleep(50 * 1000);
	}
	die("tierwalld did not start");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char mnt[PATH_MAX], bin[PATH_MAX + 16], cg[PATH_MAX + 16];
	int one = 1;

	snprintf(bin, sizeof(bin), "%s/tierwalld", getenv("TW_BUILD_DIR") ?: "build");
	if (unshare(CLONE_NEWNET))
		die("unshare(CLONE_NEWNET)");
	if (system("ip link set lo up"))
		die("ip link set lo up");
	if (tw_cgroup2_mount(mnt, sizeof(mnt)))
		die("cgroup2 mount");
	snprintf(tmp, sizeof(tmp), "/tmp/tw-fuzz-dnstcp-%d", getpid());
	snprintf(root, sizeof(root), "%s/tw-fuzz-dnstcp-%d", mnt, getpid());
	snprintf(cg, sizeof(cg), "%s/staging", root);
	if (mkdir(tmp, 0700) || mkdir(root, 0755) || mkdir(cg, 0755))
		die("mkdir");
	atexit(cleanup);
	start_daemon(bin);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 16))
		die("listener on 127.0.0.1:53");
	/* The listener is this process: its accept happens before it is tiered. */
	if (tw_join_cgroup(cg))
		die("join the staging cgroup");
	return 0;
}

/* What the listener got: every whole length-prefixed message must be one the reference passes. */
static void check_received(const uint8_t *buf, size_t n)
{
	size_t off = 0;

	while (off + 2 <= n) {
		size_t mlen = buf[off] << 8 | buf[off + 1];

		if (off + 2 + mlen > n)
			break;
		FZ_CHECK(tw_ref_dns(buf + off + 2, mlen), "a %zu-byte query the guard must refuse reached the server",
			 mlen);
		off += 2 + mlen;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	static uint8_t got[65536];
	size_t off = 0, n = 0;
	int c, s, one = 1, segs = 0;

	if (size > 4096)
		return 0;
	c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c < 0)
		abort();
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	if (connect(c, (struct sockaddr *)&sa, sizeof(sa)))
		abort();
	s = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (s < 0)
		abort();
	while (off < size && segs++ < 16) {
		size_t len = data[off++] % 200 + 1;

		if (len > size - off)
			len = size - off;
		if (send(c, data + off, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			break;
		off += len;
	}
	/* Bounded: what arrives within 20 ms (a dropped segment is only retransmitted later). */
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 20) <= 0)
			break;
		r = recv(s, got + n, sizeof(got) - n, 0);
		if (r <= 0)
			break;
		n += r;
	}
	check_received(got, n);
	close(c);
	close(s);
	return 0;
}
