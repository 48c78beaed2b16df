// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall-nri-plugin: the NRI v2 plugin (containerd 1.7 and 2.x). It has
 * tierwalld tier each pod at RunPodSandbox, before any of its containers
 * exists, and answers the runtime once the tag is in the kernel (nri2.c).
 * Two ways to run, as NRI has them:
 *
 *   pre-installed  /opt/nri/plugins/10-tierwall: the runtime starts it with
 *                  a connected socket as fd NRI_PLUGIN_SOCKET; configuration
 *                  from /etc/nri/conf.d/10-tierwall.conf (JSON: "socket",
 *                  "exempt_namespaces", as tierwall-nri's "conf"). It ends
 *                  with its connection: the runtime starts it again when it
 *                  restarts itself, never otherwise.
 *   external       tierwall-nri-plugin [options]: connects to the runtime's
 *                  NRI socket and, whenever the runtime or the connection
 *                  goes away, connects again (backoff up to 2 s). The
 *                  DaemonSet runs it so.
 *
 * NRI v2 plugins are fail-open by construction (a plugin that is not
 * connected, or misses the runtime's 2 s deadline, is skipped): what holds
 * then is the kernel's, not this plugin's.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "runtime.h"

#define NAME		"tierwall-nri-plugin"
#define NRI_SOCKET	"/var/run/nri/nri.sock"
#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	2000

static void usage(FILE *f)
{
	fprintf(f, "Usage: " NAME " [--nri-socket PATH] [--socket PATH] [--exempt NS,NS...]\n"
		   "                           [--name NAME] [--idx NN] [--quiet]\n"
		   "\n"
		   "Connects to the container runtime's NRI socket (--nri-socket, default\n"
		   NRI_SOCKET ") and has tierwalld on --socket (default " TW_HOOK_SOCKET ")\n"
		   "tier every pod before its containers exist; reconnects whenever the runtime\n"
		   "restarts. Pods of the --exempt namespaces (default tierwall,kube-system) start\n"
		   "without tierwalld; others are refused when tierwalld cannot confirm their tier.\n"
		   "Started by the runtime (NRI_PLUGIN_SOCKET set: installed as\n"
		   "/opt/nri/plugins/NN-tierwall), it serves that connection and reads its\n"
		   "configuration from the runtime (/etc/nri/conf.d/NN-tierwall.conf).\n");
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Started by the runtime: serve the socket it gave, then end. */
static int preinstalled(struct tw_nri2_conf *conf, const char *env)
{
	char why[1024], *end;
	long fd = strtol(env, &end, 10);
	int err;

	if (*end || fd < 0 || fd > 1 << 20) {
		fprintf(stderr, NAME ": NRI_PLUGIN_SOCKET=\"%s\" is not a file descriptor\n", env);
		return 2;
	}
	conf->from_runtime = true;
	conf->name = getenv("NRI_PLUGIN_NAME") ?: "tierwall";
	conf->idx = getenv("NRI_PLUGIN_IDX") ?: "10";
	err = tw_nri2_serve((int)fd, conf, why, sizeof(why));
	fprintf(stderr, NAME ": %s\n", why);
	return err < 0 ? 1 : 0;
}

/* External: connect, serve, and again, for as long as it runs. */
static __attribute__((noreturn)) void external(const struct tw_nri2_conf *conf, const char *path)
{
	int backoff = BACKOFF_MIN_MS, fd, err, last = 0;
	char why[1024];

	for (;;) {
		fd = tw_ctl_connect(path);
		if (fd < 0) {
			if (fd != last)
				fprintf(stderr, NAME ": %s: %s; retrying every %d ms at most\n", path,
					strerror(-fd), BACKOFF_MAX_MS);
			last = fd;
			sleep_ms(backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		last = 0;
		if (!conf->quiet)
			fprintf(stderr, NAME ": connected to %s\n", path);
		err = tw_nri2_serve(fd, conf, why, sizeof(why));
		close(fd);
		fprintf(stderr, NAME ": %s: %s; reconnecting\n", path, why);
		/* A session that got as far as Configure starts the backoff afresh. */
		if (err > 0)
			backoff = BACKOFF_MIN_MS;
		sleep_ms(backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nri-socket", required_argument, NULL, 'n' }, { "socket", required_argument, NULL, 's' },
		{ "exempt", required_argument, NULL, 'e' }, { "name", required_argument, NULL, 'N' },
		{ "idx", required_argument, NULL, 'i' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' }, {}
	};
	struct tw_nri2_conf conf = { .name = "tierwall", .idx = "10" };
	const char *nri = NRI_SOCKET, *env = getenv("NRI_PLUGIN_SOCKET");
	json_t *cj = json_object();
	char why[256];
	int c, err;

	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'n': nri = optarg; break;
		case 's': json_object_set_new(cj, "socket", json_string(optarg)); break;
		case 'e': json_object_set_new(cj, "exempt_namespaces", tw_hook_ns_list(optarg)); break;
		case 'N': conf.name = optarg; break;
		case 'i': conf.idx = optarg; break;
		case 'q': conf.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, NAME ": unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (strlen(conf.idx) != 2 || conf.idx[0] < '0' || conf.idx[0] > '9' || conf.idx[1] < '0' ||
	    conf.idx[1] > '9' || !*conf.name) {
		fprintf(stderr, NAME ": --idx must be two digits (\"10\") and --name not empty\n");
		return 2;
	}
	err = tw_hook_conf(cj, &conf.hc, why, sizeof(why));
	json_decref(cj);
	if (err) {
		fprintf(stderr, NAME ": %s\n", why);
		return 2;
	}
	if (!env)
		external(&conf, nri);
	err = preinstalled(&conf, env);
	tw_hook_conf_free(&conf.hc);
	return err;
}
