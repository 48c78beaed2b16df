// SPDX-License-Identifier: GPL-2.0
/* tierwall events and verify-log: the log as one stream, live or at rest. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include "cli.h"
#include "ctl.h"
#include "evlog.h"
#include "evquery.h"
#include "log.h"
#include "util.h"

enum { OUT_DEFAULT, OUT_JSON, OUT_TABLE, OUT_SHORT };
#define LAST_ALL	-1	/* -n all */
#define LAST_UNSET	-2
#define LAST_FOLLOW	10	/* -f without -n or --since: the last 10, like journalctl -f */
#define LIST_MAX	32

/* A repeatable, comma-separated filter: any of its values matches. */
struct values {
	const char *v[LIST_MAX];
	int n;
};

static bool follow, retry;
static int out_fmt = OUT_DEFAULT;
static long last_n = LAST_UNSET;
static const char *log_dir;
static struct tw_filter filter;
static struct values kinds, verdicts, tiers, pods, namespaces;
static uint64_t skip_upto;	/* catching up after a reconnect: shown already */

/* "a,b" and repeated options add up; exit 2 on an empty value or too many. */
static void add_values(struct values *l, const char *opt, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *v;	/* kept: the values point into it */

	if (!copy || !arg[0] || arg[0] == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,")) {
		tw_err("--%s: \"%s\" has an empty value", opt, arg);
		exit(EXIT_USAGE);
	}
	for (v = strtok_r(copy, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
		if (l->n == LIST_MAX) {
			tw_err("--%s: at most %d values", opt, LIST_MAX);
			exit(EXIT_USAGE);
		}
		l->v[l->n++] = v;
	}
}

static bool value_in(const struct values *l, const char *v)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (v && !strcmp(v, l->v[i]))
			return true;
	return !l->n;
}

/* The daemon filters by one value; several are the CLI's to match. */
static const char *single(const struct values *l)
{
	return l->n == 1 ? l->v[0] : NULL;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static bool matches(json_t *o)
{
	json_t *meta = json_object_get(o, "meta");

	return tw_filter_match(&filter, o) && value_in(&kinds, str(o, "kind")) &&
	       value_in(&verdicts, str(o, "verdict")) && value_in(&tiers, str(o, "tier")) &&
	       value_in(&pods, str(o, "pod") ?: str(meta, "pod")) &&
	       value_in(&namespaces, str(o, "namespace") ?: str(meta, "namespace"));
}

static int parse_output(const char *arg)
{
	static const char *const names[] = { [OUT_JSON] = "json", [OUT_TABLE] = "table",
					     [OUT_SHORT] = "short" };
	int i;

	for (i = OUT_JSON; i <= OUT_SHORT; i++)
		if (!strcmp(arg, names[i]))
			return i;
	tw_err("--output: \"%s\" is not json, table or short", arg);
	exit(EXIT_USAGE);
}

static int events_opt(int c, const char *arg)
{
	uint64_t now = tw_now_ns(CLOCK_REALTIME);
	long pid;

	switch (c) {
	case 'f': follow = true; return 0;
	case 'r': retry = true; return 0;
	case 'T': out_fmt = OUT_TABLE; return 0;
	case 'o': out_fmt = parse_output(arg); return 0;
	case 'L': log_dir = arg; return 0;
	case 't': add_values(&tiers, "tier", arg); return 0;
	case 'k': add_values(&kinds, "kind", arg); return 0;
	case 'v': add_values(&verdicts, "verdict", arg); return 0;
	case 'P': add_values(&pods, "pod", arg); return 0;
	case 'N': add_values(&namespaces, "namespace", arg); return 0;
	case 'n':
		if (!strcmp(arg, "all")) {
			last_n = LAST_ALL;
		} else if (tw_parse_long(arg, 0, INT32_MAX, &last_n)) {
			tw_err("-n/--last: \"%s\" is neither a number of records nor \"all\"", arg);
			exit(EXIT_USAGE);
		}
		return 0;
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

static void print_event(json_t *o, const char *line, size_t len)
{
	if (out_fmt == OUT_TABLE)
		tw_ev_table_row(o);
	else if (out_fmt == OUT_SHORT)
		tw_ev_short_row(o);
	else
		printf("%.*s\n", (int)len, line);
}

static uint64_t last_seq;	/* newest record shown or skipped from the files */

/* -n N: the last N matching records of the history, kept until it is read. */
static struct {
	char **line;
	long size, count;
} ring;

static void keep_last(const char *line, size_t len)
{
	char **slot;

	if (!ring.size)
		return;
	slot = &ring.line[ring.count++ % ring.size];
	free(*slot);
	*slot = strndup(line, len);
}

static void show_kept(void)
{
	long i = ring.count > ring.size ? ring.count - ring.size : 0;

	for (; i < ring.count; i++) {
		char *line = ring.line[i % ring.size];
		json_t *o = line ? json_loads(line, 0, NULL) : NULL;

		if (o)
			print_event(o, line, strlen(line));
		json_decref(o);
		free(line);
	}
	free(ring.line);
	ring.line = NULL;
	ring.size = 0;
}

static int show_line(void *arg, const char *line, size_t len, long lineno)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	uint64_t seq = json_integer_value(json_object_get(o, "seq"));
	bool keep = arg && *(bool *)arg;

	if (seq > last_seq)
		last_seq = seq;
	if (o && !(seq && seq <= skip_upto) && matches(o)) {
		if (keep)
			keep_last(line, len);
		else
			print_event(o, line, len);
	}
	json_decref(o);
	return 0;
}

static int show_record(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	if (!line) {
		tw_err("cannot read %s: %s", pos->file, strerror(-(int)len));
		return 0;
	}
	return show_line(arg, line, len, pos->lineno);
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) { interrupted = 1; }

/* Show complete lines from f; keep a partial last line for the next read. */
static void drain(FILE *f, char **line, size_t *cap)
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
		show_line(NULL, *line, n - 1, 0);
	}
	clearerr(f);
	fflush(stdout);
}

