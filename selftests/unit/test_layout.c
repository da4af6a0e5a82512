// SPDX-License-Identifier: GPL-2.0
/*
 * Region layout (include/chainmesh/layout.h): geometry for 2..64 nodes and
 * a spread of parameters, the header round trip and its validation, and
 * buffer offset checks.
 */
#define _GNU_SOURCE
#include <stddef.h>

#include <chainmesh/layout.h>

#include "harness.h"

#define PG	CHAINMESH_PAGE_SIZE

static const struct cm_layout_params lab_params = {
	.nodes = 8, .ring_slots = 256, .buf_size = 2048,
	.bufs_per_node = 512, .max_flows = 256,
};

static u64 pow2_ceil64(u64 v)
{
	u64 r = 1;

	while (r < v)
		r <<= 1;
	return r;
}

/* Accessors need a base; geometry only, nothing is dereferenced. */
#define FAKE_BASE	((void *)(uintptr_t)(1ull << 44))

static u64 off_of(const void *p)
{
	return (u64)((const u8 *)p - (const u8 *)FAKE_BASE);
}

/*
 * Walk every object of the region in address order: each must start at or
 * after the end of the one before and lie inside its section.
 */
struct walk {
	struct __cm_meta *meta;
	u64 end;		/* end of the last object */
	u64 sec_lo, sec_hi;	/* current section */
	const struct cm_layout *l;
	bool ok;
};

static void walk_obj(struct walk *w, u64 off, u64 len, u64 align,
		     const char *what, u32 a, u32 b)
{
	struct __cm_meta *_metadata = w->meta;

	const char *why = NULL;

	if (off < w->end)
		why = "overlaps the object before it";
	else if (off < w->sec_lo)
		why = "starts before its section";
	else if (off + len > w->sec_hi)
		why = "ends past its section";
	else if (off % align)
		why = "is misaligned";
	if (why && w->ok) {
		EXPECT_NULL(why)
			TH_LOG("%s %u/%u at %#llx+%#llx %s", what, a, b,
			       (unsigned long long)off, (unsigned long long)len, why);
		w->ok = false;
	}
	w->end = off + len;
}

static void walk_section(struct walk *w, u64 lo, u64 hi)
{
	struct __cm_meta *_metadata = w->meta;

	EXPECT_EQ(0, lo % PG);
	EXPECT_LE(lo, hi);
	w->sec_lo = lo;
	w->sec_hi = hi;
}

