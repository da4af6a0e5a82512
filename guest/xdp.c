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

#include "netdev.h"
#include "rx.h"
#include "xdp.h"

/*
 * The buffer as the XDP helpers see it. 6.1's bpf_xdp_adjust_tail()
 * refuses (with a WARN) a frame_sz above PAGE_SIZE, and keeps the last
 * skb_shared_info worth of frame_sz as tailroom: claim that much beyond
 * the buffer so the frame may grow to the buffer's end, which is never
 * used as an skb head (no struct page), capped at PAGE_SIZE.
 */
static u32 cm_xdp_frame_sz(const struct cm_dev *cm)
{
	return min_t(u32, cm->l.p.buf_size +
			  SKB_DATA_ALIGN(sizeof(struct skb_shared_info)),
		     PAGE_SIZE);
}

/* NAPI: push what XDP_TX queued, under the lock every producer takes. */
void cm_xdp_tx_flush(struct cm_dev *cm)
{
	struct netdev_queue *txq = netdev_get_tx_queue(cm->netdev, 0);
	struct cm_rx *rx = &cm->rx;
	u32 i, sent = 0;

	if (!rx->xdp_tx_n)
		return;
	__netif_tx_lock(txq, smp_processor_id());
	for (i = 0; i < rx->xdp_tx_n; i++) {
		struct cm_xdp_tx_ent *e = &rx->xdp_tx[i];

		if (cm_tx_push(cm, &e->r, &e->d)) {
			cm_rx_give_back(cm, e->from, e->owner, e->idx, e->d.addr);
			continue;
		}
		sent++;
		/* Our own buffer, passed on: the next node holds it now. */
		if (e->owner == cm->self)
			cm_pool_set_hop(&cm->pool, e->idx, e->r.peer);
		if (unlikely(READ_ONCE(cm_hop_log_on)))
			cm_hop_log(cm, CM_HOP_XDP_TX, e->r.peer, &e->d);
	}
	cm_tx_count(&cm->tx, CM_TX_XDP_ZEROCOPY, sent);
	if (sent != rx->xdp_tx_n)
		cm_tx_count(&cm->tx, CM_TX_XDP_TX_DROP, rx->xdp_tx_n - sent);
	cm_tx_flush(cm);
	__netif_tx_unlock(txq);
	rx->xdp_tx_n = 0;
}

/* XDP_TX: queue the buffer, as it is, to the frame's next node. */
static bool cm_xdp_tx(struct cm_dev *cm, u32 from, const struct cm_desc *d,
		      u32 owner, u32 idx, const struct cm_ftable *t)
{
	struct cm_ctx ctx, *ctxp = NULL;
	struct cm_rx *rx = &cm->rx;
	struct cm_xdp_tx_ent *e;
	enum cm_tx_drop why;
	struct cm_route r;
	u8 *frame = cm_buf(cm, d->addr) + d->data_off;

	/* The receive path checked the context against @t. */
	if (d->flags & CHAINMESH_D_CTX) {
		ctx.chain = d->chain;
		ctx.hop = d->hop;
		ctxp = &ctx;
	}
	if (!cm_route(cm, t, ctxp, frame, min_t(u32, d->len, CM_PARSE_LEN),
		      &r, &why))
		return false;
	/* The next node must find its own address, as cm_start_xmit() does. */
	cm_frame_set_dest(cm->base, &cm->l, frame, r.peer);

	e = &rx->xdp_tx[rx->xdp_tx_n++];
	e->r = r;
	e->d = *d;
	e->from = from;
	e->owner = owner;
	e->idx = idx;
	if (rx->xdp_tx_n == CM_XDP_TX_BATCH)
		cm_xdp_tx_flush(cm);
	return true;
}

