// SPDX-License-Identifier: GPL-2.0
/*
 * The node datapath (include/chainmesh/dp.h), as node 0 and every guest
 * run it: three struct cm_dp nodes over one in-memory region, chain 1 =
 * 0 -> 1 -> 2. Node 0 sends as a transmit path does (cm_dp_route(),
 * cm_dp_send()); each node polls as NAPI does (cm_dp_returns(),
 * cm_dp_rx_poll(), cm_dp_tx_flush(), cm_dp_rx_flush(), cm_dp_arm());
 * the ops' rx passes a frame on as XDP_TX does, ends its journey at the
 * chain's end, or keeps it (a peer that holds what it is sent).
 *
 * Delivery and the frames' bytes, chain context, counters per peer and
 * per flow (and published into the region), kicks only when asked for,
 * every buffer home again; quotas and a hoarder; bad descriptors counted
 * per reason and per peer, their buffers home; a peer judged broken
 * after bad_limit bad inputs, cut and blamed; the judgment expiring with
 * a back-off; a pair's rings reset by agreement after their indices
 * disagree for good. Frames of several buffers
 * with an offload header (cm_dp_send_frame(), ops->rx_frame): delivered
 * whole, or dropped by a node that did not announce them; corrupted
 * chains refused per reason, every buffer home once; every buffer of a
 * held frame taken back when its holder dies.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <unistd.h>

#include <chainmesh/dp.h>

#include "harness.h"

#define NODES		3u
#define CHAIN		1u
#define FLOW		2u		/* flow id of the chain's flow */
#define OTHER_FLOW	1u		/* a flow no frame matches */
#define BUFS		8u
#define SLOTS		16u
#define MESH_ID		0x0101u
#define LIMIT		4u		/* bad_limit */
#define FRAME_LEN	64u
#define BUF_SIZE	65536u		/* the largest: a 64 KiB frame is two */
#define MAX_KEEP	BUFS

struct tnode;

/* What a node's ops saw and keep. */
struct tnode {
	struct cm_dp dp;
	struct cm_ftable *ft;
	bool hold;			/* keep frames instead of passing them on */
	u32 got;			/* frames handed to ops->rx */
	u32 last_from;
	struct cm_desc last;		/* the last descriptor handed to ops->rx */
	u32 seqs[64];			/* payload sequence numbers, as received */
	u32 nseq;
	u32 ended;			/* journeys ended here */
	u32 judged;			/* ops->judged calls */
	u32 judged_peer;
	/* kept: buffers a holding node did not send home */
	struct {
		u32 from, owner, idx;
		u64 addr;
	} keep[MAX_KEEP];
	u32 nkeep;
	u32 frames;			/* frames handed to ops->rx_frame */
	u32 frame_bufs, frame_len;	/* the last one's */
	bool frame_same;		/* its bytes were the sent ones */
	struct chainmesh_offload frame_oh;
};

static u64 kicks[NODES][NODES];		/* [from][to] */

static struct tnode *tnode_of(struct cm_dp *dp)
{
	return (struct tnode *)((char *)dp - offsetof(struct tnode, dp));
}

static void t_kick(struct cm_dp *dp, u32 peer)
{
	kicks[dp->self][peer]++;
}

static void t_judged(struct cm_dp *dp, u32 peer)
{
	struct tnode *n = tnode_of(dp);

	n->judged++;
	n->judged_peer = peer;
}

static void t_rx(struct cm_dp *dp, u32 from, struct cm_desc *d, u32 owner,
		 u32 idx, const struct cm_ftable **t);

static void t_rx_frame(struct cm_dp *dp, u32 from, struct cm_frame *f,
		       const struct cm_ftable **t);

static const struct cm_dp_ops t_ops = {
	.kick	= t_kick,
	.rx	= t_rx,
	.rx_frame = t_rx_frame,
	.judged	= t_judged,
};

/* The bytes of a large frame: a UDP header, then a pattern. */
#define BIG_LEN		(CHAINMESH_FRAME_MAX_LEN - 64)

static u8 big_byte(u32 i)
{
	return (u8)(i * 7 + (i >> 8));
}

/* ops->rx_frame: check the bytes against what send_big() sent, then end
 * its journey here (or keep every buffer of it). */
static void t_rx_frame(struct cm_dp *dp, u32 from, struct cm_frame *f,
		       const struct cm_ftable **t)
{
	struct tnode *n = tnode_of(dp);
	u32 i, j, pos = 0;
	const u8 *p;

	(void)t;
	n->frames++;
	n->frame_bufs = f->n;
	n->frame_len = f->len;
	n->frame_oh = f->oh;
	n->frame_same = true;
	for (i = 0; i < f->n; i++) {
		p = (u8 *)dp->base + f->d[i].addr + f->d[i].data_off;
		for (j = 0; j < f->d[i].len; j++, pos++)
			if (pos >= 42 && p[j] != big_byte(pos))
				n->frame_same = false;
	}
	if (n->hold) {
		for (i = 0; i < f->n && n->nkeep < MAX_KEEP; i++) {
			n->keep[n->nkeep].from = from;
			n->keep[n->nkeep].owner = f->owner_of[i];
			n->keep[n->nkeep].idx = f->idx[i];
			n->keep[n->nkeep].addr = f->d[i].addr;
			n->nkeep++;
		}
		return;
	}
	cm_ctr_add(&dp->rx_total, f->len);
	cm_dp_give_back_frame(dp, &t_ops, from, f);
}

/* ops->rx: count, then keep, pass on by the frame's context (XDP_TX), or
 * end the journey here and send the buffer home. */
static void t_rx(struct cm_dp *dp, u32 from, struct cm_desc *d, u32 owner,
		 u32 idx, const struct cm_ftable **t)
{
	struct tnode *n = tnode_of(dp);
	u8 *frame = (u8 *)dp->base + d->addr + d->data_off;
	struct cm_ctx ctx, *ctxp = NULL;
	struct cm_route r;
	u32 seq;

	cm_dp_rx_count(dp, from, cm_desc_flow(*t, d, frame), d->len);
	n->got++;
	n->last_from = from;
	n->last = *d;
	memcpy(&seq, frame + 42, sizeof(seq));
	if (n->nseq < sizeof(n->seqs) / sizeof(n->seqs[0]))
		n->seqs[n->nseq++] = seq;
	if (n->hold && n->nkeep < MAX_KEEP) {
		n->keep[n->nkeep].from = from;
		n->keep[n->nkeep].owner = owner;
		n->keep[n->nkeep].idx = idx;
		n->keep[n->nkeep].addr = d->addr;
		n->nkeep++;
		return;
	}
	if (d->flags & CHAINMESH_D_CTX) {
		ctx.chain = d->chain;
		ctx.hop = d->hop;
		ctxp = &ctx;
	}
	if (!cm_dp_route(*t, ctxp, frame, d->len, &r)) {
		cm_frame_set_dest(dp->base, &dp->l, frame, r.peer);
		if (!cm_dp_push(dp, &r, d)) {
			if (owner == dp->self)
				cm_pool_set_hop(&dp->pool, idx, r.peer);
			return;
		}
	} else {
		n->ended++;
		cm_ctr_add(&dp->rx_total, d->len);
	}
	cm_dp_give_back(dp, &t_ops, from, owner, idx, d->addr);
}

FIXTURE(dp) {
	void *base;
	struct cm_layout l;
	struct cm_policy pol;
	struct tnode n[NODES];
};

/* A UDP/IPv4 frame 10.0.0.1:40000 -> 10.0.0.2:5201, @seq after the
 * headers. */
