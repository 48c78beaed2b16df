// SPDX-License-Identifier: GPL-2.0
/* The daemon's BPF object: load, size, fill, attach, pin. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "loader.h"
#include "log.h"
#include "tierwall.skel.h"

#define TW_NPROGS	4

struct tw_bpf {
	struct tierwall_bpf *skel;
	struct bpf_link *links[TW_NPROGS];
	struct bpf_program *progs[TW_NPROGS];
	char pin_dir[256];
	int ncpus;
};

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

static int fill_maps(struct tw_bpf *b, const struct tw_tables *t,
		     const struct tw_policy *p)
{
	struct tierwall_bpf *s = b->skel;
	uint32_t i;
	int err;

	err = copy_array(s->maps.rules, t->rules, t->nrules);
	if (!err)
		err = copy_array(s->maps.v4_dir, t->v4, t->v4_len);
	if (err)
		return err;
	for (i = 0; i < (uint32_t)t->nv6; i++) {
		err = bpf_map_update_elem(bpf_map__fd(s->maps.v6_lpm), &t->v6_keys[i],
					  &t->v6_vals[i], BPF_NOEXIST);
		if (err)
			return -errno;
	}
	for (i = 1; i <= (uint32_t)p->ntiers; i++) {
		struct tw_tier_info ti = { .mode = p->tiers[i].mode, .defined = 1 };

		err = bpf_map_update_elem(bpf_map__fd(s->maps.tier_info), &i, &ti, 0);
		if (err)
			return -errno;
	}
	return 0;
}

int tw_bpf_load(struct tw_bpf **out, const struct tw_tables *t,
		const struct tw_policy *p, const struct tw_bpf_opts *o)
{
	struct tw_bpf *b = calloc(1, sizeof(*b));
	struct tierwall_bpf *s;
	int err;

	if (!b)
		return -ENOMEM;
	b->ncpus = libbpf_num_possible_cpus();
	s = b->skel = tierwall_bpf__open();
	if (!s) {
		err = -errno;
		tw_err("cannot open BPF object: %s", strerror(-err));
		goto out_free;
	}
	bpf_map__set_max_entries(s->maps.rules, t->nrules ? t->nrules : 1);
	bpf_map__set_max_entries(s->maps.v4_dir, t->v4_len);
	bpf_map__set_max_entries(s->maps.v6_lpm, t->nv6 ? t->nv6 : 1);
	bpf_map__set_max_entries(s->maps.cgroup_tiers, o->tag_capacity);
	bpf_map__set_max_entries(s->maps.events, o->ringbuf_bytes);
	b->progs[0] = s->progs.tw_connect4;
	b->progs[1] = s->progs.tw_connect6;
	b->progs[2] = s->progs.tw_sendmsg4;
	b->progs[3] = s->progs.tw_sendmsg6;

	err = tierwall_bpf__load(s);
	if (err) {
		tw_err("cannot load BPF programs: %s (the verifier log is above)", strerror(-err));
		goto out_destroy;
	}
	err = fill_maps(b, t, p);
	if (err) {
		tw_err("cannot fill policy maps: %s", strerror(-err));
		goto out_destroy;
	}
	*out = b;
	return 0;
out_destroy:
	tierwall_bpf__destroy(s);
out_free:
	free(b);
	return err;
}

int tw_bpf_attach(struct tw_bpf *b, const char *root)
{
	int fd, i, err = 0;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		tw_err("cannot open cgroup root %s: %s", root, strerror(-err));
		return err;
	}
	/* Link-based cgroup attachment is multi-attach: other programs stay. */
	for (i = 0; i < TW_NPROGS; i++) {
		b->links[i] = bpf_program__attach_cgroup(b->progs[i], fd);
		if (!b->links[i]) {
			err = -errno;
			tw_err("cannot attach %s to %s: %s", bpf_program__name(b->progs[i]),
			       root, strerror(-err));
			break;
		}
	}
	close(fd);
	return err;
}

static int pin_one(const char *dir, const char *name, int (*pin)(void *, const char *),
		   void *obj)
{
	char path[512];
	int err;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	/* The old pin's link detaches only now, after ours is attached. */
	if (unlink(path) && errno != ENOENT)
		return -errno;
	err = pin(obj, path);
	if (err)
		tw_err("cannot pin %s: %s", path, strerror(-err));
	return err;
}

