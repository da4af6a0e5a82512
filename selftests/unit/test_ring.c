// SPDX-License-Identifier: GPL-2.0
/*
 * SPSC rings (include/chainmesh/ring.h): empty, full, wrap of the free
 * running 32-bit indices, batches, kick suppression, indices a broken peer
 * wrote, return rings, and two threads hammering one ring.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>

#include <chainmesh/datapath.h>
#include <chainmesh/layout.h>
#include <chainmesh/ring.h>

#include "harness.h"

#define SLOTS		8u
#define START		0xfffffff0u	/* wraps after two rings' worth */

/* A ring header plus its slots, 64-byte aligned like in the region. */
static struct chainmesh_ring_hdr *ring_alloc(u32 slots, size_t slot_size,
					     u32 start)
{
	size_t sz = cm_align(sizeof(struct chainmesh_ring_hdr) +
			     slots * slot_size, CHAINMESH_CACHELINE);
	struct chainmesh_ring_hdr *hdr = aligned_alloc(CHAINMESH_CACHELINE, sz);

	if (!hdr)
		return NULL;
	memset(hdr, 0xa5, sz);	/* slots start as garbage */
	cm_ring_reset(hdr);
	hdr->head = cpu_to_le32(start);
	hdr->tail = cpu_to_le32(start);
	return hdr;
}

/* Every field of the descriptor is a function of @seq. */
static void mkdesc(u64 seq, struct cm_desc *d)
{
	d->addr = seq * 0x9e3779b97f4a7c15ull;
	d->data_off = (u16)(seq * 3);
	d->len = (u16)(seq >> 3) ^ 0x5a5a;
	d->chain = (u16)(seq * 7);
	d->hop = (u8)(seq * 13);
	d->flags = (u8)(seq >> 8);
}

static bool desc_is(const struct cm_desc *d, u64 seq)
{
	struct cm_desc e;

	mkdesc(seq, &e);
	return d->addr == e.addr && d->data_off == e.data_off &&
	       d->len == e.len && d->chain == e.chain && d->hop == e.hop &&
	       d->flags == e.flags;
}

FIXTURE(ring) {
	struct chainmesh_ring_hdr *hdr;
	struct cm_ring_prod p;
	struct cm_ring_cons c;
	u64 pushed;		/* sequence numbers */
	u64 popped;
};

FIXTURE_SETUP(ring)
{
	self->hdr = ring_alloc(SLOTS, sizeof(struct chainmesh_desc), START);
	ASSERT_NOT_NULL(self->hdr);
	cm_ring_prod_init(&self->p, self->hdr, SLOTS);
	cm_ring_cons_init(&self->c, self->hdr, SLOTS);
	ASSERT_EQ(START, self->p.head);
	ASSERT_EQ(START, self->c.tail);
}

FIXTURE_TEARDOWN(ring)
{
	free(self->hdr);
}

static u32 shared_head(FIXTURE_DATA(ring) *self)
{
	return le32_to_cpu(self->hdr->head);
}

static u32 shared_tail(FIXTURE_DATA(ring) *self)
{
	return le32_to_cpu(self->hdr->tail);
}

/*
 * The space the producer sees may lag (it rereads the tail only when its
 * cache says full) but never exceeds the truth, and is never 0 while the
 * consumer has freed slots.
 */
static int check_space(struct __cm_meta *_metadata, FIXTURE_DATA(ring) *self)
{
	u32 really_free = SLOTS - (self->p.head - shared_tail(self));
	int space = cm_ring_prod_space(&self->p);

	EXPECT_LE(space, (int)really_free);
	EXPECT_EQ(really_free > 0, space > 0);
	return space;
}

/* Same for the consumer: never more than published, never 0 wrongly. */
static int check_avail(struct __cm_meta *_metadata, FIXTURE_DATA(ring) *self)
{
	u32 really = shared_head(self) - self->c.tail;
	int avail = cm_ring_cons_avail(&self->c);

	EXPECT_LE(avail, (int)really);
	EXPECT_EQ(really > 0, avail > 0);
	return avail;
}

static void push(FIXTURE_DATA(ring) *self, u32 n)
{
	struct cm_desc d;

	while (n--) {
		mkdesc(self->pushed++, &d);
		cm_ring_push_desc(&self->p, &d);
	}
}

