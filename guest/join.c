// SPDX-License-Identifier: GPL-2.0
/*
 * Mesh membership. Until the host has laid the region out, a delayed work
 * polls the header's magic; then it validates the whole header by
 * recomputing the layout, joins as the node named by our ivshmem peer id
 * and, from then on, ticks: heartbeat, carrier, statistics, and a check
 * that the host has not laid the region out anew under us.
 *
 * Any QEMU ivshmem device has our PCI ids (1af4:1110, no subsystem id or
 * revision of ours: QEMU's ivshmem has no option to set them), so the
 * only proof that a device carries a mesh is the region's magic. A device
 * whose BAR2 never shows it within region_wait seconds is someone else's:
 * we say so and give it back (j->give_up), whatever it holds.
 */
#include <linux/delay.h>
#include <linux/etherdevice.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/netdevice.h>
#include <linux/ratelimit.h>
#include <linux/slab.h>

#include "../node/ndev.h"
#include "join.h"
#include "pci.h"

static DEFINE_RATELIMIT_STATE(cm_join_log_rs, DEFAULT_RATELIMIT_INTERVAL,
			      DEFAULT_RATELIMIT_BURST);
static DEFINE_RATELIMIT_STATE(cm_leave_log_rs, DEFAULT_RATELIMIT_INTERVAL,
			      DEFAULT_RATELIMIT_BURST);

#define CM_TICK		(HZ / 10)	/* heartbeat and layout poll: 100 ms */

unsigned int cm_region_wait = 60;
module_param_named(region_wait, cm_region_wait, uint, 0644);
MODULE_PARM_DESC(region_wait,
		 "Seconds an ivshmem device may go without a chainmesh region before it is released as not ours (0: wait forever; default 60)");

static struct chainmesh_region_hdr *cm_join_hdr(struct cm_join *j)
{
	return j->ivs->shm;
}

/* Which layout the region holds: false while there is none. */
static bool cm_join_hdr_valid(struct cm_join *j, u64 *epoch, u32 *mesh_id)
{
	struct chainmesh_region_hdr *hdr = cm_join_hdr(j);

	/* Pairs with the host's release of magic, written last. */
	if (le32_to_cpu(smp_load_acquire(&hdr->magic)) != CHAINMESH_MAGIC)
		return false;
	*epoch = le64_to_cpu(READ_ONCE(hdr->host_epoch));
	*mesh_id = le32_to_cpu(READ_ONCE(hdr->mesh_id));
	return true;
}

/* Ring @peer's doorbell: BAR0. */
static void cm_join_kick(struct cm_ndev *nd, u32 peer, u32 vector)
{
	struct cm_join *j = nd->priv;

	cm_ivshmem_kick(j->ivs, peer, vector);
}

static const struct cm_node_ops cm_join_node_ops = {
	.kick = cm_join_kick,
};

static int cm_join_join(struct cm_join *j)
{
	struct chainmesh_region_hdr *hdr = cm_join_hdr(j);
	struct cm_ivshmem *ivs = j->ivs;
	struct cm_node_cfg cfg = {};
	struct chainmesh_node *node;
	u32 mesh_id, mesh_id2;
	u8 mac[ETH_ALEN];
	u64 epoch, epoch2;
	struct cm_layout l;
	struct cm_ndev *nd;
	int err;

	if (!cm_join_hdr_valid(j, &epoch, &mesh_id))
		return -EAGAIN;
	j->seen = true;
	err = cm_layout_from_hdr(hdr, ivs->shm_size, &l);
	if (err)
		return err;
	/* The host may have been laying out again while we read. */
	smp_rmb();
	if (!cm_join_hdr_valid(j, &epoch2, &mesh_id2) || epoch2 != epoch ||
	    mesh_id2 != mesh_id)
		return -EAGAIN;
	/* Node 0 is the host; a guest is any other node of the layout. */
	if (ivs->peer_id < 1 || ivs->peer_id >= l.p.nodes)
		return -ERANGE;

	node = cm_node(ivs->shm, &l, ivs->peer_id);
	WRITE_ONCE(node->state, cpu_to_le32(CHAINMESH_NODE_JOINING));
	cm_node_mac(mesh_id, ivs->peer_id, mac);
	cfg.ifname = "cm%d";
	cfg.name_assign_type = NET_NAME_ENUM;
	cfg.parent = &ivs->pdev->dev;
	cfg.bus_info = pci_name(ivs->pdev);
	cfg.base = ivs->shm;
	cfg.l = &l;
	cfg.self = ivs->peer_id;
	cfg.mac = mac;
	cfg.ftable = cm_ftable(ivs->shm, &l, ivs->peer_id);
	cfg.flog = cm_flog(ivs->shm, &l, ivs->peer_id);
	cfg.ops = &cm_join_node_ops;
	cfg.priv = j;
	memcpy(cfg.irqs, ivs->irqs, sizeof(cfg.irqs));
	cfg.nirqs = ivs->nirqs;
	cfg.polled = !ivs->nirqs;
	nd = cm_node_create(&cfg);
	if (IS_ERR(nd)) {
		WRITE_ONCE(node->state, cpu_to_le32(CHAINMESH_NODE_ABSENT));
		return PTR_ERR(nd);
	}
	memcpy(node->mac, mac, ETH_ALEN);
	/* features: the datapath's (cm_dp_init(), cm_off_update()). */
	WRITE_ONCE(node->blame, 0);
	/* Pairs with the peers' acquire of our epoch: the rings we reset
	 * (cm_node_create()) are seen reset by whoever sees the new epoch. */
	smp_store_release(&node->epoch,
			  cpu_to_le32(le32_to_cpu(READ_ONCE(node->epoch)) + 1));
	nd->heartbeat = le64_to_cpu(READ_ONCE(node->heartbeat));
	/* Peers read our MAC and use our rings once they see UP. */
	smp_store_release(&node->state, cpu_to_le32(CHAINMESH_NODE_UP));

	j->nd = nd;
	j->host_epoch = epoch;
	j->mesh_id = mesh_id;
	/* A peer that rewrites the header makes us leave and join again
	 * each tick: bound what it can make us log (the first ten of five
	 * seconds are always told). */
	if (__ratelimit(&cm_join_log_rs))
		netdev_info(nd->netdev,
			    "joined mesh %08x as node %u of %u (host epoch %llu)\n",
			    mesh_id, nd->lanes[0].dp.self, l.p.nodes, epoch);
	cm_node_tick(nd);
	return 0;
}