static bool check_geometry(struct __cm_meta *_metadata,
			   const struct cm_layout_params *p)
{
	struct cm_layout l, l2;
	struct walk w = { .meta = _metadata, .l = &l, .ok = true };
	u32 i, j, q, nq = p->queues ? p->queues : 1, lb = p->bufs_per_node / nq;
	u64 region, nn = (u64)nq * p->nodes * p->nodes;
	struct cm_layout_params pn = *p;

	ASSERT_EQ(0, cm_layout_compute(p, ~0ull, &l));
	region = pow2_ceil64(l.size);
	EXPECT_EQ(0, cm_layout_compute(p, region, &l2));
	EXPECT_EQ(0, memcmp(&l, &l2, sizeof(l)));
	EXPECT_EQ(0, cm_layout_compute(p, l.size, &l2));
	EXPECT_EQ(-E2BIG, cm_layout_compute(p, l.size - 1, &l2));
	EXPECT_EQ(0, l.size % PG);

	/* The derived values. */
	pn.queues = nq;		/* 0 is one queue */
	EXPECT_EQ(0, memcmp(&pn, &l.p, sizeof(pn)));
	EXPECT_EQ(lb, cm_lane_bufs(&l));
	EXPECT_TRUE(is_power_of_2(l.ret_slots));
	EXPECT_GE(l.ret_slots, lb);
	EXPECT_LT(l.ret_slots / 2, lb);
	EXPECT_GE(l.ftable_stride, cm_ftable_bytes(p->max_flows));
	EXPECT_GE(l.stats_stride, cm_stats_bytes(p->max_flows));
	EXPECT_GE(l.ring_stride, sizeof(struct chainmesh_ring_hdr) +
				 (u64)p->ring_slots * sizeof(struct chainmesh_desc));
	EXPECT_GE(l.ret_stride, sizeof(struct chainmesh_ring_hdr) +
				(u64)l.ret_slots * sizeof(__le64));
	EXPECT_GE(l.pool_stride, (u64)p->bufs_per_node * p->buf_size);
	EXPECT_EQ(0, l.ftable_stride % PG);
	EXPECT_EQ(0, l.stats_stride % PG);
	EXPECT_EQ(0, l.pool_stride % PG);
	EXPECT_EQ(0, l.ring_stride % CHAINMESH_CACHELINE);
	EXPECT_EQ(0, l.ret_stride % CHAINMESH_CACHELINE);

	/* Sections in order, each 4 KiB aligned. */
	walk_section(&w, 0, l.node_table_off);
	walk_obj(&w, 0, sizeof(struct chainmesh_region_hdr), PG, "header", 0, 0);
	walk_section(&w, l.node_table_off, l.ftables_off);
	walk_obj(&w, off_of(cm_node(FAKE_BASE, &l, 0)),
		 CHAINMESH_MAX_NODES * sizeof(struct chainmesh_node), PG,
		 "node table", 0, 0);
	EXPECT_EQ(off_of(cm_node(FAKE_BASE, &l, 0)) +
		  (u64)(CHAINMESH_MAX_NODES - 1) * CHAINMESH_CACHELINE,
		  off_of(cm_node(FAKE_BASE, &l, CHAINMESH_MAX_NODES - 1)));

	walk_section(&w, l.ftables_off, l.stats_off);
	for (i = 0; i < p->nodes; i++)
		walk_obj(&w, off_of(cm_ftable(FAKE_BASE, &l, i)),
			 cm_ftable_bytes(p->max_flows), PG, "ftable", i, 0);

	walk_section(&w, l.stats_off, l.rings_off);
	for (i = 0; i < p->nodes; i++) {
		EXPECT_EQ(off_of(cm_stats(FAKE_BASE, &l, i)) +
			  sizeof(struct chainmesh_node_stats),
			  off_of(cm_flow_stats(FAKE_BASE, &l, i)));
		walk_obj(&w, off_of(cm_stats(FAKE_BASE, &l, i)),
			 cm_stats_bytes(p->max_flows), PG, "stats", i, 0);
	}

	/* Queue by queue, each a whole N x N of rings. */
	walk_section(&w, l.rings_off, l.rets_off);
	for (q = 0; q < nq; q++)
		for (i = 0; i < p->nodes; i++)
			for (j = 0; j < p->nodes; j++)
				walk_obj(&w, off_of(cm_data_ring_q(FAKE_BASE, &l, i, j, q)),
					 sizeof(struct chainmesh_ring_hdr) +
					 (u64)p->ring_slots * sizeof(struct chainmesh_desc),
					 CHAINMESH_CACHELINE, "data ring", i, j);
	EXPECT_EQ(l.rings_off + nn * l.ring_stride,
		  off_of(cm_data_ring_q(FAKE_BASE, &l, p->nodes - 1, p->nodes - 1,
					nq - 1)) + l.ring_stride);

	walk_section(&w, l.rets_off, l.pools_off);
	for (q = 0; q < nq; q++)
		for (i = 0; i < p->nodes; i++)
			for (j = 0; j < p->nodes; j++)
				walk_obj(&w, off_of(cm_ret_ring_q(FAKE_BASE, &l, i, j, q)),
					 sizeof(struct chainmesh_ring_hdr) +
					 (u64)l.ret_slots * sizeof(__le64),
					 CHAINMESH_CACHELINE, "return ring", i, j);

	walk_section(&w, l.pools_off, l.size);
	for (i = 0; i < p->nodes; i++) {
		u64 first = cm_buf_addr(&l, i, 0);
		u64 last = cm_buf_addr(&l, i, p->bufs_per_node - 1);

		EXPECT_EQ(first + (u64)(p->bufs_per_node - 1) * p->buf_size, last);
		walk_obj(&w, first, last + p->buf_size - first, PG, "pool", i, 0);
	}
	EXPECT_EQ(l.pools_off + p->nodes * l.pool_stride, l.size);
	EXPECT_LE(w.end, l.size);

	/* Each lane: queue q's rings, and slice q of every pool, exactly
	 * the buffers cm_buf_check() on the lane's layout accepts. */
	for (q = 0; q < nq; q++) {
		struct cm_layout lq;
		u32 owner = ~0u, idx = ~0u, b;

		cm_layout_lane(&l, q, &lq);
		EXPECT_EQ(1, lq.p.queues);
		EXPECT_EQ(lb, lq.p.bufs_per_node);
		EXPECT_LE(lq.size, l.size);
		EXPECT_EQ(off_of(cm_data_ring_q(FAKE_BASE, &l, 1, 0, q)),
			  off_of(cm_data_ring(FAKE_BASE, &lq, 1, 0)));
		EXPECT_EQ(off_of(cm_ret_ring_q(FAKE_BASE, &l, 0, p->nodes - 1, q)),
			  off_of(cm_ret_ring(FAKE_BASE, &lq, 0, p->nodes - 1)));
		for (i = 0; i < p->nodes; i++) {
			u32 ends[2] = { 0, lb - 1 };

			for (b = 0; b < 2; b++) {
				u64 a = cm_buf_addr(&l, i, q * lb + ends[b]);

				EXPECT_EQ(a, cm_buf_addr(&lq, i, ends[b]));
				EXPECT_EQ(q, cm_buf_lane(&l, q * lb + ends[b]));
				EXPECT_EQ(CM_BAD_NONE, cm_buf_check(&lq, a, &owner, &idx));
				EXPECT_EQ(i, owner);
				EXPECT_EQ(ends[b], idx);
			}
			/* The neighbouring lanes' buffers are not this lane's. */
			if (q > 0)
				EXPECT_NE(CM_BAD_NONE,
					  cm_buf_check(&lq, cm_buf_addr(&l, i, q * lb - 1),
						       &owner, &idx));
			if (q + 1 < nq)
				EXPECT_NE(CM_BAD_NONE,
					  cm_buf_check(&lq, cm_buf_addr(&l, i, (q + 1) * lb),
						       &owner, &idx));
		}
	}
	EXPECT_TRUE(w.ok)
		TH_LOG("nodes %u ring_slots %u buf_size %u bufs %u flows %u",
		       p->nodes, p->ring_slots, p->buf_size, p->bufs_per_node,
		       p->max_flows);
	return w.ok && !_metadata->failed;
}

