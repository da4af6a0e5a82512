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

#ifdef __KERNEL__
#include <linux/slab.h>
#endif

#include <linux/chainmesh.h>	/* CHAINMESH_POLICY_* */
#include "abi.h"
#ifdef __KERNEL__
#include <linux/random.h>
#endif
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
	u8 hops[CHAINMESH_MAX_NODES];	/* positions, a group's members in a row */
	u64 grp;	/* bit j: hops[j] is a replica of the hop of hops[j - 1] */
	u64 gout;	/* host's: bit j: hops[j] left its group (failover) */
};

/*
 * Lookup index of a table (tuple space search), built from the private
 * copy by cm_ftable_index() and kept up to date by cm_ftable_set() and
 * cm_ftable_del() (the flow log's increments, flowlog.h): flows are
 * grouped by their mask; each group has its masked values in one hash
 * table (open addressing, keyed by group and value, never more than half
 * full); the entries of one value hang off its slot in a list in rank
 * order, so that a delete never needs a rebuild; masks beyond
 * CM_FIDX_GROUPS groups (and, in a build, masks of a single flow) are in
 * a list scanned in rank order. A flow's rank is its priority, then its
 * flow id (cm_flow_rank()), then its position: the table's order, so
 * entries may sit anywhere in the array. A lookup hashes the key once
 * per group, groups in the order of the lowest rank they may hold, so
 * that it stops at the first group that cannot beat the match it has.
 * Expected cost: one probe per mask in use, whatever the number of flows.
 *
 * A table and its index are one allocation, sized for @cap entries
 * (cm_ftable_alloc(), cm_ftable_size()); building the index allocates
 * nothing and takes O(nflows) expected time, an insert or a delete O(1)
 * expected (a linear-list entry: O(nlinear) to keep the list in order).
 */
#define CM_FIDX_WORDS		10	/* struct cm_flow_key in 32-bit words */
#define CM_FIDX_GROUPS		64
#define CM_FIDX_MIN_GROUP	2	/* a lone flow is cheaper to match than hash */
#define CM_FIDX_MIN_SHIFT	4
#define CM_FIDX_NONE		0xffffffffu
#define CM_FIDX_LIN		0xfffffffeu	/* aux[]: in the linear list */
#define CM_FIDX_ENT_BITS	24	/* a slot holds group << 24 | entry */
#define CM_FIDX_ENT_MASK	((1u << CM_FIDX_ENT_BITS) - 1)
#define CM_FIDX_OP_PROBES	1024	/* probes an insert or delete may make */

struct cm_fidx_group {
	u32 mask[CM_FIDX_WORDS];	/* as struct cm_flow_key words */
	u32 size;			/* entries; 0: the group is free */
	u32 narrow;			/* only words 0, 1, 2, 6 masked (IPv4) */
	u64 min;			/* no entry ranks lower (a delete
					 * leaves it low: a bound, not exact) */
};

struct cm_fidx_slot {
	u32 hash;
	u32 ent;			/* group << 24 | entry, CM_FIDX_NONE if free */
};

struct cm_fidx {
	/* The hash's multipliers, odd, drawn per table (cm_ftable_init()):
	 * entries a peer wrote cannot be chosen to collide. */
	u64 mul[CM_FIDX_WORDS + 1];
	u32 probes;			/* the build's, or an op's, bounded */
	const void *owner;		/* the table it indexes, NULL: none */
	u32 nflows;			/* the table's nflows when last kept */
	u32 ngroups;			/* groups in use, @order's length */
	u32 nlinear;
	u32 shift;			/* 1 << shift slots in use */
	u32 used;			/* slots taken */
	u8 order[CM_FIDX_GROUPS];	/* groups in use, by @min */
	struct cm_fidx_group groups[CM_FIDX_GROUPS];
	u32 *linear;			/* [cap] entries scanned, rank order */
	u32 *aux;			/* [cap] per entry: its group,
					 * CM_FIDX_LIN, or CM_FIDX_NONE
					 * (matches nothing, not indexed) */
	u32 *next;			/* [cap] next entry of the same value */
	struct cm_fidx_slot *slots;	/* [1 << cm_fidx_shift(cap)] */
};

/* A node's table in private memory: validated copy of its shared table.
 * @ix belongs to this copy only: after copying or editing entries by hand,
 * call cm_ftable_index() (until then lookups scan). cm_ftable_set() and
 * cm_ftable_del() edit it keeping @ix and @byid current. */
struct cm_ftable {
	u32 seq;
	u32 nflows;			/* <= cap */
	u32 cap;			/* entries @flows and @ix have room for */
	u32 log_pos;			/* flow log position it reflects */
	u32 gen;			/* the checkpoint generation taken */
	bool sorted;			/* @flows in rank order */
	bool byid_ok;			/* @byid current: ids < cap, unique */
	struct chainmesh_fhop hops[CHAINMESH_MAX_CHAINS];
	struct chainmesh_fgroup groups[CHAINMESH_MAX_CHAINS];
	struct chainmesh_flow *flows;	/* [cap], right after the struct */
	u32 *byid;			/* [cap] flow id -> entry, or NONE */
	struct cm_fidx ix;
};

_Static_assert(CHAINMESH_MAX_FLOWS <= CM_FIDX_ENT_MASK &&
	       CHAINMESH_MAX_FLOWS <= 1u << 29 &&
	       CM_FIDX_GROUPS < CM_FIDX_NONE >> CM_FIDX_ENT_BITS &&
	       CM_FIDX_GROUPS <= 256,
	       "cm_fidx: sizes");

/* log2 of the slots for @cap entries: at least twice @cap (<= 2^29). */
static inline u32 cm_fidx_shift(u32 cap)
{
	u32 shift = CM_FIDX_MIN_SHIFT;

	while ((1u << shift) < 2 * cap)
		shift++;
	return shift;
}

/* Bytes of a table of @cap (<= CHAINMESH_MAX_FLOWS) entries and its index. */
static inline size_t cm_ftable_size(u32 cap)
{
	return sizeof(struct cm_ftable) +
	       (size_t)cap * (sizeof(struct chainmesh_flow) + 4 * sizeof(u32)) +
	       ((size_t)1 << cm_fidx_shift(cap)) * sizeof(struct cm_fidx_slot);
}

/*
 * cm_ftable_init - an empty, unindexed table of @cap entries at @t, whose
 * arrays take the cm_ftable_size(@cap) - sizeof(*t) bytes right after it
 * (so @t may end a larger allocation)
 */
static inline void cm_ftable_init(struct cm_ftable *t, u32 cap)
{
	u32 i;

	memset(t, 0, sizeof(*t));
#ifdef __KERNEL__
	get_random_bytes(t->ix.mul, sizeof(t->ix.mul));
#else
	arc4random_buf(t->ix.mul, sizeof(t->ix.mul));
#endif
	for (i = 0; i <= CM_FIDX_WORDS; i++)
		t->ix.mul[i] |= 1;
	t->cap = cap;
	t->sorted = true;
	t->flows = (struct chainmesh_flow *)(t + 1);
	t->ix.linear = (u32 *)(t->flows + cap);
	t->ix.aux = t->ix.linear + cap;
	t->ix.next = t->ix.aux + cap;
	t->byid = t->ix.next + cap;
	/* 8-aligned (the index build sorts u64 keys there): the four u32
	 * arrays take 16 bytes an entry */
	t->ix.slots = (struct cm_fidx_slot *)(t->byid + cap);
}

/* A table of @cap (1..CHAINMESH_MAX_FLOWS) entries, or NULL; may sleep. */
static inline struct cm_ftable *cm_ftable_alloc(u32 cap)
{
	struct cm_ftable *t;

	if (!cap || cap > CHAINMESH_MAX_FLOWS)
		return NULL;
	t = kvmalloc(cm_ftable_size(cap), GFP_KERNEL);
	if (t)
		cm_ftable_init(t, cap);
	return t;
}

