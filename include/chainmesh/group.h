/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Replica groups: a hop of a chain that is several nodes running the same
 * function (Documentation/datapath.rst, "Replica groups").
 *
 * A chain's hops are the positions of struct cm_chain.hops; bit j of
 * @grp says that position j is a replica of the same hop as position
 * j - 1 (bit 0 is never set), so `0 {1 2} 3` is hops 0 1 2 3 with
 * grp = 1 << 2: hop indexes 0, 1, 1, 2. A descriptor's hop is the hop
 * index, the same at every replica of a hop.
 *
 * Which replica: the node that sends to a group picks, per frame, from
 * its own table (struct chainmesh_fgroup), the live member with the
 * highest rendezvous (highest random weight) weight
 * cm_flow_mix(cm_flow_hash_sym(key) ^ cm_group_salt(member)). The hash is
 * the lane's (flow.h, cm_flow_lane()): the same for both directions of a
 * connection, so a reverse chain through a group of the same members
 * picks the same replica for the reply. Losing a member moves only the
 * flows it had (each goes to its second choice); the others keep their
 * maximum.
 *
 * Failover (host side): under the failover and bypass policies, a member
 * the host declares down leaves its group's live set (@gout, sticky) and
 * stays out when it comes back, until `chainmesh chain rebalance`, so
 * that no flow moves twice; except that a group with no live member left
 * takes back at once those that are up (they carry no flow to move).
 * Under drop, the live set is every member: a dead member's flows are
 * dropped, the others go on; a group with no member up ends the chain
 * with CHAINMESH_H_DROP, as a dead single hop does.
 *
 * Included by flow.h (after its hash functions); not on its own.
 */
#ifndef _CHAINMESH_GROUP_H
#define _CHAINMESH_GROUP_H

/* A member's salt: its weight for a flow is mix(hash ^ salt). */
static inline u32 cm_group_salt(u32 node)
{
	return cm_flow_mix((node + 1) * 0x9e3779b1u);
}

static inline u32 cm_group_weight(u32 hash, u32 node)
{
	return cm_flow_mix(hash ^ cm_group_salt(node));
}

/*
 * cm_group_pick - the replica of @g that takes the flow of symmetric hash
 * @hash: the live member of highest weight (ties: the lower node id), or
 * CHAINMESH_NODE_NONE when none is live. @g was validated
 * (cm_fgroup_valid()). O(members).
 */
static inline u32 cm_group_pick(const struct chainmesh_fgroup *g, u32 hash)
{
	u32 best = CHAINMESH_NODE_NONE, bw = 0, w, i, node;

	for (i = 0; i < g->nmembers && i < CHAINMESH_GROUP_MAX; i++) {
		if (!(g->live >> i & 1))
			continue;
		node = g->members[i];
		w = cm_group_weight(hash, node);
		if (best == CHAINMESH_NODE_NONE || w > bw ||
		    (w == bw && node < best)) {
			best = node;
			bw = w;
		}
	}
	return best;
}

/*
 * cm_fgroup_valid - a group a node read from its (private copy of its)
 * table: 1..GROUP_MAX members, each a node of the mesh other than
 * @self, each once, live bits only for members, pad zero.
 */
static inline bool cm_fgroup_valid(const struct chainmesh_fgroup *g,
				   u32 nodes, u32 self)
{
	u64 seen = 0;
	u32 i, n = g->nmembers;

	if (!n || n > CHAINMESH_GROUP_MAX || (g->live >> n))
		return false;
	for (i = 0; i < sizeof(g->pad); i++)
		if (g->pad[i])
			return false;
	for (i = 0; i < n; i++) {
		u32 m = g->members[i];

		if (m >= nodes || m >= CHAINMESH_MAX_NODES || m == self ||
		    (seen >> m & 1))
			return false;
		seen |= 1ull << m;
	}
	return true;
}

/* Host side: the shape of a chain's groups. */

/* Position j shares the hop of position j - 1. */
static inline bool cm_chain_cont(const struct cm_chain *c, u32 j)
{
	return j > 0 && j < CHAINMESH_MAX_NODES && (c->grp >> j & 1);
}

/* First position of the hop at position @pos. */
static inline u32 cm_chain_hop_start(const struct cm_chain *c, u32 pos)
{
	while (cm_chain_cont(c, pos))
		pos--;
	return pos;
}

/* First position after the hop at position @pos. */
static inline u32 cm_chain_hop_end(const struct cm_chain *c, u32 pos)
{
	u32 j = pos + 1;

	while (j < c->nhops && cm_chain_cont(c, j))
		j++;
	return j;
}

