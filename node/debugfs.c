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
	rcu_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(cm_ftable);

/* After register_netdev(): the directory is named after the device. */
void cm_debugfs_init(struct cm_ndev *nd)
{
	nd->debugfs = debugfs_create_dir(netdev_name(nd->netdev), cm_debugfs_root);
	debugfs_create_file("hops", 0400, nd->debugfs, nd, &cm_hops_fops);
	debugfs_create_file("ftable", 0400, nd->debugfs, nd, &cm_ftable_fops);
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
