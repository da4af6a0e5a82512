// SPDX-License-Identifier: GPL-2.0
/*
 * NAPI receive, around the receive side of include/chainmesh/dp.h. The
 * doorbell means "look at all your inbound rings": a poll first takes
 * back our own buffers from every return ring, then consumes descriptors
 * from the data rings, round robin within the budget. Each descriptor is
 * copied out once and validated by dp.h; here a frame runs the XDP
 * program in place or is copied into an skb (the region has no struct
 * page), and its buffer goes home at once: to our free list, or onto the
 * return ring to its owner.
 *
 * Kick suppression: while polling, every inbound ring says "no kick"; on
 * completion each says "kick me" again and re-checks its head, and a poll
 * is rescheduled if anything slipped in (ring.h [K1]/[K2]).
 *
 * Bad input is counted per peer and per reason; a peer that sends too
 * much of it is judged broken and its data ring is read no more
 * (include/chainmesh/peers.h). While the host calls this node down or
 * broken, no data ring is read at all (the fence, netdev.c).
 */
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/interrupt.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include "ndev.h"
#include "offload.h"
#include "rx.h"
#include "xdp.h"

/*
 * A frame on its way along a chain keeps its place in skb->mark, for
 * cm_start_xmit() when the stack forwards it; the last hop clears it.
 * A chain whose next hop is dead (LAST with DROP) is not over here.
 */
static void cm_rx_mark(struct sk_buff *skb, const struct cm_ftable *t,
		       const struct cm_desc *d)
{
	u32 mask = READ_ONCE(cm_mark_mask);
	struct cm_ctx ctx;
	u8 flags;

	/* dp.h checked chain and hop of a context. */
	if (!mask || !(d->flags & CHAINMESH_D_CTX))
		return;
	flags = t->hops[d->chain].flags;
	if ((flags & CHAINMESH_H_LAST) && !(flags & CHAINMESH_H_DROP))
		return;
	ctx.chain = d->chain;
	ctx.hop = d->hop;
	skb->mark = cm_ctx_to_mark(skb->mark, mask, &ctx);
}

/*
 * A received frame's skb, data at its Ethernet header, up the stack: with
 * its chain context when the chain goes on from here, or to the owner
 * when the chain ends here and the owner continues it (another host).
 */
static void cm_rx_deliver(struct cm_lane *ln, struct sk_buff *skb,
			  const struct cm_ftable *t, const struct cm_desc *d)
{
	struct cm_ndev *nd = ln->nd;
	u8 flags;

	skb->protocol = eth_type_trans(skb, nd->netdev);
	if (nd->ops->chain_end && (d->flags & CHAINMESH_D_CTX)) {
		/* dp.h checked chain and hop of a context. */
		flags = t->hops[d->chain].flags;
		if ((flags & CHAINMESH_H_LAST) && !(flags & CHAINMESH_H_DROP) &&
		    nd->ops->chain_end(nd, skb, d->chain, d->hop))
			return;
	}
	cm_rx_mark(skb, t, d);
	napi_gro_receive(&ln->rx.napi, skb);
}

/* ops->rx: a validated frame for this node. */
static void cm_rx_one(struct cm_dp *dp, u32 from, struct cm_desc *d,
		      u32 owner, u32 idx, const struct cm_ftable **t)
{
	struct cm_lane *ln = cm_dp_lane(dp);
	struct cm_ndev *nd = ln->nd;
	struct cm_rx *rx = &ln->rx;
	struct sk_buff *skb;
	u32 metasize = 0;
	u8 *buf;

	if (unlikely(!rx->deliver || !netif_running(nd->netdev))) {
		cm_dp_rx_drop(dp, CM_RX_DROP_DOWN);
		goto give_back;
	}
	buf = cm_buf(nd, d->addr);
	cm_dp_rx_count(dp, from, cm_desc_flow(*t, d, buf + d->data_off),
		       d->len);

	if (rx->prog &&
	    cm_xdp_run(ln, rx->prog, from, d, owner, idx, *t, &metasize) ==
	    CM_XDP_RES_DONE)
		return;

	skb = napi_alloc_skb(&rx->napi, metasize + d->len);
	if (unlikely(!skb)) {
		cm_dp_rx_drop(dp, CM_RX_DROP_NOMEM);
		goto give_back;
	}
	/* Peers can write the buffer at any time: copy once, then look only
	 * at the copy. */
	skb_put_data(skb, buf + d->data_off - metasize, metasize + d->len);
	if (unlikely(READ_ONCE(cm_hop_log_on)))
		cm_hop_log(nd, CM_HOP_RX, from, d);
	cm_dp_give_back(dp, &cm_node_dp_ops, from, owner, idx, d->addr);
	if (metasize) {
		__skb_pull(skb, metasize);
		skb_metadata_set(skb, metasize);
	}

	cm_ctr_add(&dp->rx_total, d->len);
	skb_record_rx_queue(skb, ln->q);
	cm_rx_deliver(ln, skb, *t, d);
	return;

give_back:
	cm_dp_give_back(dp, &cm_node_dp_ops, from, owner, idx, d->addr);
}

