/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Flow tables: the host compiles its one logical table (flows and chains)
 * into a table per node in shared memory; each node snapshots its table
 * into private memory under a sequence counter and classifies from the
 * snapshot.
 *
 * Sequence counter contract:
 *
 *  [F1] host:  seq = odd; smp_wmb(); write table; smp_wmb(); seq = even
 *  [F2] node:  s = load_acquire(seq), even; copy table; smp_rmb();
 *              seq == s, else retry later
 *
 * [F1] pairs with [F2]: a copy taken between two equal even reads of seq
 * saw no write of the host, so no entry is torn.
 */
#ifndef _CHAINMESH_FLOW_H
#define _CHAINMESH_FLOW_H

#include <linux/chainmesh.h>
#include "compat.h"
#include "layout.h"

/* Packet fields a flow matches on, big-endian as on the wire. */
struct cm_flow_key {
	u8 family;		/* 0 (not IP), 4 or 6 */
	u8 proto;
	__be16 vlan;		/* VLAN id, 0 none */
	__be16 sport;
	__be16 dport;
	__be32 src[4];
	__be32 dst[4];
};

/* A logical chain, as the host keeps it. */
struct cm_chain {
	u8 used;
	u8 nhops;
	u8 policy;
	u8 hops[CHAINMESH_MAX_NODES];
};

/* A node's table in private memory: validated copy of its shared table. */
struct cm_ftable {
	u32 seq;
	u32 nflows;
	struct chainmesh_fhop hops[CHAINMESH_MAX_CHAINS];
	struct chainmesh_flow flows[CHAINMESH_MAX_FLOWS];
};

#define CM_ETH_HLEN		14
#define CM_ETH_P_IP		0x0800
#define CM_ETH_P_IPV6		0x86DD
#define CM_ETH_P_8021Q		0x8100
#define CM_ETH_P_8021AD		0x88A8
#define CM_IPPROTO_TCP		6
#define CM_IPPROTO_UDP		17
#define CM_IPPROTO_SCTP		132

static inline u16 cm_get_be16(const u8 *p)
{
	return (u16)((p[0] << 8) | p[1]);
}

/*
 * cm_flow_parse - extract the match key from an Ethernet frame
 *
 * Never reads past @len. Frames that are not IP get family 0; truncated
 * L4 headers and non-first fragments leave the ports zero.
 */
static inline void cm_flow_parse(const u8 *frame, u32 len, struct cm_flow_key *k)
{
	u32 off = CM_ETH_HLEN;
	u16 proto;

	memset(k, 0, sizeof(*k));
	if (len < CM_ETH_HLEN)
		return;
	proto = cm_get_be16(frame + 12);
	if (proto == CM_ETH_P_8021Q || proto == CM_ETH_P_8021AD) {
		if (len < off + 4)
			return;
		k->vlan = cpu_to_be16(cm_get_be16(frame + off) & 0x0fff);
		proto = cm_get_be16(frame + off + 2);
		off += 4;
	}

	if (proto == CM_ETH_P_IP) {
		const u8 *ip = frame + off;
		u32 ihl;

		if (len < off + 20 || (ip[0] >> 4) != 4)
			return;
		ihl = (ip[0] & 0x0f) * 4u;
		if (ihl < 20 || len < off + ihl)
			return;
		k->family = 4;
		k->proto = ip[9];
		memcpy(&k->src[0], ip + 12, 4);
		memcpy(&k->dst[0], ip + 16, 4);
		if (cm_get_be16(ip + 6) & 0x1fff)	/* not the first fragment */
			return;
		off += ihl;
	} else if (proto == CM_ETH_P_IPV6) {
		const u8 *ip = frame + off;

		if (len < off + 40 || (ip[0] >> 4) != 6)
			return;
		k->family = 6;
		k->proto = ip[6];
		memcpy(k->src, ip + 8, 16);
		memcpy(k->dst, ip + 24, 16);
		off += 40;
	} else {
		return;
	}

	if ((k->proto == CM_IPPROTO_TCP || k->proto == CM_IPPROTO_UDP ||
	     k->proto == CM_IPPROTO_SCTP) && len >= off + 4) {
		memcpy(&k->sport, frame + off, 2);
		memcpy(&k->dport, frame + off + 2, 2);
	}
}

