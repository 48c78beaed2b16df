/* SPDX-License-Identifier: GPL-2.0 */
#ifndef TW_CHAIN_H
#define TW_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "tierwall.h"

/*
 * A policy path resolved the way the kernel resolves it, one name at a
 * time, each name by its directory's identity: every name the path passes
 * (symlinks followed, their targets' names too), and what it names in the
 * end, if anything yet. The kernel watches these names (fnames).
 */
#define TW_CHAIN_MAX		64	/* names per path, symlinks' included */
#define TW_CHAIN_LINKS		40	/* symlinks followed, as the kernel's MAXSYMLINKS */

struct tw_link {
	struct tw_fname_key key;
	uint32_t sbdev;		/* the directory's filesystem (superblock dev): walked by the kernel */
	uint8_t what;		/* TW_FN_PATH, or TW_FN_FILE / TW_FN_DIR: the name the path ends at */
};

enum tw_chain_kind {
	TW_CHAIN_OK,
	TW_CHAIN_NOT_DIR,	/* "dir/" names a file */
	TW_CHAIN_IS_DIR,	/* a file rule names a directory */
};

struct tw_chain {
	struct tw_link link[TW_CHAIN_MAX];
	int n;
	bool found;		/* the path names something now */
	uint8_t kind;		/* enum tw_chain_kind, when found */
	bool is_dir;
	bool igen_ok;		/* igen read (ext4, btrfs, xfs, tmpfs ...) */
	uint32_t igen;
	uint32_t sbdev;		/* the target's filesystem */
	struct tw_secret_key key;	/* the target's identity */
};

/* Does the kernel side tell btrfs subvolumes apart? (the btrfs module's BTF is there) */
bool tw_chain_subvols(void);
/* path: absolute; a trailing '/' asks for a directory. 0 (found or not), or -errno. */
int tw_chain_resolve(const char *path, bool subvols, struct tw_chain *c);
/*
 * The same after every name operation already under way in the path's
 * directories is done (waits for their directory locks): for re-resolving
 * when the kernel's hooks, which run before an operation completes, said a
 * name changed.
 */
int tw_chain_resolve_settled(const char *path, bool subvols, struct tw_chain *c);
/* The identity the kernel gives what fd refers to, and its filesystem's superblock dev. */
int tw_fd_key(int fd, bool subvols, struct tw_secret_key *k, uint32_t *sbdev);
/* The i_generation of name in dirfd (mode: its st_mode); false when it cannot be read. */
bool tw_read_igen(int dirfd, const char *name, mode_t mode, uint32_t *igen);
/* Two resolutions name the same things through the same names. */
bool tw_chain_same(const struct tw_chain *a, const struct tw_chain *b);

#endif
