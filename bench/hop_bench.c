// SPDX-License-Identifier: GPL-2.0
/*
 * hop_bench: the per-packet work of a chainmesh hop, compiled in userspace
 * from the same headers as the modules.
 *
 * Node 1 of a 3-node region classifies packets that arrive without chain
 * context on data ring 0->1 and forwards them on ring 1->2, one burst at a
 * time, as its NAPI poll would:
 *
 *   cm_ring_cons_avail and cm_ring_pop_descs of the burst, then per
 *   packet: cm_desc_check, cm_flow_parse of the UDP/IPv4 frame in the
 *   buffer, cm_flow_lookup in the node's snapshot of its flow table (its
 *   hash index), the chain's next hop, the flow's counters; then one
 *   cm_ring_push_descs, cm_ring_publish (the kick decision) and
 *   cm_ring_release per burst.
 *
 * The flow table is compiled, published and snapshotted with the real
 * helpers. The packet matches the last of its flows: the others are UDP
 * flows to the same destination and port from other /32 sources, so each
 * miss is decided on the source address. 1 and 1024 flows
 * (CHAINMESH_MAX_FLOWS) are measured through the hop. The "lookup" tests
 * time cm_flow_lookup() alone on a compiled (indexed) table: all flows
 * with one mask, and spread over M masks (up to 16 source prefixes times
 * 4 destination port masks), which the index probes one by one. The "scan" test times the linear
 * scan cm_flow_lookup() used to be (cm_flow_lookup_linear(): cm_flow_match
 * in a loop), also over arrays larger than a node's table can hold.
 *
 * Only the hop is timed (clock_gettime around each burst, its own cost
 * subtracted); feeding ring 0->1 and draining ring 1->2 are not. The
 * draining side asks for a kick after each drain, so every publish
 * decides to kick; the doorbell write itself (MMIO) is not counted.
 * Everything stays in cache: this is the CPU cost of the code.
 *
 *   hop_bench [-o CSV] [-r RUNS] [-b BURST]
 *   hop_bench -C hop|lookup|scan -f FLOWS -n PACKETS [-b BURST] [-m MASKS]
 *
 * The second form runs exactly PACKETS packets (or lookups) once, untimed,
 * for valgrind --tool=callgrind --toggle-collect=cm_bench_hop_burst (or
 * cm_bench_lookup, cm_bench_scan); instructions per packet = collected
 * Ir / PACKETS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <chainmesh/layout.h>
#include <chainmesh/ring.h>
#include <chainmesh/flow.h>

#include "median.h"

#define SELF		1u
#define NEXT		2u
#define CHAIN		1u
#define FRAME_LEN	60u	/* Ethernet + IPv4 + UDP + 18 bytes, no FCS */
#define MAX_BURST	256u
#define MAX_RUNS	64
#define NSCAN		3

static const u32 scan_flows[NSCAN] = { 1, 1024, 100000 };

