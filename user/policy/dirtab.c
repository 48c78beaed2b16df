// SPDX-License-Identifier: GPL-2.0
/*
 * Destination tables (maps/tierwall.h). IPv4 rules are painted in address
 * order (compile.c), each after every prefix containing it, so a longer
 * prefix overrides a shorter one: into the /16 level, a
 * /16's third byte (a dense 256-entry block where more than
 * TW_DIR_HASH_MAX of its /24s need their own entry, else one hash entry per
 * such /24), and nibble blocks for the /25-/32 inside a /24. IPv6 prefixes
 * go to one hash keyed by (length, address), probed per length in use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "dirtab.h"

/* Past this many own /24s a /16 costs less as a dense block (1 KiB) than as hash entries (~90 B). */
#define TW_DIR_HASH_MAX		12

/* Painting state: which /24s of the hashed /16s have an entry, and where. */
struct v4_build {
	uint64_t *bits;		/* 2^24 bits, one per /24 */
	uint32_t *rank;		/* entries before each 64-bit word of bits */
	uint8_t *dense;		/* per /16: painted through a 256-entry block */
	uint32_t tail_cap;	/* blocks allocated in t->tail */
};

static uint32_t v4_addr(const struct tw_cidr *c)
{
	return (uint32_t)c->addr[0] << 24 | c->addr[1] << 16 | c->addr[2] << 8 | c->addr[3];
}

/* The /24s a rule longer than /16 paints: first and count. */
static void v4_span24(const struct tw_cidr *c, uint32_t *first, uint32_t *n)
{
	*first = v4_addr(c) >> 8;
	*n = c->len >= 24 ? 1 : 1u << (24 - c->len);
}

/* Mark the /24s that need entries; decide dense or hashed per /16; rank the hashed ones. */
static int v4_plan(const struct tw_policy *p, struct tw_tables *t, struct v4_build *b)
{
	uint32_t first, n, i, h, w, sum = 0;
	int r;

	b->bits = calloc(1u << 18, sizeof(*b->bits));
	b->rank = calloc(1u << 18, sizeof(*b->rank));
	b->dense = calloc(TW_DIR_L1, 1);
	if (!b->bits || !b->rank || !b->dense)
		return -ENOMEM;
	for (r = 0; r < p->nrules; r++) {
		if (p->rules[r].cidr.family != 4 || p->rules[r].cidr.len <= 16)
			continue;
		v4_span24(&p->rules[r].cidr, &first, &n);
		for (i = first; i < first + n; i++)
			b->bits[i >> 6] |= 1ull << (i & 63);
	}
	for (h = 0; h < TW_DIR_L1; h++) {
		uint64_t *q = &b->bits[h * 4];

		if (__builtin_popcountll(q[0]) + __builtin_popcountll(q[1]) +
		    __builtin_popcountll(q[2]) + __builtin_popcountll(q[3]) <= TW_DIR_HASH_MAX)
			continue;
		b->dense[h] = 1;
		t->ndense++;
		memset(q, 0, 4 * sizeof(*q));
	}
	for (w = 0; w < 1u << 18; w++) {
		b->rank[w] = sum;
		sum += __builtin_popcountll(b->bits[w]);
	}
	t->nl24 = sum;
	return 0;
}

static uint32_t v4_slot(const struct v4_build *b, uint32_t x)
{
	return b->rank[x >> 6] + __builtin_popcountll(b->bits[x >> 6] & ((1ull << (x & 63)) - 1));
}

