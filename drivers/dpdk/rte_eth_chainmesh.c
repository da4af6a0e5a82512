// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * net_chainmesh: a DPDK poll-mode driver that makes a DPDK application a
 * node of a chainmesh mesh, on libchainmesh (the node's datapath is
 * include/chainmesh/dp.h, as in chainmesh.ko; nothing of it is here).
 *
 *   dpdk-testpmd -d librte_net_chainmesh.so --no-huge \
 *	--vdev=net_chainmesh0,socket=/run/chainmesh/ivshmem.sock,node=3
 *   (or pci=/sys/bus/pci/devices/0000:00:04.0 inside a guest)
 *
 * Receive: each frame the node receives becomes an mbuf of the receive
 * queue's pool attached to the frame's buffer in the region as an
 * external buffer (zero copy). Its shared info lives here, never in the
 * region (a peer could write it): freeing the mbuf gives the buffer back
 * to its owner (cml_release()).
 * Transmit: an mbuf this port received, still whole and not shared, is
 * passed on as it is (cml_forward(): the same buffer to the next node of
 * its chain, as XDP_TX does); any other mbuf is copied into a buffer of
 * the node's own pool (cml_send()). Its chain context is an mbuf dynamic
 * field (rte_pmd_chainmesh.h).
 *
 * One receive and one transmit queue, polled from one thread: a
 * libchainmesh node is used from one thread (libchainmesh.h). An mbuf
 * freed on another thread comes back through a ring the poller drains.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ethdev_driver.h>
#include <ethdev_vdev.h>
#include <bus_vdev_driver.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>
#include <rte_string_fns.h>

#include <chainmesh/libchainmesh.h>

#include "rte_pmd_chainmesh.h"

#define CM_PMD_ARG_SOCKET	"socket"
#define CM_PMD_ARG_PCI		"pci"
#define CM_PMD_ARG_NODE		"node"
#define CM_PMD_ARG_VECTORS	"vectors"
#define CM_PMD_BURST		64

RTE_LOG_REGISTER_DEFAULT(cm_pmd_logtype, NOTICE);
#define CM_PMD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_ ## level, cm_pmd_logtype, "net_chainmesh: " fmt "\n", \
		##__VA_ARGS__)

static const char *const cm_pmd_valid_args[] = {
	CM_PMD_ARG_SOCKET, CM_PMD_ARG_PCI, CM_PMD_ARG_NODE, CM_PMD_ARG_VECTORS,
	NULL
};

struct cm_pmd;

/* A region buffer in an mbuf's hands. */
struct cm_pmd_ext {
	struct rte_mbuf_ext_shared_info shinfo;
	struct cml_buf b;
	struct cm_pmd *pmd;
	uint32_t life;		/* the node's life it was received in */
	bool passed;		/* transmitted: the next node's now */
};

/* Our own counters; the node's come from libchainmesh. */
struct cm_pmd_ctrs {
	uint64_t fwd_bytes;
	uint64_t rx_nombuf;
	uint64_t tx_copied;	/* mbufs of other pools, copied */
	uint64_t tx_seg_copied;	/* of those, chained mbufs */
};

struct cm_pmd {
	struct cml_node *node;
	struct cml_config cfg;
	char socket[PATH_MAX];
	char pci[PATH_MAX];
	uint16_t port_id;
	bool started;
	uint32_t life;
	struct rte_mempool *mp;		/* the receive queue's */
	struct rte_ether_addr mac;

	/* Every buffer the node can hold has an ext: never short of one. */
	struct cm_pmd_ext *ext;
	uint32_t *free_ext;
	uint32_t nfree;
	uint32_t next;
	struct rte_ring *late;		/* exts freed off the poll thread */
	pthread_t poller;
	bool have_poller;

	struct cm_pmd_ctrs c;
	struct rte_eth_stats base;	/* at the last stats_reset */
	uint64_t *xbase;		/* at the last xstats_reset */
	unsigned int nxbase;

