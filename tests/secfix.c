// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "secfix.h"
#include "test.h"
#include "util.h"

static const char *const sec_cgroups[] = {
	"agents/staging", "services/prod", "untagged", NULL
};

/* The paths of s's files, below its f.tmp. */
static void sec_paths(struct sec *s)
{
	const char *t = s->f.tmp;

	snprintf(s->tls, sizeof(s->tls), "%s/tls", t);
	snprintf(s->key, sizeof(s->key), "%s/tls/key.pem", t);
	snprintf(s->other, sizeof(s->other), "%s/tls/other.txt", t);
	snprintf(s->live, sizeof(s->live), "%s/live/site/privkey.pem", t);
	snprintf(s->cert1, sizeof(s->cert1), "%s/archive/site/privkey1.pem", t);
	snprintf(s->readme_link, sizeof(s->readme_link), "%s/live/site/README", t);
	snprintf(s->vol, sizeof(s->vol), "%s/vol/", t);
	snprintf(s->svc, sizeof(s->svc), "%s/svc/prod/", t);
	snprintf(s->notes, sizeof(s->notes), "%s/notes.txt", t);
}

/* The files in dir, before the daemon starts. */
static int sec_files(const char *dir)
{
	struct sec s;

	memset(&s, 0, sizeof(s));
	snprintf(s.f.tmp, sizeof(s.f.tmp), "%s", dir);
	sec_paths(&s);
	fx_sh(NULL, 0, "mkdir -p %s %s/live/site %s/archive/site %s %s", s.tls, dir, dir, s.vol, s.svc);
	return sec_write(s.key, "key v1\n") || sec_write(s.other, "other\n") ||
	       sec_write(s.cert1, "cert 1\n") || sec_write(s.notes, "notes\n") ||
	       symlink("../../archive/site/privkey1.pem", s.live) ||
	       symlink("../../notes.txt", s.readme_link) ? -EIO : 0;
}

/* The policy: one rule of each kind on the files in dir, and more prod paths (", \"...\""). */
static void sec_policy_in(char *buf, size_t len, const char *dir, const char *more)
{
	snprintf(buf, len,
"{ \"version\": 1,\n"
"  \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"} ],\n"
"  \"secrets\": [ {\"tier\": \"prod\", \"paths\": [\"%s/tls/key.pem\", \"%s/live/site/privkey.pem\", \"%s/vol/\", \"%s/svc/prod/\"%s]} ] }\n",
		 dir, dir, dir, dir, more);
}

static void sec_group_policy(char *buf, size_t len)
{
	sec_policy_in(buf, len, "@SLOT@", "");
}

bool sec_init(struct sec *s)
{
	struct fx *f = &s->f;

	memset(s, 0, sizeof(*s));
	if (!fx_lsm_ready())
		return false;
	if (!ASSERT_OK(fx_init(f, sec_cgroups), "fixture"))
		return false;
	sec_paths(s);
	return ASSERT_OK(sec_files(f->tmp), "the files");
}

void sec_policy(struct sec *s, const char *const *more)
{
	char policy[8192], extra[4096] = "";
	size_t n = 0;

	for (; more && *more; more++)
		n += snprintf(extra + n, sizeof(extra) - n, ", \"%s\"", *more);
	sec_policy_in(policy, sizeof(policy), s->f.tmp, extra);
	fx_write_policy(&s->f, policy);
}

bool sec_run(struct sec *s, const char *const *more)
{
	sec_policy(s, more);
	return fx_started(&s->f, NULL);
}

bool sec_start(struct sec *s)
{
	return sec_init(s) && sec_run(s, NULL);
}

bool sec_share(struct sec *s)
{
	static const struct fx_group sec = {
		.name = "sec", .cgroups = sec_cgroups, .policy = sec_group_policy,
		.files = sec_files, .slots = 5,
	};

	if (!fx_lsm_share(&s->f, &sec))
		return false;
	sec_paths(s);
	return true;
}

static bool is_str(json_t *o, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v && !strcmp(v, want);
}

static bool file_of(json_t *o, const void *arg)
{
	return is_str(o, "kind", "file") && json_integer_value(json_object_get(o, "pid")) == *(const pid_t *)arg;
}

static bool rotated_to(json_t *o, const void *arg)
{
	return is_str(o, "event", "secret_rotated") &&
	       json_integer_value(json_object_get(o, "ino")) == (json_int_t)*(const ino_t *)arg;
}

void sec_check_event(struct sec *s, pid_t pid, const char *op, const char *file, const char *secret)
{
	json_t *e = fx_await_decision(&s->f, file_of, &pid);
	struct stat st;

	if (!ASSERT_TRUE(e != NULL, "the refusal is an event"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(e, "verdict")), "deny", "event verdict");
	ASSERT_STREQ(json_string_value(json_object_get(e, "tier")), "staging", "event tier");
	ASSERT_STREQ(json_string_value(json_object_get(e, "target_tier")), "prod", "event target_tier");
	ASSERT_STREQ(json_string_value(json_object_get(e, "secret")), secret, "event secret");
	ASSERT_TRUE(json_string_value(json_object_get(e, "rule")) != NULL, "event rule");
	ASSERT_TRUE(json_string_value(json_object_get(e, "op")) != NULL, "event op");
	ASSERT_TRUE(json_string_value(json_object_get(e, "path")) != NULL, "event path");
	if (op)
		ASSERT_STREQ(json_string_value(json_object_get(e, "op")), op, "event op");
	if (file && !stat(file, &st))
		ASSERT_EQ(json_integer_value(json_object_get(e, "ino")), st.st_ino, "event ino");
	json_decref(e);
}

void sec_check_rotated(struct sec *s, const char *file)
{
	json_t *e;
	struct stat st;

	if (!ASSERT_OK(stat(file, &st) ? -errno : 0, "stat the new secret"))
		return;
	e = fx_await(&s->f, rotated_to, &st.st_ino);
	if (!ASSERT_TRUE(e != NULL, "a secret_rotated event names the new inode"))
		return;
	ASSERT_TRUE(json_string_value(json_object_get(e, "path")) != NULL, "rotated: path");
	ASSERT_TRUE(json_string_value(json_object_get(e, "rule")) != NULL, "rotated: rule");
	ASSERT_TRUE(json_object_get(e, "previous_ino") != NULL, "rotated: previous_ino");
	json_decref(e);
}
