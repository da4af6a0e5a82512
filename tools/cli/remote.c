// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh remote, chainmesh rchain: chains across hosts. A remote peer
 * is another host's node 0, reached through a geneve device; a remote
 * chain mapping says which local chain leaves for which chain of a peer,
 * and which chain of a peer continues as which local chain
 * (Documentation/remote.rst).
 */
#include <arpa/inet.h>
#include <string.h>

#include <linux/netlink.h>

#include "chainmesh.h"
#include "json.h"

const char remote_usage[] =
"  chainmesh remote add NAME dev IFNAME addr ADDR [vni N] [mesh NAME]\n"
"      Add remote peer NAME: another host's node 0, reached through the\n"
"      geneve device IFNAME in collect_md mode ('ip link add IFNAME type\n"
"      geneve external') at tunnel address ADDR (IPv4 or IPv6), with\n"
"      Geneve VNI N (0..16777215, default 0) both ways.\n"
"  chainmesh remote del NAME [mesh NAME]\n"
"      Delete a remote peer; refused while a remote chain names it.\n"
"  chainmesh [-j] remote show [mesh NAME]\n"
"      Show the remote peers with their counters, and the frames each\n"
"      mesh dropped from its geneve devices: malformed (no chainmesh\n"
"      option, or a bad one), from an unknown peer, or with no context.\n";

const char rchain_usage[] =
"  chainmesh rchain add out chain CHAIN peer NAME rchain R [mesh NAME]\n"
"      Local chain CHAIN, which ends at node 0, continues on remote peer\n"
"      NAME as its chain R (0..255, carried in the Geneve option).\n"
"  chainmesh rchain add in peer NAME rchain R chain CHAIN [mesh NAME]\n"
"      Chain R of remote peer NAME continues here as local chain CHAIN,\n"
"      which starts at node 0. Frames of a chain of the peer that is not\n"
"      mapped are counted (remote show: unknown) and dropped.\n"
"  chainmesh rchain del out chain CHAIN [mesh NAME]\n"
"  chainmesh rchain del in peer NAME rchain R [mesh NAME]\n"
"      Delete a mapping.\n"
"  chainmesh [-j] rchain show [mesh NAME]\n"
"      Show the mappings with the packets and bytes of each.\n";

static const char *addr_str(const struct nlattr *a, char *s, size_t n)
{
	uint16_t len = a ? mnl_attr_get_payload_len(a) : 0;

	if ((len != 4 && len != 16) ||
	    !inet_ntop(len == 4 ? AF_INET : AF_INET6, mnl_attr_get_payload(a),
		       s, n))
		return "?";
	return s;
}

static int print_rstats(const struct nlattr *nest)
{
	const struct nlattr *tb[CHAINMESH_RSTATS_A_MAX + 1];
	uint64_t bad, peer, ctx;

	cm_parse_nested(nest, tb, CHAINMESH_RSTATS_A_MAX);
	bad = a_u64(tb[CHAINMESH_RSTATS_A_MALFORMED]);
	peer = a_u64(tb[CHAINMESH_RSTATS_A_UNKNOWN_PEER]);
	ctx = a_u64(tb[CHAINMESH_RSTATS_A_NO_CTX]);
	if (json) {
		j_open(NULL, '{');
		j_open("dropped", '{');
		j_uint("malformed", bad);
		j_uint("unknown_peer", peer);
		j_uint("no_context", ctx);
		j_close('}');
		j_close('}');
		return MNL_CB_OK;
	}
	printf("remote dropped: malformed %llu unknown-peer %llu no-context %llu\n",
	       (unsigned long long)bad, (unsigned long long)peer,
	       (unsigned long long)ctx);
	return MNL_CB_OK;
}

