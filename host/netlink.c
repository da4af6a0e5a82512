// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh host: the generic netlink family "chainmesh".
 *
 * Requests are validated strictly by the core against per-operation
 * policies (ranges and lengths included); what a policy cannot express
 * (a hop names a node of this mesh, an address agrees with the family) is
 * checked here, each refusal with an extack message naming the attribute.
 * cm_mesh_lock serialises us against each other and against the backing
 * removing a mesh; dumps take it per batch and mark a batch that crossed
 * a change with NLM_F_DUMP_INTR.
 *
 * Every change is also announced to the "monitor" group, built under
 * cm_mesh_lock so that notifications leave in the order of the changes.
 */
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/in.h>
#include <linux/sort.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "mesh.h"
#include "netlink.h"
#include "remote.h"
#include "shm.h"

static struct genl_family cm_genl_family;

enum cm_nl_mcgrp {
	CM_NL_MCGRP_MONITOR,
};

static const struct genl_multicast_group cm_nl_mcgrps[] = {
	[CM_NL_MCGRP_MONITOR] = { .name = CHAINMESH_MCGRP_MONITOR },
};

/* The family is registered: notifications may go out. Under cm_mesh_lock. */
static bool cm_nl_live;

/* Attribute policies */

#define CM_NAME_POLICY { .type = NLA_NUL_STRING, .len = CHAINMESH_NAME_LEN - 1 }

static int cm_nl_validate_addr(const struct nlattr *attr,
			       struct netlink_ext_ack *extack)
{
	if (nla_len(attr) != 4 && nla_len(attr) != 16) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "address must be 4 or 16 bytes");
		return -EINVAL;
	}
	return 0;
}

static const struct nla_policy cm_chain_id_policy[CHAINMESH_CHAIN_A_MAX + 1] = {
	[CHAINMESH_CHAIN_A_ID] = NLA_POLICY_MAX(NLA_U32, CHAINMESH_MAX_CHAINS - 1),
};

static const struct nla_policy cm_chain_policy[CHAINMESH_CHAIN_A_MAX + 1] = {
	[CHAINMESH_CHAIN_A_ID] = NLA_POLICY_MAX(NLA_U32, CHAINMESH_MAX_CHAINS - 1),
	[CHAINMESH_CHAIN_A_HOPS] = NLA_POLICY_RANGE(NLA_BINARY, 1, CHAINMESH_MAX_NODES),
	[CHAINMESH_CHAIN_A_POLICY] = NLA_POLICY_MAX(NLA_U32, CHAINMESH_POLICY_FAILOVER),
	[CHAINMESH_CHAIN_A_GROUPS] = { .type = NLA_U64 },
};

/* Flow ids beyond a policy's s16 maximum: a full range (not const: 6.1's
 * policy points at writable ranges, never written). The mesh's own
 * max_flows is checked by cm_nl_flow_id(). */
static struct netlink_range_validation cm_flow_id_range = {
	.min = 0, .max = CHAINMESH_MAX_FLOWS - 1,
};

static const struct nla_policy cm_flow_id_policy[CHAINMESH_FLOW_A_MAX + 1] = {
	[CHAINMESH_FLOW_A_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &cm_flow_id_range),
};

static const struct nla_policy cm_flow_policy[CHAINMESH_FLOW_A_MAX + 1] = {
	[CHAINMESH_FLOW_A_ID] = NLA_POLICY_FULL_RANGE(NLA_U32, &cm_flow_id_range),
	[CHAINMESH_FLOW_A_CHAIN] = NLA_POLICY_MAX(NLA_U32, CHAINMESH_MAX_CHAINS - 1),
	[CHAINMESH_FLOW_A_PRIORITY] = { .type = NLA_U16 },
	/* 0, 4 or 6, checked by cm_nl_flow_build(): a validate function on an
	 * integer makes 6.1's policy dump (extack, getpolicy) WARN. */
	[CHAINMESH_FLOW_A_FAMILY] = NLA_POLICY_MAX(NLA_U8, 6),
	[CHAINMESH_FLOW_A_PROTO] = { .type = NLA_U8 },
	[CHAINMESH_FLOW_A_SRC] = NLA_POLICY_VALIDATE_FN(NLA_BINARY, cm_nl_validate_addr, 16),
	[CHAINMESH_FLOW_A_SRC_PREFIX] = NLA_POLICY_MAX(NLA_U8, 128),
	[CHAINMESH_FLOW_A_DST] = NLA_POLICY_VALIDATE_FN(NLA_BINARY, cm_nl_validate_addr, 16),
	[CHAINMESH_FLOW_A_DST_PREFIX] = NLA_POLICY_MAX(NLA_U8, 128),
	[CHAINMESH_FLOW_A_SPORT] = { .type = NLA_U16 },
	[CHAINMESH_FLOW_A_SPORT_MASK] = { .type = NLA_U16 },
	[CHAINMESH_FLOW_A_DPORT] = { .type = NLA_U16 },
	[CHAINMESH_FLOW_A_DPORT_MASK] = { .type = NLA_U16 },
	[CHAINMESH_FLOW_A_VLAN] = NLA_POLICY_MAX(NLA_U16, 4095),
};

/* MESH_GET, NODE_GET: the mesh name only (optional for dumps). */
static const struct nla_policy cm_mesh_policy[CHAINMESH_A_MAX + 1] = {
	[CHAINMESH_A_MESH_NAME] = CM_NAME_POLICY,
};

/* Not const: 6.1's policy points at writable ranges (never written). */
static struct netlink_range_validation cm_ring_slots_range = {
	.min = CM_MIN_RING_SLOTS, .max = CM_MAX_RING_SLOTS,
};
static struct netlink_range_validation cm_buf_size_range = {
	.min = CM_MIN_BUF_SIZE, .max = CM_MAX_BUF_SIZE,
};
static struct netlink_range_validation cm_bufs_range = {
	.min = 1, .max = CM_MAX_BUFS_PER_NODE,
};
static struct netlink_range_validation cm_max_flows_range = {
	.min = 1, .max = CHAINMESH_MAX_FLOWS,
};

static const struct nla_policy cm_mesh_new_policy[CHAINMESH_A_MAX + 1] = {
	[CHAINMESH_A_MESH_NAME] = CM_NAME_POLICY,
	[CHAINMESH_A_MESH_NODES] = NLA_POLICY_RANGE(NLA_U32, 2, CHAINMESH_MAX_NODES),
	[CHAINMESH_A_MESH_RING_SLOTS] = NLA_POLICY_FULL_RANGE(NLA_U32, &cm_ring_slots_range),
	[CHAINMESH_A_MESH_BUF_SIZE] = NLA_POLICY_FULL_RANGE(NLA_U32, &cm_buf_size_range),
	[CHAINMESH_A_MESH_BUFS_PER_NODE] = NLA_POLICY_FULL_RANGE(NLA_U32, &cm_bufs_range),
	[CHAINMESH_A_MESH_MAX_FLOWS] = NLA_POLICY_FULL_RANGE(NLA_U32, &cm_max_flows_range),
	[CHAINMESH_A_MESH_QUEUES] = NLA_POLICY_RANGE(NLA_U32, 1, CHAINMESH_MAX_QUEUES),
};

/* CHAIN_DEL, CHAIN_GET */
static const struct nla_policy cm_chain_ref_policy[CHAINMESH_A_MAX + 1] = {
	[CHAINMESH_A_MESH_NAME] = CM_NAME_POLICY,
	[CHAINMESH_A_CHAIN] = NLA_POLICY_NESTED(cm_chain_id_policy),
};

