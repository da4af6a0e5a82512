// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh host: the mesh object.
 *
 * The user edits one logical table (chains and flows) through netlink; every
 * change is compiled into a table per node and published into the region
 * under each table's sequence counter (flow.h [F1]). A change that would not
 * fit in some node's table is refused before anything is published, so the
 * nodes never see half of a change.
 *
 * Everything a node writes (its node entry, its counters) is read here once
 * per field and only reported or compared, never followed.
 *
 * Failure policy: the tables are compiled for the nodes alive (the
 * watcher's verdict UP; node 0 always) by cm_ftable_compile_live() in
 * flow.h: a bypass chain skips its dead nodes; on a drop chain, the node
 * before one that is not alive ends the chain with CHAINMESH_H_DROP. Each
 * change of the alive set recompiles.
 *
 * Broken nodes: every node judges its peers by the bad input they send
 * (include/chainmesh/peers.h) and reports those it judged broken in its
 * node entry's blame word; node 0's own judgments come straight from its
 * datapath. A node reported by one live node is BROKEN for the rest of
 * its life (its epoch): out of every chain, its rings cut by its peers,
 * until it joins again. One report is enough: a node that lies can
 * already make any other look absent by writing its state.
 */
#include <linux/debugfs.h>
#include <linux/jiffies.h>
#include <linux/netlink.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include <chainmesh/datapath.h>

#include "../node/ndev.h"
#include "mesh.h"
#include "netlink.h"
#include "remote.h"

#define CM_WATCH_PERIOD		msecs_to_jiffies(100)

#define CM_FLOW_NONE		U32_MAX	/* flow_pos of an unused id */

DEFINE_MUTEX(cm_mesh_lock);
LIST_HEAD(cm_meshes);
unsigned int cm_mesh_gen;

struct cm_mesh *cm_mesh_find(const char *name)
{
	struct cm_mesh *m;

	lockdep_assert_held(&cm_mesh_lock);
	cm_for_each_mesh(m)
		if (!strcmp(m->name, name))
			return m;
	return NULL;
}

/* Return: true when our verdict on node @n changed. */
static bool cm_mesh_watch_node(struct cm_mesh *m, u32 n)
{
	struct chainmesh_node *e = cm_node(m->base, &m->l, n);
	struct cm_node_watch *w = &m->nw[n];
	struct cm_watch_news news;
	DECLARE_BITMAP(by, CHAINMESH_MAX_NODES);
	u32 verdict, epoch;

	/* liveness.h: the verdict, as chainmesh-mesh gives it too */
	verdict = cm_watch_node(m->nw, m->l.p.nodes, m->self, n, e,
				jiffies64_to_msecs(get_jiffies_64()),
				max(READ_ONCE(cm_dead_ms), 300U),
				READ_ONCE(cm_policy.bad_limit), &news);
	epoch = w->epoch;
	if (news.taken_back)
		pr_info_ratelimited("%s: node %u rejoined as epoch %u, taken back\n",
				    m->name, n, epoch);
	if (news.broken_by) {
		bitmap_from_u64(by, news.broken_by);
		pr_warn_ratelimited("%s: node %u (epoch %u) reported broken by nodes %*pbl\n",
				    m->name, n, epoch, CHAINMESH_MAX_NODES, by);
	}

	/* Only the host writes it: re-assert what a peer forged. */
	cm_node_set_verdict(e, verdict, epoch);
	if (verdict == w->verdict)
		return false;
	pr_info_ratelimited("%s: node %u %s (epoch %u)\n", m->name, n,
			    cm_node_state_name(verdict), epoch);
	w->verdict = verdict;
	return true;
}

static void cm_mesh_publish(struct cm_mesh *m);
static void cm_mesh_write_tables(struct cm_mesh *m);

#define CM_REPUBLISH_GAP	msecs_to_jiffies(500)
#define CM_REASSERT_GAP		msecs_to_jiffies(1000)

/* Node 0's own entry, which only we write: re-asserted every tick, so
 * that a peer that forged it misleads the others for a tick at most. */
static void cm_mesh_assert_self(struct cm_mesh *m)
{
	struct chainmesh_node *e = cm_node(m->base, &m->l, m->self);
	u8 mac[6];

	cm_node_mac(m->mesh_id, m->self, mac);
	if (memcmp(e->mac, mac, sizeof(mac)))
		memcpy(e->mac, mac, sizeof(mac));
	cm_node_set_verdict(e, CHAINMESH_NODE_UP, m->self_epoch);
	if (le32_to_cpu(READ_ONCE(e->state)) != CHAINMESH_NODE_UP)
		WRITE_ONCE(e->state, cpu_to_le32(CHAINMESH_NODE_UP));
}

/* Replica groups: members that went down leave their groups' live sets
 * (include/chainmesh/group.h), before the tables follow @alive. @moved:
 * the chains whose replicas taking flows changed. */
static void cm_mesh_chains_failover(struct cm_mesh *m, const unsigned long *alive,
				    unsigned long *moved)
{
	u64 was_up, up, live;
	struct cm_chain *c;
	u32 i;

	lockdep_assert_held(&cm_mesh_lock);
	bitmap_to_arr64(&was_up, m->alive, CHAINMESH_MAX_NODES);
	bitmap_to_arr64(&up, alive, CHAINMESH_MAX_NODES);
	bitmap_zero(moved, CHAINMESH_MAX_CHAINS);
	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		c = &m->chains[i];
		if (!c->grp)
			continue;
		live = cm_chain_live(c, was_up);
		cm_chain_failover(c, was_up, up);
		if (cm_chain_live(c, up) != live)
			__set_bit(i, moved);
	}
}

