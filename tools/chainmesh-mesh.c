// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh-mesh: a mesh with no kernel module, for processes or
 * containers on one machine (and the userspace benchmarks).
 *
 *   chainmesh-mesh -S SOCK [-b FILE] [-n NODES] [-r SLOTS] [-B BUFSIZE]
 *                  [-c BUFS] [-f FLOWS] [-D DEAD_MS] [-q]
 *
 * It is the first client of a chainmesh-ivshmemd started without -M (so
 * it gets peer id 0 and the daemon's memfd, like any QEMU), and plays the
 * host's part on that region as chainmesh_host.ko does on its own:
 *
 *  - lays the region out with the shared layout code (layout.h:
 *    cm_layout_compute(), cm_layout_to_hdr()), publishes node 0's entry
 *    and stores magic last, with release;
 *  - reads chains and flows from FILE, in the syntax of `chainmesh
 *    -batch` ("chain add ID hops N1 N2 ... [policy drop|bypass]", "flow add
 *    ID chain CID [prio P] [family inet|inet6] [proto P] [src A[/L]]
 *    [dst A[/L]] [sport P[/M]] [dport P[/M]] [vlan V]", '#' comments),
 *    and compiles every node's table with flow.h's compiler
 *    (cm_ftable_compile_live(), cm_ftable_publish()), again whenever the
 *    set of live nodes changes (failure policies);
 *  - watches the nodes every 100 ms: a node whose heartbeat stands still
 *    for DEAD_MS (default 1000) is DOWN for the rest of its life, a node
 *    that a live node reports in its blame word is BROKEN until it
 *    rejoins; the verdict goes into host_state, as the host module's;
 *  - is node 0 through libchainmesh (the datapath every node runs): the
 *    end of the chains that end at 0; what reaches it is counted and given
 *    back.
 *
 * SIGINT/SIGTERM: node 0 leaves and magic is cleared (the nodes see the
 * mesh go). Prints "chainmesh-mesh: ready" once the layout is published.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/random.h>

#include <chainmesh/datapath.h>
#include <chainmesh/flow.h>
#include <chainmesh/layout.h>
#include <chainmesh/libchainmesh.h>
#include <chainmesh/liveness.h>

#define CMM_NAME	"chainmesh-mesh"
#define CMM_TICK_MS	100

struct cmm {
	struct cml_node *node;
	void *base;
	u64 size;
	struct cm_layout l;
	u32 mesh_id;
	unsigned int dead_ms;
	bool quiet;

	struct cm_chain chains[CHAINMESH_MAX_CHAINS];
	struct cm_chain eff[CHAINMESH_MAX_CHAINS];
	struct chainmesh_flow *flows;
	u32 nflows;
	struct cm_ftable *scratch;
	struct cm_node_watch nw[CHAINMESH_MAX_NODES];	/* liveness.h */
	u64 alive;
	u64 delivered;
};

static volatile sig_atomic_t cmm_stop;

static void cmm_on_signal(int sig)
{
	(void)sig;
	cmm_stop = 1;
}

static void cmm_log(const struct cmm *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cmm_log(const struct cmm *m, const char *fmt, ...)
{
	va_list ap;

	if (m->quiet)
		return;
	va_start(ap, fmt);
	fputs(CMM_NAME ": ", stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static u64 cmm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ batch file */

static int cmm_ulong(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!s || !*s)
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 0);
	return errno || *end || *v > max ? -1 : 0;
}

/* ADDR[/PLEN] into a flow's value and mask; its family in *fam. */
static int cmm_addr(const char *arg, __be32 val[4], __be32 mask[4], u8 *fam)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned long plen;
	u8 a[16];
	u32 alen, i;

	if (!arg || strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	memset(a, 0, sizeof(a));
	if (inet_pton(AF_INET, buf, a) == 1)
		alen = 4;
	else if (inet_pton(AF_INET6, buf, a) == 1)
		alen = 16;
	else
		return -1;
	if (*fam && *fam != (alen == 4 ? 4 : 6))
		return -1;
	*fam = alen == 4 ? 4 : 6;
	plen = alen * 8;
	if (slash && cmm_ulong(slash, alen * 8, &plen))
		return -1;
	cm_prefix_mask((u32)plen, mask);
	memcpy(val, a, 16);
	for (i = 0; i < 4; i++)
		if (val[i] & ~mask[i])
			return -1;	/* bits beyond the prefix, as netlink */
	return 0;
}

/* P[/MASK] */
static int cmm_port(const char *arg, __be16 *val, __be16 *mask)
{
	char buf[32], *slash;
	unsigned long v, msk = 0xffff;

	if (!arg || strlen(arg) >= sizeof(buf))
		return -1;
	strcpy(buf, arg);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = '\0';
	if (cmm_ulong(buf, 65535, &v) || (slash && cmm_ulong(slash, 65535, &msk)) ||
	    (v & ~msk))
		return -1;
	*val = cpu_to_be16((u16)v);
	*mask = cpu_to_be16((u16)msk);
	return 0;
}

static int cmm_proto(const char *arg, u8 *proto)
{
	static const struct { const char *name; u8 proto; } p[] = {
		{ "icmp", 1 }, { "tcp", 6 }, { "udp", 17 }, { "icmpv6", 58 },
		{ "sctp", 132 },
	};
	unsigned long v;
	size_t i;

	for (i = 0; arg && i < sizeof(p) / sizeof(p[0]); i++) {
		if (!strcmp(arg, p[i].name)) {
			*proto = p[i].proto;
			return 0;
		}
	}
	if (cmm_ulong(arg, 255, &v))
		return -1;
	*proto = (u8)v;
	return 0;
}

static int cmm_chain_add(struct cmm *m, char **av, int ac)
{
	struct cm_chain c = { .used = 1, .policy = CHAINMESH_POLICY_DROP };
	unsigned long id, v;
	int i = 0, j;

	if (i >= ac || cmm_ulong(av[i++], CHAINMESH_MAX_CHAINS - 1, &id))
		return -1;
	while (i < ac) {
		if (!strcmp(av[i], "hops")) {
			for (i++; i < ac && av[i][0] >= '0' && av[i][0] <= '9'; i++) {
				if (c.nhops == CHAINMESH_MAX_NODES ||
				    cmm_ulong(av[i], m->l.p.nodes - 1, &v))
					return -1;
				for (j = 0; j < c.nhops; j++)
					if (c.hops[j] == v)
						return -1;	/* at most once */
				c.hops[c.nhops++] = (u8)v;
			}
		} else if (!strcmp(av[i], "policy") && i + 1 < ac) {
			if (!strcmp(av[i + 1], "drop"))
				c.policy = CHAINMESH_POLICY_DROP;
			else if (!strcmp(av[i + 1], "bypass"))
				c.policy = CHAINMESH_POLICY_BYPASS;
			else
				return -1;
			i += 2;
		} else if (!strcmp(av[i], "mesh") && i + 1 < ac) {
			i += 2;		/* there is one mesh here */
		} else {
			return -1;
		}
	}
	if (!c.nhops)
		return -1;
	m->chains[id] = c;
	return 0;
}

static int cmm_flow_add(struct cmm *m, char **av, int ac)
{
	struct chainmesh_flow f;
	bool chain = false;
	unsigned long v;
	u8 fam = 0, given = 0;
	u32 k;
	int i = 0;

	memset(&f, 0, sizeof(f));
	if (i >= ac || cmm_ulong(av[i++], m->l.p.max_flows - 1, &v))
		return -1;
	f.flow_id = cpu_to_le32((u32)v);
	for (k = 0; k < m->nflows; k++)
		if (m->flows[k].flow_id == f.flow_id)
			return -1;
	for (; i + 1 < ac; i += 2) {
		const char *k2 = av[i], *a = av[i + 1];

		if (!strcmp(k2, "chain")) {
			if (cmm_ulong(a, CHAINMESH_MAX_CHAINS - 1, &v) ||
			    !m->chains[v].used)
				return -1;
			f.chain = cpu_to_le16((u16)v);
			chain = true;
		} else if (!strcmp(k2, "prio") || !strcmp(k2, "priority")) {
			if (cmm_ulong(a, 65535, &v))
				return -1;
			f.priority = cpu_to_le16((u16)v);
		} else if (!strcmp(k2, "family")) {
			if (!strcmp(a, "inet"))
				given = 4;
			else if (!strcmp(a, "inet6"))
				given = 6;
			else
				return -1;
		} else if (!strcmp(k2, "proto")) {
			if (cmm_proto(a, &f.ip_proto))
				return -1;
		} else if (!strcmp(k2, "src")) {
			if (cmm_addr(a, f.src, f.src_mask, &fam))
				return -1;
		} else if (!strcmp(k2, "dst")) {
			if (cmm_addr(a, f.dst, f.dst_mask, &fam))
				return -1;
		} else if (!strcmp(k2, "sport")) {
			if (cmm_port(a, &f.sport, &f.sport_mask))
				return -1;
		} else if (!strcmp(k2, "dport")) {
			if (cmm_port(a, &f.dport, &f.dport_mask))
				return -1;
		} else if (!strcmp(k2, "vlan")) {
			if (cmm_ulong(a, 4095, &v))
				return -1;
			f.vlan = cpu_to_be16((u16)v);
		} else if (strcmp(k2, "mesh")) {
			return -1;
		}
	}
	if (i != ac || !chain || (given && fam && given != fam))
		return -1;
	f.family = given ? given : fam;
	/* Ports only with a protocol that has them, as netlink says. */
	if ((f.sport_mask || f.dport_mask) && f.ip_proto &&
	    f.ip_proto != CM_IPPROTO_TCP && f.ip_proto != CM_IPPROTO_UDP &&
	    f.ip_proto != 132)
		return -1;
	if (m->nflows == m->l.p.max_flows)
		return -1;
	m->flows[m->nflows++] = f;
	return 0;
}

static int cmm_load(struct cmm *m, const char *path)
{
	char line[4096], *av[256], *save, *tok;
	unsigned long lineno = 0;
	FILE *f = fopen(path, "r");
	int ac, err;

	if (!f) {
		fprintf(stderr, CMM_NAME ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "#\n")] = '\0';
		ac = 0;
		for (tok = strtok_r(line, " \t", &save); tok && ac < 256;
		     tok = strtok_r(NULL, " \t", &save))
			av[ac++] = tok;
		if (!ac)
			continue;
		if (ac >= 2 && !strcmp(av[0], "chain") && !strcmp(av[1], "add"))
			err = cmm_chain_add(m, av + 2, ac - 2);
		else if (ac >= 2 && !strcmp(av[0], "flow") && !strcmp(av[1], "add"))
			err = cmm_flow_add(m, av + 2, ac - 2);
		else
			err = -1;
		if (err) {
			fprintf(stderr, CMM_NAME ": %s:%lu: not a valid 'chain add'"
				" or 'flow add' of this mesh\n", path, lineno);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	/* Every node's table must hold what the chains give it. */
	{
		u32 per_chain[CHAINMESH_MAX_CHAINS] = { 0 }, i;

		for (i = 0; i < m->nflows; i++)
			per_chain[le16_to_cpu(m->flows[i].chain)]++;
		if (cm_chains_fit(m->chains, per_chain, m->l.p.nodes,
				  m->l.p.max_flows)) {
			fprintf(stderr, CMM_NAME ": %s: a node's table would"
				" overflow\n", path);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ host part */

/* Every node's table for the live set @m->alive, published where it
 * changed (the host module's cm_mesh_publish()). */
static void cmm_publish(struct cmm *m)
{
	u32 n;
	int ret;

	cm_chains_effective(m->chains, m->alive, m->eff);
	for (n = 0; n < m->l.p.nodes; n++) {
		void *ft = cm_ftable(m->base, &m->l, n);

		ret = cm_ftable_compile_live(m->flows, m->nflows, m->eff,
					     m->alive, n, m->l.p.max_flows,
					     m->scratch);
		if (ret < 0)
			continue;	/* cm_chains_fit() said it fits */
		if (!cm_ftable_same(ft, m->scratch))
			cm_ftable_publish(ft, m->scratch);
	}
}

/* The verdict on node @i: liveness.h, as the host module's watcher. */
static u32 cmm_watch_node(struct cmm *m, u32 i, u64 now)
{
	struct chainmesh_node *e = cm_node(m->base, &m->l, i);
	struct cm_node_watch *w = &m->nw[i];
	struct cm_watch_news news;
	u32 verdict;

	verdict = cm_watch_node(m->nw, m->l.p.nodes, 0, i, e, now, m->dead_ms,
				true, &news);
	if (news.broken_by)
		cmm_log(m, "node %u (epoch %u) reported broken (by %#llx)", i,
			w->epoch, (unsigned long long)news.broken_by);
	/* Only the host writes it: re-assert what a peer forged. */
	cm_node_set_verdict(e, verdict, w->epoch);
	if (verdict != w->verdict)
		cmm_log(m, "node %u %s (epoch %u)", i,
			cm_node_state_name(verdict), w->epoch);
	w->verdict = verdict;
	return verdict;
}

static void cmm_watch(struct cmm *m)
{
	struct chainmesh_node *self = cm_node(m->base, &m->l, 0);
	u64 now = cmm_now_ms(), alive = 1;
	u32 i;

	for (i = 0; i < m->l.p.nodes; i++)
		m->nw[i].blame = le64_to_cpu(READ_ONCE(cm_node(m->base, &m->l,
							       i)->blame));
	for (i = 1; i < m->l.p.nodes; i++)
		if (cmm_watch_node(m, i, now) == CHAINMESH_NODE_UP)
			alive |= 1ull << i;
	/* Node 0's own entry, which only we write. */
	if (le32_to_cpu(READ_ONCE(self->host_state)) != CHAINMESH_NODE_UP)
		WRITE_ONCE(self->host_state, cpu_to_le32(CHAINMESH_NODE_UP));
	m->nw[0].verdict = CHAINMESH_NODE_UP;
	if (alive != m->alive) {
		m->alive = alive;
		cmm_publish(m);
	}
}

/* The layout, node 0's entry, the tables; magic last. */
static int cmm_lay_out(struct cmm *m, const struct cm_layout_params *p,
		       const char *batch)
{
	struct chainmesh_region_hdr *h = m->base;
	u64 epoch = 1;
	int err;

	err = cm_layout_compute(p, m->size, &m->l);
	if (err) {
		fprintf(stderr, CMM_NAME ": layout does not fit the %llu-byte"
			" region (%s)\n", (unsigned long long)m->size,
			strerror(-err));
		return -1;
	}
	m->flows = calloc(m->l.p.max_flows, sizeof(*m->flows));
	m->scratch = cm_ftable_alloc(m->l.p.max_flows);
	if (!m->flows || !m->scratch)
		return -1;
	if (batch && cmm_load(m, batch))
		return -1;
	/* A region that outlived our last layout says which host epoch it
	 * was at: peers see a new one. */
	if (le32_to_cpu(READ_ONCE(h->magic)) == CHAINMESH_MAGIC)
		epoch = le64_to_cpu(READ_ONCE(h->host_epoch)) + 1;
	if (getrandom(&m->mesh_id, sizeof(m->mesh_id), 0) != sizeof(m->mesh_id))
		m->mesh_id = (u32)getpid() ^ (u32)cmm_now_ms();
	smp_store_release(&h->magic, 0);
	memset(m->base, 0, m->l.size);
	cm_layout_to_hdr(&m->l, m->size, m->mesh_id, epoch, h);
	WRITE_ONCE(cm_node(m->base, &m->l, 0)->host_state,
		   cpu_to_le32(CHAINMESH_NODE_UP));
	m->alive = 1;
	cmm_publish(m);
	/* Nodes follow the header once they see magic. */
	smp_store_release(&h->magic, cpu_to_le32(CHAINMESH_MAGIC));
	return 0;
}

static void cmm_usage(FILE *f)
{
	fprintf(f,
"Usage: " CMM_NAME " -S SOCKET [-b FILE] [-n NODES] [-r RING_SLOTS]\n"
"                      [-B BUF_SIZE] [-c BUFS_PER_NODE] [-f MAX_FLOWS]\n"
"                      [-D DEAD_MS] [-q]\n"
"\n"
"A chainmesh mesh with no kernel module: node 0 and the host's part on\n"
"the region of a chainmesh-ivshmemd started without -M (connect first).\n"
"FILE: 'chain add' and 'flow add' lines as for 'chainmesh -batch'.\n"
"Defaults: %u nodes, %u ring slots, %u-byte buffers, %u per node, %u flows,\n"
"a node is down after 1000 ms without a heartbeat.\n",
		CM_DEF_NODES, CM_DEF_RING_SLOTS, CM_DEF_BUF_SIZE,
		CM_DEF_BUFS_PER_NODE, 1024);
}

int main(int argc, char **argv)
{
	struct cm_layout_params p = {
		.nodes = CM_DEF_NODES, .ring_slots = CM_DEF_RING_SLOTS,
		.buf_size = CM_DEF_BUF_SIZE, .bufs_per_node = CM_DEF_BUFS_PER_NODE,
		.max_flows = 1024,
	};
	struct cml_config cfg = { .flags = CML_F_NO_LAYOUT };
	static struct cmm m;
	struct cml_buf bufs[64];
	const char *batch = NULL;
	struct sigaction sa;
	uint64_t rsize;
	u64 next;
	int opt, err, got;

	m.dead_ms = 1000;
	while ((opt = getopt(argc, argv, "S:b:n:r:B:c:f:D:qh")) != -1) {
		switch (opt) {
		case 'S': cfg.socket = optarg; break;
		case 'b': batch = optarg; break;
		case 'n': p.nodes = (u32)strtoul(optarg, NULL, 0); break;
		case 'r': p.ring_slots = (u32)strtoul(optarg, NULL, 0); break;
		case 'B': p.buf_size = (u32)strtoul(optarg, NULL, 0); break;
		case 'c': p.bufs_per_node = (u32)strtoul(optarg, NULL, 0); break;
		case 'f': p.max_flows = (u32)strtoul(optarg, NULL, 0); break;
		case 'D': m.dead_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'q': m.quiet = true; cfg.flags |= CML_F_QUIET; break;
		case 'h': cmm_usage(stdout); return 0;
		default: cmm_usage(stderr); return 2;
		}
	}
	if (!cfg.socket || optind != argc) {
		cmm_usage(stderr);
		return 2;
	}
	if (m.dead_ms < 300)
		m.dead_ms = 300;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmm_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = cml_attach(&cfg, &m.node);
	if (err) {
		fprintf(stderr, CMM_NAME ": attach %s: %s\n", cfg.socket,
			strerror(-err));
		return 1;
	}
	if (cml_node_id(m.node) != 0) {
		fprintf(stderr, CMM_NAME ": got peer id %u, not 0: connect to a"
			" daemon without -M before any other client\n",
			cml_node_id(m.node));
		cml_close(m.node);
		return 1;
	}
	m.base = cml_region(m.node, &rsize);
	m.size = rsize;
	if (cmm_lay_out(&m, &p, batch)) {
		cml_close(m.node);
		return 1;
	}
	err = cml_wait_layout(m.node, 0);
	if (!err)
		err = cml_join(m.node);
	if (err) {
		fprintf(stderr, CMM_NAME ": node 0: %s\n", strerror(-err));
		cml_close(m.node);
		return 1;
	}
	/* Our verdict on ourselves: node 0 is up while the mesh is. */
	printf(CMM_NAME ": ready mesh %08x nodes %u ring %u bufs %u x %u"
	       " chains+flows from %s (%u flows)\n", m.mesh_id, m.l.p.nodes,
	       m.l.p.ring_slots, m.l.p.bufs_per_node, m.l.p.buf_size,
	       batch ? batch : "nowhere", m.nflows);
	fflush(stdout);

	next = cmm_now_ms();
	while (!cmm_stop) {
		if (cmm_now_ms() >= next) {
			cmm_watch(&m);
			next += CMM_TICK_MS;
		}
		got = cml_rx_burst(m.node, bufs, 64);
		m.delivered += (u64)got;
		cml_release(m.node, bufs, got);
		cml_flush(m.node);
		if (got < 64)
			cml_wait(m.node, 10);
	}
	cml_leave(m.node);
	smp_store_release(&((struct chainmesh_region_hdr *)m.base)->magic, 0);
	printf(CMM_NAME ": done, node 0 received %llu frames\n",
	       (unsigned long long)m.delivered);
	cml_close(m.node);
	cm_ftable_free(m.scratch);
	free(m.flows);
	return 0;
}
