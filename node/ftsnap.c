// SPDX-License-Identifier: GPL-2.0
/*
 * A node's private snapshot of its flow table (ftsnap.h): built from where
 * the owner publishes it, validated, swapped in under RCU.
 */
#include <linux/delay.h>
#include <linux/netdevice.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include "ftsnap.h"

static void cm_ftsnap_work(struct work_struct *work);

/*
 * CM_FTSNAP_BUILDING is held for one build. Builds of small tables run
 * with BH off (softirq, or the work item under local_bh_disable()), so a
 * softirq that needs the new table may spin until one is over; a build
 * in process context with BH on sets CM_FTSNAP_LONG first, and no one
 * spins on it (it may be preempted on the spinner's CPU).
 */
enum {
	CM_FTSNAP_BUILDING,
	CM_FTSNAP_LONG,
	CM_FTSNAP_STOPPING,	/* cm_ftsnap_destroy(): queue nothing */
};

/* Every table sized for the layout's max_flows, once: a snapshot never
 * allocates. */
int cm_ftsnap_init(struct cm_ftsnap *snap, void *shared, void *log,
		   const struct cm_layout *l, u32 self, const char *name)
{
	u32 i;

	memset(snap, 0, sizeof(*snap));
	snap->shared = shared;
	snap->log = log;
	snap->flog.max = CM_FTSNAP_ROUND;
	snap->flog.buf = kvmalloc_array(l->flog_slots, sizeof(*snap->flog.buf),
					GFP_KERNEL);
	if (!snap->flog.buf)
		return -ENOMEM;
	snap->l = l;
	snap->self = self;
	snap->name = name;
	INIT_DELAYED_WORK(&snap->work, cm_ftsnap_work);
	for (i = 0; i < CM_FTSNAP_BUFS; i++) {
		snap->buf[i].snap = snap;
		snap->buf[i].t = cm_ftable_alloc(l->p.max_flows);
		if (!snap->buf[i].t)
			goto err_free;
		if (i)
			__set_bit(i, &snap->free);
	}
	/* Empty, seq 0: a table the host published has another seq and
	 * is taken at the first look. */
	snap->cur_buf = 0;
	RCU_INIT_POINTER(snap->cur, snap->buf[0].t);
	return 0;

err_free:
	while (i--)
		cm_ftable_free(snap->buf[i].t);
	kvfree(snap->flog.buf);
	return -ENOMEM;
}

/*
 * After the datapath stopped: no reader is left, but the work may be
 * running and a retired table waiting for its grace period, whose end
 * may queue the work again.
 */
void cm_ftsnap_destroy(struct cm_ftsnap *snap)
{
	u32 i;

	set_bit(CM_FTSNAP_STOPPING, &snap->flags);
	cancel_delayed_work_sync(&snap->work);
	rcu_barrier();		/* every cm_ftsnap_reclaim() is over */
	/* it may have queued us before it saw STOPPING */
	cancel_delayed_work_sync(&snap->work);
	RCU_INIT_POINTER(snap->cur, NULL);
	for (i = 0; i < CM_FTSNAP_BUFS; i++) {
		cm_ftable_free(snap->buf[i].t);
		snap->buf[i].t = NULL;
	}
	kvfree(snap->flog.buf);
	snap->flog.buf = NULL;
}

static u32 cm_ftsnap_host_seq(struct cm_ftsnap *snap)
{
	return le32_to_cpu(READ_ONCE(cm_ftable_hdr(snap->shared)->seq));
}

static u32 cm_ftsnap_head(struct cm_ftsnap *snap)
{
	return le32_to_cpu(READ_ONCE(snap->log->head));
}

/* Is there a table to take that @t is not, or increments it lacks? */
static bool cm_ftsnap_want(struct cm_ftsnap *snap, const struct cm_ftable *t)
{
	u32 seq = cm_ftsnap_host_seq(snap);
	u32 head = cm_ftsnap_head(snap);

	if (seq == t->seq && head == t->log_pos)
		return false;
	/* A refused table or log stays refused until the host writes
	 * another (the builder's fields: a stale look costs one try). */
	if (READ_ONCE(snap->flog.stuck) &&
	    READ_ONCE(snap->flog.stuck_seq) == seq &&
	    READ_ONCE(snap->flog.stuck_head) == head)
		return false;
	return !(READ_ONCE(snap->refused) &&
		 READ_ONCE(snap->refused_seq) == seq && head == t->log_pos);
}