/* XDP_REDIRECT: the target gets a copy in memory it can own. */
static bool cm_xdp_redirect(struct cm_dev *cm, struct bpf_prog *prog,
			    const struct xdp_buff *shared)
{
	u32 metasize = shared->data - shared->data_meta;
	u32 len = shared->data_end - shared->data;
	struct cm_rx *rx = &cm->rx;
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
	if (unlikely(xdp_do_redirect(cm->netdev, &xdp, prog))) {
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
enum cm_xdp_res cm_xdp_run(struct cm_dev *cm, struct bpf_prog *prog, u32 from,
			   struct cm_desc *d, u32 owner, u32 idx,
			   const struct cm_ftable *t, u32 *metasize)
{
	u8 *hard = cm_buf(cm, d->addr);
	struct cm_rx *rx = &cm->rx;
	enum cm_hop_what what;
	struct xdp_buff xdp;
	u32 act;

	xdp_init_buff(&xdp, cm_xdp_frame_sz(cm), &rx->xdp_rxq);
	xdp_prepare_buff(&xdp, hard, d->data_off, d->len, true);
	act = bpf_prog_run_xdp(prog, &xdp);
	/* The helpers keep both ends inside the buffer. */
	d->data_off = (u8 *)xdp.data - hard;
	d->len = xdp.data_end - xdp.data;
	*metasize = xdp.data - xdp.data_meta;

	switch (act) {
	case XDP_PASS:
		cm_rx_xdp_count(rx, CM_XDP_PASS);
		return CM_XDP_RES_PASS;
	case XDP_TX:
		cm_rx_xdp_count(rx, CM_XDP_TX);
		if (cm_xdp_tx(cm, from, d, owner, idx, t))
			return CM_XDP_RES_DONE;	/* the next node has it */
		cm_rx_xdp_count(rx, CM_XDP_TX_NO_HOP);
		what = CM_HOP_XDP_DROP;
		break;
	case XDP_REDIRECT:
		cm_rx_xdp_count(rx, CM_XDP_REDIRECT);
		if (!cm_xdp_redirect(cm, prog, &xdp))
			cm_rx_xdp_count(rx, CM_XDP_REDIRECT_FAIL);
		what = CM_HOP_XDP_REDIRECT;
		break;
	default:
		bpf_warn_invalid_xdp_action(cm->netdev, prog, act);
		fallthrough;
	case XDP_ABORTED:
		trace_xdp_exception(cm->netdev, prog, act);
		cm_rx_xdp_count(rx, CM_XDP_ABORTED);
		what = CM_HOP_XDP_DROP;
		break;
	case XDP_DROP:
		cm_rx_xdp_count(rx, CM_XDP_DROP);
		what = CM_HOP_XDP_DROP;
		break;
	}
	if (unlikely(READ_ONCE(cm_hop_log_on)))
		cm_hop_log(cm, what, from, d);
	cm_rx_give_back(cm, from, owner, idx, d->addr);
	return CM_XDP_RES_DONE;
}

static int cm_xdp_set_prog(struct net_device *netdev, struct bpf_prog *prog,
			   struct netlink_ext_ack *extack)
{
	struct cm_dev *cm = netdev_priv(netdev);
	struct bpf_prog *old;

	/* Frames are one buffer each: any MTU the device takes fits XDP. */
	old = rtnl_dereference(cm->xdp_prog);
	rcu_assign_pointer(cm->xdp_prog, prog);
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
	struct netdev_queue *txq = netdev_get_tx_queue(netdev, 0);
	struct cm_dev *cm = netdev_priv(netdev);
	u32 sent = 0, dropped = 0, idx;
	struct cm_tx *tx = &cm->tx;
	const struct cm_ftable *t;
	enum cm_tx_drop why;
	struct cm_route r;
	struct cm_desc d;
	u8 *buf;
	int i;

	if (unlikely(flags & ~XDP_XMIT_FLAGS_MASK))
		return -EINVAL;
	if (unlikely(!netif_running(netdev) || !netif_carrier_ok(netdev)))
		return -ENETDOWN;

	__netif_tx_lock(txq, smp_processor_id());
	t = cm_ftsnap_get(&cm->ft, false);
	for (i = 0; i < n; i++) {
		struct xdp_frame *f = frames[i];

		if (f->len < ETH_HLEN ||
		    f->len > cm->l.p.buf_size - CHAINMESH_HEADROOM ||
		    !cm_route(cm, t, NULL, f->data,
			      min_t(u32, f->len, CM_PARSE_LEN), &r, &why)) {
			xdp_return_frame(f);
			dropped++;
			continue;
		}
		buf = cm_tx_buf(&cm->pool, cm->base, &cm->l, cm->self, &idx,
				&d);
		if (!buf)
			break;
		d.len = f->len;
		memcpy(buf, f->data, f->len);
		cm_frame_set_dest(cm->base, &cm->l, buf, r.peer);
		if (cm_tx_push(cm, &r, &d))
			break;
		cm_pool_take_to(&cm->pool, idx, r.peer);
		if (unlikely(READ_ONCE(cm_hop_log_on)))
			cm_hop_log(cm, CM_HOP_XDP_XMIT, r.peer, &d);
		xdp_return_frame(f);
		sent++;
	}
	if (flags & XDP_XMIT_FLUSH)
		cm_tx_flush(cm);
	cm_tx_count(tx, CM_TX_XDP_XMIT, sent);
	/* The ones left to the caller are drops too. */
	cm_tx_count(tx, CM_TX_XDP_XMIT_DROP, dropped + n - i);
	__netif_tx_unlock(txq);
	return i;
}
