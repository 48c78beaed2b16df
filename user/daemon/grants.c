// SPDX-License-Identifier: GPL-2.0
/*
 * Grants: time-boxed, approved exceptions to the policy. A request changes
 * nothing; an approved grant becomes a slot of the kernel's grants map
 * (maps/grants.h) whose boot-time deadline the hooks check at every
 * decision, so it ends on time with this daemon stopped or killed. Here:
 * the store, the slots, expiry and lapse with their records, and the copy
 * in the state directory (a restart or reload keeps them, a reboot ends
 * them: the deadline is boot time).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "grants.h"
#include "log.h"
#include "metrics.h"
#include "persist.h"
#include "text.h"
#include "util.h"

#define MAX_GRANTS	256	/* the store: pending, active and recently ended */
#define NOT_STAGED	-2	/* old_slot outside a reload */

struct grant *dm_grant_find(struct daemon *d, uint32_t id)
{
	int i;

	for (i = 0; i < d->ngrants; i++)
		if (d->grants[i].id == id)
			return &d->grants[i];
	return NULL;
}

void dm_grant_clear(struct grant *g)
{
	free(g->cgroup);
	free(g->pod);
	free(g->secret);
	free(g->host);
	free(g->reason);
	free(g->end_why);
}

struct grant *dm_grant_new(struct daemon *d)
{
	struct grant *g;
	int i;

	if (!d->grants && !(d->grants = calloc(MAX_GRANTS, sizeof(*d->grants))))
		return NULL;
	if (d->ngrants == MAX_GRANTS) {
		/* Full: the oldest ended one makes room (its records stay in the log). */
		for (i = 0; i < d->ngrants && d->grants[i].state != GRANT_ENDED; i++)
			;
		if (i == d->ngrants)
			return NULL;
		dm_grant_clear(&d->grants[i]);
		memmove(&d->grants[i], &d->grants[i + 1], (d->ngrants - i - 1) * sizeof(*g));
		d->ngrants--;
	}
	g = &d->grants[d->ngrants++];
	memset(g, 0, sizeof(*g));
	g->id = ++d->next_grant;
	g->slot = -1;
	g->old_slot = NOT_STAGED;
	g->req.login = g->appr.login = g->rev.login = -1;
	return g;
}

void dm_person(struct person *p, uint32_t uid, int32_t pid)
{
	char path[64], buf[32] = "";
	FILE *f;

	p->uid = uid;
	p->pid = pid;
	p->login = -1;
	snprintf(path, sizeof(path), "/proc/%d/loginuid", (int)pid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f) && strtoll(buf, NULL, 10) != 4294967295LL)
		p->login = strtoll(buf, NULL, 10);	/* sudo keeps it: one person, two uids */
	if (f)
		fclose(f);
}

/* The login uid where set, else the uid. */
static int64_t who_is(const struct person *p)
{
	return p->login >= 0 ? p->login : p->uid;
}

bool dm_same_person(const struct person *a, const struct person *b)
{
	/*
	 * A process whose login uid is unset may set it to anything, without
	 * privilege: so one uid other than root is one person whatever its login
	 * uid says, and an unset one counts as its uid. Only root's shells are
	 * told apart by login uid (sudo of two people).
	 */
	if (a->uid == b->uid && a->uid)
		return true;
	return who_is(a) == who_is(b);
}

/* Every port of g among r's (a rule with no ports refuses them all). */
static bool ports_covered(const struct grant *g, const struct tw_policy_rule *r)
{
	int i, j;

	if (!r->nports)
		return true;
	if (!g->nports)
		return false;
	for (i = 0; i < g->nports; i++) {
		for (j = 0; j < r->nports && r->ports[j] != g->ports[i]; j++)
			;
		if (j == r->nports)
			return false;
	}
	return true;
}

