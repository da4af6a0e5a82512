// SPDX-License-Identifier: GPL-2.0
/*
 * Mesh membership. Until the host has laid the region out, a delayed work
 * polls the header's magic; then it validates the whole header by
 * recomputing the layout, joins as the node named by our ivshmem peer id
 * and, from then on, ticks: heartbeat, carrier, statistics, and a check
 * that the host has not laid the region out anew under us.
 */
#include <linux/etherdevice.h>
#include <linux/mm.h>
#include <linux/netdevice.h>
#include <linux/slab.h>

#include "mesh.h"
#include "netdev.h"
#include "pci.h"

#define CM_TICK		(HZ / 10)	/* heartbeat and layout poll: 100 ms */

static struct chainmesh_region_hdr *cm_mesh_hdr(struct cm_mesh *mesh)
{
	return mesh->ivs->shm;
}

/* Which layout the region holds: false while there is none. */
static bool cm_mesh_hdr_valid(struct cm_mesh *mesh, u64 *epoch, u32 *mesh_id)
{
	struct chainmesh_region_hdr *hdr = cm_mesh_hdr(mesh);

	/* Pairs with the host's release of magic, written last. */
	if (le32_to_cpu(smp_load_acquire(&hdr->magic)) != CHAINMESH_MAGIC)
		return false;
	*epoch = le64_to_cpu(READ_ONCE(hdr->host_epoch));
	*mesh_id = le32_to_cpu(READ_ONCE(hdr->mesh_id));
	return true;
}

static int cm_mesh_join(struct cm_mesh *mesh)
{
	struct chainmesh_region_hdr *hdr = cm_mesh_hdr(mesh);
	struct cm_ivshmem *ivs = mesh->ivs;
	struct chainmesh_node *node;
	u32 mesh_id, mesh_id2;
	u64 epoch, epoch2;
	struct cm_layout l;
	struct cm_dev *cm;
	int err;

	if (!cm_mesh_hdr_valid(mesh, &epoch, &mesh_id))
		return -EAGAIN;
	err = cm_layout_from_hdr(hdr, ivs->shm_size, &l);
	if (err)
		return err;
	/* The host may have been laying out again while we read. */
	smp_rmb();
	if (!cm_mesh_hdr_valid(mesh, &epoch2, &mesh_id2) || epoch2 != epoch ||
	    mesh_id2 != mesh_id)
		return -EAGAIN;
	/* Node 0 is the host; a guest is any other node of the layout. */
	if (ivs->peer_id < 1 || ivs->peer_id >= l.p.nodes)
		return -ERANGE;

	node = cm_node(ivs->shm, &l, ivs->peer_id);
	WRITE_ONCE(node->state, cpu_to_le32(CHAINMESH_NODE_JOINING));
	cm = cm_dev_create(ivs, &l, ivs->peer_id, mesh_id);
	if (IS_ERR(cm)) {
		WRITE_ONCE(node->state, cpu_to_le32(CHAINMESH_NODE_ABSENT));
		return PTR_ERR(cm);
	}
	memcpy(node->mac, cm->netdev->dev_addr, ETH_ALEN);
	WRITE_ONCE(node->features, 0);
	WRITE_ONCE(node->blame, 0);
	/* Pairs with the peers' acquire of our epoch: the rings we reset
	 * (cm_dev_create()) are seen reset by whoever sees the new epoch. */
	smp_store_release(&node->epoch,
			  cpu_to_le32(le32_to_cpu(READ_ONCE(node->epoch)) + 1));
	cm->heartbeat = le64_to_cpu(READ_ONCE(node->heartbeat));
	/* Peers read our MAC and use our rings once they see UP. */
	smp_store_release(&node->state, cpu_to_le32(CHAINMESH_NODE_UP));

	mesh->cm = cm;
	mesh->host_epoch = epoch;
	mesh->mesh_id = mesh_id;
	netdev_info(cm->netdev,
		    "joined mesh %08x as node %u of %u (host epoch %llu)\n",
		    mesh_id, cm->self, l.p.nodes, epoch);
	cm_dev_tick(cm);
	return 0;
}

/* @ours: the region still holds the layout we joined; else touch nothing.
 * cm_dev_destroy() says ABSENT once it handed the peers' buffers back. */
static void cm_mesh_leave(struct cm_mesh *mesh, bool ours)
{
	struct cm_dev *cm = mesh->cm;

	mesh->cm = NULL;
	mesh->refused = 0;
	cm_dev_destroy(cm, ours);
}

static bool cm_mesh_ours(struct cm_mesh *mesh)
{
	u32 mesh_id;
	u64 epoch;

	return cm_mesh_hdr_valid(mesh, &epoch, &mesh_id) &&
	       epoch == mesh->host_epoch && mesh_id == mesh->mesh_id;
}

