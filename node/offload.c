// SPDX-License-Identifier: GPL-2.0
/*
 * Checksum offload and GSO/TSO: frames of several buffers with an
 * offload header (include/uapi/linux/chainmesh_region.h, "Frames of
 * several buffers, and offloads"), around dp.h's cm_dp_send_frame() and
 * ops->rx_frame.
 *
 * Transmit: a GSO or CHECKSUM_PARTIAL skb goes as it is, one frame of up
 * to 64 KiB with its checksum start/offset and gso_type/gso_size, to a
 * next node that announced CHAINMESH_NF_OFFLOAD; to any other it is
 * segmented and checksummed here first (skb_gso_segment(),
 * skb_checksum_help()), as the stack would for a device without them.
 *
 * Receive: the region is BAR memory with no struct page, so a frame is
 * copied: its first buffer into the skb's head, the rest into page
 * fragments, and the offload header becomes the skb's (CHECKSUM_PARTIAL,
 * gso_size/gso_type, as virtio-net's header does): the stack forwards it
 * without segmenting, and finishes the checksum where it leaves the mesh
 * (a device without NETIF_F_HW_CSUM, or TSO). A frame without an offload
 * header is CHECKSUM_NONE: the receiving stack verifies its checksum.
 *
 * XDP: a program that declares xdp.frags gets such frames as a
 * multi-buffer xdp_buff (copied into pages: head and fragments); while a
 * program without it is attached, the node does not announce
 * CHAINMESH_NF_OFFLOAD, so that its peers send it single-buffer frames
 * with computed checksums only (the kernel's multi-buffer XDP rule).
 */
#include <linux/bpf_trace.h>
#include <linux/etherdevice.h>
#include <linux/filter.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/virtio_net.h>
#include <net/xdp.h>

#include "ndev.h"
#include "offload.h"
#include "rx.h"
#include "xdp.h"

static_assert(CHAINMESH_GSO_NONE == VIRTIO_NET_HDR_GSO_NONE &&
	      CHAINMESH_GSO_TCPV4 == VIRTIO_NET_HDR_GSO_TCPV4 &&
	      CHAINMESH_GSO_UDP == VIRTIO_NET_HDR_GSO_UDP &&
	      CHAINMESH_GSO_TCPV6 == VIRTIO_NET_HDR_GSO_TCPV6 &&
	      CHAINMESH_GSO_ECN == VIRTIO_NET_HDR_GSO_ECN &&
	      CHAINMESH_OFF_NEEDS_CSUM == VIRTIO_NET_HDR_F_NEEDS_CSUM,
	      "chainmesh_offload takes virtio_net_hdr's values");

/* What this node announces: offloads while receive checksum is on and no
 * XDP program that cannot see fragments is attached. */
void cm_off_update(struct cm_ndev *nd)
{
	struct bpf_prog *prog = rtnl_dereference(nd->xdp_prog);
	u32 nf = 0, q;

	if ((nd->netdev->features & NETIF_F_RXCSUM) &&
	    (!prog || prog->aux->xdp_has_frags))
		nf |= CHAINMESH_NF_OFFLOAD;
	for (q = 0; q < nd->nlanes; q++)
		cm_dp_set_features(&nd->lanes[q].dp, nf);
}

/* The skb's offload state as the header on the wire; false: none we can
 * carry. */
static bool cm_off_from_skb(const struct sk_buff *skb,
			    struct chainmesh_offload *oh)
{
	struct virtio_net_hdr h;

	if (virtio_net_hdr_from_skb(skb, &h, true, false, 0))
		return false;
	memset(oh, 0, sizeof(*oh));
	oh->flags = h.flags;
	oh->gso_type = h.gso_type;
	oh->hdr_len = cpu_to_le16(__virtio16_to_cpu(true, h.hdr_len));
	oh->gso_size = cpu_to_le16(__virtio16_to_cpu(true, h.gso_size));
	oh->csum_start = cpu_to_le16(__virtio16_to_cpu(true, h.csum_start));
	oh->csum_offset = cpu_to_le16(__virtio16_to_cpu(true, h.csum_offset));
	return true;
}

