// SPDX-License-Identifier: GPL-2.0
/* Free block numbers of an array map an in-place reload writes (see blkpool.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "blkpool.h"

void tw_pool_init(struct tw_pool *p, const uint32_t *free, uint32_t nfree, uint32_t hw, uint32_t cap)
{
	memset(p, 0, sizeof(*p));
	p->free = free;
	p->nfree = nfree;
	p->hw = hw;
	p->cap = cap;
}

uint32_t tw_pool_avail(const struct tw_pool *p)
{
	return p->nfree + (p->cap > p->hw ? p->cap - p->hw : 0);
}

int64_t tw_pool_take(struct tw_pool *p)
{
	if (p->took < p->nfree)
		return p->free[p->took++];
	if (p->hw < p->cap)
		return p->hw++;
	return -ENOSPC;
}

int tw_pool_drop(struct tw_pool *p, uint32_t n)
{
	if (p->ngone == p->capgone) {
		uint32_t cap = p->capgone ? p->capgone * 2 : 256, *g = realloc(p->gone, cap * sizeof(*g));

		if (!g)
			return -ENOMEM;
		p->gone = g;
		p->capgone = cap;
	}
	p->gone[p->ngone++] = n;
	return 0;
}

/* What is left of the last free list and what this reload unlinked: the next one's. */
int tw_pool_out(struct tw_pool *p, uint32_t **out, uint32_t *n)
{
	uint32_t left = p->nfree - p->took, *v = malloc((left + p->ngone + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	memcpy(v, p->free + p->took, left * sizeof(*v));
	memcpy(v + left, p->gone, p->ngone * sizeof(*v));
	*out = v;
	*n = left + p->ngone;
	return 0;
}
