/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Single-producer single-consumer rings in the shared region.
 *
 * Each side keeps its own index in private memory (the authoritative copy,
 * since only it writes that index) and a cached copy of the peer's index,
 * refreshed only when the cache says the ring is full or empty. The shared
 * copies are written only to publish.
 *
 * Barrier contract (the comments at each barrier below name their pair):
 *
 *  [P1] producer: write slots, then smp_store_release(head)
 *       pairs with
 *  [C1] consumer: smp_load_acquire(head), then read slots
 *
 *  [C2] consumer: read slots (copied out), then smp_store_release(tail)
 *       pairs with
 *  [P2] producer: smp_load_acquire(tail), then overwrite freed slots
 *
 * Kick suppression (a Dekker pair; each side stores, full barrier, loads):
 *
 *  [K1] producer: store head [P1]; smp_mb(); load want_kick -> ring if set
 *  [K2] consumer: store want_kick = 1; smp_mb(); load head -> poll if moved
 *
 * Either the producer sees want_kick set and rings, or the consumer sees
 * the new head and polls: no wakeup is lost.
 *
 * A consumer that busy polls for good says so (want_kick POLLING): then
 * the producer's kick decision is one plain load, no barrier, as in
 * rings that only ever poll (DPDK's rte_ring, memif in polling mode):
 *
 *  [K3] producer: store head [P1]; load want_kick == POLLING -> done
 *       consumer leaving POLLING: [K2] (want_kick = WANTED; smp_mb();
 *       load head), then it polls on for CHAINMESH_POLL_GRACE_US before
 *       it sleeps
 *
 * A producer that read POLLING had stored its head before (program
 * order; its store may wait in a store buffer, which is why it could miss
 * the consumer's WANTED without [K1]'s barrier). The grace is the bound
 * on that wait this relies on: store buffers drain in well under a
 * microsecond, and a producer that is descheduled drains its own at the
 * context switch; the consumer polling on for a millisecond sees the head.
 *
 * Space notification, the same pair the other way round, for a producer
 * that stops while a ring is full of buffers whose return will not wake
 * it (other nodes' buffers it passed on):
 *
 *  [S1] producer: store prod_flags WANT_SPACE; smp_mb(); load tail
 *  [S2] consumer: store tail [C2]; smp_mb(); load prod_flags -> ring
 *
 * The consumer pays its barrier once per batch of releases, and only
 * when it released something.
 *
 * Nothing the peer wrote is trusted: head and tail are checked to stay
 * within one ring of our own index, and descriptors are copied out field
 * by field, once, before anyone validates them.
 */
#ifndef _CHAINMESH_RING_H
#define _CHAINMESH_RING_H

#include "abi.h"
#include "compat.h"
#include "layout.h"

/* Producer side, in the producer's private memory. */
struct cm_ring_prod {
	struct chainmesh_ring_hdr *hdr;
	void *slots;
	u32 mask;
	u32 head;		/* ours: next slot to fill */
	u32 published;		/* last head stored to hdr->head */
	u32 tail_cache;		/* peer's tail, as last read */
};

/* Consumer side, in the consumer's private memory. */
struct cm_ring_cons {
	struct chainmesh_ring_hdr *hdr;
	void *slots;
	u32 mask;
	u32 tail;		/* ours: next slot to read */
	u32 head_cache;		/* peer's head, as last read */
};

/* Descriptor as copied out of the ring, in CPU order, not yet validated. */
struct cm_desc {
	u64 addr;
	u16 data_off;
	u16 len;
	u16 chain;
	u8 hop;
	u8 flags;
};

/*
 * cm_desc_check - validate a data descriptor copied out of a ring
 * @owner: set to the node whose pool holds the buffer
 * @idx: set to the buffer's index in that pool
 *
 * The buffer must be one of a pool's, and the frame, at least an Ethernet
 * header long, must lie inside it. Chain context is the flow table's to
 * check. @owner and @idx are set unless the buffer itself is refused:
 * after CM_BAD_LEN, it is a real buffer that must go home.
 */
static inline enum cm_bad cm_desc_check(const struct cm_layout *l,
					const struct cm_desc *d,
					u32 *owner, u32 *idx)
{
	enum cm_bad bad = cm_buf_check(l, d->addr, owner, idx);

	if (bad != CM_BAD_NONE)
		return bad;
	if (d->len < 14 /* ETH_HLEN */ ||
	    (u32)d->data_off + d->len > l->p.buf_size)
		return CM_BAD_LEN;
	return CM_BAD_NONE;
}

/* Reset a ring's shared header; only when no peer uses it. */
static inline void cm_ring_reset(struct chainmesh_ring_hdr *hdr)
{
	WRITE_ONCE(hdr->head, 0);
	WRITE_ONCE(hdr->prod_flags, 0);
	WRITE_ONCE(hdr->tail, 0);
	WRITE_ONCE(hdr->cons_flags, 0);
	WRITE_ONCE(hdr->want_kick, 0);
}

/* Attach to the producer side; our index is taken from the shared header,
 * which we alone write. The consumer may still hold entries (we attach
 * again after a reload), so start with the ring looking full: the first
 * cm_ring_prod_space() reads and checks the real tail. */
static inline void cm_ring_prod_init(struct cm_ring_prod *p, void *ring,
				     u32 slots)
{
	p->hdr = (struct chainmesh_ring_hdr *)ring;
	p->slots = p->hdr + 1;
	p->mask = slots - 1;
	p->head = le32_to_cpu(READ_ONCE(p->hdr->head));
	p->published = p->head;
	p->tail_cache = p->head - slots;
}

static inline void cm_ring_cons_init(struct cm_ring_cons *c, void *ring,
				     u32 slots)
{
	c->hdr = (struct chainmesh_ring_hdr *)ring;
	c->slots = c->hdr + 1;
	c->mask = slots - 1;
	c->tail = le32_to_cpu(READ_ONCE(c->hdr->tail));
	c->head_cache = c->tail;
}

/*
 * cm_ring_prod_space - free slots for the producer
 *
 * Return: free slots (0 when full), or -EPROTO when the peer's tail is
 * not within one ring behind our head.
 */
static inline int cm_ring_prod_space(struct cm_ring_prod *p)
{
	u32 slots = p->mask + 1;
	u32 used = p->head - p->tail_cache;

	if (used < slots)
		return (int)(slots - used);
	/* [P2] pairs with [C2]: slots below tail are free to overwrite. */
	p->tail_cache = le32_to_cpu(smp_load_acquire(&p->hdr->tail));
	used = p->head - p->tail_cache;
	if (unlikely(used > slots))
		return -EPROTO;
	return (int)(slots - used);
}

/*
 * cm_ring_prod_space_for - cm_ring_prod_space() for @n slots at once (a
 * frame of several buffers): the shared tail is read again when the
 * cached one leaves fewer than @n free, not only when it leaves none.
 */
static inline int cm_ring_prod_space_for(struct cm_ring_prod *p, u32 n)
{
	int space = cm_ring_prod_space(p);

	if (space < 0 || (u32)space >= n)
		return space;
	/* [P2] as above. */
	p->tail_cache = le32_to_cpu(smp_load_acquire(&p->hdr->tail));
	if (unlikely(p->head - p->tail_cache > p->mask + 1))
		return -EPROTO;
	return (int)(p->mask + 1 - (p->head - p->tail_cache));
}

/*
 * A data slot as two little-endian words, moved with two stores and two
 * loads instead of one access per field: @meta holds data_off, len, chain,
 * hop and flags from its low bits up, which is struct chainmesh_desc from
 * byte 8 on; on little-endian CPUs it is also struct cm_desc from byte 8.
 */
struct cm_desc_slot {
	__le64 addr;
	__le64 meta;
};

_Static_assert(sizeof(struct cm_desc_slot) == sizeof(struct chainmesh_desc) &&
	       sizeof(struct cm_desc) == 16 &&
	       __builtin_offsetof(struct cm_desc, data_off) == 8 &&
	       __builtin_offsetof(struct cm_desc, len) == 10 &&
	       __builtin_offsetof(struct cm_desc, chain) == 12 &&
	       __builtin_offsetof(struct cm_desc, hop) == 14 &&
	       __builtin_offsetof(struct cm_desc, flags) == 15,
	       "cm_desc_slot: descriptor layout");

static inline u64 cm_desc_meta(const struct cm_desc *d)
{
	return (u64)d->data_off | (u64)d->len << 16 | (u64)d->chain << 32 |
	       (u64)d->hop << 48 | (u64)d->flags << 56;
}

static inline void cm_desc_slot_write(struct cm_desc_slot *s,
				      const struct cm_desc *d)
{
	WRITE_ONCE(s->addr, cpu_to_le64(d->addr));
	WRITE_ONCE(s->meta, cpu_to_le64(cm_desc_meta(d)));
}

/* Fill the next data slot; the caller checked cm_ring_prod_space(). */
static inline void cm_ring_push_desc(struct cm_ring_prod *p,
				     const struct cm_desc *d)
{
	u32 head = p->head;

	cm_desc_slot_write((struct cm_desc_slot *)p->slots + (head & p->mask), d);
	/* from the local: the slot stores may alias *p */
	p->head = head + 1;
}

/*
 * cm_ring_push_descs - fill the next @n data slots from @d
 *
 * The caller checked cm_ring_prod_space() >= @n. Same slots as @n calls of
 * cm_ring_push_desc(), with one index update; a batch that wraps is
 * written as two runs. Publish with cm_ring_publish() as usual.
 */
static inline void cm_ring_push_descs(struct cm_ring_prod *p,
				      const struct cm_desc *d, u32 n)
{
	struct cm_desc_slot *slots = (struct cm_desc_slot *)p->slots;
	u32 head = p->head, pos = head & p->mask;
	u32 run = p->mask + 1 - pos, i;

	if (run > n)
		run = n;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* struct cm_desc is the slot's byte image here (asserted above); the
	 * slots are ours until published, so no store needs to be single. */
	memcpy(slots + pos, d, run * sizeof(*d));
	memcpy(slots, d + run, (n - run) * sizeof(*d));
	(void)i;
#else
	for (i = 0; i < run; i++)
		cm_desc_slot_write(slots + pos + i, d + i);
	for (; i < n; i++)
		cm_desc_slot_write(slots + (i - run), d + i);
#endif
	p->head = head + n;
}

/* Fill the next return slot with a buffer offset. */
static inline void cm_ring_push_addr(struct cm_ring_prod *p, u64 addr)
{
	__le64 *s = (__le64 *)p->slots + (p->head & p->mask);

	WRITE_ONCE(*s, cpu_to_le64(addr));
	p->head++;
}

/*
 * cm_ring_publish - make the filled slots visible to the consumer
 *
 * Return: true when the consumer asked to be kicked.
 */
static inline bool cm_ring_publish(struct cm_ring_prod *p)
{
	if (p->head == p->published)
		return false;
	/* [P1] pairs with [C1]: slots are written before head moves. */
	smp_store_release(&p->hdr->head, cpu_to_le32(p->head));
	p->published = p->head;
	/* [K3]: a consumer that busy polls wants no doorbell, and no
	 * barrier to decide that. */
	if (READ_ONCE(p->hdr->want_kick) ==
	    cpu_to_le32(CHAINMESH_KICK_POLLING))
		return false;
	/* [K1] pairs with [K2]: head store before want_kick load. */
	smp_mb();
	return READ_ONCE(p->hdr->want_kick) ==
	       cpu_to_le32(CHAINMESH_KICK_WANTED);
}

/*
 * cm_ring_want_space - the producer found the ring full: ask for a
 * doorbell when the consumer frees slots, then look again
 *
 * Return: free slots now (0: still full, the doorbell will come), or
 * -EPROTO as cm_ring_prod_space().
 */
static inline int cm_ring_want_space(struct cm_ring_prod *p)
{
	WRITE_ONCE(p->hdr->prod_flags, cpu_to_le32(CHAINMESH_RING_WANT_SPACE));
	/* [S1] pairs with [S2]: flag store before tail load. */
	smp_mb();
	return cm_ring_prod_space(p);
}

/* The producer runs again: no doorbell needed for space. */
static inline void cm_ring_space_ok(struct cm_ring_prod *p)
{
	if (unlikely(READ_ONCE(p->hdr->prod_flags)))
		WRITE_ONCE(p->hdr->prod_flags, 0);
}

/*
 * cm_ring_space_wanted - consumer, after cm_ring_release() of this ring
 * and one smp_mb() for all the rings it released ([S2]): does the
 * producer wait for the slots it freed?
 */
static inline bool cm_ring_space_wanted(const struct cm_ring_cons *c)
{
	return le32_to_cpu(READ_ONCE(c->hdr->prod_flags)) &
	       CHAINMESH_RING_WANT_SPACE;
}

/*
 * cm_ring_cons_avail - filled slots for the consumer
 *
 * Return: filled slots, or -EPROTO when the peer's head is not within one
 * ring ahead of our tail.
 */
static inline int cm_ring_cons_avail(struct cm_ring_cons *c)
{
	u32 slots = c->mask + 1;
	u32 n = c->head_cache - c->tail;

	if (n)
		return (int)n;
	/* [C1] pairs with [P1]: head is read before the slots it covers. */
	c->head_cache = le32_to_cpu(smp_load_acquire(&c->hdr->head));
	n = c->head_cache - c->tail;
	if (unlikely(n > slots)) {
		c->head_cache = c->tail;
		return -EPROTO;
	}
	return (int)n;
}

static inline void cm_desc_slot_read(const struct cm_desc_slot *s,
				     struct cm_desc *d)
{
	u64 addr, meta;

	addr = le64_to_cpu(READ_ONCE(s->addr));
	meta = le64_to_cpu(READ_ONCE(s->meta));
	d->addr = addr;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* one store; through the struct, not a field, for FORTIFY_SOURCE */
	memcpy((u8 *)d + __builtin_offsetof(struct cm_desc, data_off), &meta,
	       sizeof(meta));
#else
	d->data_off = (u16)meta;
	d->len = (u16)(meta >> 16);
	d->chain = (u16)(meta >> 32);
	d->hop = (u8)(meta >> 48);
	d->flags = (u8)(meta >> 56);
#endif
}

/* Copy the next data slot out, each word read once; the caller checked
 * cm_ring_cons_avail() and validates the copy. */
static inline void cm_ring_pop_desc(struct cm_ring_cons *c, struct cm_desc *d)
{
	u32 tail = c->tail;

	cm_desc_slot_read((const struct cm_desc_slot *)c->slots + (tail & c->mask),
			  d);
	c->tail = tail + 1;
}

/*
 * cm_ring_pop_descs - copy the next @n data slots out into @d
 *
 * The caller checked cm_ring_cons_avail() >= @n and validates each copy.
 * Same copies as @n calls of cm_ring_pop_desc(), with one index update;
 * hand the slots back with cm_ring_release() as usual.
 */
static inline void cm_ring_pop_descs(struct cm_ring_cons *c, struct cm_desc *d,
				     u32 n)
{
	const struct cm_desc_slot *slots = (const struct cm_desc_slot *)c->slots;
	u32 tail = c->tail, pos = tail & c->mask;
	u32 run = c->mask + 1 - pos, i;

	if (run > n)
		run = n;
	for (i = 0; i < run; i++)
		cm_desc_slot_read(slots + pos + i, d + i);
	for (; i < n; i++)
		cm_desc_slot_read(slots + (i - run), d + i);
	c->tail = tail + n;
}

static inline u64 cm_ring_pop_addr(struct cm_ring_cons *c)
{
	const __le64 *s = (const __le64 *)c->slots + (c->tail & c->mask);

	c->tail++;
	return le64_to_cpu(READ_ONCE(*s));
}

/* Hand consumed slots back to the producer. */
static inline void cm_ring_release(struct cm_ring_cons *c)
{
	/* [C2] pairs with [P2]: slots are copied out before tail moves. */
	smp_store_release(&c->hdr->tail, cpu_to_le32(c->tail));
}

/*
 * cm_ring_want_kick - ask the producer for a doorbell, then re-check
 *
 * Return: true when entries arrived meanwhile; the caller keeps polling.
 * A head more than one ring ahead is not news but a broken peer, which
 * cm_ring_cons_avail() refuses: polling again at once would refuse it
 * again, forever (a NAPI livelock); its next doorbell polls instead.
 */
static inline bool cm_ring_want_kick(struct cm_ring_cons *c)
{
	u32 n;

	WRITE_ONCE(c->hdr->want_kick, cpu_to_le32(CHAINMESH_KICK_WANTED));
	/* [K2] pairs with [K1]: want_kick store before head load. */
	smp_mb();
	n = le32_to_cpu(READ_ONCE(c->hdr->head)) - c->tail;
	return n && n <= c->mask + 1;
}

/* Polling: the producer need not ring. */
static inline void cm_ring_no_kick(struct cm_ring_cons *c)
{
	WRITE_ONCE(c->hdr->want_kick, cpu_to_le32(CHAINMESH_KICK_NONE));
}

/* Busy polling for good ([K3]): the producer need not even decide. Leave
 * it through cm_ring_want_kick() and CHAINMESH_POLL_GRACE_US of polling. */
static inline void cm_ring_busy_poll(struct cm_ring_cons *c)
{
	WRITE_ONCE(c->hdr->want_kick, cpu_to_le32(CHAINMESH_KICK_POLLING));
}

#endif /* _CHAINMESH_RING_H */
