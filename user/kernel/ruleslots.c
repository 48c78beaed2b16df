// SPDX-License-Identifier: GPL-2.0
/*
 * Rule slots for an in-place reload (see dirdiff.h). Every table entry
 * names a rule by its index in the rules map; renumbering the rules would
 * change nearly every entry, so a rule the new policy keeps keeps its slot,
 * and a new rule takes a slot no live entry names (an empty one or one past
 * the last). The policy's rules array is indexed by slot too: events name
 * rules by slot. Empty slots have cidr.family 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dirdiff.h"

#define UNSET	UINT32_MAX

static uint64_t rule_hash(const struct tw_policy_rule *r)
{
	uint64_t h = 1469598103934665603ull;
	const uint8_t *p = (const uint8_t *)&r->cidr;
	size_t i;

	for (i = 0; i < sizeof(r->cidr); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	h = (h ^ (uint32_t)r->tier) * 1099511628211ull;
	for (i = 0; i < (size_t)r->nports; i++)
		h = (h ^ r->ports[i]) * 1099511628211ull;
	return h ^ h >> 29;
}

static bool rule_same(const struct tw_policy_rule *a, const struct tw_policy_rule *b)
{
	return !memcmp(&a->cidr, &b->cidr, sizeof(a->cidr)) && a->tier == b->tier &&
	       a->nports == b->nports && !memcmp(a->ports, b->ports, a->nports * sizeof(a->ports[0]));
}

/* Open addressing, slot + 1 per bucket, over the old policy's live rules. */
struct index {
	uint32_t *b;
	uint64_t mask;
};

static int index_build(struct index *ix, const struct tw_policy *op)
{
	uint64_t n = 1024, h;
	int i;

	while (n < 2 * (uint64_t)op->nrules)
		n *= 2;
	ix->b = calloc(n, sizeof(*ix->b));
	ix->mask = n - 1;
	if (!ix->b)
		return -ENOMEM;
	for (i = 0; i < op->nrules; i++) {
		if (!op->rules[i].cidr.family)
			continue;
		for (h = rule_hash(&op->rules[i]) & ix->mask; ix->b[h]; h = (h + 1) & ix->mask)
			;
		ix->b[h] = i + 1;
	}
	return 0;
}

/* An unclaimed old slot holding rule r whose kernel parent is parent; UNSET if none. */
static uint32_t index_take(const struct index *ix, const struct tw_policy *op, const struct tw_rule *krules,
			   uint32_t cap, uint8_t *claimed, const struct tw_policy_rule *r, uint32_t parent)
{
	uint64_t h;

	for (h = rule_hash(r) & ix->mask; ix->b[h]; h = (h + 1) & ix->mask) {
		uint32_t s = ix->b[h] - 1;

		if (!claimed[s] && s < cap && krules[s].parent == parent && rule_same(&op->rules[s], r)) {
			claimed[s] = 1;
			return s;
		}
	}
	return UNSET;
}

/* Kept rules, parents before children (a chain is at most TW_MAX_CHAIN deep); fresh ones marked. */
static void keep_slots(const struct index *ix, const struct tw_policy *op, const struct tw_rule *krules,
		       uint32_t cap, const struct tw_policy *np, const struct tw_tables *nt,
		       uint8_t *claimed, uint32_t *of, uint8_t *isnew)
{
	bool progress = true;
	int i, round;

	for (round = 0; progress && round <= TW_MAX_CHAIN + 1; round++) {
		progress = false;
		for (i = 0; i < np->nrules; i++) {
			uint32_t pi = nt->rules[i].parent;

			if (of[i] != UNSET || isnew[i] || (pi && of[pi - 1] == UNSET && !isnew[pi - 1]))
				continue;
			/* A fresh parent: no old rule has it, so the child is fresh too. */
			if (pi && isnew[pi - 1])
				isnew[i] = 1;
			else
				of[i] = index_take(ix, op, krules, cap, claimed, &np->rules[i], pi ? of[pi - 1] + 1 : 0);
			isnew[i] |= of[i] == UNSET;
			progress = true;
		}
	}
}

