// SPDX-License-Identifier: GPL-2.0
/* tierwall: the CLI. Validates policies and talks to tierwalld. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include "compile.h"
#include "ctl.h"
#include "evlog.h"
#include "evquery.h"
#include "log.h"
#include "policy.h"
#include "util.h"

#define DEFAULT_LOG_DIR	"/var/log/tierwall"
#define CTL_TIMEOUT_MS	5000

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(int argc, char **argv);
};

static const char *sock_path = TW_CTL_DEFAULT;
static bool want_json;
static const struct cmd *cur;

static void cmd_usage(FILE *f, const struct cmd *c)
{
	fprintf(f, "Usage: tierwall %s %s\n\n%s\n", c->name, c->args, c->help);
}

/* Common options of every command; returns the index of the first operand. */
static int parse_opts(int argc, char **argv, const char *extra_short,
		      const struct option *extra, int (*on_extra)(int c, const char *arg))
{
	struct option opts[16] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
	};
	char shorts[32];
	int n = 3, c;

	for (; extra && extra->name && n < 15; extra++)
		opts[n++] = *extra;
	snprintf(shorts, sizeof(shorts), "+h%s", extra_short ? extra_short : "");
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
		switch (c) {
		case 'S': sock_path = optarg; break;
		case 'J': want_json = true; break;
		case 'h': cmd_usage(stdout, cur); exit(0);
		case '?': cmd_usage(stderr, cur); exit(EXIT_USAGE);
		default:
			if (!on_extra || on_extra(c, optarg)) {
				cmd_usage(stderr, cur);
				exit(EXIT_USAGE);
			}
		}
	}
	return optind;
}

static void want_operands(int argc, int first, int n)
{
	if (argc - first == n)
		return;
	tw_err("%s: expected %d argument%s (%s), got %d", cur->name, n, n == 1 ? "" : "s",
	       cur->args, argc - first);
	cmd_usage(stderr, cur);
	exit(EXIT_USAGE);
}

/* Ask the daemon; prints one clear error and returns NULL on any failure. */
static json_t *call(json_t *req)
{
	json_t *reply = NULL;
	int err = tw_ctl_call(sock_path, req, &reply, CTL_TIMEOUT_MS);

	json_decref(req);
	if (err) {
		tw_err("cannot reach tierwalld at %s: %s%s", sock_path, strerror(-err),
		       err == -ENOENT || err == -ECONNREFUSED ?
		       " (is it running? --socket PATH names another socket)" : "");
		return NULL;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *e = json_string_value(json_object_get(reply, "error"));

		tw_err("%s", e ? e : "tierwalld refused the request");
		json_decref(reply);
		return NULL;
	}
	return reply;
}

static void print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
}

/* ---- commands ---- */

static int do_check(int argc, char **argv)
{
	struct tw_diags d = {};
	struct tw_tables t;
	struct tw_policy *p;
	int first = parse_opts(argc, argv, NULL, NULL, NULL), v4 = 0, err, i;

	want_operands(argc, first, 1);
	err = tw_policy_load(argv[first], &p, &d);
	if (!err) {
		err = tw_compile(p, &t, &d);
		if (err)
			tw_policy_free(p);
	}
	if (err) {
		tw_diags_print(&d, stderr);
		fprintf(stderr, "%s: %d error%s\n", argv[first], d.count, d.count == 1 ? "" : "s");
		tw_diags_free(&d);
		return EXIT_FAIL;
	}
	for (i = 0; i < p->nrules; i++)
		v4 += p->rules[i].cidr.family == 4;
	printf("%s: OK: %d tiers, %d rules (%d IPv4, %d IPv6), %d hostnames, %d tagged cgroups, %d secret paths, %s\n",
	       argv[first], p->ntiers, p->nrules, v4, p->nrules - v4, p->nhosts, p->ncgroups,
	       p->nsecrets, p->digest);
	tw_tables_free(&t);
	tw_policy_free(p);
	return 0;
}

