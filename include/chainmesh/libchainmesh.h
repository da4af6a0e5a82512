/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libchainmesh: a userspace program as a node of a chainmesh mesh.
 *
 * The node runs the datapath every chainmesh node runs
 * (include/chainmesh/dp.h: the same validation, quotas, judgments and
 * loop as chainmesh.ko and node 0); this library only says where the
 * region comes from (the ivshmem daemon's unix socket, as QEMU gets it),
 * how a doorbell rings (a write to the peer's eventfd) and what becomes of
 * a frame that reaches the node (it is handed to the program).
 *
 * A node is used from one thread (its "poll thread": rx_burst, forward,
 * release, send, flush, wait), plus its tick, which runs every 100 ms
 * either in a helper thread (CML_F_TICK_THREAD) or from cml_tick() called
 * by that same poll thread. Documentation/userspace.rst walks through a
 * network function.
 *
 * Zero copy: a received buffer (struct cml_buf) points into the shared
 * region. It is the program's until it passes it on (cml_forward(): the
 * same buffer to the next node of its chain, as XDP_TX does) or gives it
 * back (cml_release()): exactly one of the two, once. Peers are not
 * trusted with its contents: a frame may change under the program while
 * it reads it (as under an XDP program); copy what must not.
 *
 * Errors are negative errno values; functions that move frames return
 * how many they moved.
 */
#ifndef _CHAINMESH_LIBCHAINMESH_H
#define _CHAINMESH_LIBCHAINMESH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CML_VERSION_MAJOR	0
#define CML_VERSION_MINOR	1

struct cml_node;

/* cml_config.flags */
#define CML_F_TICK_THREAD	(1u << 0) /* tick from a helper thread */
#define CML_F_NO_LAYOUT		(1u << 1) /* attach: do not wait for a
					   * layout (whoever lays the region
					   * out itself: chainmesh-mesh) */
#define CML_F_QUIET		(1u << 2) /* no log lines on stderr */
#define CML_F_BUSY_POLL		(1u << 3) /* the program polls without
					   * sleeping: producers skip the
					   * doorbell decision's barrier
					   * (ring.h [K3]); cml_wait() then
					   * polls on 1 ms before it sleeps */

#define CML_NEVER	(~0u)

struct cml_config {
	const char *socket;	/* the daemon's unix socket, or: */
	const char *pci;	/* inside a guest, the ivshmem-doorbell
				 * device's sysfs directory (with resource0
				 * and resource2): polling mode, no driver */
	unsigned int vectors;	/* doorbell vectors per peer: the daemon's
				 * -n (0: 1) */
	int wait_ms;		/* for the layout; 0: 30 s, < 0: for ever */
	unsigned int flags;	/* CML_F_* */
	/* Policy (0: the kernel node's defaults, dp.h). */
	unsigned int bad_limit;	/* bad inputs within bad_window_ms that
				 * judge a peer broken; CML_NEVER: never */
	unsigned int bad_window_ms;
	unsigned int peer_share; /* percent of our pool one next hop holds */
};

/* A received frame, or one to forward. */
struct cml_buf {
	uint8_t *data;		/* the frame, in the shared region */
	uint32_t len;		/* bytes at @data */
	uint64_t offset;	/* of the buffer in the region: the same at
				 * every hop of a zero-copy chain */
	uint32_t from;		/* node that sent it */
	uint32_t owner;		/* node whose pool it is from */
	uint16_t chain;		/* chain context, when @has_ctx */
	uint8_t hop;		/* this node's place on @chain */
	bool has_ctx;
	/* the library's */
	uint32_t idx_;
	uint16_t data_off_;
};

/* Counters, from the node's datapath (dp.h). */
struct cml_stats {
	uint64_t rx_packets, rx_bytes;		/* delivered to the program */
	uint64_t tx_packets, tx_bytes;		/* cml_send()s that went */
	uint64_t forwarded;			/* cml_forward(): zero copy */
	uint64_t forward_drops;			/* no hop, peer down, full */
	uint64_t tx_drops;			/* cml_send() dropped */
	uint64_t tx_busy;			/* cml_send(): no room yet,
						 * -EAGAIN or -ENOBUFS */
	uint64_t rx_drops;			/* CM_RX_DROP_* */
	uint64_t bad;				/* bad descriptors and returns */
	/* of those, per reason (as `ethtool -S` rx_bad_*) */
	uint64_t bad_addr, bad_align, bad_owner, bad_len, bad_index;
	uint64_t bad_chain, bad_return;
	uint64_t judged;			/* peers judged broken */
	uint64_t reclaimed;			/* ours back from the dead */
	uint64_t kicks_sent, kicks_got;
	uint32_t pool_free, pool_size;		/* our buffers at home */
	uint64_t fences;			/* rejoined after the host's
						 * DOWN/BROKEN verdict */
};

/*
 * cml_attach - connect to the daemon at cfg->socket, take a peer id (the
 * node id), map the region and, unless CML_F_NO_LAYOUT, wait for a valid
 * layout (magic, then the header checked against its own parameters).
 *
 * With cfg->pci instead (inside a guest, as root): map the device's BAR2
 * (resource2: the region) and BAR0 (resource0: the registers), take the
 * node id from IVPosition, ring peers through the Doorbell register. No
 * interrupt reaches userspace: the node polls (cml_wait() sleeps at most
 * a millisecond, and asks no peer for a doorbell).
 */
int cml_attach(const struct cml_config *cfg, struct cml_node **np);

/* The layout, once the region holds one (after CML_F_NO_LAYOUT). */
int cml_wait_layout(struct cml_node *n, int wait_ms);

/* Join the mesh: a new epoch on empty rings, state UP; starts the tick
 * thread with CML_F_TICK_THREAD. */
int cml_join(struct cml_node *n);

/* The tick, every ~100 ms, when there is no tick thread: heartbeat, peers
 * that died or came back, quotas, counters into the region, the daemon's
 * news. Return: 0. */
int cml_tick(struct cml_node *n);

/* Send home what is queued to us, publish final counters, state ABSENT. */
void cml_leave(struct cml_node *n);

/* Leave (if joined), unmap, close everything, free @n. */
void cml_close(struct cml_node *n);

/*
 * cml_rx_burst - poll once, as NAPI does: our buffers back, peer changes,
 * then up to @max frames from the data rings, validated, into @bufs.
 * Return: frames received (each to cml_forward() or cml_release()).
 */
int cml_rx_burst(struct cml_node *n, struct cml_buf *bufs, int max);

/*
 * cml_forward - pass received buffers on, zero copy, to the next node of
 * their chain (by their context; a frame without context, or whose
 * context this node's table no longer has, is classified), in order. A
 * buffer with nowhere to go (no flow, no next hop, next node down) is
 * given back and counted (forward_drops). A full ring to the next node
 * (or a next node holding its share of our pool) stops the burst: the
 * buffers from there on are still the program's, to forward again once
 * the next node made room (cml_wait()) or to release. A next node that
 * is stuck (its ring full and standing still for 2 s) does not stop it:
 * its buffers are dropped, as the kernel node drops them.
 * Published by cml_flush().
 * Return: buffers consumed from the front of @bufs (forwarded or given
 * back).
 */
int cml_forward(struct cml_node *n, struct cml_buf *bufs, int count);

/* Give received buffers back to their owners (end of their journey). */
void cml_release(struct cml_node *n, struct cml_buf *bufs, int count);

/* A frame's place on a chain, for cml_send(). */
struct cml_ctx {
	uint16_t chain;
	uint8_t hop;		/* the SENDER's place on @chain */
};

/*
 * cml_send - copy frame @frame of @len bytes into a buffer of our pool
 * and queue it to the next node: of chain @ctx when given and this node
 * is on it at that place, else as this node's flow table classifies it.
 * Published by cml_flush().
 * Return: 0; no room yet, not a drop (tx_busy): -ENOBUFS (our pool is
 * empty, or the next node holds its share of it) or -EAGAIN (its ring is
 * full): flush, wait (cml_wait()), try again; dropped (tx_drops): -ENOENT
 * (no flow, no next hop), -EHOSTDOWN (next node not up, or we are
 * fenced), -EMSGSIZE (length).
 */
int cml_send(struct cml_node *n, const void *frame, uint32_t len,
	     const struct cml_ctx *ctx);

/* cml_send() straight to node @peer, no chain context: the receiver
 * classifies it (tests, a node's own traffic). */
int cml_send_to(struct cml_node *n, uint32_t peer, const void *frame,
		uint32_t len);

/* Publish what was queued (forwarded, sent, given back) and ring the
 * peers that asked for a doorbell. */
void cml_flush(struct cml_node *n);

/*
 * cml_wait - nothing to do: ask every producer for a doorbell, then sleep
 * on ours until one rings or @timeout_ms (< 0: for ever), unless something
 * arrived meanwhile (the kick suppression's double check, ring.h [K2]).
 * Without a tick thread it sleeps no longer than until the next tick;
 * attached through the PCI device (no doorbell reaches us) at most 1 ms,
 * without arming. With CML_F_BUSY_POLL, the first cml_wait() after frames
 * came arms and returns 1 at once, and so do those of the next
 * millisecond (CHAINMESH_POLL_GRACE_US: producers that saw the node busy
 * polling rang no doorbell); then it sleeps as above.
 * Return: 1 when there is work (a doorbell rang, or entries came before
 * it could sleep), 0 when it timed out.
 */
int cml_wait(struct cml_node *n, int timeout_ms);

/* The doorbell eventfd, for a program's own poll(2)/epoll (POLLIN: read
 * 8 bytes, then cml_rx_burst()); arm first: cml_arm() returns true when
 * there is work already (or, with CML_F_BUSY_POLL, within the grace after
 * busy polling: poll again). -1 when attached through the PCI device. */
int cml_fd(const struct cml_node *n);
bool cml_arm(struct cml_node *n);

uint32_t cml_node_id(const struct cml_node *n);
uint32_t cml_nodes(const struct cml_node *n);
uint32_t cml_buf_size(const struct cml_node *n);	/* largest frame */
const uint8_t *cml_mac(const struct cml_node *n, uint32_t node);
/* Is node @peer up, as this node sees it? */
bool cml_peer_up(const struct cml_node *n, uint32_t peer);
/* The region (for chainmesh-mesh and tests): base, and its size. */
void *cml_region(const struct cml_node *n, uint64_t *size);
void cml_get_stats(const struct cml_node *n, struct cml_stats *s);

/*
 * The node's carrier, as a kernel node's: joined, its state UP, and the
 * host has not called it down or broken (fenced).
 */
bool cml_link_up(const struct cml_node *n);

/* A received buffer whole (for a program that wraps it, as a DPDK mbuf's
 * external buffer): it starts at region offset cml_buf::offset and is
 * this many bytes long (headroom and the largest frame). */
uint32_t cml_buf_room(const struct cml_node *n);
/* The most buffers the node can hold at once: every pool's. */
uint32_t cml_bufs_max(const struct cml_node *n);

/*
 * Every counter of the node's datapath, named as `ethtool -S` names a
 * kernel node's (include/chainmesh/stat_names.h): cml_xstat_names() fills
 * up to @max names, cml_xstats() up to @max values in the same order.
 * Return: how many there are (more than @max: call again with room).
 */
#define CML_XSTAT_NAME_LEN	32
int cml_xstat_names(const struct cml_node *n,
		    char (*names)[CML_XSTAT_NAME_LEN], unsigned int max);
int cml_xstats(const struct cml_node *n, uint64_t *values, unsigned int max);

#ifdef __cplusplus
}
#endif

#endif /* _CHAINMESH_LIBCHAINMESH_H */
