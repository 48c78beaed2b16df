// SPDX-License-Identifier: GPL-2.0
/*
 * tierwalld: loads a policy, tags cgroups with tiers, attaches the network
 * programs to the cgroup root, streams decisions from the ring buffer into
 * LOG_DIR/events.jsonl and answers the CLI on a Unix socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/libbpf.h>
#include "access.h"
#include "adopt.h"
#include "cgroup.h"
#include "control.h"
#include "drift.h"
#include "grants.h"
#include "handover.h"
#include "protect.h"
#include "reload.h"
#include "sealing.h"
#include "secretwatch.h"
#include "state.h"
#include "status.h"
#include "stream.h"
#include "options.h"
#include "lock.h"
#include "persist.h"
#include "pending.h"
#include "pods.h"
#include "policysig.h"
#include "policywatch.h"
#include "trusted.h"
#include "ready.h"
#include "runs.h"
#include "tags.h"
#include "tagwatch.h"
#include "uninstall.h"
#include "compile.h"
#include "ctl.h"
#include "dns.h"
#include "event.h"
#include "evlog.h"
#include "follow.h"
#include "metrics.h"
#include "loader.h"
#include "fill.h"
#include "log.h"
#include "lsm.h"
#include "policy.h"
#include "secrets.h"
#include "util.h"

#define DEFAULT_LOG_DIR		"/var/log/tierwall"
#define DEFAULT_PIN_DIR		"/sys/fs/bpf/tierwall"
#define POLL_MS			50	/* ring buffer drained at least this often */

static void report_dns(void *arg, const char *what, json_t *extra)
{
	struct daemon *d = arg;

	dm_log_daemon(d, what, extra);
	dm_log_flush(d);
	d->state_dirty |= !strcmp(what, "hostname_addresses");	/* kept across restarts */
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !tw_verbose)
		return 0;
	if (tw_verbose)	/* where a start's time goes */
		fprintf(stderr, "[%.3f s] ", tw_log_elapsed());
	return vfprintf(stderr, fmt, ap);
}

/* Secrets need BPF LSM: refuse, naming cause and fix, unless degraded on purpose. */
static int refuse_secrets(struct daemon *d, const char *why)
{
	tw_err("%s: %s: the policy protects %d secret path(s), but %s. Refusing to start half-enforced. "
	       "Enable BPF LSM (lsm=...,bpf on the kernel command line), or start with --network-only "
	       "to enforce only the network rules (degraded: reported in status and the log).",
	       d->policy_file, d->policy->secrets[0].jpath, d->policy->nsecrets, why);
	return -EOPNOTSUPP;
}

static int check_enforceable(struct daemon *d)
{
	char why[512];
	struct statfs sfs;

	if (d->policy->nsecrets && !d->network_only && tw_lsm_active(why, sizeof(why)))
		return refuse_secrets(d, why);
	if (d->network_only)
		tw_warn("DEGRADED: --network-only: secrets in %s are NOT enforced", d->policy_file);
	if (d->pin_dir[0]) {
		char parent[PATH_MAX], *slash;

		snprintf(parent, sizeof(parent), "%s", d->pin_dir);
		slash = strrchr(parent, '/');
		if (slash)
			*(slash == parent ? slash + 1 : slash) = '\0';
		/* Like systemd and Cilium: bring up the conventional bpffs if absent. */
		if (!statfs(parent, &sfs) && sfs.f_type != BPF_FS_MAGIC &&
		    !strncmp(d->pin_dir, "/sys/fs/bpf/", 12) && !strchr(d->pin_dir + 12, '/')) {
			if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
				tw_warn("cannot mount bpffs at /sys/fs/bpf: %s", strerror(errno));
			else
				tw_info("mounted bpffs at /sys/fs/bpf");
		}
		if (statfs(parent, &sfs) || sfs.f_type != BPF_FS_MAGIC) {
			tw_err("--pin-dir %s is not inside a bpffs mount (mount -t bpf bpf /sys/fs/bpf, or --pin-dir none)",
			       d->pin_dir);
			return -EINVAL;
		}
	}
	return 0;
}

/* The control socket's directory, which tw_ctl_listen makes if absent ("" if none). */
static const char *sock_dir(struct daemon *d, char *dir, size_t len)
{
	const char *slash = strrchr(d->sock_path, '/');

	snprintf(dir, len, "%.*s", slash && slash > d->sock_path ? (int)(slash - d->sock_path) : 0,
		 d->sock_path);
	return dir;
}

