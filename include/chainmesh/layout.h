/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Region layout v4 (CHAINMESH_LAYOUT_VERSION, <linux/chainmesh_region.h>):
 * a pure function of a few parameters. The host computes it to lay the
 * region out; every node recomputes it from the parameters in the header
 * and refuses a header that disagrees, so no offset a peer wrote is ever
 * followed unchecked. The structs themselves are pinned by "abi.h".
 */
#ifndef _CHAINMESH_LAYOUT_H
#define _CHAINMESH_LAYOUT_H

#include "abi.h"
#include "compat.h"

struct cm_layout_params {
	u32 nodes;
	u32 ring_slots;
	u32 buf_size;
	u32 bufs_per_node;
	u32 max_flows;
	u32 queues;		/* lanes; 0 means 1 (callers from before v3) */
};

struct cm_layout {
	struct cm_layout_params p;
	u32 ret_slots;
	u64 node_table_off;
	u64 ftables_off;
	u64 ftable_stride;
	u64 stats_off;
	u64 stats_stride;
	u64 rings_off;
	u64 ring_stride;
	u64 rets_off;
	u64 ret_stride;
	u64 pools_off;
	u64 pool_stride;
	u32 flog_slots;		/* CM_FLOG_SLOTS(max_flows) */
	u64 flogs_off;
	u64 flog_stride;
	u64 size;		/* bytes used, <= region size */
	/* cm_buf_check() without dividing: buf_size == 1 << buf_shift, and
	 * for rel < nodes * pool_stride, rel / pool_stride ==
	 * ((rel >> 12) * pool_recip) >> CM_POOL_RECIP_SHIFT (see below) */
	u32 buf_shift;
	u64 pool_recip;
};

/*
 * Why the reciprocal is exact: pool_stride = d pages with 1 <= d <= 2^20
 * (at most 65536 buffers of 64 KiB) and x = rel >> 12 < 64 d. With
 * m = ceil(2^46 / d) = (2^46 + e) / d, 0 <= e < d, x * m / 2^46 =
 * x / d + x * e / (d * 2^46), and x * e < 2^26 * 2^20 makes the second
 * term smaller than 1 / d, so the floor is floor(x / d); x * m < 2^53.
 * floor(rel / (4096 d)) == floor((rel >> 12) / d) as pool_stride is a
 * multiple of a page.
 */
#define CM_POOL_RECIP_SHIFT	46

/* Defaults: the lab's module parameters, `chainmesh mesh add`. */
#define CM_DEF_NODES		8
#define CM_DEF_RING_SLOTS	256
#define CM_DEF_BUF_SIZE		2048
#define CM_DEF_BUFS_PER_NODE	512
#define CM_DEF_MAX_FLOWS	256

#define CM_MIN_RING_SLOTS	8
#define CM_MAX_RING_SLOTS	32768
#define CM_MIN_BUF_SIZE		1024
#define CM_MAX_BUF_SIZE		65536
#define CM_MAX_BUFS_PER_NODE	65536
#define CM_DEF_QUEUES		1

_Static_assert(CHAINMESH_PAGE_SIZE == 1 << 12 && CHAINMESH_MAX_NODES <= 64 &&
	       (u64)CM_MAX_BUFS_PER_NODE * CM_MAX_BUF_SIZE <= 1ull << 32,
	       "cm_buf_check: the reciprocal's bounds");

/*
 * Entries of a node's flow log (flowlog.h): a 64th of its table (rounded
 * up to a power of two), 64 to 2048. The host rewrites the table (the
 * checkpoint) once per log's worth of increments, so this trades region
 * space against checkpoint copies: at 100 000 flows, 2048 entries (288
 * KiB) cost a 12.8 MB checkpoint every 2048 changes, and a node may fall
 * 2048 increments behind before it has to take the checkpoint.
 */
#define CM_FLOG_MIN_SLOTS	64
#define CM_FLOG_MAX_SLOTS	2048

/*
 * Each node's share of the largest layout the bounds above allow (its flow
 * table and counters, its 2 x 64 rings per queue, its pool, a page of alignment per
 * section): 64 of them stay far below 2^63, so no sum or product in
 * cm_layout_compute() can overflow, whatever a header says.
 */
