// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh flow: the flow table of a mesh, what goes along which chain.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include <linux/netlink.h>

#include "chainmesh.h"
#include "json.h"

const char flow_usage[] =
"  chainmesh flow add ID chain CID [prio P] [family inet|inet6]\n"
"                [proto tcp|udp|sctp|icmp|icmpv6|NUM] [src ADDR[/PLEN]]\n"
"                [dst ADDR[/PLEN]] [sport P[/MASK]] [dport P[/MASK]]\n"
"                [vlan VID] [mesh NAME]\n"
"      Add flow ID (below the mesh's max-flows): packets that match go\n"
"      along chain CID. Lower prio matches first (default 0). The family\n"
"      defaults to the addresses' one; omitted fields match anything. To\n"
"      add many flows, put them in a file for 'chainmesh -batch'.\n"
"  chainmesh flow set ID chain CID [prio P] [MATCH ...] [mesh NAME]\n"
"      Replace flow ID in one step: its chain, priority and match become\n"
"      the ones given (same arguments as 'flow add'; what is left out\n"
"      matches anything). Each node's table changes in one step, packets\n"
"      already on their way finish on the old chain, the counters go on.\n"
"      'flow change' is the same command.\n"
"  chainmesh flow del ID [mesh NAME]\n"
"      Delete flow ID.\n"
"  chainmesh [-j] flow show [mesh NAME]\n"
"      Show the flows, each with its packet and byte counts per node.\n";

static const struct {
	const char *name;
	uint8_t proto;
} cm_protos[] = {
	{ "icmp", 1 },
	{ "tcp", 6 },
	{ "udp", 17 },
	{ "icmpv6", 58 },
	{ "sctp", 132 },
};

static const char *proto_name(uint8_t proto)
{
	size_t i;

	for (i = 0; i < sizeof(cm_protos) / sizeof(cm_protos[0]); i++)
		if (cm_protos[i].proto == proto)
			return cm_protos[i].name;
	return NULL;
}

static uint8_t parse_proto(const char *arg)
{
	size_t i;

	for (i = 0; arg && i < sizeof(cm_protos) / sizeof(cm_protos[0]); i++)
		if (!strcmp(arg, cm_protos[i].name))
			return cm_protos[i].proto;
	return parse_ulong("flow", "proto", arg, 255);
}

/* ADDR[/PLEN] into an attribute pair. */
static void put_addr(struct nlmsghdr *nlh, int type, int ptype, const char *what,
		     const char *arg)
{
	char buf[INET6_ADDRSTRLEN + 8];
	unsigned char a[16];
	char *slash;
	int len;

	if (!arg)
		usage_fail("flow", "%s: address expected", what);
	snprintf(buf, sizeof(buf), "%s", arg);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	if (inet_pton(AF_INET, buf, a) == 1)
		len = 4;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		len = 16;
	else
		usage_fail("flow", "%s: '%s' is not an IPv4 or IPv6 address", what, arg);
	mnl_attr_put(nlh, type, len, a);
	if (slash)
		mnl_attr_put_u8(nlh, ptype, parse_ulong("flow", what, slash + 1, 255));
}

/* P[/MASK] into an attribute pair. */
static void put_port(struct nlmsghdr *nlh, int type, int mtype, const char *what,
		     const char *arg)
{
	char buf[32];
	char *slash;

	if (!arg)
		usage_fail("flow", "%s: port expected", what);
	snprintf(buf, sizeof(buf), "%s", arg);
	slash = strchr(buf, '/');
	if (slash)
		*slash = '\0';
	mnl_attr_put_u16(nlh, type, parse_ulong("flow", what, buf, 65535));
	if (slash)
		mnl_attr_put_u16(nlh, mtype, parse_ulong("flow", what, slash + 1, 65535));
}

static const char *family_name(uint8_t family)
{
	return family == 4 ? "inet" : family == 6 ? "inet6" : "any";
}

/* "ADDR/PLEN", or "" when the flow does not match on it. */
static const char *fmt_addr(const struct nlattr *a, const struct nlattr *plen,
			    char *buf, size_t size)
{
	char s[INET6_ADDRSTRLEN];
	uint16_t len;

	if (!a)
		return "";
	len = mnl_attr_get_payload_len(a);
	if ((len != 4 && len != 16) ||
	    !inet_ntop(len == 4 ? AF_INET : AF_INET6, mnl_attr_get_payload(a),
		       s, sizeof(s)))
		return "";
	snprintf(buf, size, "%s/%u", s, a_u8(plen));
	return buf;
}

static void print_port(const char *what, const struct nlattr *p,
		       const struct nlattr *m)
{
	uint16_t mask = a_u16(m);

	if (!p && !m)
		return;
	if (mask == 0xffff)
		printf(" %s %u", what, a_u16(p));
	else
		printf(" %s %u/0x%04x", what, a_u16(p), mask);
}

