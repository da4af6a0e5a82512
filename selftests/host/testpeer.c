// SPDX-License-Identifier: GPL-2.0
/*
 * testpeer: a userspace node of a host memory mesh, for tests of the real
 * host backing without QEMU. It does what the ivshmem daemon and a guest
 * do together: takes the region fd from /dev/chainmesh, maps it shared,
 * registers eventfds (node 0's doorbell, which it signals, and its own,
 * which the host signals), joins as node N and then
 *
 *   - sends PINGS ICMP echo requests LOCAL -> HOST to node 0 and counts
 *     the replies node 0 sends back;
 *   - answers ICMP echo requests it receives (ping from the host);
 *
 * for SECS seconds, or until the pings are answered when SECS is 0.
 * Frames go along the chains of its own flow table, as a guest's do.
 *
 *   testpeer MESH NODE LOCAL HOST [PINGS [SECS]]
 *
 * Exit status 0 when every ping was answered and no descriptor was bad.
 * With TESTPEER_CLOSE_DEV set it closes /dev/chainmesh once its doorbells
 * are registered, so that the host module can be unloaded under it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/chainmesh.h>
#include <linux/chainmesh_region.h>
#include <chainmesh/flow.h>
#include <chainmesh/layout.h>
#include <chainmesh/ring.h>

struct peer {
	const char *mesh;
	u32 self;
	u8 *base;
	u64 size;
	struct cm_layout l;
	struct chainmesh_node *node;
	u8 mac[6];
	int efd_host, efd_self, dev;
	struct cm_ring_cons in, ret;	/* data 0 -> us, return 0 -> us */
	struct cm_ring_prod out, back;	/* data us -> 0, return us -> 0 */
	u32 *free;
	u32 nfree;
	struct cm_ftable *ft, *spare;	/* for the layout's max_flows */
	u32 ip_local, ip_host;
	unsigned long sent, replies, echoed, bad, noflow;
};

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static u16 csum(const void *p, size_t len, u32 sum)
{
	const u8 *b = p;

	for (; len > 1; len -= 2, b += 2)
		sum += (b[0] << 8) | b[1];
	if (len)
		sum += b[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (u16)~sum;
}

static void kick_host(struct peer *p)
{
	u64 one = 1;

	if (write(p->efd_host, &one, sizeof(one)) != sizeof(one))
		die("write eventfd");
}

/* Refresh our table when the host changed it. */
static void table(struct peer *p)
{
	void *ft = cm_ftable(p->base, &p->l, p->self);
	struct cm_ftable *t = p->spare;

	if (!cm_ftable_changed(ft, p->ft))
		return;
	if (!cm_ftable_snapshot(ft, &p->l, p->self, t)) {
		p->spare = p->ft;
		p->ft = t;
	}
}

/* Classify and send @len bytes of @frame to the next node of its chain. */
static int send_frame(struct peer *p, u8 *frame, u32 len)
{
	const struct chainmesh_flow *f;
	const struct chainmesh_fhop *h;
	struct cm_flow_key key;
	struct cm_desc d;
	u32 idx;

	table(p);
	cm_flow_parse(frame, len, &key);
	f = cm_flow_lookup(p->ft, &key);
	if (!f) {
		p->noflow++;
		return -1;
	}
	h = &p->ft->hops[le16_to_cpu(f->chain)];
	/* This peer talks to node 0 only. */
	if (!(h->flags & CHAINMESH_H_VALID) || h->next != 0 || !p->nfree ||
	    cm_ring_prod_space(&p->out) <= 0) {
		p->noflow++;
		return -1;
	}
	idx = p->free[--p->nfree];
	d.addr = cm_buf_addr(&p->l, p->self, idx);
	memcpy(frame, cm_node(p->base, &p->l, 0)->mac, 6);
	memcpy(p->base + d.addr + CHAINMESH_HEADROOM, frame, len);
	d.data_off = CHAINMESH_HEADROOM;
	d.len = len;
	d.chain = le16_to_cpu(f->chain);
	d.hop = h->hop + 1;
	d.flags = CHAINMESH_D_CTX;
	cm_ring_push_desc(&p->out, &d);
	if (cm_ring_publish(&p->out))
		kick_host(p);
	return 0;
}

static void send_ping(struct peer *p, u16 seq)
{
	u8 f[14 + 20 + 8 + 56];
	u8 *ip = f + 14, *icmp = ip + 20;
	u16 c;
	int i;

	memset(f, 0, sizeof(f));
	memcpy(f + 6, p->mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (20 + 8 + 56) >> 8;
	ip[3] = (20 + 8 + 56) & 0xff;
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, &p->ip_local, 4);
	memcpy(ip + 16, &p->ip_host, 4);
	c = csum(ip, 20, 0);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	icmp[0] = 8;
	icmp[4] = 0x12;
	icmp[5] = 0x34;
	icmp[6] = seq >> 8;
	icmp[7] = seq & 0xff;
	for (i = 0; i < 56; i++)
		icmp[8 + i] = i;
	c = csum(icmp, 8 + 56, 0);
	icmp[2] = c >> 8;
	icmp[3] = c & 0xff;
	if (!send_frame(p, f, sizeof(f)))
		p->sent++;
}

/* An echo request to us: answer it; an echo reply to us: count it. */
static void handle(struct peer *p, u8 *f, u32 len)
{
	u8 *ip = f + 14, *icmp;
	u32 ihl, tmp;
	u16 c;

	if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0 || (ip[0] >> 4) != 4 ||
	    ip[9] != 1)
		return;
	ihl = (ip[0] & 15) * 4;
	if (len < 14 + ihl + 8 || memcmp(ip + 16, &p->ip_local, 4))
		return;
	icmp = ip + ihl;
	if (icmp[0] == 0) {
		p->replies++;
		return;
	}
	if (icmp[0] != 8)
		return;
	memcpy(f + 6, p->mac, 6);
	memcpy(&tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, &tmp, 4);
	icmp[0] = 0;
	icmp[2] = icmp[3] = 0;
	c = csum(icmp, len - 14 - ihl, 0);
	icmp[2] = c >> 8;
	icmp[3] = c & 0xff;
	if (!send_frame(p, f, len))
		p->echoed++;
}

