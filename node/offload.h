/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checksum offload and GSO/TSO as frames of several buffers (offload.c).
 * Private to node/.
 */
#ifndef _CM_OFFLOAD_H
#define _CM_OFFLOAD_H

#include "ndev.h"

/* What the device offers: virtio-net's checksum and TCP segmentation
 * offloads, scatter-gather. */
#define CM_OFF_FEATURES	(NETIF_F_SG | NETIF_F_HW_CSUM | NETIF_F_RXCSUM | \
			 NETIF_F_TSO | NETIF_F_TSO6 | NETIF_F_TSO_ECN)

void cm_off_update(struct cm_ndev *nd);
bool cm_off_wanted(const struct cm_dp *dp, const struct sk_buff *skb, u32 peer);
enum cm_tx_drop cm_off_xmit(struct cm_dp *dp, struct sk_buff *skb,
			    const struct cm_route *r);

/* ops->rx_frame, in offload.c. */
static void cm_rx_frame(struct cm_dp *dp, u32 from, struct cm_frame *f,
			const struct cm_ftable **t);

#endif /* _CM_OFFLOAD_H */
