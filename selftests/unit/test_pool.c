// SPDX-License-Identifier: GPL-2.0
/*
 * A node's own buffer pool (include/chainmesh/pool.h) and the datapath
 * steps both modules share (include/chainmesh/datapath.h): get and put,
 * double and bogus returns, exhaustion, returns through a real return
 * ring, and a transmit path and NAPI on two threads.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mman.h>

#include <chainmesh/datapath.h>
#include <chainmesh/layout.h>
#include <chainmesh/pool.h>
#include <chainmesh/ring.h>

#include "harness.h"

/* Take the next free buffer, as the transmit path does. */
static bool get(struct cm_pool *pool, u32 *idx)
{
	if (!cm_pool_peek(pool, idx))
		return false;
	cm_pool_take(pool, *idx);
	return true;
}

FIXTURE(pool) {
	struct cm_pool pool;
};

FIXTURE_SETUP(pool)
{
	ASSERT_EQ(0, cm_pool_init(&self->pool, 12));
}

FIXTURE_TEARDOWN(pool)
{
	cm_pool_destroy(&self->pool);
}

TEST_F(pool, all_free)
{
	u32 i, idx;

	EXPECT_EQ(12, self->pool.nbufs);
	EXPECT_EQ(15, self->pool.mask);		/* 12 rounded up to 16 */
	EXPECT_EQ(12, cm_pool_avail(&self->pool));
	EXPECT_EQ(12, cm_pool_count(&self->pool));
	for (i = 0; i < 12; i++) {
		ASSERT_TRUE(cm_pool_peek(&self->pool, &idx));
		EXPECT_EQ(i, idx);
		/* Peeking takes nothing. */
		ASSERT_TRUE(cm_pool_peek(&self->pool, &idx));
		EXPECT_EQ(i, idx);
		EXPECT_EQ(0, self->pool.inflight[i]);
		cm_pool_take(&self->pool, idx);
		EXPECT_EQ(1, self->pool.inflight[i]);
	}
	EXPECT_EQ(0, cm_pool_avail(&self->pool));
}

TEST_F(pool, get_put)
{
	u32 idx;

	ASSERT_TRUE(get(&self->pool, &idx));
	EXPECT_EQ(0, idx);
	EXPECT_EQ(11, cm_pool_count(&self->pool));
	EXPECT_EQ(CM_BAD_NONE, cm_pool_put(&self->pool, idx));
	EXPECT_EQ(12, cm_pool_count(&self->pool));
	EXPECT_EQ(0, self->pool.inflight[idx]);
	/* A returned buffer goes to the back of the free list. */
	ASSERT_TRUE(cm_pool_peek(&self->pool, &idx));
	EXPECT_EQ(1, idx);
}

TEST_F(pool, double_return)
{
	u32 idx;

	ASSERT_TRUE(get(&self->pool, &idx));
	EXPECT_EQ(CM_BAD_NONE, cm_pool_put(&self->pool, idx));
	EXPECT_EQ(CM_BAD_RETURN, cm_pool_put(&self->pool, idx));
	EXPECT_EQ(12, cm_pool_count(&self->pool));
}

TEST_F(pool, never_handed_out)
{
	u32 i;

	/* Every buffer is free: no return may be accepted. */
	for (i = 0; i < 12; i++)
		EXPECT_EQ(CM_BAD_RETURN, cm_pool_put(&self->pool, i));
	EXPECT_EQ(12, cm_pool_count(&self->pool));
}

TEST_F(pool, exhaustion)
{
	u32 i, idx, seen = 0;

	for (i = 0; i < 12; i++) {
		ASSERT_TRUE(get(&self->pool, &idx));
		seen |= 1u << idx;
	}
	EXPECT_EQ(0xfff, seen);
	EXPECT_FALSE(cm_pool_peek(&self->pool, &idx));
	EXPECT_EQ(0, cm_pool_count(&self->pool));
	EXPECT_EQ(CM_BAD_NONE, cm_pool_put(&self->pool, 7));
	ASSERT_TRUE(get(&self->pool, &idx));
	EXPECT_EQ(7, idx);
	EXPECT_FALSE(cm_pool_peek(&self->pool, &idx));
}

/* Many rounds, returns out of order: the free list never holds a buffer
 * twice, and its indices wrap past 2^32 unharmed. */
