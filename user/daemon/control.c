// SPDX-License-Identifier: GPL-2.0
/* The control socket: one JSON request, one JSON reply per connection. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "cgroup.h"
#include "control.h"
#include "ctl.h"
#include "drain.h"
#include "status.h"
#include "tags.h"

static json_t *reply_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *reply_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *tag_json(const struct daemon *d, const struct tag *t)
{
	return json_pack("{s:s, s:s, s:I, s:i, s:s, s:s}",
			 "cgroup", dm_rel_path(d, t->path), "path", t->path,
			 "cgroup_id", (json_int_t)t->id, "level", t->level,
			 "tier", d->policy->tiers[t->tier].name,
			 "source", t->from_policy ? "policy" : "cli");
}

static json_t *cmd_tiers(struct daemon *d)
{
	json_t *tags = json_array(), *tiers = json_array();
	int i;

	for (i = 1; i <= d->policy->ntiers; i++)
		json_array_append_new(tiers, json_pack("{s:s, s:s}", "name", d->policy->tiers[i].name,
						       "mode", d->policy->tiers[i].mode == TW_MODE_AUDIT ?
						       "audit" : "enforce"));
	for (i = 0; i < d->ntags; i++)
		json_array_append_new(tags, tag_json(d, &d->tags[i]));
	return json_pack("{s:b, s:o, s:o}", "ok", 1, "tiers", tiers, "tags", tags);
}

static json_t *cmd_tag(struct daemon *d, json_t *req, bool untag)
{
	const char *cg = json_string_value(json_object_get(req, "cgroup"));
	const char *tier = json_string_value(json_object_get(req, "tier"));
	char abs[PATH_MAX], why[PATH_MAX + 128];
	uint64_t id;
	int t = 0, i, err;

	if (!cg || (!untag && !tier))
		return reply_err("request needs \"cgroup\"%s", untag ? "" : " and \"tier\"");
	if (!untag && !(t = tw_policy_tier_id(d->policy, tier)))
		return reply_err("unknown tier \"%s\" (the policy defines %d tiers; see `tierwall tiers`)",
				 tier, d->policy->ntiers);
	err = tw_cgroup_resolve(d->root, cg, abs, sizeof(abs));
	if (err)
		return reply_err("cgroup \"%s\" under %s: %s", cg, d->root,
				 err == -EXDEV ? "outside the daemon's cgroup root" :
				 err == -EMEDIUMTYPE ? "not a cgroup2 directory" : strerror(-err));
	if (untag) {
		if (tw_cgroup_id(abs, &id) || (i = dm_find_tag(d, id)) < 0)
			return reply_err("cgroup %s is not tagged", dm_rel_path(d, abs));
		err = dm_remove_tag(d, i);
		if (err)
			return reply_err("cannot untag %s: %s", abs, strerror(-err));
		dm_log_daemon(d, "untag", json_pack("{s:s}", "cgroup", dm_rel_path(d, abs)));
		return json_pack("{s:b, s:s}", "ok", 1, "cgroup", dm_rel_path(d, abs));
	}
	err = dm_add_tag(d, abs, t, false, why, sizeof(why));
	if (err)
		return reply_err("%s", why);
	dm_log_daemon(d, "tag", json_pack("{s:s, s:s}", "cgroup", dm_rel_path(d, abs), "tier", tier));
	return json_pack("{s:b, s:s, s:s}", "ok", 1, "cgroup", dm_rel_path(d, abs), "tier", tier);
}

/* One request, one reply; true if fd was kept (a follower). */
static bool serve_client(struct daemon *d, int fd)
{
	json_t *req = NULL, *reply;
	const char *cmd;
	char *line, why[256];
	bool kept = false;

	/* A client that sends nothing cannot hold the daemon for long. */
	if (tw_ctl_read_line(fd, &line, 1000))
		return false;
	req = json_loads(line, 0, NULL);
	free(line);
	cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd)
		reply = reply_err("request is not a JSON object with \"cmd\"");
	else if (!strcmp(cmd, "status"))
		reply = dm_status_json(d);
	else if (!strcmp(cmd, "tiers"))
		reply = cmd_tiers(d);
	else if (!strcmp(cmd, "tag"))
		reply = cmd_tag(d, req, false);
	else if (!strcmp(cmd, "untag"))
		reply = cmd_tag(d, req, true);
	else if (!strcmp(cmd, "drain"))
		reply = dm_cmd_drain(d);
	else if (!strcmp(cmd, "follow"))
		reply = (kept = !tw_followers_add(d->followers, fd, req, why, sizeof(why))) ?
			NULL : reply_err("%s", why);
	else
		reply = reply_err("unknown command \"%s\"", cmd);
	json_decref(req);
	if (reply) {
		tw_ctl_send(fd, reply);
		json_decref(reply);
	}
	return kept;
}

void dm_accept_clients(struct daemon *d)
{
	int fd;

	while ((fd = accept4(d->ctl_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		if (!serve_client(d, fd))
			close(fd);
}
