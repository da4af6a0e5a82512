// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh monitor: one line (or JSON object) per notification of the
 * family's monitor group.
 */
#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "chainmesh.h"
#include "json.h"

const char monitor_usage[] =
"  chainmesh [-j] monitor\n"
"      Print changes as they happen: meshes added and deleted, node state\n"
"      changes (up, down, ...), chains and flows added and deleted, chains\n"
"      whose live replicas changed (as chain-add), remote peers and remote\n"
"      chain mappings added and deleted.\n";

static int print_event(const struct nlmsghdr *nlh, void *data)
{
	static const struct {
		uint8_t cmd;
		const char *name;
		mnl_cb_t print;
	} evs[] = {
		{ CHAINMESH_CMD_MESH_ADD_NTF, "mesh-add", print_mesh },
		{ CHAINMESH_CMD_MESH_DEL_NTF, "mesh-del", print_mesh },
		{ CHAINMESH_CMD_NODE_CHANGE_NTF, "node-change", print_node },
		{ CHAINMESH_CMD_CHAIN_ADD_NTF, "chain-add", print_chain },
		{ CHAINMESH_CMD_CHAIN_DEL_NTF, "chain-del", print_chain },
		{ CHAINMESH_CMD_FLOW_ADD_NTF, "flow-add", print_flow },
		{ CHAINMESH_CMD_FLOW_DEL_NTF, "flow-del", print_flow },
		{ CHAINMESH_CMD_REMOTE_ADD_NTF, "remote-add", print_remote },
		{ CHAINMESH_CMD_REMOTE_DEL_NTF, "remote-del", print_remote },
		{ CHAINMESH_CMD_RCHAIN_ADD_NTF, "rchain-add", print_rchain },
		{ CHAINMESH_CMD_RCHAIN_DEL_NTF, "rchain-del", print_rchain },
	};
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *tb[CHAINMESH_A_MAX + 1];
	size_t i;

	(void)data;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*g))
		return MNL_CB_OK;
	for (i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i].cmd == g->cmd)
			break;
	if (i == sizeof(evs) / sizeof(evs[0]))
		return MNL_CB_OK;
	cm_parse(nlh, tb, CHAINMESH_A_MAX);
	if (json) {
		j_open(NULL, '{');
		j_str("event", evs[i].name);
		if (tb[CHAINMESH_A_MESH_NAME])
			j_str("mesh", a_str(tb[CHAINMESH_A_MESH_NAME]));
		/* The object, as a member of ours. */
		j_member("data");
		evs[i].print(nlh, NULL);
		j_close('}');
	} else {
		printf("[%s] ", evs[i].name);
		if (evs[i].print != print_mesh)
			printf("mesh %s ", a_str(tb[CHAINMESH_A_MESH_NAME]));
		evs[i].print(nlh, NULL);
	}
	fflush(stdout);
	return MNL_CB_OK;
}

void do_monitor(struct cm_cmd *c)
{
	const char *cmd = next_arg(c);
	unsigned int grp;
	ssize_t n;
	int ret;

	if (cmd && matches(cmd, "help"))
		cm_help(c);
	if (cmd)
		usage_fail("monitor", "unexpected argument '%s'", cmd);
	cm_open(&c->nl);
	if (!c->nl.mcgrp_monitor)
		fail("the kernel has no '%s' group: chainmesh_host too old?",
		     CHAINMESH_MCGRP_MONITOR);
	grp = c->nl.mcgrp_monitor;
	if (mnl_socket_setsockopt(c->nl.sk, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) < 0)
		fail("cannot join the monitor group: %s", strerror(errno));
	for (;;) {
		n = mnl_socket_recvfrom(c->nl.sk, c->nl.buf, sizeof(c->nl.buf));
		if (n < 0) {
			if (errno == ENOBUFS) {
				fprintf(stderr, "%s: events lost (ENOBUFS)\n", prog);
				continue;
			}
			fail("monitor: %s", strerror(errno));
		}
		ret = mnl_cb_run(c->nl.buf, n, 0, 0, print_event, NULL);
		if (ret < 0)
			fail("monitor: %s", strerror(errno));
	}
}
