/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * chainmesh: service chains between VMs over one shared memory region.
 *
 * This header is the binary contract between the nodes of a mesh: the
 * layout of the shared region (version 4), which the host module, every
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
 *   | flow table of node 0      |  host writes, node reads: hops,
 *   |                           |    groups (v4), flows
 *   | ...  (ftable_stride each) |
 *   +---------------------------+ stats_off
 *   | stats of node 0           |  node writes, host reads
 *   | ...  (stats_stride each)  |
 *   +---------------------------+ rings_off
 *   | data ring 0->0 .. N-1->N-1|  ring (i->j, queue q) at rings_off +
 *   |  of queue 0, then 1 ..    |  ((q * nodes + i) * nodes + j) *
 *   |  (ring_stride each)       |  ring_stride
 *   +---------------------------+ rets_off
 *   | return ring 0->0 ..       |  same indexing, ret_stride each
 *   +---------------------------+ flogs_off
 *   | flow log of node 0        |  host writes, node reads: increments
 *   | ...  (flog_stride each)   |    of its flow table
 *   +---------------------------+ pools_off
 *   | buffer pool of node 0     |  bufs_per_node * buf_size bytes,
 *   | ...  (pool_stride each)   |  queues slices of bufs_per_node /
 *   +---------------------------+  queues buffers; region_size (a power of two)
 *
 * Data ring (i->j, q) carries descriptors from node i to node j on queue
 * q. Return ring (i->j, q) carries buffers owned by node j back to j,
 * from node i which ended their journey. Rings from a node to itself
 * exist only to keep the indexing simple and are never used.
 *
 * Queues (version 3). A mesh has @queues (1..CHAINMESH_MAX_QUEUES)
 * independent lanes. Lane q is made of the rings of queue q and of slice
 * q of every pool (buffers [q * B, (q + 1) * B) of each node, B =
 * bufs_per_node / queues): a buffer of slice q travels only on rings of
 * queue q, is returned on return ring (j->owner, q) and freed by its
 * owner's lane q; a consumer refuses (and counts) any other buffer. A
 * lane is thus laid out as a whole version 2 mesh of B buffers per node,
 * every ring single producer, single consumer. Senders pick the lane of a
 * frame by a symmetric hash of its flow (include/chainmesh/datapath.h,
 * cm_flow_lane()), the same at every node, so both directions and every
 * hop of a connection take the same queue.
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
#define CHAINMESH_LAYOUT_VERSION	4
#define CHAINMESH_MAX_NODES		64
#define CHAINMESH_MAX_QUEUES		8	/* bound of the header's queues */
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
	__le32 ret_slots;	/* host writes; all read: power of two >=
				 * bufs_per_node / queues */
	__le32 buf_size;	/* host writes; all read: power of two */
	__le32 bufs_per_node;	/* host writes; all read */
	__le32 max_flows;	/* host writes; all read: entries per flow table,
				 * flow ids below it, 1..CHAINMESH_MAX_FLOWS */
	__le32 mesh_id;		/* host writes; all read: random, for MACs */
	__le32 queues;		/* host writes; all read: 1..CHAINMESH_MAX_QUEUES,
				 * divides bufs_per_node (version 3) */
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
	__le32 features;	/* node writes; all read: CHAINMESH_NF_* */
	__le32 host_state;	/* host writes; all read: host's verdict */
	__le64 blame;		/* node writes; host reads: bit n set, this
				 * node judged node n broken (bad input) */
	__le32 verdict_epoch;	/* host writes (release, after host_state);
				 * all read: the node's epoch that
				 * host_state is about */
	__le32 vectors;		/* node writes; all read: doorbell vectors
				 * it listens on, vector v waking lanes
				 * q % vectors == v (0: one, vector 0) */
	__u8 pad1[16];
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
#define CHAINMESH_D_MORE	0x02	/* the next slot continues this frame */
#define CHAINMESH_D_OFFLOAD	0x04	/* first slot of a frame: its buffer
					 * starts with a chainmesh_offload */

/*
 * Frames of several buffers, and offloads
 * =======================================
 *
 * A frame larger than a buffer (a GSO frame of up to 64 KiB) is a chain
 * of descriptors in consecutive slots of one data ring: every one but
 * the last has CHAINMESH_D_MORE, and the frame's bytes are the
 * descriptors' (data_off, len) pieces in slot order. Only the first
 * carries chain context and CHAINMESH_D_OFFLOAD; the others have no flag
 * but MORE. Every buffer of a frame has the same owner and appears once;
 * a frame is at most CHAINMESH_FRAME_MAX_BUFS buffers and
 * CHAINMESH_FRAME_MAX_LEN bytes, and is published whole (a chain that
 * the producer's head cuts off is refused). Its buffers travel and go
 * home one by one, like those of single-buffer frames.
 *
 * CHAINMESH_D_OFFLOAD: the first buffer's first 16 bytes (in its
 * headroom: data_off >= 16) hold a struct chainmesh_offload, a
 * virtio_net_hdr in fixed-width little-endian: the frame's checksum is
 * still to be computed (csum_start/offset, as CHECKSUM_PARTIAL) and/or
 * it is to be segmented (gso_type, gso_size) where it leaves the mesh.
 *
 * A node sends frames of several buffers or with CHAINMESH_D_OFFLOAD only
 * to a node that set CHAINMESH_NF_OFFLOAD in its node table entry; a
 * node that did not set it refuses them and counts them.
 */
#define CHAINMESH_FRAME_MAX_BUFS	128
#define CHAINMESH_FRAME_MAX_LEN		(65536 + 128)

/* struct chainmesh_node.features */
#define CHAINMESH_NF_OFFLOAD	0x1	/* takes frames of several buffers and
					 * CHAINMESH_D_OFFLOAD */

