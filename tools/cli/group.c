// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh chain: replica groups, written `{1 2}` among a chain's hops
 * (Documentation/operations.rst, "Replica groups"): parsing them, and
 * printing them for `chain show`, JSON and `chainmesh save`.
 */
#include <string.h>

#include "chainmesh.h"
#include "json.h"

const char *cm_policy_name(uint32_t policy)
{
	switch (policy) {
	case CHAINMESH_POLICY_BYPASS:
		return "bypass";
	case CHAINMESH_POLICY_FAILOVER:
		return "failover";
	default:
		return "drop";
	}
}

int cm_policy_parse(const char *arg)
{
	if (arg && !strcmp(arg, "drop"))
		return CHAINMESH_POLICY_DROP;
	if (arg && !strcmp(arg, "bypass"))
		return CHAINMESH_POLICY_BYPASS;
	if (arg && !strcmp(arg, "failover"))
		return CHAINMESH_POLICY_FAILOVER;
	return -1;
}

/* A word of the hops: a node id, `{` and `}` around a group, alone or
 * stuck to an id ("{1", "2}"). */
static bool hop_word(const char *w)
{
	return (w[0] >= '0' && w[0] <= '9') || w[0] == '{' || w[0] == '}';
}

/*
 * cm_hops_parse - the words after `hops`: node ids, a replica group in
 * braces. Fills @hops, returns their number, sets bit j of @grp for each
 * position j that continues the group of position j - 1.
 */
unsigned int cm_hops_parse(struct cm_cmd *c, uint8_t *hops, uint64_t *grp)
{
	unsigned int n = 0, start = 0;
	bool in = false;
	char word[16];

	*grp = 0;
	while (c->argc && hop_word(c->argv[0])) {
		char *w = word, *end;
		size_t len;

		snprintf(word, sizeof(word), "%s", next_arg(c));
		if (*w == '{') {
			if (in)
				usage_fail("chain", "hops: '{' inside a group");
			in = true;
			start = n;
			w++;
		}
		len = strlen(w);
		end = len && w[len - 1] == '}' ? &w[len - 1] : NULL;
		if (end)
			*end = '\0';
		if (*w) {
			if (n == CHAINMESH_MAX_NODES)
				usage_fail("chain", "hops: at most %d nodes",
					   CHAINMESH_MAX_NODES);
			if (in && n > start)
				*grp |= 1ull << n;
			hops[n++] = parse_ulong("chain", "hops", w, 255);
		}
		if (end) {
			if (!in || n == start)
				usage_fail("chain", "hops: '}' closes no group");
			if (n - start > CHAINMESH_GROUP_MAX)
				usage_fail("chain", "hops: a group has at most %d replicas",
					   CHAINMESH_GROUP_MAX);
			in = false;
		}
	}
	if (in)
		usage_fail("chain", "hops: '{' without '}'");
	return n;
}

/* Position j continues the group of position j - 1. */
static bool cont(uint64_t grp, unsigned int j)
{
	return j && j < 64 && (grp >> j & 1);
}

/* The hops as `chain add` takes them: "0 {1 2} 3". */
void cm_hops_print(FILE *f, const uint8_t *h, unsigned int n, uint64_t grp)
{
	unsigned int j;

	for (j = 0; j < n; j++) {
		bool first = !cont(grp, j) && cont(grp, j + 1);
		bool last = cont(grp, j) && !cont(grp, j + 1);

		fprintf(f, " %s%u%s", first ? "{" : "", h[j], last ? "}" : "");
	}
}

/*
 * The groups: text, one line each, "  group hop H members A B live A";
 * JSON, "groups": [{"hop": H, "members": [...], "live": [...]}].
 */
void cm_groups_print(const uint8_t *h, unsigned int n, uint64_t grp,
		     uint64_t live)
{
	unsigned int j, e, k, hop = 0;

	if (!grp)
		return;
	if (json)
		j_open("groups", '[');
	for (j = 0; j < n; j = e, hop++) {
		for (e = j + 1; e < n && cont(grp, e); e++)
			;
		if (e - j < 2)
			continue;
		if (json) {
			j_open(NULL, '{');
			j_uint("hop", hop);
			j_open("members", '[');
			for (k = j; k < e; k++)
				j_uint(NULL, h[k]);
			j_close(']');
			j_open("live", '[');
			for (k = j; k < e; k++)
				if (live >> k & 1)
					j_uint(NULL, h[k]);
			j_close(']');
			j_close('}');
			continue;
		}
		printf("    group hop %u members", hop);
		for (k = j; k < e; k++)
			printf(" %u", h[k]);
		printf(" live");
		for (k = j; k < e; k++)
			if (live >> k & 1)
				printf(" %u", h[k]);
		printf("\n");
	}
	if (json)
		j_close(']');
}