/* ops->table: the host may have just published our new table. */
static const struct cm_ftable *cm_rx_table(struct cm_dp *dp, bool need)
{
	return cm_ftsnap_get(&cm_dp_ndev(dp)->ft, need);
}

static void cm_rx_judged(struct cm_dp *dp, u32 peer)
{
	if (net_ratelimit())
		netdev_warn(cm_dp_ndev(dp)->netdev,
			    "node %u sent %u bad descriptors or indices within %u ms: broken, no longer read\n",
			    peer, READ_ONCE(dp->pol->bad_limit),
			    READ_ONCE(dp->pol->bad_window_ms));
}

static const struct cm_dp_ops cm_node_dp_ops = {
	.kick	= cm_node_kick,
	.rx	= cm_rx_one,
	.rx_frame = cm_rx_frame,
	.table	= cm_rx_table,
	.judged	= cm_rx_judged,
};

static void cm_rx_report(struct cm_dp *dp, u32 p, const struct cm_dp_change *c)
{
	struct net_device *netdev = cm_dp_ndev(dp)->netdev;

	/* A peer can flip its epoch at will: bound what it can make us log. */
	if (!net_ratelimit())
		return;
	if (c->reset)
		netdev_info(netdev,
			    "rings with node %u reset by agreement: %u buffers taken back\n",
			    p, c->reclaimed);
	else if (c->gone)
		netdev_info(netdev,
			    "node %u is gone: %u buffers taken back, %u of others sent home\n",
			    p, c->reclaimed, c->sent_home);
	else
		netdev_info(netdev, "node %u is back (epoch %u): read again\n",
			    p, READ_ONCE(dp->peers.epoch[p]));
}

/* What the tick saw change, under the lane's tx lock (dp.h). */
static void cm_rx_peer_changes(struct cm_lane *ln)
{
	struct netdev_queue *txq = cm_lane_txq(ln);

	__netif_tx_lock(txq, smp_processor_id());
	cm_dp_peer_changes(&ln->dp, &cm_node_dp_ops, cm_rx_report);
	__netif_tx_unlock(txq);
}

static int cm_rx_poll(struct napi_struct *napi, int budget)
{
	struct cm_lane *ln = container_of(napi, struct cm_lane, rx.napi);
	struct cm_ndev *nd = ln->nd;
	struct cm_dp *dp = &ln->dp;
	bool fenced = cm_dp_fenced(dp);
	struct cm_rx *rx = &ln->rx;
	const struct cm_ftable *t;
	bool more;
	int done = 0;

	cm_dp_disarm(dp);
	/* Transmit completions, within a cap of their own (dp.h). */
	more = cm_dp_returns(dp, &cm_node_dp_ops, budget);

	if (budget) {
		/* Not from netpoll (budget 0), which may hold the tx lock. */
		if (unlikely(cm_dp_peer_changes_due(dp)))
			cm_rx_peer_changes(ln);
		rcu_read_lock();
		rx->prog = rcu_dereference(nd->xdp_prog);
		rx->deliver = true;
		t = cm_ftsnap_get(&nd->ft, false);
		done = cm_dp_rx_poll(dp, &cm_node_dp_ops, budget, fenced, &t);
		cm_xdp_tx_flush(ln);
		if (rx->xdp_redirected) {
			rx->xdp_redirected = false;
			xdp_do_flush();
		}
		rx->prog = NULL;
		rcu_read_unlock();
	}
	cm_dp_rx_flush(dp, &cm_node_dp_ops);
	/* Our buffers came back, or a doorbell may say a ring we stopped
	 * for has room ([S1]/[S2]) though nothing of ours came back. */
	if (dp->freed || netif_tx_queue_stopped(cm_lane_txq(ln))) {
		dp->freed = false;
		cm_tx_wake(ln);
	}

	/* Returns left behind: poll again, as for a full budget. */
	if (more && budget)
		return budget;
	if (done < budget && napi_complete_done(napi, done) &&
	    cm_dp_arm(dp, fenced))
		napi_schedule(napi);
	return done;
}

