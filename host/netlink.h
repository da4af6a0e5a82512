/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CM_HOST_NETLINK_H
#define _CM_HOST_NETLINK_H

int cm_genl_init(void);
void cm_genl_exit(void);

#endif /* _CM_HOST_NETLINK_H */