static inline void cm_ftable_free(struct cm_ftable *t)
{
	kvfree(t);
}

/* @src's hops, groups and entries into @dst, unindexed. Return: 0, or -E2BIG
 * when they do not fit (@dst untouched). */
static inline int cm_ftable_copy(struct cm_ftable *dst,
				 const struct cm_ftable *src)
{
	if (src->nflows > dst->cap)
		return -E2BIG;
	dst->ix.owner = NULL;
	dst->byid_ok = false;
	dst->seq = src->seq;
	dst->log_pos = src->log_pos;
	dst->gen = src->gen;
	dst->sorted = src->sorted;
	dst->nflows = src->nflows;
	memcpy(dst->hops, src->hops, sizeof(dst->hops));
	memcpy(dst->groups, src->groups, sizeof(dst->groups));
	memcpy(dst->flows, src->flows, src->nflows * sizeof(src->flows[0]));
	return 0;
}

/* A flow's place in table order, bar its position: priority, flow id. */
static inline u64 cm_flow_rank(const struct chainmesh_flow *f)
{
	return (u64)le16_to_cpu(f->priority) << 32 | le32_to_cpu(f->flow_id);
}

/* Entry @a before entry @b of @t in table order (rank, then position). */
static inline bool cm_fidx_before(const struct cm_ftable *t, u32 a, u32 b)
{
	u64 ra = cm_flow_rank(&t->flows[a]), rb = cm_flow_rank(&t->flows[b]);

	return ra < rb || (ra == rb && a < b);
}

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

/* A 32-bit mixer (murmur3's finalizer). */
static inline u32 cm_flow_mix(u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return h;
}

static inline u32 cm_flow_end_hash(const __be32 *addr, __be16 port)
{
	u32 h = (__force u32)port, i;

	for (i = 0; i < 4; i++)
		h = cm_flow_mix(h ^ (__force u32)addr[i]);
	return h;
}

/*
 * cm_flow_hash_sym - a hash of a frame's flow that is the same for both
 * directions (the two ends in a fixed order), and the same at every node:
 * it picks the queue (lane) of a frame, so a connection's packets stay in
 * order on one queue index at every hop, both ways. 0 for non-IP frames.
 */
static inline u32 cm_flow_hash_sym(const struct cm_flow_key *k)
{
	u32 a, b;

	if (!k->family)
		return 0;
	a = cm_flow_end_hash(k->src, k->sport);
	b = cm_flow_end_hash(k->dst, k->dport);
	if (a > b) {
		u32 t = a;

		a = b;
		b = t;
	}
	return cm_flow_mix(cm_flow_mix(a ^ k->proto) + b);
}

/* The lane of a flow in a mesh of @queues queues. */
static inline u32 cm_flow_lane(const struct cm_flow_key *k, u32 queues)
{
	return queues > 1 ? cm_flow_hash_sym(k) % queues : 0;
}

/* Is @node in the alive set @up (failure policy, below)? */
static inline bool cm_node_up(u64 up, u32 node)
{
	return node < CHAINMESH_MAX_NODES && ((up >> node) & 1);
}

/* Replica groups: the replica a flow goes to, with the hash above. */
#include "group.h"

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

/*
 * First match in table order by scanning every entry, or NULL: the first
 * one that matches in a sorted table, the lowest ranked in any other.
 */
static inline const struct chainmesh_flow *
cm_flow_lookup_linear(const struct cm_ftable *t, const struct cm_flow_key *k)
{
	const struct chainmesh_flow *best = NULL;
	u64 rank = 0, r;
	u32 i;

	for (i = 0; i < t->nflows; i++) {
		if (!cm_flow_match(&t->flows[i], k))
			continue;
		if (t->sorted)
			return &t->flows[i];
		r = cm_flow_rank(&t->flows[i]);
		if (!best || r < rank) {
			best = &t->flows[i];
			rank = r;
		}
	}
	return best;
}
/*
 * The index sees a key, and a flow's value and mask, as CM_FIDX_WORDS
 * words, all made the same way: word 0 holds family, protocol and VLAN,
 * word 1 the two ports, 2..5 the source, 6..9 the destination. They are
 * built in registers from the fields (no copy through the stack, which
 * costs a store-forwarding stall per lookup); a flow matches a key k iff
 * (k & m) == v word by word.
 */
static inline u32 cm_fidx_w0(u8 family, u8 proto, __be16 vlan)
{
	return family | (u32)proto << 8 | (u32)(__force u16)vlan << 16;
}

static inline u32 cm_fidx_w1(__be16 sport, __be16 dport)
{
	return (__force u16)sport | (u32)(__force u16)dport << 16;
}

static inline void cm_fidx_key(const struct cm_flow_key *k, u32 w[CM_FIDX_WORDS])
{
	w[0] = cm_fidx_w0(k->family, k->proto, k->vlan);
	w[1] = cm_fidx_w1(k->sport, k->dport);
	memcpy(&w[2], k->src, 16);
	memcpy(&w[6], k->dst, 16);
}

/* Bits where @a and @b differ, over all words (unrolled: hot in builds). */
static inline u32 cm_fidx_diff(const u32 a[CM_FIDX_WORDS], const u32 b[CM_FIDX_WORDS])
{
	return (a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) |
	       (a[4] ^ b[4]) | (a[5] ^ b[5]) | (a[6] ^ b[6]) | (a[7] ^ b[7]) |
	       (a[8] ^ b[8]) | (a[9] ^ b[9]);
}

/* The value words of @f alone. */
static inline void cm_fidx_value(const struct chainmesh_flow *f,
				 u32 v[CM_FIDX_WORDS])
{
	v[0] = cm_fidx_w0(f->family, f->ip_proto, f->vlan);
	v[1] = cm_fidx_w1(f->sport, f->dport);
	memcpy(&v[2], f->src, 16);
	memcpy(&v[6], f->dst, 16);
}

/*
 * A flow as the index sees it: @v its value, @m its mask. Return: false
 * when a value bit lies outside its mask: such a flow matches nothing
 * (cm_flow_match compares the masked key with it).
 */
static inline bool cm_fidx_flow(const struct chainmesh_flow *f,
				u32 v[CM_FIDX_WORDS], u32 m[CM_FIDX_WORDS])
{
	u32 x[CM_FIDX_WORDS];

	cm_fidx_value(f, v);
	m[0] = cm_fidx_w0(f->family ? 0xff : 0, f->ip_proto ? 0xff : 0,
			  f->vlan ? cpu_to_be16(0xffff) : 0);
	m[1] = cm_fidx_w1(f->sport_mask, f->dport_mask);
	memcpy(&m[2], f->src_mask, 16);
	memcpy(&m[6], f->dst_mask, 16);
	/* v & ~m == 0 iff v | m == m */
	x[0] = v[0] | m[0];
	x[1] = v[1] | m[1];
	x[2] = v[2] | m[2];
	x[3] = v[3] | m[3];
	x[4] = v[4] | m[4];
	x[5] = v[5] | m[5];
	x[6] = v[6] | m[6];
	x[7] = v[7] | m[7];
	x[8] = v[8] | m[8];
	x[9] = v[9] | m[9];
	return !cm_fidx_diff(x, m);
}

static inline bool cm_fidx_same(const u32 a[CM_FIDX_WORDS],
				const u32 b[CM_FIDX_WORDS])
{
	return !cm_fidx_diff(a, b);
}

/*
 * Hash of the masked words, salted by @salt (the group): a sum of
 * independent products (they overlap in the pipeline), then a mix so that
 * neighbouring addresses do not land in neighbouring slots. A word whose
 * mask is zero adds nothing, so cm_fidx_hash4() of a narrow group's key
 * equals cm_fidx_hash() of it.
 */
static inline u32 cm_fidx_mix(u64 h)
{
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (u32)h;
}

