// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh host: node 0's netdev, the chain's ingress and egress.
 *
 * Transmit classifies the frame with node 0's flow table, copies it into a
 * buffer of node 0's pool and pushes the buffer to the next node of the
 * flow's chain. NAPI consumes the inbound data rings (frames leaving their
 * chain here: copied into an skb, the buffer sent home at once) and the
 * inbound return rings (our buffers coming back).
 *
 * Node 0's table is compiled by this module: the datapath reads the
 * private compiled copy (RCU), never the one in shared memory, which any
 * peer could scribble on. Everything else a peer writes (descriptors,
 * ring indices, returned offsets) is read once and validated, as in a
 * guest.
 *
 * The buffer pool, the datapath steps that need no sk_buff, and what a
 * node knows of its peers (who is alive to it, whom it judged broken) are
 * the guests' own: include/chainmesh/pool.h, datapath.h and peers.h.
 * Node 0's judgments reach the watcher directly (cm_hnode_blame()).
 */
#include <linux/bitmap.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/rcupdate.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/u64_stats_sync.h>

#include <chainmesh/datapath.h>
#include <chainmesh/flow.h>
#include <chainmesh/peers.h>
#include <chainmesh/pool.h>
#include <chainmesh/ring.h>

#include "mesh.h"
#include "node.h"

struct cm_hctr {
	u64_stats_t packets;
	u64_stats_t bytes;
};

/* Node 0's compiled table, replaced as a whole under RCU; one
 * allocation, @t's entries and index right after it. */
struct cm_hft {
	struct rcu_head rcu;
	struct cm_ftable t;	/* last */
};

struct cm_hrx_peer {
	struct cm_ring_cons data;	/* data ring peer -> 0 */
	struct cm_ring_cons ret;	/* return ring peer -> 0: ours coming back */
	struct cm_ring_prod back;	/* return ring 0 -> peer: theirs going home */
};

struct cm_hnode {
	struct net_device *dev;
	struct cm_mesh *m;
	void *base;
	const struct cm_layout *l;	/* the mesh's, fixed for its life */
	u32 self;
	struct cm_hft __rcu *ft;

	struct cm_pool pool;		/* transmit takes, NAPI puts back */

	/* Transmit, under the netdev's tx lock (one queue). */
	struct cm_ring_prod *tx ____cacheline_aligned_in_smp;
	DECLARE_BITMAP(tx_pending, CHAINMESH_MAX_NODES);
	struct cm_hctr tx_total;
	struct cm_hctr *tx_flows;
	u64_stats_t tx_drops;
	struct u64_stats_sync tx_syncp;

	/* Receive, in NAPI only. */
	struct napi_struct napi ____cacheline_aligned_in_smp;
	struct cm_hrx_peer *rx;
	DECLARE_BITMAP(back_pending, CHAINMESH_MAX_NODES);
	DECLARE_BITMAP(released, CHAINMESH_MAX_NODES);	/* data rings */
	u32 first;
	bool armed;
	bool freed;
	struct cm_peers peers;		/* the watcher's tick, NAPI, transmit */
	struct cm_hctr rx_total;
	struct cm_hctr *rx_flows;
	u64_stats_t rx_drops;
	u64_stats_t rx_bad;
	struct u64_stats_sync rx_syncp;
};

static u64 cm_hstat(const u64_stats_t *v, const struct u64_stats_sync *syncp)
{
	unsigned int start;
	u64 val;

	do {
		start = u64_stats_fetch_begin(syncp);
		val = u64_stats_read(v);
	} while (u64_stats_fetch_retry(syncp, start));
	return val;
}

static void cm_hctr_add(struct cm_hctr *c, u32 len)
{
	u64_stats_inc(&c->packets);
	u64_stats_add(&c->bytes, len);
}

static void cm_hnode_kick(struct cm_hnode *hn, u32 peer)
{
	hn->m->bell->kick(hn->m, peer);
}

/* Our buffers one next hop may hold: peer_share percent of the pool. */
static u32 cm_hnode_hop_cap(struct cm_hnode *hn)
{
	u32 share = clamp_val(READ_ONCE(cm_peer_share), 1, 100);

	return max(1U, hn->pool.nbufs * share / 100);
}

/* Transmit */

