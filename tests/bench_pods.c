// SPDX-License-Identifier: GPL-2.0
/*
 * tw_bench_pods: how soon an untiered pod is released from pending (issue
 * 17). A real tierwalld on a private cgroup root whose "kubepods" is the
 * pods' root; each pod is a cgroup below it holding a waiting process, as
 * runc leaves a container before its first instruction.
 *
 * From: the runtime's sandbox request, which is the OCI createRuntime
 * hook's start: a child takes the time (CLOCK_REALTIME) just before it
 * execs tierwall-oci-hook with the container's state on stdin, as runc
 * does. To: the tag in the kernel's map, which is the "ts" of the daemon's
 * "tag" record for that container (written right after the map update).
 * The hook's exit (it exits 0 only once tierwalld answered) is shown too.
 *
 * Rows, in one run, rounds interleaved so they share the machine's load:
 * N pods at once (every pod a fresh cgroup), p50/p99 over all rounds; the
 * same hooks against a stub that answers "ok" at once (what the hook and
 * the machine cost without tierwalld); N execs of the binary's --help (the
 * floor of starting N processes here); one pod at a time (median).
 * Measured, never asserted.
  */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <mntent.h>
#include <jansson.h>
#include "bench.h"

#define MAX_PODS	200
#define MAX_ROUNDS	20
#define ALONE		20

enum mode { M_DAEMON, M_STUB, M_HELP };

static char mnt[512], build[512], dir[1024], root[1024], sock[1100], stub_sock[1100];
static pid_t daemon_pid;
static double hook_cpu, stub_cpu, help_cpu, daemon_cpu;	/* ms, summed over the rounds */
static pid_t waiters[MAX_PODS * MAX_ROUNDS + ALONE + 8];
static int nwaiters;

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* A process waiting in a new cgroup below the pods' root, as runc's init waits: its pid. */
static pid_t waiting_pod(const char *name)
{
	char cg[1200], path[1300], c;
	int p[2];
	pid_t pid;

	snprintf(cg, sizeof(cg), "%s/kubepods/%s", root, name);
	if (mkdir(cg, 0755) && errno != EEXIST)
		return -errno;
	if (pipe(p))
		return -errno;
	pid = fork();
	if (!pid) {
		int fd;

		snprintf(path, sizeof(path), "%s/cgroup.procs", cg);
		fd = open(path, O_WRONLY);
		c = fd >= 0 && write(fd, "0", 1) == 1 ? 'y' : 'n';
		if (write(p[1], &c, 1) != 1 || c != 'y')
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &c, 1) != 1 || c != 'y') {
		close(p[0]);
		return -EIO;
	}
	close(p[0]);
	waiters[nwaiters++] = pid;
	return pid;
}

/* The stub: every connection's request line answered "ok" at once, no work. */
static void *stub(void *arg)
{
	int lfd = (int)(intptr_t)arg, fd;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		static const char ok[] = "{\"ok\":true,\"tier\":\"untiered\"}\n";
		char buf[4096];
		ssize_t r;

		while ((r = read(fd, buf, sizeof(buf))) > 0 && !memchr(buf, '\n', r))
			;
		r = write(fd, ok, sizeof(ok) - 1);	/* a hook gone is counted as its failure */
		(void)r;
		close(fd);
	}
	return NULL;
}

static int start_stub(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t t;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(stub_sock, sizeof(stub_sock), "%s/stub.sock", dir);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", stub_sock);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 256) ||
	    pthread_create(&t, NULL, stub, (void *)(intptr_t)fd)) {
		fprintf(stderr, "tw_bench_pods: stub socket %s: %s\n", stub_sock, strerror(errno));
		return -1;
	}
	pthread_detach(t);
	return 0;
}

/*
 * Start n hooks at once (after one go signal), each with a pod's state:
 * t0[i] its exec (realtime ns), ms[i] its exec to its exit, <0 if it failed;
 * cpu: the CPU ms of all n (user + system), if not NULL.
 */
