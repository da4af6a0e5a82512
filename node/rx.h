/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Receive: one NAPI context per lane consumes every inbound data ring (peer -> us)
 * and every inbound return ring (our buffers coming back), and produces
 * on every outbound return ring (peers' buffers going home): the receive
 * side of include/chainmesh/dp.h. Nothing else touches these rings, so
 * each stays single producer, single consumer. What is the kernel's own
 * lives here: NAPI, XDP, the skb. Private to node/.
 */
#ifndef _CM_RX_H
#define _CM_RX_H

#include "ndev.h"

int cm_rx_init(struct cm_ndev *nd);
void cm_rx_destroy(struct cm_ndev *nd);
int cm_rx_start(struct cm_ndev *nd);
void cm_rx_stop(struct cm_ndev *nd);
void cm_rx_drain(struct cm_ndev *nd);
void cm_rx_poke(struct cm_lane *ln);

/* Defined in rx.c; the node's files are one unit (host/node.c,
 * guest/node.c), so every loop of dp.h that takes it calls directly. */
static const struct cm_dp_ops cm_node_dp_ops;
static void cm_rx_deliver(struct cm_lane *ln, struct sk_buff *skb,
			  const struct cm_ftable *t, const struct cm_desc *d);

#endif /* _CM_RX_H */
