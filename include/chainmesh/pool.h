/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A node's own buffer pool, as every node keeps it (the guests' chainmesh.ko
 * and node 0 in chainmesh_host.ko). Which of its buffers are free lives in
 * private memory, never in the shared region, so no peer can corrupt it.
 *
 * The free list is a private SPSC ring of buffer indices: the transmit
 * path takes (consumer), NAPI puts back what peers return (producer).
 * Each buffer has an "in flight" byte: the transmit path sets it when it
 * hands the buffer out, NAPI clears it with xchg() when the buffer comes
 * back. A return of a buffer that is not in flight is refused
 * (CM_BAD_RETURN), so a peer can never make a buffer appear twice on the
 * free list, and the free list can never overflow.
 *
 * Each buffer also records its first hop, the peer it was handed to, so
 * that when that peer dies its owner can take back what it held
 * (cm_pool_reclaim()); nothing in the region says which buffers a dead
 * node held, and the owner trusts no peer to tell.
 *
 * Per first hop, the pool counts buffers handed out (transmit path) and
 * come back (NAPI), each counter with one writer: their difference is
 * what that hop holds (cm_pool_held()), which the transmit path caps so
 * that one peer that keeps what it is sent cannot take the whole pool.
 */
#ifndef _CHAINMESH_POOL_H
#define _CHAINMESH_POOL_H

#ifdef __KERNEL__
#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/slab.h>
#endif

#include "compat.h"
#include "layout.h"
#include "ring.h"

#define CM_POOL_HOP_NONE	0xff

_Static_assert(CHAINMESH_MAX_NODES <= CM_POOL_HOP_NONE,
	       "cm_pool: a node id fits the first-hop byte");

struct cm_pool {
	u32 *free;		/* free buffer indices */
	u8 *inflight;		/* per buffer: a peer may hold it */
	u8 *hop;		/* per buffer: first hop, or CM_POOL_HOP_NONE */
	u32 nbufs;
	u32 mask;
	u32 tail ____cacheline_aligned_in_smp;	/* transmit path: next to take */
	/* transmit path: buffers handed to each first hop, running count */
	u32 hop_out[CHAINMESH_MAX_NODES];
	u32 head ____cacheline_aligned_in_smp;	/* NAPI: next free slot */
	/* NAPI: buffers of each first hop come back, running count */
	u32 hop_back[CHAINMESH_MAX_NODES];
};

/* All @nbufs buffers free. Return: 0 or -ENOMEM. */
static inline int cm_pool_init(struct cm_pool *pool, u32 nbufs)
{
	u32 size = cm_pow2_ceil(nbufs);
	u32 i;

	pool->free = kvcalloc(size, sizeof(*pool->free), GFP_KERNEL);
	if (!pool->free)
		return -ENOMEM;
	pool->inflight = kvcalloc(nbufs, sizeof(*pool->inflight), GFP_KERNEL);
	if (!pool->inflight)
		goto err_free_free;
	pool->hop = kvcalloc(nbufs, sizeof(*pool->hop), GFP_KERNEL);
	if (!pool->hop)
		goto err_free_inflight;
	for (i = 0; i < nbufs; i++) {
		pool->free[i] = i;
		pool->hop[i] = CM_POOL_HOP_NONE;
	}
	pool->nbufs = nbufs;
	pool->mask = size - 1;
	pool->tail = 0;
	pool->head = nbufs;
	memset(pool->hop_out, 0, sizeof(pool->hop_out));
	memset(pool->hop_back, 0, sizeof(pool->hop_back));
	return 0;

err_free_inflight:
	kvfree(pool->inflight);
	pool->inflight = NULL;
err_free_free:
	kvfree(pool->free);
	pool->free = NULL;
	return -ENOMEM;
}

static inline void cm_pool_destroy(struct cm_pool *pool)
{
	kvfree(pool->hop);
	kvfree(pool->inflight);
	kvfree(pool->free);
	pool->hop = NULL;
	pool->inflight = NULL;
	pool->free = NULL;
}

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

/* Transmit path: the @nth next free buffer (@nth < cm_pool_avail()), for
 * a frame of several buffers, taken in order with cm_pool_take_to(). */
static inline u32 cm_pool_peek_nth(const struct cm_pool *pool, u32 nth)
{
	return pool->free[(pool->tail + nth) & pool->mask];
}

static inline void __cm_pool_take(struct cm_pool *pool, u32 idx, u8 hop)
{
	/* Published by the release below, with the buffer. */
	WRITE_ONCE(pool->hop[idx], hop);
	/* Release: our read of the slot is done before NAPI may accept the
	 * buffer back and put it there again. */
	smp_store_release(&pool->inflight[idx], 1);
	WRITE_ONCE(pool->tail, pool->tail + 1);
}

/* Transmit path: take the buffer cm_pool_peek() returned; it is in
 * flight, with no first hop (nobody to take it back from). */
static inline void cm_pool_take(struct cm_pool *pool, u32 idx)
{
	__cm_pool_take(pool, idx, CM_POOL_HOP_NONE);
}

/* Transmit path: take it for a frame to node @peer, its first hop. */
static inline void cm_pool_take_to(struct cm_pool *pool, u32 idx, u32 peer)
{
	WRITE_ONCE(pool->hop_out[peer], pool->hop_out[peer] + 1);
	__cm_pool_take(pool, idx, (u8)peer);
}

/* Buffers whose first hop is @peer (< CHAINMESH_MAX_NODES) that have not
 * come back. Exact in the transmit path; a hint anywhere else. */
static inline u32 cm_pool_held(const struct cm_pool *pool, u32 peer)
{
	return READ_ONCE(pool->hop_out[peer]) - READ_ONCE(pool->hop_back[peer]);
}

