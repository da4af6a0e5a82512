// SPDX-License-Identifier: GPL-2.0
/*
 * libchainmesh (lib/libchainmesh.c, built into this test, plain and with
 * ASan + UBSan) against a daemon played here, in a thread: the ivshmem
 * server protocol (good and broken), a region this test lays out and
 * whose tables it compiles with flow.h, and nodes driven from the test's
 * own thread (no tick thread: cml_tick() by hand), so that every step is
 * deterministic:
 *
 *  - attach: a bad protocol version, a missing region fd, no layout, a
 *    peer id outside the mesh, a daemon that stops talking are refused
 *    with their errors;
 *  - a chain 1 -> 2 -> 3: node 1's frame classified by its table, node 2
 *    forwards the same buffer (same offset, context chain 1 hop 2 at node
 *    3), node 3 releases it, node 1's pool is full again;
 *  - cml_send() errors: length, no flow, to itself, to a node not up;
 *  - backpressure: a full ring says -EAGAIN; cml_forward() stops at a full
 *    ring and leaves the rest to the program, which forwards it later;
 *  - kick suppression: a node that polls is not rung, an armed one is,
 *    and cml_wait() wakes on it; with nothing to do it times out;
 *  - cml_leave() sends home what was queued to it;
 *  - a node's flow log: flows added and deleted by increments classify
 *    its frames from the next send, a forged increment is not applied;
 *  - a mesh of two queues: frames on their flow's lane, a node reads
 *    and forwards on both lanes, its counters sum them;
 *  - a node attached through the PCI device's sysfs BARs (files standing
 *    in for resource0 and resource2): its id from IVPosition, interrupts
 *    masked, frames both ways with a socket node, doorbells rung through
 *    the Doorbell register, polling mode.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "harness.h"

#include <chainmesh/dp.h>
#include <chainmesh/flowlog.h>
#include <chainmesh/ivshmem.h>
#include <chainmesh/libchainmesh.h>

#define NODES		4
#define REGION		(8u << 20)

enum srv_mode { SRV_OK, SRV_BAD_VERSION, SRV_NO_FD, SRV_BAD_ID, SRV_NO_OWN };

struct srv {
	char path[108];
	int lfd;
	int memfd;
	int efd[NODES];
	enum srv_mode mode;
	pthread_t thread;
	void *base;
	struct cm_layout l;
};

static void srv_send(int sock, int64_t v, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl;
	int64_t le = (int64_t)htole64((uint64_t)v);
	struct iovec iov = { .iov_base = &le, .iov_len = sizeof(le) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (fd >= 0) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	/* A client that refused us may be gone already. */
	(void)sendmsg(sock, &msg, MSG_NOSIGNAL);
}

/* Clients get ids 1, 2, 3 in order (node 0 is this test), as QEMU does. */
static void *srv_main(void *arg)
{
	struct srv *s = arg;
	int64_t id = 1;
	int c, j;

	while ((c = accept(s->lfd, NULL, NULL)) >= 0) {
		if (s->mode == SRV_BAD_ID)
			id = NODES + 1;
		srv_send(c, s->mode == SRV_BAD_VERSION ? 1 : 0, -1);
		srv_send(c, id, -1);
		srv_send(c, -1, s->mode == SRV_NO_FD ? -1 : s->memfd);
		for (j = 0; j < NODES; j++)
			if (j != id)
				srv_send(c, j, s->efd[j]);
		if (s->mode != SRV_NO_OWN)
			srv_send(c, id, id < NODES ? s->efd[id] : s->efd[0]);
		id++;
		/* keep it open: the node polls it for news */
	}
	return NULL;
}

static struct srv *srv_start_q(enum srv_mode mode, bool lay_out, u32 queues)
{
	struct cm_layout_params p = {
		.nodes = NODES, .ring_slots = 16, .buf_size = 2048,
		.bufs_per_node = 64, .max_flows = 16, .queues = queues,
	};
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct srv *s = calloc(1, sizeof(*s));
	int i;

