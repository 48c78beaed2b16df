// SPDX-License-Identifier: GPL-2.0
/* tierwalld's command line: every option checked, with a clear message, before anything starts. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "access.h"
#include "adopt.h"
#include "cri.h"
#include "cgroup.h"
#include "ctl.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "policysig.h"
#include "sealing.h"
#include "trusted.h"
#include "util.h"

static void usage(FILE *f)
{
	fprintf(f,
"Usage: tierwalld --policy FILE [options]\n"
"       tierwalld --uninstall [--pin-dir DIR] [--state-dir DIR] [--log-dir DIR] [--socket PATH]\n"
"\n"
"Enforce environment tiers on cgroups: deny connections to other tiers'\n"
"destinations and log every decision.\n"
"\n"
"  --policy FILE        policy to enforce (required; SIGHUP reloads it)\n"
"  --cgroup-root DIR    cgroup2 directory to attach to (default: the cgroup2 mount)\n"
"  --log-dir DIR        where events.jsonl is written (default " DEFAULT_LOG_DIR ")\n"
"  --pin-dir DIR        bpffs directory for pinned maps and links, or \"none\"\n"
"                       (default " DEFAULT_PIN_DIR ")\n"
"  --state-dir DIR      runtime tags and hostname addresses kept across restarts, or\n"
"                       \"none\" (default " DEFAULT_STATE_DIR ")\n"
"  --socket PATH        control socket for the CLI (default " TW_CTL_DEFAULT ")\n"
"  --cri-socket PATH    the container runtime's CRI socket: pods running before the\n"
"                       daemon are tiered from it once it enforces (default\n"
"                       " TW_CRI_DEFAULT "; \"none\": do not ask)\n"
"  --group NAME         members may read: connect for status, tiers, events, explain\n"
"                       and which, and read the log (default " DEFAULT_GROUP ", if it\n"
"                       exists; \"none\": root only)\n"
"  --stdout             also print every event to stdout\n"
"  --watch-policy       reload when the policy file changes (watches its directory:\n"
"                       a Kubernetes ConfigMap's ..data swap included)\n"
"  --network-only       start even though the policy's secrets cannot be enforced\n"
"                       (degraded; reported in status and the log)\n"
"  --ringbuf-mb N       ring buffer size in MiB, a power of two (default 4)\n"
"  --rotate-mb N        rotate events.jsonl past N MiB (default 64; 0: never)\n"
"  --rotate-age D       rotate it when older than D: 90s, 30m, 24h, 7d (default 24h;\n"
"                       0: never)\n"
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
"  --uninstall          detach the programs and remove pins and state (those of the\n"
"                       daemon on --socket, or left by one that stopped); a stop\n"
"                       (SIGTERM, SIGINT) leaves them enforcing, for the next start\n"
DM_SEAL_USAGE
DM_POLICYSIG_USAGE
"  -v, --verbose        libbpf debug output, the start's phases and verifier statistics, timed\n"
"  -h, --help           this help\n"
"  --version            print the version\n");
}

/* A path option's value: not empty, and short enough for where it goes. */
static int check_len(const char *opt, const char *path, size_t max)
{
	if (!*path) {
		tw_err("%s: expected a path, got an empty one", opt);
		return -EINVAL;
	}
	if (strlen(path) >= max) {
		tw_err("%s %s: longer than %zu characters", opt, path, max - 1);
		return -ENAMETOOLONG;
	}
	return 0;
}

/*
 * A directory the daemon makes if absent (one level, like mkdir): it is a
 * directory, or its parent is. Checked before anything is made, so a
 * refused start leaves nothing behind.
 */
static int check_dir(const char *opt, const char *dir, int up)
{
	char parent[PATH_MAX], *slash;
	struct stat st;
	int err = check_len(opt, dir, up ? sizeof(((struct sockaddr_un *)0)->sun_path) : PATH_MAX);

	if (err)
		return err;
	snprintf(parent, sizeof(parent), "%s", dir);
	for (; up > 0; up--) {		/* the socket's own directory is made too */
		slash = strrchr(parent, '/');
		if (!slash)
			return 0;
		*(slash == parent ? slash + 1 : slash) = '\0';
	}
	if (!stat(parent, &st)) {
		if (S_ISDIR(st.st_mode))
			return 0;
		tw_err("%s %s: %s is not a directory", opt, dir, parent);
		return -ENOTDIR;
	}
	err = -errno;
	if (err != -ENOENT) {
		tw_err("%s %s: %s: %s", opt, dir, parent, strerror(-err));
		return err;
	}
	slash = strrchr(parent, '/');
	if (!slash)
		return 0;	/* made in the working directory */
	*(slash == parent ? slash + 1 : slash) = '\0';
	if (!stat(parent, &st) && S_ISDIR(st.st_mode))
		return 0;
	tw_err("%s %s: %s does not exist (tierwalld makes only the last directory)", opt, dir, parent);
	return -ENOENT;
}

/* The policy: a file the daemon can read (what it says is checked when it is loaded). */
static int check_policy(const char *path)
{
	struct stat st;

	if (stat(path, &st) || access(path, R_OK)) {
		int err = -errno;

		tw_err("--policy %s: %s", path, strerror(-err));
		return err;
	}
	if (!S_ISREG(st.st_mode)) {
		tw_err("--policy %s: not a regular file", path);
		return -EINVAL;
	}
	return 0;
}

