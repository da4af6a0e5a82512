/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The node datapath that needs no sk_buff, NAPI or netdev: one
 * implementation for node 0 in chainmesh_host.ko, every guest's
 * chainmesh.ko (both through node/), the userspace node tools/cm-peer
 * and the hop benchmark, which all run this very code.
 *
 * A node (struct cm_dp) has, per peer, four rings: the data ring it
 * produces to (@tx: transmit), and three that its receive side works:
 * the peer's data ring to it (@data), the return ring bringing its own
 * buffers back (@ret), and the return ring taking the peer's buffers home
 * (@back). Two contexts use it, as in any NIC driver:
 *
 *  - receive (NAPI in the kernel): cm_dp_rx_poll(), cm_dp_returns(),
 *    cm_dp_give_back(), cm_dp_rx_flush(), cm_dp_arm()/cm_dp_disarm();
 *  - transmit, serialized by the embedding's lock (the netdev's tx lock):
 *    cm_dp_route(), cm_dp_tx_room(), cm_dp_push(), cm_dp_tx_flush().
 *    Receive takes the same lock to pass buffers on (XDP_TX) and for
 *    cm_dp_peer_changes().
 *
 * Counters are plain u64 with one writer each (WRITE_ONCE), read with
 * READ_ONCE from anywhere: the modules are built for 64-bit only.
 *
 * The embedding supplies, through struct cm_dp_ops, what differs between
 * node types: how a doorbell rings, what becomes of a frame that reaches
 * this node (an skb, an XDP program, a userspace packet handler), and
 * the node's flow table when a chain context is not in the one it has.
 */
#ifndef _CHAINMESH_DP_H
#define _CHAINMESH_DP_H

#include "abi.h"
#include "compat.h"
#include "datapath.h"
#include "flow.h"
#include "layout.h"
#include "peers.h"
#include "pool.h"
#include "ring.h"

/* Frames received but not delivered, other than bad descriptors. */
enum cm_rx_drop {
	CM_RX_DROP_NOMEM,	/* no memory for the frame's copy */
	CM_RX_DROP_DOWN,	/* interface down or leaving: buffer returned */
	CM_RX_DROP_NO_RETURN,	/* owner's return ring full: buffer lost */
	CM_RX_DROP_OFFLOAD,	/* a frame of several buffers or offloads while
				 * we do not take them (no more: in flight) */
	__CM_RX_DROP_MAX
};

/* Frames the transmit path did not send. */
enum cm_tx_drop {
	CM_TX_DROP_NONE,
	CM_TX_DROP_LEN,		/* runt, or larger than a buffer */
	CM_TX_DROP_NO_FLOW,	/* no flow of this node's table matches */
	CM_TX_DROP_NO_HOP,	/* the flow's chain has no next node here */
	CM_TX_DROP_PEER_DOWN,	/* next node is not up */
	CM_TX_DROP_RING_FULL,	/* next node's data ring is full */
	CM_TX_DROP_RING_BAD,	/* next node's consumer index is insane */
	CM_TX_DROP_NO_BUF,	/* own pool empty */
	CM_TX_DROP_QUOTA,	/* next node holds its share of our pool */
	CM_TX_DROP_FENCED,	/* the host called us down: we send nothing */
	__CM_TX_DROP_MAX
};

/* What the transmit side counts besides frames and drops. */
enum cm_tx_stat {
	CM_TX_CTX,		/* frames routed by their chain context */
	CM_TX_CTX_STALE,	/* context no longer on our table: classified */
	CM_TX_XDP_ZEROCOPY,	/* XDP_TX: a peer's buffer passed on, no copy */
	CM_TX_XDP_TX_DROP,	/* XDP_TX: next node down or its ring full */
	CM_TX_XDP_XMIT,		/* ndo_xdp_xmit: frames copied and sent */
	CM_TX_XDP_XMIT_DROP,	/* ndo_xdp_xmit: no flow, no hop, no room */
	CM_TX_STOPPED,		/* queue stopped: next ring full or pool empty */
	CM_TX_REQUEUE,		/* no room after all: back to the qdisc, stopped */
	__CM_TX_STAT_MAX
};

/* A next hop over its share that gave nothing back for this long keeps
 * what it is sent: frames to it are dropped rather than stopping a queue
 * that every next hop shares. Longer than an emulated guest's pauses, so
 * that a slow hop still gets backpressure. */
#define CM_HOARD_MS	2000

/* Defaults of the policy knobs (module parameters in the kernel). */
#define CM_DEF_BAD_LIMIT	32
#define CM_DEF_BAD_WINDOW_MS	1000
#define CM_DEF_PEER_SHARE	50

/* A node's policy, read where it is applied: it may change at any time
 * (module parameters in the kernel). */
struct cm_policy {
	/* this many blaming bad inputs within bad_window_ms judge a peer
	 * broken (peers.h); 0: never */
	unsigned int bad_limit;
	unsigned int bad_window_ms;
	/* percent of our pool one next hop may hold (1..100) */
	unsigned int peer_share;
};

/* One writer per counter: the modules and tools are 64-bit only. */
static inline void cm_cnt_add(u64 *c, u64 n)
{
	WRITE_ONCE(*c, *c + n);
}

struct cm_ctr {
	u64 packets;
	u64 bytes;
};

static inline void cm_ctr_add(struct cm_ctr *c, u32 len)
{
	cm_cnt_add(&c->packets, 1);
	cm_cnt_add(&c->bytes, len);
}

struct cm_dp_peer {
	/* Receive's. */
	struct cm_ring_cons data;	/* data ring peer -> us */
	struct cm_ring_cons ret;	/* return ring peer -> us: ours back */
	struct cm_ring_prod back;	/* return ring us -> peer: its going home */
	struct cm_ctr rx;		/* frames received from the peer */
	u64 bad;			/* bad descriptors or returns from it */
	/* Transmit's (under its lock). */
	struct cm_ring_prod tx ____cacheline_aligned_in_smp;
	struct cm_ctr txc;		/* frames sent to the peer */
	/* The tick's: when the hop last gave some back or held none
	 * (jiffies; transmit reads), and its give-back count then; when
	 * our data ring to it last had room or moved, and its tail then. */
	unsigned long hop_ok;
	u32 hop_back;
	unsigned long ring_ok;
	u32 ring_tail;
	/* Pair reset and re-assertion (cm_dp_reassert()): receive's, under
	 * the transmit lock; the tick reads @resetting and @reset_acked. */
	u32 reset_gen;		/* our reset_req on data ring us -> peer */
	u32 reset_acked;	/* its reset_req we carried out: our reset_ack */
	bool resetting;		/* our request not yet acknowledged */
	unsigned long reset_at;	/* jiffies: when we asked */
	unsigned long insane_at;	/* jiffies: indices first seen insane, 0 */
	/* Receive's: CM_INSANE_* rings whose head we found insane and
	 * counted (once per spell: the pair reset is the cure, and a
	 * count per poll would judge the peer before it can start). */
	u8 insane_rx;
	u64 resets;		/* pair resets carried out; all read */
};

#define CM_INSANE_DATA	0x01	/* data ring peer -> us */
#define CM_INSANE_RET	0x02	/* return ring peer -> us */

/* Where a frame goes next: the result of cm_dp_route(). */
struct cm_route {
	u32 peer;		/* next node */
	u16 chain;		/* or CM_ROUTE_NO_CTX */
	u8 hop;			/* the next node's place on @chain */
	int flow;		/* flow to count it against, or -1 */
};

/* cm_route.chain of a frame sent straight to a peer with no chain
 * context, for the receiver to classify (a userspace test node's). */
#define CM_ROUTE_NO_CTX	0xffff
_Static_assert(CM_ROUTE_NO_CTX >= CHAINMESH_MAX_CHAINS,
	       "CM_ROUTE_NO_CTX: never a chain");

/* A frame's place on a chain: from a descriptor, or from skb->mark. */
struct cm_ctx {
	u16 chain;
	u8 hop;			/* this node's place on @chain */
};

/* CHAINMESH_FRAME_MAX_BUFS descriptors at most per frame (the region's
 * header): a frame of several buffers, as received, copied out once. */
#define CM_NO_OWNER	0xffffffffu

struct cm_frame {
	u32 n;				/* descriptors consumed */
	u32 len;			/* bytes, all buffers */
	u32 owner;			/* of every buffer (after validation) */
	bool off;			/* @oh came with it */
	struct chainmesh_offload oh;	/* copied out once, validated */
	struct cm_desc d[CHAINMESH_FRAME_MAX_BUFS];
	u32 idx[CHAINMESH_FRAME_MAX_BUFS];
	/* d[i]'s buffer goes home to this owner; CM_NO_OWNER: none to send
	 * (no buffer, one of ours not out, or named before) */
	u32 owner_of[CHAINMESH_FRAME_MAX_BUFS];
};

struct cm_dp {
	void *base;			/* the region */
	struct cm_layout l;		/* validated copy of the host's layout:
					 * of our lane (cm_layout_lane()) */
	u32 self;			/* our node id */
	u32 lane;			/* our queue: its rings, our pool's slice */
	struct chainmesh_node *node;	/* our node table entry */
	u64 pool_off;			/* our pool's offset in the region */
	u64 pool_len;
	u8 mac[6];			/* ours, re-asserted by the tick */
	bool mac_set;			/* cm_dp_set_mac() gave it */
	bool reassert;			/* tick -> receive: cm_dp_reassert() due */
	bool by_hand;			/* an attacker that writes its indices by
					 * hand (cm-peer chaos): no re-assertion,
					 * no pair reset */
	unsigned long reassert_at;	/* the tick's: when it last asked */
	const struct cm_policy *pol;
	u32 hop_cap;			/* the tick's, from peer_share */
	struct cm_peers peers;		/* see peers.h */
	struct cm_pool pool;
	struct cm_dp_peer *peer;	/* [nodes]; ours unused */

