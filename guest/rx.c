// SPDX-License-Identifier: GPL-2.0
/*
 * NAPI receive. The doorbell (one MSI-X vector) means "look at all your
 * inbound rings": a poll first takes back our own buffers from every
 * return ring, then consumes descriptors from the data rings, round robin
 * within the budget. Each descriptor is copied out once and validated; the
 * frame is copied into an skb (the region has no struct page) and the
 * buffer goes home at once: to our free list, or onto the return ring to
 * its owner.
 *
 * Kick suppression: while polling, every inbound ring says "no kick"; on
 * completion each says "kick me" again and re-checks its head, and a poll
 * is rescheduled if anything slipped in (ring.h [K1]/[K2]).
 *
 * Bad input is counted per peer and per reason; a peer that sends too
 * much of it is judged broken and its data ring is read no more
 * (include/chainmesh/peers.h). While the host calls this node down or
 * broken, no data ring is read at all (the fence, netdev.c).
 */
#include <linux/bitmap.h>
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/interrupt.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/slab.h>

#include <chainmesh/flow.h>

#include "mesh.h"
#include "netdev.h"
#include "pci.h"
#include "rx.h"
#include "xdp.h"

/* @n bad inputs from @peer that count against it: judge it. */
static void cm_rx_judge(struct cm_dev *cm, u32 peer, u32 n)
{
	if (!cm_peers_bad(&cm->peers, cm->base, &cm->l, peer, n,
			  READ_ONCE(cm_bad_limit), READ_ONCE(cm_bad_window_ms)))
		return;
	netdev_warn(cm->netdev,
		    "node %u sent %u bad descriptors or indices within %u ms: broken, no longer read\n",
		    peer, READ_ONCE(cm_bad_limit), READ_ONCE(cm_bad_window_ms));
}

static void cm_rx_bad(struct cm_dev *cm, u32 peer, enum cm_bad why)
{
	struct cm_rx *rx = &cm->rx;

	u64_stats_update_begin(&rx->syncp);
	u64_stats_inc(&rx->bad[why]);
	u64_stats_inc(&rx->peers[peer].bad);
	u64_stats_update_end(&rx->syncp);
	if (cm_bad_blames(why))
		cm_rx_judge(cm, peer, 1);
}

/* What cm_pool_drain_ret() refused from @peer. */
static void cm_rx_bad_tally(struct cm_dev *cm, u32 peer,
			    const struct cm_ret_tally *t)
{
	struct cm_rx *rx = &cm->rx;
	u32 why, n = 0;

	u64_stats_update_begin(&rx->syncp);
	for (why = CM_BAD_NONE + 1; why < __CM_BAD_MAX; why++)
		u64_stats_add(&rx->bad[why], t->why[why]);
	u64_stats_add(&rx->peers[peer].bad, t->bad);
	u64_stats_update_end(&rx->syncp);
	for (why = CM_BAD_NONE + 1; why < __CM_BAD_MAX; why++)
		if (cm_bad_blames(why))
			n += t->why[why];
	cm_rx_judge(cm, peer, n);
}

static void cm_rx_drop(struct cm_rx *rx, enum cm_rx_drop why)
{
	u64_stats_update_begin(&rx->syncp);
	u64_stats_inc(&rx->drops[why]);
	u64_stats_update_end(&rx->syncp);
}

void cm_rx_xdp_count(struct cm_rx *rx, enum cm_xdp_stat what)
{
	u64_stats_update_begin(&rx->syncp);
	u64_stats_inc(&rx->xdp[what]);
	u64_stats_update_end(&rx->syncp);
}

/* Every frame a peer sent us, and the flow it belongs to. */
static void cm_rx_count(struct cm_rx *rx, u32 peer, int flow, u32 len)
{
	u64_stats_update_begin(&rx->syncp);
	u64_stats_inc(&rx->peers[peer].ctr.packets);
	u64_stats_add(&rx->peers[peer].ctr.bytes, len);
	if (flow >= 0) {
		u64_stats_inc(&rx->flows[flow].packets);
		u64_stats_add(&rx->flows[flow].bytes, len);
	}
	u64_stats_update_end(&rx->syncp);
}

