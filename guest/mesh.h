/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Membership of the mesh: wait for the host's layout, validate it, join
 * as the node named by our ivshmem peer id, heartbeat, leave. Also the
 * node's private snapshots of its flow table.
 */
#ifndef _CM_MESH_H
#define _CM_MESH_H

#include <linux/workqueue.h>

#include <chainmesh/flow.h>
#include <chainmesh/layout.h>

struct cm_ivshmem;
struct cm_dev;

/* Per ivshmem device, from probe to remove. */
struct cm_mesh {
	struct cm_ivshmem *ivs;
	struct delayed_work work;	/* waits for the layout, then ticks */
	struct cm_dev *cm;		/* while joined */
	u64 host_epoch;			/* of the layout we joined */
	u32 mesh_id;			/* the host restarts epochs; ids are random */
	int refused;			/* last reason not to join, logged once */
};

int cm_mesh_init(struct cm_mesh *mesh, struct cm_ivshmem *ivs);
void cm_mesh_exit(struct cm_mesh *mesh);

/*
 * A private copy of this node's flow table for one reader context (the
 * transmit path or NAPI). Each context refreshes its own copy when the
 * host's sequence counter moves, so no copy ever changes under a reader.
 */
struct cm_ftsnap {
	struct cm_ftable *cur;		/* validated, in use */
	struct cm_ftable *spare;	/* the next snapshot lands here */
	bool refused;			/* @spare holds a refused table's seq */
};

int cm_ftsnap_init(struct cm_ftsnap *snap, u32 max_flows);
void cm_ftsnap_destroy(struct cm_ftsnap *snap);
const struct cm_ftable *cm_ftsnap_refresh(struct cm_ftsnap *snap,
					  struct cm_dev *cm);

bool cm_mesh_node_up(struct cm_dev *cm, u32 n);

#endif /* _CM_MESH_H */