static void cm_hnode_tx_flush(struct cm_hnode *hn)
{
	unsigned int peer;

	for_each_set_bit(peer, hn->tx_pending, CHAINMESH_MAX_NODES) {
		__clear_bit(peer, hn->tx_pending);
		if (cm_ring_publish(&hn->tx[peer]))
			cm_hnode_kick(hn, peer);
	}
}

static bool cm_hnode_tx_room(struct cm_hnode *hn, struct cm_ring_prod *ring)
{
	return cm_pool_avail(&hn->pool) && cm_ring_prod_space(ring) > 0;
}

/* Stop before the next frame finds no buffer or a full ring; NAPI wakes
 * the queue when buffers come back, which is when the peer consumed. */
static void cm_hnode_tx_maybe_stop(struct cm_hnode *hn, struct cm_ring_prod *ring)
{
	if (likely(cm_hnode_tx_room(hn, ring)))
		return;
	netif_stop_queue(hn->dev);
	/* Pairs with cm_hnode_tx_wake(). */
	smp_mb();
	if (cm_hnode_tx_room(hn, ring))
		netif_start_queue(hn->dev);
}

static void cm_hnode_tx_wake(struct cm_hnode *hn)
{
	/* Pairs with cm_hnode_tx_maybe_stop(). */
	smp_mb();
	if (unlikely(netif_queue_stopped(hn->dev)) && netif_running(hn->dev) &&
	    cm_pool_count(&hn->pool))
		netif_wake_queue(hn->dev);
}

/* The next hop of the frame's flow: false when there is none. */
static bool cm_hnode_classify(struct cm_hnode *hn, const u8 *frame, u32 len,
			      struct chainmesh_fhop *hop, u16 *chain, u32 *flow_id)
{
	const struct chainmesh_flow *flow;
	const struct cm_hft *ft;
	struct cm_flow_key key;
	bool ok = false;

	cm_flow_parse(frame, len, &key);
	rcu_read_lock();
	ft = rcu_dereference(hn->ft);
	flow = cm_flow_lookup(&ft->t, &key);
	if (flow) {
		*chain = le16_to_cpu(flow->chain);
		*flow_id = le32_to_cpu(flow->flow_id);
		*hop = ft->t.hops[*chain];
		ok = true;
	}
	rcu_read_unlock();
	/* Compiled here: chain < MAX_CHAINS, next < nodes and not us. */
	return ok && (hop->flags & CHAINMESH_H_VALID) &&
	       hop->next != CHAINMESH_NODE_NONE;
}

static netdev_tx_t cm_hnode_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct cm_hnode *hn = netdev_priv(dev);
	const struct cm_layout *l = hn->l;
	u32 len = skb->len, flow_id, idx;
	struct chainmesh_fhop hop;
	struct cm_ring_prod *ring;
	u8 copy[CM_PARSE_LEN];
	const u8 *frame;
	struct cm_desc d;
	u16 chain;
	u8 *buf;

	if (unlikely(len < ETH_HLEN || len > l->p.buf_size - CHAINMESH_HEADROOM))
		goto drop;
	frame = skb_header_pointer(skb, 0, min_t(u32, len, CM_PARSE_LEN), copy);
	if (unlikely(!frame))
		goto drop;
	if (!cm_hnode_classify(hn, frame, min_t(u32, len, CM_PARSE_LEN), &hop,
			       &chain, &flow_id))
		goto drop;
	if (unlikely(!cm_peers_tx_ok(&hn->peers, hn->base, l, hop.next)))
		goto drop;
	/* A peer that keeps what it is sent takes no more than its share. */
	if (unlikely(cm_pool_held(&hn->pool, hop.next) >= cm_hnode_hop_cap(hn)))
		goto drop;
	ring = &hn->tx[hop.next];
	if (unlikely(cm_ring_prod_space(ring) <= 0))
		goto drop;
	buf = cm_tx_buf(&hn->pool, hn->base, l, hn->self, &idx, &d);
	if (unlikely(!buf))
		goto drop;
	if (unlikely(skb_copy_bits(skb, 0, buf, len)))
		goto drop;
	cm_frame_set_dest(hn->base, l, buf, hop.next);
	cm_pool_take_to(&hn->pool, idx, hop.next);

	d.len = len;
	/* hop: the receiver's place on the chain */
	cm_desc_set_ctx(&d, chain, hop.hop + 1);
	cm_ring_push_desc(ring, &d);
	__set_bit(hop.next, hn->tx_pending);

	u64_stats_update_begin(&hn->tx_syncp);
	cm_hctr_add(&hn->tx_total, len);
	cm_hctr_add(&hn->tx_flows[flow_id], len);
	u64_stats_update_end(&hn->tx_syncp);

	cm_hnode_tx_maybe_stop(hn, ring);
	dev_consume_skb_any(skb);
	goto out;