/* Frames handed to the stack: `ip -s link` rx. */
static void cm_rx_count_stack(struct cm_rx *rx, u32 len)
{
	u64_stats_update_begin(&rx->syncp);
	u64_stats_inc(&rx->total.packets);
	u64_stats_add(&rx->total.bytes, len);
	u64_stats_update_end(&rx->syncp);
}

/* A buffer's journey ends here: send it home. */
void cm_rx_give_back(struct cm_dev *cm, u32 from, u32 owner, u32 idx,
		     u64 addr)
{
	struct cm_rx *rx = &cm->rx;
	struct cm_rx_peer *op;
	enum cm_bad why;

	if (owner == cm->self) {
		why = cm_pool_put(&cm->pool, idx);
		if (why)
			cm_rx_bad(cm, from, why);
		else
			rx->freed = true;
		return;
	}
	op = &rx->peers[owner];
	/* ret_slots >= bufs_per_node: full only if the owner misbehaves. */
	if (unlikely(cm_ring_prod_space(&op->back) <= 0)) {
		cm_rx_drop(rx, CM_RX_DROP_NO_RETURN);
		return;
	}
	cm_ring_push_addr(&op->back, addr);
	__set_bit(owner, rx->back_pending);
}

/*
 * A frame on its way along a chain keeps its place in skb->mark, for
 * cm_start_xmit() when the stack forwards it; the last hop clears it.
 * A chain whose next hop is dead (LAST with DROP) is not over here.
 */
static void cm_rx_mark(struct sk_buff *skb, const struct cm_ftable *t,
		       const struct cm_desc *d)
{
	u32 mask = READ_ONCE(cm_mark_mask);
	struct cm_ctx ctx;
	u8 flags;

	/* cm_desc_ctx_ok() checked chain and hop of a context. */
	if (!mask || !(d->flags & CHAINMESH_D_CTX))
		return;
	flags = t->hops[d->chain].flags;
	if ((flags & CHAINMESH_H_LAST) && !(flags & CHAINMESH_H_DROP))
		return;
	ctx.chain = d->chain;
	ctx.hop = d->hop;
	skb->mark = cm_ctx_to_mark(skb->mark, mask, &ctx);
}

static void cm_rx_one(struct cm_dev *cm, u32 from, struct cm_desc *d,
		      const struct cm_ftable **t, struct bpf_prog *prog,
		      bool deliver)
{
	struct cm_rx *rx = &cm->rx;
	u32 owner, idx, metasize = 0;
	struct sk_buff *skb;
	enum cm_bad why;
	u8 *buf;

	why = cm_desc_check(&cm->l, d, &owner, &idx);
	if (unlikely(why)) {
		if (why == CM_BAD_LEN)
			goto bad;
		/* Not a buffer at all: nothing we may hand back. */
		cm_rx_bad(cm, from, why);
		return;
	}
	if (unlikely(!cm_desc_ctx_ok(*t, d))) {
		/* The host may have just published our new table. */
		*t = cm_ftsnap_get(&cm->ft, true);
		if (!cm_desc_ctx_ok(*t, d)) {
			why = CM_BAD_CHAIN;
			goto bad;
		}
	}
	if (unlikely(!deliver || !netif_running(cm->netdev))) {
		cm_rx_drop(rx, CM_RX_DROP_DOWN);
		goto give_back;
	}
	buf = cm_buf(cm, d->addr);
	cm_rx_count(rx, from, cm_desc_flow(*t, d, buf + d->data_off), d->len);

	if (prog &&
	    cm_xdp_run(cm, prog, from, d, owner, idx, *t, &metasize) ==
	    CM_XDP_RES_DONE)
		return;

	skb = napi_alloc_skb(&rx->napi, metasize + d->len);
	if (unlikely(!skb)) {
		cm_rx_drop(rx, CM_RX_DROP_NOMEM);
		goto give_back;
	}
	/* Peers can write the buffer at any time: copy once, then look only
	 * at the copy. */
	skb_put_data(skb, buf + d->data_off - metasize, metasize + d->len);
	if (unlikely(READ_ONCE(cm_hop_log_on)))
		cm_hop_log(cm, CM_HOP_RX, from, d);
	cm_rx_give_back(cm, from, owner, idx, d->addr);
	if (metasize) {
		__skb_pull(skb, metasize);
		skb_metadata_set(skb, metasize);
	}

	cm_rx_count_stack(rx, d->len);
	skb->protocol = eth_type_trans(skb, cm->netdev);
	cm_rx_mark(skb, *t, d);
	napi_gro_receive(&rx->napi, skb);
	return;

bad:
	cm_rx_bad(cm, from, why);
give_back:
	cm_rx_give_back(cm, from, owner, idx, d->addr);
}

