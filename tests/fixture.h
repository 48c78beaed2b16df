/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Integration fixture: a real tierwalld on a private cgroup subtree, with
 * its own log, socket and pin directory, and helpers that act from inside
 * cgroups. Everything it creates it removes again.
 */
#ifndef TW_FIXTURE_H
#define TW_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <unistd.h>
#include <jansson.h>

struct fx {
	char tmp[PATH_MAX];		/* private temp dir */
	char root[PATH_MAX];		/* the daemon's cgroup root */
	char sock[PATH_MAX];
	char log_dir[PATH_MAX];
	char pin[PATH_MAX];
	char state[PATH_MAX];		/* the daemon's --state-dir */
	char policy[PATH_MAX];
	char daemon_out[PATH_MAX];
	pid_t daemon;
	int daemon_status;		/* wait status once exited */
	/* fx_start: the daemon starts in cgroup `own_cgroupns` with a cgroup namespace of its own (a container's) */
	const char *own_cgroupns;
	/* fx_start: the daemon starts in cgroup `in_cgroup` (relative to root), as a pod's would */
	const char *in_cgroup;
	/* fx_start's last-resort bound on readiness, in seconds (0: the fixture's own) */
	int start_timeout_s;
	int notify_fd;			/* fx_start's NOTIFY_SOCKET listener (> 0 once made) */
	/* A slot of a shared daemon (fx_share): root is the slot's, the rest the daemon's */
	bool borrowed;
	char slot[PATH_MAX];		/* as events show the slot's root ("" unless borrowed) */
	bool slot_files;		/* tmp is the slot's own directory (fx_group.files) */
};

/*
 * Deadlines in the tests are last resorts that never decide a pass: ms
 * times TW_TEST_TIMEOUT_SCALE (if above 1), for a machine slower still.
 */
int fx_timeout_ms(int ms);
/* CLOCK_MONOTONIC in milliseconds, for a loop's deadline. */
long long fx_now_ms(void);
/*
 * Until cond holds, looking again every 50 ms, for at most ms (scaled as
 * above): for what the daemon does on its own time with no event to wait
 * on. Evaluates to cond's last value.
 */
#define FX_UNTIL(cond, ms) ({						\
	long long ___end = fx_now_ms() + fx_timeout_ms(ms);		\
	bool ___ok;							\
	while (!(___ok = (cond)) && fx_now_ms() < ___end)		\
		usleep(50 * 1000);					\
	___ok;								\
})

/* Empty subtree plus temp dir; cgroups is a NULL-terminated list of relative paths. */
int fx_init(struct fx *f, const char *const *cgroups);
int fx_write_policy(struct fx *f, const char *text);
/*
 * Start tierwalld (extra args appended) and wait for its READY=1 on a
 * NOTIFY_SOCKET of the fixture's own (sent once enforcement is complete),
 * or, if the test set NOTIFY_SOCKET itself, for status "running"; -errno
 * (-ETIMEDOUT only after a last-resort deadline) or 1 if it exited.
 */
int fx_start(struct fx *f, const char *const *extra);
/* fx_start, or the test fails with the end of the daemon's output. */
bool fx_started(struct fx *f, const char *const *extra);
/* SIGTERM, wait for the exit, SIGKILL after a last-resort deadline. Returns the exit status. */
int fx_stop(struct fx *f);
/* Stop if running and remove cgroups, pins and temp files. */
void fx_cleanup(struct fx *f);

/*
 * One daemon shared by the tests of a file (tests/fxshare.c): under TCG a
 * daemon start costs seconds, most of a simple test. Each test gets a slot:
 * its own cgroups (the group's list) below ROOT/sN, its own files if the
 * group has some, tagged by the group's
 * policy whose "cgroups" entries are repeated for every slot under /sN. A
 * slot's f reads only the records of its own cgroups (and the daemon's
 * own); fx_cleanup removes the slot's cgroups and leaves the daemon, which
 * stops when the runner leaves the file, or when another group, or more
 * slots than it has, are asked for. Tests that restart, reload or count a
 * daemon's totals keep their own.
 */
