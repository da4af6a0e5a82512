// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh node: the nodes of a mesh, their state and counters.
 */
#include <inttypes.h>

#include <linux/netlink.h>

#include <chainmesh/layout.h>

#include "chainmesh.h"
#include "json.h"

const char node_usage[] =
"  chainmesh [-j] node show [mesh NAME]\n"
"      Show every node of the mesh: state (absent, joining, up, down,\n"
"      broken; 'down' is the host's verdict on a node whose heartbeat\n"
"      stopped), join epoch, heartbeat, MAC and the node's counters.\n";

int print_node(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_NODE_A_MAX + 1];
	const struct nlattr *ma;
	const uint8_t *m = (const uint8_t *)"\0\0\0\0\0\0";
	char mac[18];

	(void)data;
	cm_parse(nlh, top, CHAINMESH_A_MAX);
	cm_parse_nested(top[CHAINMESH_A_NODE], tb, CHAINMESH_NODE_A_MAX);
	ma = tb[CHAINMESH_NODE_A_MAC];
	if (ma && mnl_attr_get_payload_len(ma) == 6)
		m = mnl_attr_get_payload(ma);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);

	if (json) {
		j_open(NULL, '{');
		j_uint("id", a_u32(tb[CHAINMESH_NODE_A_ID]));
		if (a_u32(tb[CHAINMESH_NODE_A_STATE]) <= CHAINMESH_NODE_BROKEN)
			j_str("state", cm_node_state_name(a_u32(tb[CHAINMESH_NODE_A_STATE])));
		j_uint("epoch", a_u32(tb[CHAINMESH_NODE_A_EPOCH]));
		j_uint("heartbeat", a_u64(tb[CHAINMESH_NODE_A_HEARTBEAT]));
		j_str("mac", mac);
		j_uint("rx_packets", a_u64(tb[CHAINMESH_NODE_A_RX_PACKETS]));
		j_uint("rx_bytes", a_u64(tb[CHAINMESH_NODE_A_RX_BYTES]));
		j_uint("tx_packets", a_u64(tb[CHAINMESH_NODE_A_TX_PACKETS]));
		j_uint("tx_bytes", a_u64(tb[CHAINMESH_NODE_A_TX_BYTES]));
		j_uint("drops", a_u64(tb[CHAINMESH_NODE_A_DROPS]));
		j_uint("bad_desc", a_u64(tb[CHAINMESH_NODE_A_BAD_DESC]));
		j_close('}');
		return MNL_CB_OK;
	}
	printf("node %u state %s epoch %u heartbeat %" PRIu64 " mac %s"
	       " rx %" PRIu64 " packets %" PRIu64 " bytes"
	       " tx %" PRIu64 " packets %" PRIu64 " bytes"
	       " drops %" PRIu64 " bad %" PRIu64 "\n",
	       a_u32(tb[CHAINMESH_NODE_A_ID]),
	       cm_node_state_name(a_u32(tb[CHAINMESH_NODE_A_STATE])),
	       a_u32(tb[CHAINMESH_NODE_A_EPOCH]),
	       a_u64(tb[CHAINMESH_NODE_A_HEARTBEAT]), mac,
	       a_u64(tb[CHAINMESH_NODE_A_RX_PACKETS]),
	       a_u64(tb[CHAINMESH_NODE_A_RX_BYTES]),
	       a_u64(tb[CHAINMESH_NODE_A_TX_PACKETS]),
	       a_u64(tb[CHAINMESH_NODE_A_TX_BYTES]),
	       a_u64(tb[CHAINMESH_NODE_A_DROPS]),
	       a_u64(tb[CHAINMESH_NODE_A_BAD_DESC]));
	return MNL_CB_OK;
}

static void node_show(struct cm_cmd *c)
{
	obj_show(c, CHAINMESH_CMD_NODE_GET, print_node, "node show");
}

static const struct cm_verb node_verbs[] = {
	{ "show", false, node_show },
	{ "list", false, node_show },
	{ NULL }
};

void do_node(struct cm_cmd *c)
{
	cm_run_verb(c, node_verbs);
}
