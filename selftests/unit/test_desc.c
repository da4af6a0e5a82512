// SPDX-License-Identifier: GPL-2.0
/*
 * Descriptors a peer wrote (cm_desc_check() in include/chainmesh/ring.h):
 * buffer offsets outside every pool, misaligned or in a pool's padding,
 * frames that do not fit their buffer, and indices that do not fit the
 * ring, all sent through a real ring of a laid-out region.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include <chainmesh/layout.h>
#include <chainmesh/ring.h>

#include "harness.h"

/* What a receiver must conclude: a model of the rules, not the code. */
static enum cm_bad model(const struct cm_layout *l, const struct cm_desc *d)
{
	u32 n, ok_addr = 0, in_pool = 0;

	for (n = 0; n < l->p.nodes; n++) {
		u64 lo = l->pools_off + n * l->pool_stride;

		if (d->addr < lo || d->addr >= lo + l->pool_stride)
			continue;
		in_pool = 1;
		if ((d->addr - lo) % l->p.buf_size)
			return CM_BAD_ALIGN;
		ok_addr = (d->addr - lo) / l->p.buf_size < l->p.bufs_per_node;
	}
	if (!in_pool || !ok_addr)
		return CM_BAD_ADDR;
	if (d->len < 14 || d->data_off + d->len > l->p.buf_size)
		return CM_BAD_LEN;
	return CM_BAD_NONE;
}

FIXTURE(desc) {
	struct cm_layout l;
	void *base;
	u64 region;
};

FIXTURE_SETUP(desc)
{
	struct cm_layout_params p = {
		.nodes = 4, .ring_slots = 64, .buf_size = 2048,
		.bufs_per_node = 3, .max_flows = 8,
	};

	ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &self->l));
	self->region = 1;
	while (self->region < self->l.size)
		self->region <<= 1;
	self->base = mmap(NULL, self->region, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->base);
}

FIXTURE_TEARDOWN(desc)
{
	munmap(self->base, self->region);
}

static void mk(struct cm_desc *d, u64 addr, u16 data_off, u16 len)
{
	memset(d, 0, sizeof(*d));
	d->addr = addr;
	d->data_off = data_off;
	d->len = len;
}

/* Named cases, each pushed from node 1 to node 2 and checked there. */
TEST_F(desc, through_ring)
{
	const struct cm_layout *l = &self->l;
	const u32 bs = l->p.buf_size;
	const u64 b2 = cm_buf_addr(l, 2, 1);
	const u64 last = cm_buf_addr(l, 3, l->p.bufs_per_node - 1);
	const struct {
		u64 addr;
		u16 data_off, len;
		enum cm_bad want;
		const char *what;
	} cases[] = {
		{ b2, CHAINMESH_HEADROOM, 98, CM_BAD_NONE, "ping" },
		{ cm_buf_addr(l, 0, 0), 0, 14, CM_BAD_NONE, "first buffer" },
		{ last, 0, 2048, CM_BAD_NONE, "last buffer, all of it" },
		{ b2, CHAINMESH_HEADROOM, 2048 - CHAINMESH_HEADROOM, CM_BAD_NONE, "to the end" },
		{ b2, 2034, 14, CM_BAD_NONE, "header at the end" },
		{ b2, CHAINMESH_HEADROOM, 0, CM_BAD_LEN, "empty" },
		{ b2, CHAINMESH_HEADROOM, 13, CM_BAD_LEN, "runt" },
		{ b2, CHAINMESH_HEADROOM, 2048 - CHAINMESH_HEADROOM + 1, CM_BAD_LEN, "one past" },
		{ b2, 2048, 14, CM_BAD_LEN, "offset at the end" },
		{ b2, 2035, 14, CM_BAD_LEN, "header past the end" },
		{ b2, 0xffff, 0xffff, CM_BAD_LEN, "both maximal" },
		{ b2, 0, 0xffff, CM_BAD_LEN, "len maximal" },
		{ b2, 0xffff, 14, CM_BAD_LEN, "offset maximal" },
		{ b2 + 1, CHAINMESH_HEADROOM, 98, CM_BAD_ALIGN, "misaligned" },
		{ b2 + bs / 2, 0, 14, CM_BAD_ALIGN, "half a buffer" },
		{ b2 + 1, 0xffff, 0, CM_BAD_ALIGN, "misaligned and bad len" },
		{ cm_buf_addr(l, 2, 3), 0, 14, CM_BAD_ADDR, "pool padding" },
		{ cm_buf_addr(l, 2, 3) + 1, 0, 14, CM_BAD_ALIGN, "pool padding, misaligned" },
		{ last + bs, 0, 14, CM_BAD_ADDR, "past the last pool" },
		{ l->size, 0, 14, CM_BAD_ADDR, "region end" },
		{ self->region, 0, 14, CM_BAD_ADDR, "BAR end" },
		{ l->pools_off - bs, 0, 14, CM_BAD_ADDR, "before the pools" },
		{ 0, 0, 14, CM_BAD_ADDR, "the header" },
		{ l->rings_off, 0, 14, CM_BAD_ADDR, "a ring" },
		{ ~0ull - bs + 1, 0, 14, CM_BAD_ADDR, "top of the address space" },
		{ 1ull << 63, 0, 14, CM_BAD_ADDR, "high bit" },
		{ l->pools_off + (1ull << 32), 0, 14, CM_BAD_ADDR, "32-bit alias" },
	};
	const u32 n = sizeof(cases) / sizeof(cases[0]);
	struct cm_ring_prod p;
	struct cm_ring_cons c;
	struct cm_desc d;
	u32 i, owner, idx;

	ASSERT_LE(n, l->p.ring_slots);
	cm_ring_prod_init(&p, cm_data_ring(self->base, l, 1, 2), l->p.ring_slots);
	cm_ring_cons_init(&c, cm_data_ring(self->base, l, 1, 2), l->p.ring_slots);
	ASSERT_GE(cm_ring_prod_space(&p), (int)n);
	for (i = 0; i < n; i++) {
		mk(&d, cases[i].addr, cases[i].data_off, cases[i].len);
		d.chain = (u16)i;
		d.flags = CHAINMESH_D_CTX;
		cm_ring_push_desc(&p, &d);
	}
	cm_ring_publish(&p);
	ASSERT_EQ((int)n, cm_ring_cons_avail(&c));
	for (i = 0; i < n; i++) {
		enum cm_bad bad;

		cm_ring_pop_desc(&c, &d);
		ASSERT_EQ(i, d.chain);
		owner = idx = ~0u;
		bad = cm_desc_check(l, &d, &owner, &idx);
		EXPECT_EQ(cases[i].want, bad) TH_LOG("%s", cases[i].what);
		EXPECT_EQ(model(l, &d), bad) TH_LOG("%s", cases[i].what);
		if (bad == CM_BAD_NONE) {
			EXPECT_EQ(cm_buf_addr(l, owner, idx), d.addr);
			EXPECT_LT(owner, l->p.nodes);
			EXPECT_LT(idx, l->p.bufs_per_node);
		}
	}
	cm_ring_release(&c);
}

