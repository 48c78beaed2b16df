/* SPDX-License-Identifier: GPL-2.0 */
/* Free block numbers of an array map an in-place reload writes (blkpool.c, for dirdiff.c). */
#ifndef TW_BLKPOOL_H
#define TW_BLKPOOL_H

#include <stdint.h>

/*
 * Free block numbers: those the last reload unlinked (the programs have
 * synced since), then those past the high-water mark; what this reload
 * unlinks is only free for the next.
 */
struct tw_pool {
	const uint32_t *free;
	uint32_t nfree, took, hw, cap;
	uint32_t *gone, ngone, capgone;
};

void tw_pool_init(struct tw_pool *p, const uint32_t *free, uint32_t nfree, uint32_t hw, uint32_t cap);
/* Numbers a reload may still take. */
uint32_t tw_pool_avail(const struct tw_pool *p);
/* A free number, or -ENOSPC. */
int64_t tw_pool_take(struct tw_pool *p);
/* n unlinked now: free from the next reload on; -ENOMEM. */
int tw_pool_drop(struct tw_pool *p, uint32_t n);
/* What is left of the last free list and what this reload unlinked, for the next; -ENOMEM. */
int tw_pool_out(struct tw_pool *p, uint32_t **out, uint32_t *n);

#endif