static inline u32 cm_fidx_hash4(const u64 k[CM_FIDX_WORDS + 1],
				const u32 w[CM_FIDX_WORDS],
				const u32 m[CM_FIDX_WORDS], u32 salt)
{
	u64 h = (u64)(salt + 1) * k[CM_FIDX_WORDS];

	h += (u64)(w[0] & m[0]) * k[0];
	h += (u64)(w[1] & m[1]) * k[1];
	h += (u64)(w[2] & m[2]) * k[2];
	h += (u64)(w[6] & m[6]) * k[6];
	return cm_fidx_mix(h);
}

static inline u32 cm_fidx_hash(const u64 k[CM_FIDX_WORDS + 1],
			       const u32 w[CM_FIDX_WORDS],
			       const u32 m[CM_FIDX_WORDS], u32 salt)
{
	u64 h = (u64)(salt + 1) * k[CM_FIDX_WORDS];
	u32 i;

	for (i = 0; i < CM_FIDX_WORDS; i++)
		h += (u64)(w[i] & m[i]) * k[i];
	return cm_fidx_mix(h);
}

/*
 * Does the key (words @w) match @f, a flow of the group of mask @m? The
 * group's mask is the flow's, and its value has no bit outside it, so
 * this is cm_flow_match() word by word, without a branch per field.
 */
static inline bool cm_fidx_hit(const u32 w[CM_FIDX_WORDS],
			       const u32 m[CM_FIDX_WORDS],
			       const struct chainmesh_flow *f, bool narrow)
{
	u32 d, i;

	d = ((w[0] & m[0]) ^ cm_fidx_w0(f->family, f->ip_proto, f->vlan)) |
	    ((w[1] & m[1]) ^ cm_fidx_w1(f->sport, f->dport)) |
	    ((w[2] & m[2]) ^ (__force u32)f->src[0]) |
	    ((w[6] & m[6]) ^ (__force u32)f->dst[0]);
	if (narrow)
		return !d;
	for (i = 1; i < 4; i++)
		d |= ((w[2 + i] & m[2 + i]) ^ (__force u32)f->src[i]) |
		     ((w[6 + i] & m[6 + i]) ^ (__force u32)f->dst[i]);
	return !d;
}

static inline u32 cm_fidx_home(const struct cm_fidx *x, u32 hash)
{
	return hash >> (32 - x->shift);
}

#define CM_FIDX_MASK_SALT	0xffff	/* never a group number */

/* Probes a build may make in all, for @n entries: a fair table needs
 * about two per entry (load <= 1/2); one whose entries crowd a few slots
 * is refused instead of taking quadratic time. */
#define CM_FIDX_PROBES(n)	(16 * (n) + 1024)

/* Slot of the mask @m in the build's mask table (slots hold entry
 * indices there), free or its own; CM_FIDX_NONE past the probe budget. */
static inline u32 cm_fidx_mask_slot(struct cm_ftable *t,
				    const u32 m[CM_FIDX_WORDS], u32 hash,
				    u32 budget)
{
	struct cm_fidx *x = &t->ix;
	u32 smask = (1u << x->shift) - 1, s = cm_fidx_home(x, hash);
	u32 v2[CM_FIDX_WORDS], m2[CM_FIDX_WORDS];

	for (;;) {
		const struct cm_fidx_slot *e = &x->slots[s];

		if (++x->probes > budget)
			return CM_FIDX_NONE;
		if (e->ent == CM_FIDX_NONE)
			return s;
		if (e->hash == hash) {
			cm_fidx_flow(&t->flows[e->ent], v2, m2);
			if (cm_fidx_same(m, m2))
				return s;
		}
		s = (s + 1) & smask;
	}
}

/* Hash of value @v in group @g (a value has no bit outside its mask: the
 * narrow hash is the hash). */
static inline u32 cm_fidx_vhash(const struct cm_fidx *x, u32 g,
				const u32 v[CM_FIDX_WORDS])
{
	const struct cm_fidx_group *gr = &x->groups[g];

	return gr->narrow ? cm_fidx_hash4(x->mul, v, gr->mask, g) :
			    cm_fidx_hash(x->mul, v, gr->mask, g);
}

/* The slot holding group @g's value @v (hash @h), or CM_FIDX_NONE;
 * @free: set to the free slot ending the search, if it ended on one. */
static inline u32 cm_fidx_find(struct cm_ftable *t, u32 g, u32 h,
			       const u32 v[CM_FIDX_WORDS], u32 *free,
			       u32 budget)
{
	struct cm_fidx *x = &t->ix;
	u32 smask = (1u << x->shift) - 1, s, n, v2[CM_FIDX_WORDS];

	*free = CM_FIDX_NONE;
	for (s = cm_fidx_home(x, h), n = 0; n <= smask; s = (s + 1) & smask, n++) {
		const struct cm_fidx_slot *e = &x->slots[s];

		if (++x->probes > budget)
			return CM_FIDX_NONE;
		if (e->ent == CM_FIDX_NONE) {
			*free = s;
			return CM_FIDX_NONE;
		}
		if (e->hash != h || e->ent >> CM_FIDX_ENT_BITS != g)
			continue;
		cm_fidx_value(&t->flows[e->ent & CM_FIDX_ENT_MASK], v2);
		if (cm_fidx_same(v, v2))
			return s;
	}
	return CM_FIDX_NONE;
}

/* Put entry @i in group @g's value table: a slot of its own, or in rank
 * order in the list of the entries of the same value. Return: false past
 * the probe budget or with no free slot (the index is then unusable). */
static inline bool cm_fidx_insert(struct cm_ftable *t, u32 g, u32 i,
				  u32 budget)
{
	struct cm_fidx *x = &t->ix;
	u32 v[CM_FIDX_WORDS], h, s, free, p;

	cm_fidx_value(&t->flows[i], v);
	h = cm_fidx_vhash(x, g, v);
	s = cm_fidx_find(t, g, h, v, &free, budget);
	if (s == CM_FIDX_NONE) {
		if (free == CM_FIDX_NONE)
			return false;
		x->slots[free].hash = h;
		x->slots[free].ent = g << CM_FIDX_ENT_BITS | i;
		x->next[i] = CM_FIDX_NONE;
		x->used++;
		return true;
	}
	p = x->slots[s].ent & CM_FIDX_ENT_MASK;
	if (cm_fidx_before(t, i, p)) {
		x->next[i] = p;
		x->slots[s].ent = g << CM_FIDX_ENT_BITS | i;
		return true;
	}
	while (x->next[p] != CM_FIDX_NONE && cm_fidx_before(t, x->next[p], i)) {
		if (++x->probes > budget)
			return false;
		p = x->next[p];
	}
	x->next[i] = x->next[p];
	x->next[p] = i;
	return true;
}

/* Free slot @s, moving back the entries after it that may not sit past
 * a free slot (linear probing: no tombstones). */
static inline void cm_fidx_unslot(struct cm_fidx *x, u32 s)
{
	u32 smask = (1u << x->shift) - 1, j = s, k, n;

	for (n = 0; n < smask; n++) {
		j = (j + 1) & smask;
		if (x->slots[j].ent == CM_FIDX_NONE)
			break;
		k = cm_fidx_home(x, x->slots[j].hash);
		/* can the entry at j move to s: is s in [k, j) cyclically? */
		if ((j > s && (k <= s || k > j)) || (j < s && k <= s && k > j)) {
			x->slots[s] = x->slots[j];
			s = j;
		}
	}
	x->slots[s].ent = CM_FIDX_NONE;
	x->used--;
}

/* Entry @i out of group @g's value table, or renamed @to (it moved in
 * the array; CM_FIDX_NONE: removed). Return: false if not found. */
