// SPDX-License-Identifier: GPL-2.0
/*
 * hop_bench: the per-packet work of a chainmesh hop: the node datapath
 * of include/chainmesh/dp.h itself, the loop node 0 and every guest run,
 * compiled in userspace.
 *
 * Three nodes share one in-memory region, each a struct cm_dp with the
 * same ops, which do what a guest's XDP_TX does: a frame received is
 * counted against its flow, routed by its chain context (cm_dp_route())
 * and its buffer pushed as it is to the next node (cm_dp_push()), or, at
 * the chain's end, sent home (cm_dp_give_back()). Chain 1 is 0 -> 1 -> 2.
 * Node 0 sends a burst of UDP/IPv4 frames from its pool (cm_dp_send(),
 * with chain context, as its transmit path does); the hop is one NAPI
 * poll of node 1:
 *
 *   cm_dp_disarm, cm_dp_returns (every return ring), cm_dp_rx_poll (each
 *   inbound data ring, round robin: cm_rx_pop_burst of the burst, per
 *   descriptor cm_desc_check and the context checked against the node's
 *   table, then the ops' rx: cm_desc_flow (cm_flow_parse, cm_flow_lookup
 *   in the node's snapshot, its hash index), the per-peer and per-flow
 *   counters, cm_dp_route, the next node's MAC, cm_dp_push), then
 *   cm_dp_tx_flush (publish, the kick decision) and cm_dp_rx_flush
 *   (release, the space-wanted check).
 *
 * Node 2 then ends the frames' journey (their buffers go home on its
 * return ring) and node 0 takes them back, both untimed; each goes idle
 * with cm_dp_arm(), so node 1's publish decides to kick every burst. A
 * run fails unless every frame went on and came home and nothing was
 * dropped or refused.
 *
 * The flow table is compiled, published and snapshotted with the real
 * helpers. The packet matches the last of its flows: the others are UDP
 * flows to the same destination and port from other /32 sources, so each
 * miss is decided on the source address. 1, 1024, 10 000 and 100 000 flows
 * are measured through the hop. The "lookup" tests time cm_flow_lookup()
 * alone on a compiled and indexed table: all flows with one mask, and
 * spread over M masks (up to 16 source prefixes times 4 destination port
 * masks), which the index probes one by one. The "scan" test times the
 * linear scan cm_flow_lookup() used to be (cm_flow_lookup_linear():
 * cm_flow_match in a loop).
 *
 * Update cost: what one change of a node's table costs, host and node
 * (cm_bench_update): the host publishes the table (cm_ftable_publish),
 * the node sees the sequence move and takes it (cm_ftable_snapshot: copy,
 * validation, cm_ftable_index), alternating two versions that differ in
 * one entry. The timed form also reports the host's compile of the table
 * and the index build alone.
 *
 * Under traffic (-T), a writer thread publishes the two versions at a
 * given rate while a reader thread classifies packets as a guest does, in
 * one of two models (-M):
 *
 *   shared: the guest now. The reader takes the current table's pointer
 *   once per burst and checks the sequence; when it moved, it wakes a
 *   builder thread (the guest's work item) and goes on with the table it
 *   has. The builder snapshots into its spare, swaps the pointer, and
 *   reuses the old table only once the reader has finished a burst since
 *   the swap (a quiescent state, as an RCU grace period); a snapshot that
 *   met a write is retried after 0.5 ms. The builder runs on a CPU of its
 *   own when -c names three, else on the writer's.
 *
 *   inline: the guest before, each reader context refreshing its private
 *   table itself in the datapath (snapshot into a spare, swap; a snapshot
 *   that met a write is retried at the next check).
 *
 * All threads pinned. Reported: the reader's lookups per second, the
 * snapshots taken, the copies made in vain (torn: the host wrote
 * meanwhile), and the publishes done.
 *
 * Only the hop is timed (clock_gettime around each burst, its own cost
 * subtracted); node 0's sending and node 2's and node 0's polls are not.
 * The doorbell write itself (MMIO, an eventfd) is not counted, only the
 * decision to ring. Everything stays in cache: this is the CPU cost of
 * the code.
 *
 *   hop_bench [-o CSV] [-u CSV] [-r RUNS] [-b BURST]
 *   hop_bench -T CSV [-r RUNS] [-c CPU,CPU[,CPU]] [-d MS] [-R RATES] [-F FLOWS]
 *             [-M shared,inline]
 *   hop_bench -C hop|lookup|scan|update -f FLOWS -n PACKETS [-b BURST] [-m MASKS]
 *
 * The last form runs exactly PACKETS packets (lookups, updates) once,
 * untimed, for valgrind --tool=callgrind --toggle-collect=cm_bench_hop_burst
 * (or cm_bench_lookup, cm_bench_scan, cm_bench_update); instructions per
 * packet = collected Ir / PACKETS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <chainmesh/dp.h>

#include "bench.h"

#define NODES		3u
#define SELF		1u
#define NEXT		2u
#define CHAIN		1u
#define MESH_ID		0x0101u	/* the frame's MACs are node MACs of it */
#define FRAME_LEN	60u	/* Ethernet + IPv4 + UDP + 18 bytes, no FCS */
#define MAX_BURST	256u
#define MAX_RUNS	64
#define NSCAN		4
#define NSIZES		4
#define MAX_RATES	8
#define NKEYS		1024

static const u32 scan_flows[NSCAN] = { 1, 1024, 10000, 100000 };
/* table sizes of the hop, the update cost and the traffic tests */
static const u32 sizes[NSIZES] = { 1, 1024, 10000, 100000 };

/*
 * Three nodes of one in-memory region, each a struct cm_dp (dp.h) with
 * the same ops: a frame received goes on as it is, to the next node of
 * its chain (XDP_TX), or home at the chain's end.
 */
struct hop;

struct hop_node {
	struct cm_dp dp;
	struct hop *h;
	struct cm_ftable *ft;		/* its snapshot of its table */
};

struct hop {
	void *base;
	struct cm_layout l;
	struct cm_policy pol;
	struct hop_node n[NODES];
	struct cm_route in;		/* node 0's frames: to node 1 */
	u64 kicks[NODES];		/* doorbells rung for each node */
	u64 sent;			/* frames through the hop, all runs */
	u64 bursts;
};

