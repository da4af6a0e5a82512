/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * net_chainmesh, a DPDK poll-mode driver on libchainmesh: what an
 * application may use of it (Documentation/userspace.rst, "DPDK").
 *
 * A received mbuf carries its place on a chain in a dynamic field, valid
 * when the dynamic flag is set in ol_flags; transmitting an mbuf with the
 * flag set routes it by that context (chain, and the transmitting node's
 * place on it), without the flag the node's flow table classifies it.
 * Look both up by name after the port is probed:
 *
 *	off = rte_mbuf_dynfield_lookup(RTE_PMD_CHAINMESH_DYNFIELD, NULL);
 *	bit = rte_mbuf_dynflag_lookup(RTE_PMD_CHAINMESH_DYNFLAG, NULL);
 *	ctx = RTE_MBUF_DYNFIELD(m, off, struct rte_pmd_chainmesh_ctx *);
 *	has = m->ol_flags & (1ULL << bit);
 */
#ifndef _RTE_PMD_CHAINMESH_H
#define _RTE_PMD_CHAINMESH_H

#include <stdint.h>

#define RTE_PMD_CHAINMESH_DYNFIELD	"rte_net_chainmesh_dynfield_ctx"
#define RTE_PMD_CHAINMESH_DYNFLAG	"rte_net_chainmesh_dynflag_ctx"

struct rte_pmd_chainmesh_ctx {
	uint16_t chain;		/* the chain's id */
	uint8_t hop;		/* this node's place on it */
	uint8_t pad;
};

#endif /* _RTE_PMD_CHAINMESH_H */
