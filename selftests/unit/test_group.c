// SPDX-License-Identifier: GPL-2.0
/*
 * Replica groups (include/chainmesh/group.h): the replica a flow goes to
 * (both directions alike, spread evenly, moved only when it must), the
 * node's validation of the groups a host wrote, and the host's compile of
 * chains with groups under the failover, drop and bypass policies.
 */
#include <arpa/inet.h>

#include <chainmesh/flow.h>
#include <chainmesh/layout.h>

#include "harness.h"

#define NKEYS	20000u

static u64 xs(u64 *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/* A TCP or UDP IPv4 flow, random ends. */
static void rnd_key(u64 *r, struct cm_flow_key *k)
{
	u64 x = xs(r);

	memset(k, 0, sizeof(*k));
	k->family = 4;
	k->proto = x & 1 ? 6 : 17;
	k->src[0] = htonl(0x0a000000u | (u32)(x >> 8 & 0xffff));
	k->dst[0] = htonl(0x0a010000u | (u32)(x >> 24 & 0xff));
	k->sport = htons((u16)(1024 + (x >> 32 & 0x7fff)));
	k->dport = htons((u16)(x >> 48 & 0xff) + 1);
}

static void reverse(const struct cm_flow_key *k, struct cm_flow_key *rk)
{
	*rk = *k;
	memcpy(rk->src, k->dst, sizeof(rk->src));
	memcpy(rk->dst, k->src, sizeof(rk->dst));
	rk->sport = k->dport;
	rk->dport = k->sport;
}

static void group(struct chainmesh_fgroup *g, const u8 *m, u32 n, u8 live)
{
	memset(g, 0, sizeof(*g));
	memset(g->members, CHAINMESH_NODE_NONE, sizeof(g->members));
	memcpy(g->members, m, n);
	g->nmembers = (u8)n;
	g->live = live;
}

static u32 pick(const struct chainmesh_fgroup *g, const struct cm_flow_key *k)
{
	return cm_group_pick(g, cm_flow_hash_sym(k));
}

/* Both directions of every flow reach the same replica; members' order
 * does not matter (a reverse chain may list them otherwise). */
TEST(symmetric)
{
	static const u8 m[] = { 1, 2, 3 }, mr[] = { 3, 1, 2 };
	struct chainmesh_fgroup g, gr;
	struct cm_flow_key k, rk;
	u64 r = 7;
	u32 i;

	group(&g, m, 3, 7);
	group(&gr, mr, 3, 7);
	for (i = 0; i < NKEYS; i++) {
		rnd_key(&r, &k);
		reverse(&k, &rk);
		ASSERT_EQ(pick(&g, &k), pick(&g, &rk));
		ASSERT_EQ(pick(&g, &k), pick(&gr, &rk));
	}
}

/* Flows spread evenly: within 10 % of an equal share, 2 to 8 replicas. */
TEST(distribution)
{
	static const u8 m[] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct chainmesh_fgroup g;
	struct cm_flow_key k;
	u32 cnt[CHAINMESH_MAX_NODES], n, i, p;
	u64 r = 12345;

	for (n = 2; n <= CHAINMESH_GROUP_MAX; n++) {
		group(&g, m, n, (u8)((1u << n) - 1));
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < NKEYS; i++) {
			rnd_key(&r, &k);
			p = pick(&g, &k);
			ASSERT_TRUE(p >= 1 && p <= n);
			cnt[p]++;
		}
		for (i = 1; i <= n; i++) {
			EXPECT_LT(cnt[i], NKEYS / n * 11 / 10)
				TH_LOG("%u replicas: %u has %u of %u", n, i, cnt[i], NKEYS);
			EXPECT_GT(cnt[i], NKEYS / n * 9 / 10)
				TH_LOG("%u replicas: %u has %u of %u", n, i, cnt[i], NKEYS);
		}
	}
}

/* Losing a replica moves its flows only, spread over the others; its
 * return (rebalance) brings back exactly those; a new replica takes
 * flows from each and moves no other. */
