// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller: a software endpoint controller whose
 * functions appear to the same kernel as devices on a virtual PCI bus, so
 * that endpoint function drivers can be tested against real host drivers
 * without endpoint hardware.
 *
 * x86 refuses to ioremap() System RAM, and host drivers ioremap their BARs,
 * while endpoint functions keep their BARs in RAM. The controller therefore
 * binds to a RAM alias device: under QEMU, an ivshmem-plain device whose
 * memory backend is the guest's own RAM file, so that its BAR2 maps all of
 * RAM a second time, as MMIO. Host-side BAR accesses go through that alias
 * straight to the function's memory.
 *
 * Link state, per controller: the link is up while the function side has
 * started it (configfs "start"), PERST# is deasserted and user space has not
 * forced it down (sysfs "perst" and "link" of the controller). Taking it
 * down is a surprise removal of the host-side devices; bringing it up
 * notifies the functions, then lets the host enumerate them.
 */

#include <linux/idr.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pci.h"
#include "pci-epc-loop.h"

#define EPC_LOOP_ALIAS_BAR		2

static unsigned int nr_controllers = 2;
module_param(nr_controllers, uint, 0444);
MODULE_PARM_DESC(nr_controllers,
		 "endpoint controllers per RAM alias device (1-8, default 2)");

/* Controller numbers, unique across alias devices: pci-epc-loop.N */
static DEFINE_IDA(epc_loop_ida);

/**
 * epc_loop_host_update() - reconcile the host-side devices, asynchronously
 * @host: the loop host
 */
void epc_loop_host_update(struct epc_loop_host *host)
{
	queue_work(host->host_wq, &host->host_work);
}

/**
 * epc_loop_host_sync() - reconcile the host-side devices and wait for it
 * @host: the loop host
 *
 * Must not be called with a function's or an EPC's lock held by a path the
 * host-side drivers' removal could wait on. Host-side removal happens on
 * disconnected devices, which drivers do not talk to.
 */
void epc_loop_host_sync(struct epc_loop_host *host)
{
	queue_work(host->host_wq, &host->host_work);
	flush_work(&host->host_work);
}

static bool epc_loop_slot_visible(struct epc_loop_host *host, unsigned int devfn)
{
	struct epc_loop *lepc = host->epcs[PCI_SLOT(devfn)];
	unsigned long flags;
	bool visible;

	if (!lepc)
		return false;
	raw_spin_lock_irqsave(&lepc->lock, flags);
	visible = epc_loop_func_visible(lepc, &lepc->funcs[PCI_FUNC(devfn)]);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	return visible;
}

/*
 * Remove the host-side devices whose function the host can no longer see,
 * then scan for the ones it can see and does not have yet.
 */
static void epc_loop_host_work(struct work_struct *work)
{
	struct epc_loop_host *host = container_of(work, struct epc_loop_host, host_work);
	struct pci_dev *pdev, *tmp;

	pci_lock_rescan_remove();
	list_for_each_entry_safe_reverse(pdev, tmp, &host->bus->devices,
					 bus_list) {
		if (epc_loop_slot_visible(host, pdev->devfn))
			continue;
		pci_dev_set_disconnected(pdev, NULL);
		pci_stop_and_remove_bus_device(pdev);
	}
	pci_rescan_bus(host->bus);
	pci_unlock_rescan_remove();
}

/**
 * epc_loop_disconnect() - mark a function's host-side device as gone
 * @lepc: the controller
 * @fn: function number, or -1 for all of the controller's functions
 *
 * Host drivers then stop talking to the device; its removal follows from
 * the host work.
 */
void epc_loop_disconnect(struct epc_loop *lepc, int fn)
{
	struct epc_loop_host *host = lepc->host;
	struct pci_dev *pdev;
	int f;

	for (f = 0; f < EPC_LOOP_MAX_FUNCS; f++) {
		if (fn >= 0 && f != fn)
			continue;
		pdev = pci_get_slot(host->bus, PCI_DEVFN(lepc->slot, f));
		if (!pdev)
			continue;
		pci_dev_set_disconnected(pdev, NULL);
		pci_dev_put(pdev);
	}
}