TEST_F(pool, rounds)
{
	u32 held[12], n, i, r, idx, seen;

	self->pool.tail = 0xfffffff0u;
	self->pool.head = self->pool.tail + 12;
	for (r = 0; r < 1000; r++) {
		for (n = 0; n < 5 + r % 8; n++)
			ASSERT_TRUE(get(&self->pool, &held[n]));
		for (i = 0; i < n; i++) {
			idx = r & 1 ? held[n - 1 - i] : held[i];
			ASSERT_EQ(CM_BAD_NONE, cm_pool_put(&self->pool, idx));
		}
		ASSERT_EQ(12, cm_pool_count(&self->pool));
	}
	for (seen = 0, i = 0; i < 12; i++) {
		ASSERT_TRUE(get(&self->pool, &idx));
		ASSERT_LT(idx, 12);
		seen |= 1u << idx;
	}
	EXPECT_EQ(0xfff, seen);
}

/* Take the next free buffer for a frame to @peer. */
static bool get_to(struct cm_pool *pool, u32 *idx, u32 peer)
{
	if (!cm_pool_peek(pool, idx))
		return false;
	cm_pool_take_to(pool, *idx, peer);
	return true;
}

/* A dead peer's buffers come home, and only those: the ones sent to
 * another peer, returned already, or passed on (XDP_TX) stay as they are;
 * a late return of one taken back is refused. */
TEST_F(pool, reclaim_first_hop)
{
	u32 idx[12], i;

	EXPECT_EQ(CM_POOL_HOP_NONE, self->pool.hop[0]);
	for (i = 0; i < 12; i++)
		ASSERT_TRUE(get_to(&self->pool, &idx[i], i % 3 + 1));
	EXPECT_EQ(0, cm_pool_count(&self->pool));
	/* Sent to 2, came back: not in flight, its hop is stale. */
	ASSERT_EQ(CM_BAD_NONE, cm_pool_put(&self->pool, idx[1]));
	/* Sent to 2, passed on to 3 as it is. */
	cm_pool_set_hop(&self->pool, idx[4], 3);

	/* Node 2 dies: 7 and 10 were its. */
	EXPECT_EQ(2, cm_pool_reclaim(&self->pool, 2));
	EXPECT_EQ(3, cm_pool_count(&self->pool));
	EXPECT_EQ(0, self->pool.inflight[idx[7]]);
	EXPECT_EQ(0, self->pool.inflight[idx[10]]);
	EXPECT_EQ(1, self->pool.inflight[idx[4]]);
	/* Nothing twice, nothing of a node that held nothing. */
	EXPECT_EQ(0, cm_pool_reclaim(&self->pool, 2));
	EXPECT_EQ(0, cm_pool_reclaim(&self->pool, 5));
	/* A return of one taken back, from further down the chain. */
	EXPECT_EQ(CM_BAD_RETURN, cm_pool_put(&self->pool, idx[7]));
	EXPECT_EQ(3, cm_pool_count(&self->pool));

	/* Node 3 dies: 2, 5, 8, 11, and 4 it was passed. */
	EXPECT_EQ(5, cm_pool_reclaim(&self->pool, 3));
	EXPECT_EQ(8, cm_pool_count(&self->pool));
	/* Node 1's four still out; reused buffers get a new hop. */
	for (i = 0; i < 8; i++) {
		u32 j;

		ASSERT_TRUE(get_to(&self->pool, &j, 4));
		EXPECT_EQ(4, self->pool.hop[j]);
	}
	EXPECT_EQ(0, cm_pool_reclaim(&self->pool, 3));
	EXPECT_EQ(4, cm_pool_reclaim(&self->pool, 1));
	EXPECT_EQ(8, cm_pool_reclaim(&self->pool, 4));
	EXPECT_EQ(12, cm_pool_count(&self->pool));
}

/* What each first hop holds: handed out minus come back, whoever
 * returns it; a buffer passed on moves to its new hop; a refused return
 * credits nothing; a reclaim empties the hop. */