static inline bool cm_fidx_unlink(struct cm_ftable *t, u32 g, u32 i, u32 to)
{
	struct cm_fidx *x = &t->ix;
	u32 v[CM_FIDX_WORDS], h, s, free, p, n;

	cm_fidx_value(&t->flows[i], v);
	h = cm_fidx_vhash(x, g, v);
	s = cm_fidx_find(t, g, h, v, &free, x->probes + CM_FIDX_OP_PROBES);
	if (s == CM_FIDX_NONE)
		return false;
	p = x->slots[s].ent & CM_FIDX_ENT_MASK;
	if (p == i) {
		if (to != CM_FIDX_NONE)
			x->slots[s].ent = g << CM_FIDX_ENT_BITS | to;
		else if (x->next[i] != CM_FIDX_NONE)
			x->slots[s].ent = g << CM_FIDX_ENT_BITS | x->next[i];
		else
			cm_fidx_unslot(x, s);
	} else {
		for (n = 0; x->next[p] != i; n++) {
			if (x->next[p] == CM_FIDX_NONE || n > t->cap)
				return false;
			p = x->next[p];
		}
		x->next[p] = to != CM_FIDX_NONE ? to : x->next[i];
	}
	if (to != CM_FIDX_NONE)
		x->next[to] = x->next[i];
	return true;
}

/* Where entry @i goes in the linear list (rank order), or is. */
static inline u32 cm_fidx_lin_pos(const struct cm_ftable *t, u32 i)
{
	const struct cm_fidx *x = &t->ix;
	u32 lo = 0, hi = x->nlinear, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cm_fidx_before(t, x->linear[mid], i))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Sift p[i] down the max-heap p[0..n) of entry indices (rank order). */
static inline void cm_fidx_sift(const struct cm_ftable *t, u32 *p, u32 i, u32 n)
{
	u32 top = p[i], c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && cm_fidx_before(t, p[c], p[c + 1]))
			c++;
		if (!cm_fidx_before(t, top, p[c]))
			break;
		p[i] = p[c];
		i = c;
	}
	p[i] = top;
}

/* Sift k[i] down the max-heap k[0..n). */
static inline void cm_fidx_sift64(u64 *k, u32 i, u32 n)
{
	u64 top = k[i];
	u32 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && k[c] < k[c + 1])
			c++;
		if (top >= k[c])
			break;
		k[i] = k[c];
		i = c;
	}
	k[i] = top;
}

#define CM_FIDX_KEY_ID_BITS	20	/* ids a sort key holds */

/*
 * The linear list (@n entries, in place) in rank order, O(n) when it
 * already is. Else a heapsort of keys (priority, flow id, position) in
 * @scratch, room for @n u64 (the value table before it is built): the
 * entries themselves are 128 bytes apart, comparing them would miss the
 * cache twice per compare; with a flow id too large for a key, of them.
 */
static inline void cm_fidx_sort_linear(struct cm_ftable *t, u64 *scratch)
{
	u32 *p = t->ix.linear, n = t->ix.nlinear, i, k, id;

	for (i = 1; i < n; i++)
		if (!cm_fidx_before(t, p[i - 1], p[i]))
			break;
	if (i >= n)
		return;
	for (i = 0; i < n && scratch; i++) {
		id = le32_to_cpu(t->flows[p[i]].flow_id);
		if (id >> CM_FIDX_KEY_ID_BITS)
			break;
		scratch[i] = (u64)le16_to_cpu(t->flows[p[i]].priority) << 44 |
			     (u64)id << CM_FIDX_ENT_BITS | p[i];
	}
	if (scratch && i == n) {
		for (i = n / 2; i-- > 0;)
			cm_fidx_sift64(scratch, i, n);
		for (i = n; i-- > 1;) {
			u64 top = scratch[0];

			scratch[0] = scratch[i];
			scratch[i] = top;
			cm_fidx_sift64(scratch, 0, i);
		}
		for (i = 0; i < n; i++)
			p[i] = (u32)(scratch[i] & CM_FIDX_ENT_MASK);
		return;
	}
	for (i = n / 2; i-- > 0;)
		cm_fidx_sift(t, p, i, n);
	for (i = n; i-- > 1;) {
		k = p[0];
		p[0] = p[i];
		p[i] = k;
		cm_fidx_sift(t, p, 0, i);
	}
}

/* Move group @g to its place in @order by its min (it just went down). */
static inline void cm_fidx_order_up(struct cm_fidx *x, u32 g)
{
	u32 o;

	for (o = 0; o < x->ngroups && x->order[o] != g; o++)
		;
	for (; o > 0 && x->groups[x->order[o - 1]].min > x->groups[g].min; o--)
		x->order[o] = x->order[o - 1];
	x->order[o] = (u8)g;
}

/* @byid from the entries: false if an id is >= cap or taken twice. */
static inline bool cm_ftable_byid(struct cm_ftable *t)
{
	u32 i, id;

	t->byid_ok = false;
	memset(t->byid, 0xff, t->cap * sizeof(*t->byid));
	for (i = 0; i < t->nflows; i++) {
		id = le32_to_cpu(t->flows[i].flow_id);
		if (id >= t->cap || t->byid[id] != CM_FIDX_NONE)
			return false;
		t->byid[id] = i;
	}
	t->byid_ok = true;
	return true;
}

/*
 * cm_ftable_index - build @t's lookup index from its entries
 *
 * Called on a private table once its entries are final: by
 * cm_ftable_snapshot() on every table a node takes, and by whoever else
 * looks up in a table it compiled or copied. O(nflows), no allocation:
 * the index lives in @t's own arrays. The hash is keyed per table and
 * the build's probes are bounded (CM_FIDX_PROBES()). The value table is
 * sized with room for a quarter more entries, which cm_ftable_set() may
 * add before the next build. Also builds @byid (t->byid_ok says if the
 * ids allowed it).
 *
 * Return: 0, or -EPROTO when the entries crowd so few slots that the
 * budget ran out (no index: lookups in @t would scan).
 */