static const struct nla_policy cm_chain_new_policy[CHAINMESH_A_MAX + 1] = {
	[CHAINMESH_A_MESH_NAME] = CM_NAME_POLICY,
	[CHAINMESH_A_CHAIN] = NLA_POLICY_NESTED(cm_chain_policy),
};

/* FLOW_DEL, FLOW_GET */
static const struct nla_policy cm_flow_ref_policy[CHAINMESH_A_MAX + 1] = {
	[CHAINMESH_A_MESH_NAME] = CM_NAME_POLICY,
	[CHAINMESH_A_FLOW] = NLA_POLICY_NESTED(cm_flow_id_policy),
};

static const struct nla_policy cm_flow_new_policy[CHAINMESH_A_MAX + 1] = {
	[CHAINMESH_A_MESH_NAME] = CM_NAME_POLICY,
	[CHAINMESH_A_FLOW] = NLA_POLICY_NESTED(cm_flow_policy),
};

/* Chains across hosts (remote.c): peers and chain mappings. A VNI is
 * 24 bits, beyond a policy's s16 maximum. */
static struct netlink_range_validation cm_vni_range = {
	.min = 0, .max = 0xffffff,
};

const struct nla_policy cm_remote_policy[CHAINMESH_REMOTE_A_MAX + 1] = {
	[CHAINMESH_REMOTE_A_NAME] = CM_NAME_POLICY,
	[CHAINMESH_REMOTE_A_IFNAME] = { .type = NLA_NUL_STRING, .len = 15 },	/* IFNAMSIZ - 1 */
	[CHAINMESH_REMOTE_A_ADDR] = NLA_POLICY_VALIDATE_FN(NLA_BINARY, cm_nl_validate_addr, 16),
	[CHAINMESH_REMOTE_A_VNI] = NLA_POLICY_FULL_RANGE(NLA_U32, &cm_vni_range),
};

const struct nla_policy cm_rchain_policy[CHAINMESH_RCHAIN_A_MAX + 1] = {
	[CHAINMESH_RCHAIN_A_DIR] = NLA_POLICY_MAX(NLA_U32, CHAINMESH_RCHAIN_IN),
	[CHAINMESH_RCHAIN_A_CHAIN] = NLA_POLICY_MAX(NLA_U32, CHAINMESH_MAX_CHAINS - 1),
	[CHAINMESH_RCHAIN_A_PEER] = CM_NAME_POLICY,
	[CHAINMESH_RCHAIN_A_RCHAIN] = NLA_POLICY_MAX(NLA_U32, CHAINMESH_MAX_CHAINS - 1),
};

static const struct nla_policy cm_remote_new_policy[CHAINMESH_A_MAX + 1] = {
	[CHAINMESH_A_MESH_NAME] = CM_NAME_POLICY,
	[CHAINMESH_A_REMOTE] = NLA_POLICY_NESTED(cm_remote_policy),
};

static const struct nla_policy cm_rchain_new_policy[CHAINMESH_A_MAX + 1] = {
	[CHAINMESH_A_MESH_NAME] = CM_NAME_POLICY,
	[CHAINMESH_A_RCHAIN] = NLA_POLICY_NESTED(cm_rchain_policy),
};

/* Request helpers */

/* The mesh a do request names; cm_mesh_lock held. */
struct cm_mesh *cm_nl_mesh(struct genl_info *info)
{
	struct nlattr *na = info->attrs[CHAINMESH_A_MESH_NAME];
	struct cm_mesh *m;

	lockdep_assert_held(&cm_mesh_lock);
	if (GENL_REQ_ATTR_CHECK(info, CHAINMESH_A_MESH_NAME)) {
		GENL_SET_ERR_MSG(info, "mesh name is required");
		return ERR_PTR(-EINVAL);
	}
	m = cm_mesh_find(nla_data(na));
	if (!m) {
		NL_SET_ERR_MSG_ATTR(info->extack, na, "no such mesh");
		return ERR_PTR(-ENODEV);
	}
	return m;
}

/* Parse @nest, a chain or a flow (@chain false), whose attribute 1 is
 * its id. */
static int cm_nl_parse_nest_at(const struct nlattr *nest, struct nlattr **tb,
			       bool chain, const struct nla_policy *policy,
			       struct netlink_ext_ack *extack)
{
	int maxtype = chain ? CHAINMESH_CHAIN_A_MAX : CHAINMESH_FLOW_A_MAX;
	int err;

	BUILD_BUG_ON(CHAINMESH_CHAIN_A_ID != 1 || CHAINMESH_FLOW_A_ID != 1);
	err = nla_parse_nested(tb, maxtype, nest, policy, extack);
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, 1)) {
		if (chain)
			NL_SET_ERR_MSG(extack, "chain id is required");
		else
			NL_SET_ERR_MSG(extack, "flow id is required");
		return -EINVAL;
	}
	return 0;
}

/* Parse the request's nest @type (a chain or a flow), which it needs. */
static int cm_nl_parse_nest(struct genl_info *info, struct nlattr **tb,
			    int type, const struct nla_policy *policy)
{
	bool chain = type == CHAINMESH_A_CHAIN;

	if (GENL_REQ_ATTR_CHECK(info, type)) {
		if (chain)
			GENL_SET_ERR_MSG(info, "chain attributes are required");
		else
			GENL_SET_ERR_MSG(info, "flow attributes are required");
		return -EINVAL;
	}
	return cm_nl_parse_nest_at(info->attrs[type], tb, chain, policy,
				   info->extack);
}

static int cm_nl_parse_chain(struct genl_info *info, struct nlattr **tb,
			     const struct nla_policy *policy)
{
	return cm_nl_parse_nest(info, tb, CHAINMESH_A_CHAIN, policy);
}

/* The flow nests of a request: FLOW_NEW and FLOW_DEL take a batch of
 * them (the core validated each against the policy), others one. */
static u32 cm_nl_count_flows(struct genl_info *info)
{
	const struct nlattr *attr;
	u32 n = 0;
	int rem;

	nlmsg_for_each_attr(attr, info->nlhdr, GENL_HDRLEN, rem)
		n += nla_type(attr) == CHAINMESH_A_FLOW;
	return n;
}

/* A batch of @n flows for mesh @m: no more than its flow ids. */
static int cm_nl_batch_fits(struct cm_mesh *m, u32 n, struct genl_info *info)
{
	if (n <= m->l.p.max_flows)
		return 0;
	GENL_SET_ERR_MSG(info, "more flows in the request than the mesh has flow ids");
	return -E2BIG;
}

/* One flow nest: FLOW_SET and FLOW_GET. */
static int cm_nl_parse_flow(struct genl_info *info, struct nlattr **tb,
			    const struct nla_policy *policy)
{
	if (info->attrs[CHAINMESH_A_FLOW] && cm_nl_count_flows(info) > 1) {
		GENL_SET_ERR_MSG(info, "one flow per request");
		return -EINVAL;
	}
	return cm_nl_parse_nest(info, tb, CHAINMESH_A_FLOW, policy);
}

/* Message builders: each returns 0 or -EMSGSIZE with nothing left behind.
 * @cb is set when dumping. */

static void *cm_nl_put_hdr(struct sk_buff *skb, u32 portid, u32 seq, int flags,
			   u8 cmd, struct netlink_callback *cb)
{
	void *hdr = genlmsg_put(skb, portid, seq, &cm_genl_family, flags, cmd);

	if (hdr && cb)
		genl_dump_check_consistent(cb, hdr);
	return hdr;
}