int print_flow(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_FLOW_A_MAX + 1];
	const struct nlattr *st[CHAINMESH_FSTAT_A_MAX + 1];
	char src[INET6_ADDRSTRLEN + 8], dst[INET6_ADDRSTRLEN + 8];
	const struct nlattr *e;
	uint8_t family, proto;
	const char *pn;

	(void)data;
	cm_parse(nlh, top, CHAINMESH_A_MAX);
	cm_parse_nested(top[CHAINMESH_A_FLOW], tb, CHAINMESH_FLOW_A_MAX);
	family = a_u8(tb[CHAINMESH_FLOW_A_FAMILY]);
	proto = a_u8(tb[CHAINMESH_FLOW_A_PROTO]);
	pn = proto_name(proto);
	fmt_addr(tb[CHAINMESH_FLOW_A_SRC], tb[CHAINMESH_FLOW_A_SRC_PREFIX], src, sizeof(src));
	fmt_addr(tb[CHAINMESH_FLOW_A_DST], tb[CHAINMESH_FLOW_A_DST_PREFIX], dst, sizeof(dst));
	if (!tb[CHAINMESH_FLOW_A_SRC])
		src[0] = '\0';
	if (!tb[CHAINMESH_FLOW_A_DST])
		dst[0] = '\0';

	if (json) {
		j_open(NULL, '{');
		j_uint("id", a_u32(tb[CHAINMESH_FLOW_A_ID]));
		j_uint("chain", a_u32(tb[CHAINMESH_FLOW_A_CHAIN]));
		j_uint("prio", a_u16(tb[CHAINMESH_FLOW_A_PRIORITY]));
		if (family)
			j_str("family", family_name(family));
		if (proto)
			j_uint("proto", proto);
		if (src[0])
			j_str("src", src);
		if (dst[0])
			j_str("dst", dst);
		if (tb[CHAINMESH_FLOW_A_SPORT_MASK]) {
			j_uint("sport", a_u16(tb[CHAINMESH_FLOW_A_SPORT]));
			j_uint("sport_mask", a_u16(tb[CHAINMESH_FLOW_A_SPORT_MASK]));
		}
		if (tb[CHAINMESH_FLOW_A_DPORT_MASK]) {
			j_uint("dport", a_u16(tb[CHAINMESH_FLOW_A_DPORT]));
			j_uint("dport_mask", a_u16(tb[CHAINMESH_FLOW_A_DPORT_MASK]));
		}
		if (tb[CHAINMESH_FLOW_A_VLAN])
			j_uint("vlan", a_u16(tb[CHAINMESH_FLOW_A_VLAN]));
		j_open("stats", '[');
	} else {
		printf("flow %u chain %u prio %u", a_u32(tb[CHAINMESH_FLOW_A_ID]),
		       a_u32(tb[CHAINMESH_FLOW_A_CHAIN]),
		       a_u16(tb[CHAINMESH_FLOW_A_PRIORITY]));
		if (family && !src[0] && !dst[0])
			printf(" family %s", family_name(family));
		if (proto && pn)
			printf(" proto %s", pn);
		else if (proto)
			printf(" proto %u", proto);
		if (src[0])
			printf(" src %s", src);
		if (dst[0])
			printf(" dst %s", dst);
		print_port("sport", tb[CHAINMESH_FLOW_A_SPORT], tb[CHAINMESH_FLOW_A_SPORT_MASK]);
		print_port("dport", tb[CHAINMESH_FLOW_A_DPORT], tb[CHAINMESH_FLOW_A_DPORT_MASK]);
		if (tb[CHAINMESH_FLOW_A_VLAN])
			printf(" vlan %u", a_u16(tb[CHAINMESH_FLOW_A_VLAN]));
		putchar('\n');
	}

	if (tb[CHAINMESH_FLOW_A_STATS]) {
		mnl_attr_for_each_nested(e, tb[CHAINMESH_FLOW_A_STATS]) {
			if (mnl_attr_get_type(e) != CHAINMESH_FSTAT_A_ENTRY)
				continue;
			cm_parse_nested(e, st, CHAINMESH_FSTAT_A_MAX);
			if (json) {
				j_open(NULL, '{');
				j_uint("node", a_u32(st[CHAINMESH_FSTAT_A_NODE]));
				j_uint("packets", a_u64(st[CHAINMESH_FSTAT_A_PACKETS]));
				j_uint("bytes", a_u64(st[CHAINMESH_FSTAT_A_BYTES]));
				j_close('}');
			} else {
				printf("  node %u: %" PRIu64 " packets %" PRIu64 " bytes\n",
				       a_u32(st[CHAINMESH_FSTAT_A_NODE]),
				       a_u64(st[CHAINMESH_FSTAT_A_PACKETS]),
				       a_u64(st[CHAINMESH_FSTAT_A_BYTES]));
			}
		}
	}
	if (json) {
		j_close(']');
		j_close('}');
	}
	return MNL_CB_OK;
}

