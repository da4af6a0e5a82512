// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh host, real backing: the region is host memory.
 *
 * `mesh new` allocates a shmem file of the region's (power of two) size;
 * QEMU maps it MAP_SHARED, so it must be a file, and shmem gives us its
 * pages. We pin every page (a reference, and the mapping is unevictable)
 * and vmap() them for node 0's own access; the pages stay where QEMU
 * mapped them for the mesh's whole life. The file's size is sealed.
 *
 * /dev/chainmesh hands the ivshmem daemon a new fd of the file for the
 * QEMU guests, and takes the doorbell eventfds, one per vector (a vector
 * per queue): node 0's own (peers signal them; we wait on each like
 * KVM's irqfd and schedule the NAPI contexts of the vector's lanes from
 * an irq_work, as the wakeup comes with a spinlock held and irqs off) and
 * each peer's (we signal vector v to kick that peer's lanes of v).
 *
 * cm_mesh_lock serialises the ioctls, `mesh new/del` and module unload:
 * an ioctl holds it from finding the mesh to its last access.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/irq_work.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/netlink.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/poll.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <uapi/linux/fcntl.h>

#include "mesh.h"
#include "../node/ndev.h"
#include "shm.h"

/* A region is vmapped whole: keep it well within vmalloc space. */
#define CM_SHM_MAX_SIZE		(1ULL << 30)

/* A vector of node 0's doorbell: an eventfd we wait on. */
struct cm_shm_inbound {
	wait_queue_entry_t wait;
	poll_table pt;
	struct irq_work work;
	struct eventfd_ctx *ctx;
	struct file *file;
	struct cm_mesh *m;
	u32 v;
};

struct cm_shm {
	struct file *file;
	struct page **pages;
	unsigned long npages;
	void *base;
	struct cm_mesh *m;
	/* Node 0's vectors, under cm_mesh_lock. */
	struct cm_shm_inbound *in[CHAINMESH_MAX_QUEUES];
	/* Peers' vectors. */
	struct eventfd_ctx __rcu *bells[CHAINMESH_MAX_NODES][CHAINMESH_MAX_QUEUES];
};

/* Doorbells */

static void cm_shm_kick(struct cm_mesh *m, u32 peer, u32 vector)
{
	struct cm_shm *s = m->priv;
	struct eventfd_ctx *ctx;

	rcu_read_lock();
	ctx = rcu_dereference(s->bells[peer][vector]);
	/* The daemon hands every vector it gives the peer's QEMU; vector 0
	 * (all of the peer's lanes, if it listens on one) otherwise. */
	if (!ctx)
		ctx = rcu_dereference(s->bells[peer][0]);
	if (ctx)
		eventfd_signal(ctx, 1);
	rcu_read_unlock();
}

static void cm_shm_inbound_work(struct irq_work *work)
{
	struct cm_shm_inbound *in = container_of(work, struct cm_shm_inbound, work);

	cm_node_kicked_vector(in->m->nd, in->v);
}

/* Node 0 listens on the vectors 0..n-1 it has eventfds for: senders
 * ring lane % n (cm_node_bell_vector()). */
static void cm_shm_vectors_update(struct cm_shm *s)
{
	u32 n = 0;

	while (n < CHAINMESH_MAX_QUEUES && s->in[n])
		n++;
	WRITE_ONCE(s->m->polled, !n);
	cm_node_set_vectors(s->m->nd, n);
}

/* A peer signalled node 0: called with the eventfd's wait queue lock held. */
static int cm_shm_inbound_wake(wait_queue_entry_t *wait, unsigned int mode,
			       int sync, void *key)
{
	struct cm_shm_inbound *in = container_of(wait, struct cm_shm_inbound, wait);
	u64 cnt;

	if (key_to_poll(key) & EPOLLIN) {
		/* One kick means "look at every ring": the count is moot. */
		eventfd_ctx_do_read(in->ctx, &cnt);
		irq_work_queue(&in->work);
	}
	return 0;
}

static void cm_shm_inbound_queue(struct file *file, wait_queue_head_t *wqh,
				 poll_table *pt)
{
	struct cm_shm_inbound *in = container_of(pt, struct cm_shm_inbound, pt);

	add_wait_queue(wqh, &in->wait);
}

