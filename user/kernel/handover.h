/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Handing a hook from one instance's program to the next without a gap and
 * without both judging: a cgroup link a previous instance (or the policy
 * before a reload) pinned is taken over in place, its program swapped
 * atomically (BPF_LINK_UPDATE), and given back if the new instance fails.
 * What the previous instance's maps still held is drained into the log.
 */
#ifndef TW_HANDOVER_H
#define TW_HANDOVER_H

#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>

/* Where the link of program p is pinned under dir. */
void tw_link_pin_path(const char *dir, const struct bpf_program *p, char *path, size_t len);
/*
 * The link pinned for p that attaches p's hook to the cgroup cgfd, now
 * running p; *old_prog is a descriptor of the program it ran before.
 * NULL when there is none to take over (then attach a fresh link).
 */
struct bpf_link *tw_link_take_over(const char *dir, struct bpf_program *p, int cgfd, int *old_prog);
/* Put old_prog back into l in place of p (a failed start or reload); closes old_prog. */
int tw_link_give_back(struct bpf_link *l, struct bpf_program *p, int old_prog);

/* The pin directory, made if missing (self-protection guards it before the pins move in). */
int tw_pin_dir_make(const char *dir);

/*
 * A previous instance's maps, taken from its pins before this one replaces
 * them: what it left in its ring buffer, its drop counts and its folded
 * repeats are reported by this one, once its programs are detached.
 */
struct tw_old_maps {
	int events, stats, flood, runtime;	/* -1 when absent */
};

void tw_old_maps_open(const char *dir, struct tw_old_maps *o);
int tw_old_maps_drain(struct tw_old_maps *o, ring_buffer_sample_fn fn, void *ctx,
		      uint64_t *lost, uint64_t *repeats);
void tw_old_maps_close(struct tw_old_maps *o);

#endif