TEST(geometry_all_node_counts)
{
	static const struct cm_layout_params base[] = {
		{ 0, 256, 2048, 512, 256, 0 },	/* the lab's defaults */
		{ 0, 8, 1024, 1, 1, 0 },		/* smallest */
		{ 0, 64, 1024, 3, 255, 0 },	/* pool padding */
		{ 0, 32768, 65536, 65536, CHAINMESH_MAX_FLOWS, 0 }, /* largest */
	};
	struct cm_layout_params p;
	u32 n, k;

	for (k = 0; k < sizeof(base) / sizeof(base[0]); k++) {
		for (n = 2; n <= CHAINMESH_MAX_NODES; n++) {
			p = base[k];
			p.nodes = n;
			ASSERT_TRUE(check_geometry(_metadata, &p))
				TH_LOG("set %u, %u nodes", k, n);
		}
	}
}

TEST(geometry_spread)
{
	static const u32 nodes[] = { 2, 3, 5, 8, 17, 33, 64 };
	static const u32 slots[] = { 8, 64, 1024, 32768 };
	static const u32 bsize[] = { 1024, 2048, 4096, 16384, 65536 };
	static const u32 bufs[] = { 1, 3, 7, 512, 4097, 65536 };
	static const u32 flows[] = { 1, 255, 256, 1024, 100000, CHAINMESH_MAX_FLOWS };
	struct cm_layout_params p;
	u32 a, b, c, d, e, count = 0;

#define FOR(i, arr) for (i = 0; i < sizeof(arr) / sizeof(arr[0]); i++)
	FOR(a, nodes) FOR(b, slots) FOR(c, bsize) FOR(d, bufs) FOR(e, flows) {
		p.nodes = nodes[a];
		p.ring_slots = slots[b];
		p.buf_size = bsize[c];
		p.bufs_per_node = bufs[d];
		p.max_flows = flows[e];
		ASSERT_TRUE(check_geometry(_metadata, &p));
		count++;
	}
#undef FOR
	TH_LOG("%u parameter sets", count);
}

/* Queues 1..8 for 2..64 nodes: 840 buffers split in any of them. */
TEST(geometry_queues)
{
	static const struct cm_layout_params base[] = {
		{ 0, 256, 2048, 840, 256, 0 },
		{ 0, 8, 1024, 840, 1, 0 },
		{ 0, 64, 4096, 1680, 255, 0 },
	};
	struct cm_layout_params p;
	u32 n, k, q;

	for (k = 0; k < sizeof(base) / sizeof(base[0]); k++)
		for (q = 1; q <= CHAINMESH_MAX_QUEUES; q++)
			for (n = 2; n <= CHAINMESH_MAX_NODES; n++) {
				p = base[k];
				p.nodes = n;
				p.queues = q;
				ASSERT_TRUE(check_geometry(_metadata, &p))
					TH_LOG("set %u, %u queues, %u nodes", k, q, n);
			}
}

/* Queues out of range, or not dividing the pool, are refused. */
TEST(queues_refused)
{
	struct cm_layout_params p = lab_params;
	struct cm_layout l;

	p.queues = CHAINMESH_MAX_QUEUES + 1;
	EXPECT_EQ(-EINVAL, cm_layout_compute(&p, ~0ull, &l));
	p.queues = 3;		/* 512 buffers in 3 lanes */
	EXPECT_EQ(-EINVAL, cm_layout_compute(&p, ~0ull, &l));
	p.queues = 8;
	EXPECT_EQ(0, cm_layout_compute(&p, ~0ull, &l));
	EXPECT_EQ(64, l.ret_slots);
	p.bufs_per_node = 4;
	EXPECT_EQ(-EINVAL, cm_layout_compute(&p, ~0ull, &l));
}