/* A received frame's offload header (validated by dp.h) onto its skb,
 * whose data is at the Ethernet header. */
static int cm_off_to_skb(struct sk_buff *skb,
			 const struct chainmesh_offload *oh)
{
	struct virtio_net_hdr h = {
		.flags		= oh->flags,
		.gso_type	= oh->gso_type,
		.hdr_len	= __cpu_to_virtio16(true, le16_to_cpu(oh->hdr_len)),
		.gso_size	= __cpu_to_virtio16(true, le16_to_cpu(oh->gso_size)),
		.csum_start	= __cpu_to_virtio16(true, le16_to_cpu(oh->csum_start)),
		.csum_offset	= __cpu_to_virtio16(true, le16_to_cpu(oh->csum_offset)),
	};

	return virtio_net_hdr_to_skb(skb, &h, true);
}

static bool cm_off_copy_skb(u8 *buf, u32 off, u32 len, const void *skb)
{
	return !skb_copy_bits(skb, off, buf, len);
}

/*
 * cm_off_xmit - under the tx lock: an skb with offloads (GSO, or a
 * checksum to finish) as one frame to r->peer, which takes them
 * (cm_off_wanted())
 *
 * Return: CM_TX_DROP_NONE (sent: the skb is the caller's to consume) or
 * why not.
 */
enum cm_tx_drop cm_off_xmit(struct cm_dp *dp, struct sk_buff *skb,
			    const struct cm_route *r)
{
	struct chainmesh_offload oh;

	if (!cm_off_from_skb(skb, &oh))
		return CM_TX_DROP_LEN;
	return cm_dp_send_frame(dp, r, skb->len, &oh, cm_off_copy_skb,
				skb);
}

/* The next node takes this skb as one frame with its offloads. */
bool cm_off_wanted(const struct cm_dp *dp, const struct sk_buff *skb, u32 peer)
{
	return (skb_is_gso(skb) || skb->ip_summed == CHECKSUM_PARTIAL) &&
	       skb->len <= CHAINMESH_FRAME_MAX_LEN &&
	       cm_dp_peer_offload(dp, peer) &&
	       cm_dp_frame_fits(dp, cm_dp_frame_bufs(dp, skb->len));
}

/* ------------------------------------------------------------ receive */

/* Append @len bytes at @src to @skb's page fragments. Return: false when
 * out of memory or fragments. */
static bool cm_off_fill_frags(struct sk_buff *skb, const u8 *src, u32 len)
{
	struct skb_shared_info *sh = skb_shinfo(skb);
	skb_frag_t *fr;
	struct page *page;
	u32 n, used;

	while (len) {
		fr = sh->nr_frags ? &sh->frags[sh->nr_frags - 1] : NULL;
		used = fr ? skb_frag_off(fr) + skb_frag_size(fr) : PAGE_SIZE;
		if (used == PAGE_SIZE) {
			if (sh->nr_frags == MAX_SKB_FRAGS)
				return false;
			page = dev_alloc_page();
			if (!page)
				return false;
			skb_add_rx_frag(skb, sh->nr_frags, page, 0, 0,
					PAGE_SIZE);
			continue;
		}
		n = min_t(u32, len, PAGE_SIZE - used);
		memcpy(page_address(skb_frag_page(fr)) + used, src, n);
		skb_frag_size_add(fr, n);
		skb->len += n;
		skb->data_len += n;
		src += n;
		len -= n;
	}
	return true;
}

/* A frame's bytes past its first buffer into @skb's fragments. */
static bool cm_off_frame_frags(struct cm_ndev *nd, struct sk_buff *skb,
			       const struct cm_frame *f)
{
	u32 i;

	for (i = 1; i < f->n; i++)
		if (!cm_off_fill_frags(skb, cm_buf(nd, f->d[i].addr) +
					    f->d[i].data_off, f->d[i].len))
			return false;
	return true;
}