static int tag_cmd(int argc, char **argv, bool untag)
{
	int first = parse_opts(argc, argv, NULL, NULL, NULL);
	json_t *req, *r;

	want_operands(argc, first, untag ? 1 : 2);
	req = json_pack("{s:s, s:s}", "cmd", untag ? "untag" : "tag", "cgroup", argv[first]);
	if (!untag)
		json_object_set_new(req, "tier", json_string(argv[first + 1]));
	r = call(req);
	if (!r)
		return EXIT_FAIL;
	if (want_json)
		print_json(r);
	else if (untag)
		printf("untagged %s\n", json_string_value(json_object_get(r, "cgroup")));
	else
		printf("tagged %s as %s\n", json_string_value(json_object_get(r, "cgroup")),
		       json_string_value(json_object_get(r, "tier")));
	json_decref(r);
	return 0;
}

static int do_tag(int argc, char **argv)
{
	return tag_cmd(argc, argv, false);
}

static int do_untag(int argc, char **argv)
{
	return tag_cmd(argc, argv, true);
}

/* Ask the daemon; with --json print the reply and return NULL with *rc set. */
static json_t *query(const char *cmd, int *rc)
{
	json_t *r = call(json_pack("{s:s}", "cmd", cmd));

	*rc = r ? 0 : EXIT_FAIL;
	if (r && want_json) {
		print_json(r);
		json_decref(r);
		return NULL;
	}
	return r;
}

static int do_tiers(int argc, char **argv)
{
	int first = parse_opts(argc, argv, NULL, NULL, NULL), rc;
	json_t *r, *v;
	size_t i;

	want_operands(argc, first, 0);
	r = query("tiers", &rc);
	if (!r)
		return rc;
	printf("%-12s %s\n", "TIER", "MODE");
	json_array_foreach(json_object_get(r, "tiers"), i, v)
		printf("%-12s %s\n", json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "mode")));
	printf("\n%-40s %-12s %-8s %s\n", "CGROUP", "TIER", "SOURCE", "ID");
	json_array_foreach(json_object_get(r, "tags"), i, v)
		printf("%-40s %-12s %-8s %lld\n", json_string_value(json_object_get(v, "cgroup")),
		       json_string_value(json_object_get(v, "tier")),
		       json_string_value(json_object_get(v, "source")),
		       json_integer_value(json_object_get(v, "cgroup_id")));
	json_decref(r);
	return 0;
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

static int do_status(int argc, char **argv)
{
	int first = parse_opts(argc, argv, NULL, NULL, NULL), rc;
	json_t *r, *v, *c;
	const char *k;
	size_t i;

	want_operands(argc, first, 0);
	r = query("status", &rc);
	if (!r)
		return rc;
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
	v = json_object_get(r, "secrets");
	if (json_integer_value(json_object_get(v, "paths")))
		printf("secrets     %lld paths, %s: %lld identities, %lld not created yet\n",
		       json_integer_value(json_object_get(v, "paths")),
		       json_is_true(json_object_get(v, "enforced")) ? "enforced" : "NOT ENFORCED",
		       json_integer_value(json_object_get(v, "identities")),
		       json_integer_value(json_object_get(v, "pending")));
	print_hostnames(json_object_get(r, "hostnames"));
	json_array_foreach(json_object_get(r, "programs"), i, v)
		printf("program     %-18s id %-6lld %s\n", json_string_value(json_object_get(v, "hook")),
		       json_integer_value(json_object_get(v, "prog_id")),
		       json_is_true(json_object_get(v, "attached")) ? "attached" : "NOT ATTACHED");
	c = json_object_get(r, "counters");
	json_object_foreach(c, k, v)
		printf("%-16s %lld\n", k, json_integer_value(v));
	json_decref(r);
	return 0;
}

/* ---- events ---- */

static bool follow;
static const char *log_dir;
static struct tw_filter filter;