int dm_grant_reach(const struct daemon *d, const struct grant *g, int tier, char *why, size_t len)
{
	const struct tw_policy *p = d->policy;
	int i, max;

	if (g->secret) {
		for (i = 0; i < p->nsecrets; i++)
			if (!strcmp(p->secrets[i].path, g->secret) && p->secrets[i].tier != tier)
				return i;
		snprintf(why, len, "no secret path \"%s\" of another tier than %s in the policy: nothing "
			 "refuses it", g->secret, p->tiers[tier].name);
		return -1;
	}
	if (g->host) {
		for (i = 0; i < p->nhosts; i++)
			if (!p->hosts[i].wildcard && !strcmp(p->hosts[i].name, g->host) &&
			    p->hosts[i].tier != tier && ports_covered(g, &p->hrules[p->hosts[i].group]))
				return i;
		snprintf(why, len, "no hostname \"%s\" of another tier than %s in the policy's destinations "
			 "(with those ports; wildcards are not grantable): nothing refuses it", g->host,
			 p->tiers[tier].name);
		return -1;
	}
	max = g->to.family == 4 ? p->grants.max_prefix4 : p->grants.max_prefix6;
	if (g->to.len < max) {
		snprintf(why, len, "/%d is wider than a grant may be (the policy's max_prefix: /%d)",
			 g->to.len, max);
		return -1;
	}
	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].tier != tier && tw_cidr_contains(&p->rules[i].cidr, &g->to) &&
		    ports_covered(g, &p->rules[i]))
			return i;
	snprintf(why, len, "no rule of another tier refuses that target to tier %s: there is nothing to grant",
		 p->tiers[tier].name);
	return -1;
}

/* The kernel's form of g for tier; reach: dm_grant_reach's index. */
static void to_kernel(const struct grant *g, int tier, int reach, struct tw_grant *k)
{
	memset(k, 0, sizeof(*k));
	k->id = g->id;
	k->kind = g->secret ? TW_GRANT_SECRET : TW_GRANT_NET;
	k->tier = tier;
	if (g->secret)
		k->secret = reach;
	else if (g->host)
		k->host = reach + 1;
	k->family = g->to.family;
	k->prefix = g->to.len;
	k->proto = g->proto;
	k->nports = g->nports;
	memcpy(k->ports, g->ports, sizeof(k->ports));
	memcpy(k->addr, g->to.addr, sizeof(k->addr));
	k->cgroup_id = g->cgroup_id;
	k->cg_level = g->cg_level;
	k->deadline_ns = g->deadline;
	k->uses = g->uses;
}

static int free_slot(const struct daemon *d)
{
	bool used[TW_MAX_GRANTS] = {};
	int i;

	for (i = 0; i < d->ngrants; i++)
		if (d->grants[i].slot >= 0)
			used[d->grants[i].slot] = true;
	for (i = 0; i < TW_MAX_GRANTS && used[i]; i++)
		;
	return i < TW_MAX_GRANTS ? i : -1;
}

/* g's deadline, no later than the loaded policy's "max" from its start allows. */
static uint64_t capped_deadline(const struct daemon *d, const struct grant *g)
{
	uint64_t start = g->deadline - (uint64_t)g->duration_s * 1000000000ull;
	uint64_t cap = start + (uint64_t)d->policy->grants.max_s * 1000000000ull;

	return g->deadline > cap ? cap : g->deadline;
}

/* Into the kernel as the loaded policy numbers tiers and secrets; -errno with why. */
static int install(struct daemon *d, struct grant *g, char *why, size_t len)
{
	int tier = tw_policy_tier_id(d->policy, g->tier), reach, slot, err;
	struct tw_grant k;

	if (!tier) {
		snprintf(why, len, "the policy has no tier %s any more", g->tier);
		return -ENOENT;
	}
	reach = dm_grant_reach(d, g, tier, why, len);
	if (reach < 0)
		return -ENOENT;
	slot = g->slot >= 0 ? g->slot : free_slot(d);
	if (slot < 0) {
		snprintf(why, len, "%d grants are active: no room for another", TW_MAX_GRANTS);
		return -ENOSPC;
	}
	to_kernel(g, tier, reach, &k);
	k.deadline_ns = capped_deadline(d, g);	/* a reload that lowered "max" */
	err = tw_bpf_grant_set(d->bpf, slot, &k);
	if (err) {
		snprintf(why, len, "cannot write the grants map: %s", strerror(-err));
		return err;
	}
	g->slot = slot;
	return 0;
}

