// SPDX-License-Identifier: GPL-2.0
/*
 * A node's netdev: node 0's cmh-NAME on the host, cm%d in a guest. The
 * owner creates it when the node joins and destroys it when it leaves.
 * Transmit classifies the frame with this node's flow table, copies it
 * into a buffer of the node's own pool and pushes the buffer's offset to
 * the next node of the flow's chain (include/chainmesh/dp.h).
 */
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/version.h>

#include <chainmesh/stat_names.h>

#include "ndev.h"
#include "offload.h"
#include "rx.h"
#include "xdp.h"

static_assert(BITS_PER_LONG == 64, "dp.h counters: one plain store each");

/* ops->kick: ring @peer's doorbell, the owner's way, on the vector that
 * wakes the peer's lane of ours. */
void cm_node_kick(struct cm_dp *dp, u32 peer)
{
	struct cm_ndev *nd = cm_dp_ndev(dp);
	const struct chainmesh_node *e = cm_node(nd->base, &nd->l, peer);

	nd->ops->kick(nd, peer, cm_node_bell_vector(e, dp->lane));
}

/*
 * Stop the queue when the next frame to @peer could find no buffer, its
 * ring full, or the peer holding its share of our pool: the stack holds
 * its frames instead of us dropping them. NAPI wakes the queue when our
 * buffers come back and that ring has room (a buffer comes back only
 * after every node of its chain consumed it); the tick re-checks, for
 * rings full of other nodes' buffers.
 * Return: true when there is room after all and the queue runs.
 */
static bool cm_tx_stop(struct cm_lane *ln, struct netdev_queue *txq, u32 peer,
		       u32 need)
{
	struct cm_ring_prod *ring = &ln->dp.peer[peer].tx;

	WRITE_ONCE(ln->stopped_for, peer);
	WRITE_ONCE(ln->stop_need, need);
	cm_dp_tx_count(&ln->dp, CM_TX_STOPPED, 1);
	netif_tx_stop_queue(txq);
	/* A ring full of buffers we passed on for others: their return does
	 * not wake us, the consumer's doorbell will ([S1]). */
	if (cm_ring_prod_space_for(ring, need) < (int)need)
		cm_ring_want_space(ring);
	/* Pairs with cm_tx_wake(): either NAPI sees the queue stopped, or
	 * we see the buffers it freed. */
	smp_mb();
	if (!cm_dp_tx_room_n(&ln->dp, peer, need))
		return false;
	netif_tx_start_queue(txq);
	return true;
}

static void cm_tx_maybe_stop(struct cm_lane *ln, struct netdev_queue *txq,
			     u32 peer)
{
	if (unlikely(!cm_dp_tx_room(&ln->dp, peer)))
		cm_tx_stop(ln, txq, peer, 1);
}

/* NAPI of lane @ln, after buffers came back. */
void cm_tx_wake(struct cm_lane *ln)
{
	struct netdev_queue *txq = cm_lane_txq(ln);
	u32 peer;

	/* Pairs with cm_tx_stop(). */
	smp_mb();
	if (likely(!netif_tx_queue_stopped(txq)) ||
	    !netif_running(ln->nd->netdev) ||
	    cm_pool_count(&ln->dp.pool) < max_t(u32, READ_ONCE(ln->stop_need), 1))
		return;
	peer = READ_ONCE(ln->stopped_for);
	if (peer < ln->dp.l.p.nodes && !cm_dp_tx_room_hint(&ln->dp, peer))
		return;
	netif_tx_wake_queue(txq);
}

/* The lane of a frame: of its flow (cm_flow_lane()), the same at every
 * node; a frame that is not IP goes on lane 0. */
static u32 cm_skb_lane(struct cm_ndev *nd, struct sk_buff *skb)
{
	u8 copy[CM_PARSE_LEN];
	struct cm_flow_key key;
	const u8 *frame;
	u32 plen;

	if (nd->nlanes == 1)
		return 0;
	plen = min_t(u32, skb->len, CM_PARSE_LEN);
	frame = skb_header_pointer(skb, 0, plen, copy);
	if (!frame)
		return 0;
	cm_flow_parse(frame, plen, &key);
	return cm_flow_lane(&key, nd->nlanes);
}

/* The transmit queue of a frame: its lane's channel. */
static u16 cm_select_queue(struct net_device *netdev, struct sk_buff *skb,
			   struct net_device *sb_dev)
{
	struct cm_ndev *nd = netdev_priv(netdev);

	return cm_skb_lane(nd, skb) % READ_ONCE(nd->nchan);
}

