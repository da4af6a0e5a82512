/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The host's watcher: its verdict on each node (the host_state it writes
 * in the node's entry), from what the node wrote (state, epoch, heartbeat)
 * and what the live nodes report of it (blame). One logic for the host
 * module (host/mesh.c) and for chainmesh-mesh, the mesh with no kernel
 * module (tools/chainmesh-mesh.c); each calls cm_watch_node() for every
 * node but its own, every tick (~100 ms), and does the rest: writing the
 * verdict, logging, telling netlink, republishing the tables.
 *
 * Everything a node wrote is read once per field and only compared.
 */
#ifndef _CHAINMESH_LIVENESS_H
#define _CHAINMESH_LIVENESS_H

#include "abi.h"
#include "compat.h"

/* What the watcher remembers of a node between two ticks. */
struct cm_node_watch {
	u64 heartbeat;
	u32 epoch;
	u32 state;		/* the node's own state, as last read */
	u32 verdict;		/* host_state we last wrote */
	u64 moved;		/* ms when heartbeat, epoch or state last moved */
	unsigned int still;	/* ticks since then */
	bool down;		/* this life (epoch) stood still too long */
	bool broken;		/* this life (epoch) was reported broken */
	u64 blame;		/* the nodes it reports broken, as last read */
	u64 stale;		/* nodes whose report predates its epoch */
};

/* What cm_watch_node() found, for the caller to log. */
struct cm_watch_news {
	bool taken_back;	/* a broken node rejoined: a new life */
	u64 broken_by;		/* reported broken by these nodes, just now */
};

/* Node states a peer may have written; anything else is broken. */
static inline u32 cm_state_sanitize(u32 state)
{
	return state <= CHAINMESH_NODE_BROKEN ? state : CHAINMESH_NODE_BROKEN;
}

/* Live nodes that report node @n broken: bit r for node r; @self (the
 * watcher's own node) is always live. @nw[].blame read for this tick. */
static inline u64 cm_watch_reporters(const struct cm_node_watch *nw,
				     u32 nodes, u32 self, u32 n)
{
	u64 who = 0;
	u32 r;

	for (r = 0; r < nodes; r++)
		if (r != n && (nw[r].blame >> n & 1) &&
		    (r == self || nw[r].verdict == CHAINMESH_NODE_UP))
			who |= 1ull << r;
	return who;
}

/*
 * Is node @n's current life broken? Reports that were there when it came
 * back (a new epoch) are about its last life: they count again only
 * once their reporter has cleared them. @judge false (the policy's
 * bad_limit 0): reports are remembered, no node is judged.
 */
static inline bool cm_watch_judge(struct cm_node_watch *nw, u32 nodes,
				  u32 self, u32 n, bool new_life, bool judge,
				  struct cm_watch_news *news)
{
	struct cm_node_watch *w = &nw[n];
	u64 who = cm_watch_reporters(nw, nodes, self, n);

	if (new_life) {
		news->taken_back = w->broken;
		w->broken = false;
		w->stale = who;
	}
	w->stale &= who;
	who &= ~w->stale;
	if (w->broken || !who || !judge)
		return w->broken;
	w->broken = true;
	news->broken_by = who;
	return true;
}

/*
 * cm_watch_node - the verdict on node @n this tick, from its entry @e
 * @now_ms: the watcher's clock; @dead_ms: how long a node that is up
 * may show no life (no heartbeat, epoch or state change) before it is
 * DOWN for the rest of its life; it must also have stood still for that
 * many ticks (dead_ms / 100), so that a watcher whose ticks come late
 * does not call a node down for the time it slept itself.
 *
 * Return: the verdict (a CHAINMESH_NODE_* state); the caller writes it
 * as the node's host_state and records it in @nw[n].verdict.
 */
static inline u32 cm_watch_node(struct cm_node_watch *nw, u32 nodes, u32 self,
				u32 n, const struct chainmesh_node *e,
				u64 now_ms, unsigned int dead_ms, bool judge,
				struct cm_watch_news *news)
{
	struct cm_node_watch *w = &nw[n];
	u32 state, epoch, verdict;
	bool new_life;
	u64 hb;

	news->taken_back = false;
	news->broken_by = 0;
	state = cm_state_sanitize(le32_to_cpu(READ_ONCE(e->state)));
	epoch = le32_to_cpu(READ_ONCE(e->epoch));
	hb = le64_to_cpu(READ_ONCE(e->heartbeat));
	new_life = epoch != w->epoch;

	/* A state change counts as life: a node that just left ABSENT has
	 * not ticked yet, and must not be judged by its time away. */
	if (hb != w->heartbeat || new_life || state != w->state) {
		w->heartbeat = hb;
		w->epoch = epoch;
		w->state = state;
		w->moved = now_ms;
		w->still = 0;
	} else if (w->still < dead_ms / 100) {
		w->still++;
	}

	/* Down is for the rest of this life: its peers took back what they
	 * had sent it, so a node that was only stalled must see the verdict
	 * and rejoin as a new epoch (the fence), not just carry on. */
	if (new_life)
		w->down = false;
	if ((state == CHAINMESH_NODE_UP || state == CHAINMESH_NODE_JOINING) &&
	    w->still >= dead_ms / 100 && now_ms - w->moved > dead_ms)
		w->down = true;

	verdict = state;
	if (w->down &&
	    (state == CHAINMESH_NODE_UP || state == CHAINMESH_NODE_JOINING))
		verdict = CHAINMESH_NODE_DOWN;
	if (cm_watch_judge(nw, nodes, self, n, new_life, judge, news))
		verdict = CHAINMESH_NODE_BROKEN;
	return verdict;
}

#endif /* _CHAINMESH_LIVENESS_H */