	struct cml_buf bufs[CM_PMD_BURST];
	uint8_t *bounce;		/* a chained mbuf, linear */
};

/* The queues are the port's one node. */
struct cm_pmd_queue {
	struct cm_pmd *pmd;
};

static int cm_pmd_dynfield = -1;
static uint64_t cm_pmd_dynflag;

static struct rte_pmd_chainmesh_ctx *cm_pmd_ctx(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, cm_pmd_dynfield,
				 struct rte_pmd_chainmesh_ctx *);
}

static void cm_pmd_ext_put(struct cm_pmd *pmd, struct cm_pmd_ext *e)
{
	if (!e->passed && pmd->started && e->life == pmd->life)
		cml_release(pmd->node, &e->b, 1);
	pmd->free_ext[pmd->nfree++] = (uint32_t)(e - pmd->ext);
}

/* The mbuf's last reference went: the buffer goes home (unless it was
 * passed on), from the poll thread, or later through @late. */
static void cm_pmd_ext_free(void *addr, void *opaque)
{
	struct cm_pmd_ext *e = opaque;
	struct cm_pmd *pmd = e->pmd;

	(void)addr;
	if (pmd->have_poller && pthread_equal(pmd->poller, pthread_self()))
		cm_pmd_ext_put(pmd, e);
	else if (rte_ring_mp_enqueue(pmd->late, e))
		/* cannot happen: the ring holds every ext */
		CM_PMD_LOG(ERR, "port %u: a buffer lost", pmd->port_id);
}

static void cm_pmd_poll_enter(struct cm_pmd *pmd)
{
	void *late[CM_PMD_BURST];
	unsigned int i, n;

	if (unlikely(!pmd->have_poller ||
		     !pthread_equal(pmd->poller, pthread_self()))) {
		pmd->poller = pthread_self();
		pmd->have_poller = true;
	}
	do {
		n = rte_ring_sc_dequeue_burst(pmd->late, late, CM_PMD_BURST,
					      NULL);
		for (i = 0; i < n; i++)
			cm_pmd_ext_put(pmd, late[i]);
	} while (n == CM_PMD_BURST);
}

static uint16_t cm_pmd_rx(void *q, struct rte_mbuf **mbufs, uint16_t nb)
{
	struct cm_pmd *pmd = ((struct cm_pmd_queue *)q)->pmd;
	uint32_t room = cml_buf_room(pmd->node);
	uint8_t *base = cml_region(pmd->node, NULL);
	int n, i;

	if (unlikely(!pmd->started))
		return 0;
	cm_pmd_poll_enter(pmd);
	if (nb > CM_PMD_BURST)
		nb = CM_PMD_BURST;
	if (nb > pmd->nfree)
		nb = (uint16_t)pmd->nfree;
	n = cml_rx_burst(pmd->node, pmd->bufs, nb);
	if (n <= 0)
		return 0;
	if (unlikely(rte_pktmbuf_alloc_bulk(pmd->mp, mbufs, (unsigned int)n))) {
		cml_release(pmd->node, pmd->bufs, n);
		cml_flush(pmd->node);
		pmd->c.rx_nombuf += (uint64_t)n;
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct cml_buf *b = &pmd->bufs[i];
		struct rte_mbuf *m = mbufs[i];
		struct cm_pmd_ext *e;
		uint8_t *start = base + b->offset;

		e = &pmd->ext[pmd->free_ext[--pmd->nfree]];
		e->b = *b;
		e->life = pmd->life;
		e->passed = false;
		rte_mbuf_ext_refcnt_set(&e->shinfo, 1);
		rte_pktmbuf_attach_extbuf(m, start, RTE_BAD_IOVA, (uint16_t)room,
					  &e->shinfo);
		m->data_off = (uint16_t)(b->data - start);
		m->data_len = (uint16_t)b->len;
		m->pkt_len = b->len;
		m->port = pmd->port_id;
		if (b->has_ctx) {
			struct rte_pmd_chainmesh_ctx *c = cm_pmd_ctx(m);

			c->chain = b->chain;
			c->hop = b->hop;
			m->ol_flags |= cm_pmd_dynflag;
		}
	}
	return (uint16_t)n;
}

