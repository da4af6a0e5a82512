/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What a node knows of its peers, as every node keeps it (dp.h): which
 * peers are alive to it, which it judged broken, and what its NAPI
 * context must do when that changes. Three contexts share it:
 *
 *  - the tick (every 100 ms, process context) reads the node table,
 *    decides who died and who came (back), and publishes this node's
 *    blame word;
 *  - NAPI counts bad input per peer (cm_peers_bad()), judges, and carries
 *    out what the tick asked for, under the tx lock: take back what a
 *    dead peer held (@reclaim), then forget the ring positions of a peer
 *    that came (back) and let transmit send to it again (@resync);
 *  - transmit only tests @tx_ok (cm_peers_tx_ok()).
 *
 * The shared bitmaps use atomic bitops. A peer is *cut* while this node
 * judged it broken or the host's verdict is BROKEN: NAPI reads nothing
 * from its data ring (its return ring still, which carries only our own
 * buffers, each checked against its in-flight byte) until it is alive
 * again with a new epoch or a cleared verdict, or its judgment expired
 * (CM_JUDGE_MIN_MS). See
 * Documentation/architecture.rst, "Lifecycle" and "Broken peers".
 */
#ifndef _CHAINMESH_PEERS_H
#define _CHAINMESH_PEERS_H

#ifdef __KERNEL__
#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/jiffies.h>
#include <linux/stddef.h>
#else
#include <stddef.h>
#endif

#include "abi.h"
#include "datapath.h"
#include "layout.h"

_Static_assert(sizeof(struct chainmesh_node) == CHAINMESH_CACHELINE &&
	       offsetof(struct chainmesh_node, blame) == 32 &&
	       CHAINMESH_MAX_NODES <= 64,
	       "cm_peers: one node entry per cache line, one blame bit per node");

/* Ticks a blame bit stays clear after the peer's new life, so that the
 * host's watcher sees it clear before a judgment of that new life. */
#define CM_BLAME_HOLD		3

/* Bad input that only the peer itself can have written, as far as a node
 * may write: refused buffers, frames past their buffer, insane indices.
 * Not CM_BAD_RETURN (a forger's returns make the real holder's return
 * look bad: unattributable), nor CM_BAD_CHAIN (frames in flight while
 * the host changes a chain carry a context the new table refuses). */
static inline bool cm_bad_blames(enum cm_bad why)
{
	return why == CM_BAD_ADDR || why == CM_BAD_ALIGN ||
	       why == CM_BAD_OWNER || why == CM_BAD_LEN || why == CM_BAD_INDEX ||
	       why == CM_BAD_FRAME_LEN || why == CM_BAD_FRAME_LOOP ||
	       why == CM_BAD_FRAME_OWNER || why == CM_BAD_FRAME_CUT ||
	       why == CM_BAD_OFFLOAD;
}

/*
 * A judgment expires: in a shared region any peer can write into any
 * ring, so the blamed producer may have been framed, and a node must not
 * stay cut from an honest one for good. The first judgment lasts
 * CM_JUDGE_MIN_MS; each one that follows within CM_JUDGE_FORGET_MS of
 * the last one's end lasts twice the last, up to CM_JUDGE_MAX_MS: a peer
 * that keeps misbehaving is cut CM_JUDGE_MAX_MS at a time, then judged
 * again within bad_window_ms of its next bad input. The maximum bounds
 * how long an honest node framed by a burst stays cut after the burst
 * (Documentation/datapath.rst, "Recovery").
 */
#define CM_JUDGE_MIN_MS		500
#define CM_JUDGE_MAX_MS		4000
#define CM_JUDGE_FORGET_MS	10000

/* NAPI's count of one peer's bad input within the current window. */
struct cm_peer_judge {
	unsigned long since;		/* jiffies: the window's start */
	u32 bad;			/* blaming bad input since then */
	u32 epoch;			/* the peer's epoch when judged */
	u32 cut_ms;			/* how long the last judgment lasts */
	unsigned long until;		/* jiffies: when it ends; the tick reads */
};

struct cm_peers {
	/* Atomic bitops; see the top of the file for who writes what. */
	unsigned long judged[BITS_TO_LONGS(CHAINMESH_MAX_NODES)];
	unsigned long cut[BITS_TO_LONGS(CHAINMESH_MAX_NODES)];
	unsigned long reclaim[BITS_TO_LONGS(CHAINMESH_MAX_NODES)];
	unsigned long resync[BITS_TO_LONGS(CHAINMESH_MAX_NODES)];
	unsigned long tx_ok[BITS_TO_LONGS(CHAINMESH_MAX_NODES)];
	/* The tick's. */
	unsigned long live[BITS_TO_LONGS(CHAINMESH_MAX_NODES)];
	u32 epoch[CHAINMESH_MAX_NODES];	/* as last read; logs read it too */
	u8 hold[CHAINMESH_MAX_NODES];
	u64 blame;			/* the tick publishes, all read */
	/* NAPI's. */
	struct cm_peer_judge judge[CHAINMESH_MAX_NODES];
	u64 broken[CHAINMESH_MAX_NODES];	/* times judged; all read */
};

/* A fresh node: no peer alive to it until its first tick. */
static inline void cm_peers_init(struct cm_peers *ps, void *base,
				 const struct cm_layout *l)
{
	u32 p;

	memset(ps, 0, sizeof(*ps));
	for (p = 0; p < l->p.nodes; p++)
		ps->epoch[p] =
			le32_to_cpu(READ_ONCE(cm_node(base, l, p)->epoch));
}

