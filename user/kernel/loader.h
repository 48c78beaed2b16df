/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_LOADER_H
#define TW_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include "compile.h"
#include "policy.h"
#include "grants.h"

struct tw_bpf;

#define TW_NAMES_DEFAULT	8192

struct tw_bpf_opts {
	uint32_t tag_capacity;		/* cgroup_tiers entries */
	uint32_t ringbuf_bytes;		/* power of two, >= page size */
	bool files;			/* load the BPF LSM programs too */
	uint32_t secrets_capacity;	/* secrets entries, learned hard links included */
	uint32_t names_capacity;	/* watched names and their name_state slots (0: TW_NAMES_DEFAULT) */
	uint32_t host_capacity;		/* addresses policy hostnames may resolve to */
};

/* Open, size the maps, load, fill. -errno, and why it failed in why. */
int tw_bpf_load(struct tw_bpf **out, const struct tw_tables *t,
		const struct tw_policy *p, const struct tw_bpf_opts *o,
		char *why, size_t whylen);
/* t, as loaded into b: its largest arrays as views of b's maps (tw_fill_share). */
int tw_bpf_share_tables(struct tw_bpf *b, struct tw_tables *t);
/*
 * Attach: cgroup programs to root (multi-attach links), LSM programs
 * globally. A cgroup link pinned under pin_dir for the same hook is taken
 * over in place; until tw_bpf_pin succeeds, detaching gives it back.
 */
int tw_bpf_attach(struct tw_bpf *b, const char *root, const char *pin_dir);
/*
 * Pin maps and links under dir, replacing (and detaching) what a previous
 * instance left: all at once, or on failure not at all (handover.c).
 */
int tw_bpf_pin(struct tw_bpf *b, const char *dir);
void tw_bpf_unpin(struct tw_bpf *b);
/* Detach every program (destroying links); maps and ring buffer stay readable. */
void tw_bpf_detach(struct tw_bpf *b);
void tw_bpf_destroy(struct tw_bpf *b);
/* Wait until every BPF program that was running has returned (an RCU grace period). */
int tw_bpf_sync_programs(void);

/* grantmap.c: write slot (NULL: empty it), read how often the kernel let it allow. */
int tw_bpf_grant_set(struct tw_bpf *b, uint32_t slot, const struct tw_grant *g);
int tw_bpf_grant_uses(struct tw_bpf *b, uint32_t slot, uint64_t *uses);
int tw_bpf_tag(struct tw_bpf *b, uint64_t cgid, uint32_t tier, uint32_t flags);
int tw_bpf_untag(struct tw_bpf *b, uint64_t cgid);
void tw_bpf_set_levels(struct tw_bpf *b, uint64_t mask);

bool tw_bpf_has_files(struct tw_bpf *b);
/*
 * The network programs that need BPF LSM are loaded (packet sockets, sends
 * on sockets made before the tier, received sockets); if not, *why says why.
 */
bool tw_bpf_has_netlsm(struct tw_bpf *b, const char **why);
/* The same for status: {"loaded": bool, "why": string or null}. */
json_t *tw_bpf_netlsm_json(struct tw_bpf *b);
/* Self-protection (protect.bpf.c): NULL when loaded, else why it is not. */
const char *tw_bpf_protect_why(struct tw_bpf *b);
/* Its programs (all attached with the others). */
int tw_bpf_protect_nprogs(struct tw_bpf *b);
/* The self-protection object, for guard.h (NULL when unprotected). */
struct protect_bpf *tw_bpf_protect(struct tw_bpf *b);
/* Task helpers cgroup_skb programs may call here (6.1: none): TW_SKB_* bits. */
int tw_skb_task_helpers(void);
/* The explainer on the live maps (explainer.h), or NULL with *why saying why. */
struct tw_explainer *tw_bpf_explainer(struct tw_bpf *b, const char **why);
/* The DNS guard is loaded (the policy has hostnames). */
bool tw_bpf_has_dns(struct tw_bpf *b);
/* Owners of an address a hostname resolved to; v NULL removes it. */
int tw_bpf_host_set(struct tw_bpf *b, const struct tw_host_key *k, const struct tw_host_val *v);
int tw_bpf_add_secret(struct tw_bpf *b, const struct tw_secret_key *k,
		      const struct tw_secret_val *v);
int tw_bpf_add_secret_dev(struct tw_bpf *b, uint32_t dev);
/*
 * Watched names and identities (filemaps.c). merge_secret keeps what the
 * entry already says about watched names in the directory (TW_SV_NAMES*)
 * and adds protection, or names, to it; drop_secret takes protection away
 * and keeps the names.
 */
int tw_bpf_merge_secret(struct tw_bpf *b, const struct tw_secret_key *k,
			const struct tw_secret_val *v);
int tw_bpf_drop_secret(struct tw_bpf *b, const struct tw_secret_key *k);
/* v NULL removes the name. */
int tw_bpf_set_fname(struct tw_bpf *b, const struct tw_fname_key *k, const struct tw_fname_val *v);
/* The name_state slots, mmapped (slot 0 sums them all); *n their number. NULL without files. */
struct tw_name_state *tw_bpf_name_state(struct tw_bpf *b, uint32_t *n);
/* The kernel side tells btrfs subvolumes apart (else it keys btrfs files by the filesystem's device). */
bool tw_bpf_btrfs_subvols(struct tw_bpf *b);
/* Record how many ring buffer drops have been logged (read by a successor). */
void tw_bpf_set_drops_reported(struct tw_bpf *b, uint64_t n);
/* Fold repeats of a caller's decision on one target within ns into one record (0: off). */
void tw_bpf_set_flood_window(struct tw_bpf *b, uint64_t ns);
/* Turn ended windows (all windows, if force) into aggregated records. */
int tw_bpf_flood_flush(struct tw_bpf *b, bool force);
/* Invalidate the kernel's per-inode cache of what is protected. */
void tw_bpf_bump_file_gen(struct tw_bpf *b);

struct ring_buffer *tw_bpf_ringbuf(struct tw_bpf *b, ring_buffer_sample_fn fn, void *ctx);
int tw_bpf_stats(struct tw_bpf *b, struct tw_stats *sum);
/* Bytes produced into the ring buffer and not consumed yet. */
uint64_t tw_bpf_ringbuf_fill(struct tw_bpf *b);

/* Loaded programs: section name, id, attached. */
int tw_bpf_nprogs(struct tw_bpf *b);
int tw_bpf_prog_info(struct tw_bpf *b, int i, const char **name, uint32_t *id,
		     bool *attached);

#endif