static void cm_mesh_watch(struct work_struct *work)
{
	struct cm_mesh *m = container_of(to_delayed_work(work), struct cm_mesh,
					 watch);
	DECLARE_BITMAP(moved, CHAINMESH_MAX_CHAINS);
	DECLARE_BITMAP(changed, CHAINMESH_MAX_NODES);
	DECLARE_BITMAP(alive, CHAINMESH_MAX_NODES);
	unsigned long now = jiffies;
	bool republish, reassert;
	u32 n;

	WRITE_ONCE(cm_node(m->base, &m->l, m->self)->heartbeat,
		   cpu_to_le64(++m->heartbeat));

	/* Every report once, before any verdict: node 0's from its datapath,
	 * the others' from their node entries. */
	for (n = 0; n < m->l.p.nodes; n++)
		m->nw[n].blame = n == m->self ? cm_node_blame(m->nd) :
			le64_to_cpu(READ_ONCE(cm_node(m->base, &m->l,
						      n)->blame));

	bitmap_zero(changed, CHAINMESH_MAX_NODES);
	bitmap_zero(alive, CHAINMESH_MAX_NODES);
	__set_bit(m->self, alive);
	for (n = 0; n < m->l.p.nodes; n++) {
		if (n == m->self)
			continue;
		if (cm_mesh_watch_node(m, n))
			__set_bit(n, changed);
		if (m->nw[n].verdict == CHAINMESH_NODE_UP)
			__set_bit(n, alive);
	}

	cm_mesh_assert_self(m);
	/* A node flipping its state every tick would make every node copy
	 * its table every tick: the tables follow the alive set at most once
	 * per CM_REPUBLISH_GAP (and at once after a quiet spell). */
	republish = !bitmap_equal(alive, m->alive, CHAINMESH_MAX_NODES) &&
		    time_after_eq(now, m->published_at + CM_REPUBLISH_GAP);
	/* Only we write the tables: every CM_REASSERT_GAP, each one a peer
	 * scribbled on is written again (cm_mesh_write_tables() leaves the
	 * others alone), so that a burst of foreign writes ends with the
	 * right tables (Documentation/datapath.rst, "Recovery"). */
	reassert = time_after_eq(now, m->asserted_at + CM_REASSERT_GAP);
	if (republish || reassert ||
	    !bitmap_empty(changed, CHAINMESH_MAX_NODES)) {
		mutex_lock(&cm_mesh_lock);
		if (republish) {
			cm_mesh_chains_failover(m, alive, moved);
			bitmap_copy(m->alive, alive, CHAINMESH_MAX_NODES);
			cm_mesh_publish(m);
			m->published_at = now;
			/* as the tables say it now: CHAIN_A_LIVE */
			for_each_set_bit(n, moved, CHAINMESH_MAX_CHAINS)
				cm_nl_notify_chain(m, n, true);
		}
		if (reassert) {
			cm_mesh_write_tables(m);
			m->asserted_at = now;
		}
		for_each_set_bit(n, changed, CHAINMESH_MAX_NODES)
			cm_nl_notify_node(m, n);
		mutex_unlock(&cm_mesh_lock);
	}

	/* The backing may have got node 0 a doorbell (shm.c). */
	WRITE_ONCE(m->nd->polled, READ_ONCE(m->polled));
	cm_node_tick(m->nd);
	schedule_delayed_work(&m->watch, CM_WATCH_PERIOD);
}

/* Our own node entry: MAC as every node derives it, then state UP. */
static void cm_mesh_join_self(struct cm_mesh *m)
{
	struct chainmesh_node *e = cm_node(m->base, &m->l, m->self);
	u8 mac[6];

	cm_node_mac(m->mesh_id, m->self, mac);
	memcpy(e->mac, mac, sizeof(mac));
	/* features: the datapath's, once node 0 exists (cm_off_update()). */
	WRITE_ONCE(e->features, 0);
	m->self_epoch = le32_to_cpu(READ_ONCE(e->epoch)) + 1;
	WRITE_ONCE(e->epoch, cpu_to_le32(m->self_epoch));
	cm_node_set_verdict(e, CHAINMESH_NODE_UP, m->self_epoch);
	smp_store_release(&e->state, cpu_to_le32(CHAINMESH_NODE_UP));
	m->nw[m->self].verdict = CHAINMESH_NODE_UP;
}

/* Node 0's doorbell to node @peer: the backing's. */
static void cm_mesh_kick(struct cm_ndev *nd, u32 peer, u32 vector)
{
	struct cm_mesh *m = nd->priv;

	m->bell->kick(m, peer, vector);
}