static int events_opt(int c, const char *arg)
{
	uint64_t now = tw_now_ns(CLOCK_REALTIME);
	long pid;

	switch (c) {
	case 'f': follow = true; return 0;
	case 'L': log_dir = arg; return 0;
	case 't': filter.tier = arg; return 0;
	case 'k': filter.kind = arg; return 0;
	case 'v': filter.verdict = arg; return 0;
	case 'c': filter.cgroup = arg; return 0;
	case 'p':
		if (tw_parse_long(arg, 1, INT32_MAX, &pid)) {
			tw_err("--pid: \"%s\" is not a process id", arg);
			exit(EXIT_USAGE);
		}
		filter.pid = pid;
		return 0;
	case 's':
	case 'u':
		if (tw_filter_time(arg, now, c == 's' ? &filter.since_ns : &filter.until_ns)) {
			tw_err("--%s: \"%s\" is neither a duration (90s, 30m, 2h, 7d) nor an RFC 3339 time (2026-11-23T13:00:00Z)",
			       c == 's' ? "since" : "until", arg);
			exit(EXIT_USAGE);
		}
		return 0;
	}
	return -1;
}

static void print_event(json_t *o, const char *line, size_t len, bool table)
{
	json_t *dst;

	if (!table) {
		printf("%.*s\n", (int)len, line);
		return;
	}
	dst = json_object_get(o, "dst");
	if (!dst && !json_object_get(o, "op")) {
		printf("%-30.30s %-7s %s\n", json_string_value(json_object_get(o, "ts")),
		       json_string_value(json_object_get(o, "kind")),
		       json_string_value(json_object_get(o, "event")) ?: "");
		return;
	}
	/* Who, which tier against which, then what: a destination or a file. */
	printf("%-30.30s %-7s %-6s %-8s -> %-8s %7lld %-15s ",
	       json_string_value(json_object_get(o, "ts")),
	       json_string_value(json_object_get(o, "kind")),
	       json_string_value(json_object_get(o, "verdict")),
	       json_string_value(json_object_get(o, "tier")) ?: "-",
	       json_string_value(json_object_get(o, "target_tier")) ?: "-",
	       json_integer_value(json_object_get(o, "pid")),
	       json_string_value(json_object_get(o, "comm")));
	if (json_object_get(o, "qtype"))
		printf("%s %s %s", json_string_value(json_object_get(o, "name")) ?: "?",
		       json_string_value(json_object_get(o, "qtype")) ?: "?",
		       json_string_value(json_object_get(o, "hostname")) ?:
		       json_string_value(json_object_get(o, "reason")) ?: "");
	else if (dst && json_object_get(o, "hostname"))
		printf("%s:%lld/%s %s", json_string_value(json_object_get(dst, "ip")),
		       json_integer_value(json_object_get(dst, "port")),
		       json_string_value(json_object_get(dst, "proto")) ?: "?",
		       json_string_value(json_object_get(o, "hostname")));
	else if (dst)
		printf("%s:%lld/%s %s", json_string_value(json_object_get(dst, "ip")),
		       json_integer_value(json_object_get(dst, "port")),
		       json_string_value(json_object_get(dst, "proto")) ?: "?",
		       json_string_value(json_object_get(o, "rule")) ?: "");
	else
		printf("%s %s", json_string_value(json_object_get(o, "op")),
		       json_string_value(json_object_get(o, "path")));
	if (json_integer_value(json_object_get(o, "count")) > 1)
		printf(" (x%lld)", json_integer_value(json_object_get(o, "count")));
	printf("\n");
}

static uint64_t last_seq;	/* newest record shown or skipped from the files */

static int show_line(void *arg, const char *line, size_t len, long lineno)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	uint64_t seq = json_integer_value(json_object_get(o, "seq"));

	if (seq > last_seq)
		last_seq = seq;
	if (o && tw_filter_match(&filter, o))
		print_event(o, line, len, *(bool *)arg);
	json_decref(o);
	return 0;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = 1; }

/* Show complete lines from f; keep a partial last line for the next read. */
static void drain(FILE *f, bool table, char **line, size_t *cap)
{
	ssize_t n;
	long pos;

	for (;;) {
		pos = ftell(f);
		n = getline(line, cap, f);
		if (n <= 0)
			break;
		if ((*line)[n - 1] != '\n') {
			fseek(f, pos, SEEK_SET);	/* writer is mid-line */
			break;
		}
		(*line)[n - 1] = '\0';
		show_line(&table, *line, n - 1, 0);
	}
	clearerr(f);
	fflush(stdout);
}

