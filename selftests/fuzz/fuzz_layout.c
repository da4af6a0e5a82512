// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: cm_layout_from_hdr() on a header the host (or anyone
 * with the region mapped) wrote. The input's first byte says how the
 * 4 KiB header is made: raw from the input, or from cm_layout_to_hdr() on
 * fuzzed parameters, then patched at fuzzed offsets (so near-valid headers
 * are explored without seeds). A header that is accepted must describe a
 * layout whose every section lies, in order and without overlap, inside
 * the BAR; every accessor of a valid index must stay inside it.
 */
#include "fuzz.h"

#define BASE	((void *)(uintptr_t)0x100000000ull)
#define OFF(p)	((u64)((uintptr_t)(p) - (uintptr_t)BASE))

static void check_layout(const struct cm_layout *l, u64 bar)
{
	u64 nn = (u64)l->p.queues * l->p.nodes * l->p.nodes;
	u32 n = l->p.nodes - 1, q = l->p.queues - 1;
	struct cm_layout lq;
	u32 owner, idx;

	FZ_ASSERT(l->size <= bar);
	FZ_ASSERT(l->p.nodes >= 2 && l->p.nodes <= CHAINMESH_MAX_NODES);
	FZ_ASSERT(l->p.queues >= 1 && l->p.queues <= CHAINMESH_MAX_QUEUES);
	FZ_ASSERT(l->p.bufs_per_node % l->p.queues == 0);
	FZ_ASSERT(l->ret_slots >= cm_lane_bufs(l));
	FZ_ASSERT(l->node_table_off >= sizeof(struct chainmesh_region_hdr));
	FZ_ASSERT(l->node_table_off + CHAINMESH_MAX_NODES *
		  sizeof(struct chainmesh_node) <= l->ftables_off);
	FZ_ASSERT(l->ftable_stride >= cm_ftable_bytes(l->p.max_flows));
	FZ_ASSERT(l->ftables_off + l->p.nodes * l->ftable_stride <= l->stats_off);
	FZ_ASSERT(l->p.max_flows >= 1 && l->p.max_flows <= CHAINMESH_MAX_FLOWS);
	FZ_ASSERT(l->stats_stride >= cm_stats_bytes(l->p.max_flows));
	FZ_ASSERT(l->stats_off + l->p.nodes * l->stats_stride <= l->rings_off);
	FZ_ASSERT(l->ring_stride >= sizeof(struct chainmesh_ring_hdr) +
		  (u64)l->p.ring_slots * sizeof(struct chainmesh_desc));
	FZ_ASSERT(l->rings_off + nn * l->ring_stride <= l->rets_off);
	FZ_ASSERT(l->ret_stride >= sizeof(struct chainmesh_ring_hdr) +
		  (u64)l->ret_slots * sizeof(__le64));
	FZ_ASSERT(l->rets_off + nn * l->ret_stride <= l->pools_off);
	FZ_ASSERT(l->pool_stride >= (u64)l->p.bufs_per_node * l->p.buf_size);
	FZ_ASSERT(l->pools_off + l->p.nodes * l->pool_stride <= l->size);

	/* The last of everything, through the accessors (only the offsets
	 * they compute matter: base is a made-up address). */
	FZ_ASSERT(OFF(cm_ftable(BASE, l, n)) + cm_ftable_bytes(l->p.max_flows) <= l->size);
	FZ_ASSERT(OFF(cm_flow_stats(BASE, l, n) + l->p.max_flows) <= l->stats_off +
		  l->p.nodes * l->stats_stride);
	FZ_ASSERT(OFF(cm_ret_ring_q(BASE, l, n, n, q)) + l->ret_stride <= l->pools_off);
	FZ_ASSERT(OFF(cm_data_ring_q(BASE, l, n, n, q)) + l->ring_stride <= l->rets_off);
	FZ_ASSERT(OFF(cm_node(BASE, l, CHAINMESH_MAX_NODES - 1) + 1) <= l->ftables_off);
	FZ_ASSERT(cm_buf_addr(l, n, l->p.bufs_per_node - 1) + l->p.buf_size <= l->size);

	/* The last lane: its last buffer is its own, inside the region. */
	cm_layout_lane(l, q, &lq);
	FZ_ASSERT(lq.size <= l->size);
	FZ_ASSERT(cm_buf_check(&lq, cm_buf_addr(&lq, n, lq.p.bufs_per_node - 1),
			       &owner, &idx) == CM_BAD_NONE);
	FZ_ASSERT(owner == n && idx == lq.p.bufs_per_node - 1);
	FZ_ASSERT(cm_buf_addr(l, n, q * lq.p.bufs_per_node + idx) ==
		  cm_buf_addr(&lq, n, idx));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chainmesh_region_hdr h;
	struct fz f = { data, size };
	struct cm_layout l, l2;
	u8 mode = fz_u8(&f);
	u64 bar;
	u32 i, nmut;

	bar = 1ull << (12 + fz_u8(&f) % 28);
	if (mode & 1)
		bar = fz_u64(&f);
	if (mode & 0x80) {
		struct cm_layout_params p = {
			.nodes = fz_u8(&f),
			.ring_slots = 1u << (fz_u8(&f) % 17),
			.buf_size = 1u << (fz_u8(&f) % 18),
			.bufs_per_node = fz_u16(&f),
			.max_flows = fz_u16(&f),
			.queues = fz_u8(&f) % (CHAINMESH_MAX_QUEUES + 2),
		};

		if (cm_layout_compute(&p, bar, &l2))
			memset(&h, 0, sizeof(h));
		else
			cm_layout_to_hdr(&l2, bar, fz_u32(&f), 1, &h);
		nmut = fz_u8(&f) % 16;
		for (i = 0; i < nmut; i++) {
			u16 off = fz_u16(&f) % sizeof(h);

			((u8 *)&h)[off] = fz_u8(&f);
		}
	} else {
		fz_fill(&f, &h, sizeof(h));
	}

	if (cm_layout_from_hdr(&h, bar, &l))
		return 0;
	check_layout(&l, bar);
	/* Deterministic: the same header gives the same layout. */
	FZ_ASSERT(!cm_layout_from_hdr(&h, bar, &l2));
	FZ_ASSERT(!memcmp(&l, &l2, sizeof(l)));
	return 0;
}
