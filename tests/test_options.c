// SPDX-License-Identifier: GPL-2.0
/*
 * tierwalld's options: every bad one refused with exit 2 and a message
 * naming it, before anything is loaded or made; a start refused later
 * (a busy metrics port, a policy cgroup that is missing) exits 1 and
 * leaves nothing behind either: no directory, socket, pin or program.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "fixture.h"
#include "test.h"
#include "util.h"

/* Fresh places for each attempt: none of them exists before it. */
struct places {
	char log[PATH_MAX], state[PATH_MAX], run[PATH_MAX], sock[PATH_MAX + 16];
};

static void places_init(struct fx *f, struct places *p)
{
	snprintf(p->log, sizeof(p->log), "%s/fresh-log", f->tmp);
	snprintf(p->state, sizeof(p->state), "%s/fresh-state", f->tmp);
	snprintf(p->run, sizeof(p->run), "%s/fresh-run", f->tmp);
	snprintf(p->sock, sizeof(p->sock), "%s/ctl.sock", p->run);
}

/* tierwalld with the fixture's policy and root, fresh places, then args; exit status. */
static int daemon_run(struct fx *f, struct places *p, const char *args, char *out, size_t len)
{
	return fx_sh(out, len, "%s/tierwalld --policy %s --cgroup-root %s --log-dir %s --state-dir %s "
		     "--pin-dir %s --socket %s --cri-socket none %s", tw_build_dir, f->policy, f->root,
		     p->log, p->state, f->pin, p->sock, args);
}

/* Nothing of the attempt is left: directories, pins, programs. */
static void nothing_left(struct fx *f, struct places *p, const char *what)
{
	const char *const dirs[] = { p->log, p->state, p->run, f->pin };
	char msg[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(msg, sizeof(msg), "%s: %s was not made", what, dirs[i]);
		ASSERT_TRUE(access(dirs[i], F_OK) && errno == ENOENT, msg);
	}
	snprintf(msg, sizeof(msg), "%s: no program attached", what);
	ASSERT_EQ(fx_cgroup_progs(f->root), 0, msg);
}

static const char policy[] =
	"{\"version\": 1, \"tiers\": {\"prod\": {}, \"dev\": {}},"
	" \"cgroups\": [{\"path\": \"/dev\", \"tier\": \"dev\"}],"
	" \"destinations\": [{\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\"]}]}";