static irqreturn_t cm_rx_irq(int irq, void *data)
{
	struct cm_vec *vec = data;

	cm_node_kicked_vector(vec->nd, vec->v);
	return IRQ_HANDLED;
}

/*
 * Our doorbell rang: hard interrupt or irq_work context. It says "look
 * at your rings": every lane's NAPI context runs (each on the CPU it is
 * scheduled from, or in its own thread with threaded NAPI).
 */
void cm_node_kicked(struct cm_ndev *nd)
{
	u32 q;

	for (q = 0; q < nd->nlanes; q++)
		napi_schedule(&nd->lanes[q].rx.napi);
}

/*
 * Vector @v of our doorbell rang: the lanes it wakes (q % V == v, V the
 * vectors we listen on, cm_node_set_vectors()). A vector we no longer
 * listen on, or a kick of the owner's one doorbell, wakes them all.
 */
void cm_node_kicked_vector(struct cm_ndev *nd, u32 v)
{
	u32 n = READ_ONCE(nd->bell_vectors), q;

	if (n <= 1 || v >= n) {
		cm_node_kicked(nd);
		return;
	}
	for (q = v; q < nd->nlanes; q += n)
		napi_schedule(&nd->lanes[q].rx.napi);
}

/*
 * We listen on vectors 0..@n-1 (n <= the mesh's queues; 0 or 1: one,
 * vector 0): say so in our node entry, where senders read it on each
 * kick (cm_node_bell_vector()). Raising it: after the vectors listen;
 * lowering it: before they stop, after which the owner polls every lane
 * (cm_node_kicked()) for a kick that went to one in between.
 */
void cm_node_set_vectors(struct cm_ndev *nd, u32 n)
{
	n = min(n, nd->nlanes);
	WRITE_ONCE(nd->bell_vectors, n);
	WRITE_ONCE(nd->lanes[0].dp.node->vectors, cpu_to_le32(n));
}

static void cm_rx_free_vectors(struct cm_ndev *nd)
{
	u32 v;

	for (v = 0; v < nd->nvec; v++) {
		struct cm_vec *vec = &nd->vec[v];

		if (!vec->on)
			continue;
		irq_set_affinity_hint(vec->irq, NULL);
		free_irq(vec->irq, vec);
		vec->on = false;
	}
}

/* Our vectors' interrupts, each affine to a CPU of its own. */
static int cm_rx_request_vectors(struct cm_ndev *nd)
{
	struct cm_vec *vec;
	u32 v;
	int err;

	for (v = 0; v < nd->nvec; v++) {
		vec = &nd->vec[v];
		snprintf(vec->name, sizeof(vec->name), "%s-q%u",
			 nd->netdev->name, v);
		err = request_irq(vec->irq, cm_rx_irq, 0, vec->name, vec);
		if (err)
			goto err_free_vectors;
		vec->on = true;
		/* A hint (irqbalance, or the user, may move it). */
		irq_set_affinity_hint(vec->irq,
				      cpumask_of(cpumask_local_spread(v, NUMA_NO_NODE)));
	}
	return 0;

err_free_vectors:
	netdev_err(nd->netdev, "cannot request doorbell vector %u: %d\n", v, err);
	cm_rx_free_vectors(nd);
	return err;
}

/* Run a poll of lane @ln soon, from process context. */
void cm_rx_poke(struct cm_lane *ln)
{
	local_bh_disable();
	napi_schedule(&ln->rx.napi);
	local_bh_enable();
}

