// SPDX-License-Identifier: GPL-2.0
/*
 * tierwall simulate DRAFT.json: "what would this policy change break?"
 * Every decision the log holds is judged again under the draft, by the
 * hooks' own decision code: the draft is compiled, loaded into temporary
 * BPF maps with the explain program (nothing attached, nothing enforced),
 * and each record's caller and target are asked of it. What the log does
 * not hold cannot be replayed: allowed traffic is recorded only for tiers
 * with "log": "all", and the output says so.
 *
 * The caller's tier under the draft is the nearest tag above its cgroup
 * among the draft's own cgroups, the daemon's runtime and pod tags (kept
 * by a reload when their tier still exists) and, for a record whose tag is
 * gone, the tag the record names when the policy did not set it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include "cgroup.h"
#include "cli.h"
#include "compile.h"
#include "ctl.h"
#include "explainer.h"
#include "log.h"
#include "policy.h"
#include "simulate.h"
#include "util.h"


static const char *log_dir;
static uint64_t since_ns;

static bool exit_code;	/* --exit-code: 3 when anything would change */

static int sim_opt(int c, const char *arg)
{
	long secs;

	if (c == 'L') {
		log_dir = arg;
		return 0;
	}
	if (c == 'x') {
		exit_code = true;
		return 0;
	}
	if (c != 's')
		return -1;
	if (tw_parse_duration(arg, &secs)) {
		tw_err("--since: \"%s\" is not a duration (90s, 30m, 2h, 7d)", arg);
		exit(EXIT_USAGE);
	}
	since_ns = tw_now_ns(CLOCK_REALTIME) - (uint64_t)secs * 1000000000ull;
	return 0;
}


/* ---- what the daemon knows: its root, tags, hostname addresses, log ---- */

static json_t *ask(const char *cmd)
{
	json_t *r = NULL;

	if (tw_ctl_call(tw_sock_path, json_pack("{s:s}", "cmd", cmd), &r, 2000) ||
	    !json_is_true(json_object_get(r, "ok"))) {
		json_decref(r);
		return NULL;
	}
	return r;
}

static void add_host(struct sim *s, const char *ip, int host)
{
	json_t *a, *v;
	char key[80];
	size_t i;

	snprintf(key, sizeof(key), "%s", ip);
	a = json_object_get(s->hosts, key);
	if (!a) {
		a = json_array();
		json_object_set_new(s->hosts, key, a);
	}
	json_array_foreach(a, i, v)
		if (json_integer_value(v) == host)
			return;
	if (json_array_size(a) < TW_HOST_OWNERS)
		json_array_append_new(a, json_integer(host));
}

/* An exact hostname of the draft, as index + 1, or 0. */
static int draft_host(const struct sim *s, const char *name)
{
	int i;

	for (i = 0; name && i < s->p->nhosts; i++)
		if (!s->p->hosts[i].wildcard && !strcasecmp(s->p->hosts[i].name, name))
			return i + 1;
	return 0;
}

static void daemon_info(struct sim *s, char *dir, size_t len)
{
	json_t *st = ask("status"), *tiers = ask("tiers"), *v, *a;
	const char *root = str(tiers, "cgroup_root"), *logf = str(st, "log");
	char mnt[PATH_MAX];
	size_t i, j;

	if (log_dir)
		snprintf(dir, len, "%s", log_dir);
	else if (logf && strrchr(logf, '/'))
		snprintf(dir, len, "%.*s", (int)(strrchr(logf, '/') - logf), logf);
	else
		snprintf(dir, len, "%s", DEFAULT_LOG_DIR);
	if (root && !tw_cgroup2_mount(mnt, sizeof(mnt)) && !strncmp(root, mnt, strlen(mnt)))
		snprintf(s->root_rel, sizeof(s->root_rel), "%s", root + strlen(mnt));
	s->live_tags = json_incref(json_object_get(tiers, "tags"));
	/* Addresses the daemon's resolver has now for names the draft keeps. */
	json_array_foreach(json_object_get(json_object_get(st, "hostnames"), "names"), i, v) {
		int h = draft_host(s, str(v, "hostname"));

		json_array_foreach(json_object_get(v, "addresses"), j, a)
			if (h)
				add_host(s, str(a, "address"), h);
	}
	json_decref(st);
	json_decref(tiers);
}

/* Pass 1: the addresses records saw for the draft's names. */
static int learn_hosts(void *arg, const char *line, size_t len, const struct tw_evlog_pos *pos)
{
	struct sim *s = arg;
	json_t *o = line ? json_loadb(line, len, 0, NULL) : NULL, *dst = json_object_get(o, "dst");
	int h = draft_host(s, str(o, "hostname"));

	if (h && dst && str(o, "kind") && strcmp(str(o, "kind"), "dns"))
		add_host(s, str(dst, "effective") ?: str(dst, "ip"), h);
	json_decref(o);
	return 0;
}