TEST(minimal_movement)
{
	static const u8 m[] = { 4, 9, 2, 7, 5 };
	struct chainmesh_fgroup all, less, more;
	struct cm_flow_key k;
	u32 i, a, b, c, moved = 0, to[CHAINMESH_MAX_NODES];
	u64 r = 99;

	group(&all, m, 4, 0xf);
	group(&less, m, 4, 0xf & ~2u);	/* 9 out */
	group(&more, m, 5, 0x1f);	/* 5 joins */
	memset(to, 0, sizeof(to));
	for (i = 0; i < NKEYS; i++) {
		rnd_key(&r, &k);
		a = pick(&all, &k);
		b = pick(&less, &k);
		c = pick(&more, &k);
		ASSERT_NE(9, b);
		if (a != 9) {
			ASSERT_EQ(a, b);
		} else {
			moved++;
			to[b]++;
		}
		ASSERT_TRUE(c == a || c == 5);
	}
	/* about a quarter moved, to each survivor about a third of those */
	EXPECT_GT(moved, NKEYS / 5);
	EXPECT_LT(moved, NKEYS * 3 / 10);
	EXPECT_GT(to[4], moved / 4);
	EXPECT_GT(to[2], moved / 4);
	EXPECT_GT(to[7], moved / 4);
}

/* No live member: nobody; one: all of it. */
TEST(pick_live)
{
	static const u8 m[] = { 1, 2 };
	struct chainmesh_fgroup g;
	struct cm_flow_key k;
	u64 r = 3;
	u32 i;

	group(&g, m, 2, 0);
	rnd_key(&r, &k);
	EXPECT_EQ(CHAINMESH_NODE_NONE, pick(&g, &k));
	group(&g, m, 2, 2);
	for (i = 0; i < 100; i++) {
		rnd_key(&r, &k);
		ASSERT_EQ(2, pick(&g, &k));
	}
}

/* What a node refuses in a group its host wrote. */
TEST(fgroup_valid)
{
	static const u8 ok[] = { 1, 2, 3 }, dup[] = { 1, 2, 1 },
			self[] = { 1, 0 }, far[] = { 1, 4 };
	struct chainmesh_fgroup g;

	group(&g, ok, 3, 7);
	EXPECT_TRUE(cm_fgroup_valid(&g, 4, 0));
	group(&g, ok, 3, 0);
	EXPECT_TRUE(cm_fgroup_valid(&g, 4, 0));	/* none live: drops */
	EXPECT_FALSE(cm_fgroup_valid(&g, 4, 2));	/* names the reader */
	group(&g, ok, 3, 0xf);
	EXPECT_FALSE(cm_fgroup_valid(&g, 4, 0));	/* live past members */
	group(&g, dup, 3, 7);
	EXPECT_FALSE(cm_fgroup_valid(&g, 4, 0));
	group(&g, self, 2, 3);
	EXPECT_FALSE(cm_fgroup_valid(&g, 4, 0));
	group(&g, far, 2, 3);
	EXPECT_FALSE(cm_fgroup_valid(&g, 4, 0));	/* not a node */
	group(&g, ok, 0, 0);
	EXPECT_FALSE(cm_fgroup_valid(&g, 4, 0));
	group(&g, ok, 3, 7);
	g.nmembers = CHAINMESH_GROUP_MAX + 1;
	EXPECT_FALSE(cm_fgroup_valid(&g, 64, 0));
	group(&g, ok, 3, 7);
	g.pad[5] = 1;
	EXPECT_FALSE(cm_fgroup_valid(&g, 4, 0));
}

/* chain: 0 {1 2} 3, and its reverse 0 3 {2 1} */
static void chains_init(struct cm_chain *ch, u8 policy)
{
	memset(ch, 0, CHAINMESH_MAX_CHAINS * sizeof(*ch));
	ch[1].used = 1;
	ch[1].policy = policy;
	ch[1].nhops = 4;
	memcpy(ch[1].hops, "\x00\x01\x02\x03", 4);
	ch[1].grp = 1ull << 2;
	ch[2].used = 1;
	ch[2].policy = policy;
	ch[2].nhops = 4;
	memcpy(ch[2].hops, "\x00\x03\x02\x01", 4);
	ch[2].grp = 1ull << 3;
}

struct world {
	struct cm_chain ch[CHAINMESH_MAX_CHAINS], eff[CHAINMESH_MAX_CHAINS];
	struct cm_ftable *t;
	u64 up;
};

static void compile(struct __cm_meta *_metadata, struct world *w, u32 node)
{
	cm_chains_effective(w->ch, w->up, w->eff);
	ASSERT_EQ(0, cm_ftable_compile_live(NULL, 0, w->eff, w->up, node, 16, w->t));
}

/* The chains of chains_init(@policy), all four nodes up, a table. */
static void world_init(struct __cm_meta *_metadata, struct world *w,
		       u8 policy)
{
	memset(w, 0, sizeof(*w));
	w->up = 0xf;
	w->t = cm_ftable_alloc(16);
	ASSERT_NOT_NULL(w->t);
	chains_init(w->ch, policy);
}

