// SPDX-License-Identifier: GPL-2.0
/*
 * Policy -> kernel tables. Every rule gets a parent: the next rule to try
 * when its ports do not match (an earlier rule with the same prefix, else
 * the most specific rule containing it). The destination tables themselves
 * are dirtab.c's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dirtab.h"

/* Open-addressing set of (family, len, addr) -> latest rule with that prefix. */
struct pfx_set {
	uint32_t cap;
	int32_t *slot;			/* rule index or -1 */
	const struct tw_policy_rule *rules;
};

static uint32_t pfx_hash(int family, int len, const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ (family * 131 + len);
	int i;

	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h;
}

static bool pfx_eq(const struct tw_cidr *c, int family, int len, const uint8_t *addr)
{
	return c->family == family && c->len == len && !memcmp(c->addr, addr, 16);
}

static int32_t *pfx_slot(struct pfx_set *s, int family, int len, const uint8_t *addr)
{
	uint32_t i = pfx_hash(family, len, addr) & (s->cap - 1);

	while (s->slot[i] >= 0 && !pfx_eq(&s->rules[s->slot[i]].cidr, family, len, addr))
		i = (i + 1) & (s->cap - 1);
	return &s->slot[i];
}

static int cmp_len(const void *x, const void *y, void *arg)
{
	const struct tw_policy_rule *r = arg;
	int a = *(const int *)x, b = *(const int *)y;

	if (r[a].cidr.family != r[b].cidr.family)
		return r[a].cidr.family - r[b].cidr.family;
	if (r[a].cidr.len != r[b].cidr.len)
		return r[a].cidr.len - r[b].cidr.len;
	if (memcmp(r[a].cidr.addr, r[b].cidr.addr, 16))
		return memcmp(r[a].cidr.addr, r[b].cidr.addr, 16);
	return a - b;
}

/* Most specific earlier rule containing rule i (prefix lengths <= its own). */
static int find_parent(struct pfx_set *s, const struct tw_policy_rule *r)
{
	int bytes = r->cidr.family == 4 ? 4 : 16, l;
	uint8_t a[16];

	for (l = r->cidr.len; l >= 0; l--) {
		int32_t *slot;

		memcpy(a, r->cidr.addr, 16);
		tw_prefix_mask(a, bytes, l);
		slot = pfx_slot(s, r->cidr.family, l, a);
		if (*slot >= 0)
			return *slot;
	}
	return -1;
}

static int set_parents(const struct tw_policy *p, struct tw_tables *t,
		       const int *order, struct tw_diags *d)
{
	struct pfx_set s = { .rules = p->rules };
	uint32_t cap = 16;
	int k;

	while (cap < (uint32_t)p->nrules * 2 + 16)
		cap <<= 1;
	s.slot = malloc(cap * sizeof(*s.slot));
	if (!s.slot)
		return -ENOMEM;
	memset(s.slot, 0xff, cap * sizeof(*s.slot));
	s.cap = cap;
	for (k = 0; k < p->nrules; k++) {
		int i = order[k], par = find_parent(&s, &p->rules[i]);

		t->rules[i].parent = par < 0 ? 0 : par + 1;
		*pfx_slot(&s, p->rules[i].cidr.family, p->rules[i].cidr.len,
			  p->rules[i].cidr.addr) = i;
	}
	free(s.slot);

	/* The kernel walks at most TW_MAX_CHAIN rules per decision. */
	for (k = 0; k < p->nrules; k++) {
		int i = k, visits = 1;

		while (t->rules[i].nports && t->rules[i].parent) {
			i = t->rules[i].parent - 1;
			if (++visits > TW_MAX_CHAIN) {
				tw_diag(d, p->rules[k].jpath,
					"a decision here may need more than %d nested port-scoped rules, the most the kernel walks (give an outer CIDR all ports or nest fewer)",
					TW_MAX_CHAIN);
				return -EINVAL;
			}
		}
	}
	return 0;
}

/* What the kernel tables will take, roughly (hash entries: element and bucket). */
static uint64_t table_bytes(const struct tw_tables *t)
{
	return (uint64_t)t->nrules * sizeof(*t->rules) + (uint64_t)t->v4_len * 4 +
	       (uint64_t)t->nl24 * 96 + (uint64_t)t->tail_len * 4 + (uint64_t)t->nv6 * 112;
}

static int compile_dests(const struct tw_policy *p, struct tw_tables *t, const int *order,
			 struct tw_diags *d)
{
	int err = tw_dirtab_v4(p, order, t, d);