/* Senders stop ringing it first; then a poll of every lane for a kick
 * that went to it meanwhile. */
static void cm_shm_inbound_del(struct cm_shm *s, u32 v)
{
	struct cm_shm_inbound *in = s->in[v];
	u64 cnt;

	if (!in)
		return;
	s->in[v] = NULL;
	cm_shm_vectors_update(s);
	eventfd_ctx_remove_wait_queue(in->ctx, &in->wait, &cnt);
	irq_work_sync(&in->work);
	eventfd_ctx_put(in->ctx);
	fput(in->file);
	kfree(in);
	local_bh_disable();
	cm_node_kicked(s->m->nd);
	local_bh_enable();
}

static int cm_shm_inbound_set(struct cm_shm *s, u32 v, int fd)
{
	struct cm_shm_inbound *in;
	__poll_t events;
	int err;

	cm_shm_inbound_del(s, v);
	if (fd < 0)
		return 0;

	in = kzalloc(sizeof(*in), GFP_KERNEL);
	if (!in)
		return -ENOMEM;
	in->m = s->m;
	in->v = v;
	in->file = eventfd_fget(fd);
	if (IS_ERR(in->file)) {
		err = PTR_ERR(in->file);
		goto err_free;
	}
	in->ctx = eventfd_ctx_fileget(in->file);
	if (IS_ERR(in->ctx)) {
		err = PTR_ERR(in->ctx);
		goto err_fput;
	}
	init_waitqueue_func_entry(&in->wait, cm_shm_inbound_wake);
	init_poll_funcptr(&in->pt, cm_shm_inbound_queue);
	init_irq_work(&in->work, cm_shm_inbound_work);

	events = vfs_poll(in->file, &in->pt);
	s->in[v] = in;
	/* Listening: senders may ring it. */
	cm_shm_vectors_update(s);
	/* Kicks from before we listened. */
	if (events & EPOLLIN)
		irq_work_queue(&in->work);
	return 0;

err_fput:
	fput(in->file);
err_free:
	kfree(in);
	return err;
}

static int cm_shm_bell_set(struct cm_shm *s, u32 node, u32 v, int fd)
{
	struct eventfd_ctx *ctx = NULL, *old;

	lockdep_assert_held(&cm_mesh_lock);
	if (node == s->m->self)
		return cm_shm_inbound_set(s, v, fd);
	if (fd >= 0) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	old = rcu_replace_pointer(s->bells[node][v], ctx,
				  lockdep_is_held(&cm_mesh_lock));
	if (old) {
		/* No kick of node 0's datapath still uses it. */
		synchronize_rcu();
		eventfd_ctx_put(old);
	}
	return 0;
}

/* Mesh teardown: node 0's doorbell goes first. Nobody else can find the
 * mesh any more. */
static void cm_shm_quiesce(struct cm_mesh *m)
{
	u32 v = CHAINMESH_MAX_QUEUES;

	/* From the top: the vectors node 0 listens on shrink one by one. */
	while (v--)
		cm_shm_inbound_del(m->priv, v);
}

static const struct cm_bell_ops cm_shm_bell_ops = {
	.kick = cm_shm_kick,
	.quiesce = cm_shm_quiesce,
};

/* The region */

static void cm_shm_unpin(struct cm_shm *s, unsigned long n)
{
	struct pagevec pvec;
	unsigned long i;

	mapping_clear_unevictable(s->file->f_mapping);
	pagevec_init(&pvec);
	for (i = 0; i < n; i++) {
		/* Written through our mapping: not to be dropped as clean. */
		set_page_dirty(s->pages[i]);
		if (!pagevec_add(&pvec, s->pages[i])) {
			check_move_unevictable_pages(&pvec);
			__pagevec_release(&pvec);
		}
	}
	if (pagevec_count(&pvec)) {
		check_move_unevictable_pages(&pvec);
		__pagevec_release(&pvec);
	}
}