static bool epc_loop_link_wanted(struct epc_loop *lepc)
{
	return lepc->started && !lepc->perst && !lepc->link_forced_down;
}

/**
 * epc_loop_link_set() - bring the link to the state its inputs ask for
 * @lepc: the controller
 *
 * Called after changing started, perst or link_forced_down, possibly with
 * the EPC's lock held (start and stop), so it never waits: a link going
 * down takes effect at once for the host (configuration requests fail,
 * devices are disconnected, DMA fails) and the rest follows from works.
 */
void epc_loop_link_set(struct epc_loop *lepc)
{
	unsigned long flags;
	bool down = false;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (lepc->link_up && !epc_loop_link_wanted(lepc)) {
		WRITE_ONCE(lepc->link_up, false);
		down = true;
	}
	raw_spin_unlock_irqrestore(&lepc->lock, flags);

	if (down) {
		epc_loop_disconnect(lepc, -1);
		epc_loop_host_update(lepc->host);
	}
	queue_work(lepc->host->notify_wq, &lepc->notify_work);
}

/*
 * Tell the functions about link changes. Link up is reported before the
 * host may see the functions, as with a real link that trains before the
 * host enumerates.
 */
static void epc_loop_notify_work(struct work_struct *work)
{
	struct epc_loop *lepc = container_of(work, struct epc_loop, notify_work);
	unsigned long flags;
	bool wanted;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	wanted = epc_loop_link_wanted(lepc);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);

	if (wanted && !lepc->notified_up) {
		lepc->notified_up = true;
		pci_epc_linkup(lepc->epc);
	} else if (!wanted && lepc->notified_up) {
		lepc->notified_up = false;
		pci_epc_linkdown(lepc->epc);
	}

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (epc_loop_link_wanted(lepc) && lepc->notified_up)
		WRITE_ONCE(lepc->link_up, true);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	epc_loop_host_update(lepc->host);
}

static void epc_loop_bme_work(struct work_struct *work)
{
	struct epc_loop *lepc = container_of(work, struct epc_loop, bme_work);

	pci_epc_bus_master_enable_notify(lepc->epc);
}

/* Apply a change from sysfs and wait until host and functions saw it */
static void epc_loop_settle(struct epc_loop *lepc)
{
	epc_loop_link_set(lepc);
	flush_work(&lepc->notify_work);
	epc_loop_host_sync(lepc->host);
}

static ssize_t link_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	struct epc_loop *lepc = epc_get_drvdata(to_pci_epc(dev));

	return sysfs_emit(buf, "%d\n", READ_ONCE(lepc->link_up));
}

/* Writing 0 takes the link down (surprise removal), 1 lets it come up */
static ssize_t link_store(struct device *dev, struct device_attribute *attr,
			  const char *buf, size_t count)
{
	struct epc_loop *lepc = epc_get_drvdata(to_pci_epc(dev));
	unsigned long flags;
	bool up;
	int ret;

	ret = kstrtobool(buf, &up);
	if (ret)
		return ret;

	mutex_lock(&lepc->ctl_lock);
	raw_spin_lock_irqsave(&lepc->lock, flags);
	lepc->link_forced_down = !up;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	epc_loop_settle(lepc);
	mutex_unlock(&lepc->ctl_lock);
	return count;
}
static DEVICE_ATTR_RW(link);

static ssize_t perst_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct epc_loop *lepc = epc_get_drvdata(to_pci_epc(dev));

	return sysfs_emit(buf, "%d\n", READ_ONCE(lepc->perst));
}

/*
 * Writing 1 asserts PERST#: the link goes down, then the functions are told
 * the controller lost its state (epc_deinit). Writing 0 deasserts it: the
 * functions set the controller up again (epc_init), then the link comes up
 * if it was started.
 */
