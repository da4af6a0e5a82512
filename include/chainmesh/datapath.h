/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The steps of a node's datapath that need no sk_buff, NAPI or netdev:
 * shared by the guests' chainmesh.ko and node 0 in chainmesh_host.ko, which
 * wrap them in their own transmit and receive paths.
 */
#ifndef _CHAINMESH_DATAPATH_H
#define _CHAINMESH_DATAPATH_H

#include "abi.h"
#include "compat.h"
#include "flow.h"
#include "layout.h"
#include "pool.h"
#include "ring.h"

/* Enough of a frame for cm_flow_parse(): Ethernet, a VLAN tag, IPv4 with
 * options or IPv6, and the L4 ports. */
#define CM_PARSE_LEN	(CM_ETH_HLEN + 4 + 60 + 8)

/* A node's MAC: 02:43:4d ("CM", locally administered), mesh id, node id. */
static inline void cm_node_mac(u32 mesh_id, u32 node, u8 mac[6])
{
	mac[0] = 0x02;
	mac[1] = 0x43;
	mac[2] = 0x4d;
	mac[3] = (mesh_id >> 8) & 0xff;
	mac[4] = mesh_id & 0xff;
	mac[5] = (u8)node;
}

/* Node @n (checked < nodes) is up, as it says and the host's watcher
 * does not deny. */
static inline bool cm_node_alive(void *base, const struct cm_layout *l, u32 n)
{
	struct chainmesh_node *e = cm_node(base, l, n);
	u32 verdict = le32_to_cpu(READ_ONCE(e->host_state));

	return le32_to_cpu(READ_ONCE(e->state)) == CHAINMESH_NODE_UP &&
	       verdict != CHAINMESH_NODE_DOWN && verdict != CHAINMESH_NODE_BROKEN;
}

/*
 * The host's verdict @v on node entry @e's life @epoch, and re-assertion
 * of either where a peer forged it: the verdict before the epoch it is
 * about (release), so that a node that reads its own epoch there reads
 * the verdict on it (cm_dp_fenced()), never the last life's.
 */
static inline void cm_node_set_verdict(struct chainmesh_node *e, u32 v,
				       u32 epoch)
{
	if (le32_to_cpu(READ_ONCE(e->host_state)) != v)
		WRITE_ONCE(e->host_state, cpu_to_le32(v));
	if (le32_to_cpu(READ_ONCE(e->verdict_epoch)) != epoch)
		smp_store_release(&e->verdict_epoch, cpu_to_le32(epoch));
}

/* This node is on @chain, at place @hop, as its table @t says. */
static inline bool cm_ftable_on_chain(const struct cm_ftable *t, u16 chain,
				      u8 hop)
{
	const struct chainmesh_fhop *h;

	if (chain >= CHAINMESH_MAX_CHAINS)
		return false;
	h = &t->hops[chain];
	return (h->flags & CHAINMESH_H_VALID) && h->hop == hop;
}

/* A received descriptor's chain context, if any, names a chain we are on,
 * at the hop the sender named; else CM_BAD_CHAIN. */
static inline bool cm_desc_ctx_ok(const struct cm_ftable *t,
				  const struct cm_desc *d)
{
	return !(d->flags & CHAINMESH_D_CTX) ||
	       cm_ftable_on_chain(t, d->chain, d->hop);
}

/*
 * cm_desc_flow - the flow a received frame counts against, or -1
 * @frame: the frame @d describes, d->len bytes (in the shared buffer)
 *
 * A frame with chain context counts only against a flow of that chain.
 */
static inline int cm_desc_flow(const struct cm_ftable *t,
			       const struct cm_desc *d, const u8 *frame)
{
	u32 n = d->len < CM_PARSE_LEN ? d->len : CM_PARSE_LEN;
	const struct chainmesh_flow *flow;
	struct cm_flow_key key;
	u8 hdr[CM_PARSE_LEN];

	/* Peers may write the frame meanwhile: parse a copy. */
	memcpy(hdr, frame, n);
	cm_flow_parse(hdr, n, &key);
	flow = cm_flow_lookup(t, &key);
	if (!flow)
		return -1;
	if ((d->flags & CHAINMESH_D_CTX) && le16_to_cpu(flow->chain) != d->chain)
		return -1;
	return (int)le32_to_cpu(flow->flow_id);
}