static bool cm_tx_copy_skb(u8 *buf, u32 len, const void *skb)
{
	return !skb_copy_bits(skb, 0, buf, len);
}

/* The next node of @skb; @ctx: set when it keeps a chain context. */
static enum cm_tx_drop cm_tx_route(struct cm_ndev *nd, struct sk_buff *skb,
				   struct cm_route *r, bool *ctx)
{
	u32 plen = min_t(u32, skb->len, CM_PARSE_LEN), mask;
	struct cm_ctx c, *cp = NULL;
	const struct cm_ftable *t;
	u8 copy[CM_PARSE_LEN];
	const u8 *frame;

	frame = skb_header_pointer(skb, 0, plen, copy);
	if (unlikely(!frame))
		return CM_TX_DROP_LEN;
	/* A frame that came in from the mesh and goes back out (forwarded,
	 * NATed) keeps its place on its chain; others are classified. */
	mask = READ_ONCE(cm_mark_mask);
	if (cm_ctx_from_mark(skb->mark, mask, &c))
		cp = &c;
	*ctx = cp;
	t = cm_ftsnap_get(&nd->ft, false);
	return cm_dp_route(t, cp, frame, plen, r);
}

/*
 * The stack segments and checksums, before cm_start_xmit(), what the next
 * node will not take as one frame with its offloads: a GSO skb (or one
 * with a checksum to finish) to a node that did not announce
 * CHAINMESH_NF_OFFLOAD, or larger than its ring or share of our pool.
 * Called with BH off and under RCU (validate_xmit_skb()).
 */
static netdev_features_t cm_features_check(struct sk_buff *skb,
					   struct net_device *netdev,
					   netdev_features_t features)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	struct cm_route r;
	bool ctx;

	if (!skb_is_gso(skb) && skb->ip_summed != CHECKSUM_PARTIAL)
		return features;
	if (skb->len >= ETH_HLEN && !cm_tx_route(nd, skb, &r, &ctx) &&
	    cm_off_wanted(&nd->lanes[cm_skb_lane(nd, skb)].dp, skb, r.peer))
		return features;
	/* No route: the frame is dropped anyway, as one. */
	return features & ~(NETIF_F_GSO_MASK | NETIF_F_CSUM_MASK);
}

static netdev_tx_t cm_start_xmit(struct sk_buff *skb, struct net_device *netdev)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	u16 qi = skb_get_queue_mapping(skb);
	struct netdev_queue *txq = netdev_get_tx_queue(netdev, qi);
	u32 len = skb->len, need = 1, q;
	struct cm_lane *ln;
	struct cm_dp *dp;
	enum cm_tx_drop why;
	struct cm_route r;
	bool ctx, off;
	struct cm_desc d;

	/* Under the lock of tx queue qi: the lanes it serves (q mod nchan ==
	 * qi, stable while we hold it). A frame queued before the channels
	 * changed whose lane another queue serves now takes lane qi. */
	q = cm_skb_lane(nd, skb);
	if (unlikely(q % nd->nchan != qi))
		q = qi;
	ln = &nd->lanes[q];
	dp = &ln->dp;

	/* No VLAN offload is advertised: a tag is in the frame, where
	 * cm_flow_parse() finds it, and counts in its length. */
	if (unlikely(len < ETH_HLEN)) {
		why = CM_TX_DROP_LEN;
		goto drop;
	}
	why = cm_tx_route(nd, skb, &r, &ctx);
	if (why)
		goto drop;

	/* cm_features_check() let it through with its offloads: one frame.
	 * Unless the next node stopped taking them since. */
	off = skb_is_gso(skb) || skb->ip_summed == CHECKSUM_PARTIAL;
	if (unlikely(off && !cm_off_wanted(dp, skb, r.peer))) {
		off = false;
		if (skb_is_gso(skb) || skb_checksum_help(skb)) {
			why = CM_TX_DROP_LEN;
			goto drop;
		}
	}
	if (off) {
		need = cm_dp_frame_bufs(dp, len);
	} else if (unlikely(len > dp->l.p.buf_size - CHAINMESH_HEADROOM)) {
		why = CM_TX_DROP_LEN;
		goto drop;
	}

	/* Local traffic waits for room, as cm_tx_maybe_stop() meant it to;
	 * only a race (XDP_TX filled the ring, or the frame goes to another
	 * peer than the last one, or is larger) gets here without it. */
	if (unlikely(!cm_dp_tx_room_n(dp, r.peer, need)) &&
	    cm_dp_peer_up(dp, r.peer) &&
	    cm_ring_prod_space(&dp->peer[r.peer].tx) >= 0 &&
	    !cm_tx_stop(ln, txq, r.peer, need)) {
		cm_dp_tx_count(dp, CM_TX_REQUEUE, 1);
		cm_dp_tx_flush(dp, &cm_node_dp_ops);
		return NETDEV_TX_BUSY;	/* the queue is stopped: no busy loop */
	}
	if (off) {
		why = cm_off_xmit(dp, skb, &r);
		if (unlikely(why))
			goto drop;
	} else {
		why = cm_dp_send(dp, &r, len, cm_tx_copy_skb, skb, &d);
		if (unlikely(why))
			goto drop;
		if (unlikely(READ_ONCE(cm_hop_log_on)))
			cm_hop_log(nd, CM_HOP_TX, r.peer, &d);
	}
	cm_dp_tx_sent(dp, &r, len, ctx);

	cm_tx_maybe_stop(ln, txq, r.peer);
	dev_consume_skb_any(skb);
	goto out;

