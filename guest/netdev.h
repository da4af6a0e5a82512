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
#include <net/xdp.h>

#include <chainmesh/datapath.h>
#include <chainmesh/layout.h>
#include <chainmesh/peers.h>
#include <chainmesh/pool.h>
#include <chainmesh/ring.h>

#include "mesh.h"
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
	CM_TX_DROP_QUOTA,	/* next node holds its share of our pool */
	CM_TX_DROP_FENCED,	/* the host called us down: we send nothing */
	__CM_TX_DROP_MAX
};

/* What the transmit side counts besides the stack's frames and drops. */
enum cm_tx_stat {
	CM_TX_CTX,		/* frames routed by their chain context */
	CM_TX_CTX_STALE,	/* context no longer on our table: classified */
	CM_TX_XDP_ZEROCOPY,	/* XDP_TX: a peer's buffer passed on, no copy */
	CM_TX_XDP_TX_DROP,	/* XDP_TX: next node down or its ring full */
	CM_TX_XDP_XMIT,		/* ndo_xdp_xmit: frames copied and sent */
	CM_TX_XDP_XMIT_DROP,	/* ndo_xdp_xmit: no flow, no hop, no room */
	CM_TX_STOPPED,		/* queue stopped: next ring full or pool empty */
	CM_TX_REQUEUE,		/* no room after all: back to the qdisc, stopped */
	__CM_TX_STAT_MAX
};

/* Where a frame goes next: the result of cm_route(). */
struct cm_route {
	u32 peer;		/* next node */
	u16 chain;
	u8 hop;			/* the next node's place on @chain */
	int flow;		/* flow to count it against, or -1 */
};

/* A frame's place on a chain: from a descriptor, or from skb->mark. */
struct cm_ctx {
	u16 chain;
	u8 hop;			/* this node's place on @chain */
};

struct cm_tx_peer {
	struct cm_ring_prod ring;	/* data ring us -> peer */
	struct cm_ctr ctr;		/* frames sent to the peer */
};

/* Serialized by the netdev's tx lock (one queue, no LLTX). */
struct cm_tx {
	struct cm_tx_peer *peers;	/* [nodes]; ours unused */
	struct cm_ctr *flows;		/* [max_flows] */
	struct cm_ctr total;
	u64_stats_t drops[__CM_TX_DROP_MAX];
	u64_stats_t stats[__CM_TX_STAT_MAX];
	struct u64_stats_sync syncp;
	DECLARE_BITMAP(pending, CHAINMESH_MAX_NODES);	/* pushed, unpublished */
	u32 stopped_for;		/* peer whose ring stopped the queue */
};

/*
 * Recent buffers this node saw, for debugfs: proof that XDP_TX forwards a
 * buffer without copying it (the same offset at every hop). Written only
 * with the hop_log module parameter set; racy by design, it is a debug aid.
 */
enum cm_hop_what {
	CM_HOP_TX,		/* stack frame copied into our buffer, pushed */
	CM_HOP_RX,		/* received and copied into an skb */
	CM_HOP_XDP_TX,		/* passed on in place by XDP_TX */
	CM_HOP_XDP_DROP,
	CM_HOP_XDP_REDIRECT,
	CM_HOP_XDP_XMIT,	/* redirected to us, copied into our buffer */
};

struct cm_hop_rec {
	u64 addr;
	u16 data_off;
	u16 len;
	u16 chain;
	u8 hop;
	u8 what;		/* enum cm_hop_what */
	u8 peer;		/* sender (rx) or receiver (tx) */
};

#define CM_HOPLOG_LEN	256

struct cm_hoplog {
	atomic_t pos;
	struct cm_hop_rec rec[CM_HOPLOG_LEN];
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
	u32 stall_ticks;		/* ticks the queue stayed stopped */
	u64 stall_wakes;		/* queue woken by the tick, not by NAPI */
	bool acked;			/* the host saw this life up */
	u64 fences;			/* host called us down or broken */
	struct cm_peers peers;		/* see include/chainmesh/peers.h */
	struct cm_pool pool;
	u64 pool_off;			/* our pool's offset in the region */
	u64 pool_len;
	/* Quotas: how many of our buffers one next hop may hold (the tick
	 * sets it from peer_share), and when each hop last gave some back
	 * or held none (jiffies, the tick writes, transmit reads). */
	u32 hop_cap;
	unsigned long hop_ok[CHAINMESH_MAX_NODES];
	u32 hop_back[CHAINMESH_MAX_NODES];	/* the tick's last look */
	struct bpf_prog __rcu *xdp_prog;
	struct cm_hoplog *hoplog;
	struct dentry *debugfs;
	/* Read by transmit, XDP and NAPI on any CPU. */
	struct cm_ftsnap ft ____cacheline_aligned_in_smp;
	struct cm_tx tx ____cacheline_aligned_in_smp;
	struct cm_rx rx ____cacheline_aligned_in_smp;
};

