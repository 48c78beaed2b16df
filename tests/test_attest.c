// SPDX-License-Identifier: GPL-2.0
/*
 * Attestation and credential drift on the host: the credential rule and the
 * endpoint finder on their own, then the real daemon (--network-only: the
 * fingerprints need file reads, not BPF LSM) refusing to start commands
 * whose environment, arguments or --attest files hold prod's secrets or
 * endpoints, and finding copies of secrets below a drift root, at start and
 * as they are written. That a copy is refused like the original is tested
 * where BPF LSM runs (test_lsm_runs.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "compile.h"
#include "ctl.h"
#include "endpoints.h"
#include "fingerprint.h"
#include "fixture.h"
#include "policy.h"
#include "runhelp.h"
#include "schema.h"
#include "std.h"
#include "test.h"
#include "util.h"

TEST(unit_fingerprint_credential_rule)
{
	static const char *const yes[] = {
		"4eC39HqLyjWDarjtT1zdp7dc", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"16C7e42F292c6912E7710c838347Ae178B4a", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
		"MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
	};
	static const char *const no[] = {
		"FEATURE_FLAG_v2_enabled", "us-east-1.amazonaws.com", "2026-11-23T13:00:00.123456Z",
		"550e8400-e29b-41d4-a716-446655440000", "/usr/lib/x86_64-linux-gnu/libc.so.6",
		"-----BEGIN PRIVATE KEY-----", "aaaaaaaaaaaaaaaaaaaa1111", "configurationmanagementservice",
		"abcdefghijklmnopqrstuvwxyz0123456789", "4eC39HqLyjWDarjtT1z", "ubuntu-22.04-server-cloudimg",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++)
		if (!tw_fp_is_credential(yes[i], strlen(yes[i])))
			TW_FAILED("\"%s\" is a credential", yes[i]);
	for (i = 0; i < ARRAY_SIZE(no); i++)
		if (tw_fp_is_credential(no[i], strlen(no[i])))
			TW_FAILED("\"%s\" is no credential", no[i]);
}

struct hits {
	char text[4096];
};

static void on_ep(void *arg, const struct tw_ep_hit *h)
{
	struct hits *x = arg;

	snprintf(x->text + strlen(x->text), sizeof(x->text) - strlen(x->text), "%ld %s %s %d %s\n",
		 h->line, h->what, h->value, h->tier, h->rule);
}

TEST(unit_endpoints_in_urls_and_dsns)
{
	const char *policy =
		"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
		"  \"destinations\": [\n"
		"    {\"tier\": \"prod\", \"cidrs\": [\"10.20.0.0/16\", \"fd00:20::/32\"], \"hostnames\": [\"feed-db.prod.example\"]},\n"
		"    {\"tier\": \"prod\", \"cidrs\": [\"10.21.0.0/16\"], \"ports\": [5432], \"hostnames\": [\"*.prod.example\"]},\n"
		"    {\"tier\": \"staging\", \"cidrs\": [\"10.30.0.0/16\"], \"hostnames\": [\"db.staging.example\"]} ] }\n";
	const char *text =
		"DATABASE_URL=postgres://app:pw@FEED-DB.prod.example.:5432/feed\n"	/* 1 */
		"api=https://API.Prod.Example/v1 apex=prod.example\n"			/* 2 */
		"own=db.staging.example:5432 other=example.com\n"			/* 3 */
		"jdbc:postgresql://10.20.4.5:5432/db\n"					/* 4 */
		"scoped=10.21.0.9:5432 unscoped=10.21.0.9:22 bare=10.21.0.9\n"	/* 5 */
		"v6=[fd00:20::5]:443 mapped=::ffff:10.20.0.1 own=10.30.1.1\n"		/* 6 */
		"version 1.2.3.4.5 at 12:30:45\n";					/* 7 */
	const char *want =
		"1 hostname feed-db.prod.example 2 destinations[0].hostnames[0]\n"
		"2 hostname api.prod.example 2 destinations[1].hostnames[0]\n"
		"4 address 10.20.4.5 2 destinations[0].cidrs[0]\n"
		"5 address 10.21.0.9 2 destinations[1].cidrs[0]\n"
		"6 address 10.20.0.1 2 destinations[0].cidrs[0]\n"
		"6 address fd00:20::5 2 destinations[0].cidrs[1]\n";
	struct tw_diags d = {};
	struct tw_tables t = {};
	struct tw_policy *p = NULL;
	struct hits h = {};

	tw_policy_parse("t.json", policy, strlen(policy), &p, &d);
	tw_diags_print(&d, stdout);
	if (!ASSERT_TRUE(p && !tw_compile(p, &t, &d), "policy"))
		goto out;
	tw_ep_scan(p, &t, NULL, text, strlen(text), 1, 1, on_ep, &h);
	ASSERT_STREQ(h.text, want, "prod's names and addresses, wherever they stand; nothing else");
