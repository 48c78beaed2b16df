// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall explain and which: the operator's "why was this denied?" and
 * "what tier is this process in?". The daemon answers both from the live
 * maps through the hooks' own decision code; this file reads the target
 * the way a caller would write it and prints the answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "chain.h"
#include "ident.h"
#include "levels.h"
#include "log.h"
#include "policy.h"
#include "text.h"
#include "util.h"

static long who_pid;
static const char *who_cgroup;
static bool exit_code;	/* explain --exit-code: 3 when the verdict is deny */

static int who_opt(int c, const char *arg)
{
	if (c == 'c') {
		who_cgroup = arg;
		return 0;
	}
	if (c == 'x') {
		exit_code = true;
		return 0;
	}
	if (c == 'p') {
		if (tw_parse_long(arg, 1, INT32_MAX, &who_pid)) {
			tw_err("--pid: \"%s\" is not a process id", arg);
			exit(EXIT_USAGE);
		}
		return 0;
	}
	return -1;
}

/* "PORT" after a ':' into t; -1 if it is not one. */
static int take_port(const char *s, json_t *t)
{
	long port;

	if (tw_parse_long(s, 1, 65535, &port))
		return -1;
	json_object_set_new(t, "port", json_integer(port));
	return 0;
}

static bool is_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Addresses the name has for this host's resolver (the daemon adds what it knows). */
static json_t *resolve(const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	json_t *a = json_array();
	char buf[INET6_ADDRSTRLEN];

	if (getaddrinfo(host, NULL, &hints, &res))
		return a;
	for (ai = res; ai; ai = ai->ai_next) {
		const void *p = ai->ai_family == AF_INET ?
			(const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
			(const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;

		if (inet_ntop(ai->ai_family, p, buf, sizeof(buf)))
			json_array_append_new(a, json_string(buf));
	}
	freeaddrinfo(res);
	return a;
}

/*
 * The levels the hooks' walk meets for a file, read here where the caller
 * sees the path (its mount namespace): the daemon only judges them.
 */
static json_t *file_target(json_t *t, const char *path)
{
	static struct tw_explain x;
	bool subvols = tw_chain_subvols();
	int err = tw_explain_levels(path, subvols, &x);

	if (err < 0) {
		tw_err("cannot read %s: %s", path, strerror(-err));
		exit(EXIT_FAIL);
	}
	tw_json_set_text(t, "path", path);	/* a name need not be UTF-8 */
	tw_levels_json(&x, subvols, t);
	return t;
}

/*
 * TARGET as a caller writes it: a file path (absolute, or starting with
 * ./ or ../), IP[:PORT][/udp] ([v6]:PORT), or HOST[:PORT][/udp].
 */
static json_t *parse_target(const char *arg)
{
	char s[1024], cwd[PATH_MAX], name[TW_HOSTNAME_MAX + 3], why[256] = "", *colon, *end;
	json_t *t = json_object();
	bool wild;
	size_t n;

	if (arg[0] == '/' || !strncmp(arg, "./", 2) || !strncmp(arg, "../", 3)) {
		if (arg[0] != '/' && getcwd(cwd, sizeof(cwd)))
			snprintf(s, sizeof(s), "%s/%s", cwd, arg);
		else
			snprintf(s, sizeof(s), "%s", arg);
		return file_target(t, s);
	}
	snprintf(s, sizeof(s), "%s", arg);
	n = strlen(s);
	json_object_set_new(t, "proto", json_string("tcp"));
	if (n > 4 && (!strcmp(s + n - 4, "/udp") || !strcmp(s + n - 4, "/tcp"))) {
		json_object_set_new(t, "proto", json_string(s + n - 3));
		s[n - 4] = '\0';
	}
	if (s[0] == '[' && (end = strchr(s, ']'))) {
		*end = '\0';
		if ((end[1] == ':' && take_port(end + 2, t)) || (end[1] && end[1] != ':') ||
		    !is_ip(s + 1))
			goto bad;
		json_object_set_new(t, "ip", json_string(s + 1));
		return t;
	}
	if (is_ip(s)) {
		json_object_set_new(t, "ip", json_string(s));
		return t;
	}
	colon = strrchr(s, ':');
	if (colon) {
		*colon = '\0';
		if (take_port(colon + 1, t))
			goto bad;
	}
	if (!s[0] || strchr(s, ':'))
		goto bad;
	if (is_ip(s)) {
		json_object_set_new(t, "ip", json_string(s));
		return t;
	}
	if (!tw_hostname_parse(s, name, &wild, why, sizeof(why)) || wild) {
		if (wild)
			snprintf(why, sizeof(why), "a wildcard names no one host");
		goto bad;
	}
	json_object_set_new(t, "host", json_string(s));
	json_object_set_new(t, "addresses", resolve(s));
	return t;
bad:
	json_decref(t);
	tw_err("invalid target \"%s\"%s%s: expected IP[:PORT][/udp], [IPv6]:PORT, HOST[:PORT][/udp] or a file path",
	       arg, why[0] ? ": " : "", why);
	exit(EXIT_USAGE);
}

static json_t *who_request(const char *cmd)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd);

	if (!!who_pid == !!who_cgroup) {
		tw_err("%s: name the caller with exactly one of --pid N and --cgroup CG", cmd);
		tw_cmd_usage(stderr, tw_cur);
		exit(EXIT_USAGE);
	}
	if (who_pid)
		json_object_set_new(req, "pid", json_integer(who_pid));
	else
		json_object_set_new(req, "cgroup", json_string(who_cgroup));
	return req;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* "tier staging, from the tag on /agents/staging (policy, cgroups[0])" */
static void print_tier(json_t *r)
{
	json_t *tag = json_object_get(r, "tag");

	if (json_object_get(r, "pid") && !json_is_null(json_object_get(r, "pid")))
		printf("caller   pid %lld in %s\n", json_integer_value(json_object_get(r, "pid")),
		       str(r, "cgroup"));
	else
		printf("caller   %s\n", str(r, "cgroup"));
	if (str(r, "outside_root")) {
		printf("tier     none: outside the daemon's cgroup root %s, where no program runs\n",
		       str(r, "outside_root"));
		return;
	}
	if (!str(r, "tier")) {
		printf("tier     none: no tagged cgroup above it; nothing is refused to it\n");
		return;
	}
	printf("tier     %s, from the tag on %s (%s", str(r, "tier"), str(r, "tagged_cgroup") ?: "?",
	       str(tag, "source") ?: "?");
	if (str(tag, "rule"))
		printf(": %s", str(tag, "rule"));
	else if (json_object_get(tag, "uid"))
		printf(", asked by uid %lld, pid %lld", json_integer_value(json_object_get(tag, "uid")),
		       json_integer_value(json_object_get(tag, "pid")));
	printf(")\n");
}

/* "destinations[0].cidrs[0] 127.20.0.0/16, owned by prod" or "no rule" */
static void print_rule(json_t *o)
{
	json_t *a;
	size_t i;

	if (!str(o, "rule")) {
		printf("%s", str(o, "reason") ?: "no rule: nobody owns it");
		return;
	}
	printf("%s %s, owned by %s", str(o, "rule"),
	       str(o, "cidr") ?: str(o, "hostname") ?: str(o, "secret") ?: "",
	       str(o, "target_tier") ?: "?");
	json_array_foreach(json_object_get(o, "hostname_addresses"), i, a)
		printf("%s%s", i ? ", " : " (it resolves to ", json_string_value(a));
	if (json_array_size(json_object_get(o, "hostname_addresses")))
		printf(")");
}

static void print_verdict(const char *label, json_t *o)
{
	const char *v = str(o, "verdict") ?: "?";
	bool rec = json_is_true(json_object_get(o, "recorded"));

	json_t *g = json_object_get(o, "grant");

	printf("%s%s (%s%s)", label, v,
	       !strcmp(v, "deny") ? "the caller gets EPERM" :
	       !strcmp(v, "audit") ? "allowed: the tier is in audit mode" : "allowed",
	       rec ? "; recorded" : "; not recorded");
	if (g)
		printf(" by grant %lld (tierwall grant show %lld)", json_integer_value(g), json_integer_value(g));
	printf("\n");
}

static void print_explain(json_t *r)
{
	json_t *t = json_object_get(r, "target"), *a;
	size_t i;

	print_tier(r);
	if (json_object_get(t, "path")) {
		printf("target   file %s\n", str(t, "path"));
	} else {
		printf("target   %s", str(t, "host") ?: str(t, "ip"));
		if (json_object_get(t, "port"))
			printf(":%lld", json_integer_value(json_object_get(t, "port")));
		printf("/%s%s\n", str(t, "proto") ?: "tcp",
		       json_object_get(t, "port") ? "" : " (no port: rules limited to ports do not apply)");
	}
	if (str(r, "note"))
		printf("note     %s\n", str(r, "note"));
	if (json_object_get(r, "dns")) {
		json_t *d = json_object_get(r, "dns");

		printf("dns      a query for %s: %s: ", str(r, "hostname") ?: "?", str(d, "verdict"));
		print_rule(d);
		printf("\n");
		json_array_foreach(json_object_get(r, "addresses"), i, a) {
			printf("address  %s: %s: ", str(a, "ip"), str(a, "verdict"));
			print_rule(a);
			printf("\n");
		}
		if (!json_array_size(json_object_get(r, "addresses")))
			printf("address  none known now\n");
	} else if (str(r, "tier")) {
		if (str(r, "judged"))
			printf("judged   %s (where the kernel sends an unspecified address)\n",
			       str(r, "judged"));
		printf("rule     ");
		print_rule(r);
		printf("\n");
	}
	print_verdict("verdict  ", r);
}

int do_explain(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "exit-code", no_argument, NULL, 'x' },
		{}
	};
	int first = tw_parse_opts(argc, argv, NULL, extra, who_opt), rc;
	json_t *req, *r;

	tw_want_operands(argc, first, 1);
	req = who_request("explain");
	json_object_set_new(req, "target", parse_target(argv[first]));
	r = tw_call(req);
	if (!r)
		return EXIT_FAIL;
	if (tw_want_json) {
		tw_ev_daemon_info();	/* the tag's cgroup as the policy names it */
		tw_print_json(r);
	} else {
		print_explain(r);
	}
	rc = exit_code && !strcmp(str(r, "verdict") ?: "", "deny") ? EXIT_ANSWER : 0;
	json_decref(r);
	return rc;
}