drop:
	u64_stats_update_begin(&hn->tx_syncp);
	u64_stats_inc(&hn->tx_drops);
	u64_stats_update_end(&hn->tx_syncp);
	dev_kfree_skb_any(skb);
out:
	if (!netdev_xmit_more() || netif_queue_stopped(dev))
		cm_hnode_tx_flush(hn);
	return NETDEV_TX_OK;
}

/* Receive */

/* @n bad inputs from @peer that count against it: judge it. */
static void cm_hnode_judge(struct cm_hnode *hn, u32 peer, u32 n)
{
	if (!cm_peers_bad(&hn->peers, hn->base, hn->l, peer, n,
			  READ_ONCE(cm_bad_limit), READ_ONCE(cm_bad_window_ms)))
		return;
	netdev_warn(hn->dev,
		    "node %u sent %u bad descriptors or indices within %u ms: broken, no longer read\n",
		    peer, READ_ONCE(cm_bad_limit), READ_ONCE(cm_bad_window_ms));
}

static void cm_hnode_rx_bad(struct cm_hnode *hn, u32 peer, enum cm_bad why)
{
	u64_stats_update_begin(&hn->rx_syncp);
	u64_stats_inc(&hn->rx_bad);
	u64_stats_update_end(&hn->rx_syncp);
	if (cm_bad_blames(why))
		cm_hnode_judge(hn, peer, 1);
}

static void cm_hnode_rx_drop(struct cm_hnode *hn)
{
	u64_stats_update_begin(&hn->rx_syncp);
	u64_stats_inc(&hn->rx_drops);
	u64_stats_update_end(&hn->rx_syncp);
}

/* A buffer's journey ends here, @from sent it: send it home. */
static void cm_hnode_give_back(struct cm_hnode *hn, u32 from, u32 owner,
			       u32 idx, u64 addr)
{
	struct cm_ring_prod *back;
	enum cm_bad why;

	if (owner == hn->self) {
		why = cm_pool_put(&hn->pool, idx);
		if (why)
			cm_hnode_rx_bad(hn, from, why);
		else
			hn->freed = true;
		return;
	}
	back = &hn->rx[owner].back;
	/* ret_slots >= bufs_per_node: full only if the owner misbehaves. */
	if (unlikely(cm_ring_prod_space(back) <= 0)) {
		cm_hnode_rx_drop(hn);
		return;
	}
	cm_ring_push_addr(back, addr);
	__set_bit(owner, hn->back_pending);
}

/* The flow a frame leaving its chain here counts against, or -1; chain
 * context, when given, must name a chain node 0 is on, at our hop. */
static int cm_hnode_rx_flow(struct cm_hnode *hn, const struct cm_desc *d,
			    const u8 *frame, bool *bad)
{
	const struct cm_hft *ft;
	int id = -1;

	rcu_read_lock();
	ft = rcu_dereference(hn->ft);
	*bad = !cm_desc_ctx_ok(&ft->t, d);
	if (!*bad)
		id = cm_desc_flow(&ft->t, d, frame);
	rcu_read_unlock();
	return id;
}

