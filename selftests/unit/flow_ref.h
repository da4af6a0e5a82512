/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reference lookup the tests compare the indexed one against: a scan
 * of a table in any order (one edited by increments is not sorted), the
 * lowest rank that matches. Shared by test_flow and fuzz_flowlog.
 */
#ifndef _CM_TEST_FLOW_REF_H
#define _CM_TEST_FLOW_REF_H

#include <chainmesh/flow.h>

static inline const struct chainmesh_flow *
cm_ref_rank(const struct cm_ftable *t, const struct cm_flow_key *k)
{
	const struct chainmesh_flow *best = NULL;
	u32 i;

	for (i = 0; i < t->nflows; i++)
		if (cm_flow_match(&t->flows[i], k) &&
		    (!best || cm_flow_rank(&t->flows[i]) < cm_flow_rank(best)))
			best = &t->flows[i];
	return best;
}

#endif /* _CM_TEST_FLOW_REF_H */
