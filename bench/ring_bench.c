// SPDX-License-Identifier: GPL-2.0
/*
 * ring_bench: chainmesh's SPSC data ring against DPDK's rte_ring (SP/SC,
 * 16-byte elements), in the same program and run.
 *
 * Both rings move the same number of 16-byte items from a producer thread
 * to a consumer thread pinned to two different CPUs. For a batch size B
 * the producer publishes B items at a time (ours: push B, with
 * cm_ring_push_descs() when B > 1, one cm_ring_publish(), kick decision
 * included; DPDK: one bulk enqueue of B) and the consumer takes up to B
 * items at a time (ours: cm_ring_cons_avail, pops, with cm_ring_pop_descs()
 * when B > 1, one cm_ring_release; DPDK: one burst dequeue of up to B). The
 * items are generated and checked the same way on both sides; the
 * consumer sums them so a lost or torn item fails the run.
 *
 * Our ring is a data ring of a region laid out with cm_layout_compute();
 * DPDK's lives in aligned_alloc() memory set up with rte_ring_init(), which
 * needs no EAL.
 *
 *   ring_bench [-o CSV] [-n ITEMS] [-r RUNS] [-s SLOTS] [-c CPU,CPU] [-b BATCH]
 *
 * Prints a table; with -o, writes one CSV line per batch size with the
 * medians over RUNS runs: batch,items,runs,slots,cm_mitems_s,cm_ns_item,
 * dpdk_mitems_s,dpdk_ns_item,ratio (ours / DPDK throughput),
 * nobusy_mitems_s,nobusy_ns_item (the diagnostic below),ratio_min,ratio_max
 * (the spread of the per-run ratios: each run times the three rings one
 * after the other). -b BATCH runs one batch size only.
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

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <chainmesh/layout.h>
#include <chainmesh/ring.h>

#include "median.h"

#define MAX_BATCH	256
#define MAX_RUNS	64

static const unsigned int batches[] = { 1, 8, 32, 256 };
#define NBATCH		(sizeof(batches) / sizeof(batches[0]))

/*
 * Our consumer busy polls and says so (cm_ring_busy_poll(), ring.h [K3],
 * as a libchainmesh node with CML_F_BUSY_POLL does): the producer's kick
 * decision is one load. IMPL_CM_NOBUSY is the diagnostic of before: the
 * consumer polls without saying so (cm_ring_no_kick(), as NAPI polls), and
 * every publish pays [K1]'s full barrier.
 */
enum impl { IMPL_CM, IMPL_DPDK, IMPL_CM_NOBUSY, NIMPL };
static const char *const impl_name[NIMPL] = {
	"chainmesh", "dpdk", "chainmesh-nobusy"
};

/* The DPDK element is a struct cm_desc too: 16 bytes on both sides. */

_Static_assert(sizeof(struct cm_desc) == 16, "16-byte descriptor");
_Static_assert(sizeof(struct chainmesh_desc) == 16, "16-byte slot");

struct bench {
	enum impl impl;
	unsigned int batch;
	u64 items;
	int cpu[2];

	/* ours */
	void *ring;
	u32 slots;
	/* DPDK */
	struct rte_ring *r;

	/* start flag and results, each on its own line */
	int go __attribute__((aligned(64)));
	struct timespec t0 __attribute__((aligned(64)));
	struct timespec t1 __attribute__((aligned(64)));
	u64 sum;
	u64 kicks;
	int err;
};

static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static void pin(int cpu)
{
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err) {
		fprintf(stderr, "ring_bench: cannot pin to CPU %d: %s\n", cpu,
			strerror(err));
		exit(1);
	}
}

static void wait_go(struct bench *b)
{
	while (!__atomic_load_n(&b->go, __ATOMIC_ACQUIRE))
		relax();
}

/* Item @seq: the consumer checks its sum. */
static inline void mkitem(u64 seq, struct cm_desc *it)
{
	it->addr = seq;
	it->data_off = CHAINMESH_HEADROOM;
	it->len = 64;
	it->chain = 1;
	it->hop = 1;
	it->flags = CHAINMESH_D_CTX;
}