/* A UDP/IPv4 frame from 10.0.0.1:40000 to 10.0.0.2:5201. */
static void mkframe(u8 *f)
{
	static const u8 hdr[42] = {
		0x02, 0x43, 0x4d, 0x01, 0x01, 0x01,	/* dst: node 1 */
		0x02, 0x43, 0x4d, 0x01, 0x01, 0x00,	/* src: node 0 */
		0x08, 0x00,
		0x45, 0x00, 0x00, 46, 0x12, 0x34, 0x40, 0x00,
		64, 17, 0x00, 0x00,			/* checksum: unchecked */
		10, 0, 0, 1, 10, 0, 0, 2,
		0x9c, 0x40, 0x14, 0x51, 0x00, 26, 0x00, 0x00,
	};

	memcpy(f, hdr, sizeof(hdr));
	memset(f + sizeof(hdr), 0x5a, FRAME_LEN - sizeof(hdr));
}

static void mkflow(struct chainmesh_flow *f, u32 id, u16 prio, __be32 src)
{
	memset(f, 0, sizeof(*f));
	f->flow_id = cpu_to_le32(id);
	f->chain = cpu_to_le16(CHAIN);
	f->priority = cpu_to_le16(prio);
	f->family = 4;
	f->ip_proto = CM_IPPROTO_UDP;
	f->dport = cpu_to_be16(5201);
	f->dport_mask = cpu_to_be16(0xffff);
	f->src[0] = src;
	f->dst[0] = cpu_to_be32(0x0a000002);
	cm_prefix_mask(32, f->src_mask);
	cm_prefix_mask(32, f->dst_mask);
}

/* @n flows; the packet's is the last in priority order. */
static void mkflows(struct chainmesh_flow *flows, u32 n)
{
	u32 i;

	for (i = 0; i + 1 < n; i++)
		mkflow(&flows[i], i, 0, cpu_to_be32(0x0b000000 + i));
	mkflow(&flows[n - 1], n - 1, 1, cpu_to_be32(0x0a000001));
}

static void die(const char *what)
{
	fprintf(stderr, "hop_bench: %s\n", what);
	exit(1);
}

static struct hop_node *hop_node_of(struct cm_dp *dp)
{
	return (struct hop_node *)((char *)dp - offsetof(struct hop_node, dp));
}

/* ops->kick: the doorbell write itself (MMIO, an eventfd) is not
 * counted, only that the loop decided to ring. */
static void hop_kick(struct cm_dp *dp, u32 peer)
{
	hop_node_of(dp)->h->kicks[peer]++;
}

static void hop_rx(struct cm_dp *dp, u32 from, struct cm_desc *d, u32 owner,
		   u32 idx, const struct cm_ftable **t);

static const struct cm_dp_ops hop_ops = {
	.kick	= hop_kick,
	.rx	= hop_rx,
};

/*
 * ops->rx: what a guest's receive path does with a frame its XDP program
 * sends on (XDP_TX): count it against its flow, route it by its context,
 * write the next node's address and push the same buffer to it; at the
 * chain's end, or without room, the buffer goes home.
 */
static void hop_rx(struct cm_dp *dp, u32 from, struct cm_desc *d, u32 owner,
		   u32 idx, const struct cm_ftable **t)
{
	u8 *frame = (u8 *)dp->base + d->addr + d->data_off;
	struct cm_ctx ctx, *ctxp = NULL;
	struct cm_route r;

	cm_dp_rx_count(dp, from, cm_desc_flow(*t, d, frame), d->len);
	if (d->flags & CHAINMESH_D_CTX) {
		ctx.chain = d->chain;
		ctx.hop = d->hop;
		ctxp = &ctx;
	}
	if (cm_dp_route(*t, ctxp, frame,
			d->len < CM_PARSE_LEN ? d->len : CM_PARSE_LEN, &r) ==
	    CM_TX_DROP_NONE) {
		cm_frame_set_dest(dp->base, &dp->l, frame, r.peer);
		if (cm_dp_push(dp, &r, d) == CM_TX_DROP_NONE) {
			/* Our own buffer, passed on: the next node holds it. */
			if (owner == dp->self)
				cm_pool_set_hop(&dp->pool, idx, r.peer);
			cm_dp_tx_count(dp, CM_TX_XDP_ZEROCOPY, 1);
			return;
		}
		cm_dp_tx_count(dp, CM_TX_XDP_TX_DROP, 1);
	} else {
		cm_ctr_add(&dp->rx_total, d->len);	/* its journey ends here */
	}
	cm_dp_give_back(dp, &hop_ops, from, owner, idx, d->addr);
}

/* One NAPI poll of a node: our buffers back, the data rings within
 * @budget (each frame to hop_rx()), then publish and decide the kicks. */
static __always_inline int hop_poll(struct hop_node *hn, int budget)
{
	struct cm_dp *dp = &hn->dp;
	const struct cm_ftable *t = hn->ft;
	int done;

	cm_dp_disarm(dp);
	cm_dp_returns(dp, &hop_ops, budget);
	done = cm_dp_rx_poll(dp, &hop_ops, budget, false, &t);
	cm_dp_tx_flush(dp, &hop_ops);
	cm_dp_rx_flush(dp, &hop_ops);
	return done;
}