out:
	tw_tables_free(&t);
	tw_policy_free(p);
	tw_diags_free(&d);
}

static void on_fp(void *arg, const struct tw_fp_hit *h)
{
	struct hits *x = arg;

	snprintf(x->text + strlen(x->text), sizeof(x->text) - strlen(x->text), "%ld %d %d\n",
		 h->line, h->kind, h->tier);
}

/* A line is read to its end: a token that matches nothing does not hide a later one. */
TEST(unit_fingerprint_scan_reads_every_token)
{
	char dir[] = "/tmp/tw-fp-XXXXXX", path[64], policy[512], text[256];
	const char *token = "Qm7Rt2Kx9PzL4vWc8NbY3JhD", *decoy = "4eC39HqLyjWDarjtT1zdp7dc";
	struct tw_diags d = {};
	struct tw_policy *p = NULL;
	struct tw_fp *x = NULL;
	struct hits h = {};

	if (!ASSERT_TRUE(mkdtemp(dir) != NULL, "tmp dir"))
		return;
	snprintf(path, sizeof(path), "%s/app.env", dir);
	snprintf(text, sizeof(text), "LOG_LEVEL=debug\nAPI_TOKEN=%s\n", token);
	write_text_file(path, text);
	snprintf(policy, sizeof(policy), "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
		 "  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s\"]} ] }\n", path);
	tw_policy_parse("t.json", policy, strlen(policy), &p, &d);
	tw_diags_print(&d, stdout);
	if (!ASSERT_TRUE(p != NULL, "policy") || !ASSERT_OK(tw_fp_build(&x, p), "fingerprints"))
		goto out;
	/* Line 2: a credential token that is nobody's first, prod's after it. */
	ASSERT_TRUE(tw_fp_is_credential(decoy, strlen(decoy)), "the first is a token too");
	snprintf(text, sizeof(text), "PORT=8080\nKEYS: %s %s\n", decoy, token);
	tw_fp_scan(x, text, strlen(text), 1, true, 0, on_fp, &h);
	snprintf(text, sizeof(text), "2 %d 2\n", TW_FP_TOKEN);
	ASSERT_STREQ(h.text, text, "prod's token found after one that matches nothing");
out:
	tw_fp_free(x);
	tw_policy_free(p);
	tw_diags_free(&d);
	fx_sh(NULL, 0, "rm -rf %s", dir);
}

/* ---- the real daemon ---- */

struct world {
	struct fx f;
	char pem[PATH_MAX + 32], pem_line[96], token[64], shared[64], own[64], stage_env[PATH_MAX + 32];
	char drift[PATH_MAX + 32], marker[PATH_MAX + 32];
};

static const char *const cgroups[] = { "agents/staging", "services/prod", NULL };