	/* Transmit's. */
	u64 tx_pending ____cacheline_aligned_in_smp;	/* pushed, unpublished */
	struct cm_ctr *tx_flows;	/* [max_flows] */
	struct cm_ctr tx_total;		/* frames of the stack sent */
	u64 tx_drops[__CM_TX_DROP_MAX];
	u64 tx_stats[__CM_TX_STAT_MAX];

	/* Receive's. */
	u64 back_pending ____cacheline_aligned_in_smp;	/* return rings */
	u64 released;			/* data rings we consumed from */
	u32 first;			/* data ring served first, rotates */
	bool armed;			/* want_kick set on every inbound ring */
	bool freed;			/* buffers came back to our free list */
	u32 chain_seq;			/* table seq at the last bad context */
	unsigned long chain_seq_at;	/* jiffies when that table was new */
	struct cm_ctr *rx_flows;	/* [max_flows] */
	struct cm_ctr rx_total;		/* frames delivered to this node */
	u64 rx_drops[__CM_RX_DROP_MAX];
	u64 rx_bad[__CM_BAD_MAX];
	u64 reclaimed;			/* buffers taken back from the dead */
	u64 sent_home;			/* others' buffers a dead peer held */
	struct cm_frame *rxf;		/* the frame being received */
	u32 features;			/* CHAINMESH_NF_* we announce */
	u64 rx_frames;			/* frames of several buffers or offloads */
	u64 rx_frame_max;		/* bytes of the largest of them */
};

/*
 * What differs between node types. Each is called with a constant ops
 * struct from an always-inline loop, so the compiler calls it directly.
 */
struct cm_dp_ops {
	/* Ring node @peer's doorbell. */
	void (*kick)(struct cm_dp *dp, u32 peer);
	/*
	 * A frame for this node from @from: validated, its context (if
	 * any) on @t. The embedding counts what it does with it and sends
	 * the buffer home (cm_dp_give_back()) or on (cm_dp_push()).
	 */
	void (*rx)(struct cm_dp *dp, u32 from, struct cm_desc *d, u32 owner,
		   u32 idx, const struct cm_ftable **t);
	/*
	 * A frame of several buffers, or with an offload header: validated
	 * (every buffer, its chain, its header), its context on @t. The
	 * embedding sends its buffers home (cm_dp_give_back_frame()). NULL:
	 * this node type takes none (and announces none).
	 */
	void (*rx_frame)(struct cm_dp *dp, u32 from, struct cm_frame *f,
			 const struct cm_ftable **t);
	/* The table again: the host may have just published one that
	 * knows a chain context @t does not; NULL: there is no other. */
	const struct cm_ftable *(*table)(struct cm_dp *dp, bool need);
	/* This node judged @peer broken (a log line); may be NULL. */
	void (*judged)(struct cm_dp *dp, u32 peer);
};

/* @p itself unless it is us: the next node whose rings we share. */
static inline u32 cm_dp_peer_from(const struct cm_dp *dp, u32 p)
{
	return p + (p == dp->self);
}

/* Every other node of the mesh, @_n from 0 up: the peers we have rings
 * with. */
#define cm_dp_for_each_peer(_dp, _n)					\
	for ((_n) = cm_dp_peer_from(_dp, 0); (_n) < (_dp)->l.p.nodes;	\
	     (_n) = cm_dp_peer_from(_dp, (_n) + 1))

/* @addr is a buffer of our own pool. */
static inline bool cm_dp_own(const struct cm_dp *dp, u64 addr)
{
	return addr - dp->pool_off < dp->pool_len;
}

/*
 * Quotas: each next hop may hold peer_share percent of our pool. A hop
 * that gave a buffer back since the last tick, or holds none, is making
 * progress; one over its share without any for CM_HOARD_MS is hoarding.
 * Likewise our data ring to a hop: one that had room or whose consumer
 * moved since the last tick is making progress; one full and standing
 * still for CM_HOARD_MS is stuck (the hop heartbeats but does not read,
 * or wrote a tail that says "full" for ever).
 */
static inline void cm_dp_quota_tick(struct cm_dp *dp)
{
	u32 share = READ_ONCE(dp->pol->peer_share), p, back, cap, head, tail;
	unsigned long now = jiffies;
	struct cm_dp_peer *pp;

	share = share < 1 ? 1 : share > 100 ? 100 : share;
	cap = (u32)((u64)dp->pool.nbufs * share / 100);
	WRITE_ONCE(dp->hop_cap, cap ? cap : 1);
	for (p = 0; p < dp->l.p.nodes; p++) {
		pp = &dp->peer[p];
		back = READ_ONCE(dp->pool.hop_back[p]);
		if (back != pp->hop_back || !cm_pool_held(&dp->pool, p)) {
			pp->hop_back = back;
			WRITE_ONCE(pp->hop_ok, now);
		}
		if (p == dp->self)
			continue;
		/* Our published head and the peer's tail, as any reader. */
		head = le32_to_cpu(READ_ONCE(pp->tx.hdr->head));
		tail = le32_to_cpu(READ_ONCE(pp->tx.hdr->tail));
		if (tail != pp->ring_tail || head - tail < dp->l.p.ring_slots) {
			pp->ring_tail = tail;
			WRITE_ONCE(pp->ring_ok, now);
		}
	}
}

/*
 * cm_dp_init_lane - a node's datapath on lane @lane (< l->p.queues) of a
 * validated mesh layout, its rings reset on our side: a new life starts
 * on empty rings (datapath.h). A lane is a node of its own on queue
 * @lane's rings and slice @lane of every pool: everything below works on
 * the lane's layout, and refuses a buffer of another lane as one outside
 * every pool. A node with several queues runs one of these per queue.
 * @pol: the node's policy, read when applied
 *
 * Return: 0 or -ENOMEM.
 */
static inline int cm_dp_init_lane(struct cm_dp *dp, void *base,
				  const struct cm_layout *ml, u32 lane,
				  u32 self, const struct cm_policy *pol)
{
	struct cm_layout lq, *l = &lq;
	u32 p;
	int err;

	cm_layout_lane(ml, lane, &lq);
	memset(dp, 0, sizeof(*dp));
	dp->base = base;
	dp->l = lq;
	dp->lane = lane;
	dp->self = self;
	dp->node = cm_node(base, l, self);
	dp->pool_off = cm_buf_addr(l, self, 0);
	dp->pool_len = (u64)l->p.bufs_per_node * l->p.buf_size;
	dp->pol = pol;
	cm_peers_init(&dp->peers, base, l);

	err = cm_pool_init(&dp->pool, l->p.bufs_per_node);
	if (err)
		return err;
	err = -ENOMEM;
	dp->peer = (struct cm_dp_peer *)kvcalloc(l->p.nodes, sizeof(*dp->peer),
						 GFP_KERNEL);
	if (!dp->peer)
		goto err_destroy_pool;
	dp->tx_flows = (struct cm_ctr *)kvcalloc(l->p.max_flows,
						 sizeof(*dp->tx_flows),
						 GFP_KERNEL);
	if (!dp->tx_flows)
		goto err_free_peer;
	dp->rx_flows = (struct cm_ctr *)kvcalloc(l->p.max_flows,
						 sizeof(*dp->rx_flows),
						 GFP_KERNEL);
	if (!dp->rx_flows)
		goto err_free_tx_flows;
	dp->rxf = (struct cm_frame *)kvcalloc(1, sizeof(*dp->rxf), GFP_KERNEL);
	if (!dp->rxf)
		goto err_free_rx_flows;
	/* A previous life's announcement is not ours. */
	WRITE_ONCE(dp->node->features, 0);

	for (p = 0; p < l->p.nodes; p++) {
		struct cm_dp_peer *pp = &dp->peer[p];

		if (p == self)
			continue;
		cm_ring_prod_init(&pp->tx, cm_data_ring(base, l, self, p),
				  l->p.ring_slots);
		cm_ring_prod_restart(&pp->tx);
		/* A previous life's descriptors went home when our peers
		 * saw it end; its returns are of buffers this life never
		 * lent. Where the producer's head is, even an insane one:
		 * this life has no tail to keep. */
		cm_ring_cons_init(&pp->data, cm_data_ring(base, l, p, self),
				  l->p.ring_slots);
		cm_ring_cons_take_head(&pp->data);
		cm_ring_cons_init(&pp->ret, cm_ret_ring(base, l, p, self),
				  l->ret_slots);
		cm_ring_cons_take_head(&pp->ret);
		cm_ring_prod_init(&pp->back, cm_ret_ring(base, l, self, p),
				  l->ret_slots);
		cm_ring_prod_restart(&pp->back);
		/* No pair reset pending: a request of a peer's from before
		 * this life is retried by it (CM_RESET_RETRY_MS). */
		pp->reset_gen = le32_to_cpu(READ_ONCE(pp->tx.hdr->reset_req));
		pp->reset_acked =
			le32_to_cpu(READ_ONCE(pp->data.hdr->reset_req));
		WRITE_ONCE(pp->data.hdr->reset_ack,
			   cpu_to_le32(pp->reset_acked));
	}
	cm_dp_quota_tick(dp);
	return 0;

err_free_rx_flows:
	kvfree(dp->rx_flows);
err_free_tx_flows:
	kvfree(dp->tx_flows);
err_free_peer:
	kvfree(dp->peer);
err_destroy_pool:
	cm_pool_destroy(&dp->pool);
	return err;
}

/* Our MAC, as the owner writes it into our node entry before UP: the
 * tick re-asserts it (a peer that forged it would get our frames
 * dropped as another host's). */
static inline void cm_dp_set_mac(struct cm_dp *dp, const u8 *mac)
{
	memcpy(dp->mac, mac, sizeof(dp->mac));
	dp->mac_set = true;
}