static void hop_init(struct hop *h, u32 nflows)
{
	struct cm_layout_params lp = {
		.nodes = NODES, .ring_slots = 256, .buf_size = 2048,
		.bufs_per_node = 512, .max_flows = nflows,
	};
	struct cm_chain *chains;
	struct chainmesh_flow *flows;
	struct chainmesh_node *e;
	struct cm_ftable *t;
	u8 frame[FRAME_LEN];
	bool any;
	u32 i;

	memset(h, 0, sizeof(*h));
	if (cm_layout_compute(&lp, ~0ull, &h->l))
		die("layout");
	h->base = aligned_alloc(CHAINMESH_PAGE_SIZE,
				cm_align(h->l.size, CHAINMESH_PAGE_SIZE));
	chains = calloc(CHAINMESH_MAX_CHAINS, sizeof(*chains));
	flows = calloc(nflows, sizeof(*flows));
	t = cm_ftable_alloc(nflows);
	if (!h->base || !chains || !flows || !t)
		die("out of memory");
	memset(h->base, 0, h->l.size);
	h->pol.bad_limit = CM_DEF_BAD_LIMIT;
	h->pol.bad_window_ms = CM_DEF_BAD_WINDOW_MS;
	h->pol.peer_share = CM_DEF_PEER_SHARE;

	/* Every node up, as the host and the nodes' joins leave them. */
	for (i = 0; i < NODES; i++) {
		e = cm_node(h->base, &h->l, i);
		cm_node_mac(MESH_ID, i, e->mac);
		e->epoch = cpu_to_le32(1);
		e->state = cpu_to_le32(CHAINMESH_NODE_UP);
		e->host_state = cpu_to_le32(CHAINMESH_NODE_UP);
	}

	/* chain 1: 0 -> 1 -> 2; the host compiles and publishes each node's
	 * table, the node snapshots it */
	chains[CHAIN].used = 1;
	chains[CHAIN].nhops = 3;
	chains[CHAIN].hops[0] = 0;
	chains[CHAIN].hops[1] = SELF;
	chains[CHAIN].hops[2] = NEXT;
	mkflows(flows, nflows);
	for (i = 0; i < NODES; i++) {
		struct hop_node *hn = &h->n[i];

		hn->h = h;
		hn->ft = cm_ftable_alloc(nflows);
		if (!hn->ft)
			die("out of memory");
		if (cm_ftable_compile(flows, nflows, chains, i, lp.max_flows,
				      t) != (int)nflows)
			die("compile");
		cm_ftable_publish(cm_ftable(h->base, &h->l, i), t);
		if (cm_ftable_snapshot(cm_ftable(h->base, &h->l, i), &h->l, i,
				       hn->ft) || hn->ft->nflows != nflows)
			die("snapshot");
		if (cm_dp_init(&hn->dp, h->base, &h->l, i, &h->pol))
			die("cm_dp_init");
	}
	cm_ftable_free(t);
	free(flows);
	free(chains);

	/* The first tick: every peer alive, to be sent to once the poll
	 * has resynced with it. */
	for (i = 0; i < NODES; i++) {
		if (!cm_dp_tick(&h->n[i].dp, &any) || !any)
			die("tick");
		cm_dp_peer_changes(&h->n[i].dp, &hop_ops, NULL);
	}

	/* Node 0 classifies the frame once: every frame it sends goes the
	 * same way (chain 1, to node 1 at hop 1). */
	mkframe(frame);
	if (cm_dp_route(h->n[0].ft, NULL, frame, FRAME_LEN, &h->in) ||
	    h->in.peer != SELF || h->in.hop != 1)
		die("route");
	/* Nodes 0 and 2 start idle, asking for doorbells. */
	cm_dp_arm(&h->n[0].dp, false);
	cm_dp_arm(&h->n[NEXT].dp, false);
}

static void hop_fini(struct hop *h)
{
	u32 i;

	for (i = 0; i < NODES; i++) {
		cm_dp_destroy(&h->n[i].dp);
		cm_ftable_free(h->n[i].ft);
	}
	free(h->base);
}

static bool hop_copy(u8 *buf, u32 len, const void *src)
{
	memcpy(buf, src, len);
	return true;
}

/* Node 0: @n frames from its own pool to node 1, as its transmit path
 * sends them, with chain context; one publish. */
static void feed(struct hop *h, u32 n)
{
	struct cm_dp *dp = &h->n[0].dp;
	u8 frame[FRAME_LEN];
	struct cm_desc d;
	u32 i;

	mkframe(frame);
	for (i = 0; i < n; i++) {
		if (!cm_dp_tx_room(dp, SELF) ||
		    cm_dp_send(dp, &h->in, FRAME_LEN, hop_copy, frame, &d))
			die("feed: no room");
		cm_dp_tx_sent(dp, &h->in, FRAME_LEN, false);
	}
	cm_dp_tx_flush(dp, &hop_ops);
}

/* Node 2 ends the frames' journey (their buffers go home on its return
 * ring to node 0), node 0 takes them back; both go idle and ask for a
 * doorbell. */
static void drain(struct hop *h)
{
	while (hop_poll(&h->n[NEXT], 64))
		;
	if (cm_dp_arm(&h->n[NEXT].dp, false))
		die("drain: ring");
	hop_poll(&h->n[0], 64);
	if (cm_dp_arm(&h->n[0].dp, false))
		die("drain: return ring");
}

/* The hop: one NAPI poll of node 1 of at most @budget frames. */
__attribute__((noinline))
u32 cm_bench_hop_burst(struct hop *h, u32 budget)
{
	return (u32)hop_poll(&h->n[SELF], (int)budget);
}

/* Every frame went on at node 1 and home from node 2; nothing dropped,
 * refused or left out; node 2 rang once a burst. */
static void hop_check(const struct hop *h)
{
	u64 packets = h->sent;
	const struct cm_dp *mid = &h->n[SELF].dp, *end = &h->n[NEXT].dp;
	const struct cm_dp *src = &h->n[0].dp;
	u32 i, j;

	if (mid->peer[NEXT].txc.packets != packets ||
	    mid->tx_stats[CM_TX_XDP_ZEROCOPY] != packets ||
	    mid->peer[0].rx.packets != packets ||
	    end->rx_total.packets != packets ||
	    src->peer[SELF].txc.packets != packets ||
	    cm_pool_count(&src->pool) != src->pool.nbufs ||
	    cm_pool_held(&src->pool, SELF) ||
	    h->kicks[NEXT] != h->bursts)
		die("hop: packets lost or kicks missing");
	for (i = 0; i < NODES; i++) {
		const struct cm_dp *dp = &h->n[i].dp;

		for (j = 0; j < __CM_BAD_MAX; j++)
			if (dp->rx_bad[j])
				die("hop: bad input");
		for (j = 0; j < __CM_TX_DROP_MAX; j++)
			if (dp->tx_drops[j])
				die("hop: tx drop");
		for (j = 0; j < __CM_RX_DROP_MAX; j++)
			if (dp->rx_drops[j])
				die("hop: rx drop");
		if (dp->tx_stats[CM_TX_XDP_TX_DROP])
			die("hop: XDP_TX drop");
	}
}

/* The lookup alone over @n flows: cm_flow_lookup's loop, any table size. */
__attribute__((noinline))
const struct chainmesh_flow *cm_bench_scan(const struct chainmesh_flow *flows,
					   u32 n, const struct cm_flow_key *k)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (cm_flow_match(&flows[i], k))
			return &flows[i];
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Cost of one clock read, subtracted from every timed interval. */
static double clock_cost(void)
{
	double v[15];
	int i, j;

	for (i = 0; i < 15; i++) {
		double t0 = now(), t1 = t0;

		for (j = 0; j < 1000; j++)
			t1 = now();
		v[i] = (t1 - t0) / 1000;
	}
	return median(v, 15);
}

