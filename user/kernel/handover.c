// SPDX-License-Identifier: GPL-2.0
/*
 * Taking over from a previous instance. Its pinned cgroup links in place:
 * attaching a new link next to the old one and then unpinning the old one
 * never leaves a hook open, but for that instant both programs judge and
 * both log; swapping the program inside the link is one atomic step for the
 * kernel's effective array. Its other pins are replaced all at once or not
 * at all. And what its maps still held, for the log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "guard.h"
#include "handover.h"
#include "loader_int.h"
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
	if (access(path, F_OK))
		return NULL;	/* nothing to take over (and no libbpf warning) */
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

/*
 * Pins are staged under another name (STAGED; bpffs refuses dots in names)
 * and renamed over the old ones
 * only once every one of them is in place: a failure before that leaves
 * the previous instance's pins, and so its programs, untouched. A rename
 * in bpffs replaces its target in one step, detaching the old link.
 */
#define STAGED		"staged_"
#define MAX_PINS	(MAX_PROGS + 128)

struct staging {
	char final[MAX_PINS][512];
	struct bpf_map *map[MAX_PINS];		/* NULL: a link */
	int n;
};

static void staged_path(const char *dir, const char *final, char *out, size_t len)
{
	snprintf(out, len, "%s/" STAGED "%s", dir, strrchr(final, '/') + 1);
}

static int stage(struct staging *s, const char *dir, const char *final, struct bpf_link *l,
		 struct bpf_map *m)
{
	char tmp[512];
	int err;

	if (s->n == MAX_PINS)
		return -E2BIG;
	staged_path(dir, final, tmp, sizeof(tmp));
	unlink(tmp);
	err = l ? bpf_link__pin(l, tmp) : bpf_map__pin(m, tmp);
	if (err) {
		tw_err("cannot pin %s: %s", tmp, strerror(-err));
		return err;
	}
	snprintf(s->final[s->n], sizeof(s->final[0]), "%s", final);
	s->map[s->n++] = m;
	return 0;
}

/* Every loaded object, the net object (which owns the shared maps) first. */
static int objects(struct tw_bpf *b, struct bpf_object **o)
{
	int n = 0;

	o[n++] = b->net->obj;
	if (b->sock)
		o[n++] = b->sock->obj;
	if (b->dns)
		o[n++] = b->dns->obj;
	if (b->files)
		o[n++] = b->files->obj;
	if (b->netlsm)
		o[n++] = b->netlsm->obj;
	if (b->protect)
		o[n++] = tw_guard_obj(b->protect);
	return n;
}

static int stage_maps(struct tw_bpf *b, struct staging *s, const char *dir)
{
	struct bpf_object *objs[TW_OBJECTS];
	char final[512];
	struct bpf_map *m;
	int i, n = objects(b, objs), err;

	for (i = 0; i < n; i++)
		bpf_object__for_each_map(m, objs[i]) {
			if (strchr(bpf_map__name(m), '.') || bpf_map__is_pinned(m))
				continue;
			/* Shared maps are pinned once, through the net object. */
			if (objs[i] != b->net->obj &&
			    bpf_object__find_map_by_name(b->net->obj, bpf_map__name(m)))
				continue;
			snprintf(final, sizeof(final), "%s/%s", dir, bpf_map__name(m));
			err = stage(s, dir, final, NULL, m);
			if (err)
				return err;
		}
	return 0;
}

static int stage_links(struct tw_bpf *b, struct staging *s, const char *dir)
{
	char final[512];
	int i, err;

	for (i = 0; i < b->nprogs; i++) {
		if (b->taken[i])
			continue;	/* pinned there already */
		tw_link_pin_path(dir, b->progs[i], final, sizeof(final));
		err = stage(s, dir, final, b->links[i], NULL);
		if (err)
			return err;
	}
	return 0;
}

/* Undo the staging: our links detach once our descriptors close. */
static void unstage(struct staging *s, const char *dir, int from)
{
	char tmp[512];
	int i;

	for (i = from; i < s->n; i++) {
		staged_path(dir, s->final[i], tmp, sizeof(tmp));
		if (s->map[i]) {
			bpf_map__unpin(s->map[i], NULL);	/* its pin path is tmp */
			bpf_map__set_pin_path(s->map[i], NULL);
		} else {
			unlink(tmp);
		}
	}
}