/* Set the alive set as the host's watcher does; node 0 compiles. */
static void set_up(struct __cm_meta *_metadata, struct world *w, u64 up)
{
	u32 i;

	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++)
		cm_chain_failover(&w->ch[i], w->up, up);
	w->up = up;
	compile(_metadata, w, 0);
}

TEST(compile_groups)
{
	const struct chainmesh_fhop *h;
	const struct chainmesh_fgroup *g;
	struct world w;

	world_init(_metadata, &w, CHAINMESH_POLICY_FAILOVER);
	EXPECT_EQ(CM_GRP_OK, cm_chain_grp_check(&w.ch[1]));

	compile(_metadata, &w, 0);
	h = &w.t->hops[1];
	g = &w.t->groups[1];
	EXPECT_EQ(CHAINMESH_H_VALID | CHAINMESH_H_GROUP, h->flags);
	EXPECT_EQ(0, h->hop);
	EXPECT_EQ(CHAINMESH_NODE_NONE, h->next);
	EXPECT_EQ(2, g->nmembers);
	EXPECT_EQ(1, g->members[0]);
	EXPECT_EQ(2, g->members[1]);
	EXPECT_EQ(3, g->live);
	/* node 0 ends chain 2 (it is also its first hop) */
	EXPECT_EQ(3, w.t->hops[2].next);

	/* both replicas are hop 1 and send to 3 */
	compile(_metadata, &w, 1);
	EXPECT_EQ(CHAINMESH_H_VALID, w.t->hops[1].flags);
	EXPECT_EQ(1, w.t->hops[1].hop);
	EXPECT_EQ(3, w.t->hops[1].next);
	EXPECT_EQ(2, w.t->hops[2].hop);
	EXPECT_EQ(CHAINMESH_H_VALID | CHAINMESH_H_LAST, w.t->hops[2].flags);
	compile(_metadata, &w, 2);
	EXPECT_EQ(1, w.t->hops[1].hop);
	EXPECT_EQ(3, w.t->hops[1].next);
	/* node 3: hop 2 of chain 1 (last), sends chain 2 to the group */
	compile(_metadata, &w, 3);
	EXPECT_EQ(2, w.t->hops[1].hop);
	EXPECT_TRUE(w.t->hops[1].flags & CHAINMESH_H_LAST);
	EXPECT_EQ(CHAINMESH_H_VALID | CHAINMESH_H_GROUP, w.t->hops[2].flags);
	EXPECT_EQ(2, w.t->groups[2].members[0]);
	EXPECT_EQ(1, w.t->groups[2].members[1]);
	cm_ftable_free(w.t);
}

/* failover: a dead replica leaves the live set and stays out when it
 * returns, until rebalance; a group with none left drops, and takes
 * back the first to return. */
TEST(failover_sticky)
{
	struct world w;

	world_init(_metadata, &w, CHAINMESH_POLICY_FAILOVER);
	set_up(_metadata, &w, 0xf & ~4ull);	/* 2 dies */
	EXPECT_EQ(1, w.t->groups[1].live);	/* members[0] = 1 only */
	compile(_metadata, &w, 3);
	EXPECT_EQ(2, w.t->groups[2].live);	/* chain 2 lists 2 first */
	EXPECT_EQ(0, cm_chain_live(&w.ch[1], w.up) & 4);

	set_up(_metadata, &w, 0xf);		/* 2 is back: still out */
	EXPECT_EQ(1, w.t->groups[1].live);
	cm_chain_rebalance(&w.ch[1]);
	compile(_metadata, &w, 0);
	EXPECT_EQ(3, w.t->groups[1].live);
	EXPECT_EQ(0xfull, cm_chain_live(&w.ch[1], w.up));

	set_up(_metadata, &w, 0x9);		/* both die: drop */
	EXPECT_EQ(CHAINMESH_H_VALID | CHAINMESH_H_LAST | CHAINMESH_H_DROP,
		  w.t->hops[1].flags);
	EXPECT_EQ(CHAINMESH_NODE_NONE, w.t->hops[1].next);
	set_up(_metadata, &w, 0xd);		/* 2 returns: it takes all */
	EXPECT_EQ(CHAINMESH_H_VALID | CHAINMESH_H_GROUP, w.t->hops[1].flags);
	EXPECT_EQ(2, w.t->groups[1].live);
	set_up(_metadata, &w, 0xf);		/* 1 returns: out until rebalance */
	EXPECT_EQ(2, w.t->groups[1].live);
	cm_ftable_free(w.t);
}

