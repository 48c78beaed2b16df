// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall-oci-hook: the OCI runtime hook for CRI-O and podman. Named in a
 * hooks.d entry for the createRuntime stage, it has tierwalld place the
 * container from its annotations before its first instruction, and exits
 * non-zero (the runtime then fails the create) when the daemon refuses it
 * or does not confirm within the timeout, except in exempt namespaces; see
 * hook.c and ocihook.c.
 *
 *   tierwall-oci-hook invoke [--socket P] [--exempt NS,..] [--timeout-ms N]
 *   tierwall-oci-hook install [--bin-dir DIR] [--hooks-dir DIR] [same options]
 *   tierwall-oci-hook uninstall [--bin-dir DIR] [--hooks-dir DIR]
 *
 * Static, like tierwall-nri: it runs on the host, whatever its libraries.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runtime.h"

#define NAME		"tierwall-oci-hook"
#define BIN_DIR		"/usr/libexec/tierwall"
#define HOOKS_DIR	"/etc/containers/oci/hooks.d"
#define HOOK_FILE	"50-tierwall.json"

struct opts {
	const char *bin, *hooks;
	json_t *conf;		/* socket, exempt_namespaces, timeout_ms */
	json_t *args;		/* the same as the hook's own arguments */
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: " NAME " invoke [--socket PATH] [--exempt NS,NS...] [--timeout-ms N]\n"
		   "       " NAME " install [--bin-dir DIR] [--hooks-dir DIR] [--socket PATH]\n"
		   "                    [--exempt NS,NS...] [--timeout-ms N]\n"
		   "       " NAME " uninstall [--bin-dir DIR] [--hooks-dir DIR]\n"
		   "\n"
		   "invoke is what the runtime runs (createRuntime stage, the container's state on\n"
		   "stdin): the container starts only once tierwalld on --socket (default\n"
		   TW_HOOK_SOCKET ") has placed it, or after --timeout-ms (default 5000) it is\n"
		   "refused, except in the --exempt namespaces (default tierwall,kube-system).\n"
		   "install copies this binary to --bin-dir (default " BIN_DIR ") and writes\n"
		   "--hooks-dir/" HOOK_FILE " (default " HOOKS_DIR "); uninstall removes both.\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "bin-dir", required_argument, NULL, 'b' }, { "hooks-dir", required_argument, NULL, 'd' },
		{ "socket", required_argument, NULL, 's' }, { "exempt", required_argument, NULL, 'e' },
		{ "timeout-ms", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' }, {}
	};
	struct tw_hook_conf hc = {};
	char why[256];
	int c;

	o->bin = BIN_DIR;
	o->hooks = HOOKS_DIR;
	o->conf = json_object();
	o->args = json_array();
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'b': o->bin = optarg; continue;
		case 'd': o->hooks = optarg; continue;
		case 's': json_object_set_new(o->conf, "socket", json_string(optarg)); break;
		case 't': json_object_set_new(o->conf, "timeout_ms", json_integer(atoi(optarg))); break;
		case 'e': json_object_set_new(o->conf, "exempt_namespaces", tw_hook_ns_list(optarg)); break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
		/* The same option goes into the hooks.d entry's arguments. */
		json_array_append_new(o->args, json_sprintf("--%s=%s", lo[c == 's' ? 2 : c == 'e' ? 3 : 4].name,
							   optarg));
	}
	if (optind < argc) {
		fprintf(stderr, NAME ": unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (tw_hook_conf(o->conf, &hc, why, sizeof(why))) {
		fprintf(stderr, NAME ": %s\n", why);
		return -EINVAL;
	}
	tw_hook_conf_free(&hc);
	return 0;
}

/* The hooks.d entry: this binary, its options, the createRuntime stage, every container. */
static int write_hook(const struct opts *o)
{
	char path[4096], exe[4096];
	json_t *args = json_pack("[s, s]", NAME, "invoke"), *h;
	char *s;
	int err;

	json_array_extend(args, o->args);
	snprintf(exe, sizeof(exe), "%s/" NAME, o->bin);
	h = json_pack("{s:s, s:{s:s, s:o}, s:{s:b}, s:[s]}", "version", "1.0.0", "hook", "path", exe,
		      "args", args, "when", "always", 1, "stages", "createRuntime");
	s = h ? json_dumps(h, JSON_INDENT(2)) : NULL;
	json_decref(h);
	if (!s)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/" HOOK_FILE, o->hooks);
	err = tw_write_atomic(path, s, strlen(s), 0644);
	free(s);
	return err;
}

static int install(const struct opts *o, bool remove)
{
	char path[4096];
	int err = 0;

	if (remove) {
		/* The entry first: the runtime never runs a hook that is gone. */
		snprintf(path, sizeof(path), "%s/" HOOK_FILE, o->hooks);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
		snprintf(path, sizeof(path), "%s/" NAME, o->bin);
		if (!err && unlink(path) && errno != ENOENT)
			err = -errno;
	} else {
		/* Binary first: the entry never names a hook that is not there. */
		err = tw_install_self(o->bin, NAME);
		if (!err)
			err = write_hook(o);
	}
	if (err) {
		fprintf(stderr, NAME ": %s: %s\n", remove ? "uninstall" : "install", strerror(-err));
		return 1;
	}
	printf(NAME ": %s %s/" NAME " and %s/" HOOK_FILE "\n", remove ? "removed" : "installed",
	       o->bin, o->hooks);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {};
	const char *cmd = argc >= 2 ? argv[1] : "";
	int rc;

	if (strcmp(cmd, "invoke") && strcmp(cmd, "install") && strcmp(cmd, "uninstall")) {
		usage(strcmp(cmd, "--help") ? stderr : stdout);
		return strcmp(cmd, "--help") ? 2 : 0;
	}
	if (parse(argc - 1, argv + 1, &o)) {
		rc = 2;
	} else if (!strcmp(cmd, "invoke")) {
		/* Any failure to place refuses the container: exit 1. */
		rc = tw_hook_invoke(&tw_oci_hook, o.conf, NAME);
	} else {
		rc = install(&o, cmd[0] == 'u');
	}
	json_decref(o.conf);
	json_decref(o.args);
	return rc;
}