static inline int cm_ftable_index(struct cm_ftable *t)
{
	struct cm_fidx *x = &t->ix;
	u32 v[CM_FIDX_WORDS], m[CM_FIDX_WORDS], pm[CM_FIDX_WORDS];
	u32 *kind = x->linear;	/* per entry while building, then the list */
	u32 *aux = x->aux;
	u32 n = t->nflows < t->cap ? t->nflows : t->cap;
	u32 room = n + n / 4 + 64 < t->cap ? n + n / 4 + 64 : t->cap;
	u32 i, j, g, ng = 0, nl = 0, run = CM_FIDX_NONE;
	u32 budget = CM_FIDX_PROBES(n);
	u32 first[CM_FIDX_GROUPS];
	bool sorted = true;
	u64 prank = 0;

	x->owner = NULL;
	x->probes = 0;
	x->used = 0;
	x->shift = cm_fidx_shift(room);
	t->byid_ok = true;
	memset(t->byid, 0xff, t->cap * sizeof(*t->byid));

	/* 1: the distinct masks, each known by its first entry f (kind[i]
	 * of its entries), with its number of entries in aux[f]; on the way
	 * (one pass over the entries, the cost of a big table) @byid and
	 * whether the entries are in table order */
	memset(x->slots, 0xff, sizeof(*x->slots) << x->shift);
	for (i = 0; i < n; i++) {
		u32 id = le32_to_cpu(t->flows[i].flow_id);
		u64 r = cm_flow_rank(&t->flows[i]);

		if (id >= t->cap || t->byid[id] != CM_FIDX_NONE)
			t->byid_ok = false;
		else
			t->byid[id] = i;
		if (r < prank)
			sorted = false;
		prank = r;
		if (!cm_fidx_flow(&t->flows[i], v, m)) {
			kind[i] = CM_FIDX_NONE;	/* matches nothing */
			continue;
		}
		/* neighbours often share their mask: no hashing then */
		if (run == CM_FIDX_NONE || !cm_fidx_same(m, pm)) {
			u32 h = cm_fidx_hash(x->mul, m, m, CM_FIDX_MASK_SALT);
			u32 s = cm_fidx_mask_slot(t, m, h, budget);

			if (s == CM_FIDX_NONE)
				return -EPROTO;

			if (x->slots[s].ent == CM_FIDX_NONE) {
				x->slots[s].hash = h;
				x->slots[s].ent = i;
				aux[i] = 0;
			}
			run = x->slots[s].ent;
			memcpy(pm, m, sizeof(pm));
		}
		aux[run]++;
		kind[i] = run;
	}

	/* 2: the largest masks get a hash group; aux[f] becomes the mask's
	 * group (below), or CM_FIDX_LIN: scanned */
	for (i = 0; i < n; i++) {
		u32 size;

		if (kind[i] != i)
			continue;
		size = aux[i];
		aux[i] = CM_FIDX_LIN;
		if (size < CM_FIDX_MIN_GROUP)
			continue;
		if (ng == CM_FIDX_GROUPS && size <= x->groups[ng - 1].size)
			continue;
		g = ng < CM_FIDX_GROUPS ? ng++ : ng - 1;
		for (; g > 0 && x->groups[g - 1].size < size; g--) {
			x->groups[g] = x->groups[g - 1];
			first[g] = first[g - 1];
		}
		first[g] = i;
		x->groups[g].size = size;
	}
	for (g = 0; g < CM_FIDX_GROUPS; g++) {
		u32 *gm = x->groups[g].mask;

		x->groups[g].min = ~0ull;
		if (g >= ng) {
			x->groups[g].size = 0;
			continue;
		}
		cm_fidx_flow(&t->flows[first[g]], v, gm);
		x->groups[g].narrow = !(gm[3] | gm[4] | gm[5] | gm[7] | gm[8] | gm[9]);
		aux[first[g]] = g;
	}

	/* 3: aux[i] becomes entry i's group (aux[f] of its mask's first
	 * entry f <= i already is); then kind[] is free */
	for (i = 0; i < n; i++)
		aux[i] = kind[i] == CM_FIDX_NONE ? CM_FIDX_NONE : aux[kind[i]];

	/* 4: the entries in rank order in linear[] (they are, unless edited
	 * since); the values of each group inserted from the last, so that
	 * each goes first in the list of its value, O(1); then the rest,
	 * in rank order, into the linear list (nl <= j) */
	for (i = 0; i < n; i++)
		x->linear[i] = i;
	x->nlinear = n;
	/* the slots have room for 2 n keys, free until the values go in */
	if (!sorted)
		cm_fidx_sort_linear(t, (u64 *)x->slots);
	memset(x->slots, 0xff, sizeof(*x->slots) << x->shift);
	for (j = n; j-- > 0;) {
		i = x->linear[j];
		g = aux[i];
		if (g == CM_FIDX_NONE || g == CM_FIDX_LIN)
			continue;
		if (!cm_fidx_insert(t, g, i, budget))
			return -EPROTO;
		/* the last inserted ranks lowest */
		x->groups[g].min = cm_flow_rank(&t->flows[i]);
	}
	for (j = 0; j < n; j++) {
		i = x->linear[j];
		if (aux[i] == CM_FIDX_LIN)
			x->linear[nl++] = i;
	}
	x->nlinear = nl;
	/* groups by the lowest rank they hold, for the lookup's early exit */
	x->ngroups = 0;
	for (g = 0; g < ng; g++) {
		x->order[x->ngroups++] = (u8)g;
		cm_fidx_order_up(x, g);
	}
	x->nflows = n;
	x->owner = t;
	return 0;
}

/* Is @t's index current, to be kept by an edit? */
static inline bool cm_fidx_current(const struct cm_ftable *t)
{
	return t->ix.owner == t && t->ix.nflows == t->nflows;
}

/* Entry @i into the index. Return: false when it has to be rebuilt
 * (the value table is half full, or an op's probe budget ran out). */
static inline bool cm_fidx_place(struct cm_ftable *t, u32 i)
{
	struct cm_fidx *x = &t->ix;
	u32 v[CM_FIDX_WORDS], m[CM_FIDX_WORDS], g, o, p;
	u64 r = cm_flow_rank(&t->flows[i]);

	if (!cm_fidx_flow(&t->flows[i], v, m)) {
		x->aux[i] = CM_FIDX_NONE;
		return true;
	}
	for (o = 0; o < x->ngroups; o++)
		if (cm_fidx_same(m, x->groups[x->order[o]].mask))
			break;
	if (o == x->ngroups && x->ngroups == CM_FIDX_GROUPS) {
		/* no group left: the linear list, kept in rank order */
		p = cm_fidx_lin_pos(t, i);
		memmove(&x->linear[p + 1], &x->linear[p],
			(x->nlinear - p) * sizeof(x->linear[0]));
		x->linear[p] = i;
		x->nlinear++;
		x->aux[i] = CM_FIDX_LIN;
		return true;
	}
	if (2 * (x->used + 1) > 1u << x->shift)
		return false;
	if (o < x->ngroups) {
		g = x->order[o];
	} else {
		for (g = 0; x->groups[g].size; g++)
			;	/* ngroups < CM_FIDX_GROUPS: one is free */
		memcpy(x->groups[g].mask, m, sizeof(m));
		x->groups[g].narrow = !(m[3] | m[4] | m[5] | m[7] | m[8] | m[9]);
		x->groups[g].min = ~0ull;
		x->order[x->ngroups++] = (u8)g;
	}
	x->probes = 0;
	if (!cm_fidx_insert(t, g, i, CM_FIDX_OP_PROBES))
		return false;
	x->groups[g].size++;
	x->aux[i] = g;
	if (r < x->groups[g].min) {
		x->groups[g].min = r;
		cm_fidx_order_up(x, g);
	}
	return true;
}

/* Entry @i out of the index, or renamed @to. Return: false if the index
 * does not hold it where it says (then it has to be rebuilt). */
static inline bool cm_fidx_unplace(struct cm_ftable *t, u32 i, u32 to)
{
	struct cm_fidx *x = &t->ix;
	u32 g = x->aux[i], p, o;

	if (g == CM_FIDX_NONE)
		goto out;
	if (g == CM_FIDX_LIN) {
		p = cm_fidx_lin_pos(t, i);
		if (p >= x->nlinear || x->linear[p] != i)
			return false;
		if (to != CM_FIDX_NONE) {
			x->linear[p] = to;
			goto out;
		}
		memmove(&x->linear[p], &x->linear[p + 1],
			(x->nlinear - p - 1) * sizeof(x->linear[0]));
		x->nlinear--;
		goto out;
	}
	if (g >= CM_FIDX_GROUPS || !x->groups[g].size)
		return false;
	x->probes = 0;
	if (!cm_fidx_unlink(t, g, i, to))
		return false;
	if (to == CM_FIDX_NONE && !--x->groups[g].size) {
		for (o = 0; o < x->ngroups && x->order[o] != g; o++)
			;
		for (; o + 1 < x->ngroups; o++)
			x->order[o] = x->order[o + 1];
		x->ngroups--;
	}
out:
	if (to != CM_FIDX_NONE)
		x->aux[to] = g;
	return true;
}

/*
 * cm_ftable_set - add flow @f to @t, or replace the entry of its flow id
 *
 * @f validated by the caller. O(1) expected, the index kept current if it
 * was (else, or when it has to grow, left for cm_ftable_index(): lookups
 * scan meanwhile). Return: 0, or -EINVAL when @t has no usable @byid or
 * @f's id is not below its cap.
 */
static inline int cm_ftable_set(struct cm_ftable *t,
				const struct chainmesh_flow *f)
{
	u32 id = le32_to_cpu(f->flow_id), e;
	bool keep = cm_fidx_current(t);

	if (!t->byid_ok || id >= t->cap)
		return -EINVAL;
	e = t->byid[id];
	if (e != CM_FIDX_NONE) {
		if (keep && !cm_fidx_unplace(t, e, CM_FIDX_NONE))
			keep = false;
	} else {
		if (t->nflows >= t->cap)	/* ids unique and < cap */
			return -EINVAL;
		e = t->nflows++;
		t->byid[id] = e;
	}
	t->flows[e] = *f;
	t->sorted = false;
	if (keep && cm_fidx_place(t, e)) {
		t->ix.nflows = t->nflows;
	} else {
		t->ix.owner = NULL;
	}
	return 0;
}

