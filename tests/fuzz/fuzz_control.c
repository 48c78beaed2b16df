// SPDX-License-Identifier: GPL-2.0
/*
 * Control requests as the daemon reads them: the line framing on a real
 * socket, the JSON, and each command's fields (a follower's filters applied
 * to records, a tag request's tier and cgroup).
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "cgroup.h"
#include "ctl.h"
#include "evquery.h"
#include "follow.h"
#include "fuzz.h"
#include "policy.h"

static struct tw_policy *policy;
static const char *const records[] = {
	"{\"seq\":1,\"kind\":\"connect\",\"tier\":\"staging\",\"verdict\":\"deny\",\"cgroup\":\"/a/b\",\"pid\":7,\"ts\":\"2026-11-27T10:00:00Z\"}\n",
	"{\"seq\":2,\"kind\":\"daemon\",\"event\":\"start\"}\n",
	"{\"seq\":3,\"kind\":\"dns\",\"cgroup\":\"/\",\"pid\":\"x\"}\n",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char text[] = "{ \"version\": 1, \"tiers\": {\"staging\": {}, \"prod\": {}} }";
	struct tw_diags d = {};

	if (tw_policy_parse("p.json", text, sizeof(text) - 1, &policy, &d))
		abort();
	return 0;
}

static void fields(json_t *req)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	const char *tier = json_string_value(json_object_get(req, "tier"));
	struct tw_filter f = {
		.tier = tier, .kind = json_string_value(json_object_get(req, "kind")),
		.verdict = json_string_value(json_object_get(req, "verdict")), .cgroup = cg,
		.pid = json_integer_value(json_object_get(req, "pid")),
	};
	char abs[PATH_MAX];
	size_t i;

	if (tier)
		tw_policy_tier_id(policy, tier);
	if (cg && cmd && !strcmp(cmd, "tag"))
		tw_cgroup_resolve("/nonexistent-tierwall-fuzz", cg, abs, sizeof(abs));
	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++) {
		json_t *o = json_loads(records[i], 0, NULL);

		tw_filter_match(&f, o);
		json_decref(o);
	}
}

/* A follow request with its filters, fed the records as the daemon publishes them. */
static void follow(json_t *req)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), sv[2];
	struct tw_followers *F = tw_followers_new(ep, 1 << 16);
	char why[256];
	size_t i;

	if (!F || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	if (tw_followers_add(F, sv[0], req, why, sizeof(why)))
		close(sv[0]);
	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++)
		tw_followers_publish(F, records[i], strlen(records[i]));
	tw_followers_free(F);
	close(sv[1]);
	close(ep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	char *line;
	json_t *req;

	if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 0;
	if (write(sv[0], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[0], SHUT_WR);
	if (!tw_ctl_read_line(sv[1], &line, 100)) {
		req = json_loads(line, 0, NULL);
		if (req) {
			const char *cmd = json_string_value(json_object_get(req, "cmd"));

			fields(req);
			if (cmd && !strcmp(cmd, "follow"))
				follow(req);
		}
		json_decref(req);
		free(line);
	}
	close(sv[0]);
	close(sv[1]);
	return 0;
}
