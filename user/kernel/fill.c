// SPDX-License-Identifier: GPL-2.0
/* Policy tables into a BPF object's maps (see fill.h). */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include "fill.h"

/*
 * Copy n values into an mmapable array map: one pass over memory instead of
 * a syscall per entry. The kernel lays array elements out 8-byte aligned.
 */
static int copy_array(struct bpf_map *m, const void *src, size_t n)
{
	size_t page = sysconf(_SC_PAGESIZE), vsz = bpf_map__value_size(m);
	size_t elem = (vsz + 7) & ~(size_t)7, len, i;
	char *dst;

	if (n > bpf_map__max_entries(m))
		return -E2BIG;
	len = (elem * bpf_map__max_entries(m) + page - 1) / page * page;
	dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	if (dst == MAP_FAILED)
		return -errno;
	for (i = 0; i < n; i++)
		memcpy(dst + i * elem, (const char *)src + i * vsz, vsz);
	munmap(dst, len);
	return 0;
}

int tw_fill_tables(struct bpf_object *obj, const struct tw_tables *t, const struct tw_policy *p)
{
	struct bpf_map *rules = bpf_object__find_map_by_name(obj, "rules");
	struct bpf_map *v4 = bpf_object__find_map_by_name(obj, "v4_dir");
	struct bpf_map *v6 = bpf_object__find_map_by_name(obj, "v6_lpm");
	struct bpf_map *ti = bpf_object__find_map_by_name(obj, "tier_info");
	uint32_t i;
	int err;

	if (!rules || !v4 || !v6 || !ti)
		return -ENOENT;
	err = copy_array(rules, t->rules, t->nrules);
	if (!err)
		err = copy_array(v4, t->v4, t->v4_len);
	if (err)
		return err;
	for (i = 0; i < (uint32_t)t->nv6; i++)
		if (bpf_map_update_elem(bpf_map__fd(v6), &t->v6_keys[i], &t->v6_vals[i], BPF_NOEXIST))
			return -errno;
	for (i = 1; i <= (uint32_t)p->ntiers; i++) {
		struct tw_tier_info info = { .mode = p->tiers[i].mode, .defined = 1,
					     .log_all = p->tiers[i].log_all };

		if (bpf_map_update_elem(bpf_map__fd(ti), &i, &info, 0))
			return -errno;
	}
	return 0;
}

int tw_fill_names(struct bpf_map *names, const struct tw_tables *t)
{
	int i;

	for (i = 0; i < t->nnames; i++)
		if (bpf_map_update_elem(bpf_map__fd(names), &t->names[i], &t->name_vals[i], BPF_NOEXIST))
			return -errno;
	return 0;
}
