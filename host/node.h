/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Node 0 of a mesh as a netdev on the host ("cmh-NAME"): the ingress and
 * egress of every chain. Its datapath is a node's like any guest's: it
 * classifies with its own flow table, sends from its own pool and receives
 * with NAPI; only its doorbells come from the backing (struct cm_bell_ops).
 */
#ifndef _CM_HOST_NODE_H
#define _CM_HOST_NODE_H

#include <linux/types.h>

struct cm_mesh;
struct cm_hnode;
struct device;
struct cm_ftable;

struct cm_hnode *cm_hnode_create(struct cm_mesh *m, struct device *parent);
void cm_hnode_destroy(struct cm_hnode *hn);
void cm_hnode_kicked(struct cm_hnode *hn);
void cm_hnode_tick(struct cm_hnode *hn, bool poll);
int cm_hnode_ifindex(struct cm_hnode *hn);
void cm_hnode_set_table(struct cm_hnode *hn, const struct cm_ftable *t);
u64 cm_hnode_blame(struct cm_hnode *hn);

#endif /* _CM_HOST_NODE_H */
