// SPDX-License-Identifier: GPL-2.0
/*
 * The flow compiler (include/chainmesh/flow.h) as the host runs it: one
 * logical table of flows and chains into a table per node, with the
 * failure policy of each chain applied for the nodes alive
 * (cm_chains_effective() + cm_ftable_compile_live(), what host/mesh.c
 * publishes).
 *
 * The logical table used by most tests, a mesh of 6 nodes:
 *
 *   chain 1  hops 1 2 3  drop
 *   chain 2  hops 1 3    bypass
 *   chain 3  hops 4 2    drop
 *
 *   flow 10  dst 10.0.0.0/8                 prio 100  chain 1
 *   flow 11  dst 10.0.0.3/32 udp dport 53   prio 10   chain 2
 *   flow 12  dst 10.0.0.0/24                prio 50   chain 1
 *   flow 13  src 10.0.0.0/16                prio 50   chain 3
 *   flow 14  anything                       prio 65535 chain 3
 *
 * Nodes 0 and 5 are on no chain.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>

#include <chainmesh/flow.h>

#include "harness.h"

#define NODES		6
#define ALL_UP		((1ull << NODES) - 1)
#define DEAD(n)		(ALL_UP & ~(1ull << (n)))
#define TABLE_CAP	64	/* entries of each compiled table */

/* ---- building the logical table ---- */

static void chain(struct cm_chain *chains, u32 id, u8 policy, u32 n,
		  const u8 *hops)
{
	struct cm_chain *c = &chains[id];

	memset(c, 0, sizeof(*c));
	c->used = 1;
	c->policy = policy;
	c->nhops = (u8)n;
	memcpy(c->hops, hops, n);
}

static void flow(struct chainmesh_flow *f, u32 id, u16 chain_id, u16 prio)
{
	memset(f, 0, sizeof(*f));
	f->flow_id = cpu_to_le32(id);
	f->chain = cpu_to_le16(chain_id);
	f->priority = cpu_to_le16(prio);
}

/* As the host stores a prefix: big-endian, pre-masked. */
static void prefix(__be32 addr[4], __be32 mask[4], const char *a, u32 plen)
{
	int i;

	memset(addr, 0, 16);
	inet_pton(AF_INET, a, addr);
	cm_prefix_mask(plen, mask);
	for (i = 0; i < 4; i++)
		addr[i] &= mask[i];
}

static void f_src(struct chainmesh_flow *f, const char *a, u32 plen)
{
	f->family = 4;
	prefix(f->src, f->src_mask, a, plen);
}

static void f_dst(struct chainmesh_flow *f, const char *a, u32 plen)
{
	f->family = 4;
	prefix(f->dst, f->dst_mask, a, plen);
}

static void key(struct cm_flow_key *k, const char *src, const char *dst,
		u8 proto, u16 dport)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	k->proto = proto;
	inet_pton(AF_INET, src, &k->src[0]);
	inet_pton(AF_INET, dst, &k->dst[0]);
	k->sport = htons(40000);
	k->dport = htons(dport);
}

FIXTURE(cc) {
	struct cm_chain *chains;	/* CHAINMESH_MAX_CHAINS */
	struct cm_chain *eff;
	struct chainmesh_flow flows[5];
	u32 nflows;
	struct cm_ftable *t[NODES];
};

FIXTURE_SETUP(cc)
{
	struct chainmesh_flow *f = self->flows;
	u32 n;

	self->chains = calloc(CHAINMESH_MAX_CHAINS, sizeof(*self->chains));
	self->eff = calloc(CHAINMESH_MAX_CHAINS, sizeof(*self->eff));
	ASSERT_NOT_NULL(self->chains);
	ASSERT_NOT_NULL(self->eff);
	for (n = 0; n < NODES; n++) {
		self->t[n] = cm_ftable_alloc(TABLE_CAP);
		ASSERT_NOT_NULL(self->t[n]);
	}
	chain(self->chains, 1, CHAINMESH_POLICY_DROP, 3, (const u8[]){ 1, 2, 3 });
	chain(self->chains, 2, CHAINMESH_POLICY_BYPASS, 2, (const u8[]){ 1, 3 });
	chain(self->chains, 3, CHAINMESH_POLICY_DROP, 2, (const u8[]){ 4, 2 });

	/* any order: the compiler sorts */
	flow(&f[0], 13, 3, 50);
	f_src(&f[0], "10.0.0.0", 16);
	flow(&f[1], 10, 1, 100);
	f_dst(&f[1], "10.0.0.0", 8);
	flow(&f[2], 14, 3, 65535);
	flow(&f[3], 12, 1, 50);
	f_dst(&f[3], "10.0.0.0", 24);
	flow(&f[4], 11, 2, 10);
	f_dst(&f[4], "10.0.0.3", 32);
	f[4].ip_proto = CM_IPPROTO_UDP;
	f[4].dport = htons(53);
	f[4].dport_mask = htons(0xffff);
	self->nflows = 5;
}

