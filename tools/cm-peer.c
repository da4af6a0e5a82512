// SPDX-License-Identifier: GPL-2.0
/*
 * cm-peer: a chainmesh node in userspace, for tests.
 *
 * It connects to chainmesh-ivshmemd's unix socket exactly as QEMU's
 * ivshmem-doorbell does (protocol: tools/chainmesh-ivshmemd.c), so it gets
 * the lowest free peer id, the region fd and every peer's doorbell
 * eventfd. It maps the region, waits for the host's layout (magic, then
 * cm_layout_from_hdr()), joins as node <peer id> (MAC, epoch, state UP
 * with release; heartbeat and the node's tick every 100 ms from a thread)
 * and runs one mode:
 *
 *   cm-peer [-S SOCK] [-w SECS] [-V VECTORS] [-q] MODE [OPTIONS]
 *
 *   info                      print the layout and the node table, leave
 *   echo [--duration T] [--raw]
 *                             every frame received on an inbound data
 *                             ring goes back to its sender from our own
 *                             pool: MACs swapped; unless --raw also the
 *                             IPv4/IPv6 addresses and L4 ports, and ICMP
 *                             echo requests become replies (so `ping` of
 *                             an address routed to this node answers)
 *   send --to N --count C [--size S] [--src IP] [--dst IP]
 *        [--dport P] [--timeout T]
 *                             C IPv4/UDP frames of S bytes (default 128)
 *                             from our pool to node N's data ring, with
 *                             kick suppression honoured; then waits for
 *                             the buffers to come back
 *   chaos [--seed S] --duration T [--targets N[,N...]] [--kinds K[,K...]]
 *         [--gap US] [--hold MS] [--list]
 *                             seeded random and crafted corruption of
 *                             whatever this node can write (and more, see
 *                             --list) against live peers; --gap: pause
 *                             between attacks (default 200 us); --hold:
 *                             how long a corrupted ring index stays before
 *                             it is put back (default 1..20 ms, random),
 *                             and how long one ft_storm (20 ms),
 *                             ring_stuck (3 s), ret_flood (100 ms),
 *                             state_flip (5 s) or burst (20 s) lasts
 *
 * Global options: -S the daemon's socket (default $CMLAB_DIR/ivshmem.sock),
 * -w seconds to wait for the layout (default 30), -V vectors per peer
 * (must match the daemon's -n, default 1), -q fewer messages.
 *
 * The node is libchainmesh's (lib/, include/chainmesh/libchainmesh.h):
 * attach, join, heartbeat and tick (a thread), polls, transmit and
 * doorbells are the library's, and so the kernel's: its datapath is
 * include/chainmesh/dp.h, the very code node 0 and the guests run. A
 * frame that reaches this node is counted (sink), turned around (echo)
 * or kept (chaos' hoard). Every mode polls as NAPI does (cml_rx_burst())
 * and, when idle, asks its producers for a doorbell and sleeps on its own
 * eventfd (cml_wait()). It judges peers that send garbage broken, counts
 * per peer, per flow and per reason, and publishes its counters for the
 * host. When the host calls it down or broken, echo and send rejoin as a
 * new epoch (the kernel's fence); chaos stays fenced, as the host sees
 * it. echo and send frames carry no chain context: the receiver
 * classifies them. The chaos attacks write what they write by hand, under
 * the library's API (lib/libchainmesh-int.h): that is their point.
 *
 * On SIGINT/SIGTERM, or when the mode ends, the node drains its inbound
 * data rings and leaves (state ABSENT). Killing it with SIGKILL is a
 * crash: the host notices by the heartbeat.
 *
 * Output: "cm-peer: node N joined ..." once joined; chaos prints its seed
 * first ("cm-peer: chaos seed S": replay with --seed S) and a summary line
 * per attack kind at the end; every mode ends with a "cm-peer: summary"
 * line of counters. Exit status: 0, 1 on error, 2 on usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <chainmesh/dp.h>
#include <chainmesh/libchainmesh.h>

#include "libchainmesh-int.h"

#define CMP_MAX_VECTORS	CML_MAX_VECTORS
#define CMP_TICK_MS	CML_TICK_MS
#define CMP_BUDGET	64	/* descriptors per poll, as NAPI's weight */

enum cmp_rx_mode {
	CMP_RX_SINK,		/* count and send home */
	CMP_RX_ECHO,		/* and reflect to the sender */
	CMP_RX_ECHO_RAW,	/* swapping MACs only */
};

struct cmp {
	const char *sock_path;
	unsigned int vectors;
	int wait_s;
	bool quiet;

	/*
	 * The node: libchainmesh's, whose fields (base, l, self, node, mac,
	 * dp, hb_stall_until, ...) this file names as its own.
	 */
	union {
		struct cml_node n;
		struct {
			CML_NODE_FIELDS
		};
	};
	u64 host_epoch;
	enum cmp_rx_mode mode;
	u32 back0[CHAINMESH_MAX_NODES];	/* return rings' heads at join */
	/* chaos: peers' buffers are kept, never sent home, until this (ms) */
	u64 hoard_until;

	/* What the library does not count. */
	u64 hoarded;			/* peers' buffers kept (chaos) */
	u64 forged;			/* returns chaos wrote by hand */
};

static volatile sig_atomic_t cmp_stop;