static inline bool cm_flow_match(const struct chainmesh_flow *f,
				 const struct cm_flow_key *k)
{
	int i;

	if (f->family && f->family != k->family)
		return false;
	if (f->ip_proto && f->ip_proto != k->proto)
		return false;
	if (f->vlan && f->vlan != k->vlan)
		return false;
	if ((k->sport & f->sport_mask) != f->sport ||
	    (k->dport & f->dport_mask) != f->dport)
		return false;
	for (i = 0; i < 4; i++)
		if ((k->src[i] & f->src_mask[i]) != f->src[i] ||
		    (k->dst[i] & f->dst_mask[i]) != f->dst[i])
			return false;
	return true;
}

/* First match in priority order, or NULL. */
static inline const struct chainmesh_flow *
cm_flow_lookup(const struct cm_ftable *t, const struct cm_flow_key *k)
{
	u32 i;

	for (i = 0; i < t->nflows; i++)
		if (cm_flow_match(&t->flows[i], k))
			return &t->flows[i];
	return NULL;
}

static inline struct chainmesh_ftable_hdr *cm_ftable_hdr(void *ft)
{
	return (struct chainmesh_ftable_hdr *)ft;
}

static inline struct chainmesh_fhop *cm_ftable_hops(void *ft)
{
	return (struct chainmesh_fhop *)(cm_ftable_hdr(ft) + 1);
}

static inline struct chainmesh_flow *cm_ftable_flows(void *ft)
{
	return (struct chainmesh_flow *)(cm_ftable_hops(ft) + CHAINMESH_MAX_CHAINS);
}

/* Has the host changed the table since @t was taken? */
static inline bool cm_ftable_changed(void *ft, const struct cm_ftable *t)
{
	return le32_to_cpu(READ_ONCE(cm_ftable_hdr(ft)->seq)) != t->seq;
}

/*
 * cm_ftable_snapshot - copy a node's shared table into @t and validate it
 *
 * Return: 0; -EAGAIN when the host was writing (keep the old table and try
 * again later); -EPROTO when an entry is out of range (table refused).
 * On error @t may be partly overwritten: snapshot into a spare table.
 */
static inline int cm_ftable_snapshot(void *ft, const struct cm_layout *l,
				     u32 self, struct cm_ftable *t)
{
	struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
	u32 s1, s2, i, n;

	/* [F2] pairs with [F1] */
	s1 = le32_to_cpu(smp_load_acquire(&h->seq));
	if (s1 & 1)
		return -EAGAIN;
	n = le32_to_cpu(READ_ONCE(h->nflows));
	if (n > l->p.max_flows)
		n = ~0u;	/* refuse below, once seq proves it untorn */
	else {
		memcpy(t->hops, cm_ftable_hops(ft), sizeof(t->hops));
		memcpy(t->flows, cm_ftable_flows(ft),
		       n * sizeof(struct chainmesh_flow));
	}
	smp_rmb();
	s2 = le32_to_cpu(READ_ONCE(h->seq));
	if (s1 != s2)
		return -EAGAIN;
	t->seq = s1;
	t->nflows = 0;
	if (n == ~0u)
		return -EPROTO;

	/* The copy is private now: validate it once. */
	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		struct chainmesh_fhop *hp = &t->hops[i];

		if (!(hp->flags & CHAINMESH_H_VALID))
			continue;
		if (hp->next != CHAINMESH_NODE_NONE &&
		    (hp->next >= l->p.nodes || hp->next == self))
			return -EPROTO;
		if (hp->next == CHAINMESH_NODE_NONE && !(hp->flags & CHAINMESH_H_LAST))
			return -EPROTO;
	}
	for (i = 0; i < n; i++) {
		struct chainmesh_flow *f = &t->flows[i];

		if (le32_to_cpu(f->flow_id) >= CHAINMESH_MAX_FLOWS ||
		    le16_to_cpu(f->chain) >= CHAINMESH_MAX_CHAINS)
			return -EPROTO;
	}
	t->nflows = n;
	return 0;
}

