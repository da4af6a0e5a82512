/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * chainmesh: service chains between VMs over one shared memory region.
 *
 * This header is the binary contract between the nodes of a mesh: the
 * layout of the shared region (version 2), which the host module, every
 * guest module and userspace nodes read and write. It depends on nothing
 * but <linux/types.h>, is C90 clean and compiles in the kernel and in
 * userspace. The host module's control interface (generic netlink family
 * and /dev/chainmesh ioctls) is in <linux/chainmesh.h>. The size of every
 * struct and the offset of every field below are asserted at compile time
 * in include/chainmesh/abi.h, which the shared accessors include.
 *
 * The region
 * ==========
 *
 * One contiguous region per mesh, addressed by byte offsets from its start
 * (never pointers). All integers in the region are little-endian, except
 * packet match fields, which are in network byte order as on the wire.
 *
 *   +---------------------------+ 0
 *   | header (4 KiB)            |  host writes once, magic last
 *   +---------------------------+ node_table_off
 *   | node table (64 x 64 B)    |  one line per node
 *   +---------------------------+ ftables_off
 *   | flow table of node 0      |  host writes, node reads
 *   | ...  (ftable_stride each) |
 *   +---------------------------+ stats_off
 *   | stats of node 0           |  node writes, host reads
 *   | ...  (stats_stride each)  |
 *   +---------------------------+ rings_off
 *   | data ring 0->0 .. N-1->N-1|  ring i->j at rings_off +
 *   |  (ring_stride each)       |    (i * nodes + j) * ring_stride
 *   +---------------------------+ rets_off
 *   | return ring 0->0 ..       |  same indexing, ret_stride each
 *   +---------------------------+ flogs_off
 *   | flow log of node 0        |  host writes, node reads: increments
 *   | ...  (flog_stride each)   |    of its flow table
 *   +---------------------------+ pools_off
 *   | buffer pool of node 0     |  bufs_per_node * buf_size bytes
 *   | ...  (pool_stride each)   |
 *   +---------------------------+ region_size (a power of two)
 *
 * Data ring i->j carries descriptors from node i to node j. Return ring
 * i->j carries buffers owned by node j back to j, from node i which ended
 * their journey. Rings from a node to itself exist only to keep the
 * indexing simple and are never used.
 *
 * Every section starts on a 4 KiB boundary. Each field's comment names
 * who writes it and who reads it. The layout is a pure function of the
 * parameters in the header (see include/chainmesh/layout.h); a node
 * recomputes it and refuses a header whose offsets differ.
 */
#ifndef _UAPI_LINUX_CHAINMESH_REGION_H
#define _UAPI_LINUX_CHAINMESH_REGION_H

#include <linux/types.h>

#define CHAINMESH_MAGIC			0x48534d43	/* "CMSH" */
#define CHAINMESH_LAYOUT_VERSION	2
#define CHAINMESH_MAX_NODES		64
#define CHAINMESH_MAX_CHAINS		256
#define CHAINMESH_MAX_FLOWS		131072	/* bound of the header's max_flows */
#define CHAINMESH_CACHELINE		64
#define CHAINMESH_PAGE_SIZE		4096
#define CHAINMESH_HEADROOM		256	/* XDP_PACKET_HEADROOM */
#define CHAINMESH_NODE_NONE		0xff

/* In a guest the region is BAR2 of a QEMU ivshmem device. */
#define CHAINMESH_IVSHMEM_VENDOR	0x1af4
#define CHAINMESH_IVSHMEM_DEVICE	0x1110