static bool cm_ftsnap_want_now(struct cm_ftsnap *snap)
{
	bool want;

	rcu_read_lock();
	want = cm_ftsnap_want(snap, rcu_dereference(snap->cur));
	rcu_read_unlock();
	return want;
}

/* Cheap enough to rebuild in softirq? A hint from the host's header:
 * the snapshot checks what it copies. */
static bool cm_ftsnap_small(struct cm_ftsnap *snap)
{
	u32 n = le32_to_cpu(READ_ONCE(cm_ftable_hdr(snap->shared)->nflows));

	return n <= CM_FTSNAP_INLINE_MAX;
}

/* Can a build run inline, whatever the table's size? Only the log moved
 * and by few increments (hints: the build checks what it reads). */
static bool cm_ftsnap_cheap(struct cm_ftsnap *snap)
{
	const struct cm_ftable *t;
	bool cheap;

	if (cm_ftsnap_small(snap))
		return true;
	rcu_read_lock();
	t = rcu_dereference(snap->cur);
	cheap = !cm_flog_new_gen(snap->shared, t) &&
		cm_ftsnap_head(snap) - t->log_pos <= CM_FTSNAP_INLINE_LOG;
	rcu_read_unlock();
	return cheap;
}

/* The work builds at most one table per CM_FTSNAP_WORK_GAP: whatever a
 * peer writes into the shared header, a node spends a bounded share of a
 * CPU on copies (Documentation/threat-model.rst). */
#define CM_FTSNAP_WORK_GAP	msecs_to_jiffies(50)

static void cm_ftsnap_queue(struct cm_ftsnap *snap)
{
	unsigned long next = READ_ONCE(snap->work_at) + CM_FTSNAP_WORK_GAP;
	unsigned long now = jiffies;

	if (test_bit(CM_FTSNAP_STOPPING, &snap->flags))
		return;
	queue_delayed_work(system_unbound_wq, &snap->work,
			   time_before(now, next) ? next - now : 0);
}

/* A grace period after a swap: no reader holds the retired table. */
static void cm_ftsnap_reclaim(struct rcu_head *head)
{
	struct cm_ftsnap_buf *b = container_of(head, struct cm_ftsnap_buf, rcu);
	struct cm_ftsnap *snap = b->snap;

	/* done with the table before it is free */
	smp_mb__before_atomic();
	set_bit(b - snap->buf, &snap->free);
	/* A build may have found no free table meanwhile. */
	if (cm_ftsnap_want_now(snap))
		cm_ftsnap_queue(snap);
}

/*
 * cm_ftsnap_log - whole batches of the log onto @t, from its position
 * @max: increments to apply at most (rounded up to a round's batches)
 *
 * Return: increments applied, or -why (cm_flog_fetch()).
 */
static int cm_ftsnap_log(struct cm_ftsnap *snap, struct cm_ftable *t, u32 max)
{
	u32 done = 0, rounds;
	int got;

	/* bounded whatever the peer-written head says: a log's worth */
	for (rounds = 0; rounds <= snap->l->flog_slots; rounds++) {
		got = cm_flog_round(snap->log, snap->l, t, &snap->flog);
		if (got < 0)
			return got;
		done += (u32)got;
		if (!got || done >= max)
			break;
	}
	return (int)done;
}

/*
 * cm_ftsnap_from_log - bring the free table @t up to date from the log
 * @cur: the table in use, of the checkpoint's generation
 * @max: entries the caller may copy, when @t has to be a copy of @cur
 *
 * @t was retired at most two swaps ago: the log normally still holds
 * every increment since. When it does not (or @t is of an older
 * generation), @t starts as a copy of @cur.
 *
 * Return: 0 (@t is ahead of @cur: swap it in), -E2BIG (more than @max
 * to copy, or more than CM_FTSNAP_INLINE_LOG increments inline: the
 * work's), -ENOENT (the log cannot get past @cur and the checkpoint is
 * ahead of it: take the checkpoint), -EAGAIN (the host is writing the
 * checkpoint), -EPROTO (refused until the host writes again).
 */
