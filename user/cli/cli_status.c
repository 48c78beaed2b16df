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

/* Fingerprints always (attestation uses them); the roots when the policy has some. */
static void print_drift(json_t *v)
{
	json_t *fp = json_object_get(v, "fingerprints"), *m;
	size_t i;

	if (json_integer_value(json_object_get(fp, "files")) || json_integer_value(json_object_get(fp, "skipped")))
		printf("fingerprint %lld secret files, %lld fingerprints (%lld shared by tiers), %lld files skipped\n",
		       json_integer_value(json_object_get(fp, "files")),
		       json_integer_value(json_object_get(fp, "fingerprints")),
		       json_integer_value(json_object_get(fp, "shared")),
		       json_integer_value(json_object_get(fp, "skipped")));
	if (!json_array_size(json_object_get(v, "roots")) && !json_array_size(json_object_get(v, "missing")))
		return;
	printf("drift       %zu root(s) (%s), %lld directories watched%s, %lld files checked%s: "
	       "%lld copies found, %lld protected\n", json_array_size(json_object_get(v, "roots")),
	       json_string_value(json_object_get(v, "mode")),
	       json_integer_value(json_object_get(v, "watched_dirs")),
	       json_integer_value(json_object_get(v, "unwatched_dirs")) ? " (SOME NOT WATCHED)" : "",
	       json_integer_value(json_object_get(v, "files_checked")),
	       json_is_true(json_object_get(v, "scanning")) ? " (scanning)" : "",
	       json_integer_value(json_object_get(v, "copies_found")),
	       json_integer_value(json_object_get(v, "copies_protected")));
	json_array_foreach(json_object_get(v, "missing"), i, m)
		printf("drift       root %s does not exist (looked for again every 10 s)\n",
		       json_string_value(m));
}

static const char *pin_dir = DEFAULT_PIN_DIR;
static bool pin_dir_given;
static long wait_s = -1;		/* --wait: seconds to wait for enforcement */

#define WAIT_DEFAULT_S	60
#define WAIT_STEP_MS	100

