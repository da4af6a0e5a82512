// SPDX-License-Identifier: GPL-2.0
/*
 * debugfs <module>/<dev>/hops (chainmesh/cm0, chainmesh_host/cmh-lab): the last CM_HOPLOG_LEN buffers this node
 * handled (with the hop_log parameter set), one line each, oldest first:
 *
 *   xdp_tx peer 3 addr 0x2a1000 owner 1 off 256 len 98 chain 1 hop 2
 *
 * A buffer keeps its offset (and its owner) from hop to hop when nothing
 * copies it, which is what the zero-copy tests compare.
 *
 * <module>/<dev>/ftable: the flow table snapshot in use and how many
 * were built inline by the datapath and by the work item:
 *
 *   seq 42 flows 100000 inline 3 work 17
 *   log_pos 5120 gen 3 applied 5000 rounds 40 checkpoints 3 copies 0 behind 0 torn 0 refused 0
 *   published seq 42 head 5120
 *
 * <module>/<dev>/flows: the flows of that table, "id chain priority" a
 * line, in its entry order.
 *
 * ftable's second line: the flow log (flowlog.h) as this node reads it: its
 * table's position and generation, increments applied, rounds, checkpoints
 * taken, copies of the current table into a buffer the log could not bring
 * up to date, and the log reads that failed, by why (each one a fallback
 * to a copy or to the checkpoint; `ethtool -S` shows them as flog_*).
 * The third: the seq of the table and the head of the log the owner
 * published, read now; the table in use holds all of it when its seq
 * and log_pos are those.
 */
#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "ndev.h"

static struct dentry *cm_debugfs_root;

static const char * const cm_hop_names[] = {
	[CM_HOP_TX]		= "tx",
	[CM_HOP_RX]		= "rx",
	[CM_HOP_XDP_TX]		= "xdp_tx",
	[CM_HOP_XDP_DROP]	= "xdp_drop",
	[CM_HOP_XDP_REDIRECT]	= "xdp_redirect",
	[CM_HOP_XDP_XMIT]	= "xdp_xmit",
};

void cm_hop_log(struct cm_ndev *nd, enum cm_hop_what what, u32 peer,
		const struct cm_desc *d)
{
	struct cm_hoplog *log = nd->hoplog;
	struct cm_hop_rec *rec;

	rec = &log->rec[(u32)atomic_inc_return(&log->pos) % CM_HOPLOG_LEN];
	rec->addr = d->addr;
	rec->data_off = d->data_off;
	rec->len = d->len;
	rec->chain = d->chain;
	rec->hop = d->hop;
	rec->what = what;
	rec->peer = peer;
}

static int cm_hops_show(struct seq_file *m, void *v)
{
	struct cm_ndev *nd = m->private;
	struct cm_hoplog *log = nd->hoplog;
	u32 end = atomic_read(&log->pos), i, owner, idx;

	for (i = end >= CM_HOPLOG_LEN ? end - CM_HOPLOG_LEN + 1 : 1; i <= end; i++) {
		struct cm_hop_rec rec = log->rec[i % CM_HOPLOG_LEN];

		if (rec.what >= ARRAY_SIZE(cm_hop_names) ||
		    cm_buf_check(&nd->l, rec.addr, &owner, &idx))
			continue;
		seq_printf(m, "%s peer %u addr %#llx owner %u off %u len %u chain %u hop %u\n",
			   cm_hop_names[rec.what], rec.peer, rec.addr, owner,
			   rec.data_off, rec.len, rec.chain, rec.hop);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cm_hops);

static int cm_ftable_show(struct seq_file *m, void *v)
{
	struct cm_ndev *nd = m->private;
	const struct cm_ftable *t;

	rcu_read_lock();
	t = rcu_dereference(nd->ft.cur);
	seq_printf(m, "seq %u flows %u inline %llu work %llu\n", t->seq,
		   t->nflows, READ_ONCE(nd->ft.inline_builds),
		   READ_ONCE(nd->ft.work_builds));
	/* the builder writes them: a torn u64 at worst, on 32-bit */
	seq_printf(m, "log_pos %u gen %u applied %llu rounds %llu checkpoints %llu copies %llu behind %llu torn %llu refused %llu\n",
		   t->log_pos, t->gen, READ_ONCE(nd->ft.flog.applied),
		   READ_ONCE(nd->ft.flog.rounds),
		   READ_ONCE(nd->ft.flog.checkpoints),
		   READ_ONCE(nd->ft.copies),
		   READ_ONCE(nd->ft.flog.fallbacks[CM_FLOG_BEHIND]),
		   READ_ONCE(nd->ft.flog.fallbacks[CM_FLOG_TORN]),
		   READ_ONCE(nd->ft.flog.fallbacks[CM_FLOG_REFUSED]));
	/* what the owner published, as read now: the table is up to date
	 * when its seq and log_pos are these */
	seq_printf(m, "published seq %u head %u\n",
		   le32_to_cpu(READ_ONCE(cm_ftable_hdr(nd->ft.shared)->seq)),
		   le32_to_cpu(READ_ONCE(nd->ft.log->head)));
	rcu_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cm_ftable);

/* What the table in use holds, one flow a line in its entry order: what
 * a test compares with the host's flow show. */
static int cm_flows_show(struct seq_file *m, void *v)
{
	struct cm_ndev *nd = m->private;
	const struct cm_ftable *t;
	u32 i;

	rcu_read_lock();
	t = rcu_dereference(nd->ft.cur);
	for (i = 0; i < t->nflows; i++)
		seq_printf(m, "%u %u %u\n", le32_to_cpu(t->flows[i].flow_id),
			   le16_to_cpu(t->flows[i].chain),
			   le16_to_cpu(t->flows[i].priority));
	rcu_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cm_flows);

/* After register_netdev(): the directory is named after the device. */
void cm_debugfs_init(struct cm_ndev *nd)
{
	nd->debugfs = debugfs_create_dir(netdev_name(nd->netdev), cm_debugfs_root);
	debugfs_create_file("hops", 0400, nd->debugfs, nd, &cm_hops_fops);
	debugfs_create_file("ftable", 0400, nd->debugfs, nd, &cm_ftable_fops);
	debugfs_create_file("flows", 0400, nd->debugfs, nd, &cm_flows_fops);
}

/* Waits for readers of the files to leave them. */
void cm_debugfs_exit(struct cm_ndev *nd)
{
	debugfs_remove_recursive(nd->debugfs);
	nd->debugfs = NULL;
}

/* The module's directory, for its nodes'. */
int cm_node_module_init(void)
{
	cm_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	return 0;
}

void cm_node_module_exit(void)
{
	debugfs_remove(cm_debugfs_root);
}