static int cm_nl_fill_mesh(struct sk_buff *skb, u8 cmd, u32 portid, u32 seq,
			   int flags,
			   struct netlink_callback *cb, struct cm_mesh *m)
{
	void *hdr;

	hdr = cm_nl_put_hdr(skb, portid, seq, flags, cmd, cb);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, CHAINMESH_A_MESH_NAME, m->name) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_NODES, m->l.p.nodes) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_RING_SLOTS, m->l.p.ring_slots) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_BUF_SIZE, m->l.p.buf_size) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_BUFS_PER_NODE, m->l.p.bufs_per_node) ||
	    nla_put_u64_64bit(skb, CHAINMESH_A_MESH_REGION_SIZE, m->region_size,
			      CHAINMESH_A_PAD) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_MAX_FLOWS, m->l.p.max_flows) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_ID, m->mesh_id) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_IFINDEX, cm_mesh_ifindex(m)) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_BACKING, m->backing) ||
	    nla_put_u32(skb, CHAINMESH_A_MESH_QUEUES, m->l.p.queues))
		goto err_cancel;
	genlmsg_end(skb, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int cm_nl_fill_node(struct sk_buff *skb, u8 cmd, u32 portid, u32 seq,
			   int flags,
			   struct netlink_callback *cb, struct cm_mesh *m, u32 n)
{
	struct cm_node_info ni;
	struct nlattr *nest;
	void *hdr;

	cm_mesh_node_info(m, n, &ni);
	hdr = cm_nl_put_hdr(skb, portid, seq, flags, cmd, cb);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, CHAINMESH_A_MESH_NAME, m->name))
		goto err_cancel;
	nest = nla_nest_start(skb, CHAINMESH_A_NODE);
	if (!nest)
		goto err_cancel;
	if (nla_put_u32(skb, CHAINMESH_NODE_A_ID, ni.id) ||
	    nla_put_u32(skb, CHAINMESH_NODE_A_STATE, ni.state) ||
	    nla_put_u32(skb, CHAINMESH_NODE_A_EPOCH, ni.epoch) ||
	    nla_put_u64_64bit(skb, CHAINMESH_NODE_A_HEARTBEAT, ni.heartbeat,
			      CHAINMESH_NODE_A_PAD) ||
	    nla_put(skb, CHAINMESH_NODE_A_MAC, sizeof(ni.mac), ni.mac) ||
	    nla_put_u64_64bit(skb, CHAINMESH_NODE_A_RX_PACKETS, ni.rx_packets,
			      CHAINMESH_NODE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_NODE_A_RX_BYTES, ni.rx_bytes,
			      CHAINMESH_NODE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_NODE_A_TX_PACKETS, ni.tx_packets,
			      CHAINMESH_NODE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_NODE_A_TX_BYTES, ni.tx_bytes,
			      CHAINMESH_NODE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_NODE_A_DROPS, ni.drops,
			      CHAINMESH_NODE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_NODE_A_BAD_DESC, ni.bad_desc,
			      CHAINMESH_NODE_A_PAD))
		goto err_cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static int cm_nl_fill_chain(struct sk_buff *skb, u8 cmd, u32 portid, u32 seq,
			   int flags,
			    struct netlink_callback *cb, struct cm_mesh *m, u32 id)
{
	const struct cm_chain *c = &m->chains[id];
	struct nlattr *nest;
	void *hdr;

	hdr = cm_nl_put_hdr(skb, portid, seq, flags, cmd, cb);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, CHAINMESH_A_MESH_NAME, m->name))
		goto err_cancel;
	nest = nla_nest_start(skb, CHAINMESH_A_CHAIN);
	if (!nest)
		goto err_cancel;
	if (nla_put_u32(skb, CHAINMESH_CHAIN_A_ID, id) ||
	    nla_put(skb, CHAINMESH_CHAIN_A_HOPS, c->nhops, c->hops) ||
	    nla_put_u32(skb, CHAINMESH_CHAIN_A_POLICY, c->policy) ||
	    (c->grp &&
	     (nla_put_u64_64bit(skb, CHAINMESH_CHAIN_A_GROUPS, c->grp,
				CHAINMESH_CHAIN_A_PAD) ||
	      nla_put_u64_64bit(skb, CHAINMESH_CHAIN_A_LIVE,
				cm_mesh_chain_live(m, id),
				CHAINMESH_CHAIN_A_PAD))))
		goto err_cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

static u8 cm_nl_prefix_len(const __be32 mask[4])
{
	u32 plen = 0;
	int i;

	for (i = 0; i < 4; i++)
		plen += hweight32(be32_to_cpu(mask[i]));
	return plen;
}

/* An address, only when the flow matches on it. */
static int cm_nl_put_addr(struct sk_buff *skb, int type, int ptype, u8 family,
			  const __be32 addr[4], const __be32 mask[4])
{
	u8 plen = cm_nl_prefix_len(mask);

	if (!plen)
		return 0;
	if (nla_put(skb, type, family == 6 ? 16 : 4, addr) ||
	    nla_put_u8(skb, ptype, plen))
		return -EMSGSIZE;
	return 0;
}

/* A port, only when the flow matches on it. */
static int cm_nl_put_port(struct sk_buff *skb, int type, int mtype,
			  __be16 port, __be16 mask)
{
	if (!mask)
		return 0;
	if (nla_put_u16(skb, type, be16_to_cpu(port)) ||
	    nla_put_u16(skb, mtype, be16_to_cpu(mask)))
		return -EMSGSIZE;
	return 0;
}

/* Per-node counters of the nodes on the flow's chain, and of any other
 * node that counted the flow (the chain changed since). */
static int cm_nl_put_fstats(struct sk_buff *skb, struct cm_mesh *m,
			    const struct chainmesh_flow *f)
{
	const struct cm_chain *c = &m->chains[le16_to_cpu(f->chain)];
	u32 id = le32_to_cpu(f->flow_id);
	struct nlattr *stats, *entry;
	struct cm_fstat st;
	u32 n;

	stats = nla_nest_start(skb, CHAINMESH_FLOW_A_STATS);
	if (!stats)
		return -EMSGSIZE;
	for (n = 0; n < m->l.p.nodes; n++) {
		cm_mesh_flow_stats(m, id, n, &st);
		if (!st.packets && !st.bytes && cm_chain_pos(c, n) < 0)
			continue;
		entry = nla_nest_start(skb, CHAINMESH_FSTAT_A_ENTRY);
		if (!entry ||
		    nla_put_u32(skb, CHAINMESH_FSTAT_A_NODE, n) ||
		    nla_put_u64_64bit(skb, CHAINMESH_FSTAT_A_PACKETS, st.packets,
				      CHAINMESH_FSTAT_A_PAD) ||
		    nla_put_u64_64bit(skb, CHAINMESH_FSTAT_A_BYTES, st.bytes,
				      CHAINMESH_FSTAT_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, entry);
	}
	nla_nest_end(skb, stats);
	return 0;
}

static int cm_nl_fill_flow(struct sk_buff *skb, u8 cmd, u32 portid, u32 seq,
			   int flags,
			   struct netlink_callback *cb, struct cm_mesh *m,
			   const struct chainmesh_flow *f)
{
	struct nlattr *nest;
	void *hdr;

	hdr = cm_nl_put_hdr(skb, portid, seq, flags, cmd, cb);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, CHAINMESH_A_MESH_NAME, m->name))
		goto err_cancel;
	nest = nla_nest_start(skb, CHAINMESH_A_FLOW);
	if (!nest)
		goto err_cancel;
	if (nla_put_u32(skb, CHAINMESH_FLOW_A_ID, le32_to_cpu(f->flow_id)) ||
	    nla_put_u32(skb, CHAINMESH_FLOW_A_CHAIN, le16_to_cpu(f->chain)) ||
	    nla_put_u16(skb, CHAINMESH_FLOW_A_PRIORITY, le16_to_cpu(f->priority)) ||
	    nla_put_u8(skb, CHAINMESH_FLOW_A_FAMILY, f->family) ||
	    (f->ip_proto && nla_put_u8(skb, CHAINMESH_FLOW_A_PROTO, f->ip_proto)) ||
	    cm_nl_put_addr(skb, CHAINMESH_FLOW_A_SRC, CHAINMESH_FLOW_A_SRC_PREFIX,
			   f->family, f->src, f->src_mask) ||
	    cm_nl_put_addr(skb, CHAINMESH_FLOW_A_DST, CHAINMESH_FLOW_A_DST_PREFIX,
			   f->family, f->dst, f->dst_mask) ||
	    cm_nl_put_port(skb, CHAINMESH_FLOW_A_SPORT, CHAINMESH_FLOW_A_SPORT_MASK,
			   f->sport, f->sport_mask) ||
	    cm_nl_put_port(skb, CHAINMESH_FLOW_A_DPORT, CHAINMESH_FLOW_A_DPORT_MASK,
			   f->dport, f->dport_mask) ||
	    (f->vlan && nla_put_u16(skb, CHAINMESH_FLOW_A_VLAN, be16_to_cpu(f->vlan))) ||
	    cm_nl_put_fstats(skb, m, f))
		goto err_cancel;
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* Notifications to the "monitor" group; cm_mesh_lock held. */

