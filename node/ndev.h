/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A node of a mesh as a netdev: node 0 (cmh-NAME) in chainmesh_host.ko and
 * every guest's cm%d in chainmesh.ko are this one implementation, compiled
 * into each module (host/node.c, guest/node.c). The datapath itself is
 * include/chainmesh/dp.h; this wraps it in a netdev, NAPI, XDP, ethtool
 * and the flow-table snapshot. What differs between the two modules comes
 * in struct cm_node_cfg: the region, the doorbell, the parent device.
 *
 * Queues: a mesh of Q queues gives each node Q lanes (struct cm_lane),
 * each a struct cm_dp of its own over queue q's rings and slice q of the
 * pools, with its own NAPI context. The netdev has Q transmit queues;
 * `ethtool -L combined N` uses N of them (channels): lane q is sent on
 * through transmit queue q mod N, under that queue's lock, which also
 * serializes its XDP_TX and peer changes. A frame's lane is
 * cm_flow_lane() of its flow, the same at every node.
 *
 * Contexts: transmit (the tx queues and their locks), NAPI (receive, one
 * per lane), the owner's tick (every 100 ms, process context).
 */
#ifndef _CM_NDEV_H
#define _CM_NDEV_H

#include <linux/netdevice.h>
#include <net/xdp.h>

#include <chainmesh/dp.h>

#include "ftsnap.h"

struct cm_ndev;

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

struct cm_rx {
	struct napi_struct napi;
	u64 xdp[__CM_XDP_STAT_MAX];	/* NAPI writes */
	struct xdp_rxq_info xdp_rxq;	/* of the page copies we redirect */
	struct bpf_prog *prog;		/* this poll's, under RCU */
	bool deliver;			/* false: draining, frames go home */
	bool xdp_redirected;		/* xdp_do_flush() due */
	u32 xdp_tx_n;			/* entries in @xdp_tx */
	struct cm_xdp_tx_ent *xdp_tx;	/* [CM_XDP_TX_BATCH], pushed under tx lock */
};

struct cm_node_ops {
	/* Ring node @peer's doorbell vector @vector: "look at the rings of
	 * your lanes that vector wakes" (cm_node_bell_vector()). Any
	 * context but hard interrupts. */
	void (*kick)(struct cm_ndev *nd, u32 peer, u32 vector);
	/* Optional: a frame whose chain ends at this node (LAST, not DROP),
	 * after eth_type_trans(). True: the owner took @skb (it continues
	 * elsewhere, host/remote.c); false: it goes up the stack. NAPI. */
	bool (*chain_end)(struct cm_ndev *nd, struct sk_buff *skb, u16 chain,
			  u8 hop);
	/* Optional: the owner's own `ethtool -S` counters, after the node's. */
	u32 n_ext_stats;
	const char *const *ext_stat_names;
	void (*ext_stats)(struct cm_ndev *nd, u64 *data);
};