static void mkframe(u8 *f, u16 dport, u32 seq)
{
	static const u8 hdr[42] = {
		0x02, 0x43, 0x4d, 0x01, 0x01, 0x01,
		0x02, 0x43, 0x4d, 0x01, 0x01, 0x00,
		0x08, 0x00,
		0x45, 0x00, 0x00, 50, 0x12, 0x34, 0x40, 0x00,
		64, 17, 0x00, 0x00,
		10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0x14, 0x51, 0x00, 30, 0x00, 0x00,
	};

	memcpy(f, hdr, sizeof(hdr));
	f[36] = dport >> 8;
	f[37] = dport & 0xff;
	memset(f + sizeof(hdr), 0x5a, FRAME_LEN - sizeof(hdr));
	memcpy(f + sizeof(hdr), &seq, sizeof(seq));
}

static void mkflow(struct chainmesh_flow *f, u32 id, u16 dport)
{
	memset(f, 0, sizeof(*f));
	f->flow_id = cpu_to_le32(id);
	f->chain = cpu_to_le16(CHAIN);
	f->family = 4;
	f->ip_proto = CM_IPPROTO_UDP;
	f->dport = cpu_to_be16(dport);
	f->dport_mask = cpu_to_be16(0xffff);
	f->src[0] = cpu_to_be32(0x0a000001);
	f->dst[0] = cpu_to_be32(0x0a000002);
	cm_prefix_mask(32, f->src_mask);
	cm_prefix_mask(32, f->dst_mask);
}

FIXTURE_SETUP(dp)
{
	struct cm_layout_params lp = {
		.nodes = NODES, .ring_slots = SLOTS, .buf_size = BUF_SIZE,
		.bufs_per_node = BUFS, .max_flows = 4,
	};
	static struct cm_chain chains[CHAINMESH_MAX_CHAINS];
	struct chainmesh_flow flows[2];
	struct chainmesh_node *e;
	struct cm_ftable *t;
	bool any;
	u32 i;

	memset(kicks, 0, sizeof(kicks));
	ASSERT_EQ(0, cm_layout_compute(&lp, ~0ull, &self->l));
	self->base = aligned_alloc(CHAINMESH_PAGE_SIZE,
				   cm_align(self->l.size, CHAINMESH_PAGE_SIZE));
	ASSERT_NOT_NULL(self->base);
	memset(self->base, 0, self->l.size);
	self->pol.bad_limit = LIMIT;
	self->pol.bad_window_ms = 60000;
	self->pol.peer_share = 50;

	for (i = 0; i < NODES; i++) {
		e = cm_node(self->base, &self->l, i);
		cm_node_mac(MESH_ID, i, e->mac);
		e->epoch = cpu_to_le32(1);
		e->state = cpu_to_le32(CHAINMESH_NODE_UP);
		e->host_state = cpu_to_le32(CHAINMESH_NODE_UP);
	}
	memset(chains, 0, sizeof(chains));
	chains[CHAIN].used = 1;
	chains[CHAIN].nhops = 3;
	chains[CHAIN].hops[0] = 0;
	chains[CHAIN].hops[1] = 1;
	chains[CHAIN].hops[2] = 2;
	mkflow(&flows[0], OTHER_FLOW, 7);
	mkflow(&flows[1], FLOW, 5201);
	t = cm_ftable_alloc(4);
	ASSERT_NOT_NULL(t);
	for (i = 0; i < NODES; i++) {
		struct tnode *n = &self->n[i];
		void *shared = cm_ftable(self->base, &self->l, i);

		ASSERT_EQ(2, cm_ftable_compile(flows, 2, chains, i, 4, t));
		cm_ftable_publish(shared, t);
		n->ft = cm_ftable_alloc(4);
		ASSERT_NOT_NULL(n->ft);
		ASSERT_EQ(0, cm_ftable_snapshot(shared, &self->l, i, n->ft));
		ASSERT_EQ(0, cm_dp_init(&n->dp, self->base, &self->l, i,
					&self->pol));
	}
	cm_ftable_free(t);
	/* The first tick: every peer alive; the poll resyncs with it. */
	for (i = 0; i < NODES; i++) {
		EXPECT_TRUE(cm_dp_tick(&self->n[i].dp, &any));
		EXPECT_TRUE(any);
		cm_dp_peer_changes(&self->n[i].dp, &t_ops, NULL);
	}
	for (i = 1; i < NODES; i++)
		ASSERT_TRUE(cm_dp_peer_up(&self->n[0].dp, i));
}

FIXTURE_TEARDOWN(dp)
{
	u32 i;

	for (i = 0; i < NODES; i++) {
		if (!self->n[i].ft)
			continue;
		cm_dp_destroy(&self->n[i].dp);
		cm_ftable_free(self->n[i].ft);
	}
	free(self->base);
}

/* One NAPI poll of node @i. */
static int poll_node(FIXTURE_DATA(dp) *self, u32 i, int budget)
{
	struct cm_dp *dp = &self->n[i].dp;
	const struct cm_ftable *t = self->n[i].ft;
	int done;

	cm_dp_disarm(dp);
	cm_dp_returns(dp, &t_ops, budget);
	if (cm_dp_peer_changes_due(dp))
		cm_dp_peer_changes(dp, &t_ops, NULL);
	done = cm_dp_rx_poll(dp, &t_ops, budget, cm_dp_fenced(dp), &t);
	cm_dp_tx_flush(dp, &t_ops);
	cm_dp_rx_flush(dp, &t_ops);
	return done;
}

/* Poll @i until idle, then arm it as NAPI does on completion. */
static void settle(FIXTURE_DATA(dp) *self, u32 i)
{
	while (poll_node(self, i, 64) == 64)
		;
	while (cm_dp_arm(&self->n[i].dp, false))
		poll_node(self, i, 64);
}

static void settle_all(FIXTURE_DATA(dp) *self)
{
	u32 i, round;

	for (round = 0; round < 4; round++)
		for (i = 0; i < NODES; i++)
			settle(self, i);
}

/* The node whose pool holds @addr, or ~0u. */
static u32 owner_of(const struct cm_layout *l, u64 addr)
{
	u32 owner, idx;

	return cm_buf_check(l, addr, &owner, &idx) ? ~0u : owner;
}

static bool copy_frame(u8 *buf, u32 len, const void *src)
{
	memcpy(buf, src, len);
	return true;
}

/* Node 0's transmit path: classify, send, count; not published yet. */
static enum cm_tx_drop queue0(FIXTURE_DATA(dp) *self, u16 dport, u32 seq)
{
	struct cm_dp *dp = &self->n[0].dp;
	enum cm_tx_drop why;
	u8 frame[FRAME_LEN];
	struct cm_route r;
	struct cm_desc d;

	mkframe(frame, dport, seq);
	why = cm_dp_route(self->n[0].ft, NULL, frame, FRAME_LEN, &r);
	if (!why)
		why = cm_dp_send(dp, &r, FRAME_LEN, copy_frame, frame, &d);
	if (why)
		cm_dp_tx_drop(dp, why);
	else
		cm_dp_tx_sent(dp, &r, FRAME_LEN, false);
	return why;
}

/* One frame, published. */
static enum cm_tx_drop send0(FIXTURE_DATA(dp) *self, u16 dport, u32 seq)
{
	enum cm_tx_drop why = queue0(self, dport, seq);

	cm_dp_tx_flush(&self->n[0].dp, &t_ops);
	return why;
}