#define CM_LAYOUT_MAX_PER_NODE						\
	(5ull * CHAINMESH_PAGE_SIZE + sizeof(struct chainmesh_node) +	\
	 sizeof(struct chainmesh_ftable_hdr) +				\
	 CHAINMESH_MAX_CHAINS * sizeof(struct chainmesh_fhop) +		\
	 CHAINMESH_MAX_CHAINS * sizeof(struct chainmesh_fgroup) +	\
	 sizeof(struct chainmesh_node_stats) +				\
	 (u64)CHAINMESH_MAX_FLOWS * (sizeof(struct chainmesh_flow) +	\
				     sizeof(struct chainmesh_flow_stats)) + \
	 (u64)CHAINMESH_MAX_QUEUES * CHAINMESH_MAX_NODES * 2 *		\
	 (sizeof(struct chainmesh_ring_hdr) + CHAINMESH_CACHELINE +	\
	  (u64)CM_MAX_RING_SLOTS * sizeof(struct chainmesh_desc) +	\
	  (u64)CM_MAX_BUFS_PER_NODE * sizeof(__le64)) +			\
	 (u64)CM_MAX_BUFS_PER_NODE * CM_MAX_BUF_SIZE +			\
	 sizeof(struct chainmesh_flog_hdr) +				\
	 (u64)CM_FLOG_MAX_SLOTS * sizeof(struct chainmesh_flog_ent))

_Static_assert(CHAINMESH_MAX_NODES * CM_LAYOUT_MAX_PER_NODE < 1ull << 40,
	       "cm_layout_compute: no overflow");

static inline u64 cm_align(u64 v, u64 a)
{
	return (v + a - 1) & ~(a - 1);
}

