// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh chain: the chains of a mesh, the nodes a packet visits.
 */
#include <string.h>

#include <linux/netlink.h>

#include "chainmesh.h"
#include "json.h"

const char chain_usage[] =
"  chainmesh chain add ID hops N1 [N2 ...] [policy drop|bypass|failover]\n"
"                        [mesh NAME]\n"
"      Add chain ID (0..255): the nodes a packet visits, in order, each at\n"
"      most once. A hop may be a group of up to 8 replicas, in braces\n"
"      ('hops 0 {1 2} 3'): each flow goes to one of them, both directions\n"
"      to the same. The policy says what a dead hop does to the chain's\n"
"      packets (default drop; failover: a dead replica's flows move to\n"
"      the others of its group).\n"
"  chainmesh chain rebalance ID [mesh NAME]\n"
"      Replicas back from the dead take their flows again.\n"
"  chainmesh chain del ID [mesh NAME]\n"
"      Delete chain ID; refused while a flow uses it.\n"
"  chainmesh [-j] chain show [mesh NAME]\n"
"      Show the chains.\n";

/* The chain of a CHAIN_GET answer or a chain notification. */
void cm_chain_parse(const struct nlmsghdr *nlh, struct cm_chain_attrs *ch)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *hops;

	cm_parse(nlh, top, CHAINMESH_A_MAX);
	cm_parse_nested(top[CHAINMESH_A_CHAIN], ch->tb, CHAINMESH_CHAIN_A_MAX);
	hops = ch->tb[CHAINMESH_CHAIN_A_HOPS];
	ch->h = hops ? mnl_attr_get_payload(hops) : NULL;
	ch->n = hops ? mnl_attr_get_payload_len(hops) : 0;
	ch->grp = ch->tb[CHAINMESH_CHAIN_A_GROUPS] ?
		  a_u64(ch->tb[CHAINMESH_CHAIN_A_GROUPS]) : 0;
}

/* "chain[VERB] ID hops 0 {1 2} 3 policy P", as show prints it and, with
 * VERB " add", as save writes it for `chain add` to read back. */
void cm_chain_line(const struct cm_chain_attrs *ch, const char *verb)
{
	printf("chain%s %u hops", verb, a_u32(ch->tb[CHAINMESH_CHAIN_A_ID]));
	cm_hops_print(stdout, ch->h, ch->n, ch->grp);
	printf(" policy %s",
	       cm_policy_name(a_u32(ch->tb[CHAINMESH_CHAIN_A_POLICY])));
}

int print_chain(const struct nlmsghdr *nlh, void *data)
{
	struct cm_chain_attrs ch;
	uint64_t live;
	uint16_t i;

	(void)data;
	cm_chain_parse(nlh, &ch);
	live = ch.tb[CHAINMESH_CHAIN_A_LIVE] ?
	       a_u64(ch.tb[CHAINMESH_CHAIN_A_LIVE]) : ~0ull;

	if (json) {
		j_open(NULL, '{');
		j_uint("id", a_u32(ch.tb[CHAINMESH_CHAIN_A_ID]));
		j_open("hops", '[');
		for (i = 0; i < ch.n; i++)
			j_uint(NULL, ch.h[i]);
		j_close(']');
		j_str("policy", cm_policy_name(a_u32(ch.tb[CHAINMESH_CHAIN_A_POLICY])));
		cm_groups_print(ch.h, ch.n, ch.grp, live);
		j_close('}');
		return MNL_CB_OK;
	}
	cm_chain_line(&ch, "");
	putchar('\n');
	cm_groups_print(ch.h, ch.n, ch.grp, live);
	return MNL_CB_OK;
}

/* Request CMD on chain ID of mesh NAME (or the only one); the chain nest
 * left open in *NEST for the caller's attributes. */
static struct nlmsghdr *chain_msg(struct cm_cmd *c, uint8_t cmd,
				  const char *name, unsigned long id,
				  struct nlattr **nest)
{
	char buf[CHAINMESH_NAME_LEN];
	struct nlmsghdr *nlh;

	cm_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh = cm_msg(c->nl.req, c->nl.family, cmd, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	*nest = mnl_attr_nest_start(nlh, CHAINMESH_A_CHAIN);
	mnl_attr_put_u32(nlh, CHAINMESH_CHAIN_A_ID, id);
	return nlh;
}

static void chain_add(struct cm_cmd *c)
{
	uint8_t hops[CHAINMESH_MAX_NODES];
	unsigned int nhops = 0;
	uint64_t grp = 0;
	const char *name = NULL;
	long policy = -1;
	unsigned long id;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	char *arg;

	id = parse_ulong("chain", "chain id", next_arg(c), UINT32_MAX);
	while ((arg = next_arg(c))) {
		if (matches(arg, "hops")) {
			if (nhops)
				usage_fail("chain", "hops given twice");
			nhops = cm_hops_parse(c, hops, &grp);
			if (!nhops)
				usage_fail("chain", "hops: node ids expected");
		} else if (matches(arg, "policy")) {
			policy = cm_policy_parse(next_arg(c));
			if (policy < 0)
				usage_fail("chain", "policy: 'drop', 'bypass' or 'failover' expected");
		} else if (matches(arg, "mesh")) {
			name = parse_name("chain", next_arg(c));
		} else {
			usage_fail("chain", "unexpected argument '%s'", arg);
		}
	}
	if (!nhops)
		usage_fail("chain", "chain add: 'hops N1 [N2 ...]' is required");

	nlh = chain_msg(c, CHAINMESH_CMD_CHAIN_NEW, name, id, &nest);
	mnl_attr_put(nlh, CHAINMESH_CHAIN_A_HOPS, nhops, hops);
	if (policy >= 0)
		mnl_attr_put_u32(nlh, CHAINMESH_CHAIN_A_POLICY, policy);
	if (grp)
		mnl_attr_put_u64(nlh, CHAINMESH_CHAIN_A_GROUPS, grp);
	mnl_attr_nest_end(nlh, nest);
	cm_change(c, nlh, "chain add");
}

static void chain_show(struct cm_cmd *c)
{
	obj_show(c, CHAINMESH_CMD_CHAIN_GET, print_chain, "chain show");
}

static void chain_rebalance(struct cm_cmd *c)
{
	const char *name = NULL;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	unsigned long id;
	char *arg;

	id = parse_ulong("chain", "chain id", next_arg(c), UINT32_MAX);
	while ((arg = next_arg(c))) {
		if (matches(arg, "mesh"))
			name = parse_name("chain", next_arg(c));
		else
			usage_fail("chain", "unexpected argument '%s'", arg);
	}
	nlh = chain_msg(c, CHAINMESH_CMD_CHAIN_REBALANCE, name, id, &nest);
	mnl_attr_nest_end(nlh, nest);
	cm_change(c, nlh, "chain rebalance");
}

static void chain_del(struct cm_cmd *c)
{
	obj_del(c, CHAINMESH_CMD_CHAIN_DEL, CHAINMESH_A_CHAIN,
		CHAINMESH_CHAIN_A_ID, "chain del");
}

static const struct cm_verb chain_verbs[] = {
	{ "show", false, chain_show },
	{ "list", false, chain_show },
	{ "add", false, chain_add },
	{ "rebalance", false, chain_rebalance },
	{ "delete", false, chain_del },
	{ NULL }
};

void do_chain(struct cm_cmd *c)
{
	cm_run_verb(c, chain_verbs);
}
