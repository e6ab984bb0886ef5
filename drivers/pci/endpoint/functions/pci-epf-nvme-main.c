// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function.
 *
 * An endpoint function that presents an NVMe PCIe controller to the PCIe
 * host and executes the host's commands through an NVMe over Fabrics host
 * controller that it creates in the kernel, connected to any NVMe target
 * (pci-epf-nvme-backend.c), when the function is bound to an endpoint
 * controller. This file binds and unbinds the function, and follows the
 * endpoint controller's events.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/module.h>
#include <linux/pci_ids.h>
#include <linux/pci_regs.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "pci-epf-nvme.h"

#define CREATE_TRACE_POINTS
#include "pci_epf_nvme_trace.h"

/*
 * A BAR the function may not program: one the controller's hardware uses
 * (BAR_RESERVED) or one it disables (BAR_DISABLED, which 6.12 lacks).
 */
static bool pci_epf_nvme_bar_unavailable(const struct pci_epc_features *features,
					 enum pci_barno bar)
{
	enum pci_epc_bar_type type = features->bar[bar].type;

#ifdef PCI_EPF_NVME_BAR_DISABLED
	if (type == BAR_DISABLED)
		return true;
#endif
	return type == BAR_RESERVED;
}

/*
 * BAR 0: the registers, the doorbells of every queue pair and, with MSI-X,
 * the MSI-X table and PBA.
 */
static int pci_epf_nvme_alloc_bar(struct pci_epf_nvme *nvme)
{
	const struct pci_epc_features *features = nvme->epc_features;
	const struct pci_epc_bar_desc *bar0 = &features->bar[BAR_0];
	struct pci_epf *epf = nvme->epf;
	size_t size;

	size = NVME_REG_DBS + (nvme->nr_io_queues + 1) * 8;
	nvme->msix_offset = 0;
	if (features->msix_capable && epf->msix_interrupts) {
		nvme->msix_offset = ALIGN(size, SZ_4K);
		size = nvme->msix_offset +
		       epf->msix_interrupts * PCI_MSIX_ENTRY_SIZE;
		size = ALIGN(size, 8) +
		       ALIGN(DIV_ROUND_UP(epf->msix_interrupts, 8), 8);
	}

	if (bar0->type == BAR_FIXED && bar0->fixed_size &&
	    size > bar0->fixed_size) {
		dev_err(pci_epf_nvme_dev(nvme),
			"BAR 0 needs %zu bytes, the controller fixes it at %llu: lower nr_io_queues or msix_interrupts\n",
			size, bar0->fixed_size);
		return -EINVAL;
	}

	/* A fixed BAR gets its fixed size, a larger alignment its alignment */
	nvme->bar = pci_epf_alloc_space(epf, size, BAR_0, features,
					PRIMARY_INTERFACE);
	if (!nvme->bar) {
		dev_err(pci_epf_nvme_dev(nvme), "cannot allocate BAR 0\n");
		return -ENOMEM;
	}
	nvme->bar_size = epf->bar[BAR_0].size;
	nvme->nr_msix = nvme->msix_offset ? epf->msix_interrupts : 0;

	/*
	 * NVMe 1.1 and later make MLBAR/MUBAR (BARs 0 and 1) one 64-bit BAR,
	 * and host drivers may expect it. Only a controller that reserves
	 * BAR 1 gets a 32-bit BAR 0 (and one that allows only 64-bit BARs
	 * already has its flag set by pci_epf_alloc_space()).
	 */
	if (!pci_epf_nvme_bar_unavailable(features, BAR_1))
		epf->bar[BAR_0].flags |= PCI_BASE_ADDRESS_MEM_TYPE_64;

	return 0;
}

static void pci_epf_nvme_free_bar(struct pci_epf_nvme *nvme)
{
	pci_epf_free_space(nvme->epf, nvme->bar, BAR_0, PRIMARY_INTERFACE);
	nvme->bar = NULL;
}

