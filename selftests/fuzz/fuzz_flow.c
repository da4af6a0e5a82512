// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: a node's flow table as anyone with the region mapped
 * may have written it, then frames as a peer may have sent them. The
 * input is a layout (5 bytes), our node id, the shared table's bytes
 * (header, hops, max_flows flows; its seq forced even), then frames, each
 * a length byte and that many bytes in a buffer of exactly that size
 * (ASan catches any read past it). cm_ftable_snapshot() must refuse what
 * the datapath cannot follow; cm_flow_parse() and cm_flow_lookup() must
 * read only the frame and the snapshot, and a match must lead where the
 * datapath can go (chain < CHAINMESH_MAX_CHAINS, next hop a node or none,
 * flow id below max_flows). The snapshot lands in a table sized for the
 * layout's max_flows, as a guest's, allocated per input (ASan sees past it).
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	const struct chainmesh_flow *flow;
	struct chainmesh_ftable_hdr *h;
	struct cm_ftable *snap;
	struct cm_flow_key key;
	struct cm_layout l;
	u32 self, len, nframes = 0;
	size_t tbytes;
	void *ft;
	u8 *frame;
	int err;

	if (fz_layout(&f, &l))
		return 0;
	self = fz_u8(&f) % l.p.nodes;
	tbytes = cm_ftable_bytes(l.p.max_flows);
	ft = malloc(tbytes);
	snap = cm_ftable_alloc(l.p.max_flows);
	if (!ft || !snap) {
		free(ft);
		cm_ftable_free(snap);
		return 0;
	}
	fz_fill(&f, ft, tbytes);
	h = cm_ftable_hdr(ft);
	h->seq = cpu_to_le32(le32_to_cpu(h->seq) & ~1u);

	err = cm_ftable_snapshot(ft, &l, self, snap);
	FZ_ASSERT(err == 0 || err == -EPROTO);
	if (err) {
		FZ_ASSERT(snap->nflows == 0);
	} else {
		u32 i;

		FZ_ASSERT(snap->nflows <= l.p.max_flows);
		FZ_ASSERT(!cm_ftable_changed(ft, snap));
		for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
			const struct chainmesh_fhop *hp = &snap->hops[i];

			if (!(hp->flags & CHAINMESH_H_VALID))
				continue;
			FZ_ASSERT(hp->next == CHAINMESH_NODE_NONE ||
				  (hp->next < l.p.nodes && hp->next != self));
			if (hp->flags & CHAINMESH_H_GROUP) {
				/* whatever the flow, a group picks a peer */
				u32 p = cm_group_pick(&snap->groups[i], fz_u8(&f) * 0x01010101u);

				FZ_ASSERT(!(hp->flags & CHAINMESH_H_LAST));
				FZ_ASSERT(p == CHAINMESH_NODE_NONE ||
					  (p < l.p.nodes && p != self));
			}
		}
	}

	while (f.n && nframes++ < 16) {
		len = fz_u8(&f);
		if (len & 0x80)		/* long frames too */
			len = (len & 0x7f) << 4;
		frame = malloc(len ? len : 1);
		if (!frame)
			break;
		fz_fill(&f, frame, len);
		cm_flow_parse(frame, len, &key);
		FZ_ASSERT(key.family == 0 || key.family == 4 || key.family == 6);
		flow = cm_flow_lookup(snap, &key);
		if (flow) {
			u16 chain = le16_to_cpu(flow->chain);

			FZ_ASSERT(flow >= snap->flows && flow < snap->flows + snap->nflows);
			FZ_ASSERT(chain < CHAINMESH_MAX_CHAINS);
			FZ_ASSERT(le32_to_cpu(flow->flow_id) < l.p.max_flows);
			FZ_ASSERT(cm_flow_match(flow, &key));
		}
		free(frame);
	}
	cm_ftable_free(snap);
	free(ft);
	return 0;
}