int dm_grant_activate(struct daemon *d, struct grant *g)
{
	char why[256];
	int err;

	if (g->duration_s > d->policy->grants.max_s)	/* requested before a reload lowered it */
		g->duration_s = d->policy->grants.max_s;
	g->deadline = tw_now_ns(CLOCK_BOOTTIME) + (uint64_t)g->duration_s * 1000000000ull;
	err = install(d, g, why, sizeof(why));
	if (err) {
		g->deadline = 0;
		tw_err("grant %u: %s", g->id, why);
		return err;
	}
	g->state = GRANT_ACTIVE;
	return 0;
}

/* The kernel's count for an active grant. */
static void read_uses(struct daemon *d, struct grant *g)
{
	uint64_t n;

	if (g->slot >= 0 && d->bpf && !tw_bpf_grant_uses(d->bpf, g->slot, &n))
		g->uses = n;
}

void dm_grant_end(struct daemon *d, struct grant *g, const char *event, json_t *extra)
{
	read_uses(d, g);
	if (g->slot >= 0 && d->bpf)
		tw_bpf_grant_set(d->bpf, g->slot, NULL);
	g->slot = -1;
	g->state = GRANT_ENDED;
	g->end = event;
	g->ended_at = time(NULL);
	dm_grant_record(d, event, g, extra);
	d->state_dirty = true;
}

static json_t *person_json(const struct person *p)
{
	json_t *o = json_pack("{s:i, s:i}", "uid", (int)p->uid, "pid", (int)p->pid);

	if (p->login >= 0)
		json_object_set_new(o, "login_uid", json_integer(p->login));
	return o;
}

static json_t *scope_json(const struct daemon *d, const struct grant *g)
{
	json_t *o = json_pack("{s:s}", "tier", g->tier), *ports;
	char cidr[64];
	int i;

	if (g->cgroup)
		tw_json_set_text(o, "cgroup", dm_rel_path(d, g->cgroup));
	if (g->pod)
		tw_json_set_text(o, "pod", g->pod);
	if (g->secret) {
		tw_json_set_text(o, "secret", g->secret);
		return o;
	}
	tw_cidr_format(&g->to, cidr, sizeof(cidr));
	ports = json_array();
	for (i = 0; i < g->nports; i++)
		json_array_append_new(ports, json_integer(g->ports[i]));
	json_object_set_new(o, "to", json_string(g->host ?: cidr));
	if (g->host)
		json_object_set_new(o, "hostname", json_true());
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "proto", json_string(g->proto == 6 ? "tcp" : g->proto == 17 ? "udp" : "any"));
	return o;
}

static const char *state_name(const struct grant *g)
{
	return g->state == GRANT_PENDING ? "pending" : g->state == GRANT_ACTIVE ? "active" : "ended";
}

/* A boot-time instant on the wall clock, as now tells it. */
static void boot_to_text(uint64_t boot_ns, char *out, size_t len)
{
	tw_format_time(boot_ns + tw_boot_to_realtime_offset(), out, len);
}

json_t *dm_grant_json(const struct daemon *d, const struct grant *g, bool live)
{
	json_t *o = json_pack("{s:i, s:s, s:o, s:s, s:I, s:o, s:b, s:I}", "grant", (int)g->id,
			      "state", state_name(g), "scope", scope_json(d, g), "reason", g->reason,
			      "duration_s", (json_int_t)g->duration_s, "requester", person_json(&g->req),
			      "self_approved", g->self_approved, "requested_at", (json_int_t)g->requested_at);
	uint64_t now = tw_now_ns(CLOCK_BOOTTIME);
	char ts[64];

	if (g->state != GRANT_PENDING && g->deadline) {
		json_object_set_new(o, "approver", person_json(&g->appr));
		boot_to_text(g->deadline - (uint64_t)g->duration_s * 1000000000ull, ts, sizeof(ts));
		json_object_set_new(o, "from", json_string(ts));
		boot_to_text(g->deadline, ts, sizeof(ts));
		json_object_set_new(o, "deadline", json_string(ts));
	}
	if (g->state != GRANT_PENDING)
		json_object_set_new(o, "uses", json_integer(g->uses));
	if (live && g->state == GRANT_ACTIVE)
		json_object_set_new(o, "left_s", json_integer(g->deadline > now ?
							      (g->deadline - now) / 1000000000ull : 0));
	if (g->state == GRANT_ENDED) {
		json_object_set_new(o, "ended", json_string(g->end));
		json_object_set_new(o, "ended_at", json_integer(g->ended_at));
	}
	if (g->rev.pid)
		json_object_set_new(o, "revoked_by", person_json(&g->rev));
	return o;
}

