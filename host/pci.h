/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lab backing: the region is the BAR2 of a QEMU ivshmem device and the host
 * module runs in a VM of its own ("host in a VM"), as ivshmem peer 0.
 */
#ifndef _CM_HOST_PCI_H
#define _CM_HOST_PCI_H

#include <chainmesh/layout.h>

int cm_pci_init(const struct cm_layout_params *p, const char *mesh_name);
void cm_pci_exit(void);

#endif /* _CM_HOST_PCI_H */