/* Header: the host writes every field, then stores @magic with release. */
struct chainmesh_region_hdr {
	__le32 magic;		/* host writes last (release); all read (acquire) */
	__le32 version;		/* host writes; all read */
	__le64 features;	/* host writes; all read: none defined, zero */
	__le64 region_size;	/* host writes; all read */
	__le32 nodes;		/* host writes; all read: 2..CHAINMESH_MAX_NODES */
	__le32 ring_slots;	/* host writes; all read: power of two */
	__le32 ret_slots;	/* host writes; all read: power of two >= bufs */
	__le32 buf_size;	/* host writes; all read: power of two */
	__le32 bufs_per_node;	/* host writes; all read */
	__le32 max_flows;	/* host writes; all read: entries per flow table,
				 * flow ids below it, 1..CHAINMESH_MAX_FLOWS */
	__le32 mesh_id;		/* host writes; all read: random, for MACs */
	__le32 pad0;
	__le64 node_table_off;	/* host writes; all read: section offsets */
	__le64 ftables_off;
	__le64 ftable_stride;
	__le64 stats_off;
	__le64 stats_stride;
	__le64 rings_off;
	__le64 ring_stride;
	__le64 rets_off;
	__le64 ret_stride;
	__le64 pools_off;
	__le64 pool_stride;
	__le64 host_epoch;	/* host writes; all read: bumped on each layout */
	__le64 flogs_off;	/* host writes; all read: flow logs (below) */
	__le64 flog_stride;
	__le32 flog_slots;	/* host writes; all read: entries per flow log,
				 * a power of two (layout.h, CM_FLOG_SLOTS()) */
	__le32 pad1;
	__u8 reserved[3920];	/* zero; pads the header to 4 KiB */
};

/* Node states, in struct chainmesh_node.state */
enum chainmesh_node_state {
	CHAINMESH_NODE_ABSENT = 0,
	CHAINMESH_NODE_JOINING,
	CHAINMESH_NODE_UP,
	CHAINMESH_NODE_DOWN,
	CHAINMESH_NODE_BROKEN
};

/* Node table entry, one cache line per node. */
struct chainmesh_node {
	__le32 state;		/* node writes (release); all read: ..._NODE_* */
	__le32 epoch;		/* node writes; all read: bumped on each join */
	__le64 heartbeat;	/* node writes; host reads: ticks while alive */
	__u8 mac[6];		/* node writes before state UP; all read */
	__u8 pad0[2];
	__le32 features;	/* node writes; all read: none defined, zero */
	__le32 host_state;	/* host writes; all read: host's verdict */
	__le64 blame;		/* node writes; host reads: bit n set, this
				 * node judged node n broken (bad input) */
	__u8 pad1[24];
};

/*
 * Descriptor, 16 bytes. @addr is the region offset of a buffer (inside its
 * owner's pool, on a multiple of buf_size from the pool's start); the frame lies at @data_off, @len
 * bytes long, inside that buffer. The producer of a ring writes
 * descriptors, the consumer reads each one once and validates it.
 */
struct chainmesh_desc {
	__le64 addr;		/* producer writes; consumer reads */
	__le16 data_off;	/* producer writes; consumer reads */
	__le16 len;		/* producer writes; consumer reads */
	__le16 chain;		/* producer writes; consumer reads: chain id */
	__u8 hop;		/* producer writes; consumer reads: hop index */
	__u8 flags;		/* producer writes; consumer reads: CHAINMESH_D_* */
};

#define CHAINMESH_D_CTX		0x01	/* chain and hop are valid */

/*
 * Ring header: three cache lines, followed by the slots (struct
 * chainmesh_desc for data rings, __le64 buffer offsets for return rings).
 * Indices run free over 32 bits; slot = index & (slots - 1).
 *
 * @want_kick has a line of its own: the producer loads it on every
 * publish, the consumer writes it only when it goes to sleep or wakes.
 * Next to @tail, which the consumer writes on every release, each of
 * those loads would be a cache miss (layout version 1 had it there).
 */
/* prod_flags: the producer waits for free slots; the consumer rings it
 * when it releases some (see include/chainmesh/ring.h, [S1]/[S2]). */
#define CHAINMESH_RING_WANT_SPACE	0x1

struct chainmesh_ring_hdr {
	__le32 head;		/* producer writes (release); consumer reads (acquire) */
	__le32 prod_flags;	/* producer writes; consumer reads: CHAINMESH_RING_* */
	__u8 pad0[56];
	__le32 tail;		/* consumer writes (release); producer reads (acquire) */
	__le32 cons_flags;	/* consumer writes; producer reads: unused, zero */
	__u8 pad1[56];
	__le32 want_kick;	/* consumer writes; producer reads after a full barrier */
	__u8 pad2[60];
};

