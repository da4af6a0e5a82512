/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared bits of the libFuzzer targets: the shared headers compiled for
 * userspace, a byte reader over the fuzzer's input, and an assertion that
 * stops the fuzzer (libFuzzer reports it as a crash, with the input).
 */
#ifndef _CM_FUZZ_H
#define _CM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <chainmesh/layout.h>
#include <chainmesh/ring.h>
#include <chainmesh/flow.h>

#define FZ_ASSERT(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: invariant broken: %s\n",	\
			__FILE__, __LINE__, #c);			\
		abort();						\
	}								\
} while (0)

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = *f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	return (uint16_t)(fz_u8(f) | fz_u8(f) << 8);
}

static inline uint32_t fz_u32(struct fz *f)
{
	return (uint32_t)fz_u16(f) | (uint32_t)fz_u16(f) << 16;
}

static inline uint64_t fz_u64(struct fz *f)
{
	return (uint64_t)fz_u32(f) | (uint64_t)fz_u32(f) << 32;
}

/* Copy up to @len input bytes into @dst, zero the rest. */
static inline void fz_fill(struct fz *f, void *dst, size_t len)
{
	size_t k = f->n < len ? f->n : len;

	memcpy(dst, f->p, k);
	memset((uint8_t *)dst + k, 0, len - k);
	f->p += k;
	f->n -= k;
}

/* A small valid layout from 5 input bytes (sizes kept small: fast). */
static inline int fz_layout(struct fz *f, struct cm_layout *l)
{
	struct cm_layout_params p = {
		.nodes = 2 + fz_u8(f) % 7,
		.ring_slots = 8u << (fz_u8(f) % 4),
		.buf_size = 1024u << (fz_u8(f) % 3),
		.bufs_per_node = 1 + fz_u8(f) % 64,
		.max_flows = 1 + fz_u8(f) % 16,
	};

	return cm_layout_compute(&p, UINT64_MAX, l);
}

#endif /* _CM_FUZZ_H */
