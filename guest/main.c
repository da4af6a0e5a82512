// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh guest module: a node of a chainmesh mesh, reached through the
 * QEMU ivshmem device that carries the mesh's shared region.
 */
#include <linux/bitops.h>
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>

#include "netdev.h"
#include "pci.h"

u32 cm_mark_mask = 0xffff0000;
bool cm_hop_log_on;
struct dentry *cm_debugfs_root;

/* 0 (no context in the mark), or one run of at least CM_CTX_BITS bits. */
static int cm_mark_mask_set(const char *val, const struct kernel_param *kp)
{
	u32 mask, run;
	int err;

	err = kstrtou32(val, 0, &mask);
	if (err)
		return err;
	if (mask) {
		run = mask >> __ffs(mask);
		if (run & (run + 1) || hweight32(mask) < CM_CTX_BITS)
			return -EINVAL;
	}
	WRITE_ONCE(cm_mark_mask, mask);
	return 0;
}

static int cm_mark_mask_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "0x%08x\n", READ_ONCE(cm_mark_mask));
}

static const struct kernel_param_ops cm_mark_mask_ops = {
	.set = cm_mark_mask_set,
	.get = cm_mark_mask_get,
};
module_param_cb(mark_mask, &cm_mark_mask_ops, NULL, 0644);
MODULE_PARM_DESC(mark_mask,
		 "skb->mark bits carrying the chain context inside this guest: 0 (off) or a contiguous mask of >= 15 bits (default 0xffff0000)");

module_param_named(hop_log, cm_hop_log_on, bool, 0644);
MODULE_PARM_DESC(hop_log,
		 "Log the buffers seen per hop in debugfs chainmesh/<dev>/hops (default off)");

/* Honest peers send none of the input that counts (include/chainmesh/
 * peers.h): the limit only rides out a burst that is not a pattern. */
unsigned int cm_bad_limit = 32;
module_param_named(bad_limit, cm_bad_limit, uint, 0644);
MODULE_PARM_DESC(bad_limit,
		 "A peer that sends this many bad descriptors or ring indices within bad_window_ms is broken: its data ring is no longer read and the host is told (0: never; default 32)");

unsigned int cm_bad_window_ms = 1000;
module_param_named(bad_window_ms, cm_bad_window_ms, uint, 0644);
MODULE_PARM_DESC(bad_window_ms, "See bad_limit (ms, default 1000)");

unsigned int cm_peer_share = 50;
module_param_named(peer_share, cm_peer_share, uint, 0644);
MODULE_PARM_DESC(peer_share,
		 "Percent of this node's buffers that one next hop may hold at once (1..100, default 50)");

static int __init cm_init(void)
{
	int err;

	cm_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	err = pci_register_driver(&cm_pci_driver);
	if (err)
		debugfs_remove(cm_debugfs_root);
	return err;
}

static void __exit cm_exit(void)
{
	pci_unregister_driver(&cm_pci_driver);
	debugfs_remove(cm_debugfs_root);
}

module_init(cm_init);
module_exit(cm_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("chainmesh: service chain node over ivshmem shared memory");