/* Runs @packets packets through the hop; returns timed ns, or 0 untimed. */
static double run_hop(struct hop *h, u64 packets, u32 burst, bool timed,
		      double tick)
{
	double ns = 0;
	u64 sent;

	for (sent = 0; sent < packets; sent += burst) {
		double t0 = 0;

		feed(h, burst);
		if (timed)
			t0 = now();
		if (cm_bench_hop_burst(h, burst) != burst)
			die("hop: short burst");
		if (timed)
			ns += now() - t0 - tick;
		drain(h);
		h->sent += burst;
		h->bursts++;
	}
	hop_check(h);
	return ns;
}

static void scan_key(struct cm_flow_key *k);

/* The lookup alone, on an indexed node table. */
__attribute__((noinline))
const struct chainmesh_flow *cm_bench_lookup(const struct cm_ftable *t,
					     const struct cm_flow_key *k)
{
	return cm_flow_lookup(t, k);
}

/* Node 1's compiled table of @n flows over @masks source prefixes. */
static struct cm_ftable *lookup_table(u32 n, u32 masks)
{
	struct cm_chain *chains = calloc(CHAINMESH_MAX_CHAINS, sizeof(*chains));
	struct chainmesh_flow *flows = calloc(n, sizeof(*flows));
	struct cm_ftable *t = cm_ftable_alloc(n);
	u32 i, j;

	if (!chains || !flows || !t)
		die("out of memory");
	chains[CHAIN].used = 1;
	chains[CHAIN].nhops = 3;
	chains[CHAIN].hops[1] = SELF;
	chains[CHAIN].hops[2] = NEXT;
	mkflows(flows, n);
	/* up to 16 source prefixes (/17 still tells 11/8 from 10/8) times
	 * 4 destination port masks (the packet's port matches them all) */
	for (i = 0; i + 1 < n; i++) {
		u32 m = i % masks;

		cm_prefix_mask(32 - m % 16, flows[i].src_mask);
		for (j = 0; j < 4; j++)
			flows[i].src[j] &= flows[i].src_mask[j];
		flows[i].dport_mask = cpu_to_be16(0xffff << (m / 16));
		flows[i].dport &= flows[i].dport_mask;
	}
	if (cm_ftable_compile(flows, n, chains, SELF, n, t) != (int)n)
		die("lookup: compile");
	cm_ftable_index(t);
	if (t->ix.owner != t || t->ix.ngroups + t->ix.nlinear == 0)
		die("lookup: index");
	free(flows);
	free(chains);
	return t;
}

static double run_lookup(const struct cm_ftable *t, u64 lookups, bool timed,
			 double tick)
{
	struct cm_flow_key k;
	double t0 = 0, ns = 0;
	u64 i;

	scan_key(&k);
	if (timed)
		t0 = now();
	for (i = 0; i < lookups; i++) {
		__asm__ __volatile__("" : : : "memory");
		if (cm_bench_lookup(t, &k) != &t->flows[t->nflows - 1])
			die("lookup: wrong match");
	}
	if (timed)
		ns = now() - t0 - tick;
	return ns;
}

static struct chainmesh_flow *scan_table(u32 n)
{
	struct chainmesh_flow *flows = calloc(n, sizeof(*flows));

	if (!flows)
		die("out of memory");
	mkflows(flows, n);
	return flows;
}

static void scan_key(struct cm_flow_key *k)
{
	u8 f[FRAME_LEN];

	mkframe(f);
	cm_flow_parse(f, sizeof(f), k);
}

static double run_scan(const struct chainmesh_flow *flows, u32 n, u64 lookups,
		       bool timed, double tick)
{
	struct cm_flow_key k;
	double t0 = 0, ns = 0;
	u64 i;

	scan_key(&k);
	if (timed)
		t0 = now();
	for (i = 0; i < lookups; i++) {
		/* the scan is pure: keep the compiler from hoisting it */
		__asm__ __volatile__("" : : : "memory");
		if (cm_bench_scan(flows, n, &k) != &flows[n - 1])
			die("scan: wrong match");
	}
	if (timed)
		ns = now() - t0 - tick;
	return ns;
}

/* ---- update cost ---- */

/* One node's table in a region, two versions of it on the host's side,
 * and the node's current and spare snapshots. */
struct upd {
	void *base;
	struct cm_layout l;
	void *ft;			/* node 1's table in the region */
	struct chainmesh_flow *flows;	/* the logical table, table order */
	struct cm_chain *chains;
	struct cm_ftable *ver[2];	/* the host's compiled versions */
	struct cm_ftable *cur, *spare;	/* node 1's */
	u32 nflows;
	u64 n;
};

static void swap_tables(struct upd *u)
{
	struct cm_ftable *t = u->cur;

	u->cur = u->spare;
	u->spare = t;
}

static void upd_init(struct upd *u, u32 nflows)
{
	struct cm_layout_params lp = {
		.nodes = 3, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 1, .max_flows = nflows,
	};
	u32 v;

	memset(u, 0, sizeof(*u));
	u->nflows = nflows;
	if (cm_layout_compute(&lp, ~0ull, &u->l))
		die("update: layout");
	u->base = calloc(1, u->l.size);
	u->ft = NULL;
	u->chains = calloc(CHAINMESH_MAX_CHAINS, sizeof(*u->chains));
	u->flows = calloc(nflows, sizeof(*u->flows));
	u->ver[0] = cm_ftable_alloc(nflows);
	u->ver[1] = cm_ftable_alloc(nflows);
	u->cur = cm_ftable_alloc(nflows);
	u->spare = cm_ftable_alloc(nflows);
	if (!u->base || !u->chains || !u->flows || !u->ver[0] || !u->ver[1] ||
	    !u->cur || !u->spare)
		die("out of memory");
	u->ft = cm_ftable(u->base, &u->l, SELF);
	u->chains[CHAIN].used = 1;
	u->chains[CHAIN].nhops = 3;
	u->chains[CHAIN].hops[1] = SELF;
	u->chains[CHAIN].hops[2] = NEXT;
	mkflows(u->flows, nflows);
	/* version 1: the middle flow's port moved, the rest as version 0 */
	for (v = 0; v < 2; v++) {
		u->flows[nflows / 2].dport = cpu_to_be16(5201 + v);
		if (cm_ftable_compile(u->flows, nflows, u->chains, SELF, nflows,
				      u->ver[v]) != (int)nflows)
			die("update: compile");
	}
	cm_ftable_publish(u->ft, u->ver[0]);
	if (cm_ftable_snapshot(u->ft, &u->l, SELF, u->cur))
		die("update: snapshot");
}

