// SPDX-License-Identifier: GPL-2.0
/*
 * nltest: attribute validation of the "chainmesh" generic netlink family,
 * run as root in a VM where chainmesh_host.ko holds mesh MESH (default
 * "lab", of 8 nodes). Prints TAP.
 *
 *   nltest [MESH]
 *
 * Every malformed or refused request, command by command and attribute by
 * attribute (wrong type and length, out of range, missing, unknown, bad
 * nest, oversized string, duplicate hop, unknown mesh, no CAP_NET_ADMIN),
 * must fail with the expected errno (ERANGE where the policy's range or
 * length check refuses it, as the core does) and carry an extack message, and the
 * family's state (mesh, chain and flow dumps, byte for byte) must be the
 * same after it as before: nothing half applied. Refusals of the genetlink
 * core before the family sees the request (EPERM, unknown command) carry
 * no message; those are checked for the errno and the state only.
 *
 * It talks through the CLI's netlink helpers (tools/cli/nl.c, over
 * libmnl): family resolution, requests, replies and extack are the CLI's
 * own; only the malformed requests are built here. The lab puts it in the
 * initramfs with its libraries. It adds chains 1 (1 2) and 2 (2 1) and
 * flow 1 for the refusals to collide with, and removes them at the end.
 * Batches (several flow nests in one FLOW_NEW or FLOW_DEL) are applied
 * whole or not at all.
 */
#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/chainmesh.h>
#include <linux/chainmesh_region.h>

#include "nl.h"

static const char *mesh = "lab";
/* root's socket, and the family's id */
static struct cm_nl nl;
static int tap_n, tap_fail;

/* ---------------------------------------------------------------- TAP */

static void __attribute__((format(printf, 2, 3)))
tap(bool pass, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (!pass)
		tap_fail++;
}

static void __attribute__((format(printf, 1, 2))) diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---------------------------------------------------------------- messages */

/*
 * A request, well formed or not: cm_msg() and libmnl build it, and a
 * stack of open nests lets a test close what a helper opened.
 */
struct msg {
	struct nlmsghdr *nlh;
	struct nlattr *nest[8];	/* open nests */
	int depth;
	char buf[CM_REQ_SIZE] __attribute__((aligned(8)));
};

static void msg_init(struct msg *m, uint16_t type, uint8_t cmd, uint16_t flags)
{
	m->nlh = cm_msg(m->buf, type, cmd, flags);
	m->depth = 0;
}

static struct msg *req(uint8_t cmd)
{
	static struct msg m;

	msg_init(&m, nl.family, cmd, NLM_F_ACK);
	return &m;
}

static struct msg *req_dump(uint8_t cmd, bool dump)
{
	struct msg *m = req(cmd);

	if (dump)
		m->nlh->nlmsg_flags |= NLM_F_DUMP;
	return m;
}

/* An attribute of any type and length (@data NULL: zeroes, 64 at most). */
static void put(struct msg *m, uint16_t type, const void *data, int len)
{
	static const uint8_t zeroes[64];

	mnl_attr_put(m->nlh, type, len, data ? data : zeroes);
}

static void put_u8(struct msg *m, uint16_t type, uint8_t v)
{
	mnl_attr_put_u8(m->nlh, type, v);
}

static void put_u16(struct msg *m, uint16_t type, uint16_t v)
{
	mnl_attr_put_u16(m->nlh, type, v);
}

static void put_u32(struct msg *m, uint16_t type, uint32_t v)
{
	mnl_attr_put_u32(m->nlh, type, v);
}

static void put_u64(struct msg *m, uint16_t type, uint64_t v)
{
	mnl_attr_put_u64(m->nlh, type, v);
}

static void put_str(struct msg *m, uint16_t type, const char *s)
{
	mnl_attr_put_strz(m->nlh, type, s);
}

static void put_mesh(struct msg *m)
{
	put_str(m, CHAINMESH_A_MESH_NAME, mesh);
}

/* A nest; @flag NLA_F_NESTED or 0 (a malformed one). */
static void nest_flag(struct msg *m, uint16_t type, uint16_t flag)
{
	struct nlattr *a = mnl_attr_nest_start(m->nlh, type);

	a->nla_type = type | flag;
	m->nest[m->depth++] = a;
}

static void nest(struct msg *m, uint16_t type)
{
	nest_flag(m, type, NLA_F_NESTED);
}

static void nest_end(struct msg *m)
{
	mnl_attr_nest_end(m->nlh, m->nest[--m->depth]);
}

/* Raw bytes after the attributes (trailing data). */
static void put_raw(struct msg *m, const void *data, int len)
{
	memcpy((char *)m->nlh + m->nlh->nlmsg_len, data, len);
	m->nlh->nlmsg_len += len;
}

/* ---------------------------------------------------------------- talking */

/* Data messages of a dump or a reply, appended for comparison. */
struct snap {
	char *buf;
	size_t len;
};

struct result {
	int err;		/* 0 or a positive errno */
	struct cm_talk t;	/* t.msg: the extack message, "" if none */
	int nmsgs;		/* data messages received */
	struct snap *snap;	/* where they go, or NULL */
};

static int result_data(const struct nlmsghdr *nlh, void *data)
{
	struct result *r = data;
	struct snap *s = r->snap;
	size_t len = mnl_nlmsg_get_payload_len(nlh);

	r->nmsgs++;
	if (s) {
		s->buf = realloc(s->buf, s->len + len);
		if (!s->buf)
			abort();
		memcpy(s->buf + s->len, mnl_nlmsg_get_payload(nlh), len);
		s->len += len;
	}
	return MNL_CB_OK;
}

/* Send @m on @sk; receive until the ACK/error or the end of the dump. */
static void talk_on(struct cm_nl *sk, struct msg *m, struct result *r,
		    struct snap *s)
{
	r->nmsgs = 0;
	r->snap = s;
	r->t.cb = result_data;
	r->t.data = r;
	r->err = cm_talk(sk, m->nlh, &r->t);
}

static void talk(struct msg *m, struct result *r)
{
	talk_on(&nl, m, r, NULL);
}

/* The family's state: every mesh, and this mesh's chains and flows. */
static struct snap snapshot(void)
{
	static const uint8_t cmds[] = {
		CHAINMESH_CMD_MESH_GET, CHAINMESH_CMD_CHAIN_GET, CHAINMESH_CMD_FLOW_GET,
	};
	struct snap s = { NULL, 0 };
	struct result r;
	static struct msg m;
	size_t i;

	for (i = 0; i < sizeof(cmds); i++) {
		msg_init(&m, nl.family, cmds[i], NLM_F_DUMP);
		if (cmds[i] != CHAINMESH_CMD_MESH_GET)
			put_mesh(&m);
		talk_on(&nl, &m, &r, &s);
		if (r.err) {
			diag("snapshot dump %u failed: %s", cmds[i], strerror(r.err));
			exit(1);
		}
	}
	return s;
}

/* What reply_u32() looks for, and the value it found. */
struct pick {
	uint16_t type;
	bool in_flow;
	uint32_t v;
};

static int pick_data(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_FLOW_A_MAX + 1];
	struct pick *p = data;

	cm_parse(nlh, top, CHAINMESH_A_MAX);
	if (!p->in_flow) {
		p->v = a_u32(top[p->type]);
		return MNL_CB_OK;
	}
	cm_parse_nested(top[CHAINMESH_A_FLOW], tb, CHAINMESH_FLOW_A_MAX);
	p->v = a_u32(tb[p->type]);
	return MNL_CB_OK;
}

