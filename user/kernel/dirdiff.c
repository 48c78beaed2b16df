// SPDX-License-Identifier: GPL-2.0
/*
 * In-place reload of the destination tables (see dirdiff.h). The programs
 * read one 32-bit entry per level; a store of one entry is atomic, so an
 * address moves from its old judgement to its new one at one store: the
 * store that links its new entry or subtree. Subtrees are never edited in
 * place below a linked entry except for that one store; hash entries are
 * replaced by the kernel atomically. Each /16 is applied in this order:
 * new nibble blocks and /24 hash entries, then the /16's entry, then the
 * /24 hash entries the new /16 no longer uses. A dry run first counts what
 * the writes need, so a reload that does not fit writes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "blkpool.h"
#include "dirdiff.h"
#include "fill.h"
#include "loader_int.h"
#include "net.skel.h"

struct tw_dirdiff {
	int l24_fd, v6_fd;
	uint32_t *dir;			/* v4_dir: one __u32 per 8-byte element */
	uint32_t *kblk, *ktail;
	struct tw_rule *rules;
	size_t dir_len, blk_len, tail_len, rules_len;
	uint32_t cap_blk, cap_tail, cap_rules, cap_l24, cap_v6;
	/* One apply: */
	const struct tw_tables *live;
	struct tw_tables *nt;
	const struct tw_slots *s;	/* nt's rule indexes -> slots */
	bool dry;
	struct tw_pool blk, tail;
	uint32_t need_blk, need_tail, l24_new;
	uint32_t *mk, *mv, mn, mcap;	/* the new /24 hash mirror */
	struct tw_dirdiff_stats *st;
	int err;
};

uint32_t tw_dirdiff_room(uint32_t n, uint32_t least)
{
	return n + (n / 16 > least ? n / 16 : least);
}

static void *map_rw(struct bpf_map *m, size_t *len)
{
	size_t page = sysconf(_SC_PAGESIZE), elem = (bpf_map__value_size(m) + 7) & ~(size_t)7;
	void *p;

	*len = (bpf_map__max_entries(m) * elem + page - 1) / page * page;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	return p == MAP_FAILED ? NULL : p;
}

int tw_dirdiff_open(struct tw_bpf *b, struct tw_dirdiff **out)
{
	struct tw_dirdiff *dd = calloc(1, sizeof(*dd));
	struct net_bpf *s = b->net;

	*out = NULL;
	if (!dd)
		return -ENOMEM;
	dd->l24_fd = bpf_map__fd(s->maps.v4_l24);
	dd->v6_fd = bpf_map__fd(s->maps.v6_pfx);
	dd->cap_blk = bpf_map__max_entries(s->maps.v4_blocks);
	dd->cap_tail = bpf_map__max_entries(s->maps.v4_tail);
	dd->cap_rules = bpf_map__max_entries(s->maps.rules);
	dd->cap_l24 = bpf_map__max_entries(s->maps.v4_l24);
	dd->cap_v6 = bpf_map__max_entries(s->maps.v6_pfx);
	dd->dir = map_rw(s->maps.v4_dir, &dd->dir_len);
	dd->kblk = map_rw(s->maps.v4_blocks, &dd->blk_len);
	dd->ktail = map_rw(s->maps.v4_tail, &dd->tail_len);
	dd->rules = map_rw(s->maps.rules, &dd->rules_len);
	if (!dd->dir || !dd->kblk || !dd->ktail || !dd->rules) {
		int err = -errno;

		tw_dirdiff_close(dd);
		return err;
	}
	*out = dd;
	return 0;
}

void tw_dirdiff_close(struct tw_dirdiff *dd)
{
	if (!dd)
		return;
	if (dd->dir)
		munmap(dd->dir, dd->dir_len);
	if (dd->kblk)
		munmap(dd->kblk, dd->blk_len);
	if (dd->ktail)
		munmap(dd->ktail, dd->tail_len);
	if (dd->rules)
		munmap(dd->rules, dd->rules_len);
	free(dd);
}

const struct tw_rule *tw_dirdiff_rules(struct tw_dirdiff *dd, uint32_t *cap)
{
	*cap = dd->cap_rules;
	return dd->rules;
}

static uint32_t kdir(const struct tw_dirdiff *dd, uint32_t h)
{
	return __atomic_load_n(&dd->dir[2 * h], __ATOMIC_RELAXED);
}

