/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Flow logs: a node's flow table changes by increments (add, replace or
 * delete one flow) that the host appends to the node's log in the region
 * (struct chainmesh_flog_hdr, flog_slots entries); the node applies them
 * to its private table and index in order, in bounded work each
 * (cm_ftable_set(), cm_ftable_del()). The node's table in the region
 * (flow.h) stays, as the log's checkpoint: it holds every increment below
 * its log_pos, and the host rewrites it before the log would overwrite an
 * increment the checkpoint does not hold. A node that fell further behind
 * than the log holds, or finds an increment torn or forged, takes the
 * checkpoint and replays the log from its position.
 *
 * Log contract, per entry at position p (slot p & (flog_slots - 1)):
 *
 *  [L1] host:  seq = p; smp_wmb(); op, flags, flow;
 *              smp_store_release(seq, p + 1); ... after the batch's
 *              last entry (CHAINMESH_FLOG_END): smp_store_release(head)
 *  [L2] node:  h = smp_load_acquire(head); for p below h:
 *              smp_load_acquire(seq) == p + 1; copy; smp_rmb();
 *              seq == p + 1, else the entry is torn (being rewritten
 *              for p + flog_slots: the node is behind)
 *
 * [L1] pairs with [L2]: the head's release orders the batch's entries
 * before it; an entry's own seq tells a copy taken while the host
 * rewrote its slot. The host keeps head - checkpoint's log_pos <=
 * flog_slots ([L3], cm_flog_host_batch()), so the entries a node needs
 * after taking the checkpoint are all in the log.
 *
 * A batch becomes visible to lookups together: the host moves the head
 * only past whole batches, a node applies whole batches only (one round
 * into one private table, published to the datapath as one), and it
 * validates every entry of a round before it applies the first.
 */
#ifndef _CHAINMESH_FLOWLOG_H
#define _CHAINMESH_FLOWLOG_H

#include "flow.h"

static inline struct chainmesh_flog_ent *
cm_flog_ent(struct chainmesh_flog_hdr *log, u32 slots, u32 pos)
{
	return (struct chainmesh_flog_ent *)(log + 1) + (pos & (slots - 1));
}

/* An increment as the host makes it. */
struct cm_flog_op {
	u8 op;				/* CHAINMESH_FLOG_* */
	struct chainmesh_flow flow;	/* DELETE: flow_id only */
};

/* The host's side of one node's log. */
struct cm_flog_host {
	u32 head;			/* next position */
	u32 ckpt;			/* log_pos of the region's checkpoint */
	u32 slots;
	u32 gen;			/* of the checkpoint, as written */
	u64 appended;			/* increments written */
	u64 checkpoints;		/* checkpoints rewritten */
};

/* @w for a log of @slots entries, empty; the checkpoint's position 0. */
static inline void cm_flog_host_init(struct cm_flog_host *w,
				     struct chainmesh_flog_hdr *log, u32 slots)
{
	memset(w, 0, sizeof(*w));
	w->slots = slots;
	smp_store_release(&log->head, cpu_to_le32(0));
}

/* [L1] one entry */
static inline void cm_flog_write(struct chainmesh_flog_hdr *log, u32 slots,
				 u32 pos, const struct cm_flog_op *op, bool end)
{
	struct chainmesh_flog_ent *e = cm_flog_ent(log, slots, pos);

	WRITE_ONCE(e->seq, cpu_to_le32(pos));
	smp_wmb();
	e->op = op->op;
	e->flags = end ? CHAINMESH_FLOG_END : 0;
	e->pad0 = 0;
	memset(e->pad1, 0, sizeof(e->pad1));
	memcpy(&e->flow, &op->flow, sizeof(e->flow));
	smp_store_release(&e->seq, cpu_to_le32(pos + 1));
}

/* [L3] @t as the checkpoint at the log's head; @newgen as
 * cm_ftable_checkpoint(). */
static inline void cm_flog_host_ckpt(struct cm_flog_host *w, void *ft,
				     const struct cm_ftable *t, bool newgen)
{
	cm_ftable_checkpoint(ft, t, w->head, newgen);
	w->ckpt = w->head;
	/* just written: a peer's later scribble is the re-assertion's */
	w->gen = le32_to_cpu(READ_ONCE(cm_ftable_hdr(ft)->gen));
	w->checkpoints++;
}

