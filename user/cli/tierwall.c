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
#include "version.h"


const char *tw_sock_path = TW_CTL_DEFAULT;
bool tw_want_json;
const struct cmd *tw_cur;
static bool json_printed;
static json_t *errors;

/* --json: errors are JSON too, on stdout, unless the command printed its own answer. */
static void keep_error(const char *level, const char *msg)
{
	if (strcmp(level, "error: "))
		return;
	if (!errors)
		errors = json_array();
	json_array_append_new(errors, json_string(msg));
}

static void json_errors_at_exit(void)
{
	json_t *o;

	if (!tw_want_json || json_printed || !json_array_size(errors))
		return;
	o = json_pack("{s:b, s:O, s:O}", "ok", 0, "error", json_array_get(errors, 0), "errors", errors);
	tw_print_json(o);
	json_decref(o);
	fflush(stdout);
}

/* The command's options as getopt reads them (set by tw_parse_opts): --help lists them. */
static const struct option *cur_opts;
static const char *cur_shorts;

/* What an option's argument is, in --help and the man pages. */
static const char *metavar(const char *name)
{
	static const char *const names[][2] = {
		{ "socket", "PATH" }, { "log-dir", "DIR" }, { "pin-dir", "DIR" }, { "pid", "N" },
		{ "cgroup", "CG" }, { "tier", "T" }, { "kind", "K" }, { "verdict", "V" },
		{ "since", "X" }, { "until", "X" }, { "attest", "FILE" }, { "seal-key", "FILE" },
		{ "verify-key", "FILE" }, { "from-epoch", "N" }, { "wait", "SECONDS" },
		{ "last", "N" }, { "output", "FORMAT" }, { "pod", "NAME" }, { "namespace", "NS" },
		{ "to", "TARGET" }, { "secret", "PATH" }, { "for", "DURATION" }, { "reason", "TEXT" },
		{ "from-event", "SEQ" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(name, names[i][0]))
			return names[i][1];
	return "ARG";
}

static void print_option(FILE *f, const struct option *o)
{
	bool has_short = o->val > 0 && o->val < 128 && cur_shorts && strchr(cur_shorts, o->val);

	fprintf(f, "  %c%c%s--%s", has_short ? '-' : ' ', has_short ? o->val : ' ',
		has_short ? ", " : "  ", o->name);
	if (o->has_arg == required_argument)
		fprintf(f, " %s", metavar(o->name));
	else if (o->has_arg == optional_argument)
		fprintf(f, "[=%s]", metavar(o->name));
	fputc('\n', f);
}

void tw_cmd_usage(FILE *f, const struct cmd *c)
{
	const struct option *o;

	fprintf(f, "Usage: tierwall %s %s\n\n%s\n", c->name, c->args, c->help);
	if (!cur_opts)
		return;
	/* From the table getopt reads: the man page check and the completion read it here. */
	fprintf(f, "\nOptions:\n");
	for (o = cur_opts; o->name; o++)
		print_option(f, o);
}

/*
 * Common options of every command; returns the index of the first operand.
 * Options may come anywhere before "--" (getopt permutes the operands to
 * the end); extra_short starting with '+' stops at the first operand
 * instead (run: what follows is the command's own).
 */
int tw_parse_opts(int argc, char **argv, const char *extra_short,
		      const struct option *extra, int (*on_extra)(int c, const char *arg))
{
	static struct option opts[32];
	static char shorts[32];
	static const struct option common[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
	};
	bool stop = extra_short && extra_short[0] == '+';
	int n = 0, c;

	for (; extra && extra->name; extra++) {
		if (n == (int)ARRAY_SIZE(opts) - 4) {	/* a command's table outgrew this one */
			tw_err("%s: more options than tw_parse_opts holds", tw_cur->name);
			exit(EXIT_FAIL);
		}
		opts[n++] = *extra;
	}
	memcpy(opts + n, common, sizeof(common));
	memset(opts + n + ARRAY_SIZE(common), 0, sizeof(opts[0]));
	snprintf(shorts, sizeof(shorts), "%sh%s", stop ? "+" : "", extra_short ? extra_short + stop : "");
	cur_opts = opts;
	cur_shorts = shorts;
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

static json_t *call_reply(json_t *req, int pass_fd, int *rc, bool quiet, int wait_ms)
{
	json_t *reply = NULL;
	int err = tw_ctl_call_fd(tw_sock_path, req, pass_fd, &reply, wait_ms);

	json_decref(req);
	*rc = err;
	if (err && (!quiet || (err != -ENOENT && err != -ECONNREFUSED)))
		tw_err("cannot reach tierwalld at %s: %s%s", tw_sock_path, strerror(-err),
		       err == -ENOENT || err == -ECONNREFUSED ?
		       " (is it running? --socket PATH names another socket)" :
		       err == -EACCES ? " (the socket is root's and the tierwall group's)" : "");
	return err ? NULL : reply;
}

json_t *tw_call_reply(json_t *req, int *rc, bool quiet)
{
	return call_reply(req, -1, rc, quiet, CTL_TIMEOUT_MS);
}

json_t *tw_call_reply_ms(json_t *req, int *rc, bool quiet, int wait_ms)
{
	return call_reply(req, -1, rc, quiet, wait_ms);
}

/* Ask the daemon; prints one clear error and returns NULL on any failure. */
static json_t *call(json_t *req, int pass_fd, int *rc, bool quiet)
{
	json_t *reply = call_reply(req, pass_fd, rc, quiet, CTL_TIMEOUT_MS);

	if (!reply) {
		*rc = *rc ? *rc : EXIT_FAIL;
		return NULL;
	}
	*rc = EXIT_FAIL;
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

	return call(req, -1, &rc, false);
}

json_t *tw_call_fd(json_t *req, int pass_fd)
{
	int rc;

	return call(req, pass_fd, &rc, false);
}

json_t *tw_call_quiet(json_t *req, int *rc)
{
	return call(req, -1, rc, true);
}

/* An epoch-seconds field a person reads as a time: since, at, loaded_at... */
static bool is_epoch_field(const char *key, json_t *v)
{
	size_t n = strlen(key);

	return json_is_integer(v) && json_integer_value(v) > 0 &&
	       (!strcmp(key, "since") || !strcmp(key, "at") || (n > 3 && !strcmp(key + n - 3, "_at")));
}

/*
 * Every JSON answer in one form a person reads: beside each epoch-seconds
 * field its RFC 3339 UTC form (KEY_time, added: the field stays), and a
 * tag's cgroup named as the policy names it (relative to the daemon's
 * cgroup root; "path" stays the absolute one).
 */
static void one_form(json_t *o)
{
	json_t *v, *times = json_object();
	const char *key;
	size_t i;

	if (json_is_array(o)) {
		json_array_foreach(o, i, v)
			one_form(v);
	}
	if (!json_is_object(o)) {
		json_decref(times);
		return;
	}
	json_object_foreach(o, key, v) {
		char when[64], name[128];

		one_form(v);
		if (!is_epoch_field(key, v))
			continue;
		tw_format_time((uint64_t)json_integer_value(v) * 1000000000ull, when, sizeof(when));
		snprintf(name, sizeof(name), "%s_time", key);
		json_object_set_new(times, name, json_sprintf("%.19sZ", when));
	}
	json_object_update_missing(o, times);
	json_decref(times);
	if (json_is_string(json_object_get(o, "cgroup")) && json_object_get(o, "cgroup_id") &&
	    json_object_get(o, "path"))
		json_object_set_new(o, "cgroup", json_string(tw_ev_policy_path(
			json_string_value(json_object_get(o, "cgroup")))));
}

void tw_print_json(json_t *o)
{
	one_form(o);
	json_printed = true;
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
}

/* ---- commands ---- */

static bool force, whole_root;

static int tag_opt(int c, const char *arg)
{
	if (c == 'f')
		force = true;
	else if (c == 'R')
		whole_root = true;
	else
		return -1;
	return 0;
}

/* Tagging the daemon's root tiers everything below it: only when said so. */
static bool root_tag_meant(const char *cg, const char *tier)
{
	if (!tw_ev_is_root(cg) || whole_root)
		return true;
	tw_err("tag %s: that is the daemon's whole cgroup root: every process below it without a tag of "
	       "its own would be in tier %s; --whole-root says that is meant", cg, tier);
	return false;
}

static int tag_cmd(int argc, char **argv, bool untag)
{
	static const struct option extra[] = { { "force", no_argument, NULL, 'f' },
					       { "whole-root", no_argument, NULL, 'R' }, {} };
	int first = tw_parse_opts(argc, argv, untag ? NULL : "f", untag ? NULL : extra, tag_opt);
	const char *cg, *tier;
	json_t *req, *r;

	tw_want_operands(argc, first, untag ? 1 : 2);
	tw_ev_daemon_info();	/* the daemon's root: named in the answer as in the policy */
	if (!untag && !root_tag_meant(argv[first], argv[first + 1]))
		return EXIT_USAGE;
	req = json_pack("{s:s, s:s}", "cmd", untag ? "untag" : "tag", "cgroup", argv[first]);
	if (!untag)
		json_object_set_new(req, "tier", json_string(argv[first + 1]));
	if (force)
		json_object_set_new(req, "force", json_true());
	r = tw_call(req);
	if (!r)
		return EXIT_FAIL;
	cg = tw_ev_policy_path(json_string_value(json_object_get(r, "cgroup")));
	tier = json_string_value(json_object_get(r, "tier"));
	json_object_set_new(r, "cgroup", json_string(cg));	/* one form in every answer */
	cg = json_string_value(json_object_get(r, "cgroup"));
	if (tw_want_json)
		tw_print_json(r);
	else if (untag)
		printf("untagged %s\n", cg);
	else if (tw_ev_is_root(argv[first]))
		printf("tagged the whole cgroup root as %s: every cgroup below it without a tag of its own "
		       "is in %s\n", tier, tier);
	else if (json_string_value(json_object_get(r, "previous_tier")))
		printf("tagged %s as %s (was %s)\n", cg, tier,
		       json_string_value(json_object_get(r, "previous_tier")));
	else
		printf("tagged %s as %s\n", cg, tier);
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

/* A tag's cgroup as the policy names it: relative to the daemon's cgroup root. */
static const char *policy_path(json_t *r, json_t *tag)
{
	const char *root = json_string_value(json_object_get(r, "cgroup_root"));
	const char *abs = json_string_value(json_object_get(tag, "path"));
	size_t n = root ? strlen(root) : 0;

	if (!root || !abs || strncmp(abs, root, n) || (abs[n] && abs[n] != '/'))
		return json_string_value(json_object_get(tag, "cgroup")) ?: "-";
	return abs[n] ? abs + n : "/";
}

static int do_tiers(int argc, char **argv)
{
	int first = tw_parse_opts(argc, argv, NULL, NULL, NULL), rc;
	json_t *r, *v;
	size_t i;

	tw_want_operands(argc, first, 0);
	if (tw_want_json)
		tw_ev_daemon_info();
	r = tw_query("tiers", &rc);
	if (!r)
		return rc;
	printf("%-12s %s\n", "TIER", "MODE");
	json_array_foreach(json_object_get(r, "tiers"), i, v)
		printf("%-12s %s\n", json_string_value(json_object_get(v, "name")),
		       json_string_value(json_object_get(v, "mode")));
	printf("\n%-40s %-12s %-8s %s\n", "CGROUP", "TIER", "SOURCE", "ID");
	json_array_foreach(json_object_get(r, "tags"), i, v)
		printf("%-40s %-12s %-8s %lld%s\n", policy_path(r, v),
		       json_string_value(json_object_get(v, "tier")) ?: "-",
		       json_string_value(json_object_get(v, "source")) ?: "-",
		       json_integer_value(json_object_get(v, "cgroup_id")),
		       json_is_true(json_object_get(v, "missing")) ? " (missing)" : "");
	json_decref(r);
	return 0;
}

static const struct cmd cmds[] = {
	{ "check", "[--policy-pubkey PEM]... POLICY", "Validate a policy without loading it. Every error names file:line:col and the\n"
	  "JSON path. Warns (on stderr, exit 0) about what is valid but risky: a tier that\n"
	  "owns every address or all of 127.0.0.0/8, a tag on the cgroup root, one tier's\n"
	  "CIDR carved out of another's. With --policy-pubkey (repeatable), also that\n"
	  "POLICY.sig is its signature by one of those keys, as tierwalld --policy-pubkey\n"
	  "requires. Exit 0 when valid, 1 when not.", do_check },
	{ "sign", "--key KEY POLICY", "Write POLICY.sig: the Ed25519 signature of POLICY's bytes by the private key\n"
	  "KEY (PEM; openssl genpkey -algorithm ed25519 makes one), base64 on one line.\n"
	  "The same as openssl pkeyutl -sign -rawin -inkey KEY -in POLICY | openssl base64 -A.", do_sign },
	{ "reload", "", "Load the daemon's policy file now and wait for the result; errors name\n"
	  "file:line:col. On failure the loaded policy stays in force; exit 1.", do_reload },
	{ "tag", "[-f|--force] [--whole-root] CGROUP TIER", "Tag a cgroup (relative to the daemon's cgroup root, or absolute) with a tier\n"
	  "defined by the loaded policy. Takes effect on the next connect. A cgroup that\n"
	  "already has another tier (its own runtime tag, or inherited) keeps it unless\n"
	  "--force; the policy's own tags change only with the policy. Runtime tags are\n"
	  "kept across daemon restarts and dropped (tag_lost) when their cgroup goes.\n"
	  "The daemon's root itself (/) puts everything below it without a tag of its own\n"
	  "in the tier: only with --whole-root (exit 2 without).", do_tag },
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
	  "A tiered caller may run only in its own tier, without --audit. Options end at\n"
	  "CMD: what follows it is its own. An unknown tier: exit 2, naming the policy's.", do_run },
	{ "tiers", "", "List the policy's tiers and the tagged cgroups (paths as in the policy:\n"
	  "relative to the daemon's cgroup root).", do_tiers },
	{ "explain", "(--pid N | --cgroup CG) [--exit-code] TARGET",
	  "What the kernel would decide, and why, for that process or cgroup and TARGET:\n"
	  "IP[:PORT][/udp], [IPv6]:PORT, HOST[:PORT][/udp] or a file path (absolute, or\n"
	  "starting with ./ or ../). Names the caller's\n"
	  "tier and the tagged cgroup that gives it, the rule that decides (JSON path, CIDR,\n"
	  "hostname with the addresses it has now, or secret) and the verdict, computed\n"
	  "from the live maps by the hooks' own code. --exit-code: exit 3 when the verdict\n"
	  "is deny. A target that is none of these is a bad argument (exit 2).", do_explain },
	{ "which", "PID | --cgroup CG", "The tier of a process or cgroup, the tagged cgroup that gives it, and where\n"
	  "that tag comes from (policy, runtime, pod), who asked for it and when.", do_which },
	{ "simulate", "[--since DURATION] [--log-dir DIR] [--exit-code] DRAFT.json",
	  "Replay the recorded decisions against a draft policy and print what would\n"
	  "change (newly denied, newly allowed). Covers what the log holds: denials and\n"
	  "audits, and allowed use only for tiers with \"log\": \"all\". Needs root (it\n"
	  "loads the draft into temporary BPF maps and judges with the hooks' own code).\n"
	  "--exit-code: exit 3 when anything would change.", do_simulate },
	{ "events", "[-f|--follow [--retry]] [-n|--last N|all] [-o|--output json|table|short] [--table] "
	  "[--log-dir DIR] [--tier T] [--kind K] [--verdict V] [--cgroup CG] [--pid N] [--pod NAME] "
	  "[--namespace NS] [--since X] [--until X]",
	  "Print the event log, rotated .gz segments and the current file as one stream:\n"
	  "JSON lines, or on a terminal a table with a header (--output chooses: json,\n"
	  "table, short; --table is --output table). On a terminal denials, audits and\n"
	  "tamper attempts are in colour (not with NO_COLOR set, never in JSON).\n"
	  "-n N shows the last N records that match (all: every one). -f then follows\n"
	  "new events, starting from the last 10 unless -n or --since says otherwise;\n"
	  "--retry keeps following across daemon restarts. --tier, --kind, --verdict,\n"
	  "--pod and --namespace take several values, comma-separated or repeated.\n"
	  "--cgroup matches that cgroup and everything below it, named as in the policy\n"
	  "(relative to the daemon's cgroup root). --since/--until take a duration back\n"
	  "from now (90s, 30m, 2h, 7d) or an RFC 3339 time. The log is found through the\n"
	  "daemon, else in " DEFAULT_LOG_DIR ".", do_events },
	{ "verify-log", "[--verify-key FILE] [--from-epoch N] [--log-dir DIR | DIR]",
	  "Check the log's hash chain across rotated segments and restarts. Names the\n"
	  "first record that was changed, removed, inserted or reordered; exit 3 if any\n"
	  "(exit 4 when the seals were made with another key than --verify-key's).\n"
	  "With --verify-key (from keygen), also every seal from epoch 0 (or N) on: a\n"
	  "rewrite by someone who holds the node's current key fails too. Without it a\n"
	  "rewrite that recomputes the chain cannot be detected.", do_verify },
	{ "keygen", "--seal-key FILE --verify-key FILE",
	  "Make the node's sealing key (for tierwalld --seal-key; 0600, outside the log\n"
	  "directory) and the operator's verification key (printed too: store it off the node).", do_keygen },
	{ "grant", "request (--tier T | --cgroup CG | --pod NS/NAME) (--to TARGET | --secret PATH) "
	  "[--from-event SEQ] --for DURATION --reason TEXT | show ID | approve ID | revoke ID",
	  "Time-boxed, approved exceptions. request asks for one tier, cgroup or pod\n"
	  "(NAMESPACE/NAME) to reach one destination a rule refuses (ADDR[/LEN][:PORT,...]\n"
	  "[/tcp|/udp], IPv6 as [ADDR]:PORT, or a policy HOSTNAME[:PORT,...]: its addresses\n"
	  "as the daemon resolves them) or open one secret path, for DURATION (90s,\n"
	  "15m, 4h; at most the policy's \"max\"); it prints the id and changes nothing;\n"
	  "--from-event SEQ asks for exactly what that recorded denial was (its cgroup).\n"
	  "show prints what it would allow; approve (a member of the policy's approver\n"
	  "groups, not the requester) puts it in force in the kernel until its deadline;\n"
	  "revoke ends it at once. An unknown or ended id: exit 1.", do_grant },
	{ "grants", "", "List pending, active (time left, uses as the kernel counted them) and\n"
	  "recently ended grants.", do_grants },
	{ "drain", "", "Wait until every decision made so far is in the log (flood windows closed,\n"
	  "ring buffer read, drops counted); print the seq it is logged up to.", do_drain },
	{ "status", "[--wait[=SECONDS]] [--pin-dir DIR]", "Programs attached, policy digest, counters, degraded modes, self-protection,\n"
	  "the last reload and whether the policy file differs from what is loaded. Exit 0\n"
	  "only while the daemon enforces in full (setup done, every\n"
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
		"--json prints answers, and errors, as JSON. --version prints the version.\n"
		"Options may come before or after the operands; -- ends them.\n"
		"Exit: 0 ok, 1 tierwall failed, 2 bad arguments, 3 the answer to fail a CI step on\n"
		"(run --audit, explain/simulate --exit-code, verify-log: tampered), 4 verify-log:\n"
		"another key.\n"
		"`tierwall COMMAND --help` explains a command.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	tw_log_init("tierwall");
	tw_log_capture(keep_error);
	atexit(json_errors_at_exit);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("tierwall %s\n", TW_VERSION);
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
