// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh host, lab backing: the region is BAR2 of a QEMU ivshmem device
 * and we are ivshmem peer 0. The mesh lays the region out; the guests poll
 * the header until its magic appears. Node 0's doorbell is the device's
 * MSI-X vectors, one per queue (fewer: a vector wakes several lanes);
 * we ring peer j's vector v at BAR0 + 12.
 *
 * BAR2 is RAM behind a prefetchable BAR: map it write-back. It has no
 * struct page, so it is only ever touched through this mapping.
 *
 * Opt-in (module parameter lab_ivshmem, main.c): a KVM host has no
 * ivshmem device, and a guest's ivshmem devices are chainmesh.ko's (or
 * someone else's). So the driver is registered only when asked, and the
 * module carries no PCI alias: udev never loads it for an ivshmem device.
 */
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>

#include <chainmesh/ivshmem.h>

#include "../node/ndev.h"
#include "mesh.h"
#include "pci.h"


static struct cm_layout_params cm_pci_params;
static char cm_pci_mesh_name[CHAINMESH_NAME_LEN];

struct cm_pci;

struct cm_pci_vec {
	struct cm_pci *cp;
	u32 v;
	bool on;		/* requested */
};

struct cm_pci {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct cm_mesh *m;
	u32 nvec;		/* MSI-X vectors, 0 without */
	struct cm_pci_vec vec[CHAINMESH_MAX_QUEUES];
};

/* Ring @peer's @vector: "look at the rings it stands for". */
static void cm_pci_kick(struct cm_mesh *m, u32 peer, u32 vector)
{
	struct cm_pci *cp = m->priv;

	writel(CM_IVSHMEM_BELL(peer, vector), cp->regs + CM_IVSHMEM_DOORBELL);
}

static irqreturn_t cm_pci_irq(int irq, void *data)
{
	struct cm_pci_vec *vec = data;

	cm_node_kicked_vector(vec->cp->m->nd, vec->v);
	return IRQ_HANDLED;
}

static void cm_pci_free_vectors(struct cm_pci *cp)
{
	u32 v;

	for (v = 0; v < cp->nvec; v++) {
		int irq = pci_irq_vector(cp->pdev, v);

		if (!cp->vec[v].on)
			continue;
		irq_set_affinity_hint(irq, NULL);
		free_irq(irq, &cp->vec[v]);
		cp->vec[v].on = false;
	}
}

static void cm_pci_quiesce(struct cm_mesh *m)
{
	struct cm_pci *cp = m->priv;

	cm_node_set_vectors(m->nd, 0);
	cm_pci_free_vectors(cp);
}

/* Node 0's vectors, each affine to a CPU of its own, up to its queues. */
static int cm_pci_request_vectors(struct cm_pci *cp)
{
	struct cm_mesh *m = cp->m;
	u32 n = min(cp->nvec, m->l.p.queues), v;
	int irq, err;

	for (v = 0; v < n; v++) {
		irq = pci_irq_vector(cp->pdev, v);
		cp->vec[v].cp = cp;
		cp->vec[v].v = v;
		err = request_irq(irq, cm_pci_irq, 0, KBUILD_MODNAME, &cp->vec[v]);
		if (err) {
			dev_err(&cp->pdev->dev, "cannot request doorbell vector %u: %d\n",
				v, err);
			cm_pci_free_vectors(cp);
			return err;
		}
		cp->vec[v].on = true;
		irq_set_affinity_hint(irq, cpumask_of(cpumask_local_spread(v, NUMA_NO_NODE)));
	}
	cm_node_set_vectors(m->nd, n);
	/* A kick that came before the handlers. */
	local_bh_disable();
	cm_node_kicked(m->nd);
	local_bh_enable();
	return 0;
}

static const struct cm_bell_ops cm_pci_bell_ops = {
	.kick = cm_pci_kick,
	.quiesce = cm_pci_quiesce,
};

static int cm_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct cm_mesh_backing b = {
		.type = CHAINMESH_BACKING_IVSHMEM,
		.bell = &cm_pci_bell_ops,
		.parent = &pdev->dev,
	};
	struct device *dev = &pdev->dev;
	resource_size_t size;
	struct cm_pci *cp;
	struct cm_mesh *m;
	u32 pos;
	int err;

	cp = devm_kzalloc(dev, sizeof(*cp), GFP_KERNEL);
	if (!cp)
		return -ENOMEM;
	cp->pdev = pdev;

	/* Device-managed from here: released on failure and after remove,
	 * in reverse order (MSI-X vectors included). */
	err = pcim_enable_device(pdev);
	if (err)
		return dev_err_probe(dev, err, "cannot enable device\n");

	err = pcim_iomap_regions(pdev, BIT(CM_IVSHMEM_BAR_REGS), KBUILD_MODNAME);
	if (err)
		return dev_err_probe(dev, err, "cannot map BAR0\n");
	cp->regs = pcim_iomap_table(pdev)[CM_IVSHMEM_BAR_REGS];

	pos = readl(cp->regs + CM_IVSHMEM_IVPOSITION);
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
	/* RAM behind a prefetchable BAR: write-back; no struct page. */
	b.base = devm_memremap(dev, pci_resource_start(pdev, CM_IVSHMEM_BAR_SHM),
			       size, MEMREMAP_WB);
	if (IS_ERR(b.base))
		return dev_err_probe(dev, PTR_ERR(b.base), "cannot map BAR2\n");
	b.size = size;

	/* MSI-X reaches us only once bus mastering is on. */
	pci_set_master(pdev);
	err = pci_alloc_irq_vectors(pdev, 1, CHAINMESH_MAX_QUEUES, PCI_IRQ_MSIX);
	if (err < 0)
		dev_notice(dev, "no MSI-X (ivshmem-plain?): node 0 polls its rings\n");
	else
		cp->nvec = err;
	b.polled = !cp->nvec;
	b.priv = cp;

	m = cm_mesh_create(cm_pci_mesh_name, &cm_pci_params, &b, NULL);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
		if (err == -E2BIG)
			return dev_err_probe(dev, err, "layout does not fit BAR2 (%pa bytes)\n",
					     &size);
		return dev_err_probe(dev, err, "cannot create mesh %s\n",
				     cm_pci_mesh_name);
	}
	cp->m = m;
	pci_set_drvdata(pdev, cp);

	if (cp->nvec) {
		err = cm_pci_request_vectors(cp);
		if (err) {
			cm_mesh_destroy(m);
			return err;
		}
	}

	dev_info(dev, "mesh %s: %u nodes, %llu of %pa bytes, mesh id %08x, node 0 %s, %u vector%s\n",
		 m->name, m->l.p.nodes, m->l.size, &size, m->mesh_id,
		 cp->nvec ? "doorbell" : "polled", cp->nvec, cp->nvec == 1 ? "" : "s");
	return 0;
}

static void cm_pci_remove(struct pci_dev *pdev)
{
	struct cm_pci *cp = pci_get_drvdata(pdev);

	cm_mesh_destroy(cp->m);
}

static const struct pci_device_id cm_pci_ids[] = {
	{ PCI_DEVICE(CHAINMESH_IVSHMEM_VENDOR, CHAINMESH_IVSHMEM_DEVICE) },
	{ }
};
/* No MODULE_DEVICE_TABLE: no alias, see the top of this file. */

static struct pci_driver cm_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = cm_pci_ids,
	.probe = cm_pci_probe,
	.remove = cm_pci_remove,
};

static bool cm_pci_on;

int cm_pci_init(const struct cm_layout_params *p, const char *mesh_name)
{
	int err;

	cm_pci_params = *p;
	strscpy(cm_pci_mesh_name, mesh_name, sizeof(cm_pci_mesh_name));
	err = pci_register_driver(&cm_pci_driver);
	if (!err)
		cm_pci_on = true;
	return err;
}

void cm_pci_exit(void)
{
	if (cm_pci_on)
		pci_unregister_driver(&cm_pci_driver);
	cm_pci_on = false;
}
