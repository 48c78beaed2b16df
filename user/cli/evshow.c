// SPDX-License-Identifier: GPL-2.0
/*
 * How `tierwall events` takes its filters and shows records: cgroups named
 * as in the policy (relative to the daemon's root), filter values checked
 * (an unknown kind, verdict or tier is a mistake, not an empty answer), the
 * table with its header and cgroup column, and what a log that cannot be
 * read says about why.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cgroup.h"
#include "cli.h"
#include "ctl.h"
#include "evlog.h"
#include "evquery.h"
#include "log.h"

/* The daemon's cgroup root below the cgroup2 mount ("" when it is the mount), and its tiers. */
static char root_rel[PATH_MAX];
static json_t *tiers;
static char cg_filter[PATH_MAX * 2];

void tw_ev_daemon_info(void)
{
	static bool asked;
	json_t *r = NULL;
	char mnt[PATH_MAX];
	const char *root;
	size_t n;

	if (asked)
		return;
	asked = true;
	if (tw_ctl_call(tw_sock_path, json_pack("{s:s}", "cmd", "tiers"), &r, 1000) ||
	    !json_is_true(json_object_get(r, "ok"))) {
		json_decref(r);
		return;		/* no daemon: the root is the mount, as by default */
	}
	tiers = json_incref(json_object_get(r, "tiers"));
	root = json_string_value(json_object_get(r, "cgroup_root"));
	if (root && !tw_cgroup2_mount(mnt, sizeof(mnt)) && !strncmp(root, mnt, (n = strlen(mnt))))
		snprintf(root_rel, sizeof(root_rel), "%s", root + n);
	json_decref(r);
}

bool tw_ev_is_root(const char *cg)
{
	char mnt[PATH_MAX], abs[PATH_MAX * 2];
	size_t n = strlen(cg);

	while (n && cg[n - 1] == '/')
		n--;
	if (!n)
		return true;
	if (tw_cgroup2_mount(mnt, sizeof(mnt)))
		return false;
	snprintf(abs, sizeof(abs), "%s%s", mnt, root_rel);
	return strlen(abs) == n && !strncmp(cg, abs, n);
}

/* A cgroup as events carry it (from the mount) shown as the policy names it. */
const char *tw_ev_policy_path(const char *cg)
{
	size_t n = strlen(root_rel);

	if (!cg)
		return "-";
	if (!n)
		return cg;
	if (!strncmp(cg, root_rel, n) && (cg[n] == '/' || !cg[n]))
		return cg[n] ? cg + n : "/";
	return cg;
}

/* --cgroup CG, named as in the policy, in the form events carry. */
const char *tw_ev_cgroup_filter(const char *cg)
{
	size_t n = strlen(root_rel);

	/* Already in the events' form (below the root, from the mount): taken as it is. */
	if (n && !strncmp(cg, root_rel, n) && (cg[n] == '/' || !cg[n]))
		return cg;
	snprintf(cg_filter, sizeof(cg_filter), "%s%s%s", root_rel, cg[0] == '/' ? "" : "/",
		 strcmp(cg, "/") ? cg : "");
	if (!cg_filter[0])
		strcpy(cg_filter, "/");
	return cg_filter;
}

static bool listed(const char *v, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(v, *list))
			return true;
	return false;
}

struct tier_seen {
	const char *tier;
	bool found;
};

static int names_tier(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct tier_seen *t = arg;
	json_t *o = line ? json_loadb(line, len, 0, NULL) : NULL;

	t->found = !strcmp(json_string_value(json_object_get(o, "tier")) ?: "", t->tier) ||
		   !strcmp(json_string_value(json_object_get(o, "target_tier")) ?: "", t->tier);
	json_decref(o);
	return t->found;	/* found: stop reading */
}

bool tw_ev_tier_defined(const char *tier, char *list, size_t len)
{
	bool found = !tiers;
	size_t i;
	json_t *v;

	list[0] = '\0';
	json_array_foreach(tiers, i, v) {
		const char *name = json_string_value(json_object_get(v, "name")) ?: "";

		found |= !strcmp(name, tier);
		snprintf(list + strlen(list), len - strlen(list), "%s%s", i ? ", " : "", name);
	}
	return found;
}

/* A tier the loaded policy does not define, and no record names: a typo. */
static bool tier_known(const char *tier, const char *dir, char *list, size_t len)
{
	struct tier_seen seen = { .tier = tier };

	if (tw_ev_tier_defined(tier, list, len) && tiers)
		return true;
	/* Perhaps a tier of an earlier policy: its records would say so. */
	tw_evlog_scan(dir, names_tier, &seen);
	return seen.found;
}

