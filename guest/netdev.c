// SPDX-License-Identifier: GPL-2.0
/*
 * The cm%d netdev: created when the node joins, destroyed when it leaves.
 * Transmit classifies the frame with this node's flow table, copies it
 * into a buffer of the node's own pool and pushes the buffer's offset to
 * the next node of the flow's chain.
 */
#include <linux/bitmap.h>
#include <linux/version.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include <chainmesh/flow.h>

#include "mesh.h"
#include "netdev.h"
#include "pci.h"
#include "rx.h"
#include "xdp.h"

/* A next hop over its share that gave nothing back for this long keeps
 * what it is sent: frames to it are dropped rather than stopping the
 * queue that every next hop shares. Longer than an emulated guest's
 * pauses, so that a slow hop still gets backpressure. */
#define CM_HOARD_MS	2000

static u64 cm_stat(const u64_stats_t *v, const struct u64_stats_sync *syncp)
{
	unsigned int start;
	u64 val;

	do {
		start = u64_stats_fetch_begin(syncp);
		val = u64_stats_read(v);
	} while (u64_stats_fetch_retry(syncp, start));
	return val;
}

static void cm_ctr_add(struct cm_ctr *c, u32 len)
{
	u64_stats_inc(&c->packets);
	u64_stats_add(&c->bytes, len);
}

static void cm_tx_drop(struct cm_tx *tx, enum cm_tx_drop why)
{
	u64_stats_update_begin(&tx->syncp);
	u64_stats_inc(&tx->drops[why]);
	u64_stats_update_end(&tx->syncp);
}

/* Under the tx lock. */
void cm_tx_count(struct cm_tx *tx, enum cm_tx_stat what, u32 n)
{
	u64_stats_update_begin(&tx->syncp);
	u64_stats_add(&tx->stats[what], n);
	u64_stats_update_end(&tx->syncp);
}

/*
 * Make what we pushed visible, and ring whoever asked for it. Under the
 * tx lock: the stack's transmit path, XDP_TX from NAPI and ndo_xdp_xmit
 * all produce on the same rings.
 */
void cm_tx_flush(struct cm_dev *cm)
{
	struct cm_tx *tx = &cm->tx;
	unsigned int peer;

	for_each_set_bit(peer, tx->pending, CHAINMESH_MAX_NODES) {
		__clear_bit(peer, tx->pending);
		if (cm_ring_publish(&tx->peers[peer].ring))
			cm_ivshmem_kick(cm->ivs, peer);
	}
}

/*
 * cm_route - the next node of a frame
 * @t: the caller's snapshot of our flow table
 * @ctx: the frame's place on a chain, or NULL: then classify @frame
 * @frame: the first @len bytes of the frame (enough for cm_flow_parse())
 *
 * A context that names no chain we are on at that hop is stale (the host
 * changed the chain under the packet): the frame is classified instead,
 * and r->flow says so by not being -1.
 * Return: true with @r filled, or false with @why.
 */
bool cm_route(struct cm_dev *cm, const struct cm_ftable *t,
	      const struct cm_ctx *ctx, const u8 *frame, u32 len,
	      struct cm_route *r, enum cm_tx_drop *why)
{
	const struct chainmesh_flow *flow;
	const struct chainmesh_fhop *hop;
	struct cm_flow_key key;
	u16 chain;

	if (ctx && cm_ftable_on_chain(t, ctx->chain, ctx->hop)) {
		chain = ctx->chain;
		hop = &t->hops[chain];
		r->flow = -1;	/* counted where it entered this node */
		goto found;
	}
	cm_flow_parse(frame, len, &key);
	flow = cm_flow_lookup(t, &key);
	if (!flow) {
		*why = CM_TX_DROP_NO_FLOW;
		return false;
	}
	/* The snapshot validated chain < MAX_CHAINS, next < nodes, != self. */
	chain = le16_to_cpu(flow->chain);
	hop = &t->hops[chain];
	r->flow = le32_to_cpu(flow->flow_id);
found:
	if (!(hop->flags & CHAINMESH_H_VALID) || hop->next == CHAINMESH_NODE_NONE) {
		*why = CM_TX_DROP_NO_HOP;
		return false;
	}
	r->peer = hop->next;
	r->chain = chain;
	r->hop = hop->hop + 1;
	return true;
}

/* Transmit path: @peer holds its share of our pool. */
static bool cm_tx_over_quota(struct cm_dev *cm, u32 peer)
{
	return cm_pool_held(&cm->pool, peer) >= READ_ONCE(cm->hop_cap);
}

/* Over its share, and nothing of ours came back from it for a while. */
static bool cm_tx_hoarder(struct cm_dev *cm, u32 peer)
{
	return cm_tx_over_quota(cm, peer) &&
	       time_after(jiffies, READ_ONCE(cm->hop_ok[peer]) +
			  msecs_to_jiffies(CM_HOARD_MS));
}

