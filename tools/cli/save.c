// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh save: the whole configuration (meshes, chains, flows) as a
 * file for 'chainmesh -batch', which restores it (as 'nft list ruleset'
 * or 'wg showconf').
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "chainmesh.h"

const char save_usage[] =
"  chainmesh save [mesh NAME]\n"
"      Print the configuration of every mesh, or of mesh NAME, as a file\n"
"      for 'chainmesh -batch': 'mesh add' with its layout, its chains,\n"
"      its flows, its remote peers and remote chains. 'chainmesh -batch\n"
"      FILE' restores it on a host module without them (after a reload\n"
"      or a reboot; chainmesh.service does it at boot from\n"
"      /etc/chainmesh/chainmesh.conf). A mesh backed by an ivshmem BAR\n"
"      is not made by 'mesh add': its chains and flows are saved, the\n"
"      mesh itself only as a comment. Counters are not saved.\n";

struct save_mesh {
	char name[CHAINMESH_NAME_LEN];
	uint32_t nodes, ring_slots, buf_size, bufs_per_node, max_flows, queues;
	bool shmem;
};

struct save_meshes {
	struct save_mesh *m;
	unsigned int n;
	const char *only;
};

/* @s as one word of sh(1) (and of -batch): bare when it can be. */
static void put_word(const char *s)
{
	const char *p;

	if (s[0] && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789_.,:@%+=/-") == strlen(s)) {
		fputs(s, stdout);
		return;
	}
	putchar('\'');
	for (p = s; *p; p++) {
		if (*p == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*p);
	}
	putchar('\'');
}

static int save_mesh_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CHAINMESH_A_MAX + 1];
	struct save_meshes *sm = data;
	struct save_mesh *m, *more;

	cm_parse(nlh, tb, CHAINMESH_A_MAX);
	if (sm->only && strcmp(sm->only, a_str(tb[CHAINMESH_A_MESH_NAME])))
		return MNL_CB_OK;
	more = realloc(sm->m, (sm->n + 1) * sizeof(*sm->m));
	if (!more)
		return MNL_CB_ERROR;
	sm->m = more;
	m = &sm->m[sm->n++];
	snprintf(m->name, sizeof(m->name), "%s", a_str(tb[CHAINMESH_A_MESH_NAME]));
	m->nodes = a_u32(tb[CHAINMESH_A_MESH_NODES]);
	m->ring_slots = a_u32(tb[CHAINMESH_A_MESH_RING_SLOTS]);
	m->buf_size = a_u32(tb[CHAINMESH_A_MESH_BUF_SIZE]);
	m->bufs_per_node = a_u32(tb[CHAINMESH_A_MESH_BUFS_PER_NODE]);
	m->max_flows = a_u32(tb[CHAINMESH_A_MESH_MAX_FLOWS]);
	m->queues = tb[CHAINMESH_A_MESH_QUEUES] ?
		    a_u32(tb[CHAINMESH_A_MESH_QUEUES]) : 1;
	m->shmem = tb[CHAINMESH_A_MESH_BACKING] &&
		   a_u32(tb[CHAINMESH_A_MESH_BACKING]) == CHAINMESH_BACKING_SHMEM;
	return MNL_CB_OK;
}

static int save_chain_cb(const struct nlmsghdr *nlh, void *data)
{
	struct cm_chain_attrs ch;

	cm_chain_parse(nlh, &ch);
	if (!ch.n)
		return MNL_CB_OK;	/* cannot be: the kernel needs hops */
	cm_chain_line(&ch, " add");
	printf(" mesh ");
	put_word(data);
	putchar('\n');
	return MNL_CB_OK;
}

static void save_addr(const char *kw, const struct nlattr *a,
		      const struct nlattr *plen)
{
	char s[INET6_ADDRSTRLEN];
	uint16_t len;

	if (!a)
		return;
	len = mnl_attr_get_payload_len(a);
	if ((len != 4 && len != 16) ||
	    !inet_ntop(len == 4 ? AF_INET : AF_INET6, mnl_attr_get_payload(a),
		       s, sizeof(s)))
		return;
	printf(" %s %s", kw, s);
	if (plen)
		printf("/%u", a_u8(plen));
}

static void save_port(const char *kw, const struct nlattr *p,
		      const struct nlattr *m)
{
	if (!p && !m)
		return;
	printf(" %s %u", kw, a_u16(p));
	if (m)
		printf("/0x%04x", a_u16(m));
}