/* Configuration space, BAR and interrupts on the endpoint controller */
static int pci_epf_nvme_epc_init(struct pci_epf *epf)
{
	struct pci_epf_nvme *nvme = epf_get_drvdata(epf);
	const struct pci_epc_features *features = nvme->epc_features;
	struct device *dev = &epf->dev;
	struct pci_epc *epc = epf->epc;
	int ret;

	if (!nvme->ctrl_ready || nvme->epc_ready)
		return 0;
	WRITE_ONCE(nvme->link_down, false);

	if (epf->vfunc_no <= 1) {
		ret = pci_epc_write_header(epc, epf->func_no, epf->vfunc_no,
					   epf->header);
		if (ret) {
			dev_err(dev, "cannot write the configuration header\n");
			return ret;
		}
	}

	ret = pci_epc_set_bar(epc, epf->func_no, epf->vfunc_no,
			      &epf->bar[BAR_0]);
	if (ret) {
		dev_err(dev, "cannot set BAR 0\n");
		return ret;
	}

	if (features->msi_capable && epf->msi_interrupts) {
		ret = pci_epc_set_msi(epc, epf->func_no, epf->vfunc_no,
				      epf->msi_interrupts);
		if (ret) {
			dev_err(dev, "cannot set MSI\n");
			goto clear_bar;
		}
	}

	if (nvme->nr_msix) {
		ret = pci_epc_set_msix(epc, epf->func_no, epf->vfunc_no,
				       nvme->nr_msix, BAR_0, nvme->msix_offset);
		if (ret) {
			dev_err(dev, "cannot set MSI-X\n");
			goto clear_bar;
		}
	}

	pci_epf_nvme_dma_init(nvme);
	nvme->epc_ready = true;

	/*
	 * Poll from now on, even if the link is not up yet: the registers
	 * are local memory, and the link may have come up before the
	 * function was bound, leaving no link up event to wait for.
	 */
	pci_epf_nvme_ctrl_start_polling(nvme);

	return 0;

clear_bar:
	pci_epc_clear_bar(epc, epf->func_no, epf->vfunc_no, &epf->bar[BAR_0]);
	return ret;
}

/* Undo pci_epf_nvme_epc_init(), the controller being reset */
static void pci_epf_nvme_epc_clear(struct pci_epf_nvme *nvme)
{
	struct pci_epf *epf = nvme->epf;

	if (!nvme->epc_ready)
		return;

	pci_epf_nvme_dma_exit(nvme);
	pci_epc_clear_bar(epf->epc, epf->func_no, epf->vfunc_no,
			  &epf->bar[BAR_0]);
	nvme->epc_ready = false;
}

static void pci_epf_nvme_epc_deinit(struct pci_epf *epf)
{
	struct pci_epf_nvme *nvme = epf_get_drvdata(epf);

	if (!nvme->ctrl_ready)
		return;

	WRITE_ONCE(nvme->link_down, true);
	pci_epf_nvme_ctrl_stop_polling(nvme);
	pci_epf_nvme_ctrl_reset(nvme);
	pci_epf_nvme_epc_clear(nvme);
}

static int pci_epf_nvme_link_up(struct pci_epf *epf)
{
	struct pci_epf_nvme *nvme = epf_get_drvdata(epf);

	WRITE_ONCE(nvme->link_down, false);
	if (nvme->ctrl_ready && nvme->epc_ready)
		pci_epf_nvme_ctrl_start_polling(nvme);

	return 0;
}

static int pci_epf_nvme_link_down(struct pci_epf *epf)
{
	struct pci_epf_nvme *nvme = epf_get_drvdata(epf);

	if (!nvme->ctrl_ready)
		return 0;

	WRITE_ONCE(nvme->link_down, true);
	pci_epf_nvme_ctrl_stop_polling(nvme);
	pci_epf_nvme_ctrl_reset(nvme);

	return 0;
}

