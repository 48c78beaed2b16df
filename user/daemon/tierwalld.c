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
#include "cgroup.h"
#include "control.h"
#include "protect.h"
#include "reload.h"
#include "state.h"
#include "status.h"
#include "stream.h"
#include "tags.h"
#include "compile.h"
#include "ctl.h"
#include "dns.h"
#include "event.h"
#include "evlog.h"
#include "follow.h"
#include "metrics.h"
#include "loader.h"
#include "log.h"
#include "lsm.h"
#include "policy.h"
#include "secrets.h"
#include "util.h"

#define DEFAULT_LOG_DIR		"/var/log/tierwall"
#define DEFAULT_PIN_DIR		"/sys/fs/bpf/tierwall"
#define POLL_MS			50	/* ring buffer drained at least this often */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tierwalld --policy FILE [options]\n"
"\n"
"Enforce environment tiers on cgroups: deny connections to other tiers'\n"
"destinations and log every decision.\n"
"\n"
"  --policy FILE        policy to enforce (required; SIGHUP reloads it)\n"
"  --cgroup-root DIR    cgroup2 directory to attach to (default: the cgroup2 mount)\n"
"  --log-dir DIR        where events.jsonl is written (default " DEFAULT_LOG_DIR ")\n"
"  --pin-dir DIR        bpffs directory for pinned maps and links, or \"none\"\n"
"                       (default " DEFAULT_PIN_DIR ")\n"
"  --socket PATH        control socket for the CLI (default " TW_CTL_DEFAULT ")\n"
"  --stdout             also print every event to stdout\n"
"  --network-only       start even though the policy's secrets cannot be enforced\n"
"                       (degraded; reported in status and the log)\n"
"  --ringbuf-mb N       ring buffer size in MiB, a power of two (default 4)\n"
"  --rotate-mb N        rotate events.jsonl past N MiB (default 64; 0: never)\n"
"  --rotate-age D       rotate it when older than D: 90s, 30m, 24h, 7d (default 24h)\n"
"  --keep N             rotated segments kept, gzip-compressed (default 30; 0: all)\n"
"  --keep-mb N          and at most N MiB of them (default 0: no limit)\n"
"  --follow-queue-mb N  events queued per live follower before it loses some (default 16)\n"
"  --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464)\n"
"  --flood-window MS    a caller's repeats on one target within MS become one record\n"
"                       with a count (default 1000; 0: a record per decision)\n"
"  --dns-server LIST    resolve policy hostnames with these servers, ADDR[:PORT],...\n"
"                       (default: /etc/resolv.conf, like the clients)\n"
"  --dns-grace D        keep an address that left a hostname's answer for D, so\n"
"                       clients' cached answers stay judged (default 10m)\n"
"  --dns-max-refresh D  re-resolve hostnames at least every D, whatever the TTL,\n"
"                       and retry failing ones at least that often (default 5m)\n"
"  -v, --verbose        libbpf debug output\n"
"  -h, --help           this help\n");
}

