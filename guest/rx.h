/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receive: one NAPI context consumes every inbound data ring (peer -> us)
 * and every inbound return ring (our buffers coming back), and produces
 * on every outbound return ring (peers' buffers going home). Nothing else
 * touches these rings, so each stays single producer, single consumer.
 */
#ifndef _CM_RX_H
#define _CM_RX_H

#include <linux/interrupt.h>
#include <linux/netdevice.h>
#include <linux/u64_stats_sync.h>

#include <net/xdp.h>

#include <chainmesh/layout.h>
#include <chainmesh/ring.h>

#include "mesh.h"

struct cm_dev;

/* Frames received but not delivered, other than bad descriptors. */
enum cm_rx_drop {
	CM_RX_DROP_NOMEM,	/* no skb */
	CM_RX_DROP_DOWN,	/* interface down or leaving: buffer returned */
	CM_RX_DROP_NO_RETURN,	/* owner's return ring full: buffer lost */
	__CM_RX_DROP_MAX
};

/* Verdicts of the XDP program, and what became of them. */
enum cm_xdp_stat {
	CM_XDP_PASS,
	CM_XDP_DROP,
	CM_XDP_TX,
	CM_XDP_REDIRECT,
	CM_XDP_ABORTED,		/* XDP_ABORTED or an unknown verdict */
	CM_XDP_TX_NO_HOP,	/* XDP_TX, but no next node for the frame */
	CM_XDP_REDIRECT_FAIL,	/* no memory for the copy, or the target said no */
	__CM_XDP_STAT_MAX
};

struct cm_ctr {
	u64_stats_t packets;
	u64_stats_t bytes;
};

struct cm_rx_peer {
	struct cm_ring_cons data;	/* data ring peer -> us */
	struct cm_ring_cons ret;	/* return ring peer -> us */
	struct cm_ring_prod back;	/* return ring us -> peer */
	struct cm_ctr ctr;		/* frames received from the peer */
	u64_stats_t bad;		/* bad descriptors or returns from it */
};

struct cm_rx {
	struct napi_struct napi;
	struct cm_rx_peer *peers;	/* [nodes]; ours unused */
	struct cm_ctr *flows;		/* [max_flows] */
	struct cm_ctr total;
	u64_stats_t drops[__CM_RX_DROP_MAX];
	u64_stats_t bad[__CM_BAD_MAX];
	struct u64_stats_sync syncp;
	DECLARE_BITMAP(back_pending, CHAINMESH_MAX_NODES);
	DECLARE_BITMAP(released, CHAINMESH_MAX_NODES);	/* data rings */
	u64_stats_t xdp[__CM_XDP_STAT_MAX];
	struct xdp_rxq_info xdp_rxq;	/* of the page copies we redirect */
	bool xdp_redirected;		/* xdp_do_flush() due */
	u32 xdp_tx_n;			/* entries in @xdp_tx */
	struct cm_xdp_tx_ent *xdp_tx;	/* [CM_XDP_TX_BATCH], pushed under tx lock */
	u32 first;			/* data ring served first, rotates */
	bool armed;			/* want_kick set on every inbound ring */
	bool freed;			/* this poll put buffers on our free list */
	u64 reclaimed;			/* buffers taken back, NAPI writes */
	u64 sent_home;			/* others' buffers a dead peer held */
};

int cm_rx_init(struct cm_dev *cm);
void cm_rx_destroy(struct cm_dev *cm);
int cm_rx_start(struct cm_dev *cm);
void cm_rx_stop(struct cm_dev *cm);
void cm_rx_drain(struct cm_dev *cm);

void cm_rx_poke(struct cm_dev *cm);
void cm_rx_fence(struct cm_dev *cm);
void cm_rx_give_back(struct cm_dev *cm, u32 from, u32 owner, u32 idx,
		     u64 addr);
void cm_rx_xdp_count(struct cm_rx *rx, enum cm_xdp_stat what);

#endif /* _CM_RX_H */