/* Write a descriptor into ring 0 -> 1 by hand, as a broken node 0. */
static void forge(FIXTURE_DATA(dp) *self, const struct cm_desc *d)
{
	struct cm_dp *dp = &self->n[0].dp;

	if (cm_ring_prod_space(&dp->peer[1].tx) <= 0)
		return;
	cm_ring_push_desc(&dp->peer[1].tx, d);
	dp->tx_pending |= 1ull << 1;
	cm_dp_tx_flush(dp, &t_ops);
}

TEST_F(dp, delivery_counters_and_buffers_home)
{
	struct cm_dp *d0 = &self->n[0].dp, *d1 = &self->n[1].dp;
	struct cm_dp *d2 = &self->n[2].dp;
	struct chainmesh_node_stats *ns;
	struct chainmesh_flow_stats *fs;
	const u32 total = 3 * BUFS;
	u32 i, sent = 0;

	/* Everyone idle: they asked for doorbells. */
	settle_all(self);
	memset(kicks, 0, sizeof(kicks));
	while (sent < total) {
		for (i = 0; i < 3 && sent < total; i++)
			ASSERT_EQ(CM_TX_DROP_NONE, queue0(self, 5201, sent++));
		EXPECT_EQ(0, kicks[0][1]);	/* nothing published yet */
		cm_dp_tx_flush(d0, &t_ops);
		/* Node 1 was armed: the publish rang it once. */
		EXPECT_EQ(1, kicks[0][1]);
		kicks[0][1] = 0;
		settle_all(self);
	}
	/* Every frame reached node 2 through node 1, in order, intact, with
	 * its place on the chain. */
	EXPECT_EQ(total, self->n[1].got);
	EXPECT_EQ(total, self->n[2].got);
	EXPECT_EQ(total, self->n[2].ended);
	EXPECT_EQ(0, self->n[1].ended);
	for (i = 0; i < total; i++)
		EXPECT_EQ(i, self->n[2].seqs[i]);
	EXPECT_EQ(1, self->n[2].last_from);
	EXPECT_EQ(CHAIN, self->n[2].last.chain);
	EXPECT_EQ(2, self->n[2].last.hop);
	EXPECT_EQ(CHAINMESH_D_CTX, self->n[2].last.flags);
	EXPECT_EQ(FRAME_LEN, self->n[2].last.len);
	/* Node 0's buffer, passed on as it was. */
	EXPECT_EQ(0, owner_of(&self->l, self->n[2].last.addr));

	/* Per peer. */
	EXPECT_EQ(total, d0->peer[1].txc.packets);
	EXPECT_EQ((u64)total * FRAME_LEN, d0->peer[1].txc.bytes);
	EXPECT_EQ(0, d0->peer[2].txc.packets);
	EXPECT_EQ(total, d1->peer[0].rx.packets);
	EXPECT_EQ(total, d1->peer[2].txc.packets);
	EXPECT_EQ(0, d1->peer[2].rx.packets);
	EXPECT_EQ(total, d2->peer[1].rx.packets);
	EXPECT_EQ((u64)total * FRAME_LEN, d2->peer[1].rx.bytes);
	EXPECT_EQ(total, d0->tx_total.packets);
	EXPECT_EQ(total, d2->rx_total.packets);
	/* Per flow: sent by 0, seen by 1 and 2; the other flow untouched. */
	EXPECT_EQ(total, d0->tx_flows[FLOW].packets);
	EXPECT_EQ(total, d1->rx_flows[FLOW].packets);
	EXPECT_EQ(total, d2->rx_flows[FLOW].packets);
	EXPECT_EQ((u64)total * FRAME_LEN, d2->rx_flows[FLOW].bytes);
	EXPECT_EQ(0, d1->rx_flows[OTHER_FLOW].packets);
	EXPECT_EQ(0, d0->tx_flows[OTHER_FLOW].packets);

	/* The tick publishes them for the host. */
	cm_dp_stats_publish(d1);
	ns = cm_stats(self->base, &self->l, 1);
	fs = cm_flow_stats(self->base, &self->l, 1);
	EXPECT_EQ(total, le64_to_cpu(ns->rx_packets));
	EXPECT_EQ(total, le64_to_cpu(ns->tx_packets));
	EXPECT_EQ(0, le64_to_cpu(ns->bad_desc));
	EXPECT_EQ(0, le64_to_cpu(ns->drops));
	EXPECT_EQ(total, le64_to_cpu(fs[FLOW].packets));

	/* Every buffer home: node 0's pool full, nobody holds any. */
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
	EXPECT_EQ(0, cm_pool_held(&d0->pool, 1));
	EXPECT_EQ(BUFS, cm_pool_count(&d1->pool));
	EXPECT_EQ(BUFS, cm_pool_count(&d2->pool));
	for (i = 0; i < NODES; i++) {
		u32 j;

		for (j = 0; j < __CM_BAD_MAX; j++)
			EXPECT_EQ(0, self->n[i].dp.rx_bad[j]) TH_LOG("node %u reason %u", i, j);
		for (j = 0; j < __CM_TX_DROP_MAX; j++)
			EXPECT_EQ(0, self->n[i].dp.tx_drops[j]);
		for (j = 0; j < __CM_RX_DROP_MAX; j++)
			EXPECT_EQ(0, self->n[i].dp.rx_drops[j]);
	}
	/* Node 2 rang node 0 for its returns; none rang while polling. */
	EXPECT_GE(kicks[2][0], 1);
}

TEST_F(dp, no_kick_while_polling)
{
	settle_all(self);
	cm_dp_disarm(&self->n[1].dp);	/* node 1 is polling */
	memset(kicks, 0, sizeof(kicks));
	ASSERT_EQ(CM_TX_DROP_NONE, send0(self, 5201, 0));
	EXPECT_EQ(0, kicks[0][1]);
	/* It goes idle: the frame that slipped in is seen ([K2]). */
	EXPECT_TRUE(cm_dp_arm(&self->n[1].dp, false));
	settle_all(self);
	EXPECT_EQ(1, self->n[2].ended);
}

TEST_F(dp, quota_and_hoarder)
{
	struct cm_dp *d0 = &self->n[0].dp;
	u32 share = BUFS * 50 / 100, i;

	settle_all(self);
	self->n[1].hold = true;		/* node 1 keeps what it is sent */
	for (i = 0; i < share; i++) {
		ASSERT_TRUE(cm_dp_tx_room(d0, 1));
		ASSERT_EQ(CM_TX_DROP_NONE, send0(self, 5201, i));
		settle_all(self);
	}
	EXPECT_EQ(share, self->n[1].nkeep);
	EXPECT_EQ(share, cm_pool_held(&d0->pool, 1));
	/* It holds its share: no room for it (backpressure), though the
	 * pool and the ring have some; a frame sent anyway is dropped. */
	EXPECT_EQ(BUFS - share, cm_pool_count(&d0->pool));
	EXPECT_FALSE(cm_dp_tx_room(d0, 1));
	EXPECT_EQ(CM_TX_DROP_QUOTA, send0(self, 5201, 99));
	EXPECT_EQ(1, d0->tx_drops[CM_TX_DROP_QUOTA]);
	EXPECT_EQ(share, cm_pool_held(&d0->pool, 1));
	EXPECT_EQ(BUFS - share, cm_pool_count(&d0->pool));

	/* Nothing back from it for CM_HOARD_MS: a hoarder. Its frames go on
	 * to be dropped rather than stopping node 0's queue. */
	WRITE_ONCE(d0->peer[1].hop_ok, jiffies - CM_HOARD_MS - 1000);
	EXPECT_TRUE(cm_dp_tx_room(d0, 1));
	EXPECT_EQ(CM_TX_DROP_QUOTA, send0(self, 5201, 100));
	EXPECT_EQ(2, d0->tx_drops[CM_TX_DROP_QUOTA]);

	/* It gives them back: node 0 may send to it again, pool full. */
	for (i = 0; i < self->n[1].nkeep; i++)
		cm_dp_give_back(&self->n[1].dp, &t_ops, self->n[1].keep[i].from,
				self->n[1].keep[i].owner, self->n[1].keep[i].idx,
				self->n[1].keep[i].addr);
	self->n[1].nkeep = 0;
	self->n[1].hold = false;
	cm_dp_rx_flush(&self->n[1].dp, &t_ops);
	settle_all(self);
	EXPECT_EQ(0, cm_pool_held(&d0->pool, 1));
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
	cm_dp_quota_tick(d0);
	EXPECT_TRUE(cm_dp_tx_room(d0, 1));
	EXPECT_EQ(CM_TX_DROP_NONE, send0(self, 5201, 101));
	settle_all(self);
	EXPECT_EQ(1, self->n[2].ended);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
}

