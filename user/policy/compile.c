// SPDX-License-Identifier: GPL-2.0
/*
 * Policy -> kernel tables. Every rule gets a parent: the next rule to try
 * when its ports do not match (an earlier rule with the same prefix, else
 * the most specific rule containing it). IPv4 rules are painted into a
 * DIR-16-8-8 table, shortest prefixes first, so a longer prefix overrides
 * a shorter one; IPv6 rules go to an LPM trie.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "compile.h"

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

static uint32_t dir_block(struct tw_tables *t, uint32_t entry_idx)
{
	uint32_t e = t->v4[entry_idx], b, i;

	if (e & TW_DIR_BLOCK)
		return e & ~TW_DIR_BLOCK;
	b = t->nblocks++;
	/* A new block starts as its parent entry's leaf: the shorter prefix. */
	for (i = 0; i < TW_DIR_BLOCK_SIZE; i++)
		t->v4[TW_DIR_L1 + b * TW_DIR_BLOCK_SIZE + i] = e;
	t->v4[entry_idx] = TW_DIR_BLOCK | b;
	return b;
}

static void dir_paint(struct tw_tables *t, const struct tw_cidr *c, uint32_t val)
{
	uint32_t a = (uint32_t)c->addr[0] << 24 | c->addr[1] << 16 | c->addr[2] << 8 | c->addr[3];
	uint32_t first, n, i, base;

	if (c->len <= 16) {
		first = a >> 16;
		n = 1u << (16 - c->len);
		base = 0;
	} else if (c->len <= 24) {
		base = TW_DIR_L1 + dir_block(t, a >> 16) * TW_DIR_BLOCK_SIZE;
		first = (a >> 8) & 0xff;
		n = 1u << (24 - c->len);
	} else {
		uint32_t b2 = TW_DIR_L1 + dir_block(t, a >> 16) * TW_DIR_BLOCK_SIZE;

		base = TW_DIR_L1 + dir_block(t, b2 + ((a >> 8) & 0xff)) * TW_DIR_BLOCK_SIZE;
		first = a & 0xff;
		n = 1u << (32 - c->len);
	}
	for (i = 0; i < n; i++)
		t->v4[base + first + i] = val;
}