static void cm_hnode_rx_one(struct cm_hnode *hn, u32 from,
			    const struct cm_desc *d)
{
	const struct cm_layout *l = hn->l;
	struct sk_buff *skb;
	u32 owner, idx;
	enum cm_bad why;
	bool bad;
	int flow;

	why = cm_desc_check(l, d, &owner, &idx);
	if (unlikely(why)) {
		cm_hnode_rx_bad(hn, from, why);
		if (why == CM_BAD_LEN)
			goto give_back;
		/* Not a buffer at all: nothing we may hand back. */
		return;
	}
	if (unlikely(!netif_running(hn->dev))) {
		cm_hnode_rx_drop(hn);
		goto give_back;
	}
	skb = napi_alloc_skb(&hn->napi, d->len);
	if (unlikely(!skb)) {
		cm_hnode_rx_drop(hn);
		goto give_back;
	}
	/* Peers may write the buffer at any time: copy once, look at the copy. */
	skb_put_data(skb, (u8 *)hn->base + d->addr + d->data_off, d->len);
	cm_hnode_give_back(hn, from, owner, idx, d->addr);

	flow = cm_hnode_rx_flow(hn, d, skb->data, &bad);
	if (unlikely(bad)) {
		cm_hnode_rx_bad(hn, from, CM_BAD_CHAIN);
		napi_consume_skb(skb, 1);
		return;
	}
	u64_stats_update_begin(&hn->rx_syncp);
	cm_hctr_add(&hn->rx_total, d->len);
	if (flow >= 0)
		cm_hctr_add(&hn->rx_flows[flow], d->len);
	u64_stats_update_end(&hn->rx_syncp);
	skb->protocol = eth_type_trans(skb, hn->dev);
	napi_gro_receive(&hn->napi, skb);
	return;

give_back:
	cm_hnode_give_back(hn, from, owner, idx, d->addr);
}

/* Up to @quota descriptors from @from; no burst after the one in which
 * it is judged broken. */
static int cm_hnode_rx_data(struct cm_hnode *hn, u32 from, int quota)
{
	struct cm_ring_cons *c = &hn->rx[from].data;
	struct cm_desc d[CM_RX_BURST];
	u32 done, burst, i;
	int n;

	n = cm_ring_cons_avail(c);
	if (unlikely(n < 0)) {
		cm_hnode_rx_bad(hn, from, CM_BAD_INDEX);
		return 0;
	}
	n = min(n, quota);
	for (done = 0; done < (u32)n; done += burst) {
		burst = cm_rx_pop_burst(c, hn->base, hn->l, d, n - done);
		for (i = 0; i < burst; i++)
			cm_hnode_rx_one(hn, from, &d[i]);
		/* The rest of a burst already copied out is checked as usual. */
		if (unlikely(cm_peers_cut(&hn->peers, from))) {
			done += burst;
			break;
		}
	}
	if (done) {
		cm_ring_release(c);
		__set_bit(from, hn->released);
	}
	return done;
}

/* Our buffers coming back from @p, a peer we cut included (they are
 * ours, each checked against its in-flight byte). */
static void cm_hnode_rx_returns_from(struct cm_hnode *hn, u32 p)
{
	struct cm_ret_tally t;
	u32 why, n = 0;

	cm_pool_drain_ret(&hn->pool, hn->l, hn->self, &hn->rx[p].ret, &t);
	if (t.freed)
		hn->freed = true;
	if (likely(!t.bad))
		return;
	u64_stats_update_begin(&hn->rx_syncp);
	u64_stats_add(&hn->rx_bad, t.bad);
	u64_stats_update_end(&hn->rx_syncp);
	for (why = CM_BAD_NONE + 1; why < __CM_BAD_MAX; why++)
		if (cm_bad_blames(why))
			n += t.why[why];
	cm_hnode_judge(hn, p, n);
}

/* Transmit completions, not charged to budget. */
static void cm_hnode_rx_returns(struct cm_hnode *hn)
{
	u32 p;

	for (p = 0; p < hn->l->p.nodes; p++)
		if (p != hn->self)
			cm_hnode_rx_returns_from(hn, p);
}

static void cm_hnode_rx_flush(struct cm_hnode *hn)
{
	unsigned int owner;

	for_each_set_bit(owner, hn->back_pending, CHAINMESH_MAX_NODES) {
		__clear_bit(owner, hn->back_pending);
		if (cm_ring_publish(&hn->rx[owner].back))
			cm_hnode_kick(hn, owner);
	}
	if (bitmap_empty(hn->released, CHAINMESH_MAX_NODES))
		return;
	/* [S2] pairs with [S1]: tail stores before prod_flags loads. */
	smp_mb();
	for_each_set_bit(owner, hn->released, CHAINMESH_MAX_NODES) {
		__clear_bit(owner, hn->released);
		if (cm_ring_space_wanted(&hn->rx[owner].data))
			cm_hnode_kick(hn, owner);
	}
}

/* Ask every producer for a doorbell; true when entries arrived meanwhile
 * (ring.h [K2]). A cut peer's data ring asks for none. */
