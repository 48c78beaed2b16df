// SPDX-License-Identifier: GPL-2.0
/*
 * Runs and drift where BPF LSM enforces secret files (the QEMU guests):
 * `tierwall run` against a real secret file in enforce and audit mode, and
 * a copy of a prod key below a drift root, found and then refused to
 * staging like the original, while prod and untagged processes read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "fixture.h"
#include "runhelp.h"
#include "test.h"

static const char *const cgroups[] = { "agents/staging", "services/prod", "untagged", NULL };

struct lw {
	struct fx f;
	char key[PATH_MAX + 32], line[96], drift[PATH_MAX + 32];
};

static bool lsm_world(struct lw *w)
{
	char pem[1024], policy[2048], path[PATH_MAX + 64], out[4096];
	int err;

	memset(w, 0, sizeof(*w));
	if (!fx_lsm_ready() || !ASSERT_OK(fx_init(&w->f, cgroups), "fixture"))
		return false;
	snprintf(path, sizeof(path), "%s/prod", w->f.tmp);
	mkdir(path, 0755);
	snprintf(w->drift, sizeof(w->drift), "%s/drift", w->f.tmp);
	mkdir(w->drift, 0755);
	rand_pem(pem, w->line);
	snprintf(w->key, sizeof(w->key), "%s/prod/db.key", w->f.tmp);
	write_text_file(w->key, pem);
	snprintf(path, sizeof(path), "%s/early.key", w->drift);
	write_text_file(path, pem);	/* a copy made before the daemon starts */
	snprintf(policy, sizeof(policy),
"{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}},\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/prod/\"]} ],\n"
"  \"drift\": {\"roots\": [\"%s\"]} }\n", w->f.tmp, w->drift);
	fx_write_policy(&w->f, policy);
	err = fx_start(&w->f, NULL);
	if (err) {
		fx_sh(out, sizeof(out), "tail -c 2000 %s", w->f.daemon_out);
		TW_FAILED("tierwalld did not start (%d): %s", err, out);
		return false;
	}
	return true;
}

TEST(lsm_run_enforce_and_audit_secret_file)
{
	char out[16384];
	json_t *s = NULL, *row;
	struct lw w;

	if (!lsm_world(&w))
		goto out;
	ASSERT_EQ(run_cli(&w.f, NULL, out, sizeof(out), "run --json --tier staging -- cat %s", w.key), 1,
		  "enforce: cat is refused and exits 1");
	ASSERT_TRUE(!strstr(out, w.line), "nothing of the key was printed");
	s = run_summary(out);
	row = run_row(s, 0);
	ASSERT_EQ(json_integer_value(json_object_get(s, "attempts")), 1, "one attempt");
	ASSERT_STREQ(json_string_value(json_object_get(row, "kind")), "file", "kind");
	ASSERT_STREQ(json_string_value(json_object_get(row, "verdict")), "deny", "verdict");
	ASSERT_STREQ(json_string_value(json_object_get(row, "target_tier")), "prod", "target tier");
	ASSERT_CONTAINS(json_string_value(json_object_get(row, "target")), "db.key", "target");
	ASSERT_STREQ(json_string_value(json_object_get(row, "rule")), "secrets[0].paths[0]", "rule");
	json_decref(s);

	ASSERT_EQ(run_cli(&w.f, NULL, out, sizeof(out), "run --json --audit --tier staging -- cat %s",
			  w.key), 3, "audit: cat reads it, exit 3");
	ASSERT_CONTAINS(out, w.line, "the key came through stdout");
	s = run_summary(out);
	ASSERT_STREQ(json_string_value(json_object_get(run_row(s, 0), "verdict")), "audit", "audited");
	ASSERT_EQ(json_integer_value(json_object_get(s, "command_status")), 0, "cat's own status");
	json_decref(s);

	ASSERT_EQ(run_cli(&w.f, NULL, out, sizeof(out), "run --json --tier prod -- cat %s", w.key), 0,
		  "prod reads its own key");
	s = run_summary(out);
	ASSERT_EQ(json_integer_value(json_object_get(s, "attempts")), 0, "no attempt");
out:
	json_decref(s);
	fx_cleanup(&w.f);
}

