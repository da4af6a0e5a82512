/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * chainmesh: service chains between VMs over one shared memory region.
 *
 * This header is the host module's control interface: the generic netlink
 * family "chainmesh" and the ioctls of /dev/chainmesh. It is C90 clean and
 * compiles in the kernel and in userspace.
 *
 * The layout of the shared region (the binary contract between the nodes
 * of a mesh) is in <linux/chainmesh_region.h>; values of the family that
 * come from the region (node states, CHAINMESH_MAX_NODES, _MAX_CHAINS,
 * _MAX_FLOWS) are defined there.
 *
 * The family is described by Documentation/netlink/specs/chainmesh.yaml,
 * its source of truth: scripts/ynl-check.py compares every name and value
 * below with the spec (selftests/build/uapi.sh runs it in make check).
 */
#ifndef _UAPI_LINUX_CHAINMESH_H
#define _UAPI_LINUX_CHAINMESH_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * Generic netlink family "chainmesh", version 1.
 *
 * CHAINMESH_CMD_MESH_GET (doit or dump, no privilege)
 *   request:  CHAINMESH_A_MESH_NAME (optional for dump)
 *   reply:    CHAINMESH_A_MESH_NAME, _NODES, _RING_SLOTS, _BUF_SIZE,
 *             _BUFS_PER_NODE, _REGION_SIZE, _MAX_FLOWS, _MESH_ID,
 *             _MESH_IFINDEX, _MESH_BACKING, _MESH_QUEUES
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
 *             once), POLICY, GROUPS (replica groups: bit j, hops[j]
 *             shares the hop of hops[j - 1]) }
 * CHAINMESH_CMD_CHAIN_DEL (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME, CHAINMESH_A_CHAIN { ID }
 * CHAINMESH_CMD_CHAIN_GET (dump, no privilege)
 *   reply:    CHAINMESH_A_MESH_NAME, CHAINMESH_A_CHAIN { ID, HOPS, POLICY,
 *             GROUPS, LIVE (bit j: hops[j] takes flows now) }
 * CHAINMESH_CMD_CHAIN_REBALANCE (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME, CHAINMESH_A_CHAIN { ID }: the members
 *             of its groups that are up take their flows again
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
 *             _BUF_SIZE, _BUFS_PER_NODE, _MAX_FLOWS, _MESH_QUEUES: the host module
 *             allocates the region (shmem) and is its node 0 (netdev
 *             "cmh-NAME", or "cmh%d" when that does not fit IFNAMSIZ).
 * CHAINMESH_CMD_MESH_DEL (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME; only meshes made by MESH_NEW.
 *
 * CHAINMESH_CMD_REMOTE_NEW (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME, CHAINMESH_A_REMOTE { NAME, IFNAME,
 *             ADDR, VNI }: a remote peer, another host's node 0, reached
 *             through the geneve device IFNAME (collect_md, "external")
 *             at ADDR (4 or 16 bytes) with VNI (default 0).
 * CHAINMESH_CMD_REMOTE_DEL (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME, CHAINMESH_A_REMOTE { NAME }; refused
 *             while a remote chain mapping names it.
 * CHAINMESH_CMD_REMOTE_GET (dump, no privilege)
 *   reply:    per peer CHAINMESH_A_MESH_NAME, CHAINMESH_A_REMOTE { NAME,
 *             IFNAME, ADDR, VNI, TX_PACKETS, TX_BYTES, TX_ERRORS,
 *             RX_PACKETS, RX_BYTES, RX_UNKNOWN }; then per mesh with
 *             remote peers CHAINMESH_A_MESH_NAME, CHAINMESH_A_RSTATS {
 *             MALFORMED, UNKNOWN_PEER, NO_CTX }
 *
 * CHAINMESH_CMD_RCHAIN_NEW (CAP_NET_ADMIN)
 *   request:  CHAINMESH_A_MESH_NAME, CHAINMESH_A_RCHAIN { DIR, CHAIN,
 *             PEER, RCHAIN }: DIR out: local chain CHAIN, which ends at
 *             node 0, continues as chain RCHAIN of PEER; DIR in: chain
 *             RCHAIN of PEER continues here as local chain CHAIN, which
 *             starts at node 0.
 * CHAINMESH_CMD_RCHAIN_DEL (CAP_NET_ADMIN)
 *   request:  as RCHAIN_NEW: out { DIR, CHAIN }, in { DIR, PEER, RCHAIN }
 * CHAINMESH_CMD_RCHAIN_GET (dump, no privilege)
 *   reply:    CHAINMESH_A_MESH_NAME, CHAINMESH_A_RCHAIN { DIR, CHAIN,
 *             PEER, RCHAIN, PACKETS, BYTES }
 *
 * Multicast group "monitor" (CHAINMESH_MCGRP_MONITOR): every change, as
 * the _NTF commands below, each with the payload of the matching get
 * reply (a deleted object as it was last):
 *   MESH_ADD_NTF, MESH_DEL_NTF        a mesh appeared or went away
 *   NODE_CHANGE_NTF                   a node's state changed (up, down...)
 *   CHAIN_ADD_NTF, CHAIN_DEL_NTF      chains the user added or deleted
 *                                     (ADD also for a chain whose live
 *                                     replicas changed: failover,
 *                                     rebalance)
 *   FLOW_ADD_NTF, FLOW_DEL_NTF        flows likewise (ADD also for a
 *                                     flow that FLOW_SET replaced)
 *   REMOTE_ADD_NTF, REMOTE_DEL_NTF    remote peers likewise
 *   RCHAIN_ADD_NTF, RCHAIN_DEL_NTF    remote chain mappings likewise
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
	CHAINMESH_CMD_CHAIN_REBALANCE,
	CHAINMESH_CMD_REMOTE_NEW,
	CHAINMESH_CMD_REMOTE_DEL,
	CHAINMESH_CMD_REMOTE_GET,
	CHAINMESH_CMD_RCHAIN_NEW,
	CHAINMESH_CMD_RCHAIN_DEL,
	CHAINMESH_CMD_RCHAIN_GET,
	CHAINMESH_CMD_REMOTE_ADD_NTF,
	CHAINMESH_CMD_REMOTE_DEL_NTF,
	CHAINMESH_CMD_RCHAIN_ADD_NTF,
	CHAINMESH_CMD_RCHAIN_DEL_NTF,

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
	CHAINMESH_A_MESH_QUEUES,	/* u32: 1..CHAINMESH_MAX_QUEUES */
	CHAINMESH_A_REMOTE,		/* nest: CHAINMESH_REMOTE_A_* */
	CHAINMESH_A_RCHAIN,		/* nest: CHAINMESH_RCHAIN_A_* */
	CHAINMESH_A_RSTATS,		/* nest: CHAINMESH_RSTATS_A_* */

	__CHAINMESH_A_LAST
};
#define CHAINMESH_A_MAX (__CHAINMESH_A_LAST - 1)

enum chainmesh_node_attr {
	CHAINMESH_NODE_A_UNSPEC,
	CHAINMESH_NODE_A_ID,		/* u32 */
	CHAINMESH_NODE_A_STATE,		/* u32: enum chainmesh_node_state, in
				 * <linux/chainmesh_region.h> */
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
	CHAINMESH_POLICY_BYPASS,	/* a dead hop is skipped */
	CHAINMESH_POLICY_FAILOVER	/* a group's dead replicas' flows move
					 * to the others (v4) */
};

enum chainmesh_chain_attr {
	CHAINMESH_CHAIN_A_UNSPEC,
	CHAINMESH_CHAIN_A_ID,		/* u32: < CHAINMESH_MAX_CHAINS */
	CHAINMESH_CHAIN_A_HOPS,		/* binary: u8 node ids, 1..MAX_NODES */
	CHAINMESH_CHAIN_A_POLICY,	/* u32: enum chainmesh_chain_policy */
	CHAINMESH_CHAIN_A_GROUPS,	/* u64: bit j, hops[j] is a replica of
					 * the hop of hops[j - 1] */
	CHAINMESH_CHAIN_A_LIVE,		/* u64, reply: bit j, hops[j] takes flows */
	CHAINMESH_CHAIN_A_PAD,

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
 * Chains across hosts (Documentation/remote.rst): Geneve, the chain
 * context in one option of class CHAINMESH_GENEVE_CLASS (experimental
 * use, RFC 8926) and type CHAINMESH_GENEVE_TYPE (critical: a Geneve
 * endpoint that does not know it drops the packet), 4 bytes of data:
 * __be16 chain (the receiver's remote chain id), __u8 hop (nodes the
 * packet visited so far, at least 1), __u8 zero.
 */
#define CHAINMESH_GENEVE_CLASS	0xfff0
#define CHAINMESH_GENEVE_TYPE	0x81

enum chainmesh_rchain_dir {
	CHAINMESH_RCHAIN_OUT,	/* local chain -> peer's chain */
	CHAINMESH_RCHAIN_IN	/* peer's chain -> local chain */
};

enum chainmesh_remote_attr {
	CHAINMESH_REMOTE_A_UNSPEC,
	CHAINMESH_REMOTE_A_NAME,	/* string */
	CHAINMESH_REMOTE_A_IFNAME,	/* string: the geneve device */
	CHAINMESH_REMOTE_A_ADDR,	/* binary: 4 or 16 bytes */
	CHAINMESH_REMOTE_A_VNI,		/* u32: 0..0xffffff */
	CHAINMESH_REMOTE_A_TX_PACKETS,	/* u64 */
	CHAINMESH_REMOTE_A_TX_BYTES,	/* u64 */
	CHAINMESH_REMOTE_A_TX_ERRORS,	/* u64: device gone or down, no memory */
	CHAINMESH_REMOTE_A_RX_PACKETS,	/* u64 */
	CHAINMESH_REMOTE_A_RX_BYTES,	/* u64 */
	CHAINMESH_REMOTE_A_RX_UNKNOWN,	/* u64: a chain of it not mapped here */
	CHAINMESH_REMOTE_A_PAD,

	__CHAINMESH_REMOTE_A_LAST
};
#define CHAINMESH_REMOTE_A_MAX (__CHAINMESH_REMOTE_A_LAST - 1)

enum chainmesh_rchain_attr {
	CHAINMESH_RCHAIN_A_UNSPEC,
	CHAINMESH_RCHAIN_A_DIR,		/* u32: enum chainmesh_rchain_dir */
	CHAINMESH_RCHAIN_A_CHAIN,	/* u32: local chain id */
	CHAINMESH_RCHAIN_A_PEER,	/* string: remote peer name */
	CHAINMESH_RCHAIN_A_RCHAIN,	/* u32: the chain id at the peer */
	CHAINMESH_RCHAIN_A_PACKETS,	/* u64 */
	CHAINMESH_RCHAIN_A_BYTES,	/* u64 */
	CHAINMESH_RCHAIN_A_PAD,

	__CHAINMESH_RCHAIN_A_LAST
};
#define CHAINMESH_RCHAIN_A_MAX (__CHAINMESH_RCHAIN_A_LAST - 1)

enum chainmesh_rstats_attr {
	CHAINMESH_RSTATS_A_UNSPEC,
	CHAINMESH_RSTATS_A_MALFORMED,	/* u64: no or a bad chainmesh option */
	CHAINMESH_RSTATS_A_UNKNOWN_PEER, /* u64: from no peer of the mesh */
	CHAINMESH_RSTATS_A_NO_CTX,	/* u64: mark_mask 0, no context to carry */
	CHAINMESH_RSTATS_A_PAD,

	__CHAINMESH_RSTATS_A_LAST
};
#define CHAINMESH_RSTATS_A_MAX (__CHAINMESH_RSTATS_A_LAST - 1)

/*
 * /dev/chainmesh: what the ivshmem daemon needs from the host module for a
 * mesh of the shmem backing (CAP_NET_ADMIN, on an fd open for writing).
 *
 * CHAINMESH_IOC_REGION_FD: a new fd (O_CLOEXEC, read-write) of the mesh's
 *   region, a shmem file of @size bytes to mmap MAP_SHARED, as QEMU's
 *   ivshmem-doorbell does with the fd its server sends.
 *
 * CHAINMESH_IOC_DOORBELL: the eventfd of node @node's doorbell vector
 *   @vector (< CHAINMESH_MAX_QUEUES; a vector per queue). For node 0 it is
 *   an eventfd peers signal to kick the host, which waits on it; for any
 *   other node the host signals it to kick that node. @fd -1 unregisters
 *   (a peer left). Registering again replaces.
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
	__u32 vector;			/* in: doorbell vector */
};

#define CHAINMESH_IOC_REGION_FD	_IOWR(CHAINMESH_IOC_MAGIC, 1, struct chainmesh_ioc_region)
#define CHAINMESH_IOC_DOORBELL	_IOWR(CHAINMESH_IOC_MAGIC, 2, struct chainmesh_ioc_doorbell)

#endif /* _UAPI_LINUX_CHAINMESH_H */