static bool cm_hnode_arm(struct cm_hnode *hn)
{
	bool more = false;
	u32 p;

	for (p = 0; p < hn->l->p.nodes; p++) {
		if (p == hn->self)
			continue;
		if (cm_peers_cut(&hn->peers, p))
			cm_ring_no_kick(&hn->rx[p].data);
		else
			more |= cm_ring_want_kick(&hn->rx[p].data);
		more |= cm_ring_want_kick(&hn->rx[p].ret);
	}
	hn->armed = true;
	return more;
}

static void cm_hnode_disarm(struct cm_hnode *hn)
{
	u32 p;

	if (!hn->armed)
		return;
	for (p = 0; p < hn->l->p.nodes; p++) {
		if (p == hn->self)
			continue;
		cm_ring_no_kick(&hn->rx[p].data);
		cm_ring_no_kick(&hn->rx[p].ret);
	}
	hn->armed = false;
}

/*
 * What the tick saw change (include/chainmesh/peers.h): peers that died
 * leave us our buffers whose first hop they were (node 0 passes on no
 * one else's); peers that came (back) may have reset their rings: forget
 * the head we cached of theirs, then send to them again. Under the tx
 * lock, held by transmit from its check that the peer may be sent to
 * until cm_pool_take_to(): nothing goes to a dead peer after this. See
 * Documentation/architecture.rst, "Lifecycle".
 */
static void cm_hnode_peer_changes(struct cm_hnode *hn)
{
	struct netdev_queue *txq = netdev_get_tx_queue(hn->dev, 0);
	struct cm_peers *ps = &hn->peers;
	u32 p, n;

	__netif_tx_lock(txq, smp_processor_id());
	for (p = 0; p < hn->l->p.nodes; p++) {
		if (!test_and_clear_bit(p, ps->reclaim))
			continue;
		/* What it returned before it went is not to take back. */
		cm_hnode_rx_returns_from(hn, p);
		n = cm_pool_reclaim(&hn->pool, p);
		if (!n)
			continue;
		hn->freed = true;
		netdev_info(hn->dev, "node %u is gone: %u buffers taken back\n",
			    p, n);
	}
	for (p = 0; p < hn->l->p.nodes; p++) {
		if (!test_and_clear_bit(p, ps->resync))
			continue;
		cm_ring_cons_forget(&hn->rx[p].data);
		if (cm_peers_cut(ps, p))
			netdev_info(hn->dev, "node %u is back (epoch %u): read again\n",
				    p, READ_ONCE(ps->epoch[p]));
		cm_peers_resynced(ps, p);
	}
	__netif_tx_unlock(txq);
}

static int cm_hnode_poll(struct napi_struct *napi, int budget)
{
	struct cm_hnode *hn = container_of(napi, struct cm_hnode, napi);
	u32 nodes = hn->l->p.nodes, i, p;
	struct cm_peers *ps = &hn->peers;
	int done = 0;

	cm_hnode_disarm(hn);
	cm_hnode_rx_returns(hn);
	if (budget) {
		/* Not from netpoll (budget 0), which may hold the tx lock. */
		if (unlikely(!bitmap_empty(ps->reclaim, CHAINMESH_MAX_NODES) ||
			     !bitmap_empty(ps->resync, CHAINMESH_MAX_NODES)))
			cm_hnode_peer_changes(hn);
		for (i = 0, p = hn->first; i < nodes && done < budget; i++) {
			if (p != hn->self && !cm_peers_cut(ps, p))
				done += cm_hnode_rx_data(hn, p, budget - done);
			if (++p == nodes)
				p = 0;
		}
		if (++hn->first == nodes)
			hn->first = 0;
	}
	cm_hnode_rx_flush(hn);
	if (hn->freed) {
		hn->freed = false;
		cm_hnode_tx_wake(hn);
	}
	if (done < budget && napi_complete_done(napi, done) && cm_hnode_arm(hn))
		napi_schedule(napi);
	return done;
}

/* Node 0's doorbell rang: hard interrupt or irq_work context. */
void cm_hnode_kicked(struct cm_hnode *hn)
{
	napi_schedule(&hn->napi);
}

static void cm_hnode_poke(struct cm_hnode *hn)
{
	local_bh_disable();
	napi_schedule(&hn->napi);
	local_bh_enable();
}