static void upd_fini(struct upd *u)
{
	cm_ftable_free(u->spare);
	cm_ftable_free(u->cur);
	cm_ftable_free(u->ver[1]);
	cm_ftable_free(u->ver[0]);
	free(u->flows);
	free(u->chains);
	free(u->base);
}

/* One change of node 1's table: the host publishes, the node takes it. */
__attribute__((noinline))
void cm_bench_update(struct upd *u)
{
	cm_ftable_publish(u->ft, u->ver[++u->n & 1]);
	if (!cm_ftable_changed(u->ft, u->cur) ||
	    cm_ftable_snapshot(u->ft, &u->l, SELF, u->spare))
		die("update: snapshot");
	swap_tables(u);
}

/* Updates to time, enough for about a tenth of a second a run. */
static u64 updates_for(u32 flows)
{
	u64 n = (1ull << 20) / flows;

	return n < 4 ? 4 : n > 4096 ? 4096 : n;
}

struct upd_cost {
	double compile, publish, snapshot, index;	/* ns each */
};

/* @n updates, each phase timed alone: the host's compile of the table,
 * its publish, the node's snapshot (with its index), the index alone. */
static void run_update(struct upd *u, u64 n, double tick, struct upd_cost *c)
{
	double t0;
	u64 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < n; i++) {
		/* into the spare, which the snapshot overwrites next */
		t0 = now();
		if (cm_ftable_compile(u->flows, u->nflows, u->chains, SELF,
				      u->nflows, u->spare) != (int)u->nflows)
			die("update: compile");
		c->compile += now() - t0 - tick;
		t0 = now();
		cm_ftable_publish(u->ft, u->ver[++u->n & 1]);
		c->publish += now() - t0 - tick;
		t0 = now();
		if (cm_ftable_snapshot(u->ft, &u->l, SELF, u->spare))
			die("update: snapshot");
		c->snapshot += now() - t0 - tick;
		t0 = now();
		cm_ftable_index(u->spare);
		c->index += now() - t0 - tick;
		swap_tables(u);
	}
	c->compile /= n;
	c->publish /= n;
	c->snapshot /= n;
	c->index /= n;
}

/* ---- lookups under updates ---- */

enum { MODEL_SHARED, MODEL_INLINE, NMODELS };
static const char *const model_names[NMODELS] = { "shared", "inline" };

struct traffic {
	struct upd u;
	struct cm_flow_key keys[NKEYS];	/* each matches its flow only */
	const struct chainmesh_flow *want[NKEYS];	/* in version 0 */
	int cpu[3];			/* reader, writer, builder */
	int model;
	double rate;			/* publishes per second, 0: none */
	int go, stop;
	u64 lookups, snapshots, retries, publishes;
	/* shared model: the table in use, the reader's quiescent states,
	 * and the builder's wakeup */
	struct cm_ftable *pub;
	u64 qs;
	int queued;
	pthread_mutex_t lock;
	pthread_cond_t wake;
};

/* The guest's way: check the sequence, snapshot into the spare and swap
 * when it moved, keep the old table when the host was writing. */
static void *traffic_reader(void *arg)
{
	struct traffic *t = arg;
	struct upd *u = &t->u;
	u64 lookups = 0, snaps = 0, retries = 0;
	u32 i;

	bench_pin("hop_bench", t->cpu[0]);
	while (!__atomic_load_n(&t->go, __ATOMIC_ACQUIRE))
		;
	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		/* a write in progress costs nothing: retried at the next check */
		if (cm_ftable_changed(u->ft, u->cur) &&
		    !(le32_to_cpu(READ_ONCE(cm_ftable_hdr(u->ft)->seq)) & 1)) {
			int err = cm_ftable_snapshot(u->ft, &u->l, SELF, u->spare);

			if (!err) {
				swap_tables(u);
				snaps++;
			} else if (err == -EAGAIN) {
				retries++;	/* copied, but the host wrote meanwhile */
			} else {
				die("traffic: snapshot refused");
			}
		}
		/* a burst's worth of packets between two checks */
		for (i = 0; i < 32; i++) {
			const struct chainmesh_flow *f;
			u32 k = (u32)(lookups + i) % NKEYS;

			f = cm_flow_lookup(u->cur, &t->keys[k]);
			if (!f || f->flow_id != t->want[k]->flow_id)
				die("traffic: wrong match");
		}
		lookups += 32;
	}
	t->lookups = lookups;
	t->snapshots = snaps;
	t->retries = retries;
	return NULL;
}

/* The guest's way now: one table, swapped by the builder; the reader only
 * notices that the sequence moved and wakes the builder. */
static void *traffic_reader_shared(void *arg)
{
	struct traffic *t = arg;
	struct upd *u = &t->u;
	const struct cm_ftable *tab;
	u64 lookups = 0;
	u32 i;

	bench_pin("hop_bench", t->cpu[0]);
	while (!__atomic_load_n(&t->go, __ATOMIC_ACQUIRE))
		;
	while (!__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		/* rcu_dereference() */
		tab = __atomic_load_n(&t->pub, __ATOMIC_SEQ_CST);
		if (cm_ftable_changed(u->ft, tab) &&
		    !__atomic_load_n(&t->queued, __ATOMIC_RELAXED) &&
		    !__atomic_exchange_n(&t->queued, 1, __ATOMIC_ACQ_REL)) {
			/* queue_work() */
			pthread_mutex_lock(&t->lock);
			pthread_cond_signal(&t->wake);
			pthread_mutex_unlock(&t->lock);
		}
		for (i = 0; i < 32; i++) {
			const struct chainmesh_flow *f;
			u32 k = (u32)(lookups + i) % NKEYS;

			f = cm_flow_lookup(tab, &t->keys[k]);
			if (!f || f->flow_id != t->want[k]->flow_id)
				die("traffic: wrong match");
		}
		lookups += 32;
		/* end of the burst: @tab no longer used */
		__atomic_store_n(&t->qs, lookups, __ATOMIC_SEQ_CST);
	}
	t->lookups = lookups;
	return NULL;
}