struct cm_dev *cm_dev_create(struct cm_ivshmem *ivs, const struct cm_layout *l,
			     u32 self, u32 mesh_id);
void cm_dev_destroy(struct cm_dev *cm, bool ours);
void cm_dev_tick(struct cm_dev *cm);
bool cm_dev_fence_due(struct cm_dev *cm);
void cm_dev_fence(struct cm_dev *cm);
void cm_tx_wake(struct cm_dev *cm);

bool cm_route(struct cm_dev *cm, const struct cm_ftable *t,
	      const struct cm_ctx *ctx, const u8 *frame, u32 len,
	      struct cm_route *r, enum cm_tx_drop *why);
int cm_tx_push(struct cm_dev *cm, const struct cm_route *r,
	       const struct cm_desc *d);
void cm_tx_flush(struct cm_dev *cm);
void cm_tx_count(struct cm_tx *tx, enum cm_tx_stat what, u32 n);
void cm_debugfs_init(struct cm_dev *cm);
void cm_debugfs_exit(struct cm_dev *cm);
void cm_hop_log(struct cm_dev *cm, enum cm_hop_what what, u32 peer,
		const struct cm_desc *d);

/* Module parameters (main.c): skb->mark bits of the chain context, hop
 * log, when a peer is broken, and each next hop's share of our pool. */
extern u32 cm_mark_mask;
extern bool cm_hop_log_on;
extern unsigned int cm_bad_limit;
extern unsigned int cm_bad_window_ms;
extern unsigned int cm_peer_share;
extern struct dentry *cm_debugfs_root;

/* The host's verdict on this node's current life is DOWN or BROKEN: its
 * peers took back what they had sent it. It sends and reads nothing
 * until it has rejoined (cm_dev_fence()). */
static inline bool cm_dev_fenced(const struct cm_dev *cm)
{
	u32 v;

	if (!READ_ONCE(cm->acked))
		return false;
	v = le32_to_cpu(READ_ONCE(cm->node->host_state));
	return v == CHAINMESH_NODE_DOWN || v == CHAINMESH_NODE_BROKEN;
}

/*
 * Context encoding inside the mark_mask bits (a contiguous run of at least
 * CM_CTX_BITS bits), from the mask's lowest bit up: hop (6 bits), chain
 * (8 bits), a "present" bit; any higher bit of the mask must be zero. Mark
 * bits outside the mask belong to the user.
 */
#define CM_CTX_HOP_BITS		6
#define CM_CTX_CHAIN_BITS	8
#define CM_CTX_PRESENT		BIT(CM_CTX_HOP_BITS + CM_CTX_CHAIN_BITS)
#define CM_CTX_BITS		(CM_CTX_HOP_BITS + CM_CTX_CHAIN_BITS + 1)

static inline u32 cm_ctx_to_mark(u32 mark, u32 mask, const struct cm_ctx *c)
{
	u32 v = CM_CTX_PRESENT | (u32)c->chain << CM_CTX_HOP_BITS | c->hop;

	return (mark & ~mask) | (v << __ffs(mask));
}

static inline bool cm_ctx_from_mark(u32 mark, u32 mask, struct cm_ctx *c)
{
	u32 v;

	if (!mask)
		return false;
	v = (mark & mask) >> __ffs(mask);
	if (v >> CM_CTX_BITS || !(v & CM_CTX_PRESENT))
		return false;
	c->hop = v & (BIT(CM_CTX_HOP_BITS) - 1);
	c->chain = (v >> CM_CTX_HOP_BITS) & (BIT(CM_CTX_CHAIN_BITS) - 1);
	return true;
}

static inline u8 *cm_buf(struct cm_dev *cm, u64 addr)
{
	return (u8 *)cm->base + addr;
}

#endif /* _CM_NETDEV_H */