int print_remote(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_REMOTE_A_MAX + 1];
	char s[INET6_ADDRSTRLEN];
	const char *addr;

	(void)data;
	cm_parse(nlh, top, CHAINMESH_A_MAX);
	if (top[CHAINMESH_A_RSTATS])
		return print_rstats(top[CHAINMESH_A_RSTATS]);
	cm_parse_nested(top[CHAINMESH_A_REMOTE], tb, CHAINMESH_REMOTE_A_MAX);
	addr = addr_str(tb[CHAINMESH_REMOTE_A_ADDR], s, sizeof(s));
	if (json) {
		j_open(NULL, '{');
		j_str("name", a_str(tb[CHAINMESH_REMOTE_A_NAME]));
		j_str("dev", a_str(tb[CHAINMESH_REMOTE_A_IFNAME]));
		j_str("addr", addr);
		j_uint("vni", a_u32(tb[CHAINMESH_REMOTE_A_VNI]));
		j_uint("tx_packets", a_u64(tb[CHAINMESH_REMOTE_A_TX_PACKETS]));
		j_uint("tx_bytes", a_u64(tb[CHAINMESH_REMOTE_A_TX_BYTES]));
		j_uint("tx_errors", a_u64(tb[CHAINMESH_REMOTE_A_TX_ERRORS]));
		j_uint("rx_packets", a_u64(tb[CHAINMESH_REMOTE_A_RX_PACKETS]));
		j_uint("rx_bytes", a_u64(tb[CHAINMESH_REMOTE_A_RX_BYTES]));
		j_uint("rx_unknown", a_u64(tb[CHAINMESH_REMOTE_A_RX_UNKNOWN]));
		j_close('}');
		return MNL_CB_OK;
	}
	printf("remote %s dev %s addr %s vni %u tx %llu bytes %llu errors %llu rx %llu bytes %llu unknown %llu\n",
	       a_str(tb[CHAINMESH_REMOTE_A_NAME]),
	       a_str(tb[CHAINMESH_REMOTE_A_IFNAME]), addr,
	       a_u32(tb[CHAINMESH_REMOTE_A_VNI]),
	       (unsigned long long)a_u64(tb[CHAINMESH_REMOTE_A_TX_PACKETS]),
	       (unsigned long long)a_u64(tb[CHAINMESH_REMOTE_A_TX_BYTES]),
	       (unsigned long long)a_u64(tb[CHAINMESH_REMOTE_A_TX_ERRORS]),
	       (unsigned long long)a_u64(tb[CHAINMESH_REMOTE_A_RX_PACKETS]),
	       (unsigned long long)a_u64(tb[CHAINMESH_REMOTE_A_RX_BYTES]),
	       (unsigned long long)a_u64(tb[CHAINMESH_REMOTE_A_RX_UNKNOWN]));
	return MNL_CB_OK;
}

int print_rchain(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_RCHAIN_A_MAX + 1];
	bool out;

	(void)data;
	cm_parse(nlh, top, CHAINMESH_A_MAX);
	cm_parse_nested(top[CHAINMESH_A_RCHAIN], tb, CHAINMESH_RCHAIN_A_MAX);
	out = a_u32(tb[CHAINMESH_RCHAIN_A_DIR]) == CHAINMESH_RCHAIN_OUT;
	if (json) {
		j_open(NULL, '{');
		j_str("dir", out ? "out" : "in");
		j_uint("chain", a_u32(tb[CHAINMESH_RCHAIN_A_CHAIN]));
		j_str("peer", a_str(tb[CHAINMESH_RCHAIN_A_PEER]));
		j_uint("rchain", a_u32(tb[CHAINMESH_RCHAIN_A_RCHAIN]));
		j_uint("packets", a_u64(tb[CHAINMESH_RCHAIN_A_PACKETS]));
		j_uint("bytes", a_u64(tb[CHAINMESH_RCHAIN_A_BYTES]));
		j_close('}');
		return MNL_CB_OK;
	}
	if (out)
		printf("rchain out chain %u peer %s rchain %u",
		       a_u32(tb[CHAINMESH_RCHAIN_A_CHAIN]),
		       a_str(tb[CHAINMESH_RCHAIN_A_PEER]),
		       a_u32(tb[CHAINMESH_RCHAIN_A_RCHAIN]));
	else
		printf("rchain in peer %s rchain %u chain %u",
		       a_str(tb[CHAINMESH_RCHAIN_A_PEER]),
		       a_u32(tb[CHAINMESH_RCHAIN_A_RCHAIN]),
		       a_u32(tb[CHAINMESH_RCHAIN_A_CHAIN]));
	printf(" packets %llu bytes %llu\n",
	       (unsigned long long)a_u64(tb[CHAINMESH_RCHAIN_A_PACKETS]),
	       (unsigned long long)a_u64(tb[CHAINMESH_RCHAIN_A_BYTES]));
	return MNL_CB_OK;
}

