// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh: command line for the chainmesh host module, over the
 * "chainmesh" generic netlink family (include/uapi/linux/chainmesh.h).
 *
 *   chainmesh [-j] OBJECT COMMAND [ARGS]     see 'chainmesh help'
 *
 * Exit status: 0 success, 1 the kernel (or the system) refused, 2 bad
 * command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/wait.h>

#include <net/if.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/chainmesh.h>
#include <linux/chainmesh_region.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Where `mesh qemu-args` says the daemon of mesh NAME listens. */
#define CM_DAEMON_SOCK_FMT	"/run/chainmesh/NAME.sock"
#define CM_DAEMON_SOCK_DIR	"/run/chainmesh/"

#define EXIT_REFUSED	1
#define EXIT_USAGE	2

/* Big enough for any dump batch the kernel builds. */
#define CM_BUF_SIZE	65536

static const char *prog = "chainmesh";
static bool json;
/* In a batch: the line at fault, for every message. */
static char batch_where[48];

static const char usage_mesh[] =
"  chainmesh [-j] mesh show [NAME]\n"
"      Show every mesh, or mesh NAME: its node count, ring slots, buffer\n"
"      size and count per node, flow table size, region size, mesh id,\n"
"      backing (shmem or ivshmem) and node 0's interface.\n"
"  chainmesh mesh add NAME nodes N [ring-slots S] [buf-size B]\n"
"                [bufs-per-node K] [max-flows F]\n"
"      Create mesh NAME in host memory, N nodes with the host as node 0\n"
"      (interface cmh-NAME). Defaults: ring-slots 256, buf-size 2048,\n"
"      bufs-per-node 512, max-flows 256. The ivshmem daemon takes the\n"
"      region from /dev/chainmesh and hands it to the QEMU guests.\n"
"  chainmesh mesh del NAME\n"
"      Delete mesh NAME (host memory meshes only).\n"
"  chainmesh mesh qemu-args NAME node N [socket PATH]\n"
"      Print the QEMU options that make a guest node N of mesh NAME: the\n"
"      daemon's socket (default " CM_DAEMON_SOCK_FMT ") and an\n"
"      ivshmem-doorbell device with one vector. The daemon gives ids in\n"
"      connection order: start node N's QEMU after nodes 1..N-1.\n";

static const char usage_monitor[] =
"  chainmesh [-j] monitor\n"
"      Print changes as they happen: meshes added and deleted, node state\n"
"      changes (up, down, ...), chains and flows added and deleted.\n";

static const char usage_node[] =
"  chainmesh [-j] node show [mesh NAME]\n"
"      Show every node of the mesh: state (absent, joining, up, down,\n"
"      broken; 'down' is the host's verdict on a node whose heartbeat\n"
"      stopped), join epoch, heartbeat, MAC and the node's counters.\n";

static const char usage_chain[] =
"  chainmesh chain add ID hops N1 [N2 ...] [policy drop|bypass] [mesh NAME]\n"
"      Add chain ID (0..255): the nodes a packet visits, in order, each at\n"
"      most once. The policy says what a dead hop does to the chain's\n"
"      packets (default drop).\n"
"  chainmesh chain del ID [mesh NAME]\n"
"      Delete chain ID; refused while a flow uses it.\n"
"  chainmesh [-j] chain show [mesh NAME]\n"
"      Show the chains.\n";

static const char usage_flow[] =
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

static void usage_to(FILE *f, const char *object)
{
	if (!object) {
		fprintf(f,
"Usage: chainmesh [OPTIONS] OBJECT COMMAND [ARGS]\n"
"       chainmesh help\n"
"       chainmesh OBJECT help\n"
"\n"
"OBJECT := { mesh | node | chain | flow | monitor }\n"
"OPTIONS := { -j[son] | -b[atch] FILE | -h[elp] }\n"
"  -j, --json   print JSON (an array of objects) instead of text\n"
"  -b, -batch FILE\n"
"               run the commands of FILE ('-': standard input), one a line\n"
"               without 'chainmesh', '#' to the end of a line a comment;\n"
"               stop at the first that fails. Consecutive 'flow add' (or\n"
"               'flow del') lines go as one request of many flows, applied\n"
"               in one update of each node's table, all or none: the way\n"
"               to load many flows\n"
"  -h, --help   print this help\n"
"\n"
"Without 'mesh NAME' a command applies to the only mesh there is.\n"
"Adding and deleting need CAP_NET_ADMIN.\n"
"\n");
	}
	if (!object || !strcmp(object, "mesh"))
		fputs(usage_mesh, f);
	if (!object || !strcmp(object, "node"))
		fputs(usage_node, f);
	if (!object || !strcmp(object, "chain"))
		fputs(usage_chain, f);
	if (!object || !strcmp(object, "flow"))
		fputs(usage_flow, f);
	if (!object || !strcmp(object, "monitor"))
		fputs(usage_monitor, f);
	if (!object)
		fprintf(f,
"\n"
"Exit status: 0 success, 1 refused by the kernel or the system, 2 bad\n"
"command line.\n");
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s", prog, batch_where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_REFUSED);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
usage_fail(const char *object, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s", prog, batch_where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s%shelp'.\n", prog, object ? object : "",
		object ? " " : "");
	exit(EXIT_USAGE);
}

/* iproute2 style: a keyword may be abbreviated. */
static bool matches(const char *arg, const char *keyword)
{
	size_t len = strlen(arg);

	return len && len <= strlen(keyword) && !strncmp(arg, keyword, len);
}

/* JSON output: just what we print. */

static int jdepth;
static bool jfirst[8];