static const struct cm_node_ops cm_mesh_node_ops = {
	.kick = cm_mesh_kick,
	.chain_end = cm_remote_chain_end,
	.n_ext_stats = CM_REMOTE_NSTATS,
	.ext_stat_names = cm_remote_stat_names,
	.ext_stats = cm_remote_ext_stats,
};

/* Node 0: the same node as every guest's (node/), on the host's region,
 * doorbells and table; "cmh-NAME" when it fits, else numbered. */
static struct cm_ndev *cm_mesh_node_create(struct cm_mesh *m,
					   struct device *parent)
{
	struct cm_node_cfg cfg = {};
	char name[IFNAMSIZ];

	if (snprintf(name, sizeof(name), "cmh-%s", m->name) >= sizeof(name))
		strscpy(name, "cmh%d", sizeof(name));
	cfg.ifname = name;
	cfg.name_assign_type = NET_NAME_USER;
	cfg.parent = parent;
	cfg.bus_info = m->name;
	cfg.base = m->base;
	cfg.l = &m->l;
	cfg.self = m->self;
	cfg.mac = cm_node(m->base, &m->l, m->self)->mac;
	cfg.ftable = m->own_ft;
	cfg.flog = m->own_log;
	cfg.ops = &cm_mesh_node_ops;
	cfg.priv = m;
	cfg.polled = READ_ONCE(m->polled);
	return cm_node_create(&cfg);
}

/*
 * cm_region_layout - lay a mapped region out, for either backing
 *
 * Zeroes the region and writes the header, all but magic: the caller
 * stores magic last (cm_region_publish()) once node 0 is ready.
 * Return: 0, or -EINVAL / -E2BIG from cm_layout_compute().
 */
static int cm_region_layout(void *base, u64 size, const struct cm_layout_params *p,
			    struct cm_layout *l, u32 *mesh_id)
{
	struct chainmesh_region_hdr *hdr = base;
	u64 epoch = 1;
	int err;

	err = cm_layout_compute(p, size, l);
	if (err)
		return err;
	/* A region that outlived our last layout (the lab daemon keeps it)
	 * says which host epoch it was at: peers see a new one. */
	if (le32_to_cpu(READ_ONCE(hdr->magic)) == CHAINMESH_MAGIC)
		epoch = le64_to_cpu(READ_ONCE(hdr->host_epoch)) + 1;
	*mesh_id = get_random_u32();
	memset(base, 0, size);
	cm_layout_to_hdr(l, size, *mesh_id, epoch, hdr);
	return 0;
}

static void cm_mesh_logs_free(struct cm_mesh *m)
{
	u32 n;

	if (m->nft)
		for (n = 0; n < m->l.p.nodes; n++)
			cm_ftable_free(m->nft[n]);
	kfree(m->nft);
	kfree(m->fw);
	kvfree(m->ops);
}

/* The host's copy of every node's table, empty, and every flow log
 * empty (the region was just zeroed). */
static int cm_mesh_logs_alloc(struct cm_mesh *m)
{
	u32 n;

	m->nft = kcalloc(m->l.p.nodes, sizeof(*m->nft), GFP_KERNEL);
	m->fw = kcalloc(m->l.p.nodes, sizeof(*m->fw), GFP_KERNEL);
	m->ops = kvmalloc_array(m->l.flog_slots / 2, sizeof(*m->ops),
				GFP_KERNEL);
	if (!m->nft || !m->fw || !m->ops)
		goto err_free;
	for (n = 0; n < m->l.p.nodes; n++) {
		m->nft[n] = cm_ftable_alloc(m->l.p.max_flows);
		if (!m->nft[n])
			goto err_free;
		cm_ftable_byid(m->nft[n]);
		cm_flog_host_init(&m->fw[n], cm_flog(m->base, &m->l, n),
				  m->l.flog_slots);
	}
	cm_flog_host_init(&m->own_fw, m->own_log, m->l.flog_slots);
	return 0;

err_free:
	cm_mesh_logs_free(m);
	m->nft = NULL;
	m->fw = NULL;
	m->ops = NULL;
	return -ENOMEM;
}

bool cm_mesh_name_taken(const char *name)
{
	bool taken;

	mutex_lock(&cm_mesh_lock);
	taken = cm_mesh_find(name);
	mutex_unlock(&cm_mesh_lock);
	return taken;
}

/*
 * cm_mesh_create - lay the backing's region out and become its node 0
 *
 * On return the mesh is listed, node 0's netdev registered and the
 * header's magic published: peers may join.
 */
struct cm_mesh *cm_mesh_create(const char *name, const struct cm_layout_params *p,
			       const struct cm_mesh_backing *b,
			       struct netlink_ext_ack *extack)
{
	struct chainmesh_region_hdr *hdr = b->base;
	struct cm_mesh *m;
	int err = -ENOMEM;