static int hooks_at_once(int n, const pid_t *pods, const char *tag, enum mode m, uint64_t *t0r, double *ms,
			 double *cpu)
{
	uint64_t *t0 = mmap(NULL, n * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	char hook[1100], sockarg[1200];
	pid_t kids[MAX_PODS];
	int go[2], i, left = n;

	if (t0 == MAP_FAILED || pipe(go))
		return -errno;
	snprintf(hook, sizeof(hook), "%s/tierwall-oci-hook", build);
	snprintf(sockarg, sizeof(sockarg), "--socket=%s", m == M_STUB ? stub_sock : sock);
	for (i = 0; i < n; i++) {
		kids[i] = fork();
		if (!kids[i]) {
			char state[1200], c;
			int in[2], null = open("/dev/null", O_WRONLY), err;

			close(go[1]);
			snprintf(state, sizeof(state), "{\"ociVersion\":\"1.0.2\",\"id\":\"%s%04d\",\"status\":"
				 "\"creating\",\"pid\":%d,\"bundle\":\"/\",\"annotations\":{}}", tag, i, pods[i]);
			if (pipe(in) || write(in[1], state, strlen(state)) != (ssize_t)strlen(state))
				_exit(126);
			close(in[1]);
			dup2(in[0], 0);
			/* The hook says one line per pod on stderr: kept, for a failure's why. */
			snprintf(state, sizeof(state), "%s/hooks.err", dir);
			err = open(state, O_WRONLY | O_CREAT | O_APPEND, 0600);
			dup2(null, 1);
			dup2(m == M_HELP ? null : err, 2);
			if (read(go[0], &c, 1) < 0)
				_exit(126);
			t0[i] = real_ns();
			if (m == M_HELP)
				execl(hook, "tierwall-oci-hook", "--help", (char *)NULL);
			else
				execl(hook, "tierwall-oci-hook", "invoke", sockarg, "--timeout-ms=10000",
				      (char *)NULL);
			_exit(127);
		}
	}
	close(go[0]);
	close(go[1]);		/* go: every child's read returns */
	if (cpu)
		*cpu = 0;
	while (left > 0) {
		struct rusage ru;
		int st;
		pid_t p = wait4(-1, &st, 0, &ru);
		uint64_t now = real_ns();

		if (p < 0)
			break;
		if (cpu)
			*cpu += ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
				ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
		for (i = 0; i < n; i++)
			if (kids[i] == p) {
				ms[i] = WIFEXITED(st) && !WEXITSTATUS(st) ? (now - t0[i]) / 1e6 : -1;
				left--;
			}
	}
	if (t0r)
		memcpy(t0r, t0, n * sizeof(uint64_t));
	munmap(t0, n * sizeof(uint64_t));
	return left ? -ECHILD : 0;
}

static pid_t start_daemon(void)
{
	char policy[1100], logd[1100], out[1100], bin[1100], cmd[3000];
	FILE *f;
	pid_t p;
	int i;

	snprintf(policy, sizeof(policy), "%s/policy.json", dir);
	f = fopen(policy, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
		   " \"destinations\": [{\"tier\": \"prod\", \"cidrs\": [\"127.25.0.0/16\"]}],\n"
		   " \"kubernetes\": {\"pods_roots\": [\"/kubepods\"]}}\n");
	fclose(f);
	snprintf(logd, sizeof(logd), "%s/log", dir);
	snprintf(out, sizeof(out), "%s/daemon.out", dir);
	snprintf(bin, sizeof(bin), "%s/tierwalld", build);
	p = fork();
	if (!p) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin, bin, "--policy", policy, "--cgroup-root", root, "--log-dir", logd, "--pin-dir", "none",
		      "--state-dir", dir, "--socket", sock, "--cri-socket", "none", (char *)NULL);
		_exit(127);
	}
	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s status --wait=60 >/dev/null 2>&1", build, sock);
	/* A node agent's priority (TW_BENCH_NICE=-10), as tw_bench_events measures it too. */
	if (p > 0 && getenv("TW_BENCH_NICE"))
		setpriority(PRIO_PROCESS, p, atoi(getenv("TW_BENCH_NICE")));
	if (p > 0 && !system(cmd))
		return p;
	fprintf(stderr, "tw_bench_pods: tierwalld did not start; its output:\n");
	snprintf(cmd, sizeof(cmd), "cat %s >&2", out);
	i = system(cmd);
	(void)i;
	if (p > 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
	}
	return -1;
}