/* @ours: the region still holds the layout we joined; else touch nothing.
 * cm_node_destroy() says ABSENT once it handed the peers' buffers back. */
static void cm_join_leave(struct cm_join *j, bool ours)
{
	struct cm_ndev *nd = j->nd;

	j->nd = NULL;
	j->refused = 0;
	cm_node_destroy(nd, ours);
}

static bool cm_join_ours(struct cm_join *j)
{
	u32 mesh_id;
	u64 epoch;

	return cm_join_hdr_valid(j, &epoch, &mesh_id) &&
	       epoch == j->host_epoch && mesh_id == j->mesh_id;
}

static void cm_join_tick(struct cm_join *j)
{
	struct cm_ndev *nd = j->nd;

	if (!cm_join_ours(j)) {
		if (__ratelimit(&cm_leave_log_rs))
			netdev_warn(nd->netdev, "host laid the region out anew, leaving\n");
		cm_join_leave(j, false);
		return;
	}
	WRITE_ONCE(nd->lanes[0].dp.node->heartbeat, cpu_to_le64(++nd->heartbeat));
	if (cm_node_fence_due(nd))
		cm_node_fence(nd);
	cm_node_tick(nd);
}

static void cm_join_refused(struct cm_join *j, int err)
{
	struct device *dev = &j->ivs->pdev->dev;

	if (err == j->refused)
		return;
	j->refused = err;
	switch (err) {
	case -ERANGE:
		dev_err(dev, "peer id %d is not a guest node of this mesh\n",
			j->ivs->peer_id);
		break;
	case -EPROTO:
	case -EINVAL:
		dev_err(dev, "region header is inconsistent, not joining (%d)\n",
			err);
		break;
	case -E2BIG:
		dev_err(dev, "region layout does not fit the %llu byte BAR\n",
			j->ivs->shm_size);
		break;
	default:
		dev_err(dev, "joining the mesh failed: %d\n", err);
	}
}

/* No chainmesh magic in BAR2 since probe, for longer than region_wait. */
static bool cm_join_foreign(struct cm_join *j)
{
	unsigned int wait = READ_ONCE(cm_region_wait);

	return !j->seen && wait &&
	       time_after(jiffies, j->since + (unsigned long)wait * HZ);
}

static void cm_join_work(struct work_struct *work)
{
	struct cm_join *j = container_of(to_delayed_work(work),
					    struct cm_join, work);
	struct chainmesh_region_hdr *hdr = cm_join_hdr(j);
	int err;

	if (j->nd) {
		cm_join_tick(j);
	} else {
		err = cm_join_join(j);
		if (err && err != -EAGAIN)
			cm_join_refused(j, err);
		if (err == -EAGAIN && cm_join_foreign(j)) {
			dev_warn(&j->ivs->pdev->dev,
				 "no chainmesh region in BAR2 within %u s (magic %08x, want %08x): not a chainmesh device, releasing it (-ENODEV)\n",
				 READ_ONCE(cm_region_wait),
				 le32_to_cpu(READ_ONCE(hdr->magic)),
				 CHAINMESH_MAGIC);
			j->gave_up = true;
			j->give_up(j);
			return;		/* no more ticks: remove() follows */
		}
	}
	schedule_delayed_work(&j->work, CM_TICK);
}

int cm_join_init(struct cm_join *j, struct cm_ivshmem *ivs)
{
	j->ivs = ivs;
	j->nd = NULL;
	j->refused = 0;
	j->since = jiffies;
	j->seen = false;
	j->gave_up = false;
	INIT_DELAYED_WORK(&j->work, cm_join_work);
	schedule_delayed_work(&j->work, 0);
	return 0;
}

void cm_join_exit(struct cm_join *j)
{
	cancel_delayed_work_sync(&j->work);
	if (j->nd)
		cm_join_leave(j, cm_join_ours(j));
}