TEST(daemon_bad_options_refused_leave_nothing)
{
	static const char *const bad[][2] = {
		{ "--metrics foo", "--metrics: \"foo\" is not ADDRESS:PORT" },
		{ "--metrics 127.0.0.1:0", "--metrics: \"127.0.0.1:0\"" },
		{ "--metrics ::1:9464", "--metrics: \"::1\" is not an IPv4 address" },
		{ "--rotate-age 1w", "--rotate-age: \"1w\" is not a duration" },
		{ "--rotate-age 24H", "--rotate-age: \"24H\"" },
		{ "--rotate-age -1s", "--rotate-age: \"-1s\"" },
		{ "--seal-epoch 0s", "--seal-epoch: \"0s\"" },
		{ "--dns-grace 8d", "--dns-grace: \"8d\"" },
		{ "--ringbuf-mb 3", "--ringbuf-mb: \"3\"" },
		{ "--rotate-mb 1x", "--rotate-mb: \"1x\"" },
		{ "--keep -1", "--keep: \"-1\"" },
		{ "--keep-mb ''", "--keep-mb: \"\"" },
		{ "--follow-queue-mb 0", "--follow-queue-mb: \"0\"" },
		{ "--flood-window 1s", "--flood-window: \"1s\"" },
		{ "--seal-key /nonexistent/seal.key", "--seal-key: /nonexistent/seal.key: No such file" },
		{ "--group tw-no-such-group", "--group tw-no-such-group: no such group" },
		{ "--cri-socket ''", "--cri-socket: expected a path" },
		{ "--log-dir ''", "--log-dir: expected a path" },
		{ "--pin-dir ''", "--pin-dir: expected a path" },
		{ "--state-dir /nonexistent/state", "--state-dir /nonexistent/state: /nonexistent does not exist" },
		{ "--log-dir /etc/hostname", "--log-dir /etc/hostname: /etc/hostname is not a directory" },
		{ "--socket /nonexistent/run/ctl.sock", "--socket /nonexistent/run/ctl.sock: /nonexistent does not exist" },
		{ "--socket /tmp/" "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock", "longer than 107 characters" },
		{ "--policy /nonexistent/policy.json", "--policy /nonexistent/policy.json: No such file" },
		{ "--policy /tmp", "--policy /tmp: not a regular file" },
		{ "--cgroup-root /tmp", "--cgroup-root /tmp is not a directory of the cgroup2 hierarchy" },
		{ "stray", "unexpected argument \"stray\"" },
	};
	char out[4096];
	struct places p;
	struct fx f;
	size_t i;

	if (!ASSERT_OK(fx_init(&f, (const char *const[]){ "dev", NULL }), "fixture") ||
	    !ASSERT_OK(fx_write_policy(&f, policy), "policy"))
		goto out;
	places_init(&f, &p);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(daemon_run(&f, &p, bad[i][0], out, sizeof(out)), 2, bad[i][0]);
		ASSERT_CONTAINS(out, bad[i][1], bad[i][0]);
		nothing_left(&f, &p, bad[i][0]);
	}
	/* The same places are made by a start that is not refused: the checks above can fail. */
	{
		const char *const extra[] = { "--log-dir", p.log, "--state-dir", p.state,
					      "--cri-socket", "none", NULL };

		snprintf(f.sock, sizeof(f.sock), "%s", p.sock);	/* where fx_start waits for it */
		if (fx_started(&f, extra)) {
			ASSERT_OK(access(p.log, F_OK) || access(p.state, F_OK) || access(p.run, F_OK) ||
				  access(f.pin, F_OK), "a start makes the log, state, socket and pin dirs");
			ASSERT_EQ(fx_cgroup_progs(f.root), 1, "and attaches");
		}
	}
out:
	fx_cleanup(&f);
}

TEST(daemon_refused_start_leaves_nothing)
{
	char out[4096], busy[64], args[PATH_MAX + 16];
	struct places p;
	struct fx f;
	int lfd = -1;

	if (!ASSERT_OK(fx_init(&f, (const char *const[]){ "dev", NULL }), "fixture") ||
	    !ASSERT_OK(fx_write_policy(&f, policy), "policy"))
		goto out;
	places_init(&f, &p);
	/* A metrics port another program holds: refused before the policy is even read. */
	lfd = fx_listen_tcp("127.0.0.1", fx_port(1));
	if (!ASSERT_TRUE(lfd >= 0, "a listener holds the port"))
		goto out;
	snprintf(busy, sizeof(busy), "127.0.0.1:%d", fx_port(1));
	snprintf(args, sizeof(args), "--metrics %s", busy);
	ASSERT_EQ(daemon_run(&f, &p, args, out, sizeof(out)), 1, "busy --metrics port");
	ASSERT_CONTAINS(out, "--metrics: cannot listen on", "busy --metrics port named");
	nothing_left(&f, &p, "busy --metrics port");
	/* A policy cgroup that is missing: found after the log, socket and state are made. */
	snprintf(args, sizeof(args), "%s/dev", f.root);
	if (!ASSERT_OK(rmdir(args) ? -errno : 0, "the policy's cgroup removed"))
		goto out;
	ASSERT_EQ(daemon_run(&f, &p, "", out, sizeof(out)), 1, "missing policy cgroup");
	ASSERT_CONTAINS(out, "is missing (create it before starting tierwalld)", "missing cgroup named");
	nothing_left(&f, &p, "missing policy cgroup");
out:
	if (lfd >= 0)
		close(lfd);
	fx_cleanup(&f);
}