static void j_str_raw(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Separator and key; @key is NULL inside arrays. */
static void j_key(const char *key)
{
	if (!jfirst[jdepth])
		putchar(',');
	jfirst[jdepth] = false;
	if (key) {
		j_str_raw(key);
		putchar(':');
	}
}

static void j_open(const char *key, char c)
{
	if (jdepth)
		j_key(key);
	putchar(c);
	jfirst[++jdepth] = true;
}

static void j_close(char c)
{
	putchar(c);
	if (--jdepth == 0)
		putchar('\n');
}

static void j_str(const char *key, const char *v)
{
	j_key(key);
	j_str_raw(v);
}

static void j_uint(const char *key, uint64_t v)
{
	j_key(key);
	printf("%" PRIu64, v);
}

/* Netlink */

struct cm_nl {
	struct mnl_socket *sk;
	unsigned int portid;
	unsigned int seq;
	uint16_t family;
	uint32_t mcgrp_monitor;
	char req[8192] __attribute__((aligned(8)));
	char buf[CM_BUF_SIZE] __attribute__((aligned(8)));
};

/* One request: its reply callback, and what the kernel said if it refused. */
struct cm_talk {
	mnl_cb_t cb;
	void *data;
	int err;
	char msg[256];
	uint32_t miss_type;
	bool miss;
};

static int cm_extack_attr(const struct nlattr *a, void *data)
{
	struct cm_talk *t = data;

	switch (mnl_attr_get_type(a)) {
	case NLMSGERR_ATTR_MSG:
		if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0)
			snprintf(t->msg, sizeof(t->msg), "%s", mnl_attr_get_str(a));
		break;
	case NLMSGERR_ATTR_MISS_TYPE:
		if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
			t->miss_type = mnl_attr_get_u32(a);
			t->miss = true;
		}
		break;
	}
	return MNL_CB_OK;
}

static int cm_on_error(const struct nlmsghdr *nlh, void *data)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct cm_talk *t = data;
	unsigned int off = sizeof(*e);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		t->err = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (!e->error)
		return MNL_CB_STOP;		/* the ACK */
	t->err = -e->error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		mnl_attr_parse(nlh, off, cm_extack_attr, t);
	}
	return MNL_CB_ERROR;
}

/* The end of a dump: an int, negative if the dump failed, then extack. */
static int cm_on_done(const struct nlmsghdr *nlh, void *data)
{
	struct cm_talk *t = data;
	int err;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(int))
		return MNL_CB_STOP;
	memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
	if (err >= 0)
		return MNL_CB_STOP;
	t->err = -err;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
		mnl_attr_parse(nlh, sizeof(int), cm_extack_attr, t);
	return MNL_CB_ERROR;
}

static int cm_on_data(const struct nlmsghdr *nlh, void *data)
{
	struct cm_talk *t = data;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

static mnl_cb_t cm_ctl_cbs[NLMSG_MIN_TYPE] = {
	[NLMSG_ERROR] = cm_on_error,
	[NLMSG_DONE] = cm_on_done,
};

/* A request in @buf; cm_talk() numbers it. */
static struct nlmsghdr *cm_msg(void *buf, uint16_t type, uint8_t cmd,
			       uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = type == GENL_ID_CTRL ? 1 : CHAINMESH_GENL_VERSION;
	return nlh;
}

/*
 * Send @nlh and process replies until the ACK or the end of the dump.
 * Return: 0, or an errno with @t's message filled in when the kernel
 * sent one.
 */
static int cm_talk(struct cm_nl *nl, struct nlmsghdr *nlh, struct cm_talk *t)
{
	unsigned int seq = ++nl->seq;
	ssize_t n;
	int ret;

	nlh->nlmsg_seq = seq;
	t->err = 0;
	t->msg[0] = '\0';
	t->miss = false;
	if (mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) < 0)
		return errno;
	do {
		n = mnl_socket_recvfrom(nl->sk, nl->buf, sizeof(nl->buf));
		if (n < 0)
			return errno;
		ret = mnl_cb_run2(nl->buf, n, seq, nl->portid, cm_on_data, t,
				  cm_ctl_cbs, NLMSG_MIN_TYPE);
	} while (ret > MNL_CB_STOP);
	if (ret < 0)
		return t->err ? t->err : errno;
	return 0;
}

/* Report a refusal: what we tried, the kernel's words, the errno. */
static void cm_refused(const char *what, const struct cm_talk *t, int err)
{
	if (t->msg[0])
		fail("%s: %s (%s)", what, t->msg, strerror(err));
	if (t->miss)
		fail("%s: missing attribute %u (%s)", what, t->miss_type, strerror(err));
	if (err == EPERM)
		fail("%s: %s (CAP_NET_ADMIN needed)", what, strerror(err));
	fail("%s: %s", what, strerror(err));
}

/* Parsing replies */

struct cm_tb {
	const struct nlattr **tb;
	unsigned int max;
};

static int cm_tb_attr(const struct nlattr *a, void *data)
{
	struct cm_tb *t = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= t->max)
		t->tb[type] = a;
	return MNL_CB_OK;
}

static void cm_parse(const struct nlmsghdr *nlh, const struct nlattr **tb,
		     unsigned int max)
{
	struct cm_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	mnl_attr_parse(nlh, sizeof(struct genlmsghdr), cm_tb_attr, &t);
}

static void cm_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
			    unsigned int max)
{
	struct cm_tb t = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (nest)
		mnl_attr_parse_nested(nest, cm_tb_attr, &t);
}

/* Attribute values, zero when absent or short. */
static uint64_t a_u64(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 8 ? mnl_attr_get_u64(a) : 0;
}

static uint32_t a_u32(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 4 ? mnl_attr_get_u32(a) : 0;
}