TEST_F(dp, bad_descriptors_per_reason)
{
	struct cm_dp *d0 = &self->n[0].dp, *d1 = &self->n[1].dp;
	struct cm_desc d = {
		.data_off = CHAINMESH_HEADROOM, .len = FRAME_LEN,
	};
	u8 frame[FRAME_LEN];
	u32 idx;

	self->pol.bad_limit = 0;	/* count only */
	settle_all(self);

	d.addr = 8;					/* no pool's */
	forge(self, &d);
	d.addr = cm_buf_addr(&self->l, 0, 1) + 64;	/* inside one */
	forge(self, &d);
	settle_all(self);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_ADDR]);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_ALIGN]);
	EXPECT_EQ(2, d1->peer[0].bad);
	EXPECT_EQ(0, d1->peer[2].bad);
	EXPECT_EQ(0, self->n[1].got);

	/* A real buffer of node 0's, past its end: refused, sent home. */
	ASSERT_TRUE(cm_pool_peek(&d0->pool, &idx));
	cm_pool_take_to(&d0->pool, idx, 1);
	mkframe(frame, 5201, 0);
	memcpy((u8 *)self->base + cm_buf_addr(&self->l, 0, idx) +
	       CHAINMESH_HEADROOM, frame, FRAME_LEN);
	d.addr = cm_buf_addr(&self->l, 0, idx);
	d.len = (u16)(self->l.p.buf_size - CHAINMESH_HEADROOM + 1);
	forge(self, &d);
	EXPECT_EQ(BUFS - 1, cm_pool_count(&d0->pool));
	settle_all(self);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_LEN]);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
	EXPECT_EQ(0, cm_pool_held(&d0->pool, 1));

	/* A context naming a chain node 1 is not on: refused, sent home. */
	ASSERT_TRUE(cm_pool_peek(&d0->pool, &idx));
	cm_pool_take_to(&d0->pool, idx, 1);
	d.addr = cm_buf_addr(&self->l, 0, idx);
	d.len = FRAME_LEN;
	cm_desc_set_ctx(&d, 7, 1);
	forge(self, &d);
	settle_all(self);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_CHAIN]);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));

	/* Returning a buffer node 0 never lent: refused by node 0. */
	cm_ring_push_addr(&d1->peer[0].back, cm_buf_addr(&self->l, 0, 3));
	d1->back_pending |= 1ull << 0;
	cm_dp_rx_flush(d1, &t_ops);
	settle_all(self);
	EXPECT_EQ(1, d0->rx_bad[CM_BAD_RETURN]);
	EXPECT_EQ(1, d0->peer[1].bad);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));

	EXPECT_EQ(4, d1->peer[0].bad);
	EXPECT_EQ(0, d1->rx_bad[CM_BAD_OWNER]);
	EXPECT_EQ(0, d1->rx_bad[CM_BAD_INDEX]);
	EXPECT_EQ(0, self->n[1].got);
	EXPECT_EQ(0, self->n[1].judged);
	EXPECT_FALSE(cm_peers_cut(&d1->peers, 0));
	/* The node's count for the host. */
	cm_dp_stats_publish(d1);
	EXPECT_EQ(4, le64_to_cpu(cm_stats(self->base, &self->l, 1)->bad_desc));

	/* Good frames still go through. */
	EXPECT_EQ(CM_TX_DROP_NONE, send0(self, 5201, 7));
	settle_all(self);
	EXPECT_EQ(1, self->n[2].ended);
}

TEST_F(dp, judged_broken_after_bad_limit)
{
	struct cm_dp *d1 = &self->n[1].dp;
	struct cm_desc d = {
		.data_off = CHAINMESH_HEADROOM, .len = FRAME_LEN,
	};
	bool any;
	u32 i;

	settle_all(self);
	d.addr = cm_buf_addr(&self->l, 0, 0) + 1;	/* misaligned */
	for (i = 0; i < LIMIT - 1; i++)
		forge(self, &d);
	settle_all(self);
	EXPECT_EQ(LIMIT - 1, d1->rx_bad[CM_BAD_ALIGN]);
	EXPECT_EQ(0, self->n[1].judged);
	EXPECT_FALSE(cm_peers_cut(&d1->peers, 0));

	forge(self, &d);		/* the bad_limit-th */
	settle_all(self);
	EXPECT_EQ(LIMIT, d1->rx_bad[CM_BAD_ALIGN]);
	EXPECT_EQ(1, self->n[1].judged);
	EXPECT_EQ(0, self->n[1].judged_peer);
	EXPECT_EQ(1, d1->peers.broken[0]);
	EXPECT_TRUE(cm_peers_cut(&d1->peers, 0));
	/* Nothing more is sent to it... */
	EXPECT_FALSE(cm_dp_peer_up(d1, 0));
	EXPECT_TRUE(cm_dp_peer_up(d1, 2));
	/* ...nor read from it, and no doorbell is asked of it. */
	forge(self, &d);
	forge(self, &d);
	settle_all(self);
	EXPECT_EQ(LIMIT, d1->rx_bad[CM_BAD_ALIGN]);
	EXPECT_EQ(LIMIT, d1->peer[0].bad);
	EXPECT_EQ(0, le32_to_cpu(d1->peer[0].data.hdr->want_kick));
	EXPECT_EQ(1, self->n[1].judged);

	/* The tick tells the host: node 1 blames node 0 and only it. */
	cm_dp_tick(d1, &any);
	EXPECT_EQ(1ull << 0, le64_to_cpu(cm_node(self->base, &self->l, 1)->blame));
	EXPECT_EQ(0, le64_to_cpu(cm_node(self->base, &self->l, 2)->blame));
}

/* Node 0, broken, writes garbage returns into its return ring to node 1
 * (node 1's buffers going home) as far as there is room, and publishes
 * them without a doorbell. Return: entries written. */
static u32 ret_flood(FIXTURE_DATA(dp) *self)
{
	struct cm_ring_prod *b = &self->n[0].dp.peer[1].back;
	u32 n = 0;

	/* The consumer's tail, as a producer that never waits reads it. */
	b->tail_cache = le32_to_cpu(b->hdr->tail);
	while (cm_ring_prod_space(b) > 0) {
		cm_ring_push_addr(b, 8 + n);	/* no pool's */
		n++;
	}
	cm_ring_publish(b);
	return n;
}