/* One daemon per pin, log and state directory. */
static int lock_dirs(struct daemon *d)
{
	int err = 0;

	if (d->pin_dir[0])
		err = dm_lock_dir(d->pin_dir, "--pin-dir", &d->lock_fds[0]);
	if (!err)
		err = dm_lock_dir(d->log_dir, "--log-dir", &d->lock_fds[1]);
	if (!err && d->state_dir[0])
		err = dm_lock_dir(d->state_dir, "--state-dir", &d->lock_fds[2]);
	return err;
}

/* Two daemons on overlapping roots judge the same processes twice: say so, loudly. */
static void warn_overlap(struct daemon *d)
{
	char at[PATH_MAX];
	int id = dm_check_overlap(d->mount, d->root, d->pin_dir, at, sizeof(at));

	if (!id)
		return;
	snprintf(d->overlap, sizeof(d->overlap), "another tierwalld's program (id %d) is attached at %s, "
		 "which overlaps this daemon's cgroup root %s", id, at, d->root);
	tw_warn("WARNING: %s: both judge the processes below it", d->overlap);
	dm_log_daemon(d, "overlapping_instance", json_pack("{s:i, s:s, s:s}", "prog_id", id,
							    "cgroup", at, "cgroup_root", d->root));
}

static int setup(struct daemon *d)
{
	struct tw_bpf_opts bo = { .tag_capacity = MAX_TAGS, .ringbuf_bytes = d->ringbuf_bytes,
				  .host_capacity = MAX_HOST_ADDRS };
	char why[1024];
	struct tw_diags diags = {};
	struct epoll_event ev = { .events = EPOLLIN };
	json_t *state = NULL;
	sigset_t mask;
	int err;

	/* The port first: a busy one refuses the start before anything is loaded or made. */
	if (d->metrics_addr) {
		err = tw_metrics_bind(&d->metrics, d->metrics_addr, why, sizeof(why));
		if (err) {
			tw_err("--metrics: %s", why);
			return err;
		}
	}
	why[0] = '\0';
	err = dm_policy_load(d, &d->policy, &diags, why, sizeof(why));
	if (err == -EBADMSG || (err && why[0])) {
		tw_err("refusing to start: %s", why);
		return err;
	}
	tw_phase("policy parsed");
	if (!err)
		err = tw_compile(d->policy, &d->tables, &diags);
	tw_phase("policy compiled");
	if (err) {
		tw_diags_print(&diags, stderr);
		tw_err("refusing to start: %d error(s) in %s", diags.count, d->policy_file);
		tw_diags_free(&diags);
		return err;
	}
	err = check_enforceable(d);
	if (err)
		return err;
	d->ectx = (struct tw_event_ctx){
		.host = d->host, .policy = d->policy, .cgroup_path = dm_cgroup_path,
		.tag_meta = dm_tag_meta,
		.dev_path = dm_dev_path, .arg = d,
		.boot_to_real = tw_boot_to_realtime_offset(),
	};
	d->paths = calloc(PATH_CACHE, sizeof(*d->paths));
	d->tags = calloc(MAX_TAGS, sizeof(*d->tags));
	if (!d->paths || !d->tags)
		return -ENOMEM;
	/* Before touching the kernel: a second daemon must not attach anything. */
	d->absent[0] = dm_dir_absent(d->pin_dir);
	d->absent[1] = dm_dir_absent(d->log_dir);
	d->absent[2] = dm_dir_absent(d->state_dir);
	err = lock_dirs(d);
	if (err)
		return err;
	d->absent[3] = dm_dir_absent(sock_dir(d, why, sizeof(why)));
	d->ctl_fd = tw_ctl_listen(d->sock_path);
	if (d->ctl_fd < 0) {
		err = d->ctl_fd;
		tw_err("cannot listen on %s: %s", d->sock_path,
		       err == -EADDRINUSE ? "another tierwalld answers there" : strerror(-err));
		return err;
	}
	err = dm_seal_setup(d);
	if (!err)
		err = dm_ready_begin(d);	/* "starting" until enforcement is complete */
	if (err)
		return err;
	d->log_opts.on_flush = dm_runs_on_flush;	/* out as before, and into runs' tallies */
	d->log_opts.arg = d;
	err = tw_evlog_open(&d->log, d->log_dir, &d->log_opts);
	if (err)
		return err;
	warn_overlap(d);
	dm_access_setup(d);	/* --group may read the socket and the log */
	state = dm_state_load(d);
	dm_pending_release_self(d);	/* before it resolves names or finds secrets */

	if (d->policy->nsecrets && !d->network_only) {
		err = tw_secrets_resolve(&d->secrets, d->policy, d->policy_file);
		if (err)
			goto out_state;
		tw_secrets_size_maps(d->secrets, &bo);
	}
	err = tw_bpf_load(&d->bpf, &d->tables, d->policy, &bo, why, sizeof(why));
	if (err) {
		err = bo.files && err != -ENOMEM ? refuse_secrets(d, why) : (tw_err("%s", why), err);
		goto out_state;
	}
	tw_phase("programs loaded, maps filled");
	tw_fill_drop(&d->tables);	/* the kernel has them */
	malloc_trim(0);			/* and what parsing the policy took */
	if (d->secrets) {
		err = tw_secrets_push(d->secrets, d->bpf);
		if (err) {
			tw_err("cannot fill the secrets map: %s", strerror(-err));
			goto out_state;
		}
	}
	tw_bpf_set_flood_window(d->bpf, (uint64_t)d->flood_ms * 1000000);
	/* Names never block the policy: whatever is unresolved is retried later. */
	err = tw_dns_new(&d->dns, d->policy, d->bpf, &d->dns_opts, why, sizeof(why));
	if (err) {
		tw_err("%s", why);
		goto out_state;
	}
	/* Addresses known before a restart are enforced even if the resolver is down now. */
	tw_dns_seed(d->dns, json_object_get(state, "hostnames"));
	tw_dns_settle(d->dns, DNS_SETTLE_MS);
	/* Tags before attach: enforcement is complete from the first packet. */
	err = dm_tag_policy_cgroups(d);
	if (err)
		goto out_state;
	dm_state_restore_tags(d, state, false);
	dm_grants_restore(d, state);
	dm_tag_pending_roots(d);
	json_decref(state);
	state = NULL;
	d->rb = tw_bpf_ringbuf(d->bpf, dm_on_event, d);
	if (!d->rb) {
		err = -errno;
		tw_err("cannot open the event ring buffer: %s", strerror(-err));
		return err;
	}
	tw_phase("cgroups tagged");
	err = tw_bpf_attach(d->bpf, d->root, d->pin_dir);
	tw_phase("programs attached");
	if (!err && d->pin_dir[0])
		err = tw_pin_dir_make(d->pin_dir);
	/* Guarded before the pins move in: no moment a tiered process could unlink one. */
	if (!err)
		err = dm_protect(d, d->bpf);
	if (!err && d->pin_dir[0]) {
		struct tw_old_maps old;

		/* Take over from a crashed instance: attach first, then its leftovers. */
		tw_old_maps_open(d->pin_dir, &old);
		err = tw_bpf_pin(d->bpf, d->pin_dir);
		if (!err && tw_bpf_sync_programs() >= 0)	/* the old programs have returned */
			dm_recover(d, &old);
		tw_old_maps_close(&old);
	}
	if (err)
		return err;
	dm_secrets_resync(d);	/* what moved before the programs watched its names */

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
	d->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sig_fd < 0 || d->ep_fd < 0)
		return -errno;
	ev.data.fd = d->ctl_fd;
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, d->ctl_fd, &ev);
	d->followers = tw_followers_new(d->ep_fd, (size_t)d->follow_queue_mb << 20);
	if (!d->followers || dm_control_init(d))
		return -ENOMEM;
	err = dm_tagwatch_init(d);
	if (!err)
		err = dm_policywatch_init(d);
	if (!err && !tw_bpf_protect_why(d->bpf))
		err = dm_trusted_watch_init(d);
	if (!err)
		err = dm_drift_init(d);
	if (err)
		return err;
	d->loaded_at = time(NULL);
	if (d->metrics) {
		err = tw_metrics_serve(d->metrics, dm_write_metrics, d, why, sizeof(why));
		if (err) {
			tw_err("--metrics: %s", why);
			return err;
		}
	}
	ev.data.fd = d->sig_fd;
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, d->sig_fd, &ev);
	ev.data.fd = ring_buffer__epoll_fd(d->rb);
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (tw_secrets_fd(d->secrets) >= 0) {
		ev.data.fd = tw_secrets_fd(d->secrets);
		epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (tw_dns_fd(d->dns) >= 0) {
		ev.data.fd = tw_dns_fd(d->dns);
		epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	ev.data.fd = d->tag_watch_fd;
	epoll_ctl(d->ep_fd, EPOLL_CTL_ADD, ev.data.fd, &ev);
	dm_state_save(d);
	dm_ready_end(d);
	tw_phase("ready");
	return 0;
out_state:
	json_decref(state);
	return err;
}

static void secret_appeared(void *arg, const char *path)
{
	struct daemon *d = arg;

	tw_info("%s appeared: protected", path);
	dm_log_daemon(d, "secret_protected", json_pack("{s:s}", "path", path));
}

static void run(struct daemon *d)
{
	struct epoll_event evs[16];

	while (!d->stop) {
		int n = epoll_wait(d->ep_fd, evs, 16, POLL_MS), i;

		if (n < 0 && errno != EINTR) {
			tw_err("epoll_wait: %s", strerror(errno));
			break;
		}
		/* Programs wake us only past a fill level: drain on every tick. */
		dm_flush_floods(d, false);
		ring_buffer__consume(d->rb);
		dm_log_flush(d);
		dm_report_drops(d);
		tw_dns_run(d->dns);	/* answers, timeouts, refreshes, expiries */
		/* Signals first: a stop is not delayed by anything else in this batch. */
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == d->sig_fd) {
				struct signalfd_siginfo si;

				if (read(d->sig_fd, &si, sizeof(si)) != sizeof(si))
					continue;
				if (si.ssi_signo == SIGHUP) {
					dm_reload(d);
					continue;
				}
				tw_info("signal %d: stopping", si.ssi_signo);
				d->stop = true;
			} else if (evs[i].data.fd == d->ctl_fd) {
				dm_control_accept(d);
			} else if (evs[i].data.fd == d->tag_watch_fd) {
				dm_tagwatch_event(d);
			} else if (evs[i].data.fd == dm_policywatch_fd()) {
				dm_policywatch_event(d);
			} else if (evs[i].data.fd == dm_trusted_fd()) {
				dm_trusted_event(d);
			} else if (evs[i].data.fd == tw_dns_fd(d->dns)) {
				continue;	/* served by tw_dns_run above */
			} else if (dm_drift_event(d, evs[i].data.fd)) {
				continue;	/* secret files or drift roots changed */
			} else if (evs[i].data.fd == tw_secrets_fd(d->secrets)) {
				if (tw_secrets_poll(d->secrets, d->bpf, secret_appeared, d))
					tw_err("a secret path appeared but could not be protected: see above");
			} else if (!dm_control_event(d, evs[i].data.fd, evs[i].events)) {
				tw_followers_event(d->followers, evs[i].data.fd, evs[i].events);
			}
		}
		dm_control_tick(d);
		dm_tagwatch_tick(d);
		dm_pending_tick(d);
		dm_policywatch_tick(d);
		dm_secrets_tick(d);
		dm_drift_tick(d);
		dm_runs_tick(d);
		dm_adopt_tick(d);
		dm_grants_tick(d);
		/*
		 * At most every STATE_SAVE_NS: a burst of pods placed at once costs a
		 * few fsyncs, not one per turn, and those are the writer thread's
		 * (statewrite.c): the hooks' answers never wait for a disk. A crash
		 * meanwhile loses those tags from the file only: their pods start the
		 * next instance pending, not untiered.
		 */
		dm_state_save_tick(d);
		if (d->state_dirty && tw_now_ns(CLOCK_MONOTONIC) >= d->next_state_save) {
			dm_state_save_soon(d);
			d->next_state_save = tw_now_ns(CLOCK_MONOTONIC) + STATE_SAVE_NS;
		}
	}
}

