// SPDX-License-Identifier: GPL-2.0
/*
 * Taking over from a previous instance. Its pinned cgroup links in place:
 * attaching a new link next to the old one and then unpinning the old one
 * never leaves a hook open, but for that instant both programs judge and
 * both log; swapping the program inside the link is one atomic step for the
 * kernel's effective array. And what its maps still held, for the log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "handover.h"
#include "tierwall.h"
#include "log.h"

void tw_link_pin_path(const char *dir, const struct bpf_program *p, char *path, size_t len)
{
	snprintf(path, len, "%s/link_%s", dir, bpf_program__name(p));
}

/* Only a cgroup link of p's own hook on this very cgroup is p's to take. */
static bool same_hook(int link_fd, const struct bpf_program *p, int cgfd, __u32 *prog_id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);
	struct stat st;

	if (fstat(cgfd, &st) || bpf_obj_get_info_by_fd(link_fd, &info, &len))
		return false;
	*prog_id = info.prog_id;
	return info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == st.st_ino &&
	       info.cgroup.attach_type == bpf_program__expected_attach_type(p);
}

struct bpf_link *tw_link_take_over(const char *dir, struct bpf_program *p, int cgfd, int *old_prog)
{
	LIBBPF_OPTS(bpf_link_update_opts, o, .flags = BPF_F_REPLACE);
	char path[512];
	struct bpf_link *l;
	int old;
	__u32 id;

	*old_prog = -1;
	if (!dir || !dir[0] || bpf_program__type(p) == BPF_PROG_TYPE_LSM)
		return NULL;	/* LSM links cannot be updated: those attach anew */
	tw_link_pin_path(dir, p, path, sizeof(path));
	l = bpf_link__open(path);
	if (!l)
		return NULL;
	if (!same_hook(bpf_link__fd(l), p, cgfd, &id))
		goto fresh;
	old = bpf_prog_get_fd_by_id(id);
	if (old < 0)
		goto fresh;
	o.old_prog_fd = old;
	/* BPF_F_REPLACE: only if it still runs the program just looked at. */
	if (bpf_link_update(bpf_link__fd(l), bpf_program__fd(p), &o)) {
		tw_info("cannot take over %s in place (%s): attaching a new link", path, strerror(errno));
		close(old);
		goto fresh;
	}
	*old_prog = old;
	return l;
fresh:
	bpf_link__destroy(l);	/* an opened link: this only closes our descriptor */
	return NULL;
}

int tw_link_give_back(struct bpf_link *l, struct bpf_program *p, int old_prog)
{
	LIBBPF_OPTS(bpf_link_update_opts, o, .flags = BPF_F_REPLACE, .old_prog_fd = bpf_program__fd(p));
	int err = 0;

	if (bpf_link_update(bpf_link__fd(l), old_prog, &o)) {
		err = -errno;
		tw_err("cannot give %s back to the program it ran before: %s",
		       bpf_program__name(p), strerror(-err));
	}
	close(old_prog);
	return err;
}

void tw_old_maps_open(const char *dir, struct tw_old_maps *o)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/events", dir);
	o->events = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/stats", dir);
	o->stats = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/flood", dir);
	o->flood = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/runtime", dir);
	o->runtime = bpf_obj_get(path);
}

int tw_old_maps_drain(struct tw_old_maps *o, ring_buffer_sample_fn fn, void *ctx,
		      uint64_t *lost, uint64_t *repeats)
{
	int ncpus = libbpf_num_possible_cpus(), i, n = 0;
	struct tw_flood_key k, *prev = NULL;
	struct tw_flood_val v;
	struct ring_buffer *rb;
	struct tw_stats *st;
	uint32_t zero = 0;

	*lost = *repeats = 0;
	if (o->events >= 0) {
		rb = ring_buffer__new(o->events, fn, ctx, NULL);
		if (rb) {
			n = ring_buffer__consume(rb);
			ring_buffer__free(rb);
		}
	}
	st = calloc(ncpus, sizeof(*st));
	if (o->stats >= 0 && st && !bpf_map_lookup_elem(o->stats, &zero, st))
		for (i = 0; i < ncpus; i++)
			*lost += st[i].ringbuf_drops;
	free(st);
	/* Minus what the previous instance already logged as lost. */
	if (o->runtime >= 0) {
		struct tw_runtime rt;

		if (!bpf_map_lookup_elem(o->runtime, &zero, &rt) && rt.drops_reported <= *lost)
			*lost -= rt.drops_reported;
	}
	/* Repeats folded in windows nobody reported: one aggregated record each. */
	while (o->flood >= 0 && !bpf_map_get_next_key(o->flood, prev, &k)) {
		prev = &k;
		if (bpf_map_lookup_elem(o->flood, &k, &v) || !v.pending)
			continue;
		((struct tw_event_hdr *)v.rec)->count = v.pending;
		((struct tw_event_hdr *)v.rec)->aggregated = 1;
		fn(ctx, v.rec, ((struct tw_event_hdr *)v.rec)->size);
		*repeats += v.pending;
	}
	return n < 0 ? n : 0;
}

void tw_old_maps_close(struct tw_old_maps *o)
{
	if (o->events >= 0)
		close(o->events);
	if (o->stats >= 0)
		close(o->stats);
	if (o->flood >= 0)
		close(o->flood);
	if (o->runtime >= 0)
		close(o->runtime);
	o->events = o->stats = o->flood = o->runtime = -1;
}
