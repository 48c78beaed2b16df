// SPDX-License-Identifier: GPL-2.0
/* Policy tables into a BPF object's maps (see fill.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "fill.h"

/* Bytes of a map mapped at a time while filling: a window, not the whole table, counts in RSS. */
#define FILL_WINDOW	(8u << 20)

static size_t gcd(size_t a, size_t b)
{
	while (b) {
		size_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Copy elements [first, first + n) through one mapping of the map's pages. */
static int copy_window(int fd, const char *src, size_t vsz, size_t elem, size_t first, size_t n)
{
	size_t len = n * elem, i;
	char *dst;

	dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, first * elem);
	if (dst == MAP_FAILED)
		return -errno;
	for (i = 0; i < n; i++)
		memcpy(dst + i * elem, src + (first + i) * vsz, vsz);
	munmap(dst, len);
	return 0;
}

/*
 * Copy n values into an mmapable array map: one pass over memory instead of
 * a syscall per entry, a window at a time. The kernel lays array elements
 * out 8-byte aligned; a window holds whole elements and whole pages.
 */
static int copy_array(struct bpf_map *m, const void *src, size_t n)
{
	size_t page = sysconf(_SC_PAGESIZE), vsz = bpf_map__value_size(m);
	size_t elem = (vsz + 7) & ~(size_t)7, unit = page / gcd(elem, page), per, i;
	int err = 0;

	if (n > bpf_map__max_entries(m))
		return -E2BIG;
	per = unit * (FILL_WINDOW / (unit * elem) ? FILL_WINDOW / (unit * elem) : 1);
	for (i = 0; i < n && !err; i += per) {
		size_t k = n - i < per ? n - i : per;

		err = copy_window(bpf_map__fd(m), src, vsz, elem, i, k);
	}
	return err;
}

/* n keys and values into a hash map, a batch of syscalls rather than one per entry. */
static int fill_hash(struct bpf_map *m, const void *keys, const void *vals, uint32_t n)
{
	LIBBPF_OPTS(bpf_map_batch_opts, o);	/* batches take no BPF_NOEXIST */
	size_t ks = bpf_map__key_size(m), vs = bpf_map__value_size(m);
	uint32_t done = 0, count;

	if (n > bpf_map__max_entries(m))
		return -E2BIG;
	while (done < n) {
		count = n - done;
		if (bpf_map_update_batch(bpf_map__fd(m), (const char *)keys + done * ks,
					 (const char *)vals + done * vs, &count, &o))
			return -errno;
		done += count;
	}
	return 0;
}

static struct bpf_map *map_of(struct bpf_object *obj, const char *name, int *err)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);

	if (!m)
		*err = -ENOENT;
	return m;
}

int tw_fill_tables(struct bpf_object *obj, const struct tw_tables *t, const struct tw_policy *p)
{
	int err = 0;
	struct bpf_map *rules = map_of(obj, "rules", &err), *v4 = map_of(obj, "v4_dir", &err);
	struct bpf_map *blocks = map_of(obj, "v4_blocks", &err);
	struct bpf_map *l24 = map_of(obj, "v4_l24", &err), *tail = map_of(obj, "v4_tail", &err);
	struct bpf_map *v6 = map_of(obj, "v6_pfx", &err), *lens = map_of(obj, "v6_lens", &err);
	struct bpf_map *ti = map_of(obj, "tier_info", &err);
	uint32_t i, zero = 0;

	if (err)
		return err;
	err = copy_array(rules, t->rules, t->nrules);
	/* What an entry leads to before the entry. */
	if (!err)
		err = copy_array(tail, t->tail, t->tail_len / TW_DIR_TAIL_SIZE);
	if (!err)
		err = copy_array(blocks, t->blocks, t->ndense);
	if (!err)
		err = fill_hash(l24, t->l24_keys, t->l24_vals, t->nl24);
	if (!err)
		err = copy_array(v4, t->v4, TW_DIR_L1);
	if (!err)
		err = fill_hash(v6, t->v6_keys, t->v6_vals, t->nv6);
	if (err)
		return err;
	/* Last: until the lengths are there, no IPv6 probe is made. */
	if (bpf_map_update_elem(bpf_map__fd(lens), &zero, &t->v6_lens, 0))
		return -errno;
	for (i = 1; i <= (uint32_t)p->ntiers; i++) {
		struct tw_tier_info info = { .mode = p->tiers[i].mode, .defined = 1,
					     .log_all = p->tiers[i].log_all };

		if (bpf_map_update_elem(bpf_map__fd(ti), &i, &info, 0))
			return -errno;
	}
	return 0;
}

/* A read-only view of an array map's first n elements of size bytes, or NULL. */
static void *view(struct bpf_object *obj, const char *name, uint32_t n, size_t size)
{
	struct bpf_map *m = bpf_object__find_map_by_name(obj, name);
	void *v;

	if (!m || (bpf_map__value_size(m) & 7) || bpf_map__value_size(m) != size)
		return NULL;
	v = mmap(NULL, tw_tables_bytes(n, size), PROT_READ, MAP_SHARED, bpf_map__fd(m), 0);
	return v == MAP_FAILED ? NULL : v;
}

void tw_fill_drop(struct tw_tables *t)
{
	if (t->shared || t->dropped)
		return;
	free(t->rules);
	free(t->blocks);
	free(t->tail);
	t->rules = NULL;
	t->blocks = NULL;
	t->tail = NULL;
	t->dropped = true;
}

int tw_fill_share(struct bpf_object *obj, struct tw_tables *t)
{
	struct tw_rule *r;
	uint32_t *b, *tl;

	if (t->shared)
		return 0;
	r = view(obj, "rules", t->nrules, sizeof(*t->rules));
	b = view(obj, "v4_blocks", t->ndense, TW_DIR_BLOCK_SIZE * sizeof(*b));
	tl = view(obj, "v4_tail", t->tail_len / TW_DIR_TAIL_SIZE, TW_DIR_TAIL_SIZE * sizeof(*tl));
	tw_fill_drop(t);
	t->rules = r;
	t->blocks = b;
	t->tail = tl;
	t->shared = true;
	if (r && b && tl)
		return 0;
	tw_fill_unshare(t);
	return -ENOMEM;
}

void tw_fill_unshare(struct tw_tables *t)
{
	if (!t->shared)
		return;
	if (t->rules)
		munmap(t->rules, tw_tables_bytes(t->nrules, sizeof(*t->rules)));
	if (t->blocks)
		munmap(t->blocks, tw_tables_bytes(t->ndense, TW_DIR_BLOCK_SIZE * sizeof(*t->blocks)));
	if (t->tail)
		munmap(t->tail, tw_tables_bytes(t->tail_len / TW_DIR_TAIL_SIZE,
						TW_DIR_TAIL_SIZE * sizeof(*t->tail)));
	t->rules = NULL;
	t->blocks = NULL;
	t->tail = NULL;
	t->shared = false;
}

int tw_fill_names(struct bpf_map *names, const struct tw_tables *t)
{
	int i;

	for (i = 0; i < t->nnames; i++)
		if (bpf_map_update_elem(bpf_map__fd(names), &t->names[i], &t->name_vals[i], BPF_NOEXIST))
			return -errno;
	return 0;
}