TEST_F(pool, held_per_hop)
{
	u32 idx[12], i, any;

	for (i = 0; i < 5; i++)
		ASSERT_TRUE(get_to(&self->pool, &idx[i], i < 3 ? 1 : 2));
	EXPECT_EQ(3, cm_pool_held(&self->pool, 1));
	EXPECT_EQ(2, cm_pool_held(&self->pool, 2));
	EXPECT_EQ(0, cm_pool_held(&self->pool, 3));

	ASSERT_EQ(CM_BAD_NONE, cm_pool_put(&self->pool, idx[0]));
	EXPECT_EQ(2, cm_pool_held(&self->pool, 1));
	EXPECT_EQ(CM_BAD_RETURN, cm_pool_put(&self->pool, idx[0]));
	EXPECT_EQ(2, cm_pool_held(&self->pool, 1));

	/* Came back from 2's chain and goes on to 3 (XDP_TX). */
	cm_pool_set_hop(&self->pool, idx[3], 3);
	EXPECT_EQ(1, cm_pool_held(&self->pool, 2));
	EXPECT_EQ(1, cm_pool_held(&self->pool, 3));
	ASSERT_EQ(CM_BAD_NONE, cm_pool_put(&self->pool, idx[3]));
	EXPECT_EQ(0, cm_pool_held(&self->pool, 3));

	EXPECT_EQ(2, cm_pool_reclaim(&self->pool, 1));
	EXPECT_EQ(0, cm_pool_held(&self->pool, 1));
	EXPECT_EQ(1, cm_pool_held(&self->pool, 2));

	/* No first hop, no account; a reused buffer counts for its new hop. */
	ASSERT_TRUE(get(&self->pool, &any));
	ASSERT_EQ(CM_BAD_NONE, cm_pool_put(&self->pool, any));
	for (i = 0; i < CHAINMESH_MAX_NODES; i++)
		EXPECT_EQ(i == 2 ? 1 : 0, cm_pool_held(&self->pool, i));
	for (i = 0; i < 11; i++)
		ASSERT_TRUE(get_to(&self->pool, &idx[i], 5));
	EXPECT_EQ(11, cm_pool_held(&self->pool, 5));
	EXPECT_EQ(0, cm_pool_count(&self->pool));
	EXPECT_EQ(11, cm_pool_reclaim(&self->pool, 5));
	EXPECT_EQ(0, cm_pool_held(&self->pool, 5));
}

/* A ring of 8 descriptors, both ends: what a previous life left. */
FIXTURE(life) {
	struct chainmesh_ring_hdr *hdr;
	struct cm_ring_prod p;
	struct cm_ring_cons c;
};

FIXTURE_SETUP(life)
{
	size_t size = sizeof(*self->hdr) + 8 * sizeof(struct chainmesh_desc);

	self->hdr = aligned_alloc(CHAINMESH_CACHELINE, size);
	ASSERT_TRUE(self->hdr != NULL);
	memset(self->hdr, 0, size);
	cm_ring_prod_init(&self->p, self->hdr, 8);
	cm_ring_cons_init(&self->c, self->hdr, 8);
}

FIXTURE_TEARDOWN(life)
{
	free(self->hdr);
}

/* Push and publish @n descriptors; false when the ring had no room. */
static bool life_push(FIXTURE_DATA(life) *self, u32 n)
{
	struct cm_desc d = { .addr = 0x1000, .len = 60 };

	while (n--) {
		if (cm_ring_prod_space(&self->p) <= 0)
			return false;
		cm_ring_push_desc(&self->p, &d);
		d.addr += 0x1000;
	}
	cm_ring_publish(&self->p);
	return true;
}

/* The producer's new life drops what the consumer had not read: its head
 * goes back to the consumer's tail; a consumer that forgets its cached
 * head then sees exactly the new life's descriptors. */
TEST_F(life, producer_restart)
{
	struct cm_desc d;

	ASSERT_TRUE(life_push(self, 5));
	ASSERT_EQ(5, cm_ring_cons_avail(&self->c));
	cm_ring_pop_desc(&self->c, &d);
	cm_ring_release(&self->c);

	/* The producer dies with 4 unread and comes back. */
	cm_ring_prod_init(&self->p, self->hdr, 8);
	EXPECT_EQ(5, self->p.head);
	cm_ring_prod_restart(&self->p);
	EXPECT_EQ(1, self->p.head);
	EXPECT_EQ(1, le32_to_cpu(self->hdr->head));
	EXPECT_EQ(8, cm_ring_prod_space(&self->p));

	cm_ring_cons_forget(&self->c);
	EXPECT_EQ(0, cm_ring_cons_avail(&self->c));
	ASSERT_TRUE(life_push(self, 8));
	EXPECT_EQ(8, cm_ring_cons_avail(&self->c));
	cm_ring_pop_desc(&self->c, &d);
	EXPECT_EQ(0x1000, d.addr);
}

