// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a node's flow log and its checkpoint as anyone with
 * the region mapped may have written them. The input is a layout (5
 * bytes), our node id, the checkpoint's bytes (header, hops, max_flows
 * flows; its seq forced even and nonzero), the log's bytes (header and
 * flog_slots entries), then up to 8 polls, each a byte (bit 0: a new head
 * from the next 4 bytes first). After every cm_flog_sync(), whatever it
 * returned: the table holds at most max_flows entries, its id map and
 * index agree with its entries, and a lookup through the index finds what
 * a scan in table order finds (the increments edited both), so no torn,
 * forged or half-applied increment can leave the node a table it cannot
 * follow.
 */
#include "fuzz.h"
#include <chainmesh/flowlog.h>
#include "../unit/flow_ref.h"

static void fz_check(const struct cm_ftable *t)
{
	struct cm_flow_key k;
	u32 i, j;

	FZ_ASSERT(t->nflows <= t->cap);
	if (t->byid_ok)
		for (i = 0; i < t->nflows; i++)
			FZ_ASSERT(t->byid[le32_to_cpu(t->flows[i].flow_id)] == i);
	if (!cm_fidx_current(t))
		return;
	/* each flow's own key, and its value with the other bits set */
	for (i = 0; i < t->nflows; i++) {
		const struct chainmesh_flow *f = &t->flows[i];

		for (j = 0; j < 2; j++) {
			memset(&k, j ? 0xff : 0, sizeof(k));
			k.family = f->family;
			k.proto = f->ip_proto;
			k.vlan = f->vlan;
			k.sport = (k.sport & ~f->sport_mask) | f->sport;
			k.dport = (k.dport & ~f->dport_mask) | f->dport;
			memcpy(k.src, f->src, sizeof(k.src));
			memcpy(k.dst, f->dst, sizeof(k.dst));
			FZ_ASSERT(cm_flow_lookup(t, &k) == cm_ref_rank(t, &k));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct cm_ftable *cur = NULL, *spare = NULL;
	struct cm_flog_node r = { 0 };
	struct chainmesh_flog_hdr *log = NULL;
	struct chainmesh_ftable_hdr *h;
	struct cm_layout l;
	u32 self, poll, pos;
	u64 ckpts;
	void *ft = NULL;
	int got;

	if (fz_layout(&f, &l))
		return 0;
	self = fz_u8(&f) % l.p.nodes;
	ft = malloc(cm_ftable_bytes(l.p.max_flows));
	log = malloc(cm_flog_bytes(l.flog_slots));
	cur = cm_ftable_alloc(l.p.max_flows);
	spare = cm_ftable_alloc(l.p.max_flows);
	r.buf = calloc(l.flog_slots, sizeof(*r.buf));
	r.max = 1 + fz_u8(&f) % 16;
	if (!ft || !log || !cur || !spare || !r.buf)
		goto out_free;
	fz_fill(&f, ft, cm_ftable_bytes(l.p.max_flows));
	h = cm_ftable_hdr(ft);
	h->seq = cpu_to_le32((le32_to_cpu(h->seq) & ~1u) | 2);
	fz_fill(&f, log, cm_flog_bytes(l.flog_slots));

	for (poll = 0; poll < 8 && f.n; poll++) {
		u8 what = fz_u8(&f);

		if (what & 1)
			log->head = cpu_to_le32(fz_u32(&f));
		pos = cur->log_pos;
		ckpts = r.checkpoints;
		got = cm_flog_sync(ft, log, &l, self, &cur, &spare, &r);
		FZ_ASSERT(got >= -EPROTO);
		FZ_ASSERT(got == -EAGAIN || got == -EPROTO || got >= 0);
		if (got >= 0 && r.checkpoints == ckpts)
			FZ_ASSERT(cur->log_pos == pos + (u32)got);
		fz_check(cur);
	}
out_free:
	free(r.buf);
	cm_ftable_free(spare);
	cm_ftable_free(cur);
	free(log);
	free(ft);
	return 0;
}
