// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's BPF objects: net (cgroup connect/sendmsg), sock (cgroup
 * sock_create), dns (cgroup_skb egress DNS guard), files and netlsm (BPF LSM;
 * see objects.c), protect (BPF LSM self-protection, wherever BPF LSM is usable;
 * see guard.c). The net object owns the shared maps; the others reuse their
 * fds (objshare.c), so all judge by the same tags and write to the same ring
 * buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include "fill.h"
#include "guard.h"
#include "handover.h"
#include "loader_int.h"
#include "log.h"
#include "lsm.h"
#include "util.h"

int tw_bpf_load(struct tw_bpf **out, const struct tw_tables *t,
		const struct tw_policy *p, const struct tw_bpf_opts *o,
		char *why, size_t whylen)
{
	struct tw_bpf *b = calloc(1, sizeof(*b));
	struct net_bpf *s;
	size_t page = sysconf(_SC_PAGESIZE);
	void *rt;
	int err;

	if (!b)
		return -ENOMEM;
	b->ncpus = libbpf_num_possible_cpus();
	s = b->net = net_bpf__open_opts(tw_open_opts());
	if (!s) {
		err = -errno;
		snprintf(why, whylen, "cannot open the network BPF object: %s", strerror(-err));
		goto out_destroy;
	}
	bpf_map__set_max_entries(s->maps.rules, t->nrules ? t->nrules : 1);
	bpf_map__set_max_entries(s->maps.v4_blocks, t->ndense ? t->ndense : 1);
	bpf_map__set_max_entries(s->maps.v4_l24, t->nl24 ? t->nl24 : 1);
	bpf_map__set_max_entries(s->maps.v4_tail, t->tail_len ? t->tail_len / TW_DIR_TAIL_SIZE : 1);
	bpf_map__set_max_entries(s->maps.v6_pfx, t->nv6 ? t->nv6 : 1);
	bpf_map__set_max_entries(s->maps.cgroup_tiers, o->tag_capacity);
	bpf_map__set_max_entries(s->maps.host_addrs, o->host_capacity ? o->host_capacity : 1);
	bpf_map__set_max_entries(s->maps.events, o->ringbuf_bytes);
	s->rodata->dns_guard = t->nnames > 0;	/* no guard: no socket storage to fill */
	err = net_bpf__load(s);
	if (err) {
		snprintf(why, whylen, "cannot load the network BPF programs: %s (the verifier log is above)",
			 strerror(-err));
		goto out_destroy;
	}
	tw_obj_add_progs(b, s->obj);
	tw_phase("net object loaded");
	rt = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(s->maps.runtime), 0);
	if (rt == MAP_FAILED) {
		err = -errno;
		snprintf(why, whylen, "cannot map the runtime map: %s", strerror(-err));
		goto out_destroy;
	}
	b->rt = rt;
	/* Unlike any a previous instance used: its DNS caller records look stale. */
	b->rt->tag_gen = tw_now_ns(CLOCK_BOOTTIME);
	err = tw_fill_tables(s->obj, t, p);
	if (err) {
		snprintf(why, whylen, "cannot fill policy maps: %s", strerror(-err));
		goto out_destroy;
	}
	tw_phase("policy maps filled");
	err = tw_load_sock(b, why, whylen);
	tw_phase("sock object loaded");
	if (!err && t->nnames) {
		err = tw_load_dns(b, t, why, whylen);
		tw_phase("dns object loaded");
	}
	if (!err && o->files) {
		err = tw_load_files(b, o, why, whylen);
		tw_phase("files object loaded");
	}
	if (err)
		goto out_destroy;
	tw_load_netlsm(b, t->nnames > 0);
	tw_phase("netlsm object loaded (where BPF LSM runs)");
	tw_load_protect(b);
	tw_phase("protect object loaded (where BPF LSM runs)");
	*out = b;
	return 0;
out_destroy:
	tw_bpf_destroy(b);
	return err;
}

int tw_bpf_share_tables(struct tw_bpf *b, struct tw_tables *t)
{
	return tw_fill_share(b->net->obj, t);
}