/* The consumer's new life (or its fence) drops what is queued, whatever
 * it cached, up to the producer's head even where that is insane: the
 * ring carries frames again at once, no pair reset needed. */
TEST_F(life, consumer_take_head)
{
	struct cm_desc d;

	ASSERT_TRUE(life_push(self, 3));
	ASSERT_EQ(3, cm_ring_cons_avail(&self->c));	/* cached: 3 */
	ASSERT_TRUE(life_push(self, 4));
	cm_ring_cons_take_head(&self->c);
	EXPECT_EQ(7, self->c.tail);
	EXPECT_EQ(7, le32_to_cpu(self->hdr->tail));
	EXPECT_EQ(0, cm_ring_cons_avail(&self->c));

	/* Our tail, forged, is written back. */
	self->hdr->tail = cpu_to_le32(99);
	cm_ring_cons_take_head(&self->c);
	EXPECT_EQ(7, le32_to_cpu(self->hdr->tail));

	/* An insane head: refused as it is, taken by a new life. */
	self->hdr->head = cpu_to_le32(7 + 9);
	EXPECT_EQ(-EPROTO, cm_ring_cons_avail(&self->c));
	cm_ring_cons_take_head(&self->c);
	EXPECT_EQ(16, self->c.tail);
	EXPECT_EQ(16, le32_to_cpu(self->hdr->tail));
	EXPECT_EQ(0, cm_ring_cons_avail(&self->c));
	/* The producer writes on from there: read as usual. */
	self->p.head = 16;
	self->p.published = 16;
	self->p.tail_cache = 16;
	ASSERT_TRUE(life_push(self, 1));
	ASSERT_EQ(1, cm_ring_cons_avail(&self->c));
	cm_ring_pop_desc(&self->c, &d);
	EXPECT_EQ(0x1000, d.addr);
}

/* A region with return rings; node 1 is us. */
FIXTURE(ret) {
	struct cm_layout l;
	struct cm_pool pool;
	struct cm_ring_prod p;		/* node 2 returning to us */
	struct cm_ring_cons c;
	void *base;
};

/* Lay out @lp, our pool, and both ends of the return ring 2 -> 1. */
static int ret_init(FIXTURE_DATA(ret) *self,
		    const struct cm_layout_params *lp)
{
	if (cm_layout_compute(lp, ~0ull, &self->l))
		return -1;
	self->base = aligned_alloc(CHAINMESH_PAGE_SIZE, self->l.size);
	if (!self->base)
		return -1;
	memset(self->base, 0, self->l.size);
	if (cm_pool_init(&self->pool, lp->bufs_per_node)) {
		free(self->base);
		return -1;
	}
	cm_ring_prod_init(&self->p, cm_ret_ring(self->base, &self->l, 2, 1),
			  self->l.ret_slots);
	cm_ring_cons_init(&self->c, cm_ret_ring(self->base, &self->l, 2, 1),
			  self->l.ret_slots);
	return 0;
}

FIXTURE_SETUP(ret)
{
	struct cm_layout_params lp = {
		.nodes = 4, .ring_slots = 8, .buf_size = 2048,
		.bufs_per_node = 9, .max_flows = 8,	/* 9 KiB: padding after */
	};

	ASSERT_EQ(0, ret_init(self, &lp));
	ASSERT_EQ(16, self->l.ret_slots);
}

FIXTURE_TEARDOWN(ret)
{
	cm_pool_destroy(&self->pool);
	free(self->base);
}

static void ret_push(FIXTURE_DATA(ret) *self, u64 addr)
{
	cm_ring_prod_space(&self->p);
	cm_ring_push_addr(&self->p, addr);
}

TEST_F(ret, empty)
{
	struct cm_ret_tally t;

	memset(&t, 0xa5, sizeof(t));
	cm_pool_drain_ret(&self->pool, &self->l, 1, &self->c, &t);
	EXPECT_EQ(0, t.freed);
	EXPECT_EQ(0, t.bad);
	EXPECT_EQ(0, t.why[CM_BAD_RETURN]);
}