/*
 * cm_ftable_del - remove the entry of flow id @id from @t, if it has one
 *
 * The last entry takes its place. O(1) expected, the index kept as by
 * cm_ftable_set(). Return: 0, 1 when @t has no such flow, -EINVAL as
 * cm_ftable_set().
 */
static inline int cm_ftable_del(struct cm_ftable *t, u32 id)
{
	bool keep = cm_fidx_current(t);
	u32 e, last;

	if (!t->byid_ok || id >= t->cap)
		return -EINVAL;
	e = t->byid[id];
	if (e == CM_FIDX_NONE)
		return 1;
	last = t->nflows - 1;
	if (keep && !cm_fidx_unplace(t, e, CM_FIDX_NONE))
		keep = false;
	if (e != last) {
		if (keep && !cm_fidx_unplace(t, last, e))
			keep = false;
		t->flows[e] = t->flows[last];
		t->byid[le32_to_cpu(t->flows[e].flow_id)] = e;
	}
	t->byid[id] = CM_FIDX_NONE;
	t->nflows = last;
	t->sorted = false;
	if (keep)
		t->ix.nflows = last;
	else
		t->ix.owner = NULL;
	return 0;
}

/* The best match so far: entry @f of rank @rank, CM_FIDX_NONE none. */
struct cm_fidx_best {
	u64 rank;
	u32 f;
};

static __always_inline void cm_fidx_better(const struct cm_ftable *t, u32 f,
					   struct cm_fidx_best *b)
{
	u64 r = cm_flow_rank(&t->flows[f]);

	if (r < b->rank || (r == b->rank && f < b->f)) {
		b->rank = r;
		b->f = f;
	}
}

/* Group @g's entry for the key (words @w), into @b if it beats it; the
 * table has @smask + 1 slots, 32 - @hshift bits of hash pick one. */
static __always_inline void cm_fidx_probe(const struct cm_ftable *t,
					  const u32 w[CM_FIDX_WORDS], u32 g,
					  struct cm_fidx_best *b, bool narrow,
					  u32 hshift, u32 smask)
{
	const struct cm_fidx *x = &t->ix;
	const u32 *m = x->groups[g].mask;
	u32 tag = g << CM_FIDX_ENT_BITS;
	u32 h, s, probes;

	h = narrow ? cm_fidx_hash4(x->mul, w, m, g) :
		     cm_fidx_hash(x->mul, w, m, g);
	s = h >> hshift;
	for (probes = 0; probes <= smask; probes++) {
		const struct cm_fidx_slot *e = &x->slots[s];

		if (e->ent == CM_FIDX_NONE)
			break;
		/* one value per group can match: the first found, whose
		 * slot holds the first of its entries in rank order */
		if (e->hash == h && (e->ent & ~CM_FIDX_ENT_MASK) == tag) {
			u32 f = e->ent & CM_FIDX_ENT_MASK;

			if (f < t->nflows && cm_fidx_hit(w, m, &t->flows[f], narrow)) {
				cm_fidx_better(t, f, b);
				return;
			}
		}
		s = (s + 1) & smask;
	}
}

/*
 * cm_flow_lookup - first match in table order, or NULL
 *
 * Through the index when it is @t's and current, else by scanning. The
 * index is private memory, but its numbers are bounded here all the same.
 */
static inline const struct chainmesh_flow *
cm_flow_lookup(const struct cm_ftable *t, const struct cm_flow_key *k)
{
	const struct cm_fidx *x = &t->ix;
	struct cm_fidx_best b = { ~0ull, CM_FIDX_NONE };
	u32 w[CM_FIDX_WORDS], g, o, ng, i, nl, hshift, smask;

	if (unlikely(x->owner != t || x->nflows != t->nflows))
		return cm_flow_lookup_linear(t, k);
	ng = x->ngroups < CM_FIDX_GROUPS ? x->ngroups : CM_FIDX_GROUPS;
	if (ng)
		cm_fidx_key(k, w);
	hshift = 32 - x->shift;
	smask = (1u << x->shift) - 1;
	for (o = 0; o < ng; o++) {
		g = x->order[o];
		if (g >= CM_FIDX_GROUPS || x->groups[g].min > b.rank)
			break;
		/* constant @narrow: one specialised copy each */
		if (x->groups[g].narrow)
			cm_fidx_probe(t, w, g, &b, true, hshift, smask);
		else
			cm_fidx_probe(t, w, g, &b, false, hshift, smask);
	}
	nl = x->nlinear < t->nflows ? x->nlinear : t->nflows;
	for (i = 0; i < nl; i++) {
		u32 f = x->linear[i];
		u64 r;

		if (f >= t->nflows)
			break;
		r = cm_flow_rank(&t->flows[f]);
		if (r > b.rank || (r == b.rank && f > b.f))
			break;
		if (cm_flow_match(&t->flows[f], k)) {
			b.rank = r;
			b.f = f;
			break;
		}
	}
	return b.f < t->nflows ? &t->flows[b.f] : NULL;
}
static inline struct chainmesh_ftable_hdr *cm_ftable_hdr(void *ft)
{
	return (struct chainmesh_ftable_hdr *)ft;
}

static inline struct chainmesh_fhop *cm_ftable_hops(void *ft)
{
	return (struct chainmesh_fhop *)(cm_ftable_hdr(ft) + 1);
}

static inline struct chainmesh_fgroup *cm_ftable_groups(void *ft)
{
	return (struct chainmesh_fgroup *)(cm_ftable_hops(ft) + CHAINMESH_MAX_CHAINS);
}

static inline struct chainmesh_flow *cm_ftable_flows(void *ft)
{
	return (struct chainmesh_flow *)(cm_ftable_groups(ft) + CHAINMESH_MAX_CHAINS);
}

/* Has the host changed the table since @t was taken? */
static inline bool cm_ftable_changed(void *ft, const struct cm_ftable *t)
{
	return le32_to_cpu(READ_ONCE(cm_ftable_hdr(ft)->seq)) != t->seq;
}

#define CM_FSNAP_CHUNK		512	/* entries copied between two looks at seq */

/*
 * cm_ftable_snapshot_max - copy a node's shared table into @t and validate it
 * @max: entries the caller will copy at most (a bound on its work)
 *
 * Return: 0; -EAGAIN when the host was writing (keep the old table and try
 * again later); -E2BIG when the table has more than @max entries (nothing
 * copied: the caller may build it where it can afford to); -EPROTO when an
 * entry is out of range, or there are more than the layout's max_flows or
 * than @t holds (table refused).
 * On error @t may be partly overwritten: snapshot into a spare table.
 * Cost: a copy of the entries in use and cm_ftable_index(), O(nflows).
 */