int tw_bpf_attach(struct tw_bpf *b, const char *root, const char *pin_dir)
{
	int fd, i, err = 0;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		tw_err("cannot open cgroup root %s: %s", root, strerror(-err));
		return err;
	}
	/* Link-based attachment: cgroup links are multi-attach, other programs stay. */
	for (i = 0; i < b->nprogs && !err; i++) {
		bool lsm = bpf_program__type(b->progs[i]) == BPF_PROG_TYPE_LSM;

		b->links[i] = tw_link_take_over(pin_dir, b->progs[i], fd, &b->old_prog[i]);
		b->taken[i] = b->links[i] != NULL;
		if (!b->links[i])
			b->links[i] = lsm ? bpf_program__attach_lsm(b->progs[i]) :
					    bpf_program__attach_cgroup(b->progs[i], fd);
		if (!b->links[i]) {
			err = -errno;
			tw_err("cannot attach %s%s%s: %s", bpf_program__name(b->progs[i]),
			       lsm ? "" : " to ", lsm ? "" : root, strerror(-err));
		}
	}
	close(fd);
	return err;
}

/*
 * Updating a map-in-map makes the kernel wait for an RCU grace period
 * (maybe_wait_bpf_programs): afterwards, no program that began before the
 * call is still running. A detached program may have been mid-way between
 * reserving and submitting a record; only after this is its ring complete.
 */
int tw_bpf_sync_programs(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int inner, outer, err = 0;
	uint32_t zero = 0;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tw_sync_in", 4, 4, 1, NULL);
	if (inner < 0)
		return -errno;
	o.inner_map_fd = inner;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "tw_sync", 4, 4, 1, &o);
	if (outer < 0 || bpf_map_update_elem(outer, &zero, &inner, 0))
		err = -errno;
	if (outer >= 0)
		close(outer);
	close(inner);
	return err;
}

void tw_bpf_detach(struct tw_bpf *b)
{
	int i;

	for (i = 0; i < b->nprogs; i++) {
		if (b->links[i] && b->taken[i] && b->old_prog[i] >= 0)
			tw_link_give_back(b->links[i], b->progs[i], b->old_prog[i]);
		bpf_link__destroy(b->links[i]);
		b->links[i] = NULL;
		b->taken[i] = false;
	}
}

void tw_bpf_destroy(struct tw_bpf *b)
{
	if (!b)
		return;
	tw_bpf_detach(b);
	if (b->rt)
		munmap(b->rt, sysconf(_SC_PAGESIZE));
	tw_explainer_free(b->explain);
	netlsm_bpf__destroy(b->netlsm);
	tw_files_unmap_names(b);
	files_bpf__destroy(b->files);
	dns_bpf__destroy(b->dns);
	sock_bpf__destroy(b->sock);
	if (b->protect)
		tw_guard_destroy(b->protect);
	net_bpf__destroy(b->net);
	free(b);
}

/* After a tag change: a DNS caller recorded before it may have another tier now. */
static int tags_changed(struct tw_bpf *b, int err)
{
	__atomic_fetch_add(&b->rt->tag_gen, 1, __ATOMIC_SEQ_CST);
	return err;
}

int tw_bpf_tag(struct tw_bpf *b, uint64_t cgid, uint32_t tier, uint32_t flags)
{
	struct tw_tier_key k = { .cgroup_id = cgid };
	struct tw_tier_val v = { .tier = tier, .flags = flags };

	return tags_changed(b, bpf_map_update_elem(bpf_map__fd(b->net->maps.cgroup_tiers),
						   &k, &v, 0) ? -errno : 0);
}

int tw_bpf_untag(struct tw_bpf *b, uint64_t cgid)
{
	struct tw_tier_key k = { .cgroup_id = cgid };

	return tags_changed(b, bpf_map_delete_elem(bpf_map__fd(b->net->maps.cgroup_tiers), &k) ?
			       -errno : 0);
}