/* Up to @quota descriptors from peer @from's data ring; no burst after
 * the one in which it is judged broken. */
static int cm_rx_data(struct cm_dev *cm, u32 from, int quota,
		      const struct cm_ftable **t, struct bpf_prog *prog,
		      bool deliver)
{
	struct cm_rx_peer *rp = &cm->rx.peers[from];
	struct cm_desc d[CM_RX_BURST];
	u32 done, burst, i;
	int n;

	n = cm_ring_cons_avail(&rp->data);
	if (unlikely(n < 0)) {
		cm_rx_bad(cm, from, CM_BAD_INDEX);
		return 0;
	}
	n = min(n, quota);
	for (done = 0; done < (u32)n; done += burst) {
		burst = cm_rx_pop_burst(&rp->data, cm->base, &cm->l, d, n - done);
		for (i = 0; i < burst; i++)
			cm_rx_one(cm, from, &d[i], t, prog, deliver);
		/* The rest of a burst already copied out is checked as usual. */
		if (unlikely(cm_peers_cut(&cm->peers, from))) {
			done += burst;
			break;
		}
	}
	if (done) {
		cm_ring_release(&rp->data);
		__set_bit(from, cm->rx.released);
	}
	return done;
}

/* Our buffers coming back; at most ret_slots per peer. A broken peer's
 * return ring too: it holds only our buffers, each checked against its
 * in-flight byte, and what a peer we cut still returns is ours again. */
static void cm_rx_returns_from(struct cm_dev *cm, u32 p)
{
	struct cm_rx *rx = &cm->rx;
	struct cm_ret_tally t;

	cm_pool_drain_ret(&cm->pool, &cm->l, cm->self, &rx->peers[p].ret, &t);
	if (t.freed)
		rx->freed = true;
	if (unlikely(t.bad))
		cm_rx_bad_tally(cm, p, &t);
}

static void cm_rx_returns(struct cm_dev *cm)
{
	u32 p;

	for (p = 0; p < cm->l.p.nodes; p++)
		if (p != cm->self)
			cm_rx_returns_from(cm, p);
}

/* Publish the return rings we pushed to; ring owners that asked. */
static void cm_rx_flush(struct cm_dev *cm)
{
	struct cm_rx *rx = &cm->rx;
	unsigned int owner;

	for_each_set_bit(owner, rx->back_pending, CHAINMESH_MAX_NODES) {
		__clear_bit(owner, rx->back_pending);
		if (cm_ring_publish(&rx->peers[owner].back))
			cm_ivshmem_kick(cm->ivs, owner);
	}
	if (bitmap_empty(rx->released, CHAINMESH_MAX_NODES))
		return;
	/* [S2] pairs with [S1]: tail stores before prod_flags loads. */
	smp_mb();
	for_each_set_bit(owner, rx->released, CHAINMESH_MAX_NODES) {
		__clear_bit(owner, rx->released);
		if (cm_ring_space_wanted(&rx->peers[owner].data))
			cm_ivshmem_kick(cm->ivs, owner);
	}
}

/*
 * @peer died with buffers of other nodes that we had passed on to it
 * (XDP_TX) still queued in our data ring to it. Their owners take back
 * only what they sent it themselves: send these home on its behalf. Its
 * next life, or its fence, drops the ring unread. Return: buffers sent.
 */