/* Pop @n and check they are the next ones in order. */
static bool pop(FIXTURE_DATA(ring) *self, u32 n)
{
	struct cm_desc d;

	while (n--) {
		cm_ring_pop_desc(&self->c, &d);
		if (!desc_is(&d, self->popped++))
			return false;
	}
	return true;
}

TEST_F(ring, empty)
{
	EXPECT_EQ(0, cm_ring_cons_avail(&self->c));
	EXPECT_EQ(SLOTS, cm_ring_prod_space(&self->p));
	EXPECT_FALSE(cm_ring_publish(&self->p));	/* nothing to publish */
	EXPECT_EQ(START, shared_head(self));
	EXPECT_FALSE(cm_ring_want_kick(&self->c));
	EXPECT_EQ(0, cm_ring_cons_avail(&self->c));
}

TEST_F(ring, full)
{
	ASSERT_EQ(SLOTS, check_space(_metadata, self));
	push(self, SLOTS);
	EXPECT_EQ(0, check_space(_metadata, self));
	EXPECT_EQ(0, cm_ring_cons_avail(&self->c));	/* not published */
	EXPECT_FALSE(cm_ring_publish(&self->p));
	EXPECT_EQ(START + SLOTS, shared_head(self));
	EXPECT_EQ(SLOTS, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, SLOTS));
	EXPECT_EQ(0, check_avail(_metadata, self));
	/* Consumed but not released: still full for the producer. */
	EXPECT_EQ(0, check_space(_metadata, self));
	cm_ring_release(&self->c);
	EXPECT_EQ(START + SLOTS, shared_tail(self));
	EXPECT_EQ(SLOTS, check_space(_metadata, self));
	push(self, SLOTS);
	cm_ring_publish(&self->p);
	EXPECT_EQ(SLOTS, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, SLOTS));
	cm_ring_release(&self->c);
}

/* Batches of every size 1..SLOTS, past 2^32, checking both views. */
TEST_F(ring, wrap_2_32)
{
	u32 round, want, got;

	for (round = 0; round < 12 * SLOTS; round++) {
		want = round % SLOTS + 1;
		for (got = 0; got < want;) {
			int space = check_space(_metadata, self);
			u32 n = want - got;

			ASSERT_GT(space, 0);
			if (n > (u32)space)
				n = (u32)space;
			push(self, n);
			got += n;
		}
		cm_ring_publish(&self->p);
		for (got = 0; got < want;) {
			int avail = check_avail(_metadata, self);

			ASSERT_GT(avail, 0);
			ASSERT_TRUE(pop(self, (u32)avail))
				TH_LOG("round %u, tail %#x", round, self->c.tail);
			got += (u32)avail;
			cm_ring_release(&self->c);
		}
		ASSERT_EQ(want, got);
		ASSERT_EQ(0, cm_ring_cons_avail(&self->c));
		ASSERT_EQ(shared_head(self), shared_tail(self));
	}
	/* The indices went through 0xffffffff -> 0. */
	EXPECT_LT(shared_head(self), START);
	EXPECT_EQ((u32)(START + self->pushed), shared_head(self));
	EXPECT_EQ(self->pushed, self->popped);
}

TEST_F(ring, batch)
{
	push(self, 5);
	EXPECT_FALSE(cm_ring_publish(&self->p));
	ASSERT_EQ(5, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 2));
	cm_ring_release(&self->c);
	EXPECT_EQ(START + 2, shared_tail(self));

	/* Fill what the producer thinks is free, then the rest. */
	while (self->p.head - shared_tail(self) < SLOTS) {
		int space = check_space(_metadata, self);

		ASSERT_GT(space, 0);
		push(self, (u32)space);
	}
	EXPECT_EQ(0, check_space(_metadata, self));
	EXPECT_EQ(SLOTS + 2, self->pushed);
	cm_ring_publish(&self->p);

	/* Three left from the first batch, then the rest in one go. */
	ASSERT_EQ(3, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 3));
	ASSERT_EQ(SLOTS - 3, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, SLOTS - 3));
	EXPECT_EQ(0, check_avail(_metadata, self));
	cm_ring_release(&self->c);
	EXPECT_EQ(SLOTS, check_space(_metadata, self));
}

