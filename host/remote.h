/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Chains across hosts: node 0 continues a chain that ends here on another
 * host's node 0, through a kernel geneve device in collect_md mode, and
 * continues here the chains other hosts send (Documentation/remote.rst).
 */
#ifndef _CM_HOST_REMOTE_H
#define _CM_HOST_REMOTE_H

#include <linux/types.h>
#include <net/netlink.h>

struct cm_mesh;
struct cm_ndev;
struct genl_info;
struct netlink_callback;
struct sk_buff;

/* Remote peers of one mesh; netdev_rx_handler's limit is one mesh per
 * geneve device, each device may carry several peers. */
#define CM_RMAX_PEERS	16

int cm_remote_init(void);
void cm_remote_exit(void);
void cm_remote_destroy(struct cm_mesh *m);

/* struct cm_node_ops of node 0 */
bool cm_remote_chain_end(struct cm_ndev *nd, struct sk_buff *skb, u16 chain,
			 u8 hop);
extern const char *const cm_remote_stat_names[];
#define CM_REMOTE_NSTATS	7
void cm_remote_ext_stats(struct cm_ndev *nd, u64 *data);

/* generic netlink (policies and ops in netlink.c) */
extern const struct nla_policy cm_remote_policy[];
extern const struct nla_policy cm_rchain_policy[];
int cm_remote_new_doit(struct sk_buff *skb, struct genl_info *info);
int cm_remote_del_doit(struct sk_buff *skb, struct genl_info *info);
int cm_remote_dumpit(struct sk_buff *skb, struct netlink_callback *cb);
int cm_rchain_new_doit(struct sk_buff *skb, struct genl_info *info);
int cm_rchain_del_doit(struct sk_buff *skb, struct genl_info *info);
int cm_rchain_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

#endif /* _CM_HOST_REMOTE_H */
