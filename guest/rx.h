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
	struct cm_ftsnap ft;
	struct cm_ctr *flows;		/* [CHAINMESH_MAX_FLOWS] */
	struct cm_ctr total;
	u64_stats_t drops[__CM_RX_DROP_MAX];
	u64_stats_t bad[__CM_BAD_MAX];
	struct u64_stats_sync syncp;
	DECLARE_BITMAP(back_pending, CHAINMESH_MAX_NODES);
	u32 first;			/* data ring served first, rotates */
	bool armed;			/* want_kick set on every inbound ring */
	bool freed;			/* this poll put buffers on our free list */
};

int cm_rx_init(struct cm_dev *cm);
void cm_rx_destroy(struct cm_dev *cm);
int cm_rx_start(struct cm_dev *cm);
void cm_rx_stop(struct cm_dev *cm);
void cm_rx_drain(struct cm_dev *cm);

void cm_rx_poke(struct cm_dev *cm);

#endif /* _CM_RX_H */
