// SPDX-License-Identifier: GPL-2.0
/*
 * flowlog_bench - a node's flow table under single-flow changes: the flow
 * log (include/chainmesh/flowlog.h: increments applied to the table and
 * its index) against today's whole-table model (the host republishes the
 * table, the node snapshots and re-indexes it), in the same run, with the
 * same shared code the nodes run, in userspace.
 *
 * Per table size (-n, default 1000,10000,100000 flows):
 *
 *  - keep-up: the node's cost per change, one change at a time, and the
 *    changes per second that makes (log: fetch + validate + apply a round
 *    of increments; whole: snapshot = copy + validate + index);
 *  - traffic: the host makes changes at 0, 1 000 and 10 000 a second of
 *    the node's time (a delete of one flow and an add of another,
 *    alternately); the node looks flows up, 64 lookups between two polls
 *    of its table (cm_flog_sync(), or a snapshot when the seq moved,
 *    inline as libchainmesh takes it). Reported: lookups per second of
 *    the thread's CPU time (and their ratio to the rate without changes),
 *    the changes the node saw per second of it, and the staleness: from the host's change to the end of
 *    the node's poll that made it visible (the next lookup sees it),
 *    median, 99th percentile and maximum; and the share of the node's
 *    time spent in its polls (what changes take from lookups, robust to
 *    a busy machine where lookups/s are not). The whole-table host coalesces:
 *    it applies every change due, then publishes once (its best case).
 *    Both sides run in one thread, in turns (see traffic()). The rates
 *    and models take turns within each run, and a rate's lookup ratio is
 *    the median over runs of its rate against the no-change rate of the
 *    same run: the machine's speed drifts by tens of percent over seconds
 *    (other tenants, frequency), which compared medians taken a minute
 *    apart would report as the changes' cost. The thread asks for
 *    SCHED_FIFO (bench_rt()), so that the host's schedule, which follows
 *    the clock, puts the nominal rate on the node.
 *
 * The lookups use keys of flows that no change touches (half the table);
 * every one is checked to find its flow.
 *
 * Output: CSV on stdout (-o FILE to write it there), one line per model,
 * size and rate.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <chainmesh/flow.h>
#include <chainmesh/flowlog.h>
#include <chainmesh/layout.h>

#include "bench.h"

#define SELF		1
#define CHAIN		1
#define POLL_LOOKUPS	64
#define NSTAMPS		(1u << 20)	/* change times, by log position */
#define MAX_LAT		(1u << 20)	/* staleness samples, per rate and model */
#define NRATES		3

enum { M_LOG, M_WHOLE, NMODELS };
static const char *const model_names[] = { "log", "whole" };
static const double rates[NRATES] = { 0, 1000, 10000 };	/* changes/s */

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* This thread's CPU time: what the node had, whoever else ran on its CPU. */
static double cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "flowlog_bench: %s\n", what);
	exit(1);
}