static void cm_mesh_tick(struct cm_mesh *mesh)
{
	struct cm_dev *cm = mesh->cm;

	if (!cm_mesh_ours(mesh)) {
		netdev_warn(cm->netdev, "host laid the region out anew, leaving\n");
		cm_mesh_leave(mesh, false);
		return;
	}
	WRITE_ONCE(cm->node->heartbeat, cpu_to_le64(++cm->heartbeat));
	if (cm_dev_fence_due(cm))
		cm_dev_fence(cm);
	cm_dev_tick(cm);
}

static void cm_mesh_refused(struct cm_mesh *mesh, int err)
{
	struct device *dev = &mesh->ivs->pdev->dev;

	if (err == mesh->refused)
		return;
	mesh->refused = err;
	switch (err) {
	case -ERANGE:
		dev_err(dev, "peer id %d is not a guest node of this mesh\n",
			mesh->ivs->peer_id);
		break;
	case -EPROTO:
	case -EINVAL:
		dev_err(dev, "region header is inconsistent, not joining (%d)\n",
			err);
		break;
	case -E2BIG:
		dev_err(dev, "region layout does not fit the %llu byte BAR\n",
			mesh->ivs->shm_size);
		break;
	default:
		dev_err(dev, "joining the mesh failed: %d\n", err);
	}
}

static void cm_mesh_work(struct work_struct *work)
{
	struct cm_mesh *mesh = container_of(to_delayed_work(work),
					    struct cm_mesh, work);
	int err;

	if (mesh->cm) {
		cm_mesh_tick(mesh);
	} else {
		err = cm_mesh_join(mesh);
		if (err && err != -EAGAIN)
			cm_mesh_refused(mesh, err);
	}
	schedule_delayed_work(&mesh->work, CM_TICK);
}

int cm_mesh_init(struct cm_mesh *mesh, struct cm_ivshmem *ivs)
{
	mesh->ivs = ivs;
	mesh->cm = NULL;
	mesh->refused = 0;
	INIT_DELAYED_WORK(&mesh->work, cm_mesh_work);
	schedule_delayed_work(&mesh->work, 0);
	return 0;
}

void cm_mesh_exit(struct cm_mesh *mesh)
{
	cancel_delayed_work_sync(&mesh->work);
	if (mesh->cm)
		cm_mesh_leave(mesh, cm_mesh_ours(mesh));
}

/* May we send to node @n (< nodes)? See include/chainmesh/peers.h. */
bool cm_mesh_node_up(struct cm_dev *cm, u32 n)
{
	return cm_peers_tx_ok(&cm->peers, cm->base, &cm->l, n);
}

/* Both tables sized for the layout's @max_flows, once: a snapshot never
 * allocates. */
int cm_ftsnap_init(struct cm_ftsnap *snap, u32 max_flows)
{
	snap->cur = cm_ftable_alloc(max_flows);
	snap->spare = cm_ftable_alloc(max_flows);
	snap->refused = false;
	if (!snap->cur || !snap->spare) {
		cm_ftsnap_destroy(snap);
		return -ENOMEM;
	}
	return 0;
}

void cm_ftsnap_destroy(struct cm_ftsnap *snap)
{
	cm_ftable_free(snap->spare);
	cm_ftable_free(snap->cur);
	snap->spare = NULL;
	snap->cur = NULL;
}

/*
 * cm_ftsnap_refresh - the reader's table, refreshed if the host changed it
 *
 * Called by the one context that owns @snap, so swapping tables needs no
 * synchronization. A table the host is writing (-EAGAIN) is retried on
 * the next call; a table that fails validation is refused until the host
 * writes another one.
 */
const struct cm_ftable *cm_ftsnap_refresh(struct cm_ftsnap *snap,
					  struct cm_dev *cm)
{
	void *ft = cm_ftable(cm->base, &cm->l, cm->self);
	int err;

	if (likely(!cm_ftable_changed(ft, snap->cur)))
		return snap->cur;
	if (snap->refused && !cm_ftable_changed(ft, snap->spare))
		return snap->cur;

	err = cm_ftable_snapshot(ft, &cm->l, cm->self, snap->spare);
	if (!err) {
		swap(snap->cur, snap->spare);
		snap->refused = false;
	} else if (err == -EPROTO) {
		/* The failed snapshot keeps its seq in @spare. */
		snap->refused = true;
		net_warn_ratelimited("%s: flow table seq %u refused: bad entry\n",
				     netdev_name(cm->netdev), snap->spare->seq);
	}
	return snap->cur;
}