/*
 * Bulk push and pop against one-at-a-time on a twin ring: every batch
 * size at every slot offset, across 2^32; the slots, the shared indices
 * and the copies out must be the same, and nothing past @n is written.
 */
TEST_F(ring, bulk_same_as_single)
{
	struct chainmesh_ring_hdr *twin = ring_alloc(SLOTS, sizeof(struct chainmesh_desc),
						     START);
	size_t bytes = sizeof(*twin) + SLOTS * sizeof(struct chainmesh_desc);
	struct cm_desc in[SLOTS + 1], out[SLOTS + 1], one;
	struct cm_ring_prod tp;
	struct cm_ring_cons tc;
	u32 off, n, i;

	ASSERT_NOT_NULL(twin);
	memcpy(twin, self->hdr, bytes);
	cm_ring_prod_init(&tp, twin, SLOTS);
	cm_ring_cons_init(&tc, twin, SLOTS);

	for (off = 0; off < 3 * SLOTS; off++) {
		for (n = 0; n <= SLOTS; n++) {
			/* free for real (the cached view may lag behind) */
			ASSERT_GE(SLOTS - (self->p.head - shared_tail(self)), n);
			ASSERT_GE(SLOTS - (tp.head - le32_to_cpu(twin->tail)), n);
			cm_ring_prod_space(&self->p);
			cm_ring_prod_space(&tp);
			for (i = 0; i < n; i++)
				mkdesc(self->pushed + i, &in[i]);
			cm_ring_push_descs(&self->p, in, n);
			for (i = 0; i < n; i++)
				cm_ring_push_desc(&tp, &in[i]);
			ASSERT_EQ(tp.head, self->p.head);
			cm_ring_publish(&self->p);
			cm_ring_publish(&tp);
			ASSERT_EQ(0, memcmp(twin, self->hdr, bytes))
				TH_LOG("push: offset %u, %u descriptors", off, n);

			ASSERT_EQ((int)n, n ? cm_ring_cons_avail(&self->c) : 0);
			ASSERT_EQ((int)n, n ? cm_ring_cons_avail(&tc) : 0);
			memset(out, 0x5c, sizeof(out));
			cm_ring_pop_descs(&self->c, out, n);
			for (i = 0; i < n; i++) {
				cm_ring_pop_desc(&tc, &one);
				ASSERT_TRUE(desc_is(&out[i], self->pushed + i))
					TH_LOG("pop: offset %u, %u descriptors, #%u", off, n, i);
				ASSERT_EQ(0, memcmp(&one, &out[i], sizeof(one)));
			}
			ASSERT_EQ(0x5c, ((u8 *)&out[n])[0]);
			ASSERT_EQ(0x5c, ((u8 *)&out[n])[sizeof(out[n]) - 1]);
			ASSERT_EQ(tc.tail, self->c.tail);
			cm_ring_release(&self->c);
			cm_ring_release(&tc);
			ASSERT_EQ(0, memcmp(twin, self->hdr, bytes));
			self->pushed += n;
		}
		/* one more, so the next round starts at the next offset */
		mkdesc(self->pushed, &in[0]);
		cm_ring_push_descs(&self->p, in, 1);
		cm_ring_push_desc(&tp, &in[0]);
		cm_ring_publish(&self->p);
		cm_ring_publish(&tp);
		ASSERT_EQ(1, cm_ring_cons_avail(&self->c));
		ASSERT_EQ(1, cm_ring_cons_avail(&tc));
		cm_ring_pop_descs(&self->c, out, 1);
		cm_ring_pop_desc(&tc, &one);
		ASSERT_TRUE(desc_is(&out[0], self->pushed++));
		cm_ring_release(&self->c);
		cm_ring_release(&tc);
	}
	EXPECT_LT(shared_head(self), START);	/* went through 2^32 */
	free(twin);
}