/* The one store that moves what lies below it to the new policy: after its subtree's stores. */
static void store(struct tw_dirdiff *dd, uint32_t *at, uint32_t v)
{
	if (!dd->dry)
		__atomic_store_n(at, v, __ATOMIC_RELEASE);
}

/* The nibble blocks below a kernel entry the new tables no longer link (real pass only). */
static void unlink_tail(struct tw_dirdiff *dd, uint32_t e, int depth)
{
	uint32_t n = e & ~TW_DIR_TAIL, i;

	if (dd->dry || !(e & TW_DIR_TAIL) || n >= dd->cap_tail || depth > 1)
		return;
	for (i = 0; i < TW_DIR_TAIL_SIZE; i++)
		unlink_tail(dd, dd->ktail[n * TW_DIR_TAIL_SIZE + i], depth + 1);
	dd->err = dd->err ?: tw_pool_drop(&dd->tail, n);
}

static void unlink_block(struct tw_dirdiff *dd, uint32_t o)
{
	uint32_t n = o & ~TW_DIR_BLOCK, i;

	if (dd->dry || !(o & TW_DIR_BLOCK) || n >= dd->cap_blk)
		return;
	for (i = 0; i < TW_DIR_BLOCK_SIZE; i++)
		unlink_tail(dd, dd->kblk[n * TW_DIR_BLOCK_SIZE + i], 0);
	dd->err = dd->err ?: tw_pool_drop(&dd->blk, n);
}

/* New table value n as the kernel names it: a rule by its slot. */
static uint32_t nref(const struct tw_dirdiff *dd, uint32_t n)
{
	return tw_slots_ref(dd->s, n);
}

/* Whether kernel entry k and new entry n judge every address below them alike. */
static bool same(const struct tw_dirdiff *dd, uint32_t k, uint32_t n, int depth)
{
	uint32_t i, kb = k & ~TW_DIR_TAIL, nb = n & ~TW_DIR_TAIL;

	if (!(k & TW_DIR_TAIL) || !(n & TW_DIR_TAIL))
		return k == nref(dd, n);
	if (depth > 1 || kb >= dd->cap_tail)
		return false;
	for (i = 0; i < TW_DIR_TAIL_SIZE; i++)
		if (!same(dd, dd->ktail[kb * TW_DIR_TAIL_SIZE + i],
			  dd->nt->tail[nb * TW_DIR_TAIL_SIZE + i], depth + 1))
			return false;
	return true;
}

/* New entry n as the kernel's: its nibble blocks copied into fresh ones first. */
static uint32_t put(struct tw_dirdiff *dd, uint32_t n, int depth)
{
	uint32_t nb = n & ~TW_DIR_TAIL, i, *blk;
	int64_t k;

	if (!(n & TW_DIR_TAIL) || depth > 1)
		return nref(dd, n);
	dd->st->tails++;
	if (dd->dry) {
		dd->need_tail++;
		for (i = 0; i < TW_DIR_TAIL_SIZE; i++)
			put(dd, dd->nt->tail[nb * TW_DIR_TAIL_SIZE + i], depth + 1);
		return TW_DIR_TAIL;
	}
	k = tw_pool_take(&dd->tail);
	if (k < 0) {
		dd->err = k;
		return n;
	}
	blk = &dd->ktail[k * TW_DIR_TAIL_SIZE];
	for (i = 0; i < TW_DIR_TAIL_SIZE; i++)
		blk[i] = put(dd, dd->nt->tail[nb * TW_DIR_TAIL_SIZE + i], depth + 1);
	return TW_DIR_TAIL | k;
}