struct hop {
	void *base;
	struct cm_layout l;
	struct cm_ftable *ft;		/* node 1's private snapshot */
	struct cm_ring_cons in;		/* 0 -> 1, ours */
	struct cm_ring_prod out;	/* 1 -> 2, ours */
	struct chainmesh_flow_stats *fstats;
	/* the test's ends of the two rings */
	struct cm_ring_prod feed;
	struct cm_ring_cons drain;
	u32 next_buf;
	struct cm_desc burst[MAX_BURST];	/* popped, then the ones going on */
	u64 kicks;
	u64 drops;
	u64 forwarded;
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

static void hop_init(struct hop *h, u32 nflows)
{
	struct cm_layout_params lp = {
		.nodes = 3, .ring_slots = 256, .buf_size = 2048,
		.bufs_per_node = 512, .max_flows = CHAINMESH_MAX_FLOWS,
	};
	struct cm_chain *chains;
	struct chainmesh_flow *flows;
	struct cm_ftable *t;
	u32 i;

	memset(h, 0, sizeof(*h));
	if (cm_layout_compute(&lp, ~0ull, &h->l))
		die("layout");
	h->base = aligned_alloc(CHAINMESH_PAGE_SIZE,
				cm_align(h->l.size, CHAINMESH_PAGE_SIZE));
	chains = calloc(CHAINMESH_MAX_CHAINS, sizeof(*chains));
	flows = calloc(nflows, sizeof(*flows));
	t = malloc(sizeof(*t));
	h->ft = malloc(sizeof(*h->ft));
	if (!h->base || !chains || !flows || !t || !h->ft)
		die("out of memory");
	memset(h->base, 0, h->l.size);

	/* node 0's buffers all hold the frame */
	for (i = 0; i < lp.bufs_per_node; i++)
		mkframe((u8 *)h->base + cm_buf_addr(&h->l, 0, i) +
			CHAINMESH_HEADROOM);

	/* chain 1: 0 -> 1 -> 2; host compiles and publishes, node snapshots */
	chains[CHAIN].used = 1;
	chains[CHAIN].nhops = 3;
	chains[CHAIN].hops[0] = 0;
	chains[CHAIN].hops[1] = SELF;
	chains[CHAIN].hops[2] = NEXT;
	mkflows(flows, nflows);
	if (cm_ftable_compile(flows, nflows, chains, SELF, lp.max_flows, t) !=
	    (int)nflows)
		die("compile");
	cm_ftable_publish(cm_ftable(h->base, &h->l, SELF), t);
	if (cm_ftable_snapshot(cm_ftable(h->base, &h->l, SELF), &h->l, SELF,
			       h->ft) || h->ft->nflows != nflows)
		die("snapshot");
	free(t);
	free(flows);
	free(chains);

	h->fstats = cm_flow_stats(h->base, &h->l, SELF);
	cm_ring_cons_init(&h->in, cm_data_ring(h->base, &h->l, 0, SELF),
			  lp.ring_slots);
	cm_ring_prod_init(&h->out, cm_data_ring(h->base, &h->l, SELF, NEXT),
			  lp.ring_slots);
	cm_ring_prod_init(&h->feed, cm_data_ring(h->base, &h->l, 0, SELF),
			  lp.ring_slots);
	cm_ring_cons_init(&h->drain, cm_data_ring(h->base, &h->l, SELF, NEXT),
			  lp.ring_slots);
	cm_ring_want_kick(&h->drain);	/* node 2 starts idle */
}

static void hop_fini(struct hop *h)
{
	free(h->ft);
	free(h->base);
}

/* Node 0: @n descriptors without chain context. */
static void feed(struct hop *h, u32 n)
{
	struct cm_desc d = {
		.data_off = CHAINMESH_HEADROOM, .len = FRAME_LEN,
	};
	u32 i;

	if (cm_ring_prod_space(&h->feed) < (int)n)
		die("feed: ring full");
	for (i = 0; i < n; i++) {
		d.addr = cm_buf_addr(&h->l, 0, h->next_buf);
		h->next_buf = (h->next_buf + 1) % h->l.p.bufs_per_node;
		cm_ring_push_desc(&h->feed, &d);
	}
	cm_ring_publish(&h->feed);
}

/* Node 2: take everything, then go idle and ask for a kick. */
static void drain(struct hop *h)
{
	struct cm_desc d;
	int n;

	cm_ring_no_kick(&h->drain);
	while ((n = cm_ring_cons_avail(&h->drain)) > 0) {
		while (n--) {
			cm_ring_pop_desc(&h->drain, &d);
			if (d.hop != 2 || d.chain != CHAIN)
				die("drain: bad context");
		}
		cm_ring_release(&h->drain);
	}
	if (n < 0 || cm_ring_want_kick(&h->drain))
		die("drain: ring");
}

/* The hop: one NAPI-style burst of at most @budget packets. */
__attribute__((noinline))
u32 cm_bench_hop_burst(struct hop *h, u32 budget)
{
	const struct cm_layout *l = &h->l;
	int avail, space;
	u32 i, done = 0;

	avail = cm_ring_cons_avail(&h->in);
	if (avail <= 0)
		return 0;
	if ((u32)avail > budget)
		avail = (int)budget;
	space = cm_ring_prod_space(&h->out);
	if (space < 0)
		space = 0;

	cm_ring_pop_descs(&h->in, h->burst, (u32)avail);
	for (i = 0; i < (u32)avail; i++) {
		const struct chainmesh_flow *f;
		const struct chainmesh_fhop *fh;
		struct chainmesh_flow_stats *fs;
		struct cm_desc *d = &h->burst[i];
		struct cm_flow_key k;
		u32 owner, idx, chain;

		if (cm_desc_check(l, d, &owner, &idx) != CM_BAD_NONE)
			goto drop;
		cm_flow_parse((const u8 *)h->base + d->addr + d->data_off, d->len,
			      &k);
		f = cm_flow_lookup(h->ft, &k);
		if (!f)
			goto drop;
		chain = le16_to_cpu(f->chain);
		fh = &h->ft->hops[chain];
		if (fh->next == CHAINMESH_NODE_NONE || done == (u32)space)
			goto drop;
		fs = &h->fstats[le32_to_cpu(f->flow_id)];
		WRITE_ONCE(fs->packets, cpu_to_le64(le64_to_cpu(fs->packets) + 1));
		WRITE_ONCE(fs->bytes, cpu_to_le64(le64_to_cpu(fs->bytes) + d->len));
		d->chain = (u16)chain;
		d->hop = fh->hop + 1;
		d->flags = CHAINMESH_D_CTX;
		h->burst[done++] = *d;	/* for fh->next's ring: 1 -> 2 */
		continue;
drop:
		h->drops++;	/* and the buffer goes home: not modelled */
	}
	cm_ring_push_descs(&h->out, h->burst, done);
	if (cm_ring_publish(&h->out))
		h->kicks++;	/* doorbell write to fh->next */
	cm_ring_release(&h->in);
	h->forwarded += done;
	return (u32)avail;
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

	h->forwarded = h->drops = h->kicks = 0;
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
	}
	if (h->forwarded != packets || h->drops || h->kicks != packets / burst)
		die("hop: packets lost or kicks missing");
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
	struct cm_ftable *t = malloc(sizeof(*t));
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
	if (cm_ftable_compile(flows, n, chains, SELF, CHAINMESH_MAX_FLOWS, t) !=
	    (int)n || t->ix.owner != t || t->ix.ngroups + t->ix.nlinear == 0)
		die("lookup: compile");
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
		"usage: hop_bench [-o CSV] [-r RUNS] [-b BURST]\n"
		"       hop_bench -C hop|lookup|scan -f FLOWS -n PACKETS [-b BURST] [-m MASKS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const u32 hop_flows[] = { 1, CHAINMESH_MAX_FLOWS };
	const char *csv = NULL, *mode = NULL;
	double v[MAX_RUNS], tick, med;
	static const u32 lookup_rows[][2] = {	/* flows, masks */
		{ 1, 1 }, { CHAINMESH_MAX_FLOWS, 1 }, { CHAINMESH_MAX_FLOWS, 4 },
		{ CHAINMESH_MAX_FLOWS, 16 }, { CHAINMESH_MAX_FLOWS, 64 },
	};
	u32 burst = 32, flows = 0, masks = 1, i;
	u64 packets = 0;
	int runs = 5, opt, r;
	FILE *f = NULL;
	struct hop h;