/* Bulk on one side, single on the other, batches crossing the wrap. */
TEST_F(ring, bulk_mixed)
{
	struct cm_desc d[SLOTS];
	u32 round, n, i;

	for (round = 0; round < 10 * SLOTS; round++) {
		n = (round * 5) % SLOTS + 1;
		for (i = 0; i < n; i++)
			mkdesc(self->pushed + i, &d[i]);
		ASSERT_GT(check_space(_metadata, self), 0);
		ASSERT_GE(SLOTS - (self->p.head - shared_tail(self)), n);
		if (round & 1) {
			cm_ring_push_descs(&self->p, d, n);
			self->pushed += n;
		} else {
			push(self, n);
		}
		cm_ring_publish(&self->p);
		ASSERT_EQ((int)n, check_avail(_metadata, self));
		if (round & 2) {
			cm_ring_pop_descs(&self->c, d, n);
			for (i = 0; i < n; i++)
				ASSERT_TRUE(desc_is(&d[i], self->popped++));
		} else {
			ASSERT_TRUE(pop(self, n));
		}
		cm_ring_release(&self->c);
	}
	EXPECT_EQ(self->pushed, self->popped);
	EXPECT_EQ((u32)(START + self->pushed), shared_head(self));
}

TEST_F(ring, kick_suppression)
{
	/* Consumer goes to sleep on an empty ring. */
	EXPECT_FALSE(cm_ring_want_kick(&self->c));
	EXPECT_EQ(1, le32_to_cpu(self->hdr->want_kick));

	/* Producer publishes: it must ring, once per publish with news. */
	push(self, 1);
	EXPECT_TRUE(cm_ring_publish(&self->p));
	EXPECT_FALSE(cm_ring_publish(&self->p));

	/* Consumer wakes and polls; the producer need not ring. */
	cm_ring_no_kick(&self->c);
	EXPECT_EQ(0, le32_to_cpu(self->hdr->want_kick));
	ASSERT_EQ(1, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 1));
	cm_ring_release(&self->c);
	push(self, 2);
	EXPECT_FALSE(cm_ring_publish(&self->p));

	/* Entries arrived while polling: asking for a kick says keep going. */
	EXPECT_TRUE(cm_ring_want_kick(&self->c));
	ASSERT_EQ(2, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 2));
	cm_ring_release(&self->c);
	EXPECT_FALSE(cm_ring_want_kick(&self->c));

	/* Still asked: the next publish rings again. */
	push(self, 1);
	EXPECT_TRUE(cm_ring_publish(&self->p));
}

/* [K3]: a consumer that busy polls takes no doorbell; leaving that state
 * through [K2] gets them again, and a value it never writes gets none. */
TEST_F(ring, busy_poll)
{
	cm_ring_busy_poll(&self->c);
	EXPECT_EQ(CHAINMESH_KICK_POLLING, le32_to_cpu(self->hdr->want_kick));
	push(self, 1);
	EXPECT_FALSE(cm_ring_publish(&self->p));
	ASSERT_EQ(1, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 1));
	cm_ring_release(&self->c);

	/* Going to sleep: armed, and the empty ring is re-checked. */
	EXPECT_FALSE(cm_ring_want_kick(&self->c));
	push(self, 1);
	EXPECT_TRUE(cm_ring_publish(&self->p));
	ASSERT_EQ(1, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 1));
	cm_ring_release(&self->c);

	/* Garbage a hostile consumer wrote: no doorbell for it. */
	WRITE_ONCE(self->hdr->want_kick, cpu_to_le32(0xdead));
	push(self, 1);
	EXPECT_FALSE(cm_ring_publish(&self->p));
}

TEST_F(ring, space_notification)
{
	u32 i;

	/* Fill the ring: the producer asks to be told when slots free. */
	push(self, SLOTS);
	cm_ring_publish(&self->p);
	EXPECT_EQ(0, cm_ring_prod_space(&self->p));
	EXPECT_FALSE(cm_ring_space_wanted(&self->c));
	EXPECT_EQ(0, cm_ring_want_space(&self->p));
	EXPECT_TRUE(cm_ring_space_wanted(&self->c));

	/* The consumer frees slots and sees the request; the producer,
	 * looking again, finds them. */
	ASSERT_EQ((int)SLOTS, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 3));
	cm_ring_release(&self->c);
	EXPECT_TRUE(cm_ring_space_wanted(&self->c));
	EXPECT_EQ(3, cm_ring_want_space(&self->p));

	/* Running again, the producer withdraws it; the consumer no longer
	 * rings it for each release. */
	push(self, 1);
	cm_ring_space_ok(&self->p);
	EXPECT_EQ(0, le32_to_cpu(self->hdr->prod_flags));
	for (i = 0; i < 2; i++) {
		ASSERT_TRUE(pop(self, 1));
		cm_ring_release(&self->c);
		EXPECT_FALSE(cm_ring_space_wanted(&self->c));
	}

	/* A broken tail is refused as by cm_ring_prod_space(). */
	self->hdr->tail = cpu_to_le32(self->p.head + 1);
	self->p.tail_cache = self->p.head - SLOTS;
	EXPECT_EQ(-EPROTO, cm_ring_want_space(&self->p));
}