static void poll_rings(struct peer *p)
{
	u8 frame[65536];
	struct cm_desc d;
	u32 owner, idx;
	int n, i;

	/* Our buffers coming back. */
	n = cm_ring_cons_avail(&p->ret);
	for (i = 0; i < n; i++) {
		if (cm_buf_check(&p->l, cm_ring_pop_addr(&p->ret), &owner, &idx) ||
		    owner != p->self || p->nfree == p->l.p.bufs_per_node)
			p->bad++;
		else
			p->free[p->nfree++] = idx;
	}
	if (n > 0)
		cm_ring_release(&p->ret);
	if (n < 0)
		p->bad++;

	n = cm_ring_cons_avail(&p->in);
	if (n < 0)
		p->bad++;
	for (i = 0; i < n; i++) {
		cm_ring_pop_desc(&p->in, &d);
		if (cm_desc_check(&p->l, &d, &owner, &idx) || owner != 0) {
			p->bad++;
			continue;
		}
		memcpy(frame, p->base + d.addr + d.data_off, d.len);
		/* Its journey ends here: home to node 0. */
		cm_ring_push_addr(&p->back, d.addr);
		handle(p, frame, d.len);
	}
	if (n > 0) {
		cm_ring_release(&p->in);
		if (cm_ring_publish(&p->back))
			kick_host(p);
	}
}

static void set_bell(struct peer *p, u32 node, int fd)
{
	struct chainmesh_ioc_doorbell b;

	memset(&b, 0, sizeof(b));
	snprintf(b.mesh, sizeof(b.mesh), "%s", p->mesh);
	b.node = node;
	b.fd = fd;
	if (ioctl(p->dev, CHAINMESH_IOC_DOORBELL, &b))
		die("CHAINMESH_IOC_DOORBELL");
}