/* Every offset and length around a buffer's bounds, for every buffer. */
TEST_F(desc, bounds_grid)
{
	const struct cm_layout *l = &self->l;
	u32 n, b, off, len, owner, idx;
	u64 checked = 0;
	struct cm_desc d;

	for (n = 0; n < l->p.nodes; n++) {
		for (b = 0; b < l->p.bufs_per_node; b++) {
			u64 addr = cm_buf_addr(l, n, b);

			for (off = 0; off <= 0xffff; off += off < 2100 ? 7 : 4099) {
				for (len = 0; len <= 0xffff; len += len < 2100 ? 5 : 3001) {
					mk(&d, addr, (u16)off, (u16)len);
					ASSERT_EQ(model(l, &d),
						  cm_desc_check(l, &d, &owner, &idx))
						TH_LOG("node %u buf %u off %u len %u",
						       n, b, off, len);
					checked++;
				}
			}
		}
	}
	TH_LOG("%llu descriptors", (unsigned long long)checked);
}

/* The largest buffers: data_off + len is computed without wrapping. */
TEST(big_buffers)
{
	struct cm_layout_params p = {
		.nodes = 2, .ring_slots = 8, .buf_size = 65536,
		.bufs_per_node = 2, .max_flows = 1,
	};
	struct cm_layout l;
	struct cm_desc d = { 0 };
	u32 owner = ~0u, idx = ~0u;	/* gcc 12 cannot tell they are set */

	ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &l));
	d.addr = cm_buf_addr(&l, 1, 1);
	d.len = 0xffff;
	EXPECT_EQ(CM_BAD_NONE, cm_desc_check(&l, &d, &owner, &idx));
	d.data_off = 1;
	EXPECT_EQ(CM_BAD_NONE, cm_desc_check(&l, &d, &owner, &idx));
	d.data_off = 2;
	EXPECT_EQ(CM_BAD_LEN, cm_desc_check(&l, &d, &owner, &idx));
	d.data_off = 0xffff;
	EXPECT_EQ(CM_BAD_LEN, cm_desc_check(&l, &d, &owner, &idx));
	d.len = 14;
	d.data_off = 65536 - 14;
	EXPECT_EQ(CM_BAD_NONE, cm_desc_check(&l, &d, &owner, &idx));
	EXPECT_EQ(1, owner);
	EXPECT_EQ(1, idx);
}

/*
 * A peer that writes its head more than a ring ahead, or behind, gets
 * nothing read: the receiver sees -EPROTO and its tail stays put.
 */
TEST_F(desc, ring_index_out_of_range)
{
	const struct cm_layout *l = &self->l;
	struct chainmesh_ring_hdr *h = cm_data_ring(self->base, l, 3, 1);
	const u32 slots = l->p.ring_slots;
	static const u32 bad_head[] = { 65, 0x80000000u, 0xffffffffu, 1000 };
	struct cm_ring_cons c;
	struct cm_ring_prod p;
	struct cm_desc d;
	u32 i;

	cm_ring_cons_init(&c, h, slots);
	for (i = 0; i < sizeof(bad_head) / sizeof(bad_head[0]); i++) {
		h->head = cpu_to_le32(bad_head[i]);
		EXPECT_EQ(-EPROTO, cm_ring_cons_avail(&c)) TH_LOG("head %u", bad_head[i]);
		EXPECT_EQ(0, c.tail);
		EXPECT_EQ(0, le32_to_cpu(h->tail));
	}
	h->head = cpu_to_le32(slots);
	EXPECT_EQ((int)slots, cm_ring_cons_avail(&c));

	/* And a producer that finds the tail out of range stops. */
	h->head = cpu_to_le32(0);
	h->tail = cpu_to_le32(0x80000000u);
	cm_ring_prod_init(&p, h, slots);
	EXPECT_EQ(-EPROTO, cm_ring_prod_space(&p));
	h->tail = 0;
	cm_ring_prod_init(&p, h, slots);
	EXPECT_EQ((int)slots, cm_ring_prod_space(&p));
	mk(&d, cm_buf_addr(l, 3, 0), 0, 60);
	cm_ring_push_desc(&p, &d);
	cm_ring_publish(&p);
}

TEST_HARNESS_MAIN