static ssize_t perst_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct epc_loop *lepc = epc_get_drvdata(to_pci_epc(dev));
	unsigned long flags;
	bool assert;
	int fn, ret;

	ret = kstrtobool(buf, &assert);
	if (ret)
		return ret;

	mutex_lock(&lepc->ctl_lock);
	if (assert == lepc->perst)
		goto out;

	if (assert) {
		raw_spin_lock_irqsave(&lepc->lock, flags);
		lepc->perst = true;
		raw_spin_unlock_irqrestore(&lepc->lock, flags);
		epc_loop_settle(lepc);
		pci_epc_deinit_notify(lepc->epc);
		/* PERST# resets the controller's core: configuration is lost */
		for (fn = 0; fn < EPC_LOOP_MAX_FUNCS; fn++)
			epc_loop_func_reset(lepc, fn);
	} else {
		pci_epc_init_notify(lepc->epc);
		raw_spin_lock_irqsave(&lepc->lock, flags);
		lepc->perst = false;
		raw_spin_unlock_irqrestore(&lepc->lock, flags);
		epc_loop_settle(lepc);
	}
out:
	mutex_unlock(&lepc->ctl_lock);
	return count;
}
static DEVICE_ATTR_RW(perst);

/**
 * epc_loop_host_reachable() - may the controller reach this host range?
 * @lepc: the controller
 * @addr: host (PCI) address
 * @size: length in bytes
 *
 * The host's memory is this machine's RAM. A range that is not RAM, or
 * that has a page the host's IOMMU does not map when it maps any (sysfs
 * ``iommu``), is not reachable: a transfer to it fails as one the host's
 * root complex rejected.
 *
 * Return: true if the whole range is reachable.
 */
bool epc_loop_host_reachable(struct epc_loop *lepc, u64 addr, size_t size)
{
	unsigned long pfn;

	if (!epc_loop_ram_range(addr, size))
		return false;
	if (xa_empty(&lepc->iommu))
		return true;
	for (pfn = PHYS_PFN(addr); pfn <= PHYS_PFN(addr + size - 1); pfn++)
		if (!xa_load(&lepc->iommu, pfn))
			return false;
	return true;
}

static ssize_t iommu_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct epc_loop *lepc = epc_get_drvdata(to_pci_epc(dev));
	unsigned long pfn, nr = 0;
	void *entry;

	xa_for_each(&lepc->iommu, pfn, entry)
		nr++;
	if (!nr)
		return sysfs_emit(buf, "off\n");
	return sysfs_emit(buf, "%lu pages\n", nr);
}