/*
 * Hole 4: a peer's returns are bounded per poll (CM_RET_PER_BUDGET per
 * unit of budget), and a cut peer that keeps refilling its return ring
 * with garbage costs its victim nothing: not drained, not armed, so no
 * reason to poll again. The flood lands between the victim's drain and
 * its re-arm each time, the schedule that keeps NAPI polling for ever
 * when the ring is drained and armed (it did before the fix: cm_dp_arm()
 * said "more" on every one of the 100 completions).
 */
TEST_F(dp, cut_peer_return_flood_costs_nothing)
{
	struct cm_dp *d1 = &self->n[1].dp;
	struct cm_desc d = {
		.data_off = CHAINMESH_HEADROOM, .len = FRAME_LEN,
	};
	u32 i, repolls = 0, bad, sent;

	self->pol.bad_limit = 0;	/* count only, for the cap */
	settle_all(self);
	/* A flood of one ring's worth: a poll of budget 1 takes 4. */
	sent = ret_flood(self);
	ASSERT_EQ(self->l.ret_slots, sent);
	cm_dp_disarm(d1);
	EXPECT_TRUE(cm_dp_returns(d1, &t_ops, 1));
	EXPECT_EQ(CM_RET_PER_BUDGET, d1->peer[0].bad);
	EXPECT_FALSE(cm_dp_returns(d1, &t_ops, 64));
	EXPECT_EQ(sent, d1->peer[0].bad);

	/* Node 1 judges node 0 broken. */
	self->pol.bad_limit = LIMIT;
	d.addr = cm_buf_addr(&self->l, 0, 0) + 1;	/* misaligned */
	for (i = 0; i < LIMIT; i++)
		forge(self, &d);
	settle_all(self);
	ASSERT_TRUE(cm_peers_cut(&d1->peers, 0));
	bad = d1->peer[0].bad;

	/* 100 NAPI completions, each with the ring refilled between the
	 * poll's drain and the re-arm. */
	for (i = 0; i < 100; i++) {
		ret_flood(self);
		poll_node(self, 1, 64);
		ret_flood(self);
		if (cm_dp_arm(d1, false))
			repolls++;
	}
	EXPECT_EQ(0, repolls);
	/* Nothing of it read, and no doorbell asked of node 0. */
	EXPECT_EQ(bad, d1->peer[0].bad);
	EXPECT_EQ(0, le32_to_cpu(d1->peer[0].ret.hdr->want_kick));
	EXPECT_EQ(0, le32_to_cpu(d1->peer[0].data.hdr->want_kick));
	/* Node 1 still sends to node 2, and its pool is whole. */
	EXPECT_TRUE(cm_dp_peer_up(d1, 2));
	EXPECT_EQ(BUFS, cm_pool_count(&d1->pool));
}

/* Every node's tick, then its polls, for @ms milliseconds of real time
 * (the userspace jiffies are milliseconds). */
static void run_for(FIXTURE_DATA(dp) *self, u32 ms)
{
	u64 end = cm_jiffies() + ms;
	bool any;
	u32 i;

	while (cm_jiffies() < end) {
		for (i = 0; i < NODES; i++)
			cm_dp_tick(&self->n[i].dp, &any);
		settle_all(self);
		usleep(20000);
	}
}

/* Node @i's pool, all home. */
static bool pool_home(FIXTURE_DATA(dp) *self, u32 i)
{
	return cm_pool_count(&self->n[i].dp.pool) == BUFS;
}

/* A judgment expires (CM_JUDGE_MIN_MS), and the next one within
 * CM_JUDGE_FORGET_MS lasts twice as long: a framed node is not cut for
 * good, one that keeps misbehaving is cut longer each time. */
TEST_F(dp, judgment_expires_with_backoff)
{
	struct cm_dp *d1 = &self->n[1].dp;
	struct cm_desc d = {
		.data_off = CHAINMESH_HEADROOM, .len = FRAME_LEN,
	};
	u32 i;

	settle_all(self);
	d.addr = cm_buf_addr(&self->l, 0, 0) + 1;	/* misaligned */
	for (i = 0; i < LIMIT; i++)
		forge(self, &d);
	settle_all(self);
	ASSERT_EQ(1, self->n[1].judged);
	EXPECT_EQ(CM_JUDGE_MIN_MS, d1->peers.judge[0].cut_ms);
	run_for(self, CM_JUDGE_MIN_MS / 2);
	/* (unless a loaded machine made that run past the end) */
	if (cm_jiffies() + 100 < d1->peers.judge[0].until) {
		EXPECT_TRUE(cm_peers_cut(&d1->peers, 0));
		EXPECT_FALSE(cm_dp_peer_up(d1, 0));
	}
	run_for(self, CM_JUDGE_MIN_MS / 2 + 300);
	EXPECT_FALSE(cm_peers_cut(&d1->peers, 0));
	EXPECT_TRUE(cm_dp_peer_up(d1, 0));
	/* The blame word clears after CM_BLAME_HOLD ticks. */
	EXPECT_EQ(0, le64_to_cpu(cm_node(self->base, &self->l, 1)->blame));
	/* Traffic flows again: node 0 -> 1 -> 2. */
	EXPECT_EQ(CM_TX_DROP_NONE, send0(self, 5201, 77));
	settle_all(self);
	EXPECT_EQ(77, self->n[2].seqs[self->n[2].nseq - 1]);

	/* Judged again at once: twice as long. */
	for (i = 0; i < LIMIT; i++)
		forge(self, &d);
	settle_all(self);
	EXPECT_EQ(2, self->n[1].judged);
	EXPECT_EQ(2 * CM_JUDGE_MIN_MS, d1->peers.judge[0].cut_ms);
	run_for(self, CM_JUDGE_MIN_MS + 200);
	if (cm_jiffies() + 100 < d1->peers.judge[0].until)
		EXPECT_TRUE(cm_peers_cut(&d1->peers, 0));
	run_for(self, CM_JUDGE_MIN_MS);
	EXPECT_FALSE(cm_peers_cut(&d1->peers, 0));
	for (i = 0; i < NODES; i++)
		EXPECT_TRUE(pool_home(self, i));
}

/*
 * Indices that disagree for good, as a burst of foreign writes leaves
 * them: node 1 read stale slots of ring 0 -> 1 under a plausible head a
 * third party wrote, so its tail is ahead of node 0's head. Node 0 can
 * send it nothing (its tail is insane), re-asserting changes nothing:
 * the pair's rings are reset by agreement within CM_RESET_AFTER_MS and
 * a few ticks, traffic flows again and every buffer is home.
 */