static uint16_t a_u16(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 2 ? mnl_attr_get_u16(a) : 0;
}

static uint8_t a_u8(const struct nlattr *a)
{
	return a && mnl_attr_get_payload_len(a) >= 1 ? mnl_attr_get_u8(a) : 0;
}

static const char *a_str(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0 ?
	       mnl_attr_get_str(a) : "";
}

/* Family resolution */

static int cm_family_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const struct nlattr *g[CTRL_ATTR_MCAST_GRP_MAX + 1];
	const struct nlattr *grp;
	struct cm_nl *nl = data;

	cm_parse(nlh, tb, CTRL_ATTR_MAX);
	nl->family = a_u16(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return MNL_CB_OK;
	mnl_attr_for_each_nested(grp, tb[CTRL_ATTR_MCAST_GROUPS]) {
		cm_parse_nested(grp, g, CTRL_ATTR_MCAST_GRP_MAX);
		if (!strcmp(a_str(g[CTRL_ATTR_MCAST_GRP_NAME]), CHAINMESH_MCGRP_MONITOR))
			nl->mcgrp_monitor = a_u32(g[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return MNL_CB_OK;
}

static void cm_nl_open(struct cm_nl *nl)
{
	struct cm_talk t = { .cb = cm_family_cb, .data = nl };
	char req[256] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int one = 1, err;

	nl->sk = mnl_socket_open(NETLINK_GENERIC);
	if (!nl->sk)
		fail("cannot open a generic netlink socket: %s", strerror(errno));
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0)
		fail("cannot bind the netlink socket: %s", strerror(errno));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = time(NULL);
	/* Error messages from the kernel, and no copy of our request. */
	mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));

	nlh = cm_msg(req, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, CHAINMESH_GENL_NAME);
	err = cm_talk(nl, nlh, &t);
	if (err == ENOENT)
		fail("generic netlink family '%s' not found: is chainmesh_host loaded?",
		     CHAINMESH_GENL_NAME);
	if (err)
		cm_refused("cannot resolve the generic netlink family", &t, err);
	if (!nl->family)
		fail("the kernel gave no id for family '%s'", CHAINMESH_GENL_NAME);
}

/* Mesh selection */

struct cm_mesh_names {
	char names[2][CHAINMESH_NAME_LEN];
	unsigned int n;
};

static int cm_mesh_names_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CHAINMESH_A_MAX + 1];
	struct cm_mesh_names *mn = data;

	cm_parse(nlh, tb, CHAINMESH_A_MAX);
	if (mn->n < 2)
		snprintf(mn->names[mn->n], CHAINMESH_NAME_LEN, "%s",
			 a_str(tb[CHAINMESH_A_MESH_NAME]));
	mn->n++;
	return MNL_CB_OK;
}

/* The mesh the user named, else the only one there is. */
static const char *cm_mesh_pick(struct cm_nl *nl, const char *name,
				char out[CHAINMESH_NAME_LEN])
{
	struct cm_mesh_names mn = { .n = 0 };
	struct cm_talk t = { .cb = cm_mesh_names_cb, .data = &mn };
	char req[256] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;
	int err;

	if (name)
		return name;
	nlh = cm_msg(req, nl->family, CHAINMESH_CMD_MESH_GET, NLM_F_DUMP);
	err = cm_talk(nl, nlh, &t);
	if (err)
		cm_refused("cannot list meshes", &t, err);
	if (mn.n == 0)
		fail("no mesh: the host module has no region yet");
	if (mn.n > 1)
		fail("%u meshes (%s, %s%s): say which with 'mesh NAME'", mn.n,
		     mn.names[0], mn.names[1], mn.n > 2 ? ", ..." : "");
	memcpy(out, mn.names[0], CHAINMESH_NAME_LEN);
	return out;
}

/* Command line values */

static unsigned long parse_ulong(const char *object, const char *what,
				 const char *arg, unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	if (!arg)
		usage_fail(object, "%s: value expected", what);
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v > max)
		usage_fail(object, "%s: '%s' is not a number from 0 to %lu",
			   what, arg, max);
	return v;
}

static const char *parse_name(const char *object, const char *arg)
{
	if (!arg)
		usage_fail(object, "mesh: name expected");
	if (!arg[0] || strlen(arg) >= CHAINMESH_NAME_LEN)
		usage_fail(object, "mesh: name must be 1 to %d characters",
			   CHAINMESH_NAME_LEN - 1);
	return arg;
}

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

/* Output */