/* Map the pages of [@base, @base + @size), page aligned, all RAM */
static int epc_loop_iommu_map(struct epc_loop *lepc, u64 base, u64 size)
{
	unsigned long pfn;
	int ret;

	if (!size || !PAGE_ALIGNED(base) || !PAGE_ALIGNED(size) ||
	    !epc_loop_ram_range(base, size))
		return -EINVAL;
	for (pfn = PHYS_PFN(base); pfn < PHYS_PFN(base + size); pfn++) {
		ret = xa_err(xa_store(&lepc->iommu, pfn, xa_mk_value(1),
				      GFP_KERNEL));
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * The host's IOMMU. "map BASE SIZE" maps those host pages for the
 * controller; once any is mapped, DMA transfers and outbound window
 * mappings started from then on reach only mapped pages, as on a host
 * that maps only some of its memory for the device. "off" unmaps them
 * all: every page of the host's RAM is reachable again. A test host that
 * hands the controller arbitrary addresses maps its own memory only.
 */
static ssize_t iommu_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	struct epc_loop *lepc = epc_get_drvdata(to_pci_epc(dev));
	char *copy, *str, *base_str, *size_str;
	u64 base, size;
	int ret;

	copy = kstrdup(buf, GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	str = strim(copy);
	ret = -EINVAL;
	if (!strcmp(str, "off")) {
		xa_destroy(&lepc->iommu);
		ret = 0;
	} else if (str_has_prefix(str, "map ")) {
		base_str = skip_spaces(str + 4);
		size_str = strpbrk(base_str, " \t");
		if (size_str) {
			*size_str++ = '\0';
			if (!kstrtou64(base_str, 0, &base) &&
			    !kstrtou64(skip_spaces(size_str), 0, &size))
				ret = epc_loop_iommu_map(lepc, base, size);
		}
	}
	kfree(copy);
	return ret ?: count;
}
static DEVICE_ATTR_RW(iommu);

/* How many outbound window mappings the functions hold now */
static ssize_t windows_mapped_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct epc_loop *lepc = epc_get_drvdata(to_pci_epc(dev));

	return sysfs_emit(buf, "%u\n", READ_ONCE(lepc->nr_maps));
}
static DEVICE_ATTR_RO(windows_mapped);

static struct attribute *epc_loop_attrs[] = {
	&dev_attr_link.attr,
	&dev_attr_perst.attr,
	&dev_attr_windows_mapped.attr,
	&dev_attr_iommu.attr,
	NULL,
};

static const struct attribute_group epc_loop_group = {
	.attrs = epc_loop_attrs,
};

static void epc_loop_init_state(struct epc_loop *lepc)
{
	int fn;

	raw_spin_lock_init(&lepc->lock);
	mutex_init(&lepc->ctl_lock);
	INIT_WORK(&lepc->notify_work, epc_loop_notify_work);
	INIT_WORK(&lepc->bme_work, epc_loop_bme_work);
	epc_loop_irq_ctrl_init(lepc);
	INIT_LIST_HEAD(&lepc->maps);
	xa_init(&lepc->iommu);
	for (fn = 0; fn < EPC_LOOP_MAX_FUNCS; fn++)
		lepc->funcs[fn].msi.mmc = U8_MAX;
}

static void epc_loop_free(struct epc_loop *lepc)
{
	int fn;

	for (fn = 0; fn < EPC_LOOP_MAX_FUNCS; fn++)
		bitmap_free(lepc->funcs[fn].msix.pending);
	xa_destroy(&lepc->iommu);
	mutex_destroy(&lepc->ctl_lock);
	kfree(lepc);
}

/**
 * struct epc_loop_pdata - what a controller's platform device is created with
 * @host: the loop host
 * @slot: the controller's slot on the host's bus
 */
struct epc_loop_pdata {
	struct epc_loop_host *host;
	unsigned int slot;
};

/*
 * Each controller has a platform device of its own: the parent of its EPC
 * (whose name it gives), of its DMA device, and the device its functions'
 * BAR memory is allocated for. dmaengine wants that device bound to a
 * driver, hence the platform driver below.
 */
static int epc_loop_probe(struct platform_device *pdev)
{
	const struct epc_loop_pdata *pdata = dev_get_platdata(&pdev->dev);
	struct epc_loop_host *host = pdata->host;
	struct epc_loop *lepc;
	int ret;

	lepc = kzalloc(sizeof(*lepc), GFP_KERNEL);
	if (!lepc)
		return -ENOMEM;
	epc_loop_init_state(lepc);
	lepc->host = host;
	lepc->profile = epc_loop_profile_get();
	lepc->slot = pdata->slot;
	lepc->pdev = pdev;

	lepc->epc = pci_epc_create(&pdev->dev, &epc_loop_ops);
	if (IS_ERR(lepc->epc)) {
		ret = PTR_ERR(lepc->epc);
		goto err_free;
	}
	lepc->epc->max_functions = EPC_LOOP_MAX_FUNCS;
	epc_set_drvdata(lepc->epc, lepc);

	ret = epc_loop_windows_init(lepc);
	if (ret)
		goto err_epc;
	ret = epc_loop_dma_register(lepc);
	if (ret)
		goto err_windows;
	ret = sysfs_create_group(&lepc->epc->dev.kobj, &epc_loop_group);
	if (ret)
		goto err_dma;

	platform_set_drvdata(pdev, lepc);
	pci_lock_rescan_remove();
	host->epcs[lepc->slot] = lepc;
	pci_unlock_rescan_remove();
	/* No PERST# to wait for: the controller is ready at once */
	pci_epc_init_notify(lepc->epc);
	return 0;

err_dma:
	epc_loop_dma_unregister(lepc);
err_windows:
	epc_loop_windows_exit(lepc);
err_epc:
	pci_epc_destroy(lepc->epc);
err_free:
	epc_loop_free(lepc);
	return ret;
}

static void epc_loop_remove(struct platform_device *pdev)
{
	struct epc_loop *lepc = platform_get_drvdata(pdev);
	struct epc_loop_host *host = lepc->host;
	unsigned long flags;

	sysfs_remove_group(&lepc->epc->dev.kobj, &epc_loop_group);

	raw_spin_lock_irqsave(&lepc->lock, flags);
	lepc->started = false;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	epc_loop_settle(lepc);
	cancel_work_sync(&lepc->bme_work);
	epc_loop_irq_ctrl_exit(lepc);

	epc_loop_dma_unregister(lepc);
	epc_loop_windows_exit(lepc);
	pci_epc_destroy(lepc->epc);

	/* Scans read the controllers under this lock */
	pci_lock_rescan_remove();
	host->epcs[lepc->slot] = NULL;
	pci_unlock_rescan_remove();
	epc_loop_free(lepc);
}

/*
 * No unbind from sysfs: a controller goes away with its alias device, which
 * user space unbinds once no function uses the controller.
 */
static struct platform_driver epc_loop_driver = {
	.driver = {
		.name			= "pci-epc-loop",
		.suppress_bind_attrs	= true,
	},
	.probe		= epc_loop_probe,
	.remove		= epc_loop_remove,
};

static int epc_loop_add(struct epc_loop_host *host, unsigned int slot)
{
	struct epc_loop_pdata pdata = { .host = host, .slot = slot };
	struct platform_device_info info = {
		.parent		= &host->pdev->dev,
		.name		= "pci-epc-loop",
		.data		= &pdata,
		.size_data	= sizeof(pdata),
		.dma_mask	= DMA_BIT_MASK(64),
	};
	struct platform_device *pdev;

	info.id = ida_alloc(&epc_loop_ida, GFP_KERNEL);
	if (info.id < 0)
		return info.id;
	pdev = platform_device_register_full(&info);
	if (IS_ERR(pdev)) {
		ida_free(&epc_loop_ida, info.id);
		return PTR_ERR(pdev);
	}
	host->epc_pdevs[slot] = pdev;
	if (!host->epcs[slot]) {
		dev_err(&host->pdev->dev, "controller %u failed to probe\n", slot);
		return -ENODEV;
	}
	return 0;
}

static int epc_loop_ram_end_cb(struct resource *res, void *arg)
{
	resource_size_t *end = arg;

	*end = max(*end, res->end + 1);
	return 0;
}

/*
 * The alias must cover all RAM, and RAM at physical P must show at alias
 * base + P. Check both, so that a misconfigured machine fails here with a
 * clear message rather than with a host driver reading the wrong memory.
 */
static int epc_loop_check_alias(struct epc_loop_host *host)
{
	struct device *dev = &host->pdev->dev;
	resource_size_t ram_end = 0;
	void __iomem *alias;
	struct page *page;
	u64 cookie, *local;
	int ret = 0;

	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, U64_MAX,
			    &ram_end, epc_loop_ram_end_cb);
	if (ram_end > host->alias_size) {
		dev_err(dev, "RAM ends at %pa, beyond the %pa alias window\n",
			&ram_end, &host->alias_size);
		return -ENODEV;
	}

	page = alloc_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	alias = ioremap(host->alias_base + page_to_phys(page), PAGE_SIZE);
	if (!alias) {
		__free_page(page);
		return -ENOMEM;
	}
	local = page_address(page);
	cookie = get_random_u64();
	WRITE_ONCE(*local, cookie);
	if (readq(alias) != cookie) {
		dev_err(dev, "BAR%d does not alias RAM: its memory backend must be the guest RAM file\n",
			EPC_LOOP_ALIAS_BAR);
		ret = -ENODEV;
	}
	iounmap(alias);
	__free_page(page);
	return ret;
}