int main(int argc, char **argv)
{
	struct chainmesh_ioc_region r;
	struct peer *p = calloc(1, sizeof(*p));
	unsigned long pings;
	double end, next_ping, next_beat;
	struct pollfd pfd;
	u64 hb, cnt;
	u32 i, mesh_id;
	int fd, secs;

	if (!p || argc < 5) {
		fprintf(stderr, "usage: testpeer MESH NODE LOCAL HOST [PINGS [SECS]]\n");
		return 2;
	}
	p->mesh = argv[1];
	p->self = atoi(argv[2]);
	if (inet_pton(AF_INET, argv[3], &p->ip_local) != 1 ||
	    inet_pton(AF_INET, argv[4], &p->ip_host) != 1) {
		fprintf(stderr, "bad address\n");
		return 2;
	}
	pings = argc > 5 ? strtoul(argv[5], NULL, 0) : 3;
	secs = argc > 6 ? atoi(argv[6]) : 0;

	p->dev = open("/dev/" CHAINMESH_DEV_NAME, O_RDWR | O_CLOEXEC);
	if (p->dev < 0)
		die("/dev/" CHAINMESH_DEV_NAME);
	memset(&r, 0, sizeof(r));
	snprintf(r.mesh, sizeof(r.mesh), "%s", p->mesh);
	if (ioctl(p->dev, CHAINMESH_IOC_REGION_FD, &r))
		die("CHAINMESH_IOC_REGION_FD");
	fd = r.fd;
	if (!(fcntl(fd, F_GETFD) & FD_CLOEXEC)) {
		fprintf(stderr, "region fd is not O_CLOEXEC\n");
		return 1;
	}
	p->size = r.size;
	p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p->base == MAP_FAILED)
		die("mmap region");
	if (ftruncate(fd, p->size / 2) == 0) {
		fprintf(stderr, "region fd could be shrunk\n");
		return 1;
	}

	/* The kernel wrote the header through its own mapping of the same
	 * pages: seeing magic shows the mapping is shared. */
	if (le32_to_cpu(smp_load_acquire(&((struct chainmesh_region_hdr *)p->base)->magic)) !=
	    CHAINMESH_MAGIC || cm_layout_from_hdr((void *)p->base, p->size, &p->l)) {
		fprintf(stderr, "no valid layout in the region\n");
		return 1;
	}
	if (p->self < 1 || p->self >= p->l.p.nodes) {
		fprintf(stderr, "node %u not a guest node\n", p->self);
		return 2;
	}
	mesh_id = le32_to_cpu(((struct chainmesh_region_hdr *)p->base)->mesh_id);
	printf("testpeer: region %llu bytes, %u nodes, mesh id %08x, node %u\n",
	       (unsigned long long)p->size, p->l.p.nodes, mesh_id, p->self);

	p->efd_host = eventfd(0, EFD_CLOEXEC);
	p->efd_self = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->efd_host < 0 || p->efd_self < 0)
		die("eventfd");
	set_bell(p, 0, p->efd_host);
	set_bell(p, p->self, p->efd_self);
	/* Like a daemon that went away: the module may be unloaded under us. */
	if (getenv("TESTPEER_CLOSE_DEV")) {
		close(p->dev);
		p->dev = -1;
	}

	p->free = calloc(p->l.p.bufs_per_node, sizeof(*p->free));
	p->ft = cm_ftable_alloc(p->l.p.max_flows);
	p->spare = cm_ftable_alloc(p->l.p.max_flows);
	if (!p->free || !p->ft || !p->spare)
		die("calloc");
	for (i = 0; i < p->l.p.bufs_per_node; i++)
		p->free[p->nfree++] = i;
	cm_ring_cons_init(&p->in, cm_data_ring(p->base, &p->l, 0, p->self), p->l.p.ring_slots);
	cm_ring_cons_init(&p->ret, cm_ret_ring(p->base, &p->l, 0, p->self), p->l.ret_slots);
	cm_ring_prod_init(&p->out, cm_data_ring(p->base, &p->l, p->self, 0), p->l.p.ring_slots);
	cm_ring_prod_init(&p->back, cm_ret_ring(p->base, &p->l, p->self, 0), p->l.ret_slots);

	/* Join as a guest does. */
	p->node = cm_node(p->base, &p->l, p->self);
	p->mac[0] = 0x02;
	p->mac[1] = 0x43;
	p->mac[2] = 0x4d;
	p->mac[3] = (mesh_id >> 8) & 0xff;
	p->mac[4] = mesh_id & 0xff;
	p->mac[5] = p->self;
	memcpy(p->node->mac, p->mac, 6);
	WRITE_ONCE(p->node->epoch, cpu_to_le32(le32_to_cpu(p->node->epoch) + 1));
	hb = le64_to_cpu(p->node->heartbeat);
	smp_store_release(&p->node->state, cpu_to_le32(CHAINMESH_NODE_UP));

	pfd.fd = p->efd_self;
	pfd.events = POLLIN;
	next_beat = now();
	/* Give the host a tick to see us up and recompile its tables. */
	next_ping = now() + 0.5;
	end = now() + (secs ? secs : 30);
	while (now() < end) {
		if (now() >= next_beat) {
			WRITE_ONCE(p->node->heartbeat, cpu_to_le64(++hb));
			next_beat += 0.1;
		}
		if (p->sent < pings && now() >= next_ping) {
			send_ping(p, p->sent + 1);
			next_ping = now() + 0.2;
		}
		poll_rings(p);
		if (!secs && p->replies >= pings)
			break;
		/* [K2]: ask for kicks, then look once more before sleeping. */
		if (cm_ring_want_kick(&p->in) | cm_ring_want_kick(&p->ret))
			continue;
		if (poll(&pfd, 1, 50) > 0 && read(p->efd_self, &cnt, sizeof(cnt)) < 0)
			die("read eventfd");
		cm_ring_no_kick(&p->in);
		cm_ring_no_kick(&p->ret);
	}

	smp_store_release(&p->node->state, cpu_to_le32(CHAINMESH_NODE_ABSENT));
	if (p->dev >= 0) {
		set_bell(p, p->self, -1);
		set_bell(p, 0, -1);
	}
	printf("testpeer: sent %lu replies %lu echoed %lu bad %lu noflow %lu\n",
	       p->sent, p->replies, p->echoed, p->bad, p->noflow);
	return p->replies >= pings && !p->bad ? 0 : 1;
}