static int cm_ftsnap_from_log(struct cm_ftsnap *snap, struct cm_ftable *t,
			      const struct cm_ftable *cur, u32 max)
{
	u32 seq = cm_ftsnap_host_seq(snap), lim, hint;
	bool inl = max < snap->l->p.max_flows;
	int got;

	if (seq & 1)
		return -EAGAIN;
	lim = inl ? CM_FTSNAP_INLINE_LOG : U32_MAX;
	if (t->gen != cur->gen || !t->seq || !t->byid_ok ||
	    cur->log_pos - t->log_pos > snap->l->flog_slots) {
copy:
		if (cur->nflows > max)
			return -E2BIG;
		/* @cur was validated when taken; only its index is ours */
		if (cm_ftable_copy(t, cur) || !cm_ftable_byid(t))
			return -EPROTO;
		cm_ftable_index(t);
		snap->copies++;
	}
	got = cm_ftsnap_log(snap, t, lim);
	if (got == -CM_FLOG_BEHIND || got == -CM_FLOG_TORN) {
		/* behind @cur: @cur's position may still be in the log */
		if ((int)(cur->log_pos - t->log_pos) > 0)
			goto copy;
	}
	if (got < 0) {
		hint = le32_to_cpu(READ_ONCE(cm_ftable_hdr(snap->shared)->log_pos));
		if ((int)(hint - cur->log_pos) > 0)
			return -ENOENT;
		cm_flog_set_stuck(snap->shared, snap->log, &snap->flog);
		return -EPROTO;
	}
	/* never back in time: the rest is the work's */
	if ((int)(t->log_pos - cur->log_pos) < 0 ||
	    (t->log_pos == cur->log_pos && cur->seq == seq))
		return inl ? -E2BIG : -EAGAIN;
	/* a checkpoint rewritten in the same generation is no news */
	t->seq = seq;
	return 0;
}

/*
 * cm_ftsnap_build - snapshot the host's table into a free buffer, swap
 * @max: entries to copy at most
 *
 * CM_FTSNAP_BUILDING held. Return: 0 (swapped; the retired table is
 * freed after a grace period), -EBUSY (no free buffer until a grace
 * period ends; cm_ftsnap_reclaim() queues the work), -EAGAIN (the host
 * was writing), -E2BIG (more than @max entries), -EPROTO (refused until
 * the host writes another table).
 */
static int cm_ftsnap_build(struct cm_ftsnap *snap, u32 max)
{
	struct cm_ftable *cur = snap->buf[snap->cur_buf].t;
	struct cm_ftsnap_buf *b;
	u32 i, old;
	int err;

	for (i = 0; i < CM_FTSNAP_BUFS; i++)
		if (test_and_clear_bit(i, &snap->free))
			break;
	if (i == CM_FTSNAP_BUFS)
		return -EBUSY;
	b = &snap->buf[i];
	if (!cm_flog_new_gen(snap->shared, cur)) {
		err = cm_ftsnap_from_log(snap, b->t, cur, max);
		if (err != -ENOENT) {
			if (err) {
				set_bit(i, &snap->free);
				return err;
			}
			goto swap;
		}
		/* the checkpoint is ahead of what the log can give */
	}
	err = cm_ftable_snapshot_max(snap->shared, snap->l, snap->self, b->t,
				     max);
	if (!err) {
		snap->flog.checkpoints++;
		/* A log refused past the checkpoint: the checkpoint alone,
		 * then wait for the host to write. */
		if (cm_ftsnap_log(snap, b->t, max < snap->l->p.max_flows ?
				  CM_FTSNAP_INLINE_LOG : U32_MAX) < 0)
			cm_flog_set_stuck(snap->shared, snap->log, &snap->flog);
	}
	if (err) {
		if (err == -EPROTO) {
			/* The failed snapshot keeps its seq. */
			WRITE_ONCE(snap->refused_seq, b->t->seq);
			WRITE_ONCE(snap->refused, true);
			net_warn_ratelimited("%s: flow table seq %u refused: bad entry\n",
					     snap->name,
					     b->t->seq);
		}
		set_bit(i, &snap->free);	/* never published */
		return err;
	}
	WRITE_ONCE(snap->refused, false);
swap:
	old = snap->cur_buf;
	snap->cur_buf = i;
	rcu_assign_pointer(snap->cur, b->t);
	call_rcu(&snap->buf[old].rcu, cm_ftsnap_reclaim);
	return 0;
}

/* Process context: the tables too large to rebuild in softirq, built
 * while packets use the old one. */
