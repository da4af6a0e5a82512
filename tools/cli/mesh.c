// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh mesh: show, add and delete meshes; the QEMU options of a
 * guest node.
 */
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include <net/if.h>

#include <linux/netlink.h>

#include "chainmesh.h"
#include "json.h"

const char mesh_usage[] =
"  chainmesh [-j] mesh show [NAME]\n"
"      Show every mesh, or mesh NAME: its node count, ring slots, buffer\n"
"      size and count per node, flow table size, queues, region size,\n"
"      mesh id, backing (shmem or ivshmem) and node 0's interface.\n"
"  chainmesh mesh add NAME nodes N [ring-slots S] [buf-size B]\n"
"                [bufs-per-node K] [max-flows F] [queues Q]\n"
"      Create mesh NAME in host memory, N nodes with the host as node 0\n"
"      (interface cmh-NAME). Defaults: ring-slots 256, buf-size 2048,\n"
"      bufs-per-node 512, max-flows 256, queues 1. Q queues (1..8,\n"
"      dividing K): Q data and return rings per pair of nodes, Q\n"
"      doorbell vectors per node. The ivshmem daemon takes the\n"
"      region from /dev/chainmesh and hands it to the QEMU guests.\n"
"  chainmesh mesh del NAME\n"
"      Delete mesh NAME (host memory meshes only).\n"
"  chainmesh mesh qemu-args NAME node N [socket PATH]\n"
"      Print the QEMU options that make a guest node N of mesh NAME: the\n"
"      daemon's socket (default " CM_DAEMON_SOCK_FMT ") and an\n"
"      ivshmem-doorbell device with a vector per queue. The daemon gives\n"
"      ids in connection order: start node N's QEMU after nodes 1..N-1.\n"
"  chainmesh mesh libvirt-xml NAME node N [socket PATH]\n"
"      Print the libvirt <shmem> element that makes a domain guest node N\n"
"      of mesh NAME (in the domain's <devices>): ivshmem-doorbell, the\n"
"      daemon's socket as server (default " CM_DAEMON_SOCK_FMT "), its\n"
"      MSI vectors (one per queue). The same device as qemu-args.\n";

/* NULL when the kernel did not say (then JSON leaves the key out). */
static const char *backing_name(const struct nlattr *a)
{
	if (!a)
		return NULL;
	return a_u32(a) == CHAINMESH_BACKING_SHMEM ? "shmem" : "ivshmem";
}

int print_mesh(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CHAINMESH_A_MAX + 1];
	char ifname[IF_NAMESIZE] = "";
	const char *backing;

	(void)data;
	cm_parse(nlh, tb, CHAINMESH_A_MAX);
	/* The interface may be in another namespace, or gone. */
	if (tb[CHAINMESH_A_MESH_IFINDEX] &&
	    !if_indextoname(a_u32(tb[CHAINMESH_A_MESH_IFINDEX]), ifname))
		ifname[0] = '\0';
	backing = backing_name(tb[CHAINMESH_A_MESH_BACKING]);
	if (json) {
		j_open(NULL, '{');
		j_str("name", a_str(tb[CHAINMESH_A_MESH_NAME]));
		j_uint("nodes", a_u32(tb[CHAINMESH_A_MESH_NODES]));
		j_uint("ring_slots", a_u32(tb[CHAINMESH_A_MESH_RING_SLOTS]));
		j_uint("buf_size", a_u32(tb[CHAINMESH_A_MESH_BUF_SIZE]));
		j_uint("bufs_per_node", a_u32(tb[CHAINMESH_A_MESH_BUFS_PER_NODE]));
		j_uint("max_flows", a_u32(tb[CHAINMESH_A_MESH_MAX_FLOWS]));
		if (tb[CHAINMESH_A_MESH_QUEUES])
			j_uint("queues", a_u32(tb[CHAINMESH_A_MESH_QUEUES]));
		j_uint("region_size", a_u64(tb[CHAINMESH_A_MESH_REGION_SIZE]));
		j_uint("mesh_id", a_u32(tb[CHAINMESH_A_MESH_ID]));
		if (backing)
			j_str("backing", backing);
		if (ifname[0])
			j_str("ifname", ifname);
		j_close('}');
		return MNL_CB_OK;
	}
	printf("mesh %s nodes %u ring_slots %u buf_size %u bufs_per_node %u max_flows %u",
	       a_str(tb[CHAINMESH_A_MESH_NAME]),
	       a_u32(tb[CHAINMESH_A_MESH_NODES]),
	       a_u32(tb[CHAINMESH_A_MESH_RING_SLOTS]),
	       a_u32(tb[CHAINMESH_A_MESH_BUF_SIZE]),
	       a_u32(tb[CHAINMESH_A_MESH_BUFS_PER_NODE]),
	       a_u32(tb[CHAINMESH_A_MESH_MAX_FLOWS]));
	if (tb[CHAINMESH_A_MESH_QUEUES])
		printf(" queues %u", a_u32(tb[CHAINMESH_A_MESH_QUEUES]));
	printf(" region_size %" PRIu64 " id 0x%08x",
	       a_u64(tb[CHAINMESH_A_MESH_REGION_SIZE]),
	       a_u32(tb[CHAINMESH_A_MESH_ID]));
	if (backing)
		printf(" backing %s", backing);
	printf(" dev %s\n", ifname[0] ? ifname : "-");
	return MNL_CB_OK;
}

