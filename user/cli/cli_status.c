// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall status: what the daemon enforces and how it is doing; with no
 * daemon to ask, whether its programs are still attached (a stop leaves
 * them enforcing) from the pins they left.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cli.h"
#include "log.h"
#include "pins.h"
#include "util.h"

#define DEFAULT_PIN_DIR	"/sys/fs/bpf/tierwall"

static const char *pin_dir = DEFAULT_PIN_DIR;
static long wait_s = -1;		/* --wait: seconds to wait for enforcement */

#define WAIT_DEFAULT_S	60
#define WAIT_STEP_MS	100

static int status_opt(int c, const char *arg)
{
	if (c == 'P') {
		pin_dir = arg;
		return 0;
	}
	if (c != 'W')
		return -1;
	wait_s = WAIT_DEFAULT_S;
	if (arg && tw_parse_long(arg, 0, 86400, &wait_s)) {
		tw_err("--wait: \"%s\" is not a number of seconds from 0 to 86400", arg);
		return -1;
	}
	return 0;
}

/* Enforcing in full: the daemon runs (setup done) and every program is attached. */
static bool enforcing(json_t *r)
{
	json_t *v;
	size_t i;

	if (!r || strcmp(json_string_value(json_object_get(r, "state")) ?: "", "running"))
		return false;
	json_array_foreach(json_object_get(r, "programs"), i, v)
		if (!json_is_true(json_object_get(v, "attached")))
			return false;
	return true;
}

/* --wait: ask until the daemon enforces or the time is up; the last answer. */
static json_t *wait_enforcing(int *rc)
{
	uint64_t end = tw_now_ns(CLOCK_MONOTONIC) + (uint64_t)wait_s * 1000000000ull;
	struct timespec step = { 0, WAIT_STEP_MS * 1000000L };
	json_t *r;

	for (;;) {
		r = tw_call_quiet(json_pack("{s:s}", "cmd", "status"), rc);
		if (enforcing(r) || tw_now_ns(CLOCK_MONOTONIC) >= end)
			return r;
		json_decref(r);
		nanosleep(&step, NULL);
	}
}

/* Pinned links whose program is still attached to something. */
static int attached_links(const char *dir)
{
	struct bpf_link_info info[64];
	int n = tw_pinned_links(dir, info, 64), i, attached = 0;

	for (i = 0; i < n; i++)
		attached += tw_link_attached(&info[i]);
	return attached;
}

/* No daemon answers: say whether the kernel still enforces. Exit 1 either way. */
static int not_running(void)
{
	int n = attached_links(pin_dir);

	if (tw_want_json) {
		json_t *o = json_pack("{s:b, s:s, s:b, s:i, s:s}", "ok", 0, "state",
				      n ? "not running, enforcing" : "not running",
				      "enforcing", n > 0, "attached_links", n, "pin_dir", pin_dir);

		tw_print_json(o);
		json_decref(o);
	} else if (n) {
		printf("tierwalld: not running, enforcing: %d programs still attached (pinned in %s);\n"
		       "a start adopts them, `tierwalld --uninstall` removes them\n", n, pin_dir);
	} else {
		printf("tierwalld: not running, not enforcing (nothing pinned in %s)\n", pin_dir);
	}
	return EXIT_FAIL;
}

/* One line per policy hostname: what it resolved to, or why it did not. */
static void print_hostnames(json_t *h)
{
	json_t *v, *a;
	size_t i, j;

	json_array_foreach(json_object_get(h, "names"), i, v) {
		printf("hostname    %-28s %-10s %-9s", json_string_value(json_object_get(v, "hostname")),
		       json_string_value(json_object_get(v, "tier")),
		       json_string_value(json_object_get(v, "state")));
		json_array_foreach(json_object_get(v, "addresses"), j, a)
			printf(" %s%s", json_string_value(json_object_get(a, "address")),
			       json_object_get(a, "grace_left_s") ? "(grace)" : "");
		if (json_object_get(v, "error"))
			printf(" [%s, %lld failures]", json_string_value(json_object_get(v, "error")),
			       json_integer_value(json_object_get(v, "failures")));
		printf("\n");
	}
	json_array_foreach(json_object_get(h, "wildcards"), i, v)
		printf("hostname    %-28s %-10s DNS guard only\n",
		       json_string_value(json_object_get(v, "hostname")),
		       json_string_value(json_object_get(v, "tier")));
}