void tw_bpf_set_levels(struct tw_bpf *b, uint64_t mask)
{
	struct tw_runtime *rt = b->rt;
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

int tw_bpf_add_secret(struct tw_bpf *b, const struct tw_secret_key *k,
		      const struct tw_secret_val *v)
{
	if (!b->files)
		return -EOPNOTSUPP;
	return bpf_map_update_elem(bpf_map__fd(b->files->maps.secrets), k, v, 0) ? -errno : 0;
}

int tw_bpf_add_secret_dev(struct tw_bpf *b, uint32_t dev)
{
	uint32_t one = 1;

	if (!b->files)
		return -EOPNOTSUPP;
	return bpf_map_update_elem(bpf_map__fd(b->files->maps.secret_devs), &dev, &one, 0) ?
	       -errno : 0;
}

void tw_bpf_set_drops_reported(struct tw_bpf *b, uint64_t n)
{
	__atomic_store_n(&b->rt->drops_reported, n, __ATOMIC_RELEASE);
}

void tw_bpf_set_flood_window(struct tw_bpf *b, uint64_t ns)
{
	__atomic_store_n(&b->rt->flood_ns, ns, __ATOMIC_RELEASE);
}

int tw_bpf_flood_flush(struct tw_bpf *b, bool force)
{
	__u64 ctx = force;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	return bpf_prog_test_run_opts(bpf_program__fd(b->net->progs.tw_flood_flush), &opts) ?
	       -errno : 0;
}

void tw_bpf_bump_file_gen(struct tw_bpf *b)
{
	__atomic_fetch_add(&b->rt->file_gen, 1, __ATOMIC_SEQ_CST);
}

int tw_bpf_host_set(struct tw_bpf *b, const struct tw_host_key *k, const struct tw_host_val *v)
{
	int fd = bpf_map__fd(b->net->maps.host_addrs);

	if (v)
		return bpf_map_update_elem(fd, k, v, 0) ? -errno : 0;
	return bpf_map_delete_elem(fd, k) && errno != ENOENT ? -errno : 0;
}

bool tw_bpf_has_dns(struct tw_bpf *b)
{
	return b->dns != NULL;
}

bool tw_bpf_has_files(struct tw_bpf *b)
{
	return b->files != NULL;
}

bool tw_bpf_has_netlsm(struct tw_bpf *b, const char **why)
{
	*why = b->netlsm ? NULL : b->netlsm_why;
	return b->netlsm != NULL;
}

struct ring_buffer *tw_bpf_ringbuf(struct tw_bpf *b, ring_buffer_sample_fn fn, void *ctx)
{
	return ring_buffer__new(bpf_map__fd(b->net->maps.events), fn, ctx, NULL);
}

uint64_t tw_bpf_ringbuf_fill(struct tw_bpf *b)
{
	size_t page = sysconf(_SC_PAGESIZE);
	int fd = bpf_map__fd(b->net->maps.events);
	uint64_t fill = 0;
	void *cons, *prod;

	/* The ring's consumer and producer positions live in its first two pages. */
	cons = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	prod = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, page);
	if (cons != MAP_FAILED && prod != MAP_FAILED)
		fill = __atomic_load_n((uint64_t *)prod, __ATOMIC_ACQUIRE) -
		       __atomic_load_n((uint64_t *)cons, __ATOMIC_ACQUIRE);
	if (cons != MAP_FAILED)
		munmap(cons, page);
	if (prod != MAP_FAILED)
		munmap(prod, page);
	return fill;
}

int tw_bpf_stats(struct tw_bpf *b, struct tw_stats *sum)
{
	struct tw_stats *v = calloc(b->ncpus, sizeof(*v));
	uint32_t zero = 0;
	int i, err = 0;

	if (!v)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	if (bpf_map_lookup_elem(bpf_map__fd(b->net->maps.stats), &zero, v)) {
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
	return b->nprogs;
}

int tw_bpf_prog_info(struct tw_bpf *b, int i, const char **name, uint32_t *id,
		     bool *attached)
{
	struct bpf_prog_info info = {};
	uint32_t len = sizeof(info);

	if (i < 0 || i >= b->nprogs)
		return -EINVAL;
	*name = bpf_program__section_name(b->progs[i]);
	*attached = b->links[i] != NULL;
	if (bpf_obj_get_info_by_fd(bpf_program__fd(b->progs[i]), &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

const char *tw_bpf_protect_why(struct tw_bpf *b)
{
	return b->protect ? NULL : b->protect_why[0] ? b->protect_why : "not loaded";
}

int tw_bpf_protect_nprogs(struct tw_bpf *b)
{
	return b->nprotect;
}

struct protect_bpf *tw_bpf_protect(struct tw_bpf *b)
{
	return b->protect;
}