static void cm_ftsnap_work(struct work_struct *work)
{
	struct cm_ftsnap *snap = container_of(to_delayed_work(work),
					      struct cm_ftsnap, work);
	int tries, err = 0;
	bool small;

	for (tries = 0; tries < 8; tries++) {
		if (test_bit(CM_FTSNAP_STOPPING, &snap->flags) ||
		    !cm_ftsnap_want_now(snap))
			return;
		WRITE_ONCE(snap->work_at, jiffies);
		small = cm_ftsnap_small(snap);
		if (small) {
			local_bh_disable();
		} else {
			set_bit(CM_FTSNAP_LONG, &snap->flags);
			/* LONG seen by whoever sees us BUILDING */
			smp_mb__after_atomic();
		}
		if (!test_and_set_bit_lock(CM_FTSNAP_BUILDING, &snap->flags)) {
			err = cm_ftsnap_build(snap, snap->l->p.max_flows);
			if (!err)
				WRITE_ONCE(snap->work_builds,
					   snap->work_builds + 1);
			clear_bit_unlock(CM_FTSNAP_BUILDING, &snap->flags);
		} else {
			err = 0;	/* the datapath is at it */
		}
		if (small)
			local_bh_enable();
		else
			clear_bit(CM_FTSNAP_LONG, &snap->flags);
		if (err != -EAGAIN)
			return;
		/* The host is writing: a big table takes it a millisecond
		 * or so. Past that, the next packet or tick queues us. */
		usleep_range(500, 1000);
	}
}

static void cm_ftsnap_queue_idle(struct cm_ftsnap *snap)
{
	if (!test_bit(CM_FTSNAP_BUILDING, &snap->flags) &&
	    !delayed_work_pending(&snap->work))
		cm_ftsnap_queue(snap);
}

/*
 * cm_ftsnap_stale - slow path of cm_ftsnap_get(): the host's seq moved
 * @t: the table the caller has, valid until its RCU section ends
 *
 * Softirq or BH off. A table of at most CM_FTSNAP_INLINE_MAX entries is
 * rebuilt here, one try per jiffy at most whoever asks and whatever the
 * shared header says (its seq and nflows are the peers' to scribble on);
 * larger ones are left to the work item and @t is used meanwhile. A
 * caller in @need (a chain context @t does not know) waits for a build
 * that runs with BH off (bounded: a small table, or another softirq's),
 * never for the work item's long one.
 */
const struct cm_ftable *cm_ftsnap_stale(struct cm_ftsnap *snap,
					const struct cm_ftable *t, bool need)
{
	unsigned long now = jiffies;
	int tries, err;

	for (tries = 0; tries < 4; tries++) {
		if (!cm_ftsnap_want(snap, t))
			return t;
		if (!cm_ftsnap_cheap(snap)) {
			cm_ftsnap_queue_idle(snap);
			return t;
		}
		if (READ_ONCE(snap->inline_at) == now)
			return t;
		if (!test_and_set_bit_lock(CM_FTSNAP_BUILDING, &snap->flags)) {
			WRITE_ONCE(snap->inline_at, now);
			err = cm_ftsnap_build(snap, CM_FTSNAP_INLINE_MAX);
			if (!err)
				WRITE_ONCE(snap->inline_builds,
					   snap->inline_builds + 1);
			clear_bit_unlock(CM_FTSNAP_BUILDING, &snap->flags);
			/* It grew between the hint and the copy. */
			if (err == -E2BIG)
				cm_ftsnap_queue_idle(snap);
			return cm_ftsnap_deref(snap);
		}
		if (!need)
			return t;	/* the other context is building it */
		while (test_bit(CM_FTSNAP_BUILDING, &snap->flags)) {
			smp_rmb();	/* BUILDING, then LONG */
			if (test_bit(CM_FTSNAP_LONG, &snap->flags))
				return t;
			cpu_relax();
		}
		t = cm_ftsnap_deref(snap);
	}
	return t;
}

/* The tick (process context): a large table is rebuilt ahead of the
 * packets that would notice it, and increments no packet came to apply
 * are applied (what the node shows is what the host wrote). */
void cm_ftsnap_poke(struct cm_ftsnap *snap)
{
	if (!cm_ftsnap_want_now(snap))
		return;
	cm_ftsnap_queue_idle(snap);
}