	snprintf(s->path, sizeof(s->path), "/tmp/cm-test-lib.%d.sock", getpid());
	unlink(s->path);
	strcpy(sun.sun_path, s->path);
	s->mode = mode;
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(s->lfd, (struct sockaddr *)&sun, sizeof(sun)) || listen(s->lfd, 8))
		abort();
	s->memfd = memfd_create("cm-test-lib", MFD_CLOEXEC);
	if (ftruncate(s->memfd, REGION))
		abort();
	s->base = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED,
		       s->memfd, 0);
	for (i = 0; i < NODES; i++)
		s->efd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (lay_out) {
		if (cm_layout_compute(&p, REGION, &s->l))
			abort();
		cm_layout_to_hdr(&s->l, REGION, 0x1234, 1, s->base);
		smp_store_release(&((struct chainmesh_region_hdr *)s->base)->magic,
				  cpu_to_le32(CHAINMESH_MAGIC));
	}
	pthread_create(&s->thread, NULL, srv_main, s);
	return s;
}

static struct srv *srv_start(enum srv_mode mode, bool lay_out)
{
	return srv_start_q(mode, lay_out, 1);
}

static void srv_stop(struct srv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	close(s->lfd);
	pthread_join(s->thread, NULL);
	unlink(s->path);
	munmap(s->base, REGION);
	close(s->memfd);
	free(s);
}

/* Chain 1 = 1 -> 2 -> 3; flow 0: UDP to 10.0.0.2 goes along it. */
static void srv_tables(struct srv *s)
{
	struct cm_chain chains[CHAINMESH_MAX_CHAINS], eff[CHAINMESH_MAX_CHAINS];
	struct chainmesh_flow f;
	struct cm_ftable *t = cm_ftable_alloc(16);
	u32 n;

	memset(chains, 0, sizeof(chains));
	chains[1].used = 1;
	chains[1].nhops = 3;
	chains[1].hops[0] = 1;
	chains[1].hops[1] = 2;
	chains[1].hops[2] = 3;
	memset(&f, 0, sizeof(f));
	f.chain = cpu_to_le16(1);
	f.family = 4;
	f.ip_proto = CM_IPPROTO_UDP;
	f.dst[0] = htonl(0x0a000002);
	cm_prefix_mask(32, f.dst_mask);
	cm_chains_effective(chains, 0xf, eff);
	for (n = 0; n < NODES; n++) {
		if (cm_ftable_compile_live(&f, 1, eff, 0xf, n, 16, t) < 0)
			abort();
		cm_ftable_publish(cm_ftable(s->base, &s->l, n), t);
	}
	cm_ftable_free(t);
}

static void udp_frame(u8 *f, u32 len, u32 dst, u8 mark)
{
	memset(f, 0, len);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (len - 14) >> 8;
	f[17] = (len - 14) & 0xff;
	f[22] = 64;
	f[23] = CM_IPPROTO_UDP;
	f[26] = 10; f[29] = 1;
	f[30] = dst >> 24; f[31] = (dst >> 16) & 0xff;
	f[32] = (dst >> 8) & 0xff; f[33] = dst & 0xff;
	f[34] = 0x9c; f[36] = 0x04; f[37] = 0xd2;
	f[len - 1] = mark;
}

static struct cml_node *attach(struct srv *s, int *err)
{
	struct cml_config cfg = { .socket = s->path, .wait_ms = 200,
				  .flags = CML_F_QUIET };
	struct cml_node *n = NULL;

	*err = cml_attach(&cfg, &n);
	return n;
}

/* Every node ticks, then polls: they see each other up. */
static void settle(struct cml_node **n, int cnt)
{
	struct cml_buf b[8];
	int i, k, r;

	for (r = 0; r < 2; r++) {
		for (i = 0; i < cnt; i++)
			cml_tick(n[i]);
		for (i = 0; i < cnt; i++) {
			k = cml_rx_burst(n[i], b, 8);
			cml_release(n[i], b, k);
			cml_flush(n[i]);
		}
	}
}