/* NAPI: a buffer of the first hop @hop came back, whoever returned it. */
static inline void cm_pool_credit(struct cm_pool *pool, u8 hop)
{
	if (hop < CHAINMESH_MAX_NODES)
		WRITE_ONCE(pool->hop_back[hop], pool->hop_back[hop] + 1);
}

/* A buffer of ours, in flight, came back and goes on to @peer as it is
 * (XDP_TX): @peer holds it now. Only the context of cm_pool_put() may,
 * serialized with cm_pool_take_to() (the tx lock). */
static inline void cm_pool_set_hop(struct cm_pool *pool, u32 idx, u32 peer)
{
	cm_pool_credit(pool, READ_ONCE(pool->hop[idx]));
	WRITE_ONCE(pool->hop_out[peer], pool->hop_out[peer] + 1);
	WRITE_ONCE(pool->hop[idx], (u8)peer);
}

/*
 * cm_pool_put - NAPI: a buffer of ours came back (returned, or ended its
 * journey here); @idx was checked against the pool size by cm_buf_check()
 *
 * Return: CM_BAD_NONE, or CM_BAD_RETURN when it was not in flight.
 */
static inline enum cm_bad cm_pool_put(struct cm_pool *pool, u32 idx)
{
	/* Full barrier: only one return of a buffer handed out once wins. */
	if (xchg(&pool->inflight[idx], 0) != 1)
		return CM_BAD_RETURN;
	/* Its hop was written before the buffer went out (release). */
	cm_pool_credit(pool, READ_ONCE(pool->hop[idx]));
	pool->free[pool->head & pool->mask] = idx;
	/* Pairs with the acquire in cm_pool_avail(). */
	smp_store_release(&pool->head, pool->head + 1);
	return CM_BAD_NONE;
}

/*
 * cm_pool_reclaim - the context of cm_pool_put(), serialized with the
 * transmit path: take back every buffer in flight whose first hop is @peer
 *
 * For a peer that died holding them. A buffer it had passed on (XDP_TX)
 * may still come back from further down the chain: that return is
 * refused as CM_BAD_RETURN. A peer that was only slow may still read a
 * buffer taken back and sent again: its data, never its bounds, is wrong.
 * Return: buffers put back on the free list.
 */
static inline u32 cm_pool_reclaim(struct cm_pool *pool, u32 peer)
{
	u32 i, n = 0;

	for (i = 0; i < pool->nbufs; i++) {
		/* Pairs with the release in cm_pool_take(): the hop was
		 * written first. A buffer not in flight has a stale hop. */
		if (smp_load_acquire(&pool->inflight[i]) != 1 ||
		    READ_ONCE(pool->hop[i]) != peer)
			continue;
		if (cm_pool_put(pool, i) == CM_BAD_NONE)
			n++;
	}
	return n;
}

/* What one cm_pool_drain_ret() took back and refused. */
struct cm_ret_tally {
	u32 freed;			/* back on the free list */
	u32 bad;			/* refused, all reasons */
	u32 why[__CM_BAD_MAX];		/* refused, per reason */
};

#define CM_RET_BATCH	32

/*
 * cm_pool_drain_ret_max - NAPI: take our buffers back from a return ring
 * @self: our node id: every offset on the ring must be a buffer of ours
 * @c: the return ring peer -> @self
 * @t: set to what became of the entries
 * @max: entries to consume at most (the poll's budget for returns)
 *
 * Entries are consumed, at most @max (and so at most ret_slots) of them. A head the peer
 * moved more than a ring ahead counts once as CM_BAD_INDEX and consumes
 * nothing. Slots are handed back to the peer before their buffers go on
 * the free list: a buffer sent again at once may come back at once, and
 * ret_slots >= bufs_per_node holds only if its old slot is free by then.
 */
static inline void cm_pool_drain_ret_max(struct cm_pool *pool,
					 const struct cm_layout *l, u32 self,
					 struct cm_ring_cons *c,
					 struct cm_ret_tally *t, int max)
{
	u64 addr[CM_RET_BATCH];
	u32 owner, idx;
	enum cm_bad why;
	int n, i, k;

	memset(t, 0, sizeof(*t));
	n = cm_ring_cons_avail(c);
	if (unlikely(n < 0)) {
		t->bad++;
		t->why[CM_BAD_INDEX]++;
		return;
	}
	if (n > max)
		n = max;
	while (n > 0) {
		k = n < CM_RET_BATCH ? n : CM_RET_BATCH;
		for (i = 0; i < k; i++)
			addr[i] = cm_ring_pop_addr(c);
		cm_ring_release(c);
		for (i = 0; i < k; i++) {
			why = cm_buf_check(l, addr[i], &owner, &idx);
			if (!why && owner != self)
				why = CM_BAD_OWNER;
			if (!why)
				why = cm_pool_put(pool, idx);
			if (why) {
				t->bad++;
				t->why[why]++;
			} else {
				t->freed++;
			}
		}
		n -= k;
	}
}

/* All that is queued, at most ret_slots. */
static inline void cm_pool_drain_ret(struct cm_pool *pool,
				     const struct cm_layout *l, u32 self,
				     struct cm_ring_cons *c,
				     struct cm_ret_tally *t)
{
	cm_pool_drain_ret_max(pool, l, self, c, t, (int)l->ret_slots);
}

/* Is our buffer @idx (checked < nbufs) out with a peer? A descriptor
 * naming one that is not may not be passed on nor given back: it is on
 * our free list, and the transmit path may be filling it. */
static inline bool cm_pool_out(const struct cm_pool *pool, u32 idx)
{
	return READ_ONCE(pool->inflight[idx]) == 1;
}

#endif /* _CHAINMESH_POOL_H */