void dm_grant_record(struct daemon *d, const char *event, const struct grant *g, json_t *extra)
{
	json_t *o = dm_grant_json(d, g, false);

	json_object_del(o, "state");
	json_object_del(o, "requested_at");
	json_object_del(o, "ended");
	json_object_del(o, "ended_at");
	json_object_del(o, "from");
	if (g->state == GRANT_PENDING)
		json_object_del(o, "self_approved");
	if (extra)
		json_object_update_new(o, extra);
	dm_log_daemon(d, event, o);
	dm_log_flush(d);
}

/* Not approved in pending_for, by boot time as deadlines are (a wall-clock step changes nothing). */
static bool lapsed(const struct daemon *d, const struct grant *g, uint64_t now, uint64_t wall)
{
	uint64_t pending = (uint64_t)d->policy->grants.pending_s;

	if (!g->requested_boot)		/* saved by an older daemon */
		return wall >= g->requested_at + pending;
	return now >= g->requested_boot + pending * 1000000000ull;
}

void dm_grants_tick(struct daemon *d)
{
	uint64_t now = tw_now_ns(CLOCK_BOOTTIME), wall = time(NULL);
	int i;

	for (i = 0; i < d->ngrants; i++) {
		struct grant *g = &d->grants[i];

		/* The kernel refuses already; this only tells it and frees the slot. */
		if (g->state == GRANT_ACTIVE && now >= g->deadline)
			dm_grant_end(d, g, "grant_expired", NULL);
		else if (g->state == GRANT_PENDING && lapsed(d, g, now, wall))
			dm_grant_end(d, g, "grant_lapsed", NULL);
	}
	/*
	 * No save here: this runs every turn, and a pod placed sets state_dirty
	 * too, so each pod request cost a synchronous fsync. The event loop
	 * saves within STATE_SAVE_NS, from the writer thread (statewrite.c).
	 */
}

void dm_grants_sync(struct daemon *d)
{
	int i;

	for (i = 0; i < d->ngrants; i++)
		if (d->grants[i].state == GRANT_ACTIVE)
			read_uses(d, &d->grants[i]);
}

/* Marked to end when the maps it was staged for take over; why is taken. */
static void mark_end(struct grant *g, const char *event, char *why)
{
	g->end_event = event;
	free(g->end_why);
	g->end_why = why;
}

int dm_grants_stage(struct daemon *d)
{
	char why[256];
	int i, ending = 0;

	/* Every slot anew: the maps are new, and the old ones keep theirs until the swap. */
	for (i = 0; i < d->ngrants; i++) {
		d->grants[i].old_slot = d->grants[i].slot;
		d->grants[i].slot = -1;
		mark_end(&d->grants[i], NULL, NULL);
	}
	for (i = 0; i < d->ngrants; i++) {
		struct grant *g = &d->grants[i];

		if (g->state == GRANT_PENDING && !d->policy->grants.enabled)
			mark_end(g, "grant_lapsed", strdup("the policy has no \"grants\" section any more"));
		if (g->state != GRANT_ACTIVE)
			continue;
		if (!d->policy->grants.enabled)
			snprintf(why, sizeof(why), "the policy has no \"grants\" section any more");
		else if (!install(d, g, why, sizeof(why)))
			continue;
		mark_end(g, "grant_ended", strdup(why));
	}
	for (i = 0; i < d->ngrants; i++)
		ending += d->grants[i].end_event != NULL;
	return ending;
}