/* Lane 0: a node that serves one queue (every node of a one-queue
 * mesh; in a mesh of several, senders that pick lane 0 reach it). */
static inline int cm_dp_init(struct cm_dp *dp, void *base,
			     const struct cm_layout *l, u32 self,
			     const struct cm_policy *pol)
{
	return cm_dp_init_lane(dp, base, l, 0, self, pol);
}

static inline void cm_dp_destroy(struct cm_dp *dp)
{
	kvfree(dp->rxf);
	kvfree(dp->rx_flows);
	kvfree(dp->tx_flows);
	kvfree(dp->peer);
	cm_pool_destroy(&dp->pool);
}

/* The host's verdict on this node's current life is DOWN or BROKEN: its
 * peers took back what they had sent it. It sends and reads nothing
 * until it has rejoined (the embedding's fence). */
static inline bool cm_dp_fenced(const struct cm_dp *dp)
{
	u32 v;

	/* A verdict on a life before this one is not ours: the host has
	 * not seen this one yet. Pairs with cm_node_set_verdict(). */
	if (le32_to_cpu(smp_load_acquire(&dp->node->verdict_epoch)) !=
	    le32_to_cpu(READ_ONCE(dp->node->epoch)))
		return false;
	v = le32_to_cpu(READ_ONCE(dp->node->host_state));
	return v == CHAINMESH_NODE_DOWN || v == CHAINMESH_NODE_BROKEN;
}

/*
 * What this node takes (CHAINMESH_NF_*), announced in its node entry for
 * its peers to read before they send. Taking less again: frames already
 * in flight are dropped (CM_RX_DROP_OFFLOAD), not blamed.
 */
static inline void cm_dp_set_features(struct cm_dp *dp, u32 nf)
{
	WRITE_ONCE(dp->features, nf);
	WRITE_ONCE(dp->node->features, cpu_to_le32(nf));
}

/* Node @n (< nodes) takes frames of several buffers and offloads. */
static inline bool cm_dp_peer_offload(const struct cm_dp *dp, u32 n)
{
	return le32_to_cpu(READ_ONCE(cm_node(dp->base, &dp->l, n)->features)) &
	       CHAINMESH_NF_OFFLOAD;
}

/* Buffers a frame of @len bytes sent by this node takes. */
static inline u32 cm_dp_frame_bufs(const struct cm_dp *dp, u32 len)
{
	u32 room = dp->l.p.buf_size - CHAINMESH_HEADROOM;

	return (len + room - 1) / room;
}

/* May we send to node @n (< nodes)? See peers.h. */
static inline bool cm_dp_peer_up(const struct cm_dp *dp, u32 n)
{
	return cm_peers_tx_ok(&dp->peers, dp->base, &dp->l, n);
}

/* Receive */

/* @n bad inputs from @peer that count against it: judge it. */
static __always_inline void cm_dp_judge(struct cm_dp *dp,
					const struct cm_dp_ops *ops,
					u32 peer, u32 n)
{
	if (cm_peers_bad(&dp->peers, dp->base, &dp->l, peer, n,
			 READ_ONCE(dp->pol->bad_limit),
			 READ_ONCE(dp->pol->bad_window_ms)) && ops->judged)
		ops->judged(dp, peer);
}

/* Bad input from @peer, counted per reason and per peer. */
static __always_inline void cm_dp_bad(struct cm_dp *dp,
				      const struct cm_dp_ops *ops, u32 peer,
				      enum cm_bad why)
{
	cm_cnt_add(&dp->rx_bad[why], 1);
	cm_cnt_add(&dp->peer[peer].bad, 1);
	if (cm_bad_blames(why))
		cm_dp_judge(dp, ops, peer, 1);
}

/* How long a new table excuses bad chain context: frames that were in
 * flight when the host changed a chain carry a context it no longer has.
 * A table's seq is in the region, where a peer can bump it at will: a
 * new seq opens a grace period at most once per CM_CHAIN_GRACE_GAP_MS,
 * or a peer bumping it more often than CM_CHAIN_GRACE_MS would never be
 * judged for its bad context (test_dp: bad_chain_grace_not_renewed). */
#define CM_CHAIN_GRACE_MS	1000
#define CM_CHAIN_GRACE_GAP_MS	4000

/* A chain context that table @t does not have, from @peer: it counts
 * against the peer once @t is older than the grace period. */
static __always_inline void cm_dp_bad_chain(struct cm_dp *dp,
					    const struct cm_dp_ops *ops,
					    u32 peer, const struct cm_ftable *t)
{
	unsigned long now = jiffies;

	cm_cnt_add(&dp->rx_bad[CM_BAD_CHAIN], 1);
	cm_cnt_add(&dp->peer[peer].bad, 1);
	if (t->seq != dp->chain_seq) {
		dp->chain_seq = t->seq;
		if (!dp->chain_seq_at ||
		    time_after(now, dp->chain_seq_at +
				    msecs_to_jiffies(CM_CHAIN_GRACE_GAP_MS))) {
			dp->chain_seq_at = now;
			return;
		}
	}
	if (time_after(now, dp->chain_seq_at +
			    msecs_to_jiffies(CM_CHAIN_GRACE_MS)))
		cm_dp_judge(dp, ops, peer, 1);
}

static inline void cm_dp_rx_drop(struct cm_dp *dp, enum cm_rx_drop why)
{
	cm_cnt_add(&dp->rx_drops[why], 1);
}

/* Every frame a peer sent us, and the flow it belongs to. */
static inline void cm_dp_rx_count(struct cm_dp *dp, u32 peer, int flow,
				  u32 len)
{
	cm_ctr_add(&dp->peer[peer].rx, len);
	if (flow >= 0)
		cm_ctr_add(&dp->rx_flows[flow], len);
}

/* A buffer's journey ends here, @from sent it: send it home. */
static __always_inline void cm_dp_give_back(struct cm_dp *dp,
					    const struct cm_dp_ops *ops,
					    u32 from, u32 owner, u32 idx,
					    u64 addr)
{
	struct cm_ring_prod *back;
	enum cm_bad why;

	if (owner == dp->self) {
		why = cm_pool_put(&dp->pool, idx);
		if (why)
			cm_dp_bad(dp, ops, from, why);
		else
			dp->freed = true;
		return;
	}
	back = &dp->peer[owner].back;
	/* ret_slots >= bufs_per_node: full only if the owner misbehaves.
	 * A pair being reset takes nothing: the owner takes back all that
	 * we held of its pool when the reset is over. */
	if (unlikely(dp->peer[owner].resetting ||
		     cm_ring_prod_space(back) <= 0)) {
		cm_dp_rx_drop(dp, CM_RX_DROP_NO_RETURN);
		return;
	}
	cm_ring_push_addr(back, addr);
	dp->back_pending |= 1ull << owner;
}

/*
 * Has @peer asked for a pair reset we have not carried out? Then the
 * head of its rings to us may be back at zero already: not its fault.
 * Asks receive to carry it out (cm_dp_reassert()).
 */
static inline bool cm_dp_reset_asked(struct cm_dp *dp, u32 peer)
{
	struct cm_dp_peer *pp = &dp->peer[peer];

	/* Pairs with the release of reset_req before the heads of 0. */
	if (le32_to_cpu(smp_load_acquire(&pp->data.hdr->reset_req)) ==
	    pp->reset_acked)
		return false;
	WRITE_ONCE(dp->reassert, true);
	return true;
}

/*
 * cm_dp_rx_check - validate a received descriptor
 * @t: the caller's table, refreshed through ops->table() when the
 *     context names a chain it does not know
 *
 * Return: true when @d is a frame for ops->rx(); otherwise it was counted
 * and its buffer, if it is one, sent home.
 */
static __always_inline bool cm_dp_rx_check(struct cm_dp *dp,
					   const struct cm_dp_ops *ops,
					   u32 from, const struct cm_desc *d,
					   u32 *owner, u32 *idx,
					   const struct cm_ftable **t)
{
	const struct cm_ftable *nt;
	enum cm_bad why;

	why = cm_desc_check(&dp->l, d, owner, idx);
	/* One of our own buffers that is not out is on our free list:
	 * neither pass it on nor give it back. */
	if (unlikely(!why && *owner == dp->self &&
		     !cm_pool_out(&dp->pool, *idx)))
		why = CM_BAD_RETURN;
	if (unlikely(why)) {
		cm_dp_bad(dp, ops, from, why);
		/* After CM_BAD_LEN it is a real buffer; else none we may
		 * hand back. */
		if (why == CM_BAD_LEN)
			cm_dp_give_back(dp, ops, from, *owner, *idx, d->addr);
		return false;
	}
	if (likely(cm_desc_ctx_ok(*t, d)))
		return true;
	nt = ops->table ? ops->table(dp, true) : NULL;
	if (nt) {
		*t = nt;
		if (cm_desc_ctx_ok(nt, d))
			return true;
	}
	cm_dp_bad_chain(dp, ops, from, *t);
	cm_dp_give_back(dp, ops, from, *owner, *idx, d->addr);
	return false;
}

/* Where the next descriptor of a frame comes from: what is left of the
 * burst copied out, then the ring, up to what the producer published. */
struct cm_rx_src {
	struct cm_ring_cons *c;
	const struct cm_desc *bd;	/* the burst */
	u32 bn;				/* its length */
	u32 bi;				/* next of it */
	u32 left;			/* published, not copied out yet */
};

static inline bool cm_rx_src_next(struct cm_rx_src *s, struct cm_desc *d)
{
	if (s->bi < s->bn) {
		*d = s->bd[s->bi++];
		return true;
	}
	if (!s->left)
		return false;
	cm_ring_pop_descs(s->c, d, 1);
	s->left--;
	return true;
}