TEST_F(ret, bogus)
{
	const struct cm_layout *l = &self->l;
	struct cm_ret_tally t;
	u32 idx, i;

	for (i = 0; i < 2; i++)
		ASSERT_TRUE(get(&self->pool, &idx));
	ret_push(self, cm_buf_addr(l, 1, 0));		/* ours: freed */
	ret_push(self, cm_buf_addr(l, 1, 0));		/* again */
	ret_push(self, cm_buf_addr(l, 1, 2));		/* never handed out */
	ret_push(self, cm_buf_addr(l, 1, 9));		/* pool padding: no buffer */
	ret_push(self, cm_buf_addr(l, 1, 1) + 64);	/* inside a buffer */
	ret_push(self, cm_buf_addr(l, 3, 1));		/* node 3's */
	ret_push(self, 0);				/* the header */
	ret_push(self, l->size);			/* past the region */
	ret_push(self, cm_buf_addr(l, 1, 1));		/* ours: freed */
	cm_ring_publish(&self->p);

	cm_pool_drain_ret(&self->pool, l, 1, &self->c, &t);
	EXPECT_EQ(2, t.freed);
	EXPECT_EQ(7, t.bad);
	EXPECT_EQ(2, t.why[CM_BAD_RETURN]);
	EXPECT_EQ(3, t.why[CM_BAD_ADDR]);
	EXPECT_EQ(1, t.why[CM_BAD_ALIGN]);
	EXPECT_EQ(1, t.why[CM_BAD_OWNER]);
	EXPECT_EQ(0, t.why[CM_BAD_NONE]);
	EXPECT_EQ(9, cm_pool_count(&self->pool));
	/* All consumed and handed back to the producer. */
	EXPECT_EQ(0, cm_ring_cons_avail(&self->c));
	EXPECT_EQ(9, le32_to_cpu(self->c.hdr->tail));
}

TEST_F(ret, insane_head)
{
	struct cm_ret_tally t;
	u32 idx;

	ASSERT_TRUE(get(&self->pool, &idx));
	ret_push(self, cm_buf_addr(&self->l, 1, idx));
	cm_ring_publish(&self->p);
	/* The peer scribbles its head more than a ring ahead. */
	self->c.hdr->head = cpu_to_le32(self->l.ret_slots + 5);
	cm_pool_drain_ret(&self->pool, &self->l, 1, &self->c, &t);
	EXPECT_EQ(0, t.freed);
	EXPECT_EQ(1, t.bad);
	EXPECT_EQ(1, t.why[CM_BAD_INDEX]);
	EXPECT_EQ(0, le32_to_cpu(self->c.hdr->tail));
	EXPECT_EQ(8, cm_pool_count(&self->pool));
	/* Sane again: the return is taken. */
	self->c.hdr->head = cpu_to_le32(1);
	cm_pool_drain_ret(&self->pool, &self->l, 1, &self->c, &t);
	EXPECT_EQ(1, t.freed);
	EXPECT_EQ(0, t.bad);
	EXPECT_EQ(9, cm_pool_count(&self->pool));
}

/* The buffer a receiver would send home for @d, or ~0 when refused. */
static u64 home_of(const struct cm_layout *l, const struct cm_desc *d)
{
	u32 owner, idx;

	if (cm_desc_check(l, d, &owner, &idx) != CM_BAD_NONE)
		return ~0ull;
	return cm_buf_addr(l, owner, idx);
}

static enum cm_bad check(const struct cm_layout *l, const struct cm_desc *d)
{
	u32 owner, idx;

	return cm_desc_check(l, d, &owner, &idx);
}

