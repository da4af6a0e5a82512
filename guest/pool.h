/* SPDX-License-Identifier: GPL-2.0 */
/*
 * This node's buffer pool: which of its buffers are free lives in private
 * memory, never in the shared region, so no peer can corrupt it.
 *
 * The free list is a private SPSC ring of buffer indices: the transmit
 * path takes (consumer), NAPI puts back what peers return (producer).
 * Each buffer has an "in flight" byte: the transmit path sets it when it
 * hands the buffer out, NAPI clears it with xchg() when the buffer comes
 * back. A return of a buffer that is not in flight is refused, so a peer
 * can never make a buffer appear twice on the free list, and the free
 * list can never overflow.
 */
#ifndef _CM_POOL_H
#define _CM_POOL_H

#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/types.h>

#include <chainmesh/layout.h>

struct cm_pool {
	u32 *free;		/* free buffer indices */
	u8 *inflight;		/* per buffer: a peer may hold it */
	u32 nbufs;
	u32 mask;
	u32 tail ____cacheline_aligned_in_smp;	/* transmit path: next to take */
	u32 head ____cacheline_aligned_in_smp;	/* NAPI: next free slot */
};

int cm_pool_init(struct cm_pool *pool, u32 nbufs);
void cm_pool_destroy(struct cm_pool *pool);
enum cm_bad cm_pool_put(struct cm_pool *pool, u32 idx);

/* Free buffers, as seen by the transmit path. */
static inline u32 cm_pool_avail(const struct cm_pool *pool)
{
	/* Pairs with the release in cm_pool_put(). */
	return smp_load_acquire(&pool->head) - pool->tail;
}

/* Free buffers, as seen from anywhere else (a hint). */
static inline u32 cm_pool_count(const struct cm_pool *pool)
{
	return READ_ONCE(pool->head) - READ_ONCE(pool->tail);
}

/* Transmit path: the next free buffer, not taken yet. */
static inline bool cm_pool_peek(const struct cm_pool *pool, u32 *idx)
{
	if (!cm_pool_avail(pool))
		return false;
	*idx = pool->free[pool->tail & pool->mask];
	return true;
}

/* Transmit path: take the buffer cm_pool_peek() returned; it is in flight. */
static inline void cm_pool_take(struct cm_pool *pool, u32 idx)
{
	/* Release: our read of the slot is done before NAPI may accept the
	 * buffer back and put it there again. */
	smp_store_release(&pool->inflight[idx], 1);
	WRITE_ONCE(pool->tail, pool->tail + 1);
}

#endif /* _CM_POOL_H */