static u64 xs(u64 *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/* Flow @id: UDP 10.x.y.z:1000+ -> 192.168.0.1:53 exact (most), or one of
 * three wildcard shapes (one flow in 16). */
static void mkflow(struct chainmesh_flow *f, u32 id, u64 salt)
{
	u32 shape = (id * 2654435761u + (u32)salt) >> 28;

	memset(f, 0, sizeof(*f));
	f->flow_id = cpu_to_le32(id);
	f->chain = cpu_to_le16(CHAIN);
	f->priority = cpu_to_le16((u16)(id % 7));
	f->family = 4;
	f->ip_proto = 17;
	f->src[0] = htonl(0x0a000000 | (id ^ (u32)(salt << 20)));
	f->dst[0] = htonl(0xc0a80001);
	cm_prefix_mask(32, f->src_mask);
	cm_prefix_mask(32, f->dst_mask);
	f->dport = htons(53);
	f->dport_mask = htons(0xffff);
	f->sport = htons((u16)(1000 + (id & 1023)));
	f->sport_mask = htons(0xffff);
	if (shape == 1) {		/* any source port */
		f->sport = 0;
		f->sport_mask = 0;
	} else if (shape == 2) {	/* a /24 of sources */
		cm_prefix_mask(24, f->src_mask);
		f->src[0] &= f->src_mask[0];
	} else if (shape == 3) {	/* no port at all */
		f->sport = f->dport = f->sport_mask = f->dport_mask = 0;
	}
}

static void key_of(const struct chainmesh_flow *f, struct cm_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	k->proto = 17;
	k->src[0] = f->src[0];
	k->dst[0] = f->dst[0];
	k->sport = f->sport_mask ? f->sport : htons(7);
	k->dport = f->dport_mask ? f->dport : htons(53);
}

/* One table size: the region, the host's table and the node's. */
struct fb {
	u32 n, maxf;
	struct cm_layout l;
	void *base, *ft;
	struct chainmesh_flog_hdr *log;
	struct cm_chain chains[CHAINMESH_MAX_CHAINS];
	struct cm_ftable *host, *cur, *spare;
	struct cm_flog_host w;
	struct cm_flog_node nr;
	struct cm_flow_key *keys;	/* of the flows no change touches */
	u32 *want;			/* their ids */
	u32 nkeys;
	u8 *present;			/* by id, the host's view */
	u64 r;
	/* traffic */
	int model;
	double rate;
	u64 changes;
	double *stamp;			/* [NSTAMPS] time of change, by pos */
	u32 *chg_at;			/* [NSTAMPS] whole: changes in seq / 2 */
	u32 rix;			/* rates[] index of this traffic run */
	double *lat[NRATES][NMODELS];	/* staleness samples */
	u64 nlat[NRATES][NMODELS];
};

static void fb_init(struct fb *b, u32 n)
{
	struct cm_layout_params lp = {
		.nodes = 3, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 1,
	};
	struct chainmesh_flow *flows;
	u32 i, r;
	int m;

	memset(b, 0, sizeof(*b));
	b->n = n;
	b->maxf = cm_pow2_ceil(2 * n) < CHAINMESH_MAX_FLOWS ?
		  cm_pow2_ceil(2 * n) : CHAINMESH_MAX_FLOWS;
	lp.max_flows = b->maxf;
	if (cm_layout_compute(&lp, ~0ull, &b->l))
		die("layout");
	b->base = calloc(1, b->l.size);
	b->host = cm_ftable_alloc(b->maxf);
	b->cur = cm_ftable_alloc(b->maxf);
	b->spare = cm_ftable_alloc(b->maxf);
	b->nr.buf = calloc(b->l.flog_slots, sizeof(*b->nr.buf));
	flows = calloc(n, sizeof(*flows));
	b->present = calloc(b->maxf, 1);
	b->keys = calloc(n, sizeof(*b->keys));
	b->want = calloc(n, sizeof(*b->want));
	b->stamp = calloc(NSTAMPS, sizeof(*b->stamp));
	b->chg_at = calloc(NSTAMPS, sizeof(*b->chg_at));
	for (r = 0; r < NRATES; r++)
		for (m = 0; m < NMODELS; m++)
			if (!(b->lat[r][m] = calloc(MAX_LAT, sizeof(double))))
				die("out of memory");
	if (!b->base || !b->host || !b->cur || !b->spare || !b->nr.buf ||
	    !flows || !b->present || !b->keys || !b->want || !b->stamp ||
	    !b->chg_at)
		die("out of memory");
	b->nr.max = 256;
	b->r = 0x9e3779b97f4a7c15ull ^ n;
	b->ft = cm_ftable(b->base, &b->l, SELF);
	b->log = cm_flog(b->base, &b->l, SELF);
	b->chains[CHAIN].used = 1;
	b->chains[CHAIN].nhops = 3;
	b->chains[CHAIN].hops[1] = SELF;
	b->chains[CHAIN].hops[2] = 2;
	for (i = 0; i < n; i++) {
		mkflow(&flows[i], i, 0);
		b->present[i] = 1;
	}
	if (cm_ftable_compile(flows, n, b->chains, SELF, b->maxf, b->host) != (int)n)
		die("compile");
	cm_ftable_index(b->host);
	if (!b->host->byid_ok)
		die("byid");
	/* lookups: the lower half of the ids, exact flows, never changed */
	for (i = 0; i < n / 2; i++) {
		if (flows[i].sport_mask != htons(0xffff) ||
		    flows[i].src_mask[0] != htonl(0xffffffff))
			continue;
		key_of(&flows[i], &b->keys[b->nkeys]);
		b->want[b->nkeys++] = i;
	}
	free(flows);
	cm_flog_host_init(&b->w, b->log, b->l.flog_slots);
	cm_flog_host_reset(&b->w, b->ft, b->host);
	if (cm_flog_sync(b->ft, b->log, &b->l, SELF, &b->cur, &b->spare, &b->nr) < 0)
		die("first sync");
}

static void fb_fini(struct fb *b)
{
	u32 r;
	int m;

	for (r = 0; r < NRATES; r++)
		for (m = 0; m < NMODELS; m++)
			free(b->lat[r][m]);
	free(b->chg_at);
	free(b->stamp);
	free(b->want);
	free(b->keys);
	free(b->present);
	free(b->nr.buf);
	cm_ftable_free(b->spare);
	cm_ftable_free(b->cur);
	cm_ftable_free(b->host);
	free(b->base);
}

/* The next change: delete a changeable flow, or add one back. */
static void next_op(struct fb *b, struct cm_flog_op *op)
{
	u32 lo = b->n / 2, id;

	for (;;) {
		id = lo + (u32)(xs(&b->r) % (b->maxf - lo));
		if (b->changes & 1 ? !b->present[id] : b->present[id])
			break;
	}
	memset(op, 0, sizeof(*op));
	if (b->present[id]) {
		op->op = CHAINMESH_FLOG_DELETE;
		op->flow.flow_id = cpu_to_le32(id);
	} else {
		op->op = CHAINMESH_FLOG_ADD;
		mkflow(&op->flow, id, b->changes);
	}
	b->present[id] = !b->present[id];
}

/* The whole-table host: a change into its table, then (@done) the table
 * in table order again, as its compiler leaves it (host time, not the
 * node's: the node's snapshot of a sorted table is its fastest). */
static void whole_apply(struct fb *b, const struct cm_flog_op *op, int done)
{
	if (op)
		cm_flog_apply_one(b->host, op);
	if (done) {
		cm_ftable_sort(b->host, b->host->nflows);
		b->host->sorted = true;
		cm_ftable_byid(b->host);
	}
}

/* ---- keep-up: the node's cost per change ---- */

static void swap_cur(struct fb *b)
{
	struct cm_ftable *t = b->cur;

	b->cur = b->spare;
	b->spare = t;
}

/* Medians over rounds: a round preempted on a busy machine does not
 * count more than any other. */
static void keep_up(struct fb *b, double *log_ns, double *whole_ns,
		    double *publish_ns)
{
	u32 per = b->l.flog_slots / 2, i, k, rounds;
	static double vl[2000], vw[200], vp[200];
	struct cm_flog_op op;
	double t0, spent = 0;
	int got;

	/* log: fill half the log, the node applies it (rounds of nr.max) */
	for (rounds = 0; rounds < 2000 && (rounds < 5 || spent < 2e8); rounds++) {
		for (i = 0; i < per; i++) {
			next_op(b, &op);
			b->changes++;
			cm_flog_host_batch(&b->w, b->log, b->ft, b->host, &op, 1);
		}
		t0 = now_ns();
		do {
			got = cm_flog_sync(b->ft, b->log, &b->l, SELF, &b->cur,
					   &b->spare, &b->nr);
			if (got < 0)
				die("keep-up: sync");
		} while (got);
		vl[rounds] = (now_ns() - t0) / per;
		spent += vl[rounds] * per;
	}
	if (b->cur->log_pos != b->w.head || b->cur->nflows != b->host->nflows)
		die("keep-up: the node's table is not the host's");
	*log_ns = median(vl, rounds);

	/* whole: one change, published, snapshotted and indexed (the first
	 * two untimed: both tables' pages touched once) */
	spent = 0;
	for (i = 0, k = 0; k < 200 && (k < 5 || spent < 5e8); i++) {
		double tp;

		next_op(b, &op);
		b->changes++;
		whole_apply(b, &op, 1);
		t0 = now_ns();
		cm_ftable_publish(b->ft, b->host);
		tp = now_ns() - t0;
		t0 = now_ns();
		if (cm_ftable_snapshot(b->ft, &b->l, SELF, b->spare))
			die("keep-up: snapshot");
		if (i >= 2) {
			vw[k] = now_ns() - t0;
			vp[k] = tp;
			spent += vw[k] + tp;
			k++;
		}
		swap_cur(b);
	}
	*whole_ns = median(vw, k);
	*publish_ns = median(vp, k);
}

/* ---- traffic ---- */

/* The host's side of the traffic: every change due by now. Return: the
 * time it took (the host runs on a CPU of its own in a mesh). */
static double host_changes(struct fb *b, double t0, u64 *k)
{
	double start = now_ns();
	u64 todo = (u64)((start - t0) * b->rate / 1e9);
	struct cm_flog_op op;
	bool any = false;

	while (*k < todo) {
		double t = now_ns();

		next_op(b, &op);
		if (b->model == M_LOG) {
			b->stamp[b->w.head & (NSTAMPS - 1)] = t;
			cm_flog_host_batch(&b->w, b->log, b->ft, b->host, &op, 1);
		} else {
			b->stamp[b->changes & (NSTAMPS - 1)] = t;
			whole_apply(b, &op, 0);
		}
		b->changes++;
		(*k)++;
		any = true;
	}
	if (any && b->model == M_WHOLE) {
		u32 seq = le32_to_cpu(cm_ftable_hdr(b->ft)->seq);

		whole_apply(b, NULL, 1);

		/* what the seq after this publish holds */
		b->chg_at[((seq + 2) / 2) & (NSTAMPS - 1)] = (u32)b->changes;
		cm_ftable_publish(b->ft, b->host);
	}
	return now_ns() - start;
}

static void add_lat(struct fb *b, double ns)
{
	u64 *n = &b->nlat[b->rix][b->model];

	if (*n < MAX_LAT)
		b->lat[b->rix][b->model][(*n)++] = ns;
}

struct traffic_res {
	double lookups_per_s, changes_per_s;
	double poll_share;		/* of the node's time, in its polls */
	u64 checkpoints;
};

/*
 * One thread plays both sides, in turns: POLL_LOOKUPS lookups, the host's
 * changes due by then (timed apart: the host has a CPU of its own), the
 * node's poll. So the node's rate is its own work only, and a loaded
 * machine's scheduling does not land in the staleness. (The whole-table
 * model's torn copies, a host rewriting the table while the node copies
 * it, do not happen here: its best case.)
 */
static void traffic(struct fb *b, int model, u32 rix, double secs,
		    struct traffic_res *res)
{
	u64 lookups = 0, seen, ki = 0, k = 0;
	double t0, t1, t, tp, c0, node, host = 0, polls = 0, rate = rates[rix];
	u32 i, pos;

	memset(res, 0, sizeof(*res));
	/* both models start from the host's table, the node in step */
	cm_flog_host_reset(&b->w, b->ft, b->host);
	if (cm_flog_sync(b->ft, b->log, &b->l, SELF, &b->cur, &b->spare, &b->nr) < 0)
		die("traffic: sync");
	b->model = model;
	b->rix = rix;
	b->rate = rate;
	seen = b->changes;
	pos = b->cur->log_pos;
	res->checkpoints = b->nr.checkpoints;
	c0 = cpu_ns();
	t0 = now_ns();
	do {
		const struct cm_ftable *ft = b->cur;

		for (i = 0; i < POLL_LOOKUPS; i++) {
			const struct chainmesh_flow *f;

			f = cm_flow_lookup(ft, &b->keys[ki]);
			if (!f || le32_to_cpu(f->flow_id) != b->want[ki])
				die("traffic: a flow present all along missed");
			if (++ki == b->nkeys)
				ki = 0;
		}
		lookups += POLL_LOOKUPS;
		if (rate > 0)
			host += host_changes(b, t0 + host, &k);
		/* the poll */
		tp = now_ns();
		if (model == M_LOG) {
			int got = cm_flog_sync(b->ft, b->log, &b->l, SELF,
					       &b->cur, &b->spare, &b->nr);

			if (got > 0 || b->cur->log_pos != pos) {
				t = now_ns();
				for (; pos != b->cur->log_pos; pos++)
					add_lat(b, t - b->stamp[pos & (NSTAMPS - 1)]);
			}
		} else if (cm_ftable_changed(b->ft, b->cur)) {
			if (!cm_ftable_snapshot(b->ft, &b->l, SELF, b->spare)) {
				struct cm_ftable *sw = b->cur;
				u32 upto = b->chg_at[(b->spare->seq / 2) & (NSTAMPS - 1)];

				b->cur = b->spare;
				b->spare = sw;
				t = now_ns();
				for (; seen < upto; seen++)
					add_lat(b, t - b->stamp[seen & (NSTAMPS - 1)]);
			}
		}
		t1 = now_ns();
		polls += t1 - tp;
	} while (t1 - t0 - host < secs * 1e9);
	/* rates per second of the node's CPU time: a run preempted by
	 * another tenant of the machine is not a slower node (the thread's
	 * share of the CPU over the run scales host and node alike) */
	node = (t1 - t0 - host) * ((cpu_ns() - c0) / (t1 - t0));
	res->lookups_per_s = lookups / (node / 1e9);
	res->poll_share = polls / (t1 - t0 - host);
	if (model == M_LOG) {
		/* the rest of the log, then the node's table is the host's,
		 * entry for entry */
		for (i = 0; i < 100000 && b->cur->log_pos != b->w.head; i++)
			if (cm_flog_sync(b->ft, b->log, &b->l, SELF, &b->cur,
					 &b->spare, &b->nr) < 0)
				die("traffic: sync");
		if (b->cur->nflows != b->host->nflows ||
		    memcmp(b->cur->flows, b->host->flows,
			   b->host->nflows * sizeof(b->host->flows[0])))
			die("traffic: the node's table is not the host's");
	}
	res->checkpoints = b->nr.checkpoints - res->checkpoints;
	res->changes_per_s = k / (node / 1e9);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: flowlog_bench [-n FLOWS,...] [-d SECONDS] [-r RUNS] [-o FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	u32 sizes[8] = { 1000, 10000, 100000 }, nsizes = 3, s, runs = 3;
	double secs = 0.5;
	FILE *out = stdout;
	int opt, err;
	char *p;

	while ((opt = getopt(argc, argv, "n:d:r:o:")) != -1) {
		switch (opt) {
		case 'n':
			nsizes = 0;
			for (p = strtok(optarg, ","); p && nsizes < 8; p = strtok(NULL, ","))
				sizes[nsizes++] = (u32)strtoul(p, NULL, 0);
			break;
		case 'd':
			secs = atof(optarg);
			break;
		case 'r':
			runs = (u32)strtoul(optarg, NULL, 0);
			if (runs < 1 || runs > 64)
				usage();
			break;
		case 'o':
			out = fopen(optarg, "w");
			if (!out)
				die("cannot write the output");
			break;
		default:
			usage();
		}
	}
	err = bench_rt();
	if (err)
		fprintf(stderr, "flowlog_bench: no real-time priority (%s): other tasks may preempt the node\n",
			strerror(err));
	fprintf(out, "model,flows,rate,node_ns_per_change,keepup_per_s,publish_ns,lookups_per_s,lookup_ratio,changes_per_s,stale_p50_ms,stale_p99_ms,stale_max_ms,checkpoints,poll_share\n");
	for (s = 0; s < nsizes; s++) {
		static double lps[NRATES][NMODELS][64], cps[NRATES][NMODELS][64];
		static double pls[NRATES][NMODELS][64];
		static double ratio[NRATES][NMODELS][64];
		u64 ckpts[NRATES][NMODELS] = { { 0 } };
		double ns[NMODELS], pub;
		struct traffic_res res;
		struct fb b;
		u32 r, run, i;
		int m;

		if (sizes[s] < 16 || sizes[s] > 100000)
			die("-n: 16..100000 flows");
		fb_init(&b, sizes[s]);
		keep_up(&b, &ns[M_LOG], &ns[M_WHOLE], &pub);
		fprintf(stderr, "flowlog_bench: %u flows: node per change: log %.0f ns, whole %.0f ns (+ publish %.0f ns)\n",
			sizes[s], ns[M_LOG], ns[M_WHOLE], pub);
		/* every rate and model within a run, a model's rates back to
		 * back and every other run in reverse: drift hits all alike */
		for (run = 0; run < runs; run++) {
			for (m = 0; m < NMODELS; m++) {
				for (i = 0; i < NRATES; i++) {
					r = run & 1 ? NRATES - 1 - i : i;
					traffic(&b, m, r, secs, &res);
					lps[r][m][run] = res.lookups_per_s;
					cps[r][m][run] = res.changes_per_s;
					pls[r][m][run] = res.poll_share;
					ckpts[r][m] += res.checkpoints;
				}
			}
		}
		/* each run against its own no-change rate (before median()
		 * sorts the rates) */
		for (r = 0; r < NRATES; r++)
			for (m = 0; m < NMODELS; m++)
				for (run = 0; run < runs; run++)
					ratio[r][m][run] = lps[r][m][run] /
							   lps[0][m][run];
		for (r = 1; r < NRATES; r++) {
			for (m = 0; m < NMODELS; m++) {
				fprintf(stderr, "flowlog_bench: %u flows, %s, %.0f changes/s: lookups vs none, run by run:",
					sizes[s], model_names[m], rates[r]);
				for (run = 0; run < runs; run++)
					fprintf(stderr, " %.3f", ratio[r][m][run]);
				fputc('\n', stderr);
			}
		}
		for (r = 0; r < NRATES; r++) {
			for (m = 0; m < NMODELS; m++) {
				double *lat = b.lat[r][m];
				u64 n = b.nlat[r][m];

				qsort(lat, n, sizeof(*lat), cmp_double);
				fprintf(out, "%s,%u,%.0f,%.0f,%.0f,%.0f,%.0f,%.3f,%.0f,%.3f,%.3f,%.3f,%llu,%.4f\n",
					model_names[m], sizes[s], rates[r], ns[m],
					1e9 / ns[m], m == M_WHOLE ? pub : 0,
					median(lps[r][m], runs), median(ratio[r][m], runs),
					median(cps[r][m], runs),
					n ? lat[n / 2] / 1e6 : 0,
					n ? lat[n * 99 / 100] / 1e6 : 0,
					n ? lat[n - 1] / 1e6 : 0,
					(unsigned long long)ckpts[r][m],
					median(pls[r][m], runs));
				fflush(out);
			}
		}
		fb_fini(&b);
	}
	if (out != stdout)
		fclose(out);
	return 0;
}