void tw_ev_check_filter(const struct tw_filter *f, const char *dir)
{
	/* Every kind a record may have (seal, drift: written by newer daemons). */
	static const char *const kinds[] = { "connect", "sendmsg", "file", "dns", "socket", "daemon",
					     "lost", "tamper", "seal", "drift", "chain_reset", "follow_dropped",
					     NULL };
	static const char *const verdicts[] = { "deny", "audit", "allow", NULL };
	char list[512] = "";

	if (f->kind && !listed(f->kind, kinds)) {
		tw_err("--kind: unknown kind \"%s\" (one of connect, sendmsg, file, dns, socket, daemon, lost, tamper)",
		       f->kind);
		exit(EXIT_USAGE);
	}
	if (f->verdict && !listed(f->verdict, verdicts)) {
		tw_err("--verdict: unknown verdict \"%s\" (deny, audit or allow)", f->verdict);
		exit(EXIT_USAGE);
	}
	if (f->since_ns && f->until_ns && f->until_ns < f->since_ns) {
		tw_err("--until is before --since: no record could match");
		exit(EXIT_USAGE);
	}
	if (f->tier && !tier_known(f->tier, dir, list, sizeof(list))) {
		tw_err("--tier: unknown tier \"%s\" (%s%s; no record names it)", f->tier,
		       tiers ? "the policy defines " : "no daemon to ask for the policy's tiers",
		       list);
		exit(EXIT_USAGE);
	}
}

/* Why there is no log to show in dir: permission, or nothing there. */
void tw_ev_no_log(const char *dir)
{
	if (access(dir, R_OK | X_OK) && errno == EACCES)
		tw_err("permission denied reading the event log in %s (it is readable by root and "
		       "the tierwall group)", dir);
	else if (access(dir, F_OK))
		tw_err("no event log: %s does not exist (--log-dir DIR names another)", dir);
	else
		tw_err("no event log in %s (--log-dir DIR names another)", dir);
}

