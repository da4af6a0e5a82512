// SPDX-License-Identifier: GPL-2.0
/*
 * The host's watcher (include/chainmesh/liveness.h), as host/mesh.c and
 * tools/chainmesh-mesh.c run it every 100 ms tick: a node that shows life
 * stays up; one that stands still for dead_ms and as many ticks is down
 * for the rest of its life; a watcher that slept itself calls nobody
 * down; a node reported by a live node is broken until it rejoins, and
 * reports from its last life do not count against the new one.
 */
#include <chainmesh/liveness.h>

#include "harness.h"

#define NODES	4
#define DEAD	1000	/* ms */

struct w {
	struct cm_node_watch nw[NODES];
	struct chainmesh_node e[NODES];
	struct cm_watch_news news;
	u64 now;
	bool judge;
};

static void up(struct w *w, u32 n, u32 epoch)
{
	WRITE_ONCE(w->e[n].state, cpu_to_le32(CHAINMESH_NODE_UP));
	WRITE_ONCE(w->e[n].epoch, cpu_to_le32(epoch));
}

static void beat(struct w *w, u32 n)
{
	u64 hb = le64_to_cpu(w->e[n].heartbeat) + 1;

	WRITE_ONCE(w->e[n].heartbeat, cpu_to_le64(hb));
}

/* One tick of @ms for node @n, as the callers record it. */
static u32 tick(struct w *w, u32 n, u64 ms)
{
	u32 v;

	w->now += ms;
	v = cm_watch_node(w->nw, NODES, 0, n, &w->e[n], w->now, DEAD,
			  w->judge, &w->news);
	w->nw[n].verdict = v;
	return v;
}

FIXTURE(watch) { struct w w; };
FIXTURE_SETUP(watch)
{
	memset(&self->w, 0, sizeof(self->w));
	self->w.now = 50000;
	self->w.judge = true;
	self->w.nw[0].verdict = CHAINMESH_NODE_UP;
	up(&self->w, 1, 1);
	up(&self->w, 2, 1);
}
FIXTURE_TEARDOWN(watch) {}

TEST_F(watch, alive_stays_up)
{
	int i;

	for (i = 0; i < 50; i++) {
		beat(&self->w, 1);
		EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 1, 100));
	}
}

TEST_F(watch, still_is_down_for_this_life)
{
	int i;

	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 1, 100));
	for (i = 0; i < 10; i++)
		EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 1, 100));
	EXPECT_EQ(CHAINMESH_NODE_DOWN, tick(&self->w, 1, 100));
	/* a heartbeat again does not undo it: its peers took its buffers */
	beat(&self->w, 1);
	EXPECT_EQ(CHAINMESH_NODE_DOWN, tick(&self->w, 1, 100));
	/* a new life does */
	up(&self->w, 1, 2);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 1, 100));
}

TEST_F(watch, late_watcher_calls_nobody_down)
{
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 1, 100));
	/* the watcher itself slept 5 s: one tick, no verdict yet */
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 1, 5000));
	beat(&self->w, 1);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 1, 100));
}

TEST_F(watch, absent_is_not_down)
{
	WRITE_ONCE(self->w.e[1].state, cpu_to_le32(CHAINMESH_NODE_ABSENT));
	EXPECT_EQ(CHAINMESH_NODE_ABSENT, tick(&self->w, 1, 100));
	EXPECT_EQ(CHAINMESH_NODE_ABSENT, tick(&self->w, 1, 3000));
	EXPECT_EQ(CHAINMESH_NODE_ABSENT, tick(&self->w, 1, 3000));
	/* garbage state: broken */
	WRITE_ONCE(self->w.e[1].state, cpu_to_le32(77));
	EXPECT_EQ(CHAINMESH_NODE_BROKEN, tick(&self->w, 1, 100));
}

TEST_F(watch, reported_broken_until_rejoin)
{
	/* node 1 up, and it reports node 2 */
	beat(&self->w, 1);
	tick(&self->w, 1, 0);
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 2, 100));
	self->w.nw[1].blame = 1ull << 2;
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_BROKEN, tick(&self->w, 2, 100));
	EXPECT_EQ(1ull << 1, self->w.news.broken_by);
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_BROKEN, tick(&self->w, 2, 100));
	EXPECT_EQ(0, self->w.news.broken_by);

	/* it rejoins; node 1's report is about its last life */
	up(&self->w, 2, 2);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 2, 100));
	EXPECT_TRUE(self->w.news.taken_back);
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 2, 100));
	/* node 1 clears it, then reports the new life */
	self->w.nw[1].blame = 0;
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 2, 100));
	self->w.nw[1].blame = 1ull << 2;
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_BROKEN, tick(&self->w, 2, 100));
}

TEST_F(watch, reports_of_dead_nodes_do_not_count)
{
	/* node 1 is down: its report of node 2 is not heard */
	self->w.nw[1].verdict = CHAINMESH_NODE_DOWN;
	self->w.nw[1].blame = 1ull << 2;
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 2, 100));
	/* the watcher's own node always counts */
	self->w.nw[0].blame = 1ull << 2;
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_BROKEN, tick(&self->w, 2, 100));
	EXPECT_EQ(1ull << 0, self->w.news.broken_by);
}

TEST_F(watch, no_judging_with_bad_limit_0)
{
	self->w.judge = false;
	self->w.nw[0].blame = 1ull << 2;
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 2, 100));
	beat(&self->w, 2);
	EXPECT_EQ(CHAINMESH_NODE_UP, tick(&self->w, 2, 100));
}

TEST_HARNESS_MAIN