static const struct pci_epc_event_ops pci_epf_nvme_event_ops = {
	.epc_init	= pci_epf_nvme_epc_init,
	.epc_deinit	= pci_epf_nvme_epc_deinit,
	.link_up	= pci_epf_nvme_link_up,
	.link_down	= pci_epf_nvme_link_down,
};

static int pci_epf_nvme_bind(struct pci_epf *epf)
{
	struct pci_epf_nvme *nvme = epf_get_drvdata(epf);
	const struct pci_epc_features *features;
	struct device *dev = &epf->dev;
	struct pci_epc *epc = epf->epc;
	int ret;

	if (WARN_ON_ONCE(!epc))
		return -EINVAL;

	features = pci_epc_get_features(epc, epf->func_no, epf->vfunc_no);
	if (!features) {
		dev_err(dev, "the endpoint controller has no features\n");
		return -EOPNOTSUPP;
	}
	if (pci_epf_nvme_bar_unavailable(features, BAR_0)) {
		dev_err(dev, "BAR 0 is not available\n");
		return -EOPNOTSUPP;
	}
	if (!(features->msix_capable && epf->msix_interrupts) &&
	    !(features->msi_capable && epf->msi_interrupts) &&
	    !features->intx_capable) {
		dev_err(dev, "no interrupt for the host: the controller has no INTx, set msi_interrupts or msix_interrupts (MSI %s, MSI-X %s)\n",
			features->msi_capable ? "available" : "not available",
			features->msix_capable ? "available" : "not available");
		return -EOPNOTSUPP;
	}
	nvme->epc_features = features;
	/* The Interrupt Pin says INTA only where the controller can raise it */
	nvme->header.interrupt_pin = features->intx_capable ?
				     PCI_INTERRUPT_INTA : 0;

	mutex_lock(&nvme->cfg_lock);
	if (!nvme->cfg.connect_opts) {
		mutex_unlock(&nvme->cfg_lock);
		dev_err(dev, "nvme/connect_opts is not set\n");
		return -EINVAL;
	}
	nvme->bound = true;
	mutex_unlock(&nvme->cfg_lock);

	nvme->nr_io_queues = nvme->cfg.nr_io_queues;
	nvme->mqes = nvme->cfg.queue_depth - 1;
	nvme->max_inflight = (size_t)nvme->cfg.max_inflight_kb * SZ_1K;
	if (nvme->cfg.max_inflight_kb < nvme->cfg.mdts_kb) {
		dev_err(dev, "nvme/max_inflight_kb (%u) is below nvme/mdts_kb (%u)\n",
			nvme->cfg.max_inflight_kb, nvme->cfg.mdts_kb);
		ret = -EINVAL;
		goto unbound;
	}

	ret = pci_epf_nvme_backend_connect(nvme);
	if (ret)
		goto unbound;

	ret = pci_epf_nvme_alloc_bar(nvme);
	if (ret)
		goto disconnect;

	ret = pci_epf_nvme_ctrl_init(nvme);
	if (ret)
		goto free_bar;

	pci_epf_nvme_debugfs_add(nvme);
	nvme->ctrl_ready = true;
	return 0;

free_bar:
	pci_epf_nvme_free_bar(nvme);
disconnect:
	pci_epf_nvme_backend_disconnect(nvme);
unbound:
	mutex_lock(&nvme->cfg_lock);
	nvme->bound = false;
	mutex_unlock(&nvme->cfg_lock);
	return ret;
}

static void pci_epf_nvme_unbind(struct pci_epf *epf)
{
	struct pci_epf_nvme *nvme = epf_get_drvdata(epf);

	/*
	 * pci_epf_bind() unbinds a function whose bind failed: the bind has
	 * already undone what it did.
	 */
	if (!nvme->ctrl_ready)
		return;

	pci_epf_nvme_ctrl_stop_polling(nvme);
	pci_epf_nvme_ctrl_reset(nvme);
	pci_epf_nvme_epc_clear(nvme);
	nvme->ctrl_ready = false;
	pci_epf_nvme_debugfs_remove(nvme);
	pci_epf_nvme_ctrl_exit(nvme);
	pci_epf_nvme_free_bar(nvme);
	pci_epf_nvme_backend_disconnect(nvme);

	mutex_lock(&nvme->cfg_lock);
	nvme->bound = false;
	mutex_unlock(&nvme->cfg_lock);
}