/* An mbuf this port received and that only its holder refers to. */
static struct cm_pmd_ext *cm_pmd_own(struct cm_pmd *pmd, struct rte_mbuf *m)
{
	struct cm_pmd_ext *e;

	if (!RTE_MBUF_HAS_EXTBUF(m) || m->shinfo->free_cb != cm_pmd_ext_free)
		return NULL;
	e = m->shinfo->fcb_opaque;
	if (e->pmd != pmd || e->life != pmd->life || m->nb_segs != 1 ||
	    rte_mbuf_refcnt_read(m) != 1 ||
	    rte_mbuf_ext_refcnt_read(&e->shinfo) != 1)
		return NULL;
	return e;
}

/* Zero copy: @n received mbufs to the next node of their chains.
 * Return: how many it took (the rest stays the caller's). */
static int cm_pmd_forward(struct cm_pmd *pmd, struct rte_mbuf **mbufs, int n)
{
	struct cml_buf b[CM_PMD_BURST];
	int i, done;

	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = mbufs[i];
		struct cm_pmd_ext *e = m->shinfo->fcb_opaque;

		b[i] = e->b;
		b[i].data = rte_pktmbuf_mtod(m, uint8_t *);
		b[i].len = m->data_len;
		b[i].has_ctx = m->ol_flags & cm_pmd_dynflag;
		if (b[i].has_ctx) {
			b[i].chain = cm_pmd_ctx(m)->chain;
			b[i].hop = cm_pmd_ctx(m)->hop;
		}
	}
	done = cml_forward(pmd->node, b, n);
	for (i = 0; i < done; i++) {
		struct cm_pmd_ext *e = mbufs[i]->shinfo->fcb_opaque;

		/* forwarded, or given back when it had nowhere to go */
		e->passed = true;
		pmd->c.fwd_bytes += b[i].len;
		rte_pktmbuf_free(mbufs[i]);
	}
	return done;
}

/* A copy into our pool. Return: 0 taken (sent or dropped, and counted),
 * -EAGAIN no room yet. */
static int cm_pmd_copy(struct cm_pmd *pmd, struct rte_mbuf *m)
{
	struct cml_ctx ctx, *cp = NULL;
	const void *frame;
	int err;

	if (m->ol_flags & cm_pmd_dynflag) {
		ctx.chain = cm_pmd_ctx(m)->chain;
		ctx.hop = cm_pmd_ctx(m)->hop;
		cp = &ctx;
	}
	if (m->pkt_len > cml_buf_size(pmd->node)) {
		/* counted as the node counts a frame too long */
		err = cml_send(pmd->node, NULL, m->pkt_len, cp);
		goto taken;
	}
	frame = rte_pktmbuf_read(m, 0, m->pkt_len, pmd->bounce);
	err = cml_send(pmd->node, frame, m->pkt_len, cp);
	if (err == -EAGAIN || err == -ENOBUFS)
		return -EAGAIN;
	if (!err) {
		pmd->c.tx_copied++;
		if (m->nb_segs > 1)
			pmd->c.tx_seg_copied++;
	}
taken:
	rte_pktmbuf_free(m);
	return 0;
}

static uint16_t cm_pmd_tx(void *q, struct rte_mbuf **mbufs, uint16_t nb)
{
	struct cm_pmd *pmd = ((struct cm_pmd_queue *)q)->pmd;
	int i = 0, run, done;

	if (unlikely(!pmd->started))
		return 0;
	cm_pmd_poll_enter(pmd);
	while (i < nb) {
		/* a run of our own mbufs goes on zero copy, in one burst */
		for (run = 0; i + run < nb && run < CM_PMD_BURST &&
		     cm_pmd_own(pmd, mbufs[i + run]); run++)
			;
		if (run) {
			done = cm_pmd_forward(pmd, &mbufs[i], run);
			i += done;
			if (done < run)
				break;
			continue;
		}
		if (cm_pmd_copy(pmd, mbufs[i]))
			break;
		i++;
	}
	cml_flush(pmd->node);
	return (uint16_t)i;
}