/* The netdev */

static int cm_hnode_open(struct net_device *dev)
{
	netif_start_queue(dev);
	return 0;
}

/* The node stays in the mesh: NAPI keeps sending peers' buffers home. */
static int cm_hnode_stop(struct net_device *dev)
{
	netif_stop_queue(dev);
	return 0;
}

static void cm_hnode_get_stats64(struct net_device *dev,
				 struct rtnl_link_stats64 *s)
{
	struct cm_hnode *hn = netdev_priv(dev);

	s->tx_packets = cm_hstat(&hn->tx_total.packets, &hn->tx_syncp);
	s->tx_bytes = cm_hstat(&hn->tx_total.bytes, &hn->tx_syncp);
	s->tx_dropped = cm_hstat(&hn->tx_drops, &hn->tx_syncp);
	s->rx_packets = cm_hstat(&hn->rx_total.packets, &hn->rx_syncp);
	s->rx_bytes = cm_hstat(&hn->rx_total.bytes, &hn->rx_syncp);
	s->rx_dropped = cm_hstat(&hn->rx_drops, &hn->rx_syncp);
	s->rx_errors = cm_hstat(&hn->rx_bad, &hn->rx_syncp);
	s->rx_frame_errors = s->rx_errors;
}

static const struct net_device_ops cm_hnode_netdev_ops = {
	.ndo_open		= cm_hnode_open,
	.ndo_stop		= cm_hnode_stop,
	.ndo_start_xmit		= cm_hnode_xmit,
	.ndo_get_stats64	= cm_hnode_get_stats64,
	.ndo_validate_addr	= eth_validate_addr,
};

static void cm_hnode_get_drvinfo(struct net_device *dev,
				 struct ethtool_drvinfo *info)
{
	struct cm_hnode *hn = netdev_priv(dev);

	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
	strscpy(info->bus_info, hn->m->name, sizeof(info->bus_info));
}

static const struct ethtool_ops cm_hnode_ethtool_ops = {
	.get_drvinfo		= cm_hnode_get_drvinfo,
	.get_link		= ethtool_op_get_link,
};

static void cm_hnode_setup(struct net_device *dev)
{
	ether_setup(dev);
	dev->netdev_ops = &cm_hnode_netdev_ops;
	dev->ethtool_ops = &cm_hnode_ethtool_ops;
	/* The mesh routes by flow table and rewrites h_dest: no ARP. */
	dev->flags |= IFF_NOARP;
	dev->min_mtu = ETH_MIN_MTU;
}

/* Node 0's counters into the region, for `node show` and `flow show`;
 * the watcher is their one writer. */
static void cm_hnode_stats_publish(struct cm_hnode *hn)
{
	struct chainmesh_node_stats *ns = cm_stats(hn->base, hn->l, hn->self);
	struct chainmesh_flow_stats *fs = cm_flow_stats(hn->base, hn->l, hn->self);
	u64 packets, bytes;
	u32 i;

	WRITE_ONCE(ns->rx_packets, cpu_to_le64(cm_hstat(&hn->rx_total.packets, &hn->rx_syncp)));
	WRITE_ONCE(ns->rx_bytes, cpu_to_le64(cm_hstat(&hn->rx_total.bytes, &hn->rx_syncp)));
	WRITE_ONCE(ns->tx_packets, cpu_to_le64(cm_hstat(&hn->tx_total.packets, &hn->tx_syncp)));
	WRITE_ONCE(ns->tx_bytes, cpu_to_le64(cm_hstat(&hn->tx_total.bytes, &hn->tx_syncp)));
	WRITE_ONCE(ns->drops, cpu_to_le64(cm_hstat(&hn->tx_drops, &hn->tx_syncp) +
					  cm_hstat(&hn->rx_drops, &hn->rx_syncp)));
	WRITE_ONCE(ns->bad_desc, cpu_to_le64(cm_hstat(&hn->rx_bad, &hn->rx_syncp)));

	for (i = 0; i < hn->l->p.max_flows; i++) {
		packets = cm_hstat(&hn->tx_flows[i].packets, &hn->tx_syncp) +
			  cm_hstat(&hn->rx_flows[i].packets, &hn->rx_syncp);
		bytes = cm_hstat(&hn->tx_flows[i].bytes, &hn->tx_syncp) +
			cm_hstat(&hn->rx_flows[i].bytes, &hn->rx_syncp);
		if (le64_to_cpu(READ_ONCE(fs[i].packets)) != packets)
			WRITE_ONCE(fs[i].packets, cpu_to_le64(packets));
		if (le64_to_cpu(READ_ONCE(fs[i].bytes)) != bytes)
			WRITE_ONCE(fs[i].bytes, cpu_to_le64(bytes));
	}
}