static void epc_loop_host_free(struct epc_loop_host *host)
{
	if (host->notify_wq)
		destroy_workqueue(host->notify_wq);
	if (host->host_wq)
		destroy_workqueue(host->host_wq);
	kfree(host);
}

static void epc_loop_host_teardown(struct epc_loop_host *host)
{
	int slot, id;

	for (slot = host->nr_epcs - 1; slot >= 0; slot--) {
		struct platform_device *pdev = host->epc_pdevs[slot];

		if (!pdev)
			continue;
		id = pdev->id;
		platform_device_unregister(pdev);
		ida_free(&epc_loop_ida, id);
	}
	epc_loop_bus_destroy(host);
	epc_loop_irq_exit(host);
	epc_loop_host_free(host);
}

static int epc_loop_host_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct epc_loop_host *host;
	unsigned int slot;
	int ret;

	if (!nr_controllers || nr_controllers > EPC_LOOP_MAX_EPCS) {
		dev_err(&pdev->dev, "nr_controllers must be 1 to %d\n",
			EPC_LOOP_MAX_EPCS);
		return -EINVAL;
	}
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	if (!(pci_resource_flags(pdev, EPC_LOOP_ALIAS_BAR) & IORESOURCE_MEM))
		return -ENODEV;

	host = kzalloc(sizeof(*host), GFP_KERNEL);
	if (!host)
		return -ENOMEM;
	host->pdev = pdev;
	host->alias_base = pci_resource_start(pdev, EPC_LOOP_ALIAS_BAR);
	host->alias_size = pci_resource_len(pdev, EPC_LOOP_ALIAS_BAR);
	host->nr_epcs = nr_controllers;
	INIT_WORK(&host->host_work, epc_loop_host_work);

	ret = epc_loop_check_alias(host);
	if (ret)
		goto err_free;

	host->host_wq = alloc_ordered_workqueue("pci-epc-loop-host", WQ_MEM_RECLAIM);
	host->notify_wq = alloc_ordered_workqueue("pci-epc-loop-notify", WQ_MEM_RECLAIM);
	if (!host->host_wq || !host->notify_wq) {
		ret = -ENOMEM;
		goto err_free;
	}

	ret = epc_loop_irq_init(host);
	if (ret)
		goto err_free;
	ret = epc_loop_bus_create(host);
	if (ret)
		goto err_irq;

	for (slot = 0; slot < host->nr_epcs; slot++) {
		ret = epc_loop_add(host, slot);
		if (ret) {
			epc_loop_host_teardown(host);
			return ret;
		}
	}

	pci_set_drvdata(pdev, host);
	dev_info(&pdev->dev,
		 "%u loopback endpoint controllers, RAM alias at %pa (%pa); outbound windows bounce: writes reach the host at interrupts and every jiffy, reads see the map-time copy\n",
		 host->nr_epcs, &host->alias_base, &host->alias_size);
	return 0;