/*
 * Move the staged pins over the old ones; the first that cannot is
 * reported and the rest unstaged (a rename within one bpffs directory
 * fails only for want of memory; what moved before it stays moved).
 */
static int commit_staged(struct staging *s, const char *dir)
{
	char tmp[512];
	int i, err;

	for (i = 0; i < s->n; i++) {
		staged_path(dir, s->final[i], tmp, sizeof(tmp));
		if (rename(tmp, s->final[i])) {
			err = -errno;
			tw_err("cannot move %s to %s: %s", tmp, s->final[i], strerror(-err));
			unstage(s, dir, i);
			return err;
		}
		if (s->map[i])
			bpf_map__set_pin_path(s->map[i], s->final[i]);
	}
	return 0;
}

static bool taken_pin(const struct tw_bpf *b, const char *dir, const char *path)
{
	char p[512];
	int i;

	for (i = 0; i < b->nprogs; i++) {
		tw_link_pin_path(dir, b->progs[i], p, sizeof(p));
		if (b->taken[i] && !strcmp(p, path))
			return true;
	}
	return false;
}

static int is_staged(const struct dirent *d)
{
	return !strncmp(d->d_name, STAGED, strlen(STAGED));
}

static int not_staged(const struct dirent *d)
{
	return d->d_name[0] != '.' && !is_staged(d);
}

/*
 * Pins in dir (old, read before staging) matching filter that are still
 * there and not taken over: a previous instance's that this one did not
 * replace, or staged but never moved in. Unlinking them detaches them.
 */
static void remove_pins(const struct tw_bpf *b, const char *dir, int (*filter)(const struct dirent *),
			struct dirent **old, int nold)
{
	char path[512];
	struct stat st;
	int i;

	for (i = 0; i < nold; i++) {
		if (!filter(old[i]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, old[i]->d_name);
		if (!stat(path, &st) && st.st_ino == old[i]->d_ino && !taken_pin(b, dir, path)) {
			tw_info("removing %s, left by a previous tierwalld", path);
			unlink(path);
		}
	}
}

int tw_pin_dir_make(const char *dir)
{
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		tw_err("cannot create pin directory %s: %s", dir, strerror(-err));
		return err;
	}
	return 0;
}

int tw_bpf_pin(struct tw_bpf *b, const char *dir)
{
	struct staging *s = calloc(1, sizeof(*s));
	struct dirent **old = NULL;
	int i, err, nold;

	if (!s)
		return -ENOMEM;
	err = tw_pin_dir_make(dir);
	if (err) {
		free(s);
		return err;
	}
	nold = scandir(dir, &old, NULL, NULL);
	/* What an instance that died while staging left: never moved in, never judged alone. */
	remove_pins(b, dir, is_staged, old, nold);
	snprintf(b->pin_dir, sizeof(b->pin_dir), "%s", dir);
	err = stage_links(b, s, dir);
	if (!err)
		err = stage_maps(b, s, dir);
	if (err)
		unstage(s, dir, 0);
	else
		err = commit_staged(s, dir);
	if (!err)
		remove_pins(b, dir, not_staged, old, nold);
	for (i = 0; i < b->nprogs && !err; i++)
		if (b->taken[i] && b->old_prog[i] >= 0) {
			close(b->old_prog[i]);	/* committed: nothing to give back */
			b->old_prog[i] = -1;
		}
	if (err)
		b->pin_dir[0] = '\0';
	for (i = 0; i < nold; i++)
		free(old[i]);
	free(old);
	free(s);
	return err;
}

void tw_bpf_unpin(struct tw_bpf *b)
{
	struct bpf_object *objs[TW_OBJECTS];
	struct bpf_map *m;
	char path[512];
	int i, n;

	if (!b->pin_dir[0])
		return;
	/* By name: a link's libbpf pin path may be where it was staged. */
	for (i = 0; i < b->nprogs; i++) {
		tw_link_pin_path(b->pin_dir, b->progs[i], path, sizeof(path));
		if (b->links[i])
			unlink(path);
	}
	n = objects(b, objs);
	for (i = 0; i < n; i++)
		bpf_object__for_each_map(m, objs[i])
			if (bpf_map__is_pinned(m))
				bpf_map__unpin(m, NULL);
	rmdir(b->pin_dir);
	b->pin_dir[0] = '\0';
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