drop:
	cm_dp_tx_drop(dp, why);
	dev_kfree_skb_any(skb);
out:
	/* The next frame may be of another lane of this queue: publish. */
	if (!netdev_xmit_more() || netif_tx_queue_stopped(txq) ||
	    nd->nchan != nd->nlanes)
		cm_dp_tx_flush(dp, &cm_node_dp_ops);
	return NETDEV_TX_OK;
}

/* ethtool -K: receive checksum off means no offloads from peers. */
static int cm_set_features(struct net_device *netdev,
			   netdev_features_t features)
{
	struct cm_ndev *nd = netdev_priv(netdev);

	netdev->features = features;
	cm_off_update(nd);
	return 1;	/* features set here */
}

static int cm_open(struct net_device *netdev)
{
	netif_tx_start_all_queues(netdev);
	return 0;
}

/* Only the stack's use of the device stops: the node stays in the mesh,
 * and NAPI keeps returning buffers that peers send (dropping the frames). */
static int cm_stop(struct net_device *netdev)
{
	netif_tx_stop_all_queues(netdev);
	return 0;
}

static void cm_get_stats64(struct net_device *netdev,
			   struct rtnl_link_stats64 *s)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	struct cm_dp *dp;
	u32 q;
	int i;

	for (q = 0; q < nd->nlanes; q++) {
		dp = &nd->lanes[q].dp;
		s->tx_packets += READ_ONCE(dp->tx_total.packets);
		s->tx_bytes += READ_ONCE(dp->tx_total.bytes);
		for (i = 0; i < __CM_TX_DROP_MAX; i++)
			s->tx_dropped += READ_ONCE(dp->tx_drops[i]);
		s->rx_packets += READ_ONCE(dp->rx_total.packets);
		s->rx_bytes += READ_ONCE(dp->rx_total.bytes);
		for (i = 0; i < __CM_RX_DROP_MAX; i++)
			s->rx_dropped += READ_ONCE(dp->rx_drops[i]);
		for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
			s->rx_errors += READ_ONCE(dp->rx_bad[i]);
	}
	s->rx_frame_errors = s->rx_errors;
}

static const struct net_device_ops cm_netdev_ops = {
	.ndo_open		= cm_open,
	.ndo_stop		= cm_stop,
	.ndo_start_xmit		= cm_start_xmit,
	.ndo_features_check	= cm_features_check,
	.ndo_set_features	= cm_set_features,
	.ndo_select_queue	= cm_select_queue,
	.ndo_get_stats64	= cm_get_stats64,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_bpf		= cm_xdp_bpf,
	.ndo_xdp_xmit		= cm_xdp_xmit,
};

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
/* stat_names.h's tables are ethtool strings too */
static_assert(CM_STAT_NAME_LEN == ETH_GSTRING_LEN);

/* The flow log's: increments applied, checkpoints taken, copies of the
 * table in use, and the log reads that failed (each a fallback to a copy
 * or to the checkpoint), by why. */
static const char cm_flog_stat_names[][ETH_GSTRING_LEN] = {
	"flog_applied", "flog_checkpoints", "flog_copies",
	"flog_behind", "flog_torn", "flog_refused",
};

