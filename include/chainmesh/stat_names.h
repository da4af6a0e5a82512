/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The names of dp.h's counters, as `ethtool -S` shows them for a kernel
 * node (node/netdev.c) and as libchainmesh's xstats (a DPDK port's
 * rte_eth_xstats) name them: one table, so that a counter has one name
 * whichever node runs the datapath.
 */
#ifndef _CHAINMESH_STAT_NAMES_H
#define _CHAINMESH_STAT_NAMES_H

#include "dp.h"

/* ETH_GSTRING_LEN, RTE_ETH_XSTATS_NAME_SIZE is larger */
#define CM_STAT_NAME_LEN	32
#define CM_STAT_NAMES(t)	(sizeof(t) / sizeof((t)[0]))

/* Indexed by enum cm_tx_drop; CM_TX_DROP_NONE is not a counter. */
static const char cm_tx_drop_names[][CM_STAT_NAME_LEN] = {
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
_Static_assert(CM_STAT_NAMES(cm_tx_drop_names) == __CM_TX_DROP_MAX,
	       "a name per enum cm_tx_drop");

static const char cm_rx_drop_names[][CM_STAT_NAME_LEN] = {
	[CM_RX_DROP_NOMEM]	= "rx_drop_nomem",
	[CM_RX_DROP_DOWN]	= "rx_drop_down",
	[CM_RX_DROP_NO_RETURN]	= "rx_drop_no_return",
	[CM_RX_DROP_OFFLOAD]	= "rx_drop_offload",
};
_Static_assert(CM_STAT_NAMES(cm_rx_drop_names) == __CM_RX_DROP_MAX,
	       "a name per enum cm_rx_drop");

static const char cm_tx_stat_names[][CM_STAT_NAME_LEN] = {
	[CM_TX_CTX]		= "tx_ctx",
	[CM_TX_CTX_STALE]	= "tx_ctx_stale",
	[CM_TX_XDP_ZEROCOPY]	= "xdp_tx_zerocopy",
	[CM_TX_XDP_TX_DROP]	= "xdp_tx_drop",
	[CM_TX_XDP_XMIT]	= "xdp_xmit",
	[CM_TX_XDP_XMIT_DROP]	= "xdp_xmit_drop",
	[CM_TX_STOPPED]		= "tx_queue_stopped",
	[CM_TX_REQUEUE]		= "tx_requeue",
};
_Static_assert(CM_STAT_NAMES(cm_tx_stat_names) == __CM_TX_STAT_MAX,
	       "a name per enum cm_tx_stat");

/* Indexed by enum cm_bad; CM_BAD_NONE is not a counter. */
static const char cm_bad_names[][CM_STAT_NAME_LEN] = {
	[CM_BAD_NONE]		= "",
	[CM_BAD_ADDR]		= "rx_bad_addr",
	[CM_BAD_ALIGN]		= "rx_bad_align",
	[CM_BAD_OWNER]		= "rx_bad_owner",
	[CM_BAD_LEN]		= "rx_bad_len",
	[CM_BAD_INDEX]		= "rx_bad_index",
	[CM_BAD_CHAIN]		= "rx_bad_chain",
	[CM_BAD_RETURN]		= "rx_bad_return",
	[CM_BAD_FRAME_LEN]	= "rx_bad_frame_len",
	[CM_BAD_FRAME_LOOP]	= "rx_bad_frame_loop",
	[CM_BAD_FRAME_OWNER]	= "rx_bad_frame_owner",
	[CM_BAD_FRAME_CUT]	= "rx_bad_frame_cut",
	[CM_BAD_OFFLOAD]	= "rx_bad_offload",
};
_Static_assert(CM_STAT_NAMES(cm_bad_names) == __CM_BAD_MAX,
	       "a name per enum cm_bad");

/* After those, in this order: the pool and frames, then per peer. */
#define CM_POOL_STAT_NAMES \
	"pool_free", "pool_size", "pool_reclaimed", "pool_sent_home", "fenced", \
	"rx_frames", "rx_frame_max"
#define CM_PEER_STAT_FMT	"peer%u_%s"
#define CM_PEER_STAT_NAMES \
	"tx_packets", "tx_bytes", "rx_packets", "rx_bytes", "bad", "broken", \
	"held", "resets"

#endif /* _CHAINMESH_STAT_NAMES_H */