/* An active grant longer than the policy's "max" now: its new deadline, on the record. */
static void shorten(struct daemon *d, struct grant *g)
{
	uint64_t cap;

	if (g->state != GRANT_ACTIVE || (cap = capped_deadline(d, g)) == g->deadline)
		return;
	g->deadline = cap;
	g->duration_s = d->policy->grants.max_s;
	tw_warn("grant %u: shortened to the policy's max, %lds", g->id, g->duration_s);
	dm_grant_record(d, "grant_shortened", g, json_pack("{s:s}", "why", "the policy's \"max\" is shorter now"));
	d->state_dirty = true;
}

void dm_grants_commit(struct daemon *d)
{
	int i;

	for (i = 0; i < d->ngrants; i++) {
		struct grant *g = &d->grants[i];
		const char *event = g->end_event;
		char *why = g->end_why;

		g->old_slot = NOT_STAGED;
		if (!event) {
			shorten(d, g);
			continue;
		}
		g->end_event = NULL;
		g->end_why = NULL;
		if (g->state == GRANT_ACTIVE)
			tw_warn("grant %u ends: %s", g->id, why ?: "");
		dm_grant_end(d, g, event, json_pack("{s:s}", "why", why ?: ""));
		free(why);
	}
}

void dm_grants_rollback(struct daemon *d)
{
	int i;

	/* A reload that failed before staging changed nothing here. */
	for (i = 0; i < d->ngrants; i++) {
		if (d->grants[i].old_slot != NOT_STAGED)
			d->grants[i].slot = d->grants[i].old_slot;
		d->grants[i].old_slot = NOT_STAGED;
		mark_end(&d->grants[i], NULL, NULL);
	}
}

void dm_grants_install(struct daemon *d)
{
	dm_grants_stage(d);
	dm_grants_commit(d);
}

json_t *dm_grants_for(struct daemon *d, int tier, const char *abs)
{
	json_t *a = json_array();
	int i;

	dm_grants_sync(d);
	for (i = 0; i < d->ngrants; i++) {
		const struct grant *g = &d->grants[i];
		size_t n = g->cgroup ? strlen(g->cgroup) : 0;

		if (g->state != GRANT_ACTIVE || tw_policy_tier_id(d->policy, g->tier) != tier || !tier)
			continue;
		if (g->cgroup && (strncmp(abs, g->cgroup, n) || (abs[n] && abs[n] != '/')))
			continue;
		json_array_append_new(a, dm_grant_json(d, g, true));
	}
	return a;
}

void dm_grants_count(const struct daemon *d, int *active, int *pending)
{
	int i;

	*active = *pending = 0;
	for (i = 0; i < d->ngrants; i++) {
		*active += d->grants[i].state == GRANT_ACTIVE;
		*pending += d->grants[i].state == GRANT_PENDING;
	}
}

json_t *dm_grants_status(const struct daemon *d)
{
	int active, pending;

	dm_grants_count(d, &active, &pending);
	return json_pack("{s:b, s:i, s:i}", "enabled", d->policy->grants.enabled, "active", active,
			 "pending", pending);
}

void dm_grants_metrics(const struct daemon *d, struct buf *b)
{
	int active, pending;

	/* Read without a lock, like the other gauges: a tick stale at worst. */
	dm_grants_count(d, &active, &pending);
	tw_metric_printf(b, "# HELP tierwall_grants Grants by state (tierwall grants).\n"
			    "# TYPE tierwall_grants gauge\n"
			    "tierwall_grants{state=\"active\"} %d\n"
			    "tierwall_grants{state=\"pending\"} %d\n", active, pending);
}

void dm_grants_free(struct daemon *d)
{
	int i;

	for (i = 0; i < d->ngrants; i++)
		dm_grant_clear(&d->grants[i]);
	free(d->grants);
	d->grants = NULL;
	d->ngrants = 0;
}
