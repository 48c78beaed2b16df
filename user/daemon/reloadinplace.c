// SPDX-License-Identifier: GPL-2.0
/*
 * The in-place reload (reloadinplace.h): a new policy that differs from
 * the loaded one only in its CIDR destinations is written into the loaded
 * maps, adds before removes, so a probe racing the reload is judged by the
 * old or the new policy, never by neither; no program is loaded or
 * swapped. The loaded policy object stays (tiers, cgroups and the rest
 * are equal, and other parts of the daemon point into it); only its rules
 * and digest change.
 */
#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <time.h>
#include "dirdiff.h"
#include "grants.h"
#include "log.h"
#include "reloadinplace.h"

static bool strs_same(char *const *a, char *const *b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i], b[i]))
			return false;
	return true;
}

static bool kube_same(const struct tw_policy_kube *a, const struct tw_policy_kube *b)
{
	int i;

	if (strcmp(a->tier_label, b->tier_label) || a->label_overrides != b->label_overrides ||
	    a->nns != b->nns || a->roots_set != b->roots_set || a->nroots != b->nroots ||
	    !strs_same(a->roots, b->roots, a->nroots))
		return false;
	for (i = 0; i < a->nns; i++)
		if (strcmp(a->ns[i].name, b->ns[i].name) || a->ns[i].tier != b->ns[i].tier)
			return false;
	return true;
}

/* Everything but the CIDR destinations alike; no hostnames or secrets (their state is rebuilt by a swap). */
static bool shape_same(const struct tw_policy *a, const struct tw_policy *b)
{
	int i;

	if (a->mode != b->mode || a->ntiers != b->ntiers || a->ncgroups != b->ncgroups ||
	    a->nsecrets || b->nsecrets || a->nhosts || b->nhosts || a->nhrules || b->nhrules ||
	    !kube_same(&a->kube, &b->kube) || a->drift.nroots != b->drift.nroots ||
	    a->drift.mode != b->drift.mode || !strs_same(a->drift.roots, b->drift.roots, a->drift.nroots) ||
	    memcmp(&a->grants, &b->grants, sizeof(a->grants)))
		return false;
	for (i = 1; i <= a->ntiers; i++)
		if (strcmp(a->tiers[i].name, b->tiers[i].name) || a->tiers[i].mode != b->tiers[i].mode ||
		    a->tiers[i].log_all != b->tiers[i].log_all)
			return false;
	for (i = 0; i < a->ncgroups; i++)
		if (strcmp(a->cgroups[i].path, b->cgroups[i].path) || a->cgroups[i].tier != b->cgroups[i].tier)
			return false;
	return true;
}

static double ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* The maps hold the new policy: the old one's last events, then its retired rules go. */
static void commit(struct daemon *d, struct tw_policy *np, struct tw_tables *nt, const struct tw_slots *s)
{
	struct tw_policy *p = d->policy;

	memcpy(p->digest, np->digest, sizeof(p->digest));
	tw_bpf_sync_programs();	/* no program still reads an entry the new policy dropped */
	ring_buffer__consume(d->rb);	/* events name rules by slot: the retired ones are still there */
	dm_log_flush(d);
	tw_slots_retire(s, p);
	tw_tables_free(&d->tables);
	d->tables = *nt;
	memset(nt, 0, sizeof(*nt));
	tw_policy_free(np);
}

/* Slots, then whether it fits, then the rules into the loaded policy and the tables into the maps. */
static int apply(struct daemon *d, struct tw_policy *np, struct tw_tables *nt, struct tw_slots *s,
		 struct tw_dirdiff_stats *st)
{
	struct tw_dirdiff *dd = NULL;
	const struct tw_rule *kr;
	uint32_t cap;
	int err;

	err = tw_dirdiff_open(d->bpf, &dd);
	if (err)
		return err == -ENOMEM ? err : -ENOSPC;
	kr = tw_dirdiff_rules(dd, &cap);
	err = tw_slots_assign(d->policy, kr, cap, np, nt, s);
	if (!err)
		err = tw_dirdiff_plan(dd, &d->tables, nt, s, st);
	/* From here on the maps change: a failure is a failed syscall, the swap then rebuilds them. */
	if (!err)
		err = tw_slots_adopt(s, np, d->policy);
	if (!err)
		err = tw_dirdiff_write(dd, st);
	tw_dirdiff_close(dd);
	return err;
}

int dm_reload_in_place(struct daemon *d, struct tw_policy *np, struct tw_tables *nt)
{
	struct tw_dirdiff_stats st = {};
	struct tw_slots s = {};
	struct timespec t0;
	int err;

	if (!d->policy || d->tables.shared || !shape_same(d->policy, np)) {
		tw_info("reloading %s: more than CIDR destinations changed (or hostnames or secrets): programs are swapped",
			d->policy_file);
		return -ENOSPC;
	}
	if (d->ngrants) {
		/* Each is checked against the new policy as the swap installs it anew (grants.c). */
		tw_info("reloading %s: grants are held or asked for: programs are swapped", d->policy_file);
		return -ENOSPC;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	err = apply(d, np, nt, &s, &st);
	if (err) {
		tw_slots_free(&s);
		tw_info("reloading %s in place: %s: programs are swapped", d->policy_file,
			err == -ENOSPC ? "the maps lack room (or IPv6 lengths were added)" : strerror(-err));
		return err;
	}
	commit(d, np, nt, &s);
	tw_slots_free(&s);
	malloc_trim(0);
	d->loaded_at = time(NULL);
	dm_log_daemon(d, "policy_loaded", json_pack("{s:b, s:b, s:i, s:i, s:i, s:i}", "reload", 1,
						  "in_place", 1, "tiers", d->policy->ntiers,
						  "rules", tw_slots_count(d->policy), "hostnames", 0,
						  "tagged_cgroups", d->ntags));
	tw_info("reloaded %s (%s) in place in %.0f ms: %d rules; %u /16s changed, %u /24 entries set, %u deleted, %u IPv6 set, %u deleted",
		d->policy_file, d->policy->digest, ms_since(&t0), tw_slots_count(d->policy), st.changed16,
		st.l24_set, st.l24_del, st.v6_set, st.v6_del);
	return 0;
}
