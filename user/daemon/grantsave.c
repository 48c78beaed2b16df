// SPDX-License-Identifier: GPL-2.0
/*
 * Grants in the state directory: a restart, upgrade or reload keeps them;
 * a reboot ends them (the deadlines are boot time, so another boot's are
 * meaningless: told by the kernel's boot id).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "grants.h"
#include "util.h"

#define BOOT_ID		"/proc/sys/kernel/random/boot_id"

static void boot_id(char *out, size_t len)
{
	FILE *f = fopen(BOOT_ID, "re");

	out[0] = '\0';
	if (f && fgets(out, len, f))
		out[strcspn(out, "\n")] = '\0';
	if (f)
		fclose(f);
}

static json_t *save_one(const struct grant *g)
{
	json_t *o = json_pack("{s:i, s:i, s:s, s:s?, s:s?, s:I, s:i, s:s?, s:I, s:i, s:I, s:s, s:I, "
			      "s:i, s:I, s:i, s:i, s:I, s:i, s:b, s:I, s:i, s:I, s:I, s:s?, s:I}",
		"id", (int)g->id, "state", g->state, "tier", g->tier, "cgroup", g->cgroup, "pod", g->pod,
		"cgroup_id", (json_int_t)g->cgroup_id, "cg_level", g->cg_level, "secret", g->secret,
		"duration_s", (json_int_t)g->duration_s, "proto", g->proto,
		"requested_at", (json_int_t)g->requested_at, "reason", g->reason,
		"requested_boot", (json_int_t)g->requested_boot,
		"req_uid", (int)g->req.uid, "req_login", (json_int_t)g->req.login, "req_pid", g->req.pid,
		"appr_uid", (int)g->appr.uid, "appr_login", (json_int_t)g->appr.login, "appr_pid", g->appr.pid,
		"self_approved", g->self_approved, "deadline", (json_int_t)g->deadline,
		"req_tier", g->req_tier, "uses", (json_int_t)g->uses, "ended_at", (json_int_t)g->ended_at, "end", g->end,
		"family", (json_int_t)g->to.family);
	json_t *ports = json_array();
	char cidr[64];
	int i;

	tw_cidr_format(&g->to, cidr, sizeof(cidr));
	if (g->host)
		json_object_set_new(o, "host", json_string(g->host));
	else if (!g->secret)
		json_object_set_new(o, "to", json_string(cidr));
	for (i = 0; i < g->nports; i++)
		json_array_append_new(ports, json_integer(g->ports[i]));
	json_object_set_new(o, "ports", ports);
	return o;
}

json_t *dm_grants_save(const struct daemon *d)
{
	json_t *a = json_array();
	char id[64];
	int i;

	for (i = 0; i < d->ngrants; i++)
		json_array_append_new(a, save_one(&d->grants[i]));
	boot_id(id, sizeof(id));
	return json_pack("{s:s, s:i, s:o}", "boot_id", id, "next_id", (int)d->next_grant, "list", a);
}

static char *dup_or_null(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? strdup(s) : NULL;
}

static const char *end_name(const char *s)
{
	static const char *const names[] = { "grant_revoked", "grant_lapsed", "grant_expired",
					     "grant_ended" };
	size_t i;

	for (i = 0; s && i < ARRAY_SIZE(names); i++)
		if (!strcmp(s, names[i]))
			return names[i];
	return "grant_ended";
}

static void load_one(struct daemon *d, json_t *o)
{
	struct grant *g = dm_grant_new(d);
	char why[128];
	json_t *v;
	size_t i;

	if (!g)
		return;
	d->next_grant--;	/* its own id, not a new one */
	g->id = json_integer_value(json_object_get(o, "id"));
	g->state = json_integer_value(json_object_get(o, "state"));
	snprintf(g->tier, sizeof(g->tier), "%s", json_string_value(json_object_get(o, "tier")) ?: "");
	g->cgroup = dup_or_null(o, "cgroup");
	g->pod = dup_or_null(o, "pod");
	g->secret = dup_or_null(o, "secret");
	g->host = dup_or_null(o, "host");
	g->reason = dup_or_null(o, "reason");
	g->cgroup_id = json_integer_value(json_object_get(o, "cgroup_id"));
	g->cg_level = json_integer_value(json_object_get(o, "cg_level"));
	g->duration_s = json_integer_value(json_object_get(o, "duration_s"));
	g->proto = json_integer_value(json_object_get(o, "proto"));
	g->requested_at = json_integer_value(json_object_get(o, "requested_at"));
	g->requested_boot = json_integer_value(json_object_get(o, "requested_boot"));
	g->req = (struct person){ json_integer_value(json_object_get(o, "req_uid")),
				  json_integer_value(json_object_get(o, "req_login")),
				  json_integer_value(json_object_get(o, "req_pid")) };
	g->appr = (struct person){ json_integer_value(json_object_get(o, "appr_uid")),
				   json_integer_value(json_object_get(o, "appr_login")),
				   json_integer_value(json_object_get(o, "appr_pid")) };
	g->self_approved = json_is_true(json_object_get(o, "self_approved"));
	g->req_tier = json_integer_value(json_object_get(o, "req_tier"));
	g->deadline = json_integer_value(json_object_get(o, "deadline"));
	g->uses = json_integer_value(json_object_get(o, "uses"));
	g->ended_at = json_integer_value(json_object_get(o, "ended_at"));
	if (g->state == GRANT_ENDED)
		g->end = end_name(json_string_value(json_object_get(o, "end")));
	if (json_string_value(json_object_get(o, "to")))
		tw_cidr_parse(json_string_value(json_object_get(o, "to")), &g->to, why, sizeof(why));
	json_array_foreach(json_object_get(o, "ports"), i, v)
		if (g->nports < TW_GRANT_PORTS)
			g->ports[g->nports++] = json_integer_value(v);
	if (!g->reason || !g->tier[0] || g->state > GRANT_ENDED) {
		/* Not one this daemon wrote: forgotten rather than guessed at. */
		dm_grant_clear(g);
		d->ngrants--;
	}
}

void dm_grants_restore(struct daemon *d, json_t *state)
{
	json_t *s = json_object_get(state, "grants"), *o;
	const char *was = json_string_value(json_object_get(s, "boot_id"));
	char id[64];
	size_t i;

	if (!s)
		return;
	boot_id(id, sizeof(id));
	d->next_grant = json_integer_value(json_object_get(s, "next_id"));
	json_array_foreach(json_object_get(s, "list"), i, o)
		load_one(d, o);
	if (!was || strcmp(was, id)) {
		/* Their deadlines were another boot's: a reboot ends every grant. */
		for (i = 0; i < (size_t)d->ngrants; i++)
			if (d->grants[i].state != GRANT_ENDED)
				dm_grant_end(d, &d->grants[i], "grant_ended",
					     json_pack("{s:s}", "why", "the node rebooted"));
		return;
	}
	dm_grants_install(d);
	d->state_dirty = true;
}
