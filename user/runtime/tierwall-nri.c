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

static int invoke(const struct tw_rt_adapter *rt)
{
	struct tw_hook_conf hc = {};
	struct tw_rt_container c;
	char why[2048] = "", note[512] = "";
	json_t *req = NULL;
	int err;

	err = rt->read(stdin, &req, &c, why, sizeof(why));
	if (!err)
		err = tw_hook_conf(c.conf, &hc, why, sizeof(why));
	if (!err)
		err = tw_hook_place(&hc, &c, why, sizeof(why), note, sizeof(note));
	/* containerd shows stderr in its log: one line per decision that matters. */
	if (err)
		fprintf(stderr, NAME ": refused %s: %s\n", c.id ? c.id : "?", why);
	else if (note[0] && strncmp(note, "untiered", 8))
		fprintf(stderr, NAME ": %s/%s %s: tier %s\n", c.ns ? c.ns : "", c.pod ? c.pod : "",
			c.container ? c.container : "", note);
	else if (note[0])
		fprintf(stderr, NAME ": %s/%s %s: %s\n", c.ns ? c.ns : "", c.pod ? c.pod : "",
			c.container ? c.container : "", note);
	err = rt->reply(stdout, req, err ? why : NULL);
	tw_hook_conf_free(&hc);
	json_decref(req);
	return err;
}

/* Write data to path atomically (a reader sees the old file or the new one). */
static int write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tierwall-tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) || fchmod(fd, mode))
		err = -errno ? -errno : -EIO;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static int copy_self(const char *dir)
{
	char dst[4096];
	struct stat st;
	char *buf;
	int fd, err;

	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st))
		return -errno;
	buf = malloc(st.st_size);
	if (!buf || read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		close(fd);
		return -EIO;
	}
	close(fd);
	if (mkdir(dir, 0755) && errno != EEXIST)
		err = -errno;
	else
		err = write_atomic((snprintf(dst, sizeof(dst), "%s/" NAME, dir), dst), buf,
				   st.st_size, 0755);
	free(buf);
	return err;
}

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
	err = s ? write_atomic(path, s, strlen(s), 0644) : -ENOMEM;
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
	json_t *conf = json_object(), *ex = json_array();
	struct tw_hook_conf hc = {};
	char why[256], *list, *tok, *save;
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
	list = strdup(exempt);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		json_array_append_new(ex, json_string(tok));
	free(list);
	json_object_set_new(conf, "exempt_namespaces", ex);
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
		err = copy_self(bin);
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
		return invoke(&tw_nri_v01);
	if (argc >= 2 && (!strcmp(argv[1], "install") || !strcmp(argv[1], "uninstall")))
		return install(argc - 1, argv + 1, argv[1][0] == 'u');
	usage(argc >= 2 && !strcmp(argv[1], "--help") ? stdout : stderr);
	return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
}
