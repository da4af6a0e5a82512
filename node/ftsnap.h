/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _CM_FTSNAP_H
#define _CM_FTSNAP_H

#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include <chainmesh/flow.h>
#include <chainmesh/flowlog.h>
#include <chainmesh/layout.h>

/*
 * This node's private copy of its flow table, one per node, shared by the
 * transmit path, XDP and NAPI. The owner publishes the table in the
 * region's format (flow.h, cm_ftable_publish()): a guest's host in the
 * guest's slice of the region, the host for node 0 in host memory that no
 * peer can write. Either way it is copied and validated before use. Readers take @cur under RCU; a new copy is
 * built into a free buffer and swapped in, and the table it replaced is
 * free again only after a grace period. Small tables are rebuilt inline
 * by the first reader that sees the host's sequence counter move; larger
 * ones by @work, so that packets keep using the old table meanwhile.
 * Three buffers: two builds may follow each other within a grace period.
 *
 * Between checkpoints of a new generation the owner appends increments to
 * our flow log (flowlog.h): a free buffer is brought up to date from the
 * log (it was retired at most two swaps ago, and the log still holds the
 * increments since: a copy of the current table when it does not), whole
 * batches at a time, and swapped in. That is bounded work per increment
 * whatever the table's size, so it runs inline for up to
 * CM_FTSNAP_INLINE_LOG increments, in the work item beyond.
 */
#define CM_FTSNAP_BUFS	3

struct cm_ftsnap;

struct cm_ftsnap_buf {
	struct cm_ftable *t;
	struct cm_ftsnap *snap;
	struct rcu_head rcu;		/* after the swap retiring it */
};

struct cm_ftsnap {
	struct cm_ftable __rcu *cur;	/* validated, in use */
	void *shared;			/* where our table is published */
	struct chainmesh_flog_hdr *log;	/* and its flow log */
	unsigned long flags;		/* CM_FTSNAP_* bits */
	unsigned long free;		/* bit i: @buf[i] is free */
	const struct cm_layout *l;	/* the node's */
	u32 self;
	const char *name;		/* for warnings: the netdev's */
	u32 cur_buf;			/* @buf holding @cur, builder's */
	u32 refused_seq;		/* of a table that failed validation */
	bool refused;
	struct delayed_work work;	/* rebuilds large tables */
	unsigned long work_at;		/* jiffies: the work's last try */
	unsigned long inline_at;	/* jiffies: the last inline try */
	u64 inline_builds;		/* debugfs; the builder writes */
	u64 work_builds;
	u64 copies;			/* of @cur, the log not enough */
	struct cm_flog_node flog;	/* reading @log; the builder's */
	struct cm_ftsnap_buf buf[CM_FTSNAP_BUFS];
};

/*
 * Inline rebuild limit (entries): a snapshot of 1024 flows costs about
 * 20 us, one of 10 000 about 200 us (Documentation/performance.rst);
 * 4096 keeps a softirq's worst case under 0.1 ms.
 */
#define CM_FTSNAP_INLINE_MAX	4096

/* Increments a build applies inline at most (a round takes whole batches,
 * so one more batch at most); about 0.1 us each at 100 000 flows
 * (Documentation/performance.rst). */
#define CM_FTSNAP_INLINE_LOG	1024
#define CM_FTSNAP_ROUND		256	/* increments a round takes */

int cm_ftsnap_init(struct cm_ftsnap *snap, void *shared, void *log,
		   const struct cm_layout *l, u32 self, const char *name);
void cm_ftsnap_destroy(struct cm_ftsnap *snap);
const struct cm_ftable *cm_ftsnap_stale(struct cm_ftsnap *snap,
					const struct cm_ftable *t, bool need);
void cm_ftsnap_poke(struct cm_ftsnap *snap);

static inline const struct cm_ftable *cm_ftsnap_deref(struct cm_ftsnap *snap)
{
	/* softirq (transmit, NAPI, XDP) or rcu_read_lock() */
	return rcu_dereference_check(snap->cur, rcu_read_lock_bh_held());
}

/*
 * cm_ftsnap_get - the table to classify with, under RCU
 * @need: the caller cannot go on with the current table (a chain context
 *	it does not know): rebuild inline if at all possible.
 *
 * The fast path compares the host's sequence counter and log head.
 */
static inline bool cm_ftsnap_log_moved(struct cm_ftsnap *snap,
				       const struct cm_ftable *t)
{
	return le32_to_cpu(READ_ONCE(snap->log->head)) != t->log_pos;
}

static inline const struct cm_ftable *cm_ftsnap_get(struct cm_ftsnap *snap,
						    bool need)
{
	const struct cm_ftable *t = cm_ftsnap_deref(snap);

	if (likely(!cm_ftable_changed(snap->shared, t) &&
		   !cm_ftsnap_log_moved(snap, t)))
		return t;
	return cm_ftsnap_stale(snap, t, need);
}

#endif /* _CM_FTSNAP_H */