struct fx_group {
	const char *name;
	const char *const *cgroups;		/* each slot's, relative to it */
	/* cgroup paths relative to a slot: the text, or (text NULL) what policy writes */
	const char *text;
	void (*policy)(char *buf, size_t len);
	int slots;
	/*
	 * Files the policy names (NULL: none): each slot gets a directory of its
	 * own (its f->tmp), which files() fills before the daemon starts; the
	 * policy's "secrets" entries are repeated for every slot with "@SLOT@"
	 * in their paths standing for it. The slot's daemon records that name
	 * a path (secret_rotated, secret_protected) are its own only below it.
	 */
	int (*files)(const char *dir);
};
/* f becomes the next slot of g's daemon (started if needed); false (the test failed or skipped) if not. */
bool fx_share(struct fx *f, const struct fx_group *g);
/* The same where BPF LSM is ready (fx_lsm_ready), else the test is skipped. */
bool fx_lsm_share(struct fx *f, const struct fx_group *g);

int fx_mkcg(struct fx *f, const char *rel);
/* Path of a cgroup relative to the cgroup2 mount, as events show it. */
void fx_cg_display(struct fx *f, const char *rel, char *out, size_t len);

/*
 * Fork a child that joins cgroup rel (NULL: stays where it is) and does one
 * op. Returns 0 if allowed, else the positive errno; *pid gets the child's pid.
 */
int fx_net(struct fx *f, const char *rel, int op, const char *addr, int port, pid_t *pid);
/* The child creates the socket in create_rel, then joins call_rel and calls. */
int fx_net_moved(struct fx *f, const char *create_rel, const char *call_rel, int op,
		 const char *addr, int port, pid_t *pid);
/* One process creates the socket, another (in call_rel) receives it over SCM_RIGHTS and calls. */
int fx_net_passed(struct fx *f, const char *create_rel, const char *call_rel, int op,
		  const char *addr, int port, pid_t *caller);


/* Fork a child that joins rel (NULL: stays) and runs fn; 0 or the positive errno fn returned. */
int fx_do(struct fx *f, const char *rel, int (*fn)(void *), void *arg, pid_t *pid);
/*
 * The same, in two steps: the child runs before() in rel, then this (untagged)
 * process moves it to to_rel, then it runs after() (both see the child's arg).
 * A tiered process cannot leave its tier itself where BPF LSM guards cgroups.
 */
int fx_do_moved(struct fx *f, const char *rel, const char *to_rel, int (*before)(void *),
		int (*after)(void *), void *arg, pid_t *pid);
/* Move process pid into cgroup rel (from this process). */
int fx_move(struct fx *f, const char *rel, pid_t pid);

/*
 * Can this kernel load and attach a BPF LSM program? Checked independently
 * of tierwalld: a trivial lsm/file_open program, really loaded and attached.
 */
bool fx_lsm_usable(char *why, size_t len);
/* Root and BPF LSM usable; otherwise the running test is marked skipped, saying why. */
bool fx_lsm_ready(void);
/*
 * The modules a guest of tests/vm carries (loop, ext4, btrfs, sctp: see
 * tests/vm/mkinitrd.sh), loaded; those already loaded stay. -ENOENT where
 * there are none (the host).
 */
int fx_guest_modules(void);
/* The state letter /proc/PID/stat gives (R, S, T, Z...), 0 once the process is gone. */
char fx_proc_state(pid_t pid);
/* Programs attached to a cgroup for inet4 connect (BPF_PROG_QUERY). */
int fx_cgroup_progs(const char *cgroup_dir);

/*
 * Waiting for the log. Decisions (connect, sendmsg, file, dns, ... records)
 * are all in it once the daemon answers a drain: these ask for one, then
 * read the log once; they poll only while no daemon answers.
 */