/*
 * A u32 of the reply to @m: attribute @type at the top (@in_flow false)
 * or in the flow nest. Return: an errno, or 0 with *@v (0 if absent).
 */
static int reply_u32(struct msg *m, uint16_t type, bool in_flow, uint32_t *v)
{
	struct pick p = { .type = type, .in_flow = in_flow };
	struct cm_talk t = { .cb = pick_data, .data = &p };
	int err;

	err = cm_talk(&nl, m->nlh, &t);
	*v = p.v;
	return err;
}

/* ---------------------------------------------------------------- checks */

enum { EXT_NEEDED, EXT_NONE_OK };

/*
 * One refused request: errno @want (0: any error), an extack message
 * unless @ext is EXT_NONE_OK (@says: that message, NULL: any), and the
 * same state after it.
 */
static void refuse_says(struct msg *m, int want, int ext, const char *says,
			const char *what)
{
	struct snap before = snapshot(), after;
	struct result r;
	bool pass;

	talk(m, &r);
	after = snapshot();
	pass = r.err != 0 && (!want || r.err == want) &&
	       (ext == EXT_NONE_OK || r.t.msg[0]) &&
	       (!says || !strcmp(r.t.msg, says)) &&
	       before.len == after.len && !memcmp(before.buf, after.buf, before.len);
	tap(pass, "%s: %s%s", what, r.err ? strerror(r.err) : "accepted",
	    r.t.msg[0] ? "" : ext == EXT_NONE_OK ? " (core, no extack)" : ", NO extack");
	if (r.t.msg[0])
		diag("extack: %s", r.t.msg);
	if (!pass) {
		if (want && r.err != want)
			diag("wanted %s", strerror(want));
		if (says && strcmp(r.t.msg, says))
			diag("wanted the extack \"%s\"", says);
		if (before.len != after.len || memcmp(before.buf, after.buf, before.len))
			diag("STATE CHANGED (%zu -> %zu bytes of dumps)", before.len, after.len);
	}
	free(before.buf);
	free(after.buf);
}

static void refuse_ext(struct msg *m, int want, int ext, const char *what)
{
	refuse_says(m, want, ext, NULL, what);
}

static void refuse(struct msg *m, int want, const char *what)
{
	refuse_ext(m, want, EXT_NEEDED, what);
}

static void accept_req(struct msg *m, const char *what)
{
	struct result r;

	talk(m, &r);
	tap(!r.err, "%s: accepted%s%s", what, r.err ? " NOT: " : "",
	    r.err ? strerror(r.err) : "");
	if (r.t.msg[0])
		diag("extack: %s", r.t.msg);
}

/* ---------------------------------------------------------------- requests */

static struct msg *chain_req(uint8_t cmd, uint32_t id, const uint8_t *hops, int nhops)
{
	struct msg *m = req(cmd);

	put_mesh(m);
	nest(m, CHAINMESH_A_CHAIN);
	put_u32(m, CHAINMESH_CHAIN_A_ID, id);
	if (hops)
		put(m, CHAINMESH_CHAIN_A_HOPS, hops, nhops);
	return m;	/* nest open: the caller adds and closes */
}

/* A good flow request for flow @id on chain @chain, nest left open. */
static struct msg *flow_req_chain(uint8_t cmd, uint32_t id, uint32_t chain)
{
	struct msg *m = req(cmd);

	put_mesh(m);
	nest(m, CHAINMESH_A_FLOW);
	put_u32(m, CHAINMESH_FLOW_A_ID, id);
	put_u32(m, CHAINMESH_FLOW_A_CHAIN, chain);
	return m;
}

static struct msg *flow_req(uint8_t cmd, uint32_t id)
{
	return flow_req_chain(cmd, id, 1);
}

/* A flow request of the shape most refusals have, as a table row. */
enum { M_OURS, M_NONE, M_UNKNOWN };	/* its mesh name: "nosuchmesh" */
#define NONE	(-1)			/* attribute left out */
#define NO_NEST	(-2)			/* id: no flow nest at all */

struct flow_case {
	int mesh;		/* M_* */
	int64_t id, chain;	/* or NONE; id NO_NEST */
	int want;		/* the errno */
	const char *desc;
};

/* Each case a request @cmd, refused with its errno: "@name: desc". */
static void refuse_flows(uint8_t cmd, const char *name,
			 const struct flow_case *c, size_t n)
{
	char what[160];
	struct msg *m;

	for (; n; n--, c++) {
		m = req(cmd);
		if (c->mesh == M_OURS)
			put_mesh(m);
		else if (c->mesh == M_UNKNOWN)
			put_str(m, CHAINMESH_A_MESH_NAME, "nosuchmesh");
		if (c->id != NO_NEST) {
			nest(m, CHAINMESH_A_FLOW);
			if (c->id != NONE)
				put_u32(m, CHAINMESH_FLOW_A_ID, c->id);
			if (c->chain != NONE)
				put_u32(m, CHAINMESH_FLOW_A_CHAIN, c->chain);
			nest_end(m);
		}
		snprintf(what, sizeof(what), "%s: %s", name, c->desc);
		refuse(m, c->want, what);
	}
}

#define CM_STR_(x)	#x
#define CM_STR(x)	CM_STR_(x)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* One attribute added to a good request, as a table row. */
struct attr_case {
	uint16_t type;
	uint8_t width;		/* bytes: 1, 2, 4 or 8 */
	uint64_t v;
	int want;		/* the errno */
	const char *desc;
};

/* Each case: @start's request with the attribute, its nests closed,
 * refused with its errno: "@name: desc". */
static void refuse_attrs(struct msg *(*start)(void), const char *name,
			 const struct attr_case *c, size_t n)
{
	char what[160];
	struct msg *m;

	for (; n; n--, c++) {
		m = start();
		if (c->width == 1)
			put_u8(m, c->type, c->v);
		else if (c->width == 2)
			put_u16(m, c->type, c->v);
		else if (c->width == 4)
			put_u32(m, c->type, c->v);
		else
			put_u64(m, c->type, c->v);
		while (m->depth)
			nest_end(m);
		snprintf(what, sizeof(what), "%s: %s", name, c->desc);
		refuse(m, c->want, what);
	}
}

/* Make the last attribute claim @len bytes more than it has. */
static void overrun_last(struct msg *m, int last_off, int len)
{
	struct nlattr *a = (struct nlattr *)((char *)m->nlh + last_off);

	a->nla_len += len;
}

static const uint8_t v4a[4] = { 10, 0, 0, 1 };
static const uint8_t v4net[4] = { 10, 0, 0, 0 };
static const uint8_t v6a[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };

static void test_generic(void)
{
	static const uint8_t junk[3] = { 1, 2, 3 };
	struct msg *m;
	struct genlmsghdr *g;

	m = req(200);
	refuse_ext(m, EOPNOTSUPP, EXT_NONE_OK, "unknown command 200");
	m = req(CHAINMESH_CMD_FLOW_ADD_NTF);
	put_mesh(m);
	refuse_ext(m, EOPNOTSUPP, EXT_NONE_OK, "notification command sent as a request");

	m = req(CHAINMESH_CMD_MESH_GET);
	put_mesh(m);
	put_raw(m, junk, sizeof(junk));
	refuse(m, EINVAL, "mesh get: trailing bytes after the attributes");

	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	put_raw(m, junk, sizeof(junk));
	refuse(m, EINVAL, "chain new: trailing bytes after the attributes");

	m = req(CHAINMESH_CMD_MESH_GET);
	put_mesh(m);
	g = mnl_nlmsg_get_payload(m->nlh);
	g->reserved = 1;
	refuse(m, EINVAL, "mesh get: genlmsghdr reserved field set");
}

