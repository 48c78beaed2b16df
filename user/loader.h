/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_LOADER_H
#define TW_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include "compile.h"
#include "policy.h"

struct tw_bpf;

struct tw_bpf_opts {
	uint32_t tag_capacity;		/* cgroup_tiers entries */
	uint32_t ringbuf_bytes;		/* power of two, >= page size */
};

/* Open, size the maps from the tables, load. -errno with one message logged. */
int tw_bpf_load(struct tw_bpf **out, const struct tw_tables *t,
		const struct tw_policy *p, const struct tw_bpf_opts *o);
/* Attach all programs to the cgroup at root (multi-attach links). */
int tw_bpf_attach(struct tw_bpf *b, const char *root);
/* Pin maps and links under dir, replacing what a previous instance left. */
int tw_bpf_pin(struct tw_bpf *b, const char *dir);
void tw_bpf_unpin(struct tw_bpf *b);
void tw_bpf_destroy(struct tw_bpf *b);

int tw_bpf_tag(struct tw_bpf *b, uint64_t cgid, uint32_t tier);
int tw_bpf_untag(struct tw_bpf *b, uint64_t cgid);
void tw_bpf_set_levels(struct tw_bpf *b, uint64_t mask);

struct ring_buffer *tw_bpf_ringbuf(struct tw_bpf *b, ring_buffer_sample_fn fn, void *ctx);
int tw_bpf_stats(struct tw_bpf *b, struct tw_stats *sum);

/* Attached programs as JSON-friendly facts: name, id, attach type. */
int tw_bpf_nprogs(struct tw_bpf *b);
int tw_bpf_prog_info(struct tw_bpf *b, int i, const char **name, uint32_t *id,
		     bool *attached);

#endif