/* After the whole log: new lines of the current file, across rotations. */
static void follow_current(const char *path)
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
		drain(f, &line, &cap);
		/* Rotated: the old file is drained above; go on with the new one. */
		if (!stat(path, &st) && (st.st_ino != cur.st_ino || st.st_size < ftell(f))) {
			FILE *nf = fopen(path, "re");

			if (nf) {
				drain(f, &line, &cap);
				fclose(f);
				f = nf;
				fstat(fileno(f), &cur);
			}
		}
	}
	free(line);
	fclose(f);
}

static void show_live(const char *line, size_t len)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	const char *kind = json_string_value(json_object_get(o, "kind"));

	if (kind && !strcmp(kind, "follow_dropped")) {
		if (out_fmt != OUT_JSON)
			printf("!! %lld events dropped: this follower fell behind\n",
			       json_integer_value(json_object_get(o, "count")));
		else
			printf("%.*s\n", (int)len, line);
	} else if (o && (uint64_t)json_integer_value(json_object_get(o, "seq")) > last_seq &&
		   matches(o)) {
		print_event(o, line, len);
		last_seq = json_integer_value(json_object_get(o, "seq"));	/* shown: --retry skips it */
	}
	json_decref(o);
}

/* Live lines from the daemon after the history; the overlap is skipped by seq. */
static int follow_daemon(int fd)
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
			if (!interrupted && !retry) {
				tw_err("tierwalld closed the event stream");
				rc = EXIT_FAIL;
			}
			break;
		}
		len += r;
		while ((nl = memchr(start, '\n', buf + len - start))) {
			show_live(start, nl - start);
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

/* Ask the daemon for live records matching the filter; the socket or -errno. */
static int subscribe(void)
{
	json_t *req = json_pack("{s:s}", "cmd", "follow"), *reply = NULL;
	int live;

	if (single(&tiers))
		json_object_set_new(req, "tier", json_string(single(&tiers)));
	if (single(&kinds))
		json_object_set_new(req, "kind", json_string(single(&kinds)));
	if (single(&verdicts))
		json_object_set_new(req, "verdict", json_string(single(&verdicts)));
	if (filter.cgroup)
		json_object_set_new(req, "cgroup", json_string(filter.cgroup));
	if (filter.pid)
		json_object_set_new(req, "pid", json_integer(filter.pid));
	live = tw_ctl_open(tw_sock_path, req, &reply, 2000);
	json_decref(req);
	if (live >= 0 && !json_is_true(json_object_get(reply, "ok"))) {
		close(live);
		live = -EPROTO;
	}
	json_decref(reply);
	return live;
}

/*
 * --retry: the daemon went away (a restart, an upgrade): subscribe again
 * when it is back, then show from the files what was logged meanwhile.
 */
static int resubscribe(const char *dir)
{
	int live = -EINTR;

	tw_warn("tierwalld closed the event stream; waiting for it to come back (--retry)");
	while (!interrupted && (live = subscribe()) < 0)
		usleep(200 * 1000);
	if (interrupted)
		return -EINTR;
	skip_upto = last_seq;
	tw_evlog_scan(dir, show_record, NULL);
	fflush(stdout);
	return live;
}

/* The daemon knows its log; without a daemon, the default place. */
static void find_log_dir(char *dir, size_t len)
{
	json_t *r = NULL;

	if (log_dir) {
		snprintf(dir, len, "%s", log_dir);
	} else if (!tw_ctl_call(tw_sock_path, json_pack("{s:s}", "cmd", "status"), &r, 1000) &&
		   json_string_value(json_object_get(r, "log"))) {
		snprintf(dir, len, "%s", json_string_value(json_object_get(r, "log")));
		*strrchr(dir, '/') = '\0';
	} else {
		snprintf(dir, len, "%s", DEFAULT_LOG_DIR);
	}
	json_decref(r);
}

/* Every value of the filters checked as the daemon's names them: exit 2 on a typo. */
static void check_filters(const char *dir)
{
	int i;

	tw_ev_check_filter(&filter, dir);
	for (i = 0; i < kinds.n; i++)
		tw_ev_check_filter(&(struct tw_filter){ .kind = kinds.v[i] }, dir);
	for (i = 0; i < verdicts.n; i++)
		tw_ev_check_filter(&(struct tw_filter){ .verdict = verdicts.v[i] }, dir);
	for (i = 0; i < tiers.n; i++)
		tw_ev_check_filter(&(struct tw_filter){ .tier = tiers.v[i] }, dir);
}

/* How records are shown, and how many of the history (-n; -f: the last 10 unless told). */
static void set_output(void)
{
	if (tw_want_json)
		out_fmt = OUT_JSON;
	else if (out_fmt == OUT_DEFAULT)
		out_fmt = isatty(STDOUT_FILENO) ? OUT_TABLE : OUT_JSON;
	tw_ev_colour = out_fmt != OUT_JSON && isatty(STDOUT_FILENO) &&
		       !(getenv("NO_COLOR") && getenv("NO_COLOR")[0]);
	if (last_n == LAST_UNSET)
		last_n = follow && !filter.since_ns ? LAST_FOLLOW : LAST_ALL;
	if (last_n >= 0) {
		ring.size = last_n;
		ring.line = calloc(last_n ?: 1, sizeof(*ring.line));
	}
}

int do_events(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "last", required_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "log-dir", required_argument, NULL, 'L' },
		{ "tier", required_argument, NULL, 't' },
		{ "kind", required_argument, NULL, 'k' },
		{ "verdict", required_argument, NULL, 'v' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "pid", required_argument, NULL, 'p' },
		{ "pod", required_argument, NULL, 'P' },
		{ "namespace", required_argument, NULL, 'N' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "retry", no_argument, NULL, 'r' },
		{ "table", no_argument, NULL, 'T' },
		{}
	};
	int first = tw_parse_opts(argc, argv, "fn:o:", extra, events_opt), err, live = -1, rc = 0;
	bool keep = true;
	char dir[PATH_MAX], **files;
	bool was_live;

	tw_want_operands(argc, first, 0);
	if (retry && !follow) {
		tw_err("--retry goes with -f");
		return EXIT_USAGE;
	}
	set_output();
	tw_ev_daemon_info();
	if (filter.cgroup)
		filter.cgroup = tw_ev_cgroup_filter(filter.cgroup);
	find_log_dir(dir, sizeof(dir));
	check_filters(dir);
	/* Subscribe before reading the files, so nothing falls between the two. */
	if (follow) {
		live = subscribe();
		if (live < 0)
			tw_warn("tierwalld at %s is not reachable (%s): following the log file instead",
				tw_sock_path, strerror(-live));
	}
	files = tw_evlog_files(dir);
	if ((!files || !files[0]) && live < 0) {
		tw_ev_no_log(dir);
		tw_evlog_files_free(files);
		return EXIT_FAIL;
	}
	if (out_fmt == OUT_TABLE)
		tw_ev_table_header();
	tw_evlog_files_free(files);
	/* Rotated segments, oldest first, then the current file: one stream (-n: its end). */
	err = tw_evlog_scan(dir, show_record, last_n >= 0 ? &keep : NULL);
	show_kept();
	if (err)
		rc = EXIT_FAIL;
	fflush(stdout);
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	was_live = live >= 0;
	while (live >= 0) {
		rc = follow_daemon(live);
		close(live);
		live = retry && !interrupted ? resubscribe(dir) : -1;
	}
	if (follow && !was_live) {
		char cur[PATH_MAX + 16];

		snprintf(cur, sizeof(cur), "%s/%s", dir, TW_EVLOG_CURRENT);
		follow_current(cur);
	}
	return rc;
}

static struct tw_verify_opts vopts;

static int verify_opt(int c, const char *arg)
{
	long e;

	switch (c) {
	case 'L': log_dir = arg; return 0;
	case 'K': vopts.verify_key = arg; return 0;
	case 'E':
		if (tw_parse_long(arg, 0, LONG_MAX, &e)) {
			tw_err("--from-epoch: \"%s\" is not an epoch number", arg);
			exit(EXIT_USAGE);
		}
		vopts.from_epoch = e;
		return 0;
	}
	return -1;
}

int do_verify(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "log-dir", required_argument, NULL, 'L' },
		{ "verify-key", required_argument, NULL, 'K' },
		{ "from-epoch", required_argument, NULL, 'E' },
		{}
	};
	int first = tw_parse_opts(argc, argv, NULL, extra, verify_opt), err;
	char dir[PATH_MAX];

	if (argc - first > 1)
		tw_want_operands(argc, first, 1);
	if (argc - first == 1)
		log_dir = argv[first];
	find_log_dir(dir, sizeof(dir));
	if (tw_want_json)
		return tw_ev_verify_json(dir, &vopts);
	err = tw_verify_log(dir, stdout, &vopts);
	return tw_verify_exit(err);
}