/* After the whole log: new lines of the current file, across rotations. */
static void follow_current(const char *path, bool table)
{
	struct stat st, cur;
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	fseek(f, 0, SEEK_END);
	fstat(fileno(f), &cur);
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	while (!interrupted) {
		usleep(100 * 1000);
		drain(f, table, &line, &cap);
		/* Rotated: the old file is drained above; go on with the new one. */
		if (!stat(path, &st) && (st.st_ino != cur.st_ino || st.st_size < ftell(f))) {
			FILE *nf = fopen(path, "re");

			if (nf) {
				drain(f, table, &line, &cap);
				fclose(f);
				f = nf;
				fstat(fileno(f), &cur);
			}
		}
	}
	free(line);
	fclose(f);
}

static void show_live(const char *line, size_t len, bool table)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *kind = json_string_value(json_object_get(o, "kind"));

	if (kind && !strcmp(kind, "follow_dropped")) {
		if (table)
			printf("!! %lld events dropped: this follower fell behind\n",
			       json_integer_value(json_object_get(o, "count")));
		else
			printf("%.*s\n", (int)len, line);
	} else if (o && (uint64_t)json_integer_value(json_object_get(o, "seq")) > last_seq &&
		   tw_filter_match(&filter, o)) {
		print_event(o, line, len, table);
	}
	json_decref(o);
}

/* Live lines from the daemon after the history; the overlap is skipped by seq. */
static int follow_daemon(int fd, bool table)
{
	size_t cap = 1 << 20, len = 0;
	char *buf = malloc(cap);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc = 0;

	while (buf && !interrupted) {
		char *start = buf, *nl;
		ssize_t r;

		if (poll(&p, 1, 200) <= 0)
			continue;
		r = recv(fd, buf + len, cap - len, 0);
		if (r <= 0) {
			if (!interrupted) {
				tw_err("tierwalld closed the event stream");
				rc = EXIT_FAIL;
			}
			break;
		}
		len += r;
		while ((nl = memchr(start, '\n', buf + len - start))) {
			show_live(start, nl - start, table);
			start = nl + 1;
		}
		fflush(stdout);
		len -= start - buf;
		memmove(buf, start, len);
		if (len == cap) {
			tw_err("an event line longer than %zu bytes", cap);
			rc = EXIT_FAIL;
			break;
		}
	}
	free(buf);
	return rc;
}

/* The daemon knows its log; without a daemon, the default place. */
static void find_log_dir(char *dir, size_t len)
{
	json_t *r = NULL;

	if (log_dir) {
		snprintf(dir, len, "%s", log_dir);
	} else if (!tw_ctl_call(sock_path, json_pack("{s:s}", "cmd", "status"), &r, 1000) &&
		   json_string_value(json_object_get(r, "log"))) {
		snprintf(dir, len, "%s", json_string_value(json_object_get(r, "log")));
		*strrchr(dir, '/') = '\0';
	} else {
		snprintf(dir, len, "%s", DEFAULT_LOG_DIR);
	}
	json_decref(r);
}

static int do_events(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "log-dir", required_argument, NULL, 'L' },
		{ "tier", required_argument, NULL, 't' },
		{ "kind", required_argument, NULL, 'k' },
		{ "verdict", required_argument, NULL, 'v' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{}
	};
	int first = parse_opts(argc, argv, "f", extra, events_opt), err, live = -1, rc = 0;
	bool table = !want_json && isatty(STDOUT_FILENO);
	char dir[PATH_MAX], **files, **f;

	want_operands(argc, first, 0);
	find_log_dir(dir, sizeof(dir));
	/* Subscribe before reading the files, so nothing falls between the two. */
	if (follow) {
		json_t *req = json_pack("{s:s}", "cmd", "follow"), *reply = NULL;

		if (filter.tier)
			json_object_set_new(req, "tier", json_string(filter.tier));
		if (filter.kind)
			json_object_set_new(req, "kind", json_string(filter.kind));
		if (filter.verdict)
			json_object_set_new(req, "verdict", json_string(filter.verdict));
		if (filter.cgroup)
			json_object_set_new(req, "cgroup", json_string(filter.cgroup));
		if (filter.pid)
			json_object_set_new(req, "pid", json_integer(filter.pid));
		live = tw_ctl_open(sock_path, req, &reply, 2000);
		json_decref(req);
		if (live >= 0 && !json_is_true(json_object_get(reply, "ok"))) {
			close(live);
			live = -EPROTO;
		}
		json_decref(reply);
		if (live < 0)
			tw_warn("tierwalld at %s is not reachable (%s): following the log file instead",
				sock_path, strerror(-live));
	}
	files = tw_evlog_files(dir);
	if ((!files || !files[0]) && live < 0) {
		tw_err("no event log in %s (--log-dir DIR names another)", dir);
		tw_evlog_files_free(files);
		return EXIT_FAIL;
	}
	/* Rotated segments, oldest first, then the current file: one stream. */
	for (f = files; *f; f++) {
		err = tw_evlog_read(*f, show_line, &table);
		if (err)
			tw_err("cannot read %s: %s", *f, strerror(-err));
	}
	fflush(stdout);
	tw_evlog_files_free(files);
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	if (live >= 0) {
		rc = follow_daemon(live, table);
		close(live);
	} else if (follow) {
		char cur[PATH_MAX + 16];

		snprintf(cur, sizeof(cur), "%s/%s", dir, TW_EVLOG_CURRENT);
		follow_current(cur, table);
	}
	return rc;
}