/* Hop index of position @pos: hops that start at or before it, less 1. */
static inline u32 cm_chain_hop_index(const struct cm_chain *c, u32 pos)
{
	u32 j, n = 0;

	for (j = 1; j <= pos && j < c->nhops; j++)
		n += !cm_chain_cont(c, j);
	return n;
}

/* Positions [start, end) as a mask. */
static inline u64 cm_pos_mask(u32 start, u32 end)
{
	u64 hi = end >= 64 ? ~0ull : (1ull << end) - 1;

	return hi & ~((1ull << start) - 1);
}

/* What cm_chain_grp_check() found wrong with a group map. */
enum cm_grp_err {
	CM_GRP_OK,
	CM_GRP_FIRST,		/* bit 0: the first hop continues no group */
	CM_GRP_PAST,		/* a bit at or past nhops */
	CM_GRP_BIG,		/* a group of more than CHAINMESH_GROUP_MAX */
};

/* Is @c->grp a valid group map for @c's nhops positions? */
static inline enum cm_grp_err cm_chain_grp_check(const struct cm_chain *c)
{
	u32 j, e;

	if (c->grp & 1)
		return CM_GRP_FIRST;
	if (c->nhops < 64 && (c->grp >> c->nhops))
		return CM_GRP_PAST;
	for (j = 0; j < c->nhops; j = e) {
		e = cm_chain_hop_end(c, j);
		if (e - j > CHAINMESH_GROUP_MAX)
			return CM_GRP_BIG;
	}
	return CM_GRP_OK;
}

/*
 * The live positions of the hop [start, end) of @c while the nodes in @up
 * are alive: those up and not out (@c->gout); when that leaves none, the
 * members that are up (a group that lost them all takes back the first
 * that return: they have no flows to move).
 */
static inline u64 cm_group_live_pos(const struct cm_chain *c, u32 start,
				    u32 end, u64 up)
{
	u64 upos = 0, span = cm_pos_mask(start, end);
	u32 j;

	for (j = start; j < end; j++)
		if (cm_node_up(up, c->hops[j]))
			upos |= 1ull << j;
	return (upos & ~c->gout & span) ? upos & ~c->gout & span : upos;
}

/*
 * cm_chain_failover - host side, when the alive set goes from @was_up to
 * @up: under the failover and bypass policies, the grouped members of @c
 * that went down leave their groups for good (c->gout, until
 * cm_chain_rebalance()); a group left with no live member takes back its
 * members that are up. A member that was never up is not out: it joins
 * when it comes up (it had no flows). Drop keeps every member in (a dead
 * member's flows are dropped).
 */
static inline void cm_chain_failover(struct cm_chain *c, u64 was_up, u64 up)
{
	u32 j, e;

	if (!c->used || c->policy == CHAINMESH_POLICY_DROP) {
		c->gout = 0;
		return;
	}
	for (j = 0; j < c->nhops; j = e) {
		u64 span, live;
		u32 k;

		e = cm_chain_hop_end(c, j);
		if (e - j < 2)
			continue;
		span = cm_pos_mask(j, e);
		for (k = j; k < e; k++)
			if (cm_node_up(was_up, c->hops[k]) &&
			    !cm_node_up(up, c->hops[k]))
				c->gout |= 1ull << k;
		live = cm_group_live_pos(c, j, e, up);
		/* none live: the rejoin rule took its members that are up */
		c->gout &= ~(live & span);
	}
}

/* `chainmesh chain rebalance`: every member takes flows while it is up. */
static inline void cm_chain_rebalance(struct cm_chain *c)
{
	c->gout = 0;
}

/*
 * cm_chain_live - positions of @c that take flows now (single hops: all):
 * what `chainmesh chain show` prints.
 */
static inline u64 cm_chain_live(const struct cm_chain *c, u64 up)
{
	u64 live = 0;
	u32 j, e;

	for (j = 0; j < c->nhops; j = e) {
		e = cm_chain_hop_end(c, j);
		if (e - j < 2 || c->policy == CHAINMESH_POLICY_DROP)
			live |= cm_pos_mask(j, e);
		else
			live |= cm_group_live_pos(c, j, e, up);
	}
	return live;
}

/* The group struct for the hop [start, end) of @c, live as @c->gout says. */
static inline void cm_chain_fill_group(const struct cm_chain *c, u32 start,
				       u32 end, struct chainmesh_fgroup *g)
{
	u32 j, n = 0;

	memset(g, 0, sizeof(*g));
	memset(g->members, CHAINMESH_NODE_NONE, sizeof(g->members));
	for (j = start; j < end && n < CHAINMESH_GROUP_MAX; j++, n++) {
		g->members[n] = c->hops[j];
		if (!(c->gout >> j & 1))
			g->live |= 1u << n;
	}
	g->nmembers = n;
}

#endif /* _CHAINMESH_GROUP_H */
