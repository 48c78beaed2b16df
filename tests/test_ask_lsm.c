// SPDX-License-Identifier: GPL-2.0
/*
 * explain for secret files against the real BPF LSM programs (in the QEMU
 * guests): for each path, what explain says is what open() really gets,
 * through the file's own identity, a protected directory above it, a
 * symlink and a hard link made elsewhere; a rotated secret, a tmpfs
 * mounted in a protected directory after start, a bind mount of a
 * protected subdirectory elsewhere and a tmpfs on a plain directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include "fixture.h"
#include "test.h"

static const char *const cgs[] = { "agents/staging", "agents/dev", "services/prod", "untagged", NULL };

static int op_open(void *path)
{
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static json_t *explain(struct fx *f, const char *cg, const char *path)
{
	char out[16384];

	if (fx_sh(out, sizeof(out), "%s/tierwall --socket %s --json explain --cgroup %s %s 2>&1",
		  tw_build_dir, f->sock, cg, path)) {
		printf("    explain %s %s: %s\n", cg, path, out);
		return NULL;
	}
	return json_loads(out, 0, NULL);
}

/* explain's verdict and the kernel's for cg opening path; both must be want. */
static void agree(struct fx *f, const char *cg, const char *path, const char *want, const char *rule)
{
	json_t *r = explain(f, cg, path);
	const char *v = json_string_value(json_object_get(r, "verdict"));
	char what[PATH_MAX + 64];
	int rc = fx_do(f, cg, op_open, (void *)path, NULL);

	snprintf(what, sizeof(what), "%s opens %s", cg, path);
	ASSERT_STREQ(v, want, what);
	ASSERT_EQ(rc == EPERM, !strcmp(want, "deny"), what);
	if (rule)
		ASSERT_STREQ(json_string_value(json_object_get(r, "rule")), rule, what);
	json_decref(r);
}