static struct sk_buff *cm_nl_ntf_alloc(void)
{
	lockdep_assert_held(&cm_mesh_lock);
	if (!cm_nl_live ||
	    !genl_has_listeners(&cm_genl_family, &init_net, CM_NL_MCGRP_MONITOR))
		return NULL;
	return genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
}

static void cm_nl_ntf_send(struct sk_buff *msg, int err)
{
	if (err) {
		/* NLMSG_GOODSIZE holds any one object. */
		WARN_ON_ONCE(err == -EMSGSIZE);
		nlmsg_free(msg);
		return;
	}
	genlmsg_multicast(&cm_genl_family, msg, 0, CM_NL_MCGRP_MONITOR, GFP_KERNEL);
}

/*
 * cm_nl_ntf_begin - a notification @cmd about mesh @m, its header and the
 * mesh's name written; NULL when no one listens (or without memory: a
 * notification is best effort). The caller fills it and passes what that
 * returned to cm_nl_ntf_commit(), which sends it or frees it.
 */
struct sk_buff *cm_nl_ntf_begin(struct cm_mesh *m, u8 cmd, void **hdr)
{
	struct sk_buff *msg = cm_nl_ntf_alloc();

	if (!msg)
		return NULL;
	*hdr = cm_nl_put_hdr(msg, 0, 0, 0, cmd, NULL);
	if (!*hdr || nla_put_string(msg, CHAINMESH_A_MESH_NAME, m->name)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

void cm_nl_ntf_commit(struct sk_buff *msg, void *hdr, int err)
{
	if (!err)
		genlmsg_end(msg, hdr);
	cm_nl_ntf_send(msg, err);
}

void cm_nl_notify_mesh(struct cm_mesh *m, bool add)
{
	struct sk_buff *msg = cm_nl_ntf_alloc();

	if (msg)
		cm_nl_ntf_send(msg, cm_nl_fill_mesh(msg, add ? CHAINMESH_CMD_MESH_ADD_NTF :
						    CHAINMESH_CMD_MESH_DEL_NTF,
						    0, 0, 0, NULL, m));
}

void cm_nl_notify_node(struct cm_mesh *m, u32 n)
{
	struct sk_buff *msg = cm_nl_ntf_alloc();

	if (msg)
		cm_nl_ntf_send(msg, cm_nl_fill_node(msg, CHAINMESH_CMD_NODE_CHANGE_NTF,
						    0, 0, 0, NULL, m, n));
}

void cm_nl_notify_chain(struct cm_mesh *m, u32 id, bool add)
{
	struct sk_buff *msg = cm_nl_ntf_alloc();

	if (msg)
		cm_nl_ntf_send(msg, cm_nl_fill_chain(msg, add ? CHAINMESH_CMD_CHAIN_ADD_NTF :
						     CHAINMESH_CMD_CHAIN_DEL_NTF,
						     0, 0, 0, NULL, m, id));
}

static void cm_nl_notify_flow(struct cm_mesh *m, const struct chainmesh_flow *f,
			      bool add)
{
	struct sk_buff *msg = cm_nl_ntf_alloc();

	if (msg)
		cm_nl_ntf_send(msg, cm_nl_fill_flow(msg, add ? CHAINMESH_CMD_FLOW_ADD_NTF :
						    CHAINMESH_CMD_FLOW_DEL_NTF,
						    0, 0, 0, NULL, m, f));
}

/* Dumps: every mesh, or the one the request names. */

struct cm_nl_dump_ctx {
	unsigned long mesh;	/* meshes done */
	unsigned long item;	/* next item of the current mesh */
};

typedef int (*cm_nl_dump_mesh_t)(struct sk_buff *skb, struct netlink_callback *cb,
				 struct cm_mesh *m, unsigned long *item);

static int cm_nl_dump(struct sk_buff *skb, struct netlink_callback *cb,
		      cm_nl_dump_mesh_t dump_mesh)
{
	struct nlattr *na = genl_dumpit_info(cb)->attrs[CHAINMESH_A_MESH_NAME];
	struct cm_nl_dump_ctx *ctx = (struct cm_nl_dump_ctx *)cb->ctx;
	unsigned long i = 0;
	struct cm_mesh *m;
	int err = 0;

	BUILD_BUG_ON(sizeof(*ctx) > sizeof(cb->ctx));

	mutex_lock(&cm_mesh_lock);
	cb->seq = cm_mesh_gen;
	if (na && !ctx->mesh && !ctx->item && !cm_mesh_find(nla_data(na))) {
		NL_SET_ERR_MSG_ATTR(cb->extack, na, "no such mesh");
		err = -ENODEV;
		goto out_unlock;
	}
	cm_for_each_mesh(m) {
		if (i++ < ctx->mesh)
			continue;
		if (!na || !strcmp(m->name, nla_data(na))) {
			err = dump_mesh(skb, cb, m, &ctx->item);
			if (err)
				break;
		}
		ctx->mesh++;
		ctx->item = 0;
	}
out_unlock:
	mutex_unlock(&cm_mesh_lock);

	/* A full skb is not an error: we are called again. */
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

static int cm_nl_dump_mesh(struct sk_buff *skb, struct netlink_callback *cb,
			   struct cm_mesh *m, unsigned long *item)
{
	return cm_nl_fill_mesh(skb, CHAINMESH_CMD_MESH_GET, NETLINK_CB(cb->skb).portid,
			       cb->nlh->nlmsg_seq, NLM_F_MULTI, cb, m);
}

static int cm_nl_dump_nodes(struct sk_buff *skb, struct netlink_callback *cb,
			    struct cm_mesh *m, unsigned long *item)
{
	int err;

	for (; *item < m->l.p.nodes; (*item)++) {
		err = cm_nl_fill_node(skb, CHAINMESH_CMD_NODE_GET, NETLINK_CB(cb->skb).portid,
				      cb->nlh->nlmsg_seq, NLM_F_MULTI, cb, m, *item);
		if (err)
			return err;
	}
	return 0;
}

static int cm_nl_dump_chains(struct sk_buff *skb, struct netlink_callback *cb,
			     struct cm_mesh *m, unsigned long *item)
{
	int err;

	for (; *item < CHAINMESH_MAX_CHAINS; (*item)++) {
		if (!m->chains[*item].used)
			continue;
		err = cm_nl_fill_chain(skb, CHAINMESH_CMD_CHAIN_GET, NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI, cb, m, *item);
		if (err)
			return err;
	}
	return 0;
}

static int cm_nl_dump_flows(struct sk_buff *skb, struct netlink_callback *cb,
			    struct cm_mesh *m, unsigned long *item)
{
	const struct chainmesh_flow *f;
	int err;

	/* By flow id, so that a batch resumes at the right flow. */
	for (; *item < m->l.p.max_flows; *item = le32_to_cpu(f->flow_id) + 1) {
		f = cm_mesh_flow_next(m, *item);
		if (!f)
			break;
		err = cm_nl_fill_flow(skb, CHAINMESH_CMD_FLOW_GET, NETLINK_CB(cb->skb).portid,
				      cb->nlh->nlmsg_seq, NLM_F_MULTI, cb, m, f);
		if (err)
			return err;
	}
	return 0;
}

static int cm_nl_mesh_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return cm_nl_dump(skb, cb, cm_nl_dump_mesh);
}

static int cm_nl_node_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return cm_nl_dump(skb, cb, cm_nl_dump_nodes);
}

static int cm_nl_chain_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return cm_nl_dump(skb, cb, cm_nl_dump_chains);
}