TEST_F(dp, pair_reset_after_desync)
{
	struct cm_dp *d0 = &self->n[0].dp, *d1 = &self->n[1].dp;
	struct cm_ring_cons *c = &d1->peer[0].data;
	u32 i, got;

	EXPECT_EQ(CM_TX_DROP_NONE, send0(self, 5201, 1));
	settle_all(self);
	ASSERT_EQ(1, self->n[2].nseq);
	c->tail += 5;
	c->head_cache = c->tail;
	cm_ring_release(c);
	/* Node 0 still thinks it has room; node 1 refuses what it sees. */
	EXPECT_EQ(CM_TX_DROP_NONE, send0(self, 5201, 2));
	settle_all(self);
	EXPECT_EQ(1, self->n[2].nseq);
	EXPECT_LE(1, d1->rx_bad[CM_BAD_INDEX]);
	/* Re-assertion alone does not help: both sides write what they
	 * believe. */
	run_for(self, CM_REASSERT_MS + 100);
	EXPECT_EQ(0, d0->peer[1].resets);
	/* Counted once for the spell, not per poll: node 0 is not judged
	 * before the reset can start (a burst once cut it in a second). */
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_INDEX]);
	EXPECT_FALSE(cm_peers_cut(&d1->peers, 0));
	run_for(self, CM_RESET_AFTER_MS + CM_REASSERT_MS + 300);
	EXPECT_EQ(1, d0->peer[1].resets);
	EXPECT_EQ(1, d1->peer[0].resets);
	EXPECT_FALSE(d0->peer[1].resetting);
	EXPECT_FALSE(d1->peer[0].resetting);
	EXPECT_EQ(0, le32_to_cpu(d0->peer[1].tx.hdr->head));
	/* Node 1 may have judged node 0 for the insane head meanwhile: that
	 * expires too. */
	run_for(self, CM_JUDGE_MAX_MS / 4 + 200);
	got = self->n[2].nseq;
	for (i = 0; i < 4; i++)
		EXPECT_EQ(CM_TX_DROP_NONE, send0(self, 5201, 10 + i));
	settle_all(self);
	EXPECT_EQ(got + 4, self->n[2].nseq);
	EXPECT_EQ(13, self->n[2].seqs[self->n[2].nseq - 1]);
	for (i = 0; i < NODES; i++)
		EXPECT_TRUE(pool_home(self, i));
	/* The pair 1 -> 2 was never touched. */
	EXPECT_EQ(0, d1->peer[2].resets);
}

/*
 * The fence follows the host's verdict on this life only: a verdict on
 * the last one (the host has not seen the new epoch yet) is not ours,
 * and a life the host called up then broken between two of our looks
 * still fences (it once waited, for good, for an up it had missed). The
 * fence starts the node's data rings where their producers are, even a
 * head a burst left insane, as a new life does.
 */
TEST_F(dp, fence_this_life_only)
{
	struct cm_dp *d1 = &self->n[1].dp;
	struct chainmesh_node *e = cm_node(self->base, &self->l, 1);
	struct cm_ring_cons *c = &d1->peer[0].data;

	cm_node_set_verdict(e, CHAINMESH_NODE_UP, 1);
	EXPECT_FALSE(cm_dp_fenced(d1));
	cm_node_set_verdict(e, CHAINMESH_NODE_BROKEN, 1);
	EXPECT_TRUE(cm_dp_fenced(d1));
	/* Rejoined as epoch 2: the verdict is on epoch 1. */
	e->epoch = cpu_to_le32(2);
	EXPECT_FALSE(cm_dp_fenced(d1));
	cm_node_set_verdict(e, CHAINMESH_NODE_UP, 2);
	cm_node_set_verdict(e, CHAINMESH_NODE_BROKEN, 2);
	EXPECT_TRUE(cm_dp_fenced(d1));
	/* A peer that forges the epoch of the verdict is rewritten. */
	e->verdict_epoch = cpu_to_le32(7);
	EXPECT_FALSE(cm_dp_fenced(d1));
	cm_node_set_verdict(e, CHAINMESH_NODE_BROKEN, 2);
	EXPECT_TRUE(cm_dp_fenced(d1));

	c->hdr->head = cpu_to_le32(c->tail + 5 * SLOTS);
	EXPECT_GT(0, cm_ring_cons_avail(c));
	cm_dp_fence_rings(d1);
	EXPECT_EQ(0, cm_ring_cons_avail(c));
	EXPECT_EQ(c->tail, le32_to_cpu(c->hdr->tail));
	EXPECT_EQ(le32_to_cpu(c->hdr->head), c->tail);
}

/*
 * A peer that sends bad chain context while it bumps our table's seq
 * (the region is writable: the table stays the same and is taken again)
 * more often than CM_CHAIN_GRACE_MS: each new seq once restarted the
 * grace, so the bad context never counted and the peer was never judged.
 * Now a grace opens at most once per CM_CHAIN_GRACE_GAP_MS.
 */
TEST_F(dp, bad_chain_grace_not_renewed)
{
	struct cm_dp *d0 = &self->n[0].dp;
	struct cm_desc d = {
		.data_off = CHAINMESH_HEADROOM, .len = FRAME_LEN,
		.chain = 200, .hop = 1, .flags = CHAINMESH_D_CTX,
	};
	u64 end = cm_jiffies() + 3 * CM_CHAIN_GRACE_MS;
	u32 i, idx;

	settle_all(self);
	while (cm_jiffies() < end && !self->n[1].judged) {
		self->n[1].ft->seq += 2;
		for (i = 0; i < LIMIT; i++) {
			/* A real buffer of node 0's, out with node 1. */
			ASSERT_TRUE(cm_pool_peek(&d0->pool, &idx));
			cm_pool_take_to(&d0->pool, idx, 1);
			d.addr = cm_buf_addr(&self->l, 0, idx);
			forge(self, &d);
		}
		settle_all(self);
		usleep(200000);
	}
	EXPECT_LE(LIMIT, self->n[1].dp.rx_bad[CM_BAD_CHAIN]);
	EXPECT_EQ(1, self->n[1].judged);
	EXPECT_EQ(0, self->n[1].judged_peer);
}

static bool copy_big(u8 *buf, u32 off, u32 len, const void *src)
{
	memcpy(buf, (const u8 *)src + off, len);
	return true;
}

/* Node 0 sends a BIG_LEN frame (flow FLOW) with a checksum to finish. */
static enum cm_tx_drop send_big(FIXTURE_DATA(dp) *self)
{
	struct chainmesh_offload oh = {
		.flags = CHAINMESH_OFF_NEEDS_CSUM,
		.gso_type = CHAINMESH_GSO_TCPV4,
		.gso_size = cpu_to_le16(1448),
		.csum_start = cpu_to_le16(34),
		.csum_offset = cpu_to_le16(16),
	};
	struct cm_dp *dp = &self->n[0].dp;
	static u8 frame[BIG_LEN];
	enum cm_tx_drop why;
	struct cm_route r;
	u32 i;

	mkframe(frame, 5201, 0);
	for (i = 42; i < BIG_LEN; i++)
		frame[i] = big_byte(i);
	why = cm_dp_route(self->n[0].ft, NULL, frame, CM_PARSE_LEN, &r);
	if (!why)
		why = cm_dp_send_frame(dp, &r, BIG_LEN, &oh, copy_big, frame);
	cm_dp_tx_flush(dp, &t_ops);
	return why;
}

TEST_F(dp, frame_of_several_buffers)
{
	struct cm_dp *d0 = &self->n[0].dp, *d1 = &self->n[1].dp;

	settle_all(self);
	cm_dp_set_features(d1, CHAINMESH_NF_OFFLOAD);
	EXPECT_TRUE(cm_dp_peer_offload(d0, 1));
	EXPECT_FALSE(cm_dp_peer_offload(d0, 2));
	EXPECT_EQ(2, cm_dp_frame_bufs(d0, BIG_LEN));

	EXPECT_EQ(CM_TX_DROP_NONE, send_big(self));
	EXPECT_EQ(BUFS - 2, cm_pool_count(&d0->pool));
	EXPECT_EQ(2, cm_pool_held(&d0->pool, 1));
	settle_all(self);
	EXPECT_EQ(1, self->n[1].frames);
	EXPECT_EQ(2, self->n[1].frame_bufs);
	EXPECT_EQ(BIG_LEN, self->n[1].frame_len);
	EXPECT_TRUE(self->n[1].frame_same);
	EXPECT_EQ(CHAINMESH_GSO_TCPV4, self->n[1].frame_oh.gso_type);
	EXPECT_EQ(1448, le16_to_cpu(self->n[1].frame_oh.gso_size));
	EXPECT_EQ(1, d1->rx_frames);
	EXPECT_EQ(0, self->n[1].got);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
	EXPECT_EQ(0, cm_pool_held(&d0->pool, 1));
	EXPECT_EQ(BIG_LEN, d0->peer[1].txc.bytes);

	/* A node that takes no offloads (any more): dropped, not blamed,
	 * every buffer home. */
	cm_dp_set_features(d1, 0);
	EXPECT_EQ(CM_TX_DROP_NONE, send_big(self));
	settle_all(self);
	EXPECT_EQ(1, self->n[1].frames);
	EXPECT_EQ(1, d1->rx_drops[CM_RX_DROP_OFFLOAD]);
	EXPECT_EQ(0, d1->peer[0].bad);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));

	/* Larger than the peer's share of our pool: never one frame. */
	self->pol.peer_share = 10;
	cm_dp_quota_tick(d0);
	EXPECT_FALSE(cm_dp_frame_fits(d0, 2));
	EXPECT_EQ(CM_TX_DROP_LEN, send_big(self));
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
}