FIXTURE_TEARDOWN(cc)
{
	u32 n;

	for (n = 0; n < NODES; n++)
		cm_ftable_free(self->t[n]);
	free(self->eff);
	free(self->chains);
}

/* Every node's table with nodes @up alive, as host/mesh.c publishes them. */
static void compile_all(struct __cm_meta *_metadata, FIXTURE_DATA(cc) *self,
			u64 up)
{
	u32 n;

	cm_chains_effective(self->chains, up, self->eff);
	for (n = 0; n < NODES; n++) {
		ASSERT_LE(0, cm_ftable_compile_live(self->flows, self->nflows,
						    self->eff, up, n,
						    CHAINMESH_MAX_FLOWS, self->t[n]))
			TH_LOG("node %u", n);
		cm_ftable_index(self->t[n]);	/* lookups through the index */
	}
}

/* The flow ids of a table, in table order, as "10 12 ..." */
static const char *ids(const struct cm_ftable *t)
{
	static char buf[256];
	size_t off = 0;
	u32 i;

	buf[0] = '\0';
	for (i = 0; i < t->nflows && off < sizeof(buf) - 8; i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%u", i ? " " : "",
				le32_to_cpu(t->flows[i].flow_id));
	return buf;
}

static int lookup(const struct cm_ftable *t, const struct cm_flow_key *k)
{
	const struct chainmesh_flow *f = cm_flow_lookup(t, k);

	return f ? (int)le32_to_cpu(f->flow_id) : -1;
}

#define EXPECT_HOP(t, c, fl, hp, nx)					\
	do {								\
		EXPECT_EQ((fl), (t)->hops[c].flags) TH_LOG("chain %d", c);	\
		EXPECT_EQ((hp), (t)->hops[c].hop) TH_LOG("chain %d", c);	\
		EXPECT_EQ((nx), (t)->hops[c].next) TH_LOG("chain %d", c);	\
	} while (0)

#define V	CHAINMESH_H_VALID
#define L	CHAINMESH_H_LAST
#define D	CHAINMESH_H_DROP
#define NONE	CHAINMESH_NODE_NONE

static bool no_hops(const struct cm_ftable *t)
{
	static const struct chainmesh_fhop zero[CHAINMESH_MAX_CHAINS];

	return !memcmp(t->hops, zero, sizeof(zero));
}

/* Each node holds the flows of the chains it is on, by (priority, id). */
TEST_F(cc, tables_per_node)
{
	compile_all(_metadata, self, ALL_UP);

	EXPECT_EQ(0, strcmp("11 12 10", ids(self->t[1]))) TH_LOG("%s", ids(self->t[1]));
	EXPECT_EQ(0, strcmp("12 13 10 14", ids(self->t[2]))) TH_LOG("%s", ids(self->t[2]));
	EXPECT_EQ(0, strcmp("11 12 10", ids(self->t[3]))) TH_LOG("%s", ids(self->t[3]));
	EXPECT_EQ(0, strcmp("13 14", ids(self->t[4]))) TH_LOG("%s", ids(self->t[4]));

	EXPECT_HOP(self->t[1], 1, V, 0, 2);
	EXPECT_HOP(self->t[1], 2, V, 0, 3);
	EXPECT_HOP(self->t[1], 3, 0, 0, 0);
	EXPECT_HOP(self->t[2], 1, V, 1, 3);
	EXPECT_HOP(self->t[2], 2, 0, 0, 0);
	EXPECT_HOP(self->t[2], 3, V | L, 1, NONE);
	EXPECT_HOP(self->t[3], 1, V | L, 2, NONE);
	EXPECT_HOP(self->t[3], 2, V | L, 1, NONE);
	EXPECT_HOP(self->t[4], 3, V, 0, 2);
}

/* The same packet matches different flows at different nodes: each node
 * sees only the flows of its chains; overlaps resolve by priority, then
 * by flow id, never by the most specific mask. */