static int cm_nl_flow_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return cm_nl_dump(skb, cb, cm_nl_dump_flows);
}

/* Do: one reply built under the lock, sent after it. @fill finds what
 * the request names in @m (extack set when it is not there) and puts it
 * in @msg. */
typedef int (*cm_nl_get_fill_t)(struct sk_buff *msg, struct genl_info *info,
				struct cm_mesh *m, struct nlattr **tb);

static int cm_nl_get_reply(struct genl_info *info, struct nlattr **tb,
			   cm_nl_get_fill_t fill)
{
	struct sk_buff *msg;
	struct cm_mesh *m;
	int err;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;

	mutex_lock(&cm_mesh_lock);
	m = cm_nl_mesh(info);
	err = IS_ERR(m) ? PTR_ERR(m) : fill(msg, info, m, tb);
	mutex_unlock(&cm_mesh_lock);
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	return genlmsg_reply(msg, info);
}

static int cm_nl_mesh_get_one(struct sk_buff *msg, struct genl_info *info,
			      struct cm_mesh *m, struct nlattr **tb)
{
	return cm_nl_fill_mesh(msg, CHAINMESH_CMD_MESH_GET, info->snd_portid,
			       info->snd_seq, 0, NULL, m);
}

static int cm_nl_mesh_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return cm_nl_get_reply(info, NULL, cm_nl_mesh_get_one);
}

static int cm_nl_chain_get_one(struct sk_buff *msg, struct genl_info *info,
			       struct cm_mesh *m, struct nlattr **tb)
{
	u32 id = nla_get_u32(tb[CHAINMESH_CHAIN_A_ID]);

	if (!m->chains[id].used) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[CHAINMESH_CHAIN_A_ID], "no such chain");
		return -ENOENT;
	}
	return cm_nl_fill_chain(msg, CHAINMESH_CMD_CHAIN_GET, info->snd_portid,
				info->snd_seq, 0, NULL, m, id);
}

static int cm_nl_chain_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[CHAINMESH_CHAIN_A_MAX + 1];
	int err;

	err = cm_nl_parse_chain(info, tb, cm_chain_id_policy);
	return err ?: cm_nl_get_reply(info, tb, cm_nl_chain_get_one);
}

static int cm_nl_flow_get_one(struct sk_buff *msg, struct genl_info *info,
			      struct cm_mesh *m, struct nlattr **tb)
{
	const struct chainmesh_flow *f;

	f = cm_mesh_flow(m, nla_get_u32(tb[CHAINMESH_FLOW_A_ID]));
	if (!f) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[CHAINMESH_FLOW_A_ID], "no such flow");
		return -ENOENT;
	}
	return cm_nl_fill_flow(msg, CHAINMESH_CMD_FLOW_GET, info->snd_portid,
			       info->snd_seq, 0, NULL, m, f);
}

static int cm_nl_flow_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[CHAINMESH_FLOW_A_MAX + 1];
	int err;

	err = cm_nl_parse_flow(info, tb, cm_flow_id_policy);
	return err ?: cm_nl_get_reply(info, tb, cm_nl_flow_get_one);
}

/* Changes. The genetlink core refuses NLM_F_CREATE, NLM_F_EXCL and
 * NLM_F_REPLACE for a family that validates its header (every new one), so
 * a NEW for an id that exists is refused: delete it first, or, for a flow,
 * change it in place with FLOW_SET. */

static int cm_nl_chain_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[CHAINMESH_CHAIN_A_MAX + 1];
	DECLARE_BITMAP(seen, CHAINMESH_MAX_NODES);
	struct nlattr *hops;
	struct cm_chain c;
	struct cm_mesh *m;
	u32 id, i;
	int err;

	err = cm_nl_parse_chain(info, tb, cm_chain_policy);
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(extack, info->attrs[CHAINMESH_A_CHAIN], tb,
			      CHAINMESH_CHAIN_A_HOPS)) {
		NL_SET_ERR_MSG(extack, "chain hops are required");
		return -EINVAL;
	}
	id = nla_get_u32(tb[CHAINMESH_CHAIN_A_ID]);
	hops = tb[CHAINMESH_CHAIN_A_HOPS];

	memset(&c, 0, sizeof(c));
	c.used = 1;
	c.nhops = nla_len(hops);	/* 1..CHAINMESH_MAX_NODES by policy */
	memcpy(c.hops, nla_data(hops), c.nhops);
	if (tb[CHAINMESH_CHAIN_A_POLICY])
		c.policy = nla_get_u32(tb[CHAINMESH_CHAIN_A_POLICY]);
	if (tb[CHAINMESH_CHAIN_A_GROUPS]) {
		struct nlattr *ga = tb[CHAINMESH_CHAIN_A_GROUPS];

		c.grp = nla_get_u64(ga);
		switch (cm_chain_grp_check(&c)) {
		case CM_GRP_OK:
			break;
		case CM_GRP_FIRST:
			NL_SET_ERR_MSG_ATTR(extack, ga, "the first hop cannot continue a group");
			return -EINVAL;
		case CM_GRP_PAST:
			NL_SET_ERR_MSG_ATTR(extack, ga, "group map names a hop past the chain");
			return -EINVAL;
		default:
			NL_SET_ERR_MSG_ATTR(extack, ga, "a group has more than 8 replicas");
			return -EINVAL;
		}
	}

	mutex_lock(&cm_mesh_lock);
	m = cm_nl_mesh(info);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
		goto out_unlock;
	}

	bitmap_zero(seen, CHAINMESH_MAX_NODES);
	for (i = 0; i < c.nhops; i++) {
		if (c.hops[i] >= m->l.p.nodes) {
			NL_SET_ERR_MSG_ATTR(extack, hops, "hop is not a node of this mesh");
			err = -EINVAL;
			goto out_unlock;
		}
		if (__test_and_set_bit(c.hops[i], seen)) {
			NL_SET_ERR_MSG_ATTR(extack, hops, "node appears twice in the chain");
			err = -EINVAL;
			goto out_unlock;
		}
	}

	if (m->chains[id].used) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_CHAIN_A_ID], "chain exists");
		err = -EEXIST;
		goto out_unlock;
	}

	err = cm_mesh_set_chain(m, id, &c);
	if (err == -E2BIG) {
		NL_SET_ERR_MSG_ATTR(extack, hops, "a node's flow table would overflow");
		err = -ENOSPC;
	} else if (!err) {
		cm_nl_notify_chain(m, id, true);
	}