/*
 * cm_hnode_tick - the watcher's tick: carrier, counters, and a poll when
 * node 0 has no doorbell (@poll)
 */
void cm_hnode_tick(struct cm_hnode *hn, bool poll)
{
	struct net_device *dev = hn->dev;
	bool up, work;

	/* A peer that stopped being alive keeps none of our buffers; one
	 * that came back starts on reset rings. */
	work = cm_peers_tick(&hn->peers, hn->base, hn->l, hn->self, &up);
	if (up && !netif_carrier_ok(dev))
		netif_carrier_on(dev);
	else if (!up && netif_carrier_ok(dev))
		netif_carrier_off(dev);

	cm_hnode_stats_publish(hn);

	/* A wake that never came (a peer vanished with our buffers): let the
	 * transmit path drop and count instead of stalling. */
	if (netif_running(dev) && netif_queue_stopped(dev))
		netif_wake_queue(dev);
	if (poll || work)
		cm_hnode_poke(hn);
}

/* Peers node 0 judged broken, for the watcher: bit n for node n. */
u64 cm_hnode_blame(struct cm_hnode *hn)
{
	return READ_ONCE(hn->peers.blame);
}

/* An empty table for @cap entries, sized to what it holds. */
static struct cm_hft *cm_hft_alloc(u32 cap)
{
	struct cm_hft *ft;

	ft = kvmalloc(offsetof(struct cm_hft, t) + cm_ftable_size(cap), GFP_KERNEL);
	if (ft)
		cm_ftable_init(&ft->t, cap);
	return ft;
}

/* cm_mesh_lock held: node 0's newly compiled table. */
void cm_hnode_set_table(struct cm_hnode *hn, const struct cm_ftable *t)
{
	struct cm_hft *ft, *old;

	lockdep_assert_held(&cm_mesh_lock);
	old = rcu_dereference_protected(hn->ft, lockdep_is_held(&cm_mesh_lock));
	/* Most changes are to other nodes' tables: keep the index we have. */
	if (old->t.nflows == t->nflows &&
	    !memcmp(old->t.hops, t->hops, sizeof(t->hops)) &&
	    !memcmp(old->t.flows, t->flows, t->nflows * sizeof(t->flows[0])))
		return;
	ft = cm_hft_alloc(max(t->nflows, 1U));
	if (!ft) {
		/* The shared table is published: only node 0 lags behind. */
		netdev_err(hn->dev, "no memory for the new flow table\n");
		return;
	}
	cm_ftable_copy(&ft->t, t);
	cm_ftable_index(&ft->t);
	rcu_assign_pointer(hn->ft, ft);
	kvfree_rcu(old, rcu);
}

int cm_hnode_ifindex(struct cm_hnode *hn)
{
	return hn->dev->ifindex;
}

static int cm_hnode_rings_init(struct cm_hnode *hn)
{
	const struct cm_layout *l = hn->l;
	u32 p;

	hn->tx = kvcalloc(l->p.nodes, sizeof(*hn->tx), GFP_KERNEL);
	if (!hn->tx)
		return -ENOMEM;
	hn->rx = kvcalloc(l->p.nodes, sizeof(*hn->rx), GFP_KERNEL);
	if (!hn->rx) {
		kvfree(hn->tx);
		return -ENOMEM;
	}
	/* A fresh layout: every ring is empty. */
	for (p = 0; p < l->p.nodes; p++) {
		if (p == hn->self)
			continue;
		cm_ring_prod_init(&hn->tx[p], cm_data_ring(hn->base, l, hn->self, p),
				  l->p.ring_slots);
		cm_ring_cons_init(&hn->rx[p].data, cm_data_ring(hn->base, l, p, hn->self),
				  l->p.ring_slots);
		cm_ring_cons_init(&hn->rx[p].ret, cm_ret_ring(hn->base, l, p, hn->self),
				  l->ret_slots);
		cm_ring_prod_init(&hn->rx[p].back, cm_ret_ring(hn->base, l, hn->self, p),
				  l->ret_slots);
	}
	return 0;
}