static int cm_shm_map(struct cm_shm *s, const char *name, u64 size)
{
	struct address_space *mapping;
	char fname[32];
	unsigned long i;
	int err;

	snprintf(fname, sizeof(fname), "chainmesh-%s", name);
	s->file = shmem_file_setup(fname, size, 0);
	if (IS_ERR(s->file))
		return PTR_ERR(s->file);
	/* QEMU takes the file's size as the BAR's: it must never change. */
	SHMEM_I(file_inode(s->file))->seals |= F_SEAL_SHRINK | F_SEAL_GROW;
	mapping = s->file->f_mapping;
	mapping_set_unevictable(mapping);

	s->npages = size >> PAGE_SHIFT;
	s->pages = kvmalloc_array(s->npages, sizeof(*s->pages), GFP_KERNEL);
	if (!s->pages) {
		err = -ENOMEM;
		goto err_fput;
	}
	for (i = 0; i < s->npages; i++) {
		s->pages[i] = shmem_read_mapping_page(mapping, i);
		if (IS_ERR(s->pages[i])) {
			err = PTR_ERR(s->pages[i]);
			goto err_unpin;
		}
	}
	s->base = vmap(s->pages, s->npages, VM_MAP, PAGE_KERNEL);
	if (!s->base) {
		err = -ENOMEM;
		goto err_unpin;
	}
	return 0;

err_unpin:
	cm_shm_unpin(s, i);
	kvfree(s->pages);
err_fput:
	fput(s->file);
	return err;
}

static void cm_shm_unmap(struct cm_shm *s)
{
	vunmap(s->base);
	cm_shm_unpin(s, s->npages);
	kvfree(s->pages);
	/* QEMU may still map the file: then the pages live on, as its own. */
	fput(s->file);
}

/*
 * cm_shm_mesh_add - `mesh new`: allocate a region for @p and be its node 0
 */
int cm_shm_mesh_add(const char *name, const struct cm_layout_params *p,
		    struct netlink_ext_ack *extack)
{
	struct cm_mesh_backing b = {
		.type = CHAINMESH_BACKING_SHMEM,
		.bell = &cm_shm_bell_ops,
		.polled = true,
	};
	struct cm_layout l;
	struct cm_mesh *m;
	struct cm_shm *s;
	int err;

	if (cm_layout_compute(p, U64_MAX, &l)) {
		NL_SET_ERR_MSG(extack, "bad layout parameters");
		return -EINVAL;
	}
	b.size = roundup_pow_of_two(max_t(u64, l.size, PAGE_SIZE));
	if (b.size > CM_SHM_MAX_SIZE) {
		NL_SET_ERR_MSG(extack, "region would be larger than 1 GiB");
		return -E2BIG;
	}
	if (cm_mesh_name_taken(name)) {
		NL_SET_ERR_MSG(extack, "mesh exists");
		return -EEXIST;
	}

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	err = cm_shm_map(s, name, b.size);
	if (err) {
		NL_SET_ERR_MSG(extack, "cannot allocate the region");
		goto err_free;
	}
	b.base = s->base;
	b.priv = s;
	b.self = &s->m;
	m = cm_mesh_create(name, p, &b, extack);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
		goto err_unmap;
	}
	pr_info("mesh %s: %u nodes, %llu of %llu bytes of shmem, mesh id %08x\n",
		name, m->l.p.nodes, m->l.size, b.size, m->mesh_id);
	return 0;

err_unmap:
	cm_shm_unmap(s);
err_free:
	kfree(s);
	return err;
}

static void cm_shm_destroy(struct cm_mesh *m)
{
	struct cm_shm *s = m->priv;
	u32 n, v;

	cm_mesh_destroy(m);
	/* Node 0's datapath is gone: nobody kicks peers any more. */
	for (n = 0; n < CHAINMESH_MAX_NODES; n++) {
		for (v = 0; v < CHAINMESH_MAX_QUEUES; v++) {
			struct eventfd_ctx *ctx;

			ctx = rcu_dereference_protected(s->bells[n][v], 1);
			if (ctx)
				eventfd_ctx_put(ctx);
		}
	}
	cm_shm_unmap(s);
	kfree(s);
}