/* The lab lays out the default parameters in a 16 MiB region. */
TEST(lab_defaults_fit_16m)
{
	struct cm_layout l;

	ASSERT_EQ(0, cm_layout_compute(&lab_params, 16 << 20, &l));
	TH_LOG("lab layout uses %llu of 16 MiB", (unsigned long long)l.size);
	EXPECT_EQ(512, l.ret_slots);
}

static void check_hdr(struct __cm_meta *_metadata,
		      const struct cm_layout_params *p);

/*
 * The largest layout the bounds allow computes without overflow (and
 * CM_LAYOUT_MAX_PER_NODE bounds it), and a header carrying it round-trips;
 * the same parameters in a small region are refused, not wrapped around.
 */
TEST(max_flows_bounds)
{
	struct cm_layout_params big = {
		CHAINMESH_MAX_NODES, CM_MAX_RING_SLOTS, CM_MAX_BUF_SIZE,
		CM_MAX_BUFS_PER_NODE, CHAINMESH_MAX_FLOWS, CHAINMESH_MAX_QUEUES,
	};
	struct cm_layout_params two = { 2, 256, 2048, 512, CHAINMESH_MAX_FLOWS, 0 };
	struct cm_layout l;
	u64 sum;

	ASSERT_EQ(0, cm_layout_compute(&big, ~0ull, &l));
	EXPECT_LE(l.size, CHAINMESH_MAX_NODES * CM_LAYOUT_MAX_PER_NODE);
	/* the sections the flows need, counted independently */
	sum = (u64)big.nodes * (cm_ftable_bytes(big.max_flows) +
				cm_stats_bytes(big.max_flows));
	EXPECT_GE(l.rings_off - l.ftables_off, sum);
	EXPECT_EQ(0, cm_layout_compute(&big, l.size, &l));
	EXPECT_EQ(-E2BIG, cm_layout_compute(&big, l.size - 1, &l));
	EXPECT_EQ(-E2BIG, cm_layout_compute(&big, 16 << 20, &l));
	check_geometry(_metadata, &big);
	check_hdr(_metadata, &two);
	ASSERT_EQ(0, cm_layout_compute(&two, ~0ull, &l));
	TH_LOG("2 nodes of %u flows: %llu bytes", two.max_flows,
	       (unsigned long long)l.size);
}

/*
 * What fits the lab: the largest max_flows for the lab's defaults in its
 * 16 MiB region, and for 4 nodes in 16 and 64 MiB (operations.rst).
 */
static u32 max_flows_fitting(struct cm_layout_params p, u64 region)
{
	struct cm_layout l;
	u32 lo = 0, hi = CHAINMESH_MAX_FLOWS;

	while (lo < hi) {
		p.max_flows = lo + (hi - lo + 1) / 2;
		if (!cm_layout_compute(&p, region, &l))
			lo = p.max_flows;
		else
			hi = p.max_flows - 1;
	}
	return lo;
}

TEST(max_flows_in_lab_regions)
{
	struct cm_layout_params four = lab_params;
	u32 lab16, four16, four64;

	four.nodes = 4;
	lab16 = max_flows_fitting(lab_params, 16 << 20);
	four16 = max_flows_fitting(four, 16 << 20);
	four64 = max_flows_fitting(four, 64 << 20);
	TH_LOG("largest max_flows: 8 nodes in 16 MiB %u, 4 nodes in 16 MiB %u, in 64 MiB %u",
	       lab16, four16, four64);
	EXPECT_GE(lab16, 4096);
	EXPECT_GE(four16, 16384);
	EXPECT_GE(four64, 100000);
}

TEST(params_out_of_range)
{
	static const struct {
		struct cm_layout_params p;
	} bad[] = {
		{ { 0, 256, 2048, 512, 256, 0 } },
		{ { 1, 256, 2048, 512, 256, 0 } },
		{ { 65, 256, 2048, 512, 256, 0 } },
		{ { 8, 0, 2048, 512, 256, 0 } },
		{ { 8, 4, 2048, 512, 256, 0 } },
		{ { 8, 12, 2048, 512, 256, 0 } },
		{ { 8, 65536, 2048, 512, 256, 0 } },
		{ { 8, 256, 0, 512, 256, 0 } },
		{ { 8, 256, 512, 512, 256, 0 } },
		{ { 8, 256, 3072, 512, 256, 0 } },
		{ { 8, 256, 131072, 512, 256, 0 } },
		{ { 8, 256, 2048, 0, 256, 0 } },
		{ { 8, 256, 2048, 65537, 256, 0 } },
		{ { 8, 256, 2048, 512, 0, 0 } },
		{ { 8, 256, 2048, 512, CHAINMESH_MAX_FLOWS + 1, 0 } },
		{ { 8, 256, 2048, 512, 1u << 31, 0 } },
		{ { 8, 256, 2048, 512, ~0u, 0 } },
	};
	struct cm_layout l;
	u32 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_EQ(-EINVAL, cm_layout_compute(&bad[i].p, ~0ull, &l))
			TH_LOG("set %u", i);
	/* Parameters are checked before the size. */
	EXPECT_EQ(-EINVAL, cm_layout_compute(&bad[1].p, 0, &l));
	EXPECT_EQ(-E2BIG, cm_layout_compute(&lab_params, 0, &l));
}