static void *cm_producer(void *arg)
{
	struct bench *b = arg;
	struct cm_desc it[MAX_BATCH];
	struct cm_ring_prod p;
	u64 seq = 0, kicks = 0;
	unsigned int i, done;

	pin(b->cpu[0]);
	cm_ring_prod_init(&p, b->ring, b->slots);
	wait_go(b);
	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	while (seq < b->items) {
		for (i = 0; i < b->batch; i++)
			mkitem(seq + i, &it[i]);
		for (done = 0; done < b->batch; ) {
			int space = cm_ring_prod_space(&p);

			if (space <= 0) {
				if (space < 0) {
					b->err = space;
					return NULL;
				}
				relax();
				continue;
			}
			if ((unsigned int)space > b->batch - done)
				space = b->batch - done;
			if (b->batch > 1)
				cm_ring_push_descs(&p, &it[done], space);
			else
				cm_ring_push_desc(&p, &it[done]);
			done += space;
		}
		kicks += cm_ring_publish(&p);
		seq += b->batch;
	}
	b->kicks = kicks;
	return NULL;
}

static void *cm_consumer(void *arg)
{
	struct bench *b = arg;
	struct cm_desc it[MAX_BATCH];
	struct cm_ring_cons c;
	u64 got = 0, sum = 0;
	int i, n;

	pin(b->cpu[1]);
	cm_ring_cons_init(&c, b->ring, b->slots);
	if (b->impl == IMPL_CM_NOBUSY)
		cm_ring_no_kick(&c);	/* polling, not saying so */
	else
		cm_ring_busy_poll(&c);
	wait_go(b);
	while (got < b->items) {
		n = cm_ring_cons_avail(&c);
		if (n <= 0) {
			if (n < 0) {
				b->err = n;
				return NULL;
			}
			relax();
			continue;
		}
		if ((unsigned int)n > b->batch)
			n = b->batch;
		if (b->batch > 1)
			cm_ring_pop_descs(&c, it, n);
		else
			cm_ring_pop_desc(&c, &it[0]);
		cm_ring_release(&c);
		for (i = 0; i < n; i++)
			sum += it[i].addr + it[i].data_off + it[i].len +
			       it[i].chain + it[i].hop + it[i].flags;
		got += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &b->t1);
	b->sum = sum;
	return NULL;
}

static void *dpdk_producer(void *arg)
{
	struct bench *b = arg;
	struct cm_desc it[MAX_BATCH];
	u64 seq = 0;
	unsigned int i;

	pin(b->cpu[0]);
	wait_go(b);
	clock_gettime(CLOCK_MONOTONIC, &b->t0);
	while (seq < b->items) {
		for (i = 0; i < b->batch; i++)
			mkitem(seq + i, &it[i]);
		while (!rte_ring_sp_enqueue_bulk_elem(b->r, it, sizeof(it[0]),
						      b->batch, NULL))
			relax();
		seq += b->batch;
	}
	return NULL;
}

static void *dpdk_consumer(void *arg)
{
	struct bench *b = arg;
	struct cm_desc it[MAX_BATCH];
	u64 got = 0, sum = 0;
	unsigned int i, n;

	pin(b->cpu[1]);
	wait_go(b);
	while (got < b->items) {
		n = rte_ring_sc_dequeue_burst_elem(b->r, it, sizeof(it[0]),
						   b->batch, NULL);
		if (!n) {
			relax();
			continue;
		}
		for (i = 0; i < n; i++)
			sum += it[i].addr + it[i].data_off + it[i].len +
			       it[i].chain + it[i].hop + it[i].flags;
		got += n;
	}
	clock_gettime(CLOCK_MONOTONIC, &b->t1);
	b->sum = sum;
	return NULL;
}