int do_status(int argc, char **argv)
{
	static const struct option extra[] = { { "pin-dir", required_argument, NULL, 'P' },
					       { "wait", optional_argument, NULL, 'W' }, {} };
	int first = tw_parse_opts(argc, argv, NULL, extra, status_opt), rc;
	json_t *r, *v, *c;
	const char *k;
	size_t i;

	tw_want_operands(argc, first, 0);
	if (wait_s >= 0)
		r = wait_enforcing(&rc);
	else
		r = tw_call_quiet(json_pack("{s:s}", "cmd", "status"), &rc);
	if (!r)
		return rc == -ENOENT || rc == -ECONNREFUSED ? not_running() : EXIT_FAIL;
	rc = enforcing(r) ? 0 : EXIT_FAIL;
	if (tw_want_json) {
		tw_print_json(r);
		json_decref(r);
		return rc;
	}
	if (!strcmp(json_string_value(json_object_get(r, "state")) ?: "", "starting")) {
		printf("tierwalld %s, pid %lld: starting (enforcement not complete yet)\n",
		       json_string_value(json_object_get(r, "version")),
		       json_integer_value(json_object_get(r, "pid")));
		json_decref(r);
		return EXIT_FAIL;
	}
	printf("tierwalld %s, pid %lld\n", json_string_value(json_object_get(r, "version")),
	       json_integer_value(json_object_get(r, "pid")));
	printf("policy      %s (%s)\n", json_string_value(json_object_get(r, "policy_file")),
	       json_string_value(json_object_get(r, "policy")));
	printf("cgroup root %s\n", json_string_value(json_object_get(r, "cgroup_root")));
	printf("log         %s\n", json_string_value(json_object_get(r, "log")));
	printf("tiers %lld, rules %lld, tagged cgroups %lld\n",
	       json_integer_value(json_object_get(r, "tiers")),
	       json_integer_value(json_object_get(r, "rules")),
	       json_integer_value(json_object_get(r, "tagged_cgroups")));
	json_array_foreach(json_object_get(r, "degraded"), i, v)
		printf("DEGRADED    %s\n", json_string_value(v));
	json_array_foreach(json_object_get(r, "warnings"), i, v)
		printf("WARNING     %s\n", json_string_value(v));
	v = json_object_get(r, "secrets");
	if (json_integer_value(json_object_get(v, "paths")))
		printf("secrets     %lld paths, %s: %lld identities, %lld not created yet\n",
		       json_integer_value(json_object_get(v, "paths")),
		       json_is_true(json_object_get(v, "enforced")) ? "enforced" : "NOT ENFORCED",
		       json_integer_value(json_object_get(v, "identities")),
		       json_integer_value(json_object_get(v, "pending")));
	v = json_object_get(r, "protection");
	if (v && !strcmp(json_string_value(json_object_get(v, "mode")) ?: "", "bpf-lsm"))
		printf("protection  bpf-lsm: tiered processes cannot stop, trace or bypass tierwalld; %zu paths guarded\n",
		       json_array_size(json_object_get(v, "guarded")));
	else if (v)
		printf("protection  NONE (%s): a tiered root process can switch tierwalld off\n",
		       json_string_value(json_object_get(v, "reason")));
	print_hostnames(json_object_get(r, "hostnames"));
	v = json_object_get(r, "network_lsm");
	if (v)
		printf("network LSM %s%s\n", json_is_true(json_object_get(v, "loaded")) ?
		       "loaded: packet sockets, old and received sockets judged" : "not loaded: ",
		       json_string_value(json_object_get(v, "why")) ?: "");
	json_array_foreach(json_object_get(r, "programs"), i, v)
		printf("program     %-18s id %-6lld %s\n", json_string_value(json_object_get(v, "hook")),
		       json_integer_value(json_object_get(v, "prog_id")),
		       json_is_true(json_object_get(v, "attached")) ? "attached" : "NOT ATTACHED");
	c = json_object_get(r, "counters");
	json_object_foreach(c, k, v)
		printf("%-16s %lld\n", k, json_integer_value(v));
	json_decref(r);
	if (rc)
		printf("NOT ENFORCING IN FULL: a program is not attached\n");
	return rc;
}