static const char *state_name(uint32_t state)
{
	static const char * const names[] = {
		[CHAINMESH_NODE_ABSENT] = "absent",
		[CHAINMESH_NODE_JOINING] = "joining",
		[CHAINMESH_NODE_UP] = "up",
		[CHAINMESH_NODE_DOWN] = "down",
		[CHAINMESH_NODE_BROKEN] = "broken",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

static const char *policy_name(uint32_t policy)
{
	return policy == CHAINMESH_POLICY_BYPASS ? "bypass" : "drop";
}

static const char *family_name(uint8_t family)
{
	return family == 4 ? "inet" : family == 6 ? "inet6" : "any";
}

static const char *backing_name(const struct nlattr *a)
{
	if (!a)
		return "unknown";
	return a_u32(a) == CHAINMESH_BACKING_SHMEM ? "shmem" : "ivshmem";
}

static int print_mesh(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CHAINMESH_A_MAX + 1];
	char ifname[IF_NAMESIZE] = "-";

	(void)data;
	cm_parse(nlh, tb, CHAINMESH_A_MAX);
	if (tb[CHAINMESH_A_MESH_IFINDEX] &&
	    !if_indextoname(a_u32(tb[CHAINMESH_A_MESH_IFINDEX]), ifname))
		snprintf(ifname, sizeof(ifname), "-");
	if (json) {
		j_open(NULL, '{');
		j_str("name", a_str(tb[CHAINMESH_A_MESH_NAME]));
		j_uint("nodes", a_u32(tb[CHAINMESH_A_MESH_NODES]));
		j_uint("ring_slots", a_u32(tb[CHAINMESH_A_MESH_RING_SLOTS]));
		j_uint("buf_size", a_u32(tb[CHAINMESH_A_MESH_BUF_SIZE]));
		j_uint("bufs_per_node", a_u32(tb[CHAINMESH_A_MESH_BUFS_PER_NODE]));
		j_uint("max_flows", a_u32(tb[CHAINMESH_A_MESH_MAX_FLOWS]));
		j_uint("region_size", a_u64(tb[CHAINMESH_A_MESH_REGION_SIZE]));
		j_uint("mesh_id", a_u32(tb[CHAINMESH_A_MESH_ID]));
		j_str("backing", backing_name(tb[CHAINMESH_A_MESH_BACKING]));
		j_str("ifname", ifname);
		j_close('}');
		return MNL_CB_OK;
	}
	printf("mesh %s nodes %u ring_slots %u buf_size %u bufs_per_node %u max_flows %u region_size %" PRIu64 " id 0x%08x backing %s dev %s\n",
	       a_str(tb[CHAINMESH_A_MESH_NAME]),
	       a_u32(tb[CHAINMESH_A_MESH_NODES]),
	       a_u32(tb[CHAINMESH_A_MESH_RING_SLOTS]),
	       a_u32(tb[CHAINMESH_A_MESH_BUF_SIZE]),
	       a_u32(tb[CHAINMESH_A_MESH_BUFS_PER_NODE]),
	       a_u32(tb[CHAINMESH_A_MESH_MAX_FLOWS]),
	       a_u64(tb[CHAINMESH_A_MESH_REGION_SIZE]),
	       a_u32(tb[CHAINMESH_A_MESH_ID]),
	       backing_name(tb[CHAINMESH_A_MESH_BACKING]), ifname);
	return MNL_CB_OK;
}

static int print_node(const struct nlmsghdr *nlh, void *data)
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
		j_str("state", state_name(a_u32(tb[CHAINMESH_NODE_A_STATE])));
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
	       state_name(a_u32(tb[CHAINMESH_NODE_A_STATE])),
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

static int print_chain(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *top[CHAINMESH_A_MAX + 1];
	const struct nlattr *tb[CHAINMESH_CHAIN_A_MAX + 1];
	const struct nlattr *hops;
	const uint8_t *h = NULL;
	uint16_t i, n = 0;

	(void)data;
	cm_parse(nlh, top, CHAINMESH_A_MAX);
	cm_parse_nested(top[CHAINMESH_A_CHAIN], tb, CHAINMESH_CHAIN_A_MAX);
	hops = tb[CHAINMESH_CHAIN_A_HOPS];
	if (hops) {
		h = mnl_attr_get_payload(hops);
		n = mnl_attr_get_payload_len(hops);
	}

	if (json) {
		j_open(NULL, '{');
		j_uint("id", a_u32(tb[CHAINMESH_CHAIN_A_ID]));
		j_open("hops", '[');
		for (i = 0; i < n; i++)
			j_uint(NULL, h[i]);
		j_close(']');
		j_str("policy", policy_name(a_u32(tb[CHAINMESH_CHAIN_A_POLICY])));
		j_close('}');
		return MNL_CB_OK;
	}
	printf("chain %u hops", a_u32(tb[CHAINMESH_CHAIN_A_ID]));
	for (i = 0; i < n; i++)
		printf(" %u", h[i]);
	printf(" policy %s\n", policy_name(a_u32(tb[CHAINMESH_CHAIN_A_POLICY])));
	return MNL_CB_OK;
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

static int print_flow(const struct nlmsghdr *nlh, void *data)
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

/* Commands */

struct cm_cmd {
	const char *object;
	int argc;
	char **argv;
	struct cm_nl nl;
};

static char *next_arg(struct cm_cmd *c)
{
	if (!c->argc)
		return NULL;
	c->argc--;
	return *c->argv++;
}

/* A show: a dump (or one do), printed as text lines or one JSON array. */
static void cm_show(struct cm_cmd *c, struct nlmsghdr *nlh, mnl_cb_t print,
		    const char *what)
{
	struct cm_talk t = { .cb = print };
	int err;

	if (json)
		j_open(NULL, '[');
	err = cm_talk(&c->nl, nlh, &t);
	if (json)
		j_close(']');
	fflush(stdout);
	if (err)
		cm_refused(what, &t, err);
}

static void cm_change(struct cm_cmd *c, struct nlmsghdr *nlh, const char *what)
{
	struct cm_talk t = { .cb = NULL };
	int err;

	err = cm_talk(&c->nl, nlh, &t);
	if (err)
		cm_refused(what, &t, err);
}

/* Only "mesh NAME" may follow. */
static const char *opt_mesh_only(struct cm_cmd *c)
{
	const char *name = NULL;
	char *arg;

	while ((arg = next_arg(c))) {
		if (!strcmp(arg, "mesh"))
			name = parse_name(c->object, next_arg(c));
		else
			usage_fail(c->object, "unexpected argument '%s'", arg);
	}
	return name;
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
			if (!strcmp(arg, opts[i].kw))
				break;
		if (i == sizeof(opts) / sizeof(opts[0]))
			usage_fail("mesh", "unexpected argument '%s'", arg);
		mnl_attr_put_u32(nlh, opts[i].type,
				 parse_ulong("mesh", opts[i].kw, next_arg(c), opts[i].max));
		nodes |= opts[i].type == CHAINMESH_A_MESH_NODES;
	}
	if (!nodes)
		usage_fail("mesh", "mesh add: 'nodes N' is required");
	cm_nl_open(&c->nl);
	nlh->nlmsg_type = c->nl.family;
	cm_change(c, nlh, "mesh add");
}

static int mesh_nodes_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[CHAINMESH_A_MAX + 1];

	cm_parse(nlh, tb, CHAINMESH_A_MAX);
	*(uint32_t *)data = a_u32(tb[CHAINMESH_A_MESH_NODES]);
	return MNL_CB_OK;
}