/* CM_PEER_STAT_NAMES, CM_POOL_STAT_NAMES (stat_names.h) */
#define CM_PEER_STATS	8
/* per queue: tx packets, tx bytes, rx packets, rx bytes, pool free */
#define CM_QUEUE_STATS	5
#define CM_DEV_STATS	(__CM_TX_DROP_MAX - 1 + __CM_RX_DROP_MAX + \
			 __CM_BAD_MAX - 1 + __CM_TX_STAT_MAX + \
			 __CM_XDP_STAT_MAX + 8)	/* + tx_wake_stalled, pool_free,
						 * pool_size, pool_reclaimed,
						 * pool_sent_home, fenced,
						 * rx_frames, rx_frame_max */

static int cm_get_sset_count(struct net_device *netdev, int sset)
{
	struct cm_ndev *nd = netdev_priv(netdev);

	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return CM_DEV_STATS + (nd->l.p.nodes - 1) * CM_PEER_STATS +
	       nd->nlanes * CM_QUEUE_STATS + ARRAY_SIZE(cm_flog_stat_names) +
	       nd->ops->n_ext_stats;
}

static void cm_get_strings(struct net_device *netdev, u32 sset, u8 *data)
{
	static const char *const pool_names[] = { CM_POOL_STAT_NAMES };
	static const char *const peer_names[] = { CM_PEER_STAT_NAMES };
	struct cm_ndev *nd = netdev_priv(netdev);
	u32 i, j;

	if (sset != ETH_SS_STATS)
		return;
	for (i = CM_TX_DROP_NONE + 1; i < __CM_TX_DROP_MAX; i++)
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
	for (i = 0; i < ARRAY_SIZE(pool_names); i++)
		ethtool_sprintf(&data, "%s", pool_names[i]);
	for (i = 0; i < nd->l.p.nodes; i++) {
		if (i == nd->lanes[0].dp.self)
			continue;
		for (j = 0; j < ARRAY_SIZE(peer_names); j++)
			ethtool_sprintf(&data, CM_PEER_STAT_FMT, i,
					peer_names[j]);
	}
	for (i = 0; i < nd->nlanes; i++) {
		ethtool_sprintf(&data, "q%u_tx_packets", i);
		ethtool_sprintf(&data, "q%u_tx_bytes", i);
		ethtool_sprintf(&data, "q%u_rx_packets", i);
		ethtool_sprintf(&data, "q%u_rx_bytes", i);
		ethtool_sprintf(&data, "q%u_pool_free", i);
	}
	for (i = 0; i < ARRAY_SIZE(cm_flog_stat_names); i++)
		ethtool_sprintf(&data, "%s", cm_flog_stat_names[i]);
	for (i = 0; i < nd->ops->n_ext_stats; i++)
		ethtool_sprintf(&data, "%s", nd->ops->ext_stat_names[i]);
}

/* The sum over the lanes of @nd of what @get reads of each. */
#define cm_lanes_sum(nd, ln, expr) ({					\
	u64 __sum = 0;							\
	u32 __q;							\
									\
	for (__q = 0; __q < (nd)->nlanes; __q++) {			\
		struct cm_lane *ln = &(nd)->lanes[__q];		\
									\
		__sum += (expr);					\
	}								\
	__sum;								\
})