/*
 * The NRI plugin's shape: one long-lived client, and the runtime calls it one
 * pod at a time (containerd's NRI adaptation holds one lock per call). n pod
 * requests all due at once (t0 = the first one's send, for every pod: they
 * were all asked for then), each sent when the previous one is answered.
 */
static int pods_in_sequence(int n, const char *tag, uint64_t *t0)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char line[1400], cg[1300], reply[512];
	uint64_t start;
	int i;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	for (i = 0; i < n; i++) {
		snprintf(cg, sizeof(cg), "%s/kubepods/%s%d", root, tag, i);
		if (mkdir(cg, 0755) && errno != EEXIST)
			return -errno;
	}
	start = real_ns();
	for (i = 0; i < n; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ssize_t r;

		snprintf(cg, sizeof(cg), "%s/kubepods/%s%d", root, tag, i);
		snprintf(line, sizeof(line), "{\"cmd\":\"pod\",\"cgroup\":\"%s\",\"labels\":{},"
			 "\"meta\":{\"container_id\":\"%s%04d\"}}\n", cg + strlen(mnt), tag, i);
		t0[i] = start;
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
		    write(fd, line, strlen(line)) != (ssize_t)strlen(line) ||
		    (r = read(fd, reply, sizeof(reply) - 1)) <= 0 || !strstr(reply, "\"ok\":true")) {
			fprintf(stderr, "tw_bench_pods: pod request %s%d: %s\n", tag, i, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -EIO;
		}
		close(fd);
	}
	return 0;
}

/* "2026-12-07T23:08:54.850518150Z" as realtime ns, 0 if not that shape. */
static uint64_t parse_ts(const char *ts)
{
	struct tm tm = {};
	unsigned long frac = 0;
	char *rest = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	int digits = 0;

	if (!rest)
		return 0;
	if (*rest == '.')
		for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
			frac = frac * 10 + (*rest - '0');
	while (digits++ < 9)
		frac *= 10;
	return (uint64_t)timegm(&tm) * 1000000000ull + frac;
}

/*
 * For each hook of round tag: its "tag" record's time minus its exec,
 * from the daemon's log (after a drain, so every record is written).
 */
static int map_times(const char *tag, int n, const uint64_t *t0, double *ms)
{
	char path[1200], cmd[3000];
	json_error_t jerr;
	int found = 0, i;
	json_t *o;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "%s/tierwall --socket %s drain >/dev/null 2>&1", build, sock);
	if (system(cmd))
		return -EIO;
	snprintf(path, sizeof(path), "%s/log/events.jsonl", dir);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	for (i = 0; i < n; i++)
		ms[i] = -1;
	while ((o = json_loadf(f, JSON_DISABLE_EOF_CHECK, &jerr))) {
		const char *ev = json_string_value(json_object_get(o, "event"));
		const char *id = json_string_value(json_object_get(json_object_get(o, "meta"), "container_id"));
		uint64_t ts = parse_ts(json_string_value(json_object_get(o, "ts")));

		if (ev && !strcmp(ev, "tag") && id && !strncmp(id, tag, strlen(tag)) && ts) {
			i = atoi(id + strlen(tag));
			if (i >= 0 && i < n && ms[i] < 0) {
				ms[i] = ((int64_t)(ts - t0[i])) / 1e6;
				found++;
			}
		}
		json_decref(o);
	}
	fclose(f);
	return found == n ? 0 : -ENOENT;
}

static void cleanup(pid_t daemon)
{
	char cmd[3000];
	int i;

	for (i = 0; i < nwaiters; i++) {
		kill(waiters[i], SIGKILL);
		waitpid(waiters[i], NULL, 0);
	}
	if (daemon > 0) {
		kill(daemon, SIGTERM);
		waitpid(daemon, NULL, 0);
	}
	/* Leaves first (rmdir of an emptied cgroup), then the root; then the files. */
	snprintf(cmd, sizeof(cmd), "find %s -depth -type d -exec rmdir {} + 2>/dev/null; rm -rf %s", root, dir);
	i = system(cmd);
	(void)i;
}