/* Only the /16s a changed IPv4 rule covers can judge differently: the others keep their entries. */
static void mark_dirty(struct tw_slots *s, const struct tw_cidr *c)
{
	uint32_t h = (uint32_t)c->addr[0] << 8 | c->addr[1], n, i;

	if (c->family != 4)
		return;
	n = c->len >= 16 ? 1 : 1u << (16 - c->len);
	for (i = 0; i < n && h + i < TW_DIR_L1; i++)
		s->dirty16[h + i] = 1;
}

int tw_slots_assign(const struct tw_policy *op, const struct tw_rule *krules, uint32_t cap,
		    const struct tw_policy *np, const struct tw_tables *nt, struct tw_slots *s)
{
	struct index ix = {};
	uint8_t *claimed = NULL, *isnew = NULL;
	uint32_t next = 0, span = op->nrules;
	int i, err = -ENOMEM;

	memset(s, 0, sizeof(*s));
	if ((uint32_t)op->nrules > cap)
		return -ENOSPC;
	claimed = calloc(cap + 1, 1);
	isnew = calloc(np->nrules + 1, 1);
	s->of = malloc((np->nrules + 1) * sizeof(*s->of));
	s->fresh = calloc(cap + 1, 1);
	s->retired = calloc(cap + 1, 1);
	s->dirty16 = calloc(TW_DIR_L1, 1);
	if (!claimed || !isnew || !s->of || !s->fresh || !s->retired || !s->dirty16 || index_build(&ix, op))
		goto out;
	memset(s->of, 0xff, (np->nrules + 1) * sizeof(*s->of));
	keep_slots(&ix, op, krules, cap, np, nt, claimed, s->of, isnew);
	err = 0;
	for (i = 0; i < np->nrules && !err; i++) {
		if (s->of[i] != UNSET)
			continue;
		/* Empty before and not live: no entry names it. */
		while (next < cap && (next < (uint32_t)op->nrules ? op->rules[next].cidr.family != 0 : false))
			next++;
		if (next >= cap) {
			err = -ENOSPC;
			break;
		}
		s->of[i] = next;
		s->fresh[next++] = 1;
	}
	for (i = 0; i < op->nrules; i++) {
		s->retired[i] = op->rules[i].cidr.family && !claimed[i];
		if (s->retired[i])
			mark_dirty(s, &op->rules[i].cidr);
	}
	for (i = 0; i < np->nrules; i++)
		if (s->of[i] != UNSET && s->fresh[s->of[i]])
			mark_dirty(s, &np->rules[i].cidr);
	for (i = 0; i < np->nrules; i++)
		if (s->of[i] != UNSET && s->of[i] + 1 > span)
			span = s->of[i] + 1;
	s->n = span;
out:
	free(ix.b);
	free(claimed);
	free(isnew);
	if (err)
		tw_slots_free(s);
	return err;
}

uint32_t tw_slots_ref(const struct tw_slots *s, uint32_t v)
{
	return v && !(v & TW_DIR_FLAGS) ? s->of[v - 1] + 1 : v;
}

int tw_slots_adopt(const struct tw_slots *s, const struct tw_policy *np, struct tw_policy *op)
{
	uint32_t i;

	if (s->n > (uint32_t)op->nrules) {
		struct tw_policy_rule *r = realloc(op->rules, (s->n + 1) * sizeof(*r));

		if (!r)
			return -ENOMEM;
		memset(&r[op->nrules], 0, (s->n + 1 - op->nrules) * sizeof(*r));
		op->rules = r;
		op->nrules = s->n;
	}
	/* A kept rule's text position (jpath) may have moved; a fresh one fills an empty slot. */
	for (i = 0; i < (uint32_t)np->nrules; i++)
		op->rules[s->of[i]] = np->rules[i];
	return 0;
}

void tw_slots_retire(const struct tw_slots *s, struct tw_policy *p)
{
	uint32_t i;

	for (i = 0; i < s->n && i < (uint32_t)p->nrules; i++)
		if (s->retired[i] && !s->fresh[i])
			memset(&p->rules[i], 0, sizeof(p->rules[i]));
}

void tw_slots_free(struct tw_slots *s)
{
	free(s->of);
	free(s->fresh);
	free(s->retired);
	free(s->dirty16);
	memset(s, 0, sizeof(*s));
}

int tw_slots_count(const struct tw_policy *p)
{
	int i, n = 0;

	for (i = 0; i < p->nrules; i++)
		n += p->rules[i].cidr.family != 0;
	return n;
}
