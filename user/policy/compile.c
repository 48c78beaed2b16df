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
#include <unistd.h>
#include "dirtab.h"
#include "rulesort.h"

/*
 * In address order the prefixes containing a rule are the ones still open
 * on a stack when it comes: the top is the most specific (for equal
 * prefixes, the latest earlier one).
 */
static int set_parents(const struct tw_policy *p, struct tw_tables *t,
		       const int *order, struct tw_diags *d)
{
	int *stack = malloc((p->nrules + 1) * sizeof(*stack)), top = 0, k;

	if (!stack)
		return -ENOMEM;
	for (k = 0; k < p->nrules; k++) {
		int i = order[k];

		while (top && !tw_cidr_contains(&p->rules[stack[top - 1]].cidr, &p->rules[i].cidr))
			top--;
		t->rules[i].parent = top ? stack[top - 1] + 1 : 0;
		stack[top++] = i;
	}
	free(stack);

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
	return (uint64_t)t->nrules * sizeof(*t->rules) + (TW_DIR_L1 + (uint64_t)t->ndense * TW_DIR_BLOCK_SIZE) * 4 +
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
	/* Address order: every prefix comes after each prefix containing it. */
	err = tw_rules_sort(p->rules, p->nrules, false, order);
	if (!err)
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
	/* Views of the kernel's maps are unmapped first by their owner (tw_fill_unshare). */
	if (!t->shared) {
		free(t->rules);
		free(t->blocks);
		free(t->tail);
	}
	free(t->names);
	free(t->name_vals);
	free(t->v4);
	free(t->l24_keys);
	free(t->l24_vals);
	free(t->v6_keys);
	free(t->v6_vals);
	memset(t, 0, sizeof(*t));
}

size_t tw_tables_bytes(uint32_t n, size_t size)
{
	size_t page = sysconf(_SC_PAGESIZE);

	return ((n ? n : 1) * size + page - 1) / page * page;
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