/*
 * The arguments of flow add and flow set, as a flow nest of @nlh;
 * returns the mesh they name, or NULL. Batches use it too.
 */
const char *flow_put(struct cm_cmd *c, struct nlmsghdr *nlh, const char *what)
{
	const char *name = NULL;
	struct nlattr *nest;
	bool chain = false;
	char *arg;

	nest = mnl_attr_nest_start(nlh, CHAINMESH_A_FLOW);
	mnl_attr_put_u32(nlh, CHAINMESH_FLOW_A_ID,
			 parse_ulong("flow", "flow id", next_arg(c), UINT32_MAX));
	while ((arg = next_arg(c))) {
		if (matches(arg, "chain")) {
			mnl_attr_put_u32(nlh, CHAINMESH_FLOW_A_CHAIN,
					 parse_ulong("flow", "chain", next_arg(c), UINT32_MAX));
			chain = true;
		} else if (matches(arg, "priority")) {
			mnl_attr_put_u16(nlh, CHAINMESH_FLOW_A_PRIORITY,
					 parse_ulong("flow", "prio", next_arg(c), 65535));
		} else if (matches(arg, "family")) {
			arg = next_arg(c);
			if (arg && !strcmp(arg, "inet"))
				mnl_attr_put_u8(nlh, CHAINMESH_FLOW_A_FAMILY, 4);
			else if (arg && !strcmp(arg, "inet6"))
				mnl_attr_put_u8(nlh, CHAINMESH_FLOW_A_FAMILY, 6);
			else
				usage_fail("flow", "family: 'inet' or 'inet6' expected");
		} else if (matches(arg, "proto")) {
			mnl_attr_put_u8(nlh, CHAINMESH_FLOW_A_PROTO, parse_proto(next_arg(c)));
		} else if (matches(arg, "src")) {
			put_addr(nlh, CHAINMESH_FLOW_A_SRC, CHAINMESH_FLOW_A_SRC_PREFIX,
				 "src", next_arg(c));
		} else if (matches(arg, "dst")) {
			put_addr(nlh, CHAINMESH_FLOW_A_DST, CHAINMESH_FLOW_A_DST_PREFIX,
				 "dst", next_arg(c));
		} else if (matches(arg, "sport")) {
			put_port(nlh, CHAINMESH_FLOW_A_SPORT, CHAINMESH_FLOW_A_SPORT_MASK,
				 "sport", next_arg(c));
		} else if (matches(arg, "dport")) {
			put_port(nlh, CHAINMESH_FLOW_A_DPORT, CHAINMESH_FLOW_A_DPORT_MASK,
				 "dport", next_arg(c));
		} else if (matches(arg, "vlan")) {
			mnl_attr_put_u16(nlh, CHAINMESH_FLOW_A_VLAN,
					 parse_ulong("flow", "vlan", next_arg(c), 65535));
		} else if (matches(arg, "mesh")) {
			name = parse_name("flow", next_arg(c));
		} else {
			usage_fail("flow", "unexpected argument '%s'", arg);
		}
	}
	if (!chain)
		usage_fail("flow", "%s: 'chain CID' is required", what);
	mnl_attr_nest_end(nlh, nest);
	return name;
}

/* flow add (FLOW_NEW) and flow set (FLOW_SET): the same arguments. */
static void flow_write(struct cm_cmd *c, uint8_t cmd, const char *what)
{
	char buf[CHAINMESH_NAME_LEN];
	struct nlmsghdr *nlh;
	const char *name;

	/* Build the request as we parse; the family id and the mesh name go
	 * in once the socket is open (attribute order does not matter). */
	nlh = cm_msg(c->nl.req, 0, cmd, NLM_F_ACK);
	name = flow_put(c, nlh, what);

	cm_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh->nlmsg_type = c->nl.family;
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	cm_change(c, nlh, what);
}

static void flow_show(struct cm_cmd *c)
{
	obj_show(c, CHAINMESH_CMD_FLOW_GET, print_flow, "flow show");
}

static void flow_add(struct cm_cmd *c)
{
	flow_write(c, CHAINMESH_CMD_FLOW_NEW, "flow add");
}

static void flow_set(struct cm_cmd *c)
{
	flow_write(c, CHAINMESH_CMD_FLOW_SET, "flow set");
}

static void flow_del(struct cm_cmd *c)
{
	obj_del(c, CHAINMESH_CMD_FLOW_DEL, CHAINMESH_A_FLOW,
		CHAINMESH_FLOW_A_ID, "flow del");
}

static const struct cm_verb flow_verbs[] = {
	{ "show", false, flow_show },
	{ "list", false, flow_show },
	{ "add", false, flow_add },
	{ "set", true, flow_set },
	{ "change", false, flow_set },
	{ "replace", false, flow_set },
	{ "delete", false, flow_del },
	{ NULL }
};

void do_flow(struct cm_cmd *c)
{
	cm_run_verb(c, flow_verbs);
}
