/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A mesh: one laid-out region, the logical flow table the user edits, the
 * liveness watcher and node 0's netdev. Whatever backs the region (an
 * ivshmem BAR in the lab, shmem on a real host) maps it and creates the
 * mesh, which lays it out; the backing also provides the doorbells.
 */
#ifndef _CM_HOST_MESH_H
#define _CM_HOST_MESH_H

#include <linux/bitmap.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <linux/chainmesh.h>
#include <linux/chainmesh_region.h>
#include <chainmesh/layout.h>
#include <chainmesh/flow.h>
#include <chainmesh/flowlog.h>
#include <chainmesh/liveness.h>

/* A node is dead when its heartbeat stood still for dead_ms (module
 * parameter, main.c) and for as many of the watcher's ticks: a late
 * watcher alone must not kill every node at once. Guests under emulation
 * can stall for a second: 2 s by default. */
#define CM_DEF_DEAD_MS		2000
extern unsigned int cm_dead_ms;

/* A node's per-flow counters when the flow was created. */
struct cm_fstat {
	u64 packets;
	u64 bytes;
};

struct cm_mesh;
struct cm_ndev;
struct cm_remote;
struct netlink_ext_ack;

/* Doorbells of the backing. Node 0's own doorbell vectors call
 * cm_node_kicked_vector() and say how many there are with
 * cm_node_set_vectors(). */
struct cm_bell_ops {
	/* Ring node @peer's @vector; from any context, hard interrupts
	 * excepted. */
	void (*kick)(struct cm_mesh *m, u32 peer, u32 vector);
	/* Make node 0's doorbell stop calling cm_node_kicked(); may sleep. */
	void (*quiesce)(struct cm_mesh *m);
};

struct cm_mesh {
	struct list_head list;		/* in cm_meshes, under cm_mesh_lock */
	enum chainmesh_backing backing;
	const struct cm_bell_ops *bell;
	void *priv;			/* the backing's */
	struct cm_ndev *nd;		/* node 0 (node/ndev.h) */
	void *own_ft;			/* node 0's table, region format */
	struct chainmesh_flog_hdr *own_log;	/* and its flow log */
	bool polled;			/* node 0 has no doorbell: poll each tick */
	char name[CHAINMESH_NAME_LEN];
	void *base;			/* the region, mapped write-back */
	u64 region_size;
	struct cm_layout l;
	u32 mesh_id;
	u32 self;			/* our node id */
	struct cm_remote __rcu *remote;	/* chains across hosts (remote.c) */

	/* The logical table, under cm_mesh_lock. Flows are kept in table
	 * order (priority, then id), so compiling a node's table is one
	 * pass over them, no sort. */
	struct cm_chain chains[CHAINMESH_MAX_CHAINS];
	u32 chain_nflows[CHAINMESH_MAX_CHAINS];	/* flows on each chain */
	struct chainmesh_flow *flows;	/* nflows of max_flows, table order */
	u32 *flow_pos;			/* [flow id]: index in flows, or ~0 */
	u32 nflows;
	struct cm_fstat *fbase;		/* [flow id * nodes + node] */
	struct cm_ftable *scratch;	/* one node's table being compiled */
	/* What each node's table holds (byid current, unindexed), and our
	 * side of its flow log (include/chainmesh/flowlog.h): a flow change
	 * is appended to the logs of the nodes on its chain; chain and
	 * liveness changes recompile and checkpoint. Node 0's table gets
	 * the same increments in host memory (own_ft, own_log, own_fw). */
	struct cm_ftable **nft;		/* [node] */
	struct cm_flog_host *fw;	/* [node], the region's logs */
	struct cm_flog_host own_fw;
	struct cm_flog_op *ops;		/* [flog_slots / 2]: one node's batch */
	struct cm_chain *eff;		/* chains with the failure policy applied */
	DECLARE_BITMAP(alive, CHAINMESH_MAX_NODES);	/* as last compiled */
	unsigned long published_at;	/* jiffies: the last such compile */
	unsigned long asserted_at;	/* jiffies: the tables last re-asserted */
	u64 publishes;			/* compiles published: debugfs
					 * chainmesh_host/<dev>/publishes */

	/* Liveness, touched only by the watcher. */
	struct delayed_work watch;
	struct cm_node_watch *nw;	/* one per node */
	u64 heartbeat;
	u32 self_epoch;			/* node 0's, as it joined */
};

/* A snapshot of one node, read from the region once, field by field. */
struct cm_node_info {
	u32 id;
	u32 state;
	u32 epoch;
	u64 heartbeat;
	u8 mac[6];
	u64 rx_packets;
	u64 rx_bytes;
	u64 tx_packets;
	u64 tx_bytes;
	u64 drops;
	u64 bad_desc;
};

/* Protects the mesh list and every mesh's logical table. */
extern struct mutex cm_mesh_lock;
extern struct list_head cm_meshes;
/* Bumped under cm_mesh_lock on every change a dump could see. */
extern unsigned int cm_mesh_gen;

#define cm_for_each_mesh(m) list_for_each_entry(m, &cm_meshes, list)

struct cm_mesh_backing {
	enum chainmesh_backing type;
	void *base;			/* the region, mapped write-back */
	u64 size;			/* a power of two */
	const struct cm_bell_ops *bell;
	void *priv;
	/* Set to the mesh before anyone can find it (listed, announced):
	 * the backing's own pointer to it, or NULL. */
	struct cm_mesh **self;
	struct device *parent;		/* of node 0's netdev, or NULL */
	bool polled;			/* no doorbell for node 0 (yet) */
};

struct cm_mesh *cm_mesh_create(const char *name, const struct cm_layout_params *p,
			       const struct cm_mesh_backing *b,
			       struct netlink_ext_ack *extack);
void cm_mesh_destroy(struct cm_mesh *m);
bool cm_mesh_name_taken(const char *name);
struct cm_mesh *cm_mesh_find(const char *name);

struct chainmesh_flow *cm_mesh_flow(struct cm_mesh *m, u32 id);
struct chainmesh_flow *cm_mesh_flow_next(struct cm_mesh *m, u32 id);
bool cm_mesh_chain_in_use(struct cm_mesh *m, u32 chain);
int cm_mesh_set_chain(struct cm_mesh *m, u32 id, const struct cm_chain *c);
void cm_mesh_rebalance_chain(struct cm_mesh *m, u32 id);
u64 cm_mesh_chain_live(struct cm_mesh *m, u32 id);
void cm_mesh_del_chain(struct cm_mesh *m, u32 id);
int cm_mesh_add_flows(struct cm_mesh *m, struct chainmesh_flow *add, u32 n);
int cm_mesh_set_flow(struct cm_mesh *m, const struct chainmesh_flow *f);
void cm_mesh_del_flows(struct cm_mesh *m, const u32 *ids, u32 n);

void cm_mesh_node_info(struct cm_mesh *m, u32 n, struct cm_node_info *ni);
void cm_mesh_flow_stats(struct cm_mesh *m, u32 id, u32 n, struct cm_fstat *st);
int cm_mesh_ifindex(struct cm_mesh *m);

#endif /* _CM_HOST_MESH_H */