TEST(lsm_explain_secret_files_agrees_with_open)
{
	char why[256], policy[4096], dir[PATH_MAX], key[PATH_MAX + 32], deep[PATH_MAX + 64];
	char link_[PATH_MAX + 32], hard[PATH_MAX + 32], plain[PATH_MAX + 32], out[4096];
	struct fx f;
	json_t *r;

	memset(&f, 0, sizeof(f));
	if (geteuid()) {
		tw_test_skip("needs root");
		return;
	}
	if (!fx_lsm_usable(why, sizeof(why))) {
		tw_test_skip("BPF LSM cannot be used on this kernel (%s); tests/vm runs these in QEMU guests", why);
		return;
	}
	if (!ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	snprintf(dir, sizeof(dir), "%s/secrets/prod", f.tmp);
	snprintf(key, sizeof(key), "%s/db.key", dir);
	snprintf(deep, sizeof(deep), "%s/a/b/c/token", dir);
	snprintf(link_, sizeof(link_), "%s/key-link", f.tmp);
	snprintf(hard, sizeof(hard), "%s/hard", f.tmp);
	snprintf(plain, sizeof(plain), "%s/notes.txt", f.tmp);
	fx_sh(NULL, 0, "mkdir -p %s/a/b/c && echo pw > %s && echo t > %s && echo n > %s && "
	      "ln -s %s %s && ln %s %s && chmod 755 %s", dir, key, deep, plain, key, link_, key, hard, f.tmp);
	snprintf(policy, sizeof(policy),
"{ \"version\": 1,\n"
"  \"tiers\": { \"dev\": {\"mode\": \"audit\"}, \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/agents/dev\", \"tier\": \"dev\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/\", \"%s/single\"]} ] }\n", dir, f.tmp);
	fx_sh(NULL, 0, "echo s > %s/single", f.tmp);
	fx_write_policy(&f, policy);
	if (fx_start(&f, NULL)) {
		fx_sh(out, sizeof(out), "tail -c 2000 %s", f.daemon_out);
		TW_FAILED("tierwalld did not start: %s", out);
		goto out;
	}
	agree(&f, "/agents/staging", key, "deny", "secrets[0].paths[0]");
	agree(&f, "/agents/staging", deep, "deny", "secrets[0].paths[0]");	/* the parent walk */
	agree(&f, "/agents/staging", link_, "deny", "secrets[0].paths[0]");	/* by identity */
	agree(&f, "/agents/staging", hard, "deny", "secrets[0].paths[0]");	/* a name outside the dir */
	snprintf(why, sizeof(why), "%s/single", f.tmp);
	agree(&f, "/agents/staging", why, "deny", "secrets[0].paths[1]");	/* a single file */
	agree(&f, "/agents/staging", plain, "allow", NULL);			/* positive controls */
	agree(&f, "/services/prod", key, "allow", "secrets[0].paths[0]");
	agree(&f, "/untagged", key, "allow", NULL);
	agree(&f, "/agents/dev", key, "audit", "secrets[0].paths[0]");
	r = explain(&f, "/agents/staging", key);
	ASSERT_STREQ(json_string_value(json_object_get(r, "target_tier")), "prod", "owned by prod");
	ASSERT_CONTAINS(json_string_value(json_object_get(r, "secret")), "/secrets/prod", "the secret path");
	json_decref(r);
out:
	fx_cleanup(&f);
}

/* What the names and mounts the hooks follow do to explain's answers. */
TEST(lsm_explain_follows_rotation_and_mounts)
{
	char policy[4096], dir[PATH_MAX], p[PATH_MAX + 64], q[PATH_MAX + 64], out[4096];
	const char *rule = "secrets[0].paths[0]";
	struct fx f;
	json_t *e;

	memset(&f, 0, sizeof(f));
	if (!fx_lsm_ready())
		return;
	if (!ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	snprintf(dir, sizeof(dir), "%s/secrets/prod", f.tmp);
	fx_sh(NULL, 0, "mkdir -p %s/sub/deep %s/tm %s/plain %s/bind && echo s > %s/single && "
	      "echo t > %s/sub/deep/token && chmod 755 %s", dir, dir, f.tmp, f.tmp, f.tmp, dir, f.tmp);
	snprintf(policy, sizeof(policy),
"{ \"version\": 1,\n"
"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/\", \"%s/single\"]} ] }\n", dir, f.tmp);
	fx_write_policy(&f, policy);
	if (fx_start(&f, NULL)) {
		fx_sh(out, sizeof(out), "tail -c 2000 %s", f.daemon_out);
		TW_FAILED("tierwalld did not start: %s", out);
		goto out;
	}
	/* Rotated by rename: the new inode at the rule's name, once the daemon re-resolved it. */
	fx_sh(NULL, 0, "echo new > %s/single.new && mv %s/single.new %s/single", f.tmp, f.tmp, f.tmp);
	snprintf(p, sizeof(p), "%s/single", f.tmp);
	e = fx_await_daemon_event(&f, "secret_rotated");
	ASSERT_TRUE(e != NULL, "the daemon re-resolved the rotated secret");
	json_decref(e);
	agree(&f, "/agents/staging", p, "deny", "secrets[0].paths[1]");
	agree(&f, "/services/prod", p, "allow", "secrets[0].paths[1]");
	/* A tmpfs mounted in the protected directory after start: its root was learned. */
	snprintf(p, sizeof(p), "%s/tm", dir);
	if (!ASSERT_OK(mount("none", p, "tmpfs", 0, NULL), "mount a tmpfs in the protected directory"))
		goto out;
	snprintf(q, sizeof(q), "%s/tm/x", dir);
	fx_sh(NULL, 0, "echo x > %s", q);
	agree(&f, "/agents/staging", q, "deny", rule);
	agree(&f, "/services/prod", q, "allow", rule);
	/* A protected subdirectory bound elsewhere: its parents are walked where they are. */
	snprintf(p, sizeof(p), "%s/sub", dir);
	snprintf(q, sizeof(q), "%s/bind", f.tmp);
	if (!ASSERT_OK(mount(p, q, NULL, MS_BIND, NULL), "bind the subdirectory"))
		goto out;
	/* Made after start: found only by the walk, not by its own identity. */
	fx_sh(NULL, 0, "echo l > %s/sub/deep/late", dir);
	snprintf(q, sizeof(q), "%s/bind/deep/late", f.tmp);
	agree(&f, "/agents/staging", q, "deny", rule);
	/* Positive control: a tmpfs on a plain directory protects nothing. */
	snprintf(p, sizeof(p), "%s/plain", f.tmp);
	if (!ASSERT_OK(mount("none", p, "tmpfs", 0, NULL), "mount a tmpfs on a plain directory"))
		goto out;
	snprintf(q, sizeof(q), "%s/plain/y", f.tmp);
	fx_sh(NULL, 0, "echo y > %s", q);
	agree(&f, "/agents/staging", q, "allow", NULL);
out:
	fx_sh(NULL, 0, "umount %s/plain %s/bind %s/tm 2>/dev/null", f.tmp, f.tmp, dir);
	fx_cleanup(&f);
}

/*
 * A name on a rule's path changed and the path cannot be resolved again
 * (a file where a directory was): until it can, what arrived there is
 * refused to other tiers, and explain says it would be re-resolved.
 */
TEST(lsm_explain_says_when_a_name_would_be_re_resolved)
{
	char policy[4096], d[PATH_MAX], p[PATH_MAX + 64], out[4096];
	const char *reason;
	struct fx f;
	json_t *r;

	memset(&f, 0, sizeof(f));
	if (!fx_lsm_ready())
		return;
	if (!ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	snprintf(d, sizeof(d), "%s/d", f.tmp);
	fx_sh(NULL, 0, "mkdir -p %s/sub && echo k > %s/sub/key && chmod 755 %s", d, d, f.tmp);
	snprintf(policy, sizeof(policy),
"{ \"version\": 1,\n"
"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/sub/key\"]} ] }\n", d);
	fx_write_policy(&f, policy);
	if (fx_start(&f, NULL)) {
		fx_sh(out, sizeof(out), "tail -c 2000 %s", f.daemon_out);
		TW_FAILED("tierwalld did not start: %s", out);
		goto out;
	}
	/* sub becomes a file: the path ends in ENOTDIR, and the name stays stale. */
	fx_sh(NULL, 0, "mv %s/sub %s/sub.old && echo x > %s/f && mv %s/f %s/sub && echo o > %s/other",
	      d, d, d, d, d, d);
	ASSERT_TRUE(fx_await_output(&f, "cannot resolve"), "the daemon tried to re-resolve the path");
	snprintf(p, sizeof(p), "%s/sub", d);
	agree(&f, "/agents/staging", p, "deny", "secrets[0].paths[0]");
	agree(&f, "/services/prod", p, "allow", "secrets[0].paths[0]");
	r = explain(&f, "/agents/staging", p);
	reason = json_string_value(json_object_get(r, "reason"));
	ASSERT_CONTAINS(reason ?: "", "re-resolved", "explain says why");
	json_decref(r);
	/* Positive control: a new name beside it is nobody's. */
	snprintf(p, sizeof(p), "%s/other", d);
	agree(&f, "/agents/staging", p, "allow", NULL);
out:
	fx_cleanup(&f);
}