TEST(attach_refused)
{
	struct srv *s;
	int err;

	/* and a daemon that never sends our own doorbell: not for ever */
	s = srv_start(SRV_OK, true);
	s->mode = SRV_NO_OWN;
	EXPECT_EQ(NULL, attach(s, &err));
	EXPECT_EQ(-ETIMEDOUT, err);
	srv_stop(s);

	s = srv_start(SRV_BAD_VERSION, true);
	EXPECT_EQ(NULL, attach(s, &err));
	EXPECT_EQ(-EPROTO, err);
	srv_stop(s);
	s = srv_start(SRV_NO_FD, true);
	EXPECT_EQ(NULL, attach(s, &err));
	EXPECT_EQ(-EPROTO, err);
	srv_stop(s);
	s = srv_start(SRV_OK, false);
	EXPECT_EQ(NULL, attach(s, &err));
	EXPECT_EQ(-ETIMEDOUT, err);
	srv_stop(s);
	s = srv_start(SRV_BAD_ID, true);
	EXPECT_EQ(NULL, attach(s, &err));
	EXPECT_EQ(-ERANGE, err);
	srv_stop(s);
}

FIXTURE(mesh) {
	struct srv *s;
	struct cml_node *n[3];	/* nodes 1, 2, 3 */
};

FIXTURE_SETUP(mesh)
{
	int i, err;

	self->s = srv_start(SRV_OK, true);
	srv_tables(self->s);
	for (i = 0; i < 3; i++) {
		self->n[i] = attach(self->s, &err);
		ASSERT_EQ(0, err);
		ASSERT_EQ((uint32_t)i + 1, cml_node_id(self->n[i]));
		ASSERT_EQ(0, cml_join(self->n[i]));
	}
	settle(self->n, 3);
	ASSERT_TRUE(cml_peer_up(self->n[0], 2));
	ASSERT_TRUE(cml_peer_up(self->n[1], 3));
}

FIXTURE_TEARDOWN(mesh)
{
	int i;

	for (i = 0; i < 3; i++)
		cml_close(self->n[i]);
	srv_stop(self->s);
}

TEST_F(mesh, chain_zero_copy)
{
	struct cml_buf b2[4], b3[4];
	struct cml_stats st;
	u8 f[100];

	udp_frame(f, sizeof(f), 0x0a000002, 0xab);
	ASSERT_EQ(0, cml_send(self->n[0], f, sizeof(f), NULL));
	cml_flush(self->n[0]);
	ASSERT_EQ(1, cml_rx_burst(self->n[1], b2, 4));
	EXPECT_EQ(1u, b2[0].from);
	EXPECT_EQ(1u, b2[0].owner);
	EXPECT_TRUE(b2[0].has_ctx);
	EXPECT_EQ(1, b2[0].chain);
	EXPECT_EQ(1, b2[0].hop);
	EXPECT_EQ(sizeof(f), b2[0].len);
	EXPECT_EQ(0xab, b2[0].data[sizeof(f) - 1]);
	ASSERT_EQ(1, cml_forward(self->n[1], b2, 1));
	cml_flush(self->n[1]);
	ASSERT_EQ(1, cml_rx_burst(self->n[2], b3, 4));
	EXPECT_EQ(b2[0].offset, b3[0].offset);
	EXPECT_EQ(2u, b3[0].from);
	EXPECT_EQ(2, b3[0].hop);
	/* node 3's address, written by the forwarder */
	EXPECT_EQ(0, memcmp(b3[0].data, cml_mac(self->n[2], 3), 6));
	cml_get_stats(self->n[0], &st);
	EXPECT_EQ(st.pool_size - 1, st.pool_free);
	cml_release(self->n[2], b3, 1);
	cml_flush(self->n[2]);
	EXPECT_EQ(0, cml_rx_burst(self->n[0], b2, 4));
	cml_get_stats(self->n[0], &st);
	EXPECT_EQ(st.pool_size, st.pool_free);
	EXPECT_EQ(1u, st.tx_packets);
	cml_get_stats(self->n[1], &st);
	EXPECT_EQ(1u, st.forwarded);
	EXPECT_EQ(1u, st.rx_packets);
	cml_get_stats(self->n[2], &st);
	EXPECT_EQ(1u, st.rx_packets);
	EXPECT_EQ(0u, st.bad);
}

