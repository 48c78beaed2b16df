/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the secrets resolver: shared by secrets.c (resolving, pushing),
 * names.c (the watched names and re-resolving when the kernel says one
 * changed) and identities.c (what a rule names, taken by both).
 */
#ifndef TW_SECRETS_INT_H
#define TW_SECRETS_INT_H

#include "chain.h"
#include "secrets.h"

/* Identities a rule keeps protected after its path names something else (oldest dropped). */
#define TW_RETAIN		16

struct entry {
	struct tw_secret_key key;
	struct tw_secret_val val;
};

/* One policy path, as last resolved. */
struct rule {
	struct tw_chain ch;
	int err;			/* last resolution error (said once) */
	struct tw_secret_key ids[TW_RETAIN];	/* what it named, oldest first */
	int nids;
};

/* A watched name in the kernel's fnames; its name_state slot is its index + 1. */
struct wname {
	struct tw_fname_key key;
	struct tw_fname_val val;
	uint64_t seen;			/* name_state.changed being re-resolved */
	bool live;			/* in the kernel map */
	bool want;			/* some rule passes it now */
};

struct tw_secrets {
	const struct tw_policy *policy;
	const char *file;
	bool subvols;			/* the kernel tells btrfs subvolumes apart */
	struct entry *e;		/* identities taken at start */
	uint32_t n, cap;
	uint32_t *devs;			/* superblock devs walked (pushed) */
	uint32_t ndevs;
	struct rule *r;			/* per policy path */
	struct wname *nm;
	uint32_t nnm, capnm;
	bool resync;			/* every path to resolve again (tw_secrets_resync not settled) */
};

/* identities.c: below secrets.c and names.c */
int tw_secrets_add_dev(struct tw_secrets *s, struct tw_bpf *b, uint32_t dev);
/* Protect what rule i names now (a directory: and the files already below it). */
int tw_secrets_take(struct tw_secrets *s, struct tw_bpf *b, int i);
/* names.c: secrets.c pushes the names with the rest */
int tw_names_push(struct tw_secrets *s, struct tw_bpf *b);

#endif