static int op_read(void *a)
{
	char buf[64];
	int fd = open(a, O_RDONLY), n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* A copy is found, then refused to staging; prod and untagged processes still read it. */
static void copy_refused(struct lw *w, const char *path, const char *what)
{
	json_t *r = wait_record(&w->f, "drift", "path", path);

	if (!ASSERT_TRUE(r != NULL, what))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(r, "match")), "file", "a whole copy");
	ASSERT_TRUE(json_is_true(json_object_get(r, "protected")), "protected as prod's secret");
	ASSERT_STREQ(json_string_value(json_object_get(r, "copies")), w->key, "of prod's key");
	json_decref(r);
	ASSERT_EQ(fx_do(&w->f, "agents/staging", op_read, (void *)path, NULL), EPERM,
		  "staging is refused the copy");
	ASSERT_EQ(fx_do(&w->f, "services/prod", op_read, (void *)path, NULL), 0, "prod reads it");
	ASSERT_EQ(fx_do(&w->f, "untagged", op_read, (void *)path, NULL), 0, "untagged reads it");
}

TEST(lsm_drift_copy_refused)
{
	char path[PATH_MAX + 64], text[256];
	struct lw w;
	json_t *r;

	if (!lsm_world(&w))
		goto out;
	snprintf(path, sizeof(path), "%s/early.key", w.drift);
	copy_refused(&w, path, "the copy made before the start");
	snprintf(path, sizeof(path), "%s/late.key", w.drift);
	ASSERT_EQ(fx_sh(NULL, 0, "cp %s %s", w.key, path), 0, "cp");
	copy_refused(&w, path, "a copy made while the daemon runs");

	/* Positive controls: a file of no one's, and a pasted line (reported, not protected). */
	snprintf(path, sizeof(path), "%s/notes.txt", w.drift);
	write_text_file(path, "nothing secret\n");
	ASSERT_EQ(fx_do(&w.f, "agents/staging", op_read, path, NULL), 0, "staging reads other files");
	snprintf(path, sizeof(path), "%s/app.env", w.drift);
	snprintf(text, sizeof(text), "LOG=debug\nKEY=%s\n", w.line);
	write_text_file(path, text);
	r = wait_record(&w.f, "drift", "path", path);
	ASSERT_TRUE(r && json_is_false(json_object_get(r, "protected")), "a pasted line is reported");
	json_decref(r);
	ASSERT_EQ(fx_do(&w.f, "agents/staging", op_read, path, NULL), 0,
		  "and stays readable (only whole copies join the secrets)");
	ASSERT_TRUE(count_records(&w.f, "file") >= 2, "the refusals are file records");
out:
	fx_cleanup(&w.f);
}

TEST(lsm_run_cannot_leave_its_cgroup)
{
	char out[16384];
	json_t *s = NULL;
	struct lw w;

	if (!lsm_world(&w))
		goto out;
	/* Out of the run into an untagged cgroup: its tier, and its summary, left behind. */
	run_cli(&w.f, NULL, out, sizeof(out), "run --json --tier staging -- sh -c "
		"'echo $$ > %s/untagged/cgroup.procs; cat /proc/self/cgroup'", w.f.root);
	ASSERT_CONTAINS(out, "/run-", "the move was refused: the command stayed in the run's cgroup");
	s = run_summary(out);
	ASSERT_EQ(json_integer_value(json_object_get(s, "attempts")), 1, "one attempt");
	ASSERT_STREQ(json_string_value(json_object_get(run_row(s, 0), "kind")), "tamper",
		     "a tamper record, counted in the run's summary");
out:
	json_decref(s);
	fx_cleanup(&w.f);
}
