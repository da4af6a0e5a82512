/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The few kernel primitives the shared accessors use, mapped onto C11
 * atomics and glibc when the headers are compiled in userspace (unit tests,
 * benchmarks, the test peer). In the kernel they are the real thing.
 */
#ifndef _CHAINMESH_COMPAT_H
#define _CHAINMESH_COMPAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/log2.h>
#include <linux/prefetch.h>
#include <asm/barrier.h>
#include <asm/byteorder.h>
#else
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <endian.h>
#include <linux/types.h>

typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;

#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#if defined(__x86_64__)
/* As the kernel's x86-64 smp_mb() (a locked add orders like mfence for
 * ordinary memory and costs less), below the red zone as in tools/: the
 * benchmarks then price the kernel's barrier, not a dearer one. */
#define smp_mb()		__asm__ __volatile__("lock; addl $0,-132(%%rsp)" \
						     ::: "memory", "cc")
#else
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)
/* As the kernel's: a full barrier on either side. */
#define xchg(p, v)		__atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define prefetch(x)		__builtin_prefetch(x)

#define ____cacheline_aligned_in_smp	__attribute__((__aligned__(64)))

#define GFP_KERNEL		0
#define kvmalloc(size, gfp)	malloc(size)
#define kvcalloc(n, size, gfp)	calloc((n), (size))
#define kvfree(p)		free(p)

#define cpu_to_le16(x)	((__le16)htole16(x))
#define cpu_to_le32(x)	((__le32)htole32(x))
#define cpu_to_le64(x)	((__le64)htole64(x))
#define le16_to_cpu(x)	le16toh((uint16_t)(x))
#define le32_to_cpu(x)	le32toh((uint32_t)(x))
#define le64_to_cpu(x)	le64toh((uint64_t)(x))
#define cpu_to_be16(x)	((__be16)htobe16(x))
#define cpu_to_be32(x)	((__be32)htobe32(x))
#define be16_to_cpu(x)	be16toh((uint16_t)(x))
#define be32_to_cpu(x)	be32toh((uint32_t)(x))

#ifndef __force
#define __force
#endif

#ifndef __always_inline
#define __always_inline	inline __attribute__((__always_inline__))
#endif

#ifndef likely
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#endif

static inline bool is_power_of_2(unsigned long n)
{
	return n != 0 && (n & (n - 1)) == 0;
}

/* The kernel's bitmaps and atomic bitops, for the node's peer sets. */
#define BITS_PER_LONG		64
#define BITS_TO_LONGS(n)	(((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define DECLARE_BITMAP(name, bits)	unsigned long name[BITS_TO_LONGS(bits)]
#define CM_BIT_WORD(nr)		((nr) / BITS_PER_LONG)
#define CM_BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))

static inline bool test_bit(unsigned int nr, const unsigned long *a)
{
	return __atomic_load_n(&a[CM_BIT_WORD(nr)], __ATOMIC_RELAXED) &
	       CM_BIT_MASK(nr);
}

static inline void set_bit(unsigned int nr, unsigned long *a)
{
	__atomic_fetch_or(&a[CM_BIT_WORD(nr)], CM_BIT_MASK(nr),
			  __ATOMIC_SEQ_CST);
}

static inline void clear_bit(unsigned int nr, unsigned long *a)
{
	__atomic_fetch_and(&a[CM_BIT_WORD(nr)], ~CM_BIT_MASK(nr),
			   __ATOMIC_SEQ_CST);
}

static inline bool test_and_clear_bit(unsigned int nr, unsigned long *a)
{
	return __atomic_fetch_and(&a[CM_BIT_WORD(nr)], ~CM_BIT_MASK(nr),
				  __ATOMIC_SEQ_CST) & CM_BIT_MASK(nr);
}

static inline void __set_bit(unsigned int nr, unsigned long *a)
{
	a[CM_BIT_WORD(nr)] |= CM_BIT_MASK(nr);
}

static inline void __clear_bit(unsigned int nr, unsigned long *a)
{
	a[CM_BIT_WORD(nr)] &= ~CM_BIT_MASK(nr);
}

static inline bool bitmap_empty(const unsigned long *a, unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < BITS_TO_LONGS(bits); i++)
		if (__atomic_load_n(&a[i], __ATOMIC_RELAXED))
			return false;
	return true;
}

#define smp_mb__before_atomic()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_mb__after_atomic()	__atomic_thread_fence(__ATOMIC_SEQ_CST)

/* jiffies at HZ 1000, from the monotonic clock. */
#include <time.h>
#define HZ			1000
static inline unsigned long cm_jiffies(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
#define jiffies			cm_jiffies()
#define msecs_to_jiffies(ms)	((unsigned long)(ms))
#define time_after(a, b)	((long)((b) - (a)) < 0)
#define time_after_eq(a, b)	((long)((a) - (b)) >= 0)
#endif /* __KERNEL__ */

/* Next set bit of a node set (bit n: node n), or 64. */
static inline unsigned int cm_set_next(u64 set)
{
	return set ? (unsigned int)__builtin_ctzll(set) : 64;
}

#define cm_for_each_node(n, set)					\
	for (u64 __s = (set); ((n) = cm_set_next(__s)) < 64;		\
	     __s &= __s - 1)

#endif /* _CHAINMESH_COMPAT_H */