/* An offload header as a peer wrote it, for a frame of @len bytes. */
static inline enum cm_bad cm_offload_check(const struct chainmesh_offload *oh,
					   u32 len)
{
	u32 start = le16_to_cpu(oh->csum_start);
	u32 off = le16_to_cpu(oh->csum_offset);
	u8 gso = oh->gso_type & ~CHAINMESH_GSO_ECN;
	bool csum = oh->flags & CHAINMESH_OFF_NEEDS_CSUM;
	u32 i;

	for (i = 0; i < sizeof(oh->pad); i++)
		if (oh->pad[i])
			return CM_BAD_OFFLOAD;
	if (oh->flags & ~CHAINMESH_OFF_NEEDS_CSUM)
		return CM_BAD_OFFLOAD;
	/* The checksum field lies past the Ethernet header, in the frame. */
	if (csum && (start < 14 || start + off + 2 > len))
		return CM_BAD_OFFLOAD;
	switch (gso) {
	case CHAINMESH_GSO_NONE:
		return oh->gso_type || oh->gso_size ? CM_BAD_OFFLOAD :
						      CM_BAD_NONE;
	case CHAINMESH_GSO_TCPV4:
	case CHAINMESH_GSO_TCPV6:
		break;
	case CHAINMESH_GSO_UDP:
	case CHAINMESH_GSO_UDP_L4:
		if (oh->gso_type & CHAINMESH_GSO_ECN)
			return CM_BAD_OFFLOAD;
		break;
	default:
		return CM_BAD_OFFLOAD;
	}
	/* Segments get their checksums from the partial one. */
	return csum && oh->gso_size ? CM_BAD_NONE : CM_BAD_OFFLOAD;
}

/*
 * cm_dp_rx_gather - the frame whose first descriptor is @first: the rest
 * of its chain from @s, each buffer and the chain as a whole validated.
 * A refused chain is consumed to its end all the same (at most
 * CHAINMESH_FRAME_MAX_BUFS descriptors), so that its buffers go home.
 *
 * Return: CM_BAD_NONE, or the first reason found to refuse it; either
 * way f->n descriptors were consumed, and f->owner_of[] says where their
 * buffers go.
 */
static inline enum cm_bad cm_dp_rx_gather(struct cm_dp *dp,
					  struct cm_rx_src *s,
					  const struct cm_desc *first,
					  struct cm_frame *f)
{
	enum cm_bad why = CM_BAD_NONE, w;
	struct cm_desc d = *first;
	u32 owner, idx, j, n;

	f->n = 0;
	f->len = 0;
	f->off = false;
	for (;;) {
		n = f->n;
		f->d[n] = d;
		f->owner_of[n] = CM_NO_OWNER;
		w = cm_buf_check(&dp->l, d.addr, &owner, &idx);
		/* One of ours not out is on our free list: not to send home. */
		if (!w && owner == dp->self && !cm_pool_out(&dp->pool, idx))
			w = CM_BAD_RETURN;
		for (j = 0; !w && j < n; j++)
			if (f->d[j].addr == d.addr)
				w = CM_BAD_FRAME_LOOP;
		if (!w) {
			f->owner_of[n] = owner;
			f->idx[n] = idx;
			if (d.len < (n ? 1 : 14) ||
			    (u32)d.data_off + d.len > dp->l.p.buf_size)
				w = CM_BAD_LEN;
			else if (n && f->owner_of[0] != CM_NO_OWNER &&
				 owner != f->owner_of[0])
				w = CM_BAD_FRAME_OWNER;
			else if (n && (d.flags & ~CHAINMESH_D_MORE))
				w = CM_BAD_OFFLOAD;
		}
		f->len += d.len;
		if (!w && f->len > CHAINMESH_FRAME_MAX_LEN)
			w = CM_BAD_FRAME_LEN;
		if (!why)
			why = w;
		f->n = n + 1;
		if (!(d.flags & CHAINMESH_D_MORE))
			break;
		if (f->n == CHAINMESH_FRAME_MAX_BUFS) {
			/* What follows is read as frames of their own. */
			if (!why)
				why = CM_BAD_FRAME_LEN;
			break;
		}
		if (!cm_rx_src_next(s, &d)) {
			if (!why)
				why = CM_BAD_FRAME_CUT;
			break;
		}
	}
	f->owner = f->owner_of[0];
	if (why || !(first->flags & CHAINMESH_D_OFFLOAD))
		return why;
	/* The header lies in the first buffer's headroom, in front of the
	 * frame; copied once, then only the copy is looked at. */
	if (first->data_off < sizeof(f->oh))
		return CM_BAD_OFFLOAD;
	memcpy(&f->oh, (u8 *)dp->base + first->addr, sizeof(f->oh));
	f->off = true;
	return cm_offload_check(&f->oh, f->len);
}

/* Every buffer of a frame (or of a refused chain) goes home. */
static __always_inline void cm_dp_give_back_frame(struct cm_dp *dp,
						  const struct cm_dp_ops *ops,
						  u32 from,
						  const struct cm_frame *f)
{
	u32 i;

	for (i = 0; i < f->n; i++)
		if (f->owner_of[i] != CM_NO_OWNER)
			cm_dp_give_back(dp, ops, from, f->owner_of[i],
					f->idx[i], f->d[i].addr);
}

/*
 * cm_dp_rx_frame - a frame of several buffers or with an offload header,
 * whose first descriptor is @first: gathered, validated, handed to
 * ops->rx_frame() if this node takes such frames
 */
static __always_inline void cm_dp_rx_frame(struct cm_dp *dp,
					   const struct cm_dp_ops *ops,
					   u32 from, struct cm_rx_src *s,
					   const struct cm_desc *first,
					   const struct cm_ftable **t)
{
	struct cm_frame *f = dp->rxf;
	const struct cm_ftable *nt;
	enum cm_bad why;

	why = cm_dp_rx_gather(dp, s, first, f);
	if (unlikely(why)) {
		cm_dp_bad(dp, ops, from, why);
		goto give_back;
	}
	if (unlikely(!cm_desc_ctx_ok(*t, first))) {
		nt = ops->table ? ops->table(dp, true) : NULL;
		if (!nt || !cm_desc_ctx_ok(nt, first)) {
			cm_dp_bad_chain(dp, ops, from, nt ? nt : *t);
			goto give_back;
		}
		*t = nt;
	}
	if (unlikely(!ops->rx_frame ||
		     !(READ_ONCE(dp->features) & CHAINMESH_NF_OFFLOAD))) {
		cm_dp_rx_drop(dp, CM_RX_DROP_OFFLOAD);
		goto give_back;
	}
	cm_cnt_add(&dp->rx_frames, 1);
	if (f->len > dp->rx_frame_max)
		WRITE_ONCE(dp->rx_frame_max, f->len);
	ops->rx_frame(dp, from, f, t);
	return;

give_back:
	cm_dp_give_back_frame(dp, ops, from, f);
}

/*
 * cm_dp_rx_data - up to @quota frames from @from's data ring, each
 * validated and handed to ops->rx() (ops->rx_frame() for frames of
 * several buffers or with offloads, which are taken whole: their
 * descriptors may go past @quota); no burst after the one in which the
 * peer is judged broken
 *
 * Return: frames consumed (<= @quota).
 */
static __always_inline int cm_dp_rx_data(struct cm_dp *dp,
					 const struct cm_dp_ops *ops,
					 u32 from, int quota,
					 const struct cm_ftable **t)
{
	struct cm_ring_cons *c = &dp->peer[from].data;
	struct cm_desc d[CM_RX_BURST];
	u32 done, frames = 0, owner, idx, want;
	struct cm_rx_src s;
	struct cm_desc *cur;
	int n;

	n = cm_ring_cons_avail(c);
	if (unlikely(n < 0)) {
		if (!cm_dp_reset_asked(dp, from) &&
		    !(dp->peer[from].insane_rx & CM_INSANE_DATA)) {
			dp->peer[from].insane_rx |= CM_INSANE_DATA;
			cm_dp_bad(dp, ops, from, CM_BAD_INDEX);
		}
		return 0;
	}
	dp->peer[from].insane_rx &= ~CM_INSANE_DATA;
	if (quota <= 0)
		return 0;
	s.c = c;
	s.bd = d;
	for (done = 0; done < (u32)n && frames < (u32)quota;) {
		want = (u32)n - done;
		if (want > (u32)quota - frames)
			want = (u32)quota - frames;
		s.bn = cm_rx_pop_burst(c, dp->base, &dp->l, d, want);
		done += s.bn;
		for (s.bi = 0; s.bi < s.bn; frames++) {
			cur = &d[s.bi++];
			if (unlikely(cur->flags & (CHAINMESH_D_MORE |
						   CHAINMESH_D_OFFLOAD))) {
				s.left = (u32)n - done;
				cm_dp_rx_frame(dp, ops, from, &s, cur, t);
				done = (u32)n - s.left;
				continue;
			}
			if (cm_dp_rx_check(dp, ops, from, cur, &owner, &idx, t))
				ops->rx(dp, from, cur, owner, idx, t);
		}
		/* The rest of a burst already copied out is checked as usual. */
		if (unlikely(cm_peers_cut(&dp->peers, from)))
			break;
	}
	if (done) {
		cm_ring_release(c);
		dp->released |= 1ull << from;
	}
	return (int)frames;
}

/*
 * cm_dp_rx_poll - one round of the data rings, round robin from a
 * rotating first peer, within @budget; none while @fenced (what is queued
 * to us went home already) and not a peer we cut
 */
static __always_inline int cm_dp_rx_poll(struct cm_dp *dp,
					 const struct cm_dp_ops *ops,
					 int budget, bool fenced,
					 const struct cm_ftable **t)
{
	u32 nodes = dp->l.p.nodes, i, p;
	int done = 0;

	for (i = 0, p = dp->first; i < nodes && done < budget; i++) {
		if (p != dp->self && !fenced && !cm_peers_cut(&dp->peers, p))
			done += cm_dp_rx_data(dp, ops, p, budget - done, t);
		if (++p == nodes)
			p = 0;
	}
	if (++dp->first == nodes)
		dp->first = 0;
	return done;
}