/* The producer's cached tail leaves one slot free, the real one many: a
 * two-buffer frame still goes (cm_ring_prod_space_for()). */
TEST_F(dp, frame_needs_fresh_tail)
{
	struct cm_dp *d0 = &self->n[0].dp, *d1 = &self->n[1].dp;
	u32 i;

	settle_all(self);
	cm_dp_set_features(d1, CHAINMESH_NF_OFFLOAD);
	for (i = 0; i < (SLOTS - 2) / 2; i++) {
		ASSERT_EQ(CM_TX_DROP_NONE, send_big(self));
		settle_all(self);
	}
	ASSERT_EQ(CM_TX_DROP_NONE, send0(self, 5201, 1));
	settle_all(self);
	EXPECT_EQ(1, cm_ring_prod_space(&d0->peer[1].tx));
	EXPECT_TRUE(cm_dp_tx_room_n(d0, 1, 2));
	EXPECT_EQ(CM_TX_DROP_NONE, send_big(self));
	settle_all(self);
	EXPECT_EQ((SLOTS - 2) / 2 + 1, self->n[1].frames);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
}

/* A descriptor of a buffer of @owner's, taken out to node 1, holding a
 * frame's headers. */
static struct cm_desc big_desc(FIXTURE_DATA(dp) *self, u32 owner, u32 len,
			       u8 flags)
{
	struct cm_dp *dp = &self->n[owner].dp;
	struct cm_desc d = {
		.data_off = CHAINMESH_HEADROOM, .len = (u16)len,
		.flags = flags,
	};
	u8 frame[FRAME_LEN];
	u32 idx;

	if (!cm_pool_peek(&dp->pool, &idx))
		return d;
	cm_pool_take_to(&dp->pool, idx, 1);
	d.addr = cm_buf_addr(&self->l, owner, idx);
	mkframe(frame, 5201, 0);
	memcpy((u8 *)self->base + d.addr + CHAINMESH_HEADROOM, frame,
	       FRAME_LEN);
	return d;
}

/* Forge descriptors into ring 0 -> 1, published at once. */
static void forge_n(FIXTURE_DATA(dp) *self, const struct cm_desc *d, u32 n)
{
	struct cm_dp *dp = &self->n[0].dp;
	u32 i;

	for (i = 0; i < n; i++)
		cm_ring_push_desc(&dp->peer[1].tx, &d[i]);
	dp->tx_pending |= 1ull << 1;
	cm_dp_tx_flush(dp, &t_ops);
}

TEST_F(dp, corrupted_frames_refused_per_reason)
{
	struct cm_dp *d0 = &self->n[0].dp, *d1 = &self->n[1].dp;
	struct cm_dp *d2 = &self->n[2].dp;
	struct chainmesh_offload *oh;
	struct cm_desc d[3];

	self->pol.bad_limit = 0;	/* count only */
	settle_all(self);
	cm_dp_set_features(d1, CHAINMESH_NF_OFFLOAD);

	/* One buffer twice: refused, the buffer home once. */
	d[0] = big_desc(self, 0, 1000, CHAINMESH_D_MORE);
	d[1] = d[0];
	d[1].flags = 0;
	forge_n(self, d, 2);
	settle_all(self);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_FRAME_LOOP]);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
	EXPECT_EQ(0, d0->rx_bad[CM_BAD_RETURN]);

	/* Buffers of two owners: refused, each home to its own. */
	d[0] = big_desc(self, 0, 1000, CHAINMESH_D_MORE);
	d[1] = big_desc(self, 2, 1000, 0);
	forge_n(self, d, 2);
	settle_all(self);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_FRAME_OWNER]);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
	EXPECT_EQ(BUFS, cm_pool_count(&d2->pool));

	/* More bytes than a frame may have: refused. */
	d[0] = big_desc(self, 0, 40000, CHAINMESH_D_MORE);
	d[1] = big_desc(self, 0, 40000, 0);
	forge_n(self, d, 2);
	settle_all(self);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_FRAME_LEN]);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));

	/* A continuation with flags of a first descriptor: refused. */
	d[0] = big_desc(self, 0, 1000, CHAINMESH_D_MORE);
	d[1] = big_desc(self, 0, 1000, CHAINMESH_D_OFFLOAD);
	forge_n(self, d, 2);
	settle_all(self);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_OFFLOAD]);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));

	/* An offload header with a checksum outside the frame. */
	d[0] = big_desc(self, 0, 1000, CHAINMESH_D_OFFLOAD);
	oh = (struct chainmesh_offload *)((u8 *)self->base + d[0].addr);
	memset(oh, 0, sizeof(*oh));
	oh->flags = CHAINMESH_OFF_NEEDS_CSUM;
	oh->csum_start = cpu_to_le16(990);
	oh->csum_offset = cpu_to_le16(16);
	forge_n(self, d, 1);
	settle_all(self);
	EXPECT_EQ(2, d1->rx_bad[CM_BAD_OFFLOAD]);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));

	/* A chain the producer's head cuts off: refused. */
	d[0] = big_desc(self, 0, 1000, CHAINMESH_D_MORE);
	forge_n(self, d, 1);
	settle_all(self);
	EXPECT_EQ(1, d1->rx_bad[CM_BAD_FRAME_CUT]);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));

	EXPECT_EQ(0, self->n[1].frames);
	EXPECT_EQ(6, d1->peer[0].bad);
	/* Every one of them blames: with a limit, the peer is judged. */
	EXPECT_TRUE(cm_bad_blames(CM_BAD_FRAME_CUT));
	EXPECT_TRUE(cm_bad_blames(CM_BAD_OFFLOAD));

	/* Good frames still go through, whole. */
	EXPECT_EQ(CM_TX_DROP_NONE, send_big(self));
	settle_all(self);
	EXPECT_EQ(1, self->n[1].frames);
	EXPECT_TRUE(self->n[1].frame_same);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
}

TEST_F(dp, held_frame_reclaimed_when_holder_dies)
{
	struct cm_dp *d0 = &self->n[0].dp, *d1 = &self->n[1].dp;
	struct chainmesh_node *e = cm_node(self->base, &self->l, 1);
	bool any;

	settle_all(self);
	cm_dp_set_features(d1, CHAINMESH_NF_OFFLOAD);
	self->n[1].hold = true;
	EXPECT_EQ(CM_TX_DROP_NONE, send_big(self));
	settle_all(self);
	EXPECT_EQ(1, self->n[1].frames);
	EXPECT_EQ(2, self->n[1].nkeep);
	EXPECT_EQ(BUFS - 2, cm_pool_count(&d0->pool));

	/* Node 1 dies holding both buffers: node 0 takes back each. */
	e->state = cpu_to_le32(CHAINMESH_NODE_ABSENT);
	cm_dp_tick(d0, &any);
	settle(self, 0);
	EXPECT_EQ(2, d0->reclaimed);
	EXPECT_EQ(BUFS, cm_pool_count(&d0->pool));
	EXPECT_EQ(0, cm_pool_held(&d0->pool, 1));
}