static void test_mesh_name(uint8_t cmd, const char *name, bool dump)
{
	char what[128], longname[CHAINMESH_NAME_LEN + 8];
	struct msg *m;

	memset(longname, 'x', sizeof(longname));
	longname[CHAINMESH_NAME_LEN] = '\0';	/* 16 chars: one too many */

	m = req_dump(cmd, dump);
	put_str(m, CHAINMESH_A_MESH_NAME, longname);
	snprintf(what, sizeof(what), "%s: mesh name of 16 characters (oversized)", name);
	refuse(m, EINVAL, what);

	m = req_dump(cmd, dump);
	put(m, CHAINMESH_A_MESH_NAME, "lab", 3);
	snprintf(what, sizeof(what), "%s: mesh name without its NUL", name);
	refuse(m, EINVAL, what);

	m = req_dump(cmd, dump);
	put_u32(m, CHAINMESH_A_MESH_NAME, 0x01020304);
	snprintf(what, sizeof(what), "%s: mesh name as a u32 (wrong type)", name);
	refuse(m, EINVAL, what);

	m = req_dump(cmd, dump);
	put_str(m, CHAINMESH_A_MESH_NAME, "nosuchmesh");
	snprintf(what, sizeof(what), "%s: unknown mesh", name);
	refuse(m, ENODEV, what);

	m = req_dump(cmd, dump);
	put_mesh(m);
	put_u32(m, CHAINMESH_A_MAX + 1, 1);
	snprintf(what, sizeof(what), "%s: unknown attribute type %d", name, CHAINMESH_A_MAX + 1);
	refuse(m, EINVAL, what);

	m = req_dump(cmd, dump);
	put_mesh(m);
	put_u32(m, CHAINMESH_A_MESH_NODES, 4);
	snprintf(what, sizeof(what), "%s: attribute of another command (mesh-nodes)", name);
	refuse(m, EINVAL, what);

	m = req_dump(cmd, dump);
	put_mesh(m);
	put_u32(m, CHAINMESH_A_UNSPEC, 4);
	snprintf(what, sizeof(what), "%s: attribute type 0", name);
	refuse(m, EINVAL, what);

	if (!dump) {
		m = req_dump(cmd, dump);
		snprintf(what, sizeof(what), "%s: no mesh name", name);
		refuse(m, EINVAL, what);
	}
}

/* MESH_NEW of mesh "nlt" with @nodes nodes (0: no node count). */
static struct msg *mesh_new_req(uint32_t nodes)
{
	struct msg *m = req(CHAINMESH_CMD_MESH_NEW);

	put_str(m, CHAINMESH_A_MESH_NAME, "nlt");
	if (nodes)
		put_u32(m, CHAINMESH_A_MESH_NODES, nodes);
	return m;
}

static struct msg *mesh_new_4(void)
{
	return mesh_new_req(4);
}

static void test_mesh(void)
{
	static const struct attr_case mesh_bad[] = {
		{ CHAINMESH_A_MESH_RING_SLOTS, 4, 0, ERANGE, "ring slots 0" },
		{ CHAINMESH_A_MESH_RING_SLOTS, 4, 100, EINVAL,
		  "ring slots 100 (not a power of two)" },
		{ CHAINMESH_A_MESH_RING_SLOTS, 4, 1u << 30, ERANGE,
		  "ring slots 2^30 (too many)" },
		{ CHAINMESH_A_MESH_BUF_SIZE, 4, 3000, EINVAL,
		  "buffer size 3000 (not a power of two)" },
		{ CHAINMESH_A_MESH_BUF_SIZE, 4, 16, ERANGE, "buffer size 16 (too small)" },
		{ CHAINMESH_A_MESH_BUFS_PER_NODE, 4, 0, ERANGE, "0 buffers per node" },
		{ CHAINMESH_A_MESH_BUFS_PER_NODE, 4, 0xffffffff, ERANGE,
		  "2^32-1 buffers per node" },
		{ CHAINMESH_A_MESH_MAX_FLOWS, 4, 0, ERANGE, "max flows 0" },
		{ CHAINMESH_A_MESH_MAX_FLOWS, 4, CHAINMESH_MAX_FLOWS + 1, ERANGE,
		  "max flows CHAINMESH_MAX_FLOWS + 1" },
		{ CHAINMESH_A_MESH_ID, 4, 7, EINVAL, "read-only attribute (mesh id)" },
	};
	struct msg *m;

	test_mesh_name(CHAINMESH_CMD_MESH_GET, "mesh get", false);
	test_mesh_name(CHAINMESH_CMD_MESH_GET, "mesh get (dump)", true);
	test_mesh_name(CHAINMESH_CMD_NODE_GET, "node get (dump)", true);
	test_mesh_name(CHAINMESH_CMD_CHAIN_GET, "chain get (dump)", true);
	test_mesh_name(CHAINMESH_CMD_FLOW_GET, "flow get (dump)", true);
	test_mesh_name(CHAINMESH_CMD_MESH_DEL, "mesh del", false);

	/* mesh new: nodes, ring slots, buffer size and count, max flows */
	m = mesh_new_req(0);
	refuse(m, EINVAL, "mesh new: no node count");
	m = req(CHAINMESH_CMD_MESH_NEW);
	put_u32(m, CHAINMESH_A_MESH_NODES, 4);
	refuse(m, EINVAL, "mesh new: no mesh name");
	m = mesh_new_req(1);
	refuse(m, ERANGE, "mesh new: 1 node (< 2)");
	m = mesh_new_req(CHAINMESH_MAX_NODES + 1);
	refuse(m, ERANGE, "mesh new: 65 nodes (> 64)");
	m = req(CHAINMESH_CMD_MESH_NEW);
	put_str(m, CHAINMESH_A_MESH_NAME, "nlt");
	put_u16(m, CHAINMESH_A_MESH_NODES, 4);
	refuse(m, EINVAL, "mesh new: node count as a u16 (wrong length)");
	m = req(CHAINMESH_CMD_MESH_NEW);
	put_str(m, CHAINMESH_A_MESH_NAME, "nlt");
	put_u64(m, CHAINMESH_A_MESH_NODES, 4);
	refuse(m, EINVAL, "mesh new: node count as a u64 (wrong length)");
	refuse_attrs(mesh_new_4, "mesh new", mesh_bad, ARRAY_SIZE(mesh_bad));
	m = mesh_new_req(64);
	put_u32(m, CHAINMESH_A_MESH_BUF_SIZE, 65536);
	put_u32(m, CHAINMESH_A_MESH_BUFS_PER_NODE, 4096);
	refuse(m, 0, "mesh new: region larger than allowed");
	m = mesh_new_req(4);
	nest(m, CHAINMESH_A_CHAIN);
	nest_end(m);
	refuse(m, EINVAL, "mesh new: attribute of another command (chain)");
	m = req(CHAINMESH_CMD_MESH_NEW);
	put_mesh(m);
	put_u32(m, CHAINMESH_A_MESH_NODES, 4);
	refuse(m, EEXIST, "mesh new: name of a mesh that exists");

	m = req(CHAINMESH_CMD_MESH_DEL);
	put_mesh(m);
	refuse(m, EOPNOTSUPP, "mesh del: the lab's mesh (not host memory)");

	/* a good one, and its deletion: state restored */
	m = req(CHAINMESH_CMD_MESH_NEW);
	put_str(m, CHAINMESH_A_MESH_NAME, "nlt");
	put_u32(m, CHAINMESH_A_MESH_NODES, 2);
	put_u32(m, CHAINMESH_A_MESH_BUFS_PER_NODE, 16);
	put_u32(m, CHAINMESH_A_MESH_RING_SLOTS, 16);
	accept_req(m, "mesh new nlt (2 nodes)");
	m = req(CHAINMESH_CMD_MESH_NEW);
	put_str(m, CHAINMESH_A_MESH_NAME, "nlt");
	put_u32(m, CHAINMESH_A_MESH_NODES, 2);
	refuse(m, EEXIST, "mesh new: nlt again");
	m = req(CHAINMESH_CMD_MESH_DEL);
	put_str(m, CHAINMESH_A_MESH_NAME, "nlt");
	accept_req(m, "mesh del nlt");
	m = req(CHAINMESH_CMD_MESH_DEL);
	put_str(m, CHAINMESH_A_MESH_NAME, "nlt");
	refuse(m, ENODEV, "mesh del: nlt again");
}