TEST_F(ring, corrupt_tail)
{
	push(self, SLOTS);
	cm_ring_publish(&self->p);
	ASSERT_EQ(0, check_space(_metadata, self));

	/* More than one ring behind our head. */
	self->hdr->tail = cpu_to_le32(START - 1);
	EXPECT_EQ(-EPROTO, cm_ring_prod_space(&self->p));
	self->hdr->tail = cpu_to_le32(START - 0x80000000u);
	EXPECT_EQ(-EPROTO, cm_ring_prod_space(&self->p));
	/* Ahead of our head. */
	self->hdr->tail = cpu_to_le32(START + SLOTS + 1);
	EXPECT_EQ(-EPROTO, cm_ring_prod_space(&self->p));
	self->hdr->tail = cpu_to_le32(START + 0x80000000u);
	EXPECT_EQ(-EPROTO, cm_ring_prod_space(&self->p));

	/* Our own state did not move, and sane values work again. */
	EXPECT_EQ(START + SLOTS, self->p.head);
	self->hdr->tail = cpu_to_le32(START);
	EXPECT_EQ(0, cm_ring_prod_space(&self->p));
	self->hdr->tail = cpu_to_le32(START + SLOTS);
	EXPECT_EQ(SLOTS, cm_ring_prod_space(&self->p));
}

TEST_F(ring, corrupt_head)
{
	/* More than one ring ahead of our tail. */
	self->hdr->head = cpu_to_le32(START + SLOTS + 1);
	EXPECT_EQ(-EPROTO, cm_ring_cons_avail(&self->c));
	EXPECT_EQ(START, self->c.tail);
	EXPECT_EQ(START, self->c.head_cache);
	EXPECT_EQ(START, shared_tail(self));
	/* Behind our tail. */
	self->hdr->head = cpu_to_le32(START - 1);
	EXPECT_EQ(-EPROTO, cm_ring_cons_avail(&self->c));
	self->hdr->head = cpu_to_le32(START + 0x80000000u);
	EXPECT_EQ(-EPROTO, cm_ring_cons_avail(&self->c));
	EXPECT_EQ(START, self->c.tail);
	EXPECT_EQ(START, self->c.head_cache);
	/* Asking for a kick does not poll again at once (that would spin
	 * on a head nobody fixes); the peer's next doorbell polls. */
	EXPECT_FALSE(cm_ring_want_kick(&self->c));
	EXPECT_EQ(1, le32_to_cpu(self->hdr->want_kick));
	EXPECT_EQ(-EPROTO, cm_ring_cons_avail(&self->c));

	/* A full ring is fine. */
	self->hdr->head = cpu_to_le32(START);
	EXPECT_EQ(0, cm_ring_cons_avail(&self->c));
	push(self, SLOTS);
	cm_ring_publish(&self->p);
	EXPECT_EQ(SLOTS, cm_ring_cons_avail(&self->c));
	ASSERT_TRUE(pop(self, SLOTS));
}

/*
 * A producer that attaches again (module reload) while the consumer still
 * has entries to read must not overwrite them.
 */
TEST_F(ring, prod_reattach)
{
	int space;

	push(self, 5);
	cm_ring_publish(&self->p);
	ASSERT_EQ(5, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 2));
	cm_ring_release(&self->c);

	cm_ring_prod_init(&self->p, self->hdr, SLOTS);
	EXPECT_EQ(START + 5, self->p.head);
	space = check_space(_metadata, self);
	ASSERT_EQ(SLOTS - 3, space);
	push(self, (u32)space);
	cm_ring_publish(&self->p);
	ASSERT_EQ(3, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 3));
	ASSERT_EQ(SLOTS - 3, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, SLOTS - 3));
	cm_ring_release(&self->c);
}

