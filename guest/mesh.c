// SPDX-License-Identifier: GPL-2.0
/*
 * Mesh membership. Until the host has laid the region out, a delayed work
 * polls the header's magic; then it validates the whole header by
 * recomputing the layout, joins as the node named by our ivshmem peer id
 * and, from then on, ticks: heartbeat, carrier, statistics, and a check
 * that the host has not laid the region out anew under us.
 */
#include <linux/delay.h>
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

static void cm_ftsnap_work(struct work_struct *work);

/*
 * CM_FTSNAP_BUILDING is held for one build. Builds of small tables run
 * with BH off (softirq, or the work item under local_bh_disable()), so a
 * softirq that needs the new table may spin until one is over; a build
 * in process context with BH on sets CM_FTSNAP_LONG first, and no one
 * spins on it (it may be preempted on the spinner's CPU).
 */
enum {
	CM_FTSNAP_BUILDING,
	CM_FTSNAP_LONG,
	CM_FTSNAP_STOPPING,	/* cm_ftsnap_destroy(): queue nothing */
};

/* Every table sized for the layout's max_flows, once: a snapshot never
 * allocates. */
int cm_ftsnap_init(struct cm_ftsnap *snap, struct cm_dev *cm)
{
	u32 i;

	memset(snap, 0, sizeof(*snap));
	snap->cm = cm;
	snap->shared = cm_ftable(cm->base, &cm->l, cm->self);
	INIT_WORK(&snap->work, cm_ftsnap_work);
	for (i = 0; i < CM_FTSNAP_BUFS; i++) {
		snap->buf[i].snap = snap;
		snap->buf[i].t = cm_ftable_alloc(cm->l.p.max_flows);
		if (!snap->buf[i].t)
			goto err_free;
		if (i)
			__set_bit(i, &snap->free);
	}
	/* Empty, seq 0: a table the host published has another seq and
	 * is taken at the first look. */
	snap->cur_buf = 0;
	RCU_INIT_POINTER(snap->cur, snap->buf[0].t);
	return 0;

err_free:
	while (i--)
		cm_ftable_free(snap->buf[i].t);
	return -ENOMEM;
}

/*
 * After the datapath stopped: no reader is left, but the work may be
 * running and a retired table waiting for its grace period, whose end
 * may queue the work again.
 */
void cm_ftsnap_destroy(struct cm_ftsnap *snap)
{
	u32 i;

	set_bit(CM_FTSNAP_STOPPING, &snap->flags);
	cancel_work_sync(&snap->work);
	rcu_barrier();		/* every cm_ftsnap_reclaim() is over */
	/* it may have queued us before it saw STOPPING */
	cancel_work_sync(&snap->work);
	RCU_INIT_POINTER(snap->cur, NULL);
	for (i = 0; i < CM_FTSNAP_BUFS; i++) {
		cm_ftable_free(snap->buf[i].t);
		snap->buf[i].t = NULL;
	}
}

static u32 cm_ftsnap_host_seq(struct cm_ftsnap *snap)
{
	return le32_to_cpu(READ_ONCE(cm_ftable_hdr(snap->shared)->seq));
}

/* Is there a table to take that @t is not? */
static bool cm_ftsnap_want(struct cm_ftsnap *snap, const struct cm_ftable *t)
{
	u32 seq = cm_ftsnap_host_seq(snap);

	if (seq == t->seq)
		return false;
	/* A refused table stays refused until the host writes another. */
	return !(READ_ONCE(snap->refused) &&
		 READ_ONCE(snap->refused_seq) == seq);
}

static bool cm_ftsnap_want_now(struct cm_ftsnap *snap)
{
	bool want;

	rcu_read_lock();
	want = cm_ftsnap_want(snap, rcu_dereference(snap->cur));
	rcu_read_unlock();
	return want;
}

/* Cheap enough to rebuild in softirq? A hint from the host's header:
 * the snapshot checks what it copies. */
static bool cm_ftsnap_small(struct cm_ftsnap *snap)
{
	u32 n = le32_to_cpu(READ_ONCE(cm_ftable_hdr(snap->shared)->nflows));

	return n <= CM_FTSNAP_INLINE_MAX;
}

static void cm_ftsnap_queue(struct cm_ftsnap *snap)
{
	if (!test_bit(CM_FTSNAP_STOPPING, &snap->flags))
		queue_work(system_unbound_wq, &snap->work);
}

/* A grace period after a swap: no reader holds the retired table. */
static void cm_ftsnap_reclaim(struct rcu_head *head)
{
	struct cm_ftsnap_buf *b = container_of(head, struct cm_ftsnap_buf, rcu);
	struct cm_ftsnap *snap = b->snap;

	/* done with the table before it is free */
	smp_mb__before_atomic();
	set_bit(b - snap->buf, &snap->free);
	/* A build may have found no free table meanwhile. */
	if (cm_ftsnap_want_now(snap))
		cm_ftsnap_queue(snap);
}

/*
 * cm_ftsnap_build - snapshot the host's table into a free buffer, swap
 *
 * CM_FTSNAP_BUILDING held. Return: 0 (swapped; the retired table is
 * freed after a grace period), -EBUSY (no free buffer until a grace
 * period ends; cm_ftsnap_reclaim() queues the work), -EAGAIN (the host
 * was writing), -EPROTO (refused until the host writes another table).
 */