static const uint8_t h12[] = { 1, 2 };

/* CHAIN_NEW of chain 5, hops 1 2: good, were it not for what is added. */
static struct msg *chain_new_5(void)
{
	return chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, h12, 2);
}

static void test_chain(void)
{
	static const struct attr_case chain_bad[] = {
		{ CHAINMESH_CHAIN_A_POLICY, 4, CHAINMESH_POLICY_FAILOVER + 1, ERANGE,
		  "policy 3 (out of range)" },
		{ CHAINMESH_CHAIN_A_GROUPS, 8, 1, EINVAL,
		  "group map with bit 0 (first hop in a group)" },
		{ CHAINMESH_CHAIN_A_GROUPS, 8, 1ull << 2, EINVAL, "group map past the hops" },
		{ CHAINMESH_CHAIN_A_GROUPS, 4, 2, EINVAL, "group map as a u32 (wrong length)" },
		{ CHAINMESH_CHAIN_A_POLICY, 1, 1, EINVAL, "policy as a u8 (wrong length)" },
		{ CHAINMESH_CHAIN_A_MAX + 1, 4, 0, EINVAL,
		  "unknown attribute in the chain nest" },
		{ CHAINMESH_CHAIN_A_UNSPEC, 4, 0, EINVAL,
		  "attribute type 0 in the chain nest" },
	};
	static const uint8_t dup[] = { 1, 2, 1 }, bad8[] = { 1, 8 };
	static const uint8_t bad255[] = { 255 };
	uint8_t many[CHAINMESH_MAX_NODES + 1];
	struct msg *m;
	int i;

	for (i = 0; i < (int)sizeof(many); i++)
		many[i] = i % 8;

	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	refuse(m, EINVAL, "chain new: no chain attributes");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	nest(m, CHAINMESH_A_CHAIN);
	put_u32(m, CHAINMESH_CHAIN_A_ID, 5);
	put(m, CHAINMESH_CHAIN_A_HOPS, h12, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain new: no mesh name");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	nest(m, CHAINMESH_A_CHAIN);
	put(m, CHAINMESH_CHAIN_A_HOPS, h12, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain new: no chain id");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, NULL, 0);
	nest_end(m);
	refuse(m, EINVAL, "chain new: no hops");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, CHAINMESH_MAX_CHAINS, h12, 2);
	nest_end(m);
	refuse(m, ERANGE, "chain new: chain id 256 (out of range)");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	nest(m, CHAINMESH_A_CHAIN);
	put_u16(m, CHAINMESH_CHAIN_A_ID, 5);
	put(m, CHAINMESH_CHAIN_A_HOPS, h12, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain new: chain id as a u16 (wrong length)");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	nest(m, CHAINMESH_A_CHAIN);
	put_u64(m, CHAINMESH_CHAIN_A_ID, 5);
	put(m, CHAINMESH_CHAIN_A_HOPS, h12, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain new: chain id as a u64 (wrong length)");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, h12, 0);
	nest_end(m);
	refuse(m, ERANGE, "chain new: zero hops");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, many, sizeof(many));
	nest_end(m);
	refuse(m, ERANGE, "chain new: 65 hops (oversized)");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, dup, sizeof(dup));
	nest_end(m);
	refuse(m, EINVAL, "chain new: duplicate hop (1 2 1)");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, bad8, sizeof(bad8));
	nest_end(m);
	refuse(m, EINVAL, "chain new: hop 8 in a mesh of 8 nodes");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, bad255, sizeof(bad255));
	nest_end(m);
	refuse(m, EINVAL, "chain new: hop 255");
	refuse_attrs(chain_new_5, "chain new", chain_bad, ARRAY_SIZE(chain_bad));
	m = req(CHAINMESH_CMD_CHAIN_REBALANCE);
	put_mesh(m);
	nest(m, CHAINMESH_A_CHAIN);
	put_u32(m, CHAINMESH_CHAIN_A_ID, 200);
	nest_end(m);
	refuse(m, ENOENT, "chain rebalance: no such chain");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	nest_flag(m, CHAINMESH_A_CHAIN, 0);
	put_u32(m, CHAINMESH_CHAIN_A_ID, 5);
	put(m, CHAINMESH_CHAIN_A_HOPS, h12, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain new: nest without NLA_F_NESTED");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	put_u32(m, CHAINMESH_A_CHAIN | NLA_F_NESTED, 5);
	refuse(m, EINVAL, "chain new: nest holding a bare u32 (bad nest)");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	nest(m, CHAINMESH_A_CHAIN);
	put_u32(m, CHAINMESH_CHAIN_A_ID | NLA_F_NESTED, 5);
	put(m, CHAINMESH_CHAIN_A_HOPS, h12, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain new: NLA_F_NESTED on the chain id");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_mesh(m);
	nest(m, CHAINMESH_A_FLOW);
	put_u32(m, CHAINMESH_FLOW_A_ID, 5);
	nest_end(m);
	refuse(m, EINVAL, "chain new: a flow nest instead of a chain nest");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, h12, 2);
	i = m->nlh->nlmsg_len;
	put_u32(m, CHAINMESH_CHAIN_A_POLICY, 0);
	overrun_last(m, i, 4);
	nest_end(m);
	refuse(m, EINVAL, "chain new: policy longer than the nest (bad length)");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 5, h12, 2);
	nest_end(m);
	overrun_last(m, NLMSG_HDRLEN + GENL_HDRLEN, 64);
	refuse(m, EINVAL, "chain new: mesh name longer than the message (bad length)");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 1, h12, 2);
	nest_end(m);
	refuse(m, EEXIST, "chain new: chain 1, which exists");
	m = req(CHAINMESH_CMD_CHAIN_NEW);
	put_str(m, CHAINMESH_A_MESH_NAME, "nosuchmesh");
	nest(m, CHAINMESH_A_CHAIN);
	put_u32(m, CHAINMESH_CHAIN_A_ID, 5);
	put(m, CHAINMESH_CHAIN_A_HOPS, h12, 2);
	nest_end(m);
	refuse(m, ENODEV, "chain new: unknown mesh");

	/* chain del */
	m = req(CHAINMESH_CMD_CHAIN_DEL);
	put_mesh(m);
	refuse(m, EINVAL, "chain del: no chain attributes");
	m = req(CHAINMESH_CMD_CHAIN_DEL);
	put_mesh(m);
	nest(m, CHAINMESH_A_CHAIN);
	nest_end(m);
	refuse(m, EINVAL, "chain del: no chain id");
	m = chain_req(CHAINMESH_CMD_CHAIN_DEL, CHAINMESH_MAX_CHAINS, NULL, 0);
	nest_end(m);
	refuse(m, ERANGE, "chain del: chain id 256");
	m = chain_req(CHAINMESH_CMD_CHAIN_DEL, 7, NULL, 0);
	nest_end(m);
	refuse(m, ENOENT, "chain del: chain 7, which does not exist");
	m = chain_req(CHAINMESH_CMD_CHAIN_DEL, 1, NULL, 0);
	nest_end(m);
	refuse(m, EBUSY, "chain del: chain 1, used by flow 1");
	m = chain_req(CHAINMESH_CMD_CHAIN_DEL, 2, h12, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain del: hops (not an attribute of del)");
	m = req(CHAINMESH_CMD_CHAIN_DEL);
	nest(m, CHAINMESH_A_CHAIN);
	put_u32(m, CHAINMESH_CHAIN_A_ID, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain del: no mesh name");
	m = req(CHAINMESH_CMD_CHAIN_DEL);
	put_str(m, CHAINMESH_A_MESH_NAME, "nosuchmesh");
	nest(m, CHAINMESH_A_CHAIN);
	put_u32(m, CHAINMESH_CHAIN_A_ID, 2);
	nest_end(m);
	refuse(m, ENODEV, "chain del: unknown mesh");

	/* chain get */
	m = chain_req(CHAINMESH_CMD_CHAIN_GET, 7, NULL, 0);
	nest_end(m);
	refuse(m, ENOENT, "chain get: chain 7, which does not exist");
	m = req(CHAINMESH_CMD_CHAIN_GET);
	put_mesh(m);
	refuse(m, EINVAL, "chain get: no chain attributes");
	m = chain_req(CHAINMESH_CMD_CHAIN_GET, 1, h12, 2);
	nest_end(m);
	refuse(m, EINVAL, "chain get: hops (not an attribute of get)");
}

/* Flow attributes, for FLOW_NEW and FLOW_SET alike. */
static void test_flow_attrs(uint8_t cmd, const char *name, uint32_t id)
{
	const struct flow_case bad[] = {
		{ M_OURS, CHAINMESH_MAX_FLOWS, 1, ERANGE,
		  "flow id " CM_STR(CHAINMESH_MAX_FLOWS) " (out of range)" },
		{ M_OURS, id, CHAINMESH_MAX_CHAINS, ERANGE, "chain 256 (out of range)" },
		{ M_OURS, id, 9, ENOENT, "chain 9, which does not exist" },
		{ M_OURS, id, NONE, EINVAL, "no chain" },
		{ M_OURS, NONE, 1, EINVAL, "no flow id" },
		{ M_OURS, NO_NEST, NONE, EINVAL, "no flow attributes" },
	}, mesh_bad[] = {
		{ M_NONE, id, 1, EINVAL, "no mesh name" },
		{ M_UNKNOWN, id, 1, ENODEV, "unknown mesh" },
	};
	char what[160];
	struct msg *m;

#define F(desc, want, body) do {					\
		m = flow_req(cmd, id);					\
		body;							\
		nest_end(m);						\
		snprintf(what, sizeof(what), "%s: %s", name, desc);	\
		refuse(m, want, what);					\
	} while (0)

	F("a second flow id, CHAINMESH_MAX_FLOWS (out of range)", ERANGE,
	  put_u32(m, CHAINMESH_FLOW_A_ID, CHAINMESH_MAX_FLOWS));
	F("a second chain, 256 (out of range)", ERANGE,
	  put_u32(m, CHAINMESH_FLOW_A_CHAIN, CHAINMESH_MAX_CHAINS));
	F("chain as a u16 (wrong length)", EINVAL,
	  put_u16(m, CHAINMESH_FLOW_A_CHAIN, 1));
	F("priority as a u32 (wrong length)", EINVAL,
	  put_u32(m, CHAINMESH_FLOW_A_PRIORITY, 1));
	F("family 5", EINVAL, put_u8(m, CHAINMESH_FLOW_A_FAMILY, 5));
	F("family as a u16 (wrong length)", EINVAL,
	  put_u16(m, CHAINMESH_FLOW_A_FAMILY, 4));
	F("protocol as a u16 (wrong length)", EINVAL,
	  put_u16(m, CHAINMESH_FLOW_A_PROTO, 17));
	F("source address of 5 bytes", EINVAL, put(m, CHAINMESH_FLOW_A_SRC, v6a, 5));
	F("source address of 17 bytes (oversized)", ERANGE,
	  put(m, CHAINMESH_FLOW_A_SRC, NULL, 17));
	F("source address empty", EINVAL, put(m, CHAINMESH_FLOW_A_SRC, NULL, 0));
	F("IPv6 source in an inet flow", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_FAMILY, 4); put(m, CHAINMESH_FLOW_A_SRC, v6a, 16));
	F("IPv4 destination after an IPv6 source", EINVAL,
	  put(m, CHAINMESH_FLOW_A_SRC, v6a, 16); put(m, CHAINMESH_FLOW_A_DST, v4a, 4));
	F("address with family 0 (any)", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_FAMILY, 0); put(m, CHAINMESH_FLOW_A_DST, v4a, 4));
	F("source prefix 129 (out of range)", ERANGE,
	  put(m, CHAINMESH_FLOW_A_SRC, v6a, 16); put_u8(m, CHAINMESH_FLOW_A_SRC_PREFIX, 129));
	F("source prefix 33 on an IPv4 address", EINVAL,
	  put(m, CHAINMESH_FLOW_A_SRC, v4a, 4); put_u8(m, CHAINMESH_FLOW_A_SRC_PREFIX, 33));
	F("source prefix without an address", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_SRC_PREFIX, 24));
	F("source 10.0.0.1/24 (host bits)", EINVAL,
	  put(m, CHAINMESH_FLOW_A_SRC, v4a, 4); put_u8(m, CHAINMESH_FLOW_A_SRC_PREFIX, 24));
	F("source prefix as a u32 (wrong length)", EINVAL,
	  put(m, CHAINMESH_FLOW_A_SRC, v4net, 4); put_u32(m, CHAINMESH_FLOW_A_SRC_PREFIX, 24));
	F("destination of 8 bytes", EINVAL, put(m, CHAINMESH_FLOW_A_DST, NULL, 8));
	F("destination prefix 200", ERANGE,
	  put(m, CHAINMESH_FLOW_A_DST, v4net, 4); put_u8(m, CHAINMESH_FLOW_A_DST_PREFIX, 200));
	F("destination 10.0.0.1/8 (host bits)", EINVAL,
	  put(m, CHAINMESH_FLOW_A_DST, v4a, 4); put_u8(m, CHAINMESH_FLOW_A_DST_PREFIX, 8));
	F("destination prefix without an address", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_DST_PREFIX, 8));
	F("source port with protocol icmp", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_PROTO, 1); put_u16(m, CHAINMESH_FLOW_A_SPORT, 53));
	F("destination port mask with protocol icmp", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_PROTO, 1); put_u16(m, CHAINMESH_FLOW_A_DPORT_MASK, 0xff00));
	F("source port 0x1234 with mask 0xff00", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_PROTO, 17); put_u16(m, CHAINMESH_FLOW_A_SPORT, 0x1234);
	  put_u16(m, CHAINMESH_FLOW_A_SPORT_MASK, 0xff00));
	F("destination port 53 with mask 0 (bits beyond the mask)", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_PROTO, 6); put_u16(m, CHAINMESH_FLOW_A_DPORT, 53);
	  put_u16(m, CHAINMESH_FLOW_A_DPORT_MASK, 0));
	F("source port as a u32 (wrong length)", EINVAL,
	  put_u32(m, CHAINMESH_FLOW_A_SPORT, 53));
	F("source port mask as a u8 (wrong length)", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_SPORT_MASK, 0xff));
	F("destination port as a u8 (wrong length)", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_DPORT, 53));
	F("destination port mask as a u32 (wrong length)", EINVAL,
	  put_u32(m, CHAINMESH_FLOW_A_DPORT_MASK, 0xffff));
	F("vlan 4096 (out of range)", ERANGE, put_u16(m, CHAINMESH_FLOW_A_VLAN, 4096));
	F("vlan as a u32 (wrong length)", EINVAL, put_u32(m, CHAINMESH_FLOW_A_VLAN, 10));
	F("stats (read-only attribute)", EINVAL,
	  nest(m, CHAINMESH_FLOW_A_STATS); nest_end(m));
	F("unknown attribute in the flow nest", EINVAL,
	  put_u32(m, CHAINMESH_FLOW_A_MAX + 1, 0));
	F("attribute type 0 in the flow nest", EINVAL,
	  put_u32(m, CHAINMESH_FLOW_A_UNSPEC, 0));
	F("NLA_F_NESTED on the protocol", EINVAL,
	  put_u8(m, CHAINMESH_FLOW_A_PROTO | NLA_F_NESTED, 17));