static int mirror_add(struct tw_dirdiff *dd, uint32_t key, uint32_t val)
{
	if (dd->dry)
		return 0;
	if (dd->mn == dd->mcap) {
		uint32_t cap = dd->mcap ? dd->mcap * 2 : 1024;
		uint32_t *k = realloc(dd->mk, cap * sizeof(*k)), *v;

		if (!k)
			return -ENOMEM;
		dd->mk = k;
		v = realloc(dd->mv, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		dd->mv = v;
		dd->mcap = cap;
	}
	dd->mk[dd->mn] = key;
	dd->mv[dd->mn++] = val;
	return 0;
}

/* First index in keys[0, n) at or past key. */
static uint32_t lower(const uint32_t *keys, uint32_t n, uint32_t key)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (keys[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void l24_set(struct tw_dirdiff *dd, uint32_t key, uint32_t val, bool exists)
{
	dd->st->l24_set++;
	if (dd->dry) {
		dd->l24_new += !exists;
		return;
	}
	if (!dd->err && bpf_map_update_elem(dd->l24_fd, &key, &val, BPF_ANY))
		dd->err = -errno;
}

static void l24_del(struct tw_dirdiff *dd, const uint32_t *keys, uint32_t n)
{
	uint32_t i;

	dd->st->l24_del += n;
	for (i = 0; i < n && !dd->dry && !dd->err; i++)
		if (bpf_map_delete_elem(dd->l24_fd, &keys[i]) && errno != ENOENT)
			dd->err = -errno;
}

/* The live /24 keys of /16 h: [lo, hi). */
static void live_range(const struct tw_tables *lv, uint32_t h, uint32_t *lo, uint32_t *hi)
{
	*lo = lower(lv->l24_keys, lv->nl24, h << 8);
	*hi = lower(lv->l24_keys, lv->nl24, (h + 1) << 8);
}

/* The /24 entries of hashed /16 h: new ones written, unchanged ones kept; into the mirror. */
static void hash24(struct tw_dirdiff *dd, uint32_t h, bool was_hash, uint32_t *olo, uint32_t *ohi)
{
	const struct tw_tables *lv = dd->live, *nt = dd->nt;
	uint32_t lo = 0, hi = 0, nlo = lower(nt->l24_keys, nt->nl24, h << 8), nhi = lower(nt->l24_keys, nt->nl24, (h + 1) << 8);
	uint32_t i, j;

	if (was_hash)
		live_range(lv, h, &lo, &hi);
	i = lo;
	*olo = lo;
	*ohi = hi;
	for (j = nlo; j < nhi; j++) {
		uint32_t key = nt->l24_keys[j], v;

		while (i < hi && lv->l24_keys[i] < key)
			i++;
		if (i < hi && lv->l24_keys[i] == key && same(dd, lv->l24_vals[i], nt->l24_vals[j], 0)) {
			dd->err = dd->err ?: mirror_add(dd, key, lv->l24_vals[i]);
			continue;
		}
		v = put(dd, nt->l24_vals[j], 0);
		l24_set(dd, key, v, i < hi && lv->l24_keys[i] == key);
		if (i < hi && lv->l24_keys[i] == key)
			unlink_tail(dd, lv->l24_vals[i], 0);
		dd->err = dd->err ?: mirror_add(dd, key, v);
	}
}

/* /24 keys of the old hashed /16 that the new one lacks (keys in [lo, hi) of live). */
static void hash24_drop(struct tw_dirdiff *dd, uint32_t h, uint32_t lo, uint32_t hi)
{
	const struct tw_tables *lv = dd->live, *nt = dd->nt;
	uint32_t i;

	for (i = lo; i < hi; i++) {
		uint32_t j = lower(nt->l24_keys, nt->nl24, lv->l24_keys[i]);
		bool kept = (dd->nt->v4[h] & TW_DIR_HASH) && j < nt->nl24 &&
			    nt->l24_keys[j] == lv->l24_keys[i];

		if (kept)
			continue;
		l24_del(dd, &lv->l24_keys[i], 1);
		unlink_tail(dd, lv->l24_vals[i], 0);
	}
}

static uint32_t *kblk(struct tw_dirdiff *dd, uint32_t ref)
{
	return &dd->kblk[(ref & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE];
}

/* A dense /16 whose kernel block stays: its changed /24 entries, one store each. */
static void block_edit(struct tw_dirdiff *dd, uint32_t o, uint32_t n)
{
	const uint32_t *nb = &dd->nt->blocks[(n & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE];
	uint32_t *kb = kblk(dd, o), x;

	for (x = 0; x < TW_DIR_BLOCK_SIZE; x++)
		if (!same(dd, kb[x], nb[x], 0)) {
			uint32_t old = kb[x];

			store(dd, &kb[x], put(dd, nb[x], 0));
			unlink_tail(dd, old, 0);
		}
}

/* A fresh dense block for /16 h, filled before it is linked. */
static uint32_t block_new(struct tw_dirdiff *dd, uint32_t n)
{
	const uint32_t *nb = &dd->nt->blocks[(n & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE];
	uint32_t x, *kb;
	int64_t k;

	dd->st->blocks++;
	if (dd->dry) {
		dd->need_blk++;
		for (x = 0; x < TW_DIR_BLOCK_SIZE; x++)
			put(dd, nb[x], 0);
		return n;
	}
	k = tw_pool_take(&dd->blk);
	if (k < 0) {
		dd->err = k;
		return 0;
	}
	kb = kblk(dd, TW_DIR_BLOCK | k);
	for (x = 0; x < TW_DIR_BLOCK_SIZE; x++)
		kb[x] = put(dd, nb[x], 0);
	return TW_DIR_BLOCK | k;
}

static bool block_same(const struct tw_dirdiff *dd, uint32_t o, uint32_t n)
{
	const uint32_t *nb = &dd->nt->blocks[(n & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE];
	const uint32_t *kb = &dd->kblk[(o & ~TW_DIR_BLOCK) * TW_DIR_BLOCK_SIZE];
	uint32_t x;

	for (x = 0; x < TW_DIR_BLOCK_SIZE; x++)
		if (!same(dd, kb[x], nb[x], 0))
			return false;
	return true;
}

/* One /16: new below first, then its entry, then what the old one used and the new does not. */
static void apply16(struct tw_dirdiff *dd, uint32_t h)
{
	uint32_t o = kdir(dd, h), n = dd->nt->v4[h], lo = 0, hi = 0;
	uint32_t e = n & TW_DIR_HASH ? TW_DIR_HASH | nref(dd, n & ~TW_DIR_HASH) : nref(dd, n);
	uint32_t before = dd->st->l24_set + dd->st->tails + dd->st->blocks;

	if ((o & TW_DIR_BLOCK) && (n & TW_DIR_BLOCK)) {
		if (!block_same(dd, o, n)) {
			block_edit(dd, o, n);
			dd->st->changed16++;
		}
		return;
	}
	if (n & TW_DIR_HASH)
		hash24(dd, h, o & TW_DIR_HASH, &lo, &hi);
	else if (o & TW_DIR_HASH)
		live_range(dd->live, h, &lo, &hi);
	if (n & TW_DIR_BLOCK)
		e = block_new(dd, n);
	if (dd->err)
		return;
	if (o != e || dd->st->l24_set + dd->st->tails + dd->st->blocks != before) {
		dd->st->changed16++;
		if (o != e)
			store(dd, &dd->dir[2 * h], e);
		if (o != e && (o & TW_DIR_BLOCK))
			unlink_block(dd, o);
	}
	if (o & TW_DIR_HASH)
		hash24_drop(dd, h, lo, hi);
}

static int v6_cmp(const struct tw_v6_key *a, const struct tw_v6_key *b)
{
	int c = memcmp(a->addr, b->addr, 16);

	return c ? c : a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

/* Index of k in t's sorted IPv6 keys, or -1. */
static int v6_find(const struct tw_tables *t, const struct tw_v6_key *k)
{
	int lo = 0, hi = t->nv6;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2, c = v6_cmp(&t->v6_keys[mid], k);

		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Every length the new prefixes use is probed already: v6_lens stays as it is. */
static bool v6_lens_cover(const struct tw_v6_lens *live, const struct tw_v6_lens *nl)
{
	uint32_t i, j;

	for (i = 0; i < nl->n; i++) {
		for (j = 0; j < live->n && live->len[j] != nl->len[i]; j++)
			;
		if (j == live->n)
			return false;
	}
	return true;
}

/* IPv6: new and changed prefixes, then the dropped ones; the lengths probed stay a superset. */
static int apply_v6(struct tw_dirdiff *dd)
{
	const struct tw_tables *lv = dd->live, *nt = dd->nt;
	int i, k, added = 0;

	for (i = 0; i < nt->nv6; i++) {
		uint32_t v = nref(dd, nt->v6_vals[i]);

		k = v6_find(lv, &nt->v6_keys[i]);
		if (k >= 0 && lv->v6_vals[k] == v)
			continue;
		added += k < 0;
		dd->st->v6_set++;
		if (!dd->dry && bpf_map_update_elem(dd->v6_fd, &nt->v6_keys[i], &v, BPF_ANY))
			return -errno;
	}
	if (dd->dry)
		return lv->nv6 + added > (int)dd->cap_v6 ? -ENOSPC : 0;
	for (i = 0; i < lv->nv6; i++) {
		if (v6_find(nt, &lv->v6_keys[i]) >= 0)
			continue;
		dd->st->v6_del++;
		if (bpf_map_delete_elem(dd->v6_fd, &lv->v6_keys[i]) && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/* The rules of the fresh slots (parents by slot): no entry links them yet. */
static void put_rules(struct tw_dirdiff *dd)
{
	const struct tw_slots *s = dd->s;
	uint32_t i;

	for (i = 0; i < (uint32_t)dd->nt->nrules; i++) {
		uint32_t slot = s->of[i];

		if (slot >= dd->cap_rules || !s->fresh[slot])
			continue;
		dd->rules[slot] = dd->nt->rules[i];
		dd->rules[slot].parent = nref(dd, dd->nt->rules[i].parent);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* A /16 no changed rule covers: its hashed /24s stay, into the mirror. */
static void keep16(struct tw_dirdiff *dd, uint32_t h)
{
	uint32_t lo, hi, i;

	live_range(dd->live, h, &lo, &hi);
	for (i = lo; i < hi && !dd->err; i++)
		dd->err = mirror_add(dd, dd->live->l24_keys[i], dd->live->l24_vals[i]);
}

static int pass(struct tw_dirdiff *dd, bool dry)
{
	uint32_t h;

	dd->dry = dry;
	for (h = 0; h < TW_DIR_L1 && !dd->err; h++) {
		if (dd->s->dirty16[h])
			apply16(dd, h);
		else if (!dry && (kdir(dd, h) & TW_DIR_HASH))
			keep16(dd, h);
	}
	if (dd->err)
		return dd->err;
	return apply_v6(dd);
}

/* nt as the mirror of the maps: the kernel's first level and /24 hash, values by slot, its own arrays dropped. */
static int mirror(struct tw_dirdiff *dd)
{
	struct tw_tables *nt = dd->nt;
	uint32_t h;
	int i, err;

	free(nt->free_blk);
	free(nt->free_tail);
	nt->free_blk = nt->free_tail = NULL;
	err = tw_pool_out(&dd->blk, &nt->free_blk, &nt->nfree_blk);
	if (!err)
		err = tw_pool_out(&dd->tail, &nt->free_tail, &nt->nfree_tail);
	if (err)
		return err;
	for (h = 0; h < TW_DIR_L1; h++)
		nt->v4[h] = kdir(dd, h);
	free(nt->l24_keys);
	free(nt->l24_vals);
	nt->l24_keys = dd->mk;
	nt->l24_vals = dd->mv;
	nt->nl24 = dd->mn;
	dd->mk = dd->mv = NULL;
	nt->ndense = nt->nblocks = dd->blk.hw;
	nt->tail_len = dd->tail.hw * TW_DIR_TAIL_SIZE;
	for (i = 0; i < nt->nv6; i++)
		nt->v6_vals[i] = nref(dd, nt->v6_vals[i]);
	nt->v6_lens = dd->live->v6_lens;
	nt->nrules = dd->s->n;
	tw_fill_drop(nt);
	return 0;
}

static void apply_end(struct tw_dirdiff *dd)
{
	free(dd->blk.gone);
	free(dd->tail.gone);
	free(dd->mk);
	free(dd->mv);
	dd->blk.gone = dd->tail.gone = NULL;
	dd->mk = dd->mv = NULL;
}

int tw_dirdiff_plan(struct tw_dirdiff *dd, const struct tw_tables *live, struct tw_tables *nt,
		    const struct tw_slots *s, struct tw_dirdiff_stats *st)
{
	int err;

	dd->live = live;
	dd->nt = nt;
	dd->s = s;
	dd->st = st;
	if (nt->nnames || live->nnames || s->n > dd->cap_rules ||
	    !v6_lens_cover(&live->v6_lens, &nt->v6_lens))
		return -ENOSPC;
	tw_pool_init(&dd->blk, live->free_blk, live->nfree_blk, live->ndense, dd->cap_blk);
	tw_pool_init(&dd->tail, live->free_tail, live->nfree_tail, live->tail_len / TW_DIR_TAIL_SIZE, dd->cap_tail);
	err = pass(dd, true);
	if (!err && (dd->need_blk > tw_pool_avail(&dd->blk) || dd->need_tail > tw_pool_avail(&dd->tail) ||
		     live->nl24 + dd->l24_new > dd->cap_l24))
		err = -ENOSPC;
	if (err)
		apply_end(dd);
	return err;
}

int tw_dirdiff_write(struct tw_dirdiff *dd, struct tw_dirdiff_stats *st)
{
	int err;

	memset(st, 0, sizeof(*st));
	put_rules(dd);
	err = pass(dd, false);
	if (!err)
		err = mirror(dd);
	apply_end(dd);
	return err;
}