out_unlock:
	mutex_unlock(&cm_mesh_lock);
	return err;
}

/*
 * CHAIN_REBALANCE, CHAIN_DEL: the mesh, with cm_mesh_lock held, and in
 * @id the chain the request names, which exists; or an ERR_PTR, the lock
 * released.
 */
static struct cm_mesh *cm_nl_chain_lock(struct genl_info *info,
					struct nlattr **tb, u32 *id)
{
	struct cm_mesh *m;
	int err;

	err = cm_nl_parse_chain(info, tb, cm_chain_id_policy);
	if (err)
		return ERR_PTR(err);
	*id = nla_get_u32(tb[CHAINMESH_CHAIN_A_ID]);

	mutex_lock(&cm_mesh_lock);
	m = cm_nl_mesh(info);
	if (!IS_ERR(m) && !m->chains[*id].used) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[CHAINMESH_CHAIN_A_ID],
				    "no such chain");
		m = ERR_PTR(-ENOENT);
	}
	if (IS_ERR(m))
		mutex_unlock(&cm_mesh_lock);
	return m;
}

static int cm_nl_chain_rebalance_doit(struct sk_buff *skb,
				      struct genl_info *info)
{
	struct nlattr *tb[CHAINMESH_CHAIN_A_MAX + 1];
	struct cm_mesh *m;
	u32 id;

	m = cm_nl_chain_lock(info, tb, &id);
	if (IS_ERR(m))
		return PTR_ERR(m);
	cm_mesh_rebalance_chain(m, id);
	cm_nl_notify_chain(m, id, true);
	mutex_unlock(&cm_mesh_lock);
	return 0;
}

static int cm_nl_chain_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[CHAINMESH_CHAIN_A_MAX + 1];
	struct cm_mesh *m;
	int err = 0;
	u32 id;

	m = cm_nl_chain_lock(info, tb, &id);
	if (IS_ERR(m))
		return PTR_ERR(m);
	if (cm_mesh_chain_in_use(m, id)) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[CHAINMESH_CHAIN_A_ID],
				    "chain is used by a flow: delete the flow first");
		err = -EBUSY;
		goto out_unlock;
	}
	cm_nl_notify_chain(m, id, false);
	cm_mesh_del_chain(m, id);
out_unlock:
	mutex_unlock(&cm_mesh_lock);
	return err;
}

/* An address and its prefix length, into the flow's value and mask. */
static int cm_nl_flow_addr(struct netlink_ext_ack *extack, u8 family,
			   struct nlattr *addr, struct nlattr *prefix,
			   __be32 val[4], __be32 mask[4])
{
	u32 alen = family == 6 ? 16 : 4;
	u32 plen;
	int i;

	if (!addr) {
		if (prefix) {
			NL_SET_ERR_MSG_ATTR(extack, prefix, "prefix length without an address");
			return -EINVAL;
		}
		return 0;
	}
	if (!family || nla_len(addr) != alen) {
		NL_SET_ERR_MSG_ATTR(extack, addr, "address does not match the flow's family");
		return -EINVAL;
	}
	plen = prefix ? nla_get_u8(prefix) : alen * 8;
	if (plen > alen * 8) {
		NL_SET_ERR_MSG_ATTR(extack, prefix, "prefix length is longer than the address");
		return -EINVAL;
	}
	memcpy(val, nla_data(addr), alen);
	cm_prefix_mask(plen, mask);
	for (i = 0; i < 4; i++) {
		if (val[i] & ~mask[i]) {
			NL_SET_ERR_MSG_ATTR(extack, addr, "address has bits set beyond its prefix length");
			return -EINVAL;
		}
	}
	return 0;
}

/* A port and its mask (all ones when not given). */
static int cm_nl_flow_port(struct netlink_ext_ack *extack, u8 proto,
			   struct nlattr *port, struct nlattr *mask_attr,
			   __be16 *val, __be16 *mask)
{
	u16 v, m;

	if (!port && !mask_attr)
		return 0;
	if (proto && proto != IPPROTO_TCP && proto != IPPROTO_UDP &&
	    proto != IPPROTO_SCTP) {
		NL_SET_ERR_MSG_ATTR(extack, port ?: mask_attr,
				    "ports need protocol tcp, udp or sctp");
		return -EINVAL;
	}
	v = port ? nla_get_u16(port) : 0;
	m = mask_attr ? nla_get_u16(mask_attr) : 0xffff;
	if (v & ~m) {
		NL_SET_ERR_MSG_ATTR(extack, port, "port has bits set beyond its mask");
		return -EINVAL;
	}
	*val = cpu_to_be16(v);
	*mask = cpu_to_be16(m);
	return 0;
}

/* The id of a flow nest, which must be below the mesh's max_flows: the
 * policy only knows CHAINMESH_MAX_FLOWS. */
static int cm_nl_flow_id(struct cm_mesh *m, struct nlattr **tb,
			 struct netlink_ext_ack *extack, u32 *id)
{
	*id = nla_get_u32(tb[CHAINMESH_FLOW_A_ID]);
	if (*id >= m->l.p.max_flows) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_FLOW_A_ID],
				    "flow id is not below the mesh's max flows");
		return -ERANGE;
	}
	return 0;
}

/* Build a flow from the attributes @tb of its nest @nest; cm_mesh_lock
 * held (the chain must exist). */
static int cm_nl_flow_build(struct cm_mesh *m, const struct nlattr *nest,
			    struct nlattr **tb, struct netlink_ext_ack *extack,
			    struct chainmesh_flow *f)
{
	struct nlattr *src = tb[CHAINMESH_FLOW_A_SRC];
	struct nlattr *dst = tb[CHAINMESH_FLOW_A_DST];
	u32 chain, id;
	int err;

	memset(f, 0, sizeof(*f));
	if (NL_REQ_ATTR_CHECK(extack, nest, tb, CHAINMESH_FLOW_A_CHAIN)) {
		NL_SET_ERR_MSG(extack, "flow chain is required");
		return -EINVAL;
	}
	err = cm_nl_flow_id(m, tb, extack, &id);
	if (err)
		return err;
	chain = nla_get_u32(tb[CHAINMESH_FLOW_A_CHAIN]);
	if (!m->chains[chain].used) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_FLOW_A_CHAIN], "no such chain");
		return -ENOENT;
	}
	f->flow_id = cpu_to_le32(id);
	f->chain = cpu_to_le16(chain);
	if (tb[CHAINMESH_FLOW_A_PRIORITY])
		f->priority = cpu_to_le16(nla_get_u16(tb[CHAINMESH_FLOW_A_PRIORITY]));

	/* The family is the one given, else the addresses'. */
	if (tb[CHAINMESH_FLOW_A_FAMILY]) {
		f->family = nla_get_u8(tb[CHAINMESH_FLOW_A_FAMILY]);
		if (f->family != 0 && f->family != 4 && f->family != 6) {
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_FLOW_A_FAMILY],
					    "family must be 0 (any), 4 or 6");
			return -EINVAL;
		}
	} else if (src || dst)
		f->family = nla_len(src ?: dst) == 16 ? 6 : 4;

	err = cm_nl_flow_addr(extack, f->family, src, tb[CHAINMESH_FLOW_A_SRC_PREFIX],
			      f->src, f->src_mask);
	if (err)
		return err;
	err = cm_nl_flow_addr(extack, f->family, dst, tb[CHAINMESH_FLOW_A_DST_PREFIX],
			      f->dst, f->dst_mask);
	if (err)
		return err;

	if (tb[CHAINMESH_FLOW_A_PROTO])
		f->ip_proto = nla_get_u8(tb[CHAINMESH_FLOW_A_PROTO]);
	err = cm_nl_flow_port(extack, f->ip_proto, tb[CHAINMESH_FLOW_A_SPORT],
			      tb[CHAINMESH_FLOW_A_SPORT_MASK], &f->sport, &f->sport_mask);
	if (err)
		return err;
	err = cm_nl_flow_port(extack, f->ip_proto, tb[CHAINMESH_FLOW_A_DPORT],
			      tb[CHAINMESH_FLOW_A_DPORT_MASK], &f->dport, &f->dport_mask);
	if (err)
		return err;

	if (tb[CHAINMESH_FLOW_A_VLAN])
		f->vlan = cpu_to_be16(nla_get_u16(tb[CHAINMESH_FLOW_A_VLAN]));
	return 0;
}

