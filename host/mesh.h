/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A mesh: one laid-out region, the logical flow table the user edits, and
 * the liveness watcher. Whatever backs the region (an ivshmem BAR in the
 * lab, host memory later) creates the mesh once the layout is written.
 */
#ifndef _CM_HOST_MESH_H
#define _CM_HOST_MESH_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <linux/chainmesh.h>
#include <chainmesh/layout.h>
#include <chainmesh/flow.h>

/* What the watcher remembers of a node between two ticks. */
struct cm_node_watch {
	u64 heartbeat;
	u32 epoch;
	u32 verdict;		/* host_state we last wrote */
	unsigned long moved;	/* jiffies when heartbeat or epoch last moved */
	unsigned int still;	/* ticks since then */
};

/* A node's per-flow counters when the flow was created. */
struct cm_fstat {
	u64 packets;
	u64 bytes;
};

struct cm_mesh {
	struct list_head list;		/* in cm_meshes, under cm_mesh_lock */
	char name[CHAINMESH_NAME_LEN];
	void *base;			/* the region, mapped write-back */
	u64 region_size;
	struct cm_layout l;
	u32 mesh_id;
	u32 self;			/* our node id */

	/* The logical table, under cm_mesh_lock. */
	struct cm_chain chains[CHAINMESH_MAX_CHAINS];
	struct chainmesh_flow *flows;	/* nflows entries, sorted by id */
	u32 nflows;
	struct cm_fstat *fbase;		/* [flow id * nodes + node] */
	struct cm_ftable *scratch;	/* one node's table being compiled */

	/* Liveness, touched only by the watcher. */
	struct delayed_work watch;
	struct cm_node_watch *nw;	/* one per node */
	u64 heartbeat;
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

struct cm_mesh *cm_mesh_create(const char *name, void *base, u64 region_size,
			       const struct cm_layout *l, u32 mesh_id);
void cm_mesh_destroy(struct cm_mesh *m);
struct cm_mesh *cm_mesh_find(const char *name);

struct chainmesh_flow *cm_mesh_flow(struct cm_mesh *m, u32 id);
struct chainmesh_flow *cm_mesh_flow_next(struct cm_mesh *m, u32 id);
bool cm_mesh_chain_in_use(struct cm_mesh *m, u32 chain);
int cm_mesh_set_chain(struct cm_mesh *m, u32 id, const struct cm_chain *c);
void cm_mesh_del_chain(struct cm_mesh *m, u32 id);
int cm_mesh_set_flow(struct cm_mesh *m, const struct chainmesh_flow *f);
void cm_mesh_del_flow(struct cm_mesh *m, u32 id);

void cm_mesh_node_info(struct cm_mesh *m, u32 n, struct cm_node_info *ni);
void cm_mesh_flow_stats(struct cm_mesh *m, u32 id, u32 n, struct cm_fstat *st);

#endif /* _CM_HOST_MESH_H */