	while ((opt = getopt(argc, argv, "o:r:b:C:f:n:m:h")) != -1) {
		switch (opt) {
		case 'm':
			masks = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			csv = optarg;
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
		default:
			usage();
		}
	}
	if (burst < 1 || burst > MAX_BURST || runs < 1 || runs > MAX_RUNS)
		usage();

	if (mode) {		/* fixed work, for callgrind */
		if (!flows || !packets)
			usage();
		if (!strcmp(mode, "hop")) {
			if (flows > CHAINMESH_MAX_FLOWS || packets % burst)
				usage();
			hop_init(&h, flows);
			run_hop(&h, packets, burst, false, 0);
			hop_fini(&h);
		} else if (!strcmp(mode, "lookup")) {
			struct cm_ftable *t;

			if (flows > CHAINMESH_MAX_FLOWS || !masks || masks > 64)
				usage();
			t = lookup_table(flows, masks);
			run_lookup(t, packets, false, 0);
			free(t);
		} else if (!strcmp(mode, "scan")) {
			struct chainmesh_flow *t = scan_table(flows);

			run_scan(t, flows, packets, false, 0);
			free(t);
		} else {
			usage();
		}
		printf("%s flows %u burst %u packets %llu\n", mode, flows,
		       burst, (unsigned long long)packets);
		return 0;
	}

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

	for (i = 0; i < sizeof(hop_flows) / sizeof(hop_flows[0]); i++) {
		packets = (1ull << 20) / burst * burst;	/* hashed: flat cost */
		hop_init(&h, hop_flows[i]);
		run_hop(&h, packets, burst, false, 0);	/* warm up */
		for (r = 0; r < runs; r++)
			v[r] = run_hop(&h, packets, burst, true, tick) / packets;
		hop_fini(&h);
		/* median() sorts: v[0] is then the best */
		printf("%-5s %7u %6u %9llu %11.1f", "hop", hop_flows[i], burst,
		       (unsigned long long)packets, median(v, runs));
		printf(" %9.1f\n", v[0]);
		if (f)
			fprintf(f, "hop,%u,%u,%llu,%d,%.2f,%.2f\n", hop_flows[i],
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
		free(t);
	}
	for (i = 0; i < NSCAN; i++) {
		struct chainmesh_flow *t = scan_table(scan_flows[i]);

		packets = packets_for(scan_flows[i], 1) / 4;
		if (scan_flows[i] > CHAINMESH_MAX_FLOWS)
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
	return 0;
}