static void cmp_log(struct cmp *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cmp_log(struct cmp *c, const char *fmt, ...)
{
	va_list ap;

	if (c && c->quiet)
		return;
	va_start(ap, fmt);
	fputs("cm-peer: ", stdout);
	vfprintf(stdout, fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

static void cmp_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void cmp_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("cm-peer: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Milliseconds of the monotonic clock: compat.h's jiffies (HZ 1000). */
static u64 cmp_now_ms(void)
{
	return cm_jiffies();
}

static void cmp_sleep_us(u64 us)
{
	struct timespec ts = {
		.tv_sec = (time_t)(us / 1000000),
		.tv_nsec = (long)(us % 1000000) * 1000,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR && !cmp_stop)
		;
}

/* ------------------------------------------------------------ node */

static void cmp_kick(struct cmp *c, u32 n)
{
	cml_kick(&c->n, n, 0);
}

/* Attach through the daemon (libchainmesh), wait for the host's layout:
 * node <peer id>, a guest node. */
static int cmp_attach(struct cmp *c)
{
	struct cml_config cfg = {
		.socket = c->sock_path,
		.vectors = c->vectors,
		.wait_ms = c->wait_s * 1000,
		.flags = CML_F_TICK_THREAD | (c->quiet ? CML_F_QUIET : 0),
	};
	int err;

	/* chaos stays fenced; echo and send say otherwise */
	c->no_rejoin = true;
	err = cml_attach_at(&c->n, &cfg);
	if (err) {
		cmp_err("attach through %s: %s", c->sock_path, strerror(-err));
		return -1;
	}
	c->host_epoch = le64_to_cpu(READ_ONCE(((struct chainmesh_region_hdr *)
						c->base)->host_epoch));
	if (c->self < 1) {
		cmp_err("peer id %u is not a guest node of this mesh (%u nodes)",
			c->self, c->l.p.nodes);
		return -1;
	}
	return 0;
}

static int cmp_join(struct cmp *c)
{
	const struct cm_layout *l = &c->l;
	int err;
	u32 n;

	err = cml_join(&c->n);
	if (err) {
		cmp_err("join: %s", strerror(-err));
		return -1;
	}
	for (n = 0; n < l->p.nodes; n++)
		if (n != c->self)
			c->back0[n] = c->dp.peer[n].back.head;
	cmp_log(c, "node %u joined mesh %08x (%u nodes, host epoch %llu"
		", ring %u slots, %u x %u B buffers)", c->self, c->mesh_id,
		l->p.nodes, c->host_epoch, l->p.ring_slots, l->p.bufs_per_node,
		l->p.buf_size);
	return 0;
}

/* ------------------------------------------------------------ datapath */

static u8 *cmp_buf(struct cmp *c, u64 addr)
{
	return (u8 *)c->base + addr;
}

static u16 cmp_csum_fold(u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (u16)sum;
}

/* RFC 1624: checksum @csum (network order bytes at @p) after a 16-bit
 * word changed from @old to @new. */
static void cmp_csum_replace(u8 *p, u16 old, u16 new)
{
	u16 csum = cm_get_be16(p);
	u32 sum = (u16)~csum + (u16)~old + new;

	csum = (u16)~cmp_csum_fold(sum);
	p[0] = csum >> 8;
	p[1] = csum & 0xff;
}

static void cmp_swap(u8 *a, u8 *b, size_t n)
{
	u8 t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/* Turn a received frame around: MACs, and unless @raw IPs, ports, ICMP. */
static void cmp_reflect(struct cmp *c, u32 to, u8 *f, u32 len, bool raw)
{
	u32 off = CM_ETH_HLEN, ihl, l4;
	u16 proto;

	memcpy(f, cm_node(c->base, &c->l, to)->mac, 6);
	memcpy(f + 6, c->mac, 6);
	if (raw)
		return;
	proto = cm_get_be16(f + 12);
	if ((proto == CM_ETH_P_8021Q || proto == CM_ETH_P_8021AD) && len >= 18) {
		proto = cm_get_be16(f + 16);
		off += 4;
	}
	if (proto == CM_ETH_P_IP && len >= off + 20 && (f[off] >> 4) == 4) {
		ihl = (f[off] & 0xf) * 4u;
		if (ihl < 20 || len < off + ihl)
			return;
		cmp_swap(f + off + 12, f + off + 16, 4);
		l4 = off + ihl;
		if (cm_get_be16(f + off + 6) & 0x1fff)
			return;
		if (f[off + 9] == 1 && len >= l4 + 4 && f[l4] == 8) {
			f[l4] = 0;	/* echo request -> reply */
			cmp_csum_replace(f + l4 + 2, 0x0800, 0x0000);
		} else if ((f[off + 9] == CM_IPPROTO_TCP ||
			    f[off + 9] == CM_IPPROTO_UDP) && len >= l4 + 4) {
			cmp_swap(f + l4, f + l4 + 2, 2);
		}
	} else if (proto == CM_ETH_P_IPV6 && len >= off + 40 &&
		   (f[off] >> 4) == 6) {
		cmp_swap(f + off + 8, f + off + 24, 16);
		l4 = off + 40;
		if (f[off + 6] == 58 && len >= l4 + 4 && f[l4] == 128) {
			f[l4] = 129;
			cmp_csum_replace(f + l4 + 2, 0x8000, 0x8100);
		} else if ((f[off + 6] == CM_IPPROTO_TCP ||
			    f[off + 6] == CM_IPPROTO_UDP) && len >= l4 + 4) {
			cmp_swap(f + l4, f + l4 + 2, 2);
		}
	}
}


/* ops->rx: a validated frame for this node from @from. */

/* Publish what we pushed (chaos writes by hand too) and ring who asked. */
static void cmp_flush(struct cmp *c)
{
	cml_flush(&c->n);
}

/*
 * One poll, as NAPI's (cml_rx_burst()): our buffers back, what the tick
 * saw change, then the data rings within a budget; each frame counted,
 * then sent home (cml_release()), turned around first in echo, or kept
 * (chaos' hoard).
 * Return: frames received.
 */
static int cmp_poll(struct cmp *c)
{
	struct cml_buf b[CMP_BUDGET];
	u8 frame[CM_MAX_BUF_SIZE];
	int n, i, err;
	u32 len;

	n = cml_rx_burst(&c->n, b, CMP_BUDGET);
	for (i = 0; i < n; i++) {
		if (b[i].owner != c->self && c->hoard_until &&
		    cmp_now_ms() < c->hoard_until) {
			c->hoarded++;
			continue;
		}
		len = b[i].len;
		/* Copy once: the sender may still write its buffer. */
		if (c->mode != CMP_RX_SINK)
			memcpy(frame, b[i].data, len);
		cml_release(&c->n, &b[i], 1);
		if (c->mode == CMP_RX_SINK)
			continue;
		cmp_reflect(c, b[i].from, frame, len, c->mode == CMP_RX_ECHO_RAW);
		/* No room: dropped and counted, as an echo's frame would be. */
		err = cml_send_to(&c->n, b[i].from, frame, len);
		if (err == -EAGAIN || err == -ENOBUFS)
			cm_dp_tx_drop(&c->dp, err == -EAGAIN ?
				      CM_TX_DROP_RING_FULL : CM_TX_DROP_NO_BUF);
	}
	cmp_flush(c);
	return n;
}

/* Nothing to do: ask every producer for a doorbell, then sleep until one
 * rings or @ms, unless something came meanwhile (ring.h [K2]). */
static void cmp_idle(struct cmp *c, int ms)
{
	cml_wait(&c->n, ms);
}

/* Poll until there is less than a budget's work; then sleep as cmp_idle(). */
static void cmp_serve(struct cmp *c, int ms)
{
	if (cmp_poll(c) < CMP_BUDGET)
		cmp_idle(c, ms);
}

/*
 * Leave as a guest does: the tick stopped, the peers' buffers queued to
 * us sent home (not those of a peer we cut, none while fenced), final
 * counters, then ABSENT (cml_leave()).
 */
static void cmp_leave(struct cmp *c)
{
	c->mode = CMP_RX_SINK;
	c->hoard_until = 0;
	cml_leave(&c->n);
}

static void cmp_summary(struct cmp *c)
{
	const struct cm_dp *dp = &c->dp;
	u64 tx = 0, back = 0, home = 0, drops = 0;
	u32 n;

	for (n = 0; n < c->l.p.nodes; n++) {
		if (n == c->self)
			continue;
		tx += dp->peer[n].txc.packets;
		back += dp->pool.hop_back[n];
		home += dp->peer[n].back.head - c->back0[n];
	}
	for (n = 0; n < __CM_TX_DROP_MAX; n++)
		drops += dp->tx_drops[n];
	for (n = 0; n < __CM_RX_DROP_MAX; n++)
		drops += dp->rx_drops[n];
	/* returned: our buffers home (not those taken back from the dead);
	 * sent_home: peers' buffers on their way home, forged ones not */
	printf("cm-peer: summary node %u rx %llu tx %llu"
	       " returned %llu sent_home %llu home_full %llu hoarded %llu"
	       " no_buf %llu ring_full %llu ring_bad %llu"
	       " kicks_sent %llu kicks_got %llu"
	       " bad_addr %llu bad_align %llu bad_owner %llu"
	       " bad_len %llu bad_return %llu bad_index %llu"
	       " pool_free %u/%u bad_chain %llu drops %llu drop_quota %llu"
	       " reclaimed %llu fences %llu\n", c->self, dp->rx_total.packets, tx,
	       back - dp->reclaimed, home - c->forged,
	       dp->rx_drops[CM_RX_DROP_NO_RETURN], c->hoarded,
	       dp->tx_drops[CM_TX_DROP_NO_BUF],
	       dp->tx_drops[CM_TX_DROP_RING_FULL],
	       dp->tx_drops[CM_TX_DROP_RING_BAD], c->kicks_sent, c->kicks_got,
	       dp->rx_bad[CM_BAD_ADDR], dp->rx_bad[CM_BAD_ALIGN],
	       dp->rx_bad[CM_BAD_OWNER], dp->rx_bad[CM_BAD_LEN],
	       dp->rx_bad[CM_BAD_RETURN], dp->rx_bad[CM_BAD_INDEX],
	       cm_pool_count(&dp->pool), dp->pool.nbufs,
	       dp->rx_bad[CM_BAD_CHAIN], drops,
	       dp->tx_drops[CM_TX_DROP_QUOTA], dp->reclaimed, c->fences);
	fflush(stdout);
}

/* ------------------------------------------------------------ modes */

static int cmp_mode_info(struct cmp *c)
{
	static const char * const names[] = {
		"absent", "joining", "up", "down", "broken",
	};
	u32 n, s, h;

	printf("mesh %08x nodes %u ring_slots %u ret_slots %u buf_size %u "
	       "bufs_per_node %u max_flows %u region %llu used %llu"
	       " host_epoch %llu\n", c->mesh_id, c->l.p.nodes,
	       c->l.p.ring_slots, c->l.ret_slots, c->l.p.buf_size,
	       c->l.p.bufs_per_node, c->l.p.max_flows, c->size, c->l.size,
	       c->host_epoch);
	for (n = 0; n < c->l.p.nodes; n++) {
		struct chainmesh_node *e = cm_node(c->base, &c->l, n);
		const u8 *m = e->mac;

		s = le32_to_cpu(READ_ONCE(e->state));
		h = le32_to_cpu(READ_ONCE(e->host_state));
		printf("node %u state %s host_state %s epoch %u heartbeat %llu"
		       " mac %02x:%02x:%02x:%02x:%02x:%02x\n", n,
		       s < 5 ? names[s] : "garbage", h < 5 ? names[h] : "garbage",
		       le32_to_cpu(READ_ONCE(e->epoch)),
		       (u64)le64_to_cpu(READ_ONCE(e->heartbeat)),
		       m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	return 0;
}

static int cmp_mode_echo(struct cmp *c, int duration, bool raw)
{
	u64 end = duration > 0 ? cmp_now_ms() + (u64)duration * 1000 : UINT64_MAX;

	c->mode = raw ? CMP_RX_ECHO_RAW : CMP_RX_ECHO;
	c->no_rejoin = false;
	while (!cmp_stop && cmp_now_ms() < end)
		cmp_serve(c, 10);
	c->mode = CMP_RX_SINK;
	return 0;
}

static u16 cmp_ip_csum(const u8 *p, u32 len)
{
	u32 sum = 0, i;

	for (i = 0; i + 1 < len; i += 2)
		sum += cm_get_be16(p + i);
	if (len & 1)
		sum += p[len - 1] << 8;
	return (u16)~cmp_csum_fold(sum);
}

/* An IPv4/UDP frame of @len bytes, Ethernet header included. */
static void cmp_build_udp(struct cmp *c, u32 to, u8 *f, u32 len,
			  struct in_addr src, struct in_addr dst, u16 dport,
			  u64 seq)
{
	u8 *ip = f + CM_ETH_HLEN, *udp = ip + 20;
	u32 iplen = len - CM_ETH_HLEN, i;
	u16 csum;

	memcpy(f, cm_node(c->base, &c->l, to)->mac, 6);
	memcpy(f + 6, c->mac, 6);
	f[12] = 0x08;
	f[13] = 0x00;
	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = iplen >> 8;
	ip[3] = iplen & 0xff;
	ip[4] = (seq >> 8) & 0xff;
	ip[5] = seq & 0xff;
	ip[6] = 0x40;		/* DF */
	ip[8] = 64;
	ip[9] = CM_IPPROTO_UDP;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	csum = cmp_ip_csum(ip, 20);
	ip[10] = csum >> 8;
	ip[11] = csum & 0xff;
	udp[0] = 0x9c;		/* sport 40000 */
	udp[1] = 0x40;
	udp[2] = dport >> 8;
	udp[3] = dport & 0xff;
	udp[4] = (iplen - 20) >> 8;
	udp[5] = (iplen - 20) & 0xff;
	udp[6] = 0;		/* no checksum */
	udp[7] = 0;
	for (i = 42; i < len; i++)
		f[i] = (u8)(seq + i);
}

struct cmp_send_opts {
	int to;
	u64 count;
	u32 size;
	struct in_addr src, dst;
	u16 dport;
	int timeout;
};


static int cmp_mode_send(struct cmp *c, const struct cmp_send_opts *o)
{
	u64 end = cmp_now_ms() + (u64)o->timeout * 1000, sent = 0, t0;
	struct cm_dp *dp = &c->dp;
	u8 frame[CM_MAX_BUF_SIZE];
	u32 batch, to = (u32)o->to;
	int err = 0;

	if (o->to < 0 || to >= c->l.p.nodes || to == c->self) {
		cmp_err("--to %d: not another node of this mesh", o->to);
		return 1;
	}
	if (o->size < 42 || o->size > c->l.p.buf_size - CHAINMESH_HEADROOM) {
		cmp_err("--size %u: need 42..%u", o->size,
			c->l.p.buf_size - CHAINMESH_HEADROOM);
		return 1;
	}
	c->no_rejoin = false;
	t0 = cmp_now_ms();
	while (!cmp_stop && sent < o->count && cmp_now_ms() < end) {
		cmp_poll(c);
		if (!cml_peer_up(&c->n, to)) {
			cmp_idle(c, 10);
			continue;
		}
		/* As the stack's transmit: wait for room (backpressure), a
		 * burst at a time, one publish per burst. */
		for (batch = 0; batch < 32 && sent < o->count; batch++) {
			cmp_build_udp(c, to, frame, o->size, o->src, o->dst,
				      o->dport, sent);
			err = cml_send_to(&c->n, to, frame, o->size);
			if (err)
				break;
			sent++;
		}
		cmp_flush(c);
		if (batch < 32 && sent < o->count)
			cmp_idle(c, 10);
	}
	/* Wait for our buffers to come home. */
	end = cmp_now_ms() + 2000;
	while (!cmp_stop && cm_pool_count(&dp->pool) < dp->pool.nbufs &&
	       cmp_now_ms() < end)
		cmp_serve(c, 10);
	cmp_log(c, "sent %llu of %llu frames to node %d in %llu"
		" ms, %u of %u buffers home", sent, o->count, o->to,
		cmp_now_ms() - t0, cm_pool_count(&dp->pool), dp->pool.nbufs);
	return sent == o->count ? 0 : 1;
}

/* ------------------------------------------------------------ chaos */

/*
 * Attack kinds. "legal" ones write only what this node may write (its
 * outbound data and return rings, its consumer indices, its node entry,
 * its own buffers, doorbells); the others write what belongs to someone
 * else, as a hostile kernel with the whole region mapped can.
 */
enum cmp_kind {
	K_DESC_ADDR,		/* addr outside every pool */
	K_DESC_ALIGN,		/* addr inside a pool, not on a buffer */
	K_DESC_OWNER,		/* a buffer of another node (target's, third's) */
	K_DESC_LEN0,		/* len 0 .. ETH_HLEN-1 */
	K_DESC_LEN_HUGE,	/* len past the buffer */
	K_DESC_OFF,		/* data_off past the buffer */
	K_DESC_CHAIN,		/* bogus chain / hop with context */
	K_FRAME_GARBAGE,	/* valid descriptor, random bytes */
	K_FRAME_TRUNC,		/* valid descriptor, headers cut short */
	K_FRAME_TOCTOU,		/* frame rewritten right after publishing */
	K_HEAD_BACK,		/* data ring head behind the consumer */
	K_HEAD_FULL,		/* head past a full ring */
	K_HEAD_RANDOM,		/* head anywhere */
	K_HEAD_REPLAY,		/* head exactly one ring ahead: stale slots */
	K_TAIL,			/* our consumer index of the target's ring */
	K_KICKFLAG,		/* want_kick garbage on our inbound rings */
	K_RET_UNKNOWN,		/* return a buffer of the target we never got */
	K_RET_DUP,		/* return the same buffer twice */
	K_RET_BAD,		/* return garbage offsets */
	K_RET_HEAD,		/* return ring head garbage */
	K_STATE,		/* our node state garbage */
	K_HB_STALL,		/* heartbeat stops for a while */
	K_MAC,			/* our MAC garbage */
	K_DOORBELL,		/* doorbell storm */
	K_FTABLE,		/* target's flow table: refused entries (not ours) */
	K_HOARD,		/* keep the peers' buffers we receive, for good */
	K_DESC_SELF_FREE,	/* the target's own buffers, not out with us */
	K_FT_STORM,		/* unknown chain context, target's table seq bumped */
	K_RING_STUCK,		/* heartbeat, read nothing, our tail says "full" */
	K_RET_FLOOD,		/* return ring refilled with garbage, no doorbell */
	K_BURST,		/* everything writable, every ring and entry */
	K_FRAME_CHAIN,		/* multi-buffer frames: a buffer twice, two owners,
				 * cut off, too long, bad offload header or flags */
	K_VERDICT,		/* the target's host verdict forged broken, once */
	K_STATE_FLIP,		/* our state up, joining, up... every 100 ms */
	__K_MAX
};

static const struct {
	const char *name;
	bool legal;
	bool dflt;
} cmp_kinds[__K_MAX] = {
	[K_DESC_ADDR]		= { "desc_addr", true, true },
	[K_DESC_ALIGN]		= { "desc_align", true, true },
	[K_DESC_OWNER]		= { "desc_owner", true, true },
	[K_DESC_LEN0]		= { "desc_len0", true, true },
	[K_DESC_LEN_HUGE]	= { "desc_len_huge", true, true },
	[K_DESC_OFF]		= { "desc_off", true, true },
	[K_DESC_CHAIN]		= { "desc_chain", true, true },
	[K_FRAME_GARBAGE]	= { "frame_garbage", true, true },
	[K_FRAME_TRUNC]		= { "frame_trunc", true, true },
	[K_FRAME_TOCTOU]	= { "frame_toctou", true, true },
	[K_HEAD_BACK]		= { "head_back", true, true },
	[K_HEAD_FULL]		= { "head_full", true, true },
	[K_HEAD_RANDOM]		= { "head_random", true, true },
	[K_HEAD_REPLAY]		= { "head_replay", true, true },
	[K_TAIL]		= { "tail", true, true },
	[K_KICKFLAG]		= { "kickflag", true, true },
	[K_RET_UNKNOWN]		= { "ret_unknown", true, true },
	[K_RET_DUP]		= { "ret_dup", true, true },
	[K_RET_BAD]		= { "ret_bad", true, true },
	[K_RET_HEAD]		= { "ret_head", true, true },
	[K_STATE]		= { "state", true, true },
	[K_HB_STALL]		= { "hb_stall", true, true },
	[K_MAC]			= { "mac", true, true },
	[K_DOORBELL]		= { "doorbell", true, true },
	[K_FTABLE]		= { "ftable", false, true },
	/* not by default: without reclaim the victims never get them back */
	[K_HOARD]		= { "hoard", true, false },
	[K_DESC_SELF_FREE]	= { "desc_self_free", true, true },
	[K_FT_STORM]		= { "ft_storm", false, true },
	/* not by default: stalls the target's transmit for CM_HOARD_MS by
	 * design (selftests/vm/chaos.sh runs it alone) */
	[K_RING_STUCK]		= { "ring_stuck", true, false },
	/* not by default: for a peer the target cut (misbehave.sh) */
	[K_RET_FLOOD]		= { "ret_flood", true, false },
	/* not by default: frames every node for the hold (20 s) by design
	 * (selftests/vm/chaos.sh runs it alone, then checks recovery) */
	[K_BURST]		= { "burst", false, false },
	[K_FRAME_CHAIN]		= { "frame_chain", true, true },
	/* not by default: each one cuts the target off its peers until the
	 * host writes its verdict again (chaos.sh runs them alone) */
	[K_VERDICT]		= { "verdict", false, false },
	[K_STATE_FLIP]		= { "state_flip", true, false },
};

struct cmp_chaos {
	u64 seed;
	u64 rng;
	int duration;
	u32 gap_us;
	u32 hold_ms;		/* index corruption held this long; 0: 1..20 ms */
	u32 targets[CHAINMESH_MAX_NODES];
	u32 ntargets;
	bool enabled[__K_MAX];
	u64 done[__K_MAX];
	u64 detail[__K_MAX];	/* descriptors, returns, kicks... written */
	u32 rr;			/* round robin over our pool */
	u64 stuck_next;		/* ring_stuck: not again before (ms) */
};

static u64 cmp_rand(struct cmp_chaos *x)
{
	/* splitmix64: one state word, good enough and replayable */
	u64 z = (x->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static u32 cmp_rand_below(struct cmp_chaos *x, u32 n)
{
	return n ? (u32)(cmp_rand(x) % n) : 0;
}

/* How long a corrupted index stays before it is put back. */
static void cmp_chaos_hold(struct cmp_chaos *x)
{
	cmp_sleep_us(x->hold_ms ? (u64)x->hold_ms * 1000 :
		     1000 + cmp_rand_below(x, 20000));
}

/* One of our buffers, round robin: chaos does not care if it is in use. */
static u32 cmp_chaos_buf(struct cmp *c, struct cmp_chaos *x)
{
	return x->rr++ % c->l.p.bufs_per_node;
}

/* Write a descriptor raw into the target's ring and publish it. */
static void cmp_chaos_desc(struct cmp *c, struct cmp_chaos *x, u32 t,
			   const struct cm_desc *d, enum cmp_kind k)
{
	struct cm_dp_peer *p = &c->dp.peer[t];

	if (cm_ring_prod_space(&p->tx) <= 0)
		return;
	cm_ring_push_desc(&p->tx, d);
	c->dp.tx_pending |= 1ull << t;	/* published by cmp_flush() */
	x->detail[k]++;
}

/* Write @n descriptors raw, one chain, and publish them at once. */
static void cmp_chaos_descs(struct cmp *c, struct cmp_chaos *x, u32 t,
			    const struct cm_desc *d, u32 n, enum cmp_kind k)
{
	struct cm_dp_peer *p = &c->dp.peer[t];
	u32 i;

	if (cm_ring_prod_space_for(&p->tx, n) < (int)n)
		return;
	for (i = 0; i < n; i++)
		cm_ring_push_desc(&p->tx, &d[i]);
	c->dp.tx_pending |= 1ull << t;
	x->detail[k] += n;
}

/* A plausible frame for @t in buffer @idx: IPv4/UDP unless told. */
static u16 cmp_chaos_frame(struct cmp *c, struct cmp_chaos *x, u32 t, u32 idx)
{
	u8 *f = cmp_buf(c, cm_buf_addr(&c->l, c->self, idx)) + CHAINMESH_HEADROOM;
	struct in_addr src = { htonl(0x0a000000u | (u32)c->self) };
	struct in_addr dst = { htonl(0x0a000000u | t) };
	u16 len = (u16)(42 + cmp_rand_below(x, 200));

	cmp_build_udp(c, t, f, len, src, dst, 9, cmp_rand(x));
	return len;
}

/* Headers cut short at every interesting place. */
static u16 cmp_chaos_trunc(struct cmp *c, struct cmp_chaos *x, u32 t, u32 idx)
{
	u8 *f = cmp_buf(c, cm_buf_addr(&c->l, c->self, idx)) + CHAINMESH_HEADROOM;
	u32 i;

	for (i = 0; i < 128; i++)
		f[i] = (u8)cmp_rand(x);
	memcpy(f, cm_node(c->base, &c->l, t)->mac, 6);
	memcpy(f + 6, c->mac, 6);
	switch (cmp_rand_below(x, 6)) {
	case 0:		/* IPv4, cut inside the header */
		f[12] = 0x08; f[13] = 0x00; f[14] = 0x45;
		return (u16)(14 + cmp_rand_below(x, 20));
	case 1:		/* IPv4 claiming options it does not have */
		f[12] = 0x08; f[13] = 0x00; f[14] = 0x4f;
		return (u16)(34 + cmp_rand_below(x, 40));
	case 2:		/* IPv6, cut */
		f[12] = 0x86; f[13] = 0xdd; f[14] = 0x60;
		return (u16)(14 + cmp_rand_below(x, 40));
	case 3:		/* VLAN tag, cut */
		f[12] = 0x81; f[13] = 0x00;
		return (u16)(14 + cmp_rand_below(x, 4));
	case 4:		/* QinQ then IPv4 with UDP ports cut */
		f[12] = 0x88; f[13] = 0xa8; f[16] = 0x08; f[17] = 0x00;
		f[18] = 0x45; f[20] = 0; f[21] = 0; f[27] = CM_IPPROTO_UDP;
		return (u16)(38 + cmp_rand_below(x, 4));
	default:	/* Ethernet header alone */
		return 14;
	}
}

/* A chain the target's table has it on, not last: what a descriptor of
 * ours may name so that the target passes it on (XDP_TX). */
static bool cmp_chaos_mid_chain(struct cmp *c, u32 t, u16 *chain, u8 *hop)
{
	struct chainmesh_fhop *hops = cm_ftable_hops(cm_ftable(c->base, &c->l, t));
	u32 i;
	u8 f;

	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		f = READ_ONCE(hops[i].flags);
		if ((f & CHAINMESH_H_VALID) && !(f & CHAINMESH_H_LAST) &&
		    READ_ONCE(hops[i].hop) > 0) {
			*chain = (u16)i;
			*hop = READ_ONCE(hops[i].hop);
			return true;
		}
	}
	return false;
}

/* A value near @v or anywhere: what insane indices look like. */
static u32 cmp_burst_index(struct cmp_chaos *x, u32 v, u32 slots)
{
	switch (cmp_rand_below(x, 4)) {
	case 0:
		return (u32)cmp_rand(x);
	case 1:
		return v + slots + 1 + cmp_rand_below(x, 1000);
	case 2:
		return v - 1 - cmp_rand_below(x, slots);
	default:
		return v + cmp_rand_below(x, slots + 1);
	}
}

/*
 * burst: for the hold (20 s), write garbage everywhere a hostile kernel
 * with the region mapped can: the indices, flags and slots of every ring
 * between any two nodes (ours or not), every node's entry (state, epoch,
 * heartbeat, host verdict, blame word, MAC), every flow table, and
 * doorbells. Third parties' rings are the point: each honest node blames
 * its producer for what we wrote into them. Nothing is put back; once
 * the burst stops, the honest nodes must recover on their own
 * (Documentation/threat-model.rst, "Recovery after a burst").
 */
static void cmp_chaos_burst(struct cmp *c, struct cmp_chaos *x)
{
	const struct cm_layout *l = &c->l;
	u32 nodes = l->p.nodes, i, j, n, k, slots;
	struct chainmesh_ring_hdr *h;
	struct chainmesh_node *e;
	u64 end, a;
	bool ret;
	void *ft;

	end = cmp_now_ms() + (x->hold_ms ? x->hold_ms : 20000);
	while (!cmp_stop && cmp_now_ms() < end) {
		i = cmp_rand_below(x, nodes);
		j = cmp_rand_below(x, nodes);
		switch (cmp_rand_below(x, 8)) {
		case 0:		/* a ring's indices and flags */
		case 1:
			if (i == j)
				break;
			ret = cmp_rand_below(x, 2);
			h = ret ? cm_ret_ring(c->base, l, i, j) :
				  cm_data_ring(c->base, l, i, j);
			slots = ret ? l->ret_slots : l->p.ring_slots;
			n = le32_to_cpu(READ_ONCE(h->head));
			WRITE_ONCE(h->head, cpu_to_le32(cmp_burst_index(x, n, slots)));
			n = le32_to_cpu(READ_ONCE(h->tail));
			WRITE_ONCE(h->tail, cpu_to_le32(cmp_burst_index(x, n, slots)));
			if (cmp_rand_below(x, 2)) {
				WRITE_ONCE(h->prod_flags, cpu_to_le32((u32)cmp_rand(x)));
				WRITE_ONCE(h->cons_flags, cpu_to_le32((u32)cmp_rand(x)));
				WRITE_ONCE(h->want_kick, cpu_to_le32((u32)cmp_rand(x)));
			}
			x->detail[K_BURST]++;
			break;
		case 2:		/* a ring's slots: plausible buffers and garbage */
		case 3:
			if (i == j)
				break;
			ret = cmp_rand_below(x, 2);
			h = ret ? cm_ret_ring(c->base, l, i, j) :
				  cm_data_ring(c->base, l, i, j);
			slots = ret ? l->ret_slots : l->p.ring_slots;
			for (k = 0; k < 16; k++) {
				n = cmp_rand_below(x, slots);
				a = cmp_rand_below(x, 2) ? cmp_rand(x) :
				    cm_buf_addr(l, cmp_rand_below(x, nodes),
						cmp_rand_below(x, l->p.bufs_per_node));
				if (ret) {
					WRITE_ONCE(((__le64 *)(h + 1))[n], cpu_to_le64(a));
				} else {
					struct cm_desc_slot *s = (struct cm_desc_slot *)(h + 1) + n;

					WRITE_ONCE(s->addr, cpu_to_le64(a));
					WRITE_ONCE(s->meta, cpu_to_le64(cmp_rand(x)));
				}
			}
			x->detail[K_BURST] += 16;
			break;
		case 4:		/* a node entry, ours included */
			e = cm_node(c->base, l, i);
			switch (cmp_rand_below(x, 6)) {
			case 0:
				WRITE_ONCE(e->state, cpu_to_le32(cmp_rand_below(x, 8)));
				break;
			case 1:
				WRITE_ONCE(e->epoch, cpu_to_le32((u32)cmp_rand(x)));
				break;
			case 2:
				WRITE_ONCE(e->heartbeat, cpu_to_le64(cmp_rand(x)));
				break;
			case 3:
				WRITE_ONCE(e->host_state, cpu_to_le32(cmp_rand_below(x, 8)));
				break;
			case 4:
				WRITE_ONCE(e->blame, cpu_to_le64(cmp_rand(x)));
				break;
			default:
				for (k = 0; k < 6; k++)
					WRITE_ONCE(e->mac[k], (u8)cmp_rand(x));
				break;
			}
			x->detail[K_BURST]++;
			break;
		case 5: {	/* a flow table: seq, nflows, hops, flows */
			struct chainmesh_ftable_hdr *fh;
			u8 *b;

			ft = cm_ftable(c->base, l, i);
			fh = cm_ftable_hdr(ft);
			switch (cmp_rand_below(x, 4)) {
			case 0:
				WRITE_ONCE(fh->seq, cpu_to_le32((u32)cmp_rand(x)));
				break;
			case 1:
				WRITE_ONCE(fh->nflows, cpu_to_le32((u32)cmp_rand(x)));
				break;
			case 2:
				b = (u8 *)cm_ftable_hops(ft);
				for (k = 0; k < 8; k++)
					WRITE_ONCE(b[cmp_rand_below(x, CHAINMESH_MAX_CHAINS *
							sizeof(struct chainmesh_fhop))],
						   (u8)cmp_rand(x));
				break;
			default:
				b = (u8 *)cm_ftable_flows(ft);
				for (k = 0; k < 8; k++)
					WRITE_ONCE(b[cmp_rand_below(x, l->p.max_flows *
							sizeof(struct chainmesh_flow))],
						   (u8)cmp_rand(x));
				break;
			}
			x->detail[K_BURST]++;
			break;
		}
		case 6:		/* doorbells */
			if (i != (u32)c->self)
				cmp_kick(c, i);
			x->detail[K_BURST]++;
			break;
		default:	/* and now and then, the whole header of a ring */
			if (i == j)
				break;
			h = cm_data_ring(c->base, l, i, j);
			WRITE_ONCE(h->head, cpu_to_le32((u32)cmp_rand(x)));
			WRITE_ONCE(h->tail, cpu_to_le32((u32)cmp_rand(x)));
			x->detail[K_BURST]++;
			break;
		}
		if (x->gap_us)
			cmp_sleep_us(x->gap_us);
	}
}

/*
 * Frames of several buffers that a consumer must refuse, in turn: one
 * buffer twice, buffers of two owners, a chain cut off by our head, more
 * bytes than a frame may have, an offload header of garbage, a
 * continuation with a first descriptor's flags.
 */
static void cmp_chaos_frame_chain(struct cmp *c, struct cmp_chaos *x, u32 t)
{
	static struct cm_desc d[CHAINMESH_FRAME_MAX_BUFS];
	const struct cm_layout *l = &c->l;
	u32 room = l->p.buf_size - CHAINMESH_HEADROOM, n = 2, i, o;
	u8 *oh;

	for (i = 0; i < 2; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].addr = cm_buf_addr(l, c->self, cmp_chaos_buf(c, x));
		d[i].data_off = CHAINMESH_HEADROOM;
		d[i].len = 64;
	}
	cmp_chaos_frame(c, x, t, (u32)((d[0].addr - cm_buf_addr(l, c->self, 0)) /
				       l->p.buf_size));
	d[0].flags = CHAINMESH_D_MORE;
	switch (x->done[K_FRAME_CHAIN] % 6) {
	case 0:		/* one buffer twice */
		d[1].addr = d[0].addr;
		break;
	case 1:		/* a third node's buffer: neither ours nor the target's */
		for (o = 0; o == c->self || o == t; o++)
			;
		d[1].addr = cm_buf_addr(l, o, cmp_rand_below(x, l->p.bufs_per_node));
		break;
	case 2:		/* our head ends the chain */
		n = 1;
		break;
	case 3:		/* too long: full buffers past CHAINMESH_FRAME_MAX_LEN */
		n = CHAINMESH_FRAME_MAX_LEN / room + 2;
		if (n > CHAINMESH_FRAME_MAX_BUFS || n > l->p.bufs_per_node)
			n = 2;
		for (i = 0; i < n; i++) {
			d[i] = d[0];
			d[i].addr = cm_buf_addr(l, c->self, cmp_chaos_buf(c, x));
			d[i].len = (u16)room;
			d[i].flags = i + 1 < n ? CHAINMESH_D_MORE : 0;
		}
		break;
	case 4:		/* an offload header of garbage */
		n = 1;
		d[0].flags = CHAINMESH_D_OFFLOAD;
		oh = cmp_buf(c, d[0].addr);
		for (i = 0; i < sizeof(struct chainmesh_offload); i++)
			oh[i] = (u8)cmp_rand(x);
		oh[10] |= 1;	/* padding: never zero, so always refused */
		break;
	default:	/* a continuation with a first descriptor's flags */
		d[1].flags = CHAINMESH_D_CTX | CHAINMESH_D_OFFLOAD;
		break;
	}
	cmp_chaos_descs(c, x, t, d, n, K_FRAME_CHAIN);
}

static void cmp_chaos_one(struct cmp *c, struct cmp_chaos *x, enum cmp_kind k,
			  u32 t)
{
	const struct cm_layout *l = &c->l;
	struct cm_dp_peer *p = &c->dp.peer[t];
	struct cm_desc d = { .data_off = CHAINMESH_HEADROOM, .len = 64 };
	u32 idx = cmp_chaos_buf(c, x), slots, n, i, old;
	u64 a;

	d.addr = cm_buf_addr(l, c->self, idx);
	switch (k) {
	case K_DESC_ADDR: {
		const u64 bad[] = {
			0, 8, l->node_table_off, l->rings_off, l->pools_off - l->p.buf_size,
			l->size, c->size, c->size + l->p.buf_size, ~0ull,
			~0ull - l->p.buf_size + 1, 1ull << 63,
			l->pools_off + (u64)l->p.nodes * l->pool_stride,
		};
		d.addr = cmp_rand_below(x, 4) ? bad[cmp_rand_below(x, (u32)(sizeof(bad) / sizeof(bad[0])))] :
			 cmp_rand(x);
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	}
	case K_DESC_ALIGN:
		d.addr += 1 + cmp_rand_below(x, l->p.buf_size - 1);
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_DESC_OWNER:
		/* the target's own buffer, or any node's (0 included) */
		n = cmp_rand_below(x, 2) ? t : cmp_rand_below(x, l->p.nodes);
		d.addr = cm_buf_addr(l, n, cmp_rand_below(x, l->p.bufs_per_node));
		d.len = 60;
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_DESC_LEN0:
		d.len = (u16)cmp_rand_below(x, CM_ETH_HLEN);
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_DESC_LEN_HUGE:
		d.len = cmp_rand_below(x, 2) ? 0xffff :
			(u16)(l->p.buf_size - CHAINMESH_HEADROOM + 1 +
			      cmp_rand_below(x, 64));
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_DESC_OFF:
		d.data_off = (u16)(l->p.buf_size - cmp_rand_below(x, 14));
		if (cmp_rand_below(x, 2))
			d.data_off = 0xffff;
		d.len = 14;
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_DESC_CHAIN:
		cmp_chaos_frame(c, x, t, idx);
		d.flags = (u8)(CHAINMESH_D_CTX | (cmp_rand(x) & 0xfe));
		d.chain = cmp_rand_below(x, 2) ? (u16)cmp_rand(x) :
			  (u16)cmp_rand_below(x, CHAINMESH_MAX_CHAINS);
		d.hop = (u8)cmp_rand(x);
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_FRAME_GARBAGE:
		d.len = (u16)(14 + cmp_rand_below(x, l->p.buf_size - CHAINMESH_HEADROOM - 14));
		for (i = 0; i < d.len; i++)
			cmp_buf(c, d.addr)[CHAINMESH_HEADROOM + i] = (u8)cmp_rand(x);
		if (cmp_rand_below(x, 2))	/* so that it is delivered */
			memcpy(cmp_buf(c, d.addr) + CHAINMESH_HEADROOM,
			       cm_node(c->base, l, t)->mac, 6);
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_FRAME_TRUNC:
		d.len = cmp_chaos_trunc(c, x, t, idx);
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_FRAME_CHAIN:
		cmp_chaos_frame_chain(c, x, t);
		break;
	case K_FRAME_TOCTOU:
		d.len = cmp_chaos_frame(c, x, t, idx);
		cmp_chaos_desc(c, x, t, &d, k);
		cmp_flush(c);
		/* rewrite it while the target may be copying it */
		for (n = 0; n < 200; n++)
			for (i = 0; i < d.len; i++)
				WRITE_ONCE(cmp_buf(c, d.addr)[CHAINMESH_HEADROOM + i],
					   (u8)(n + i));
		break;
	case K_HEAD_BACK:
	case K_HEAD_FULL:
	case K_HEAD_RANDOM:
		slots = l->p.ring_slots;
		old = p->tx.published;
		if (k == K_HEAD_BACK)
			n = old - 1 - cmp_rand_below(x, slots);
		else if (k == K_HEAD_FULL)
			n = old + slots + 1 + cmp_rand_below(x, 1u << 20);
		else
			n = (u32)cmp_rand(x);
		smp_store_release(&p->tx.hdr->head, cpu_to_le32(n));
		cmp_kick(c, t);
		cmp_chaos_hold(x);
		/* Back to the truth; if the target consumed stale slots under
		 * a random head, take its tail as ours. */
		n = le32_to_cpu(smp_load_acquire(&p->tx.hdr->tail));
		if (n - old <= slots && n != old) {
			p->tx.head = p->tx.published = n;
			x->detail[k]++;		/* stale slots consumed */
		}
		smp_store_release(&p->tx.hdr->head, cpu_to_le32(p->tx.published));
		p->tx.tail_cache = p->tx.published - slots;
		break;
	case K_HEAD_REPLAY:
		/* Exactly one ring ahead of the consumer: every slot again. */
		n = le32_to_cpu(smp_load_acquire(&p->tx.hdr->tail));
		if (p->tx.published != n)
			break;		/* only on an empty ring */
		p->tx.head = p->tx.published = n + l->p.ring_slots;
		smp_store_release(&p->tx.hdr->head, cpu_to_le32(p->tx.head));
		p->tx.tail_cache = n;
		cmp_kick(c, t);
		x->detail[k] += l->p.ring_slots;
		break;
	case K_TAIL:
		/* The target's producer index into us: our tail garbage. */
		old = p->data.tail;
		n = cmp_rand_below(x, 2) ? (u32)cmp_rand(x) :
		    old + l->p.ring_slots + 1 + cmp_rand_below(x, 100);
		smp_store_release(&p->data.hdr->tail, cpu_to_le32(n));
		cmp_chaos_hold(x);
		smp_store_release(&p->data.hdr->tail, cpu_to_le32(old));
		break;
	case K_KICKFLAG:
		WRITE_ONCE(p->data.hdr->want_kick, cpu_to_le32((u32)cmp_rand(x)));
		WRITE_ONCE(p->ret.hdr->want_kick, cpu_to_le32((u32)cmp_rand(x)));
		WRITE_ONCE(p->data.hdr->prod_flags, cpu_to_le32((u32)cmp_rand(x)));
		cmp_sleep_us(cmp_rand_below(x, 5000));
		/* Back to what the poll last asked for (dp.h arm/disarm). */
		if (c->dp.armed) {
			cm_ring_want_kick(&p->data);
			cm_ring_want_kick(&p->ret);
		} else {
			cm_ring_no_kick(&p->data);
			cm_ring_no_kick(&p->ret);
		}
		break;
	case K_RET_UNKNOWN:
	case K_RET_DUP:
	case K_RET_BAD:
		if (cm_ring_prod_space(&p->back) < 2)
			break;
		a = cm_buf_addr(l, t, cmp_rand_below(x, l->p.bufs_per_node));
		if (k == K_RET_BAD) {
			switch (cmp_rand_below(x, 4)) {
			case 0: a = cmp_rand(x); break;
			case 1: a += 1 + cmp_rand_below(x, l->p.buf_size - 1); break;
			case 2: a = cm_buf_addr(l, c->self, idx); break;	/* not theirs */
			default: a = l->size + cmp_rand_below(x, 1u << 20); break;
			}
		}
		cm_ring_push_addr(&p->back, a);
		x->detail[k]++;
		c->forged++;
		if (k == K_RET_DUP) {
			cm_ring_push_addr(&p->back, a);
			x->detail[k]++;
			c->forged++;
		}
		c->dp.back_pending |= 1ull << t;	/* cmp_flush() */
		break;
	case K_RET_HEAD:
		slots = l->ret_slots;
		old = p->back.published;
		n = cmp_rand_below(x, 2) ? old - 1 - cmp_rand_below(x, slots) :
		    old + slots + 1 + cmp_rand_below(x, 1000);
		smp_store_release(&p->back.hdr->head, cpu_to_le32(n));
		cmp_kick(c, t);
		cmp_chaos_hold(x);
		smp_store_release(&p->back.hdr->head, cpu_to_le32(old));
		break;
	case K_STATE:
		n = (u32)cmp_rand(x);
		if (cmp_rand_below(x, 2))
			n = CHAINMESH_NODE_BROKEN + 1 + cmp_rand_below(x, 4);
		smp_store_release(&c->node->state, cpu_to_le32(n));
		cmp_sleep_us(1000 + cmp_rand_below(x, 150000));
		smp_store_release(&c->node->state, cpu_to_le32(CHAINMESH_NODE_UP));
		break;
	case K_HB_STALL:
		/* Shorter or longer than the host's 1 s: flapping included;
		 * at most one stall per 5 s, or the node is never up. */
		if (cmp_now_ms() < c->hb_stall_until + 5000)
			return;
		c->hb_stall_until = cmp_now_ms() + 200 + cmp_rand_below(x, 1800);
		x->detail[k]++;
		break;
	case K_MAC:
		for (i = 0; i < 6; i++)
			WRITE_ONCE(c->node->mac[i], (u8)cmp_rand(x));
		cmp_sleep_us(cmp_rand_below(x, 20000));
		memcpy(c->node->mac, c->mac, 6);
		break;
	case K_DOORBELL:
		n = 100 + cmp_rand_below(x, 5000);
		for (i = 0; i < n && !cmp_stop; i++)
			cmp_kick(c, t);
		x->detail[k] += n;
		break;
	case K_FTABLE: {
		/* Someone else's table: a hostile kernel can write it. Make it
		 * one the target must refuse (next hop out of range), wait,
		 * then put the host's bytes back under a new sequence. */
		void *ft = cm_ftable(c->base, l, t);
		struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
		struct chainmesh_fhop *hops = cm_ftable_hops(ft), save;
		u32 seq = le32_to_cpu(READ_ONCE(h->seq)), nfl;

		if (seq & 1)
			break;
		i = cmp_rand_below(x, CHAINMESH_MAX_CHAINS);
		save = hops[i];
		nfl = le32_to_cpu(READ_ONCE(h->nflows));
		WRITE_ONCE(h->seq, cpu_to_le32(seq + 1));
		smp_wmb();
		if (cmp_rand_below(x, 2)) {
			hops[i].flags = CHAINMESH_H_VALID;
			hops[i].next = (u8)(l->p.nodes + cmp_rand_below(x, 200));
		} else {
			WRITE_ONCE(h->nflows, cpu_to_le32(l->p.max_flows + 1 +
							  cmp_rand_below(x, 1000)));
		}
		smp_wmb();
		WRITE_ONCE(h->seq, cpu_to_le32(seq + 2));
		cmp_sleep_us(5000 + cmp_rand_below(x, 50000));
		WRITE_ONCE(h->seq, cpu_to_le32(seq + 3));
		smp_wmb();
		hops[i] = save;
		WRITE_ONCE(h->nflows, cpu_to_le32(nfl));
		smp_wmb();
		WRITE_ONCE(h->seq, cpu_to_le32(seq + 4));
		break;
	}
	case K_DESC_SELF_FREE:
		/* One of the target's own buffers that it never sent us (on
		 * its free list, most likely), with the context of a chain
		 * the target is in the middle of if it has one: an XDP_TX
		 * program there would pass it on. */
		d.addr = cm_buf_addr(l, t, cmp_rand_below(x, l->p.bufs_per_node));
		d.len = 60;
		if (cmp_chaos_mid_chain(c, t, &d.chain, &d.hop))
			d.flags = CHAINMESH_D_CTX;
		cmp_chaos_desc(c, x, t, &d, k);
		break;
	case K_FT_STORM: {
		/*
		 * A foreign write (only the host writes a node's table): the
		 * target's table made as costly to copy as it may be
		 * (nflows = max_flows) and one it must refuse (a hop whose
		 * next node is out of range). Then, every millisecond of the
		 * hold (20 ms), two descriptors with a chain context no table
		 * has (hop 255), a doorbell, and the table's seq moved on:
		 * the first descriptor the target reads after each move finds
		 * a "new" table, which it copies whole before it can refuse
		 * it. Then the host's table back, unless the host wrote it
		 * meanwhile.
		 */
		void *ft = cm_ftable(c->base, l, t);
		struct chainmesh_ftable_hdr *h = cm_ftable_hdr(ft);
		struct chainmesh_fhop *hops = cm_ftable_hops(ft), save;
		u32 seq = le32_to_cpu(READ_ONCE(h->seq)), nfl, ch;
		int sp;

		if (seq & 1)
			break;
		ch = cmp_rand_below(x, CHAINMESH_MAX_CHAINS);
		save = hops[ch];
		nfl = le32_to_cpu(READ_ONCE(h->nflows));
		WRITE_ONCE(h->seq, cpu_to_le32(++seq));
		smp_wmb();
		hops[ch].flags = CHAINMESH_H_VALID;
		hops[ch].next = (u8)(l->p.nodes + 1);
		WRITE_ONCE(h->nflows, cpu_to_le32(l->p.max_flows));
		smp_wmb();
		WRITE_ONCE(h->seq, cpu_to_le32(++seq));
		a = cmp_now_ms() + (x->hold_ms ? x->hold_ms : 20);
		while (!cmp_stop && cmp_now_ms() < a) {
			sp = cm_ring_prod_space(&p->tx);
			for (i = 0; sp > 0 && i < (u32)sp && i < 2; i++) {
				d.addr = cm_buf_addr(l, c->self, cmp_chaos_buf(c, x));
				d.len = 64;
				d.flags = CHAINMESH_D_CTX;
				d.chain = (u16)cmp_rand_below(x, CHAINMESH_MAX_CHAINS);
				d.hop = 0xff;
				cmp_chaos_desc(c, x, t, &d, k);
			}
			if (le32_to_cpu(READ_ONCE(h->seq)) != seq)
				break;		/* the host wrote it */
			seq += 2;
			WRITE_ONCE(h->seq, cpu_to_le32(seq));
			cmp_flush(c);
			cmp_kick(c, t);
			cmp_sleep_us(1000);
			cmp_poll(c);	/* our buffers back */
		}
		if (le32_to_cpu(READ_ONCE(h->seq)) != seq)
			break;
		WRITE_ONCE(h->seq, cpu_to_le32(++seq));
		smp_wmb();
		hops[ch] = save;
		WRITE_ONCE(h->nflows, cpu_to_le32(nfl));
		smp_wmb();
		WRITE_ONCE(h->seq, cpu_to_le32(++seq));
		break;
	}
	case K_RING_STUCK:
		/* Heartbeat on, and our tail of the target's ring exactly one
		 * ring behind its head: "full", which a consumer may say. We
		 * still read what it sent before (so that it holds no buffer
		 * of it with us), but put the tail that says full back after
		 * each poll: once the target runs out of the space it cached,
		 * its ring to us stays full. For the hold (3 s), at most once
		 * per 15 s in a random run. Then the real tail back. */
		if (cmp_now_ms() < x->stuck_next)
			return;
		slots = l->p.ring_slots;
		a = cmp_now_ms() + (x->hold_ms ? x->hold_ms : 3000);
		x->stuck_next = a + 15000;
		while (!cmp_stop && cmp_now_ms() < a) {
			cmp_poll(c);
			n = le32_to_cpu(smp_load_acquire(&p->data.hdr->head));
			if (n - p->data.tail <= slots)
				smp_store_release(&p->data.hdr->tail,
						  cpu_to_le32(n - slots));
			x->detail[k]++;
			cmp_sleep_us(1000);
		}
		smp_store_release(&p->data.hdr->tail, cpu_to_le32(p->data.tail));
		break;
	case K_RET_FLOOD: {
		/* Garbage offsets on our return ring to the target, eight at
		 * a time, refilled as fast as it drains for the hold (100 ms),
		 * published without a doorbell: a target that cut us must
		 * neither read them nor keep polling for them (it arms our
		 * ring no more, so it leaves it full: then we only wait). */
		int sp;

		a = cmp_now_ms() + (x->hold_ms ? x->hold_ms : 100);
		while (!cmp_stop && cmp_now_ms() < a) {
			sp = cm_ring_prod_space(&p->back);
			if (sp <= 0) {
				cmp_sleep_us(1000);
				continue;
			}
			for (i = 0; i < (u32)sp && i < 8; i++) {
				cm_ring_push_addr(&p->back, cmp_rand(x));
				x->detail[k]++;
				c->forged++;
			}
			smp_store_release(&p->back.hdr->head,
					  cpu_to_le32(p->back.head));
			p->back.published = p->back.head;
		}
		break;
	}
	case K_BURST:
		cmp_chaos_burst(c, x);
		break;
	case K_VERDICT: {
		/* Only the host writes it. Broken, about the target's last
		 * life: its peers cut it, and it does not fence (a verdict
		 * on a life before this one is not its own), so only the
		 * host's writing it again brings it back. */
		struct chainmesh_node *e = cm_node(c->base, l, t);

		n = le32_to_cpu(READ_ONCE(e->epoch));
		smp_store_release(&e->verdict_epoch, cpu_to_le32(n - 1));
		smp_store_release(&e->host_state,
				  cpu_to_le32(CHAINMESH_NODE_BROKEN));
		x->detail[k]++;
		break;
	}
	case K_STATE_FLIP:
		/* For the hold (5 s): joining, up, joining... every 100 ms,
		 * each flip a change of the alive set the host must not
		 * recompile for, nor the nodes re-snapshot for, each time.
		 * Then up. */
		a = cmp_now_ms() + (x->hold_ms ? x->hold_ms : 5000);
		for (n = 0; !cmp_stop && cmp_now_ms() < a; n++) {
			smp_store_release(&c->node->state,
					  cpu_to_le32(n & 1 ? CHAINMESH_NODE_UP :
						      CHAINMESH_NODE_JOINING));
			x->detail[k]++;
			cmp_sleep_us(100000);
		}
		smp_store_release(&c->node->state, cpu_to_le32(CHAINMESH_NODE_UP));
		break;
	case K_HOARD:
		/* A sink that never returns: the senders' pools shrink. */
		c->hoard_until = cmp_now_ms() + 500 + cmp_rand_below(x, 2500);
		break;
	case __K_MAX:
		break;
	}
	x->done[k]++;
}

static int cmp_mode_chaos(struct cmp *c, struct cmp_chaos *x)
{
	enum cmp_kind kinds[__K_MAX];
	u64 end, next_report;
	u32 nk = 0, i, n, t;

	for (i = 0; i < __K_MAX; i++)
		if (x->enabled[i])
			kinds[nk++] = (enum cmp_kind)i;
	if (!x->ntargets) {
		for (n = 0; n < c->l.p.nodes; n++)
			if (n != (u32)c->self && cm_node_alive(c->base, &c->l, n))
				x->targets[x->ntargets++] = n;
	}
	for (i = 0; i < x->ntargets; i++) {
		if (x->targets[i] >= c->l.p.nodes || x->targets[i] == (u32)c->self) {
			cmp_err("target %u is not another node of this mesh",
				x->targets[i]);
			return 1;
		}
	}
	if (!nk || !x->ntargets) {
		cmp_err("nothing to do: %u kinds, %u targets", nk, x->ntargets);
		return 1;
	}
	printf("cm-peer: chaos targets");
	for (i = 0; i < x->ntargets; i++)
		printf(" %u", x->targets[i]);
	printf(", %u kinds, %d s\n", nk, x->duration);
	fflush(stdout);

	/* What we corrupt by hand stays as we wrote it: our datapath must
	 * not put our indices back (dp.h, cm_dp_reassert()). */
	WRITE_ONCE(c->dp.by_hand, true);

	end = cmp_now_ms() + (u64)x->duration * 1000;
	next_report = cmp_now_ms() + 5000;
	while (!cmp_stop && cmp_now_ms() < end) {
		t = x->targets[cmp_rand_below(x, x->ntargets)];
		cmp_chaos_one(c, x, kinds[cmp_rand_below(x, nk)], t);
		cmp_flush(c);
		cmp_poll(c);
		if (x->gap_us)
			cmp_sleep_us(x->gap_us);
		if (cmp_now_ms() >= next_report) {
			u64 total = 0;

			for (i = 0; i < __K_MAX; i++)
				total += x->done[i];
			cmp_log(c, "chaos: %llu attacks so far", total);
			next_report += 5000;
		}
	}
	/* Leave the rings as a well-behaved node would. */
	c->hb_stall_until = 0;
	smp_store_release(&c->node->state, cpu_to_le32(CHAINMESH_NODE_UP));
	memcpy(c->node->mac, c->mac, 6);
	c->hoard_until = 0;
	for (i = 0; i < 20; i++) {
		cmp_poll(c);
		cmp_sleep_us(10000);
	}
	for (i = 0; i < __K_MAX; i++)
		if (x->enabled[i])
			printf("cm-peer: chaos kind %-14s %s runs %llu"
			       " writes %llu\n", cmp_kinds[i].name,
			       cmp_kinds[i].legal ? "legal  " : "foreign", x->done[i],
			       x->detail[i]);
	printf("cm-peer: chaos done seed %llu\n", x->seed);
	fflush(stdout);
	return 0;
}

static int cmp_parse_kinds(struct cmp_chaos *x, char *arg)
{
	char *tok, *save = NULL;
	u32 i;

	memset(x->enabled, 0, sizeof(x->enabled));
	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		for (i = 0; i < __K_MAX; i++) {
			if (!strcmp(tok, "all") || !strcmp(tok, cmp_kinds[i].name) ||
			    (!strcmp(tok, "legal") && cmp_kinds[i].legal)) {
				x->enabled[i] = true;
				found = true;
			}
		}
		if (!found) {
			cmp_err("unknown chaos kind '%s' (see chaos --list)", tok);
			return -1;
		}
	}
	return 0;
}

static int cmp_parse_targets(struct cmp_chaos *x, char *arg)
{
	char *tok, *save = NULL, *end;
	unsigned long v;

	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		v = strtoul(tok, &end, 0);
		if (*end || v >= CHAINMESH_MAX_NODES || x->ntargets >= CHAINMESH_MAX_NODES)
			return -1;
		x->targets[x->ntargets++] = (u32)v;
	}
	return 0;
}

/* ------------------------------------------------------------ main */

static void cmp_usage(FILE *f)
{
	fprintf(f,
"Usage: cm-peer [-S SOCKET] [-w SECS] [-V VECTORS] [-q] MODE [OPTIONS]\n"
"\n"
"A userspace chainmesh node for tests: joins the mesh through the ivshmem\n"
"daemon's socket (default $CMLAB_DIR/ivshmem.sock) as node <peer id>.\n"
"\n"
"Modes:\n"
"  info                          layout and node table, then leave\n"
"  echo [--duration T] [--raw]   send every received frame back to its\n"
"                                sender (IPs, ports swapped, ICMP echo\n"
"                                requests answered; --raw: MACs only)\n"
"  send --to N --count C [--size S] [--src IP] [--dst IP] [--dport P]\n"
"       [--timeout T]            C IPv4/UDP frames of S bytes to node N\n"
"  chaos [--seed S] --duration T [--targets N,..] [--kinds K,..]\n"
"        [--gap US] [--hold MS] [--list]\n"
"                                seeded corruption against live peers\n");
}

static void cmp_on_signal(int sig)
{
	(void)sig;
	cmp_stop = 1;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "raw", no_argument, NULL, 'r' },
		{ "to", required_argument, NULL, 't' },
		{ "count", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "src", required_argument, NULL, 'A' },
		{ "dst", required_argument, NULL, 'B' },
		{ "dport", required_argument, NULL, 'P' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "seed", required_argument, NULL, 'e' },
		{ "targets", required_argument, NULL, 'g' },
		{ "kinds", required_argument, NULL, 'k' },
		{ "gap", required_argument, NULL, 'G' },
		{ "hold", required_argument, NULL, 'H' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cmp_send_opts so = { .to = -1, .count = 0, .size = 128,
				    .dport = 9, .timeout = 30 };
	static struct cmp_chaos x;
	static struct cmp c;
	const char *mode, *dir;
	char sock_buf[256];
	bool raw = false, seeded = false, src_set = false, dst_set = false;
	struct sigaction sa;
	int opt, ret = 1, duration = 0;
	u32 i;

	c.vectors = 1;
	c.wait_s = 30;
	dir = getenv("CMLAB_DIR");
	if (dir) {
		snprintf(sock_buf, sizeof(sock_buf), "%s/ivshmem.sock", dir);
		c.sock_path = sock_buf;
	} else {
		c.sock_path = "/tmp/chainmesh-ivshmemd.sock";
	}

	while ((opt = getopt(argc, argv, "+S:w:V:qh")) != -1) {
		switch (opt) {
		case 'S':
			c.sock_path = optarg;
			break;
		case 'w':
			c.wait_s = atoi(optarg);
			break;
		case 'V':
			c.vectors = (unsigned int)atoi(optarg);
			if (c.vectors < 1 || c.vectors > CMP_MAX_VECTORS) {
				cmp_err("-V: 1..%d", CMP_MAX_VECTORS);
				return 2;
			}
			break;
		case 'q':
			c.quiet = true;
			break;
		case 'h':
			cmp_usage(stdout);
			return 0;
		default:
			cmp_usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		cmp_usage(stderr);
		return 2;
	}
	mode = argv[optind];
	optind++;

	for (i = 0; i < __K_MAX; i++)
		x.enabled[i] = cmp_kinds[i].dflt;
	x.gap_us = 200;
	while ((opt = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			duration = atoi(optarg);
			break;
		case 'r':
			raw = true;
			break;
		case 't':
			so.to = atoi(optarg);
			break;
		case 'c':
			so.count = strtoull(optarg, NULL, 0);
			break;
		case 's':
			so.size = (u32)strtoul(optarg, NULL, 0);
			break;
		case 'A':
			if (inet_pton(AF_INET, optarg, &so.src) != 1) {
				cmp_err("--src %s: not an IPv4 address", optarg);
				return 2;
			}
			src_set = true;
			break;
		case 'B':
			if (inet_pton(AF_INET, optarg, &so.dst) != 1) {
				cmp_err("--dst %s: not an IPv4 address", optarg);
				return 2;
			}
			dst_set = true;
			break;
		case 'P':
			so.dport = (u16)atoi(optarg);
			break;
		case 'T':
			so.timeout = atoi(optarg);
			break;
		case 'e':
			x.seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'g':
			if (cmp_parse_targets(&x, optarg)) {
				cmp_err("--targets %s: node ids, comma separated", optarg);
				return 2;
			}
			break;
		case 'k':
			if (cmp_parse_kinds(&x, optarg))
				return 2;
			break;
		case 'G':
			x.gap_us = (u32)strtoul(optarg, NULL, 0);
			break;
		case 'H':
			x.hold_ms = (u32)strtoul(optarg, NULL, 0);
			break;
		case 'l':
			for (i = 0; i < __K_MAX; i++)
				printf("%-14s %s%s\n", cmp_kinds[i].name,
				       cmp_kinds[i].legal ? "legal" : "foreign",
				       cmp_kinds[i].dflt ? "" : " (not default)");
			return 0;
		case 'h':
			cmp_usage(stdout);
			return 0;
		default:
			cmp_usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		cmp_usage(stderr);
		return 2;
	}
	if (strcmp(mode, "info") && strcmp(mode, "echo") && strcmp(mode, "send") &&
	    strcmp(mode, "chaos")) {
		cmp_err("unknown mode '%s'", mode);
		cmp_usage(stderr);
		return 2;
	}
	if (!strcmp(mode, "send") && (so.to < 0 || !so.count)) {
		cmp_err("send needs --to N and --count C");
		return 2;
	}
	if (!strcmp(mode, "chaos")) {
		if (duration <= 0) {
			cmp_err("chaos needs --duration T (seconds)");
			return 2;
		}
		if (!seeded)
			x.seed = (u64)time(NULL) * 1000003u ^ (u64)getpid();
		/* First line, before anything can fail: a run can be replayed. */
		printf("cm-peer: chaos seed %llu\n", x.seed);
		fflush(stdout);
		x.rng = x.seed;
		x.duration = duration;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cmp_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cmp_attach(&c))
		goto out;
	cmp_log(&c, "peer id %u, region %llu bytes", c.self, c.size);
	if (!strcmp(mode, "info")) {
		ret = cmp_mode_info(&c);
		goto out;
	}
	if (cmp_join(&c))
		goto out;

	if (!strcmp(mode, "echo")) {
		ret = cmp_mode_echo(&c, duration, raw);
	} else if (!strcmp(mode, "send")) {
		if (!src_set)
			so.src.s_addr = htonl(0x0a000000u | c.self);
		if (!dst_set)
			so.dst.s_addr = htonl(0x0a000000u | (u32)so.to);
		ret = cmp_mode_send(&c, &so);
	} else {
		ret = cmp_mode_chaos(&c, &x);
	}
	cmp_leave(&c);
	cmp_summary(&c);
out:
	cmp_stop = 1;
	cml_close(&c.n);
	return ret;
}