static void cm_get_ethtool_stats(struct net_device *netdev,
				 struct ethtool_stats *stats, u64 *data)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	u32 i, self = nd->lanes[0].dp.self;
	u64 max;

	/* The node's counters are its lanes' summed. */
	for (i = CM_TX_DROP_NONE + 1; i < __CM_TX_DROP_MAX; i++)
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.tx_drops[i]));
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.rx_drops[i]));
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.rx_bad[i]));
	for (i = 0; i < __CM_TX_STAT_MAX; i++)
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.tx_stats[i]));
	for (i = 0; i < __CM_XDP_STAT_MAX; i++)
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->rx.xdp[i]));
	*data++ = READ_ONCE(nd->stall_wakes);
	*data++ = cm_lanes_sum(nd, ln, cm_pool_count(&ln->dp.pool));
	*data++ = cm_lanes_sum(nd, ln, ln->dp.pool.nbufs);
	*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.reclaimed));
	*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.sent_home));
	*data++ = READ_ONCE(nd->fences);
	*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.rx_frames));
	for (i = 0, max = 0; i < nd->nlanes; i++)
		max = max_t(u64, max, READ_ONCE(nd->lanes[i].dp.rx_frame_max));
	*data++ = max;
	for (i = 0; i < nd->l.p.nodes; i++) {
		if (i == self)
			continue;
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.peer[i].txc.packets));
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.peer[i].txc.bytes));
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.peer[i].rx.packets));
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.peer[i].rx.bytes));
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.peer[i].bad));
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.peers.broken[i]));
		*data++ = cm_lanes_sum(nd, ln, cm_pool_held(&ln->dp.pool, i));
		*data++ = cm_lanes_sum(nd, ln, READ_ONCE(ln->dp.peer[i].resets));
	}
	/* Every frame of a lane, from and to every peer. */
	for (i = 0; i < nd->nlanes; i++) {
		struct cm_dp *dp = &nd->lanes[i].dp;
		u64 tp = 0, tb = 0, rp = 0, rb = 0;
		u32 p;

		for (p = 0; p < nd->l.p.nodes; p++) {
			if (p == self)
				continue;
			tp += READ_ONCE(dp->peer[p].txc.packets);
			tb += READ_ONCE(dp->peer[p].txc.bytes);
			rp += READ_ONCE(dp->peer[p].rx.packets);
			rb += READ_ONCE(dp->peer[p].rx.bytes);
		}
		*data++ = tp;
		*data++ = tb;
		*data++ = rp;
		*data++ = rb;
		*data++ = cm_pool_count(&dp->pool);
	}
	/* the flow log (node/ftsnap.c), as debugfs ftable shows it; the
	 * builder writes them */
	*data++ = READ_ONCE(nd->ft.flog.applied);
	*data++ = READ_ONCE(nd->ft.flog.checkpoints);
	*data++ = READ_ONCE(nd->ft.copies);
	*data++ = READ_ONCE(nd->ft.flog.fallbacks[CM_FLOG_BEHIND]);
	*data++ = READ_ONCE(nd->ft.flog.fallbacks[CM_FLOG_TORN]);
	*data++ = READ_ONCE(nd->ft.flog.fallbacks[CM_FLOG_REFUSED]);
	if (nd->ops->n_ext_stats)
		nd->ops->ext_stats(nd, data);
}

static void cm_get_drvinfo(struct net_device *netdev,
			   struct ethtool_drvinfo *info)
{
	struct cm_ndev *nd = netdev_priv(netdev);

	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
	strscpy(info->bus_info, nd->bus_info, sizeof(info->bus_info));
}

/* ethtool -l: as many channels as the mesh has queues, each a lane's
 * NAPI context and tx queue. */
static void cm_get_channels(struct net_device *netdev,
			    struct ethtool_channels *ch)
{
	struct cm_ndev *nd = netdev_priv(netdev);

	ch->max_combined = nd->nlanes;
	ch->combined_count = nd->nchan;
}

/*
 * ethtool -L combined N: send on N tx queues, queue c serving the lanes
 * q with q mod N == c. Every lane's NAPI (which takes its tx queue's lock
 * for XDP_TX) and every tx queue stop while nchan changes, so that a
 * lane's producer side is only ever under one queue's lock; receive
 * goes on on every lane (peers pick it by the flow), and so does
 * traffic, after the pause.
 */
static int cm_set_channels(struct net_device *netdev,
			   struct ethtool_channels *ch)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	u32 n = ch->combined_count, q;
	int err;

	if (ch->rx_count || ch->tx_count || ch->other_count)
		return -EINVAL;
	if (!n || n > nd->nlanes)
		return -EINVAL;
	/* Leaving: NAPI is off for good, cm_node_destroy() unregisters. */
	if (nd->rx_stopped)
		return -ENODEV;
	if (n == nd->nchan)
		return 0;
	for (q = 0; q < nd->nlanes; q++)
		napi_disable(&nd->lanes[q].rx.napi);
	/* ndo_xdp_xmit ignores stopped queues: it sees this under the lock
	 * of each, which netif_tx_disable() takes after. */
	WRITE_ONCE(nd->chan_busy, true);
	netif_tx_disable(netdev);
	err = netif_set_real_num_tx_queues(netdev, n);
	if (!err)
		WRITE_ONCE(nd->nchan, n);
	/* The new nchan before the end of the pause. */
	smp_store_release(&nd->chan_busy, false);
	for (q = 0; q < nd->nlanes; q++)
		napi_enable(&nd->lanes[q].rx.napi);
	if (netif_running(netdev))
		netif_tx_wake_all_queues(netdev);
	for (q = 0; q < nd->nlanes; q++)
		cm_rx_poke(&nd->lanes[q]);
	return err;
}

static const struct ethtool_ops cm_ethtool_ops = {
	.get_drvinfo		= cm_get_drvinfo,
	.get_channels		= cm_get_channels,
	.set_channels		= cm_set_channels,
	.get_link		= ethtool_op_get_link,
	.get_sset_count		= cm_get_sset_count,
	.get_strings		= cm_get_strings,
	.get_ethtool_stats	= cm_get_ethtool_stats,
};