/*
 * Can the next frame to @peer go? A buffer, a slot, and the peer under
 * its share. A hoarder's frames go on, to be dropped by cm_tx_push():
 * waiting for it would stop every other next hop too.
 */
static bool cm_tx_room(struct cm_dev *cm, u32 peer)
{
	return cm_pool_avail(&cm->pool) &&
	       cm_ring_prod_space(&cm->tx.peers[peer].ring) > 0 &&
	       (!cm_tx_over_quota(cm, peer) || cm_tx_hoarder(cm, peer));
}

/* @addr is a buffer of our own pool. */
static bool cm_tx_own(const struct cm_dev *cm, u64 addr)
{
	return addr - cm->pool_off < cm->pool_len;
}

/*
 * cm_tx_push - under the tx lock: queue @d (chain context from @r) to
 * r->peer, published by the next cm_tx_flush()
 *
 * Return: 0, or the reason it was not queued.
 */
int cm_tx_push(struct cm_dev *cm, const struct cm_route *r,
	       const struct cm_desc *d)
{
	struct cm_tx *tx = &cm->tx;
	struct cm_tx_peer *tp = &tx->peers[r->peer];
	struct cm_desc out = *d;
	int space;

	if (unlikely(!cm_mesh_node_up(cm, r->peer)))
		return CM_TX_DROP_PEER_DOWN;
	if (unlikely(cm_dev_fenced(cm)))
		return CM_TX_DROP_FENCED;
	/* Our buffers only: one passed on as it is costs our pool nothing. */
	if (unlikely(cm_tx_own(cm, d->addr) && cm_tx_over_quota(cm, r->peer)))
		return CM_TX_DROP_QUOTA;
	space = cm_ring_prod_space(&tp->ring);
	if (unlikely(space <= 0))
		return space ? CM_TX_DROP_RING_BAD : CM_TX_DROP_RING_FULL;
	cm_desc_set_ctx(&out, r->chain, r->hop);
	cm_ring_push_desc(&tp->ring, &out);
	cm_ring_space_ok(&tp->ring);
	__set_bit(r->peer, tx->pending);

	u64_stats_update_begin(&tx->syncp);
	cm_ctr_add(&tp->ctr, d->len);
	u64_stats_update_end(&tx->syncp);
	return 0;
}

/*
 * A hint from the shared indices of our ring to @peer, for contexts that
 * do not own its producer side (NAPI, the mesh tick): does it have room,
 * and may the peer hold one more of our buffers?
 */
static bool cm_tx_ring_room_hint(struct cm_dev *cm, u32 peer)
{
	struct chainmesh_ring_hdr *h = cm->tx.peers[peer].ring.hdr;

	if (le32_to_cpu(READ_ONCE(h->head)) - le32_to_cpu(READ_ONCE(h->tail)) >=
	    cm->l.p.ring_slots)
		return false;
	return !cm_tx_over_quota(cm, peer) || cm_tx_hoarder(cm, peer);
}

/*
 * Stop the queue when the next frame to @peer could find no buffer, its
 * ring full, or the peer holding its share of our pool: the stack holds
 * its frames instead of us dropping them. NAPI wakes the queue when our
 * buffers come back and that ring has room (a buffer comes back only
 * after every node of its chain consumed it); the mesh tick re-checks,
 * for rings full of other nodes' buffers.
 * Return: true when there is room after all and the queue runs.
 */
static bool cm_tx_stop(struct cm_dev *cm, u32 peer)
{
	struct cm_ring_prod *ring = &cm->tx.peers[peer].ring;

	WRITE_ONCE(cm->tx.stopped_for, peer);
	cm_tx_count(&cm->tx, CM_TX_STOPPED, 1);
	netif_stop_queue(cm->netdev);
	/* A ring full of buffers we passed on for others: their return does
	 * not wake us, the consumer's doorbell will ([S1]). */
	if (cm_ring_prod_space(ring) == 0)
		cm_ring_want_space(ring);
	/* Pairs with cm_tx_wake(): either NAPI sees the queue stopped, or
	 * we see the buffers it freed. */
	smp_mb();
	if (!cm_tx_room(cm, peer))
		return false;
	netif_start_queue(cm->netdev);
	return true;
}

static void cm_tx_maybe_stop(struct cm_dev *cm, u32 peer)
{
	if (unlikely(!cm_tx_room(cm, peer)))
		cm_tx_stop(cm, peer);
}

/* NAPI, after buffers came back. */
void cm_tx_wake(struct cm_dev *cm)
{
	u32 peer;

	/* Pairs with cm_tx_stop(). */
	smp_mb();
	if (likely(!netif_queue_stopped(cm->netdev)) ||
	    !netif_running(cm->netdev) || !cm_pool_count(&cm->pool))
		return;
	peer = READ_ONCE(cm->tx.stopped_for);
	if (peer < cm->l.p.nodes && !cm_tx_ring_room_hint(cm, peer))
		return;
	netif_wake_queue(cm->netdev);
}