/* Ask the daemon to drain: 0 once every decision made so far is in the log, or -errno. */
int fx_drain(struct fx *f);
/* First event in the log with this pid and dst port (NULL: none). */
json_t *fx_event(struct fx *f, pid_t pid, int port);
/* The newest event in the log for which match says yes (NULL: none), read now. */
json_t *fx_last_event(struct fx *f, bool (*match)(json_t *, const void *), const void *arg);
/* The same after a drain: the newest decision match says yes to. */
json_t *fx_await_decision(struct fx *f, bool (*match)(json_t *, const void *), const void *arg);
/* Number of events so far for which kind and pid match (pid 0: any), read now. */
int fx_count_events(struct fx *f, const char *kind, pid_t pid);
/* First event of kind with this pid (any dst). */
json_t *fx_event_kind(struct fx *f, const char *kind, pid_t pid);
/* At least n such events (or all there are after a drain); returns how many there are. */
int fx_wait_events(struct fx *f, const char *kind, pid_t pid, int n);
/* First daemon lifecycle event with "event" == what, read now. */
json_t *fx_daemon_event(struct fx *f, const char *what);
/*
 * Records the daemon writes on its own time (a rotated secret, a changed
 * resolver): polled for until they appear or a last-resort deadline.
 */
/* The first event match says yes to. */
json_t *fx_await(struct fx *f, bool (*match)(json_t *, const void *), const void *arg);
json_t *fx_await_daemon_event(struct fx *f, const char *what);
/* Until at least n daemon events "event" == what; returns how many there are. */
int fx_await_daemon_events(struct fx *f, const char *what, int n);
/*
 * SIGHUP the daemon and wait for that reload's result record: 0 the new
 * policy is loaded, 1 the reload was refused (the old one stays), or -errno.
 */
int fx_sighup_reload(struct fx *f);
/* Until the daemon's output (stdout and stderr) contains text, or a last-resort deadline. */
bool fx_await_output(struct fx *f, const char *text);

/* Run a shell command line, capture its output; returns its exit status. */
int fx_sh(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Listening sockets on loopback for the allowed paths. */
int fx_listen_tcp(const char *addr, int port);
int fx_bind_udp(const char *addr, int port);
/* A connection is waiting on the listener (non-blocking accept). */
bool fx_accepted(int lfd);
/* A datagram arrives within 2 s. */
bool fx_received(int ufd);
/*
 * Nothing is waiting on a listener or UDP socket, 200 ms after a refused
 * call returned: loopback delivers within the sender's call, so the
 * 2 s that proving arrival allows is not needed to prove absence.
 */
bool fx_nothing_arrived(int fd);

/*
 * A control request whose reply is awaited while the test acts, e.g. a
 * reload: fx_ctl_begin sends {"cmd": cmd} and gives the connection's fd
 * (or -errno); fx_ctl_reply waits up to wait_ms for the reply: 0 with
 * *reply, -EAGAIN while there is none yet, or -errno. Close fd after.
 */
int fx_ctl_begin(struct fx *f, const char *cmd);
int fx_ctl_reply(int fd, int wait_ms, json_t **reply);
/* `tierwall reload`: ask for one and wait for its result: 0 loaded, 1 refused, or -errno. */
int fx_reload(struct fx *f);

/* HTTP/1.0 GET from 127.0.0.1:port; the whole response (headers too) in out; -errno. */
int fx_http_get(int port, const char *path, char *out, size_t len);

/*
 * A private DNS world: this process enters a new network namespace (only
 * loopback, nothing can leave the machine) and mount namespace whose
 * /etc/resolv.conf points at a dnsmasq on 127.0.0.1 and ::1 serving the
 * hosts file given (TTL 1 s), "*.wild.prod.test" as 127.44.0.7, and nothing
 * else under .test. Daemons and children started meanwhile live there too.
 */
struct fx_dns {
	int old_net, old_mnt, old_cwd;
	pid_t dnsmasq;
	char hosts[PATH_MAX];
};

/* 0, -errno, or 1 (with the reason printed) when dnsmasq is not installed. */
int fx_dns_start(struct fx_dns *x, struct fx *f, const char *hosts);
/* Replace the hosts file and make dnsmasq reread it. */
int fx_dns_set_hosts(struct fx_dns *x, const char *hosts);
/* Point the private /etc/resolv.conf at another server (rewritten in place). */
int fx_dns_set_resolver(struct fx *f, const char *server);
/* Stop dnsmasq and return to the original namespaces. */
void fx_dns_stop(struct fx_dns *x);

/* A port unlikely to collide with others on this machine, per run. */
int fx_port(int n);

#endif