/* The QEMU options of a guest node: the mesh must exist, N be a guest. */
static void mesh_qemu_args(struct cm_cmd *c)
{
	char sock[PATH_MAX], id[CHAINMESH_NAME_LEN + 8];
	const char *name, *path = NULL;
	uint32_t nodes = 0;
	struct cm_talk t = { .cb = mesh_nodes_cb, .data = &nodes };
	struct nlmsghdr *nlh;
	unsigned long node = 0;
	bool have_node = false;
	char *arg;
	int err;

	name = parse_name("mesh", next_arg(c));
	while ((arg = next_arg(c))) {
		if (!strcmp(arg, "node")) {
			node = parse_ulong("mesh", "node", next_arg(c), CHAINMESH_MAX_NODES - 1);
			have_node = true;
		} else if (!strcmp(arg, "socket")) {
			path = next_arg(c);
			if (!path || !path[0] || strchr(path, ','))
				usage_fail("mesh", "socket: a path without commas expected");
		} else {
			usage_fail("mesh", "unexpected argument '%s'", arg);
		}
	}
	if (!have_node)
		usage_fail("mesh", "mesh qemu-args: 'node N' is required");
	if (strchr(name, ','))
		usage_fail("mesh", "mesh name '%s' has a comma: QEMU cannot take it", name);

	cm_nl_open(&c->nl);
	nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_MESH_GET, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	err = cm_talk(&c->nl, nlh, &t);
	if (err)
		cm_refused("mesh qemu-args", &t, err);
	if (node == 0 || node >= nodes)
		fail("mesh qemu-args: node %lu is not a guest node of mesh %s (1..%u)",
		     node, name, nodes - 1);
	if (!path) {
		snprintf(sock, sizeof(sock), CM_DAEMON_SOCK_DIR "%s.sock", name);
		path = sock;
	}
	snprintf(id, sizeof(id), "cm-%s", name);
	printf("-chardev socket,path=%s,id=%s -device ivshmem-doorbell,chardev=%s,vectors=1\n",
	       path, id, id);
}

static void do_mesh(struct cm_cmd *c)
{
	const char *cmd = next_arg(c), *name = NULL;
	struct nlmsghdr *nlh;

	if (!cmd || matches(cmd, "show") || matches(cmd, "list")) {
		name = next_arg(c);
		if (name && !strcmp(name, "mesh"))
			name = next_arg(c);
		if (name)
			parse_name("mesh", name);
		if (c->argc)
			usage_fail("mesh", "unexpected argument '%s'", c->argv[0]);
		cm_nl_open(&c->nl);
		nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_MESH_GET,
			     name ? NLM_F_ACK : NLM_F_DUMP);
		if (name)
			mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
		cm_show(c, nlh, print_mesh, "mesh show");
		return;
	}
	if (matches(cmd, "add")) {
		mesh_add(c);
		return;
	}
	if (matches(cmd, "delete")) {
		name = parse_name("mesh", next_arg(c));
		if (c->argc)
			usage_fail("mesh", "unexpected argument '%s'", c->argv[0]);
		cm_nl_open(&c->nl);
		nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_MESH_DEL, NLM_F_ACK);
		mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
		cm_change(c, nlh, "mesh del");
		return;
	}
	if (!strcmp(cmd, "qemu-args")) {
		mesh_qemu_args(c);
		return;
	}
	if (matches(cmd, "help")) {
		usage_to(stdout, "mesh");
		exit(0);
	}
	usage_fail("mesh", "unknown command 'mesh %s'", cmd);
}

static void do_node(struct cm_cmd *c)
{
	const char *cmd = next_arg(c), *name;
	char buf[CHAINMESH_NAME_LEN];
	struct nlmsghdr *nlh;

	if (!cmd || matches(cmd, "show") || matches(cmd, "list")) {
		name = opt_mesh_only(c);
		cm_nl_open(&c->nl);
		name = cm_mesh_pick(&c->nl, name, buf);
		nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_NODE_GET, NLM_F_DUMP);
		mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
		cm_show(c, nlh, print_node, "node show");
		return;
	}
	if (matches(cmd, "help")) {
		usage_to(stdout, "node");
		exit(0);
	}
	usage_fail("node", "unknown command 'node %s'", cmd);
}