/* One run; returns seconds, or a negative value on error. */
static double run_one(struct bench *b)
{
	bool dpdk = b->impl == IMPL_DPDK;
	void *(*prod)(void *) = dpdk ? dpdk_producer : cm_producer;
	void *(*cons)(void *) = dpdk ? dpdk_consumer : cm_consumer;
	pthread_t tp, tc;
	struct cm_desc t;
	u64 want;

	mkitem(0, &t);
	want = b->items * (b->items - 1) / 2 +
	       b->items * (t.data_off + t.len + t.chain + t.hop + t.flags);

	if (dpdk)
		rte_ring_reset(b->r);
	else
		cm_ring_reset(b->ring);
	b->go = 0;
	b->sum = 0;
	b->kicks = 0;
	b->err = 0;
	if (pthread_create(&tc, NULL, cons, b) ||
	    pthread_create(&tp, NULL, prod, b)) {
		fprintf(stderr, "ring_bench: pthread_create failed\n");
		exit(1);
	}
	usleep(10000);		/* both pinned and waiting */
	__atomic_store_n(&b->go, 1, __ATOMIC_RELEASE);
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);
	if (b->err) {
		fprintf(stderr, "ring_bench: %s: ring error %d\n",
			impl_name[b->impl], b->err);
		return -1;
	}
	if (b->sum != want) {
		fprintf(stderr, "ring_bench: %s batch %u: bad checksum\n",
			impl_name[b->impl], b->batch);
		return -1;
	}
	if (b->kicks) {
		fprintf(stderr, "ring_bench: %s: %llu kicks while polling\n",
			impl_name[b->impl], (unsigned long long)b->kicks);
		return -1;
	}
	return (b->t1.tv_sec - b->t0.tv_sec) +
	       (b->t1.tv_nsec - b->t0.tv_nsec) * 1e-9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ring_bench [-o CSV] [-n ITEMS] [-r RUNS] [-s SLOTS] [-c CPU,CPU] [-b BATCH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct cm_layout_params lp = {
		.nodes = 2, .ring_slots = 1024, .buf_size = 2048,
		.bufs_per_node = 64, .max_flows = 1,
	};
	double secs[NIMPL][MAX_RUNS], med[NIMPL][NBATCH], best[NIMPL][NBATCH];
	double ratio[MAX_RUNS], rmed[NBATCH], rmin[NBATCH], rmax[NBATCH];
	unsigned long long items = 1ull << 24;
	const char *csv = NULL;
	struct cm_layout l;
	struct bench *b;
	void *region, *rmem;
	unsigned int k;
	int runs = 5, cpu0 = 0, cpu1 = 1, opt, i, j;
	unsigned int only = 0;
	ssize_t rsz;
	FILE *f;

	while ((opt = getopt(argc, argv, "o:n:r:s:c:b:h")) != -1) {
		switch (opt) {
		case 'b':
			only = strtoul(optarg, NULL, 0);
			break;
		case 'o':
			csv = optarg;
			break;
		case 'n':
			items = strtoull(optarg, NULL, 0);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 's':
			lp.ring_slots = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &cpu0, &cpu1) != 2)
				usage();
			break;
		default:
			usage();
		}
	}
	if (runs < 1 || runs > MAX_RUNS || items < MAX_BATCH ||
	    items % MAX_BATCH || lp.ring_slots <= MAX_BATCH || cpu0 == cpu1) {
		fprintf(stderr, "ring_bench: need 1 <= RUNS <= %d, ITEMS a multiple of %d, SLOTS > %d, two CPUs\n",
			MAX_RUNS, MAX_BATCH, MAX_BATCH);
		return 2;
	}
	if (cm_layout_compute(&lp, ~0ull, &l)) {
		fprintf(stderr, "ring_bench: bad ring size %u\n", lp.ring_slots);
		return 2;
	}

	/* A region as the host lays it out; ring 0 -> 1. */
	region = aligned_alloc(CHAINMESH_PAGE_SIZE,
			       cm_align(l.size, CHAINMESH_PAGE_SIZE));
	/* DPDK's ring: same slot count (capacity one less), own memory. */
	rsz = rte_ring_get_memsize_elem(sizeof(struct cm_desc), lp.ring_slots);
	rmem = rsz > 0 ? aligned_alloc(CHAINMESH_PAGE_SIZE,
				       cm_align(rsz, CHAINMESH_PAGE_SIZE)) : NULL;
	b = aligned_alloc(64, cm_align(sizeof(*b), 64));
	if (!region || !rmem || !b) {
		fprintf(stderr, "ring_bench: out of memory\n");
		return 1;
	}
	memset(region, 0, l.size);
	memset(rmem, 0, rsz);
	memset(b, 0, sizeof(*b));
	b->r = rmem;
	if (rte_ring_init(b->r, "cm_bench", lp.ring_slots,
			  RING_F_SP_ENQ | RING_F_SC_DEQ)) {
		fprintf(stderr, "ring_bench: rte_ring_init failed\n");
		return 1;
	}
	b->ring = cm_data_ring(region, &l, 0, 1);
	b->slots = lp.ring_slots;
	b->items = items;
	b->cpu[0] = cpu0;
	b->cpu[1] = cpu1;

	printf("# %llu items of 16 bytes, %u slots, CPUs %d -> %d, median of %d runs\n",
	       items, lp.ring_slots, cpu0, cpu1, runs);
	printf("%6s %14s %12s %14s %12s %7s %7s %7s %7s %12s\n", "batch",
	       "cm Mitems/s", "cm ns/item", "dpdk Mitems/s", "dpdk ns/item",
	       "ratio", "min", "max", "best", "nobusy ns");
	for (k = 0; k < NBATCH; k++) {
		if (only && batches[k] != only)
			continue;
		b->batch = batches[k];
		for (i = 0; i < runs; i++) {
			/* alternate who goes first, against drift */
			for (j = 0; j < NIMPL; j++) {
				b->impl = (enum impl)((i + j) % NIMPL);
				secs[b->impl][i] = run_one(b);
				if (secs[b->impl][i] < 0)
					return 1;
			}
		}
		/* ours / DPDK's throughput, run by run, before the sorts */
		for (i = 0; i < runs; i++)
			ratio[i] = secs[IMPL_DPDK][i] / secs[IMPL_CM][i];
		rmed[k] = median(ratio, runs);
		rmin[k] = ratio[0];
		rmax[k] = ratio[runs - 1];
		for (j = 0; j < NIMPL; j++) {
			med[j][k] = median(secs[j], runs);
			best[j][k] = secs[j][0];	/* sorted */
		}
		printf("%6u %14.2f %12.2f %14.2f %12.2f %7.2f %7.2f %7.2f %7.2f %12.2f\n",
		       batches[k], items / med[IMPL_CM][k] / 1e6,
		       med[IMPL_CM][k] * 1e9 / items,
		       items / med[IMPL_DPDK][k] / 1e6,
		       med[IMPL_DPDK][k] * 1e9 / items,
		       rmed[k], rmin[k], rmax[k],
		       best[IMPL_DPDK][k] / best[IMPL_CM][k],
		       med[IMPL_CM_NOBUSY][k] * 1e9 / items);
		fflush(stdout);
	}

	if (csv) {
		f = fopen(csv, "w");
		if (!f) {
			fprintf(stderr, "ring_bench: %s: %s\n", csv, strerror(errno));
			return 1;
		}
		fprintf(f, "batch,items,runs,slots,cm_mitems_s,cm_ns_item,dpdk_mitems_s,dpdk_ns_item,ratio,nobusy_mitems_s,nobusy_ns_item,ratio_min,ratio_max\n");
		for (k = 0; k < NBATCH; k++) {
			if (only && batches[k] != only)
				continue;
			fprintf(f, "%u,%llu,%d,%u,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n",
				batches[k], items, runs, lp.ring_slots,
				items / med[IMPL_CM][k] / 1e6,
				med[IMPL_CM][k] * 1e9 / items,
				items / med[IMPL_DPDK][k] / 1e6,
				med[IMPL_DPDK][k] * 1e9 / items,
				rmed[k],
				items / med[IMPL_CM_NOBUSY][k] / 1e6,
				med[IMPL_CM_NOBUSY][k] * 1e9 / items,
				rmin[k], rmax[k]);
		}
		if (fclose(f)) {
			fprintf(stderr, "ring_bench: %s: %s\n", csv, strerror(errno));
			return 1;
		}
	}
	free(b);
	free(rmem);
	free(region);
	return 0;
}