/* One increment on a table whose @byid is current; @t->cap holds every
 * flow id. Return: as cm_ftable_set() / cm_ftable_del() (a delete of an
 * absent flow is no error: 1). */
static inline int cm_flog_apply_one(struct cm_ftable *t,
				    const struct cm_flog_op *op)
{
	if (op->op == CHAINMESH_FLOG_DELETE)
		return cm_ftable_del(t, le32_to_cpu(op->flow.flow_id));
	return cm_ftable_set(t, &op->flow);
}

/*
 * cm_flog_host_batch - host side: append @n increments as one batch
 * @ft: the node's table in the region (the checkpoint)
 * @t: the host's copy of that table (byid current: cm_ftable_byid()),
 *     which gets the increments too
 *
 * [L3] The checkpoint is rewritten first when the batch would overwrite
 * an increment it does not hold, and instead of the log, as a new
 * generation, for a batch of more than half the log. O(@n), plus a checkpoint copy once per about
 * flog_slots increments. Return: 0, or -EINVAL (@t has no byid; nothing
 * written).
 */
static inline int cm_flog_host_batch(struct cm_flog_host *w,
				     struct chainmesh_flog_hdr *log, void *ft,
				     struct cm_ftable *t,
				     const struct cm_flog_op *ops, u32 n)
{
	u32 i;

	if (!t->byid_ok)
		return -EINVAL;
	if (!n)
		return 0;
	if (n > w->slots / 2) {
		/* a new generation: every node takes it, none replays it */
		for (i = 0; i < n; i++)
			cm_flog_apply_one(t, &ops[i]);
		cm_flog_host_ckpt(w, ft, t, true);
		return 0;
	}
	if (w->head + n - w->ckpt > w->slots)
		cm_flog_host_ckpt(w, ft, t, false);
	for (i = 0; i < n; i++) {
		cm_flog_write(log, w->slots, w->head + i, &ops[i], i == n - 1);
		cm_flog_apply_one(t, &ops[i]);
	}
	w->head += n;
	w->appended += n;
	smp_store_release(&log->head, cpu_to_le32(w->head));
	return 0;
}

/*
 * cm_flog_host_reset - host side: @t changed in a way the log does not
 * carry (chains, hops, a recompile): publish it as a new generation, the
 * checkpoint at the log's head, which every node takes.
 */
static inline void cm_flog_host_reset(struct cm_flog_host *w, void *ft,
				      const struct cm_ftable *t)
{
	cm_flog_host_ckpt(w, ft, t, true);
}

/*
 * cm_flog_host_reassert - host side, at a slow pace: the region holds
 * again what the host published, the checkpoint brought up to the head
 * @t: the host's copy (the checkpoint plus every increment in the log)
 *
 * Only the host writes a node's table and log, but peers can scribble on
 * them. A head not ours is written back, and so is the checkpoint, as a
 * new generation: a node may have applied increments the forged head
 * showed it. A checkpoint header that is not what the host wrote last
 * (seq open or zero, gen or log_pos not ours), or one at the head whose
 * entries differ from @t, was scribbled on: it is written again as a new
 * generation, which every node takes, also one that took the forged one. A checkpoint the log moved past is rewritten
 * at the head in the same generation: nodes reading their logs go on,
 * and one that fell behind takes a recent checkpoint. O(nflows), and a
 * checkpoint copy only where one of the above holds.
 * Return: true when the checkpoint was written.
 */
static inline bool cm_flog_host_reassert(struct cm_flog_host *w,
					 struct chainmesh_flog_hdr *log,
					 void *ft, const struct cm_ftable *t)
{
	struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
	u32 seq = le32_to_cpu(READ_ONCE(h->seq));
	bool forged = false;

	/* a node may have applied what a forged head showed it */
	if (le32_to_cpu(READ_ONCE(log->head)) != w->head) {
		smp_store_release(&log->head, cpu_to_le32(w->head));
		forged = true;
	}
	forged |= !seq || (seq & 1) ||
		 le32_to_cpu(READ_ONCE(h->gen)) != w->gen ||
		 le32_to_cpu(READ_ONCE(h->log_pos)) != w->ckpt ||
		 (w->ckpt == w->head && !cm_ftable_same(ft, t));
	if (!forged && w->ckpt == w->head)
		return false;
	cm_flog_host_ckpt(w, ft, t, forged);
	return true;
}