/* Where the daemon keeps things: checked for both a start and --uninstall. */
static int check_places(struct daemon *d)
{
	int err = 0;

	if (strcmp(d->pin_dir, "none"))
		err = check_dir("--pin-dir", d->pin_dir, 0);
	if (!err && strcmp(d->state_dir, "none"))
		err = check_dir("--state-dir", d->state_dir, 0);
	if (!err)
		err = check_dir("--log-dir", d->log_dir, 0);
	if (!err)
		err = check_dir("--socket", d->sock_path, 1);
	return err;
}

/* What only a start uses: the policy, the CRI socket, the group, the metrics address. */
static int check_start(struct daemon *d, const char *cri, bool group_given)
{
	char why[256];
	int err = check_policy(d->policy_file);

	if (!err && cri && strcmp(cri, "none"))
		err = check_len("--cri-socket", cri, sizeof(((struct sockaddr_un *)0)->sun_path));
	if (err)
		return err;
	/* The default group may be absent; a group named on purpose must exist. */
	if (group_given && strcmp(d->group, "none") && !getgrnam(d->group)) {
		tw_err("--group %s: no such group (\"none\": root only)", d->group);
		return -EINVAL;
	}
	if (d->metrics_addr && tw_metrics_addr(d->metrics_addr, NULL, why, sizeof(why))) {
		tw_err("--metrics: %s", why);
		return -EINVAL;
	}
	return 0;
}

enum { OPT_SEAL_KEY = 256, OPT_SEAL_EPOCH, OPT_CRI_SOCKET, OPT_GUARD_PATH, OPT_POLICY_PUBKEY };

int dm_parse_args(struct daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "cgroup-root", required_argument, NULL, 'c' },
		{ "log-dir", required_argument, NULL, 'l' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "socket", required_argument, NULL, 's' },
		{ "cri-socket", required_argument, NULL, OPT_CRI_SOCKET },
		{ "state-dir", required_argument, NULL, 'S' },
		{ "seal-key", required_argument, NULL, OPT_SEAL_KEY },
		{ "seal-epoch", required_argument, NULL, OPT_SEAL_EPOCH },
		{ "guard-path", required_argument, NULL, OPT_GUARD_PATH },
		{ "policy-pubkey", required_argument, NULL, OPT_POLICY_PUBKEY },
		{ "uninstall", no_argument, NULL, 'U' },
		{ "stdout", no_argument, NULL, 'o' },
		{ "watch-policy", no_argument, NULL, 'w' },
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
		{ "group", required_argument, NULL, 'g' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	const char *root = NULL, *cri = NULL;
	bool group_given = false;
	long mb, v;
	int c;

	d->log_dir = DEFAULT_LOG_DIR;
	d->pin_dir = DEFAULT_PIN_DIR;
	d->state_dir = DEFAULT_STATE_DIR;
	d->sock_path = TW_CTL_DEFAULT;
	d->group = DEFAULT_GROUP;
	d->ringbuf_bytes = 4 << 20;
	d->follow_queue_mb = TW_FOLLOW_QUEUE_MB;
	d->flood_ms = 1000;
	d->dns_opts = (struct tw_dns_opts){ .grace_s = 600, .max_refresh_s = 300, .max_backoff_s = 300 };
	d->log_opts = (struct tw_evlog_opts){ .rotate_bytes = 64ull << 20,
					      .rotate_secs = 24 * 3600, .keep_segments = 30 };
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p': d->policy_file = optarg; break;
		case 'c': root = optarg; break;
		case 'l': d->log_dir = optarg; break;
		case 'P': d->pin_dir = optarg; break;
		case 's': d->sock_path = optarg; break;
		case OPT_CRI_SOCKET: cri = optarg; dm_adopt_socket(optarg); break;
		case 'S': d->state_dir = optarg; break;
		case 'U': d->uninstall = true; break;
		case 'o': d->to_stdout = true; break;
		case 'w': d->watch_policy = true; break;
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
		case OPT_GUARD_PATH:
			if (dm_trusted_opt(d, optarg))
				return -EINVAL;
			break;
		case OPT_POLICY_PUBKEY:
			if (dm_pubkey_opt(d, optarg))
				return -EINVAL;
			break;
		case OPT_SEAL_KEY:
		case OPT_SEAL_EPOCH:
			if (dm_seal_opt(d, c == OPT_SEAL_KEY, optarg))
				return -EINVAL;
			break;
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
		case 'V': printf("tierwalld %s\n", TW_VERSION); exit(0);
		case 'g': d->group = optarg; group_given = true; break;
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		tw_err("unexpected argument \"%s\" (see --help)", argv[optind]);
		return -EINVAL;
	}
	if (check_places(d))
		return -EINVAL;
	if (!strcmp(d->pin_dir, "none"))
		d->pin_dir = "";
	if (!strcmp(d->state_dir, "none"))
		d->state_dir = "";
	if (d->uninstall)
		return 0;
	if (!d->policy_file) {
		tw_err("--policy FILE is required (see --help)");
		return -EINVAL;
	}
	if (check_start(d, cri, group_given))
		return -EINVAL;
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

