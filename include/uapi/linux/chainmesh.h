/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * chainmesh: service chains between VMs over one shared memory region.
 *
 * This header is the binary contract between the host module, the guest
 * module and userspace: the layout of the shared region (version 2) and the
 * generic netlink family. It is C90 clean and compiles in the kernel and in
 * userspace.
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
#ifndef _UAPI_LINUX_CHAINMESH_H
#define _UAPI_LINUX_CHAINMESH_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define CHAINMESH_MAGIC			0x48534d43	/* "CMSH" */
#define CHAINMESH_LAYOUT_VERSION	2
#define CHAINMESH_MAX_NODES		64
#define CHAINMESH_MAX_CHAINS		256
#define CHAINMESH_MAX_FLOWS		131072	/* bound of the header's max_flows */
#define CHAINMESH_CACHELINE		64
#define CHAINMESH_PAGE_SIZE		4096
#define CHAINMESH_HEADROOM		256	/* XDP_PACKET_HEADROOM */
#define CHAINMESH_NODE_NONE		0xff
#define CHAINMESH_IVSHMEM_VENDOR	0x1af4
#define CHAINMESH_IVSHMEM_DEVICE	0x1110

/* Header: the host writes every field, then stores @magic with release. */
struct chainmesh_region_hdr {
	__le32 magic;		/* host writes last (release); all read (acquire) */
	__le32 version;		/* host writes; all read */
	__le64 features;	/* host writes; all read: CHAINMESH_F_* */
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
	__u8 reserved[3944];	/* zero; pads the header to 4 KiB */
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
	__le32 features;	/* node writes; all read */
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

/* Per-node flow table: the host writes it under @seq, its node reads it. */
struct chainmesh_ftable_hdr {
	__le32 seq;		/* host writes: odd while writing; node reads */
	__le32 nflows;		/* host writes; node reads: <= max_flows */
	__u8 pad0[56];
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

/*
 * Generic netlink family "chainmesh", version 1.
 * See Documentation/netlink/specs/chainmesh.yaml.
 *
 * CHAINMESH_CMD_MESH_GET (doit or dump, no privilege)
 *   request:  CHAINMESH_A_MESH_NAME (optional for dump)
 *   reply:    CHAINMESH_A_MESH_NAME, _NODES, _RING_SLOTS, _BUF_SIZE,
 *             _BUFS_PER_NODE, _REGION_SIZE, _MAX_FLOWS, _MESH_ID
 *
 * CHAINMESH_CMD_NODE_GET (dump, no privilege)
 *   request:  CHAINMESH_A_MESH_NAME
 *   reply:    one message per node: CHAINMESH_A_MESH_NAME,
 *             CHAINMESH_A_NODE { ID, STATE, EPOCH, HEARTBEAT, MAC,
 *             RX_PACKETS, RX_BYTES, TX_PACKETS, TX_BYTES, DROPS, BAD_DESC }
 *
 * CHAINMESH_CMD_CHAIN_NEW (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME,
 *             CHAINMESH_A_CHAIN { ID, HOPS (u8 node ids, each at most
 *             once), POLICY }
 * CHAINMESH_CMD_CHAIN_DEL (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME, CHAINMESH_A_CHAIN { ID }
 * CHAINMESH_CMD_CHAIN_GET (dump, no privilege)
 *   reply:    CHAINMESH_A_MESH_NAME, CHAINMESH_A_CHAIN { ID, HOPS, POLICY }
 *
 * CHAINMESH_CMD_FLOW_NEW (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME,
 *             CHAINMESH_A_FLOW { ID, CHAIN, PRIORITY, FAMILY, PROTO,
 *             SRC, SRC_PREFIX, DST, DST_PREFIX, SPORT, SPORT_MASK,
 *             DPORT, DPORT_MASK, VLAN }
 * CHAINMESH_CMD_FLOW_DEL (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME, CHAINMESH_A_FLOW { ID }
 * CHAINMESH_CMD_FLOW_SET (CAP_NET_ADMIN)
 *   request:  as FLOW_NEW, for a flow that exists: its match, chain and
 *             priority become the request's (attributes left out match
 *             anything, as in FLOW_NEW), in one update of every node's
 *             table; its counters go on. Announced as FLOW_ADD_NTF.
 *             (The core refuses NLM_F_REPLACE for this family.)
 * CHAINMESH_CMD_FLOW_GET (dump, no privilege)
 *   reply:    CHAINMESH_A_MESH_NAME, CHAINMESH_A_FLOW { ...as above...,
 *             STATS { CHAINMESH_A_FSTAT { NODE, PACKETS, BYTES } ... } }
 *
 * CHAINMESH_CMD_MESH_NEW (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME, _NODES, and optionally _RING_SLOTS,
 *             _BUF_SIZE, _BUFS_PER_NODE, _MAX_FLOWS: the host module
 *             allocates the region (shmem) and is its node 0 (netdev
 *             "cmh-NAME", or "cmh%d" when that does not fit IFNAMSIZ).
 * CHAINMESH_CMD_MESH_DEL (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME; only meshes made by MESH_NEW.
 *
 * Multicast group "monitor" (CHAINMESH_MCGRP_MONITOR): every change, as
 * the _NTF commands below, each with the payload of the matching get
 * reply (a deleted object as it was last):
 *   MESH_ADD_NTF, MESH_DEL_NTF        a mesh appeared or went away
 *   NODE_CHANGE_NTF                   a node's state changed (up, down...)
 *   CHAIN_ADD_NTF, CHAIN_DEL_NTF      chains the user added or deleted
 *   FLOW_ADD_NTF, FLOW_DEL_NTF        flows likewise (ADD also for a
 *                                     flow that FLOW_SET replaced)
 */
#define CHAINMESH_GENL_NAME	"chainmesh"
#define CHAINMESH_GENL_VERSION	1
#define CHAINMESH_NAME_LEN	16	/* with the NUL */

enum chainmesh_cmd {
	CHAINMESH_CMD_UNSPEC,
	CHAINMESH_CMD_MESH_GET,
	CHAINMESH_CMD_NODE_GET,
	CHAINMESH_CMD_CHAIN_NEW,
	CHAINMESH_CMD_CHAIN_DEL,
	CHAINMESH_CMD_CHAIN_GET,
	CHAINMESH_CMD_FLOW_NEW,
	CHAINMESH_CMD_FLOW_DEL,
	CHAINMESH_CMD_FLOW_GET,
	CHAINMESH_CMD_MESH_NEW,
	CHAINMESH_CMD_MESH_DEL,
	CHAINMESH_CMD_MESH_ADD_NTF,
	CHAINMESH_CMD_MESH_DEL_NTF,
	CHAINMESH_CMD_NODE_CHANGE_NTF,
	CHAINMESH_CMD_CHAIN_ADD_NTF,
	CHAINMESH_CMD_CHAIN_DEL_NTF,
	CHAINMESH_CMD_FLOW_ADD_NTF,
	CHAINMESH_CMD_FLOW_DEL_NTF,
	CHAINMESH_CMD_FLOW_SET,

