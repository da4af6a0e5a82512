// SPDX-License-Identifier: GPL-2.0
/*
 * ivshmem PCI driver: map the device, then hand it to join.c, which
 * waits for the host's layout and joins, or gives the device back when
 * no chainmesh region shows up in it (join.c's region_wait).
 */
#include <linux/chainmesh_region.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "join.h"
#include "pci.h"

struct cm_guest_pci {
	struct cm_ivshmem ivs;
	struct cm_join join;
};

/*
 * Giving a device back: device_release_driver() calls our remove(), which
 * cancels the join work synchronously, so the join work cannot call it
 * itself. A release request of its own, on a workqueue that module exit
 * drains after unregistering the driver, holds a reference to the device.
 */
static struct workqueue_struct *cm_pci_wq;

struct cm_pci_release {
	struct work_struct work;
	struct pci_dev *pdev;
};

static void cm_pci_release_work(struct work_struct *work)
{
	struct cm_pci_release *r = container_of(work, struct cm_pci_release,
						work);
	struct device *dev = &r->pdev->dev;
	struct cm_guest_pci *cp;
	bool ours;

	/* Still bound to us, and by the binding that gave up (not unbound,
	 * and not bound again since, e.g. by a write to sysfs bind). */
	device_lock(dev);
	cp = dev->driver == &cm_pci_driver.driver ? dev_get_drvdata(dev) : NULL;
	ours = cp && cp->join.gave_up;
	device_unlock(dev);
	if (ours)
		device_release_driver(dev);
	pci_dev_put(r->pdev);
	kfree(r);
}

static void cm_pci_give_up(struct cm_join *j)
{
	struct cm_pci_release *r;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r) {
		dev_err(&j->ivs->pdev->dev, "out of memory, device stays bound\n");
		return;
	}
	INIT_WORK(&r->work, cm_pci_release_work);
	r->pdev = pci_dev_get(j->ivs->pdev);
	queue_work(cm_pci_wq, &r->work);
}

static int cm_pci_map_shm(struct pci_dev *pdev, struct cm_ivshmem *ivs)
{
	resource_size_t start = pci_resource_start(pdev, CM_IVSHMEM_BAR_SHM);
	resource_size_t len = pci_resource_len(pdev, CM_IVSHMEM_BAR_SHM);
	int err;

	/* QEMU insists on a power of two; anything else is not ivshmem. */
	if (!len || !is_power_of_2(len)) {
		dev_err(&pdev->dev, "BAR2 size %pa is not a power of two\n", &len);
		return -ENODEV;
	}
	/* Managed once pcim_enable_device() ran: released on unbind. */
	err = pci_request_region(pdev, CM_IVSHMEM_BAR_SHM, KBUILD_MODNAME);
	if (err)
		return err;
	/* RAM behind a prefetchable BAR: cacheable, and memcpy is fine. */
	ivs->shm = devm_memremap(&pdev->dev, start, len, MEMREMAP_WB);
	if (IS_ERR(ivs->shm))
		return PTR_ERR(ivs->shm);
	ivs->shm_size = len;
	return 0;
}

static int cm_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct cm_ivshmem *ivs;
	struct cm_guest_pci *cp;
	int err, nvec, v;

	cp = devm_kzalloc(&pdev->dev, sizeof(*cp), GFP_KERNEL);
	if (!cp)
		return -ENOMEM;
	ivs = &cp->ivs;
	ivs->pdev = pdev;

	/* Managed: regions, mappings and MSI-X go away with the device. */
	err = pcim_enable_device(pdev);
	if (err)
		return err;
	err = pcim_iomap_regions(pdev, BIT(CM_IVSHMEM_BAR_REGS), KBUILD_MODNAME);
	if (err)
		return err;
	ivs->regs = pcim_iomap_table(pdev)[CM_IVSHMEM_BAR_REGS];
	err = cm_pci_map_shm(pdev, ivs);
	if (err)
		return err;

	/* MSI-X reaches the guest only once bus mastering is on. A vector
	 * per queue, as many as the device has (the mesh's queues are not
	 * known yet; the node uses as many as it has queues): fewer, and a
	 * vector wakes several lanes (one: all of them). */
	pci_set_master(pdev);
	nvec = pci_alloc_irq_vectors(pdev, 1, CHAINMESH_MAX_QUEUES, PCI_IRQ_MSIX);
	if (nvec < 0) {
		dev_notice(&pdev->dev,
			   "no MSI-X (ivshmem-plain?): inbound rings are polled\n");
		ivs->nirqs = 0;
	} else {
		for (v = 0; v < nvec; v++)
			ivs->irqs[v] = pci_irq_vector(pdev, v);
		ivs->nirqs = nvec;
	}
	ivs->peer_id = (s32)readl(ivs->regs + CM_IVSHMEM_IVPOSITION);

	pci_set_drvdata(pdev, cp);
	cp->join.give_up = cm_pci_give_up;
	err = cm_join_init(&cp->join, ivs);
	if (err)
		goto err_free_vectors;

	dev_info(&pdev->dev, "ivshmem region %llu KiB, peer id %d, %u doorbell vector%s\n",
		 ivs->shm_size >> 10, ivs->peer_id, ivs->nirqs,
		 ivs->nirqs == 1 ? "" : "s");
	return 0;

err_free_vectors:
	if (ivs->nirqs)
		pci_free_irq_vectors(pdev);
	pci_clear_master(pdev);
	return err;
}

static void cm_pci_remove(struct pci_dev *pdev)
{
	struct cm_guest_pci *cp = pci_get_drvdata(pdev);

	cm_join_exit(&cp->join);
	if (cp->ivs.nirqs)
		pci_free_irq_vectors(pdev);
	pci_clear_master(pdev);
}

static const struct pci_device_id cm_pci_ids[] = {
	{ PCI_DEVICE(CHAINMESH_IVSHMEM_VENDOR, CHAINMESH_IVSHMEM_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, cm_pci_ids);

struct pci_driver cm_pci_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= cm_pci_ids,
	.probe		= cm_pci_probe,
	.remove		= cm_pci_remove,
};

int cm_pci_init(void)
{
	int err;

	cm_pci_wq = alloc_workqueue("chainmesh_release", 0, 0);
	if (!cm_pci_wq)
		return -ENOMEM;
	err = pci_register_driver(&cm_pci_driver);
	if (err)
		destroy_workqueue(cm_pci_wq);
	return err;
}

void cm_pci_exit(void)
{
	/* Unbinds every device; release requests still queued find their
	 * device unbound and do nothing. */
	pci_unregister_driver(&cm_pci_driver);
	destroy_workqueue(cm_pci_wq);
}