#undef F

	refuse_flows(cmd, name, bad, ARRAY_SIZE(bad));
	m = req(cmd);
	put_mesh(m);
	nest_flag(m, CHAINMESH_A_FLOW, 0);
	put_u32(m, CHAINMESH_FLOW_A_ID, id);
	put_u32(m, CHAINMESH_FLOW_A_CHAIN, 1);
	nest_end(m);
	snprintf(what, sizeof(what), "%s: nest without NLA_F_NESTED", name);
	refuse(m, EINVAL, what);
	m = req(cmd);
	put_mesh(m);
	put(m, CHAINMESH_A_FLOW | NLA_F_NESTED, "\x08\x00\x01", 3);
	snprintf(what, sizeof(what), "%s: nest holding 3 bytes (bad nest)", name);
	refuse(m, ERANGE, what);
	refuse_flows(cmd, name, mesh_bad, ARRAY_SIZE(mesh_bad));
	m = req(cmd);
	put_mesh(m);
	nest(m, CHAINMESH_A_CHAIN);
	put_u32(m, CHAINMESH_CHAIN_A_ID, 1);
	nest_end(m);
	snprintf(what, sizeof(what), "%s: a chain nest instead of a flow nest", name);
	refuse(m, EINVAL, what);
}

static void test_flow(void)
{
	static const struct flow_case del_bad[] = {
		{ M_OURS, 3, NONE, ENOENT, "flow 3, which does not exist" },
		{ M_OURS, CHAINMESH_MAX_FLOWS, NONE, ERANGE, "flow id CHAINMESH_MAX_FLOWS" },
		{ M_OURS, NONE, NONE, EINVAL, "no flow id" },
		{ M_OURS, 1, 1, EINVAL, "chain (not an attribute of del)" },
		{ M_OURS, NO_NEST, NONE, EINVAL, "no flow attributes" },
		{ M_UNKNOWN, 1, NONE, ENODEV, "unknown mesh" },
	}, get_bad[] = {
		{ M_OURS, 3, NONE, ENOENT, "flow 3, which does not exist" },
		{ M_OURS, NO_NEST, NONE, EINVAL, "no flow attributes" },
		{ M_OURS, 1, 1, EINVAL, "chain (not an attribute of get)" },
	};
	struct msg *m;

	/* flow 3 does not exist: new would add it, were the request good */
	test_flow_attrs(CHAINMESH_CMD_FLOW_NEW, "flow new", 3);
	/* flow 1 exists: set would change it, were the request good */
	test_flow_attrs(CHAINMESH_CMD_FLOW_SET, "flow set", 1);

	m = flow_req(CHAINMESH_CMD_FLOW_NEW, 1);
	nest_end(m);
	refuse(m, EEXIST, "flow new: flow 1, which exists");
	m = flow_req(CHAINMESH_CMD_FLOW_SET, 3);
	nest_end(m);
	refuse(m, ENOENT, "flow set: flow 3, which does not exist");

	refuse_flows(CHAINMESH_CMD_FLOW_DEL, "flow del", del_bad, ARRAY_SIZE(del_bad));
	refuse_flows(CHAINMESH_CMD_FLOW_GET, "flow get", get_bad, ARRAY_SIZE(get_bad));
}

