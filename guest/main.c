// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh guest module: a node of a chainmesh mesh, reached through the
 * QEMU ivshmem device that carries the mesh's shared region. Its module
 * parameters are the node's (node/params.c).
 */
#include <linux/module.h>
#include <linux/pci.h>

#include "../node/ndev.h"
#include "pci.h"

static int __init cm_init(void)
{
	int err;

	err = cm_node_module_init();
	if (err)
		return err;
	err = cm_pci_init();
	if (err)
		cm_node_module_exit();
	return err;
}

static void __exit cm_exit(void)
{
	cm_pci_exit();
	cm_node_module_exit();
}

module_init(cm_init);
module_exit(cm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("chainmesh: service chain node over ivshmem shared memory");
