// SPDX-License-Identifier: GPL-2.0
/*
 * In-place reloads (user/daemon/reloadinplace.c, user/kernel/dirdiff.c):
 * probes racing reloads that change only CIDR destinations, among them the
 * changes that rebuild a table's structure (a /32 becoming a /28, a /24
 * becoming its /16, a dense /16 becoming a hashed one) while the rules are
 * renumbered. An address both policies refuse is refused at every probe:
 * an apply that removed before it added would let one through.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include "fixture.h"
#include "net.h"
#include "std.h"
#include "test.h"
#include "util.h"

#define IP_RELOADS	24
#define IP_PORT		47391
#define IP_FILLER	3000	/* /24s, one in ten changing on every reload, before the probed /16s: work for the apply */

/* Refused (prod's) in both policies, by different rules: the first four; staging's own: the last. */
static const char *const ip_addr[] = { "127.60.1.1", "127.61.5.5", "127.62.7.9", "127.65.0.1",
				       "127.63.0.1" };
#define IP_NADDR	5
#define IP_OWN		4

/* Policy a or b: the same tiers and cgroups; only the prod CIDRs differ. */
static int ip_policy(struct fx *f, bool b)
{
	size_t cap = 64 * IP_FILLER + 4096, n = 0;
	char *p = malloc(cap);
	int i, err;

	if (!p)
		return -ENOMEM;
	n += snprintf(p + n, cap - n,
		      "{ \"version\": 1, \"tiers\": { \"staging\": {}, \"prod\": {} },\n"
		      "  \"cgroups\": [ {\"path\": \"/staging\", \"tier\": \"staging\"} ],\n"
		      "  \"destinations\": [\n"
		      "    {\"tier\": \"staging\", \"cidrs\": [\"127.63.0.1/32\"]},\n"
		      "    {\"tier\": \"prod\", \"cidrs\": [%s\"127.60.1.%s\", \"127.61.%s\", \"127.65.0.1/32\"",
		      b ? "\"127.59.0.0/24\", " : "", b ? "0/28" : "1/32", b ? "0.0/16" : "5.0/24");
	/* 127.62/16: dense (many own /24s) in a, hashed (one) in b. */
	for (i = 0; i < (b ? 1 : 40); i++)
		n += snprintf(p + n, cap - n, ", \"127.62.%d.0/24\"", b ? 7 : i);
	for (i = 0; i < IP_FILLER; i++)
		n += snprintf(p + n, cap - n, ", \"127.%d.%d.%d/%d\"", 2 + i % 38, (i / 38) % 256,
			      (i % 10 || !b) ? 0 : 16, (i % 10 || !b) ? 24 : 28);
	snprintf(p + n, cap - n, "] } ] }\n");
	err = fx_write_policy(f, p);
	free(p);
	return err;
}

struct ip_result {
	long tries, wrong;
	char first[96];
};

/* Probe every address as fast as connect goes until told to stop (bounded in count and time). */
static void ip_probe(volatile int *stop, struct ip_result *r)
{
	uint64_t end = tw_now_ns(CLOCK_MONOTONIC) + 300000000000ull;
	long i;
	int t, err;

	for (i = 0; i < 50000000 && !*stop && tw_now_ns(CLOCK_MONOTONIC) < end; i++) {
		for (t = 0; t < IP_NADDR; t++) {
			err = tw_net(TW_OP_TCP_CONNECT, ip_addr[t], IP_PORT);
			r->tries++;
			if ((err == -EPERM) == (t != IP_OWN) && (!err || err == -EPERM || err == -ECONNREFUSED))
				continue;
			if (!r->wrong++)
				snprintf(r->first, sizeof(r->first), "%s: %s", ip_addr[t], strerror(-err));
		}
	}
	_exit(0);
}

static bool in_place_loaded(json_t *o, const void *arg)
{
	const char *ev = json_string_value(json_object_get(o, "event"));

	(void)arg;
	return ev && !strcmp(ev, "policy_loaded") && json_object_get(o, "reload");
}

TEST(integ_reload_in_place_judges_every_address_by_one_policy)
{
	static const char *const cgs[] = { "staging", NULL };
	static const char *const extra[] = { "--flood-window", "1000", NULL };
	struct ip_result *r;
	volatile int *stop;
	char cg[PATH_MAX + 32];
	pid_t kid[2] = {};
	json_t *ev;
	struct fx f;
	int i, st, done = 0;

	if (!can_run())
		return;
	r = std_shared_page();
	if (!ASSERT_TRUE(r != NULL, "shared memory"))
		return;
	stop = (volatile int *)&r[2];
	if (!ASSERT_OK(fx_init(&f, cgs), "fixture"))
		goto out;
	if (!ASSERT_OK(ip_policy(&f, false), "policy a") || !ASSERT_OK(fx_start(&f, extra), "tierwalld starts"))
		goto out;
	snprintf(cg, sizeof(cg), "%s/staging", f.root);
	for (i = 0; i < 2; i++) {
		fflush(stdout);
		kid[i] = fork();
		if (!kid[i]) {
			if (tw_join_cgroup(cg))
				_exit(3);
			ip_probe(stop, &r[i]);
		}
	}
	for (i = 0; i < IP_RELOADS; i++) {
		if (!ASSERT_OK(ip_policy(&f, i % 2 == 0), "policy written") ||
		    !ASSERT_OK(fx_reload(&f), "a reload completes"))
			break;
		done++;
	}
	*stop = 1;
	for (i = 0; i < 2; i++)
		if (kid[i] > 0)
			ASSERT_TRUE(waitpid(kid[i], &st, 0) == kid[i] && WIFEXITED(st) && !WEXITSTATUS(st),
				    "a probing process reports");
	printf("    %d reloads, %ld + %ld probes\n", done, r[0].tries, r[1].tries);
	for (i = 0; i < 2; i++)
		if (r[i].wrong)
			TW_FAILED("%ld probes judged by neither policy (first: %s)", r[i].wrong, r[i].first);
	ASSERT_EQ(done, IP_RELOADS, "every reload completed");
	ASSERT_OK(fx_drain(&f), "drained");
	ev = fx_last_event(&f, in_place_loaded, NULL);
	ASSERT_TRUE(ev && json_is_true(json_object_get(ev, "in_place")), "the reloads were applied in place");
	json_decref(ev);
	if (tw_test_failed()) {
		char o[4096];

		fx_sh(o, sizeof(o), "grep -i reload %s | tail -5", f.daemon_out);
		printf("%s", o);
	}
out:
	*stop = 1;
	for (i = 0; i < 2; i++)
		if (kid[i] > 0)
			waitpid(kid[i], NULL, WNOHANG);
	fx_cleanup(&f);
	munmap(r, 4096);
}