TEST_F(ring, cons_reattach)
{
	push(self, 5);
	cm_ring_publish(&self->p);
	ASSERT_EQ(5, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 2));
	cm_ring_release(&self->c);

	cm_ring_cons_init(&self->c, self->hdr, SLOTS);
	EXPECT_EQ(START + 2, self->c.tail);
	ASSERT_EQ(3, check_avail(_metadata, self));
	ASSERT_TRUE(pop(self, 3));
	cm_ring_release(&self->c);
}

/* Return rings carry buffer offsets; every buffer of a node fits. */
/*
 * The receive paths' burst pop: at most CM_RX_BURST at a time, the same
 * copies as single pops, and no trouble from offsets outside the region
 * (every other one here), which it must not prefetch.
 */
TEST(rx_pop_burst)
{
	const u32 slots = 64, total = 40;
	struct chainmesh_ring_hdr *hdr = ring_alloc(slots,
						    sizeof(struct chainmesh_desc),
						    START);
	struct cm_layout l = { .size = 4096 };
	struct cm_desc d[CM_RX_BURST + 1], e;
	static u8 region[4096];
	struct cm_ring_prod p;
	struct cm_ring_cons c;
	u32 seq, got = 0, n, i;

	ASSERT_NOT_NULL(hdr);
	cm_ring_prod_init(&p, hdr, slots);
	cm_ring_cons_init(&c, hdr, slots);
	ASSERT_GE(cm_ring_prod_space(&p), (int)total);
	for (seq = 0; seq < total; seq++) {
		mkdesc(seq, &e);
		if (seq & 1)
			e.addr = (seq * 64) % sizeof(region);
		cm_ring_push_desc(&p, &e);
	}
	cm_ring_publish(&p);
	ASSERT_EQ((int)total, cm_ring_cons_avail(&c));

	while (got < total) {
		memset(d, 0, sizeof(d));
		n = cm_rx_pop_burst(&c, region, &l, d, total - got);
		EXPECT_EQ(total - got < CM_RX_BURST ? total - got : CM_RX_BURST,
			  n);
		ASSERT_GT(n, 0u);
		for (i = 0; i < n; i++) {
			seq = got + i;
			mkdesc(seq, &e);
			if (seq & 1)
				e.addr = (seq * 64) % sizeof(region);
			EXPECT_EQ(e.addr, d[i].addr);
			EXPECT_EQ(e.len, d[i].len);
			EXPECT_EQ(e.flags, d[i].flags);
		}
		got += n;
	}
	EXPECT_EQ(START + total, c.tail);
	EXPECT_EQ(0, cm_ring_cons_avail(&c));
	free(hdr);
}

