// SPDX-License-Identifier: GPL-2.0
/*
 * Native XDP. The program runs on the shared buffer itself: the xdp_buff
 * spans the buffer, with the frame where the sender put it (its headroom
 * is CHAINMESH_HEADROOM when a chainmesh node sent it).
 *
 *  XDP_TX        the same buffer goes to the next node of the frame's chain
 *                (its context, else our flow table): no copy.
 *  XDP_PASS      the frame is copied into an skb (the region has no struct
 *                page), as without a program.
 *  XDP_DROP      the buffer goes home.
 *  XDP_REDIRECT  the frame is copied into a page fragment, which is what
 *                redirect targets and AF_XDP sockets can own and free;
 *                the buffer goes home.
 *
 * As a redirect target (ndo_xdp_xmit), frames are classified, copied into
 * our own buffers and sent like the stack's frames.
 */
#include <linux/bpf.h>
#include <linux/bpf_trace.h>
#include <linux/filter.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <net/xdp.h>

#include "ndev.h"
#include "offload.h"
#include "rx.h"
#include "xdp.h"

/*
 * The buffer as the XDP helpers see it. 6.1's bpf_xdp_adjust_tail()
 * refuses (with a WARN) a frame_sz above PAGE_SIZE, and keeps the last
 * skb_shared_info worth of frame_sz as tailroom: claim that much beyond
 * the buffer so the frame may grow to the buffer's end, which is never
 * used as an skb head (no struct page), capped at PAGE_SIZE.
 */
static u32 cm_xdp_frame_sz(const struct cm_ndev *nd)
{
	return min_t(u32, nd->l.p.buf_size +
			  SKB_DATA_ALIGN(sizeof(struct skb_shared_info)),
		     PAGE_SIZE);
}

static void cm_xdp_count(struct cm_rx *rx, enum cm_xdp_stat what)
{
	cm_cnt_add(&rx->xdp[what], 1);
}

/* NAPI of lane @ln: push what XDP_TX queued, on the lane's rings, under
 * the lock every producer of the lane takes. */
void cm_xdp_tx_flush(struct cm_lane *ln)
{
	struct netdev_queue *txq = cm_lane_txq(ln);
	struct cm_ndev *nd = ln->nd;
	struct cm_rx *rx = &ln->rx;
	struct cm_dp *dp = &ln->dp;
	u32 i, sent = 0;

	if (!rx->xdp_tx_n)
		return;
	__netif_tx_lock(txq, smp_processor_id());
	for (i = 0; i < rx->xdp_tx_n; i++) {
		struct cm_xdp_tx_ent *e = &rx->xdp_tx[i];

		if (cm_dp_push(dp, &e->r, &e->d)) {
			cm_dp_give_back(dp, &cm_node_dp_ops, e->from, e->owner,
					e->idx, e->d.addr);
			continue;
		}
		sent++;
		/* Our own buffer, passed on: the next node holds it now. */
		if (e->owner == dp->self)
			cm_pool_set_hop(&dp->pool, e->idx, e->r.peer);
		if (unlikely(READ_ONCE(cm_hop_log_on)))
			cm_hop_log(nd, CM_HOP_XDP_TX, e->r.peer, &e->d);
	}
	cm_dp_tx_count(dp, CM_TX_XDP_ZEROCOPY, sent);
	if (sent != rx->xdp_tx_n)
		cm_dp_tx_count(dp, CM_TX_XDP_TX_DROP, rx->xdp_tx_n - sent);
	cm_dp_tx_flush(dp, &cm_node_dp_ops);
	__netif_tx_unlock(txq);
	rx->xdp_tx_n = 0;
}

/* XDP_TX: queue the buffer, as it is, to the frame's next node. */
static bool cm_xdp_tx(struct cm_lane *ln, u32 from, const struct cm_desc *d,
		      u32 owner, u32 idx, const struct cm_ftable *t)
{
	struct cm_ctx ctx, *ctxp = NULL;
	struct cm_ndev *nd = ln->nd;
	struct cm_rx *rx = &ln->rx;
	struct cm_xdp_tx_ent *e;
	u32 plen = min_t(u32, d->len, CM_PARSE_LEN);
	u8 *frame = cm_buf(nd, d->addr) + d->data_off;
	u8 hdr[CM_PARSE_LEN];
	struct cm_route r;

	/* The receive path checked the context against @t. */
	if (d->flags & CHAINMESH_D_CTX) {
		ctx.chain = d->chain;
		ctx.hop = d->hop;
		ctxp = &ctx;
	}
	/* Peers may write the frame meanwhile: classify a copy. */
	memcpy(hdr, frame, plen);
	if (cm_dp_route(t, ctxp, hdr, plen, &r))
		return false;
	/* The next node must find its own address, as cm_start_xmit() does. */
	cm_frame_set_dest(nd->base, &nd->l, frame, r.peer);

	e = &rx->xdp_tx[rx->xdp_tx_n++];
	e->r = r;
	e->d = *d;
	e->from = from;
	e->owner = owner;
	e->idx = idx;
	if (rx->xdp_tx_n == CM_XDP_TX_BATCH)
		cm_xdp_tx_flush(ln);
	return true;
}

