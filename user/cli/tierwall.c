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
#include "cli.h"
#include "compile.h"
#include "ctl.h"
#include "evlog.h"
#include "evquery.h"
#include "log.h"
#include "policy.h"
#include "util.h"


const char *tw_sock_path = TW_CTL_DEFAULT;
bool tw_want_json;
const struct cmd *tw_cur;

void tw_cmd_usage(FILE *f, const struct cmd *c)
{
	fprintf(f, "Usage: tierwall %s %s\n\n%s\n", c->name, c->args, c->help);
}

/* Common options of every command; returns the index of the first operand. */
int tw_parse_opts(int argc, char **argv, const char *extra_short,
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
		case 'S': tw_sock_path = optarg; break;
		case 'J': tw_want_json = true; break;
		case 'h': tw_cmd_usage(stdout, tw_cur); exit(0);
		case '?': tw_cmd_usage(stderr, tw_cur); exit(EXIT_USAGE);
		default:
			if (!on_extra || on_extra(c, optarg)) {
				tw_cmd_usage(stderr, tw_cur);
				exit(EXIT_USAGE);
			}
		}
	}
	return optind;
}

void tw_want_operands(int argc, int first, int n)
{
	if (argc - first == n)
		return;
	tw_err("%s: expected %d argument%s (%s), got %d", tw_cur->name, n, n == 1 ? "" : "s",
	       tw_cur->args, argc - first);
	tw_cmd_usage(stderr, tw_cur);
	exit(EXIT_USAGE);
}

