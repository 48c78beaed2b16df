// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall grant request|show|approve|revoke and tierwall grants: time-boxed,
 * approved exceptions. The daemon checks everything (who, what, how long);
 * this only carries the request and shows the answer.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"
#include "ctl.h"
#include "evlog.h"
#include "log.h"
#include "util.h"

static const char *g_tier, *g_cgroup, *g_pod, *g_to, *g_secret, *g_for, *g_reason, *g_event;

static int on_opt(int c, const char *arg)
{
	switch (c) {
	case 't': g_tier = arg; return 0;
	case 'c': g_cgroup = arg; return 0;
	case 'p': g_pod = arg; return 0;
	case 'T': g_to = arg; return 0;
	case 's': g_secret = arg; return 0;
	case 'f': g_for = arg; return 0;
	case 'r': g_reason = arg; return 0;
	case 'e': g_event = arg; return 0;
	}
	return -1;
}

static void print_allow(json_t *sc, const char *to, const char *host)
{
	json_t *v;
	size_t i;

	printf("+ allow   %s port", to);
	if (!json_array_size(json_object_get(sc, "ports")))
		printf(" any");
	json_array_foreach(json_object_get(sc, "ports"), i, v)
		printf("%s%lld", i ? "," : " ", json_integer_value(v));
	printf(" %s", json_string_value(json_object_get(sc, "proto")));
	printf(host ? " (%s today)\n" : "\n", host);
}

static void print_grant(json_t *g)
{
	json_t *sc = json_object_get(g, "scope"), *v;
	const char *to = json_string_value(json_object_get(sc, "to"));
	size_t i;

	printf("grant %lld (%s)\n", json_integer_value(json_object_get(g, "grant")),
	       json_string_value(json_object_get(g, "state")));
	json_array_foreach(json_object_get(g, "cgroups"), i, v)
		printf("+ cgroup  %s (tier %s)\n", json_string_value(v),
		       json_string_value(json_object_get(sc, "tier")));
	if (json_is_true(json_object_get(sc, "hostname"))) {
		/* A hostname: its addresses today, each a line of the diff. */
		json_array_foreach(json_object_get(g, "addresses"), i, v)
			print_allow(sc, json_string_value(v), to);
		if (!json_array_size(json_object_get(g, "addresses")))
			printf("  (%s has no addresses now)\n", to);
	} else if (to) {
		print_allow(sc, to, NULL);
	} else {
		printf("+ open    %s\n", json_string_value(json_object_get(sc, "secret")));
	}
	if (json_object_get(g, "deadline"))
		printf("  from    %s\n  until   %s\n", json_string_value(json_object_get(g, "from")),
		       json_string_value(json_object_get(g, "deadline")));
	else
		printf("  for     %llds once approved\n", json_integer_value(json_object_get(g, "duration_s")));
	printf("  by      uid %lld\n  reason  %s\n",
	       json_integer_value(json_object_get(json_object_get(g, "requester"), "uid")),
	       json_string_value(json_object_get(g, "reason")));
}

struct seek {
	long long seq;
	json_t *rec;
};

static int seek_one(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct seek *s = arg;
	json_t *o = line ? json_loadb(line, len, 0, NULL) : NULL;

	(void)pos;
	if (o && json_integer_value(json_object_get(o, "seq")) == s->seq) {
		s->rec = o;
		return 1;
	}
	json_decref(o);
	return 0;
}

/* The daemon's log directory (from status), else the default. */
static void log_dir(char *dir, size_t len)
{
	json_t *r = NULL;
	char *slash;

	snprintf(dir, len, "%s", DEFAULT_LOG_DIR);
	if (!tw_ctl_call(tw_sock_path, json_pack("{s:s}", "cmd", "status"), &r, CTL_TIMEOUT_MS) &&
	    json_string_value(json_object_get(r, "log"))) {
		snprintf(dir, len, "%s", json_string_value(json_object_get(r, "log")));
		if ((slash = strrchr(dir, '/')))
			*slash = '\0';
	}
	json_decref(r);
}

/* --from-event SEQ: exactly what a recorded denial was (its cgroup and target) into req. */
static int from_event(json_t *req)
{
	struct seek s = {};
	char dir[PATH_MAX], to[320];
	json_t *dst;
	long v;

	if (tw_parse_long(g_event, 1, LONG_MAX, &v)) {
		tw_err("grant request: --from-event \"%s\" is not a record's seq", g_event);
		return EXIT_USAGE;
	}
	s.seq = v;
	log_dir(dir, sizeof(dir));
	tw_evlog_scan(dir, seek_one, &s);
	if (!s.rec) {
		tw_err("grant request: no record %ld in %s", v, dir);
		return EXIT_FAIL;
	}
	dst = json_object_get(s.rec, "dst");
	if (strcmp(json_string_value(json_object_get(s.rec, "verdict")) ?: "", "deny") ||
	    (!dst && !json_object_get(s.rec, "secret"))) {
		tw_err("grant request: record %ld is not a refused connection or file", v);
		json_decref(s.rec);
		return EXIT_FAIL;
	}
	/* Records name cgroups from the cgroup2 mount; requests as the policy does. */
	tw_ev_daemon_info();
	json_object_set_new(req, "cgroup", json_string(tw_ev_policy_path(
		json_string_value(json_object_get(s.rec, "cgroup")))));
	if (dst && json_string_value(json_object_get(s.rec, "hostname"))) {
		/* Refused as a policy hostname's address: the grant is for the name, as the rule is. */
		snprintf(to, sizeof(to), "%s:%lld/%s", json_string_value(json_object_get(s.rec, "hostname")),
			 json_integer_value(json_object_get(dst, "port")),
			 json_string_value(json_object_get(dst, "proto")) ?: "tcp");
		json_object_set_new(req, "to", json_string(to));
	} else if (dst) {
		snprintf(to, sizeof(to), strchr(json_string_value(json_object_get(dst, "ip")) ?: "", ':') ?
			 "[%s]:%lld/%s" : "%s:%lld/%s", json_string_value(json_object_get(dst, "ip")) ?: "",
			 json_integer_value(json_object_get(dst, "port")),
			 json_string_value(json_object_get(dst, "proto")) ?: "tcp");
		json_object_set_new(req, "to", json_string(to));
	} else {
		json_object_set(req, "secret", json_object_get(s.rec, "secret"));
	}
	json_decref(s.rec);
	return 0;
}