static void remote_add(struct cm_cmd *c, bool add)
{
	const char *peer, *dev = NULL, *name = NULL, *what;
	unsigned char a[16];
	char buf[CHAINMESH_NAME_LEN];
	long vni = -1;
	int alen = 0;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	char *arg;

	what = add ? "remote add" : "remote del";
	peer = parse_name("remote", next_arg(c));
	while ((arg = next_arg(c))) {
		if (add && matches(arg, "dev")) {
			dev = next_arg(c);
			if (!dev || !dev[0] || strlen(dev) > 15)
				usage_fail("remote", "dev: an interface name expected");
		} else if (add && matches(arg, "addr")) {
			arg = next_arg(c);
			if (arg && inet_pton(AF_INET, arg, a) == 1)
				alen = 4;
			else if (arg && inet_pton(AF_INET6, arg, a) == 1)
				alen = 16;
			else
				usage_fail("remote", "addr: an IPv4 or IPv6 address expected");
		} else if (add && matches(arg, "vni")) {
			vni = parse_ulong("remote", "vni", next_arg(c), 0xffffff);
		} else if (matches(arg, "mesh")) {
			name = parse_name("remote", next_arg(c));
		} else {
			usage_fail("remote", "unexpected argument '%s'", arg);
		}
	}
	if (add && (!dev || !alen))
		usage_fail("remote", "remote add: 'dev IFNAME' and 'addr ADDR' are required");

	cm_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh = cm_msg(c->nl.req, c->nl.family,
		     add ? CHAINMESH_CMD_REMOTE_NEW : CHAINMESH_CMD_REMOTE_DEL,
		     NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	nest = mnl_attr_nest_start(nlh, CHAINMESH_A_REMOTE);
	mnl_attr_put_strz(nlh, CHAINMESH_REMOTE_A_NAME, peer);
	if (add) {
		mnl_attr_put_strz(nlh, CHAINMESH_REMOTE_A_IFNAME, dev);
		mnl_attr_put(nlh, CHAINMESH_REMOTE_A_ADDR, alen, a);
		if (vni >= 0)
			mnl_attr_put_u32(nlh, CHAINMESH_REMOTE_A_VNI, vni);
	}
	mnl_attr_nest_end(nlh, nest);
	cm_change(c, nlh, what);
}

static void remote_add_cmd(struct cm_cmd *c)
{
	remote_add(c, true);
}

static void remote_del_cmd(struct cm_cmd *c)
{
	remote_add(c, false);
}

static void remote_show(struct cm_cmd *c)
{
	obj_show(c, CHAINMESH_CMD_REMOTE_GET, print_remote, "remote show");
}

static const struct cm_verb remote_verbs[] = {
	{ "show", false, remote_show },
	{ "list", false, remote_show },
	{ "add", false, remote_add_cmd },
	{ "delete", false, remote_del_cmd },
	{ NULL }
};

void do_remote(struct cm_cmd *c)
{
	cm_run_verb(c, remote_verbs);
}

static void rchain_change(struct cm_cmd *c, bool add)
{
	const char *peer = NULL, *name = NULL, *what;
	long chain = -1, rchain = -1;
	char buf[CHAINMESH_NAME_LEN];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	uint32_t dir;
	char *arg;

	what = add ? "rchain add" : "rchain del";
	arg = next_arg(c);
	if (arg && !strcmp(arg, "out"))
		dir = CHAINMESH_RCHAIN_OUT;
	else if (arg && !strcmp(arg, "in"))
		dir = CHAINMESH_RCHAIN_IN;
	else
		usage_fail("rchain", "'out' or 'in' expected");
	while ((arg = next_arg(c))) {
		if (matches(arg, "chain"))
			chain = parse_ulong("rchain", "chain", next_arg(c),
					    CHAINMESH_MAX_CHAINS - 1);
		else if (matches(arg, "rchain"))
			rchain = parse_ulong("rchain", "rchain", next_arg(c),
					     CHAINMESH_MAX_CHAINS - 1);
		else if (matches(arg, "peer"))
			peer = parse_name("rchain", next_arg(c));
		else if (matches(arg, "mesh"))
			name = parse_name("rchain", next_arg(c));
		else
			usage_fail("rchain", "unexpected argument '%s'", arg);
	}
	if ((add || dir == CHAINMESH_RCHAIN_OUT) && chain < 0)
		usage_fail("rchain", "%s: 'chain CHAIN' is required", what);
	if ((add || dir == CHAINMESH_RCHAIN_IN) && (!peer || rchain < 0))
		usage_fail("rchain", "%s: 'peer NAME' and 'rchain R' are required", what);

	cm_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh = cm_msg(c->nl.req, c->nl.family,
		     add ? CHAINMESH_CMD_RCHAIN_NEW : CHAINMESH_CMD_RCHAIN_DEL,
		     NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	nest = mnl_attr_nest_start(nlh, CHAINMESH_A_RCHAIN);
	mnl_attr_put_u32(nlh, CHAINMESH_RCHAIN_A_DIR, dir);
	if (chain >= 0)
		mnl_attr_put_u32(nlh, CHAINMESH_RCHAIN_A_CHAIN, chain);
	if (peer)
		mnl_attr_put_strz(nlh, CHAINMESH_RCHAIN_A_PEER, peer);
	if (rchain >= 0)
		mnl_attr_put_u32(nlh, CHAINMESH_RCHAIN_A_RCHAIN, rchain);
	mnl_attr_nest_end(nlh, nest);
	cm_change(c, nlh, what);
}

static void rchain_add_cmd(struct cm_cmd *c)
{
	rchain_change(c, true);
}

static void rchain_del_cmd(struct cm_cmd *c)
{
	rchain_change(c, false);
}

static void rchain_show(struct cm_cmd *c)
{
	obj_show(c, CHAINMESH_CMD_RCHAIN_GET, print_rchain, "rchain show");
}

static const struct cm_verb rchain_verbs[] = {
	{ "show", false, rchain_show },
	{ "list", false, rchain_show },
	{ "add", false, rchain_add_cmd },
	{ "delete", false, rchain_del_cmd },
	{ NULL }
};

void do_rchain(struct cm_cmd *c)
{
	cm_run_verb(c, rchain_verbs);
}

/* chainmesh save: the peers and mappings of mesh @data. */
int save_remote_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_REMOTE_A_MAX + 1];
	char s[INET6_ADDRSTRLEN];

	cm_parse(nlh, top, CHAINMESH_A_MAX);
	if (!top[CHAINMESH_A_REMOTE])
		return MNL_CB_OK;	/* the mesh's drop counters */
	cm_parse_nested(top[CHAINMESH_A_REMOTE], tb, CHAINMESH_REMOTE_A_MAX);
	printf("remote add %s dev %s addr %s vni %u mesh %s\n",
	       a_str(tb[CHAINMESH_REMOTE_A_NAME]),
	       a_str(tb[CHAINMESH_REMOTE_A_IFNAME]),
	       addr_str(tb[CHAINMESH_REMOTE_A_ADDR], s, sizeof(s)),
	       a_u32(tb[CHAINMESH_REMOTE_A_VNI]), (const char *)data);
	return MNL_CB_OK;
}

int save_rchain_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_RCHAIN_A_MAX + 1];

	cm_parse(nlh, top, CHAINMESH_A_MAX);
	cm_parse_nested(top[CHAINMESH_A_RCHAIN], tb, CHAINMESH_RCHAIN_A_MAX);
	printf("rchain add %s chain %u peer %s rchain %u mesh %s\n",
	       a_u32(tb[CHAINMESH_RCHAIN_A_DIR]) == CHAINMESH_RCHAIN_OUT ?
	       "out" : "in",
	       a_u32(tb[CHAINMESH_RCHAIN_A_CHAIN]),
	       a_str(tb[CHAINMESH_RCHAIN_A_PEER]),
	       a_u32(tb[CHAINMESH_RCHAIN_A_RCHAIN]), (const char *)data);
	return MNL_CB_OK;
}
