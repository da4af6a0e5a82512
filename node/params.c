// SPDX-License-Identifier: GPL-2.0
/*
 * The node's module parameters, the same in chainmesh.ko and
 * chainmesh_host.ko (each module has its own): the chain context in
 * skb->mark, the hop log, and the policy of include/chainmesh/dp.h.
 */
#include <linux/bitops.h>
#include <linux/moduleparam.h>

#include "ndev.h"

u32 cm_mark_mask = 0xffff0000;
bool cm_hop_log_on;
struct cm_policy cm_policy = {
	.bad_limit = CM_DEF_BAD_LIMIT,
	.bad_window_ms = CM_DEF_BAD_WINDOW_MS,
	.peer_share = CM_DEF_PEER_SHARE,
};

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
		 "skb->mark bits carrying the chain context inside this node: 0 (off) or a contiguous mask of >= 15 bits (default 0xffff0000)");

module_param_named(hop_log, cm_hop_log_on, bool, 0644);
MODULE_PARM_DESC(hop_log,
		 "Log the buffers seen per hop in debugfs <module>/<dev>/hops (default off)");

/* Honest peers send none of the input that counts (include/chainmesh/
 * peers.h): the limit only rides out a burst that is not a pattern. */
module_param_named(bad_limit, cm_policy.bad_limit, uint, 0644);
MODULE_PARM_DESC(bad_limit,
		 "A peer that sends this many bad descriptors or ring indices within bad_window_ms is broken: its data ring is no longer read and the host is told (0: never; default 32)");

module_param_named(bad_window_ms, cm_policy.bad_window_ms, uint, 0644);
MODULE_PARM_DESC(bad_window_ms, "See bad_limit (ms, default 1000)");

module_param_named(peer_share, cm_policy.peer_share, uint, 0644);
MODULE_PARM_DESC(peer_share,
		 "Percent of this node's buffers that one next hop may hold at once (1..100, default 50)");
