// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * libchainmesh: a userspace chainmesh node (include/chainmesh/libchainmesh.h).
 *
 * What is the library's: the ivshmem daemon's protocol (a client as QEMU's
 * ivshmem-doorbell: tools/chainmesh-ivshmemd.c), the node entry (join,
 * heartbeat, leave, the host's fence), doorbells as eventfd writes, and
 * handing frames to the program. Everything a peer wrote is validated by
 * dp.h, the datapath every chainmesh node runs: cm_dp_rx_poll() with
 * this file's ops, cm_dp_returns(), cm_dp_push(), cm_dp_send(), the
 * flushes, arm/disarm, the tick and the peer changes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <chainmesh/dp.h>
#include <chainmesh/ivshmem.h>
#include <chainmesh/libchainmesh.h>
#include <chainmesh/stat_names.h>

#include "libchainmesh-int.h"

#define CML_EXPORT	__attribute__((visibility("default")))


static void cml_log(const struct cml_node *n, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cml_log(const struct cml_node *n, const char *fmt, ...)
{
	va_list ap;

	if (n && (n->cfg.flags & CML_F_QUIET))
		return;
	va_start(ap, fmt);
	fputs("libchainmesh: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Milliseconds of the monotonic clock: compat.h's jiffies (HZ 1000). */
static u64 cml_now_ms(void)
{
	return cm_jiffies();
}

/* ------------------------------------------------------------ daemon */

/* One message: a little-endian int64 and maybe an fd. 0; 1: none waiting
 * (@block false); -1: EOF or garbage. */
static int cml_recv_msg(int sock, int64_t *val, int *fd, bool block)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	int64_t le;
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	struct cmsghdr *cm;
	ssize_t r;

	*fd = -1;
	do {
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC |
			    (block ? MSG_WAITALL : MSG_DONTWAIT));
	} while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 1;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	if (r != (ssize_t)sizeof(le)) {
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		return -1;
	}
	*val = (int64_t)le64toh((uint64_t)le);
	return 0;
}

/* A peer's eventfd (its first vector kept), or a peer leaving. */
static void cml_peer_msg(struct cml_node *n, int64_t id, int fd)
{
	if (id < 0 || id >= CHAINMESH_MAX_NODES || id == n->self) {
		if (fd >= 0)
			close(fd);
		return;
	}
	pthread_mutex_lock(&n->lock);
	if (n->efd[id] >= 0)
		close(n->efd[id]);
	n->efd[id] = fd;
	pthread_mutex_unlock(&n->lock);
}

static int cml_connect(struct cml_node *n)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv;
	unsigned int own = 0;
	struct stat st;
	int64_t val;
	int fd, r;

	if (!n->cfg.socket || strlen(n->cfg.socket) >= sizeof(sun.sun_path))
		return -EINVAL;
	strcpy(sun.sun_path, n->cfg.socket);
	n->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (n->sock < 0)
		return -errno;
	if (connect(n->sock, (struct sockaddr *)&sun, sizeof(sun))) {
		cml_log(n, "connect %s: %s", n->cfg.socket, strerror(errno));
		return -errno;
	}
	/* A daemon that stops halfway through the setup is not waited
	 * for longer than the layout would be. */
	tv.tv_sec = n->cfg.wait_ms > 0 ? n->cfg.wait_ms / 1000 : 30;
	tv.tv_usec = n->cfg.wait_ms > 0 ? (n->cfg.wait_ms % 1000) * 1000 : 0;
	setsockopt(n->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (cml_recv_msg(n->sock, &val, &fd, true) || val != 0) {
		cml_log(n, "daemon: bad protocol version");
		return -EPROTO;
	}
	if (cml_recv_msg(n->sock, &val, &fd, true) || val < 0 ||
	    val >= CHAINMESH_MAX_NODES) {
		cml_log(n, "daemon: bad peer id");
		return -EPROTO;
	}
	n->self = (u32)val;
	if (cml_recv_msg(n->sock, &val, &fd, true) || val != -1 || fd < 0) {
		cml_log(n, "daemon: no region fd");
		return -EPROTO;
	}
	if (fstat(fd, &st) || st.st_size < CHAINMESH_PAGE_SIZE) {
		close(fd);
		return -EPROTO;
	}
	n->size = (u64)st.st_size;
	n->base = mmap(NULL, n->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (n->base == MAP_FAILED) {
		n->base = NULL;
		return -errno;
	}
	/* The other peers' eventfds, then ours, one per vector. */
	while (own < n->cfg.vectors) {
		r = cml_recv_msg(n->sock, &val, &fd, true);
		if (r) {
			cml_log(n, "daemon went away or went quiet during setup");
			return r > 0 ? -ETIMEDOUT : -EPROTO;
		}
		if (val == n->self) {
			if (fd < 0)
				continue;
			if (own++ == 0)
				n->own_efd = fd;
			else
				close(fd);
		} else {
			cml_peer_msg(n, val, fd);
		}
	}
	tv.tv_sec = 0;
	tv.tv_usec = 0;
	setsockopt(n->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return 0;
}

/* Peers that join (their eventfds), without blocking. Like QEMU, a node
 * outlives its daemon: the region and the eventfds stay valid. */
static void cml_daemon_poll(struct cml_node *n)
{
	int64_t val;
	int fd, r;

	if (n->sock < 0)
		return;
	while ((r = cml_recv_msg(n->sock, &val, &fd, false)) == 0)
		cml_peer_msg(n, val, fd);
	if (r < 0) {
		cml_log(n, "node %u: the daemon closed the connection; going on"
			" without it", n->self);
		close(n->sock);
		n->sock = -1;
	}
}

void cml_kick(struct cml_node *n, u32 peer)
{
	u64 one = 1;

	if (n->regs) {
		/* BAR0's Doorbell: QEMU raises the peer's vector 0. */
		n->regs[CM_IVSHMEM_DOORBELL / 4] = CM_IVSHMEM_BELL(peer, 0);
		n->kicks_sent++;
		return;
	}
	pthread_mutex_lock(&n->lock);
	if (n->efd[peer] >= 0 &&
	    write(n->efd[peer], &one, sizeof(one)) == sizeof(one))
		n->kicks_sent++;
	pthread_mutex_unlock(&n->lock);
}

CML_EXPORT int cml_wait_layout(struct cml_node *n, int wait_ms)
{
	struct chainmesh_region_hdr *h = n->base;
	u64 deadline = cml_now_ms() + (u64)(wait_ms > 0 ? wait_ms : 0);
	int err = -EAGAIN;
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (;;) {
		if (le32_to_cpu(smp_load_acquire(&h->magic)) == CHAINMESH_MAGIC) {
			n->mesh_id = le32_to_cpu(READ_ONCE(h->mesh_id));
			err = cm_layout_from_hdr(h, n->size, &n->l);
			if (!err)
				break;
		}
		if (wait_ms >= 0 && cml_now_ms() >= deadline) {
			cml_log(n, "no valid layout in the region (%s)",
				err == -EAGAIN ? "no magic" : strerror(-err));
			return err == -EAGAIN ? -ETIMEDOUT : err;
		}
		nanosleep(&ts, NULL);
	}
	/* A node of a mesh of several queues must read every lane's rings
	 * (peers pick the lane by flow): this one serves one lane so far. */
	if (n->l.p.queues > 1) {
		cml_log(n, "the mesh has %u queues: libchainmesh serves meshes of one",
			n->l.p.queues);
		return -EOPNOTSUPP;
	}
	if (n->self >= n->l.p.nodes) {
		cml_log(n, "peer id %u is not a node of this mesh (%u nodes)",
			n->self, n->l.p.nodes);
		return -ERANGE;
	}
	n->have_layout = true;
	return 0;
}

/* Map @dir/@name whole; its size in *@len. */
static void *cml_map_resource(const char *dir, const char *name, u64 *len)
{
	char path[PATH_MAX];
	struct stat st;
	void *p;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return NULL;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || st.st_size <= 0) {
		close(fd);
		return NULL;
	}
	*len = (u64)st.st_size;
	p = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

/* Inside a guest: the ivshmem-doorbell device's BARs through sysfs. */
static int cml_attach_pci(struct cml_node *n)
{
	int32_t pos;

	n->regs = cml_map_resource(n->cfg.pci, "resource0", &n->regs_len);
	if (!n->regs || n->regs_len < CM_IVSHMEM_DOORBELL + 4) {
		cml_log(n, "%s/resource0: %s", n->cfg.pci, strerror(errno));
		return -ENODEV;
	}
	/* Our peer id; -1: a plain ivshmem device, no server, no id. */
	pos = (int32_t)n->regs[CM_IVSHMEM_IVPOSITION / 4];
	if (pos < 0 || pos >= CHAINMESH_MAX_NODES) {
		cml_log(n, "%s: IVPosition %d: not an ivshmem-doorbell peer",
			n->cfg.pci, pos);
		return -ENODEV;
	}
	n->self = (u32)pos;
	/* Polling: no interrupt of ours, ever. */
	n->regs[CM_IVSHMEM_INTRMASK / 4] = 0;
	n->base = cml_map_resource(n->cfg.pci, "resource2", &n->size);
	if (!n->base || n->size < CHAINMESH_PAGE_SIZE) {
		cml_log(n, "%s/resource2: %s", n->cfg.pci, strerror(errno));
		return -ENODEV;
	}
	return 0;
}

int cml_attach_at(struct cml_node *n, const struct cml_config *cfg)
{
	int err, i;

	n->sock = -1;
	n->own_efd = -1;
	for (i = 0; i < CHAINMESH_MAX_NODES; i++)
		n->efd[i] = -1;
	pthread_mutex_init(&n->lock, NULL);
	if (!cfg || !cfg->socket == !cfg->pci)
		return -EINVAL;
	n->cfg = *cfg;
	if (!n->cfg.vectors)
		n->cfg.vectors = 1;
	if (n->cfg.vectors > CML_MAX_VECTORS)
		return -EINVAL;
	if (!n->cfg.wait_ms)
		n->cfg.wait_ms = 30000;
	err = n->cfg.pci ? cml_attach_pci(n) : cml_connect(n);
	if (!err && !(n->cfg.flags & CML_F_NO_LAYOUT))
		err = cml_wait_layout(n, n->cfg.wait_ms);
	return err;
}

CML_EXPORT int cml_attach(const struct cml_config *cfg, struct cml_node **np)
{
	struct cml_node *n;
	int err;

	*np = NULL;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->allocated = true;
	err = cml_attach_at(n, cfg);
	if (err) {
		cml_close(n);
		return err;
	}
	*np = n;
	return 0;
}

/* ------------------------------------------------------------ datapath */

static struct cml_node *cml_of(struct cm_dp *dp)
{
	return (struct cml_node *)((char *)dp - offsetof(struct cml_node, dp));
}

/*
 * Our table as the host last published it, validated (flow.h), with the
 * increments of our flow log applied (flowlog.h, cm_flog_sync()) when
 * @log: between bursts, never under a frame's lookup. A table or a log
 * it refused is not read again until the host writes another.
 */
const struct cm_ftable *cml_table(struct cml_node *n, bool log)
{
	void *shared = cm_ftable(n->base, &n->l, n->self);
	struct chainmesh_flog_hdr *fl = cm_flog(n->base, &n->l, n->self);
	u32 seq = le32_to_cpu(READ_ONCE(cm_ftable_hdr(shared)->seq));
	int err;

	if (seq == n->ft->seq &&
	    (!log || le32_to_cpu(READ_ONCE(fl->head)) == n->ft->log_pos))
		return n->ft;
	if (!log && !cm_flog_new_gen(shared, n->ft))
		return n->ft;
	err = cm_flog_sync(shared, fl, &n->l, n->self, &n->ft, &n->ft_spare,
			   &n->flog);
	if (err == -EPROTO && !n->ft_refused) {
		cml_log(n, "node %u: flow table (seq %u) or its log (at %u)"
			" refused: keeping seq %u", n->self, seq,
			n->ft->log_pos, n->ft->seq);
		n->ft_refused = true;
	} else if (err >= 0) {
		n->ft_refused = false;
	}
	return n->ft;
}

static void cml_kick_op(struct cm_dp *dp, u32 peer)
{
	cml_kick(cml_of(dp), peer);
}

static const struct cm_ftable *cml_table_op(struct cm_dp *dp, bool need)
{
	struct cml_node *n = cml_of(dp);
	const struct cm_ftable *old = n->ft;

	(void)need;
	/* a new generation only: a frame's lookup may still be in use */
	return cml_table(n, false) != old ? n->ft : NULL;
}

static void cml_judged_op(struct cm_dp *dp, u32 peer)
{
	cml_log(cml_of(dp), "node %u: node %u sent %u bad descriptors or"
		" indices within %u ms: broken, no longer read", dp->self, peer,
		dp->pol->bad_limit, dp->pol->bad_window_ms);
}

/* Where cml_rx_op() puts frames: the burst being filled. */
struct cml_rx_ctx {
	struct cml_buf *bufs;
	int n;
};

static __thread struct cml_rx_ctx *cml_rx_cur;

/* ops->rx: a validated frame for the program. */
static void cml_rx_op(struct cm_dp *dp, u32 from, struct cm_desc *d,
		      u32 owner, u32 idx, const struct cm_ftable **t)
{
	struct cml_node *n = cml_of(dp);
	struct cml_buf *b = &cml_rx_cur->bufs[cml_rx_cur->n++];
	u8 *frame = (u8 *)n->base + d->addr + d->data_off;

	cm_dp_rx_count(dp, from, cm_desc_flow(*t, d, frame), d->len);
	cm_ctr_add(&dp->rx_total, d->len);
	b->data = frame;
	b->len = d->len;
	b->offset = d->addr;
	b->from = from;
	b->owner = owner;
	b->idx_ = idx;
	b->data_off_ = d->data_off;
	b->has_ctx = d->flags & CHAINMESH_D_CTX;
	b->chain = b->has_ctx ? d->chain : 0;
	b->hop = b->has_ctx ? d->hop : 0;
}

static const struct cm_dp_ops cml_dp_ops = {
	.kick	= cml_kick_op,
	.rx	= cml_rx_op,
	.table	= cml_table_op,
	.judged	= cml_judged_op,
};

static void cml_report(struct cm_dp *dp, u32 p, const struct cm_dp_change *c)
{
	struct cml_node *n = cml_of(dp);

	if (c->reset)
		cml_log(n, "node %u: rings with node %u reset by agreement:"
			" %u buffers taken back", n->self, p, c->reclaimed);
	else if (c->gone)
		cml_log(n, "node %u: node %u is gone: %u buffers taken back,"
			" %u of others sent home", n->self, p, c->reclaimed,
			c->sent_home);
	else
		cml_log(n, "node %u: node %u is back: read again", n->self, p);
}

/*
 * The host's verdict on this life, before each poll (the kernel's fence):
 * UP acknowledges it; DOWN or BROKEN means our peers took back what they
 * had queued to us: drop what is queued unread and rejoin as a new epoch,
 * as a guest does.
 */
static bool cml_fence(struct cml_node *n)
{
	struct cm_dp *dp = &n->dp;
	u32 verdict = le32_to_cpu(READ_ONCE(n->node->host_state)), epoch;

	if (!cm_dp_fenced(dp))
		return false;
	if (n->no_rejoin)
		return true;
	/* Peers send nothing to a node that is not up. */
	smp_store_release(&n->node->state, cpu_to_le32(CHAINMESH_NODE_JOINING));
	cm_dp_fence_rings(dp);
	epoch = le32_to_cpu(READ_ONCE(n->node->epoch)) + 1;
	/* Pairs with the peers' acquire of our epoch (peers.h). */
	smp_store_release(&n->node->epoch, cpu_to_le32(epoch));
	n->fences++;
	smp_store_release(&n->node->state, cpu_to_le32(CHAINMESH_NODE_UP));
	cml_log(n, "node %u: host called it %s: fenced, rejoined as epoch %u",
		n->self, verdict == CHAINMESH_NODE_DOWN ? "down" : "broken",
		epoch);
	return false;
}

/* Microseconds of the monotonic clock, for the busy-poll grace. */
static u64 cml_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000 + (u64)ts.tv_nsec / 1000;
}

/* CML_F_BUSY_POLL: tell the producers (not through the PCI device, where
 * nobody rings us anyway). */
static void cml_busy(struct cml_node *n)
{
	if (n->regs)
		return;
	cm_dp_busy_poll(&n->dp);
	n->busy = true;
}

CML_EXPORT int cml_rx_burst(struct cml_node *n, struct cml_buf *bufs, int max)
{
	struct cml_rx_ctx rx = { .bufs = bufs, .n = 0 };
	struct cm_dp *dp = &n->dp;
	const struct cm_ftable *t;
	bool fenced;

	if (!n->joined || max <= 0)
		return 0;
	if (!(n->cfg.flags & CML_F_TICK_THREAD) &&
	    cml_now_ms() >= n->last_tick + CML_TICK_MS)
		cml_tick(n);
	fenced = cml_fence(n);
	if (!n->busy)
		cm_dp_disarm(dp);
	cm_dp_returns(dp, &cml_dp_ops, max);
	if (cm_dp_peer_changes_due(dp))
		cm_dp_peer_changes(dp, &cml_dp_ops, cml_report);
	t = cml_table(n, true);
	cml_rx_cur = &rx;
	cm_dp_rx_poll(dp, &cml_dp_ops, max, fenced, &t);
	cml_rx_cur = NULL;
	/* Buffers that went home in the poll (bad ones, bad chains). */
	cm_dp_rx_flush(dp, &cml_dp_ops);
	/* Busy again: going back needs no grace (ring.h [K3]). */
	if (rx.n && !n->busy && (n->cfg.flags & CML_F_BUSY_POLL))
		cml_busy(n);
	return rx.n;
}

static void cml_give_back(struct cml_node *n, const struct cml_buf *b)
{
	cm_dp_give_back(&n->dp, &cml_dp_ops, b->from, b->owner, b->idx_,
			b->offset);
}

CML_EXPORT void cml_release(struct cml_node *n, struct cml_buf *bufs,
			    int count)
{
	int i;

	for (i = 0; i < count; i++)
		cml_give_back(n, &bufs[i]);
}

CML_EXPORT int cml_forward(struct cml_node *n, struct cml_buf *bufs,
			   int count)
{
	struct cm_dp *dp = &n->dp;
	const struct cm_ftable *t = cml_table(n, true);
	u32 plen, sent = 0, dropped = 0;
	enum cm_tx_drop why;
	struct cm_ctx ctx;
	struct cm_route r;
	struct cm_desc d;
	u8 hdr[CM_PARSE_LEN];
	int i;

	for (i = 0; i < count; i++) {
		struct cml_buf *b = &bufs[i];

		ctx.chain = b->chain;
		ctx.hop = b->hop;
		/* Peers may write the frame meanwhile: classify a copy. */
		plen = b->len < CM_PARSE_LEN ? b->len : CM_PARSE_LEN;
		memcpy(hdr, b->data, plen);
		/* The program may have moved or cut the frame: within the
		 * buffer, as XDP's helpers keep it. */
		if (b->data < (u8 *)n->base + b->offset ||
		    b->data + b->len > (u8 *)n->base + b->offset + n->l.p.buf_size ||
		    b->len < CM_ETH_HLEN ||
		    cm_dp_route(t, b->has_ctx ? &ctx : NULL, hdr, plen, &r)) {
			cml_give_back(n, b);
			dropped++;
			continue;
		}
		/* Backpressure: a full ring, or a hop holding its share of
		 * our pool, stops the burst here (the rest stays the
		 * program's), unless that hop is stuck or hoarding. */
		if (cm_dp_peer_up(dp, r.peer) &&
		    ((cm_ring_prod_space(&dp->peer[r.peer].tx) <= 0 &&
		      !cm_dp_ring_stuck(dp, r.peer)) ||
		     (b->owner == dp->self && cm_dp_over_quota(dp, r.peer) &&
		      !cm_dp_hoarder(dp, r.peer))))
			break;
		d.addr = b->offset;
		d.data_off = (u16)(b->data - ((u8 *)n->base + b->offset));
		d.len = (u16)b->len;
		d.chain = 0;
		d.hop = 0;
		d.flags = 0;
		/* The next node must find its own address. */
		cm_frame_set_dest(n->base, &n->l, b->data, r.peer);
		why = cm_dp_push(dp, &r, &d);
		if (why) {
			cml_give_back(n, b);
			dropped++;
			continue;
		}
		sent++;
		/* Our own buffer, passed on: the next node holds it now. */
		if (b->owner == dp->self)
			cm_pool_set_hop(&dp->pool, b->idx_, r.peer);
	}
	cm_dp_tx_count(dp, CM_TX_XDP_ZEROCOPY, sent);
	if (dropped)
		cm_dp_tx_count(dp, CM_TX_XDP_TX_DROP, dropped);
	return i;
}

static bool cml_copy(u8 *buf, u32 len, const void *src)
{
	memcpy(buf, src, len);
	return true;
}

static int cml_errno(enum cm_tx_drop why)
{
	switch (why) {
	case CM_TX_DROP_NONE:
		return 0;
	case CM_TX_DROP_LEN:
		return -EMSGSIZE;
	case CM_TX_DROP_NO_FLOW:
	case CM_TX_DROP_NO_HOP:
		return -ENOENT;
	case CM_TX_DROP_PEER_DOWN:
	case CM_TX_DROP_FENCED:
		return -EHOSTDOWN;
	case CM_TX_DROP_RING_FULL:
	case CM_TX_DROP_RING_BAD:
		return -EAGAIN;
	case CM_TX_DROP_NO_BUF:
	case CM_TX_DROP_QUOTA:
	default:
		return -ENOBUFS;
	}
}

/* A frame of ours to r->peer, copied into our pool; counted either way. */
static int cml_xmit(struct cml_node *n, const struct cm_route *r,
		    const void *frame, u32 len, bool ctx)
{
	struct cm_dp *dp = &n->dp;
	enum cm_tx_drop why = CM_TX_DROP_LEN;
	struct cm_desc d;

	/* No room (as the stack's queue stops): not a drop, the program
	 * tries again once a doorbell says there is. */
	if (cm_dp_peer_up(dp, r->peer) && !cm_dp_fenced(dp) &&
	    !cm_dp_tx_room(dp, r->peer)) {
		cm_dp_tx_count(dp, CM_TX_STOPPED, 1);
		return cm_pool_avail(&dp->pool) &&
		       cm_ring_prod_space(&dp->peer[r->peer].tx) <= 0 ?
		       -EAGAIN : -ENOBUFS;
	}
	if (len >= CM_ETH_HLEN && len <= n->l.p.buf_size - CHAINMESH_HEADROOM)
		why = cm_dp_send(dp, r, len, cml_copy, frame, &d);
	if (why)
		cm_dp_tx_drop(dp, why);
	else
		cm_dp_tx_sent(dp, r, len, ctx);
	return cml_errno(why);
}

CML_EXPORT int cml_send(struct cml_node *n, const void *frame, uint32_t len,
			const struct cml_ctx *ctx)
{
	const struct cm_ftable *t;
	struct cm_ctx c, *cp = NULL;
	enum cm_tx_drop why;
	struct cm_route r;

	if (!n->joined)
		return -ENOTCONN;
	if (len < CM_ETH_HLEN || len > n->l.p.buf_size - CHAINMESH_HEADROOM) {
		cm_dp_tx_drop(&n->dp, CM_TX_DROP_LEN);
		return -EMSGSIZE;
	}
	t = cml_table(n, true);
	if (ctx) {
		c.chain = ctx->chain;
		c.hop = ctx->hop;
		cp = &c;
	}
	why = cm_dp_route(t, cp, frame,
			  len < CM_PARSE_LEN ? len : CM_PARSE_LEN, &r);
	if (why) {
		cm_dp_tx_drop(&n->dp, why);
		return cml_errno(why);
	}
	return cml_xmit(n, &r, frame, len, ctx);
}

CML_EXPORT int cml_send_to(struct cml_node *n, uint32_t peer,
			   const void *frame, uint32_t len)
{
	struct cm_route r = {
		.peer = peer, .chain = CM_ROUTE_NO_CTX, .hop = 0, .flow = -1,
	};

	if (!n->joined)
		return -ENOTCONN;
	if (peer >= n->l.p.nodes || peer == n->self)
		return -EINVAL;
	return cml_xmit(n, &r, frame, len, false);
}

CML_EXPORT void cml_flush(struct cml_node *n)
{
	if (!n->joined)
		return;
	cm_dp_tx_flush(&n->dp, &cml_dp_ops);
	cm_dp_rx_flush(&n->dp, &cml_dp_ops);
}

CML_EXPORT bool cml_arm(struct cml_node *n)
{
	bool more;

	if (!n->joined || n->regs)
		return false;
	more = cm_dp_arm(&n->dp, cm_dp_fenced(&n->dp));
	/* [K3]: producers that read POLLING rang no doorbell; their heads
	 * are seen within the grace, polling. */
	if (n->busy) {
		n->busy = false;
		n->grace_until = cml_now_us() + CHAINMESH_POLL_GRACE_US;
	}
	return more || cml_now_us() < n->grace_until;
}

CML_EXPORT int cml_wait(struct cml_node *n, int timeout_ms)
{
	struct pollfd pfd = { .fd = n->own_efd, .events = POLLIN };
	int woken = 0;
	u64 v;

	if (!(n->cfg.flags & CML_F_TICK_THREAD)) {
		/* Our tick is due at least every CML_TICK_MS. */
		u64 due = n->last_tick + CML_TICK_MS, now = cml_now_ms();
		int left = due > now ? (int)(due - now) : 0;

		if (timeout_ms < 0 || timeout_ms > left)
			timeout_ms = left;
	}
	/* Polling mode: no doorbell reaches us; producers were never asked
	 * for one (cml_rx_burst() disarms, cml_arm() does not arm). */
	if (n->regs) {
		struct timespec ts = { 0, 1000 * 1000 };

		if (timeout_ms > 0)
			nanosleep(&ts, NULL);
		return 0;
	}
	/* Entries arrived before the producers saw us armed: no sleep. */
	if (cml_arm(n)) {
		woken = 1;
		timeout_ms = 0;
	}
	if (poll(&pfd, 1, timeout_ms) > 0 &&
	    read(n->own_efd, &v, sizeof(v)) == sizeof(v)) {
		n->kicks_got += v;
		woken = 1;
	}
	return woken;
}

CML_EXPORT int cml_fd(const struct cml_node *n)
{
	return n->own_efd;
}

/* ------------------------------------------------------------ membership */

CML_EXPORT int cml_tick(struct cml_node *n)
{
	bool any;

	if (!n->joined)
		return 0;
	n->last_tick = cml_now_ms();
	if (n->last_tick >= n->hb_stall_until)
		WRITE_ONCE(n->node->heartbeat, cpu_to_le64(++n->heartbeat));
	cm_dp_tick(&n->dp, &any);
	cml_daemon_poll(n);
	return 0;
}

static void *cml_ticker(void *arg)
{
	struct cml_node *n = arg;
	struct timespec ts = { 0, CML_TICK_MS * 1000 * 1000 };

	while (!n->tick_quit) {
		cml_tick(n);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void cml_ticker_stop(struct cml_node *n)
{
	if (!n->tick_started)
		return;
	n->tick_quit = 1;
	pthread_join(n->tick_thread, NULL);
	n->tick_started = false;
}

CML_EXPORT int cml_join(struct cml_node *n)
{
	const struct cm_layout *l = &n->l;
	int err;

	if (n->joined)
		return -EALREADY;
	if (!n->have_layout)
		return -EAGAIN;
	n->pol.bad_limit = n->cfg.bad_limit == CML_NEVER ? 0 :
			   n->cfg.bad_limit ? n->cfg.bad_limit : CM_DEF_BAD_LIMIT;
	n->pol.bad_window_ms = n->cfg.bad_window_ms ? n->cfg.bad_window_ms :
			       CM_DEF_BAD_WINDOW_MS;
	n->pol.peer_share = n->cfg.peer_share ? n->cfg.peer_share :
			    CM_DEF_PEER_SHARE;
	if (!n->ft) {
		n->ft = cm_ftable_alloc(l->p.max_flows);
		n->ft_spare = cm_ftable_alloc(l->p.max_flows);
		n->flog.buf = calloc(l->flog_slots, sizeof(*n->flog.buf));
		n->flog.max = CML_FLOG_ROUND;
		if (!n->ft || !n->ft_spare || !n->flog.buf)
			return -ENOMEM;
	}
	/* Empty, seq 0: what the region holds until the host publishes. */
	n->node = cm_node(n->base, l, n->self);
	/* The last life's counters go with it. */
	if (n->dp.peer)
		cm_dp_destroy(&n->dp);
	n->dp.peer = NULL;
	WRITE_ONCE(n->node->state, cpu_to_le32(CHAINMESH_NODE_JOINING));
	cm_node_mac(n->mesh_id, n->self, n->mac);
	/* A new life starts on empty rings (dp.h, datapath.h). */
	err = cm_dp_init(&n->dp, n->base, l, n->self, &n->pol);
	if (err) {
		n->dp.peer = NULL;
		WRITE_ONCE(n->node->state, cpu_to_le32(CHAINMESH_NODE_ABSENT));
		return err;
	}
	n->joined = true;
	cm_dp_set_mac(&n->dp, n->mac);
	memcpy(n->node->mac, n->mac, 6);
	WRITE_ONCE(n->node->features, 0);
	WRITE_ONCE(n->node->blame, 0);
	/* Release: peers that see the new epoch see the rings reset. */
	smp_store_release(&n->node->epoch,
			  cpu_to_le32(le32_to_cpu(READ_ONCE(n->node->epoch)) + 1));
	n->heartbeat = le64_to_cpu(READ_ONCE(n->node->heartbeat)) + 1;
	WRITE_ONCE(n->node->heartbeat, cpu_to_le64(n->heartbeat));
	/* Peers read our MAC and use our rings once they see UP. */
	smp_store_release(&n->node->state, cpu_to_le32(CHAINMESH_NODE_UP));
	n->last_tick = 0;
	cml_tick(n);
	n->busy = false;
	n->grace_until = 0;
	if (n->cfg.flags & CML_F_BUSY_POLL)
		cml_busy(n);
	if (n->cfg.flags & CML_F_TICK_THREAD) {
		n->tick_quit = 0;
		if (pthread_create(&n->tick_thread, NULL, cml_ticker, n)) {
			cml_leave(n);
			return -EAGAIN;
		}
		n->tick_started = true;
	}
	return 0;
}

CML_EXPORT void cml_leave(struct cml_node *n)
{
	struct cml_rx_ctx rx;
	struct cm_dp *dp = &n->dp;
	const struct cm_ftable *t;
	struct cml_buf *bufs;
	u32 max;

	if (!n->joined)
		return;
	cml_ticker_stop(n);
	max = n->l.p.nodes * n->l.p.ring_slots;
	/* What is queued to us goes home (not a cut peer's, none while
	 * fenced): received and released at once. */
	bufs = calloc(max, sizeof(*bufs));
	cm_dp_returns(dp, &cml_dp_ops, (int)(n->l.p.nodes * n->l.ret_slots));
	if (bufs) {
		rx.bufs = bufs;
		rx.n = 0;
		t = cml_table(n, true);
		cml_rx_cur = &rx;
		cm_dp_rx_poll(dp, &cml_dp_ops, (int)max, cm_dp_fenced(dp), &t);
		cml_rx_cur = NULL;
		cml_release(n, bufs, rx.n);
		free(bufs);
	}
	cm_dp_tx_flush(dp, &cml_dp_ops);
	cm_dp_rx_flush(dp, &cml_dp_ops);
	cm_dp_stats_publish(dp);
	WRITE_ONCE(n->node->blame, 0);
	smp_store_release(&n->node->state, cpu_to_le32(CHAINMESH_NODE_ABSENT));
	/* The datapath's counters stay readable until cml_close() or the
	 * next cml_join(). */
	n->joined = false;
}

CML_EXPORT void cml_close(struct cml_node *n)
{
	int i;

	if (!n)
		return;
	cml_leave(n);
	if (n->dp.peer)
		cm_dp_destroy(&n->dp);
	n->dp.peer = NULL;
	cm_ftable_free(n->ft);
	cm_ftable_free(n->ft_spare);
	free(n->flog.buf);
	if (n->base)
		munmap(n->base, n->size);
	if (n->regs)
		munmap((void *)n->regs, n->regs_len);
	for (i = 0; i < CHAINMESH_MAX_NODES; i++)
		if (n->efd[i] >= 0)
			close(n->efd[i]);
	if (n->own_efd >= 0)
		close(n->own_efd);
	if (n->sock >= 0)
		close(n->sock);
	pthread_mutex_destroy(&n->lock);
	if (n->allocated)
		free(n);
}

/* ------------------------------------------------------------ queries */

CML_EXPORT uint32_t cml_node_id(const struct cml_node *n)
{
	return n->self;
}

CML_EXPORT uint32_t cml_nodes(const struct cml_node *n)
{
	return n->have_layout ? n->l.p.nodes : 0;
}

CML_EXPORT uint32_t cml_buf_size(const struct cml_node *n)
{
	return n->have_layout ? n->l.p.buf_size - CHAINMESH_HEADROOM : 0;
}

CML_EXPORT const uint8_t *cml_mac(const struct cml_node *n, uint32_t node)
{
	if (!n->have_layout || node >= n->l.p.nodes)
		return NULL;
	return cm_node(n->base, &n->l, node)->mac;
}

CML_EXPORT bool cml_peer_up(const struct cml_node *n, uint32_t peer)
{
	if (!n->joined || peer >= n->l.p.nodes || peer == n->self)
		return false;
	return cm_dp_peer_up(&n->dp, peer);
}

CML_EXPORT void *cml_region(const struct cml_node *n, uint64_t *size)
{
	if (size)
		*size = n->size;
	return n->base;
}

CML_EXPORT void cml_get_stats(const struct cml_node *n, struct cml_stats *s)
{
	const struct cm_dp *dp = &n->dp;
	u32 i;

	memset(s, 0, sizeof(*s));
	s->kicks_sent = n->kicks_sent;
	s->kicks_got = n->kicks_got;
	s->fences = n->fences;
	if (!dp->peer)
		return;
	s->rx_packets = READ_ONCE(dp->rx_total.packets);
	s->rx_bytes = READ_ONCE(dp->rx_total.bytes);
	s->tx_packets = READ_ONCE(dp->tx_total.packets);
	s->tx_bytes = READ_ONCE(dp->tx_total.bytes);
	s->forwarded = READ_ONCE(dp->tx_stats[CM_TX_XDP_ZEROCOPY]);
	s->forward_drops = READ_ONCE(dp->tx_stats[CM_TX_XDP_TX_DROP]);
	s->tx_busy = READ_ONCE(dp->tx_stats[CM_TX_STOPPED]);
	for (i = 0; i < __CM_TX_DROP_MAX; i++)
		s->tx_drops += READ_ONCE(dp->tx_drops[i]);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		s->rx_drops += READ_ONCE(dp->rx_drops[i]);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		s->bad += READ_ONCE(dp->rx_bad[i]);
	s->bad_addr = READ_ONCE(dp->rx_bad[CM_BAD_ADDR]);
	s->bad_align = READ_ONCE(dp->rx_bad[CM_BAD_ALIGN]);
	s->bad_owner = READ_ONCE(dp->rx_bad[CM_BAD_OWNER]);
	s->bad_len = READ_ONCE(dp->rx_bad[CM_BAD_LEN]);
	s->bad_index = READ_ONCE(dp->rx_bad[CM_BAD_INDEX]);
	s->bad_chain = READ_ONCE(dp->rx_bad[CM_BAD_CHAIN]);
	s->bad_return = READ_ONCE(dp->rx_bad[CM_BAD_RETURN]);
	for (i = 0; i < n->l.p.nodes; i++)
		s->judged += READ_ONCE(dp->peers.broken[i]);
	s->reclaimed = READ_ONCE(dp->reclaimed);
	s->pool_free = cm_pool_count(&dp->pool);
	s->pool_size = dp->pool.nbufs;
}

CML_EXPORT bool cml_link_up(const struct cml_node *n)
{
	return n->joined &&
	       le32_to_cpu(READ_ONCE(n->node->state)) == CHAINMESH_NODE_UP &&
	       !cm_dp_fenced(&n->dp);
}

CML_EXPORT uint32_t cml_buf_room(const struct cml_node *n)
{
	return n->have_layout ? n->l.p.buf_size : 0;
}

CML_EXPORT uint32_t cml_bufs_max(const struct cml_node *n)
{
	return n->have_layout ? n->l.p.nodes * n->l.p.bufs_per_node : 0;
}

/* What kernel-only counters (XDP's, the stack's queue wake) are left out
 * of: stat_names.h's tables, the pool's, and per peer. */
#define CML_XSTATS_DEV	(__CM_TX_DROP_MAX - 1 + __CM_RX_DROP_MAX + \
			 __CM_BAD_MAX - 1 + __CM_TX_STAT_MAX + 7)
#define CML_XSTATS_PEER	8

_Static_assert(CML_XSTAT_NAME_LEN == CM_STAT_NAME_LEN, "one name length");

static unsigned int cml_xstats_count(const struct cml_node *n)
{
	return n->dp.peer ? CML_XSTATS_DEV +
			    (n->l.p.nodes - 1) * CML_XSTATS_PEER : 0;
}

CML_EXPORT int cml_xstat_names(const struct cml_node *n,
			       char (*names)[CML_XSTAT_NAME_LEN],
			       unsigned int max)
{
	static const char *const pool[] = { CM_POOL_STAT_NAMES };
	static const char *const peer[] = { CM_PEER_STAT_NAMES };
	unsigned int count = cml_xstats_count(n), k = 0;
	u32 i, j;

	if (!names || max < count)
		return (int)count;
#define CML_NAME(...) snprintf(names[k++], CML_XSTAT_NAME_LEN, __VA_ARGS__)
	for (i = CM_TX_DROP_NONE + 1; i < __CM_TX_DROP_MAX; i++)
		memcpy(names[k++], cm_tx_drop_names[i], CML_XSTAT_NAME_LEN);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		memcpy(names[k++], cm_rx_drop_names[i], CML_XSTAT_NAME_LEN);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		memcpy(names[k++], cm_bad_names[i], CML_XSTAT_NAME_LEN);
	for (i = 0; i < __CM_TX_STAT_MAX; i++)
		memcpy(names[k++], cm_tx_stat_names[i], CML_XSTAT_NAME_LEN);
	for (i = 0; i < CM_STAT_NAMES(pool); i++)
		CML_NAME("%s", pool[i]);
	for (i = 0; i < n->l.p.nodes; i++) {
		if (i == n->self)
			continue;
		for (j = 0; j < CM_STAT_NAMES(peer); j++)
			CML_NAME(CM_PEER_STAT_FMT, i, peer[j]);
	}
#undef CML_NAME
	return (int)k;
}

CML_EXPORT int cml_xstats(const struct cml_node *n, uint64_t *v,
			  unsigned int max)
{
	const struct cm_dp *dp = &n->dp;
	unsigned int count = cml_xstats_count(n), k = 0;
	u32 i;

	if (!v || max < count)
		return (int)count;
	for (i = CM_TX_DROP_NONE + 1; i < __CM_TX_DROP_MAX; i++)
		v[k++] = READ_ONCE(dp->tx_drops[i]);
	for (i = 0; i < __CM_RX_DROP_MAX; i++)
		v[k++] = READ_ONCE(dp->rx_drops[i]);
	for (i = CM_BAD_NONE + 1; i < __CM_BAD_MAX; i++)
		v[k++] = READ_ONCE(dp->rx_bad[i]);
	for (i = 0; i < __CM_TX_STAT_MAX; i++)
		v[k++] = READ_ONCE(dp->tx_stats[i]);
	v[k++] = cm_pool_count(&dp->pool);
	v[k++] = dp->pool.nbufs;
	v[k++] = READ_ONCE(dp->reclaimed);
	v[k++] = READ_ONCE(dp->sent_home);
	v[k++] = n->fences;
	v[k++] = READ_ONCE(dp->rx_frames);
	v[k++] = READ_ONCE(dp->rx_frame_max);
	for (i = 0; i < n->l.p.nodes; i++) {
		if (i == n->self)
			continue;
		v[k++] = READ_ONCE(dp->peer[i].txc.packets);
		v[k++] = READ_ONCE(dp->peer[i].txc.bytes);
		v[k++] = READ_ONCE(dp->peer[i].rx.packets);
		v[k++] = READ_ONCE(dp->peer[i].rx.bytes);
		v[k++] = READ_ONCE(dp->peer[i].bad);
		v[k++] = READ_ONCE(dp->peers.broken[i]);
		v[k++] = cm_pool_held(&dp->pool, i);
		v[k++] = READ_ONCE(dp->peer[i].resets);
	}
	return (int)k;
}