static void mesh_show(struct cm_cmd *c)
{
	const char *name = next_arg(c);
	struct nlmsghdr *nlh;

	if (name && !strcmp(name, "mesh"))
		name = next_arg(c);
	if (name)
		parse_name("mesh", name);
	if (c->argc)
		usage_fail("mesh", "unexpected argument '%s'", c->argv[0]);
	/* the socket in the initial namespace, the names in -n's */
	cm_netns_ok = true;
	cm_open(&c->nl);
	cm_netns_enter("mesh show");
	nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_MESH_GET,
		     name ? NLM_F_ACK : NLM_F_DUMP);
	if (name)
		mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	cm_show(c, nlh, print_mesh, "mesh show");
}

static void mesh_add(struct cm_cmd *c)
{
	static const struct {
		const char *kw;
		uint16_t type;
		unsigned long max;
	} opts[] = {
		{ "nodes", CHAINMESH_A_MESH_NODES, CHAINMESH_MAX_NODES },
		{ "ring-slots", CHAINMESH_A_MESH_RING_SLOTS, UINT32_MAX },
		{ "buf-size", CHAINMESH_A_MESH_BUF_SIZE, UINT32_MAX },
		{ "bufs-per-node", CHAINMESH_A_MESH_BUFS_PER_NODE, UINT32_MAX },
		{ "max-flows", CHAINMESH_A_MESH_MAX_FLOWS, UINT32_MAX },
		{ "queues", CHAINMESH_A_MESH_QUEUES, UINT32_MAX },
	};
	struct nlmsghdr *nlh;
	bool nodes = false;
	const char *name;
	size_t i;
	char *arg;

	name = parse_name("mesh", next_arg(c));
	nlh = cm_msg(c->nl.req, 0, CHAINMESH_CMD_MESH_NEW, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	while ((arg = next_arg(c))) {
		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
			if (matches(arg, opts[i].kw))
				break;
		if (i == sizeof(opts) / sizeof(opts[0]))
			usage_fail("mesh", "unexpected argument '%s'", arg);
		mnl_attr_put_u32(nlh, opts[i].type,
				 parse_ulong("mesh", opts[i].kw, next_arg(c), opts[i].max));
		nodes |= opts[i].type == CHAINMESH_A_MESH_NODES;
	}
	if (!nodes)
		usage_fail("mesh", "mesh add: 'nodes N' is required");
	cm_open(&c->nl);
	nlh->nlmsg_type = c->nl.family;
	cm_change(c, nlh, "mesh add");
}

static void mesh_del(struct cm_cmd *c)
{
	const char *name = parse_name("mesh", next_arg(c));
	struct nlmsghdr *nlh;

	if (c->argc)
		usage_fail("mesh", "unexpected argument '%s'", c->argv[0]);
	cm_open(&c->nl);
	nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_MESH_DEL, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	cm_change(c, nlh, "mesh del");
}

/*
 * MSI-X vectors of a guest's ivshmem-doorbell device, for `mesh qemu-args`
 * and `mesh libvirt-xml`: one per queue of the mesh, vector q ringing
 * lane q (a module from before queues has one).
 */
static unsigned int cm_guest_vectors(const struct nlattr *tb[])
{
	return tb[CHAINMESH_A_MESH_QUEUES] ?
	       a_u32(tb[CHAINMESH_A_MESH_QUEUES]) : 1;
}

static int mesh_guest_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CHAINMESH_A_MAX + 1];
	struct cm_guest *g = data;

	cm_parse(nlh, tb, CHAINMESH_A_MAX);
	g->nodes = a_u32(tb[CHAINMESH_A_MESH_NODES]);
	g->vectors = cm_guest_vectors(tb);
	return MNL_CB_OK;
}