/* What the owner (guest membership, host mesh) creates a node from. */
struct cm_node_cfg {
	const char *ifname;		/* may hold %d */
	unsigned char name_assign_type;
	struct device *parent;		/* or NULL */
	const char *bus_info;		/* ethtool -i */
	void *base;			/* the region, mapped write-back */
	const struct cm_layout *l;	/* validated */
	u32 self;
	const u8 *mac;
	void *ftable;			/* where our flow table is published */
	void *flog;			/* and its flow log (flowlog.h) */
	const struct cm_node_ops *ops;
	void *priv;			/* the owner's */
	/* Our doorbell's interrupts, vector v at irqs[v], or nirqs 0: the
	 * owner calls cm_node_kicked_vector(). Vectors past the mesh's
	 * queues go unused. */
	int irqs[CHAINMESH_MAX_QUEUES];
	u32 nirqs;
	bool polled;			/* no doorbell: each tick polls */
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

/* A doorbell vector of our own: its interrupt wakes lanes v, v + n, ... */
struct cm_vec {
	struct cm_ndev *nd;
	int irq;
	u32 v;
	bool on;			/* requested */
	char name[IFNAMSIZ + 8];	/* /proc/interrupts: DEV-qV */
};

/* One queue of the node: its datapath and its NAPI context. */
struct cm_lane {
	struct cm_ndev *nd;
	u32 q;				/* index, = dp.lane */
	u32 stopped_for;		/* peer whose ring stopped our tx queue */
	u32 stop_need;			/* buffers the frame that stopped it needs */
	struct cm_rx rx;		/* NAPI's: XDP and the skb side */
	struct cm_dp dp ____cacheline_aligned_in_smp;
};

struct cm_ndev {
	struct net_device *netdev;
	void *base;			/* the region */
	struct cm_layout l;		/* the mesh's, validated */
	u32 nlanes;			/* the mesh's queues */
	u32 nchan;			/* tx queues in use, 1..nlanes: ethtool -L
					 * changes it with every lane stopped */
	bool chan_busy;			/* ethtool -L at work: see cm_xdp_xmit() */
	bool rx_stopped;		/* NAPI off for good (rtnl) */
	const struct cm_node_ops *ops;
	void *priv;			/* the owner's */
	const char *bus_info;
	u32 nvec;			/* vectors of ours, <= nlanes; 0: the
					 * owner's doorbell, if any */
	struct cm_vec vec[CHAINMESH_MAX_QUEUES];
	u32 bell_vectors;		/* we listen on, as published */
	bool polled;			/* the owner may change it */
	u64 heartbeat;			/* the owner's */
	u32 stall_ticks;		/* ticks the queue stayed stopped */
	u64 stall_wakes;		/* queue woken by the tick, not by NAPI */
	u64 fences;			/* host called us down or broken */
	struct bpf_prog __rcu *xdp_prog;
	struct cm_hoplog *hoplog;
	struct dentry *debugfs;
	/* Read by transmit, XDP and NAPI on any CPU. */
	struct cm_ftsnap ft ____cacheline_aligned_in_smp;
	struct cm_lane *lanes;		/* [nlanes] */
};

struct cm_ndev *cm_node_create(const struct cm_node_cfg *cfg);
void cm_node_destroy(struct cm_ndev *nd, bool ours);
void cm_node_kicked(struct cm_ndev *nd);
void cm_node_kicked_vector(struct cm_ndev *nd, u32 v);
void cm_node_set_vectors(struct cm_ndev *nd, u32 n);
void cm_node_tick(struct cm_ndev *nd);
bool cm_node_fence_due(struct cm_ndev *nd);
void cm_node_fence(struct cm_ndev *nd);
u64 cm_node_blame(struct cm_ndev *nd);
int cm_node_module_init(void);
void cm_node_module_exit(void);

/* Internal to node/. */
void cm_tx_wake(struct cm_lane *ln);
void cm_node_kick(struct cm_dp *dp, u32 peer);
void cm_debugfs_init(struct cm_ndev *nd);
void cm_debugfs_exit(struct cm_ndev *nd);
void cm_hop_log(struct cm_ndev *nd, enum cm_hop_what what, u32 peer,
		const struct cm_desc *d);

/* Module parameters (node/params.c), each module its own. */
extern u32 cm_mark_mask;
extern bool cm_hop_log_on;
extern struct cm_policy cm_policy;

static inline struct cm_lane *cm_dp_lane(struct cm_dp *dp)
{
	return container_of(dp, struct cm_lane, dp);
}

static inline struct cm_ndev *cm_dp_ndev(struct cm_dp *dp)
{
	return cm_dp_lane(dp)->nd;
}

/* The transmit queue that lane @q is sent on, and its lock. */
static inline struct netdev_queue *cm_lane_txq(struct cm_lane *ln)
{
	return netdev_get_tx_queue(ln->nd->netdev,
				   ln->q % READ_ONCE(ln->nd->nchan));
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

static inline u8 *cm_buf(struct cm_ndev *nd, u64 addr)
{
	return (u8 *)nd->base + addr;
}

#endif /* _CM_NDEV_H */