int do_which(int argc, char **argv)
{
	static const struct option extra[] = { { "cgroup", required_argument, NULL, 'c' }, {} };
	int first = tw_parse_opts(argc, argv, NULL, extra, who_opt);
	json_t *r, *tag, *g;
	char when[64];
	size_t i;

	if (!who_cgroup) {
		tw_want_operands(argc, first, 1);
		if (tw_parse_long(argv[first], 1, INT32_MAX, &who_pid)) {
			tw_err("which: \"%s\" is not a process id", argv[first]);
			return EXIT_USAGE;
		}
	} else {
		tw_want_operands(argc, first, 0);
	}
	r = tw_call(who_request("which"));
	if (!r)
		return EXIT_FAIL;
	if (tw_want_json) {
		tw_ev_daemon_info();
		tw_print_json(r);
		json_decref(r);
		return 0;
	}
	print_tier(r);
	tag = json_object_get(r, "tag");
	if (tag) {
		tw_format_time((uint64_t)json_integer_value(json_object_get(tag, "since")) * 1000000000ull,
			       when, sizeof(when));
		printf("since    %.19sZ\n", when);
		if (json_object_get(tag, "meta")) {
			char *m = json_dumps(json_object_get(tag, "meta"), JSON_COMPACT);

			printf("meta     %s\n", m ?: "?");
			free(m);
		}
	}
	json_array_foreach(json_object_get(r, "grants"), i, g)
		printf("grant    %lld: %s for %llds more (%s)\n", json_integer_value(json_object_get(g, "grant")),
		       str(json_object_get(g, "scope"), "to") ?: str(json_object_get(g, "scope"), "secret"),
		       json_integer_value(json_object_get(g, "left_s")), str(g, "reason"));
	if (str(r, "warning"))
		printf("WARNING  %s\n", str(r, "warning"));
	json_decref(r);
	return 0;
}