static int cm_rx_init_lane(struct cm_lane *ln)
{
	struct net_device *netdev = ln->nd->netdev;
	struct cm_rx *rx = &ln->rx;
	int err;

	rx->xdp_tx = kcalloc(CM_XDP_TX_BATCH, sizeof(*rx->xdp_tx), GFP_KERNEL);
	if (!rx->xdp_tx)
		return -ENOMEM;
	netif_napi_add(netdev, &rx->napi, cm_rx_poll);
	/* For the page copies XDP_REDIRECT hands on; XDP on the region
	 * itself never lets a buffer go through the memory model. */
	err = xdp_rxq_info_reg(&rx->xdp_rxq, netdev, ln->q, rx->napi.napi_id);
	if (err)
		goto err_del_napi;
	err = xdp_rxq_info_reg_mem_model(&rx->xdp_rxq, MEM_TYPE_PAGE_SHARED, NULL);
	if (err)
		goto err_unreg_rxq;
	return 0;

err_unreg_rxq:
	xdp_rxq_info_unreg(&rx->xdp_rxq);
err_del_napi:
	netif_napi_del(&rx->napi);
	kfree(rx->xdp_tx);
	return err;
}

static void cm_rx_destroy_lane(struct cm_lane *ln)
{
	struct cm_rx *rx = &ln->rx;

	xdp_rxq_info_unreg(&rx->xdp_rxq);
	netif_napi_del(&rx->napi);
	kfree(rx->xdp_tx);
}

int cm_rx_init(struct cm_ndev *nd)
{
	u32 q;
	int err;

	for (q = 0; q < nd->nlanes; q++) {
		err = cm_rx_init_lane(&nd->lanes[q]);
		if (err)
			goto err_destroy_lanes;
	}
	return 0;

err_destroy_lanes:
	while (q--)
		cm_rx_destroy_lane(&nd->lanes[q]);
	return err;
}

void cm_rx_destroy(struct cm_ndev *nd)
{
	u32 q;

	for (q = 0; q < nd->nlanes; q++)
		cm_rx_destroy_lane(&nd->lanes[q]);
}

/* NAPI on, the doorbell interrupt (if ours) requested, every inbound
 * ring asking for a kick, and one poll for whatever came before. */
int cm_rx_start(struct cm_ndev *nd)
{
	u32 q;
	int err;

	for (q = 0; q < nd->nlanes; q++)
		napi_enable(&nd->lanes[q].rx.napi);
	err = cm_rx_request_vectors(nd);
	if (err) {
		for (q = 0; q < nd->nlanes; q++)
			napi_disable(&nd->lanes[q].rx.napi);
		return err;
	}
	/* Before we are up: peers ring our vectors from then on. An owner
	 * with a doorbell of its own sets them later. */
	cm_node_set_vectors(nd, nd->nvec);
	for (q = 0; q < nd->nlanes; q++) {
		cm_dp_arm(&nd->lanes[q].dp, false);
		cm_rx_poke(&nd->lanes[q]);
	}
	return 0;
}

void cm_rx_stop(struct cm_ndev *nd)
{
	u32 q;

	cm_rx_free_vectors(nd);
	for (q = 0; q < nd->nlanes; q++)
		napi_disable(&nd->lanes[q].rx.napi);
}

/*
 * cm_rx_drain - after cm_rx_stop(), while we are still up: send home the
 * peers' buffers queued to us, so that leaving costs them nothing. Not
 * those of a peer we cut (we read nothing of it), nor any while fenced
 * (they went home already).
 */
static void cm_rx_drain_lane(struct cm_lane *ln)
{
	struct cm_dp *dp = &ln->dp;
	const struct cm_ftable *t;
	u32 p;

	if (cm_dp_fenced(dp))
		return;
	/* BH off as in NAPI: the table may be rebuilt here (ftsnap.h). */
	rcu_read_lock_bh();
	ln->rx.deliver = false;
	t = cm_ftsnap_deref(&ln->nd->ft);
	for (p = 0; p < dp->l.p.nodes; p++)
		if (p != dp->self && !cm_peers_cut(&dp->peers, p))
			cm_dp_rx_data(dp, &cm_node_dp_ops, p,
				      dp->l.p.ring_slots, &t);
	rcu_read_unlock_bh();
	cm_dp_rx_flush(dp, &cm_node_dp_ops);
}

void cm_rx_drain(struct cm_ndev *nd)
{
	u32 q;

	for (q = 0; q < nd->nlanes; q++)
		cm_rx_drain_lane(&nd->lanes[q]);
}