/* Header fields, for corrupting them one by one. */
struct hfield {
	const char *name;
	size_t off, size;
	int checked;	/* 1: any change refused; 2: refused or harmless */
};

#define HF(f, c) { #f, offsetof(struct chainmesh_region_hdr, f), \
		   sizeof(((struct chainmesh_region_hdr *)0)->f), c }

static const struct hfield hfields[] = {
	HF(magic, 0),		/* the caller's to check, before anything */
	HF(version, 1),
	HF(features, 0),
	HF(region_size, 1),	/* with bar_size == region_size */
	HF(nodes, 1),
	HF(ring_slots, 1),
	HF(ret_slots, 1),
	HF(buf_size, 1),
	HF(bufs_per_node, 2),	/* not every value moves an offset */
	HF(max_flows, 2),
	HF(mesh_id, 0),
	HF(queues, 1),
	HF(node_table_off, 1),
	HF(ftables_off, 1),
	HF(ftable_stride, 1),
	HF(stats_off, 1),
	HF(stats_stride, 1),
	HF(rings_off, 1),
	HF(ring_stride, 1),
	HF(rets_off, 1),
	HF(ret_stride, 1),
	HF(pools_off, 1),
	HF(pool_stride, 1),
	HF(host_epoch, 0),
};

static bool same_geometry(const struct cm_layout *a, const struct cm_layout *b)
{
	return a->node_table_off == b->node_table_off &&
	       a->ftables_off == b->ftables_off &&
	       a->ftable_stride == b->ftable_stride &&
	       a->stats_off == b->stats_off &&
	       a->stats_stride == b->stats_stride &&
	       a->rings_off == b->rings_off &&
	       a->ring_stride == b->ring_stride &&
	       a->rets_off == b->rets_off &&
	       a->ret_stride == b->ret_stride &&
	       a->pools_off == b->pools_off &&
	       a->pool_stride == b->pool_stride &&
	       a->ret_slots == b->ret_slots &&
	       a->p.nodes == b->p.nodes &&
	       a->p.ring_slots == b->p.ring_slots &&
	       a->p.buf_size == b->p.buf_size &&
	       a->size == b->size;
}

static void check_hdr(struct __cm_meta *_metadata,
		      const struct cm_layout_params *p)
{
	struct chainmesh_region_hdr *h, *c;
	struct cm_layout l, got;
	u64 region;
	u32 f, bit;

	ASSERT_EQ(0, cm_layout_compute(p, ~0ull, &l));
	region = pow2_ceil64(l.size);
	h = malloc(sizeof(*h));
	c = malloc(sizeof(*c));
	ASSERT_NOT_NULL(h);
	ASSERT_NOT_NULL(c);
	cm_layout_to_hdr(&l, region, 0x1234abcd, 77, h);
	EXPECT_EQ(0, h->magic);		/* the caller stores it last */
	EXPECT_EQ(0x1234abcd, le32_to_cpu(h->mesh_id));
	EXPECT_EQ(77, le64_to_cpu(h->host_epoch));

	memset(&got, 0xff, sizeof(got));
	EXPECT_EQ(0, cm_layout_from_hdr(h, region, &got));
	EXPECT_EQ(0, memcmp(&l, &got, sizeof(l)));
	EXPECT_EQ(0, cm_layout_from_hdr(h, ~0ull, &got));
	EXPECT_EQ(-E2BIG, cm_layout_from_hdr(h, region - 1, &got));
	EXPECT_EQ(-E2BIG, cm_layout_from_hdr(h, 0, &got));

	/* Every single-bit flip of a checked field is refused. */
	for (f = 0; f < sizeof(hfields) / sizeof(hfields[0]); f++) {
		const struct hfield *hf = &hfields[f];

		for (bit = 0; bit < hf->size * 8; bit++) {
			int err;

			memcpy(c, h, sizeof(*c));
			((u8 *)c)[hf->off + bit / 8] ^= 1u << (bit % 8);
			err = cm_layout_from_hdr(c, region, &got);
			if (hf->checked == 1) {
				EXPECT_NE(0, err)
					TH_LOG("%s bit %u accepted", hf->name, bit);
			} else if (hf->checked == 2 && !err) {
				EXPECT_TRUE(same_geometry(&l, &got))
					TH_LOG("%s bit %u moved the layout",
					       hf->name, bit);
			} else if (!hf->checked) {
				EXPECT_EQ(0, err)
					TH_LOG("%s bit %u", hf->name, bit);
			}
		}
	}
	free(c);
	free(h);
}