/* Our buffers coming back from @p, at most @max of them. Return: the
 * entries consumed. */
static __always_inline int cm_dp_returns_from(struct cm_dp *dp,
					      const struct cm_dp_ops *ops,
					      u32 p, int max)
{
	struct cm_ret_tally t;
	u32 why, n = 0;

	cm_pool_drain_ret_max(&dp->pool, &dp->l, dp->self, &dp->peer[p].ret,
			      &t, max);
	if (t.freed)
		dp->freed = true;
	if (!t.why[CM_BAD_INDEX])
		dp->peer[p].insane_rx &= ~CM_INSANE_RET;
	if (likely(!t.bad))
		return (int)t.freed;
	/* Once per spell of insanity, and not while a reset is asked. */
	if (t.why[CM_BAD_INDEX] &&
	    ((dp->peer[p].insane_rx & CM_INSANE_RET) ||
	     cm_dp_reset_asked(dp, p))) {
		t.bad -= t.why[CM_BAD_INDEX];
		t.why[CM_BAD_INDEX] = 0;
	} else if (t.why[CM_BAD_INDEX]) {
		dp->peer[p].insane_rx |= CM_INSANE_RET;
	}
	for (why = CM_BAD_NONE + 1; why < __CM_BAD_MAX; why++) {
		cm_cnt_add(&dp->rx_bad[why], t.why[why]);
		if (cm_bad_blames((enum cm_bad)why))
			n += t.why[why];
	}
	cm_cnt_add(&dp->peer[p].bad, t.bad);
	cm_dp_judge(dp, ops, p, n);
	return (int)(t.freed + t.bad);
}

/* Return entries one poll takes at most, per unit of its budget. */
#define CM_RET_PER_BUDGET	4

/*
 * cm_dp_returns - transmit completions: our buffers coming back, round
 * robin from the poll's first peer, at most CM_RET_PER_BUDGET * @budget
 * entries. Not from a peer we cut: the tick takes back what it held
 * (cm_dp_peer_changes()), and a broken peer that refills its return ring
 * must not keep us polling.
 *
 * Return: true when the cap was reached (more may wait: poll again).
 */
static __always_inline bool cm_dp_returns(struct cm_dp *dp,
					  const struct cm_dp_ops *ops,
					  int budget)
{
	int left = CM_RET_PER_BUDGET * (budget > 0 ? budget : 1);
	u32 nodes = dp->l.p.nodes, i, p;

	for (i = 0, p = dp->first; i < nodes && left > 0; i++) {
		if (p != dp->self && !cm_peers_cut(&dp->peers, p))
			left -= cm_dp_returns_from(dp, ops, p, left);
		if (++p == nodes)
			p = 0;
	}
	return left <= 0;
}

/* Publish the return rings we pushed to; ring the owners that asked, and
 * the producers that wait for the slots we freed. */
static __always_inline void cm_dp_rx_flush(struct cm_dp *dp,
					   const struct cm_dp_ops *ops)
{
	unsigned int p;

	cm_for_each_node(p, dp->back_pending)
		if (cm_ring_publish(&dp->peer[p].back))
			ops->kick(dp, p);
	dp->back_pending = 0;
	if (!dp->released)
		return;
	/* [S2] pairs with [S1]: tail stores before prod_flags loads. */
	smp_mb();
	cm_for_each_node(p, dp->released)
		if (cm_ring_space_wanted(&dp->peer[p].data))
			ops->kick(dp, p);
	dp->released = 0;
}

/*
 * cm_dp_arm - ask every producer for a doorbell
 *
 * Rings we do not read (a cut peer's; data rings while @fenced) ask for
 * none and are no reason to poll again.
 * Return: true when entries arrived meanwhile (ring.h [K2]).
 */
static inline bool cm_dp_arm(struct cm_dp *dp, bool fenced)
{
	bool more = false;
	u32 p;

	cm_dp_for_each_peer(dp, p) {
		if (cm_peers_cut(&dp->peers, p)) {
			cm_ring_no_kick(&dp->peer[p].data);
			cm_ring_no_kick(&dp->peer[p].ret);
			continue;
		}
		if (fenced)
			cm_ring_no_kick(&dp->peer[p].data);
		else
			more |= cm_ring_want_kick(&dp->peer[p].data);
		more |= cm_ring_want_kick(&dp->peer[p].ret);
	}
	dp->armed = true;
	return more;
}

/* @tell on both rings we read from every peer, which then asks for no
 * doorbell: the disarm and busy poll below (@tell a constant, inlined). */
static __always_inline void cm_dp_unarm(struct cm_dp *dp,
					void (*tell)(struct cm_ring_cons *c))
{
	u32 p;

	cm_dp_for_each_peer(dp, p) {
		tell(&dp->peer[p].data);
		tell(&dp->peer[p].ret);
	}
	dp->armed = false;
}

/* We are polling: producers need not ring. */
static inline void cm_dp_disarm(struct cm_dp *dp)
{
	if (dp->armed)
		cm_dp_unarm(dp, cm_ring_no_kick);
}

/* We busy poll for good (ring.h [K3]): producers skip the kick decision.
 * Leave it through cm_dp_arm() and CHAINMESH_POLL_GRACE_US of polling. */
static inline void cm_dp_busy_poll(struct cm_dp *dp)
{
	cm_dp_unarm(dp, cm_ring_busy_poll);
}

/* The host fenced us: drop what is queued to us unread (its buffers went
 * home when the host called us down), from wherever the producer's head
 * is, as a new life does (cm_dp_init()): a head a burst left insane
 * would otherwise get this life judged as the last one was. */
static inline void cm_dp_fence_rings(struct cm_dp *dp)
{
	u32 p;

	cm_dp_for_each_peer(dp, p) {
		cm_ring_cons_take_head(&dp->peer[p].data);
		dp->peer[p].insane_rx = 0;
	}
}

/*
 * @peer died with buffers of other nodes that we had passed on to it
 * (XDP_TX) still queued in our data ring to it. Their owners take back
 * only what they sent it themselves: send these home on its behalf. Its
 * next life, or its fence, drops the ring unread. Return: buffers sent.
 */
static inline u32 cm_dp_send_home_queued(struct cm_dp *dp, u32 peer)
{
	struct cm_ring_prod *tp = &dp->peer[peer].tx, *back;
	const struct cm_desc_slot *slots =
		(const struct cm_desc_slot *)tp->slots, *slot;
	u32 tail, n, i, owner, idx, sent = 0;
	u64 addr;

	/* Pairs with its release of tail [C2]; our head is private. */
	tail = le32_to_cpu(smp_load_acquire(&tp->hdr->tail));
	n = tp->head - tail;
	/* A tail it scribbled on says nothing about what it read. */
	if (n > dp->l.p.ring_slots)
		return 0;
	for (i = 0; i < n; i++) {
		slot = &slots[(tail + i) & tp->mask];
		addr = le64_to_cpu(READ_ONCE(slot->addr));
		if (cm_buf_check(&dp->l, addr, &owner, &idx) ||
		    owner == dp->self || owner == peer)
			continue;
		back = &dp->peer[owner].back;
		if (cm_ring_prod_space(back) <= 0)
			continue;
		cm_ring_push_addr(back, addr);
		dp->back_pending |= 1ull << owner;
		sent++;
	}
	return sent;
}

/* What one cm_dp_peer_changes() did for one peer, for a log line. */
struct cm_dp_change {
	u32 reclaimed;		/* our buffers taken back from it */
	u32 sent_home;		/* others' buffers sent home for it */
	bool gone;		/* it died (or died and came back) */
	bool back;		/* a peer we cut reads again */
	bool reset;		/* our rings with it restarted by agreement */
};

/*
 * Recovery (Documentation/datapath.rst, "Recovery"): a peer, or a third
 * node, may have written anything into our rings' indices. Every
 * CM_REASSERT_MS, receive writes back what this node owns there from
 * its private copies; indices that still disagree with the peer's after
 * CM_RESET_AFTER_MS (each side re-asserted its own meanwhile) mean the
 * two sides lost track of each other: the pair's rings are reset by
 * agreement (chainmesh_region.h, "Pair reset").
 */
#define CM_REASSERT_MS		500
#define CM_RESET_AFTER_MS	1200
#define CM_RESET_RETRY_MS	1000

/*
 * The rings of pair us -> @peer (we produce) and @peer -> us (we
 * consume): one data ring and one return ring each way. Every loop over
 * a pair's rings goes through these, so that more rings per pair (queues)
 * change only them.
 */
#define CM_PAIR_RINGS	2

static inline struct cm_ring_prod *cm_dp_pair_prod(struct cm_dp *dp, u32 peer,
						   u32 i)
{
	return i ? &dp->peer[peer].back : &dp->peer[peer].tx;
}

static inline struct cm_ring_cons *cm_dp_pair_cons(struct cm_dp *dp, u32 peer,
						   u32 i)
{
	return i ? &dp->peer[peer].ret : &dp->peer[peer].data;
}