/* ------------------------------------------------------------ control */

static int cm_pmd_configure(struct rte_eth_dev *dev)
{
	(void)dev;
	return 0;
}

static int cm_pmd_start(struct rte_eth_dev *dev)
{
	struct cm_pmd *pmd = dev->data->dev_private;
	const uint8_t *mac;
	int err;

	if (!pmd->mp) {
		CM_PMD_LOG(ERR, "port %u: no receive queue", pmd->port_id);
		return -EINVAL;
	}
	err = cml_join(pmd->node);
	if (err) {
		CM_PMD_LOG(ERR, "port %u: join: %s", pmd->port_id,
			   strerror(-err));
		return err;
	}
	mac = cml_mac(pmd->node, cml_node_id(pmd->node));
	if (mac)
		memcpy(pmd->mac.addr_bytes, mac, RTE_ETHER_ADDR_LEN);
	pmd->life++;
	pmd->started = true;
	dev->data->dev_link.link_status = cml_link_up(pmd->node) ?
		RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
	dev->data->rx_queue_state[0] = RTE_ETH_QUEUE_STATE_STARTED;
	dev->data->tx_queue_state[0] = RTE_ETH_QUEUE_STATE_STARTED;
	return 0;
}

static int cm_pmd_stop(struct rte_eth_dev *dev)
{
	struct cm_pmd *pmd = dev->data->dev_private;

	if (!pmd->started)
		return 0;
	/* Whoever polls sees started false before the node leaves: the
	 * caller stopped polling (rte_eth_dev_stop()'s contract). */
	pmd->started = false;
	cml_leave(pmd->node);
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	dev->data->rx_queue_state[0] = RTE_ETH_QUEUE_STATE_STOPPED;
	dev->data->tx_queue_state[0] = RTE_ETH_QUEUE_STATE_STOPPED;
	return 0;
}

static int cm_pmd_info(struct rte_eth_dev *dev, struct rte_eth_dev_info *info)
{
	struct cm_pmd *pmd = dev->data->dev_private;

	info->max_mac_addrs = 1;
	info->max_rx_pktlen = cml_buf_size(pmd->node);
	info->max_mtu = (uint16_t)(info->max_rx_pktlen - RTE_ETHER_HDR_LEN);
	info->min_mtu = RTE_ETHER_MIN_MTU;
	/* one lane for now (see the file's comment) */
	info->max_rx_queues = 1;
	info->max_tx_queues = 1;
	info->min_rx_bufsize = 0;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->default_rxportconf.burst_size = 32;
	info->default_txportconf.burst_size = 32;
	return 0;
}

static int cm_pmd_link_update(struct rte_eth_dev *dev, int wait)
{
	struct cm_pmd *pmd = dev->data->dev_private;
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_UNKNOWN,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
	};

	(void)wait;
	link.link_status = pmd->started && cml_link_up(pmd->node) ?
		RTE_ETH_LINK_UP : RTE_ETH_LINK_DOWN;
	return rte_eth_linkstatus_set(dev, &link);
}

static void cm_pmd_stats_now(struct cm_pmd *pmd, struct rte_eth_stats *s)
{
	struct cml_stats cs;

	cml_get_stats(pmd->node, &cs);
	memset(s, 0, sizeof(*s));
	s->ipackets = cs.rx_packets;
	s->ibytes = cs.rx_bytes;
	s->opackets = cs.tx_packets + cs.forwarded;
	s->obytes = cs.tx_bytes + pmd->c.fwd_bytes;
	s->imissed = cs.rx_drops;
	s->ierrors = cs.bad;
	s->oerrors = cs.tx_drops + cs.forward_drops;
	s->rx_nombuf = pmd->c.rx_nombuf;
	s->q_ipackets[0] = s->ipackets;
	s->q_ibytes[0] = s->ibytes;
	s->q_opackets[0] = s->opackets;
	s->q_obytes[0] = s->obytes;
}

