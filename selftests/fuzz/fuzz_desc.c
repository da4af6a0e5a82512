// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: what a node does with a data or return ring a hostile
 * peer wrote. The input is a layout (5 bytes), our node id, the ring's
 * shared head and our tail, then the ring's slots. The consumer is driven
 * exactly like the guest's NAPI poll: cm_ring_cons_avail(), then
 * cm_ring_pop_desc() + cm_desc_check() for data, cm_ring_pop_addr() +
 * cm_buf_check() for returns. Whatever passes validation must lie inside
 * one buffer of one pool of the region; the pops must stay within the
 * slots (ASan) and a refused index must not move our tail.
 */
#include "fuzz.h"

static void check_buf(const struct cm_layout *l, u64 addr, u32 owner, u32 idx)
{
	FZ_ASSERT(owner < l->p.nodes);
	FZ_ASSERT(idx < l->p.bufs_per_node);
	FZ_ASSERT(addr == cm_buf_addr(l, owner, idx));
	FZ_ASSERT(addr >= l->pools_off && addr + l->p.buf_size <= l->size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct chainmesh_ring_hdr *hdr;
	struct cm_ring_cons c;
	struct cm_layout l;
	u32 slots, owner, idx, head, tail, round;
	struct cm_desc d;
	bool ret_ring;
	size_t bytes;
	int avail, i;

	if (fz_layout(&f, &l))
		return 0;
	ret_ring = fz_u8(&f) & 1;
	slots = ret_ring ? l.ret_slots : l.p.ring_slots;
	tail = fz_u32(&f);
	head = fz_u32(&f);

	/* Exactly the header and the slots: ASan sees any stray pop. */
	bytes = sizeof(*hdr) + (size_t)slots *
		(ret_ring ? sizeof(__le64) : sizeof(struct chainmesh_desc));
	hdr = malloc(bytes);
	if (!hdr)
		return 0;
	memset(hdr, 0, sizeof(*hdr));
	fz_fill(&f, hdr + 1, bytes - sizeof(*hdr));
	hdr->tail = cpu_to_le32(tail);
	cm_ring_cons_init(&c, hdr, slots);

	/* A few polls; between them the peer moves its head again. */
	for (round = 0; round < 3; round++) {
		u32 before = c.tail;

		hdr->head = cpu_to_le32(head);
		avail = cm_ring_cons_avail(&c);
		if (avail < 0) {
			FZ_ASSERT(c.tail == before);
			FZ_ASSERT(!cm_ring_want_kick(&c));
		} else {
			FZ_ASSERT((u32)avail <= slots);
			FZ_ASSERT((u32)avail == head - before);
		}
		for (i = 0; i < avail; i++) {
			if (ret_ring) {
				u64 a = cm_ring_pop_addr(&c);

				if (cm_buf_check(&l, a, &owner, &idx) == CM_BAD_NONE)
					check_buf(&l, a, owner, idx);
				continue;
			}
			cm_ring_pop_desc(&c, &d);
			if (cm_desc_check(&l, &d, &owner, &idx) != CM_BAD_NONE)
				continue;
			check_buf(&l, d.addr, owner, idx);
			FZ_ASSERT(d.len >= CM_ETH_HLEN);
			FZ_ASSERT((u64)d.data_off + d.len <= l.p.buf_size);
			FZ_ASSERT(d.addr + d.data_off + d.len <= l.size);
		}
		if (avail > 0)
			cm_ring_release(&c);
		FZ_ASSERT(le32_to_cpu(hdr->tail) == c.tail);
		head += fz_u16(&f) - 0x8000;
	}
	free(hdr);
	return 0;
}