void cm_guest_parse(struct cm_cmd *c, struct cm_guest *g, const char *what)
{
	bool have_node = false;
	char *arg;

	g->name = parse_name("mesh", next_arg(c));
	g->socket = NULL;
	while ((arg = next_arg(c))) {
		if (matches(arg, "node")) {
			g->node = parse_ulong("mesh", "node", next_arg(c),
					      CHAINMESH_MAX_NODES - 1);
			have_node = true;
		} else if (matches(arg, "socket")) {
			g->socket = next_arg(c);
			if (!g->socket || g->socket[0] != '/' || strchr(g->socket, ','))
				usage_fail("mesh", "socket: an absolute path without commas expected");
		} else {
			usage_fail("mesh", "unexpected argument '%s'", arg);
		}
	}
	if (!have_node)
		usage_fail("mesh", "%s: 'node N' is required", what);
	if (strchr(g->name, ','))
		usage_fail("mesh", "mesh name '%s' has a comma: QEMU cannot take it",
			   g->name);
	if (!g->socket) {
		snprintf(g->sock_buf, sizeof(g->sock_buf), CM_DAEMON_SOCK_DIR "%s.sock",
			 g->name);
		g->socket = g->sock_buf;
	}
}

void cm_guest_lookup(struct cm_cmd *c, struct cm_guest *g, const char *what)
{
	struct cm_talk t = { .cb = mesh_guest_cb, .data = g };
	struct nlmsghdr *nlh;
	int err;

	g->nodes = 0;
	g->vectors = 0;
	cm_open(&c->nl);
	nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_MESH_GET, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, g->name);
	err = cm_talk(&c->nl, nlh, &t);
	if (err)
		cm_refused(what, &t, err);
	if (g->node == 0 || g->node >= g->nodes)
		fail("%s: node %lu is not a guest node of mesh %s (1..%u)",
		     what, g->node, g->name, g->nodes - 1);
}

/* The QEMU options of a guest node: the mesh must exist, N be a guest. */
static void mesh_qemu_args(struct cm_cmd *c)
{
	char id[CHAINMESH_NAME_LEN + 8];
	struct cm_guest g;

	cm_guest_parse(c, &g, "mesh qemu-args");
	cm_guest_lookup(c, &g, "mesh qemu-args");
	snprintf(id, sizeof(id), "cm-%s", g.name);
	printf("-chardev socket,path=%s,id=%s -device ivshmem-doorbell,chardev=%s,vectors=%u\n",
	       g.socket, id, id, g.vectors);
}

static const struct cm_verb mesh_verbs[] = {
	{ "show", false, mesh_show },
	{ "list", false, mesh_show },
	{ "add", false, mesh_add },
	{ "delete", false, mesh_del },
	{ "qemu-args", true, mesh_qemu_args },
	{ "libvirt-xml", true, mesh_libvirt_xml },
	{ NULL }
};

void do_mesh(struct cm_cmd *c)
{
	cm_run_verb(c, mesh_verbs);
}
