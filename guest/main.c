// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh guest module: a node of a chainmesh mesh, reached through the
 * QEMU ivshmem device that carries the mesh's shared region.
 */
#include <linux/module.h>
#include <linux/pci.h>

#include "pci.h"

static int __init cm_init(void)
{
	return pci_register_driver(&cm_pci_driver);
}

static void __exit cm_exit(void)
{
	pci_unregister_driver(&cm_pci_driver);
}

module_init(cm_init);
module_exit(cm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("chainmesh: service chain node over ivshmem shared memory");