TEST_F(cc, overlapping_masks_and_priorities)
{
	struct cm_flow_key k;

	compile_all(_metadata, self, ALL_UP);

	key(&k, "10.0.0.1", "10.0.0.3", CM_IPPROTO_UDP, 53);
	EXPECT_EQ(11, lookup(self->t[1], &k));	/* prio 10 beats /24, /8 */
	EXPECT_EQ(12, lookup(self->t[2], &k));	/* 11 is not on node 2 */
	EXPECT_EQ(11, lookup(self->t[3], &k));
	EXPECT_EQ(13, lookup(self->t[4], &k));	/* only 13, 14 there */

	key(&k, "10.0.0.1", "10.0.0.3", CM_IPPROTO_UDP, 54);
	EXPECT_EQ(12, lookup(self->t[1], &k));	/* /24 prio 50 before /8 */

	/* 12 and 13 both prio 50 at node 2: the lower id wins */
	key(&k, "10.0.9.9", "10.0.0.7", CM_IPPROTO_TCP, 80);
	EXPECT_EQ(12, lookup(self->t[2], &k));

	key(&k, "10.0.1.1", "10.1.0.1", CM_IPPROTO_TCP, 80);
	EXPECT_EQ(10, lookup(self->t[1], &k));	/* /8 only */
	EXPECT_EQ(13, lookup(self->t[2], &k));	/* 13 prio 50 before 10 */

	key(&k, "192.168.1.1", "192.168.1.2", CM_IPPROTO_TCP, 80);
	EXPECT_EQ(-1, lookup(self->t[1], &k));
	EXPECT_EQ(14, lookup(self->t[2], &k));	/* the catch-all */
	EXPECT_EQ(14, lookup(self->t[4], &k));
	EXPECT_EQ(-1, lookup(self->t[0], &k));
}

/* Nodes on no chain get an empty table, whoever is alive. */
TEST_F(cc, node_on_no_chain)
{
	static const u64 ups[] = { ALL_UP, 1, DEAD(2), DEAD(5), 0 };
	u32 i;

	for (i = 0; i < sizeof(ups) / sizeof(ups[0]); i++) {
		compile_all(_metadata, self, ups[i]);
		EXPECT_EQ(0u, self->t[0]->nflows) TH_LOG("up 0x%llx", (unsigned long long)ups[i]);
		EXPECT_TRUE(no_hops(self->t[0]));
		EXPECT_EQ(0u, self->t[5]->nflows);
		EXPECT_TRUE(no_hops(self->t[5]));
	}
}

/* With every node alive the failure policy changes nothing. */
TEST_F(cc, all_up_is_plain_compile)
{
	struct cm_ftable *ref = cm_ftable_alloc(TABLE_CAP);
	u32 n;

	ASSERT_NOT_NULL(ref);
	compile_all(_metadata, self, ~0ull);
	for (n = 0; n < NODES; n++) {
		ASSERT_EQ((int)self->t[n]->nflows,
			  cm_ftable_compile(self->flows, self->nflows, self->chains, n,
					    CHAINMESH_MAX_FLOWS, ref));
		EXPECT_EQ(0, memcmp(ref->hops, self->t[n]->hops, sizeof(ref->hops)))
			TH_LOG("node %u", n);
		EXPECT_EQ(0, memcmp(ref->flows, self->t[n]->flows,
				    ref->nflows * sizeof(ref->flows[0])));
	}
	cm_ftable_free(ref);
}

/* Drop chain 1 (1 2 3) with node 2 dead: node 1 ends it, dropping; no
 * hop is skipped and the flows stay in node 1's table (so its packets are
 * classified, then dropped, rather than sent another way). */
TEST_F(cc, drop_dead_middle_hop)
{
	struct cm_flow_key k;

	compile_all(_metadata, self, DEAD(2));
	EXPECT_HOP(self->t[1], 1, V | L | D, 0, NONE);
	EXPECT_HOP(self->t[3], 1, V | L, 2, NONE);
	EXPECT_EQ(0, strcmp("11 12 10", ids(self->t[1])));
	key(&k, "10.0.0.1", "10.0.0.3", CM_IPPROTO_TCP, 80);
	EXPECT_EQ(12, lookup(self->t[1], &k));
	/* chain 3 (4 2), drop too: node 4 drops */
	EXPECT_HOP(self->t[4], 3, V | L | D, 0, NONE);
	/* the bypass chain 2 (1 3) does not involve node 2 */
	EXPECT_HOP(self->t[1], 2, V, 0, 3);
}