/*
 * A mesh of two nodes and two queues, each node a struct cm_dp per lane:
 * a frame sent on lane 1 uses a buffer of slice 1, arrives on lane 1 only
 * and goes home on lane 1; a lane that is handed a buffer of another
 * lane refuses it (a buffer outside its pools) and counts it; the node's
 * published counters are its lanes' summed.
 */
TEST(lanes)
{
	struct cm_layout_params lp = {
		.nodes = 2, .ring_slots = SLOTS, .buf_size = 2048,
		.bufs_per_node = 2 * BUFS, .max_flows = 4, .queues = 2,
	};
	struct cm_policy pol = { LIMIT, 60000, 50 };
	struct tnode *n = calloc(4, sizeof(*n));	/* [node * 2 + lane] */
	struct cm_dp *a0 = &n[0].dp, *a1 = &n[1].dp, *b0 = &n[2].dp,
		     *b1 = &n[3].dp, *lanes[2];
	const struct cm_ftable *t;
	struct cm_ftable *ft;
	struct cm_route r = { .peer = 1, .chain = CM_ROUTE_NO_CTX, .flow = -1 };
	struct cm_layout l;
	struct cm_desc d;
	u8 frame[FRAME_LEN];
	u32 i, owner, idx;
	void *base;
	bool any;

	ASSERT_NOT_NULL(n);
	ASSERT_EQ(0, cm_layout_compute(&lp, ~0ull, &l));
	base = aligned_alloc(CHAINMESH_PAGE_SIZE, cm_align(l.size, CHAINMESH_PAGE_SIZE));
	ASSERT_NOT_NULL(base);
	memset(base, 0, l.size);
	for (i = 0; i < 2; i++) {
		struct chainmesh_node *e = cm_node(base, &l, i);

		cm_node_mac(MESH_ID, i, e->mac);
		e->epoch = cpu_to_le32(1);
		e->state = cpu_to_le32(CHAINMESH_NODE_UP);
		e->host_state = cpu_to_le32(CHAINMESH_NODE_UP);
	}
	ft = cm_ftable_alloc(4);	/* no flow: every frame ends its journey */
	ASSERT_NOT_NULL(ft);
	t = ft;
	for (i = 0; i < 4; i++) {
		n[i].ft = ft;
		ASSERT_EQ(0, cm_dp_init_lane(&n[i].dp, base, &l, i % 2, i / 2, &pol));
		EXPECT_EQ(BUFS, n[i].dp.pool.nbufs);
	}
	for (i = 0; i < 4; i++) {
		EXPECT_TRUE(cm_dp_tick(&n[i].dp, &any));
		cm_dp_peer_changes(&n[i].dp, &t_ops, NULL);
	}

	/* Lane 1 of node 0 sends: a buffer of slice 1, on queue 1's ring. */
	mkframe(frame, 9, 7);
	ASSERT_EQ(CM_TX_DROP_NONE, cm_dp_send(a1, &r, FRAME_LEN, copy_frame, frame, &d));
	cm_dp_tx_flush(a1, &t_ops);
	ASSERT_EQ(CM_BAD_NONE, cm_buf_check(&l, d.addr, &owner, &idx));
	EXPECT_EQ(0, owner);
	EXPECT_EQ(1, cm_buf_lane(&l, idx));
	EXPECT_EQ(0, cm_dp_rx_poll(b0, &t_ops, 64, false, &t));
	EXPECT_EQ(1, cm_dp_rx_poll(b1, &t_ops, 64, false, &t));
	cm_dp_rx_flush(b1, &t_ops);
	EXPECT_EQ(0, n[2].got);
	EXPECT_EQ(1, n[3].got);
	EXPECT_EQ(1, n[3].ended);
	/* Home on lane 1's return ring. */
	EXPECT_EQ(BUFS - 1, cm_pool_count(&a1->pool));
	cm_dp_returns(a0, &t_ops, 64);
	EXPECT_EQ(BUFS - 1, cm_pool_count(&a1->pool));
	cm_dp_returns(a1, &t_ops, 64);
	EXPECT_EQ(BUFS, cm_pool_count(&a1->pool));

	/* A lane-1 buffer on queue 0's ring is not lane 0's to take. */
	memset(&d, 0, sizeof(d));
	d.addr = cm_buf_addr(&l, 0, BUFS);	/* slice 1's first */
	d.data_off = CHAINMESH_HEADROOM;
	d.len = FRAME_LEN;
	cm_ring_push_desc(&a0->peer[1].tx, &d);
	cm_ring_publish(&a0->peer[1].tx);
	EXPECT_EQ(1, cm_dp_rx_poll(b0, &t_ops, 64, false, &t));
	EXPECT_EQ(0, n[2].got);
	EXPECT_EQ(1, b0->rx_bad[CM_BAD_ADDR]);
	EXPECT_EQ(1, b0->peer[0].bad);

	/* Node 1's counters in the region: both lanes'. */
	lanes[0] = b0;
	lanes[1] = b1;
	EXPECT_FALSE(cm_dp_tick_lanes(lanes, 2, &any));
	EXPECT_TRUE(any);
	EXPECT_EQ(1, le64_to_cpu(cm_stats(base, &l, 1)->rx_packets));
	EXPECT_EQ(1, le64_to_cpu(cm_stats(base, &l, 1)->bad_desc));

	for (i = 0; i < 4; i++)
		cm_dp_destroy(&n[i].dp);
	cm_ftable_free(ft);
	free(base);
	free(n);
}

/* The lane of a flow: the same both ways, and every lane used. */
TEST(flow_lane_symmetric)
{
	u8 f[FRAME_LEN], g[FRAME_LEN];
	struct cm_flow_key k, rk;
	u32 hits[4] = { 0 }, i, q;

	for (i = 0; i < 256; i++) {
		mkframe(f, (u16)(1000 + i), 0);
		memcpy(g, f, sizeof(g));
		/* swap addresses and ports */
		memcpy(g + 26, f + 30, 4);
		memcpy(g + 30, f + 26, 4);
		memcpy(g + 34, f + 36, 2);
		memcpy(g + 36, f + 34, 2);
		cm_flow_parse(f, FRAME_LEN, &k);
		cm_flow_parse(g, FRAME_LEN, &rk);
		ASSERT_EQ(4, k.family);
		ASSERT_NE(0, memcmp(&k, &rk, sizeof(k)));
		for (q = 1; q <= CHAINMESH_MAX_QUEUES; q++)
			ASSERT_EQ(cm_flow_lane(&k, q), cm_flow_lane(&rk, q));
		hits[cm_flow_lane(&k, 4)]++;
	}
	for (q = 0; q < 4; q++)
		EXPECT_GT(hits[q], 32) TH_LOG("lane %u: %u of 256 flows", q, hits[q]);
	memset(f, 0, sizeof(f));	/* not IP: lane 0 */
	cm_flow_parse(f, FRAME_LEN, &k);
	EXPECT_EQ(0, cm_flow_lane(&k, 8));
}

TEST_HARNESS_MAIN
