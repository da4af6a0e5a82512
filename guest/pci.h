/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The QEMU ivshmem device (1af4:1110), plain or doorbell: BAR0 registers,
 * BAR2 shared region, one MSI-X vector, the peer id and the doorbell.
 */
#ifndef _CM_PCI_H
#define _CM_PCI_H

#include <linux/io.h>
#include <linux/pci.h>

#include <chainmesh/ivshmem.h>

struct cm_ivshmem {
	struct pci_dev *pdev;
	void __iomem *regs;
	void *shm;		/* BAR2 mapped write-back: RAM, no struct page */
	u64 shm_size;
	s32 peer_id;		/* IVPosition; -1 without a server (plain) */
	int irq;		/* MSI-X vector 0, 0 when there is none */
};

/* Ring @peer's doorbell, vector 0: "look at your inbound rings". */
static inline void cm_ivshmem_kick(struct cm_ivshmem *ivs, u32 peer)
{
	writel(CM_IVSHMEM_BELL(peer, 0), ivs->regs + CM_IVSHMEM_DOORBELL);
}

extern struct pci_driver cm_pci_driver;

int cm_pci_init(void);
void cm_pci_exit(void);

#endif /* _CM_PCI_H */