static netdev_tx_t cm_start_xmit(struct sk_buff *skb, struct net_device *netdev)
{
	struct cm_dev *cm = netdev_priv(netdev);
	u32 len = skb->len, plen, idx, mask;
	struct cm_ctx ctx, *ctxp = NULL;
	struct cm_tx *tx = &cm->tx;
	const struct cm_ftable *t;
	u8 copy[CM_PARSE_LEN];
	enum cm_tx_drop why;
	struct cm_route r;
	const u8 *frame;
	struct cm_desc d;
	u8 *buf;
	int err;

	/* No VLAN offload is advertised: a tag is in the frame, where
	 * cm_flow_parse() finds it, and counts in its length. */
	if (unlikely(len < ETH_HLEN ||
		     len > cm->l.p.buf_size - CHAINMESH_HEADROOM)) {
		why = CM_TX_DROP_LEN;
		goto drop;
	}
	plen = min_t(u32, len, CM_PARSE_LEN);
	frame = skb_header_pointer(skb, 0, plen, copy);
	if (unlikely(!frame)) {
		why = CM_TX_DROP_LEN;
		goto drop;
	}

	/* A frame that came in from the mesh and goes back out (forwarded,
	 * NATed) keeps its place on its chain; others are classified. */
	mask = READ_ONCE(cm_mark_mask);
	if (cm_ctx_from_mark(skb->mark, mask, &ctx))
		ctxp = &ctx;
	t = cm_ftsnap_get(&cm->ft, false);
	if (!cm_route(cm, t, ctxp, frame, plen, &r, &why))
		goto drop;

	/* Local traffic waits for room, as cm_tx_maybe_stop() meant it to;
	 * only a race (XDP_TX filled the ring, or the frame goes to another
	 * peer than the last one) gets here without it. */
	if (unlikely(!cm_tx_room(cm, r.peer)) &&
	    cm_mesh_node_up(cm, r.peer) &&
	    cm_ring_prod_space(&tx->peers[r.peer].ring) >= 0 &&
	    !cm_tx_stop(cm, r.peer)) {
		cm_tx_count(tx, CM_TX_REQUEUE, 1);
		cm_tx_flush(cm);
		return NETDEV_TX_BUSY;	/* the queue is stopped: no busy loop */
	}
	buf = cm_tx_buf(&cm->pool, cm->base, &cm->l, cm->self, &idx, &d);
	if (unlikely(!buf)) {
		why = CM_TX_DROP_NO_BUF;
		goto drop;
	}
	if (unlikely(skb_copy_bits(skb, 0, buf, len))) {
		why = CM_TX_DROP_LEN;
		goto drop;
	}
	d.len = len;
	cm_frame_set_dest(cm->base, &cm->l, buf, r.peer);
	err = cm_tx_push(cm, &r, &d);
	if (unlikely(err)) {
		why = err;
		goto drop;
	}
	cm_pool_take_to(&cm->pool, idx, r.peer);
	if (unlikely(READ_ONCE(cm_hop_log_on)))
		cm_hop_log(cm, CM_HOP_TX, r.peer, &d);

	u64_stats_update_begin(&tx->syncp);
	cm_ctr_add(&tx->total, len);
	if (r.flow >= 0)
		cm_ctr_add(&tx->flows[r.flow], len);
	if (ctxp)
		u64_stats_inc(&tx->stats[r.flow < 0 ? CM_TX_CTX : CM_TX_CTX_STALE]);
	u64_stats_update_end(&tx->syncp);

	cm_tx_maybe_stop(cm, r.peer);
	dev_consume_skb_any(skb);
	goto out;

drop:
	cm_tx_drop(tx, why);
	dev_kfree_skb_any(skb);
out:
	if (!netdev_xmit_more() || netif_queue_stopped(netdev))
		cm_tx_flush(cm);
	return NETDEV_TX_OK;
}

static int cm_open(struct net_device *netdev)
{
	netif_start_queue(netdev);
	return 0;
}

/* Only the stack's use of the device stops: the node stays in the mesh,
 * and NAPI keeps returning buffers that peers send (dropping the frames). */
static int cm_stop(struct net_device *netdev)
{
	netif_stop_queue(netdev);
	return 0;
}

static void cm_get_stats64(struct net_device *netdev,
			   struct rtnl_link_stats64 *s)
{
	struct cm_dev *cm = netdev_priv(netdev);
	struct cm_tx *tx = &cm->tx;
	struct cm_rx *rx = &cm->rx;
	int i;

