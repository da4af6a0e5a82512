// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh host module: owns meshes (lays their regions out, compiles the
 * logical flow table into per-node tables, watches node liveness, is node
 * 0 as the netdev cmh-NAME) and serves the "chainmesh" generic netlink
 * family.
 *
 * Its module parameters: the lab backing's layout and the watcher's here,
 * the node's (node 0's, as every node's) in node/params.c.
 *
 * Two backings: the real one (shm.c: `mesh new` allocates host memory,
 * exported to the ivshmem daemon by /dev/chainmesh) and the lab's (pci.c:
 * the region is an ivshmem BAR and this module runs in a VM as node 0),
 * only with lab_ivshmem=1.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "../node/ndev.h"
#include "mesh.h"
#include "netlink.h"
#include "pci.h"
#include "remote.h"
#include "shm.h"

static unsigned int nodes = CM_DEF_NODES;
module_param(nodes, uint, 0444);
MODULE_PARM_DESC(nodes, "Nodes in the mesh, host included (2..64)");

static unsigned int ring_slots = CM_DEF_RING_SLOTS;
module_param(ring_slots, uint, 0444);
MODULE_PARM_DESC(ring_slots, "Descriptors per data ring (power of two, 8..32768)");

static unsigned int buf_size = CM_DEF_BUF_SIZE;
module_param(buf_size, uint, 0444);
MODULE_PARM_DESC(buf_size, "Bytes per buffer (power of two, 1024..65536)");

static unsigned int bufs_per_node = CM_DEF_BUFS_PER_NODE;
module_param(bufs_per_node, uint, 0444);
MODULE_PARM_DESC(bufs_per_node, "Buffers in each node's pool (1..65536)");

static unsigned int max_flows = CM_DEF_MAX_FLOWS;
module_param(max_flows, uint, 0444);
MODULE_PARM_DESC(max_flows, "Flows of the mesh: ids below it, entries per node table (1..131072)");

static unsigned int queues = CM_DEF_QUEUES;
module_param(queues, uint, 0444);
MODULE_PARM_DESC(queues, "Queues of the lab mesh (1..8, dividing bufs_per_node)");

unsigned int cm_dead_ms = CM_DEF_DEAD_MS;
module_param_named(dead_ms, cm_dead_ms, uint, 0644);
MODULE_PARM_DESC(dead_ms, "A node whose heartbeat stood still this long is down (ms, >= 300)");

static bool lab_ivshmem;
module_param(lab_ivshmem, bool, 0444);
MODULE_PARM_DESC(lab_ivshmem, "Lab backing: lay mesh_name out in the BAR of a QEMU ivshmem device, as node 0 in a VM (default off: no ivshmem device is touched)");

static char *mesh_name = "lab";
module_param(mesh_name, charp, 0444);
MODULE_PARM_DESC(mesh_name, "Name of the mesh of the lab backing");

static int __init cm_host_init(void)
{
	const struct cm_layout_params p = {
		.nodes = nodes,
		.ring_slots = ring_slots,
		.buf_size = buf_size,
		.bufs_per_node = bufs_per_node,
		.max_flows = max_flows,
		.queues = queues,
	};
	struct cm_layout l;
	size_t len;
	int err;

	len = strlen(mesh_name);
	if (!len || len >= CHAINMESH_NAME_LEN) {
		pr_err("mesh_name must be 1..%d characters\n", CHAINMESH_NAME_LEN - 1);
		return -EINVAL;
	}
	/* Refuse bad parameters at load, not at the first probe. */
	if (!queues || cm_layout_compute(&p, U64_MAX, &l)) {
		pr_err("bad layout parameters (nodes %u ring_slots %u buf_size %u bufs_per_node %u max_flows %u queues %u)\n",
		       nodes, ring_slots, buf_size, bufs_per_node, max_flows, queues);
		return -EINVAL;
	}

	err = cm_node_module_init();
	if (err)
		return err;
	err = cm_remote_init();
	if (err)
		goto err_node;
	if (lab_ivshmem) {
		err = cm_pci_init(&p, mesh_name);
		if (err)
			goto err_remote;
	}
	err = cm_shm_init();
	if (err)
		goto err_pci;
	err = cm_genl_init();
	if (err)
		goto err_shm;
	return 0;

err_shm:
	cm_shm_exit();
err_pci:
	cm_pci_exit();
err_remote:
	cm_remote_exit();
err_node:
	cm_node_module_exit();
	return err;
}

static void __exit cm_host_exit(void)
{
	/* No request may reach a mesh that is going away. */
	cm_genl_exit();
	cm_shm_exit();
	cm_pci_exit();
	cm_remote_exit();
	cm_node_module_exit();
}

module_init(cm_host_init);
module_exit(cm_host_exit);
MODULE_DESCRIPTION("chainmesh host: service chains between VMs over shared memory");
MODULE_LICENSE("GPL");