/* The mesh's max_flows, from MESH_GET. */
static uint32_t mesh_max_flows(void)
{
	struct msg *m = req(CHAINMESH_CMD_MESH_GET);
	uint32_t v;

	put_mesh(m);
	return reply_u32(m, CHAINMESH_A_MESH_MAX_FLOWS, false, &v) ? 0 : v;
}

/* A flow nest (id, chain) added to @m, which already has the mesh. */
static void flow_nest(struct msg *m, uint32_t id, uint32_t chain)
{
	nest(m, CHAINMESH_A_FLOW);
	put_u32(m, CHAINMESH_FLOW_A_ID, id);
	if (chain)
		put_u32(m, CHAINMESH_FLOW_A_CHAIN, chain);
	nest_end(m);
}

/* Flow ids below the mesh's own max_flows; batches whole or not at all. */
static void test_flow_batch(void)
{
	uint32_t max = mesh_max_flows(), i;
	struct snap before, after;
	char what[128];
	struct msg *m;

	tap(max >= 8 && max <= CHAINMESH_MAX_FLOWS, "mesh max flows: %u", max);
	if (max < 8)
		return;
	m = flow_req(CHAINMESH_CMD_FLOW_NEW, max);
	nest_end(m);
	snprintf(what, sizeof(what), "flow new: flow id %u, the mesh's max flows", max);
	refuse(m, ERANGE, what);
	m = flow_req(CHAINMESH_CMD_FLOW_SET, max);
	nest_end(m);
	snprintf(what, sizeof(what), "flow set: flow id %u, the mesh's max flows", max);
	refuse(m, ERANGE, what);

	before = snapshot();
	m = req(CHAINMESH_CMD_FLOW_NEW);
	put_mesh(m);
	for (i = 3; i < 7; i++)
		flow_nest(m, i, i & 1 ? 1 : 2);
	flow_nest(m, max - 1, 2);
	accept_req(m, "flow new: a batch of 5 flows, the last id max flows - 1");
	m = req(CHAINMESH_CMD_FLOW_DEL);
	put_mesh(m);
	flow_nest(m, max - 1, 0);
	for (i = 3; i < 7; i++)
		flow_nest(m, i, 0);
	accept_req(m, "flow del: the batch of 5 flows");
	after = snapshot();
	tap(before.len == after.len && !memcmp(before.buf, after.buf, before.len),
	    "batch added and deleted: dumps identical");
	free(before.buf);
	free(after.buf);

	/* Sized by the mesh, not by the message: one flow more than it has
	 * ids is refused before anything is read or allocated (20 bytes a
	 * nest: the lab's 256 flows fit a request). */
	tap((max + 1) * 20 + 256 <= CM_REQ_SIZE, "max flows + 1 nests fit a request");
	if ((max + 1) * 20 + 256 > CM_REQ_SIZE)
		return;
	m = req(CHAINMESH_CMD_FLOW_NEW);
	put_mesh(m);
	for (i = 0; i <= max; i++)
		flow_nest(m, 3, 1);
	refuse(m, E2BIG, "flow new: a batch of max flows + 1 nests");
	m = req(CHAINMESH_CMD_FLOW_DEL);
	put_mesh(m);
	for (i = 0; i <= max; i++)
		flow_nest(m, 3, 0);
	refuse(m, E2BIG, "flow del: a batch of max flows + 1 nests");

	m = req(CHAINMESH_CMD_FLOW_NEW);
	put_mesh(m);
	flow_nest(m, 3, 1);
	flow_nest(m, 4, 9);
	flow_nest(m, 5, 1);
	refuse(m, ENOENT, "flow new: batch of 3, the second on no chain: none added");
	m = req(CHAINMESH_CMD_FLOW_NEW);
	put_mesh(m);
	flow_nest(m, 3, 1);
	flow_nest(m, 4, 1);
	flow_nest(m, 3, 2);
	refuse(m, EINVAL, "flow new: batch with flow 3 twice: none added");
	m = req(CHAINMESH_CMD_FLOW_NEW);
	put_mesh(m);
	flow_nest(m, 3, 1);
	flow_nest(m, 1, 1);
	refuse(m, EEXIST, "flow new: batch with flow 1, which exists: none added");
	m = req(CHAINMESH_CMD_FLOW_NEW);
	put_mesh(m);
	flow_nest(m, 3, 1);
	flow_nest(m, max, 1);
	refuse(m, ERANGE, "flow new: batch with a flow id beyond max flows");
	m = req(CHAINMESH_CMD_FLOW_SET);
	put_mesh(m);
	flow_nest(m, 1, 1);
	flow_nest(m, 1, 2);
	refuse(m, EINVAL, "flow set: two flow nests (one flow per request)");
	m = req(CHAINMESH_CMD_FLOW_DEL);
	put_mesh(m);
	flow_nest(m, 1, 0);
	flow_nest(m, 3, 0);
	refuse(m, ENOENT, "flow del: batch of flow 1 and flow 3, which does not exist");
	m = req(CHAINMESH_CMD_FLOW_DEL);
	put_mesh(m);
	flow_nest(m, 1, 0);
	flow_nest(m, 1, 0);
	refuse(m, EINVAL, "flow del: batch with flow 1 twice");
}