/* The third-byte entry of /24 x, its /16 made to descend first if need be. */
static uint32_t *v4_entry24(struct tw_tables *t, const struct v4_build *b, uint32_t x)
{
	uint32_t h = x >> 8, *l1 = &t->v4[h], i;

	if (b->dense[h]) {
		if (!(*l1 & TW_DIR_BLOCK)) {
			uint32_t *blk = &t->blocks[t->nblocks * TW_DIR_BLOCK_SIZE];

			/* A new block starts as its /16's leaf: the containing prefix. */
			for (i = 0; i < TW_DIR_BLOCK_SIZE; i++)
				blk[i] = *l1;
			*l1 = TW_DIR_BLOCK | t->nblocks++;
		}
		return &t->blocks[(*l1 & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE + (x & 0xff)];
	}
	if (!(*l1 & TW_DIR_HASH)) {
		/* The slots of h's /24s; past the last /16, the total. */
		uint32_t s = v4_slot(b, h << 8);
		uint32_t e = h == TW_DIR_L1 - 1 ? t->nl24 : v4_slot(b, (h + 1) << 8);

		for (i = s; i < e; i++)
			t->l24_vals[i] = *l1;
		*l1 = TW_DIR_HASH | *l1;
	}
	return &t->l24_vals[v4_slot(b, x)];
}

/* A new nibble block filled with val; its number, or -errno. */
static int64_t v4_tail_new(struct tw_tables *t, struct v4_build *b, uint32_t val)
{
	uint32_t n = t->tail_len / TW_DIR_TAIL_SIZE, i;

	if (n >= TW_DIR_MAX_REF)
		return -E2BIG;
	if (n == b->tail_cap) {
		uint32_t cap = b->tail_cap ? b->tail_cap * 2 : 1024;
		uint32_t *nt = realloc(t->tail, (size_t)cap * TW_DIR_TAIL_SIZE * sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		t->tail = nt;
		b->tail_cap = cap;
	}
	for (i = 0; i < TW_DIR_TAIL_SIZE; i++)
		t->tail[t->tail_len++] = val;
	return n;
}

/*
 * Paint a /25-/32 below its /24's entry (at *e, outside t->tail): the high
 * nibble's block, then for /29-/32 the low nibble's block. Indexes, not
 * pointers, into t->tail: a new block may move it.
 */
static int v4_paint_tail(struct tw_tables *t, struct v4_build *b, uint32_t *e,
			 const struct tw_cidr *c, uint32_t val)
{
	uint32_t a = v4_addr(c), at, first, n, i;
	int64_t blk;

	if (!(*e & TW_DIR_TAIL)) {
		blk = v4_tail_new(t, b, *e);
		if (blk < 0)
			return blk;
		*e = TW_DIR_TAIL | blk;
	}
	at = (*e & ~TW_DIR_TAIL) * TW_DIR_TAIL_SIZE + ((a >> 4) & 0xf);
	if (c->len <= 28) {
		first = at;
		n = 1u << (28 - c->len);
	} else {
		if (!(t->tail[at] & TW_DIR_TAIL)) {
			blk = v4_tail_new(t, b, t->tail[at]);
			if (blk < 0)
				return blk;
			t->tail[at] = TW_DIR_TAIL | blk;
		}
		first = (t->tail[at] & ~TW_DIR_TAIL) * TW_DIR_TAIL_SIZE + (a & 0xf);
		n = 1u << (32 - c->len);
	}
	for (i = 0; i < n; i++)
		t->tail[first + i] = val;
	return 0;
}

static int v4_paint(struct tw_tables *t, struct v4_build *b, const struct tw_cidr *c, uint32_t val)
{
	uint32_t first, n, i;

	if (c->len <= 16) {
		first = v4_addr(c) >> 16;
		n = 1u << (16 - c->len);
		for (i = 0; i < n; i++)
			t->v4[first + i] = val;
		return 0;
	}
	v4_span24(c, &first, &n);
	if (c->len > 24)
		return v4_paint_tail(t, b, v4_entry24(t, b, first), c, val);
	for (i = 0; i < n; i++)
		*v4_entry24(t, b, first + i) = val;
	return 0;
}

static void v4_build_free(struct v4_build *b)
{
	free(b->bits);
	free(b->rank);
	free(b->dense);
}

int tw_dirtab_v4(const struct tw_policy *p, const int *order, struct tw_tables *t,
		 struct tw_diags *d)
{
	struct v4_build b = {};
	uint32_t w, k;
	int i, err;

	err = v4_plan(p, t, &b);
	if (err)
		goto out;
	err = -ENOMEM;
	t->v4 = calloc(TW_DIR_L1, sizeof(*t->v4));
	t->blocks = malloc(((size_t)t->ndense * TW_DIR_BLOCK_SIZE + 1) * sizeof(*t->blocks));
	t->l24_keys = malloc((t->nl24 + 1) * sizeof(*t->l24_keys));
	t->l24_vals = calloc(t->nl24 + 1, sizeof(*t->l24_vals));
	if (!t->v4 || !t->blocks || !t->l24_keys || !t->l24_vals)
		goto out;
	/* Keys in ascending order: the userspace lookup searches them. */
	for (w = 0, k = 0; w < 1u << 18; w++)
		for (uint64_t m = b.bits[w]; m; m &= m - 1)
			t->l24_keys[k++] = w << 6 | __builtin_ctzll(m);
	for (i = 0, err = 0; i < p->nrules && !err; i++)
		if (p->rules[order[i]].cidr.family == 4)
			err = v4_paint(t, &b, &p->rules[order[i]].cidr, order[i] + 1);
	if (err == -E2BIG)
		tw_diag(d, "destinations", "IPv4 rules longer than /24 need more than %u nibble blocks",
			TW_DIR_MAX_REF);
out:
	v4_build_free(&b);
	return err;
}

/* compile.c's order: address, then length. */
static int v6_cmp(const struct tw_v6_key *a, const struct tw_v6_key *b)
{
	int c = memcmp(a->addr, b->addr, 16);

	if (c)
		return c;
	return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

int tw_dirtab_v6(const struct tw_policy *p, const int *order, struct tw_tables *t,
		 struct tw_diags *d)
{
	bool seen[129] = {};
	int i, l, nlens = 0;

	t->v6_keys = calloc(p->nrules + 1, sizeof(*t->v6_keys));
	t->v6_vals = calloc(p->nrules + 1, sizeof(*t->v6_vals));
	if (!t->v6_keys || !t->v6_vals)
		return -ENOMEM;
	/* In order: equal prefixes together, in document order. */
	for (i = 0; i < p->nrules; i++) {
		const struct tw_cidr *c = &p->rules[order[i]].cidr;
		struct tw_v6_key *k = &t->v6_keys[t->nv6];

		if (c->family != 6)
			continue;
		k->len = c->len;
		memcpy(k->addr, c->addr, 16);
		/* The later of equal prefixes decides; its parent is the earlier. */
		if (t->nv6 && !v6_cmp(&t->v6_keys[t->nv6 - 1], k)) {
			t->v6_vals[t->nv6 - 1] = order[i] + 1;
			continue;
		}
		t->v6_vals[t->nv6++] = order[i] + 1;
		nlens += !seen[c->len];
		seen[c->len] = true;
	}
	if (nlens > TW_V6_MAX_LENS) {
		tw_diag(d, "destinations",
			"IPv6 rules use %d different prefix lengths; at most %d fit (each is one lookup per decision)",
			nlens, TW_V6_MAX_LENS);
		return -E2BIG;
	}
	for (l = 128; l >= 0; l--)
		if (seen[l])
			t->v6_lens.len[t->v6_lens.n++] = l;
	return 0;
}

static uint32_t match_l24(const struct tw_tables *t, uint32_t x, uint32_t fallback)
{
	uint32_t lo = 0, hi = t->nl24;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (t->l24_keys[mid] == x)
			return t->l24_vals[mid];
		if (t->l24_keys[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return fallback;
}

static uint32_t match_v4(const struct tw_tables *t, const uint8_t *addr)
{
	uint32_t a = (uint32_t)addr[0] << 24 | addr[1] << 16 | addr[2] << 8 | addr[3];
	uint32_t e = t->v4[a >> 16];

	if (e & TW_DIR_BLOCK)
		e = t->blocks[(e & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE + ((a >> 8) & 0xff)];
	else if (e & TW_DIR_HASH)
		e = match_l24(t, a >> 8, e & ~TW_DIR_HASH);
	if (e & TW_DIR_TAIL)
		e = t->tail[(e & ~TW_DIR_TAIL) * TW_DIR_TAIL_SIZE + ((a >> 4) & 0xf)];
	if (e & TW_DIR_TAIL)
		e = t->tail[(e & ~TW_DIR_TAIL) * TW_DIR_TAIL_SIZE + (a & 0xf)];
	return e & TW_DIR_FLAGS ? 0 : e;
}

static uint32_t match_v6(const struct tw_tables *t, const uint8_t *addr)
{
	uint32_t i;

	for (i = 0; i < t->v6_lens.n; i++) {
		struct tw_v6_key k = { .len = t->v6_lens.len[i] };
		int lo = 0, hi = t->nv6;

		memcpy(k.addr, addr, 16);
		tw_prefix_mask(k.addr, 16, k.len);
		while (lo < hi) {
			int mid = lo + (hi - lo) / 2, c = v6_cmp(&t->v6_keys[mid], &k);

			if (!c)
				return t->v6_vals[mid];
			if (c < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return 0;
}

uint32_t tw_dirtab_match(const struct tw_tables *t, int family, const uint8_t *addr)
{
	return family == 4 ? match_v4(t, addr) : match_v6(t, addr);
}