/* XDP_REDIRECT: the target gets a copy in memory it can own. */
static bool cm_xdp_redirect(struct cm_lane *ln, struct bpf_prog *prog,
			    const struct xdp_buff *shared)
{
	u32 metasize = shared->data - shared->data_meta;
	u32 len = shared->data_end - shared->data;
	struct cm_ndev *nd = ln->nd;
	struct cm_rx *rx = &ln->rx;
	struct xdp_buff xdp;
	u32 truesize;
	void *page;

	truesize = SKB_DATA_ALIGN(XDP_PACKET_HEADROOM + len) +
		   SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	page = napi_alloc_frag(truesize);
	if (unlikely(!page))
		return false;
	memcpy(page + XDP_PACKET_HEADROOM - metasize, shared->data_meta,
	       metasize + len);
	xdp_init_buff(&xdp, truesize, &rx->xdp_rxq);
	xdp_prepare_buff(&xdp, page, XDP_PACKET_HEADROOM, len, true);
	xdp.data_meta = xdp.data - metasize;
	/* The target was chosen by the program's run, kept per CPU. */
	if (unlikely(xdp_do_redirect(nd->netdev, &xdp, prog))) {
		skb_free_frag(page);
		return false;
	}
	rx->xdp_redirected = true;
	return true;
}

/*
 * cm_xdp_run - run @prog on a received buffer, in place
 * @d: the validated descriptor; on CM_XDP_RES_PASS, moved to where the
 *     program left the frame
 * @metasize: on CM_XDP_RES_PASS, metadata bytes in front of the frame
 */
enum cm_xdp_res cm_xdp_run(struct cm_lane *ln, struct bpf_prog *prog, u32 from,
			   struct cm_desc *d, u32 owner, u32 idx,
			   const struct cm_ftable *t, u32 *metasize)
{
	struct cm_ndev *nd = ln->nd;
	u8 *hard = cm_buf(nd, d->addr);
	struct cm_rx *rx = &ln->rx;
	enum cm_hop_what what;
	struct xdp_buff xdp;
	u32 act;

	xdp_init_buff(&xdp, cm_xdp_frame_sz(nd), &rx->xdp_rxq);
	xdp_prepare_buff(&xdp, hard, d->data_off, d->len, true);
	act = bpf_prog_run_xdp(prog, &xdp);
	/* The helpers keep both ends inside the buffer. */
	d->data_off = (u8 *)xdp.data - hard;
	d->len = xdp.data_end - xdp.data;
	*metasize = xdp.data - xdp.data_meta;

	switch (act) {
	case XDP_PASS:
		cm_xdp_count(rx, CM_XDP_PASS);
		return CM_XDP_RES_PASS;
	case XDP_TX:
		cm_xdp_count(rx, CM_XDP_TX);
		if (cm_xdp_tx(ln, from, d, owner, idx, t))
			return CM_XDP_RES_DONE;	/* the next node has it */
		cm_xdp_count(rx, CM_XDP_TX_NO_HOP);
		what = CM_HOP_XDP_DROP;
		break;
	case XDP_REDIRECT:
		cm_xdp_count(rx, CM_XDP_REDIRECT);
		if (!cm_xdp_redirect(ln, prog, &xdp))
			cm_xdp_count(rx, CM_XDP_REDIRECT_FAIL);
		what = CM_HOP_XDP_REDIRECT;
		break;
	default:
		bpf_warn_invalid_xdp_action(nd->netdev, prog, act);
		fallthrough;
	case XDP_ABORTED:
		trace_xdp_exception(nd->netdev, prog, act);
		cm_xdp_count(rx, CM_XDP_ABORTED);
		what = CM_HOP_XDP_DROP;
		break;
	case XDP_DROP:
		cm_xdp_count(rx, CM_XDP_DROP);
		what = CM_HOP_XDP_DROP;
		break;
	}
	if (unlikely(READ_ONCE(cm_hop_log_on)))
		cm_hop_log(nd, what, from, d);
	cm_dp_give_back(&ln->dp, &cm_node_dp_ops, from, owner, idx, d->addr);
	return CM_XDP_RES_DONE;
}

