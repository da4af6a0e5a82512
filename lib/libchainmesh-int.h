/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * libchainmesh's node, for the library and for the tools that link it
 * statically and reach under its API on purpose (tools/cm-peer's chaos
 * mode writes what a hostile node would write, by hand). Not installed.
 *
 * CML_NODE_FIELDS is struct cml_node's member list, so that such a tool
 * can overlay it with an anonymous struct of the same members in a union
 * with a struct cml_node (C11: the same layout), and keep naming the
 * node's fields as its own.
 */
#ifndef _CHAINMESH_LIBCHAINMESH_INT_H
#define _CHAINMESH_LIBCHAINMESH_INT_H

#include <pthread.h>

#include <chainmesh/dp.h>
#include <chainmesh/flowlog.h>
#include <chainmesh/libchainmesh.h>

#define CML_TICK_MS	100
/* flow log increments a poll applies at most (whole batches): about
 * 0.4 ms at 100 000 flows (Documentation/performance.rst) */
#define CML_FLOG_ROUND	256
#define CML_MAX_VECTORS	64

#define CML_NODE_FIELDS \
	struct cml_config cfg; \
	int sock; \
	u32 self; \
	int own_efd; \
	int efd[CHAINMESH_MAX_NODES];	/* peers' doorbells, under @lock */ \
	pthread_mutex_t lock; \
 \
	void *base; \
	u64 size; \
	bool have_layout; \
	struct cm_layout l; \
	u32 mesh_id; \
	struct chainmesh_node *node; \
	u8 mac[6]; \
 \
	struct cm_dp dp;		/* valid while @joined */ \
	struct cm_policy pol; \
	bool joined; \
	struct cm_ftable *ft;		/* validated copy of our table */ \
	struct cm_ftable *ft_spare; \
	struct cm_flog_node flog;	/* reading our flow log */ \
	bool ft_refused; \
	u64 heartbeat; \
	u64 last_tick;			/* ms, of the poll thread's cml_tick() */ \
 \
	pthread_t tick_thread; \
	bool tick_started; \
	volatile int tick_quit; \
 \
	u64 kicks_sent; \
	u64 kicks_got; \
	u64 fences; \
	/* cm-peer chaos: no heartbeat until then (ms, monotonic); a node \
	 * that stays fenced when the host calls it down or broken */ \
	volatile u64 hb_stall_until; \
	/* attached through the PCI device: BAR0, mapped */ \
	volatile u32 *regs; \
	u64 regs_len; \
	bool no_rejoin; \
	bool allocated; \
	/* CML_F_BUSY_POLL: producers are told so (ring.h [K3]); armed \
	 * since, not asleep before @grace_until (us, monotonic) */ \
	bool busy; \
	u64 grace_until;

struct cml_node {
	CML_NODE_FIELDS
};

/* A node in caller memory (zeroed): cml_attach() without allocating. */
int cml_attach_at(struct cml_node *n, const struct cml_config *cfg);
/* Ring node @peer's doorbell. */
void cml_kick(struct cml_node *n, u32 peer);
/* The node's validated copy of its flow table, refreshed if the host
 * published another. */
const struct cm_ftable *cml_table(struct cml_node *n, bool log);

#endif /* _CHAINMESH_LIBCHAINMESH_INT_H */