/* One grant op; ID operands are integers. */
static int grant_call(json_t *req, bool show)
{
	json_t *r = tw_call(req);

	if (!r)
		return EXIT_FAIL;
	if (tw_want_json)
		tw_print_json(r);
	else if (json_object_get(r, "id"))
		printf("%lld\n", json_integer_value(json_object_get(r, "id")));
	else if (show)
		print_grant(json_object_get(r, "grant"));
	else
		printf("grant %lld: %s\n", json_integer_value(json_object_get(json_object_get(r, "grant"), "grant")),
		       json_string_value(json_object_get(json_object_get(r, "grant"), "state")));
	json_decref(r);
	return 0;
}

static long grant_id(const char *s)
{
	long id;

	if (tw_parse_long(s, 1, 0xffffffffL, &id)) {
		tw_err("grant: \"%s\" is not a grant id (a positive integer)", s);
		exit(EXIT_USAGE);
	}
	return id;
}

int do_grant(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tier", required_argument, NULL, 't' }, { "cgroup", required_argument, NULL, 'c' },
		{ "pod", required_argument, NULL, 'p' }, { "to", required_argument, NULL, 'T' },
		{ "secret", required_argument, NULL, 's' }, { "for", required_argument, NULL, 'f' },
		{ "reason", required_argument, NULL, 'r' }, { "from-event", required_argument, NULL, 'e' },
		{} };
	int first = tw_parse_opts(argc, argv, NULL, opts, on_opt);
	const char *op = first < argc ? argv[first] : "";
	json_t *req;
	int rc;

	if (!strcmp(op, "request")) {
		tw_want_operands(argc, first, 1);
		if ((g_event ? !!(g_tier || g_cgroup || g_pod || g_to || g_secret) :
		     !!g_tier + !!g_cgroup + !!g_pod != 1 || !!g_to == !!g_secret) || !g_for || !g_reason) {
			tw_err("grant request: name one of --tier, --cgroup, --pod and one of --to, --secret "
			       "(or --from-event SEQ alone); and --for and --reason");
			return EXIT_USAGE;
		}
		req = json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s, s:s}", "cmd", "grant",
				"op", "request", "tier", g_tier, "cgroup", g_cgroup, "pod", g_pod,
				"to", g_to, "secret", g_secret, "for", g_for, "reason", g_reason);
		if (g_event && (rc = from_event(req))) {
			json_decref(req);
			return rc;
		}
		return grant_call(req, false);
	}
	if (strcmp(op, "show") && strcmp(op, "approve") && strcmp(op, "revoke")) {
		tw_err("grant: the first operand is request, show, approve or revoke");
		tw_cmd_usage(stderr, tw_cur);
		return EXIT_USAGE;
	}
	tw_want_operands(argc, first, 2);
	req = json_pack("{s:s, s:s, s:I}", "cmd", "grant", "op", op, "id", (json_int_t)grant_id(argv[first + 1]));
	return grant_call(req, !strcmp(op, "show"));
}

int do_grants(int argc, char **argv)
{
	int first = tw_parse_opts(argc, argv, NULL, NULL, NULL);
	json_t *r, *g;
	size_t i;

	tw_want_operands(argc, first, 0);
	r = tw_call(json_pack("{s:s, s:s}", "cmd", "grant", "op", "list"));
	if (!r)
		return EXIT_FAIL;
	if (tw_want_json) {
		tw_print_json(r);
		json_decref(r);
		return 0;
	}
	printf("%-6s %-8s %-10s %-26s %-8s %-6s %s\n", "ID", "STATE", "TIER", "TARGET", "LEFT", "USES", "REASON");
	json_array_foreach(json_object_get(r, "grants"), i, g) {
		json_t *sc = json_object_get(g, "scope");
		char left[32] = "-";

		if (json_object_get(g, "left_s"))
			snprintf(left, sizeof(left), "%llds", json_integer_value(json_object_get(g, "left_s")));
		printf("%-6lld %-8s %-10s %-26s %-8s %-6lld %s\n", json_integer_value(json_object_get(g, "grant")),
		       json_string_value(json_object_get(g, "state")), json_string_value(json_object_get(sc, "tier")),
		       json_string_value(json_object_get(sc, "to")) ?: json_string_value(json_object_get(sc, "secret")),
		       left, json_integer_value(json_object_get(g, "uses")),
		       json_string_value(json_object_get(g, "reason")));
	}
	json_decref(r);
	return 0;
}