/* The guest's work item: snapshot into the spare, swap, wait for the
 * reader to pass a quiescent state before the old table is the spare. */
static void *traffic_builder(void *arg)
{
	struct traffic *t = arg;
	struct upd *u = &t->u;
	u64 snaps = 0, retries = 0, q;
	struct cm_ftable *old;
	int err;

	bench_pin("hop_bench", t->cpu[2]);
	for (;;) {
		pthread_mutex_lock(&t->lock);
		while (!__atomic_load_n(&t->queued, __ATOMIC_ACQUIRE) &&
		       !__atomic_load_n(&t->stop, __ATOMIC_RELAXED))
			pthread_cond_wait(&t->wake, &t->lock);
		pthread_mutex_unlock(&t->lock);
		if (__atomic_load_n(&t->stop, __ATOMIC_RELAXED))
			break;
		while (cm_ftable_changed(u->ft, u->cur) &&
		       !__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
			err = cm_ftable_snapshot(u->ft, &u->l, SELF, u->spare);
			if (err == -EAGAIN) {
				retries++;
				usleep(500);
				continue;
			}
			if (err)
				die("traffic: snapshot refused");
			old = u->cur;
			u->cur = u->spare;
			__atomic_store_n(&t->pub, u->cur, __ATOMIC_SEQ_CST);
			q = __atomic_load_n(&t->qs, __ATOMIC_SEQ_CST);
			while (__atomic_load_n(&t->qs, __ATOMIC_SEQ_CST) == q &&
			       !__atomic_load_n(&t->stop, __ATOMIC_RELAXED))
				sched_yield();
			u->spare = old;
			snaps++;
		}
		__atomic_store_n(&t->queued, 0, __ATOMIC_RELEASE);
	}
	t->snapshots = snaps;
	t->retries = retries;
	return NULL;
}

static void *traffic_writer(void *arg)
{
	struct traffic *t = arg;
	double next, gap = t->rate > 0 ? 1e9 / t->rate : 0;
	u64 n = 0;

	bench_pin("hop_bench", t->cpu[1]);
	while (!__atomic_load_n(&t->go, __ATOMIC_ACQUIRE))
		;
	next = now();
	while (gap && !__atomic_load_n(&t->stop, __ATOMIC_RELAXED)) {
		double wait = next - now();

		if (wait > 0) {
			struct timespec ts = {
				.tv_sec = (time_t)(wait / 1e9),
				.tv_nsec = (long)((u64)wait % 1000000000ull),
			};

			nanosleep(&ts, NULL);
			continue;
		}
		cm_ftable_publish(t->u.ft, t->u.ver[++n & 1]);
		next += gap;
		if (next < now() - 1e8)	/* cannot keep up: as fast as it can */
			next = now();
	}
	t->publishes = n;
	return NULL;
}

/* Keys of flows spread over the table, none of the flow that changes. */
static void traffic_keys(struct traffic *t)
{
	const struct cm_ftable *v0 = t->u.ver[0];
	u8 f[FRAME_LEN];
	u32 i, e;

	mkframe(f);
	for (i = 0; i < NKEYS; i++) {
		e = (u32)((u64)i * 2654435761u % v0->nflows);
		if (e == v0->nflows / 2 && v0->nflows > 1)
			e++;
		memcpy(f + 26, &v0->flows[e].src[0], 4);	/* its source */
		cm_flow_parse(f, sizeof(f), &t->keys[i]);
		t->want[i] = &v0->flows[e];
	}
}

/* Lookups per second of the reader over @ms while the writer publishes
 * at @rate; counts into @t. */
static void run_traffic(struct traffic *t, double rate, u32 ms)
{
	pthread_t rd, wr, bd;
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000l };
	bool shared = t->model == MODEL_SHARED;

	t->rate = rate;
	t->go = t->stop = 0;
	t->lookups = t->snapshots = t->retries = t->publishes = 0;
	t->pub = t->u.cur;
	t->qs = 0;
	t->queued = 0;
	if (pthread_create(&rd, NULL, shared ? traffic_reader_shared :
			   traffic_reader, t) ||
	    pthread_create(&wr, NULL, traffic_writer, t) ||
	    (shared && pthread_create(&bd, NULL, traffic_builder, t)))
		die("pthread_create");
	usleep(10000);
	__atomic_store_n(&t->go, 1, __ATOMIC_RELEASE);
	nanosleep(&ts, NULL);
	__atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
	pthread_join(rd, NULL);
	pthread_join(wr, NULL);
	if (shared) {
		pthread_mutex_lock(&t->lock);
		pthread_cond_signal(&t->wake);
		pthread_mutex_unlock(&t->lock);
		pthread_join(bd, NULL);
	}
}

/* Enough packets for about a tenth of a second per run. */
static u64 packets_for(u32 flows, u32 burst)
{
	u64 n = (1ull << 22) / flows;

	if (n < 16384)
		n = 16384;
	if (n > (1ull << 20))
		n = 1ull << 20;
	return (n + burst - 1) / burst * burst;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: hop_bench [-o CSV] [-u CSV] [-r RUNS] [-b BURST]\n"
		"       hop_bench -T CSV [-r RUNS] [-c CPU,CPU[,CPU]] [-d MS] [-R RATES] [-F FLOWS]\n"
		"                 [-M shared,inline]\n"
		"       hop_bench -C hop|lookup|scan|update -f FLOWS -n PACKETS [-b BURST] [-m MASKS]\n");
	exit(2);
}