static double pct(double *v, int n, double p)
{
	int k = (int)(p * n + 0.999999) - 1;

	qsort(v, n, sizeof(*v), bench_cmp);
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static int failures(const double *v, int n)
{
	int i, bad = 0;

	for (i = 0; i < n; i++)
		bad += v[i] < 0;
	return bad;
}

/* One round of each kind, n pods (fresh cgroups) for the daemon's. */
static int round_of(int n, int r, double *inmap, double *exited, double *stubbed, double *help)
{
	static uint64_t t0[MAX_PODS];
	pid_t pods[MAX_PODS];
	double cpu[3], cpu0;
	char name[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "pod-r%d-%d", r, i);
		pods[i] = waiting_pod(name);
		if (pods[i] < 0) {
			fprintf(stderr, "tw_bench_pods: cannot make pod cgroup %s: %s\n", name, strerror(-pods[i]));
			return -1;
		}
	}
	snprintf(name, sizeof(name), "r%d-", r);
	cpu0 = bench_cpu_secs(daemon_pid);
	if (hooks_at_once(n, pods, name, M_DAEMON, t0, exited, &cpu[0]))
		return -1;
	daemon_cpu += (bench_cpu_secs(daemon_pid) - cpu0) * 1e3;
	if (map_times(name, n, t0, inmap) ||
	    hooks_at_once(n, pods, "stub-", M_STUB, NULL, stubbed, &cpu[1]) ||
	    hooks_at_once(n, pods, "help-", M_HELP, NULL, help, &cpu[2]))
		return -1;
	hook_cpu += cpu[0];
	stub_cpu += cpu[1];
	help_cpu += cpu[2];
	return 0;
}

static int run(int n, int rounds)
{
	static double inmap[MAX_PODS * MAX_ROUNDS], exited[MAX_PODS * MAX_ROUNDS], stubbed[MAX_PODS * MAX_ROUNDS],
		      help[MAX_PODS * MAX_ROUNDS], alone[ALONE], alone_exit[ALONE], seq[MAX_PODS * MAX_ROUNDS];
	static uint64_t t0s[MAX_PODS];
	int r, i, bad, all = n * rounds;
	double load[1] = { 0 };

	for (r = 0; r < rounds; r++)
		if (round_of(n, r, inmap + r * n, exited + r * n, stubbed + r * n, help + r * n)) {
			fprintf(stderr, "tw_bench_pods: round %d failed (see %s/hooks.err, %s/daemon.out)\n",
				r, dir, dir);
			return 1;
		}
	for (i = 0; i < ALONE; i++) {
		char name[64];
		uint64_t t0;
		pid_t pod;

		snprintf(name, sizeof(name), "pod-alone-%d", i);
		pod = waiting_pod(name);
		snprintf(name, sizeof(name), "alone%d-", i);
		if (pod < 0 || hooks_at_once(1, &pod, name, M_DAEMON, &t0, &alone_exit[i], NULL) ||
		    map_times(name, 1, &t0, &alone[i]))
			return 1;
	}
	for (r = 0; r < rounds; r++) {
		char tag[32];

		snprintf(tag, sizeof(tag), "seq%d-", r);
		if (pods_in_sequence(n, tag, t0s) || map_times(tag, n, t0s, seq + r * n))
			return 1;
	}
	bad = failures(exited, all) + failures(stubbed, all) + failures(help, all) + failures(alone_exit, ALONE);
	if (bad) {
		fprintf(stderr, "tw_bench_pods: %d hooks failed (see %s/hooks.err, %s/daemon.out)\n", bad, dir, dir);
		return 1;
	}
	getloadavg(load, 1);
	printf("\n| %d pods at once, %d rounds | p50 ms | p99 ms | max ms | CPU ms per pod |\n"
	       "|---|---|---|---|---|\n", n, rounds);
	printf("| hook start to tag in the kernel's map | %.1f | %.1f | %.1f | tierwalld %.2f |\n",
	       pct(inmap, all, 0.5), pct(inmap, all, 0.99), pct(inmap, all, 1), daemon_cpu / all);
	printf("| hook start to hook exit | %.1f | %.1f | %.1f | hook %.2f |\n",
	       pct(exited, all, 0.5), pct(exited, all, 0.99), pct(exited, all, 1), hook_cpu / all);
	printf("| the same hooks, a stub answering at once | %.1f | %.1f | %.1f | hook %.2f |\n",
	       pct(stubbed, all, 0.5), pct(stubbed, all, 0.99), pct(stubbed, all, 1), stub_cpu / all);
	printf("| %d execs of the hook's --help (the floor) | %.1f | %.1f | %.1f | %.2f |\n", n,
	       pct(help, all, 0.5), pct(help, all, 0.99), pct(help, all, 1), help_cpu / all);
	printf("| %d requests due at once, one client answering one at a time (NRI's shape): first due to tag "
	       "in the map | %.1f | %.1f | %.1f | |\n", n, pct(seq, all, 0.5), pct(seq, all, 0.99), pct(seq, all, 1));
	printf("| one pod at a time (%d): hook start to tag in the map | %.1f | %.1f | %.1f | |\n", ALONE,
	       bench_median(alone, ALONE), pct(alone, ALONE, 0.99), pct(alone, ALONE, 1));
	printf("\nWork to place %d pods (hook + tierwalld CPU) spread over %ld CPUs: %.1f ms\n", n,
	       sysconf(_SC_NPROCESSORS_ONLN), (hook_cpu + daemon_cpu) / rounds / sysconf(_SC_NPROCESSORS_ONLN));
	printf("\nload average %.1f on %ld CPUs (a p99 above the floor's is tierwall's; the floor is the machine's)\n",
	       load[0], sysconf(_SC_NPROCESSORS_ONLN));
	return 0;
}