static void chain_add(struct cm_cmd *c)
{
	uint8_t hops[CHAINMESH_MAX_NODES];
	unsigned int nhops = 0;
	const char *name = NULL;
	long policy = -1;
	unsigned long id;
	char buf[CHAINMESH_NAME_LEN];
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	char *arg;

	id = parse_ulong("chain", "chain id", next_arg(c), UINT32_MAX);
	while ((arg = next_arg(c))) {
		if (!strcmp(arg, "hops")) {
			if (nhops)
				usage_fail("chain", "hops given twice");
			while (c->argc && c->argv[0][0] >= '0' && c->argv[0][0] <= '9') {
				if (nhops == CHAINMESH_MAX_NODES)
					usage_fail("chain", "hops: at most %d nodes",
						   CHAINMESH_MAX_NODES);
				hops[nhops++] = parse_ulong("chain", "hops", next_arg(c), 255);
			}
			if (!nhops)
				usage_fail("chain", "hops: node ids expected");
		} else if (!strcmp(arg, "policy")) {
			arg = next_arg(c);
			if (arg && !strcmp(arg, "drop"))
				policy = CHAINMESH_POLICY_DROP;
			else if (arg && !strcmp(arg, "bypass"))
				policy = CHAINMESH_POLICY_BYPASS;
			else
				usage_fail("chain", "policy: 'drop' or 'bypass' expected");
		} else if (!strcmp(arg, "mesh")) {
			name = parse_name("chain", next_arg(c));
		} else {
			usage_fail("chain", "unexpected argument '%s'", arg);
		}
	}
	if (!nhops)
		usage_fail("chain", "chain add: 'hops N1 [N2 ...]' is required");

	cm_nl_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh = cm_msg(c->nl.req, c->nl.family, CHAINMESH_CMD_CHAIN_NEW,
		     NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	nest = mnl_attr_nest_start(nlh, CHAINMESH_A_CHAIN);
	mnl_attr_put_u32(nlh, CHAINMESH_CHAIN_A_ID, id);
	mnl_attr_put(nlh, CHAINMESH_CHAIN_A_HOPS, nhops, hops);
	if (policy >= 0)
		mnl_attr_put_u32(nlh, CHAINMESH_CHAIN_A_POLICY, policy);
	mnl_attr_nest_end(nlh, nest);
	cm_change(c, nlh, "chain add");
}

/* "del ID [mesh NAME]" for chains and flows. */
static void obj_del(struct cm_cmd *c, uint8_t cmd, uint16_t nest_type,
		    uint16_t id_type, const char *what)
{
	char buf[CHAINMESH_NAME_LEN];
	const char *name;
	struct nlmsghdr *nlh;
	struct nlattr *nest;
	unsigned long id;

	id = parse_ulong(c->object, "id", next_arg(c), UINT32_MAX);
	name = opt_mesh_only(c);
	cm_nl_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh = cm_msg(c->nl.req, c->nl.family, cmd, NLM_F_ACK);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	nest = mnl_attr_nest_start(nlh, nest_type);
	mnl_attr_put_u32(nlh, id_type, id);
	mnl_attr_nest_end(nlh, nest);
	cm_change(c, nlh, what);
}

/* "show [mesh NAME]" for chains and flows: a dump of one mesh. */
static void obj_show(struct cm_cmd *c, uint8_t cmd, mnl_cb_t print,
		     const char *what)
{
	char buf[CHAINMESH_NAME_LEN];
	struct nlmsghdr *nlh;
	const char *name;

	name = opt_mesh_only(c);
	cm_nl_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh = cm_msg(c->nl.req, c->nl.family, cmd, NLM_F_DUMP);
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	cm_show(c, nlh, print, what);
}

static void do_chain(struct cm_cmd *c)
{
	const char *cmd = next_arg(c);

	if (!cmd || matches(cmd, "show") || matches(cmd, "list"))
		obj_show(c, CHAINMESH_CMD_CHAIN_GET, print_chain, "chain show");
	else if (matches(cmd, "add"))
		chain_add(c);
	else if (matches(cmd, "delete"))
		obj_del(c, CHAINMESH_CMD_CHAIN_DEL, CHAINMESH_A_CHAIN,
			CHAINMESH_CHAIN_A_ID, "chain del");
	else if (matches(cmd, "help")) {
		usage_to(stdout, "chain");
		exit(0);
	} else {
		usage_fail("chain", "unknown command 'chain %s'", cmd);
	}
}

/* The arguments of flow add and flow set, as a flow nest of @nlh;
 * returns the mesh they name, or NULL. */
static const char *flow_put(struct cm_cmd *c, struct nlmsghdr *nlh,
			    const char *what)
{
	const char *name = NULL;
	struct nlattr *nest;
	bool chain = false;
	char *arg;

	nest = mnl_attr_nest_start(nlh, CHAINMESH_A_FLOW);
	mnl_attr_put_u32(nlh, CHAINMESH_FLOW_A_ID,
			 parse_ulong("flow", "flow id", next_arg(c), UINT32_MAX));
	while ((arg = next_arg(c))) {
		if (!strcmp(arg, "chain")) {
			mnl_attr_put_u32(nlh, CHAINMESH_FLOW_A_CHAIN,
					 parse_ulong("flow", "chain", next_arg(c), UINT32_MAX));
			chain = true;
		} else if (!strcmp(arg, "prio") || !strcmp(arg, "priority")) {
			mnl_attr_put_u16(nlh, CHAINMESH_FLOW_A_PRIORITY,
					 parse_ulong("flow", "prio", next_arg(c), 65535));
		} else if (!strcmp(arg, "family")) {
			arg = next_arg(c);
			if (arg && !strcmp(arg, "inet"))
				mnl_attr_put_u8(nlh, CHAINMESH_FLOW_A_FAMILY, 4);
			else if (arg && !strcmp(arg, "inet6"))
				mnl_attr_put_u8(nlh, CHAINMESH_FLOW_A_FAMILY, 6);
			else
				usage_fail("flow", "family: 'inet' or 'inet6' expected");
		} else if (!strcmp(arg, "proto")) {
			mnl_attr_put_u8(nlh, CHAINMESH_FLOW_A_PROTO, parse_proto(next_arg(c)));
		} else if (!strcmp(arg, "src")) {
			put_addr(nlh, CHAINMESH_FLOW_A_SRC, CHAINMESH_FLOW_A_SRC_PREFIX,
				 "src", next_arg(c));
		} else if (!strcmp(arg, "dst")) {
			put_addr(nlh, CHAINMESH_FLOW_A_DST, CHAINMESH_FLOW_A_DST_PREFIX,
				 "dst", next_arg(c));
		} else if (!strcmp(arg, "sport")) {
			put_port(nlh, CHAINMESH_FLOW_A_SPORT, CHAINMESH_FLOW_A_SPORT_MASK,
				 "sport", next_arg(c));
		} else if (!strcmp(arg, "dport")) {
			put_port(nlh, CHAINMESH_FLOW_A_DPORT, CHAINMESH_FLOW_A_DPORT_MASK,
				 "dport", next_arg(c));
		} else if (!strcmp(arg, "vlan")) {
			mnl_attr_put_u16(nlh, CHAINMESH_FLOW_A_VLAN,
					 parse_ulong("flow", "vlan", next_arg(c), 65535));
		} else if (!strcmp(arg, "mesh")) {
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

	cm_nl_open(&c->nl);
	name = cm_mesh_pick(&c->nl, name, buf);
	nlh->nlmsg_type = c->nl.family;
	mnl_attr_put_strz(nlh, CHAINMESH_A_MESH_NAME, name);
	cm_change(c, nlh, what);
}

static void do_flow(struct cm_cmd *c)
{
	const char *cmd = next_arg(c);

	if (!cmd || matches(cmd, "show") || matches(cmd, "list"))
		obj_show(c, CHAINMESH_CMD_FLOW_GET, print_flow, "flow show");
	else if (matches(cmd, "add"))
		flow_write(c, CHAINMESH_CMD_FLOW_NEW, "flow add");
	else if (!strcmp(cmd, "set") || matches(cmd, "change") ||
		 matches(cmd, "replace"))
		flow_write(c, CHAINMESH_CMD_FLOW_SET, "flow set");
	else if (matches(cmd, "delete"))
		obj_del(c, CHAINMESH_CMD_FLOW_DEL, CHAINMESH_A_FLOW,
			CHAINMESH_FLOW_A_ID, "flow del");
	else if (matches(cmd, "help")) {
		usage_to(stdout, "flow");
		exit(0);
	} else {
		usage_fail("flow", "unknown command 'flow %s'", cmd);
	}
}

/* monitor: one line (or JSON object) per notification */

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
		printf("{\"event\":\"%s\",\"mesh\":", evs[i].name);
		j_str_raw(a_str(tb[CHAINMESH_A_MESH_NAME]));
		printf(",\"data\":");
		/* The object, as a member of ours. */
		jdepth = 1;
		jfirst[1] = true;
		evs[i].print(nlh, NULL);
		jdepth = 0;
		printf("}\n");
	} else {
		printf("[%s] ", evs[i].name);
		if (evs[i].print != print_mesh)
			printf("mesh %s ", a_str(tb[CHAINMESH_A_MESH_NAME]));
		evs[i].print(nlh, NULL);
	}
	fflush(stdout);
	return MNL_CB_OK;
}

static void do_monitor(struct cm_cmd *c)
{
	const char *cmd = next_arg(c);
	unsigned int grp;
	ssize_t n;
	int ret;

	if (cmd && matches(cmd, "help")) {
		usage_to(stdout, "monitor");
		exit(0);
	}
	if (cmd)
		usage_fail("monitor", "unexpected argument '%s'", cmd);
	cm_nl_open(&c->nl);
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

static const struct {
	const char *name;
	void (*fn)(struct cm_cmd *c);
} cm_objects[] = {
	{ "mesh", do_mesh },
	{ "node", do_node },
	{ "chain", do_chain },
	{ "flow", do_flow },
	{ "monitor", do_monitor },
};

/* One command line: run the OBJECT's command. */
static void run_cmd(struct cm_cmd *c, int argc, char **argv)
{
	size_t i;

	if (!argc || matches(argv[0], "help")) {
		usage_to(argc ? stdout : stderr, NULL);
		exit(argc ? 0 : EXIT_USAGE);
	}
	for (i = 0; i < sizeof(cm_objects) / sizeof(cm_objects[0]); i++) {
		if (matches(argv[0], cm_objects[i].name)) {
			c->object = cm_objects[i].name;
			c->argc = argc - 1;
			c->argv = argv + 1;
			cm_objects[i].fn(c);
			return;
		}
	}
	usage_fail(NULL, "unknown object '%s'", argv[0]);
}

/*
 * Batch mode. Runs of "flow add" or of "flow del" lines become one
 * FLOW_NEW or FLOW_DEL request of many flow nests (the kernel applies
 * such a request at once, or not at all); any other line runs as its own
 * command, in a child, so that it exits as it would alone.
 */
#define CM_BATCH_MAX	(64 * 1024)	/* a request, well below the send buffer */
#define CM_BATCH_ROOM	1024		/* a flow nest takes less */
#define CM_BATCH_ARGS	64

struct cm_batch {
	struct cm_cmd c;		/* its socket is the batch's */
	char req[CM_BATCH_MAX] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;		/* the request being filled, or NULL */
	uint8_t cmd;
	char mesh[CHAINMESH_NAME_LEN];	/* of the request */
	char only[CHAINMESH_NAME_LEN];	/* the only mesh, when none is named */
	unsigned long first, last;	/* its lines */
	unsigned int nflows;
	bool open;
};

static void batch_flush(struct cm_batch *b)
{
	struct cm_talk t = { .cb = NULL };
	char what[96];
	int err;

	if (!b->nlh)
		return;
	mnl_attr_put_strz(b->nlh, CHAINMESH_A_MESH_NAME, b->mesh);
	snprintf(batch_where, sizeof(batch_where), "lines %lu-%lu: ", b->first,
		 b->last);
	snprintf(what, sizeof(what), "flow %s of %u flows",
		 b->cmd == CHAINMESH_CMD_FLOW_NEW ? "add" : "del", b->nflows);
	err = cm_talk(&b->c.nl, b->nlh, &t);
	if (err)
		cm_refused(what, &t, err);
	b->nlh = NULL;
}

/* A flow add or del line, into the request (flushed first when it is of
 * another kind or mesh, or full). */
static void batch_flow(struct cm_batch *b, uint8_t cmd, int argc, char **argv,
		       unsigned long line)
{
	char tmp[CM_BATCH_ROOM] __attribute__((aligned(8)));
	struct nlmsghdr *one = mnl_nlmsg_put_header(tmp);
	const struct nlattr *nest;
	const char *name;
	struct nlattr *attr;

	b->c.object = "flow";
	b->c.argc = argc;
	b->c.argv = argv;
	if (cmd == CHAINMESH_CMD_FLOW_NEW) {
		name = flow_put(&b->c, one, "flow add");
	} else {
		unsigned long id = parse_ulong("flow", "id", next_arg(&b->c), UINT32_MAX);

		name = opt_mesh_only(&b->c);
		attr = mnl_attr_nest_start(one, CHAINMESH_A_FLOW);
		mnl_attr_put_u32(one, CHAINMESH_FLOW_A_ID, id);
		mnl_attr_nest_end(one, attr);
	}
	nest = mnl_nlmsg_get_payload(one);
	if (!b->open) {
		cm_nl_open(&b->c.nl);
		b->open = true;
	}
	if (!name)
		name = b->only[0] ? b->only : cm_mesh_pick(&b->c.nl, NULL, b->only);
	if (b->nlh && (b->cmd != cmd || strcmp(b->mesh, name) ||
		       b->nlh->nlmsg_len + CM_BATCH_ROOM > CM_BATCH_MAX))
		batch_flush(b);
	if (!b->nlh) {
		b->nlh = cm_msg(b->req, b->c.nl.family, cmd, NLM_F_ACK);
		b->cmd = cmd;
		snprintf(b->mesh, sizeof(b->mesh), "%s", name);
		b->first = line;
		b->nflows = 0;
	}
	memcpy((char *)b->nlh + b->nlh->nlmsg_len, nest, mnl_attr_get_len(nest));
	b->nlh->nlmsg_len += MNL_ALIGN(mnl_attr_get_len(nest));
	b->last = line;
	b->nflows++;
}

/* All of @path ('-': standard input), NUL terminated: read before any
 * child runs, as a child's exit would move a shared file offset. */
static char *batch_slurp(const char *path)
{
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *more;
	FILE *f;

	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		fail("%s: %s", path, strerror(errno));
	do {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			more = realloc(buf, cap);
			if (!more)
				fail("%s: out of memory", path);
			buf = more;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	if (ferror(f))
		fail("%s: %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	buf[len] = '\0';
	return buf;
}

static int batch_run(const char *path)
{
	static struct cm_batch b;
	char *buf = batch_slurp(path), *line, *next, *argv[CM_BATCH_ARGS], *p;
	unsigned long n = 0;
	int argc, status;
	pid_t pid;

	for (line = buf; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		n++;
		snprintf(batch_where, sizeof(batch_where), "line %lu: ", n);
		p = strchr(line, '#');
		if (p)
			*p = '\0';
		argc = 0;
		for (p = strtok(line, " \t\r"); p; p = strtok(NULL, " \t\r")) {
			if (argc == CM_BATCH_ARGS)
				usage_fail(NULL, "more than %d words", CM_BATCH_ARGS);
			argv[argc++] = p;
		}
		if (!argc)
			continue;
		if (argc >= 2 && matches(argv[0], "flow") &&
		    (matches(argv[1], "add") || matches(argv[1], "delete"))) {
			batch_flow(&b, matches(argv[1], "add") ? CHAINMESH_CMD_FLOW_NEW :
				   CHAINMESH_CMD_FLOW_DEL, argc - 2, argv + 2, n);
			continue;
		}
		batch_flush(&b);
		snprintf(batch_where, sizeof(batch_where), "line %lu: ", n);
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			fail("fork: %s", strerror(errno));
		if (!pid) {
			static struct cm_cmd c;

			run_cmd(&c, argc, argv);
			exit(0);
		}
		if (waitpid(pid, &status, 0) < 0)
			fail("waitpid: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_REFUSED);
	}
	batch_flush(&b);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	static struct cm_cmd c;

	argc--;
	argv++;
	while (argc && argv[0][0] == '-') {
		if (!strcmp(argv[0], "-j") || !strcmp(argv[0], "-json") ||
		    !strcmp(argv[0], "--json")) {
			json = true;
		} else if (!strcmp(argv[0], "-b") || !strcmp(argv[0], "-batch") ||
			   !strcmp(argv[0], "--batch")) {
			if (argc < 2)
				usage_fail(NULL, "%s: a file is needed", argv[0]);
			if (argc > 2)
				usage_fail(NULL, "nothing may follow -batch FILE");
			return batch_run(argv[1]);
		} else if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "-help") ||
			   !strcmp(argv[0], "--help")) {
			usage_to(stdout, NULL);
			return 0;
		} else if (!strcmp(argv[0], "--")) {
			argc--;
			argv++;
			break;
		} else {
			usage_fail(NULL, "unknown option '%s'", argv[0]);
		}
		argc--;
		argv++;
	}
	run_cmd(&c, argc, argv);
	return 0;
}