TEST(return_ring)
{
	struct cm_layout_params lp = {
		.nodes = 3, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 12, .max_flows = 4,
	};
	struct cm_ring_prod p;
	struct cm_ring_cons c;
	struct cm_layout l;
	u32 from, to, i, owner, idx;
	void *base;

	ASSERT_EQ(0, cm_layout_compute(&lp, ~0ull, &l));
	ASSERT_EQ(16, l.ret_slots);
	base = aligned_alloc(CHAINMESH_PAGE_SIZE, l.size);
	ASSERT_NOT_NULL(base);
	memset(base, 0, l.size);

	for (from = 0; from < lp.nodes; from++) {
		for (to = 0; to < lp.nodes; to++) {
			struct chainmesh_ring_hdr *h = cm_ret_ring(base, &l, from, to);

			if (from == to)
				continue;
			h->head = h->tail = cpu_to_le32(START + from + to);
			cm_ring_prod_init(&p, h, l.ret_slots);
			cm_ring_cons_init(&c, h, l.ret_slots);

			/* Twice, to cross 2^32. */
			for (int pass = 0; pass < 2; pass++) {
				/* A well-behaved node always has room. */
				for (i = 0; i < lp.bufs_per_node; i++) {
					ASSERT_GT(cm_ring_prod_space(&p), 0);
					cm_ring_push_addr(&p, cm_buf_addr(&l, to, i));
				}
				EXPECT_FALSE(cm_ring_publish(&p));
				ASSERT_EQ((int)lp.bufs_per_node, cm_ring_cons_avail(&c));
				for (i = 0; i < lp.bufs_per_node; i++) {
					u64 addr = cm_ring_pop_addr(&c);

					ASSERT_EQ(CM_BAD_NONE,
						  cm_buf_check(&l, addr, &owner, &idx));
					EXPECT_EQ(to, owner);
					EXPECT_EQ(i, idx);
				}
				cm_ring_release(&c);
				EXPECT_EQ(0, cm_ring_cons_avail(&c));
			}
			/* The full ring: ret_slots entries, then no space. */
			for (i = 0; i < l.ret_slots; i++) {
				ASSERT_GT(cm_ring_prod_space(&p), 0);
				cm_ring_push_addr(&p, i);
			}
			EXPECT_EQ(0, cm_ring_prod_space(&p));
			cm_ring_publish(&p);
			ASSERT_EQ((int)l.ret_slots, cm_ring_cons_avail(&c));
			for (i = 0; i < l.ret_slots; i++)
				ASSERT_EQ(i, cm_ring_pop_addr(&c));
			cm_ring_release(&c);
		}
	}
	/* Each ring moved its own indices only. */
	for (from = 0; from < lp.nodes; from++) {
		for (to = 0; to < lp.nodes; to++) {
			struct chainmesh_ring_hdr *h = cm_ret_ring(base, &l, from, to);
			u32 want = from == to ? 0 : START + from + to +
				   2 * lp.bufs_per_node + l.ret_slots;

			EXPECT_EQ(want, le32_to_cpu(h->head));
			EXPECT_EQ(want, le32_to_cpu(h->tail));
		}
	}
	free(base);
}

/*
 * Two threads, one ring. Every descriptor is checked in order. With
 * @kick, the consumer sleeps on a futex whenever cm_ring_want_kick() says
 * so, and the producer wakes it only when cm_ring_publish() asks: a lost
 * wakeup hangs the test until the harness's alarm() kills it.
 */
struct stress {
	struct chainmesh_ring_hdr *hdr;
	u32 slots;
	u64 items;
	bool kick;
	bool bulk;		/* cm_ring_push_descs / cm_ring_pop_descs */
	u32 futex;		/* bumped on each doorbell */
	/* results */
	int prod_err;
	int cons_err;
	u64 bad_seq;
	u64 kicks, sleeps, rechecks, fulls;
};

static long sys_futex(u32 *uaddr, int op, u32 val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
	__builtin_ia32_pause();
}

static void *stress_producer(void *arg)
{
	struct stress *s = arg;
	struct cm_ring_prod p;
	u64 seq = 0, rnd = 88172645463325252ull;
	struct cm_desc d;
	u32 spins = 0;

	cm_ring_prod_init(&p, s->hdr, s->slots);
	while (seq < s->items) {
		int space = cm_ring_prod_space(&p);
		u32 n;

		if (space < 0) {
			s->prod_err = space;
			break;
		}
		if (!space) {
			s->fulls++;
			if (++spins > 64)
				sched_yield();
			else
				cpu_relax();
			continue;
		}
		spins = 0;
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		n = (u32)(rnd % 32) + 1;
		if (n > (u32)space)
			n = (u32)space;
		if (n > s->items - seq)
			n = (u32)(s->items - seq);
		if (s->bulk) {
			struct cm_desc b[32];
			u32 i;

			for (i = 0; i < n; i++)
				mkdesc(seq + i, &b[i]);
			cm_ring_push_descs(&p, b, n);
			seq += n;
		}
		while (!s->bulk && n--) {
			mkdesc(seq++, &d);
			cm_ring_push_desc(&p, &d);
		}
		if (cm_ring_publish(&p) && s->kick) {
			s->kicks++;
			__atomic_fetch_add(&s->futex, 1, __ATOMIC_SEQ_CST);
			sys_futex(&s->futex, FUTEX_WAKE_PRIVATE, 1);
		}
		/* Now and then let the consumer drain the ring and sleep. */
		if (s->kick && !(rnd & 0xf0000))
			for (n = (u32)(rnd >> 40) % 1024; n; n--)
				cpu_relax();
	}
	return NULL;
}