/* Per-node flow table: the host writes it under @seq, its node reads it.
 * It is the checkpoint of the node's flow log (below): it holds every
 * increment before @log_pos. */
struct chainmesh_ftable_hdr {
	__le32 seq;		/* host writes: odd while writing; node reads */
	__le32 nflows;		/* host writes; node reads: <= max_flows */
	__le32 log_pos;		/* host writes under @seq; node reads: the
				 * log position this table reflects */
	__le32 gen;		/* host writes under @seq; node reads: bumped
				 * when the table changed in a way the log
				 * does not carry (chains, hops, reloads) */
	__u8 pad0[48];
};

/* What node n does with a packet of chain c: ftable_hdr is followed by
 * CHAINMESH_MAX_CHAINS of these, indexed by chain id. */
struct chainmesh_fhop {
	__u8 flags;		/* host writes; node reads: CHAINMESH_H_* */
	__u8 hop;		/* host writes; node reads: this node's index */
	__u8 next;		/* host writes; node reads: next node or NONE */
	__u8 pad;
};

#define CHAINMESH_H_VALID	0x01	/* this node is on the chain */
#define CHAINMESH_H_LAST	0x02	/* this node ends the chain */
#define CHAINMESH_H_DROP	0x04	/* with LAST: the next hop is dead and the
					 * chain's policy is drop */

/* Flow entry, 128 bytes; after the hops, max_flows of them, sorted by
 * priority (lower first). Addresses and ports are big-endian. */
struct chainmesh_flow {
	__le32 flow_id;		/* host writes; node reads: < max_flows */
	__le16 chain;		/* host writes; node reads: chain id */
	__le16 priority;	/* host writes; node reads */
	__u8 family;		/* host writes; node reads: 0 any, 4, 6 */
	__u8 ip_proto;		/* host writes; node reads: 0 any */
	__be16 vlan;		/* host writes; node reads: VLAN id, 0 none */
	__be16 sport;		/* host writes; node reads */
	__be16 sport_mask;
	__be16 dport;
	__be16 dport_mask;
	__be32 src[4];		/* host writes; node reads: IPv4 in src[0] */
	__be32 src_mask[4];
	__be32 dst[4];
	__be32 dst_mask[4];
	__u8 pad[44];
};

/*
 * Per-node flow log: increments of the node's flow table (flow.h,
 * flowlog.h), a header line then flog_slots entries; position p lives in
 * entry p & (flog_slots - 1). Positions run free over 32 bits. The log,
 * its header fields (flogs_off, flog_stride, flog_slots) and the table
 * header's log_pos and gen belong to layout version 3.
 */
struct chainmesh_flog_hdr {
	__le32 head;		/* host writes (release) after a whole batch;
				 * node reads (acquire): positions below it
				 * are written */
	__u8 pad0[60];
};

#define CHAINMESH_FLOG_ADD	1	/* a flow id the table does not hold */
#define CHAINMESH_FLOG_REPLACE	2	/* a flow id it holds, new match/prio */
#define CHAINMESH_FLOG_DELETE	3	/* @flow.flow_id only */

#define CHAINMESH_FLOG_END	0x01	/* the last increment of a batch */

struct chainmesh_flog_ent {
	__le32 seq;		/* host writes: the position while writing,
				 * position + 1 last (release); node reads
				 * (acquire) before and again after the rest */
	__u8 op;		/* host writes; node reads: CHAINMESH_FLOG_* */
	__u8 flags;		/* host writes; node reads: CHAINMESH_FLOG_END */
	__le16 pad0;
	__u8 pad1[8];
	struct chainmesh_flow flow;	/* host writes; node reads */
};

/* Per-node statistics, written only by their node. */
struct chainmesh_node_stats {
	__le64 rx_packets;	/* node writes; host reads */
	__le64 rx_bytes;
	__le64 tx_packets;
	__le64 tx_bytes;
	__le64 drops;
	__le64 bad_desc;
	__u8 pad[16];
};

/* Followed by max_flows of these, indexed by flow id. */
struct chainmesh_flow_stats {
	__le64 packets;		/* node writes; host reads */
	__le64 bytes;
};

#endif /* _UAPI_LINUX_CHAINMESH_REGION_H */