struct chainmesh_offload {
	__u8 flags;		/* producer writes; consumer reads: CHAINMESH_OFF_* */
	__u8 gso_type;		/* producer writes; consumer reads: CHAINMESH_GSO_* */
	__le16 hdr_len;		/* producer writes; consumer reads: headers' length (hint) */
	__le16 gso_size;	/* producer writes; consumer reads: payload per segment */
	__le16 csum_start;	/* producer writes; consumer reads: from the frame's start */
	__le16 csum_offset;	/* producer writes; consumer reads: from csum_start */
	__u8 pad[6];		/* zero */
};

#define CHAINMESH_OFF_NEEDS_CSUM	0x01	/* checksum at csum_start/offset to do */

/* gso_type: the values of virtio_net_hdr's */
#define CHAINMESH_GSO_NONE	0
#define CHAINMESH_GSO_TCPV4	1
#define CHAINMESH_GSO_UDP	3	/* UFO */
#define CHAINMESH_GSO_TCPV6	4
#define CHAINMESH_GSO_UDP_L4	5
#define CHAINMESH_GSO_ECN	0x80	/* with TCPV4/TCPV6: CWR set */

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

/*
 * Pair reset (Documentation/datapath.rst, "Recovery"): the rings node i
 * produces to node j (data ring i->j and return ring i->j) are "the
 * rings of pair i->j". Their indices restart at zero by agreement, with
 * two generations in the header of data ring i->j alone:
 *
 *  1. i wants a reset of pairs i->j and j->i (its indices and j's
 *     disagree for good, or j asked): it stops sending to j, bumps
 *     @reset_req (release), then stores head = 0 in each ring of i->j;
 *  2. j sees @reset_req differ from its @reset_ack: it drops what is
 *     queued to it in the rings of i->j unread, stores tail = 0 in each
 *     (release), then @reset_ack = @reset_req (release); and asks for
 *     the same of i's side, pair j->i, if it has not yet;
 *  3. once each side has both its request acknowledged and the other's
 *     acknowledged, it takes back the buffers of its own pool that the
 *     other held (the dropped entries held some) and sends again.
 *
 * A consumer that reads a head it cannot believe first looks at
 * @reset_req: a reset under way is not the producer's fault. Each node
 * re-asserts both fields, like its indices, from private copies.
 */

/*
 * want_kick: what the consumer asks of a producer that published
 * (include/chainmesh/ring.h, [K1]-[K3]).
 *  NONE     it is polling and looks again by itself: no doorbell
 *  WANTED   it sleeps or is about to: ring its doorbell. The producer
 *           decides after a full barrier ([K1], pairs with [K2])
 *  POLLING  it busy polls for good (a libchainmesh node with
 *           CML_F_BUSY_POLL): the producer skips the barrier and the
 *           doorbell. The consumer leaves POLLING only by arming
 *           (WANTED, [K2]) and polling on for CHAINMESH_POLL_GRACE_US
 *           before it sleeps ([K3])
 * A kernel node never writes POLLING (NAPI sleeps). Any other value is
 * read as NONE after the barrier: a consumer only loses its own doorbells.
 */
#define CHAINMESH_KICK_NONE		0
#define CHAINMESH_KICK_WANTED		1
#define CHAINMESH_KICK_POLLING		2
#define CHAINMESH_POLL_GRACE_US		1000

struct chainmesh_ring_hdr {
	__le32 head;		/* producer writes (release); consumer reads (acquire) */
	__le32 prod_flags;	/* producer writes; consumer reads: CHAINMESH_RING_* */
	__le32 reset_req;	/* producer writes (release); consumer reads:
				 * data rings only, pair reset generation */
	__u8 pad0[52];
	__le32 tail;		/* consumer writes (release); producer reads (acquire) */
	__le32 cons_flags;	/* consumer writes; producer reads: unused, zero
				 * (a flag the producer read on every publish
				 * would pull @tail's line: see @want_kick) */
	__le32 reset_ack;	/* consumer writes (release); producer reads
				 * (acquire): data rings only, the last
				 * reset_req carried out */
	__u8 pad1[52];
	__le32 want_kick;	/* consumer writes; producer reads: CHAINMESH_KICK_*,
				 * POLLING without a barrier, the others
				 * after a full barrier ([K1]/[K2]) */
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
#define CHAINMESH_H_GROUP	0x08	/* the next hop is a replica group: the
					 * chain's struct chainmesh_fgroup picks
					 * the next node, @next is NONE (v4) */

/*
 * Replica groups (layout version 4). A hop of a chain may be a group of
 * up to CHAINMESH_GROUP_MAX replica nodes. The node before it picks one
 * per flow: of the members whose bit is set in @live, the one with the
 * highest rendezvous weight cm_flow_mix(h ^ cm_group_salt(member)) for
 * the flow's symmetric hash h (include/chainmesh/group.h), so both
 * directions of a connection pick the same replica and losing a member
 * moves only its flows. The flow table's hops are followed by
 * CHAINMESH_MAX_CHAINS of these, indexed by chain id: the group this
 * node sends the chain's frames to when its hop has CHAINMESH_H_GROUP,
 * all zero otherwise.
 */
#define CHAINMESH_GROUP_MAX	8

struct chainmesh_fgroup {
	__u8 members[CHAINMESH_GROUP_MAX]; /* host writes; node reads: node
					 * ids, < nodes, never the reader,
					 * each once; NONE past @nmembers */
	__u8 nmembers;		/* host writes; node reads: 1..GROUP_MAX */
	__u8 live;		/* host writes; node reads: bit i, members[i]
				 * takes flows (failover clears it) */
	__u8 pad[6];		/* zero */
};

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
