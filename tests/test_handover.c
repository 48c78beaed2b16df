// SPDX-License-Identifier: GPL-2.0
/*
 * Restarts and reloads hand each cgroup hook to the new programs in place:
 * the pinned link stays, its program is swapped in one step (never both
 * judging, never none), and a start that fails after the swap swaps back
 * and leaves every pin the previous instance left as it was. (In the
 * guests too, where the BPF LSM links are pinned beside them.)
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include "fixture.h"
#include "net.h"
#include "std.h"
#include "test.h"

/* The pinned connect4 link: its id and the program it runs; -errno. */
static int connect4_link(struct fx *f, __u32 *link_id, __u32 *prog_id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX + 32];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/link_tw_connect4", f->pin);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		err = -errno;
	close(fd);
	*link_id = info.id;
	*prog_id = info.prog_id;
	return err;
}

static void kill9(struct fx *f)
{
	kill(f->daemon, SIGKILL);
	waitpid(f->daemon, NULL, 0);
	f->daemon = 0;
}

TEST(integ_handover_restart_and_reload_swap_programs_in_place)
{
	__u32 link, prog, link2, prog2;
	char text[4096], rest[4096], *p;
	struct fx f;

	if (!std_start(&f))
		goto out;
	ASSERT_OK(connect4_link(&f, &link, &prog), "the connect4 link is pinned");
	kill9(&f);
	ASSERT_OK(fx_start(&f, NULL), "restart after kill -9");
	ASSERT_OK(connect4_link(&f, &link2, &prog2), "pinned after the restart");
	ASSERT_EQ(link2, link, "the restart took the same link over");
	ASSERT_TRUE(prog2 != prog, "which now runs the new instance's program");
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "one connect4 program judges");

	prog = prog2;
	/* More than destinations changes (a CIDR-only change is applied in place, no swap). */
	std_policy(text, sizeof(text));
	p = strstr(text, "\"prod\": {}");
	if (ASSERT_TRUE(p != NULL, "the standard policy has an empty prod tier")) {
		snprintf(rest, sizeof(rest), "%s", strstr(p, "}") + 1);
		snprintf(p, sizeof(text) - (p - text), "\"prod\": {\"log\": \"all\"}%s", rest);
		ASSERT_OK(fx_write_policy(&f, text), "a changed tier setting written");
	}
	ASSERT_OK(fx_sighup_reload(&f), "SIGHUP reloads");
	ASSERT_OK(connect4_link(&f, &link2, &prog2), "pinned after the reload");
	ASSERT_TRUE(prog2 != prog, "the reload swapped the program");
	ASSERT_EQ(link2, link, "inside the same link");
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "still one connect4 program");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "enforcing after both");
out:
	fx_cleanup(&f);
}

/* "name:inode name:inode ..." of the pin directory, sorted; "" if unreadable. */
static void pin_listing(struct fx *f, char *out, size_t len)
{
	struct dirent **e;
	char path[PATH_MAX * 2];
	struct stat st;
	size_t used = 0;
	int n = scandir(f->pin, &e, NULL, alphasort), i;

	out[0] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", f->pin, e[i]->d_name);
		if (strcmp(e[i]->d_name, ".") && strcmp(e[i]->d_name, "..") && !stat(path, &st) &&
		    used < len)
			used += snprintf(out + used, len - used, "%s:%lu ", e[i]->d_name,
					 (unsigned long)st.st_ino);
		free(e[i]);
	}
	if (n >= 0)
		free(e);
}

TEST(integ_handover_failed_start_changes_no_pin)
{
	char obstacle[PATH_MAX + 32], before[8192], after[8192];
	__u32 link, prog, link2, prog2;
	struct fx f;

	if (!std_start(&f))
		goto out;
	ASSERT_OK(connect4_link(&f, &link, &prog), "the connect4 link is pinned");
	kill9(&f);
	/* Where the new ring buffer is staged: the start fails after attaching, before any pin moves. */
	snprintf(obstacle, sizeof(obstacle), "%s/staged_events", f.pin);
	ASSERT_OK(mkdir(obstacle, 0700) ? -errno : 0, "a directory where the ring buffer is staged");
	pin_listing(&f, before, sizeof(before));
	ASSERT_EQ(fx_start(&f, NULL), 1, "the new instance cannot pin, and exits");
	pin_listing(&f, after, sizeof(after));
	ASSERT_TRUE(before[0] && !strcmp(before, after),
		    "every pin is the one the old instance left, nothing staged stays");
	ASSERT_OK(connect4_link(&f, &link2, &prog2), "the link is still pinned");
	ASSERT_EQ(link2, link, "the same link");
	ASSERT_EQ(prog2, prog, "running the program it ran before the failed start");
	ASSERT_EQ(fx_cgroup_progs(f.root), 1, "one connect4 program judges");
	ASSERT_EQ(fx_net(&f, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "still enforcing");
	ASSERT_OK(rmdir(obstacle) ? -errno : 0, "the obstacle removed");
	ASSERT_OK(fx_start(&f, NULL), "the next start takes over");
	ASSERT_OK(connect4_link(&f, &link2, &prog2), "pinned");
	ASSERT_TRUE(link2 == link && prog2 != prog, "the same link, the new program");
	pin_listing(&f, after, sizeof(after));
	ASSERT_TRUE(!strstr(after, "staged_"), "nothing left staged");
out:
	fx_cleanup(&f);
}

/* A pin dir left by a daemon on another cgroup root: its links are not this root's to take. */
TEST(integ_handover_other_root_attaches_its_own_link)
{
	char policy[4096];
	struct fx f, g = {};

	if (!std_start(&f))
		goto out;
	kill9(&f);
	if (!ASSERT_OK(fx_init(&g, std_cgroups), "a second cgroup root"))
		goto out;
	snprintf(g.pin, sizeof(g.pin), "%s", f.pin);
	std_policy(policy, sizeof(policy));
	fx_write_policy(&g, policy);
	if (!fx_started(&g, NULL))
		goto out;
	ASSERT_EQ(fx_cgroup_progs(g.root), 1, "a daemon on the second root attaches its own connect4 link");
	ASSERT_EQ(fx_net(&g, "agents/staging", TW_OP_TCP_CONNECT, "127.20.0.1", P_ANY, NULL), EPERM,
		  "and enforces there");
	ASSERT_EQ(fx_cgroup_progs(f.root), 0, "the first root's link went with the pin it replaced");
out:
	fx_cleanup(&g);
	fx_cleanup(&f);
}