static int key_of(const char *ip, struct tw_host_key *k, uint8_t *family)
{
	memset(k, 0, sizeof(*k));
	if (inet_pton(AF_INET, ip, k->addr) == 1) {
		k->family = *family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, ip, k->addr) != 1)
		return -EINVAL;
	k->family = *family = 6;
	/* ::ffff:a.b.c.d is judged as a.b.c.d, and held so. */
	if (!memcmp(k->addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		memmove(k->addr, k->addr + 12, 4);
		memset(k->addr + 4, 0, 12);
		k->family = 4;
	}
	return 0;
}

static int fill_hosts(struct sim *s)
{
	const char *ip;
	json_t *a, *h;
	size_t i;
	int err;

	json_object_foreach(s->hosts, ip, a) {
		struct tw_host_val v = {};
		struct tw_host_key k;
		uint8_t fam;

		if (key_of(ip, &k, &fam))
			continue;
		json_array_foreach(a, i, h) {
			const struct tw_policy_host *ph = &s->p->hosts[json_integer_value(h) - 1];

			v.rule[i] = s->p->nrules + ph->group + 1;
			v.host[i] = json_integer_value(h);
		}
		err = tw_explainer_host(s->x, &k, &v);
		if (err)
			return err;
	}
	return 0;
}

/* The draft's secrets as identities; paths missing now protect nothing yet. */
static int fill_secrets(struct sim *s)
{
	int i, err;

	for (i = 0; i < s->p->nsecrets; i++) {
		const struct tw_policy_secret *sec = &s->p->secrets[i];
		struct tw_secret_key k = {};
		struct tw_secret_val v = { .secret = i, .tier = sec->tier };
		struct stat st;

		if (stat(sec->path, &st))
			continue;
		k.dev = tw_kdev(st.st_dev);
		k.ino = st.st_ino;
		v.is_dir = S_ISDIR(st.st_mode);
		err = tw_explainer_secret(s->x, &k, &v);
		if (!err && v.is_dir)
			err = tw_explainer_secret_dev(s->x, k.dev);
		if (err)
			return err;
	}
	return 0;
}

static int load_draft(struct sim *s, const char *file, struct tw_tables *t)
{
	struct tw_diags d = {};
	char why[256];
	int err;

	err = tw_policy_load(file, &s->p, &d);
	if (!err) {
		err = tw_compile(s->p, t, &d);
		if (err) {
			tw_policy_free(s->p);
			s->p = NULL;
		}
	}
	if (err) {
		tw_diags_print(&d, stderr);
		tw_err("%s: %d error%s: nothing to simulate", file, d.count, d.count == 1 ? "" : "s");
		tw_diags_free(&d);
		return err;
	}
	err = tw_explainer_open(&s->x);
	if (!err)
		err = tw_explainer_load(s->x, t, SIM_HOSTS, s->p->nsecrets, why, sizeof(why));
	if (!err)
		err = tw_explainer_fill(s->x, t, s->p);
	if (err)
		tw_err("cannot load the draft into temporary BPF maps: %s%s",
		       err == -EPERM ? "permission denied (simulate needs root: CAP_BPF)" : strerror(-err),
		       why[0] && err != -EPERM ? why : "");
	return err;
}

int do_simulate(int argc, char **argv)
{
	static const struct option extra[] = {
		{ "since", required_argument, NULL, 's' },
		{ "log-dir", required_argument, NULL, 'L' },
		{ "exit-code", no_argument, NULL, 'x' },
		{}
	};
	int first = tw_parse_opts(argc, argv, NULL, extra, sim_opt), rc = EXIT_FAIL;
	struct sim s = { .hosts = json_object(), .groups = json_object(), .allow_tiers = json_object(),
			 .since_ns = since_ns };
	struct tw_tables t = {};
	char dir[PATH_MAX], **files;
	json_t *o;

	tw_want_operands(argc, first, 1);
	if (load_draft(&s, argv[first], &t))
		goto out;
	daemon_info(&s, dir, sizeof(dir));
	if (sim_tag_paths(&s))
		goto out;
	files = tw_evlog_files(dir);
	if (!files || !files[0]) {
		tw_ev_no_log(dir);
		tw_evlog_files_free(files);
		goto out;
	}
	tw_evlog_files_free(files);
	tw_evlog_scan(dir, learn_hosts, &s);
	if (fill_hosts(&s) || fill_secrets(&s)) {
		tw_err("cannot fill the draft's temporary maps");
		goto out;
	}
	tw_evlog_scan(dir, sim_judge, &s);
	o = sim_answer(&s, argv[first], dir);
	if (tw_want_json)
		tw_print_json(o);
	else
		sim_print_answer(o);
	json_decref(o);
	rc = exit_code && s.newly_denied + s.newly_allowed + s.changed ? EXIT_ANSWER : 0;
out:
	for (first = 0; s.tag_paths && first < s.p->ncgroups; first++)
		free(s.tag_paths[first]);
	free(s.tag_paths);
	tw_explainer_free(s.x);
	tw_tables_free(&t);
	tw_policy_free(s.p);
	json_decref(s.hosts);
	json_decref(s.groups);
	json_decref(s.allow_tiers);
	json_decref(s.live_tags);
	return rc;
}