TEST(hdr_round_trip_and_corruption)
{
	struct cm_layout_params p = lab_params;
	u32 n;

	check_hdr(_metadata, &p);
	p.queues = 4;
	check_hdr(_metadata, &p);
	for (n = 2; n <= CHAINMESH_MAX_NODES; n += 7) {
		p = (struct cm_layout_params){ n, 64, 1024, 3, 255, 0 };
		check_hdr(_metadata, &p);
		p = (struct cm_layout_params){ n, 8, 65536, 1, 1, 0 };
		check_hdr(_metadata, &p);
	}
}

/* Named corruptions, with the error each must give. */
TEST(hdr_corruption_errors)
{
	struct chainmesh_region_hdr h, c;
	struct cm_layout l, got;
	u64 region = 16 << 20;

	ASSERT_EQ(0, cm_layout_compute(&lab_params, region, &l));
	cm_layout_to_hdr(&l, region, 1, 1, &h);

#define CORRUPT(field, val, err) do {					\
		c = h;							\
		c.field = (val);					\
		EXPECT_EQ(err, cm_layout_from_hdr(&c, region, &got))	\
			TH_LOG(#field " = " #val);			\
	} while (0)

	CORRUPT(version, 0, -EPROTO);
	CORRUPT(version, cpu_to_le32(CHAINMESH_LAYOUT_VERSION + 1), -EPROTO);
	CORRUPT(version, cpu_to_le32(1), -EPROTO);	/* v1: want_kick by tail */
	CORRUPT(region_size, cpu_to_le64(region + 1), -E2BIG);
	CORRUPT(region_size, cpu_to_le64(region * 2), -E2BIG);
	CORRUPT(region_size, cpu_to_le64(l.size - 1), -E2BIG);
	CORRUPT(region_size, 0, -E2BIG);
	CORRUPT(nodes, 0, -EINVAL);
	CORRUPT(nodes, cpu_to_le32(1), -EINVAL);
	CORRUPT(nodes, cpu_to_le32(65), -EINVAL);
	CORRUPT(nodes, cpu_to_le32(9), -EPROTO);
	CORRUPT(ring_slots, cpu_to_le32(255), -EINVAL);
	CORRUPT(ring_slots, cpu_to_le32(4), -EINVAL);
	CORRUPT(ring_slots, cpu_to_le32(65536), -EINVAL);
	CORRUPT(ring_slots, cpu_to_le32(128), -EPROTO);
	CORRUPT(ret_slots, cpu_to_le32(256), -EPROTO);
	CORRUPT(ret_slots, cpu_to_le32(1024), -EPROTO);
	CORRUPT(buf_size, cpu_to_le32(512), -EINVAL);
	CORRUPT(buf_size, cpu_to_le32(3000), -EINVAL);
	CORRUPT(buf_size, cpu_to_le32(131072), -EINVAL);
	CORRUPT(buf_size, cpu_to_le32(1024), -EPROTO);
	CORRUPT(buf_size, cpu_to_le32(4096), -E2BIG);
	CORRUPT(bufs_per_node, 0, -EINVAL);
	CORRUPT(bufs_per_node, cpu_to_le32(65537), -EINVAL);
	CORRUPT(bufs_per_node, cpu_to_le32(500), -EPROTO);
	CORRUPT(bufs_per_node, cpu_to_le32(511), 0);	/* same geometry */
	CORRUPT(queues, 0, -EINVAL);
	CORRUPT(queues, cpu_to_le32(3), -EINVAL);
	CORRUPT(queues, cpu_to_le32(CHAINMESH_MAX_QUEUES + 1), -EINVAL);
	CORRUPT(queues, cpu_to_le32(2), -EPROTO);	/* ret_slots 256 */
	CORRUPT(max_flows, 0, -EINVAL);
	CORRUPT(max_flows, cpu_to_le32(CHAINMESH_MAX_FLOWS + 1), -EINVAL);
	CORRUPT(max_flows, cpu_to_le32(1u << 31), -EINVAL);
	CORRUPT(max_flows, cpu_to_le32(~0u), -EINVAL);
	CORRUPT(max_flows, cpu_to_le32(CHAINMESH_MAX_FLOWS), -E2BIG);
	CORRUPT(max_flows, cpu_to_le32(1024), -EPROTO);
	CORRUPT(max_flows, cpu_to_le32(512), -EPROTO);
	CORRUPT(max_flows, cpu_to_le32(257), 0);	/* same geometry */

#define CORRUPT_OFF(field) do {						\
		u64 v = le64_to_cpu(h.field);				\
		CORRUPT(field, cpu_to_le64(v + 1), -EPROTO);		\
		CORRUPT(field, cpu_to_le64(v + PG), -EPROTO);		\
		CORRUPT(field, cpu_to_le64(v - 64), -EPROTO);		\
		CORRUPT(field, 0, -EPROTO);				\
		CORRUPT(field, ~0ull, -EPROTO);				\
		CORRUPT(field, cpu_to_le64(v + (1ull << 63)), -EPROTO);	\
	} while (0)

	CORRUPT_OFF(node_table_off);
	CORRUPT_OFF(ftables_off);
	CORRUPT_OFF(ftable_stride);
	CORRUPT_OFF(stats_off);
	CORRUPT_OFF(stats_stride);
	CORRUPT_OFF(rings_off);
	CORRUPT_OFF(ring_stride);
	CORRUPT_OFF(rets_off);
	CORRUPT_OFF(ret_stride);
	CORRUPT_OFF(pools_off);
	CORRUPT_OFF(pool_stride);