	s->tx_packets = cm_stat(&tx->total.packets, &tx->syncp);
	s->tx_bytes = cm_stat(&tx->total.bytes, &tx->syncp);
	for (i = 0; i < __CM_TX_DROP_MAX; i++)
		s->tx_dropped += cm_stat(&tx->drops[i], &tx->syncp);
	s->rx_packets = cm_stat(&rx->total.packets, &rx->syncp);
	s->rx_bytes = cm_stat(&rx->total.bytes, &rx->syncp);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		s->rx_dropped += cm_stat(&rx->drops[i], &rx->syncp);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		s->rx_errors += cm_stat(&rx->bad[i], &rx->syncp);
	s->rx_frame_errors = s->rx_errors;
}

static const struct net_device_ops cm_netdev_ops = {
	.ndo_open		= cm_open,
	.ndo_stop		= cm_stop,
	.ndo_start_xmit		= cm_start_xmit,
	.ndo_get_stats64	= cm_get_stats64,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_bpf		= cm_xdp_bpf,
	.ndo_xdp_xmit		= cm_xdp_xmit,
};

static const char cm_tx_drop_names[][ETH_GSTRING_LEN] = {
	[CM_TX_DROP_LEN]	= "tx_drop_len",
	[CM_TX_DROP_NO_FLOW]	= "tx_drop_no_flow",
	[CM_TX_DROP_NO_HOP]	= "tx_drop_no_hop",
	[CM_TX_DROP_PEER_DOWN]	= "tx_drop_peer_down",
	[CM_TX_DROP_RING_FULL]	= "tx_drop_ring_full",
	[CM_TX_DROP_RING_BAD]	= "tx_drop_ring_bad",
	[CM_TX_DROP_NO_BUF]	= "tx_drop_no_buf",
	[CM_TX_DROP_QUOTA]	= "tx_drop_quota",
	[CM_TX_DROP_FENCED]	= "tx_drop_fenced",
};
static_assert(ARRAY_SIZE(cm_tx_drop_names) == __CM_TX_DROP_MAX);

static const char cm_rx_drop_names[][ETH_GSTRING_LEN] = {
	[CM_RX_DROP_NOMEM]	= "rx_drop_nomem",
	[CM_RX_DROP_DOWN]	= "rx_drop_down",
	[CM_RX_DROP_NO_RETURN]	= "rx_drop_no_return",
};
static_assert(ARRAY_SIZE(cm_rx_drop_names) == __CM_RX_DROP_MAX);

static const char cm_tx_stat_names[][ETH_GSTRING_LEN] = {
	[CM_TX_CTX]		= "tx_ctx",
	[CM_TX_CTX_STALE]	= "tx_ctx_stale",
	[CM_TX_XDP_ZEROCOPY]	= "xdp_tx_zerocopy",
	[CM_TX_XDP_TX_DROP]	= "xdp_tx_drop",
	[CM_TX_XDP_XMIT]	= "xdp_xmit",
	[CM_TX_XDP_XMIT_DROP]	= "xdp_xmit_drop",
	[CM_TX_STOPPED]		= "tx_queue_stopped",
	[CM_TX_REQUEUE]		= "tx_requeue",
};
static_assert(ARRAY_SIZE(cm_tx_stat_names) == __CM_TX_STAT_MAX);

static const char cm_xdp_stat_names[][ETH_GSTRING_LEN] = {
	[CM_XDP_PASS]		= "xdp_pass",
	[CM_XDP_DROP]		= "xdp_drop",
	[CM_XDP_TX]		= "xdp_tx",
	[CM_XDP_REDIRECT]	= "xdp_redirect",
	[CM_XDP_ABORTED]	= "xdp_aborted",
	[CM_XDP_TX_NO_HOP]	= "xdp_tx_no_hop",
	[CM_XDP_REDIRECT_FAIL]	= "xdp_redirect_fail",
};
static_assert(ARRAY_SIZE(cm_xdp_stat_names) == __CM_XDP_STAT_MAX);

/* Indexed by enum cm_bad; CM_BAD_NONE is not a counter. */
static const char cm_bad_names[][ETH_GSTRING_LEN] = {
	[CM_BAD_NONE]		= "",
	[CM_BAD_ADDR]		= "rx_bad_addr",
	[CM_BAD_ALIGN]		= "rx_bad_align",
	[CM_BAD_OWNER]		= "rx_bad_owner",
	[CM_BAD_LEN]		= "rx_bad_len",
	[CM_BAD_INDEX]		= "rx_bad_index",
	[CM_BAD_CHAIN]		= "rx_bad_chain",
	[CM_BAD_RETURN]		= "rx_bad_return",
};
static_assert(ARRAY_SIZE(cm_bad_names) == __CM_BAD_MAX);

/* tx packets, tx bytes, rx packets, rx bytes, bad, broken, held */
#define CM_PEER_STATS	7
#define CM_DEV_STATS	(__CM_TX_DROP_MAX + __CM_RX_DROP_MAX + \
			 __CM_BAD_MAX - 1 + __CM_TX_STAT_MAX + \
			 __CM_XDP_STAT_MAX + 6)	/* + tx_wake_stalled, pool_free,
						 * pool_size, pool_reclaimed,
						 * pool_sent_home, fenced */

