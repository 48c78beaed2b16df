// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall-nri: the container runtime's hook. Run by containerd 1.6 (NRI
 * v0.1) before each container starts, it has tierwalld tier the container
 * from its pod's labels and waits for the confirmation; see hook.c.
 *
 *   tierwall-nri invoke              (containerd) request on stdin, result on stdout
 *   tierwall-nri install [options]   (the DaemonSet's init container) copy this binary
 *                                    into the NRI plugin directory and add it to conf.json
 *   tierwall-nri uninstall [options] take both out again, and any --remove FILE
 *                                    (other runtimes' hook files); --hold then waits
 *                                    for SIGTERM (the uninstall DaemonSet's container)
 *
 * It is linked statically: it runs on the host, whatever its libraries.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "runtime.h"

#define NAME		"tierwall-nri"
#define NRI_BIN_DIR	"/opt/nri/bin"
#define NRI_CONF	"/etc/nri/conf.json"

/* conf.json with our entry replaced by conf (NULL: removed); other plugins kept. */
static int edit_conf(const char *path, json_t *conf)
{
	json_t *list = json_load_file(path, 0, NULL), *plugins, *p;
	char dir[4096], *slash, *s;
	size_t i;
	int err;

	if (!list && !conf)
		return 0;
	if (!list)
		list = json_pack("{s:s, s:[]}", "version", "0.1", "plugins");
	plugins = json_object_get(list, "plugins");
	if (!json_is_array(plugins)) {
		json_decref(list);
		fprintf(stderr, NAME ": %s has no \"plugins\" array: not touching it\n", path);
		return -EINVAL;
	}
	for (i = 0; i < json_array_size(plugins);) {
		p = json_array_get(plugins, i);
		if (!strcmp(json_string_value(json_object_get(p, "type")) ?: "", NAME))
			json_array_remove(plugins, i);
		else
			i++;
	}
	if (conf)
		json_array_append_new(plugins, json_pack("{s:s, s:O}", "type", NAME, "conf", conf));
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) && errno != EEXIST)
			fprintf(stderr, NAME ": mkdir %s: %s\n", dir, strerror(errno));
	}
	s = json_dumps(list, JSON_INDENT(2));
	err = s ? tw_write_atomic(path, s, strlen(s), 0644) : -ENOMEM;
	free(s);
	json_decref(list);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: " NAME " invoke              (run by containerd's NRI v0.1)\n"
		   "       " NAME " install [--bin-dir DIR] [--conf FILE] [--socket PATH]\n"
		   "                    [--exempt NS,NS...] [--timeout-ms N]\n"
		   "       " NAME " uninstall [--bin-dir DIR] [--conf FILE] [--remove FILE]...\n"
		   "                    [--hold]\n"
		   "\n"
		   "install copies this binary to --bin-dir (default " NRI_BIN_DIR ") and adds it to\n"
		   "--conf (default " NRI_CONF "), other plugins kept: containers then start only\n"
		   "once tierwalld on --socket (default " TW_HOOK_SOCKET ", the path on the host)\n"
		   "has tiered them, or after --timeout-ms (default 5000) are refused, except in the\n"
		   "--exempt namespaces (default tierwall,kube-system). uninstall takes both out\n"
		   "again, removes each --remove FILE if present, and with --hold stays until SIGTERM.\n");
}

/* Other runtimes' hook files (NRI v2 plugin, hooks.d entry): gone, or never there. */
static int remove_files(const char *const *files, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!unlink(files[i]))
			printf(NAME ": removed %s\n", files[i]);
		else if (errno != ENOENT)
			return -errno;
	}
	return 0;
}

static void on_term(int sig)
{
	_exit(0);
}

/* The uninstall DaemonSet's pod stays Running: every node done shows as rolled out. */
static void hold_until_term(void)
{
	signal(SIGTERM, on_term);
	for (;;)
		pause();
}

static int install(int argc, char **argv, bool remove)
{
	static const struct option opts[] = {
		{ "bin-dir", required_argument, NULL, 'b' }, { "conf", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' }, { "exempt", required_argument, NULL, 'e' },
		{ "timeout-ms", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ "remove", required_argument, NULL, 'r' }, { "hold", no_argument, NULL, 'H' }, {}
	};
	const char *extra[16];
	int nextra = 0;
	bool hold = false;
	const char *bin = NRI_BIN_DIR, *path = NRI_CONF, *exempt = "tierwall,kube-system";
	json_t *conf = json_object();
	struct tw_hook_conf hc = {};
	char why[256];
	int c, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b': bin = optarg; break;
		case 'c': path = optarg; break;
		case 's': json_object_set_new(conf, "socket", json_string(optarg)); break;
		case 'e': exempt = optarg; break;
		case 't': json_object_set_new(conf, "timeout_ms", json_integer(atoi(optarg))); break;
		case 'r':
			if (!remove || nextra == (int)(sizeof(extra) / sizeof(extra[0]))) {
				usage(stderr);
				exit(2);
			}
			extra[nextra++] = optarg;
			break;
		case 'H': hold = remove; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	json_object_set_new(conf, "exempt_namespaces", tw_hook_ns_list(exempt));
	if (tw_hook_conf(conf, &hc, why, sizeof(why))) {
		fprintf(stderr, NAME ": %s\n", why);
		return 2;
	}
	tw_hook_conf_free(&hc);
	if (remove) {
		char dst[4096];

		err = edit_conf(path, NULL);
		snprintf(dst, sizeof(dst), "%s/" NAME, bin);
		if (!err && unlink(dst) && errno != ENOENT)
			err = -errno;
		if (!err)
			err = remove_files(extra, nextra);
	} else {
		/* Binary first: conf.json never names a plugin that is not there. */
		err = tw_install_self(bin, NAME);
		if (!err)
			err = edit_conf(path, conf);
	}
	json_decref(conf);
	if (err) {
		fprintf(stderr, NAME ": %s: %s\n", remove ? "uninstall" : "install", strerror(-err));
		return 1;
	}
	printf(NAME ": %s %s/" NAME " and its entry in %s\n", remove ? "removed" : "installed", bin, path);
	fflush(stdout);
	if (hold)
		hold_until_term();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "invoke"))
		return tw_hook_invoke(&tw_nri_v01, NULL, NAME);
	if (argc >= 2 && (!strcmp(argv[1], "install") || !strcmp(argv[1], "uninstall")))
		return install(argc - 1, argv + 1, argv[1][0] == 'u');
	usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
	return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
}