#undef CORRUPT_OFF
#undef CORRUPT

	/* The region is bigger than the BAR. */
	EXPECT_EQ(-E2BIG, cm_layout_from_hdr(&h, region / 2, &got));
	EXPECT_EQ(0, cm_layout_from_hdr(&h, region, &got));
}

/* Reference model: is @addr the first byte of a buffer? */
static bool is_buf(const struct cm_layout *l, u64 addr, u32 *owner, u32 *idx)
{
	u32 n;

	for (n = 0; n < l->p.nodes; n++) {
		u64 lo = cm_buf_addr(l, n, 0);
		u64 hi = lo + (u64)l->p.bufs_per_node * l->p.buf_size;

		if (addr >= lo && addr < hi && !((addr - lo) % l->p.buf_size)) {
			*owner = n;
			*idx = (u32)((addr - lo) / l->p.buf_size);
			return true;
		}
	}
	return false;
}

/* Every byte offset of a small region, and a little past it. */
TEST(buf_check_exhaustive)
{
	static const struct cm_layout_params ps[] = {
		{ 2, 8, 1024, 3, 1, 0 },		/* 1 KiB of padding per pool */
		{ 3, 8, 2048, 1, 1, 0 },		/* 2 KiB of padding per pool */
		{ 2, 8, 1024, 4, 1, 0 },		/* no padding */
		{ 2, 8, 8192, 2, 1, 0 },		/* buffers larger than a page */
	};
	struct cm_layout l;
	u32 k, owner = 0, idx = 0, o2 = 0, i2 = 0;
	u64 addr, good;

	for (k = 0; k < sizeof(ps) / sizeof(ps[0]); k++) {
		ASSERT_EQ(0, cm_layout_compute(&ps[k], ~0ull, &l));
		good = 0;
		for (addr = 0; addr < l.size + 3 * l.p.buf_size; addr++) {
			bool want = is_buf(&l, addr, &o2, &i2);
			enum cm_bad bad = cm_buf_check(&l, addr, &owner, &idx);

			ASSERT_EQ(want, bad == CM_BAD_NONE)
				TH_LOG("set %u addr %#llx: %d", k,
				       (unsigned long long)addr, bad);
			if (want) {
				ASSERT_EQ(o2, owner);
				ASSERT_EQ(i2, idx);
				good++;
			} else if (addr >= l.pools_off && addr < l.size &&
				   (addr - l.pools_off) % l.pool_stride % l.p.buf_size) {
				/* in a pool or its padding, off a buffer boundary */
				ASSERT_EQ(CM_BAD_ALIGN, bad);
			} else {
				ASSERT_EQ(CM_BAD_ADDR, bad)
					TH_LOG("addr %#llx", (unsigned long long)addr);
			}
		}
		EXPECT_EQ((u64)l.p.nodes * l.p.bufs_per_node, good);
	}
}