/* prod's secrets: a PEM key and an env file; staging's: a key file sharing one token. */
static bool world_start(struct world *w, bool drift)
{
	char pem[1024], line[96], text[1024], policy[4096], path[PATH_MAX + 64], out[4096];
	int err;

	memset(w, 0, sizeof(*w));
	if (!can_run() || !ASSERT_OK(fx_init(&w->f, cgroups), "fixture"))
		return false;
	snprintf(path, sizeof(path), "%s/prod", w->f.tmp);
	mkdir(path, 0700);
	snprintf(w->drift, sizeof(w->drift), "%s/drift", w->f.tmp);
	mkdir(w->drift, 0755);
	rand_pem(pem, w->pem_line);
	snprintf(w->pem, sizeof(w->pem), "%s/prod/db.pem", w->f.tmp);
	write_text_file(w->pem, pem);
	rand_token(w->token, 24);
	rand_token(w->shared, 24);
	rand_token(w->own, 24);
	snprintf(text, sizeof(text), "LOG_LEVEL=debug\nREGION=eu-west-1\n\nSHARED_CA=%s\nAPI_TOKEN=sk_live_%s\n",
		 w->shared, w->token);
	snprintf(path, sizeof(path), "%s/prod/app.env", w->f.tmp);
	write_text_file(path, text);
	snprintf(text, sizeof(text), "SHARED_CA=%s\nSTAGING_TOKEN=%s\n", w->shared, w->own);
	snprintf(path, sizeof(path), "%s/staging.key", w->f.tmp);
	write_text_file(path, text);
	/* What a staging .env looks like: its own key, PEM armour and the same common lines. */
	rand_token(line, 48);
	snprintf(text, sizeof(text), "# staging settings\n-----BEGIN PRIVATE KEY-----\n%s\n"
		 "-----END PRIVATE KEY-----\n\nLOG_LEVEL=debug\nREGION=eu-west-1\n"
		 "DB=postgres://app@db.staging.example:5432/app\n", line);
	snprintf(w->stage_env, sizeof(w->stage_env), "%s/staging.env", w->f.tmp);
	write_text_file(w->stage_env, text);
	snprintf(w->marker, sizeof(w->marker), "%s/ran", w->f.tmp);
	snprintf(policy, sizeof(policy),
"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"destinations\": [ {\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\", \"fd00:20::/32\"],\n"
"                       \"hostnames\": [\"*.prod.example\"]},\n"
"                      {\"tier\": \"staging\", \"cidrs\": [\"127.30.0.0/16\"],\n"
"                       \"hostnames\": [\"*.staging.example\"]} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/prod/\"]},\n"
"                {\"tier\": \"staging\", \"paths\": [\"%s/staging.key\"]} ]%s%s%s }\n",
		 w->f.tmp, w->f.tmp, drift ? ",\n  \"drift\": {\"roots\": [\"" : "", drift ? w->drift : "",
		 drift ? "/\"]}" : "");
	fx_write_policy(&w->f, policy);
	if (drift) {	/* a copy there before the daemon starts: found by the first scan */
		snprintf(path, sizeof(path), "%s/early.pem", w->drift);
		write_text_file(path, pem);
	}
	err = fx_start(&w->f, (const char *const[]){ "--network-only", NULL });
	if (err) {
		fx_sh(out, sizeof(out), "tail -c 2000 %s", w->f.daemon_out);
		TW_FAILED("tierwalld did not start (%d): %s", err, out);
		return false;
	}
	return true;
}

/* `tierwall run` with NAME=VALUE in its environment. */
static int run_env(struct world *w, const char *env, char *out, size_t len, const char *args)
{
	unlink(w->marker);
	return fx_sh(out, len, "export %s; exec %s/tierwall --socket %s run %s -- touch %s", env,
		     tw_build_dir, w->f.sock, args, w->marker);
}

static void refused(struct world *w, int rc, const char *out, const char *where, const char *what,
		    const char *secret)
{
	ASSERT_EQ(rc, 78, where);
	ASSERT_CONTAINS(out, where, "the finding names where");
	ASSERT_CONTAINS(out, what, "and what, and whose");
	if (secret && strstr(out, secret))
		TW_FAILED("%s: the secret itself was printed", where);
	ASSERT_TRUE(access(w->marker, F_OK), "the command was not started");
}

TEST(attest_refuses_other_tiers_credentials_and_endpoints)
{
	char out[8192], env[512], bad[PATH_MAX + 32], text[256];
	struct world w;
	json_t *s;
	int rc;

	if (!world_start(&w, false))
		goto out;
	rc = fx_sh(out, sizeof(out), "exec %s/tierwall --socket %s run --tier staging --attest %s -- "
		   "touch %s", tw_build_dir, w.f.sock, w.stage_env, w.marker);
	ASSERT_EQ(rc, 0, "a staging .env with PEM armour and common lines: no finding");
	ASSERT_TRUE(!strstr(out, "attest:"), "nothing reported");
	ASSERT_OK(access(w.marker, F_OK), "the command ran");

	snprintf(env, sizeof(env), "PROD_PASTE='%s'", w.pem_line);
	rc = run_env(&w, env, out, sizeof(out), "--tier staging");
	refused(&w, rc, out, "env PROD_PASTE", "a line of tier prod's secret", w.pem_line);

	rc = run_env(&w, "DATABASE_URL='postgres://app@FEED-DB.prod.example.:5432/feed'", out,
		     sizeof(out), "--tier staging");
	refused(&w, rc, out, "env DATABASE_URL", "hostname feed-db.prod.example of tier prod", NULL);

	snprintf(bad, sizeof(bad), "%s/tool.env", w.f.tmp);
	snprintf(text, sizeof(text), "LOG_LEVEL=debug\nSTRIPE_KEY=sk_live_%s\n", w.token);
	write_text_file(bad, text);
	snprintf(env, sizeof(env), "--tier staging --attest %s", bad);
	rc = run_env(&w, "CLEAN=1", out, sizeof(out), env);
	snprintf(text, sizeof(text), "%s:2", bad);
	refused(&w, rc, out, text, "a token of tier prod's secret", w.token);

	rc = run_env(&w, "ADDR='http://[fd00:20::5]:443/'", out, sizeof(out), "--tier staging");
	refused(&w, rc, out, "env ADDR", "address fd00:20::5 of tier prod", NULL);

	/* A token two tiers' secrets share, and the run's own tier's: neither counts. */
	snprintf(env, sizeof(env), "SHARED='%s' OWN='%s'", w.shared, w.own);
	ASSERT_EQ(run_env(&w, env, out, sizeof(out), "--tier staging"), 0,
		  "shared and own-tier secrets are no finding");
	ASSERT_EQ(run_env(&w, env, out, sizeof(out), "--tier prod"), 78,
		  "but staging's token is one for a prod run");

	snprintf(env, sizeof(env), "PROD_PASTE='%s'", w.pem_line);
	ASSERT_EQ(run_env(&w, env, out, sizeof(out), "--tier staging --audit"), 3,
		  "--audit reports the finding and exits 3");
	ASSERT_CONTAINS(out, "env PROD_PASTE", "the finding is reported");
	ASSERT_OK(access(w.marker, F_OK), "and the command ran anyway");

	rc = run_env(&w, env, out, sizeof(out), "--tier staging --json");
	s = run_summary(out);
	ASSERT_EQ(rc, 78, "--json: same refusal");
	ASSERT_EQ(json_is_false(json_object_get(s, "started")), 1, "not started");
	ASSERT_STREQ(json_string_value(json_object_get(s, "exit_from")), "tierwall", "exit from");
	ASSERT_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(s, "findings"), 0),
			"where")), "env PROD_PASTE", "where");
	ASSERT_TRUE(!strstr(out, w.pem_line), "no secret in the JSON either");
	json_decref(s);