static inline u32 cm_pow2_ceil(u32 v)
{
	u32 r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

static inline u64 cm_ftable_bytes(u32 max_flows)
{
	return sizeof(struct chainmesh_ftable_hdr) +
	       CHAINMESH_MAX_CHAINS * sizeof(struct chainmesh_fhop) +
	       CHAINMESH_MAX_CHAINS * sizeof(struct chainmesh_fgroup) +
	       (u64)max_flows * sizeof(struct chainmesh_flow);
}

static inline u32 cm_flog_slots(u32 max_flows)
{
	u32 n = cm_pow2_ceil(max_flows) / 64;

	return n < CM_FLOG_MIN_SLOTS ? CM_FLOG_MIN_SLOTS :
	       n > CM_FLOG_MAX_SLOTS ? CM_FLOG_MAX_SLOTS : n;
}

static inline u64 cm_flog_bytes(u32 slots)
{
	return sizeof(struct chainmesh_flog_hdr) +
	       (u64)slots * sizeof(struct chainmesh_flog_ent);
}

static inline u64 cm_stats_bytes(u32 max_flows)
{
	return sizeof(struct chainmesh_node_stats) +
	       (u64)max_flows * sizeof(struct chainmesh_flow_stats);
}

/*
 * cm_layout_compute - lay out a region of @region_size bytes
 *
 * Return: 0, -EINVAL for a parameter out of range, -E2BIG when the layout
 * does not fit in @region_size.
 */
static inline int cm_layout_compute(const struct cm_layout_params *p,
				    u64 region_size, struct cm_layout *l)
{
	const u64 pg = CHAINMESH_PAGE_SIZE;
	u64 nn, off;
	u32 q;

	if (p->nodes < 2 || p->nodes > CHAINMESH_MAX_NODES)
		return -EINVAL;
	if (!is_power_of_2(p->ring_slots) || p->ring_slots < CM_MIN_RING_SLOTS ||
	    p->ring_slots > CM_MAX_RING_SLOTS)
		return -EINVAL;
	if (!is_power_of_2(p->buf_size) || p->buf_size < CM_MIN_BUF_SIZE ||
	    p->buf_size > CM_MAX_BUF_SIZE)
		return -EINVAL;
	if (p->bufs_per_node < 1 || p->bufs_per_node > CM_MAX_BUFS_PER_NODE)
		return -EINVAL;
	if (p->max_flows < 1 || p->max_flows > CHAINMESH_MAX_FLOWS)
		return -EINVAL;
	q = p->queues ? p->queues : 1;
	/* Every lane a slice of the same size, at least one buffer. */
	if (q > CHAINMESH_MAX_QUEUES || p->bufs_per_node % q)
		return -EINVAL;

	memset(l, 0, sizeof(*l));
	l->p = *p;
	l->p.queues = q;
	l->ret_slots = cm_pow2_ceil(p->bufs_per_node / q);
	nn = (u64)q * p->nodes * p->nodes;

	off = sizeof(struct chainmesh_region_hdr);
	l->node_table_off = off;
	off += CHAINMESH_MAX_NODES * sizeof(struct chainmesh_node);

	l->ftables_off = off = cm_align(off, pg);
	l->ftable_stride = cm_align(cm_ftable_bytes(p->max_flows), pg);
	off += p->nodes * l->ftable_stride;

	l->stats_off = off;
	l->stats_stride = cm_align(cm_stats_bytes(p->max_flows), pg);
	off += p->nodes * l->stats_stride;

	l->rings_off = off;
	l->ring_stride = cm_align(sizeof(struct chainmesh_ring_hdr) +
				  (u64)p->ring_slots * sizeof(struct chainmesh_desc),
				  CHAINMESH_CACHELINE);
	off = cm_align(off + nn * l->ring_stride, pg);

	l->rets_off = off;
	l->ret_stride = cm_align(sizeof(struct chainmesh_ring_hdr) +
				 (u64)l->ret_slots * sizeof(__le64),
				 CHAINMESH_CACHELINE);
	off = cm_align(off + nn * l->ret_stride, pg);

	/* before the pools, which end the layout (cm_buf_check()) */
	l->flog_slots = cm_flog_slots(p->max_flows);
	l->flogs_off = off;
	l->flog_stride = cm_align(cm_flog_bytes(l->flog_slots), pg);
	off += p->nodes * l->flog_stride;

	l->pools_off = off;
	l->pool_stride = cm_align((u64)p->bufs_per_node * p->buf_size, pg);
	off += p->nodes * l->pool_stride;
	while ((1u << l->buf_shift) < p->buf_size)
		l->buf_shift++;
	l->pool_recip = ((1ull << CM_POOL_RECIP_SHIFT) + l->pool_stride / pg - 1) /
			(l->pool_stride / pg);


	l->size = off;
	return off <= region_size ? 0 : -E2BIG;
}

/* Fill a header from a computed layout; magic is left for the caller to
 * store last, with release. */
static inline void cm_layout_to_hdr(const struct cm_layout *l, u64 region_size,
				    u32 mesh_id, u64 epoch,
				    struct chainmesh_region_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->version = cpu_to_le32(CHAINMESH_LAYOUT_VERSION);
	h->region_size = cpu_to_le64(region_size);
	h->nodes = cpu_to_le32(l->p.nodes);
	h->ring_slots = cpu_to_le32(l->p.ring_slots);
	h->ret_slots = cpu_to_le32(l->ret_slots);
	h->buf_size = cpu_to_le32(l->p.buf_size);
	h->bufs_per_node = cpu_to_le32(l->p.bufs_per_node);
	h->max_flows = cpu_to_le32(l->p.max_flows);
	h->mesh_id = cpu_to_le32(mesh_id);
	h->queues = cpu_to_le32(l->p.queues);
	h->node_table_off = cpu_to_le64(l->node_table_off);
	h->ftables_off = cpu_to_le64(l->ftables_off);
	h->ftable_stride = cpu_to_le64(l->ftable_stride);
	h->stats_off = cpu_to_le64(l->stats_off);
	h->stats_stride = cpu_to_le64(l->stats_stride);
	h->rings_off = cpu_to_le64(l->rings_off);
	h->ring_stride = cpu_to_le64(l->ring_stride);
	h->rets_off = cpu_to_le64(l->rets_off);
	h->ret_stride = cpu_to_le64(l->ret_stride);
	h->pools_off = cpu_to_le64(l->pools_off);
	h->pool_stride = cpu_to_le64(l->pool_stride);
	h->host_epoch = cpu_to_le64(epoch);
	h->flogs_off = cpu_to_le64(l->flogs_off);
	h->flog_stride = cpu_to_le64(l->flog_stride);
	h->flog_slots = cpu_to_le32(l->flog_slots);
}

/*
 * cm_layout_from_hdr - validate a header written by the host
 *
 * Reads each field once, recomputes the layout from the parameters and
 * requires every offset to match and the region to fit in @bar_size.
 * Return: 0 or -EPROTO / -EINVAL / -E2BIG.
 */
static inline int cm_layout_from_hdr(const struct chainmesh_region_hdr *h,
				     u64 bar_size, struct cm_layout *l)
{
	struct cm_layout_params p;
	u64 region_size;
	int err;

	if (le32_to_cpu(READ_ONCE(h->version)) != CHAINMESH_LAYOUT_VERSION)
		return -EPROTO;
	region_size = le64_to_cpu(READ_ONCE(h->region_size));
	if (region_size > bar_size)
		return -E2BIG;
	p.nodes = le32_to_cpu(READ_ONCE(h->nodes));
	p.ring_slots = le32_to_cpu(READ_ONCE(h->ring_slots));
	p.buf_size = le32_to_cpu(READ_ONCE(h->buf_size));
	p.bufs_per_node = le32_to_cpu(READ_ONCE(h->bufs_per_node));
	p.max_flows = le32_to_cpu(READ_ONCE(h->max_flows));
	/* 0 is "one" only to cm_layout_compute()'s callers, not in a header */
	p.queues = le32_to_cpu(READ_ONCE(h->queues));
	if (!p.queues)
		return -EINVAL;
	err = cm_layout_compute(&p, region_size, l);
	if (err)
		return err;
	if (le32_to_cpu(READ_ONCE(h->ret_slots)) != l->ret_slots ||
	    le64_to_cpu(READ_ONCE(h->node_table_off)) != l->node_table_off ||
	    le64_to_cpu(READ_ONCE(h->ftables_off)) != l->ftables_off ||
	    le64_to_cpu(READ_ONCE(h->ftable_stride)) != l->ftable_stride ||
	    le64_to_cpu(READ_ONCE(h->stats_off)) != l->stats_off ||
	    le64_to_cpu(READ_ONCE(h->stats_stride)) != l->stats_stride ||
	    le64_to_cpu(READ_ONCE(h->rings_off)) != l->rings_off ||
	    le64_to_cpu(READ_ONCE(h->ring_stride)) != l->ring_stride ||
	    le64_to_cpu(READ_ONCE(h->rets_off)) != l->rets_off ||
	    le64_to_cpu(READ_ONCE(h->ret_stride)) != l->ret_stride ||
	    le64_to_cpu(READ_ONCE(h->pools_off)) != l->pools_off ||
	    le64_to_cpu(READ_ONCE(h->pool_stride)) != l->pool_stride ||
	    le64_to_cpu(READ_ONCE(h->flogs_off)) != l->flogs_off ||
	    le64_to_cpu(READ_ONCE(h->flog_stride)) != l->flog_stride ||
	    le32_to_cpu(READ_ONCE(h->flog_slots)) != l->flog_slots)
		return -EPROTO;
	return 0;
}

/* Section addresses; @base is the mapped region. Indices must have been
 * checked against l->p.nodes by the caller. */
static inline struct chainmesh_node *cm_node(void *base, const struct cm_layout *l,
					     u32 n)
{
	return (struct chainmesh_node *)((u8 *)base + l->node_table_off) + n;
}

static inline void *cm_ftable(void *base, const struct cm_layout *l, u32 n)
{
	return (u8 *)base + l->ftables_off + n * l->ftable_stride;
}

static inline struct chainmesh_flog_hdr *cm_flog(void *base,
						 const struct cm_layout *l,
						 u32 n)
{
	return (struct chainmesh_flog_hdr *)((u8 *)base + l->flogs_off +
					     n * l->flog_stride);
}

static inline struct chainmesh_node_stats *cm_stats(void *base,
						    const struct cm_layout *l,
						    u32 n)
{
	return (struct chainmesh_node_stats *)((u8 *)base + l->stats_off +
					       n * l->stats_stride);
}

static inline struct chainmesh_flow_stats *cm_flow_stats(void *base,
							 const struct cm_layout *l,
							 u32 n)
{
	return (struct chainmesh_flow_stats *)(cm_stats(base, l, n) + 1);
}

/* Ring (from -> to) of queue @q (< l->p.queues). */
static inline void *cm_data_ring_q(void *base, const struct cm_layout *l,
				   u32 from, u32 to, u32 q)
{
	return (u8 *)base + l->rings_off +
	       (((u64)q * l->p.nodes + from) * l->p.nodes + to) * l->ring_stride;
}

static inline void *cm_ret_ring_q(void *base, const struct cm_layout *l,
				  u32 from, u32 to, u32 q)
{
	return (u8 *)base + l->rets_off +
	       (((u64)q * l->p.nodes + from) * l->p.nodes + to) * l->ret_stride;
}

/* Queue 0's, or a lane layout's own (cm_layout_lane()). */
static inline void *cm_data_ring(void *base, const struct cm_layout *l,
				 u32 from, u32 to)
{
	return cm_data_ring_q(base, l, from, to, 0);
}

static inline void *cm_ret_ring(void *base, const struct cm_layout *l,
				u32 from, u32 to)
{
	return cm_ret_ring_q(base, l, from, to, 0);
}

/* Buffers in each node's slice of one lane. */
static inline u32 cm_lane_bufs(const struct cm_layout *l)
{
	return l->p.bufs_per_node / l->p.queues;
}

/*
 * cm_layout_lane - lane @q (< l->p.queues) of a mesh, as a one-queue
 * layout: its rings are queue q's, each node's pool is slice q of the
 * node's pool (cm_lane_bufs() buffers), and @lq->size ends with the last
 * node's slice, so that cm_buf_check() on @lq accepts exactly the buffers
 * of lane q. Everything else (node table, flow tables, stats) is the
 * mesh's. A node runs one struct cm_dp per lane over these; with one
 * queue, lane 0 is the layout itself.
 */
static inline void cm_layout_lane(const struct cm_layout *l, u32 q,
				  struct cm_layout *lq)
{
	u64 nn = (u64)l->p.nodes * l->p.nodes;
	u32 b = cm_lane_bufs(l);

	*lq = *l;
	lq->p.queues = 1;
	lq->p.bufs_per_node = b;
	lq->rings_off = l->rings_off + q * nn * l->ring_stride;
	lq->rets_off = l->rets_off + q * nn * l->ret_stride;
	/* pool_stride (and so pool_recip) stays the node's: cm_buf_check()'s
	 * floor((rel >> 12) / d) is floor(rel / pool_stride) for any rel */
	lq->pools_off = l->pools_off + (u64)q * b * l->p.buf_size;
	lq->size = lq->pools_off + (u64)(l->p.nodes - 1) * l->pool_stride +
		   (u64)b * l->p.buf_size;
}

static inline u64 cm_buf_addr(const struct cm_layout *l, u32 owner, u32 idx)
{
	return l->pools_off + owner * l->pool_stride + (u64)idx * l->p.buf_size;
}

/* The lane of buffer @idx (< bufs_per_node) of a mesh's layout. */
static inline u32 cm_buf_lane(const struct cm_layout *l, u32 idx)
{
	return idx / cm_lane_bufs(l);
}

/* Reasons a peer-written value is refused, counted per reason. */
enum cm_bad {
	CM_BAD_NONE,
	CM_BAD_ADDR,		/* buffer offset outside every pool */
	CM_BAD_ALIGN,		/* buffer offset not on a buffer boundary */
	CM_BAD_OWNER,		/* buffer not owned by whom it must be */
	CM_BAD_LEN,		/* frame does not fit in its buffer */
	CM_BAD_INDEX,		/* ring index moved backwards or past a full ring */
	CM_BAD_CHAIN,		/* chain context names no chain of this node */
	CM_BAD_RETURN,		/* returned buffer was not in flight */
	CM_BAD_FRAME_LEN,	/* a frame of more buffers or bytes than allowed */
	CM_BAD_FRAME_LOOP,	/* a frame names one buffer twice */
	CM_BAD_FRAME_OWNER,	/* a frame's buffers have different owners */
	CM_BAD_FRAME_CUT,	/* a frame's chain runs past the producer's head */
	CM_BAD_OFFLOAD,		/* bad flags or offload header, or an offload
				 * this node did not announce */
	__CM_BAD_MAX
};

/*
 * cm_buf_check - validate a buffer offset read from a peer
 * @owner: set to the node whose pool holds the buffer
 * @idx: set to the buffer's index in that pool
 */
static inline enum cm_bad cm_buf_check(const struct cm_layout *l, u64 addr,
				       u32 *owner, u32 *idx)
{
	u64 rel, in;

	if (addr < l->pools_off || addr >= l->size)
		return CM_BAD_ADDR;
	rel = addr - l->pools_off;
	/* rel / pool_stride and its remainder, by multiplying (see above) */
	*owner = (u32)(((rel >> 12) * l->pool_recip) >> CM_POOL_RECIP_SHIFT);
	in = rel - *owner * l->pool_stride;
	if (*owner >= l->p.nodes)
		return CM_BAD_ADDR;
	if (in & (l->p.buf_size - 1))
		return CM_BAD_ALIGN;
	*idx = (u32)(in >> l->buf_shift);
	if (*idx >= l->p.bufs_per_node)
		return CM_BAD_ADDR;
	return CM_BAD_NONE;
}

/* A node state's name, as `node show` and the logs print it. */
static inline const char *cm_node_state_name(u32 state)
{
	static const char * const names[] = {
		[CHAINMESH_NODE_ABSENT] = "absent",
		[CHAINMESH_NODE_JOINING] = "joining",
		[CHAINMESH_NODE_UP] = "up",
		[CHAINMESH_NODE_DOWN] = "down",
		[CHAINMESH_NODE_BROKEN] = "broken",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] :
							  "unknown";
}

#endif /* _CHAINMESH_LAYOUT_H */