static int cm_get_sset_count(struct net_device *netdev, int sset)
{
	struct cm_dev *cm = netdev_priv(netdev);

	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return CM_DEV_STATS + (cm->l.p.nodes - 1) * CM_PEER_STATS;
}

static void cm_get_strings(struct net_device *netdev, u32 sset, u8 *data)
{
	struct cm_dev *cm = netdev_priv(netdev);
	u32 i;

	if (sset != ETH_SS_STATS)
		return;
	for (i = 0; i < __CM_TX_DROP_MAX; i++)
		ethtool_sprintf(&data, "%s", cm_tx_drop_names[i]);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		ethtool_sprintf(&data, "%s", cm_rx_drop_names[i]);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		ethtool_sprintf(&data, "%s", cm_bad_names[i]);
	for (i = 0; i < __CM_TX_STAT_MAX; i++)
		ethtool_sprintf(&data, "%s", cm_tx_stat_names[i]);
	for (i = 0; i < __CM_XDP_STAT_MAX; i++)
		ethtool_sprintf(&data, "%s", cm_xdp_stat_names[i]);
	ethtool_sprintf(&data, "tx_wake_stalled");
	ethtool_sprintf(&data, "pool_free");
	ethtool_sprintf(&data, "pool_size");
	ethtool_sprintf(&data, "pool_reclaimed");
	ethtool_sprintf(&data, "pool_sent_home");
	ethtool_sprintf(&data, "fenced");
	for (i = 0; i < cm->l.p.nodes; i++) {
		if (i == cm->self)
			continue;
		ethtool_sprintf(&data, "peer%u_tx_packets", i);
		ethtool_sprintf(&data, "peer%u_tx_bytes", i);
		ethtool_sprintf(&data, "peer%u_rx_packets", i);
		ethtool_sprintf(&data, "peer%u_rx_bytes", i);
		ethtool_sprintf(&data, "peer%u_bad", i);
		ethtool_sprintf(&data, "peer%u_broken", i);
		ethtool_sprintf(&data, "peer%u_held", i);
	}
}

static void cm_get_ethtool_stats(struct net_device *netdev,
				 struct ethtool_stats *stats, u64 *data)
{
	struct cm_dev *cm = netdev_priv(netdev);
	struct cm_tx *tx = &cm->tx;
	struct cm_rx *rx = &cm->rx;
	u32 i;

	for (i = 0; i < __CM_TX_DROP_MAX; i++)
		*data++ = cm_stat(&tx->drops[i], &tx->syncp);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		*data++ = cm_stat(&rx->drops[i], &rx->syncp);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		*data++ = cm_stat(&rx->bad[i], &rx->syncp);
	for (i = 0; i < __CM_TX_STAT_MAX; i++)
		*data++ = cm_stat(&tx->stats[i], &tx->syncp);
	for (i = 0; i < __CM_XDP_STAT_MAX; i++)
		*data++ = cm_stat(&rx->xdp[i], &rx->syncp);
	*data++ = READ_ONCE(cm->stall_wakes);
	*data++ = cm_pool_count(&cm->pool);
	*data++ = cm->pool.nbufs;
	*data++ = READ_ONCE(cm->rx.reclaimed);
	*data++ = READ_ONCE(cm->rx.sent_home);
	*data++ = READ_ONCE(cm->fences);
	for (i = 0; i < cm->l.p.nodes; i++) {
		if (i == cm->self)
			continue;
		*data++ = cm_stat(&tx->peers[i].ctr.packets, &tx->syncp);
		*data++ = cm_stat(&tx->peers[i].ctr.bytes, &tx->syncp);
		*data++ = cm_stat(&rx->peers[i].ctr.packets, &rx->syncp);
		*data++ = cm_stat(&rx->peers[i].ctr.bytes, &rx->syncp);
		*data++ = cm_stat(&rx->peers[i].bad, &rx->syncp);
		*data++ = READ_ONCE(cm->peers.broken[i]);
		*data++ = cm_pool_held(&cm->pool, i);
	}
}

static void cm_get_drvinfo(struct net_device *netdev,
			   struct ethtool_drvinfo *info)
{
	struct cm_dev *cm = netdev_priv(netdev);

	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
	strscpy(info->bus_info, pci_name(cm->ivs->pdev), sizeof(info->bus_info));
}

static const struct ethtool_ops cm_ethtool_ops = {
	.get_drvinfo		= cm_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_sset_count		= cm_get_sset_count,
	.get_strings		= cm_get_strings,
	.get_ethtool_stats	= cm_get_ethtool_stats,
};