	m = kvzalloc(sizeof(*m), GFP_KERNEL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	strscpy(m->name, name, sizeof(m->name));
	m->backing = b->type;
	m->bell = b->bell;
	m->priv = b->priv;
	m->polled = b->polled;
	m->base = b->base;
	m->region_size = b->size;
	m->self = 0;
	__set_bit(m->self, m->alive);
	INIT_DELAYED_WORK(&m->watch, cm_mesh_watch);

	m->eff = kvcalloc(CHAINMESH_MAX_CHAINS, sizeof(*m->eff), GFP_KERNEL);
	if (!m->eff)
		goto err_free_mesh;

	err = cm_region_layout(b->base, b->size, p, &m->l, &m->mesh_id);
	if (err) {
		if (err == -E2BIG)
			NL_SET_ERR_MSG(extack, "layout does not fit the region");
		else
			NL_SET_ERR_MSG(extack, "bad layout parameters");
		goto err_free_eff;
	}
	/* The logical table and its compiler's scratch, for max_flows. */
	err = -ENOMEM;
	m->flows = kvcalloc(m->l.p.max_flows, sizeof(*m->flows), GFP_KERNEL);
	if (!m->flows)
		goto err_free_eff;
	m->flow_pos = kvmalloc_array(m->l.p.max_flows, sizeof(*m->flow_pos),
				     GFP_KERNEL);
	if (!m->flow_pos)
		goto err_free_flows;
	memset(m->flow_pos, 0xff, m->l.p.max_flows * sizeof(*m->flow_pos));
	m->scratch = cm_ftable_alloc(m->l.p.max_flows);
	if (!m->scratch)
		goto err_free_flow_pos;
	m->fbase = kvcalloc((size_t)m->l.p.max_flows * m->l.p.nodes,
			    sizeof(*m->fbase), GFP_KERNEL);
	if (!m->fbase)
		goto err_free_scratch;
	m->nw = kcalloc(m->l.p.nodes, sizeof(*m->nw), GFP_KERNEL);
	if (!m->nw)
		goto err_free_fbase;

	m->own_ft = kvzalloc(cm_ftable_bytes(m->l.p.max_flows), GFP_KERNEL);
	if (!m->own_ft)
		goto err_free_nw;
	m->own_log = kvzalloc(cm_flog_bytes(m->l.flog_slots), GFP_KERNEL);
	if (!m->own_log)
		goto err_free_own_ft;
	err = cm_mesh_logs_alloc(m);
	if (err)
		goto err_free_own_log;
	err = -ENOMEM;

	cm_mesh_join_self(m);
	m->nd = cm_mesh_node_create(m, b->parent);
	if (IS_ERR(m->nd)) {
		err = PTR_ERR(m->nd);
		NL_SET_ERR_MSG(extack, "cannot create node 0's netdev");
		goto err_free_logs;
	}
	/* How often the tables followed a change (chaos.sh, state_flip);
	 * goes with node 0's directory. */
	debugfs_create_u64("publishes", 0400, m->nd->debugfs, &m->publishes);

	mutex_lock(&cm_mesh_lock);
	if (cm_mesh_find(name)) {
		NL_SET_ERR_MSG(extack, "mesh exists");
		err = -EEXIST;
		goto err_unlock;
	}
	/* Whoever finds it from here on (an ioctl of the daemon that the
	 * notification woke, say) finds it complete. */
	if (b->self)
		WRITE_ONCE(*b->self, m);
	list_add_tail(&m->list, &cm_meshes);
	cm_mesh_gen++;
	cm_nl_notify_mesh(m, true);
	mutex_unlock(&cm_mesh_lock);

	/* Nodes follow the header once they see magic: everything above is
	 * written first. Pairs with the nodes' load-acquire of magic. */
	smp_store_release(&hdr->magic, cpu_to_le32(CHAINMESH_MAGIC));
	schedule_delayed_work(&m->watch, CM_WATCH_PERIOD);
	return m;

err_unlock:
	mutex_unlock(&cm_mesh_lock);
	m->bell->quiesce(m);
	cm_node_destroy(m->nd, false);
err_free_logs:
	cm_mesh_logs_free(m);
err_free_own_log:
	kvfree(m->own_log);
err_free_own_ft:
	kvfree(m->own_ft);
err_free_nw:
	kfree(m->nw);
err_free_fbase:
	kvfree(m->fbase);
err_free_scratch:
	cm_ftable_free(m->scratch);
err_free_flow_pos:
	kvfree(m->flow_pos);
err_free_flows:
	kvfree(m->flows);
err_free_eff:
	kvfree(m->eff);
err_free_mesh:
	kvfree(m);
	return ERR_PTR(err);
}

/*
 * cm_mesh_destroy - unlist the mesh, stop the watcher, silence node 0's
 * doorbell, remove its netdev and take the layout back (magic cleared:
 * nodes polling it leave). The backing unmaps the region afterwards.
 */
void cm_mesh_destroy(struct cm_mesh *m)
{
	struct chainmesh_region_hdr *hdr = m->base;

	mutex_lock(&cm_mesh_lock);
	list_del(&m->list);
	cm_mesh_gen++;
	cm_nl_notify_mesh(m, false);
	mutex_unlock(&cm_mesh_lock);

	cm_remote_destroy(m);
	cancel_delayed_work_sync(&m->watch);
	m->bell->quiesce(m);
	/* The region is ours and goes away: nothing to hand back. */
	cm_node_destroy(m->nd, false);
	smp_store_release(&cm_node(m->base, &m->l, m->self)->state,
			  cpu_to_le32(CHAINMESH_NODE_ABSENT));
	smp_store_release(&hdr->magic, 0);

	cm_mesh_logs_free(m);
	kvfree(m->own_log);
	kvfree(m->own_ft);
	kfree(m->nw);
	kvfree(m->fbase);
	cm_ftable_free(m->scratch);
	kvfree(m->flow_pos);
	kvfree(m->flows);
	kvfree(m->eff);
	kvfree(m);
}

int cm_mesh_ifindex(struct cm_mesh *m)
{
	return m->nd->netdev->ifindex;
}

struct chainmesh_flow *cm_mesh_flow(struct cm_mesh *m, u32 id)
{
	lockdep_assert_held(&cm_mesh_lock);
	if (id >= m->l.p.max_flows || m->flow_pos[id] == CM_FLOW_NONE)
		return NULL;
	return &m->flows[m->flow_pos[id]];
}

/* The flow of the lowest id >= @id, or NULL: dumps resume from here. */
struct chainmesh_flow *cm_mesh_flow_next(struct cm_mesh *m, u32 id)
{
	lockdep_assert_held(&cm_mesh_lock);
	for (; id < m->l.p.max_flows; id++)
		if (m->flow_pos[id] != CM_FLOW_NONE)
			return &m->flows[m->flow_pos[id]];
	return NULL;
}

bool cm_mesh_chain_in_use(struct cm_mesh *m, u32 chain)
{
	lockdep_assert_held(&cm_mesh_lock);
	return m->chain_nflows[chain];
}

/* Would the logical table fit in every node's table? Counts only, no
 * compiling: O(chains * hops), whatever the number of flows. Flow ids are
 * below max_flows, so today no node can get more: this keeps the tables'
 * bound checked where they are compiled, for next to nothing. */
static int cm_mesh_check(struct cm_mesh *m)
{
	return cm_chains_fit(m->chains, m->chain_nflows, m->l.p.nodes,
			     m->l.p.max_flows);
}

/* Does the compiled table @c hold what the host's copy @t does? @t's
 * entries are in the order its increments left them: by id. O(nflows). */
static bool cm_mesh_ft_equal(const struct cm_ftable *c,
			     const struct cm_ftable *t)
{
	u32 i, id;

	if (c->nflows != t->nflows || memcmp(c->hops, t->hops, sizeof(c->hops)) ||
	    memcmp(c->groups, t->groups, sizeof(c->groups)))
		return false;
	for (i = 0; i < c->nflows; i++) {
		id = le32_to_cpu(c->flows[i].flow_id);
		if (id >= t->cap || t->byid[id] == CM_FIDX_NONE ||
		    memcmp(&t->flows[t->byid[id]], &c->flows[i],
			   sizeof(c->flows[i])))
			return false;
	}
	return true;
}

/* Node @n's table changed in a way its log does not carry: a new
 * generation, which the node takes whole. */
static void cm_mesh_checkpoint(struct cm_mesh *m, u32 n)
{
	cm_flog_host_reset(&m->fw[n], cm_ftable(m->base, &m->l, n), m->nft[n]);
	/* Node 0 reads its own from memory no peer can write. */
	if (n == m->self)
		cm_flog_host_reset(&m->own_fw, m->own_ft, m->nft[n]);
}

/* Node @n's table compiled again from the logical table into its copy;
 * the caller checkpoints it. */
static void cm_mesh_recompile(struct cm_mesh *m, u32 n, u64 up,
			      struct cm_ftable *into)
{
	/* A subset of what cm_mesh_check() counted: it fits. */
	WARN_ON_ONCE(cm_ftable_compile_live(m->flows, m->nflows, m->eff, up, n,
					    m->l.p.max_flows, into) < 0);
	cm_ftable_byid(into);
}

/* Every node's table as compiled for the alive set, into the host's copy;
 * those that already hold it are left alone (a node would copy and index
 * all of it again for nothing). */
static void cm_mesh_compile_tables(struct cm_mesh *m)
{
	struct cm_ftable *t;
	u64 up;
	u32 n;

	lockdep_assert_held(&cm_mesh_lock);
	bitmap_to_arr64(&up, m->alive, CHAINMESH_MAX_NODES);
	cm_chains_effective(m->chains, up, m->eff);
	for (n = 0; n < m->l.p.nodes; n++) {
		cm_mesh_recompile(m, n, up, m->scratch);
		/* A node whose table did not change is left alone: it would
		 * copy and index all of it again for nothing. */
		if (cm_mesh_ft_equal(m->scratch, m->nft[n]))
			continue;
		t = m->nft[n];
		m->nft[n] = m->scratch;
		m->scratch = t;
		cm_mesh_checkpoint(m, n);
	}
}

/* Node @n's increment for a flow going from @old to @new (either NULL:
 * added, deleted), by the chains its table holds. Return: false, none. */
static bool cm_mesh_flow_op(const struct cm_ftable *t,
			    const struct chainmesh_flow *old,
			    const struct chainmesh_flow *new,
			    struct cm_flog_op *op)
{
	bool had = old && (t->hops[le16_to_cpu(old->chain)].flags &
			   CHAINMESH_H_VALID);
	bool has = new && (t->hops[le16_to_cpu(new->chain)].flags &
			   CHAINMESH_H_VALID);