/* Our indices and the handshake fields, as our private copies say. */
static inline void cm_dp_pair_reassert(struct cm_dp *dp, u32 peer)
{
	struct cm_dp_peer *pp = &dp->peer[peer];
	struct cm_ring_prod *pr;
	struct cm_ring_cons *co;
	u32 i;

	for (i = 0; i < CM_PAIR_RINGS; i++) {
		pr = cm_dp_pair_prod(dp, peer, i);
		if (le32_to_cpu(READ_ONCE(pr->hdr->head)) != pr->published)
			smp_store_release(&pr->hdr->head,
					  cpu_to_le32(pr->published));
		co = cm_dp_pair_cons(dp, peer, i);
		if (le32_to_cpu(READ_ONCE(co->hdr->tail)) != co->tail)
			smp_store_release(&co->hdr->tail, cpu_to_le32(co->tail));
		if (READ_ONCE(co->hdr->cons_flags))
			WRITE_ONCE(co->hdr->cons_flags, 0);
	}
	if (le32_to_cpu(READ_ONCE(pp->tx.hdr->reset_req)) != pp->reset_gen)
		smp_store_release(&pp->tx.hdr->reset_req,
				  cpu_to_le32(pp->reset_gen));
	if (le32_to_cpu(READ_ONCE(pp->data.hdr->reset_ack)) != pp->reset_acked)
		smp_store_release(&pp->data.hdr->reset_ack,
				  cpu_to_le32(pp->reset_acked));
}

/* Do the peer's indices and ours disagree: a head more than a ring
 * ahead of our tail, or a tail that is not within a ring behind our head? */
static inline bool cm_dp_pair_insane(struct cm_dp *dp, u32 peer)
{
	struct cm_ring_prod *pr;
	struct cm_ring_cons *co;
	u32 i;

	for (i = 0; i < CM_PAIR_RINGS; i++) {
		co = cm_dp_pair_cons(dp, peer, i);
		if (le32_to_cpu(READ_ONCE(co->hdr->head)) - co->tail > co->mask + 1)
			return true;
		pr = cm_dp_pair_prod(dp, peer, i);
		if (pr->head - le32_to_cpu(READ_ONCE(pr->hdr->tail)) > pr->mask + 1)
			return true;
	}
	return false;
}

/* Step 1 of a pair reset: stop sending to @peer, ask, restart our heads. */
static inline void cm_dp_pair_ask(struct cm_dp *dp, u32 peer)
{
	struct cm_dp_peer *pp = &dp->peer[peer];
	struct cm_ring_prod *pr;
	u32 i, sent;

	clear_bit(peer, dp->peers.tx_ok);
	if (!pp->resetting) {
		/* Others' buffers we passed on to it go home, as when it
		 * dies (nothing if its tail is insane: then they are lost). */
		sent = cm_dp_send_home_queued(dp, peer);
		cm_cnt_add(&dp->sent_home, sent);
	}
	pp->resetting = true;
	pp->reset_at = jiffies;
	pp->insane_at = 0;
	pp->reset_gen++;
	/* The request before the heads of 0: a consumer that reads one
	 * also reads the other (cm_dp_reset_asked()). */
	smp_store_release(&pp->tx.hdr->reset_req, cpu_to_le32(pp->reset_gen));
	for (i = 0; i < CM_PAIR_RINGS; i++) {
		pr = cm_dp_pair_prod(dp, peer, i);
		pr->head = 0;
		pr->published = 0;
		/* Full until the consumer acknowledges (cm_dp_pair_done()). */
		pr->tail_cache = 0 - (pr->mask + 1);
		WRITE_ONCE(pr->hdr->prod_flags, 0);
		smp_store_release(&pr->hdr->head, 0);
	}
	dp->tx_pending &= ~(1ull << peer);
	dp->back_pending &= ~(1ull << peer);
}

/* Step 2: the peer asked (@req): drop what it queued to us, unread. */
static inline void cm_dp_pair_ack(struct cm_dp *dp, u32 peer, u32 req)
{
	struct cm_dp_peer *pp = &dp->peer[peer];
	struct cm_ring_cons *co;
	u32 i;

	for (i = 0; i < CM_PAIR_RINGS; i++) {
		co = cm_dp_pair_cons(dp, peer, i);
		co->tail = 0;
		co->head_cache = 0;
		smp_store_release(&co->hdr->tail, 0);
	}
	pp->reset_acked = req;
	smp_store_release(&pp->data.hdr->reset_ack, cpu_to_le32(req));
	if (!pp->resetting)
		cm_dp_pair_ask(dp, peer);
}

/* Step 3: both ways acknowledged. Our buffers that it held went home
 * or were dropped with its rings: take them all back, send again. */
static inline void cm_dp_pair_done(struct cm_dp *dp, u32 peer,
				   struct cm_dp_change *c)
{
	struct cm_dp_peer *pp = &dp->peer[peer];
	struct cm_ring_prod *pr;
	u32 i;

	for (i = 0; i < CM_PAIR_RINGS; i++) {
		pr = cm_dp_pair_prod(dp, peer, i);
		pr->tail_cache = 0;
	}
	pp->resetting = false;
	c->reset = true;
	c->reclaimed = cm_pool_reclaim(&dp->pool, peer);
	dp->freed |= c->reclaimed != 0;
	cm_cnt_add(&dp->reclaimed, c->reclaimed);
	cm_cnt_add(&pp->resets, 1);
	cm_peers_resynced(&dp->peers, peer);
}

/*
 * cm_dp_reassert - receive, under the transmit lock, when the tick asks
 * (every CM_REASSERT_MS, and every tick while a pair reset is under
 * way): re-assert our indices, carry pair resets on, start one where
 * the indices disagree for good.
 */
static inline void cm_dp_reassert(struct cm_dp *dp,
				  void (*report)(struct cm_dp *dp, u32 peer,
						 const struct cm_dp_change *c))
{
	unsigned long now = jiffies;
	struct cm_dp_change c;
	struct cm_dp_peer *pp;
	u32 p, req;
	bool alive;

	cm_dp_for_each_peer(dp, p) {
		pp = &dp->peer[p];
		alive = cm_node_alive(dp->base, &dp->l, p);
		/* Pairs with its release of reset_req before its heads. */
		req = le32_to_cpu(smp_load_acquire(&pp->data.hdr->reset_req));
		if (req != pp->reset_acked && alive)
			cm_dp_pair_ack(dp, p, req);
		if (pp->resetting) {
			/* Pairs with its release of reset_ack after its tails. */
			if (le32_to_cpu(smp_load_acquire(&pp->tx.hdr->reset_ack)) ==
			    pp->reset_gen && req == pp->reset_acked) {
				memset(&c, 0, sizeof(c));
				cm_dp_pair_done(dp, p, &c);
				if (report)
					report(dp, p, &c);
			} else if (alive &&
				   time_after(now, pp->reset_at +
					      msecs_to_jiffies(CM_RESET_RETRY_MS))) {
				cm_dp_pair_ask(dp, p);
			}
			cm_dp_pair_reassert(dp, p);
			continue;
		}
		cm_dp_pair_reassert(dp, p);
		if (!alive || !cm_dp_pair_insane(dp, p)) {
			pp->insane_at = 0;
		} else if (!pp->insane_at) {
			pp->insane_at = now | 1;
		} else if (time_after(now, pp->insane_at +
				      msecs_to_jiffies(CM_RESET_AFTER_MS))) {
			cm_dp_pair_ask(dp, p);
		}
	}
}

/* Is a pair reset under way, asked by us or of us? The tick's. */
static inline bool cm_dp_reset_pending(struct cm_dp *dp)
{
	struct cm_dp_peer *pp;
	u32 p;

	cm_dp_for_each_peer(dp, p) {
		pp = &dp->peer[p];
		if (READ_ONCE(pp->resetting) ||
		    le32_to_cpu(READ_ONCE(pp->data.hdr->reset_req)) !=
		    READ_ONCE(pp->reset_acked))
			return true;
	}
	return false;
}

/*
 * cm_dp_peer_changes - what the tick saw change (peers.h): peers that died
 * leave us our buffers whose first hop they were, and others' buffers we
 * passed on to them; peers that came (back) may have reset their rings:
 * forget the head we cached of theirs, then send to them again.
 * @report: called per peer with something to say; may be NULL
 *
 * Receive context, under the transmit lock, which every producer holds
 * from its check that the peer may be sent to until cm_pool_take_to():
 * nothing goes to a dead peer after this.
 */
static __always_inline void
cm_dp_peer_changes(struct cm_dp *dp, const struct cm_dp_ops *ops,
		   void (*report)(struct cm_dp *dp, u32 peer,
				  const struct cm_dp_change *c))
{
	struct cm_peers *ps = &dp->peers;
	struct cm_dp_change c;
	u32 p;

	for (p = 0; p < dp->l.p.nodes; p++) {
		if (!test_and_clear_bit(p, ps->reclaim))
			continue;
		memset(&c, 0, sizeof(c));
		c.gone = true;
		/* What it returned before it went is not to take back. */
		cm_dp_returns_from(dp, ops, p, (int)dp->l.ret_slots);
		c.reclaimed = cm_pool_reclaim(&dp->pool, p);
		c.sent_home = cm_dp_send_home_queued(dp, p);
		if (!c.reclaimed && !c.sent_home)
			continue;
		dp->freed |= c.reclaimed != 0;
		cm_cnt_add(&dp->reclaimed, c.reclaimed);
		cm_cnt_add(&dp->sent_home, c.sent_home);
		if (report)
			report(dp, p, &c);
	}
	for (p = 0; p < dp->l.p.nodes; p++) {
		if (!test_and_clear_bit(p, ps->resync))
			continue;
		cm_ring_cons_forget(&dp->peer[p].data);
		if (cm_peers_cut(ps, p) && report) {
			memset(&c, 0, sizeof(c));
			c.back = true;
			report(dp, p, &c);
		}
		/* A pair reset under way sends again once it is over. */
		if (!dp->peer[p].resetting)
			cm_peers_resynced(ps, p);
	}
	if (READ_ONCE(dp->reassert)) {
		WRITE_ONCE(dp->reassert, false);
		cm_dp_reassert(dp, report);
	}
}

/* Anything for cm_dp_peer_changes()? */
static inline bool cm_dp_peer_changes_due(const struct cm_dp *dp)
{
	return !bitmap_empty(dp->peers.reclaim, CHAINMESH_MAX_NODES) ||
	       !bitmap_empty(dp->peers.resync, CHAINMESH_MAX_NODES) ||
	       READ_ONCE(dp->reassert);
}