/*
 * The queue is stopped: wake it if the ring that stopped it has room now
 * (it may be full of other nodes' buffers, whose return never wakes us),
 * or after a second without any wake (a peer vanished with our buffers):
 * then the transmit path drops and counts instead of stalling.
 */
static bool cm_tx_stalled(struct cm_lane *ln, u32 ticks)
{
	u32 peer = READ_ONCE(ln->stopped_for);

	if (ticks >= 10)
		return true;
	if (!cm_pool_count(&ln->dp.pool) || peer >= ln->dp.l.p.nodes)
		return false;
	return !cm_dp_peer_up(&ln->dp, peer) ||
	       cm_dp_tx_room_hint(&ln->dp, peer);
}

/* The owner's tick, every 100 ms while the node is in the mesh. */
void cm_node_tick(struct cm_ndev *nd)
{
	struct cm_dp *dps[CHAINMESH_MAX_QUEUES];
	struct net_device *netdev = nd->netdev;
	bool up, work, stopped = false;
	u32 q, c;

	/* Who died (NAPI takes back what they held), who came back (NAPI
	 * resyncs with their rings), whom we judged broken; quotas and
	 * counters. Carrier: someone else to talk to. */
	for (q = 0; q < nd->nlanes; q++)
		dps[q] = &nd->lanes[q].dp;
	work = cm_dp_tick_lanes(dps, nd->nlanes, &up);
	/* Only we write our state, up while we are in the mesh (the fence
	 * runs in this context too): re-assert what a peer forged, or a
	 * forged "absent" would keep every peer away for good. */
	if (le32_to_cpu(READ_ONCE(dps[0]->node->state)) != CHAINMESH_NODE_UP)
		smp_store_release(&dps[0]->node->state,
				  cpu_to_le32(CHAINMESH_NODE_UP));
	if (up && !netif_carrier_ok(netdev))
		netif_carrier_on(netdev);
	else if (!up && netif_carrier_ok(netdev))
		netif_carrier_off(netdev);

	/* A table the datapath has not looked at yet is built ahead of it. */
	cm_ftsnap_poke(&nd->ft);

	/* Each stopped channel, by the lane it was stopped for last. */
	if (netif_running(netdev))
		for (c = 0; c < nd->nchan; c++)
			stopped |= netif_tx_queue_stopped(netdev_get_tx_queue(netdev, c));
	if (!stopped) {
		nd->stall_ticks = 0;
	} else {
		nd->stall_ticks++;
		for (c = 0; c < nd->nchan; c++) {
			struct netdev_queue *txq = netdev_get_tx_queue(netdev, c);

			if (!netif_tx_queue_stopped(txq) ||
			    !cm_tx_stalled(&nd->lanes[c], nd->stall_ticks))
				continue;
			WRITE_ONCE(nd->stall_wakes, nd->stall_wakes + 1);
			netif_tx_wake_queue(txq);
		}
		if (nd->stall_ticks >= 10)
			nd->stall_ticks = 0;
	}

	if (work || READ_ONCE(nd->polled))
		for (q = 0; q < nd->nlanes; q++)
			cm_rx_poke(&nd->lanes[q]);
}

/* Peers this node judged broken (on any lane): bit n for node n. */
u64 cm_node_blame(struct cm_ndev *nd)
{
	u64 blame = 0;
	u32 q;

	for (q = 0; q < nd->nlanes; q++)
		blame |= READ_ONCE(nd->lanes[q].dp.peers.blame);
	return blame;
}

/* The owner's tick: must this node fence itself (cm_dp_fenced())? */
bool cm_node_fence_due(struct cm_ndev *nd)
{
	return cm_dp_fenced(&nd->lanes[0].dp);
}

/*
 * cm_node_fence - the host called this life down or broken (it stalled,
 * or a peer reported it): its peers took back every buffer they had
 * queued to it, and may be using them again. Stop the datapath, drop
 * what is queued to us unread, and rejoin as a new epoch, which the host
 * takes back as it takes back any node that comes back. Our own pool
 * stays as it is: peers still return what we sent them. The owner's tick.
 */