static inline int cm_ftable_snapshot_max(void *ft, const struct cm_layout *l,
					 u32 self, struct cm_ftable *t, u32 max)
{
	struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
	u32 s1, s2, i, k, n, pos, gen;

	/* [F2] pairs with [F1] */
	s1 = le32_to_cpu(smp_load_acquire(&h->seq));
	if (s1 & 1)
		return -EAGAIN;
	/* Read once: what is copied below is what was checked here. */
	n = le32_to_cpu(READ_ONCE(h->nflows));
	pos = le32_to_cpu(READ_ONCE(h->log_pos));
	gen = le32_to_cpu(READ_ONCE(h->gen));
	if (n > max && n <= l->p.max_flows && n <= t->cap)
		return -E2BIG;
	t->ix.owner = NULL;	/* the entries change under it */
	if (n > l->p.max_flows || n > t->cap) {
		n = ~0u;	/* refuse below, once seq proves it untorn */
	} else {
		memcpy(t->hops, cm_ftable_hops(ft), sizeof(t->hops));
		memcpy(t->groups, cm_ftable_groups(ft), sizeof(t->groups));
		/* In chunks, giving up once the host writes again: a big table
		 * the host keeps rewriting would otherwise be copied whole for
		 * nothing, again and again. Only the check below is [F2]. */
		for (i = 0; i < n; i += k) {
			k = n - i < CM_FSNAP_CHUNK ? n - i : CM_FSNAP_CHUNK;
			memcpy(t->flows + i, cm_ftable_flows(ft) + i,
			       k * sizeof(struct chainmesh_flow));
			if (le32_to_cpu(READ_ONCE(h->seq)) != s1)
				return -EAGAIN;
		}
	}
	smp_rmb();
	s2 = le32_to_cpu(READ_ONCE(h->seq));
	if (s1 != s2)
		return -EAGAIN;
	t->seq = s1;
	t->log_pos = pos;
	t->gen = gen;
	t->nflows = 0;
	t->byid_ok = false;
	if (n == ~0u)
		return -EPROTO;

	/* The copy is private now: validate it once. */
	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		struct chainmesh_fhop *hp = &t->hops[i];

		if (!(hp->flags & CHAINMESH_H_VALID))
			continue;
		if (hp->flags & CHAINMESH_H_GROUP) {
			/* the group picks the next node: it alone is read */
			if ((hp->flags & CHAINMESH_H_LAST) ||
			    hp->next != CHAINMESH_NODE_NONE ||
			    !cm_fgroup_valid(&t->groups[i], l->p.nodes, self))
				return -EPROTO;
			continue;
		}
		if (hp->next != CHAINMESH_NODE_NONE &&
		    (hp->next >= l->p.nodes || hp->next == self))
			return -EPROTO;
		if (hp->next == CHAINMESH_NODE_NONE && !(hp->flags & CHAINMESH_H_LAST))
			return -EPROTO;
	}
	/* flow ids index the per-flow counters: max_flows of them */
	t->sorted = true;
	for (i = 0; i < n; i++) {
		struct chainmesh_flow *f = &t->flows[i];

		if (le32_to_cpu(f->flow_id) >= l->p.max_flows ||
		    le16_to_cpu(f->chain) >= CHAINMESH_MAX_CHAINS)
			return -EPROTO;
		if (i && cm_flow_rank(f) < cm_flow_rank(f - 1))
			t->sorted = false;
	}
	t->nflows = n;
	/* From the validated private copy only; bounded whatever it holds. */
	return cm_ftable_index(t);
}

static inline int cm_ftable_snapshot(void *ft, const struct cm_layout *l,
				     u32 self, struct cm_ftable *t)
{
	return cm_ftable_snapshot_max(ft, l, self, t, l->p.max_flows);
}

/*
 * cm_ftable_checkpoint - host side: write @t into shared memory as the
 * checkpoint of the node's flow log at @log_pos (@t holds every increment
 * below it); @newgen: the table changed in a way the log does not carry
 * (hops, a recompile), its node must take it whatever its log position.
 */
static inline void cm_ftable_checkpoint(void *ft, const struct cm_ftable *t,
					u32 log_pos, bool newgen)
{
	struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
	u32 seq = le32_to_cpu(READ_ONCE(h->seq));
	u32 gen = le32_to_cpu(READ_ONCE(h->gen));

	if (seq & 1)		/* a write that never finished: close it */
		seq++;
	/* [F1] pairs with [F2] */
	WRITE_ONCE(h->seq, cpu_to_le32(seq + 1));
	smp_wmb();
	memcpy(cm_ftable_hops(ft), t->hops, sizeof(t->hops));
	memcpy(cm_ftable_groups(ft), t->groups, sizeof(t->groups));
	memcpy(cm_ftable_flows(ft), t->flows,
	       t->nflows * sizeof(struct chainmesh_flow));
	WRITE_ONCE(h->nflows, cpu_to_le32(t->nflows));
	WRITE_ONCE(h->log_pos, cpu_to_le32(log_pos));
	WRITE_ONCE(h->gen, cpu_to_le32(gen + newgen));
	smp_wmb();
	WRITE_ONCE(h->seq, cpu_to_le32(seq + 2));
}

/* Host side: write a compiled table into shared memory, a new generation
 * (its node takes it whole), the log position unchanged. */
static inline void cm_ftable_publish(void *ft, const struct cm_ftable *t)
{
	u32 pos = le32_to_cpu(READ_ONCE(cm_ftable_hdr(ft)->log_pos));

	cm_ftable_checkpoint(ft, t, pos, true);
}

/*
 * cm_ftable_same - host side: does the shared table already hold @t?
 *
 * Then publishing it again would only make its node copy and index the
 * same table again, O(nflows) for nothing. Only the host writes a table,
 * so this compares with what it published, unless a peer scribbled on
 * it, and then the two differ and the table is published again.
 */
static inline bool cm_ftable_same(void *ft, const struct cm_ftable *t)
{
	struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
	u32 seq = le32_to_cpu(READ_ONCE(h->seq));

	if (!seq || (seq & 1) || le32_to_cpu(READ_ONCE(h->nflows)) != t->nflows)
		return false;
	return !memcmp(cm_ftable_hops(ft), t->hops, sizeof(t->hops)) &&
	       !memcmp(cm_ftable_groups(ft), t->groups, sizeof(t->groups)) &&
	       !memcmp(cm_ftable_flows(ft), t->flows,
		       t->nflows * sizeof(struct chainmesh_flow));
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

/* Table order: priority, then flow id (unique in a logical table). */
static inline bool cm_flow_before(const struct chainmesh_flow *a,
				  const struct chainmesh_flow *b)
{
	u16 pa = le16_to_cpu(a->priority), pb = le16_to_cpu(b->priority);

	if (pa != pb)
		return pa < pb;
	return le32_to_cpu(a->flow_id) < le32_to_cpu(b->flow_id);
}

/* Entry @a before @b in table order, equal ones by position: stable. */
static inline bool cm_fsort_before(const struct chainmesh_flow *f, u32 a, u32 b)
{
	if (cm_flow_before(&f[a], &f[b]))
		return true;
	return a < b && !cm_flow_before(&f[b], &f[a]);
}

/* Sift p[i] down the max-heap p[0..n) of entry indices. */
static inline void cm_fsort_sift(const struct chainmesh_flow *f, u32 *p,
				 u32 i, u32 n)
{
	u32 top = p[i], c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && cm_fsort_before(f, p[c], p[c + 1]))
			c++;
		if (!cm_fsort_before(f, top, p[c]))
			break;
		p[i] = p[c];
		i = c;
	}
	p[i] = top;
}

/*
 * cm_ftable_sort - put @t's n entries in table order
 *
 * Heapsort of their indices in @t->ix.linear (O(n log n), no allocation,
 * no recursion), then each entry moved once, cycle by cycle. Invalidates
 * the index.
 */
static inline void cm_ftable_sort(struct cm_ftable *t, u32 n)
{
	struct chainmesh_flow *f = t->flows, tmp;
	u32 *p = t->ix.linear, i, j, k;

	t->ix.owner = NULL;
	for (i = 0; i < n; i++)
		p[i] = i;
	for (i = n / 2; i-- > 0;)
		cm_fsort_sift(f, p, i, n);
	for (i = n; i-- > 1;) {
		k = p[0];
		p[0] = p[i];
		p[i] = k;
		cm_fsort_sift(f, p, 0, i);
	}
	/* entry j takes f[p[j]]; p[j] = j once it has */
	for (i = 0; i < n; i++) {
		if (p[i] == i)
			continue;
		tmp = f[i];
		for (j = i; p[j] != i; j = k) {
			k = p[j];
			f[j] = f[k];
			p[j] = j;
		}
		f[j] = tmp;
		p[j] = j;
	}
}