static int cm_ftsnap_build(struct cm_ftsnap *snap)
{
	struct cm_dev *cm = snap->cm;
	struct cm_ftsnap_buf *b;
	u32 i, old;
	int err;

	for (i = 0; i < CM_FTSNAP_BUFS; i++)
		if (test_and_clear_bit(i, &snap->free))
			break;
	if (i == CM_FTSNAP_BUFS)
		return -EBUSY;
	b = &snap->buf[i];
	err = cm_ftable_snapshot(snap->shared, &cm->l, cm->self, b->t);
	if (err) {
		if (err == -EPROTO) {
			/* The failed snapshot keeps its seq. */
			WRITE_ONCE(snap->refused_seq, b->t->seq);
			WRITE_ONCE(snap->refused, true);
			net_warn_ratelimited("%s: flow table seq %u refused: bad entry\n",
					     netdev_name(cm->netdev),
					     b->t->seq);
		}
		set_bit(i, &snap->free);	/* never published */
		return err;
	}
	WRITE_ONCE(snap->refused, false);
	old = snap->cur_buf;
	snap->cur_buf = i;
	rcu_assign_pointer(snap->cur, b->t);
	call_rcu(&snap->buf[old].rcu, cm_ftsnap_reclaim);
	return 0;
}

/* Process context: the tables too large to rebuild in softirq, built
 * while packets use the old one. */
static void cm_ftsnap_work(struct work_struct *work)
{
	struct cm_ftsnap *snap = container_of(work, struct cm_ftsnap, work);
	int tries, err = 0;
	bool small;

	for (tries = 0; tries < 8; tries++) {
		if (test_bit(CM_FTSNAP_STOPPING, &snap->flags) ||
		    !cm_ftsnap_want_now(snap))
			return;
		small = cm_ftsnap_small(snap);
		if (small) {
			local_bh_disable();
		} else {
			set_bit(CM_FTSNAP_LONG, &snap->flags);
			/* LONG seen by whoever sees us BUILDING */
			smp_mb__after_atomic();
		}
		if (!test_and_set_bit_lock(CM_FTSNAP_BUILDING, &snap->flags)) {
			err = cm_ftsnap_build(snap);
			if (!err)
				WRITE_ONCE(snap->work_builds,
					   snap->work_builds + 1);
			clear_bit_unlock(CM_FTSNAP_BUILDING, &snap->flags);
		} else {
			err = 0;	/* the datapath is at it */
		}
		if (small)
			local_bh_enable();
		else
			clear_bit(CM_FTSNAP_LONG, &snap->flags);
		if (err != -EAGAIN)
			return;
		/* The host is writing: a big table takes it a millisecond
		 * or so. Past that, the next packet or tick queues us. */
		usleep_range(500, 1000);
	}
}

/*
 * cm_ftsnap_stale - slow path of cm_ftsnap_get(): the host's seq moved
 * @t: the table the caller has, valid until its RCU section ends
 *
 * Softirq or BH off. Small tables (CM_FTSNAP_INLINE_MAX), or any when the
 * caller @need's it, are rebuilt here; large ones are left to the work
 * item and @t is used meanwhile. A caller in @need waits for a build
 * that runs with BH off (bounded: a small table, or another softirq's),
 * never for the work item's long one.
 */
const struct cm_ftable *cm_ftsnap_stale(struct cm_ftsnap *snap,
					const struct cm_ftable *t, bool need)
{
	int tries, err;

	for (tries = 0; tries < 4; tries++) {
		if (!cm_ftsnap_want(snap, t))
			return t;
		if (!need && !cm_ftsnap_small(snap)) {
			if (!test_bit(CM_FTSNAP_BUILDING, &snap->flags) &&
			    !work_pending(&snap->work))
				cm_ftsnap_queue(snap);
			return t;
		}
		if (!test_and_set_bit_lock(CM_FTSNAP_BUILDING, &snap->flags)) {
			err = cm_ftsnap_build(snap);
			if (!err)
				WRITE_ONCE(snap->inline_builds,
					   snap->inline_builds + 1);
			clear_bit_unlock(CM_FTSNAP_BUILDING, &snap->flags);
			return cm_ftsnap_deref(snap);
		}
		if (!need)
			return t;	/* the other context is building it */
		while (test_bit(CM_FTSNAP_BUILDING, &snap->flags)) {
			smp_rmb();	/* BUILDING, then LONG */
			if (test_bit(CM_FTSNAP_LONG, &snap->flags))
				return t;
			cpu_relax();
		}
		t = cm_ftsnap_deref(snap);
	}
	return t;
}

/* The tick (process context): a large table is rebuilt ahead of the
 * packets that would notice it. */
void cm_ftsnap_poke(struct cm_ftsnap *snap)
{
	if (cm_ftsnap_small(snap) || !cm_ftsnap_want_now(snap))
		return;
	if (!test_bit(CM_FTSNAP_BUILDING, &snap->flags))
		cm_ftsnap_queue(snap);
}
