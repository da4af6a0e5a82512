/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The QEMU ivshmem device (1af4:1110), plain or doorbell, as both modules
 * and userspace nodes (sysfs resource0/resource2) drive it: BAR0
 * registers, BAR2 the shared region (QEMU docs/specs/ivshmem-spec.rst).
 */
#ifndef _CHAINMESH_IVSHMEM_H
#define _CHAINMESH_IVSHMEM_H

#define CM_IVSHMEM_BAR_REGS	0
#define CM_IVSHMEM_BAR_SHM	2

/* BAR0 registers, 32 bits each */
#define CM_IVSHMEM_INTRMASK	0x00
#define CM_IVSHMEM_INTRSTATUS	0x04
#define CM_IVSHMEM_IVPOSITION	0x08	/* our peer id; -1 without a server */
#define CM_IVSHMEM_DOORBELL	0x0c	/* write (peer << 16) | vector */

/* The doorbell word that rings @peer's vector @vector. */
#define CM_IVSHMEM_BELL(peer, vector)	((u32)(peer) << 16 | (vector))

#endif /* _CHAINMESH_IVSHMEM_H */
