/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CM_HOST_NETLINK_H
#define _CM_HOST_NETLINK_H

#include <linux/types.h>

struct cm_mesh;
struct genl_info;
struct sk_buff;

int cm_genl_init(void);
void cm_genl_exit(void);

/* The mesh a request names (extack set when none); cm_mesh_lock held. */
struct cm_mesh *cm_nl_mesh(struct genl_info *info);

/* Notifications to the "monitor" group; cm_mesh_lock held. */
void cm_nl_notify_mesh(struct cm_mesh *m, bool add);
void cm_nl_notify_node(struct cm_mesh *m, u32 n);
void cm_nl_notify_chain(struct cm_mesh *m, u32 id, bool add);

/* Any other notification: begin (NULL: no listener), fill, commit. */
struct sk_buff *cm_nl_ntf_begin(struct cm_mesh *m, u8 cmd, void **hdr);
void cm_nl_ntf_commit(struct sk_buff *msg, void *hdr, int err);

#endif /* _CM_HOST_NETLINK_H */