static const struct pci_epf_ops pci_epf_nvme_ops = {
	.bind		= pci_epf_nvme_bind,
	.unbind		= pci_epf_nvme_unbind,
	.add_cfs	= pci_epf_nvme_add_cfs,
};

static int pci_epf_nvme_probe(struct pci_epf *epf,
			      const struct pci_epf_device_id *id)
{
	struct pci_epf_nvme *nvme;
	unsigned int i;

	nvme = devm_kzalloc(&epf->dev, sizeof(*nvme), GFP_KERNEL);
	if (!nvme)
		return -ENOMEM;

	nvme->epf = epf;
	nvme->header = (struct pci_epf_header) {
		.vendorid	= PCI_ANY_ID,
		.deviceid	= PCI_ANY_ID,
		.progif_code	= 0x02,		/* NVM Express */
		.subclass_code	= 0x08,		/* Non-Volatile Memory */
		.baseclass_code	= PCI_BASE_CLASS_STORAGE,
	};
	epf->header = &nvme->header;
	epf->event_ops = &pci_epf_nvme_event_ops;

	mutex_init(&nvme->cfg_lock);
	pci_epf_nvme_cfg_init(nvme);
	for (i = 0; i < PCI_EPF_NVME_MAX_DMA_CHANS; i++) {
		mutex_init(&nvme->dma_rx[i].lock);
		mutex_init(&nvme->dma_tx[i].lock);
	}
	mutex_init(&nvme->map_lock);
	mutex_init(&nvme->state_lock);
	spin_lock_init(&nvme->csts_lock);
	mutex_init(&nvme->qlock);
	init_waitqueue_head(&nvme->drain_wq);
	spin_lock_init(&nvme->aer_lock);
	INIT_LIST_HEAD(&nvme->aers);

	epf_set_drvdata(epf, nvme);
	return 0;
}

static void pci_epf_nvme_remove(struct pci_epf *epf)
{
	struct pci_epf_nvme *nvme = epf_get_drvdata(epf);

	pci_epf_nvme_cfg_free(nvme);
}

static const struct pci_epf_device_id pci_epf_nvme_ids[] = {
	{ .name = "pci_epf_nvme" },
	{ },
};

static struct pci_epf_driver pci_epf_nvme_driver = {
	.driver.name	= "pci_epf_nvme",
	.probe		= pci_epf_nvme_probe,
	.remove		= pci_epf_nvme_remove,
	.id_table	= pci_epf_nvme_ids,
	.ops		= &pci_epf_nvme_ops,
	.owner		= THIS_MODULE,
};

static int __init pci_epf_nvme_init(void)
{
	int ret;

	ret = pci_epf_nvme_cmd_cache_init();
	if (ret)
		return ret;
	pci_epf_nvme_debugfs_init();

	ret = pci_epf_register_driver(&pci_epf_nvme_driver);
	if (ret) {
		pci_epf_nvme_debugfs_exit();
		pci_epf_nvme_cmd_cache_exit();
		return ret;
	}

	return 0;
}
module_init(pci_epf_nvme_init);

static void __exit pci_epf_nvme_exit(void)
{
	pci_epf_unregister_driver(&pci_epf_nvme_driver);
	pci_epf_nvme_debugfs_exit();
	pci_epf_nvme_cmd_cache_exit();
}
module_exit(pci_epf_nvme_exit);

MODULE_DESCRIPTION("PCI endpoint NVMe function");
MODULE_AUTHOR("The pci-epf-nvme developers");
MODULE_LICENSE("GPL");