	if (!err)
		err = tw_dirtab_v6(p, order, t, d);
	if (!err && table_bytes(t) > TW_TABLE_BYTES_LIMIT) {
		tw_diag(d, "destinations", "the destination tables would take about %llu MiB of kernel memory; at most %u MiB fit",
			(unsigned long long)(table_bytes(t) >> 20), TW_TABLE_BYTES_LIMIT >> 20);
		err = -E2BIG;
	}
	return err;
}

int tw_compile(const struct tw_policy *p, struct tw_tables *t, struct tw_diags *d)
{
	int *order = NULL, i, err = -ENOMEM;

	memset(t, 0, sizeof(*t));
	t->nrules = p->nrules + p->nhrules;
	if ((uint32_t)t->nrules >= TW_DIR_MAX_REF) {
		tw_diag(d, "destinations", "%d CIDRs and hostname entries; at most %u fit",
			t->nrules, TW_DIR_MAX_REF - 1);
		return -E2BIG;
	}
	t->rules = calloc(t->nrules + 1, sizeof(*t->rules));
	t->names = calloc(p->nhosts + 1, sizeof(*t->names));
	t->name_vals = calloc(p->nhosts + 1, sizeof(*t->name_vals));
	order = malloc((p->nrules + 1) * sizeof(*order));
	if (!t->rules || !order || !t->names || !t->name_vals)
		goto out;
	/* Hostname destinations: one rule each, after the CIDR rules, no parent. */
	for (i = 0; i < p->nhrules; i++) {
		t->rules[p->nrules + i].tier = p->hrules[i].tier;
		t->rules[p->nrules + i].nports = p->hrules[i].nports;
		memcpy(t->rules[p->nrules + i].ports, p->hrules[i].ports, sizeof(p->hrules[i].ports));
	}
	for (i = 0; i < p->nhosts; i++) {
		tw_name_key(p->hosts[i].name, &t->names[i]);
		t->name_vals[i].host = i + 1;
		t->name_vals[i].tier = p->hosts[i].tier;
		t->name_vals[i].wildcard = p->hosts[i].wildcard;
	}
	t->nnames = p->nhosts;

	for (i = 0; i < p->nrules; i++) {
		const struct tw_policy_rule *r = &p->rules[i];

		order[i] = i;
		t->rules[i].tier = r->tier;
		t->rules[i].nports = r->nports;
		memcpy(t->rules[i].ports, r->ports, sizeof(r->ports));
	}
	/* Shortest prefixes first; equal prefixes together, in document order. */
	qsort_r(order, p->nrules, sizeof(*order), cmp_len, p->rules);
	err = set_parents(p, t, order, d);
	if (!err)
		err = compile_dests(p, t, order, d);
out:
	free(order);
	if (err)
		tw_tables_free(t);
	return err;
}

void tw_name_key(const char *name, struct tw_name_key *k)
{
	bool wild = !strncmp(name, "*.", 2);
	size_t n, i;

	memset(k, 0, sizeof(*k));
	if (wild)
		name += 2;
	n = strlen(name);
	if (n > TW_DNS_NAME_MAX - 2)
		n = TW_DNS_NAME_MAX - 2;
	for (i = 0; i < n; i++)
		k->name[i] = tolower((unsigned char)name[n - 1 - i]);
	/* Exact: the name and its end. Wildcard: the suffix and one more dot. */
	k->name[n] = wild ? '.' : '\0';
	k->prefixlen = (n + 1) * 8;
}

void tw_tables_free(struct tw_tables *t)
{
	free(t->names);
	free(t->name_vals);
	free(t->rules);
	free(t->v4);
	free(t->l24_keys);
	free(t->l24_vals);
	free(t->tail);
	free(t->v6_keys);
	free(t->v6_vals);
	memset(t, 0, sizeof(*t));
}

int tw_tables_match(const struct tw_tables *t, int family, const uint8_t *addr,
		    uint16_t port)
{
	uint32_t ref = tw_dirtab_match(t, family, addr);
	int i, j;

	for (i = 0; i < TW_MAX_CHAIN && ref; i++) {
		const struct tw_rule *r = &t->rules[ref - 1];

		if (!r->nports)
			return ref - 1;
		for (j = 0; j < r->nports; j++)
			if (r->ports[j] == port)
				return ref - 1;
		ref = r->parent;
	}
	return -1;
}
