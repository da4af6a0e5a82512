/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cm%d netdev: one per joined mesh. Its private data, struct cm_dev,
 * holds everything that lives from join to leave. The transmit path is the
 * only producer on the data rings us -> peer.
 */
#ifndef _CM_NETDEV_H
#define _CM_NETDEV_H

#include <linux/netdevice.h>
#include <linux/u64_stats_sync.h>

#include <chainmesh/layout.h>
#include <chainmesh/ring.h>

#include "mesh.h"
#include "pool.h"
#include "rx.h"

struct cm_ivshmem;

/* Frames the transmit path did not send. */
enum cm_tx_drop {
	CM_TX_DROP_LEN,		/* runt, or larger than a buffer */
	CM_TX_DROP_NO_FLOW,	/* no flow of this node's table matches */
	CM_TX_DROP_NO_HOP,	/* the flow's chain has no next node here */
	CM_TX_DROP_PEER_DOWN,	/* next node is not up */
	CM_TX_DROP_RING_FULL,	/* next node's data ring is full */
	CM_TX_DROP_RING_BAD,	/* next node's consumer index is insane */
	CM_TX_DROP_NO_BUF,	/* own pool empty */
	__CM_TX_DROP_MAX
};

struct cm_tx_peer {
	struct cm_ring_prod ring;	/* data ring us -> peer */
	struct cm_ctr ctr;		/* frames sent to the peer */
};

/* Serialized by the netdev's tx lock (one queue, no LLTX). */
struct cm_tx {
	struct cm_tx_peer *peers;	/* [nodes]; ours unused */
	struct cm_ftsnap ft;
	struct cm_ctr *flows;		/* [CHAINMESH_MAX_FLOWS] */
	struct cm_ctr total;
	u64_stats_t drops[__CM_TX_DROP_MAX];
	struct u64_stats_sync syncp;
	DECLARE_BITMAP(pending, CHAINMESH_MAX_NODES);	/* pushed, unpublished */
};

struct cm_dev {
	struct net_device *netdev;
	struct cm_ivshmem *ivs;
	void *base;			/* the region */
	struct cm_layout l;		/* validated copy of the host's layout */
	u32 self;			/* our node id */
	u32 mesh_id;
	struct chainmesh_node *node;	/* our node table entry */
	u64 heartbeat;
	struct cm_pool pool;
	struct cm_tx tx ____cacheline_aligned_in_smp;
	struct cm_rx rx ____cacheline_aligned_in_smp;
};

struct cm_dev *cm_dev_create(struct cm_ivshmem *ivs, const struct cm_layout *l,
			     u32 self, u32 mesh_id);
void cm_dev_destroy(struct cm_dev *cm, bool ours);
void cm_dev_tick(struct cm_dev *cm);
void cm_tx_wake(struct cm_dev *cm);

static inline u8 *cm_buf(struct cm_dev *cm, u64 addr)
{
	return (u8 *)cm->base + addr;
}

#endif /* _CM_NETDEV_H */