/* Node and per-flow counters for the host; this work is their one writer. */
static void cm_stats_publish(struct cm_dev *cm)
{
	struct chainmesh_node_stats *ns = cm_stats(cm->base, &cm->l, cm->self);
	struct chainmesh_flow_stats *fs = cm_flow_stats(cm->base, &cm->l, cm->self);
	struct cm_tx *tx = &cm->tx;
	struct cm_rx *rx = &cm->rx;
	u64 drops = 0, bad = 0, packets, bytes;
	u64 rxp = 0, rxb = 0, txp = 0, txb = 0;
	u32 i;

	for (i = 0; i < __CM_TX_DROP_MAX; i++)
		drops += cm_stat(&tx->drops[i], &tx->syncp);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		drops += cm_stat(&rx->drops[i], &rx->syncp);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		bad += cm_stat(&rx->bad[i], &rx->syncp);

	drops += cm_stat(&tx->stats[CM_TX_XDP_TX_DROP], &tx->syncp) +
		 cm_stat(&tx->stats[CM_TX_XDP_XMIT_DROP], &tx->syncp);
	/* The node's view: every frame from and to peers, XDP's included. */
	for (i = 0; i < cm->l.p.nodes; i++) {
		if (i == cm->self)
			continue;
		rxp += cm_stat(&rx->peers[i].ctr.packets, &rx->syncp);
		rxb += cm_stat(&rx->peers[i].ctr.bytes, &rx->syncp);
		txp += cm_stat(&tx->peers[i].ctr.packets, &tx->syncp);
		txb += cm_stat(&tx->peers[i].ctr.bytes, &tx->syncp);
	}
	WRITE_ONCE(ns->rx_packets, cpu_to_le64(rxp));
	WRITE_ONCE(ns->rx_bytes, cpu_to_le64(rxb));
	WRITE_ONCE(ns->tx_packets, cpu_to_le64(txp));
	WRITE_ONCE(ns->tx_bytes, cpu_to_le64(txb));
	WRITE_ONCE(ns->drops, cpu_to_le64(drops));
	WRITE_ONCE(ns->bad_desc, cpu_to_le64(bad));

	for (i = 0; i < cm->l.p.max_flows; i++) {
		packets = cm_stat(&tx->flows[i].packets, &tx->syncp) +
			  cm_stat(&rx->flows[i].packets, &rx->syncp);
		bytes = cm_stat(&tx->flows[i].bytes, &tx->syncp) +
			cm_stat(&rx->flows[i].bytes, &rx->syncp);
		/* Leave untouched lines alone: the host reads them. */
		if (le64_to_cpu(READ_ONCE(fs[i].packets)) != packets)
			WRITE_ONCE(fs[i].packets, cpu_to_le64(packets));
		if (le64_to_cpu(READ_ONCE(fs[i].bytes)) != bytes)
			WRITE_ONCE(fs[i].bytes, cpu_to_le64(bytes));
	}
}

/*
 * The queue is stopped: wake it if the ring that stopped it has room now
 * (it may be full of other nodes' buffers, whose return never wakes us),
 * or after a second without any wake (a peer vanished with our buffers):
 * then the transmit path drops and counts instead of stalling.
 */
static bool cm_tx_stalled(struct cm_dev *cm)
{
	u32 peer = READ_ONCE(cm->tx.stopped_for);

	if (++cm->stall_ticks >= 10)
		return true;
	if (!cm_pool_count(&cm->pool) || peer >= cm->l.p.nodes)
		return false;
	return !cm_mesh_node_up(cm, peer) || cm_tx_ring_room_hint(cm, peer);
}

/*
 * Quotas: each next hop may hold peer_share percent of our pool. A hop
 * that gave a buffer back since the last tick, or holds none, is making
 * progress; one over its share without any for CM_HOARD_MS is hoarding.
 */
static void cm_tx_quota_tick(struct cm_dev *cm)
{
	u32 share = clamp_val(READ_ONCE(cm_peer_share), 1, 100), p, back;
	unsigned long now = jiffies;

	WRITE_ONCE(cm->hop_cap, max(1U, cm->pool.nbufs * share / 100));
	for (p = 0; p < cm->l.p.nodes; p++) {
		back = READ_ONCE(cm->pool.hop_back[p]);
		if (back != cm->hop_back[p] || !cm_pool_held(&cm->pool, p)) {
			cm->hop_back[p] = back;
			WRITE_ONCE(cm->hop_ok[p], now);
		}
	}
}