static int cm_xdp_set_prog(struct net_device *netdev, struct bpf_prog *prog,
			   struct netlink_ext_ack *extack)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	struct bpf_prog *old;

	/* A program without xdp.frags gets single-buffer frames only: the
	 * node stops announcing offloads (offload.c). */
	old = rtnl_dereference(nd->xdp_prog);
	rcu_assign_pointer(nd->xdp_prog, prog);
	cm_off_update(nd);
	/* The program is freed after a grace period: NAPI may still run it. */
	if (old)
		bpf_prog_put(old);
	return 0;
}

int cm_xdp_bpf(struct net_device *netdev, struct netdev_bpf *bpf)
{
	switch (bpf->command) {
	case XDP_SETUP_PROG:
		return cm_xdp_set_prog(netdev, bpf->prog, bpf->extack);
	default:
		/* No XDP_SETUP_XSK_POOL: AF_XDP sockets bind in copy mode. */
		return -EINVAL;
	}
}

static bool cm_xdp_copy(u8 *buf, u32 len, const void *data)
{
	memcpy(buf, data, len);
	return true;
}

/*
 * cm_xdp_xmit - we are a redirect target: classify each frame, copy it into
 * a buffer of our pool and send it like a frame of the stack
 *
 * Return: frames consumed (sent, or dropped and counted by us, as
 * frames[0..ret-1]); the caller frees the rest.
 */
int cm_xdp_xmit(struct net_device *netdev, int n, struct xdp_frame **frames,
		u32 flags)
{
	struct cm_ndev *nd = netdev_priv(netdev);
	u32 sent = 0, dropped = 0, nchan;
	struct netdev_queue *txq;
	const struct cm_ftable *t;
	struct cm_dp *dp;
	enum cm_tx_drop why;
	struct cm_route r;
	struct cm_desc d;
	int i;

	if (unlikely(flags & ~XDP_XMIT_FLAGS_MASK))
		return -EINVAL;
	if (unlikely(!netif_running(netdev) || !netif_carrier_ok(netdev)))
		return -ENETDOWN;

	/* Lane c of this CPU's channel c, under that tx queue's lock; not
	 * while ethtool -L changes the channels: it set chan_busy before
	 * taking this lock, and clears it after writing nchan. */
	nchan = READ_ONCE(nd->nchan);
	txq = netdev_get_tx_queue(netdev, smp_processor_id() % nchan);
	dp = &nd->lanes[smp_processor_id() % nchan].dp;
	__netif_tx_lock(txq, smp_processor_id());
	if (unlikely(smp_load_acquire(&nd->chan_busy) ||
		     READ_ONCE(nd->nchan) != nchan)) {
		__netif_tx_unlock(txq);
		return 0;
	}
	t = cm_ftsnap_get(&nd->ft, false);
	for (i = 0; i < n; i++) {
		struct xdp_frame *f = frames[i];

		if (f->len < ETH_HLEN ||
		    f->len > dp->l.p.buf_size - CHAINMESH_HEADROOM ||
		    cm_dp_route(t, NULL, f->data,
				min_t(u32, f->len, CM_PARSE_LEN), &r)) {
			xdp_return_frame(f);
			dropped++;
			continue;
		}
		why = cm_dp_send(dp, &r, f->len, cm_xdp_copy, f->data, &d);
		if (why)
			break;
		if (unlikely(READ_ONCE(cm_hop_log_on)))
			cm_hop_log(nd, CM_HOP_XDP_XMIT, r.peer, &d);
		xdp_return_frame(f);
		sent++;
	}
	if (flags & XDP_XMIT_FLUSH)
		cm_dp_tx_flush(dp, &cm_node_dp_ops);
	cm_dp_tx_count(dp, CM_TX_XDP_XMIT, sent);
	/* The ones left to the caller are drops too. */
	cm_dp_tx_count(dp, CM_TX_XDP_XMIT_DROP, dropped + n - i);
	__netif_tx_unlock(txq);
	return i;
}