/* Every buffer of every node for a spread of layouts, and its neighbours. */
TEST(buf_check_spread)
{
	static const u32 nodes[] = { 2, 3, 8, 64 };
	static const u32 bsize[] = { 1024, 2048, 4096, 65536 };
	static const u32 bufs[] = { 1, 3, 511, 4097 };
	static const u64 wild[] = {
		0, 1, CHAINMESH_PAGE_SIZE, 1ull << 32, 1ull << 63,
		~0ull, ~0ull - 2047,
	};
	struct cm_layout_params p = { .ring_slots = 64, .max_flows = 16 };
	struct cm_layout l;
	u32 a, b, c, n, i, owner, idx;

	for (a = 0; a < 4; a++) for (b = 0; b < 4; b++) for (c = 0; c < 4; c++) {
		p.nodes = nodes[a];
		p.buf_size = bsize[b];
		p.bufs_per_node = bufs[c];
		ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &l));

		for (n = 0; n < p.nodes; n++) {
			u64 pool_end;

			for (i = 0; i < p.bufs_per_node; i++) {
				u64 addr = cm_buf_addr(&l, n, i);

				owner = idx = ~0u;
				ASSERT_EQ(CM_BAD_NONE, cm_buf_check(&l, addr, &owner, &idx));
				ASSERT_EQ(n, owner);
				ASSERT_EQ(i, idx);
				ASSERT_EQ(CM_BAD_ALIGN, cm_buf_check(&l, addr + 1, &owner, &idx));
				ASSERT_EQ(CM_BAD_ALIGN, cm_buf_check(&l, addr + 64, &owner, &idx));
				ASSERT_EQ(CM_BAD_ALIGN,
					  cm_buf_check(&l, addr + p.buf_size / 2, &owner, &idx));
				ASSERT_EQ(CM_BAD_ALIGN,
					  cm_buf_check(&l, addr + p.buf_size - 1, &owner, &idx));
			}
			/* Past the last buffer: padding, the next pool, or the end. */
			pool_end = cm_buf_addr(&l, n, p.bufs_per_node);
			if (pool_end < cm_buf_addr(&l, n, 0) + l.pool_stride) {
				u64 pad;

				for (pad = pool_end; pad < cm_buf_addr(&l, n, 0) + l.pool_stride;
				     pad += 512)
					ASSERT_NE(CM_BAD_NONE, cm_buf_check(&l, pad, &owner, &idx))
						TH_LOG("padding %#llx", (unsigned long long)pad);
			} else if (n + 1 < p.nodes) {
				ASSERT_EQ(CM_BAD_NONE, cm_buf_check(&l, pool_end, &owner, &idx));
				ASSERT_EQ(n + 1, owner);
				ASSERT_EQ(0, idx);
			} else {
				ASSERT_EQ(l.size, pool_end);
			}
		}
		ASSERT_EQ(CM_BAD_ADDR, cm_buf_check(&l, l.size, &owner, &idx));
		ASSERT_EQ(CM_BAD_ADDR, cm_buf_check(&l, l.size + p.buf_size, &owner, &idx));
		ASSERT_EQ(CM_BAD_ADDR, cm_buf_check(&l, l.pools_off - 1, &owner, &idx));
		ASSERT_EQ(CM_BAD_ADDR, cm_buf_check(&l, l.pools_off - p.buf_size, &owner, &idx));
		ASSERT_EQ(CM_BAD_ADDR, cm_buf_check(&l, l.rings_off, &owner, &idx));
		for (i = 0; i < sizeof(wild) / sizeof(wild[0]); i++)
			if (wild[i] < l.pools_off || wild[i] >= l.size)
				ASSERT_EQ(CM_BAD_ADDR, cm_buf_check(&l, wild[i], &owner, &idx))
					TH_LOG("%#llx", (unsigned long long)wild[i]);
	}
}

/*
 * cm_buf_check divides by pool_stride with a reciprocal: every pool size
 * the parameters allow, at every pool boundary of 64 nodes.
 */
TEST(buf_check_every_pool_size)
{
	static const u32 bsize[] = { 1024, 2048, 4096, 65536 };
	struct cm_layout_params p = { .nodes = 64, .ring_slots = 8, .max_flows = 1 };
	struct cm_layout l;
	u32 b, n, owner, idx, last;
	u64 checks = 0;

	for (b = 0; b < 4; b++) {
		p.buf_size = bsize[b];
		for (p.bufs_per_node = 1; p.bufs_per_node <= CM_MAX_BUFS_PER_NODE;
		     p.bufs_per_node++) {
			ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &l));
			last = p.bufs_per_node - 1;
			for (n = 0; n < p.nodes; n++) {
				ASSERT_EQ(CM_BAD_NONE, cm_buf_check(&l, cm_buf_addr(&l, n, 0),
								   &owner, &idx));
				ASSERT_EQ(n, owner);
				ASSERT_EQ(0, idx);
				ASSERT_EQ(CM_BAD_NONE, cm_buf_check(&l, cm_buf_addr(&l, n, last),
								   &owner, &idx));
				ASSERT_EQ(n, owner) TH_LOG("bufs %u size %u", p.bufs_per_node,
							   p.buf_size);
				ASSERT_EQ(last, idx);
				/* the pool's last byte: padding or its last buffer */
				ASSERT_NE(CM_BAD_NONE, cm_buf_check(&l, cm_buf_addr(&l, n, 0) +
								   l.pool_stride - 1,
								   &owner, &idx));
				checks += 3;
			}
		}
	}
	TH_LOG("%llu checks", (unsigned long long)checks);
}

TEST_HARNESS_MAIN