/* Why a node stopped reading its log; counted per reason. */
enum cm_flog_why {
	CM_FLOG_OK,
	CM_FLOG_BEHIND,		/* the log no longer holds its position */
	CM_FLOG_TORN,		/* an entry rewritten while copied */
	CM_FLOG_REFUSED,	/* an entry out of range, or a batch cut short */
	__CM_FLOG_WHY_MAX
};

/*
 * cm_flog_fetch - [L2] copy and validate the whole batches after @pos
 * @buf: room for l->flog_slots entries
 * @max: entries to take, rounded up to the end of a batch
 *
 * Reads each peer-written field once, from the private copy after the
 * seq check. Return: entries copied (0: none new), or -why: the node has
 * to take the checkpoint.
 */
static inline int cm_flog_fetch(struct chainmesh_flog_hdr *log,
				const struct cm_layout *l, u32 pos,
				struct chainmesh_flog_ent *buf, u32 max)
{
	u32 head, avail, i, s, done = 0, op, id;
	struct chainmesh_flog_ent *e;

	head = le32_to_cpu(smp_load_acquire(&log->head));
	avail = head - pos;
	if (!avail)
		return 0;
	if (avail > l->flog_slots)
		return -CM_FLOG_BEHIND;
	for (i = 0; i < avail; i++) {
		e = cm_flog_ent(log, l->flog_slots, pos + i);
		s = le32_to_cpu(smp_load_acquire(&e->seq));
		if (s != pos + i + 1)
			return -CM_FLOG_TORN;
		memcpy(&buf[i], e, sizeof(*e));
		smp_rmb();
		if (le32_to_cpu(READ_ONCE(e->seq)) != s)
			return -CM_FLOG_TORN;
		/* the private copy from here on */
		op = buf[i].op;
		id = le32_to_cpu(buf[i].flow.flow_id);
		if (op < CHAINMESH_FLOG_ADD || op > CHAINMESH_FLOG_DELETE ||
		    (buf[i].flags & ~CHAINMESH_FLOG_END) ||
		    id >= l->p.max_flows ||
		    (op != CHAINMESH_FLOG_DELETE &&
		     le16_to_cpu(buf[i].flow.chain) >= CHAINMESH_MAX_CHAINS))
			return -CM_FLOG_REFUSED;
		if (buf[i].flags & CHAINMESH_FLOG_END) {
			done = i + 1;
			if (done >= max)
				break;
		}
	}
	/* the host moves the head past whole batches only */
	if (!done || (i == avail && done != avail))
		return -CM_FLOG_REFUSED;
	return (int)done;
}

/*
 * cm_flog_apply - @n fetched entries onto @t, in order
 *
 * Never fails half way: the entries were validated, every flow id is
 * below max_flows <= @t->cap and unique in @t (@byid current, checked
 * first). The index is kept by each increment; if one could not keep it
 * (it has to grow, or a probe budget ran out) it is rebuilt once, at the
 * end. Return: 0, or -EINVAL (@t cannot take increments: nothing done).
 */
static inline int cm_flog_apply(struct cm_ftable *t, const struct cm_layout *l,
				const struct chainmesh_flog_ent *buf, u32 n)
{
	struct cm_flog_op op;
	u32 i;

	if (!t->byid_ok || t->cap < l->p.max_flows)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		op.op = buf[i].op;
		memcpy(&op.flow, &buf[i].flow, sizeof(op.flow));
		cm_flog_apply_one(t, &op);
	}
	t->log_pos += n;
	if (!cm_fidx_current(t))
		cm_ftable_index(t);
	return 0;
}

/* A node's reading of its log. */
struct cm_flog_node {
	struct chainmesh_flog_ent *buf;	/* [flog_slots], private */
	u32 max;			/* entries per round (whole batches) */
	u32 stuck_seq;			/* the log cannot be read past here */
	u32 stuck_head;			/* until one of these moves */
	bool stuck;
	u64 applied;			/* increments */
	u64 rounds;
	u64 checkpoints;		/* checkpoints taken */
	u64 fallbacks[__CM_FLOG_WHY_MAX];	/* log reads failed, by why */
};