/*
 * cm_ftable_compile - node @node's table from the logical table
 * @flows: @nflows logical flows; in table order (priority, then flow id)
 *	   the compiler only filters them, O(nflows); in any other order it
 *	   also sorts, O(nflows log nflows)
 * @chains: CHAINMESH_MAX_CHAINS chains, indexed by id
 * @t: holds at least @max_flows entries (its cap)
 *
 * A node's table holds what it does for every chain it is on (its hop and
 * the next node) and the flows whose chain it is on, sorted by priority,
 * then flow id, so that the first match wins. @t is left unindexed: call
 * cm_ftable_index() to look up in it (nodes index what they snapshot).
 * Return: number of flows in @t, or -E2BIG beyond @max_flows (or @t's cap).
 */
static inline int cm_ftable_compile(const struct chainmesh_flow *flows, u32 nflows,
				    const struct cm_chain *chains, u32 node,
				    u32 max_flows, struct cm_ftable *t)
{
	u32 i, n = 0, lim = max_flows < t->cap ? max_flows : t->cap;
	bool sorted = true;

	t->ix.owner = NULL;
	t->byid_ok = false;
	t->nflows = 0;
	memset(t->hops, 0, sizeof(t->hops));
	memset(t->groups, 0, sizeof(t->groups));
	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		const struct cm_chain *c = &chains[i];
		u32 end;
		int pos;

		if (!c->used)
			continue;
		pos = cm_chain_pos(c, node);
		if (pos < 0)
			continue;
		/* a replica is at its group's hop; its next is the hop after */
		end = cm_chain_hop_end(c, pos);
		t->hops[i].flags = CHAINMESH_H_VALID;
		t->hops[i].hop = (u8)cm_chain_hop_index(c, pos);
		if (end >= c->nhops) {
			t->hops[i].flags |= CHAINMESH_H_LAST;
			t->hops[i].next = CHAINMESH_NODE_NONE;
		} else if (cm_chain_cont(c, end + 1)) {
			t->hops[i].flags |= CHAINMESH_H_GROUP;
			t->hops[i].next = CHAINMESH_NODE_NONE;
			cm_chain_fill_group(c, end, cm_chain_hop_end(c, end),
					    &t->groups[i]);
		} else {
			t->hops[i].next = c->hops[end];
		}
	}

	for (i = 0; i < nflows; i++) {
		const struct chainmesh_flow *f = &flows[i];
		u16 chain = le16_to_cpu(f->chain);

		if (chain >= CHAINMESH_MAX_CHAINS ||
		    !(t->hops[chain].flags & CHAINMESH_H_VALID))
			continue;
		if (n == lim)
			return -E2BIG;
		if (n && sorted && cm_flow_before(f, &t->flows[n - 1]))
			sorted = false;
		t->flows[n++] = *f;
	}
	if (!sorted)
		cm_ftable_sort(t, n);
	t->nflows = n;
	t->sorted = true;
	t->byid_ok = false;
	return (int)n;
}

/*
 * cm_chains_fit - would every node's table hold its flows?
 * @per_chain: CHAINMESH_MAX_CHAINS counts, the flows of each chain
 *
 * A node's table holds the flows of the chains it is on: what
 * cm_ftable_compile() would say for each of the @nodes nodes, without
 * compiling, O(chains * hops). The failure policy only takes flows away
 * (cm_ftable_compile_live()), so what fits here fits alive too.
 * Return: 0, or -E2BIG when some node would get more than @max_flows.
 */
static inline int cm_chains_fit(const struct cm_chain *chains,
				const u32 *per_chain, u32 nodes, u32 max_flows)
{
	u32 use[CHAINMESH_MAX_NODES], c, j;

	memset(use, 0, sizeof(use));
	for (c = 0; c < CHAINMESH_MAX_CHAINS; c++) {
		const struct cm_chain *ch = &chains[c];
		u32 nh = ch->nhops < CHAINMESH_MAX_NODES ? ch->nhops : CHAINMESH_MAX_NODES;
		u64 seen = 0;

		if (!ch->used || !per_chain[c])
			continue;
		for (j = 0; j < nh; j++) {
			u32 node = ch->hops[j];

			/* a node counts a chain once (cm_chain_pos()) */
			if (node >= nodes || node >= CHAINMESH_MAX_NODES ||
			    (seen >> node & 1))
				continue;
			seen |= 1ull << node;
			if (per_chain[c] > max_flows - use[node])
				return -E2BIG;
			use[node] += per_chain[c];
		}
	}
	return 0;
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

/*
 * Failure policy. @up has bit n set for every node that is alive (node 0,
 * the host, always). The nodes get their tables compiled from the
 * effective chains: a bypass chain without its dead hops (a group is dead
 * when no member is live); on a drop or failover chain, a node whose next
 * hop is dead (a group: no member both live and up) ends the chain and
 * drops (CHAINMESH_H_LAST | CHAINMESH_H_DROP). Under failover and bypass
 * a group's dead members are out of its live set (group.h).
 */
/* cm_chains_effective - @chains (CHAINMESH_MAX_CHAINS) as the nodes get
 * them while the nodes in @up are alive, into @eff */
static inline void cm_chains_effective(const struct cm_chain *chains, u64 up,
				       struct cm_chain *eff)
{
	u32 i, j;

	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		const struct cm_chain *c = &chains[i];
		struct cm_chain *e = &eff[i];

		u32 end, k;

		*e = *c;
		if (!c->used)
			continue;
		if (c->policy == CHAINMESH_POLICY_DROP) {
			e->gout = 0;
			continue;
		}
		/* the live set of each group, dead members out */
		e->gout = 0;
		for (j = 0; j < c->nhops; j = end) {
			end = cm_chain_hop_end(c, j);
			if (end - j > 1)
				e->gout |= cm_pos_mask(j, end) &
					   ~cm_group_live_pos(c, j, end, up);
		}
		if (c->policy != CHAINMESH_POLICY_BYPASS)
			continue;
		/* bypass: without the hops that have no live node */
		e->nhops = 0;
		e->grp = 0;
		e->gout = 0;
		for (j = 0; j < c->nhops; j = end) {
			u32 first = e->nhops;
			u64 live;

			end = cm_chain_hop_end(c, j);
			live = cm_group_live_pos(c, j, end, up);
			if (!live)
				continue;
			for (k = j; k < end; k++) {
				if (end - j > 1 && !(live >> k & 1))
					e->gout |= 1ull << e->nhops;
				if (e->nhops > first)
					e->grp |= 1ull << e->nhops;
				e->hops[e->nhops++] = c->hops[k];
			}
		}
	}
}

/*
 * cm_ftable_compile_live - node @node's table with the failure policies
 * applied: cm_ftable_compile() of the effective chains @eff (from
 * cm_chains_effective() with the same @up), then drop chains cut short
 * before their first dead hop.
 * Return: as cm_ftable_compile().
 */
static inline int cm_ftable_compile_live(const struct chainmesh_flow *flows,
					 u32 nflows, const struct cm_chain *eff,
					 u64 up, u32 node, u32 max_flows,
					 struct cm_ftable *t)
{
	int ret = cm_ftable_compile(flows, nflows, eff, node, max_flows, t);
	u32 i;

	if (ret < 0)
		return ret;
	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		struct chainmesh_fhop *h = &t->hops[i];
		struct chainmesh_fgroup *g = &t->groups[i];

		if (!eff[i].used || eff[i].policy == CHAINMESH_POLICY_BYPASS ||
		    !(h->flags & CHAINMESH_H_VALID))
			continue;
		if (h->flags & CHAINMESH_H_GROUP) {
			u32 k;

			for (k = 0; k < g->nmembers; k++)
				if ((g->live >> k & 1) &&
				    cm_node_up(up, g->members[k]))
					break;
			if (k < g->nmembers)
				continue;
			memset(g, 0, sizeof(*g));
			h->flags &= ~CHAINMESH_H_GROUP;
		} else if (h->next == CHAINMESH_NODE_NONE ||
			   cm_node_up(up, h->next)) {
			continue;
		}
		h->next = CHAINMESH_NODE_NONE;
		h->flags |= CHAINMESH_H_LAST | CHAINMESH_H_DROP;
	}
	return ret;
}

#endif /* _CHAINMESH_FLOW_H */