/* Mesh work, every tick while joined. */
void cm_dev_tick(struct cm_dev *cm)
{
	struct net_device *netdev = cm->netdev;
	bool up, work;

	/* Who died (NAPI takes back what they held), who came back (NAPI
	 * resyncs with their rings), whom we judged broken (the host reads
	 * it in our node entry). Carrier: someone else to talk to. */
	work = cm_peers_tick(&cm->peers, cm->base, &cm->l, cm->self, &up);
	WRITE_ONCE(cm->node->blame, cpu_to_le64(READ_ONCE(cm->peers.blame)));
	if (up && !netif_carrier_ok(netdev))
		netif_carrier_on(netdev);
	else if (!up && netif_carrier_ok(netdev))
		netif_carrier_off(netdev);

	cm_tx_quota_tick(cm);
	cm_stats_publish(cm);
	/* A table the datapath has not looked at yet is built ahead of it. */
	cm_ftsnap_poke(&cm->ft);

	if (!netif_running(netdev) || !netif_queue_stopped(netdev)) {
		cm->stall_ticks = 0;
	} else if (cm_tx_stalled(cm)) {
		cm->stall_ticks = 0;
		WRITE_ONCE(cm->stall_wakes, cm->stall_wakes + 1);
		netif_wake_queue(netdev);
	}

	if (work || !cm->ivs->irq)
		cm_rx_poke(cm);
}

/* Mesh work: must this node fence itself (cm_dev_fenced())? */
bool cm_dev_fence_due(struct cm_dev *cm)
{
	u32 v = le32_to_cpu(READ_ONCE(cm->node->host_state));

	if (v == CHAINMESH_NODE_UP) {
		WRITE_ONCE(cm->acked, true);
		return false;
	}
	return cm_dev_fenced(cm);
}

/*
 * cm_dev_fence - the host called this life down or broken (it stalled, or
 * a peer reported it): its peers took back every buffer they had queued
 * to it, and may be using them again. Stop the datapath, drop what is
 * queued to us unread, and rejoin as a new epoch, which the host takes
 * back as it takes back any node that comes back. Our own pool stays as
 * it is: peers still return what we sent them. Mesh work only.
 */
void cm_dev_fence(struct cm_dev *cm)
{
	u32 verdict = le32_to_cpu(READ_ONCE(cm->node->host_state)), epoch;

	/* Peers send nothing to a node that is not up. */
	smp_store_release(&cm->node->state,
			  cpu_to_le32(CHAINMESH_NODE_JOINING));
	napi_disable(&cm->rx.napi);
	/* Every producer checks cm_dev_fenced() under the tx lock: none is
	 * past that check after this. */
	netif_tx_lock_bh(cm->netdev);
	netif_tx_unlock_bh(cm->netdev);
	cm_rx_fence(cm);

	epoch = le32_to_cpu(READ_ONCE(cm->node->epoch)) + 1;
	/* Pairs with the peers' acquire of our epoch (peers.h). */
	smp_store_release(&cm->node->epoch, cpu_to_le32(epoch));
	WRITE_ONCE(cm->acked, false);
	WRITE_ONCE(cm->fences, cm->fences + 1);
	smp_store_release(&cm->node->state, cpu_to_le32(CHAINMESH_NODE_UP));

	napi_enable(&cm->rx.napi);
	cm_rx_poke(cm);
	netdev_warn(cm->netdev,
		    "host called node %u %s: fenced, rejoined as epoch %u\n",
		    cm->self,
		    verdict == CHAINMESH_NODE_DOWN ? "down" : "broken", epoch);
}

static int cm_tx_init(struct cm_dev *cm)
{
	struct cm_tx *tx = &cm->tx;
	u32 n;
	int err;

	tx->peers = kcalloc(cm->l.p.nodes, sizeof(*tx->peers), GFP_KERNEL);
	if (!tx->peers)
		return -ENOMEM;
	tx->flows = kvcalloc(cm->l.p.max_flows, sizeof(*tx->flows), GFP_KERNEL);
	if (!tx->flows) {
		err = -ENOMEM;
		goto err_free_peers;
	}
	u64_stats_init(&tx->syncp);
	bitmap_zero(tx->pending, CHAINMESH_MAX_NODES);
	/* A new life starts on empty rings (datapath.h). */
	for (n = 0; n < cm->l.p.nodes; n++) {
		if (n == cm->self)
			continue;
		cm_ring_prod_init(&tx->peers[n].ring,
				  cm_data_ring(cm->base, &cm->l, cm->self, n),
				  cm->l.p.ring_slots);
		cm_ring_prod_restart(&tx->peers[n].ring);
	}
	return 0;

err_free_peers:
	kfree(tx->peers);
	return err;
}

static void cm_tx_destroy(struct cm_dev *cm)
{
	kvfree(cm->tx.flows);
	kfree(cm->tx.peers);
}