void cm_node_fence(struct cm_ndev *nd)
{
	struct chainmesh_node *node = nd->lanes[0].dp.node;
	u32 verdict = le32_to_cpu(READ_ONCE(node->host_state)), epoch, q;

	/* Peers send nothing to a node that is not up. */
	smp_store_release(&node->state, cpu_to_le32(CHAINMESH_NODE_JOINING));
	for (q = 0; q < nd->nlanes; q++)
		napi_disable(&nd->lanes[q].rx.napi);
	/* Every producer checks cm_dp_fenced() under the tx lock: none is
	 * past that check after this. */
	netif_tx_lock_bh(nd->netdev);
	netif_tx_unlock_bh(nd->netdev);
	for (q = 0; q < nd->nlanes; q++)
		cm_dp_fence_rings(&nd->lanes[q].dp);

	epoch = le32_to_cpu(READ_ONCE(node->epoch)) + 1;
	/* Pairs with the peers' acquire of our epoch (peers.h). */
	smp_store_release(&node->epoch, cpu_to_le32(epoch));
	WRITE_ONCE(nd->fences, nd->fences + 1);
	smp_store_release(&node->state, cpu_to_le32(CHAINMESH_NODE_UP));

	for (q = 0; q < nd->nlanes; q++) {
		napi_enable(&nd->lanes[q].rx.napi);
		cm_rx_poke(&nd->lanes[q]);
	}
	/* A forged host_state makes us fence: bound what it can make us log. */
	if (net_ratelimit())
		netdev_warn(nd->netdev,
			    "host called node %u %s: fenced, rejoined as epoch %u\n",
			    nd->lanes[0].dp.self,
			    verdict == CHAINMESH_NODE_DOWN ? "down" : "broken", epoch);
}