	__CHAINMESH_CMD_MAX
};
#define CHAINMESH_CMD_MAX (__CHAINMESH_CMD_MAX - 1)

#define CHAINMESH_MCGRP_MONITOR	"monitor"

/* What holds a mesh's region, in CHAINMESH_A_MESH_BACKING. */
enum chainmesh_backing {
	CHAINMESH_BACKING_IVSHMEM,	/* lab: ivshmem BAR, host in a VM */
	CHAINMESH_BACKING_SHMEM		/* host memory, exported by /dev/chainmesh */
};

enum chainmesh_attr {
	CHAINMESH_A_UNSPEC,
	CHAINMESH_A_MESH_NAME,		/* string */
	CHAINMESH_A_MESH_NODES,		/* u32 */
	CHAINMESH_A_MESH_RING_SLOTS,	/* u32 */
	CHAINMESH_A_MESH_BUF_SIZE,	/* u32 */
	CHAINMESH_A_MESH_BUFS_PER_NODE,	/* u32 */
	CHAINMESH_A_MESH_REGION_SIZE,	/* u64 */
	CHAINMESH_A_MESH_MAX_FLOWS,	/* u32 */
	CHAINMESH_A_MESH_ID,		/* u32 */
	CHAINMESH_A_NODE,		/* nest: CHAINMESH_NODE_A_* */
	CHAINMESH_A_CHAIN,		/* nest: CHAINMESH_CHAIN_A_* */
	CHAINMESH_A_FLOW,		/* nest: CHAINMESH_FLOW_A_* */
	CHAINMESH_A_PAD,		/* pads CHAINMESH_A_MESH_REGION_SIZE */
	CHAINMESH_A_MESH_IFINDEX,	/* u32: node 0's netdev */
	CHAINMESH_A_MESH_BACKING,	/* u32: enum chainmesh_backing */

	__CHAINMESH_A_LAST
};
#define CHAINMESH_A_MAX (__CHAINMESH_A_LAST - 1)

enum chainmesh_node_attr {
	CHAINMESH_NODE_A_UNSPEC,
	CHAINMESH_NODE_A_ID,		/* u32 */
	CHAINMESH_NODE_A_STATE,		/* u32: enum chainmesh_node_state */
	CHAINMESH_NODE_A_EPOCH,		/* u32 */
	CHAINMESH_NODE_A_HEARTBEAT,	/* u64 */
	CHAINMESH_NODE_A_MAC,		/* binary, 6 bytes */
	CHAINMESH_NODE_A_RX_PACKETS,	/* u64 */
	CHAINMESH_NODE_A_RX_BYTES,	/* u64 */
	CHAINMESH_NODE_A_TX_PACKETS,	/* u64 */
	CHAINMESH_NODE_A_TX_BYTES,	/* u64 */
	CHAINMESH_NODE_A_DROPS,		/* u64 */
	CHAINMESH_NODE_A_BAD_DESC,	/* u64 */
	CHAINMESH_NODE_A_PAD,