/* "a,b,c" into @v (at most @max), returns how many. */
static u32 parse_list(const char *s, u32 *v, u32 max)
{
	u32 n = 0;
	char *end;

	while (*s && n < max) {
		v[n++] = strtoul(s, &end, 0);
		if (end == s)
			usage();
		s = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* "shared,inline" into a mask of models. */
static unsigned int parse_models(const char *s)
{
	unsigned int models = 0;
	size_t len;
	int m;

	while (*s) {
		len = strcspn(s, ",");
		for (m = 0; m < NMODELS; m++)
			if (strlen(model_names[m]) == len &&
			    !strncmp(s, model_names[m], len))
				break;
		if (m == NMODELS)
			usage();
		models |= 1u << m;
		s += len + (s[len] == ',');
	}
	if (!models)
		usage();
	return models;
}

static int fixed_work(const char *mode, u32 flows, u64 packets, u32 burst,
		      u32 masks)
{
	struct hop h;

	if (!flows || !packets || flows > CHAINMESH_MAX_FLOWS)
		usage();
	if (!strcmp(mode, "hop")) {
		if (packets % burst)
			usage();
		hop_init(&h, flows);
		run_hop(&h, packets, burst, false, 0);
		hop_fini(&h);
	} else if (!strcmp(mode, "lookup")) {
		struct cm_ftable *t;

		if (!masks || masks > 64)
			usage();
		t = lookup_table(flows, masks);
		run_lookup(t, packets, false, 0);
		cm_ftable_free(t);
	} else if (!strcmp(mode, "scan")) {
		struct chainmesh_flow *t = scan_table(flows);

		run_scan(t, flows, packets, false, 0);
		free(t);
	} else if (!strcmp(mode, "update")) {
		struct upd u;
		u64 i;

		upd_init(&u, flows);
		for (i = 0; i < packets; i++)
			cm_bench_update(&u);
		upd_fini(&u);
	} else {
		usage();
	}
	printf("%s flows %u burst %u packets %llu\n", mode, flows, burst,
	       (unsigned long long)packets);
	return 0;
}

/* -T: reader lookups per second at each table size, model and publish
 * rate; the ratio is to the same model without updates. */
static int traffic_main(const char *csv, int runs, const int cpu[3], u32 ms,
			const u32 *rates, u32 nrates, const u32 *flows, u32 nflows,
			unsigned int models)
{
	double v[MAX_RUNS], snaps[MAX_RUNS], retries[MAX_RUNS], pubs[MAX_RUNS];
	double base = 0;
	struct traffic *t;
	u32 i, j;
	int r, m;
	FILE *f;

	f = fopen(csv, "w");
	if (!f) {
		fprintf(stderr, "hop_bench: %s: %s\n", csv, strerror(errno));
		return 1;
	}
	fprintf(f, "flows,rate,runs,ms,mlookups_per_s,snapshots_per_s,torn_per_s,publishes_per_s,ratio,model\n");
	printf("# lookups under table updates: median of %d runs of %u ms, CPUs reader %d writer %d builder %d\n",
	       runs, ms, cpu[0], cpu[1], cpu[2]);
	printf("%7s %-6s %6s %12s %10s %10s %10s %6s\n", "flows", "model",
	       "rate", "Mlookups/s", "snaps/s", "torn/s", "pubs/s", "ratio");
	for (i = 0; i < nflows; i++) {
		t = calloc(1, sizeof(*t));
		if (!t)
			die("out of memory");
		upd_init(&t->u, flows[i]);
		traffic_keys(t);
		memcpy(t->cpu, cpu, sizeof(t->cpu));
		pthread_mutex_init(&t->lock, NULL);
		pthread_cond_init(&t->wake, NULL);
		for (m = 0; m < NMODELS; m++)
		for (j = 0; j < nrates && (models & 1u << m); j++) {
			t->model = m;
			for (r = 0; r < runs; r++) {
				run_traffic(t, rates[j], ms);
				v[r] = t->lookups / (ms * 1e3);
				snaps[r] = t->snapshots * 1e3 / ms;
				retries[r] = t->retries * 1e3 / ms;
				pubs[r] = t->publishes * 1e3 / ms;
			}
			v[0] = median(v, runs);
			snaps[0] = median(snaps, runs);
			retries[0] = median(retries, runs);
			pubs[0] = median(pubs, runs);
			if (!rates[j])
				base = v[0];
			printf("%7u %-6s %6u %12.2f %10.1f %10.1f %10.1f %6.2f\n",
			       flows[i], model_names[m], rates[j], v[0], snaps[0],
			       retries[0], pubs[0], base ? v[0] / base : 0);
			fprintf(f, "%u,%u,%d,%u,%.3f,%.1f,%.1f,%.1f,%.3f,%s\n",
				flows[i], rates[j], runs, ms, v[0], snaps[0],
				retries[0], pubs[0], base ? v[0] / base : 0,
				model_names[m]);
			fflush(stdout);
		}
		pthread_cond_destroy(&t->wake);
		pthread_mutex_destroy(&t->lock);
		upd_fini(&t->u);
		free(t);
	}
	if (fclose(f)) {
		fprintf(stderr, "hop_bench: %s: %s\n", csv, strerror(errno));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *csv = NULL, *ucsv = NULL, *tcsv = NULL, *mode = NULL;
	double v[MAX_RUNS], tick, med;
	static const u32 lookup_rows[][2] = {	/* flows, masks */
		{ 1, 1 }, { 1024, 1 }, { 10000, 1 }, { 100000, 1 },
		{ 1024, 4 }, { 1024, 16 }, { 1024, 64 }, { 100000, 16 },
	};
	u32 rates[MAX_RATES] = { 0, 10, 100, 1000 }, nrates = 4;
	u32 tflows[NSIZES] = { 1024, 10000, 100000 }, ntflows = 3;
	u32 burst = 32, flows = 0, masks = 1, ms = 1000, i;
	int runs = 5, opt, r, cpu[3] = { 0, 1, -1 };
	unsigned int models = (1u << NMODELS) - 1;
	u64 packets = 0;
	FILE *f = NULL;
	struct hop h;

	while ((opt = getopt(argc, argv, "o:u:T:r:b:C:f:n:m:c:d:R:F:M:h")) != -1) {
		switch (opt) {
		case 'm':
			masks = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			csv = optarg;
			break;
		case 'u':
			ucsv = optarg;
			break;
		case 'T':
			tcsv = optarg;
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'b':
			burst = strtoul(optarg, NULL, 0);
			break;
		case 'C':
			mode = optarg;
			break;
		case 'f':
			flows = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			packets = strtoull(optarg, NULL, 0);
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d,%d", &cpu[0], &cpu[1],
				   &cpu[2]) < 2)
				usage();
			break;
		case 'M':
			models = parse_models(optarg);
			break;
		case 'd':
			ms = strtoul(optarg, NULL, 0);
			break;
		case 'R':
			nrates = parse_list(optarg, rates, MAX_RATES);
			break;
		case 'F':
			ntflows = parse_list(optarg, tflows, NSIZES);
			break;
		default:
			usage();
		}
	}
	if (burst < 1 || burst > MAX_BURST || runs < 1 || runs > MAX_RUNS ||
	    !ms || !nrates || !ntflows)
		usage();
	for (i = 0; i < ntflows; i++)
		if (!tflows[i] || tflows[i] > CHAINMESH_MAX_FLOWS)
			usage();

	if (mode)		/* fixed work, for callgrind */
		return fixed_work(mode, flows, packets, burst, masks);
	if (cpu[2] < 0)		/* no third CPU: with the writer */
		cpu[2] = cpu[1];
	if (tcsv)
		return traffic_main(tcsv, runs, cpu, ms, rates, nrates, tflows,
				    ntflows, models);

	if (csv) {
		f = fopen(csv, "w");
		if (!f) {
			fprintf(stderr, "hop_bench: %s: %s\n", csv, strerror(errno));
			return 1;
		}
		fprintf(f, "test,flows,burst,packets,runs,ns_per_pkt,ns_per_pkt_best\n");
	}
	tick = clock_cost();
	printf("# median of %d runs; clock read %.1f ns, subtracted\n", runs,
	       tick);
	printf("%-5s %7s %6s %9s %11s %9s\n", "test", "flows", "burst",
	       "packets", "ns/packet", "best");

	for (i = 0; i < NSIZES; i++) {
		packets = (1ull << 20) / burst * burst;	/* hashed: flat cost */
		hop_init(&h, sizes[i]);
		run_hop(&h, packets, burst, false, 0);	/* warm up */
		for (r = 0; r < runs; r++)
			v[r] = run_hop(&h, packets, burst, true, tick) / packets;
		hop_fini(&h);
		/* median() sorts: v[0] is then the best */
		printf("%-5s %7u %6u %9llu %11.1f", "hop", sizes[i], burst,
		       (unsigned long long)packets, median(v, runs));
		printf(" %9.1f\n", v[0]);
		if (f)
			fprintf(f, "hop,%u,%u,%llu,%d,%.2f,%.2f\n", sizes[i],
				burst, (unsigned long long)packets, runs,
				median(v, runs), v[0]);
	}
	for (i = 0; i < sizeof(lookup_rows) / sizeof(lookup_rows[0]); i++) {
		u32 nf = lookup_rows[i][0], nm = lookup_rows[i][1];
		struct cm_ftable *t;
		char name[32];

		t = lookup_table(nf, nm);
		packets = 1ull << 20;
		run_lookup(t, packets / 8, false, 0);
		for (r = 0; r < runs; r++)
			v[r] = run_lookup(t, packets, true, tick) / packets;
		snprintf(name, sizeof(name), nm > 1 ? "lookup-%um" : "lookup", nm);
		med = median(v, runs);	/* sorts: v[0] is then the best */
		printf("%-5s %7u %6s %9llu %11.1f %9.1f   (%u groups, %u scanned)\n",
		       name, nf, "-", (unsigned long long)packets, med, v[0],
		       t->ix.ngroups, t->ix.nlinear);
		if (f)
			fprintf(f, "%s,%u,0,%llu,%d,%.2f,%.2f\n", name, nf,
				(unsigned long long)packets, runs, med, v[0]);
		cm_ftable_free(t);
	}
	for (i = 0; i < NSCAN; i++) {
		struct chainmesh_flow *t = scan_table(scan_flows[i]);

		packets = packets_for(scan_flows[i], 1) / 4;
		if (scan_flows[i] > 1024)
			packets = 1024;
		run_scan(t, scan_flows[i], packets / 8 + 1, false, 0);
		for (r = 0; r < runs; r++)
			v[r] = run_scan(t, scan_flows[i], packets, true, tick) /
			       packets;
		free(t);
		printf("%-5s %7u %6s %9llu %11.1f", "scan", scan_flows[i], "-",
		       (unsigned long long)packets, median(v, runs));
		printf(" %9.1f\n", v[0]);
		if (f)
			fprintf(f, "scan,%u,0,%llu,%d,%.2f,%.2f\n", scan_flows[i],
				(unsigned long long)packets, runs,
				median(v, runs), v[0]);
	}
	if (f && fclose(f)) {
		fprintf(stderr, "hop_bench: %s: %s\n", csv, strerror(errno));
		return 1;
	}

	/* what one change of a node's table costs, host and node */
	if (ucsv) {
		f = fopen(ucsv, "w");
		if (!f) {
			fprintf(stderr, "hop_bench: %s: %s\n", ucsv, strerror(errno));
			return 1;
		}
		fprintf(f, "flows,updates,runs,compile_ns,publish_ns,snapshot_ns,index_ns,update_ns\n");
	}
	printf("# table updates: ns each, median of %d runs\n", runs);
	printf("%7s %8s %12s %12s %12s %12s %12s\n", "flows", "updates",
	       "compile", "publish", "snapshot", "(index)", "update");
	for (i = 0; i < NSIZES; i++) {
		double c[MAX_RUNS], p[MAX_RUNS], s[MAX_RUNS], x[MAX_RUNS];
		struct upd_cost cost;
		struct upd u;
		u64 n = updates_for(sizes[i]);

		upd_init(&u, sizes[i]);
		run_update(&u, n / 4 + 1, tick, &cost);	/* warm up */
		for (r = 0; r < runs; r++) {
			run_update(&u, n, tick, &cost);
			c[r] = cost.compile;
			p[r] = cost.publish;
			s[r] = cost.snapshot;
			x[r] = cost.index;
			v[r] = cost.publish + cost.snapshot;
		}
		upd_fini(&u);
		printf("%7u %8llu %12.0f %12.0f %12.0f %12.0f %12.0f\n", sizes[i],
		       (unsigned long long)n, median(c, runs), median(p, runs),
		       median(s, runs), median(x, runs), median(v, runs));
		if (f)
			fprintf(f, "%u,%llu,%d,%.0f,%.0f,%.0f,%.0f,%.0f\n", sizes[i],
				(unsigned long long)n, runs, median(c, runs),
				median(p, runs), median(s, runs), median(x, runs),
				median(v, runs));
	}
	if (f && fclose(f)) {
		fprintf(stderr, "hop_bench: %s: %s\n", ucsv, strerror(errno));
		return 1;
	}
	return 0;
}
