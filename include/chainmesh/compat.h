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
#endif /* __KERNEL__ */

#endif /* _CHAINMESH_COMPAT_H */