static int cm_pmd_stats_get(struct rte_eth_dev *dev, struct rte_eth_stats *s)
{
	struct cm_pmd *pmd = dev->data->dev_private;
	const uint64_t *now = (const uint64_t *)s;
	const uint64_t *base = (const uint64_t *)&pmd->base;
	uint64_t *out = (uint64_t *)s;
	size_t i;

	cm_pmd_stats_now(pmd, s);
	/* struct rte_eth_stats is all uint64_t */
	for (i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		out[i] = now[i] - base[i];
	return 0;
}

static int cm_pmd_stats_reset(struct rte_eth_dev *dev)
{
	struct cm_pmd *pmd = dev->data->dev_private;

	cm_pmd_stats_now(pmd, &pmd->base);
	return 0;
}

/* Ours after the node's: */
static const char *const cm_pmd_xnames[] = {
	"rx_nombuf", "tx_copied", "tx_copied_chained",
};
#define CM_PMD_XOWN	RTE_DIM(cm_pmd_xnames)

static int cm_pmd_xstats_all(struct cm_pmd *pmd, uint64_t *v, unsigned int n)
{
	int k = cml_xstats(pmd->node, v, n);

	if (k < 0 || (unsigned int)k + CM_PMD_XOWN > n)
		return k < 0 ? k : k + (int)CM_PMD_XOWN;
	v[k++] = pmd->c.rx_nombuf;
	v[k++] = pmd->c.tx_copied;
	v[k++] = pmd->c.tx_seg_copied;
	return k;
}

static int cm_pmd_xstats_get_names(struct rte_eth_dev *dev,
				   struct rte_eth_xstat_name *names,
				   unsigned int size)
{
	struct cm_pmd *pmd = dev->data->dev_private;
	int k = cml_xstat_names(pmd->node, NULL, 0), i;
	char (*tmp)[CML_XSTAT_NAME_LEN];

	if (!names || size < (unsigned int)k + CM_PMD_XOWN)
		return k + (int)CM_PMD_XOWN;
	tmp = calloc((size_t)k + 1, sizeof(*tmp));
	if (!tmp)
		return -ENOMEM;
	k = cml_xstat_names(pmd->node, tmp, (unsigned int)k);
	for (i = 0; i < k; i++)
		rte_strscpy(names[i].name, tmp[i], sizeof(names[i].name));
	free(tmp);
	for (i = 0; i < (int)CM_PMD_XOWN; i++)
		rte_strscpy(names[k + i].name, cm_pmd_xnames[i],
			sizeof(names[k + i].name));
	return k + (int)CM_PMD_XOWN;
}

static int cm_pmd_xstats_get(struct rte_eth_dev *dev,
			     struct rte_eth_xstat *xs, unsigned int n)
{
	struct cm_pmd *pmd = dev->data->dev_private;
	int k = cm_pmd_xstats_all(pmd, NULL, 0), i;
	uint64_t *v;

	if (!xs || n < (unsigned int)k)
		return k;
	v = calloc((size_t)k, sizeof(*v));
	if (!v)
		return -ENOMEM;
	k = cm_pmd_xstats_all(pmd, v, (unsigned int)k);
	for (i = 0; i < k; i++) {
		xs[i].id = (uint64_t)i;
		xs[i].value = v[i] -
			((unsigned int)i < pmd->nxbase ? pmd->xbase[i] : 0);
	}
	free(v);
	return k;
}

static int cm_pmd_xstats_reset(struct rte_eth_dev *dev)
{
	struct cm_pmd *pmd = dev->data->dev_private;
	int k = cm_pmd_xstats_all(pmd, NULL, 0);
	uint64_t *v = calloc((size_t)k + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	k = cm_pmd_xstats_all(pmd, v, (unsigned int)k);
	free(pmd->xbase);
	pmd->xbase = v;
	pmd->nxbase = (unsigned int)k;
	return 0;
}

static int cm_pmd_rxq_setup(struct rte_eth_dev *dev, uint16_t qid,
			    uint16_t nb_desc, unsigned int socket_id,
			    const struct rte_eth_rxconf *conf,
			    struct rte_mempool *mp)
{
	struct cm_pmd *pmd = dev->data->dev_private;
	struct cm_pmd_queue *q;

	(void)nb_desc;
	(void)conf;
	q = rte_zmalloc_socket("cm_pmd_rxq", sizeof(*q), 0, (int)socket_id);
	if (!q)
		return -ENOMEM;
	q->pmd = pmd;
	pmd->mp = mp;
	dev->data->rx_queues[qid] = q;
	return 0;
}

static int cm_pmd_txq_setup(struct rte_eth_dev *dev, uint16_t qid,
			    uint16_t nb_desc, unsigned int socket_id,
			    const struct rte_eth_txconf *conf)
{
	struct cm_pmd *pmd = dev->data->dev_private;
	struct cm_pmd_queue *q;

	(void)nb_desc;
	(void)conf;
	q = rte_zmalloc_socket("cm_pmd_txq", sizeof(*q), 0, (int)socket_id);
	if (!q)
		return -ENOMEM;
	q->pmd = pmd;
	dev->data->tx_queues[qid] = q;
	return 0;
}

static void cm_pmd_rxq_release(struct rte_eth_dev *dev, uint16_t qid)
{
	rte_free(dev->data->rx_queues[qid]);
	dev->data->rx_queues[qid] = NULL;
}

static void cm_pmd_txq_release(struct rte_eth_dev *dev, uint16_t qid)
{
	rte_free(dev->data->tx_queues[qid]);
	dev->data->tx_queues[qid] = NULL;
}

static int cm_pmd_promisc(struct rte_eth_dev *dev)
{
	(void)dev;
	return 0;	/* a node gets what its peers send it, as it is */
}

static int cm_pmd_close(struct rte_eth_dev *dev);

static const struct eth_dev_ops cm_pmd_ops = {
	.dev_configure		= cm_pmd_configure,
	.dev_start		= cm_pmd_start,
	.dev_stop		= cm_pmd_stop,
	.dev_close		= cm_pmd_close,
	.dev_infos_get		= cm_pmd_info,
	.link_update		= cm_pmd_link_update,
	.stats_get		= cm_pmd_stats_get,
	.stats_reset		= cm_pmd_stats_reset,
	.xstats_get		= cm_pmd_xstats_get,
	.xstats_get_names	= cm_pmd_xstats_get_names,
	.xstats_reset		= cm_pmd_xstats_reset,
	.rx_queue_setup		= cm_pmd_rxq_setup,
	.tx_queue_setup		= cm_pmd_txq_setup,
	.rx_queue_release	= cm_pmd_rxq_release,
	.tx_queue_release	= cm_pmd_txq_release,
	.promiscuous_enable	= cm_pmd_promisc,
	.promiscuous_disable	= cm_pmd_promisc,
	.allmulticast_enable	= cm_pmd_promisc,
	.allmulticast_disable	= cm_pmd_promisc,
};

/* What probe set up, undone (the port itself is the caller's). */
static void cm_pmd_free(struct cm_pmd *pmd)
{
	cml_close(pmd->node);
	pmd->node = NULL;
	rte_ring_free(pmd->late);
	pmd->late = NULL;
	rte_free(pmd->ext);
	rte_free(pmd->free_ext);
	rte_free(pmd->bounce);
	free(pmd->xbase);
	pmd->ext = NULL;
	pmd->free_ext = NULL;
	pmd->bounce = NULL;
	pmd->xbase = NULL;
}

static int cm_pmd_close(struct rte_eth_dev *dev)
{
	struct cm_pmd *pmd = dev->data->dev_private;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return 0;
	cm_pmd_stop(dev);
	cm_pmd_free(pmd);
	/* not rte_free()d by rte_eth_dev_release_port() */
	dev->data->mac_addrs = NULL;
	return 0;
}

static int cm_pmd_kv_path(const char *key, const char *value, void *opaque)
{
	char *dst = opaque;

	(void)key;
	if (strlen(value) >= PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(dst, value);
	return 0;
}

static int cm_pmd_kv_uint(const char *key, const char *value, void *opaque)
{
	unsigned long *dst = opaque;
	char *end;

	(void)key;
	errno = 0;
	*dst = strtoul(value, &end, 0);
	return errno || end == value || *end ? -EINVAL : 0;
}

static int cm_pmd_args(struct cm_pmd *pmd, const char *params, long *node)
{
	struct rte_kvargs *kv = rte_kvargs_parse(params, cm_pmd_valid_args);
	unsigned long v = 0, n;
	int err = 0;

	if (!kv)
		return -EINVAL;
	if (rte_kvargs_count(kv, CM_PMD_ARG_SOCKET) == 1)
		err = rte_kvargs_process(kv, CM_PMD_ARG_SOCKET, cm_pmd_kv_path,
					 pmd->socket);
	if (!err && rte_kvargs_count(kv, CM_PMD_ARG_PCI) == 1)
		err = rte_kvargs_process(kv, CM_PMD_ARG_PCI, cm_pmd_kv_path,
					 pmd->pci);
	if (!err && rte_kvargs_count(kv, CM_PMD_ARG_VECTORS) == 1)
		err = rte_kvargs_process(kv, CM_PMD_ARG_VECTORS, cm_pmd_kv_uint,
					 &v);
	*node = -1;
	if (!err && rte_kvargs_count(kv, CM_PMD_ARG_NODE) == 1) {
		err = rte_kvargs_process(kv, CM_PMD_ARG_NODE, cm_pmd_kv_uint,
					 &n);
		*node = (long)n;
	}
	rte_kvargs_free(kv);
	if (err || !pmd->socket[0] == !pmd->pci[0] || v > 64) {
		CM_PMD_LOG(ERR, "want socket=PATH or pci=SYSFS-DIR, and maybe "
			   "node=N, vectors=N (the daemon's -n)");
		return -EINVAL;
	}
	pmd->cfg.socket = pmd->socket[0] ? pmd->socket : NULL;
	pmd->cfg.pci = pmd->pci[0] ? pmd->pci : NULL;
	pmd->cfg.vectors = (unsigned int)v;
	return 0;
}

/* The exts and the ring they come home through, for every buffer the node
 * can hold. */
static int cm_pmd_alloc(struct cm_pmd *pmd, const char *name)
{
	uint32_t max = cml_bufs_max(pmd->node), i;
	char rname[RTE_RING_NAMESIZE];

	pmd->ext = rte_zmalloc("cm_pmd_ext", max * sizeof(*pmd->ext), 0);
	pmd->free_ext = rte_malloc("cm_pmd_free", max * sizeof(uint32_t), 0);
	pmd->bounce = rte_malloc("cm_pmd_bounce", cml_buf_room(pmd->node), 0);
	snprintf(rname, sizeof(rname), "cm_late_%s", name);
	pmd->late = rte_ring_create(rname, rte_align32pow2(max + 1),
				    SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (!pmd->ext || !pmd->free_ext || !pmd->bounce || !pmd->late)
		return -ENOMEM;
	for (i = 0; i < max; i++) {
		pmd->ext[i].pmd = pmd;
		pmd->ext[i].shinfo.free_cb = cm_pmd_ext_free;
		pmd->ext[i].shinfo.fcb_opaque = &pmd->ext[i];
		pmd->free_ext[i] = max - 1 - i;
	}
	pmd->nfree = max;
	return 0;
}

static int cm_pmd_register_dyn(void)
{
	static const struct rte_mbuf_dynfield field = {
		.name = RTE_PMD_CHAINMESH_DYNFIELD,
		.size = sizeof(struct rte_pmd_chainmesh_ctx),
		.align = __alignof__(struct rte_pmd_chainmesh_ctx),
	};
	static const struct rte_mbuf_dynflag flag = {
		.name = RTE_PMD_CHAINMESH_DYNFLAG,
	};
	int bit;

	cm_pmd_dynfield = rte_mbuf_dynfield_register(&field);
	bit = rte_mbuf_dynflag_register(&flag);
	if (cm_pmd_dynfield < 0 || bit < 0)
		return -rte_errno;
	cm_pmd_dynflag = 1ULL << bit;
	return 0;
}

static int cm_pmd_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct rte_eth_dev *dev;
	struct cm_pmd *pmd;
	long node;
	int err;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		CM_PMD_LOG(ERR, "%s: secondary processes are not supported",
			   name);
		return -ENOTSUP;
	}
	err = cm_pmd_register_dyn();
	if (err) {
		CM_PMD_LOG(ERR, "%s: mbuf dynamic field: %s", name,
			   strerror(-err));
		return err;
	}
	dev = rte_eth_vdev_allocate(vdev, sizeof(*pmd));
	if (!dev)
		return -ENOMEM;
	pmd = dev->data->dev_private;
	pmd->port_id = dev->data->port_id;
	err = cm_pmd_args(pmd, rte_vdev_device_args(vdev), &node);
	if (err)
		goto release_port;
	/* The tick (heartbeat, peers' news) runs while nobody polls; a PMD
	 * busy polls and takes no interrupt: producers need not ring it. */
	pmd->cfg.flags = CML_F_TICK_THREAD | CML_F_BUSY_POLL;
	err = cml_attach(&pmd->cfg, &pmd->node);
	if (err) {
		CM_PMD_LOG(ERR, "%s: attach to %s: %s", name,
			   pmd->cfg.socket ? pmd->cfg.socket : pmd->cfg.pci,
			   strerror(-err));
		goto release_port;
	}
	if (node >= 0 && (uint32_t)node != cml_node_id(pmd->node)) {
		CM_PMD_LOG(ERR, "%s: asked for node %ld, the daemon made it "
			   "node %u (is another node %ld already?)", name, node,
			   cml_node_id(pmd->node), node);
		err = -EADDRINUSE;
		goto free_pmd;
	}
	err = cm_pmd_alloc(pmd, name);
	if (err)
		goto free_pmd;
	dev->dev_ops = &cm_pmd_ops;
	dev->rx_pkt_burst = cm_pmd_rx;
	dev->tx_pkt_burst = cm_pmd_tx;
	dev->data->mac_addrs = &pmd->mac;
	dev->data->dev_flags |= RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	dev->data->dev_link.link_status = RTE_ETH_LINK_DOWN;
	CM_PMD_LOG(NOTICE, "%s: port %u is node %u of %u, %u-byte frames",
		   name, pmd->port_id, cml_node_id(pmd->node),
		   cml_nodes(pmd->node), cml_buf_size(pmd->node));
	rte_eth_dev_probing_finish(dev);
	return 0;

free_pmd:
	cm_pmd_free(pmd);
release_port:
	rte_eth_dev_release_port(dev);
	return err;
}

static int cm_pmd_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *dev;

	dev = rte_eth_dev_allocated(rte_vdev_device_name(vdev));
	if (!dev)
		return 0;
	cm_pmd_close(dev);
	rte_eth_dev_release_port(dev);
	return 0;
}

static struct rte_vdev_driver cm_pmd_driver = {
	.probe = cm_pmd_probe,
	.remove = cm_pmd_remove,
};

RTE_PMD_REGISTER_VDEV(net_chainmesh, cm_pmd_driver);
RTE_PMD_REGISTER_PARAM_STRING(net_chainmesh,
			      CM_PMD_ARG_SOCKET "=<path> "
			      CM_PMD_ARG_PCI "=<sysfs dir> "
			      CM_PMD_ARG_NODE "=<int> "
			      CM_PMD_ARG_VECTORS "=<int>");