/* A received frame's skb (copied) to the stack, with its offloads. */
static void cm_off_deliver(struct cm_lane *ln, u32 from, struct sk_buff *skb,
			   const struct cm_frame *f,
			   const struct cm_ftable *t)
{
	struct cm_dp *dp = &ln->dp;

	if (f->off && cm_off_to_skb(skb, &f->oh)) {
		/* dp.h checked the fields; the kernel's checks are stricter
		 * (a GSO type its stack has no segmentation for). */
		cm_dp_bad(dp, &cm_node_dp_ops, from, CM_BAD_OFFLOAD);
		kfree_skb(skb);
		return;
	}
	cm_ctr_add(&dp->rx_total, skb->len);
	cm_rx_deliver(ln, skb, t, &f->d[0]);
}

/* ------------------------------------------------------------ XDP */

/* The frame as a multi-buffer xdp_buff in pages it may keep: the first
 * buffer in a page fragment with XDP's headroom and skb_shared_info, the
 * others in page fragments. */
static bool cm_off_xdp_build(struct cm_lane *ln, const struct cm_frame *f,
			     struct xdp_buff *xdp)
{
	struct cm_ndev *nd = ln->nd;
	u32 hlen = f->d[0].len, truesize, i, n, off;
	struct skb_shared_info *sh;
	struct page *page = NULL;
	const u8 *src;
	skb_frag_t *fr;
	void *head;
	u32 len;

	truesize = SKB_DATA_ALIGN(XDP_PACKET_HEADROOM + hlen) +
		   SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	head = napi_alloc_frag(truesize);
	if (!head)
		return false;
	memcpy(head + XDP_PACKET_HEADROOM, cm_buf(nd, f->d[0].addr) +
	       f->d[0].data_off, hlen);
	xdp_init_buff(xdp, truesize, &ln->rx.xdp_rxq);
	xdp_prepare_buff(xdp, head, XDP_PACKET_HEADROOM, hlen, true);
	sh = xdp_get_shared_info_from_buff(xdp);
	sh->nr_frags = 0;
	sh->xdp_frags_size = 0;
	off = PAGE_SIZE;
	for (i = 1; i < f->n; i++) {
		src = cm_buf(nd, f->d[i].addr) + f->d[i].data_off;
		len = f->d[i].len;
		while (len) {
			if (off == PAGE_SIZE) {
				if (sh->nr_frags == MAX_SKB_FRAGS)
					goto err_free;
				page = dev_alloc_page();
				if (!page)
					goto err_free;
				fr = &sh->frags[sh->nr_frags++];
				__skb_frag_set_page(fr, page);
				skb_frag_off_set(fr, 0);
				skb_frag_size_set(fr, 0);
				off = 0;
			}
			fr = &sh->frags[sh->nr_frags - 1];
			n = min_t(u32, len, PAGE_SIZE - off);
			memcpy(page_address(skb_frag_page(fr)) + off, src, n);
			skb_frag_size_add(fr, n);
			sh->xdp_frags_size += n;
			off += n;
			src += n;
			len -= n;
		}
	}
	if (sh->nr_frags)
		xdp_buff_set_frags_flag(xdp);
	return true;

err_free:
	for (i = 0; i < sh->nr_frags; i++)
		put_page(skb_frag_page(&sh->frags[i]));
	skb_free_frag(head);
	return false;
}

static void cm_off_xdp_free(struct xdp_buff *xdp)
{
	struct skb_shared_info *sh = xdp_get_shared_info_from_buff(xdp);
	u32 i;

	if (xdp_buff_has_frags(xdp))
		for (i = 0; i < sh->nr_frags; i++)
			put_page(skb_frag_page(&sh->frags[i]));
	skb_free_frag(xdp->data_hard_start);
}

/* XDP_PASS: the skb around the xdp_buff's pages. */
static struct sk_buff *cm_off_xdp_skb(struct xdp_buff *xdp)
{
	struct skb_shared_info *sh = xdp_get_shared_info_from_buff(xdp);
	u32 nr = xdp_buff_has_frags(xdp) ? sh->nr_frags : 0;
	u32 metasize = xdp->data - xdp->data_meta;
	u32 size = sh->xdp_frags_size, truesize = nr * PAGE_SIZE;
	struct sk_buff *skb;