/* Transmit */

/*
 * cm_dp_route - the next node of a frame
 * @t: the caller's snapshot of our flow table
 * @ctx: the frame's place on a chain, or NULL: then classify @frame
 * @frame: the first @len bytes of the frame (enough for cm_flow_parse())
 *
 * A context that names no chain we are on at that hop is stale (the host
 * changed the chain under the packet): the frame is classified instead,
 * and r->flow says so by not being -1.
 * Return: CM_TX_DROP_NONE with @r filled, or why there is no next node.
 */
static inline enum cm_tx_drop cm_dp_route(const struct cm_ftable *t,
					  const struct cm_ctx *ctx,
					  const u8 *frame, u32 len,
					  struct cm_route *r)
{
	const struct chainmesh_flow *flow;
	const struct chainmesh_fhop *hop;
	struct cm_flow_key key;
	bool parsed = false;
	u16 chain;

	if (ctx && cm_ftable_on_chain(t, ctx->chain, ctx->hop)) {
		chain = ctx->chain;
		r->flow = -1;	/* counted where it entered this node */
	} else {
		cm_flow_parse(frame, len, &key);
		parsed = true;
		flow = cm_flow_lookup(t, &key);
		if (!flow)
			return CM_TX_DROP_NO_FLOW;
		/* The snapshot validated chain < MAX_CHAINS, next < nodes
		 * and != self. */
		chain = le16_to_cpu(flow->chain);
		r->flow = (int)le32_to_cpu(flow->flow_id);
	}
	hop = &t->hops[chain];
	if (!(hop->flags & CHAINMESH_H_VALID))
		return CM_TX_DROP_NO_HOP;
	if (hop->flags & CHAINMESH_H_GROUP) {
		/* A replica group: the flow's replica (group.h), the same
		 * for both directions; the snapshot validated the group. */
		if (!parsed)
			cm_flow_parse(frame, len, &key);
		r->peer = cm_group_pick(&t->groups[chain],
					cm_flow_hash_sym(&key));
		if (r->peer == CHAINMESH_NODE_NONE)
			return CM_TX_DROP_NO_HOP;
	} else if (hop->next == CHAINMESH_NODE_NONE) {
		return CM_TX_DROP_NO_HOP;
	} else {
		r->peer = hop->next;
	}
	r->chain = chain;
	r->hop = hop->hop + 1;
	return CM_TX_DROP_NONE;
}

/* @peer holds its share of our pool. */
static inline bool cm_dp_over_quota(const struct cm_dp *dp, u32 peer)
{
	return cm_pool_held(&dp->pool, peer) >= READ_ONCE(dp->hop_cap);
}

/* Over its share, and nothing of ours came back from it for a while. */
static inline bool cm_dp_hoarder(const struct cm_dp *dp, u32 peer)
{
	return cm_dp_over_quota(dp, peer) &&
	       time_after(jiffies, READ_ONCE(dp->peer[peer].hop_ok) +
			  msecs_to_jiffies(CM_HOARD_MS));
}

/* Our ring to @peer was full and stood still for CM_HOARD_MS. */
static inline bool cm_dp_ring_stuck(const struct cm_dp *dp, u32 peer)
{
	return time_after(jiffies, READ_ONCE(dp->peer[peer].ring_ok) +
			  msecs_to_jiffies(CM_HOARD_MS));
}

/*
 * Can the next frame to @peer go? A buffer, a slot, and the peer under
 * its share. A hoarder's frames, and those to a ring that is stuck, go
 * on, to be dropped by cm_dp_push(): waiting for that hop would stop
 * every other next hop too.
 */
static inline bool cm_dp_tx_room(struct cm_dp *dp, u32 peer)
{
	return cm_pool_avail(&dp->pool) &&
	       (cm_ring_prod_space(&dp->peer[peer].tx) > 0 ||
		cm_dp_ring_stuck(dp, peer)) &&
	       (!cm_dp_over_quota(dp, peer) || cm_dp_hoarder(dp, peer));
}

/* cm_dp_tx_room() for a frame of @n buffers. */
static inline bool cm_dp_tx_room_n(struct cm_dp *dp, u32 peer, u32 n)
{
	if (n <= 1)
		return cm_dp_tx_room(dp, peer);
	return cm_pool_avail(&dp->pool) >= n &&
	       (cm_ring_prod_space_for(&dp->peer[peer].tx, n) >= (int)n ||
		cm_dp_ring_stuck(dp, peer)) &&
	       (cm_pool_held(&dp->pool, peer) + n <= READ_ONCE(dp->hop_cap) ||
		cm_dp_hoarder(dp, peer));
}

/*
 * Can a frame of @n buffers ever go to @peer: the ring, our pool and the
 * share of it the peer may hold are large enough? If not, the embedding
 * segments it (or computes its checksum) and sends it in single buffers.
 */
static inline bool cm_dp_frame_fits(const struct cm_dp *dp, u32 n)
{
	return n <= CHAINMESH_FRAME_MAX_BUFS && n <= dp->l.p.ring_slots &&
	       n <= READ_ONCE(dp->hop_cap);
}

/*
 * A hint from the shared indices of our ring to @peer, for contexts that
 * do not own its producer side (receive, the tick): does it have room,
 * and may the peer hold one more of our buffers?
 */
static inline bool cm_dp_tx_room_hint(const struct cm_dp *dp, u32 peer)
{
	const struct chainmesh_ring_hdr *h = dp->peer[peer].tx.hdr;

	if (le32_to_cpu(READ_ONCE(h->head)) - le32_to_cpu(READ_ONCE(h->tail)) >=
	    dp->l.p.ring_slots)
		return false;
	return !cm_dp_over_quota(dp, peer) || cm_dp_hoarder(dp, peer);
}

/*
 * cm_dp_push - under the transmit lock: queue @d (chain context from @r,
 * none for CM_ROUTE_NO_CTX) to r->peer, published by the next
 * cm_dp_tx_flush()
 *
 * Return: CM_TX_DROP_NONE, or why it was not queued.
 */
static inline enum cm_tx_drop cm_dp_push(struct cm_dp *dp,
					 const struct cm_route *r,
					 const struct cm_desc *d)
{
	struct cm_dp_peer *pp = &dp->peer[r->peer];
	struct cm_desc out = *d;
	int space;

	if (unlikely(!cm_dp_peer_up(dp, r->peer)))
		return CM_TX_DROP_PEER_DOWN;
	if (unlikely(cm_dp_fenced(dp)))
		return CM_TX_DROP_FENCED;
	/* Our buffers only: one passed on as it is costs our pool nothing. */
	if (unlikely(cm_dp_own(dp, d->addr) && cm_dp_over_quota(dp, r->peer)))
		return CM_TX_DROP_QUOTA;
	space = cm_ring_prod_space(&pp->tx);
	if (unlikely(space <= 0))
		return space ? CM_TX_DROP_RING_BAD : CM_TX_DROP_RING_FULL;
	if (likely(r->chain != CM_ROUTE_NO_CTX)) {
		cm_desc_set_ctx(&out, r->chain, r->hop);
	} else {
		out.chain = 0;
		out.hop = 0;
		out.flags = 0;
	}
	cm_ring_push_desc(&pp->tx, &out);
	cm_ring_space_ok(&pp->tx);
	dp->tx_pending |= 1ull << r->peer;
	cm_ctr_add(&pp->txc, d->len);
	return CM_TX_DROP_NONE;
}

/*
 * cm_dp_send - under the transmit lock: a frame of this node, copied
 * into a buffer of its pool, to r->peer
 * @copy: copies the frame's @len bytes to @buf; false: it could not
 * @d: set to the descriptor sent
 *
 * Return: CM_TX_DROP_NONE, or why it was dropped (counted by the caller).
 */
static __always_inline enum cm_tx_drop
cm_dp_send(struct cm_dp *dp, const struct cm_route *r, u32 len,
	   bool (*copy)(u8 *buf, u32 len, const void *src), const void *src,
	   struct cm_desc *d)
{
	enum cm_tx_drop why;
	u32 idx;
	u8 *buf;

	buf = cm_tx_buf(&dp->pool, dp->base, &dp->l, dp->self, &idx, d);
	if (unlikely(!buf))
		return CM_TX_DROP_NO_BUF;
	if (unlikely(!copy(buf, len, src)))
		return CM_TX_DROP_LEN;
	d->len = (u16)len;
	cm_frame_set_dest(dp->base, &dp->l, buf, r->peer);
	why = cm_dp_push(dp, r, d);
	if (unlikely(why))
		return why;
	cm_pool_take_to(&dp->pool, idx, r->peer);
	return CM_TX_DROP_NONE;
}

/*
 * cm_dp_send_frame - under the transmit lock: a frame of this node of
 * @len bytes (up to CHAINMESH_FRAME_MAX_LEN), copied into as many buffers
 * of its pool as it takes, to r->peer, which announced
 * CHAINMESH_NF_OFFLOAD (the caller checked); one chain of descriptors,
 * published whole by the next cm_dp_tx_flush()
 * @oh: its offload header, or NULL
 * @copy: copies @len bytes from @off of the frame to @buf; false: it
 *	  could not
 *
 * Return: CM_TX_DROP_NONE, or why it was dropped (counted by the caller).
 */