/* Descriptors a receive path copies out at once, then works through. */
#define CM_RX_BURST	16

/*
 * cm_rx_pop_burst - copy up to CM_RX_BURST data slots out, and start
 * fetching the first line of each frame while the first is handled
 * @n: slots the caller may take (cm_ring_cons_avail(), its budget)
 *
 * The offsets are the peer's, not checked yet: a prefetch cannot fault,
 * and one that points outside the region is not issued at all.
 *
 * Return: descriptors copied into @d; validate each as usual.
 */
static inline u32 cm_rx_pop_burst(struct cm_ring_cons *c, void *base,
				  const struct cm_layout *l, struct cm_desc *d,
				  u32 n)
{
	u32 i;

	if (n > CM_RX_BURST)
		n = CM_RX_BURST;
	cm_ring_pop_descs(c, d, n);
	for (i = 0; i < n; i++)
		if (d[i].addr < l->size && d[i].addr + d[i].data_off < l->size)
			prefetch((u8 *)base + d[i].addr + d[i].data_off);
	return n;
}

/*
 * cm_tx_buf - transmit path: the buffer of our pool a frame is copied into
 * @self: our node id
 * @idx: set to the buffer's index in our pool, not taken yet: the caller
 *	 cm_pool_take()s it once it pushes the descriptor, before publishing
 * @d: addr and data_off set; len and chain context are the caller's
 *
 * Return: where the frame goes, buf_size - CHAINMESH_HEADROOM bytes at
 * most, or NULL when our pool is empty.
 */
static inline u8 *cm_tx_buf(const struct cm_pool *pool, void *base,
			    const struct cm_layout *l, u32 self, u32 *idx,
			    struct cm_desc *d)
{
	if (!cm_pool_peek(pool, idx))
		return NULL;
	d->addr = cm_buf_addr(l, self, *idx);
	d->data_off = CHAINMESH_HEADROOM;
	return (u8 *)base + d->addr + CHAINMESH_HEADROOM;
}

/* The receiver @peer finds its own address in h_dest (PACKET_HOST, no
 * promiscuity); it wrote its MAC before going UP. */
static inline void cm_frame_set_dest(void *base, const struct cm_layout *l,
				     u8 *frame, u32 peer)
{
	memcpy(frame, cm_node(base, l, peer)->mac, 6 /* ETH_ALEN */);
}

/*
 * A node's new life starts on empty rings (Documentation/architecture.rst,
 * "Lifecycle"): its producer index where the consumer's is, its consumer
 * index where the producer's is. What a previous life left queued is
 * dropped unread: every buffer in it went home when its peers saw that
 * life end, and reading it again would return them twice.
 */
static inline void cm_ring_prod_restart(struct cm_ring_prod *p)
{
	/* Pairs with the consumer's release of tail [C2]. */
	u32 tail = le32_to_cpu(smp_load_acquire(&p->hdr->tail));

	p->head = tail;
	p->published = tail;
	p->tail_cache = tail;
	smp_store_release(&p->hdr->head, cpu_to_le32(tail));
}

/* Consumer, at a new life or a fence: drop what is queued, unread, up
 * to wherever the producer's head is, even more than a ring ahead of
 * our tail (a burst's): an insane head left for cm_ring_cons_avail() to
 * refuse would keep the ring dead, and the peer judged, until a pair
 * reset. Our tail is published in any case (re-asserted). */
static inline void cm_ring_cons_take_head(struct cm_ring_cons *c)
{
	/* No slot is read: no barrier with the producer's [P1]. */
	u32 head = le32_to_cpu(READ_ONCE(c->hdr->head));

	c->tail = head;
	c->head_cache = head;
	cm_ring_release(c);
}

/* Consumer: forget the producer's head we cached; a producer's new life
 * may have moved it back to our tail (cm_ring_prod_restart()). */
static inline void cm_ring_cons_forget(struct cm_ring_cons *c)
{
	c->head_cache = c->tail;
}

/* Chain context of a descriptor we send: @hop is the receiver's place. */
static inline void cm_desc_set_ctx(struct cm_desc *d, u16 chain, u8 hop)
{
	d->chain = chain;
	d->hop = hop;
	d->flags = CHAINMESH_D_CTX;
}

#endif /* _CHAINMESH_DATAPATH_H */