/* Does the node have to take the checkpoint at @ft, whatever its log? */
static inline bool cm_flog_new_gen(void *ft, const struct cm_ftable *t)
{
	struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
	u32 seq = le32_to_cpu(READ_ONCE(h->seq));

	if (seq == t->seq)
		return false;
	return !t->seq || le32_to_cpu(READ_ONCE(h->gen)) != t->gen;
}

/* One round of the log onto @t. Return: as cm_flog_fetch(). */
static inline int cm_flog_round(struct chainmesh_flog_hdr *log,
				const struct cm_layout *l, struct cm_ftable *t,
				struct cm_flog_node *r)
{
	int got = cm_flog_fetch(log, l, t->log_pos, r->buf, r->max);

	if (got > 0 && cm_flog_apply(t, l, r->buf, (u32)got))
		got = -CM_FLOG_REFUSED;	/* a table the log cannot edit */
	if (got < 0) {
		r->fallbacks[-got]++;
		return got;
	}
	r->applied += (u32)got;
	r->rounds += !!got;
	return got;
}

/* The log cannot be read past where it failed until the host writes
 * the checkpoint or the log again: no copy per poll meanwhile. */
static inline void cm_flog_set_stuck(void *ft, struct chainmesh_flog_hdr *log,
				     struct cm_flog_node *r)
{
	r->stuck = true;
	r->stuck_seq = le32_to_cpu(READ_ONCE(cm_ftable_hdr(ft)->seq));
	r->stuck_head = le32_to_cpu(READ_ONCE(log->head));
}

/*
 * cm_flog_sync - bring a node's table up to date, one round: the whole
 * batches in its log (up to about @r->max increments), or, when it has
 * to, the checkpoint and then the log from the checkpoint's position.
 * @cur: the table in use, edited in place (single-threaded users: lookups
 *	 run between rounds); @spare: a checkpoint is taken into it, then
 *	 the two are swapped
 *
 * The node takes the checkpoint for a new generation, or when the log
 * failed it (behind, torn, refused) and the checkpoint is ahead of it;
 * a checkpoint that is not would not get it past the failure, so it
 * keeps its table and waits for the host to write.
 *
 * Return: increments applied (>= 0), or -EAGAIN (the host was writing the
 * checkpoint: try later), -EPROTO (the checkpoint is refused, or the log
 * cannot be read past a failure: waits for the host to write either).
 */
static inline int cm_flog_sync(void *ft, struct chainmesh_flog_hdr *log,
			       const struct cm_layout *l, u32 self,
			       struct cm_ftable **cur, struct cm_ftable **spare,
			       struct cm_flog_node *r)
{
	bool ckpt = cm_flog_new_gen(ft, *cur);
	struct cm_ftable *t;
	u32 hint;
	int got, err;

	if (!(*cur)->seq && !ckpt)
		return 0;	/* the host published nothing yet */
	if (r->stuck &&
	    r->stuck_seq == le32_to_cpu(READ_ONCE(cm_ftable_hdr(ft)->seq)) &&
	    r->stuck_head == le32_to_cpu(READ_ONCE(log->head)))
		return -EPROTO;
	r->stuck = false;
	if (!ckpt) {
		got = cm_flog_round(log, l, *cur, r);
		if (got >= 0)
			return got;
		/* a hint: the snapshot reads it again under seq */
		hint = le32_to_cpu(READ_ONCE(cm_ftable_hdr(ft)->log_pos));
		if ((int)(hint - (*cur)->log_pos) <= 0) {
			cm_flog_set_stuck(ft, log, r);
			return -EPROTO;
		}
	}
	err = cm_ftable_snapshot(ft, l, self, *spare);
	if (err) {
		if (err == -EAGAIN)
			return -EAGAIN;
		cm_flog_set_stuck(ft, log, r);
		return -EPROTO;
	}
	t = *cur;
	*cur = *spare;
	*spare = t;
	r->checkpoints++;
	got = cm_flog_round(log, l, *cur, r);
	if (got < 0) {
		cm_flog_set_stuck(ft, log, r);
		return -EPROTO;
	}
	return got;
}

#endif /* _CHAINMESH_FLOWLOG_H */