/* FLOW_SET does its job: one flow, another chain, same id; then back. */
static void test_flow_set_works(void)
{
	struct snap before, after;
	struct msg *m;
	uint32_t chain;
	bool moved;

	before = snapshot();
	m = flow_req_chain(CHAINMESH_CMD_FLOW_SET, 1, 2);
	put_u16(m, CHAINMESH_FLOW_A_PRIORITY, 7);
	put(m, CHAINMESH_FLOW_A_DST, v4a, 4);
	nest_end(m);
	accept_req(m, "flow set 1: chain 2, prio 7, dst 10.0.0.1");

	m = req(CHAINMESH_CMD_FLOW_GET);
	put_mesh(m);
	nest(m, CHAINMESH_A_FLOW);
	put_u32(m, CHAINMESH_FLOW_A_ID, 1);
	nest_end(m);
	moved = !reply_u32(m, CHAINMESH_FLOW_A_CHAIN, true, &chain) && chain == 2;
	tap(moved, "flow get 1: on chain 2 now");

	m = flow_req(CHAINMESH_CMD_FLOW_SET, 1);
	nest_end(m);
	accept_req(m, "flow set 1: back to chain 1, nothing else");
	after = snapshot();
	tap(before.len == after.len && !memcmp(before.buf, after.buf, before.len),
	    "flow 1 is as it was (dumps identical)");
	free(before.buf);
	free(after.buf);
}

/* Changes without CAP_NET_ADMIN: EPERM from the core, nothing changed;
 * reading still works. */
/* A remote peer request; NULL: that attribute left out. */
static struct msg *remote_req(uint8_t cmd, const char *name, const char *ifname,
			      bool addr)
{
	static const uint8_t a[4] = { 172, 16, 0, 9 };
	struct msg *m = req(cmd);

	put_mesh(m);
	nest(m, CHAINMESH_A_REMOTE);
	if (name)
		put_str(m, CHAINMESH_REMOTE_A_NAME, name);
	if (ifname)
		put_str(m, CHAINMESH_REMOTE_A_IFNAME, ifname);
	if (addr)
		put(m, CHAINMESH_REMOTE_A_ADDR, a, sizeof(a));
	nest_end(m);
	return m;
}

/* REMOTE_NEW and _DEL: what each needs, refused with the kernel's words
 * before any device is looked at (selftests/vm/remote.sh has the rest). */
static void test_remote(void)
{
	static const struct {
		uint8_t cmd;
		const char *name, *ifname;
		bool addr;
		int want;
		const char *says, *what;
	} c[] = {
		{ CHAINMESH_CMD_REMOTE_NEW, NULL, "gnv0", true, EINVAL,
		  "remote peer name is required", "remote new: no name" },
		{ CHAINMESH_CMD_REMOTE_NEW, "hostb", NULL, true, EINVAL,
		  "remote peer device is required", "remote new: no device" },
		{ CHAINMESH_CMD_REMOTE_NEW, "hostb", "gnv0", false, EINVAL,
		  "remote peer address is required", "remote new: no address" },
		{ CHAINMESH_CMD_REMOTE_NEW, "", "gnv0", true, EINVAL,
		  "remote peer name is empty", "remote new: empty name" },
		{ CHAINMESH_CMD_REMOTE_DEL, NULL, NULL, false, EINVAL,
		  "remote peer name is required", "remote del: no name" },
		{ CHAINMESH_CMD_REMOTE_DEL, "nosuchpeer", NULL, false, ENOENT,
		  "no such remote peer", "remote del: a peer that does not exist" },
	};
	static const uint8_t cmds[] = {
		CHAINMESH_CMD_REMOTE_NEW, CHAINMESH_CMD_REMOTE_DEL,
	};
	struct msg *m;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		m = req(cmds[i]);
		put_mesh(m);
		refuse_says(m, EINVAL, EXT_NEEDED, "remote peer attributes are required",
			    cmds[i] == CHAINMESH_CMD_REMOTE_NEW ?
			    "remote new: no peer attributes" :
			    "remote del: no peer attributes");
	}
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		m = remote_req(c[i].cmd, c[i].name, c[i].ifname, c[i].addr);
		refuse_says(m, c[i].want, EXT_NEEDED, c[i].says, c[i].what);
	}
}

