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
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/version.h>

#include "ndev.h"
#include "rx.h"
#include "xdp.h"

static_assert(BITS_PER_LONG == 64, "dp.h counters: one plain store each");

/* ops->kick: ring @peer's doorbell, the owner's way. */
void cm_node_kick(struct cm_dp *dp, u32 peer)
{
	struct cm_ndev *nd = cm_dp_ndev(dp);

	nd->ops->kick(nd, peer);
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
static bool cm_tx_stop(struct cm_ndev *nd, u32 peer)
{
	struct cm_ring_prod *ring = &nd->dp.peer[peer].tx;

	WRITE_ONCE(nd->stopped_for, peer);
	cm_dp_tx_count(&nd->dp, CM_TX_STOPPED, 1);
	netif_stop_queue(nd->netdev);
	/* A ring full of buffers we passed on for others: their return does
	 * not wake us, the consumer's doorbell will ([S1]). */
	if (cm_ring_prod_space(ring) == 0)
		cm_ring_want_space(ring);
	/* Pairs with cm_tx_wake(): either NAPI sees the queue stopped, or
	 * we see the buffers it freed. */
	smp_mb();
	if (!cm_dp_tx_room(&nd->dp, peer))
		return false;
	netif_start_queue(nd->netdev);
	return true;
}

static void cm_tx_maybe_stop(struct cm_ndev *nd, u32 peer)
{
	if (unlikely(!cm_dp_tx_room(&nd->dp, peer)))
		cm_tx_stop(nd, peer);
}

/* NAPI, after buffers came back. */
void cm_tx_wake(struct cm_ndev *nd)
{
	u32 peer;

	/* Pairs with cm_tx_stop(). */
	smp_mb();
	if (likely(!netif_queue_stopped(nd->netdev)) ||
	    !netif_running(nd->netdev) || !cm_pool_count(&nd->dp.pool))
		return;
	peer = READ_ONCE(nd->stopped_for);
	if (peer < nd->dp.l.p.nodes && !cm_dp_tx_room_hint(&nd->dp, peer))
		return;
	netif_wake_queue(nd->netdev);
}

static bool cm_tx_copy_skb(u8 *buf, u32 len, const void *skb)
{
	return !skb_copy_bits(skb, 0, buf, len);
}

static netdev_tx_t cm_start_xmit(struct sk_buff *skb, struct net_device *netdev)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	struct cm_ctx ctx, *ctxp = NULL;
	u32 len = skb->len, plen, mask;
	struct cm_dp *dp = &nd->dp;
	const struct cm_ftable *t;
	u8 copy[CM_PARSE_LEN];
	enum cm_tx_drop why;
	struct cm_route r;
	const u8 *frame;
	struct cm_desc d;

	/* No VLAN offload is advertised: a tag is in the frame, where
	 * cm_flow_parse() finds it, and counts in its length. */
	if (unlikely(len < ETH_HLEN ||
		     len > dp->l.p.buf_size - CHAINMESH_HEADROOM)) {
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
	t = cm_ftsnap_get(&nd->ft, false);
	why = cm_dp_route(t, ctxp, frame, plen, &r);
	if (why)
		goto drop;

	/* Local traffic waits for room, as cm_tx_maybe_stop() meant it to;
	 * only a race (XDP_TX filled the ring, or the frame goes to another
	 * peer than the last one) gets here without it. */
	if (unlikely(!cm_dp_tx_room(dp, r.peer)) &&
	    cm_dp_peer_up(dp, r.peer) &&
	    cm_ring_prod_space(&dp->peer[r.peer].tx) >= 0 &&
	    !cm_tx_stop(nd, r.peer)) {
		cm_dp_tx_count(dp, CM_TX_REQUEUE, 1);
		cm_dp_tx_flush(dp, &cm_node_dp_ops);
		return NETDEV_TX_BUSY;	/* the queue is stopped: no busy loop */
	}
	why = cm_dp_send(dp, &r, len, cm_tx_copy_skb, skb, &d);
	if (unlikely(why))
		goto drop;
	if (unlikely(READ_ONCE(cm_hop_log_on)))
		cm_hop_log(nd, CM_HOP_TX, r.peer, &d);
	cm_dp_tx_sent(dp, &r, len, ctxp);

	cm_tx_maybe_stop(nd, r.peer);
	dev_consume_skb_any(skb);
	goto out;

drop:
	cm_dp_tx_drop(dp, why);
	dev_kfree_skb_any(skb);
out:
	if (!netdev_xmit_more() || netif_queue_stopped(netdev))
		cm_dp_tx_flush(dp, &cm_node_dp_ops);
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
	struct cm_ndev *nd = netdev_priv(netdev);
	struct cm_dp *dp = &nd->dp;
	int i;

	s->tx_packets = READ_ONCE(dp->tx_total.packets);
	s->tx_bytes = READ_ONCE(dp->tx_total.bytes);
	for (i = 0; i < __CM_TX_DROP_MAX; i++)
		s->tx_dropped += READ_ONCE(dp->tx_drops[i]);
	s->rx_packets = READ_ONCE(dp->rx_total.packets);
	s->rx_bytes = READ_ONCE(dp->rx_total.bytes);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		s->rx_dropped += READ_ONCE(dp->rx_drops[i]);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		s->rx_errors += READ_ONCE(dp->rx_bad[i]);
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

/* Indexed by enum cm_tx_drop; CM_TX_DROP_NONE is not a counter. */
static const char cm_tx_drop_names[][ETH_GSTRING_LEN] = {
	[CM_TX_DROP_NONE]	= "",
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
#define CM_DEV_STATS	(__CM_TX_DROP_MAX - 1 + __CM_RX_DROP_MAX + \
			 __CM_BAD_MAX - 1 + __CM_TX_STAT_MAX + \
			 __CM_XDP_STAT_MAX + 6)	/* + tx_wake_stalled, pool_free,
						 * pool_size, pool_reclaimed,
						 * pool_sent_home, fenced */

static int cm_get_sset_count(struct net_device *netdev, int sset)
{
	struct cm_ndev *nd = netdev_priv(netdev);

	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return CM_DEV_STATS + (nd->dp.l.p.nodes - 1) * CM_PEER_STATS;
}

static void cm_get_strings(struct net_device *netdev, u32 sset, u8 *data)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	u32 i;

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
	ethtool_sprintf(&data, "pool_free");
	ethtool_sprintf(&data, "pool_size");
	ethtool_sprintf(&data, "pool_reclaimed");
	ethtool_sprintf(&data, "pool_sent_home");
	ethtool_sprintf(&data, "fenced");
	for (i = 0; i < nd->dp.l.p.nodes; i++) {
		if (i == nd->dp.self)
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
	struct cm_ndev *nd = netdev_priv(netdev);
	struct cm_dp *dp = &nd->dp;
	u32 i;

	for (i = CM_TX_DROP_NONE + 1; i < __CM_TX_DROP_MAX; i++)
		*data++ = READ_ONCE(dp->tx_drops[i]);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		*data++ = READ_ONCE(dp->rx_drops[i]);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		*data++ = READ_ONCE(dp->rx_bad[i]);
	for (i = 0; i < __CM_TX_STAT_MAX; i++)
		*data++ = READ_ONCE(dp->tx_stats[i]);
	for (i = 0; i < __CM_XDP_STAT_MAX; i++)
		*data++ = READ_ONCE(nd->rx.xdp[i]);
	*data++ = READ_ONCE(nd->stall_wakes);
	*data++ = cm_pool_count(&dp->pool);
	*data++ = dp->pool.nbufs;
	*data++ = READ_ONCE(dp->reclaimed);
	*data++ = READ_ONCE(dp->sent_home);
	*data++ = READ_ONCE(nd->fences);
	for (i = 0; i < dp->l.p.nodes; i++) {
		if (i == dp->self)
			continue;
		*data++ = READ_ONCE(dp->peer[i].txc.packets);
		*data++ = READ_ONCE(dp->peer[i].txc.bytes);
		*data++ = READ_ONCE(dp->peer[i].rx.packets);
		*data++ = READ_ONCE(dp->peer[i].rx.bytes);
		*data++ = READ_ONCE(dp->peer[i].bad);
		*data++ = READ_ONCE(dp->peers.broken[i]);
		*data++ = cm_pool_held(&dp->pool, i);
	}
}

static void cm_get_drvinfo(struct net_device *netdev,
			   struct ethtool_drvinfo *info)
{
	struct cm_ndev *nd = netdev_priv(netdev);

	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
	strscpy(info->bus_info, nd->bus_info, sizeof(info->bus_info));
}

static const struct ethtool_ops cm_ethtool_ops = {
	.get_drvinfo		= cm_get_drvinfo,
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
static bool cm_tx_stalled(struct cm_ndev *nd)
{
	u32 peer = READ_ONCE(nd->stopped_for);

	if (++nd->stall_ticks >= 10)
		return true;
	if (!cm_pool_count(&nd->dp.pool) || peer >= nd->dp.l.p.nodes)
		return false;
	return !cm_dp_peer_up(&nd->dp, peer) ||
	       cm_dp_tx_room_hint(&nd->dp, peer);
}

/* The owner's tick, every 100 ms while the node is in the mesh. */
void cm_node_tick(struct cm_ndev *nd)
{
	struct net_device *netdev = nd->netdev;
	bool up, work;

	/* Who died (NAPI takes back what they held), who came back (NAPI
	 * resyncs with their rings), whom we judged broken; quotas and
	 * counters. Carrier: someone else to talk to. */
	work = cm_dp_tick(&nd->dp, &up);
	if (up && !netif_carrier_ok(netdev))
		netif_carrier_on(netdev);
	else if (!up && netif_carrier_ok(netdev))
		netif_carrier_off(netdev);

	/* A table the datapath has not looked at yet is built ahead of it. */
	cm_ftsnap_poke(&nd->ft);

	if (!netif_running(netdev) || !netif_queue_stopped(netdev)) {
		nd->stall_ticks = 0;
	} else if (cm_tx_stalled(nd)) {
		nd->stall_ticks = 0;
		WRITE_ONCE(nd->stall_wakes, nd->stall_wakes + 1);
		netif_wake_queue(netdev);
	}

	if (work || READ_ONCE(nd->polled))
		cm_rx_poke(nd);
}

/* Peers this node judged broken: bit n for node n. */
u64 cm_node_blame(struct cm_ndev *nd)
{
	return READ_ONCE(nd->dp.peers.blame);
}

/* The owner's tick: must this node fence itself (cm_dp_fenced())? */
bool cm_node_fence_due(struct cm_ndev *nd)
{
	u32 v = le32_to_cpu(READ_ONCE(nd->dp.node->host_state));

	if (v == CHAINMESH_NODE_UP) {
		WRITE_ONCE(nd->dp.acked, true);
		return false;
	}
	return cm_dp_fenced(&nd->dp);
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
	struct chainmesh_node *node = nd->dp.node;
	u32 verdict = le32_to_cpu(READ_ONCE(node->host_state)), epoch;

	/* Peers send nothing to a node that is not up. */
	smp_store_release(&node->state, cpu_to_le32(CHAINMESH_NODE_JOINING));
	napi_disable(&nd->rx.napi);
	/* Every producer checks cm_dp_fenced() under the tx lock: none is
	 * past that check after this. */
	netif_tx_lock_bh(nd->netdev);
	netif_tx_unlock_bh(nd->netdev);
	cm_dp_fence_rings(&nd->dp);

	epoch = le32_to_cpu(READ_ONCE(node->epoch)) + 1;
	/* Pairs with the peers' acquire of our epoch (peers.h). */
	smp_store_release(&node->epoch, cpu_to_le32(epoch));
	WRITE_ONCE(nd->dp.acked, false);
	WRITE_ONCE(nd->fences, nd->fences + 1);
	smp_store_release(&node->state, cpu_to_le32(CHAINMESH_NODE_UP));

	napi_enable(&nd->rx.napi);
	cm_rx_poke(nd);
	netdev_warn(nd->netdev,
		    "host called node %u %s: fenced, rejoined as epoch %u\n",
		    nd->dp.self,
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
	int err;

	netdev = alloc_netdev(sizeof(*nd), cfg->ifname, cfg->name_assign_type,
			      cm_netdev_setup);
	if (!netdev)
		return ERR_PTR(-ENOMEM);
	if (cfg->parent)
		SET_NETDEV_DEV(netdev, cfg->parent);
	nd = netdev_priv(netdev);
	nd->netdev = netdev;
	nd->ops = cfg->ops;
	nd->priv = cfg->priv;
	nd->bus_info = cfg->bus_info;
	nd->irq = cfg->irq;
	nd->polled = cfg->polled;

	netdev->max_mtu = l->p.buf_size - CHAINMESH_HEADROOM - ETH_HLEN;
	netdev->mtu = min_t(u32, ETH_DATA_LEN, netdev->max_mtu);
	eth_hw_addr_set(netdev, cfg->mac);

	err = cm_dp_init(&nd->dp, cfg->base, l, cfg->self, &cm_policy);
	if (err)
		goto err_free_netdev;
	err = cm_ftsnap_init(&nd->ft, cfg->ftable, cfg->flog, &nd->dp.l,
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
	cm_dp_destroy(&nd->dp);
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
	struct net_device *netdev = nd->netdev;

	cm_rx_stop(nd);
	cm_debugfs_exit(nd);
	unregister_netdev(netdev);
	if (ours) {
		cm_rx_drain(nd);
		cm_dp_stats_publish(&nd->dp);
		WRITE_ONCE(nd->dp.node->blame, 0);
		smp_store_release(&nd->dp.node->state,
				  cpu_to_le32(CHAINMESH_NODE_ABSENT));
	}
	kfree(nd->hoplog);
	cm_rx_destroy(nd);
	/* After the drain, the last reader of the table. */
	cm_ftsnap_destroy(&nd->ft);
	cm_dp_destroy(&nd->dp);
	free_netdev(netdev);
}