	skb = build_skb(xdp->data_hard_start, xdp->frame_sz);
	if (!skb)
		return NULL;
	skb_reserve(skb, xdp->data - xdp->data_hard_start);
	__skb_put(skb, xdp->data_end - xdp->data);
	if (metasize)
		skb_metadata_set(skb, metasize);
	if (nr)
		xdp_update_skb_shared_info(skb, nr, size, truesize, false);
	return skb;
}

static bool cm_off_copy_xdp(u8 *buf, u32 off, u32 len, const void *p)
{
	/* The helpers below take no const; nothing is written. */
	struct xdp_buff *xdp = (struct xdp_buff *)p;
	struct skb_shared_info *sh = xdp_get_shared_info_from_buff(xdp);
	u32 hlen = xdp->data_end - xdp->data, i, n, fo;

	if (off < hlen) {
		n = min_t(u32, len, hlen - off);
		memcpy(buf, xdp->data + off, n);
		buf += n;
		len -= n;
		off = hlen;
	}
	off -= hlen;
	for (i = 0; len && xdp_buff_has_frags(xdp) && i < sh->nr_frags; i++) {
		fo = skb_frag_size(&sh->frags[i]);
		if (off >= fo) {
			off -= fo;
			continue;
		}
		n = min_t(u32, len, fo - off);
		memcpy(buf, skb_frag_address(&sh->frags[i]) + off, n);
		buf += n;
		len -= n;
		off = 0;
	}
	return !len;
}

/* XDP_TX of a frame of several buffers: copied into our own buffers, to
 * the next node of its chain, with its offload header. */
static bool cm_off_xdp_tx(struct cm_lane *ln, struct xdp_buff *xdp,
			  const struct cm_frame *f, const struct cm_ftable *t,
			  const struct chainmesh_offload *oh)
{
	struct netdev_queue *txq = cm_lane_txq(ln);
	u32 hlen = xdp->data_end - xdp->data, len = hlen;
	struct cm_ctx ctx, *ctxp = NULL;
	struct cm_dp *dp = &ln->dp;
	struct cm_route r;
	bool ok = false;

	if (xdp_buff_has_frags(xdp))
		len += xdp_get_shared_info_from_buff(xdp)->xdp_frags_size;
	if (f->d[0].flags & CHAINMESH_D_CTX) {
		ctx.chain = f->d[0].chain;
		ctx.hop = f->d[0].hop;
		ctxp = &ctx;
	}
	if (cm_dp_route(t, ctxp, xdp->data, min_t(u32, hlen, CM_PARSE_LEN),
			&r))
		return false;
	__netif_tx_lock(txq, smp_processor_id());
	if (cm_dp_peer_offload(dp, r.peer) &&
	    !cm_dp_send_frame(dp, &r, len, oh, cm_off_copy_xdp, xdp)) {
		cm_dp_tx_flush(dp, &cm_node_dp_ops);
		ok = true;
	}
	__netif_tx_unlock(txq);
	return ok;
}

/* Run @prog on a frame of several buffers (the program declared
 * xdp.frags) or with offloads. Return: the skb to pass, or NULL. */