static int link_pin(void *l, const char *p) { return bpf_link__pin(l, p); }
static int map_pin(void *m, const char *p) { return bpf_map__pin(m, p); }

int tw_bpf_pin(struct tw_bpf *b, const char *dir)
{
	struct bpf_map *m;
	int i, err;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		tw_err("cannot create pin directory %s: %s", dir, strerror(-err));
		return err;
	}
	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", dir);
	for (i = 0; i < TW_NPROGS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "link_%s", bpf_program__name(b->progs[i]));
		err = pin_one(dir, name, link_pin, b->links[i]);
		if (err)
			return err;
	}
	bpf_object__for_each_map(m, b->skel->obj) {
		if (!strchr(bpf_map__name(m), '.')) {
			err = pin_one(dir, bpf_map__name(m), map_pin, m);
			if (err)
				return err;
		}
	}
	return 0;
}

void tw_bpf_unpin(struct tw_bpf *b)
{
	struct bpf_map *m;
	int i;

	if (!b->pin_dir[0])
		return;
	for (i = 0; i < TW_NPROGS; i++)
		if (b->links[i])
			bpf_link__unpin(b->links[i]);
	bpf_object__for_each_map(m, b->skel->obj)
		if (bpf_map__is_pinned(m))
			bpf_map__unpin(m, NULL);
	rmdir(b->pin_dir);
	b->pin_dir[0] = '\0';
}

void tw_bpf_destroy(struct tw_bpf *b)
{
	int i;

	if (!b)
		return;
	for (i = 0; i < TW_NPROGS; i++)
		bpf_link__destroy(b->links[i]);
	tierwall_bpf__destroy(b->skel);
	free(b);
}

int tw_bpf_tag(struct tw_bpf *b, uint64_t cgid, uint32_t tier)
{
	struct tw_tier_key k = { .cgroup_id = cgid };
	struct tw_tier_val v = { .tier = tier };

	return bpf_map_update_elem(bpf_map__fd(b->skel->maps.cgroup_tiers), &k, &v, 0) ?
	       -errno : 0;
}

int tw_bpf_untag(struct tw_bpf *b, uint64_t cgid)
{
	struct tw_tier_key k = { .cgroup_id = cgid };

	return bpf_map_delete_elem(bpf_map__fd(b->skel->maps.cgroup_tiers), &k) ? -errno : 0;
}

void tw_bpf_set_levels(struct tw_bpf *b, uint64_t mask)
{
	struct tw_runtime *rt = &b->skel->bss->rt;
	int lo = mask ? __builtin_ctzll(mask) : 0;
	int hi = mask ? 63 - __builtin_clzll(mask) : 0;

	/*
	 * Widen the range before publishing the mask and narrow it after, so a
	 * program never reads a mask with levels outside [min, max].
	 */
	if ((uint32_t)lo < rt->min_level || !rt->level_mask)
		rt->min_level = lo;
	if ((uint32_t)hi > rt->max_level)
		rt->max_level = hi;
	__atomic_store_n(&rt->level_mask, mask, __ATOMIC_RELEASE);
	rt->min_level = lo;
	rt->max_level = hi;
}

struct ring_buffer *tw_bpf_ringbuf(struct tw_bpf *b, ring_buffer_sample_fn fn, void *ctx)
{
	return ring_buffer__new(bpf_map__fd(b->skel->maps.events), fn, ctx, NULL);
}

int tw_bpf_stats(struct tw_bpf *b, struct tw_stats *sum)
{
	struct tw_stats *v = calloc(b->ncpus, sizeof(*v));
	uint32_t zero = 0;
	int i, err = 0;

	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.stats), &zero, v)) {
		err = -errno;
		goto out;
	}
	for (i = 0; i < b->ncpus; i++) {
		sum->denied += v[i].denied;
		sum->audited += v[i].audited;
		sum->ringbuf_drops += v[i].ringbuf_drops;
	}
out:
	free(v);
	return err;
}

int tw_bpf_nprogs(struct tw_bpf *b)
{
	return TW_NPROGS;
}

int tw_bpf_prog_info(struct tw_bpf *b, int i, const char **name, uint32_t *id,
		     bool *attached)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (i < 0 || i >= TW_NPROGS)
		return -EINVAL;
	*name = bpf_program__section_name(b->progs[i]);
	*attached = b->links[i] != NULL;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(b->progs[i]), &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}
