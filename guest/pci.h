/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The QEMU ivshmem device (1af4:1110), plain or doorbell: BAR0 registers,
 * BAR2 shared region, MSI-X vectors (one per queue of the mesh, as many
 * as the device has), the peer id and the doorbell.
 */
#ifndef _CM_PCI_H
#define _CM_PCI_H

#include <linux/io.h>
#include <linux/pci.h>

#include <linux/chainmesh_region.h>

#include <chainmesh/ivshmem.h>

struct cm_ivshmem {
	struct pci_dev *pdev;
	void __iomem *regs;
	void *shm;		/* BAR2 mapped write-back: RAM, no struct page */
	u64 shm_size;
	s32 peer_id;		/* IVPosition; -1 without a server (plain) */
	int irqs[CHAINMESH_MAX_QUEUES];	/* MSI-X vector v's */
	u32 nirqs;		/* 0: no MSI-X */
};

/* Ring @peer's doorbell @vector: "look at the rings it stands for". */
static inline void cm_ivshmem_kick(struct cm_ivshmem *ivs, u32 peer,
				   u32 vector)
{
	writel(CM_IVSHMEM_BELL(peer, vector), ivs->regs + CM_IVSHMEM_DOORBELL);
}

extern struct pci_driver cm_pci_driver;

int cm_pci_init(void);
void cm_pci_exit(void);

#endif /* _CM_PCI_H */
