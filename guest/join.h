/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Membership of the mesh: wait for the host's layout, validate it, join
 * as the node named by our ivshmem peer id, heartbeat, leave.
 */
#ifndef _CM_JOIN_H
#define _CM_JOIN_H

#include <linux/workqueue.h>

struct cm_ivshmem;
struct cm_ndev;

/* Per ivshmem device, from probe to remove. */
struct cm_join {
	struct cm_ivshmem *ivs;
	struct delayed_work work;	/* waits for the layout, then ticks */
	struct cm_ndev *nd;		/* while joined */
	u64 host_epoch;			/* of the layout we joined */
	u32 mesh_id;			/* the host restarts epochs; ids are random */
	int refused;			/* last reason not to join, logged once */
	unsigned long since;		/* jiffies at probe */
	bool seen;			/* the chainmesh magic showed, ever */
	bool gave_up;			/* it did not, within region_wait */
	/* Called once, from the work, when no chainmesh region showed up
	 * within region_wait seconds: the device is not ours. */
	void (*give_up)(struct cm_join *j);
};

extern unsigned int cm_region_wait;

int cm_join_init(struct cm_join *j, struct cm_ivshmem *ivs);
void cm_join_exit(struct cm_join *j);

#endif /* _CM_JOIN_H */