static int do_verify(int argc, char **argv)
{
	static const struct option extra[] = { { "log-dir", required_argument, NULL, 'L' }, {} };
	int first = parse_opts(argc, argv, NULL, extra, events_opt), err;
	char dir[PATH_MAX];

	if (argc - first > 1)
		want_operands(argc, first, 1);
	if (argc - first == 1)
		log_dir = argv[first];
	find_log_dir(dir, sizeof(dir));
	err = tw_verify_log(dir, stdout);
	return err ? EXIT_FAIL : 0;
}

static const struct cmd cmds[] = {
	{ "check", "POLICY", "Validate a policy without loading it. Every error names file:line:col and the\nJSON path. Exit 0 when valid, 1 when not.", do_check },
	{ "tag", "CGROUP TIER", "Tag a cgroup (relative to the daemon's cgroup root, or absolute) with a tier\ndefined by the loaded policy. Takes effect on the next connect.", do_tag },
	{ "untag", "CGROUP", "Remove a cgroup's tag.", do_untag },
	{ "tiers", "", "List the policy's tiers and the tagged cgroups.", do_tiers },
	{ "events", "[-f] [--log-dir DIR] [--tier T] [--kind K] [--verdict V] [--cgroup CG] [--pid N] [--since X] [--until X]",
	  "Print the event log, rotated .gz segments and the current file as one stream\n"
	  "(JSON lines; a table on a terminal unless --json). -f then follows new events.\n"
	  "--cgroup matches that cgroup and everything below it. --since/--until take a\n"
	  "duration back from now (90s, 30m, 2h, 7d) or an RFC 3339 time. The log is found\n"
	  "through the daemon, else in " DEFAULT_LOG_DIR ".", do_events },
	{ "verify-log", "[DIR]", "Check the log's hash chain across rotated segments and restarts. Names the\n"
	  "first record that was changed, removed, inserted or reordered; exit 1 if any.", do_verify },
	{ "status", "", "Programs attached, policy digest, counters, degraded modes.", do_status },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: tierwall COMMAND [--socket PATH] [--json] [--help] ...\n\nCommands:\n");
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "\n--socket PATH reaches tierwalld (default " TW_CTL_DEFAULT ").\n"
		"`tierwall COMMAND --help` explains a command.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	tw_log_init("tierwall");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	/* Options common to all commands may also come before the command. */
	while (argc > 2 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "--socket") && argc > 3) {
			sock_path = argv[2];
			argv[2] = argv[0];
			argc -= 2;
			argv += 2;
		} else if (!strncmp(argv[1], "--socket=", 9)) {
			sock_path = argv[1] + 9;
			argv[1] = argv[0];
			argc--;
			argv++;
		} else if (!strcmp(argv[1], "--json")) {
			want_json = true;
			argv[1] = argv[0];
			argc--;
			argv++;
		} else {
			break;
		}
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			cur = &cmds[i];
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	tw_err("unknown command \"%s\"", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