TEST_F(mesh, send_errors)
{
	struct cml_stats st;
	u8 f[100];

	udp_frame(f, sizeof(f), 0x0a000002, 0);
	EXPECT_EQ(-EMSGSIZE, cml_send(self->n[0], f, 10, NULL));
	EXPECT_EQ(-EMSGSIZE, cml_send(self->n[0], f, 4096, NULL));
	udp_frame(f, sizeof(f), 0x0a000009, 0);	/* no flow */
	EXPECT_EQ(-ENOENT, cml_send(self->n[0], f, sizeof(f), NULL));
	EXPECT_EQ(-EINVAL, cml_send_to(self->n[0], 1, f, sizeof(f)));
	EXPECT_EQ(-EHOSTDOWN, cml_send_to(self->n[0], 0, f, sizeof(f)));
	cml_get_stats(self->n[0], &st);
	EXPECT_EQ(4u, st.tx_drops);
	EXPECT_EQ(0u, st.tx_packets);
	EXPECT_EQ(st.pool_size, st.pool_free);
}

TEST_F(mesh, backpressure)
{
	struct cml_buf b[32], b3[32];
	u8 f[100];
	int i, k, n, got;

	/* 16 slots from node 1 to node 2, then the ring is full */
	for (i = 0; i < 16; i++) {
		udp_frame(f, sizeof(f), 0x0a000002, (u8)i);
		ASSERT_EQ(0, cml_send(self->n[0], f, sizeof(f), NULL));
	}
	EXPECT_EQ(-EAGAIN, cml_send(self->n[0], f, sizeof(f), NULL));
	cml_flush(self->n[0]);
	/* node 2 has sent 6 of its own to node 3 */
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, cml_send_to(self->n[1], 3, f, sizeof(f)));
	n = cml_rx_burst(self->n[1], b, 32);
	ASSERT_EQ(16, n);
	/* room for 10: the burst stops there, the rest is still ours */
	k = cml_forward(self->n[1], b, n);
	EXPECT_EQ(10, k);
	cml_flush(self->n[1]);
	got = cml_rx_burst(self->n[2], b3, 32);
	EXPECT_EQ(16, got);
	for (i = 6; i < got; i++)
		EXPECT_EQ((u8)(i - 6), b3[i].data[sizeof(f) - 1]);
	cml_release(self->n[2], b3, got);
	cml_flush(self->n[2]);
	/* room again: the rest goes, in order */
	EXPECT_EQ(6, cml_forward(self->n[1], b + k, n - k));
	cml_flush(self->n[1]);
	got = cml_rx_burst(self->n[2], b3, 32);
	ASSERT_EQ(6, got);
	for (i = 0; i < got; i++)
		EXPECT_EQ((u8)(10 + i), b3[i].data[sizeof(f) - 1]);
	cml_release(self->n[2], b3, got);
	cml_flush(self->n[2]);
}