static struct sk_buff *cm_off_xdp_run(struct cm_lane *ln,
				      struct bpf_prog *prog,
				      const struct cm_frame *f,
				      const struct cm_ftable *t)
{
	struct chainmesh_offload oh = f->oh;
	struct cm_ndev *nd = ln->nd;
	struct cm_rx *rx = &ln->rx;
	struct sk_buff *skb;
	struct xdp_buff xdp;
	int moved;
	u32 act;

	if (!cm_off_xdp_build(ln, f, &xdp)) {
		cm_dp_rx_drop(&ln->dp, CM_RX_DROP_NOMEM);
		return NULL;
	}
	act = bpf_prog_run_xdp(prog, &xdp);
	/* A head the program moved moves the checksum's start with it. */
	moved = (int)(xdp.data - xdp.data_hard_start) - XDP_PACKET_HEADROOM;
	if (f->off && (oh.flags & CHAINMESH_OFF_NEEDS_CSUM))
		oh.csum_start = cpu_to_le16(le16_to_cpu(oh.csum_start) - moved);

	switch (act) {
	case XDP_PASS:
		cm_cnt_add(&rx->xdp[CM_XDP_PASS], 1);
		skb = cm_off_xdp_skb(&xdp);
		if (!skb)
			break;
		if (f->off && cm_off_to_skb(skb, &oh)) {
			kfree_skb(skb);
			return NULL;
		}
		return skb;
	case XDP_TX:
		cm_cnt_add(&rx->xdp[CM_XDP_TX], 1);
		if (!cm_off_xdp_tx(ln, &xdp, f, t, f->off ? &oh : NULL))
			cm_cnt_add(&rx->xdp[CM_XDP_TX_NO_HOP], 1);
		break;
	case XDP_REDIRECT:
		cm_cnt_add(&rx->xdp[CM_XDP_REDIRECT], 1);
		/* The offload header does not go along: only frames with
		 * nothing left to do may leave for another device. */
		if (!f->off && !xdp_do_redirect(nd->netdev, &xdp, prog)) {
			rx->xdp_redirected = true;
			return NULL;
		}
		cm_cnt_add(&rx->xdp[CM_XDP_REDIRECT_FAIL], 1);
		break;
	default:
		bpf_warn_invalid_xdp_action(nd->netdev, prog, act);
		fallthrough;
	case XDP_ABORTED:
		trace_xdp_exception(nd->netdev, prog, act);
		cm_cnt_add(&rx->xdp[CM_XDP_ABORTED], 1);
		break;
	case XDP_DROP:
		cm_cnt_add(&rx->xdp[CM_XDP_DROP], 1);
		break;
	}
	cm_off_xdp_free(&xdp);
	return NULL;
}

/* ops->rx_frame: a validated frame of several buffers or with offloads. */
static void cm_rx_frame(struct cm_dp *dp, u32 from, struct cm_frame *f,
			const struct cm_ftable **t)
{
	struct cm_lane *ln = cm_dp_lane(dp);
	struct cm_ndev *nd = ln->nd;
	struct cm_rx *rx = &ln->rx;
	struct sk_buff *skb;
	u8 *head;

	if (unlikely(!rx->deliver || !netif_running(nd->netdev))) {
		cm_dp_rx_drop(dp, CM_RX_DROP_DOWN);
		goto give_back;
	}
	head = cm_buf(nd, f->d[0].addr) + f->d[0].data_off;
	cm_dp_rx_count(dp, from, cm_desc_flow(*t, &f->d[0], head), f->len);

	if (rx->prog) {
		/* Only a program that declared xdp.frags sees these: we do
		 * not announce offloads while another one is attached. */
		if (f->n > 1 && !rx->prog->aux->xdp_has_frags) {
			cm_dp_rx_drop(dp, CM_RX_DROP_OFFLOAD);
			goto give_back;
		}
		skb = cm_off_xdp_run(ln, rx->prog, f, *t);
		cm_dp_give_back_frame(dp, &cm_node_dp_ops, from, f);
		if (skb) {
			cm_ctr_add(&dp->rx_total, skb->len);
			cm_rx_deliver(ln, skb, *t, &f->d[0]);
		}
		return;
	}

	/* Peers can write the buffers at any time: copy once, then look
	 * only at the copy. */
	skb = napi_alloc_skb(&rx->napi, f->d[0].len);
	if (unlikely(!skb)) {
		cm_dp_rx_drop(dp, CM_RX_DROP_NOMEM);
		goto give_back;
	}
	skb_put_data(skb, head, f->d[0].len);
	if (unlikely(!cm_off_frame_frags(nd, skb, f))) {
		kfree_skb(skb);
		cm_dp_rx_drop(dp, CM_RX_DROP_NOMEM);
		goto give_back;
	}
	cm_dp_give_back_frame(dp, &cm_node_dp_ops, from, f);
	cm_off_deliver(ln, from, skb, f, *t);
	return;

give_back:
	cm_dp_give_back_frame(dp, &cm_node_dp_ops, from, f);
}