int main(int argc, char **argv)
{
	int n = 50, rounds = 5, i, rc;
	char p[1200];
	struct mntent *me = NULL;
	pid_t daemon;
	FILE *f;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pods") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
			rounds = atoi(argv[++i]);
		else
			n = 0;
	}
	if (n < 1 || n > MAX_PODS || rounds < 1 || rounds > MAX_ROUNDS) {
		fprintf(stderr, "usage: tw_bench_pods [--pods N (1-%d, default 50)] [--rounds R (1-%d, default 5)]\n",
			MAX_PODS, MAX_ROUNDS);
		return 2;
	}
	f = setmntent("/proc/self/mounts", "r");
	while (f && (me = getmntent(f)) && strcmp(me->mnt_type, "cgroup2"))
		;
	if (me)
		snprintf(mnt, sizeof(mnt), "%s", me->mnt_dir);
	if (f)
		endmntent(f);
	if (!mnt[0]) {
		fprintf(stderr, "tw_bench_pods: no cgroup2 mount in /proc/self/mounts\n");
		return 1;
	}
	snprintf(build, sizeof(build), "%s", getenv("TW_BUILD_DIR") ? getenv("TW_BUILD_DIR") : "build");
	if (build[0] != '/' && getcwd(p, sizeof(p) - 600)) {
		strcat(p, "/");
		strcat(p, build);
		snprintf(build, sizeof(build), "%s", p);
	}
	snprintf(dir, sizeof(dir), "%s/benchpods-%d", build, getpid());
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(root, sizeof(root), "%s/tw-benchpods-%d", mnt, getpid());
	snprintf(p, sizeof(p), "%s/kubepods", root);
	if (mkdir(dir, 0700) || mkdir(root, 0755) || mkdir(p, 0755)) {
		fprintf(stderr, "tw_bench_pods: cannot make %s or %s: %s\n", dir, p, strerror(errno));
		return 1;
	}
	printf("tw_bench_pods: %d untiered pods' OCI createRuntime hooks at once against a real tierwalld, "
	       "%d rounds\n", n, rounds);
	daemon = daemon_pid = start_stub() ? -1 : start_daemon();
	rc = daemon > 0 ? run(n, rounds) : 1;
	cleanup(daemon);
	return rc;
}