static void cm_netdev_setup(struct net_device *netdev)
{
	ether_setup(netdev);
	netdev->netdev_ops = &cm_netdev_ops;
	netdev->ethtool_ops = &cm_ethtool_ops;
	/* The mesh routes by flow table and rewrites h_dest: no ARP. */
	netdev->flags |= IFF_NOARP;
	netdev->min_mtu = ETH_MIN_MTU;
	/* One ring per pair of nodes and one doorbell vector: a single
	 * queue each way (see Documentation/datapath.rst). Linux 6.1 has no
	 * xdp_features: native XDP (XDP_PASS, DROP, TX, REDIRECT) is implied
	 * by ndo_bpf, being a redirect target by ndo_xdp_xmit. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	netdev->xdp_features = NETDEV_XDP_ACT_BASIC | NETDEV_XDP_ACT_REDIRECT |
			       NETDEV_XDP_ACT_NDO_XMIT;
#endif
}

/*
 * cm_dev_create - the node's datapath and netdev, for a validated layout
 *
 * Returns with the netdev registered, NAPI and the doorbell interrupt on
 * and every inbound ring asking for a kick; the caller then tells the
 * mesh we are up.
 */
struct cm_dev *cm_dev_create(struct cm_ivshmem *ivs, const struct cm_layout *l,
			     u32 self, u32 mesh_id)
{
	struct net_device *netdev;
	u8 mac[ETH_ALEN];
	struct cm_dev *cm;
	int err;

	netdev = alloc_netdev(sizeof(*cm), "cm%d", NET_NAME_ENUM, cm_netdev_setup);
	if (!netdev)
		return ERR_PTR(-ENOMEM);
	SET_NETDEV_DEV(netdev, &ivs->pdev->dev);
	cm = netdev_priv(netdev);
	cm->netdev = netdev;
	cm->ivs = ivs;
	cm->base = ivs->shm;
	cm->l = *l;
	cm->self = self;
	cm->mesh_id = mesh_id;
	cm->node = cm_node(cm->base, l, self);
	cm->acked = false;
	cm_peers_init(&cm->peers, cm->base, l);
	cm->pool_off = cm_buf_addr(l, self, 0);
	cm->pool_len = (u64)l->p.bufs_per_node * l->p.buf_size;

	netdev->max_mtu = l->p.buf_size - CHAINMESH_HEADROOM - ETH_HLEN;
	netdev->mtu = min_t(u32, ETH_DATA_LEN, netdev->max_mtu);
	cm_node_mac(mesh_id, self, mac);
	eth_hw_addr_set(netdev, mac);

	err = cm_pool_init(&cm->pool, l->p.bufs_per_node);
	if (err)
		goto err_free_netdev;
	cm_tx_quota_tick(cm);
	err = cm_ftsnap_init(&cm->ft, cm);
	if (err)
		goto err_destroy_pool;
	err = cm_tx_init(cm);
	if (err)
		goto err_destroy_ftsnap;
	err = cm_rx_init(cm);
	if (err)
		goto err_destroy_tx;
	netif_carrier_off(netdev);
	/* Written by every path that sends or receives, until freed last. */
	cm->hoplog = kzalloc(sizeof(*cm->hoplog), GFP_KERNEL);
	if (!cm->hoplog) {
		err = -ENOMEM;
		goto err_destroy_rx;
	}
	err = register_netdev(netdev);
	if (err)
		goto err_free_hoplog;
	cm_debugfs_init(cm);
	err = cm_rx_start(cm);
	if (err)
		goto err_unregister;
	return cm;

err_unregister:
	cm_debugfs_exit(cm);
	unregister_netdev(netdev);
err_free_hoplog:
	kfree(cm->hoplog);
err_destroy_rx:
	cm_rx_destroy(cm);
err_destroy_tx:
	cm_tx_destroy(cm);
err_destroy_ftsnap:
	cm_ftsnap_destroy(&cm->ft);
err_destroy_pool:
	cm_pool_destroy(&cm->pool);
err_free_netdev:
	free_netdev(netdev);
	return ERR_PTR(err);
}

/*
 * cm_dev_destroy - undo cm_dev_create() and leave the mesh
 * @ours: the region still holds our layout: hand peers' buffers back,
 * leave final counters, then say ABSENT; otherwise write nothing into it.
 *
 * Peers see us up until the drain is over, so that whatever they queue
 * meanwhile is either sent home by it or taken back by them when they
 * see us absent, never both.
 */
void cm_dev_destroy(struct cm_dev *cm, bool ours)
{
	struct net_device *netdev = cm->netdev;

	cm_rx_stop(cm);
	cm_debugfs_exit(cm);
	unregister_netdev(netdev);
	if (ours) {
		cm_rx_drain(cm);
		cm_stats_publish(cm);
		WRITE_ONCE(cm->node->blame, 0);
		smp_store_release(&cm->node->state,
				  cpu_to_le32(CHAINMESH_NODE_ABSENT));
	}
	kfree(cm->hoplog);
	cm_rx_destroy(cm);
	cm_tx_destroy(cm);
	/* After the drain, the last reader of the table. */
	cm_ftsnap_destroy(&cm->ft);
	cm_pool_destroy(&cm->pool);
	free_netdev(netdev);
}