err_irq:
	epc_loop_irq_exit(host);
err_free:
	epc_loop_host_free(host);
	return ret;
}

static void epc_loop_host_remove(struct pci_dev *pdev)
{
	epc_loop_host_teardown(pci_get_drvdata(pdev));
}

static const struct pci_device_id epc_loop_host_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1110) },	/* ivshmem */
	{ }
};
MODULE_DEVICE_TABLE(pci, epc_loop_host_ids);

static struct pci_driver epc_loop_host_driver = {
	.name		= "pci-epc-loop",
	.id_table	= epc_loop_host_ids,
	.probe		= epc_loop_host_probe,
	.remove		= epc_loop_host_remove,
};

static int __init epc_loop_init(void)
{
	int ret;

	ret = epc_loop_profile_init();
	if (ret)
		return ret;
	ret = epc_loop_bus_notifier_register();
	if (ret)
		return ret;
	ret = platform_driver_register(&epc_loop_driver);
	if (ret)
		goto err_notifier;
	ret = pci_register_driver(&epc_loop_host_driver);
	if (ret)
		goto err_platform;
	return 0;

err_platform:
	platform_driver_unregister(&epc_loop_driver);
err_notifier:
	epc_loop_bus_notifier_unregister();
	return ret;
}
module_init(epc_loop_init);

static void __exit epc_loop_exit(void)
{
	pci_unregister_driver(&epc_loop_host_driver);
	platform_driver_unregister(&epc_loop_driver);
	epc_loop_bus_notifier_unregister();
}
module_exit(epc_loop_exit);

MODULE_DESCRIPTION("Loopback PCI endpoint controller");
MODULE_LICENSE("GPL");