static void test_unprivileged(void)
{
	static const uint8_t cmds[] = {
		CHAINMESH_CMD_CHAIN_NEW, CHAINMESH_CMD_CHAIN_DEL,
		CHAINMESH_CMD_FLOW_NEW, CHAINMESH_CMD_FLOW_SET, CHAINMESH_CMD_FLOW_DEL,
		CHAINMESH_CMD_MESH_NEW, CHAINMESH_CMD_MESH_DEL,
		CHAINMESH_CMD_FLOW_GET, CHAINMESH_CMD_CHAIN_GET, CHAINMESH_CMD_NODE_GET,
	};
	static const char * const names[] = {
		"chain new", "chain del", "flow new", "flow set", "flow del",
		"mesh new", "mesh del", "flow get (dump)", "chain get (dump)",
		"node get (dump)",
	};
	struct snap before = snapshot(), after;
	int res[sizeof(cmds)][2], p[2];
	size_t i;
	pid_t pid;

	if (pipe(p) < 0) {
		tap(false, "unprivileged: pipe: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid == 0) {
		static const uint8_t h[] = { 3, 4 };
		struct result r;
		struct msg *m;
		static struct cm_nl nobody;

		close(p[0]);
		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(2);
		if (cm_nl_open(&nobody))
			_exit(3);
		for (i = 0; i < sizeof(cmds); i++) {
			switch (cmds[i]) {
			case CHAINMESH_CMD_CHAIN_NEW:
			case CHAINMESH_CMD_CHAIN_DEL:
				m = chain_req(cmds[i], cmds[i] == CHAINMESH_CMD_CHAIN_NEW ? 5 : 2,
					      cmds[i] == CHAINMESH_CMD_CHAIN_NEW ? h : NULL, 2);
				nest_end(m);
				break;
			case CHAINMESH_CMD_FLOW_NEW:
			case CHAINMESH_CMD_FLOW_SET:
			case CHAINMESH_CMD_FLOW_DEL:
				m = cmds[i] == CHAINMESH_CMD_FLOW_DEL ? req(cmds[i]) :
				    flow_req(cmds[i], cmds[i] == CHAINMESH_CMD_FLOW_NEW ? 3 : 1);
				if (cmds[i] == CHAINMESH_CMD_FLOW_DEL) {
					put_mesh(m);
					nest(m, CHAINMESH_A_FLOW);
					put_u32(m, CHAINMESH_FLOW_A_ID, 1);
				}
				nest_end(m);
				break;
			case CHAINMESH_CMD_MESH_NEW:
				m = req(cmds[i]);
				put_str(m, CHAINMESH_A_MESH_NAME, "nlt");
				put_u32(m, CHAINMESH_A_MESH_NODES, 2);
				break;
			case CHAINMESH_CMD_MESH_DEL:
				m = req(cmds[i]);
				put_mesh(m);
				break;
			default:
				m = req(cmds[i]);
				m->nlh->nlmsg_flags |= NLM_F_DUMP;
				put_mesh(m);
				break;
			}
			talk_on(&nobody, m, &r, NULL);
			res[i][0] = r.err;
			res[i][1] = r.nmsgs;
		}
		if (write(p[1], res, sizeof(res)) != sizeof(res))
			_exit(4);
		_exit(0);
	}
	close(p[1]);
	memset(res, 0xff, sizeof(res));
	if (read(p[0], res, sizeof(res)) != sizeof(res))
		diag("unprivileged child gave no results");
	close(p[0]);
	waitpid(pid, NULL, 0);
	after = snapshot();
	for (i = 0; i < sizeof(cmds); i++) {
		bool get = cmds[i] == CHAINMESH_CMD_FLOW_GET ||
			   cmds[i] == CHAINMESH_CMD_CHAIN_GET ||
			   cmds[i] == CHAINMESH_CMD_NODE_GET;

		if (get)
			tap(res[i][0] == 0 && res[i][1] > 0,
			    "as nobody: %s works (%d messages)", names[i], res[i][1]);
		else
			tap(res[i][0] == EPERM, "as nobody: %s refused: %s (core, no extack)",
			    names[i], res[i][0] >= 0 ? strerror(res[i][0]) : "no result");
	}
	tap(before.len == after.len && !memcmp(before.buf, after.buf, before.len),
	    "as nobody: nothing changed (dumps identical)");
	free(before.buf);
	free(after.buf);
}

/* The family's policies, as YNL and `genl policy` read them (every
 * attribute's policy is dumped, as into extack on a refusal). */
static void test_policy_dump(void)
{
	struct snap s = { NULL, 0 };
	struct result r;
	struct msg m;

	msg_init(&m, GENL_ID_CTRL, CTRL_CMD_GETPOLICY, NLM_F_DUMP);
	put_str(&m, CTRL_ATTR_FAMILY_NAME, CHAINMESH_GENL_NAME);
	talk_on(&nl, &m, &r, &s);
	tap(!r.err && r.nmsgs > 0, "getpolicy dump of the family: %d messages%s%s",
	    r.nmsgs, r.err ? ", " : "", r.err ? strerror(r.err) : "");
	free(s.buf);
}

static void setup(void)
{
	static const uint8_t h21[] = { 2, 1 };
	struct msg *m;

	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 1, h12, 2);
	nest_end(m);
	accept_req(m, "setup: chain 1 hops 1 2");
	m = chain_req(CHAINMESH_CMD_CHAIN_NEW, 2, h21, 2);
	put_u32(m, CHAINMESH_CHAIN_A_POLICY, CHAINMESH_POLICY_BYPASS);
	nest_end(m);
	accept_req(m, "setup: chain 2 hops 2 1 policy bypass");
	m = flow_req(CHAINMESH_CMD_FLOW_NEW, 1);
	nest_end(m);
	accept_req(m, "setup: flow 1 chain 1 (matches anything)");
}

static void teardown(void)
{
	struct msg *m;

	m = req(CHAINMESH_CMD_FLOW_DEL);
	put_mesh(m);
	nest(m, CHAINMESH_A_FLOW);
	put_u32(m, CHAINMESH_FLOW_A_ID, 1);
	nest_end(m);
	accept_req(m, "teardown: flow del 1");
	m = chain_req(CHAINMESH_CMD_CHAIN_DEL, 1, NULL, 0);
	nest_end(m);
	accept_req(m, "teardown: chain del 1");
	m = chain_req(CHAINMESH_CMD_CHAIN_DEL, 2, NULL, 0);
	nest_end(m);
	accept_req(m, "teardown: chain del 2");
}

int main(int argc, char **argv)
{
	struct cm_talk t;

	if (argc > 1)
		mesh = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (cm_nl_open(&nl) || cm_nl_family(&nl, &t) || !nl.family) {
		printf("1..0 # SKIP no generic netlink family %s\n", CHAINMESH_GENL_NAME);
		return 0;
	}
	if (getuid() != 0) {
		printf("1..0 # SKIP needs root\n");
		return 0;
	}
	setup();
	test_policy_dump();
	test_generic();
	test_mesh();
	test_chain();
	test_flow();
	test_flow_batch();
	test_flow_set_works();
	test_remote();
	test_unprivileged();
	teardown();
	printf("1..%d\n", tap_n);
	if (tap_fail)
		diag("%d of %d failed", tap_fail, tap_n);
	return tap_fail ? 1 : 0;
}