static const char *s(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A tamper attempt without a file: its operation and whom it aimed at. */
static void print_tamper_target(json_t *o)
{
	printf("%s", json_string_value(json_object_get(o, "op")));
	if (json_object_get(o, "target_pid"))
		printf(" pid %lld", json_integer_value(json_object_get(o, "target_pid")));
	if (json_object_get(o, "signal"))
		printf(" signal %lld", json_integer_value(json_object_get(o, "signal")));
	if (json_object_get(o, "bpf_cmd"))
		printf(" cmd %lld", json_integer_value(json_object_get(o, "bpf_cmd")));
	if (json_object_get(o, "what"))
		printf(" %s", json_string_value(json_object_get(o, "what")));
	if (json_object_get(o, "target_cgroup_id"))
		printf(" %s", json_string_value(json_object_get(o, "target_cgroup")) ?: "(cgroup gone)");
}

void tw_ev_table_header(void)
{
	printf("%-30s %-7s %-7s %-8s    %-8s %7s %-15s %-24s %s\n", "TIME", "KIND", "VERDICT",
	       "TIER", "TARGET", "PID", "COMM", "CGROUP", "WHAT");
}

bool tw_ev_colour;

/* A terminal's colour for what a responder looks for first: deny, tamper, audit. */
static const char *colour(json_t *o)
{
	const char *v = s(o, "verdict") ?: "", *k = s(o, "kind") ?: "";

	if (!tw_ev_colour)
		return "";
	if (!strcmp(k, "tamper") || !strcmp(k, "lost"))
		return "\033[1;35m";
	return !strcmp(v, "deny") ? "\033[1;31m" : !strcmp(v, "audit") ? "\033[33m" : "";
}

/* A field padded to width, in colour c (the escapes take no room on the screen). */
static void field(const char *c, int width, const char *v)
{
	printf("%s%-*s%s ", c, width, v, c[0] ? "\033[0m" : "");
}

/* The daemon's own records: the event and what it was about (cgroup, hostname, tier granted). */
static void print_daemon_what(json_t *o)
{
	const char *cg = s(o, "cgroup") ?: (s(o, "source") ? s(o, "path") : NULL);
	json_t *a;
	size_t i;

	printf("%s", s(o, "event") ?: s(o, "kind"));
	if (cg)
		printf(" %s", tw_ev_policy_path(cg));
	else if (s(o, "path"))
		printf(" %s", s(o, "path"));
	if (s(o, "hostname"))
		printf(" %s", s(o, "hostname"));
	if (s(o, "tier"))
		printf(" %s %s", cg ? "as" : "tier", s(o, "tier"));
	if (s(o, "previous_tier"))
		printf(" (was %s)", s(o, "previous_tier"));
	if (s(o, "source"))
		printf(" [%s]", s(o, "source"));
	json_array_foreach(json_object_get(o, "added"), i, a)
		printf(" +%s", json_string_value(a));
	json_array_foreach(json_object_get(o, "removed"), i, a)
		printf(" -%s", json_string_value(a));
	if (s(o, "why") ?: s(o, "error") ?: s(o, "reason"))
		printf(": %s", s(o, "why") ?: s(o, "error") ?: s(o, "reason"));
}

/* The WHAT column: the destination, name, socket, file or operation. */
static void print_what(json_t *o)
{
	json_t *dst = json_object_get(o, "dst");

	if (json_object_get(o, "qtype"))
		printf("%s %s %s", s(o, "name") ?: "?", s(o, "qtype") ?: "?",
		       s(o, "hostname") ?: s(o, "reason") ?: "");
	else if (json_object_get(o, "family"))
		printf("%s%s%s socket %s/%s/%s", s(o, "op"), s(o, "option") ? " " : "", s(o, "option") ?: "",
		       s(o, "family") ?: "?", s(o, "type") ?: "?", s(o, "protocol") ?: "?");
	else if (dst)
		printf("%s:%lld/%s %s", s(dst, "ip"), json_integer_value(json_object_get(dst, "port")),
		       s(dst, "proto") ?: "?", s(o, "hostname") ?: s(o, "rule") ?: "");
	else if (json_object_get(o, "path") && json_object_get(o, "op"))
		printf("%s %s", s(o, "op"), s(o, "path"));
	else if (json_object_get(o, "op"))
		print_tamper_target(o);
	else
		print_daemon_what(o);
	if (json_integer_value(json_object_get(o, "count")) > 1)
		printf(" (x%lld)", json_integer_value(json_object_get(o, "count")));
	printf("\n");
}

/* One record as a table row: who, which tier against which, where, then what. */
void tw_ev_table_row(json_t *o)
{
	const char *c = colour(o);
	bool decision = s(o, "verdict") || json_object_get(o, "op");

	printf("%-30.30s ", s(o, "ts"));
	field(!strcmp(s(o, "kind") ?: "", "tamper") ? c : "", 7, s(o, "kind") ?: "-");
	field(c, 7, s(o, "verdict") ?: "-");
	printf("%-8s %s %-8s %7lld %-15s %-24s ", s(o, "tier") ?: "-", decision ? "->" : "  ",
	       s(o, "target_tier") ?: "-", json_integer_value(json_object_get(o, "pid")),
	       s(o, "comm") ?: (decision ? "-" : "tierwalld"),
	       decision ? tw_ev_policy_path(s(o, "cgroup")) : "-");
	print_what(o);
}

/* --output short: one line a person scans, "TIME VERDICT TIER->TARGET COMM[PID] CGROUP WHAT". */
void tw_ev_short_row(json_t *o)
{
	const char *c = colour(o), *ts = s(o, "ts") ?: "?";

	printf("%.19sZ ", ts);
	if (s(o, "verdict") || json_object_get(o, "op")) {
		printf("%s%s%s %s->%s %s[%lld] %s ", c, s(o, "verdict") ?: s(o, "kind"),
		       c[0] ? "\033[0m" : "", s(o, "tier") ?: "-", s(o, "target_tier") ?: "-",
		       s(o, "comm") ?: "?", json_integer_value(json_object_get(o, "pid")),
		       tw_ev_policy_path(s(o, "cgroup")));
		if (strcmp(s(o, "kind") ?: "", "tamper"))
			printf("%s ", s(o, "kind") ?: "?");
	} else {
		printf("%s%s%s ", c, s(o, "kind") ?: "?", c[0] ? "\033[0m" : "");
	}
	print_what(o);
}

/* verify-log's exit: 3 tampered, 4 sealed with another key, 1 not checked. */
int tw_verify_exit(int err)
{
	return !err ? 0 : err == -EBADMSG ? EXIT_ANSWER : err == -EKEYREJECTED ? EXIT_KEY : EXIT_FAIL;
}

/* verify-log --json: the same check, its report as fields. */
int tw_ev_verify_json(const char *dir, const struct tw_verify_opts *opts)
{
	char *text = NULL, *line, *save;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	json_t *o, *notes = json_array();
	int err;

	if (!out)
		return EXIT_FAIL;
	err = tw_verify_log(dir, out, opts);
	fclose(out);
	o = json_pack("{s:b, s:s, s:b, s:n}", "ok", !err, "log_dir", dir, "intact", !err, "tampered");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "TAMPERED: ", 10))
			json_object_set_new(o, "tampered", json_string(line + 10));
		else if (!strncmp(line, "OK: ", 4))
			json_object_set_new(o, "summary", json_string(line + 4));
		else
			json_array_append_new(notes, json_string(line));
	}
	json_object_set_new(o, "notes", notes);
	if (err == -EKEYREJECTED)
		json_object_set_new(o, "key_mismatch", json_true());
	else if (err && err != -EBADMSG) {
		json_object_set_new(o, "intact", json_null());
		json_object_set_new(o, "error", json_string(strerror(-err)));
	}
	tw_print_json(o);
	json_decref(o);
	free(text);
	return tw_verify_exit(err);
}
