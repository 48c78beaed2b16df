// SPDX-License-Identifier: GPL-2.0
/* The standard integration setup: cgroups, policy, a started daemon, event checks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "cgroup.h"
#include "fixture.h"
#include "std.h"
#include "test.h"

const char *const std_cgroups[] = {
	"agents/staging", "agents/dev", "services/prod", "untagged", "nest/inner", NULL
};


void std_policy(char *buf, size_t len)
{
	snprintf(buf, len,
"{ \"version\": 1, \"mode\": \"enforce\",\n"
"  \"tiers\": { \"dev\": {\"mode\": \"audit\"}, \"staging\": {}, \"prod\": {} },\n"
"  \"cgroups\": [ {\"path\": \"/agents/staging\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/agents/dev\", \"tier\": \"dev\"},\n"
"               {\"path\": \"/services/prod\", \"tier\": \"prod\"},\n"
"               {\"path\": \"/nest\", \"tier\": \"staging\"},\n"
"               {\"path\": \"/nest/inner\", \"tier\": \"prod\"} ],\n"
"  \"destinations\": [\n"
"    {\"tier\": \"prod\", \"cidrs\": [\"127.20.0.0/16\", \"::1/128\", \"10.20.0.0/16\", \"fd00:20::/32\"]},\n"
"    {\"tier\": \"prod\", \"cidrs\": [\"127.21.0.0/16\"], \"ports\": [%d]},\n"
"    {\"tier\": \"prod\", \"cidrs\": [\"127.22.0.0/16\"]},\n"
"    {\"tier\": \"staging\", \"cidrs\": [\"127.22.1.0/24\"], \"ports\": [%d]},\n"
"    {\"tier\": \"staging\", \"cidrs\": [\"127.30.0.0/16\", \"10.30.0.0/16\", \"fd00:30::/32\"]} ] }\n",
		 P_SCOPED, P_NESTED);
}

bool can_run(void)
{
	char mnt[PATH_MAX];

	if (geteuid()) {
		tw_test_skip("needs root (cgroups and BPF)");
		return false;
	}
	if (tw_cgroup2_mount(mnt, sizeof(mnt))) {
		tw_test_skip("no cgroup2 mount on this machine");
		return false;
	}
	return true;
}

/* Set up cgroups, write the standard policy, start the daemon. */
bool std_start(struct fx *f)
{
	char policy[4096];

	std_policy(policy, sizeof(policy));
	return std_start_with(f, policy);
}

bool std_share(struct fx *f)
{
	static const struct fx_group std = {
		.name = "std", .cgroups = std_cgroups, .policy = std_policy, .slots = 16,
	};

	if (!can_run()) {
		memset(f, 0, sizeof(*f));	/* the test's cleanup finds nothing */
		return false;
	}
	return fx_share(f, &std);
}

bool std_start_with(struct fx *f, const char *policy)
{
	if (!can_run())
		return false;
	if (!ASSERT_OK(fx_init(f, std_cgroups), "fixture"))
		return false;
	fx_write_policy(f, policy);
	return fx_started(f, NULL);
}

void check_event(struct fx *f, pid_t pid, int port, const char *kind,
			const char *verdict, const char *tier, const char *target,
			const char *cg_rel, const char *ip, const char *proto, const char *rule)
{
	json_t *e = fx_event(f, pid, port), *dst;
	char cg[PATH_MAX];

	if (!ASSERT_TRUE(e != NULL, "event for the decision is in events.jsonl"))
		return;
	dst = json_object_get(e, "dst");
	ASSERT_STREQ(json_string_value(json_object_get(e, "kind")), kind, "event kind");
	ASSERT_STREQ(json_string_value(json_object_get(e, "verdict")), verdict, "event verdict");
	ASSERT_STREQ(json_string_value(json_object_get(e, "tier")), tier, "event tier");
	ASSERT_STREQ(json_string_value(json_object_get(e, "target_tier")), target, "event target_tier");
	fx_cg_display(f, cg_rel, cg, sizeof(cg));
	ASSERT_STREQ(json_string_value(json_object_get(e, "cgroup")), cg, "event cgroup");
	ASSERT_STREQ(json_string_value(json_object_get(dst, "ip")), ip, "event dst.ip");
	ASSERT_STREQ(json_string_value(json_object_get(dst, "proto")), proto, "event dst.proto");
	ASSERT_STREQ(json_string_value(json_object_get(e, "rule")), rule, "event rule");
	ASSERT_EQ(json_integer_value(json_object_get(e, "uid")), getuid(), "event uid");
	ASSERT_TRUE(json_integer_value(json_object_get(e, "cgroup_id")) > 0, "event cgroup_id");
	ASSERT_TRUE(json_integer_value(json_object_get(e, "seq")) > 0, "event seq");
	ASSERT_TRUE(json_string_value(json_object_get(e, "comm")) != NULL, "event comm");
	ASSERT_TRUE(json_string_value(json_object_get(e, "host")) != NULL, "event host");
	ASSERT_CONTAINS(json_string_value(json_object_get(e, "policy")), "sha256:", "event policy");
	ASSERT_TRUE(json_string_length(json_object_get(e, "ts")) == 30, "ts is RFC 3339 with ns");
	json_decref(e);
}

void *std_shared_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;	/* anonymous pages start zeroed */
}