static int save_flow_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_FLOW_A_MAX + 1];
	uint8_t family;

	cm_parse(nlh, top, CHAINMESH_A_MAX);
	cm_parse_nested(top[CHAINMESH_A_FLOW], tb, CHAINMESH_FLOW_A_MAX);
	printf("flow add %u chain %u prio %u", a_u32(tb[CHAINMESH_FLOW_A_ID]),
	       a_u32(tb[CHAINMESH_FLOW_A_CHAIN]),
	       a_u16(tb[CHAINMESH_FLOW_A_PRIORITY]));
	family = a_u8(tb[CHAINMESH_FLOW_A_FAMILY]);
	if (family == 4 || family == 6)
		printf(" family %s", family == 4 ? "inet" : "inet6");
	if (tb[CHAINMESH_FLOW_A_PROTO])
		printf(" proto %u", a_u8(tb[CHAINMESH_FLOW_A_PROTO]));
	save_addr("src", tb[CHAINMESH_FLOW_A_SRC], tb[CHAINMESH_FLOW_A_SRC_PREFIX]);
	save_addr("dst", tb[CHAINMESH_FLOW_A_DST], tb[CHAINMESH_FLOW_A_DST_PREFIX]);
	save_port("sport", tb[CHAINMESH_FLOW_A_SPORT], tb[CHAINMESH_FLOW_A_SPORT_MASK]);
	save_port("dport", tb[CHAINMESH_FLOW_A_DPORT], tb[CHAINMESH_FLOW_A_DPORT_MASK]);
	if (tb[CHAINMESH_FLOW_A_VLAN])
		printf(" vlan %u", a_u16(tb[CHAINMESH_FLOW_A_VLAN]));
	fputs(" mesh ", stdout);
	put_word(data);
	putchar('\n');
	return MNL_CB_OK;
}

/* A dump of mesh @name's chains or flows, printed by @cb. */
static void save_dump(struct cm_cmd *c, uint8_t cmd, mnl_cb_t cb,
		      const char *name, const char *what)
{
	struct cm_talk t = { .cb = cb, .data = (void *)name };
	struct nlmsghdr *nlh;
	int err;

	nlh = cm_msg(c->nl.req, c->nl.family, cmd, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	err = cm_talk(&c->nl, nlh, &t);
	if (err)
		cm_refused(what, &t, err);
}

void do_save(struct cm_cmd *c)
{
	struct save_meshes sm = { .m = NULL };
	struct cm_talk t = { .cb = save_mesh_cb, .data = &sm };
	struct nlmsghdr *nlh;
	const struct save_mesh *m;
	unsigned int i;
	int err;

	if (c->argc && matches(c->argv[0], "help"))
		cm_help(c);
	sm.only = opt_mesh_only(c);
	cm_open(&c->nl);
	nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_MESH_GET, NLM_F_DUMP);
	err = cm_talk(&c->nl, nlh, &t);
	if (err)
		cm_refused("save: cannot list meshes", &t, err);
	if (sm.only && !sm.n)
		fail("save: no mesh '%s'", sm.only);

	printf("# chainmesh %s save: restore with 'chainmesh -batch FILE'\n",
	       CM_VERSION);
	for (i = 0; i < sm.n; i++) {
		m = &sm.m[i];
		if (m->shmem) {
			fputs("mesh add ", stdout);
			put_word(m->name);
			printf(" nodes %u ring-slots %u buf-size %u bufs-per-node %u max-flows %u queues %u\n",
			       m->nodes, m->ring_slots, m->buf_size,
			       m->bufs_per_node, m->max_flows, m->queues);
		} else {
			fputs("# mesh ", stdout);
			put_word(m->name);
			printf(" nodes %u ring-slots %u buf-size %u bufs-per-node %u max-flows %u queues %u: backed by ivshmem, not made by 'mesh add'\n",
			       m->nodes, m->ring_slots, m->buf_size,
			       m->bufs_per_node, m->max_flows, m->queues);
		}
	}
	for (i = 0; i < sm.n; i++) {
		m = &sm.m[i];
		save_dump(c, CHAINMESH_CMD_CHAIN_GET, save_chain_cb, m->name,
			  "save: chain dump");
		save_dump(c, CHAINMESH_CMD_FLOW_GET, save_flow_cb, m->name,
			  "save: flow dump");
		save_dump(c, CHAINMESH_CMD_REMOTE_GET, save_remote_cb, m->name,
			  "save: remote dump");
		save_dump(c, CHAINMESH_CMD_RCHAIN_GET, save_rchain_cb, m->name,
			  "save: rchain dump");
	}
	free(sm.m);
	fflush(stdout);
	if (ferror(stdout))
		fail("save: cannot write the output");
}