/* The transmit step and what the receiver checks, on node 1 sending to 2. */
TEST_F(ret, tx_step)
{
	struct cm_layout *l = &self->l;
	struct chainmesh_node *peer = cm_node(self->base, l, 2);
	struct cm_ftable *t;
	struct cm_desc d;
	u32 idx;
	u8 mac[6], *buf;

	cm_node_mac(0xbeef, 2, mac);
	EXPECT_EQ(0, memcmp(mac, "\x02\x43\x4d\xbe\xef\x02", 6));
	memcpy(peer->mac, mac, 6);

	memset(&d, 0, sizeof(d));
	buf = cm_tx_buf(&self->pool, self->base, l, 1, &idx, &d);
	ASSERT_NOT_NULL(buf);
	EXPECT_EQ(0, idx);
	EXPECT_EQ(cm_buf_addr(l, 1, 0), d.addr);
	EXPECT_EQ(CHAINMESH_HEADROOM, d.data_off);
	EXPECT_EQ((u8 *)self->base + d.addr + CHAINMESH_HEADROOM, buf);
	/* Not taken until the caller says so. */
	EXPECT_EQ(9, cm_pool_count(&self->pool));
	memset(buf, 0x11, 60);
	cm_frame_set_dest(self->base, l, buf, 2);
	EXPECT_EQ(0, memcmp(buf, mac, 6));
	EXPECT_EQ(0x11, buf[6]);
	d.len = 60;
	cm_desc_set_ctx(&d, 5, 2);
	EXPECT_EQ(CHAINMESH_D_CTX, d.flags);
	cm_pool_take(&self->pool, idx);
	EXPECT_EQ(8, cm_pool_count(&self->pool));

	EXPECT_EQ(CM_BAD_NONE, check(l, &d));
	EXPECT_EQ(cm_buf_addr(l, 1, 0), home_of(l, &d));
	d.len = l->p.buf_size - CHAINMESH_HEADROOM + 1;
	EXPECT_EQ(CM_BAD_LEN, check(l, &d));
	d.len = 60;

	t = cm_ftable_alloc(1);
	ASSERT_NOT_NULL(t);
	EXPECT_FALSE(cm_desc_ctx_ok(t, &d));
	t->hops[5].flags = CHAINMESH_H_VALID;
	t->hops[5].hop = 2;
	EXPECT_TRUE(cm_desc_ctx_ok(t, &d));
	d.hop = 3;
	EXPECT_FALSE(cm_desc_ctx_ok(t, &d));
	d.chain = CHAINMESH_MAX_CHAINS;
	EXPECT_FALSE(cm_desc_ctx_ok(t, &d));
	d.flags = 0;
	EXPECT_TRUE(cm_desc_ctx_ok(t, &d));
	/* No flows: nothing to count against. */
	EXPECT_EQ(-1, cm_desc_flow(t, &d, buf));
	cm_ftable_free(t);

	EXPECT_FALSE(cm_node_alive(self->base, l, 2));
	peer->state = cpu_to_le32(CHAINMESH_NODE_UP);
	EXPECT_TRUE(cm_node_alive(self->base, l, 2));
	peer->host_state = cpu_to_le32(CHAINMESH_NODE_DOWN);
	EXPECT_FALSE(cm_node_alive(self->base, l, 2));
}

/*
 * The transmit path takes buffers and a peer returns them at once over
 * the return ring, NAPI drains it on another thread: every buffer comes
 * back exactly once and nothing is refused.
 */
#define XFER_ROUNDS	200000

struct xfer {
	FIXTURE_DATA(ret) *self;
	volatile int done;
	u32 freed;
	u32 bad;
};

static void *napi_thread(void *arg)
{
	struct xfer *x = arg;
	struct cm_ret_tally t;

	for (;;) {
		int done = __atomic_load_n(&x->done, __ATOMIC_ACQUIRE);

		cm_pool_drain_ret(&x->self->pool, &x->self->l, 1, &x->self->c,
				  &t);
		x->freed += t.freed;
		x->bad += t.bad;
		if (done && !t.freed)
			return NULL;
		/* on a CPU shared with the sender, let it refill the ring
		 * rather than spin out a time slice */
		if (!t.freed)
			sched_yield();
	}
}

TEST_TIMEOUT(xfer_two_threads, 20)
{
	FIXTURE_DATA(ret) fx, *self = &fx;
	struct cm_layout_params lp = {
		.nodes = 4, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 8, .max_flows = 8,
	};
	struct xfer x = { .self = self };
	pthread_t th;
	u32 sent = 0, idx;

	ASSERT_EQ(0, ret_init(self, &lp));
	ASSERT_EQ(0, pthread_create(&th, NULL, napi_thread, &x));

	while (sent < XFER_ROUNDS) {
		if (!cm_pool_peek(&self->pool, &idx)) {
			sched_yield();
			continue;
		}
		ASSERT_LT(idx, lp.bufs_per_node);
		cm_pool_take(&self->pool, idx);
		/* ret_slots == bufs_per_node: a buffer we could take has
		 * had its slot released, so the ring is never full. */
		ASSERT_GT(cm_ring_prod_space(&self->p), 0);
		cm_ring_push_addr(&self->p, cm_buf_addr(&self->l, 1, idx));
		cm_ring_publish(&self->p);
		sent++;
	}
	__atomic_store_n(&x.done, 1, __ATOMIC_RELEASE);
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(XFER_ROUNDS, x.freed);
	EXPECT_EQ(0, x.bad);
	EXPECT_EQ(lp.bufs_per_node, cm_pool_count(&self->pool));
	cm_pool_destroy(&self->pool);
	free(self->base);
}

TEST_HARNESS_MAIN