/* Ask the daemon; prints one clear error and returns NULL on any failure. */
static json_t *call(json_t *req, int *rc, bool quiet)
{
	json_t *reply = NULL;
	int err = tw_ctl_call(tw_sock_path, req, &reply, CTL_TIMEOUT_MS);

	json_decref(req);
	*rc = err ? err : EXIT_FAIL;
	if (err) {
		if (!quiet || (err != -ENOENT && err != -ECONNREFUSED))
			tw_err("cannot reach tierwalld at %s: %s%s", tw_sock_path, strerror(-err),
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
	*rc = 0;
	return reply;
}

json_t *tw_call(json_t *req)
{
	int rc;

	return call(req, &rc, false);
}

json_t *tw_call_quiet(json_t *req, int *rc)
{
	return call(req, rc, true);
}

void tw_print_json(json_t *o)
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
	int first = tw_parse_opts(argc, argv, NULL, NULL, NULL), v4 = 0, err, i;

	tw_want_operands(argc, first, 1);
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

static bool force;

static int tag_opt(int c, const char *arg)
{
	if (c != 'f')
		return -1;
	force = true;
	return 0;
}

static int tag_cmd(int argc, char **argv, bool untag)
{
	static const struct option extra[] = { { "force", no_argument, NULL, 'f' }, {} };
	int first = tw_parse_opts(argc, argv, untag ? NULL : "f", untag ? NULL : extra, tag_opt);
	json_t *req, *r;

	tw_want_operands(argc, first, untag ? 1 : 2);
	req = json_pack("{s:s, s:s}", "cmd", untag ? "untag" : "tag", "cgroup", argv[first]);
	if (!untag)
		json_object_set_new(req, "tier", json_string(argv[first + 1]));
	if (force)
		json_object_set_new(req, "force", json_true());
	r = tw_call(req);
	if (!r)
		return EXIT_FAIL;
	if (tw_want_json)
		tw_print_json(r);
	else if (untag)
		printf("untagged %s\n", json_string_value(json_object_get(r, "cgroup")));
	else if (json_string_value(json_object_get(r, "previous_tier")))
		printf("tagged %s as %s (was %s)\n", json_string_value(json_object_get(r, "cgroup")),
		       json_string_value(json_object_get(r, "tier")),
		       json_string_value(json_object_get(r, "previous_tier")));
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
json_t *tw_query(const char *cmd, int *rc)
{
	json_t *r = tw_call(json_pack("{s:s}", "cmd", cmd));

	*rc = r ? 0 : EXIT_FAIL;
	if (r && tw_want_json) {
		tw_print_json(r);
		json_decref(r);
		return NULL;
	}
	return r;
}

static int do_tiers(int argc, char **argv)
{
	int first = tw_parse_opts(argc, argv, NULL, NULL, NULL), rc;
	json_t *r, *v;
	size_t i;

	tw_want_operands(argc, first, 0);
	r = tw_query("tiers", &rc);
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

static const struct cmd cmds[] = {
	{ "check", "POLICY", "Validate a policy without loading it. Every error names file:line:col and the\nJSON path. Exit 0 when valid, 1 when not.", do_check },
	{ "tag", "[--force] CGROUP TIER", "Tag a cgroup (relative to the daemon's cgroup root, or absolute) with a tier\n"
	  "defined by the loaded policy. Takes effect on the next connect. A cgroup that\n"
	  "already has another tier (its own runtime tag, or inherited) keeps it unless\n"
	  "--force; the policy's own tags change only with the policy. Runtime tags are\n"
	  "kept across daemon restarts and dropped (tag_lost) when their cgroup goes.", do_tag },
	{ "untag", "CGROUP", "Remove a cgroup's runtime tag.", do_untag },
	{ "run", "--tier T [--audit] [--attest FILE]... [--json] -- CMD [ARGS...]",
	  "Run CMD in a fresh cgroup of tier T (made, tagged and removed by tierwalld);\n"
	  "stdin, stdout, stderr and signals pass through. First its environment, its\n"
	  "arguments and each --attest FILE are checked by the daemon for other tiers'\n"
	  "secrets (by fingerprint) and endpoints: a finding refuses to start CMD (exit 78).\n"
	  "When CMD ends, what it left running is killed and every out-of-tier attempt of\n"
	  "the run is summed up on stderr (one JSON line with --json). --audit lets the\n"
	  "attempts through and exits 3 if there were any (or findings), else CMD's status.\n"
	  "Exit: CMD's status (128+N after signal N), 78, 3, or 1 if tierwall failed before\n"
	  "CMD started; CMD can exit 3 or 78 itself: --json says which (\"exit_from\").\n"
	  "A tiered caller may run only in its own tier, without --audit.", do_run },
	{ "tiers", "", "List the policy's tiers and the tagged cgroups.", do_tiers },
	{ "events", "[-f] [--log-dir DIR] [--tier T] [--kind K] [--verdict V] [--cgroup CG] [--pid N] [--since X] [--until X]",
	  "Print the event log, rotated .gz segments and the current file as one stream\n"
	  "(JSON lines; a table on a terminal unless --json). -f then follows new events.\n"
	  "--cgroup matches that cgroup and everything below it. --since/--until take a\n"
	  "duration back from now (90s, 30m, 2h, 7d) or an RFC 3339 time. The log is found\n"
	  "through the daemon, else in " DEFAULT_LOG_DIR ".", do_events },
	{ "verify-log", "[--verify-key FILE] [--from-epoch N] [DIR]",
	  "Check the log's hash chain across rotated segments and restarts. Names the\n"
	  "first record that was changed, removed, inserted or reordered; exit 1 if any.\n"
	  "With --verify-key (from keygen), also every seal from epoch 0 (or N) on: a\n"
	  "rewrite by someone who holds the node's current key fails too. Without it a\n"
	  "rewrite that recomputes the chain cannot be detected.", do_verify },
	{ "keygen", "--seal-key FILE --verify-key FILE",
	  "Make the node's sealing key (for tierwalld --seal-key; 0600, outside the log\n"
	  "directory) and the operator's verification key (printed too: store it off the node).", do_keygen },
	{ "drain", "", "Wait until every decision made so far is in the log (flood windows closed,\n"
	  "ring buffer read, drops counted); print the seq it is logged up to.", do_drain },
	{ "status", "[--wait[=SECONDS]] [--pin-dir DIR]", "Programs attached, policy digest, counters, degraded modes, self-protection. Exit 0 only while the daemon enforces in full (setup done, every\n"
	  "program attached); \"starting\" until then. --wait waits for that (default 60 s)\n"
	  "and suits scripts and probes. With no daemon running, whether its programs are\n"
	  "still attached and enforcing (from the pins in --pin-dir, default\n"
	  "/sys/fs/bpf/tierwall); exit 1 then.", do_status },
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
			tw_sock_path = argv[2];
			argv[2] = argv[0];
			argc -= 2;
			argv += 2;
		} else if (!strncmp(argv[1], "--socket=", 9)) {
			tw_sock_path = argv[1] + 9;
			argv[1] = argv[0];
			argc--;
			argv++;
		} else if (!strcmp(argv[1], "--json")) {
			tw_want_json = true;
			argv[1] = argv[0];
			argc--;
			argv++;
		} else {
			break;
		}
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		if (!strcmp(argv[1], cmds[i].name)) {
			tw_cur = &cmds[i];
			return cmds[i].fn(argc - 1, argv + 1);
		}
	}
	tw_err("unknown command \"%s\"", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