/* Transmit: may we send to @peer (< nodes)? Its node entry, the host's
 * verdict, and our own view: not cut, nothing left to take back. */
static inline bool cm_peers_tx_ok(const struct cm_peers *ps, void *base,
				  const struct cm_layout *l, u32 peer)
{
	return test_bit(peer, ps->tx_ok) && cm_node_alive(base, l, peer);
}

static inline bool cm_peers_cut(const struct cm_peers *ps, u32 peer)
{
	return test_bit(peer, ps->cut);
}

/*
 * cm_peers_tick - the tick: who died, who came (back), who is cut
 * @any: set when some peer is alive to us (the carrier)
 *
 * Return: true when NAPI has something to do (reclaim or resync).
 */
static inline bool cm_peers_tick(struct cm_peers *ps, void *base,
				 const struct cm_layout *l, u32 self, bool *any)
{
	bool work = false, was, live, renewed, cut;
	struct chainmesh_node *e;
	u64 blame = 0;
	u32 p, epoch;

	*any = false;
	for (p = 0; p < l->p.nodes; p++) {
		if (p == self)
			continue;
		e = cm_node(base, l, p);
		/* Pairs with the release of a new life's epoch: the rings it
		 * reset are visible before we let NAPI resync with them. */
		epoch = le32_to_cpu(smp_load_acquire(&e->epoch));
		/* A new life is not judged by the last one's input, and a
		 * judgment expires (CM_JUDGE_MIN_MS). */
		if (test_bit(p, ps->judged)) {
			/* NAPI wrote the judged epoch and end before the bit. */
			smp_rmb();
			if (epoch != READ_ONCE(ps->judge[p].epoch) ||
			    time_after(jiffies, READ_ONCE(ps->judge[p].until))) {
				clear_bit(p, ps->judged);
				ps->hold[p] = CM_BLAME_HOLD;
			}
		}
		cut = test_bit(p, ps->judged) ||
		      le32_to_cpu(READ_ONCE(e->host_state)) ==
		      CHAINMESH_NODE_BROKEN;
		if (cut)
			set_bit(p, ps->cut);
		live = !cut && cm_node_alive(base, l, p);
		renewed = epoch != ps->epoch[p];
		WRITE_ONCE(ps->epoch[p], epoch);
		was = test_bit(p, ps->live);

		/* Died (or died and came back within a tick): NAPI takes
		 * back what it held before transmit sends to it again. */
		if (was && (!live || renewed)) {
			clear_bit(p, ps->tx_ok);
			clear_bit(p, ps->resync);
			clear_bit(p, ps->live);
			smp_mb__before_atomic();
			set_bit(p, ps->reclaim);
			work = true;
			was = false;
		}
		if (live && !was) {
			set_bit(p, ps->live);
			smp_mb__before_atomic();
			set_bit(p, ps->resync);
			work = true;
		}
		*any |= live;
		if (ps->hold[p])
			ps->hold[p]--;
		else if (test_bit(p, ps->judged))
			blame |= 1ull << p;
	}
	WRITE_ONCE(ps->blame, blame);
	return work;
}

/*
 * cm_peers_bad - NAPI: @n bad inputs from @peer (cm_bad_blames() ones)
 * @limit: this many within @window_ms judge it broken; 0: never
 *
 * Return: true when this judged @peer broken: it is cut at once (NAPI
 * reads its data ring no more) and nothing more is sent to it; the tick
 * reports it to the host and takes back what it held.
 */
static inline bool cm_peers_bad(struct cm_peers *ps, void *base,
				const struct cm_layout *l, u32 peer, u32 n,
				u32 limit, u32 window_ms)
{
	struct cm_peer_judge *j = &ps->judge[peer];
	unsigned long now = jiffies;

	if (!n || !limit || test_bit(peer, ps->judged))
		return false;
	if (!j->bad ||
	    time_after(now, j->since + msecs_to_jiffies(window_ms))) {
		j->since = now;
		j->bad = 0;
	}
	j->bad += n;
	if (j->bad < limit)
		return false;
	j->bad = 0;
	/* Back-off: twice the last judgment's length if that one ended
	 * less than CM_JUDGE_FORGET_MS ago. */
	if (j->cut_ms && !time_after(now, j->until +
				     msecs_to_jiffies(CM_JUDGE_FORGET_MS)))
		j->cut_ms = j->cut_ms * 2 > CM_JUDGE_MAX_MS ? CM_JUDGE_MAX_MS :
			    j->cut_ms * 2;
	else
		j->cut_ms = CM_JUDGE_MIN_MS;
	WRITE_ONCE(j->until, now + msecs_to_jiffies(j->cut_ms));
	WRITE_ONCE(j->epoch,
		   le32_to_cpu(READ_ONCE(cm_node(base, l, peer)->epoch)));
	WRITE_ONCE(ps->broken[peer], ps->broken[peer] + 1);
	clear_bit(peer, ps->tx_ok);
	set_bit(peer, ps->cut);
	/* Pairs with the tick's smp_rmb(): the epoch before the bit. */
	smp_mb__before_atomic();
	set_bit(peer, ps->judged);
	return true;
}

/* NAPI, under the tx lock, after resyncing its side of @peer's rings:
 * read its data ring again, and send to it if it is still alive. */
static inline void cm_peers_resynced(struct cm_peers *ps, u32 peer)
{
	ps->judge[peer].bad = 0;
	if (!test_bit(peer, ps->judged))
		clear_bit(peer, ps->cut);
	if (test_bit(peer, ps->live))
		set_bit(peer, ps->tx_ok);
}

#endif /* _CHAINMESH_PEERS_H */