out:
	fx_cleanup(&w.f);
}

/* How many fingerprints the daemon holds now (status). */
static long long fingerprints(struct fx *f)
{
	json_t *st = NULL;
	long long n = -1;

	if (!tw_ctl_call(f->sock, json_pack("{s:s}", "cmd", "status"), &st, 3000))
		n = json_integer_value(json_object_get(json_object_get(json_object_get(st, "drift"),
						       "fingerprints"), "fingerprints"));
	json_decref(st);
	return n;
}

TEST(drift_copies_found_at_start_and_as_written)
{
	char path[PATH_MAX + 64], text[512], out[4096];
	struct world w;
	json_t *r = NULL, *st = NULL;
	long long before;

	if (!world_start(&w, true))
		goto out;
	snprintf(path, sizeof(path), "%s/early.pem", w.drift);
	r = wait_record(&w.f, "drift", "path", path);
	if (ASSERT_TRUE(r != NULL, "the copy there before the start is found")) {
		ASSERT_STREQ(json_string_value(json_object_get(r, "target_tier")), "prod", "owner");
		ASSERT_STREQ(json_string_value(json_object_get(r, "copies")), w.pem, "which secret");
		ASSERT_STREQ(json_string_value(json_object_get(r, "rule")), "secrets[0].paths[0]", "rule");
		ASSERT_STREQ(json_string_value(json_object_get(r, "match")), "file", "a whole copy");
		ASSERT_TRUE(json_is_false(json_object_get(r, "protected")), "not protected here");
		ASSERT_STREQ(json_string_value(json_object_get(r, "reason")), "secrets_not_enforced",
			     "because secrets are not enforced (--network-only)");
	}
	json_decref(r);

	/* Written after the start, in a directory made after the start. */
	snprintf(path, sizeof(path), "%s/sub", w.drift);
	mkdir(path, 0755);
	ASSERT_EQ(fx_sh(NULL, 0, "cp %s %s/sub/late.pem", w.pem, w.drift), 0, "cp");
	snprintf(path, sizeof(path), "%s/sub/late.pem", w.drift);
	r = wait_record(&w.f, "drift", "path", path);
	ASSERT_TRUE(r && !strcmp(json_string_value(json_object_get(r, "match")), "file"),
		    "a copy made later, in a new directory");
	json_decref(r);

	snprintf(path, sizeof(path), "%s/app.env", w.drift);
	snprintf(text, sizeof(text), "PORT=8080\nKEY=sk_live_%s\n", w.token);
	write_text_file(path, text);
	r = wait_record(&w.f, "drift", "path", path);
	if (ASSERT_TRUE(r != NULL, "a prod token pasted into an .env")) {
		ASSERT_STREQ(json_string_value(json_object_get(r, "match")), "token", "a token");
		ASSERT_EQ(json_integer_value(json_object_get(r, "line")), 2, "its line");
		ASSERT_STREQ(json_string_value(json_object_get(r, "reason")), "partial_copy", "only reported");
	}
	json_decref(r);

	/* A secret that changes is fingerprinted again. */
	before = fingerprints(&w.f);
	rand_token(text, 24);
	snprintf(out, sizeof(out), "echo 'NEW_TOKEN=%s' >> %s/prod/app.env", text, w.f.tmp);
	ASSERT_EQ(fx_sh(NULL, 0, "%s", out), 0, "a prod secret changes");
	ASSERT_TRUE(FX_UNTIL(fingerprints(&w.f) > before, 60000), "the daemon fingerprinted it again");
	snprintf(path, sizeof(path), "%s/new.env", w.drift);
	snprintf(out, sizeof(out), "X=%s\n", text);
	write_text_file(path, out);
	r = wait_record(&w.f, "drift", "path", path);
	ASSERT_TRUE(r != NULL, "its new token is known");
	json_decref(r);

	snprintf(path, sizeof(path), "%s/notes.txt", w.drift);
	rand_token(text, 24);
	strcat(text, "\nnothing of anyone's\n");
	write_text_file(path, text);
	snprintf(path, sizeof(path), "%s/staging-copy.key", w.drift);
	ASSERT_EQ(fx_sh(NULL, 0, "cp %s/staging.key %s", w.f.tmp, path), 0, "cp");
	r = wait_record(&w.f, "drift", "path", path);
	ASSERT_TRUE(r && !strcmp(json_string_value(json_object_get(r, "target_tier")), "staging"),
		    "every tier's secrets are looked for");
	json_decref(r);
	/* Written before the copy just found: the daemon, taking files in turn, has judged it. */
	snprintf(path, sizeof(path), "%s/notes.txt", w.drift);
	r = read_record(&w.f, "drift", "path", path);
	ASSERT_TRUE(r == NULL, "a file with no one's secret is no drift");
	ASSERT_EQ(count_records(&w.f, "drift"), 5, "one record per copy");
	if (!tw_ctl_call(w.f.sock, json_pack("{s:s}", "cmd", "status"), &st, 3000))
		ASSERT_EQ(json_integer_value(json_object_get(json_object_get(st, "drift"), "copies_found")),
			  5, "status counts them");
	snprintf(path, sizeof(path), "%s/events.jsonl", w.f.log_dir);
	ASSERT_TRUE(schema_check_log("policies/event.schema.json", path) > 0, "schema");
out:
	json_decref(r);
	json_decref(st);
	fx_cleanup(&w.f);
}