static int cm_nl_flow_id_cmp(const void *a, const void *b)
{
	u32 x = le32_to_cpu(((const struct chainmesh_flow *)a)->flow_id);
	u32 y = le32_to_cpu(((const struct chainmesh_flow *)b)->flow_id);

	return x < y ? -1 : x > y;
}

/* FLOW_SET: the whole flow from the request, in one change. NLM_F_REPLACE
 * is refused by the core for this family: an op of its own. */
static int cm_nl_flow_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[CHAINMESH_FLOW_A_MAX + 1];
	struct chainmesh_flow f;
	struct cm_mesh *m;
	int err;

	err = cm_nl_parse_flow(info, tb, cm_flow_policy);
	if (err)
		return err;

	mutex_lock(&cm_mesh_lock);
	m = cm_nl_mesh(info);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
		goto out_unlock;
	}
	err = cm_nl_flow_build(m, info->attrs[CHAINMESH_A_FLOW], tb, extack, &f);
	if (err)
		goto out_unlock;
	if (!cm_mesh_flow(m, le32_to_cpu(f.flow_id))) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_FLOW_A_ID], "no such flow");
		err = -ENOENT;
		goto out_unlock;
	}
	err = cm_mesh_set_flow(m, &f);
	if (err == -E2BIG) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_FLOW_A_CHAIN],
				    "a node's flow table would overflow");
		err = -ENOSPC;
	} else if (!err) {
		cm_nl_notify_flow(m, cm_mesh_flow(m, le32_to_cpu(f.flow_id)), true);
	}
out_unlock:
	mutex_unlock(&cm_mesh_lock);
	return err;
}

static int cm_nl_u32_cmp(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/*
 * A batch request (FLOW_NEW, FLOW_DEL): every flow nest parsed by @one
 * into an array of elements of @size, sorted by @cmp (by flow id); a flow
 * id twice is refused. The array is sized by what the mesh holds, not by
 * what a message may carry. Called under cm_mesh_lock; *@out is the
 * caller's to kvfree() whatever the result.
 */
typedef int (*cm_nl_batch_one_t)(struct cm_mesh *m, const struct nlattr *attr,
				 struct nlattr **tb, struct netlink_ext_ack *extack,
				 void *elem);

static int cm_nl_flow_batch(struct genl_info *info, struct cm_mesh *m,
			    const struct nla_policy *policy, struct nlattr **tb,
			    size_t size, cm_nl_batch_one_t one, cmp_func_t cmp,
			    void **out, u32 *nout)
{
	const struct nlattr *attr;
	u32 n, i = 0;
	int rem, err;
	char *v;

	*out = NULL;
	n = cm_nl_count_flows(info);
	err = cm_nl_batch_fits(m, n, info);
	if (err)
		return err;
	v = kvmalloc_array(n, size, GFP_KERNEL);
	if (!v)
		return -ENOMEM;
	*out = v;
	nlmsg_for_each_attr(attr, info->nlhdr, GENL_HDRLEN, rem) {
		if (nla_type(attr) != CHAINMESH_A_FLOW)
			continue;
		err = cm_nl_parse_nest_at(attr, tb, false, policy, info->extack);
		if (err)
			return err;
		err = one(m, attr, tb, info->extack, v + i * size);
		if (err)
			return err;
		i++;
	}
	sort(v, n, size, cmp, NULL);
	for (i = 1; i < n; i++) {
		if (!cmp(v + i * size, v + (i - 1) * size)) {
			GENL_SET_ERR_MSG(info, "a flow id appears twice in the request");
			return -EINVAL;
		}
	}
	*nout = n;
	return 0;
}

static int cm_nl_flow_new_one(struct cm_mesh *m, const struct nlattr *attr,
			      struct nlattr **tb, struct netlink_ext_ack *extack,
			      void *elem)
{
	struct chainmesh_flow *f = elem;
	int err;

	err = cm_nl_flow_build(m, attr, tb, extack, f);
	if (err)
		return err;
	if (cm_mesh_flow(m, le32_to_cpu(f->flow_id))) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_FLOW_A_ID],
				    "flow exists: use flow set to change it");
		return -EEXIST;
	}
	return 0;
}

/*
 * FLOW_NEW: every flow nest of the request (one, or a batch), each built
 * and checked, then all added in one change of the nodes' tables, or
 * none.
 */
static int cm_nl_flow_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *tb[CHAINMESH_FLOW_A_MAX + 1];
	struct chainmesh_flow *add = NULL;
	struct cm_mesh *m;
	u32 n, i;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, CHAINMESH_A_FLOW)) {
		GENL_SET_ERR_MSG(info, "flow attributes are required");
		return -EINVAL;
	}

	mutex_lock(&cm_mesh_lock);
	m = cm_nl_mesh(info);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
		goto out_unlock;
	}
	err = cm_nl_flow_batch(info, m, cm_flow_policy, tb, sizeof(*add),
			       cm_nl_flow_new_one, cm_nl_flow_id_cmp,
			       (void **)&add, &n);
	if (err)
		goto out_unlock;

	err = cm_mesh_add_flows(m, add, n);
	if (err == -E2BIG) {
		if (n == 1)
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_FLOW_A_CHAIN],
					    "a node's flow table would overflow");
		else
			NL_SET_ERR_MSG(extack, "a node's flow table would overflow");
		err = -ENOSPC;
	} else if (!err) {
		for (i = 0; i < n; i++)
			cm_nl_notify_flow(m, cm_mesh_flow(m, le32_to_cpu(add[i].flow_id)),
					  true);
	}
out_unlock:
	mutex_unlock(&cm_mesh_lock);
	kvfree(add);
	return err;
}

static int cm_nl_flow_del_one(struct cm_mesh *m, const struct nlattr *attr,
			      struct nlattr **tb, struct netlink_ext_ack *extack,
			      void *elem)
{
	u32 *id = elem;

	*id = nla_get_u32(tb[CHAINMESH_FLOW_A_ID]);
	if (!cm_mesh_flow(m, *id)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_FLOW_A_ID], "no such flow");
		return -ENOENT;
	}
	return 0;
}

/* FLOW_DEL: every flow nest of the request (one, or a batch), all
 * deleted in one change, or none. */