TEST_F(mesh, kicks_and_wait)
{
	struct cml_stats st;
	struct cml_buf b[4];
	struct timespec t0, t1;
	u64 before;
	u8 f[100];
	long ms;

	udp_frame(f, sizeof(f), 0x0a000002, 0);
	/* nothing to do: times out */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(0, cml_wait(self->n[1], 50));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_GE(ms, 40);
	/* node 2 is armed now: node 1's frame rings it, and it wakes */
	cml_get_stats(self->n[0], &st);
	before = st.kicks_sent;
	ASSERT_EQ(0, cml_send_to(self->n[0], 2, f, sizeof(f)));
	cml_flush(self->n[0]);
	cml_get_stats(self->n[0], &st);
	EXPECT_EQ(before + 1, st.kicks_sent);
	EXPECT_EQ(1, cml_wait(self->n[1], 1000));
	/* polling (disarmed by the poll): no doorbell for the next one */
	ASSERT_EQ(1, cml_rx_burst(self->n[1], b, 4));
	cml_release(self->n[1], b, 1);
	cml_flush(self->n[1]);
	ASSERT_EQ(0, cml_send_to(self->n[0], 2, f, sizeof(f)));
	cml_flush(self->n[0]);
	cml_get_stats(self->n[0], &st);
	EXPECT_EQ(before + 1, st.kicks_sent);
	/* armed with work already there: cml_wait() does not sleep */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(1, cml_wait(self->n[1], 5000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_LT(t1.tv_sec - t0.tv_sec, 2);
	ASSERT_EQ(1, cml_rx_burst(self->n[1], b, 4));
	cml_release(self->n[1], b, 1);
	cml_flush(self->n[1]);
}

TEST_F(mesh, leave_sends_home)
{
	struct cml_stats st;
	struct cml_buf b[4];
	u8 f[100];
	int i;

	udp_frame(f, sizeof(f), 0x0a000002, 0);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, cml_send_to(self->n[0], 2, f, sizeof(f)));
	cml_flush(self->n[0]);
	cml_get_stats(self->n[0], &st);
	EXPECT_EQ(st.pool_size - 5, st.pool_free);
	cml_leave(self->n[1]);
	EXPECT_FALSE(cml_peer_up(self->n[0], 2));
	cml_rx_burst(self->n[0], b, 4);
	cml_get_stats(self->n[0], &st);
	EXPECT_EQ(st.pool_size, st.pool_free);
	EXPECT_EQ(0u, st.reclaimed);
}

/* A guest's view: node 2 through "sysfs" files, resource0 (BAR0: its
 * IVPosition; the doorbells it rings land in it) and resource2 (BAR2:
 * the very region, the memfd reopened), next to node 1 on the socket. */
/* Node 1's table changed by increments in its flow log (this test is
 * the host): the node sends by the table with them applied, from its
 * next send on; a forged increment is refused, none of its batch is
 * applied, until the host writes a new checkpoint. */
TEST_F(mesh, flow_log)
{
	struct chainmesh_flog_hdr *log = cm_flog(self->s->base, &self->s->l, 1);
	void *ft = cm_ftable(self->s->base, &self->s->l, 1);
	struct cm_chain chains[CHAINMESH_MAX_CHAINS];
	struct cm_ftable *t = cm_ftable_alloc(16);
	struct chainmesh_flog_ent *e;
	struct cm_flog_host w;
	struct cm_flog_op op;
	struct cml_buf b[4];
	u8 f[100];
	u32 pos;

	ASSERT_NOT_NULL(t);
	memset(chains, 0, sizeof(chains));
	chains[1].used = 1;
	chains[1].nhops = 3;
	chains[1].hops[0] = 1;
	chains[1].hops[1] = 2;
	chains[1].hops[2] = 3;
	/* node 1's table as published: no flow yet for 10.0.0.9 */
	ASSERT_EQ(0, cm_ftable_compile(NULL, 0, chains, 1, 16, t));
	ASSERT_EQ(0, cm_ftable_index(t));
	cm_flog_host_init(&w, log, self->s->l.flog_slots);
	cm_flog_host_reset(&w, ft, t);
	udp_frame(f, sizeof(f), 0x0a000009, 1);
	EXPECT_EQ(-ENOENT, cml_send(self->n[0], f, sizeof(f), NULL));

	/* an increment: flow 1, UDP to 10.0.0.9, chain 1 */
	memset(&op, 0, sizeof(op));
	op.op = CHAINMESH_FLOG_ADD;
	op.flow.flow_id = cpu_to_le32(1);
	op.flow.chain = cpu_to_le16(1);
	op.flow.family = 4;
	op.flow.ip_proto = CM_IPPROTO_UDP;
	op.flow.dst[0] = htonl(0x0a000009);
	cm_prefix_mask(32, op.flow.dst_mask);
	ASSERT_EQ(0, cm_flog_host_batch(&w, log, ft, t, &op, 1));
	ASSERT_EQ(0, cml_send(self->n[0], f, sizeof(f), NULL));
	cml_flush(self->n[0]);
	ASSERT_EQ(1, cml_rx_burst(self->n[1], b, 4));
	EXPECT_EQ(1, b[0].chain);
	cml_release(self->n[1], b, 1);
	cml_flush(self->n[1]);

	/* deleted again */
	op.op = CHAINMESH_FLOG_DELETE;
	ASSERT_EQ(0, cm_flog_host_batch(&w, log, ft, t, &op, 1));
	EXPECT_EQ(-ENOENT, cml_send(self->n[0], f, sizeof(f), NULL));

	/* a batch whose second increment is forged: neither applied */
	pos = w.head;
	op.op = CHAINMESH_FLOG_ADD;
	ASSERT_EQ(0, cm_flog_host_batch(&w, log, ft, t, &op, 1));
	op.flow.flow_id = cpu_to_le32(2);
	ASSERT_EQ(0, cm_flog_host_batch(&w, log, ft, t, &op, 1));
	cm_flog_ent(log, self->s->l.flog_slots, pos)->flags = 0;
	e = cm_flog_ent(log, self->s->l.flog_slots, pos + 1);
	e->flow.flow_id = cpu_to_le32(self->s->l.p.max_flows);
	EXPECT_EQ(-ENOENT, cml_send(self->n[0], f, sizeof(f), NULL));
	EXPECT_EQ(-ENOENT, cml_send(self->n[0], f, sizeof(f), NULL));
	/* the host's cure: a new checkpoint, which holds both */
	cm_flog_host_reset(&w, ft, t);
	ASSERT_EQ(0, cml_send(self->n[0], f, sizeof(f), NULL));
	cml_flush(self->n[0]);
	ASSERT_EQ(1, cml_rx_burst(self->n[1], b, 4));
	cml_release(self->n[1], b, 1);
	cml_flush(self->n[1]);
	settle(self->n, 3);
	cm_ftable_free(t);
}

/* The lane of a buffer of node @owner: the slice of its pool. */
static u32 buf_lane(const struct cm_layout *l, u32 owner, u64 offset)
{
	return (u32)((offset - cm_buf_addr(l, owner, 0)) / l->p.buf_size /
		     cm_lane_bufs(l));
}

/*
 * A mesh of two queues: the chain 1 -> 2 -> 3 with frames of 16 flows
 * (source ports): each goes on its flow's lane (cm_flow_lane(), in that
 * lane's slice of node 1's pool), node 2 reads both lanes in one poll and
 * forwards each on its lane, node 3 gets every frame, zero copy, and node
 * 1's pool (both slices) is full again; the counters are both lanes'.
 */
TEST(lanes)
{
	struct cml_buf b2[32], b3[32];
	struct cm_flow_key key;
	struct cml_node *n[3];
	u32 seen[2] = { 0, 0 }, lane, i;
	struct cml_stats st;
	struct srv *s;
	u8 f[100];
	int err, k, got;

	s = srv_start_q(SRV_OK, true, 2);
	srv_tables(s);
	for (i = 0; i < 3; i++) {
		n[i] = attach(s, &err);
		ASSERT_EQ(0, err);
		ASSERT_EQ(0, cml_join(n[i]));
	}
	settle(n, 3);
	ASSERT_TRUE(cml_peer_up(n[0], 2));
	ASSERT_TRUE(cml_peer_up(n[1], 3));
	for (i = 0; i < 16; i++) {
		udp_frame(f, sizeof(f), 0x0a000002, (u8)i);
		f[35] = (u8)i;		/* source port 0x9c00 + i */
		ASSERT_EQ(0, cml_send(n[0], f, sizeof(f), NULL));
	}
	cml_flush(n[0]);
	got = cml_rx_burst(n[1], b2, 32);
	ASSERT_EQ(16, got);
	for (k = 0; k < got; k++) {
		EXPECT_EQ(1u, b2[k].owner);
		lane = buf_lane(&s->l, 1, b2[k].offset);
		ASSERT_GT(2u, lane);
		seen[lane]++;
		/* the lane of the frame's flow, as every node computes it */
		cm_flow_parse(b2[k].data, b2[k].len, &key);
		EXPECT_EQ(cm_flow_lane(&key, 2), lane);
	}
	EXPECT_LT(0u, seen[0]);
	EXPECT_LT(0u, seen[1]);
	cml_get_stats(n[0], &st);
	EXPECT_EQ(64u, st.pool_size);
	EXPECT_EQ(48u, st.pool_free);
	ASSERT_EQ(got, cml_forward(n[1], b2, got));
	cml_flush(n[1]);
	k = cml_rx_burst(n[2], b3, 32);
	ASSERT_EQ(16, k);
	for (k = 0; k < 16; k++) {
		for (i = 0; i < 16; i++)
			if (b2[i].offset == b3[k].offset)
				break;
		EXPECT_GT(16u, i);	/* the same buffer: zero copy */
		EXPECT_EQ(2, b3[k].hop);
	}
	cml_release(n[2], b3, 16);
	cml_flush(n[2]);
	EXPECT_EQ(0, cml_rx_burst(n[0], b2, 32));
	cml_get_stats(n[0], &st);
	EXPECT_EQ(st.pool_size, st.pool_free);
	EXPECT_EQ(16u, st.tx_packets);
	cml_get_stats(n[1], &st);
	EXPECT_EQ(16u, st.forwarded);
	EXPECT_EQ(16u, st.rx_packets);
	EXPECT_EQ(0u, st.bad);
	cml_get_stats(n[2], &st);
	EXPECT_EQ(16u, st.rx_packets);
	EXPECT_EQ(0u, st.bad);
	for (i = 0; i < 3; i++)
		cml_close(n[i]);
	srv_stop(s);
}

TEST(pci_attach)
{
	struct cml_config cfg = { .flags = CML_F_QUIET };
	struct cml_node *n1, *n2, *both[2];
	char dir[64], path[128], target[64];
	struct timespec t0, t1;
	struct cml_buf b[4];
	struct cml_stats st;
	volatile u32 *regs;
	struct srv *s;
	u8 f[100];
	int fd, err;
	long ms;

	s = srv_start(SRV_OK, true);
	srv_tables(s);
	snprintf(dir, sizeof(dir), "/tmp/cm-test-lib-pci.%d", getpid());
	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/resource0", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 256));
	regs = mmap(NULL, 256, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ASSERT_NE(MAP_FAILED, (void *)regs);
	regs[CM_IVSHMEM_IVPOSITION / 4] = 2;
	regs[CM_IVSHMEM_INTRMASK / 4] = 0xffffffff;
	snprintf(path, sizeof(path), "%s/resource2", dir);
	snprintf(target, sizeof(target), "/proc/%d/fd/%d", getpid(), s->memfd);
	ASSERT_EQ(0, symlink(target, path));

	n1 = attach(s, &err);
	ASSERT_EQ(0, err);
	cfg.pci = dir;
	ASSERT_EQ(0, cml_attach(&cfg, &n2));
	EXPECT_EQ(2u, cml_node_id(n2));
	EXPECT_EQ(0u, regs[CM_IVSHMEM_INTRMASK / 4]);	/* polling */
	EXPECT_EQ(-1, cml_fd(n2));
	ASSERT_EQ(0, cml_join(n1));
	ASSERT_EQ(0, cml_join(n2));
	both[0] = n1;
	both[1] = n2;
	settle(both, 2);
	ASSERT_TRUE(cml_peer_up(n1, 2));
	ASSERT_TRUE(cml_peer_up(n2, 1));

	udp_frame(f, sizeof(f), 0x0a000002, 0x5a);
	ASSERT_EQ(0, cml_send_to(n1, 2, f, sizeof(f)));
	cml_flush(n1);
	ASSERT_EQ(1, cml_rx_burst(n2, b, 4));
	EXPECT_EQ(1u, b[0].owner);
	EXPECT_EQ(0x5a, b[0].data[sizeof(f) - 1]);
	cml_release(n2, b, 1);
	cml_flush(n2);
	/* node 1 takes its buffer back, then sleeps armed: node 2 rings it
	 * through BAR0's Doorbell */
	EXPECT_EQ(0, cml_rx_burst(n1, b, 4));
	EXPECT_FALSE(cml_arm(n1));
	ASSERT_EQ(0, cml_send_to(n2, 1, f, sizeof(f)));
	cml_flush(n2);
	EXPECT_EQ(1u << 16 | 0, regs[CM_IVSHMEM_DOORBELL / 4]);
	cml_get_stats(n2, &st);
	EXPECT_EQ(1u, st.kicks_sent);
	ASSERT_EQ(1, cml_rx_burst(n1, b, 4));
	EXPECT_EQ(2u, b[0].from);
	cml_release(n1, b, 1);
	cml_flush(n1);
	/* polling mode: node 2 never arms, and never sleeps long */
	EXPECT_FALSE(cml_arm(n2));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(0, cml_wait(n2, 1000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	EXPECT_LT(ms, 100);
	ASSERT_EQ(0, cml_rx_burst(n2, b, 4));
	cml_get_stats(n2, &st);
	EXPECT_EQ(st.pool_size, st.pool_free);

	cml_close(n2);
	cml_close(n1);
	unlink(path);
	snprintf(path, sizeof(path), "%s/resource0", dir);
	unlink(path);
	rmdir(dir);
	munmap((void *)regs, 256);
	srv_stop(s);
}

TEST_HARNESS_MAIN