TEST_F(cc, drop_dead_last_hop)
{
	compile_all(_metadata, self, DEAD(3));
	EXPECT_HOP(self->t[1], 1, V, 0, 2);
	EXPECT_HOP(self->t[2], 1, V | L | D, 1, NONE);
	/* bypass chain 2 (1 3) loses its last hop: node 1 ends it */
	EXPECT_HOP(self->t[1], 2, V | L, 0, NONE);
	/* no DROP on a bypass chain */
	EXPECT_EQ(0, self->t[1]->hops[2].flags & D);
}

/* The first hop is the sender itself: its death changes nobody's table. */
TEST_F(cc, drop_dead_first_hop)
{
	struct cm_ftable *ref = cm_ftable_alloc(TABLE_CAP);
	u32 n;

	ASSERT_NOT_NULL(ref);
	chain(self->chains, 2, CHAINMESH_POLICY_DROP, 2, (const u8[]){ 1, 3 });
	for (n = 2; n < NODES; n++) {
		ASSERT_LE(0, cm_ftable_compile(self->flows, self->nflows, self->chains,
					       n, CHAINMESH_MAX_FLOWS, ref));
		cm_chains_effective(self->chains, DEAD(1), self->eff);
		ASSERT_LE(0, cm_ftable_compile_live(self->flows, self->nflows,
						    self->eff, DEAD(1), n,
						    CHAINMESH_MAX_FLOWS, self->t[n]));
		EXPECT_EQ(0, memcmp(ref->hops, self->t[n]->hops, sizeof(ref->hops)))
			TH_LOG("node %u", n);
	}
	cm_ftable_free(ref);
}

/* Bypass: the dead hop leaves the chain; everyone after it moves up one
 * hop index (the receiver's index rides in the descriptor), the dead node
 * loses the chain and its flows. */
TEST_F(cc, bypass_dead_hops)
{
	chain(self->chains, 1, CHAINMESH_POLICY_BYPASS, 3, (const u8[]){ 1, 2, 3 });

	compile_all(_metadata, self, DEAD(2));
	EXPECT_HOP(self->t[1], 1, V, 0, 3);
	EXPECT_HOP(self->t[3], 1, V | L, 1, NONE);
	EXPECT_HOP(self->t[2], 1, 0, 0, 0);
	/* node 2 keeps chain 3 (drop, it is its last hop) and its flows */
	EXPECT_EQ(0, strcmp("13 14", ids(self->t[2]))) TH_LOG("%s", ids(self->t[2]));

	compile_all(_metadata, self, DEAD(3));
	EXPECT_HOP(self->t[2], 1, V | L, 1, NONE);
	EXPECT_EQ(0, self->t[2]->hops[1].flags & D);

	/* 2 and 3 dead: node 1 is the whole chain */
	compile_all(_metadata, self, DEAD(2) & DEAD(3));
	EXPECT_HOP(self->t[1], 1, V | L, 0, NONE);

	/* every hop dead: nobody has the chain or its flows */
	compile_all(_metadata, self, 1);
	EXPECT_HOP(self->t[1], 1, 0, 0, 0);
	EXPECT_EQ(0u, self->t[1]->nflows) TH_LOG("%s", ids(self->t[1]));
	EXPECT_HOP(self->t[3], 1, 0, 0, 0);
	EXPECT_EQ(0u, self->t[3]->nflows);
}

/* One dead node, one chain of each policy through it. */
TEST_F(cc, same_dead_node_both_policies)
{
	chain(self->chains, 2, CHAINMESH_POLICY_BYPASS, 3, (const u8[]){ 1, 2, 3 });

	compile_all(_metadata, self, DEAD(2));
	EXPECT_HOP(self->t[1], 1, V | L | D, 0, NONE);	/* drop */
	EXPECT_HOP(self->t[1], 2, V, 0, 3);		/* bypass */
	EXPECT_HOP(self->t[3], 1, V | L, 2, NONE);
	EXPECT_HOP(self->t[3], 2, V | L, 1, NONE);
}

/* The effective chains: only bypass chains change, unused ones stay
 * unused, the logical chains are left alone. */