static int status_opt(int c, const char *arg)
{
	if (c == 'P') {
		pin_dir = arg;
		pin_dir_given = true;
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

/* A field to print: never "(null)", "-" where the daemon sent nothing. */
static const char *S(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key)) ?: "-";
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

/*
 * No daemon answers: say whether the kernel still enforces. Exit 1 either way.
 * Without --pin-dir a daemon may have pinned elsewhere (or answer on another
 * socket): the kernel's own list of links decides, or "unknown" when it
 * cannot be read, never a wrong "not enforcing".
 */
static int not_running(void)
{
	int n = attached_links(pin_dir), any = n;
	const char *state;

	if (!n && !pin_dir_given)
		any = tw_tierwall_links();
	state = any > 0 ? "not running, enforcing" : any < 0 ? "not running, enforcement unknown" :
		"not running";
	if (tw_want_json) {
		json_t *o = json_pack("{s:b, s:s, s:o, s:i, s:s}", "ok", 0, "state", state, "enforcing",
				      any < 0 ? json_null() : json_boolean(any > 0), "attached_links",
				      any > 0 ? any : 0, "pin_dir", pin_dir);

		tw_print_json(o);
		json_decref(o);
	} else if (n) {
		printf("tierwalld: not running, enforcing: %d programs still attached (pinned in %s);\n"
		       "a start adopts them, `tierwalld --uninstall` removes them\n", n, pin_dir);
	} else if (any > 0) {
		printf("tierwalld: not running at %s, enforcing: %d tierwall programs attached, pinned "
		       "elsewhere than %s (the daemon's --pin-dir names them)\n", tw_sock_path, any, pin_dir);
	} else if (any < 0) {
		printf("tierwalld: not running at %s, enforcement unknown: nothing pinned in %s, and listing "
		       "the kernel's programs was refused (%s; root may)\n", tw_sock_path, pin_dir,
		       strerror(-any));
	} else {
		printf("tierwalld: not running, not enforcing (nothing pinned in %s%s)\n", pin_dir,
		       pin_dir_given ? "" : ", no tierwall program attached anywhere");
	}
	return EXIT_FAIL;
}

/* One line per policy hostname: what it resolved to, or why it did not. */
static void print_hostnames(json_t *h)
{
	json_t *v, *a;
	size_t i, j;

	json_array_foreach(json_object_get(h, "names"), i, v) {
		printf("hostname    %-28s %-10s %-9s", S(v, "hostname"),
		       S(v, "tier"),
		       S(v, "state"));
		json_array_foreach(json_object_get(v, "addresses"), j, a)
			printf(" %s%s", S(a, "address"),
			       json_object_get(a, "grace_left_s") ? "(grace)" : "");
		if (json_object_get(v, "error"))
			printf(" [%s, %lld failures]", S(v, "error"),
			       json_integer_value(json_object_get(v, "failures")));
		printf("\n");
	}
	json_array_foreach(json_object_get(h, "wildcards"), i, v)
		printf("hostname    %-28s %-10s DNS guard only\n",
		       S(v, "hostname"),
		       S(v, "tier"));
}

/* The pods that ran before the daemon, from the runtime's CRI, and those it could not place. */
static void print_cri(json_t *v)
{
	const char *st = S(v, "state");
	json_t *u;
	size_t i;

	if (!v)
		return;
	if (!strcmp(st, "none"))
		printf("cri         no CRI socket (%s): no pods to tier at start\n", S(v, "socket"));
	else if (!strcmp(st, "off"))
		printf("cri         not asked (--cri-socket none)\n");
	else if (!strcmp(st, "waiting"))
		printf("cri         waiting for enforcement before tiering the running pods\n");
	else if (!strcmp(st, "syncing"))
		printf("cri         tiering the running pods from %s\n", S(v, "socket"));
	else if (!strcmp(st, "unreachable"))
		printf("cri         UNREACHABLE: %s: pods that ran before tierwalld are not tiered\n",
		       S(v, "error"));
	else
		printf("cri         %lld pods running at start (%s): %lld containers tiered, %lld untiered, "
		       "%zu not placed (%lld ms)\n", json_integer_value(json_object_get(v, "pods")),
		       S(v, "socket"), json_integer_value(json_object_get(v, "placed")),
		       json_integer_value(json_object_get(v, "untiered")),
		       json_array_size(json_object_get(v, "unplaced")),
		       json_integer_value(json_object_get(v, "duration_ms")));
	json_array_foreach(json_object_get(v, "unplaced"), i, u)
		printf("not placed  %s/%s container %s (%.12s): %s\n", S(u, "namespace"), S(u, "pod"),
		       S(u, "container"), S(u, "container_id"), S(u, "reason"));
}

/* Pods' roots, and the containers below them that nothing placed yet. */
static void print_pending(json_t *v)
{
	json_t *r, *old = json_object_get(v, "oldest");
	size_t i;

	if (!json_array_size(json_object_get(v, "roots")))
		return;
	printf("pods roots  ");
	json_array_foreach(json_object_get(v, "roots"), i, r)
		printf("%s%s", i ? ", " : "", json_string_value(r));
	printf(" (%s)\n", S(v, "roots_from"));
	printf("pending     %lld containers", json_integer_value(json_object_get(v, "containers")));
	if (old)
		printf(", oldest %s (%lld s)", S(old, "cgroup"), json_integer_value(json_object_get(old, "seconds")));
	printf("\n");
}

/* The last reload, and whether the file on disk is what is loaded. */
static void print_reload(json_t *rl)
{
	json_t *last = json_object_get(rl, "last_reload");
	char when[64];

	if (last) {
		tw_format_time((uint64_t)json_integer_value(json_object_get(last, "at")) * 1000000000ull,
			       when, sizeof(when));
		printf("reload      last at %.19sZ: %s", when, S(last, "result"));
		if (json_array_size(json_object_get(last, "errors")))
			printf(" (%zu errors: tierwall reload shows them)",
			       json_array_size(json_object_get(last, "errors")));
		printf("\n");
	}
	if (json_is_true(json_object_get(rl, "policy_file_differs")))
		printf("reload      the policy file differs from the loaded policy: not reloaded yet%s\n",
		       last && strcmp(S(last, "result"), "ok") ? ", or the reload failed" : "");
	else if (json_is_false(json_object_get(rl, "policy_file_readable")))
		printf("reload      the policy file cannot be read now\n");
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
		       S(r, "version"),
		       json_integer_value(json_object_get(r, "pid")));
		json_decref(r);
		return EXIT_FAIL;
	}
	printf("tierwalld %s, pid %lld\n", S(r, "version"),
	       json_integer_value(json_object_get(r, "pid")));
	printf("policy      %s (%s)\n", S(r, "policy_file"),
	       S(r, "policy"));
	printf("cgroup root %s\n", S(r, "cgroup_root"));
	printf("log         %s\n", S(r, "log"));
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
	print_drift(json_object_get(r, "drift"));
	v = json_object_get(r, "network_lsm");
	if (v)
		printf("network LSM %s%s\n", json_is_true(json_object_get(v, "loaded")) ?
		       "loaded: packet sockets, old and received sockets judged" : "not loaded: ",
		       json_string_value(json_object_get(v, "why")) ?: "");
	json_array_foreach(json_object_get(r, "programs"), i, v)
		printf("program     %-18s id %-6lld %s\n", S(v, "hook"),
		       json_integer_value(json_object_get(v, "prog_id")),
		       json_is_true(json_object_get(v, "attached")) ? "attached" : "NOT ATTACHED");
	print_reload(json_object_get(r, "reload"));
	print_cri(json_object_get(r, "cri"));
	print_pending(json_object_get(r, "pending"));
	c = json_object_get(r, "counters");
	json_object_foreach(c, k, v)
		printf("%-16s %lld\n", k, json_integer_value(v));
	json_decref(r);
	if (rc)
		printf("NOT ENFORCING IN FULL: a program is not attached\n");
	return rc;
}

