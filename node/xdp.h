/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Native XDP on the shared buffers, in place. See Documentation/datapath.rst.
 */
#ifndef _CM_XDP_H
#define _CM_XDP_H

#include <linux/bpf.h>
#include <linux/netdevice.h>
#include <net/xdp.h>

#include <chainmesh/dp.h>

#include "ndev.h"

#define CM_XDP_TX_BATCH		NAPI_POLL_WEIGHT

/* A frame XDP_TX hands on, waiting for the tx lock. */
struct cm_xdp_tx_ent {
	struct cm_route r;
	struct cm_desc d;
	u32 from;		/* who sent it to us */
	u32 owner;		/* whose pool the buffer is in, and where */
	u32 idx;
};

/* What cm_xdp_run() leaves to the receive path. */
enum cm_xdp_res {
	CM_XDP_RES_DONE,	/* queued to the next node, dropped or redirected */
	CM_XDP_RES_PASS,	/* build an skb from the (adjusted) descriptor */
};

enum cm_xdp_res cm_xdp_run(struct cm_lane *ln, struct bpf_prog *prog, u32 from,
			   struct cm_desc *d, u32 owner, u32 idx,
			   const struct cm_ftable *t, u32 *metasize);
void cm_xdp_tx_flush(struct cm_lane *ln);
int cm_xdp_bpf(struct net_device *netdev, struct netdev_bpf *bpf);
int cm_xdp_xmit(struct net_device *netdev, int n, struct xdp_frame **frames,
		u32 flags);

#endif /* _CM_XDP_H */