/* Upper bound of DIR blocks: one per /16 and per /24 holding a longer prefix. */
static uint32_t count_blocks(const struct tw_policy *p)
{
	struct pfx_set s = { .rules = p->rules };
	uint32_t n = 0, cap = 16;
	int i;

	while (cap < (uint32_t)p->nrules * 4 + 16)
		cap <<= 1;
	/* Reuse the prefix set with fake rules holding the /16 and /24 keys. */
	struct tw_policy_rule *keys = calloc(2 * p->nrules + 1, sizeof(*keys));
	s.slot = malloc(cap * sizeof(*s.slot));
	if (!keys || !s.slot) {
		free(keys);
		free(s.slot);
		return UINT32_MAX;
	}
	memset(s.slot, 0xff, cap * sizeof(*s.slot));
	s.cap = cap;
	s.rules = keys;
	for (i = 0; i < p->nrules; i++) {
		const struct tw_cidr *c = &p->rules[i].cidr;
		int lvl;

		if (c->family != 4)
			continue;
		for (lvl = 16; lvl <= 24; lvl += 8) {
			struct tw_cidr k = *c;
			int32_t *slot;

			if (c->len <= lvl)
				break;
			k.len = lvl;
			tw_prefix_mask(k.addr, 4, lvl);
			slot = pfx_slot(&s, 4, lvl, k.addr);
			if (*slot < 0) {
				keys[n].cidr = k;
				*slot = n++;
			}
		}
	}
	free(keys);
	free(s.slot);
	return n;
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

int tw_compile(const struct tw_policy *p, struct tw_tables *t, struct tw_diags *d)
{
	uint32_t maxblocks;
	int *order = NULL, i, k, err = -ENOMEM;

	memset(t, 0, sizeof(*t));
	t->nrules = p->nrules + p->nhrules;
	maxblocks = count_blocks(p);
	if (maxblocks == UINT32_MAX)
		return -ENOMEM;
	if (maxblocks > TW_DIR_BLOCK_LIMIT) {
		tw_diag(d, "destinations", "IPv4 rules longer than /16 spread over %u /16 and /24 blocks; at most %d fit",
			maxblocks, TW_DIR_BLOCK_LIMIT);
		return -E2BIG;
	}
	t->rules = calloc(t->nrules + 1, sizeof(*t->rules));
	t->names = calloc(p->nhosts + 1, sizeof(*t->names));
	t->name_vals = calloc(p->nhosts + 1, sizeof(*t->name_vals));
	t->v4 = calloc(TW_DIR_L1 + (size_t)maxblocks * TW_DIR_BLOCK_SIZE, sizeof(*t->v4));
	order = malloc((p->nrules + 1) * sizeof(*order));
	t->v6_keys = calloc(p->nrules + 1, sizeof(*t->v6_keys));
	t->v6_vals = calloc(p->nrules + 1, sizeof(*t->v6_vals));
	if (!t->rules || !t->v4 || !order || !t->v6_keys || !t->v6_vals || !t->names ||
	    !t->name_vals)
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
	if (err)
		goto out;
	for (k = 0; k < p->nrules; k++) {
		const struct tw_policy_rule *r = &p->rules[order[k]];

		if (r->cidr.family == 4) {
			dir_paint(t, &r->cidr, order[k] + 1);
			continue;
		}
		t->v6_keys[t->nv6].prefixlen = r->cidr.len;
		memcpy(t->v6_keys[t->nv6].addr, r->cidr.addr, 16);
		/* Equal prefixes sort together; the later one's parent is the earlier. */
		if (t->nv6 && !memcmp(&t->v6_keys[t->nv6 - 1], &t->v6_keys[t->nv6],
				      sizeof(t->v6_keys[0]))) {
			t->v6_vals[t->nv6 - 1] = order[k] + 1;
			continue;
		}
		t->v6_vals[t->nv6++] = order[k] + 1;
	}
	t->v4_len = TW_DIR_L1 + t->nblocks * TW_DIR_BLOCK_SIZE;
	err = 0;
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
	free(t->v6_keys);
	free(t->v6_vals);
	memset(t, 0, sizeof(*t));
}

static uint32_t match_v4(const struct tw_tables *t, const uint8_t *addr)
{
	uint32_t a = (uint32_t)addr[0] << 24 | addr[1] << 16 | addr[2] << 8 | addr[3];
	uint32_t e = t->v4[a >> 16];

	if (e & TW_DIR_BLOCK)
		e = t->v4[TW_DIR_L1 + (e & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE + ((a >> 8) & 0xff)];
	if (e & TW_DIR_BLOCK)
		e = t->v4[TW_DIR_L1 + (e & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE + (a & 0xff)];
	return e;
}

static uint32_t match_v6(const struct tw_tables *t, const uint8_t *addr)
{
	int i, best = -1;

	for (i = 0; i < t->nv6; i++) {
		struct tw_cidr c = { .family = 6, .len = t->v6_keys[i].prefixlen };
		struct tw_cidr h = { .family = 6, .len = 128 };

		memcpy(c.addr, t->v6_keys[i].addr, 16);
		memcpy(h.addr, addr, 16);
		if (tw_cidr_contains(&c, &h) &&
		    (best < 0 || t->v6_keys[i].prefixlen > t->v6_keys[best].prefixlen))
			best = i;
	}
	return best < 0 ? 0 : t->v6_vals[best];
}

int tw_tables_match(const struct tw_tables *t, int family, const uint8_t *addr,
		    uint16_t port)
{
	uint32_t ref = family == 4 ? match_v4(t, addr) : match_v6(t, addr);
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