/* drop: every member stays in (a dead one's flows drop at the sender),
 * the hop drops once none is up; bypass: dead ones leave, the group is
 * skipped once none is left. */
TEST(drop_bypass)
{
	struct world w;

	world_init(_metadata, &w, CHAINMESH_POLICY_DROP);
	set_up(_metadata, &w, 0xb);
	EXPECT_EQ(3, w.t->groups[1].live);
	set_up(_metadata, &w, 0x9);
	EXPECT_TRUE(w.t->hops[1].flags & CHAINMESH_H_DROP);

	w.up = 0xf;
	chains_init(w.ch, CHAINMESH_POLICY_BYPASS);
	set_up(_metadata, &w, 0xb);
	EXPECT_EQ(CHAINMESH_H_VALID | CHAINMESH_H_GROUP, w.t->hops[1].flags);
	EXPECT_EQ(1, w.t->groups[1].live);
	set_up(_metadata, &w, 0x9);
	EXPECT_EQ(CHAINMESH_H_VALID, w.t->hops[1].flags);
	EXPECT_EQ(3, w.t->hops[1].next);	/* skipped */
	compile(_metadata, &w, 3);
	EXPECT_EQ(1, w.t->hops[1].hop);		/* 0 3: hop 1 now */
	EXPECT_TRUE(w.t->hops[2].flags & CHAINMESH_H_LAST);
	cm_ftable_free(w.t);
}

/* The host's checks of a group map. */
TEST(grp_check)
{
	struct cm_chain c = { .used = 1, .nhops = 12 };

	c.grp = 1;
	EXPECT_EQ(CM_GRP_FIRST, cm_chain_grp_check(&c));
	c.grp = 1ull << 12;
	EXPECT_EQ(CM_GRP_PAST, cm_chain_grp_check(&c));
	c.grp = 0xffull << 1;		/* positions 0..8: 9 members */
	EXPECT_EQ(CM_GRP_BIG, cm_chain_grp_check(&c));
	c.grp = 0x7full << 1;		/* 8 */
	EXPECT_EQ(CM_GRP_OK, cm_chain_grp_check(&c));
	EXPECT_EQ(0u, cm_chain_hop_index(&c, 7));
	EXPECT_EQ(1u, cm_chain_hop_index(&c, 8));
}

/* A node refuses a table whose group is bad, or a group hop that also
 * ends the chain, and takes a good one. */
TEST(snapshot_groups)
{
	struct cm_layout_params p = {
		.nodes = 4, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 4, .max_flows = 16,
	};
	struct cm_ftable *s = cm_ftable_alloc(16);
	struct chainmesh_fgroup *g;
	struct cm_layout l;
	struct world w;
	void *base, *ft;

	ASSERT_NOT_NULL(s);
	world_init(_metadata, &w, CHAINMESH_POLICY_FAILOVER);
	ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &l));
	base = calloc(1, l.size);
	ASSERT_NOT_NULL(base);
	ft = cm_ftable(base, &l, 0);
	compile(_metadata, &w, 0);
	cm_ftable_publish(ft, w.t);
	ASSERT_EQ(0, cm_ftable_snapshot(ft, &l, 0, s));
	EXPECT_EQ(0, memcmp(s->groups, w.t->groups, sizeof(s->groups)));
	EXPECT_TRUE(cm_ftable_same(ft, w.t));

	g = &w.t->groups[1];
	g->members[1] = 0;		/* the reader itself */
	cm_ftable_publish(ft, w.t);
	EXPECT_EQ(-EPROTO, cm_ftable_snapshot(ft, &l, 0, s));
	g->members[1] = 4;		/* not a node */
	cm_ftable_publish(ft, w.t);
	EXPECT_EQ(-EPROTO, cm_ftable_snapshot(ft, &l, 0, s));
	g->members[1] = 2;
	w.t->hops[1].flags |= CHAINMESH_H_LAST;
	cm_ftable_publish(ft, w.t);
	EXPECT_EQ(-EPROTO, cm_ftable_snapshot(ft, &l, 0, s));
	w.t->hops[1].flags &= ~CHAINMESH_H_LAST;
	w.t->hops[1].next = 3;		/* next and a group */
	cm_ftable_publish(ft, w.t);
	EXPECT_EQ(-EPROTO, cm_ftable_snapshot(ft, &l, 0, s));
	free(base);
	cm_ftable_free(s);
	cm_ftable_free(w.t);
}

TEST_HARNESS_MAIN