/* `mesh del`: only meshes of this backing. */
int cm_shm_mesh_del(const char *name, struct netlink_ext_ack *extack)
{
	struct cm_mesh *m;

	mutex_lock(&cm_mesh_lock);
	m = cm_mesh_find(name);
	if (!m || m->backing != CHAINMESH_BACKING_SHMEM) {
		mutex_unlock(&cm_mesh_lock);
		if (m) {
			NL_SET_ERR_MSG(extack, "not a host memory mesh (a lab mesh)");
			return -EOPNOTSUPP;
		}
		NL_SET_ERR_MSG(extack, "no such mesh");
		return -ENODEV;
	}
	/* Requests are serialised (genetlink): nobody else deletes it. */
	mutex_unlock(&cm_mesh_lock);
	cm_shm_destroy(m);
	return 0;
}

/* /dev/chainmesh */

static struct cm_mesh *cm_shm_find(const char *name)
{
	struct cm_mesh *m;

	lockdep_assert_held(&cm_mesh_lock);
	if (!memchr(name, '\0', CHAINMESH_NAME_LEN))
		return ERR_PTR(-EINVAL);
	m = cm_mesh_find(name);
	if (!m)
		return ERR_PTR(-ENODEV);
	if (m->backing != CHAINMESH_BACKING_SHMEM)
		return ERR_PTR(-EOPNOTSUPP);
	return m;
}

static long cm_shm_ioc_region(void __user *arg)
{
	struct chainmesh_ioc_region r;
	struct cm_shm *s;
	struct cm_mesh *m;
	int fd, err;

	if (copy_from_user(&r, arg, sizeof(r)))
		return -EFAULT;
	if (r.flags)
		return -EINVAL;

	mutex_lock(&cm_mesh_lock);
	m = cm_shm_find(r.mesh);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
		goto out_unlock;
	}
	s = m->priv;
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		err = fd;
		goto out_unlock;
	}
	r.fd = fd;
	r.size = m->region_size;
	if (copy_to_user(arg, &r, sizeof(r))) {
		put_unused_fd(fd);
		err = -EFAULT;
		goto out_unlock;
	}
	fd_install(fd, get_file(s->file));
	err = 0;
out_unlock:
	mutex_unlock(&cm_mesh_lock);
	return err;
}

static long cm_shm_ioc_doorbell(void __user *arg)
{
	struct chainmesh_ioc_doorbell d;
	struct cm_mesh *m;
	int err;

	if (copy_from_user(&d, arg, sizeof(d)))
		return -EFAULT;
	if (d.flags || d.vector >= CHAINMESH_MAX_QUEUES || d.fd < -1)
		return -EINVAL;

	mutex_lock(&cm_mesh_lock);
	m = cm_shm_find(d.mesh);
	if (IS_ERR(m))
		err = PTR_ERR(m);
	else if (d.node >= m->l.p.nodes)
		err = -ERANGE;
	else
		err = cm_shm_bell_set(m->priv, d.node, d.vector, d.fd);
	mutex_unlock(&cm_mesh_lock);
	return err;
}

static long cm_shm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;

	switch (cmd) {
	case CHAINMESH_IOC_REGION_FD:
		return cm_shm_ioc_region((void __user *)arg);
	case CHAINMESH_IOC_DOORBELL:
		return cm_shm_ioc_doorbell((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations cm_shm_fops = {
	.owner		= THIS_MODULE,
	.open		= nonseekable_open,
	.unlocked_ioctl	= cm_shm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice cm_shm_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= CHAINMESH_DEV_NAME,
	.fops	= &cm_shm_fops,
	.mode	= 0600,
};

int __init cm_shm_init(void)
{
	return misc_register(&cm_shm_miscdev);
}

/* After the netlink family is gone: nobody adds a mesh any more. */
void cm_shm_exit(void)
{
	struct cm_mesh *m;

	misc_deregister(&cm_shm_miscdev);
	for (;;) {
		mutex_lock(&cm_mesh_lock);
		m = NULL;
		list_for_each_entry(m, &cm_meshes, list)
			if (m->backing == CHAINMESH_BACKING_SHMEM)
				break;
		if (list_entry_is_head(m, &cm_meshes, list))
			m = NULL;
		mutex_unlock(&cm_mesh_lock);
		if (!m)
			break;
		cm_shm_destroy(m);
	}
}
