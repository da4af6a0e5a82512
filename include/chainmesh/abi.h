/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The region's binary layout, asserted: the size of every struct of
 * <linux/chainmesh_region.h> and the offset of every field in it. Nodes
 * built by different compilers (the host's kernel, each guest's kernel, a
 * userspace node) must agree on every byte, and the uAPI header cannot say
 * so itself (it stays C90, which has no _Static_assert). Every header of
 * include/chainmesh/ that touches the region includes this one, so the
 * modules, the tools, the benchmarks and the tests all check it.
 *
 * A change that trips one of these is a new layout version: bump
 * CHAINMESH_LAYOUT_VERSION and write the new offsets here on purpose.
 */
#ifndef _CHAINMESH_ABI_H
#define _CHAINMESH_ABI_H

#ifdef __KERNEL__
#include <linux/stddef.h>
#else
#include <stddef.h>
#endif
#include <linux/chainmesh_region.h>

#define CM_ABI_SIZE(type, size)						\
	_Static_assert(sizeof(struct type) == (size),			\
		       "struct " #type " is " #size " bytes")
#define CM_ABI_FIELD(type, field, off)					\
	_Static_assert(offsetof(struct type, field) == (off),		\
		       "struct " #type ": " #field " at byte " #off)

_Static_assert(CHAINMESH_LAYOUT_VERSION == 4,
	       "the offsets below are layout version 4's");

/* The header page: host writes, all read. */
CM_ABI_SIZE(chainmesh_region_hdr, CHAINMESH_PAGE_SIZE);
CM_ABI_FIELD(chainmesh_region_hdr, magic, 0);
CM_ABI_FIELD(chainmesh_region_hdr, version, 4);
CM_ABI_FIELD(chainmesh_region_hdr, features, 8);
CM_ABI_FIELD(chainmesh_region_hdr, region_size, 16);
CM_ABI_FIELD(chainmesh_region_hdr, nodes, 24);
CM_ABI_FIELD(chainmesh_region_hdr, ring_slots, 28);
CM_ABI_FIELD(chainmesh_region_hdr, ret_slots, 32);
CM_ABI_FIELD(chainmesh_region_hdr, buf_size, 36);
CM_ABI_FIELD(chainmesh_region_hdr, bufs_per_node, 40);
CM_ABI_FIELD(chainmesh_region_hdr, max_flows, 44);
CM_ABI_FIELD(chainmesh_region_hdr, mesh_id, 48);
CM_ABI_FIELD(chainmesh_region_hdr, queues, 52);
CM_ABI_FIELD(chainmesh_region_hdr, node_table_off, 56);
CM_ABI_FIELD(chainmesh_region_hdr, ftables_off, 64);
CM_ABI_FIELD(chainmesh_region_hdr, ftable_stride, 72);
CM_ABI_FIELD(chainmesh_region_hdr, stats_off, 80);
CM_ABI_FIELD(chainmesh_region_hdr, stats_stride, 88);
CM_ABI_FIELD(chainmesh_region_hdr, rings_off, 96);
CM_ABI_FIELD(chainmesh_region_hdr, ring_stride, 104);
CM_ABI_FIELD(chainmesh_region_hdr, rets_off, 112);
CM_ABI_FIELD(chainmesh_region_hdr, ret_stride, 120);
CM_ABI_FIELD(chainmesh_region_hdr, pools_off, 128);
CM_ABI_FIELD(chainmesh_region_hdr, pool_stride, 136);
CM_ABI_FIELD(chainmesh_region_hdr, host_epoch, 144);
CM_ABI_FIELD(chainmesh_region_hdr, flogs_off, 152);
CM_ABI_FIELD(chainmesh_region_hdr, flog_stride, 160);
CM_ABI_FIELD(chainmesh_region_hdr, flog_slots, 168);
CM_ABI_FIELD(chainmesh_region_hdr, pad1, 172);
CM_ABI_FIELD(chainmesh_region_hdr, reserved, 176);

/* The node table: one cache line per node. */
CM_ABI_SIZE(chainmesh_node, CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_node, state, 0);
CM_ABI_FIELD(chainmesh_node, epoch, 4);
CM_ABI_FIELD(chainmesh_node, heartbeat, 8);
CM_ABI_FIELD(chainmesh_node, mac, 16);
CM_ABI_FIELD(chainmesh_node, pad0, 22);
CM_ABI_FIELD(chainmesh_node, features, 24);
CM_ABI_FIELD(chainmesh_node, host_state, 28);
CM_ABI_FIELD(chainmesh_node, blame, 32);
CM_ABI_FIELD(chainmesh_node, verdict_epoch, 40);
CM_ABI_FIELD(chainmesh_node, vectors, 44);
CM_ABI_FIELD(chainmesh_node, pad1, 48);

/* Descriptors: four to a cache line, never straddling one. */
CM_ABI_SIZE(chainmesh_desc, 16);
CM_ABI_FIELD(chainmesh_desc, addr, 0);
CM_ABI_FIELD(chainmesh_desc, data_off, 8);
CM_ABI_FIELD(chainmesh_desc, len, 10);
CM_ABI_FIELD(chainmesh_desc, chain, 12);
CM_ABI_FIELD(chainmesh_desc, hop, 14);
CM_ABI_FIELD(chainmesh_desc, flags, 15);

CM_ABI_SIZE(chainmesh_offload, 16);
CM_ABI_FIELD(chainmesh_offload, flags, 0);
CM_ABI_FIELD(chainmesh_offload, gso_type, 1);
CM_ABI_FIELD(chainmesh_offload, hdr_len, 2);
CM_ABI_FIELD(chainmesh_offload, gso_size, 4);
CM_ABI_FIELD(chainmesh_offload, csum_start, 6);
CM_ABI_FIELD(chainmesh_offload, csum_offset, 8);
CM_ABI_FIELD(chainmesh_offload, pad, 10);
_Static_assert(CHAINMESH_FRAME_MAX_LEN <= CHAINMESH_FRAME_MAX_BUFS *
	       (1024 /* CM_MIN_BUF_SIZE */ - CHAINMESH_HEADROOM),
	       "a largest frame fits in the most buffers of the smallest size");

/* Ring header: producer line, consumer line, want_kick line (see
 * include/chainmesh/ring.h for who writes which). */
CM_ABI_SIZE(chainmesh_ring_hdr, 3 * CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_ring_hdr, head, 0);
CM_ABI_FIELD(chainmesh_ring_hdr, prod_flags, 4);
CM_ABI_FIELD(chainmesh_ring_hdr, reset_req, 8);
CM_ABI_FIELD(chainmesh_ring_hdr, pad0, 12);
CM_ABI_FIELD(chainmesh_ring_hdr, tail, CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_ring_hdr, cons_flags, CHAINMESH_CACHELINE + 4);
CM_ABI_FIELD(chainmesh_ring_hdr, reset_ack, CHAINMESH_CACHELINE + 8);
CM_ABI_FIELD(chainmesh_ring_hdr, pad1, CHAINMESH_CACHELINE + 12);
CM_ABI_FIELD(chainmesh_ring_hdr, want_kick, 2 * CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_ring_hdr, pad2, 2 * CHAINMESH_CACHELINE + 4);
/* Return ring slots are __le64 buffer offsets. */
_Static_assert(sizeof(__le64) == 8, "return ring slot is 8 bytes");

/* A node's flow table: header line, then the hops, the groups (v4),
 * then the flows. */
CM_ABI_SIZE(chainmesh_ftable_hdr, CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_ftable_hdr, seq, 0);
CM_ABI_FIELD(chainmesh_ftable_hdr, nflows, 4);
CM_ABI_FIELD(chainmesh_ftable_hdr, log_pos, 8);
CM_ABI_FIELD(chainmesh_ftable_hdr, gen, 12);
CM_ABI_FIELD(chainmesh_ftable_hdr, pad0, 16);
CM_ABI_SIZE(chainmesh_fhop, 4);
CM_ABI_FIELD(chainmesh_fhop, flags, 0);
CM_ABI_FIELD(chainmesh_fhop, hop, 1);
CM_ABI_FIELD(chainmesh_fhop, next, 2);
CM_ABI_FIELD(chainmesh_fhop, pad, 3);
CM_ABI_SIZE(chainmesh_fgroup, 16);
CM_ABI_FIELD(chainmesh_fgroup, members, 0);
CM_ABI_FIELD(chainmesh_fgroup, nmembers, 8);
CM_ABI_FIELD(chainmesh_fgroup, live, 9);
CM_ABI_FIELD(chainmesh_fgroup, pad, 10);
CM_ABI_SIZE(chainmesh_flow, 2 * CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_flow, flow_id, 0);
CM_ABI_FIELD(chainmesh_flow, chain, 4);
CM_ABI_FIELD(chainmesh_flow, priority, 6);
CM_ABI_FIELD(chainmesh_flow, family, 8);
CM_ABI_FIELD(chainmesh_flow, ip_proto, 9);
CM_ABI_FIELD(chainmesh_flow, vlan, 10);
CM_ABI_FIELD(chainmesh_flow, sport, 12);
CM_ABI_FIELD(chainmesh_flow, sport_mask, 14);
CM_ABI_FIELD(chainmesh_flow, dport, 16);
CM_ABI_FIELD(chainmesh_flow, dport_mask, 18);
CM_ABI_FIELD(chainmesh_flow, src, 20);
CM_ABI_FIELD(chainmesh_flow, src_mask, 36);
CM_ABI_FIELD(chainmesh_flow, dst, 52);
CM_ABI_FIELD(chainmesh_flow, dst_mask, 68);
CM_ABI_FIELD(chainmesh_flow, pad, 84);

/* A node's flow log: header line, then the entries (flowlog.h). */
CM_ABI_SIZE(chainmesh_flog_hdr, CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_flog_hdr, head, 0);
CM_ABI_FIELD(chainmesh_flog_hdr, pad0, 4);
CM_ABI_SIZE(chainmesh_flog_ent, 16 + 2 * CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_flog_ent, seq, 0);
CM_ABI_FIELD(chainmesh_flog_ent, op, 4);
CM_ABI_FIELD(chainmesh_flog_ent, flags, 5);
CM_ABI_FIELD(chainmesh_flog_ent, pad0, 6);
CM_ABI_FIELD(chainmesh_flog_ent, pad1, 8);
CM_ABI_FIELD(chainmesh_flog_ent, flow, 16);

/* A node's counters: its line, then one entry per flow id. */
CM_ABI_SIZE(chainmesh_node_stats, CHAINMESH_CACHELINE);
CM_ABI_FIELD(chainmesh_node_stats, rx_packets, 0);
CM_ABI_FIELD(chainmesh_node_stats, rx_bytes, 8);
CM_ABI_FIELD(chainmesh_node_stats, tx_packets, 16);
CM_ABI_FIELD(chainmesh_node_stats, tx_bytes, 24);
CM_ABI_FIELD(chainmesh_node_stats, drops, 32);
CM_ABI_FIELD(chainmesh_node_stats, bad_desc, 40);
CM_ABI_FIELD(chainmesh_node_stats, pad, 48);
CM_ABI_SIZE(chainmesh_flow_stats, 16);
CM_ABI_FIELD(chainmesh_flow_stats, packets, 0);
CM_ABI_FIELD(chainmesh_flow_stats, bytes, 8);

#undef CM_ABI_SIZE
#undef CM_ABI_FIELD

#endif /* _CHAINMESH_ABI_H */