static u32 cm_rx_send_home_queued(struct cm_dev *cm, u32 peer)
{
	struct cm_ring_prod *tp = &cm->tx.peers[peer].ring;
	const struct cm_desc_slot *slots = tp->slots, *slot;
	struct cm_ring_prod *back;
	u32 tail, n, i, owner, idx, sent = 0;
	u64 addr;

	/* Pairs with its release of tail [C2]; our head is private. */
	tail = le32_to_cpu(smp_load_acquire(&tp->hdr->tail));
	n = tp->head - tail;
	/* A tail it scribbled on says nothing about what it read. */
	if (n > cm->l.p.ring_slots)
		return 0;
	for (i = 0; i < n; i++) {
		slot = &slots[(tail + i) & tp->mask];
		addr = le64_to_cpu(READ_ONCE(slot->addr));
		if (cm_buf_check(&cm->l, addr, &owner, &idx) ||
		    owner == cm->self || owner == peer)
			continue;
		back = &cm->rx.peers[owner].back;
		if (cm_ring_prod_space(back) <= 0)
			continue;
		cm_ring_push_addr(back, addr);
		__set_bit(owner, cm->rx.back_pending);
		sent++;
	}
	return sent;
}

/*
 * What the tick saw change (include/chainmesh/peers.h): peers that died
 * leave us our buffers whose first hop they were, and others' buffers we
 * passed on to them; peers that came (back) may have reset their rings:
 * forget the head we cached of theirs, then send to them again. Under the
 * tx lock, which every producer holds from its check that the peer may
 * be sent to until cm_pool_take_to(): nothing goes to a dead peer after
 * this. See Documentation/architecture.rst, "Lifecycle".
 */
static void cm_rx_peer_changes(struct cm_dev *cm)
{
	struct netdev_queue *txq = netdev_get_tx_queue(cm->netdev, 0);
	struct cm_peers *ps = &cm->peers;
	struct cm_rx *rx = &cm->rx;
	u32 p, n, home;

	__netif_tx_lock(txq, smp_processor_id());
	for (p = 0; p < cm->l.p.nodes; p++) {
		if (!test_and_clear_bit(p, ps->reclaim))
			continue;
		/* What it returned before it went is not to take back. */
		cm_rx_returns_from(cm, p);
		n = cm_pool_reclaim(&cm->pool, p);
		home = cm_rx_send_home_queued(cm, p);
		if (!n && !home)
			continue;
		rx->freed |= n != 0;
		WRITE_ONCE(rx->reclaimed, rx->reclaimed + n);
		WRITE_ONCE(rx->sent_home, rx->sent_home + home);
		netdev_info(cm->netdev,
			    "node %u is gone: %u buffers taken back, %u of others sent home\n",
			    p, n, home);
	}
	for (p = 0; p < cm->l.p.nodes; p++) {
		if (!test_and_clear_bit(p, ps->resync))
			continue;
		cm_ring_cons_forget(&rx->peers[p].data);
		if (cm_peers_cut(ps, p))
			netdev_info(cm->netdev, "node %u is back (epoch %u): read again\n",
				    p, READ_ONCE(ps->epoch[p]));
		cm_peers_resynced(ps, p);
	}
	__netif_tx_unlock(txq);
}

/*
 * Ask every producer for a doorbell; true when entries arrived meanwhile.
 * Data rings we do not read (a cut peer's; all while @fenced) ask for
 * none and are no reason to poll again.
 */
static bool cm_rx_arm(struct cm_dev *cm, bool fenced)
{
	struct cm_rx *rx = &cm->rx;
	bool more = false;
	u32 p;

	for (p = 0; p < cm->l.p.nodes; p++) {
		if (p == cm->self)
			continue;
		if (fenced || cm_peers_cut(&cm->peers, p))
			cm_ring_no_kick(&rx->peers[p].data);
		else
			more |= cm_ring_want_kick(&rx->peers[p].data);
		more |= cm_ring_want_kick(&rx->peers[p].ret);
	}
	rx->armed = true;
	return more;
}

/* We are polling: producers need not ring. */
static void cm_rx_disarm(struct cm_dev *cm)
{
	struct cm_rx *rx = &cm->rx;
	u32 p;

	if (!rx->armed)
		return;
	for (p = 0; p < cm->l.p.nodes; p++) {
		if (p == cm->self)
			continue;
		cm_ring_no_kick(&rx->peers[p].data);
		cm_ring_no_kick(&rx->peers[p].ret);
	}
	rx->armed = false;
}