	if (has) {
		op->op = had ? CHAINMESH_FLOG_REPLACE : CHAINMESH_FLOG_ADD;
		op->flow = *new;
		return true;
	}
	if (!had)
		return false;
	op->op = CHAINMESH_FLOG_DELETE;
	memset(&op->flow, 0, sizeof(op->flow));
	op->flow.flow_id = old->flow_id;
	return true;
}

/* One change of @k flows: flow i from @old[i] to @new[i] (either array
 * NULL: all added, all deleted). */
struct cm_mesh_change {
	const struct chainmesh_flow *old;
	const struct chainmesh_flow *new;
	const u32 *del_ids;		/* deletes: ids, their flows by @m */
	u32 k;
};

/*
 * cm_mesh_log_change - append a flow change to the logs of the nodes
 * whose tables it touches, as one batch per node (CHAINMESH_FLOG_END on
 * its last increment: it becomes visible to the node's lookups at once)
 *
 * Called with the logical table before the change for deletes (their
 * flows are looked up by id), after it otherwise. A node that would get
 * more than half its log is set in @redo: the caller recompiles it once
 * the logical table changed (cm_mesh_redo()). O(nodes * @k).
 */
static void cm_mesh_log_change(struct cm_mesh *m, const struct cm_mesh_change *c,
			       unsigned long *redo)
{
	const struct chainmesh_flow *old, *new;
	u32 n, i, cnt, room = m->l.flog_slots / 2;

	for (n = 0; n < m->l.p.nodes; n++) {
		for (i = cnt = 0; i < c->k; i++) {
			old = c->old ? &c->old[i] :
			      c->del_ids ? cm_mesh_flow(m, c->del_ids[i]) : NULL;
			new = c->new ? &c->new[i] : NULL;
			if (cnt == room) {
				__set_bit(n, redo);
				break;
			}
			cnt += cm_mesh_flow_op(m->nft[n], old, new, &m->ops[cnt]);
		}
		if (test_bit(n, redo) || !cnt)
			continue;
		cm_flog_host_batch(&m->fw[n], cm_flog(m->base, &m->l, n),
				   cm_ftable(m->base, &m->l, n), m->nft[n],
				   m->ops, cnt);
		/* Node 0's own log gets the same batch: applying it to its
		 * copy again changes nothing (an increment sets or deletes
		 * a flow by id). */
		if (n == m->self)
			cm_flog_host_batch(&m->own_fw, m->own_log, m->own_ft,
					   m->nft[n], m->ops, cnt);
	}
}

/* The nodes in @redo recompiled and checkpointed: a change too large for
 * their logs, as a new generation. */
static void cm_mesh_redo(struct cm_mesh *m, const unsigned long *redo)
{
	u64 up;
	u32 n;

	bitmap_to_arr64(&up, m->alive, CHAINMESH_MAX_NODES);
	for_each_set_bit(n, redo, CHAINMESH_MAX_NODES) {
		cm_mesh_recompile(m, n, up, m->nft[n]);
		cm_mesh_checkpoint(m, n);
	}
}

static void cm_mesh_publish(struct cm_mesh *m)
{
	cm_mesh_compile_tables(m);
	cm_mesh_gen++;
	WRITE_ONCE(m->publishes, m->publishes + 1);
}

/*
 * Only we write the tables and logs: what a peer scribbled on is written
 * again from the host's copy (cm_flog_host_reassert()), and a checkpoint
 * the log moved past is brought up to the log's head, without a new
 * generation, so that nodes keep reading their logs. The host's copy is
 * ahead of the checkpoint by the log: the two are compared only where
 * the checkpoint is at the head. O(nflows) per node at most.
 */
static void cm_mesh_write_tables(struct cm_mesh *m)
{
	u32 n;

	lockdep_assert_held(&cm_mesh_lock);
	for (n = 0; n < m->l.p.nodes; n++)
		cm_flog_host_reassert(&m->fw[n], cm_flog(m->base, &m->l, n),
				      cm_ftable(m->base, &m->l, n), m->nft[n]);
}

/*
 * cm_mesh_set_chain - add or replace chain @id
 *
 * Return: 0, or -E2BIG when some node's table would overflow (nothing
 * changed).
 */
int cm_mesh_set_chain(struct cm_mesh *m, u32 id, const struct cm_chain *c)
{
	struct cm_chain old;
	int err;

	lockdep_assert_held(&cm_mesh_lock);
	old = m->chains[id];
	m->chains[id] = *c;
	m->chains[id].used = 1;
	err = cm_mesh_check(m);
	if (err) {
		m->chains[id] = old;
		return err;
	}
	cm_mesh_publish(m);
	return 0;
}

/* `chainmesh chain rebalance`: chain @id's group members that are up
 * take their flows again. */
void cm_mesh_rebalance_chain(struct cm_mesh *m, u32 id)
{
	lockdep_assert_held(&cm_mesh_lock);
	cm_chain_rebalance(&m->chains[id]);
	cm_mesh_publish(m);
}

/* The positions of chain @id that take flows now (chain show). */
u64 cm_mesh_chain_live(struct cm_mesh *m, u32 id)
{
	u64 up;

	lockdep_assert_held(&cm_mesh_lock);
	bitmap_to_arr64(&up, m->alive, CHAINMESH_MAX_NODES);
	return cm_chain_live(&m->chains[id], up);
}

/* The caller checked that no flow uses the chain. */
void cm_mesh_del_chain(struct cm_mesh *m, u32 id)
{
	lockdep_assert_held(&cm_mesh_lock);
	memset(&m->chains[id], 0, sizeof(m->chains[id]));
	cm_mesh_publish(m);
}

/* Per-flow counters count from the flow's creation: remember where the
 * nodes' counters for this flow id stand now. */
static void cm_mesh_flow_rebase(struct cm_mesh *m, u32 id)
{
	struct cm_fstat *base = &m->fbase[(size_t)id * m->l.p.nodes];
	u32 n;

	for (n = 0; n < m->l.p.nodes; n++) {
		struct chainmesh_flow_stats *fs = &cm_flow_stats(m->base, &m->l, n)[id];

		base[n].packets = le64_to_cpu(READ_ONCE(fs->packets));
		base[n].bytes = le64_to_cpu(READ_ONCE(fs->bytes));
	}
}

/* flow_pos of the entries from @from on, which moved. */
static void cm_mesh_flow_renumber(struct cm_mesh *m, u32 from)
{
	u32 i;

	for (i = from; i < m->nflows; i++)
		m->flow_pos[le32_to_cpu(m->flows[i].flow_id)] = i;
}

/* Where @f goes among the first @n flows: before the first it precedes. */
static u32 cm_mesh_flow_slot(struct cm_mesh *m, const struct chainmesh_flow *f,
			     u32 n)
{
	u32 lo = 0, hi = n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (cm_flow_before(&m->flows[mid], f))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cm_mesh_flow_cmp(const void *a, const void *b)
{
	if (cm_flow_before(a, b))
		return -1;
	return cm_flow_before(b, a);
}

static void cm_mesh_chain_count(struct cm_mesh *m,
				const struct chainmesh_flow *flows, u32 n, int d)
{
	u32 i;

	for (i = 0; i < n; i++)
		m->chain_nflows[le16_to_cpu(flows[i].chain)] += d;
}

/*
 * cm_mesh_add_flows - add @n flows in one change of the nodes' tables
 * @add: new flows, on chains that exist, ids unused, below max_flows and
 *	 distinct; sorted here
 *
 * One merge into the logical table, O(nflows + n log n), and one publish,
 * however many flows: a batch costs the nodes one snapshot.
 * Return: 0, or -E2BIG when some node's table would overflow (nothing
 * changed).
 */
int cm_mesh_add_flows(struct cm_mesh *m, struct chainmesh_flow *add, u32 n)
{
	DECLARE_BITMAP(redo, CHAINMESH_MAX_NODES);
	struct cm_mesh_change c = {};
	u32 i, j, w;
	int err;

	bitmap_zero(redo, CHAINMESH_MAX_NODES);

	lockdep_assert_held(&cm_mesh_lock);
	if (WARN_ON_ONCE(n > m->l.p.max_flows - m->nflows))
		return -ENOSPC;
	cm_mesh_chain_count(m, add, n, 1);
	err = cm_mesh_check(m);
	if (err) {
		cm_mesh_chain_count(m, add, n, -1);
		return err;
	}

	sort(add, n, sizeof(*add), cm_mesh_flow_cmp, NULL);
	/* from the back: the flows before the first new one stay put */
	i = m->nflows;
	j = n;
	w = m->nflows + n;
	while (j) {
		if (i && cm_flow_before(&add[j - 1], &m->flows[i - 1]))
			m->flows[--w] = m->flows[--i];
		else
			m->flows[--w] = add[--j];
	}
	m->nflows += n;
	cm_mesh_flow_renumber(m, i);
	for (j = 0; j < n; j++)
		cm_mesh_flow_rebase(m, le32_to_cpu(add[j].flow_id));
	c.new = add;
	c.k = n;
	cm_mesh_log_change(m, &c, redo);
	cm_mesh_redo(m, redo);
	return 0;
}

/*
 * cm_mesh_set_flow - replace the flow with @f's id, which exists
 *
 * Its counters go on. Return: 0, or -E2BIG when some node's table would
 * overflow (nothing changed).
 */
int cm_mesh_set_flow(struct cm_mesh *m, const struct chainmesh_flow *f)
{
	u32 id = le32_to_cpu(f->flow_id), p, q;
	DECLARE_BITMAP(redo, CHAINMESH_MAX_NODES);
	struct cm_mesh_change c = {};
	struct chainmesh_flow *cur, old;
	int err;

	bitmap_zero(redo, CHAINMESH_MAX_NODES);

	lockdep_assert_held(&cm_mesh_lock);
	cur = cm_mesh_flow(m, id);
	if (WARN_ON_ONCE(!cur))
		return -ENOENT;
	cm_mesh_chain_count(m, cur, 1, -1);
	cm_mesh_chain_count(m, f, 1, 1);
	err = cm_mesh_check(m);
	if (err) {
		cm_mesh_chain_count(m, f, 1, -1);
		cm_mesh_chain_count(m, cur, 1, 1);
		return err;
	}

	/* out of its place, into the one its priority gives it */
	old = *cur;
	p = m->flow_pos[id];
	memmove(&m->flows[p], &m->flows[p + 1],
		(m->nflows - p - 1) * sizeof(*f));
	q = cm_mesh_flow_slot(m, f, m->nflows - 1);
	memmove(&m->flows[q + 1], &m->flows[q],
		(m->nflows - 1 - q) * sizeof(*f));
	m->flows[q] = *f;
	cm_mesh_flow_renumber(m, min(p, q));
	c.old = &old;
	c.new = f;
	c.k = 1;
	cm_mesh_log_change(m, &c, redo);
	cm_mesh_redo(m, redo);
	return 0;
}

/* cm_mesh_del_flows - delete flows @ids (they exist, distinct) in one
 * change of the nodes' tables: one pass, one publish. */
void cm_mesh_del_flows(struct cm_mesh *m, const u32 *ids, u32 n)
{
	struct cm_mesh_change c = { .del_ids = ids, .k = n };
	DECLARE_BITMAP(redo, CHAINMESH_MAX_NODES);
	u32 i, w, first = m->nflows;

	lockdep_assert_held(&cm_mesh_lock);
	bitmap_zero(redo, CHAINMESH_MAX_NODES);
	/* while their flows are still there to say which nodes hold them */
	cm_mesh_log_change(m, &c, redo);
	for (i = 0; i < n; i++) {
		const struct chainmesh_flow *f = cm_mesh_flow(m, ids[i]);

		if (WARN_ON_ONCE(!f))
			continue;
		cm_mesh_chain_count(m, f, 1, -1);
		first = min(first, m->flow_pos[ids[i]]);
		m->flow_pos[ids[i]] = CM_FLOW_NONE;
	}
	/* an entry stays if its id still has a place */
	for (i = w = first; i < m->nflows; i++) {
		u32 id = le32_to_cpu(m->flows[i].flow_id);

		if (m->flow_pos[id] == CM_FLOW_NONE)
			continue;
		m->flows[w] = m->flows[i];
		m->flow_pos[id] = w++;
	}
	m->nflows = w;
	cm_mesh_redo(m, redo);
}

void cm_mesh_node_info(struct cm_mesh *m, u32 n, struct cm_node_info *ni)
{
	struct chainmesh_node *e = cm_node(m->base, &m->l, n);
	struct chainmesh_node_stats *s = cm_stats(m->base, &m->l, n);
	u32 host;
	int i;

	ni->id = n;
	/* Pairs with the node's release of state: its MAC is written first. */
	ni->state = cm_state_sanitize(le32_to_cpu(smp_load_acquire(&e->state)));
	host = le32_to_cpu(READ_ONCE(e->host_state));
	/* Report our verdict on a node that claims to be alive but is not,
	 * and on one whose life is broken whatever it claims. */
	if (host == CHAINMESH_NODE_DOWN &&
	    (ni->state == CHAINMESH_NODE_UP || ni->state == CHAINMESH_NODE_JOINING))
		ni->state = CHAINMESH_NODE_DOWN;
	else if (host == CHAINMESH_NODE_BROKEN)
		ni->state = CHAINMESH_NODE_BROKEN;
	ni->epoch = le32_to_cpu(READ_ONCE(e->epoch));
	ni->heartbeat = le64_to_cpu(READ_ONCE(e->heartbeat));
	for (i = 0; i < 6; i++)
		ni->mac[i] = READ_ONCE(e->mac[i]);

	ni->rx_packets = le64_to_cpu(READ_ONCE(s->rx_packets));
	ni->rx_bytes = le64_to_cpu(READ_ONCE(s->rx_bytes));
	ni->tx_packets = le64_to_cpu(READ_ONCE(s->tx_packets));
	ni->tx_bytes = le64_to_cpu(READ_ONCE(s->tx_bytes));
	ni->drops = le64_to_cpu(READ_ONCE(s->drops));
	ni->bad_desc = le64_to_cpu(READ_ONCE(s->bad_desc));
}

/* Node @n's counters for flow @id since the flow was created. A node that
 * restarted its counters (they went backwards) counts from zero again. */
void cm_mesh_flow_stats(struct cm_mesh *m, u32 id, u32 n, struct cm_fstat *st)
{
	struct chainmesh_flow_stats *fs = &cm_flow_stats(m->base, &m->l, n)[id];
	const struct cm_fstat *base = &m->fbase[(size_t)id * m->l.p.nodes + n];
	u64 packets = le64_to_cpu(READ_ONCE(fs->packets));
	u64 bytes = le64_to_cpu(READ_ONCE(fs->bytes));

	lockdep_assert_held(&cm_mesh_lock);
	if (packets < base->packets || bytes < base->bytes) {
		st->packets = packets;
		st->bytes = bytes;
	} else {
		st->packets = packets - base->packets;
		st->bytes = bytes - base->bytes;
	}
}