/*
 * A stop is not an uninstall: the pinned links keep the programs attached
 * and the pinned maps keep the tags, so the next start (a restart, an
 * upgrade) adopts them with no moment unenforced. Only --uninstall (or a
 * daemon that never pinned) detaches.
 */
static void teardown(struct daemon *d, bool started)
{
	bool keep = started && d->pin_dir[0] && !d->uninstall, listened = d->ctl_fd >= 0;
	int i;

	dm_ready_end(d);		/* a failed setup: nobody answers "starting" any more */
	dm_adopt_stop(d);
	if (started)
		dm_notify("STOPPING=1");
	tw_metrics_stop(d->metrics);	/* its thread reads what follows */
	dm_protect_stop(d);
	if (d->bpf) {
		if (started && !keep) {
			tw_bpf_unpin(d->bpf);
			tw_bpf_detach(d->bpf);
			tw_bpf_sync_programs();
		}
		/* Tell what was folded or is still queued; what comes later, the next start tells. */
		if (started && d->rb && d->log) {
			dm_flush_floods(d, true);
			ring_buffer__consume(d->rb);
			dm_log_flush(d);
			d->next_drop_check = 0;
			dm_report_drops(d);
		}
		tw_bpf_destroy(d->bpf);	/* closes our fds; pinned links and maps stay */
	}
	dm_state_writer_stop();
	if (keep)
		dm_state_save(d);
	else if (d->uninstall)
		dm_state_remove(d);
	if (d->log && started) {
		dm_log_daemon(d, d->uninstall ? "uninstall" : "stop",
			      json_pack("{s:b, s:s}", "enforcing", keep, "pin_dir", d->pin_dir));
		if (keep)
			tw_info("stopped; the programs stay attached and enforcing (pinned in %s); "
				"tierwalld --uninstall detaches them", d->pin_dir);
	}
	if (d->log)
		tw_evlog_close(d->log);
	tw_followers_free(d->followers);
	dm_control_free(d);
	dm_tagwatch_free(d);
	dm_policywatch_free();
	dm_trusted_free();
	dm_drift_free(d);
	ring_buffer__free(d->rb);
	if (d->ctl_fd >= 0) {
		close(d->ctl_fd);
		unlink(d->sock_path);
	}
	/*
	 * A start that failed leaves behind no directory it made (nor the log
	 * begun in it), and only those it held: a second daemon's refusal must
	 * not take the first one's.
	 */
	if (!started) {
		char dir[PATH_MAX];
		const char *dirs[] = { d->pin_dir, d->log_dir, d->state_dir,
				       sock_dir(d, dir, sizeof(dir)) };
		bool held[] = { d->lock_fds[0] >= 0, d->lock_fds[1] >= 0, d->lock_fds[2] >= 0, listened };

		for (i = ARRAY_SIZE(dirs) - 1; i >= 0; i--)
			if (d->absent[i] && held[i])
				dm_dir_unmake(dirs[i]);
	}
	for (i = 0; i < 3; i++)
		dm_unlock(&d->lock_fds[i]);
	if (d->tags)
		dm_tags_clear(d);
	free(d->tags);
	dm_grants_free(d);
	free(d->paths);
	tw_secrets_free(d->secrets);
	tw_dns_free(d->dns);
	tw_tables_free(&d->tables);
	tw_policy_free(d->policy);
	json_decref(d->reload_errors);
}