static int cm_rx_poll(struct napi_struct *napi, int budget)
{
	struct cm_dev *cm = container_of(napi, struct cm_dev, rx.napi);
	u32 nodes = cm->l.p.nodes, i, p;
	struct cm_peers *ps = &cm->peers;
	bool fenced = cm_dev_fenced(cm);
	struct cm_rx *rx = &cm->rx;
	const struct cm_ftable *t;
	struct bpf_prog *prog;
	int done = 0;

	cm_rx_disarm(cm);
	/* Returns are transmit completions: not charged to the budget. */
	cm_rx_returns(cm);

	if (budget) {
		/* Not from netpoll (budget 0), which may hold the tx lock. */
		if (unlikely(!bitmap_empty(ps->reclaim, CHAINMESH_MAX_NODES) ||
			     !bitmap_empty(ps->resync, CHAINMESH_MAX_NODES)))
			cm_rx_peer_changes(cm);
		rcu_read_lock();
		prog = rcu_dereference(cm->xdp_prog);
		t = cm_ftsnap_get(&cm->ft, false);
		for (i = 0, p = rx->first; i < nodes && done < budget; i++) {
			/* Fenced: what is queued to us went home already. */
			if (p != cm->self && !fenced && !cm_peers_cut(ps, p))
				done += cm_rx_data(cm, p, budget - done, &t,
						   prog, true);
			if (++p == nodes)
				p = 0;
		}
		if (++rx->first == nodes)
			rx->first = 0;
		cm_xdp_tx_flush(cm);
		if (rx->xdp_redirected) {
			rx->xdp_redirected = false;
			xdp_do_flush();
		}
		rcu_read_unlock();
	}
	cm_rx_flush(cm);
	/* Our buffers came back, or a doorbell may say a ring we stopped
	 * for has room ([S1]/[S2]) though nothing of ours came back. */
	if (rx->freed || netif_queue_stopped(cm->netdev)) {
		rx->freed = false;
		cm_tx_wake(cm);
	}

	if (done < budget && napi_complete_done(napi, done) &&
	    cm_rx_arm(cm, fenced))
		napi_schedule(napi);
	return done;
}

static irqreturn_t cm_rx_irq(int irq, void *data)
{
	struct cm_dev *cm = data;

	napi_schedule(&cm->rx.napi);
	return IRQ_HANDLED;
}

/* Run a poll soon, from process context. */
void cm_rx_poke(struct cm_dev *cm)
{
	local_bh_disable();
	napi_schedule(&cm->rx.napi);
	local_bh_enable();
}

/*
 * The host called this node down or broken, so its peers took back
 * every buffer queued to it: those they sent it (their first hop was us)
 * and those they had passed on to it (cm_rx_send_home_queued()). NAPI is
 * off: drop what is queued unread. Our own buffers keep coming home on
 * the return rings, which NAPI drains as ever.
 */
void cm_rx_fence(struct cm_dev *cm)
{
	u32 p;

	for (p = 0; p < cm->l.p.nodes; p++)
		if (p != cm->self)
			cm_ring_cons_skip(&cm->rx.peers[p].data);
}

