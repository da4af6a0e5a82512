// SPDX-License-Identifier: GPL-2.0
/*
 * This node's buffer pool; see pool.h for who touches what.
 */
#include <linux/atomic.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "pool.h"

int cm_pool_init(struct cm_pool *pool, u32 nbufs)
{
	u32 size = roundup_pow_of_two(nbufs);
	u32 i;

	pool->free = kcalloc(size, sizeof(*pool->free), GFP_KERNEL);
	if (!pool->free)
		return -ENOMEM;
	pool->inflight = kzalloc(nbufs, GFP_KERNEL);
	if (!pool->inflight) {
		kfree(pool->free);
		pool->free = NULL;
		return -ENOMEM;
	}
	for (i = 0; i < nbufs; i++)
		pool->free[i] = i;
	pool->nbufs = nbufs;
	pool->mask = size - 1;
	pool->tail = 0;
	pool->head = nbufs;
	return 0;
}

void cm_pool_destroy(struct cm_pool *pool)
{
	kfree(pool->inflight);
	kfree(pool->free);
	pool->inflight = NULL;
	pool->free = NULL;
}

/*
 * cm_pool_put - NAPI: a buffer of ours came back (returned, or ended its
 * journey here); @idx was checked against the pool size by cm_buf_check().
 */
enum cm_bad cm_pool_put(struct cm_pool *pool, u32 idx)
{
	/* Full barrier: only one return of a buffer handed out once wins. */
	if (xchg(&pool->inflight[idx], 0) != 1)
		return CM_BAD_RETURN;
	pool->free[pool->head & pool->mask] = idx;
	/* Pairs with the acquire in cm_pool_avail(). */
	smp_store_release(&pool->head, pool->head + 1);
	return CM_BAD_NONE;
}