int main(int argc, char **argv)
{
	struct daemon d = { .ctl_fd = -1, .tag_watch_fd = -1, .lock_fds = { -1, -1, -1 } };
	char ns_root[PATH_MAX];
	int err;

	tw_log_init("tierwalld");
	libbpf_set_print(libbpf_print);
	err = dm_parse_args(&d, argc, argv);
	if (err)
		return 2;
	gethostname(d.host, sizeof(d.host) - 1);
	d.ectx.host = d.host;
	err = tw_cgroupns_init(ns_root, sizeof(ns_root));	/* before anything reads a cgroup path */
	if (err < 0) {
		tw_err("tierwalld runs in a cgroup namespace of its own and cannot find its root in the "
		       "cgroup2 mount (%s): callers' cgroups would be misread", strerror(-err));
		return 1;
	}
	if (err)
		tw_info("in a cgroup namespace of its own, rooted at %s: cgroup paths read from /proc "
			"are taken from there", ns_root);
	if (d.uninstall)
		return dm_uninstall(&d) ? 1 : 0;
	d.dns_opts.report = report_dns;
	d.dns_opts.arg = &d;
	err = setup(&d);
	if (!err) {
		dm_log_daemon(&d, "start", json_pack("{s:s, s:s, s:s, s:b, s:s}", "version", TW_VERSION,
						  "cgroup_root", d.root, "policy_file", d.policy_file,
						  "degraded", d.network_only, "protection", dm_protect_mode(&d)));
		dm_log_daemon(&d, "policy_loaded", json_pack("{s:i, s:i, s:i, s:i, s:i}",
							  "tiers", d.policy->ntiers,
							  "rules", d.policy->nrules,
							  "hostnames", d.policy->nhosts,
							  "tagged_cgroups", d.ntags,
							  "v4_blocks", d.tables.nblocks));
		tw_info("enforcing %s (%s) on %s: %d tiers, %d rules, %d tagged cgroups%s; events in %s",
			d.policy_file, d.policy->digest, d.root, d.policy->ntiers,
			d.policy->nrules, d.ntags, d.network_only ? " [DEGRADED: secrets not enforced]" : "",
			tw_evlog_path(d.log));
		dm_notify("READY=1\nSTATUS=enforcing");
		dm_adopt_start(&d);	/* pods that ran before us: tiered from the CRI */
		run(&d);
	}
	teardown(&d, !err);
	return err ? 1 : 0;
}