int cm_rx_init(struct cm_dev *cm)
{
	const struct cm_layout *l = &cm->l;
	struct cm_rx *rx = &cm->rx;
	int err;
	u32 p;

	rx->peers = kcalloc(l->p.nodes, sizeof(*rx->peers), GFP_KERNEL);
	if (!rx->peers)
		return -ENOMEM;
	rx->flows = kvcalloc(l->p.max_flows, sizeof(*rx->flows), GFP_KERNEL);
	if (!rx->flows) {
		err = -ENOMEM;
		goto err_free_peers;
	}
	rx->xdp_tx = kcalloc(CM_XDP_TX_BATCH, sizeof(*rx->xdp_tx), GFP_KERNEL);
	if (!rx->xdp_tx) {
		err = -ENOMEM;
		goto err_free_flows;
	}
	u64_stats_init(&rx->syncp);
	rx->xdp_tx_n = 0;
	rx->xdp_redirected = false;
	bitmap_zero(rx->back_pending, CHAINMESH_MAX_NODES);
	rx->first = 0;
	rx->armed = false;
	rx->freed = false;
	rx->reclaimed = 0;
	rx->sent_home = 0;

	/* A new life starts on empty rings (datapath.h): a previous life's
	 * descriptors went home when our peers saw it end, its returns are
	 * of buffers this life never lent. */
	for (p = 0; p < l->p.nodes; p++) {
		struct cm_rx_peer *rp = &rx->peers[p];

		if (p == cm->self)
			continue;
		cm_ring_cons_init(&rp->data, cm_data_ring(cm->base, l, p, cm->self),
				  l->p.ring_slots);
		cm_ring_cons_skip(&rp->data);
		cm_ring_cons_init(&rp->ret, cm_ret_ring(cm->base, l, p, cm->self),
				  l->ret_slots);
		cm_ring_cons_skip(&rp->ret);
		cm_ring_prod_init(&rp->back, cm_ret_ring(cm->base, l, cm->self, p),
				  l->ret_slots);
		cm_ring_prod_restart(&rp->back);
	}
	netif_napi_add(cm->netdev, &rx->napi, cm_rx_poll);
	/* For the page copies XDP_REDIRECT hands on; XDP on the region
	 * itself never lets a buffer go through the memory model. */
	err = xdp_rxq_info_reg(&rx->xdp_rxq, cm->netdev, 0, rx->napi.napi_id);
	if (err)
		goto err_del_napi;
	err = xdp_rxq_info_reg_mem_model(&rx->xdp_rxq, MEM_TYPE_PAGE_SHARED, NULL);
	if (err)
		goto err_unreg_rxq;
	return 0;

err_unreg_rxq:
	xdp_rxq_info_unreg(&rx->xdp_rxq);
err_del_napi:
	netif_napi_del(&rx->napi);
	kfree(rx->xdp_tx);
err_free_flows:
	kvfree(rx->flows);
err_free_peers:
	kfree(rx->peers);
	return err;
}

void cm_rx_destroy(struct cm_dev *cm)
{
	struct cm_rx *rx = &cm->rx;

	xdp_rxq_info_unreg(&rx->xdp_rxq);
	netif_napi_del(&rx->napi);
	kfree(rx->xdp_tx);
	kvfree(rx->flows);
	kfree(rx->peers);
}

int cm_rx_start(struct cm_dev *cm)
{
	int err;

	napi_enable(&cm->rx.napi);
	if (cm->ivs->irq) {
		err = request_irq(cm->ivs->irq, cm_rx_irq, 0, cm->netdev->name, cm);
		if (err)
			goto err_disable_napi;
	}
	/* Poll once: whatever came before we asked for kicks. */
	cm_rx_arm(cm, false);
	cm_rx_poke(cm);
	return 0;

err_disable_napi:
	napi_disable(&cm->rx.napi);
	return err;
}

void cm_rx_stop(struct cm_dev *cm)
{
	if (cm->ivs->irq)
		free_irq(cm->ivs->irq, cm);
	napi_disable(&cm->rx.napi);
}

/*
 * cm_rx_drain - after cm_rx_stop(), while we are still up: send home the
 * peers' buffers queued to us, so that leaving costs them nothing. Not
 * those of a peer we cut (we read nothing of it), nor any while fenced
 * (they went home already).
 */
void cm_rx_drain(struct cm_dev *cm)
{
	const struct cm_ftable *t;
	u32 p;

	if (cm_dev_fenced(cm))
		return;
	/* BH off as in NAPI: the table may be rebuilt here (mesh.h). */
	rcu_read_lock_bh();
	t = cm_ftsnap_deref(&cm->ft);
	for (p = 0; p < cm->l.p.nodes; p++)
		if (p != cm->self && !cm_peers_cut(&cm->peers, p))
			cm_rx_data(cm, p, cm->l.p.ring_slots, &t, NULL, false);
	rcu_read_unlock_bh();
	cm_rx_flush(cm);
}