static void report_dns(void *arg, const char *what, json_t *extra)
{
	struct daemon *d = arg;

	dm_log_daemon(d, what, extra);
	dm_log_flush(d);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !tw_verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int parse_args(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "cgroup-root", required_argument, NULL, 'c' },
		{ "log-dir", required_argument, NULL, 'l' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "socket", required_argument, NULL, 's' },
		{ "stdout", no_argument, NULL, 'o' },
		{ "network-only", no_argument, NULL, 'n' },
		{ "ringbuf-mb", required_argument, NULL, 'r' },
		{ "rotate-mb", required_argument, NULL, 'R' },
		{ "rotate-age", required_argument, NULL, 'A' },
		{ "keep", required_argument, NULL, 'k' },
		{ "keep-mb", required_argument, NULL, 'K' },
		{ "follow-queue-mb", required_argument, NULL, 'F' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "flood-window", required_argument, NULL, 'W' },
		{ "dns-server", required_argument, NULL, 'D' },
		{ "dns-grace", required_argument, NULL, 'G' },
		{ "dns-max-refresh", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *root = NULL;
	long mb, v;
	int c;

	d->log_dir = DEFAULT_LOG_DIR;
	d->pin_dir = DEFAULT_PIN_DIR;
	d->sock_path = TW_CTL_DEFAULT;
	d->ringbuf_bytes = 4 << 20;
	d->follow_queue_mb = TW_FOLLOW_QUEUE_MB;
	d->flood_ms = 1000;
	d->dns_opts = (struct tw_dns_opts){ .grace_s = 600, .max_refresh_s = 300, .max_backoff_s = 300,
					    .report = report_dns, .arg = d };
	d->log_opts = (struct tw_evlog_opts){ .rotate_bytes = 64ull << 20,
					      .rotate_secs = 24 * 3600, .keep_segments = 30 };
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p': d->policy_file = optarg; break;
		case 'c': root = optarg; break;
		case 'l': d->log_dir = optarg; break;
		case 'P': d->pin_dir = optarg; break;
		case 's': d->sock_path = optarg; break;
		case 'o': d->to_stdout = true; break;
		case 'n': d->network_only = true; break;
		case 'v': tw_verbose = true; break;
		case 'r':
			if (tw_parse_long(optarg, 1, 1024, &mb) || (mb & (mb - 1))) {
				tw_err("--ringbuf-mb: \"%s\" is not a power of two from 1 to 1024", optarg);
				return -EINVAL;
			}
			d->ringbuf_bytes = mb << 20;
			break;
		case 'R':
		case 'K':
		case 'k':
			if (tw_parse_long(optarg, 0, 1 << 20, &v)) {
				tw_err("--%s: \"%s\" is not a number from 0 to 1048576",
				       c == 'R' ? "rotate-mb" : c == 'K' ? "keep-mb" : "keep", optarg);
				return -EINVAL;
			}
			if (c == 'R')
				d->log_opts.rotate_bytes = (uint64_t)v << 20;
			else if (c == 'K')
				d->log_opts.keep_bytes = (uint64_t)v << 20;
			else
				d->log_opts.keep_segments = v;
			break;
		case 'M': d->metrics_addr = optarg; break;
		case 'D': {
			char why[256];

			if (tw_dns_check_servers(optarg, why, sizeof(why))) {
				tw_err("%s", why);
				return -EINVAL;
			}
			d->dns_opts.servers = optarg;
			break;
		}
		case 'G':
		case 'T':
			if (tw_parse_duration(optarg, &v) || v > 7 * 86400 || (c == 'T' && v < 1)) {
				tw_err("--%s: \"%s\" is not a duration like 90s, 30m or 24h (%s to 7d)",
				       c == 'G' ? "dns-grace" : "dns-max-refresh", optarg, c == 'G' ? "0s" : "1s");
				return -EINVAL;
			}
			if (c == 'G')
				d->dns_opts.grace_s = v;
			else
				d->dns_opts.max_refresh_s = d->dns_opts.max_backoff_s = v;
			break;
		case 'W':
			if (tw_parse_long(optarg, 0, 3600000, &d->flood_ms)) {
				tw_err("--flood-window: \"%s\" is not a number of ms from 0 to 3600000", optarg);
				return -EINVAL;
			}
			break;
		case 'F':
			if (tw_parse_long(optarg, 1, 4096, &d->follow_queue_mb)) {
				tw_err("--follow-queue-mb: \"%s\" is not a number from 1 to 4096", optarg);
				return -EINVAL;
			}
			break;
		case 'A':
			if (tw_parse_duration(optarg, &v)) {
				tw_err("--rotate-age: \"%s\" is not a duration like 90s, 30m, 24h or 7d",
				       optarg);
				return -EINVAL;
			}
			d->log_opts.rotate_secs = v;
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		tw_err("unexpected argument \"%s\" (see --help)", argv[optind]);
		return -EINVAL;
	}
	if (!d->policy_file) {
		tw_err("--policy FILE is required (see --help)");
		return -EINVAL;
	}
	if (tw_cgroup2_mount(d->mount, sizeof(d->mount))) {
		tw_err("no cgroup2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup)");
		return -ENOENT;
	}
	if (!root)
		root = d->mount;
	if (tw_is_cgroup2_dir(root) || !realpath(root, d->root) ||
	    tw_cgroup_level(d->mount, d->root) < 0) {
		tw_err("--cgroup-root %s is not a directory of the cgroup2 hierarchy at %s",
		       root, d->mount);
		return -EINVAL;
	}
	return 0;
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
	if (!strcmp(d->pin_dir, "none")) {
		d->pin_dir = "";
	} else {
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


static int setup(struct daemon *d)
{
	struct tw_bpf_opts bo = { .tag_capacity = MAX_TAGS, .ringbuf_bytes = d->ringbuf_bytes,
				  .host_capacity = MAX_HOST_ADDRS };
	char why[1024];
	struct tw_diags diags = {};
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	int err;

	err = tw_policy_load(d->policy_file, &d->policy, &diags);
	if (!err)
		err = tw_compile(d->policy, &d->tables, &diags);
	if (err) {
		tw_diags_print(&diags, stderr);
		tw_err("refusing to start: %d error(s) in %s", diags.count, d->policy_file);
		tw_diags_free(&diags);
		return err;
	}
	err = check_enforceable(d);
	if (err)
		return err;
	gethostname(d->host, sizeof(d->host) - 1);
	d->ectx = (struct tw_event_ctx){
		.host = d->host, .policy = d->policy, .cgroup_path = dm_cgroup_path,
		.dev_path = dm_dev_path, .arg = d,
		.boot_to_real = tw_boot_to_realtime_offset(),
	};
	d->paths = calloc(PATH_CACHE, sizeof(*d->paths));
	d->tags = calloc(MAX_TAGS, sizeof(*d->tags));
	if (!d->paths || !d->tags)
		return -ENOMEM;
	/* Before touching the kernel: a second daemon must not attach anything. */
	d->ctl_fd = tw_ctl_listen(d->sock_path);
	if (d->ctl_fd < 0) {
		err = d->ctl_fd;
		tw_err("cannot listen on %s: %s", d->sock_path,
		       err == -EADDRINUSE ? "another tierwalld answers there" : strerror(-err));
		return err;
	}
	d->log_opts.on_flush = dm_print_lines;
	d->log_opts.arg = d;
	err = tw_evlog_open(&d->log, d->log_dir, &d->log_opts);
	if (err)
		return err;

	if (d->policy->nsecrets && !d->network_only) {
		err = tw_secrets_resolve(&d->secrets, d->policy, d->policy_file);
		if (err)
			return err;
		bo.files = true;
		bo.secrets_capacity = tw_secrets_count(d->secrets) + TW_SECRETS_HEADROOM;
	}
	err = tw_bpf_load(&d->bpf, &d->tables, d->policy, &bo, why, sizeof(why));
	if (err)
		return bo.files && err != -ENOMEM ? refuse_secrets(d, why) :
		       (tw_err("%s", why), err);
	if (d->secrets) {
		err = tw_secrets_push(d->secrets, d->bpf);
		if (err) {
			tw_err("cannot fill the secrets map: %s", strerror(-err));
			return err;
		}
	}
	tw_bpf_set_flood_window(d->bpf, (uint64_t)d->flood_ms * 1000000);
	/* Names never block the policy: whatever is unresolved is retried later. */
	err = tw_dns_new(&d->dns, d->policy, d->bpf, &d->dns_opts, why, sizeof(why));
	if (err) {
		tw_err("%s", why);
		return err;
	}
	tw_dns_settle(d->dns, DNS_SETTLE_MS);
	/* Tags before attach: enforcement is complete from the first packet. */
	err = dm_tag_policy_cgroups(d);
	if (err)
		return err;
	d->rb = tw_bpf_ringbuf(d->bpf, dm_on_event, d);
	if (!d->rb) {
		err = -errno;
		tw_err("cannot open the event ring buffer: %s", strerror(-err));
		return err;
	}
	err = tw_bpf_attach(d->bpf, d->root);
	if (!err && d->pin_dir[0]) {
		struct tw_old_maps old;

		/* Take over from a crashed instance: attach first, then its leftovers. */
		tw_old_maps_open(d->pin_dir, &old);
		err = tw_bpf_pin(d->bpf, d->pin_dir);
		if (!err)
			dm_recover(d, &old);
		tw_old_maps_close(&old);
	}
	if (!err)
		err = dm_protect(d, d->bpf);	/* once the pin directory exists */
	if (err)
		return err;

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
	if (!d->followers)
		return -ENOMEM;
	d->loaded_at = time(NULL);
	if (d->metrics_addr) {
		err = tw_metrics_start(&d->metrics, d->metrics_addr, dm_write_metrics, d, why, sizeof(why));
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
	return 0;
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
				dm_accept_clients(d);
			} else if (evs[i].data.fd == tw_dns_fd(d->dns)) {
				continue;	/* served by tw_dns_run above */
			} else if (evs[i].data.fd == tw_secrets_fd(d->secrets)) {
				if (tw_secrets_poll(d->secrets, d->bpf, secret_appeared, d))
					tw_err("a secret path appeared but could not be protected: see above");
			} else {
				tw_followers_event(d->followers, evs[i].data.fd, evs[i].events);
			}
		}
	}
}