	__CHAINMESH_NODE_A_LAST
};
#define CHAINMESH_NODE_A_MAX (__CHAINMESH_NODE_A_LAST - 1)

enum chainmesh_chain_policy {
	CHAINMESH_POLICY_DROP,		/* a dead hop drops the chain's packets */
	CHAINMESH_POLICY_BYPASS	/* a dead hop is skipped */
};

enum chainmesh_chain_attr {
	CHAINMESH_CHAIN_A_UNSPEC,
	CHAINMESH_CHAIN_A_ID,		/* u32: < CHAINMESH_MAX_CHAINS */
	CHAINMESH_CHAIN_A_HOPS,		/* binary: u8 node ids, 1..MAX_NODES */
	CHAINMESH_CHAIN_A_POLICY,	/* u32: enum chainmesh_chain_policy */

	__CHAINMESH_CHAIN_A_LAST
};
#define CHAINMESH_CHAIN_A_MAX (__CHAINMESH_CHAIN_A_LAST - 1)

enum chainmesh_flow_attr {
	CHAINMESH_FLOW_A_UNSPEC,
	CHAINMESH_FLOW_A_ID,		/* u32: < the mesh's max_flows */
	CHAINMESH_FLOW_A_CHAIN,		/* u32 */
	CHAINMESH_FLOW_A_PRIORITY,	/* u16: lower matches first */
	CHAINMESH_FLOW_A_FAMILY,	/* u8: 0 any, 4, 6 */
	CHAINMESH_FLOW_A_PROTO,		/* u8: IP protocol, 0 any */
	CHAINMESH_FLOW_A_SRC,		/* binary: 4 or 16 bytes */
	CHAINMESH_FLOW_A_SRC_PREFIX,	/* u8 */
	CHAINMESH_FLOW_A_DST,		/* binary: 4 or 16 bytes */
	CHAINMESH_FLOW_A_DST_PREFIX,	/* u8 */
	CHAINMESH_FLOW_A_SPORT,		/* u16, host order */
	CHAINMESH_FLOW_A_SPORT_MASK,	/* u16, host order */
	CHAINMESH_FLOW_A_DPORT,		/* u16, host order */
	CHAINMESH_FLOW_A_DPORT_MASK,	/* u16, host order */
	CHAINMESH_FLOW_A_VLAN,		/* u16: VLAN id, 0 none */
	CHAINMESH_FLOW_A_STATS,		/* nest of CHAINMESH_FSTAT_A_ENTRY */
	CHAINMESH_FLOW_A_PAD,

	__CHAINMESH_FLOW_A_LAST
};
#define CHAINMESH_FLOW_A_MAX (__CHAINMESH_FLOW_A_LAST - 1)

enum chainmesh_fstat_attr {
	CHAINMESH_FSTAT_A_UNSPEC,
	CHAINMESH_FSTAT_A_ENTRY,	/* nest, one per node */
	CHAINMESH_FSTAT_A_NODE,		/* u32 */
	CHAINMESH_FSTAT_A_PACKETS,	/* u64 */
	CHAINMESH_FSTAT_A_BYTES,	/* u64 */
	CHAINMESH_FSTAT_A_PAD,

	__CHAINMESH_FSTAT_A_LAST
};
#define CHAINMESH_FSTAT_A_MAX (__CHAINMESH_FSTAT_A_LAST - 1)

/*
 * /dev/chainmesh: what the ivshmem daemon needs from the host module for a
 * mesh of the shmem backing (CAP_NET_ADMIN, on an fd open for writing).
 *
 * CHAINMESH_IOC_REGION_FD: a new fd (O_CLOEXEC, read-write) of the mesh's
 *   region, a shmem file of @size bytes to mmap MAP_SHARED, as QEMU's
 *   ivshmem-doorbell does with the fd its server sends.
 *
 * CHAINMESH_IOC_DOORBELL: the eventfd of node @node's doorbell (its
 *   vector 0). For node 0 it is the eventfd peers signal to kick the host,
 *   which waits on it; for any other node the host signals it to kick that
 *   node. @fd -1 unregisters (a peer left). Registering again replaces.
 */
#define CHAINMESH_DEV_NAME	"chainmesh"
#define CHAINMESH_IOC_MAGIC	0xCE

struct chainmesh_ioc_region {
	char mesh[CHAINMESH_NAME_LEN];	/* in: mesh name, NUL terminated */
	__u32 flags;			/* in: zero */
	__s32 fd;			/* out: the region's fd */
	__u64 size;			/* out: bytes in the region */
};

struct chainmesh_ioc_doorbell {
	char mesh[CHAINMESH_NAME_LEN];	/* in: mesh name, NUL terminated */
	__u32 node;			/* in: node id */
	__s32 fd;			/* in: eventfd, or -1 */
	__u32 flags;			/* in: zero */
	__u32 pad;			/* in: zero */
};

#define CHAINMESH_IOC_REGION_FD	_IOWR(CHAINMESH_IOC_MAGIC, 1, struct chainmesh_ioc_region)
#define CHAINMESH_IOC_DOORBELL	_IOWR(CHAINMESH_IOC_MAGIC, 2, struct chainmesh_ioc_doorbell)

#endif /* _UAPI_LINUX_CHAINMESH_H */