static void cm_netdev_setup(struct net_device *netdev)
{
	ether_setup(netdev);
	netdev->netdev_ops = &cm_netdev_ops;
	netdev->ethtool_ops = &cm_ethtool_ops;
	/* The mesh routes by flow table and rewrites h_dest: no ARP. */
	netdev->flags |= IFF_NOARP;
	netdev->min_mtu = ETH_MIN_MTU;
	/* Frames of several buffers (offload.c): as large as GSO makes
	 * them, below CHAINMESH_FRAME_MAX_LEN. */
	netdev->hw_features = CM_OFF_FEATURES;
	/* GSO_ROBUST: a GSO skb from a peer (SKB_GSO_DODGY) goes on to the
	 * next node as it is, which validates its header in turn. */
	netdev->features = CM_OFF_FEATURES | NETIF_F_GSO_ROBUST;
	netdev->vlan_features = CM_OFF_FEATURES;
	/* A tx queue and a NAPI context per queue of the mesh (see
	 * Documentation/datapath.rst). Linux 6.1 has no
	 * xdp_features: native XDP (XDP_PASS, DROP, TX, REDIRECT) is implied
	 * by ndo_bpf, being a redirect target by ndo_xdp_xmit. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	netdev->xdp_features = NETDEV_XDP_ACT_BASIC | NETDEV_XDP_ACT_REDIRECT |
			       NETDEV_XDP_ACT_NDO_XMIT;
#endif
}

/*
 * cm_node_create - the node's datapath and netdev, for a validated layout
 *
 * Returns with the netdev registered, NAPI (and the doorbell interrupt,
 * if the node has one of its own) on and every inbound ring asking for a
 * kick; the owner then tells the mesh we are up.
 */
struct cm_ndev *cm_node_create(const struct cm_node_cfg *cfg)
{
	const struct cm_layout *l = cfg->l;
	struct net_device *netdev;
	struct cm_ndev *nd;
	u32 q;
	int err;

	netdev = alloc_netdev_mqs(sizeof(*nd), cfg->ifname,
				  cfg->name_assign_type, cm_netdev_setup,
				  l->p.queues, 1);
	if (!netdev)
		return ERR_PTR(-ENOMEM);
	if (cfg->parent)
		SET_NETDEV_DEV(netdev, cfg->parent);
	nd = netdev_priv(netdev);
	nd->netdev = netdev;
	nd->ops = cfg->ops;
	nd->priv = cfg->priv;
	nd->bus_info = cfg->bus_info;
	nd->polled = cfg->polled;
	nd->base = cfg->base;
	nd->l = *l;
	nd->nlanes = l->p.queues;
	nd->nchan = nd->nlanes;
	/* A vector per lane at most: senders ring lane % nvec. */
	nd->nvec = min(cfg->nirqs, nd->nlanes);
	for (q = 0; q < nd->nvec; q++) {
		nd->vec[q].nd = nd;
		nd->vec[q].irq = cfg->irqs[q];
		nd->vec[q].v = q;
	}

	netdev->max_mtu = l->p.buf_size - CHAINMESH_HEADROOM - ETH_HLEN;
	netdev->mtu = min_t(u32, ETH_DATA_LEN, netdev->max_mtu);
	eth_hw_addr_set(netdev, cfg->mac);

	nd->lanes = kvcalloc(nd->nlanes, sizeof(*nd->lanes), GFP_KERNEL);
	if (!nd->lanes) {
		err = -ENOMEM;
		goto err_free_netdev;
	}
	for (q = 0; q < nd->nlanes; q++) {
		nd->lanes[q].nd = nd;
		nd->lanes[q].q = q;
		err = cm_dp_init_lane(&nd->lanes[q].dp, cfg->base, l, q,
				      cfg->self, &cm_policy);
		if (err)
			goto err_destroy_dp;
		cm_dp_set_mac(&nd->lanes[q].dp, cfg->mac);
	}
	netif_set_tso_max_size(netdev, GSO_LEGACY_MAX_SIZE);
	err = cm_ftsnap_init(&nd->ft, cfg->ftable, cfg->flog, &nd->l,
			     cfg->self, netdev->name);
	if (err)
		goto err_destroy_dp;
	err = cm_rx_init(nd);
	if (err)
		goto err_destroy_ftsnap;
	netif_carrier_off(netdev);
	/* Written by every path that sends or receives, until freed last. */
	nd->hoplog = kzalloc(sizeof(*nd->hoplog), GFP_KERNEL);
	if (!nd->hoplog) {
		err = -ENOMEM;
		goto err_destroy_rx;
	}
	err = register_netdev(netdev);
	if (err)
		goto err_free_hoplog;
	rtnl_lock();
	cm_off_update(nd);
	/* Where one doorbell vector wakes several lanes (too few vectors,
	 * or node 0 before the daemon hands it a vector per queue), in
	 * threads of their own the lanes' NAPI contexts run on as many
	 * CPUs, not all on the one that took the interrupt; with a vector
	 * per lane, each thread is woken from its vector's CPU
	 * (/sys/class/net/DEV/threaded turns it off). */
	if (nd->nlanes > 1 && dev_set_threaded(netdev, true))
		netdev_warn(netdev, "no threaded NAPI: every queue polls on the doorbell's CPU\n");
	rtnl_unlock();
	cm_debugfs_init(nd);
	err = cm_rx_start(nd);
	if (err)
		goto err_unregister;
	return nd;

err_unregister:
	cm_debugfs_exit(nd);
	unregister_netdev(netdev);
err_free_hoplog:
	kfree(nd->hoplog);
err_destroy_rx:
	cm_rx_destroy(nd);
err_destroy_ftsnap:
	cm_ftsnap_destroy(&nd->ft);
err_destroy_dp:
	while (q--)
		cm_dp_destroy(&nd->lanes[q].dp);
	kvfree(nd->lanes);
err_free_netdev:
	free_netdev(netdev);
	return ERR_PTR(err);
}

/*
 * cm_node_destroy - undo cm_node_create() and leave the mesh
 * @ours: the region still holds our layout: hand peers' buffers back,
 * leave final counters, then say ABSENT; otherwise write nothing into it.
 *
 * Peers see us up until the drain is over, so that whatever they queue
 * meanwhile is either sent home by it or taken back by them when they
 * see us absent, never both. The owner's doorbell, if not ours, must not
 * call cm_node_kicked() any more.
 */
void cm_node_destroy(struct cm_ndev *nd, bool ours)
{
	struct cm_dp *dps[CHAINMESH_MAX_QUEUES];
	struct net_device *netdev = nd->netdev;
	struct chainmesh_node *node = nd->lanes[0].dp.node;
	u32 q;

	/* Under RTNL, as ethtool -L, which stops NAPI too for a while. */
	rtnl_lock();
	nd->rx_stopped = true;
	cm_rx_stop(nd);
	rtnl_unlock();
	cm_debugfs_exit(nd);
	unregister_netdev(netdev);
	if (ours) {
		cm_rx_drain(nd);
		for (q = 0; q < nd->nlanes; q++)
			dps[q] = &nd->lanes[q].dp;
		cm_dp_stats_publish_lanes(dps, nd->nlanes);
		WRITE_ONCE(node->blame, 0);
		smp_store_release(&node->state,
				  cpu_to_le32(CHAINMESH_NODE_ABSENT));
	}
	kfree(nd->hoplog);
	cm_rx_destroy(nd);
	/* After the drain, the last reader of the table. */
	cm_ftsnap_destroy(&nd->ft);
	for (q = 0; q < nd->nlanes; q++)
		cm_dp_destroy(&nd->lanes[q].dp);
	kvfree(nd->lanes);
	free_netdev(netdev);
}