static void teardown(struct daemon *d)
{
	int i;

	tw_metrics_stop(d->metrics);	/* its thread reads what follows */
	dm_protect_stop(d);
	if (d->bpf) {
		tw_bpf_unpin(d->bpf);
		tw_bpf_detach(d->bpf);
		/* Detached: no new decisions. Tell what was folded or is still queued. */
		if (d->rb && d->log) {
			dm_flush_floods(d, true);
			ring_buffer__consume(d->rb);
			dm_log_flush(d);
			d->next_drop_check = 0;
			dm_report_drops(d);
		}
		tw_bpf_destroy(d->bpf);
	}
	if (d->log) {
		dm_log_daemon(d, "stop", NULL);
		tw_evlog_close(d->log);
	}
	tw_followers_free(d->followers);
	ring_buffer__free(d->rb);
	if (d->ctl_fd > 0) {
		close(d->ctl_fd);
		unlink(d->sock_path);
	}
	for (i = 0; i < d->ntags; i++)
		free(d->tags[i].path);
	free(d->tags);
	free(d->paths);
	tw_secrets_free(d->secrets);
	tw_dns_free(d->dns);
	tw_tables_free(&d->tables);
	tw_policy_free(d->policy);
}

int main(int argc, char **argv)
{
	struct daemon d = { .ctl_fd = -1 };
	int err;

	tw_log_init("tierwalld");
	libbpf_set_print(libbpf_print);
	err = parse_args(&d, argc, argv);
	if (err)
		return 2;
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
		run(&d);
	}
	teardown(&d);
	return err ? 1 : 0;
}