/* Host side: write a compiled table into shared memory. */
static inline void cm_ftable_publish(void *ft, const struct cm_ftable *t)
{
	struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
	u32 seq = le32_to_cpu(READ_ONCE(h->seq));

	if (seq & 1)		/* a write that never finished: close it */
		seq++;
	/* [F1] pairs with [F2] */
	WRITE_ONCE(h->seq, cpu_to_le32(seq + 1));
	smp_wmb();
	memcpy(cm_ftable_hops(ft), t->hops, sizeof(t->hops));
	memcpy(cm_ftable_flows(ft), t->flows,
	       t->nflows * sizeof(struct chainmesh_flow));
	WRITE_ONCE(h->nflows, cpu_to_le32(t->nflows));
	smp_wmb();
	WRITE_ONCE(h->seq, cpu_to_le32(seq + 2));
}

/* Position of @node on @c, or -1. */
static inline int cm_chain_pos(const struct cm_chain *c, u32 node)
{
	int i;

	for (i = 0; i < c->nhops; i++)
		if (c->hops[i] == node)
			return i;
	return -1;
}

/*
 * cm_ftable_compile - node @node's table from the logical table
 * @flows: @nflows logical flows, any order
 * @chains: CHAINMESH_MAX_CHAINS chains, indexed by id
 *
 * A node's table holds what it does for every chain it is on (its hop and
 * the next node) and the flows whose chain it is on, sorted by priority,
 * then flow id, so that the first match wins.
 * Return: number of flows in @t, or -E2BIG beyond @max_flows.
 */
static inline int cm_ftable_compile(const struct chainmesh_flow *flows, u32 nflows,
				    const struct cm_chain *chains, u32 node,
				    u32 max_flows, struct cm_ftable *t)
{
	u32 i, n = 0;

	memset(t->hops, 0, sizeof(t->hops));
	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		const struct cm_chain *c = &chains[i];
		int pos;

		if (!c->used)
			continue;
		pos = cm_chain_pos(c, node);
		if (pos < 0)
			continue;
		t->hops[i].flags = CHAINMESH_H_VALID;
		t->hops[i].hop = (u8)pos;
		if (pos == c->nhops - 1) {
			t->hops[i].flags |= CHAINMESH_H_LAST;
			t->hops[i].next = CHAINMESH_NODE_NONE;
		} else {
			t->hops[i].next = c->hops[pos + 1];
		}
	}

	for (i = 0; i < nflows; i++) {
		const struct chainmesh_flow *f = &flows[i];
		u16 prio = le16_to_cpu(f->priority);
		u32 id = le32_to_cpu(f->flow_id);
		u32 j;

		if (le16_to_cpu(f->chain) >= CHAINMESH_MAX_CHAINS ||
		    !(t->hops[le16_to_cpu(f->chain)].flags & CHAINMESH_H_VALID))
			continue;
		if (n == max_flows)
			return -E2BIG;
		/* insertion sort by (priority, flow id); flow ids are unique */
		j = n;
		while (j > 0) {
			const struct chainmesh_flow *p = &t->flows[j - 1];
			u16 pp = le16_to_cpu(p->priority);

			if (pp < prio || (pp == prio && le32_to_cpu(p->flow_id) < id))
				break;
			t->flows[j] = *p;
			j--;
		}
		t->flows[j] = *f;
		n++;
	}
	t->nflows = n;
	return (int)n;
}

/* Mask of a prefix length over 4 words of an address. */
static inline void cm_prefix_mask(u32 plen, __be32 mask[4])
{
	int i;

	for (i = 0; i < 4; i++) {
		u32 bits = plen > 32 ? 32 : plen;

		mask[i] = bits ? cpu_to_be32(~0u << (32 - bits)) : 0;
		plen -= bits;
	}
}

#endif /* _CHAINMESH_FLOW_H */
