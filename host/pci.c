// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh host, lab backing: the region is BAR2 of a QEMU ivshmem device
 * and we are ivshmem peer 0. We lay the region out and create the mesh; the
 * guests poll the header until its magic appears.
 *
 * BAR2 is RAM behind a prefetchable BAR: map it write-back. It has no
 * struct page, so it is only ever touched through this mapping.
 */
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/string.h>

#include "mesh.h"
#include "pci.h"

#define CM_IVSHMEM_BAR_REGS	0
#define CM_IVSHMEM_BAR_SHM	2
#define CM_IVSHMEM_IVPOSITION	8	/* BAR0: our peer id */

static struct cm_layout_params cm_pci_params;
static char cm_pci_mesh_name[CHAINMESH_NAME_LEN];

/* The host epoch is bumped on each layout; a region that survived our
 * last load (the daemon keeps it) tells us where it stood. */
static u64 cm_pci_next_epoch(const struct chainmesh_region_hdr *h)
{
	if (le32_to_cpu(READ_ONCE(h->magic)) != CHAINMESH_MAGIC)
		return 1;
	return le64_to_cpu(READ_ONCE(h->host_epoch)) + 1;
}

static int cm_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct chainmesh_region_hdr *hdr;
	resource_size_t size;
	struct cm_layout l;
	struct cm_mesh *m;
	void __iomem *regs;
	u32 pos, mesh_id;
	void *base;
	u64 epoch;
	int err;

	/* Everything below is device-managed: released on failure and after
	 * remove, in reverse order. */
	err = pcim_enable_device(pdev);
	if (err)
		return dev_err_probe(dev, err, "cannot enable device\n");

	err = pcim_iomap_regions(pdev, BIT(CM_IVSHMEM_BAR_REGS), KBUILD_MODNAME);
	if (err)
		return dev_err_probe(dev, err, "cannot map BAR0\n");
	regs = pcim_iomap_table(pdev)[CM_IVSHMEM_BAR_REGS];

	pos = readl(regs + CM_IVSHMEM_IVPOSITION);
	if (pos != 0) {
		dev_err(dev, "ivshmem peer id %u: the host must be peer 0\n", pos);
		return -ENODEV;
	}

	if (!(pci_resource_flags(pdev, CM_IVSHMEM_BAR_SHM) & IORESOURCE_MEM))
		return dev_err_probe(dev, -ENODEV, "BAR2 is not memory\n");
	size = pci_resource_len(pdev, CM_IVSHMEM_BAR_SHM);
	if (!is_power_of_2(size))
		return dev_err_probe(dev, -EINVAL, "BAR2 size %pa is not a power of two\n",
				     &size);

	err = pci_request_region(pdev, CM_IVSHMEM_BAR_SHM, KBUILD_MODNAME);
	if (err)
		return dev_err_probe(dev, err, "cannot request BAR2\n");
	base = devm_memremap(dev, pci_resource_start(pdev, CM_IVSHMEM_BAR_SHM),
			     size, MEMREMAP_WB);
	if (IS_ERR(base))
		return dev_err_probe(dev, PTR_ERR(base), "cannot map BAR2\n");
	hdr = base;

	err = cm_layout_compute(&cm_pci_params, size, &l);
	if (err == -E2BIG)
		return dev_err_probe(dev, err, "layout needs %llu bytes, BAR2 has %pa\n",
				     l.size, &size);
	if (err)
		return dev_err_probe(dev, err, "bad layout parameters\n");

	epoch = cm_pci_next_epoch(hdr);
	mesh_id = get_random_u32();
	memset(base, 0, size);
	cm_layout_to_hdr(&l, size, mesh_id, epoch, hdr);

	m = cm_mesh_create(cm_pci_mesh_name, base, size, &l, mesh_id);
	if (IS_ERR(m))
		return dev_err_probe(dev, PTR_ERR(m), "cannot create mesh %s\n",
				     cm_pci_mesh_name);
	pci_set_drvdata(pdev, m);

	/* Nodes follow the header once they see magic: everything above is
	 * written first. Pairs with the nodes' load-acquire of magic. */
	smp_store_release(&hdr->magic, cpu_to_le32(CHAINMESH_MAGIC));

	dev_info(dev, "mesh %s: %u nodes, %llu of %pa bytes, mesh id %08x, epoch %llu\n",
		 m->name, l.p.nodes, l.size, &size, mesh_id, epoch);
	return 0;
}

static void cm_pci_remove(struct pci_dev *pdev)
{
	struct cm_mesh *m = pci_get_drvdata(pdev);
	struct chainmesh_region_hdr *hdr = m->base;

	cm_mesh_destroy(m);
	/* The layout is gone: nodes polling magic stop following it. */
	smp_store_release(&hdr->magic, 0);
}

static const struct pci_device_id cm_pci_ids[] = {
	{ PCI_DEVICE(CHAINMESH_IVSHMEM_VENDOR, CHAINMESH_IVSHMEM_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, cm_pci_ids);

static struct pci_driver cm_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = cm_pci_ids,
	.probe = cm_pci_probe,
	.remove = cm_pci_remove,
};

int cm_pci_init(const struct cm_layout_params *p, const char *mesh_name)
{
	cm_pci_params = *p;
	strscpy(cm_pci_mesh_name, mesh_name, sizeof(cm_pci_mesh_name));
	return pci_register_driver(&cm_pci_driver);
}

void cm_pci_exit(void)
{
	pci_unregister_driver(&cm_pci_driver);
}