static int cm_nl_flow_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *tb[CHAINMESH_FLOW_A_MAX + 1];
	struct cm_mesh *m;
	u32 n, i, *ids = NULL;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, CHAINMESH_A_FLOW)) {
		GENL_SET_ERR_MSG(info, "flow attributes are required");
		return -EINVAL;
	}

	mutex_lock(&cm_mesh_lock);
	m = cm_nl_mesh(info);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
		goto out_unlock;
	}
	err = cm_nl_flow_batch(info, m, cm_flow_id_policy, tb, sizeof(*ids),
			       cm_nl_flow_del_one, cm_nl_u32_cmp,
			       (void **)&ids, &n);
	if (err)
		goto out_unlock;
	for (i = 0; i < n; i++)
		cm_nl_notify_flow(m, cm_mesh_flow(m, ids[i]), false);
	cm_mesh_del_flows(m, ids, n);
out_unlock:
	mutex_unlock(&cm_mesh_lock);
	kvfree(ids);
	return err;
}

/* Meshes of the real backing: the region is ours to allocate. */

static int cm_nl_mesh_u32(struct genl_info *info, int type, u32 def)
{
	return info->attrs[type] ? nla_get_u32(info->attrs[type]) : def;
}

static int cm_nl_mesh_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct cm_layout_params p;

	if (GENL_REQ_ATTR_CHECK(info, CHAINMESH_A_MESH_NAME)) {
		GENL_SET_ERR_MSG(info, "mesh name is required");
		return -EINVAL;
	}
	if (GENL_REQ_ATTR_CHECK(info, CHAINMESH_A_MESH_NODES)) {
		GENL_SET_ERR_MSG(info, "node count is required");
		return -EINVAL;
	}
	p.nodes = nla_get_u32(info->attrs[CHAINMESH_A_MESH_NODES]);
	p.ring_slots = cm_nl_mesh_u32(info, CHAINMESH_A_MESH_RING_SLOTS,
				      CM_DEF_RING_SLOTS);
	p.buf_size = cm_nl_mesh_u32(info, CHAINMESH_A_MESH_BUF_SIZE, CM_DEF_BUF_SIZE);
	p.bufs_per_node = cm_nl_mesh_u32(info, CHAINMESH_A_MESH_BUFS_PER_NODE,
					 CM_DEF_BUFS_PER_NODE);
	p.max_flows = cm_nl_mesh_u32(info, CHAINMESH_A_MESH_MAX_FLOWS, CM_DEF_MAX_FLOWS);
	p.queues = cm_nl_mesh_u32(info, CHAINMESH_A_MESH_QUEUES, CM_DEF_QUEUES);
	if (p.bufs_per_node % p.queues) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[CHAINMESH_A_MESH_QUEUES],
				    "queues must divide the buffers per node");
		return -EINVAL;
	}
	if (!is_power_of_2(p.ring_slots)) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[CHAINMESH_A_MESH_RING_SLOTS],
				    "ring slots must be a power of two");
		return -EINVAL;
	}
	if (!is_power_of_2(p.buf_size)) {
		NL_SET_ERR_MSG_ATTR(extack, info->attrs[CHAINMESH_A_MESH_BUF_SIZE],
				    "buffer size must be a power of two");
		return -EINVAL;
	}
	return cm_shm_mesh_add(nla_data(info->attrs[CHAINMESH_A_MESH_NAME]), &p, extack);
}

static int cm_nl_mesh_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	if (GENL_REQ_ATTR_CHECK(info, CHAINMESH_A_MESH_NAME)) {
		GENL_SET_ERR_MSG(info, "mesh name is required");
		return -EINVAL;
	}
	return cm_shm_mesh_del(nla_data(info->attrs[CHAINMESH_A_MESH_NAME]),
			       info->extack);
}

static const struct genl_ops cm_genl_ops[] = {
	{
		.cmd = CHAINMESH_CMD_MESH_GET,
		.doit = cm_nl_mesh_get_doit,
		.dumpit = cm_nl_mesh_dumpit,
		.policy = cm_mesh_policy,
		.maxattr = CHAINMESH_A_MAX,
	},
	{
		.cmd = CHAINMESH_CMD_NODE_GET,
		.dumpit = cm_nl_node_dumpit,
		.policy = cm_mesh_policy,
		.maxattr = CHAINMESH_A_MAX,
	},
	{
		.cmd = CHAINMESH_CMD_CHAIN_NEW,
		.doit = cm_nl_chain_new_doit,
		.policy = cm_chain_new_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_CHAIN_DEL,
		.doit = cm_nl_chain_del_doit,
		.policy = cm_chain_ref_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_CHAIN_GET,
		.doit = cm_nl_chain_get_doit,
		.dumpit = cm_nl_chain_dumpit,
		.policy = cm_chain_ref_policy,
		.maxattr = CHAINMESH_A_MAX,
	},
	{
		.cmd = CHAINMESH_CMD_FLOW_NEW,
		.doit = cm_nl_flow_new_doit,
		.policy = cm_flow_new_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_FLOW_DEL,
		.doit = cm_nl_flow_del_doit,
		.policy = cm_flow_ref_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_FLOW_GET,
		.doit = cm_nl_flow_get_doit,
		.dumpit = cm_nl_flow_dumpit,
		.policy = cm_flow_ref_policy,
		.maxattr = CHAINMESH_A_MAX,
	},
	{
		.cmd = CHAINMESH_CMD_FLOW_SET,
		.doit = cm_nl_flow_set_doit,
		.policy = cm_flow_new_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_MESH_NEW,
		.doit = cm_nl_mesh_new_doit,
		.policy = cm_mesh_new_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_MESH_DEL,
		.doit = cm_nl_mesh_del_doit,
		.policy = cm_mesh_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_CHAIN_REBALANCE,
		.doit = cm_nl_chain_rebalance_doit,
		.policy = cm_chain_ref_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_REMOTE_NEW,
		.doit = cm_remote_new_doit,
		.policy = cm_remote_new_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_REMOTE_DEL,
		.doit = cm_remote_del_doit,
		.policy = cm_remote_new_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_REMOTE_GET,
		.dumpit = cm_remote_dumpit,
		.policy = cm_mesh_policy,
		.maxattr = CHAINMESH_A_MAX,
	},
	{
		.cmd = CHAINMESH_CMD_RCHAIN_NEW,
		.doit = cm_rchain_new_doit,
		.policy = cm_rchain_new_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_RCHAIN_DEL,
		.doit = cm_rchain_del_doit,
		.policy = cm_rchain_new_policy,
		.maxattr = CHAINMESH_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = CHAINMESH_CMD_RCHAIN_GET,
		.dumpit = cm_rchain_dumpit,
		.policy = cm_mesh_policy,
		.maxattr = CHAINMESH_A_MAX,
	},
};

static struct genl_family cm_genl_family __ro_after_init = {
	.name = CHAINMESH_GENL_NAME,
	.version = CHAINMESH_GENL_VERSION,
	.maxattr = CHAINMESH_A_MAX,
	.module = THIS_MODULE,
	.ops = cm_genl_ops,
	.n_ops = ARRAY_SIZE(cm_genl_ops),
	.mcgrps = cm_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(cm_nl_mcgrps),
};

int __init cm_genl_init(void)
{
	int err;

	err = genl_register_family(&cm_genl_family);
	if (err)
		return err;
	mutex_lock(&cm_mesh_lock);
	cm_nl_live = true;
	mutex_unlock(&cm_mesh_lock);
	return 0;
}

void cm_genl_exit(void)
{
	mutex_lock(&cm_mesh_lock);
	cm_nl_live = false;
	mutex_unlock(&cm_mesh_lock);
	genl_unregister_family(&cm_genl_family);
}