/*
 * A FUSE mount nobody serves, moved into a drift root (anyone with
 * fusermount may do this where /tmp is a root): the scan skips it by its
 * cached attributes and never asks the server; copies are still found and
 * the daemon's socket still answers.
 */
TEST(drift_fuse_mount_in_root_never_stalls)
{
	char dir[PATH_MAX + 64], opts[128], path[PATH_MAX + 64];
	bool mounted = false;
	json_t *r = NULL;
	struct world w;
	int fuse = -1;

	if (!world_start(&w, true))
		goto out;
	fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fuse < 0) {
		tw_test_skip("no /dev/fuse: %s", strerror(errno));
		goto out;
	}
	snprintf(dir, sizeof(dir), "%s/outside/mnt", w.f.tmp);
	fx_sh(NULL, 0, "mkdir -p %s", dir);
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse);
	if (!ASSERT_OK(mount("tw-test-fuse", dir, "fuse", 0, opts) ? -errno : 0, "a FUSE mount nobody serves"))
		goto out;
	mounted = true;
	ASSERT_EQ(fx_sh(NULL, 0, "mv %s/outside %s/moved", w.f.tmp, w.drift), 0, "moved into the drift root");
	snprintf(dir, sizeof(dir), "%s/moved/mnt", w.drift);
	ASSERT_EQ(fx_sh(NULL, 0, "cp %s %s/copy2.pem", w.pem, w.drift), 0, "a copy beside it");
	snprintf(path, sizeof(path), "%s/copy2.pem", w.drift);
	r = wait_record(&w.f, "drift", "path", path);
	ASSERT_TRUE(r != NULL, "the copy is found");
	json_decref(r);
	r = NULL;
	ASSERT_OK(tw_ctl_call(w.f.sock, json_pack("{s:s}", "cmd", "status"), &r, 3000), "status answers");
out:
	json_decref(r);
	if (mounted)
		umount2(dir, MNT_DETACH);
	if (fuse >= 0)
		close(fuse);	/* aborts the connection: nothing waits on it any more */
	fx_cleanup(&w.f);
}