TEST_F(cc, effective_chains)
{
	struct cm_chain saved[4];
	u32 i;

	chain(self->chains, 7, CHAINMESH_POLICY_BYPASS, 4, (const u8[]){ 5, 1, 4, 3 });
	memcpy(saved, self->chains, sizeof(saved));
	cm_chains_effective(self->chains, DEAD(1) & DEAD(3), self->eff);
	EXPECT_EQ(0, memcmp(saved, self->chains, sizeof(saved)));
	EXPECT_EQ(0, memcmp(&self->chains[1], &self->eff[1], sizeof(self->eff[1])));
	EXPECT_EQ(0, memcmp(&self->chains[3], &self->eff[3], sizeof(self->eff[3])));
	EXPECT_EQ(1, self->eff[2].used);		/* 1 3: both dead */
	EXPECT_EQ(0, self->eff[2].nhops);
	EXPECT_EQ(2, self->eff[7].nhops);
	EXPECT_EQ(5, self->eff[7].hops[0]);
	EXPECT_EQ(4, self->eff[7].hops[1]);
	for (i = 8; i < CHAINMESH_MAX_CHAINS; i++)
		EXPECT_EQ(0, self->eff[i].used) TH_LOG("chain %u", i);
	/* node ids beyond the bitmap are never up */
	EXPECT_FALSE(cm_node_up(~0ull, CHAINMESH_MAX_NODES));
	EXPECT_TRUE(cm_node_up(~0ull, CHAINMESH_MAX_NODES - 1));
}

/* A table that would overflow is refused with the policy applied too. */
TEST_F(cc, overflow)
{
	cm_chains_effective(self->chains, ALL_UP, self->eff);
	EXPECT_EQ(-E2BIG, cm_ftable_compile_live(self->flows, self->nflows, self->eff,
						 ALL_UP, 2, 3, self->t[2]));
	EXPECT_EQ(4, cm_ftable_compile_live(self->flows, self->nflows, self->eff,
					    ALL_UP, 2, 4, self->t[2]));
	/* node 2 dead on a bypass chain 1: only chain 3's two flows remain */
	chain(self->chains, 1, CHAINMESH_POLICY_BYPASS, 3, (const u8[]){ 1, 2, 3 });
	cm_chains_effective(self->chains, DEAD(2), self->eff);
	EXPECT_EQ(2, cm_ftable_compile_live(self->flows, self->nflows, self->eff,
					    DEAD(2), 2, 2, self->t[2]));
}

static u64 xs(u64 *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/*
 * The host's fit check counts flows per chain instead of compiling every
 * node's table: it must agree with cm_ftable_compile() on every node, for
 * random chains (some deleted, some on no node of the mesh) and flows.
 */
TEST(fit_agrees_with_compile)
{
	struct cm_chain *chains = calloc(CHAINMESH_MAX_CHAINS, sizeof(*chains));
	struct chainmesh_flow *fl = calloc(3000, sizeof(*fl));
	struct cm_ftable *t = cm_ftable_alloc(3000);
	u32 per_chain[CHAINMESH_MAX_CHAINS], most, round, i, n, nodes, nfl;
	u64 r = 0xfeedface;
	int ret;

	ASSERT_NOT_NULL(chains);
	ASSERT_NOT_NULL(fl);
	ASSERT_NOT_NULL(t);
	for (round = 0; round < 300; round++) {
		nodes = 2 + (u32)(xs(&r) % 9);
		memset(chains, 0, CHAINMESH_MAX_CHAINS * sizeof(*chains));
		memset(per_chain, 0, sizeof(per_chain));
		for (i = 0; i < 12; i++) {
			struct cm_chain *c = &chains[xs(&r) % CHAINMESH_MAX_CHAINS];
			u32 h, used = 0;

			c->used = xs(&r) % 5 != 0;	/* now and then deleted */
			c->nhops = 0;
			for (h = 0; h < 1 + xs(&r) % 5; h++) {
				/* some off the mesh */
				u32 node = (u32)(xs(&r) % (nodes + 2));

				if (used >> node & 1)
					continue;
				used |= 1u << node;
				c->hops[c->nhops++] = (u8)node;
			}
		}
		nfl = (u32)(xs(&r) % 3000);
		for (i = 0; i < nfl; i++) {
			u16 c = (u16)(xs(&r) % CHAINMESH_MAX_CHAINS);

			flow(&fl[i], i, c, (u16)(xs(&r) % 7));
			per_chain[c]++;
		}
		/* the most flows a node of the mesh gets */
		most = 0;
		for (n = 0; n < nodes; n++) {
			ret = cm_ftable_compile(fl, nfl, chains, n, 3000, t);
			ASSERT_LE(0, ret);
			if ((u32)ret > most)
				most = (u32)ret;
		}
		EXPECT_EQ(0, cm_chains_fit(chains, per_chain, nodes, most))
			TH_LOG("round %u: %u fit", round, most);
		if (most)
			EXPECT_EQ(-E2BIG, cm_chains_fit(chains, per_chain, nodes, most - 1))
				TH_LOG("round %u: %u do not fit", round, most - 1);
	}
	cm_ftable_free(t);
	free(fl);
	free(chains);
}

TEST_HARNESS_MAIN