static void *stress_consumer(void *arg)
{
	struct stress *s = arg;
	struct cm_ring_cons c;
	u64 seq = 0;
	struct cm_desc d;
	u32 spins = 0;

	cm_ring_cons_init(&c, s->hdr, s->slots);
	while (seq < s->items) {
		int n = cm_ring_cons_avail(&c);

		if (n < 0) {
			s->cons_err = n;
			break;
		}
		if (n && s->bulk) {
			struct cm_desc b[64];
			u32 i, k = n > 64 ? 64 : (u32)n;

			cm_ring_pop_descs(&c, b, k);
			for (i = 0; i < k; i++, seq++) {
				if (!desc_is(&b[i], seq)) {
					s->cons_err = -EILSEQ;
					s->bad_seq = seq;
					return NULL;
				}
			}
			cm_ring_release(&c);
			spins = 0;
			continue;
		}
		if (n) {
			while (n--) {
				cm_ring_pop_desc(&c, &d);
				if (!desc_is(&d, seq)) {
					s->cons_err = -EILSEQ;
					s->bad_seq = seq;
					return NULL;
				}
				seq++;
			}
			cm_ring_release(&c);
			spins = 0;
			continue;
		}
		if (!s->kick) {
			if (++spins > 64)
				sched_yield();
			else
				cpu_relax();
			continue;
		}
		/* Empty: ask for a doorbell, re-check, sleep. */
		{
			u32 v = __atomic_load_n(&s->futex, __ATOMIC_SEQ_CST);

			if (cm_ring_want_kick(&c)) {
				s->rechecks++;
			} else {
				s->sleeps++;
				sys_futex(&s->futex, FUTEX_WAIT_PRIVATE, v);
			}
			cm_ring_no_kick(&c);
		}
	}
	return NULL;
}

static void stress_run_bulk(struct __cm_meta *_metadata, u32 slots, u64 items,
			    bool kick, bool bulk)
{
	struct stress s = {
		.slots = slots, .items = items, .kick = kick, .bulk = bulk,
	};
	struct timespec t0, t1;
	pthread_t pt, ct;

	s.hdr = ring_alloc(slots, sizeof(struct chainmesh_desc), 0xffff0000u);
	ASSERT_NOT_NULL(s.hdr);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, pthread_create(&ct, NULL, stress_consumer, &s));
	ASSERT_EQ(0, pthread_create(&pt, NULL, stress_producer, &s));
	pthread_join(pt, NULL);
	pthread_join(ct, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("%u slots, %llu items in %.2f s: %llu kicks, %llu sleeps, %llu rechecks, %llu full",
	       slots, (unsigned long long)items,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (unsigned long long)s.kicks, (unsigned long long)s.sleeps,
	       (unsigned long long)s.rechecks, (unsigned long long)s.fulls);
	EXPECT_EQ(0, s.prod_err);
	EXPECT_EQ(0, s.cons_err)
		TH_LOG("descriptor %llu out of order or torn",
		       (unsigned long long)s.bad_seq);
	EXPECT_EQ((u32)(0xffff0000u + items), le32_to_cpu(s.hdr->head));
	EXPECT_EQ((u32)(0xffff0000u + items), le32_to_cpu(s.hdr->tail));
	if (kick)
		EXPECT_GT(s.sleeps, 0);
	free(s.hdr);
}

static void stress_run(struct __cm_meta *_metadata, u32 slots, u64 items,
		       bool kick)
{
	stress_run_bulk(_metadata, slots, items, kick, false);
}

TEST_TIMEOUT(stress_poll, 60)
{
	stress_run(_metadata, 256, 20000000, false);
}

TEST_TIMEOUT(stress_poll_small, 60)
{
	stress_run(_metadata, 8, 5000000, false);
}

TEST_TIMEOUT(stress_kick, 60)
{
	stress_run(_metadata, 256, 4000000, true);
}

TEST_TIMEOUT(stress_kick_small, 60)
{
	stress_run(_metadata, 8, 2000000, true);
}

TEST_TIMEOUT(stress_poll_bulk, 60)
{
	stress_run_bulk(_metadata, 256, 5000000, false, true);
}

TEST_TIMEOUT(stress_kick_bulk_small, 60)
{
	stress_run_bulk(_metadata, 8, 1000000, true, true);
}

TEST_HARNESS_MAIN
