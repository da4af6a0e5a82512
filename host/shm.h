/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real host backing: the region is shmem allocated by `mesh new`, exported
 * to the ivshmem daemon through /dev/chainmesh with its doorbell eventfds.
 */
#ifndef _CM_HOST_SHM_H
#define _CM_HOST_SHM_H

#include <chainmesh/layout.h>

struct netlink_ext_ack;

int cm_shm_mesh_add(const char *name, const struct cm_layout_params *p,
		    struct netlink_ext_ack *extack);
int cm_shm_mesh_del(const char *name, struct netlink_ext_ack *extack);
int cm_shm_init(void);
void cm_shm_exit(void);

#endif /* _CM_HOST_SHM_H */