static __always_inline enum cm_tx_drop
cm_dp_send_frame(struct cm_dp *dp, const struct cm_route *r, u32 len,
		 const struct chainmesh_offload *oh,
		 bool (*copy)(u8 *buf, u32 off, u32 len, const void *src),
		 const void *src)
{
	u32 room = dp->l.p.buf_size - CHAINMESH_HEADROOM;
	u32 n = cm_dp_frame_bufs(dp, len), i, idx, piece;
	struct cm_dp_peer *pp = &dp->peer[r->peer];
	struct cm_desc d;
	int space;
	u8 *buf;

	if (unlikely(len < 14 || len > CHAINMESH_FRAME_MAX_LEN ||
		     !cm_dp_frame_fits(dp, n)))
		return CM_TX_DROP_LEN;
	if (unlikely(!cm_dp_peer_up(dp, r->peer)))
		return CM_TX_DROP_PEER_DOWN;
	if (unlikely(cm_dp_fenced(dp)))
		return CM_TX_DROP_FENCED;
	if (unlikely(cm_pool_avail(&dp->pool) < n))
		return CM_TX_DROP_NO_BUF;
	if (unlikely(cm_pool_held(&dp->pool, r->peer) + n >
		     READ_ONCE(dp->hop_cap)))
		return CM_TX_DROP_QUOTA;
	space = cm_ring_prod_space_for(&pp->tx, n);
	if (unlikely(space < (int)n))
		return space < 0 ? CM_TX_DROP_RING_BAD : CM_TX_DROP_RING_FULL;

	/* Copy into the buffers first: nothing is pushed or taken if a copy
	 * fails. */
	for (i = 0; i < n; i++) {
		idx = cm_pool_peek_nth(&dp->pool, i);
		buf = (u8 *)dp->base + cm_buf_addr(&dp->l, dp->self, idx);
		piece = len - i * room < room ? len - i * room : room;
		if (unlikely(!copy(buf + CHAINMESH_HEADROOM, i * room, piece,
				   src)))
			return CM_TX_DROP_LEN;
		if (!i) {
			cm_frame_set_dest(dp->base, &dp->l,
					  buf + CHAINMESH_HEADROOM, r->peer);
			if (oh)
				memcpy(buf, oh, sizeof(*oh));
		}
	}
	for (i = 0; i < n; i++) {
		idx = cm_pool_peek_nth(&dp->pool, i);
		d.addr = cm_buf_addr(&dp->l, dp->self, idx);
		d.data_off = CHAINMESH_HEADROOM;
		d.len = (u16)(len - i * room < room ? len - i * room : room);
		if (i) {
			d.chain = 0;
			d.hop = 0;
			d.flags = 0;
		} else if (r->chain != CM_ROUTE_NO_CTX) {
			cm_desc_set_ctx(&d, r->chain, r->hop);
		} else {
			d.chain = 0;
			d.hop = 0;
			d.flags = 0;
		}
		if (!i && oh)
			d.flags |= CHAINMESH_D_OFFLOAD;
		if (i + 1 < n)
			d.flags |= CHAINMESH_D_MORE;
		cm_ring_push_desc(&pp->tx, &d);
	}
	for (i = 0; i < n; i++)
		cm_pool_take_to(&dp->pool, cm_pool_peek_nth(&dp->pool, 0),
				r->peer);
	cm_ring_space_ok(&pp->tx);
	dp->tx_pending |= 1ull << r->peer;
	cm_ctr_add(&pp->txc, len);
	return CM_TX_DROP_NONE;
}

/* Under the transmit lock: make what we pushed visible, and ring
 * whoever asked for it. */
static __always_inline void cm_dp_tx_flush(struct cm_dp *dp,
					   const struct cm_dp_ops *ops)
{
	unsigned int p;

	cm_for_each_node(p, dp->tx_pending)
		if (cm_ring_publish(&dp->peer[p].tx))
			ops->kick(dp, p);
	dp->tx_pending = 0;
}

static inline void cm_dp_tx_drop(struct cm_dp *dp, enum cm_tx_drop why)
{
	cm_cnt_add(&dp->tx_drops[why], 1);
}

static inline void cm_dp_tx_count(struct cm_dp *dp, enum cm_tx_stat what,
				  u32 n)
{
	cm_cnt_add(&dp->tx_stats[what], n);
}

/* A frame of this node's own went out: `ip -s link` tx, its flow. */
static inline void cm_dp_tx_sent(struct cm_dp *dp, const struct cm_route *r,
				 u32 len, bool ctx)
{
	cm_ctr_add(&dp->tx_total, len);
	if (r->flow >= 0)
		cm_ctr_add(&dp->tx_flows[r->flow], len);
	if (ctx)
		cm_dp_tx_count(dp, r->flow < 0 ? CM_TX_CTX : CM_TX_CTX_STALE, 1);
}

/*
 * Node and per-flow counters into the region, for the host's `node
 * show` and `flow show`, summed over the node's @n lanes (one struct
 * cm_dp each, @dps[0] the first); the caller (the tick) is their one
 * writer.
 */
static inline void cm_dp_stats_publish_lanes(struct cm_dp *const *dps, u32 n)
{
	struct cm_dp *dp = dps[0];
	struct chainmesh_node_stats *ns = cm_stats(dp->base, &dp->l, dp->self);
	struct chainmesh_flow_stats *fs =
		cm_flow_stats(dp->base, &dp->l, dp->self);
	u64 drops = 0, bad = 0, packets, bytes;
	u64 rxp = 0, rxb = 0, txp = 0, txb = 0;
	u32 i, q;

	for (q = 0; q < n; q++) {
		dp = dps[q];
		for (i = 0; i < __CM_TX_DROP_MAX; i++)
			drops += READ_ONCE(dp->tx_drops[i]);
		for (i = 0; i < __CM_RX_DROP_MAX; i++)
			drops += READ_ONCE(dp->rx_drops[i]);
		for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
			bad += READ_ONCE(dp->rx_bad[i]);
		drops += READ_ONCE(dp->tx_stats[CM_TX_XDP_TX_DROP]) +
			 READ_ONCE(dp->tx_stats[CM_TX_XDP_XMIT_DROP]);
		/* The node's view: every frame from and to peers, XDP's
		 * included. */
		cm_dp_for_each_peer(dp, i) {
			rxp += READ_ONCE(dp->peer[i].rx.packets);
			rxb += READ_ONCE(dp->peer[i].rx.bytes);
			txp += READ_ONCE(dp->peer[i].txc.packets);
			txb += READ_ONCE(dp->peer[i].txc.bytes);
		}
	}
	WRITE_ONCE(ns->rx_packets, cpu_to_le64(rxp));
	WRITE_ONCE(ns->rx_bytes, cpu_to_le64(rxb));
	WRITE_ONCE(ns->tx_packets, cpu_to_le64(txp));
	WRITE_ONCE(ns->tx_bytes, cpu_to_le64(txb));
	WRITE_ONCE(ns->drops, cpu_to_le64(drops));
	WRITE_ONCE(ns->bad_desc, cpu_to_le64(bad));

	for (i = 0; i < dp->l.p.max_flows; i++) {
		packets = 0;
		bytes = 0;
		for (q = 0; q < n; q++) {
			packets += READ_ONCE(dps[q]->tx_flows[i].packets) +
				   READ_ONCE(dps[q]->rx_flows[i].packets);
			bytes += READ_ONCE(dps[q]->tx_flows[i].bytes) +
				 READ_ONCE(dps[q]->rx_flows[i].bytes);
		}
		/* Leave untouched lines alone: the host reads them. */
		if (le64_to_cpu(READ_ONCE(fs[i].packets)) != packets)
			WRITE_ONCE(fs[i].packets, cpu_to_le64(packets));
		if (le64_to_cpu(READ_ONCE(fs[i].bytes)) != bytes)
			WRITE_ONCE(fs[i].bytes, cpu_to_le64(bytes));
	}
}

static inline void cm_dp_stats_publish(struct cm_dp *dp)
{
	cm_dp_stats_publish_lanes(&dp, 1);
}

/*
 * cm_dp_tick_lanes - the node's tick (every 100 ms) over its @n lanes:
 * who died, who came (back), whom some lane judged broken (published in
 * our node entry for the host), quotas, counters (summed)
 * @any: set when some peer is alive to us (the carrier)
 *
 * Return: true when receive has peer changes to carry out (on any lane).
 */
static inline bool cm_dp_tick_lanes(struct cm_dp *const *dps, u32 n,
				    bool *any)
{
	struct cm_dp *d0 = dps[0];
	unsigned long now = jiffies;
	bool work = false, live;
	u64 blame = 0;
	u32 q, nf;

	*any = false;
	for (q = 0; q < n; q++) {
		struct cm_dp *dp = dps[q];

		work |= cm_peers_tick(&dp->peers, dp->base, &dp->l, dp->self,
				      &live);
		*any |= live;
		blame |= READ_ONCE(dp->peers.blame);
		if (!READ_ONCE(dp->by_hand) &&
		    (time_after_eq(now, dp->reassert_at +
				   msecs_to_jiffies(CM_REASSERT_MS)) ||
		     cm_dp_reset_pending(dp))) {
			dp->reassert_at = now;
			WRITE_ONCE(dp->reassert, true);
			work = true;
		}
		cm_dp_quota_tick(dp);
	}
	WRITE_ONCE(d0->node->blame, cpu_to_le64(blame));
	/* What else of our node entry only we write (the owner writes
	 * state and epoch; the host's verdict makes it rejoin if forged):
	 * our MAC and the features we announce, lane 0's. */
	if (d0->mac_set && memcmp(d0->node->mac, d0->mac, sizeof(d0->mac)))
		memcpy(d0->node->mac, d0->mac, sizeof(d0->mac));
	nf = READ_ONCE(d0->features);
	if (le32_to_cpu(READ_ONCE(d0->node->features)) != nf)
		WRITE_ONCE(d0->node->features, cpu_to_le32(nf));
	cm_dp_stats_publish_lanes(dps, n);
	return work;
}

/* The tick of a node of one lane. */
static inline bool cm_dp_tick(struct cm_dp *dp, bool *any)
{
	return cm_dp_tick_lanes(&dp, 1, any);
}

#endif /* _CHAINMESH_DP_H */