static void cm_hnode_rings_destroy(struct cm_hnode *hn)
{
	kvfree(hn->rx);
	kvfree(hn->tx);
}

/*
 * cm_hnode_create - node 0's datapath and netdev, for a laid-out region
 *
 * Returns with the netdev registered and NAPI polling once; the mesh's
 * doorbell must be able to kick peers from now on.
 */
struct cm_hnode *cm_hnode_create(struct cm_mesh *m, struct device *parent)
{
	char name[IFNAMSIZ];
	struct net_device *dev;
	struct cm_hnode *hn;
	u8 mac[ETH_ALEN];
	int err;

	/* "cmh-NAME" when it fits, else the kernel numbers it. */
	if (snprintf(name, sizeof(name), "cmh-%s", m->name) >= sizeof(name))
		strscpy(name, "cmh%d", sizeof(name));
	dev = alloc_netdev(sizeof(*hn), name, NET_NAME_USER, cm_hnode_setup);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	SET_NETDEV_DEV(dev, parent);
	hn = netdev_priv(dev);
	hn->dev = dev;
	hn->m = m;
	hn->base = m->base;
	hn->l = &m->l;
	hn->self = m->self;
	cm_peers_init(&hn->peers, hn->base, hn->l);
	u64_stats_init(&hn->tx_syncp);
	u64_stats_init(&hn->rx_syncp);

	dev->max_mtu = m->l.p.buf_size - CHAINMESH_HEADROOM - ETH_HLEN;
	dev->mtu = min_t(u32, ETH_DATA_LEN, dev->max_mtu);
	memcpy(mac, cm_node(m->base, &m->l, m->self)->mac, ETH_ALEN);
	eth_hw_addr_set(dev, mac);

	err = -ENOMEM;
	RCU_INIT_POINTER(hn->ft, cm_hft_alloc(1));
	if (!rcu_access_pointer(hn->ft))
		goto err_free_netdev;
	/* indexed by flow id, below max_flows */
	hn->tx_flows = kvcalloc(m->l.p.max_flows, sizeof(*hn->tx_flows), GFP_KERNEL);
	if (!hn->tx_flows)
		goto err_free_ft;
	hn->rx_flows = kvcalloc(m->l.p.max_flows, sizeof(*hn->rx_flows), GFP_KERNEL);
	if (!hn->rx_flows)
		goto err_free_tx_flows;
	err = cm_pool_init(&hn->pool, m->l.p.bufs_per_node);
	if (err)
		goto err_free_rx_flows;
	err = cm_hnode_rings_init(hn);
	if (err)
		goto err_destroy_pool;

	netif_napi_add(dev, &hn->napi, cm_hnode_poll);
	netif_carrier_off(dev);
	err = register_netdev(dev);
	if (err)
		goto err_del_napi;
	napi_enable(&hn->napi);
	/* Whatever came before we asked for kicks. */
	cm_hnode_arm(hn);
	cm_hnode_poke(hn);
	return hn;

err_del_napi:
	netif_napi_del(&hn->napi);
	cm_hnode_rings_destroy(hn);
err_destroy_pool:
	cm_pool_destroy(&hn->pool);
err_free_rx_flows:
	kvfree(hn->rx_flows);
err_free_tx_flows:
	kvfree(hn->tx_flows);
err_free_ft:
	kvfree(rcu_access_pointer(hn->ft));
err_free_netdev:
	free_netdev(dev);
	return ERR_PTR(err);
}

/* Node 0's doorbell must not call cm_hnode_kicked() any more. */
void cm_hnode_destroy(struct cm_hnode *hn)
{
	struct net_device *dev = hn->dev;

	napi_disable(&hn->napi);
	unregister_netdev(dev);
	netif_napi_del(&hn->napi);
	cm_hnode_rings_destroy(hn);
	cm_pool_destroy(&hn->pool);
	kvfree(hn->rx_flows);
	kvfree(hn->tx_flows);
	/* No reader left: unregister_netdev() waited for them. */
	kvfree(rcu_access_pointer(hn->ft));
	free_netdev(dev);
}
