// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller: the endpoint controller operations.
 *
 * What a function configures here becomes the configuration space the host
 * reads (pci-epc-loop-cfg.c). Outbound windows are bounce windows: the
 * window is controller RAM that the CPU reaches through the alias (so the
 * endpoint framework can ioremap it); mapping it to a host address copies
 * host memory in. What the function writes through it reaches the host as
 * posted writes over a link would: before any interrupt the controller
 * raises after them, within a jiffy in any case, and at the latest when
 * the window is unmapped. Reads do not see what the host writes after the
 * map: functions that need that must map again, or use the DMA channels.
 */

#include <linux/bitfield.h>
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pci-epc-loop.h"

static struct epc_loop *to_epc_loop(struct pci_epc *epc)
{
	return epc_get_drvdata(epc);
}

static int epc_loop_write_header(struct pci_epc *epc, u8 fn, u8 vfn,
				 struct pci_epf_header *hdr)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	unsigned long flags;

	if (vfn)
		return -EINVAL;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	lepc->funcs[fn].hdr = *hdr;
	lepc->funcs[fn].has_header = true;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);

	/* The link may be up already: let the host find the function */
	epc_loop_host_update(lepc->host);
	return 0;
}

/* What the profile's controller allows for this BAR */
static int epc_loop_check_bar_desc(struct epc_loop *lepc,
				   struct pci_epf_bar *epf_bar)
{
	const struct pci_epc_bar_desc *desc =
		&lepc->profile->features.bar[epf_bar->barno];
	struct device *dev = &lepc->pdev->dev;

	if (desc->type == BAR_RESERVED) {
		dev_err(dev, "BAR%d: reserved on this controller\n", epf_bar->barno);
		return -EINVAL;
	}
#ifdef EPC_LOOP_BAR_RESIZABLE
	/* The Resizable BAR capability offers sizes from 1 MiB up */
	if (desc->type == BAR_RESIZABLE &&
	    (epf_bar->size < SZ_1M || !is_power_of_2(epf_bar->size))) {
		dev_err(dev, "BAR%d: %zu bytes, not a resizable BAR's size\n",
			epf_bar->barno, epf_bar->size);
		return -EINVAL;
	}
#endif
	if (desc->type == BAR_FIXED && desc->fixed_size &&
	    epf_bar->size != desc->fixed_size) {
		dev_err(dev, "BAR%d: %zu bytes, but its size is fixed at %llu\n",
			epf_bar->barno, epf_bar->size, desc->fixed_size);
		return -EINVAL;
	}
	if (desc->only_64bit &&
	    !(epf_bar->flags & PCI_BASE_ADDRESS_MEM_TYPE_64)) {
		dev_err(dev, "BAR%d: can only be a 64-bit BAR\n", epf_bar->barno);
		return -EINVAL;
	}
	return 0;
}

static int epc_loop_check_bar(struct epc_loop *lepc, struct pci_epf_bar *epf_bar)
{
	struct device *dev = &lepc->pdev->dev;
	phys_addr_t phys = epf_bar->phys_addr;
	u64 size = epf_bar->size;
	int ret;

	ret = epc_loop_check_bar_desc(lepc, epf_bar);
	if (ret)
		return ret;
	if (epf_bar->flags & PCI_BASE_ADDRESS_SPACE_IO) {
		dev_err(dev, "BAR%d: I/O BARs are not supported\n", epf_bar->barno);
		return -EINVAL;
	}
	if (!is_power_of_2(size) || !IS_ALIGNED(phys, size)) {
		dev_err(dev, "BAR%d: %llu bytes at %pa: not a naturally aligned power of two\n",
			epf_bar->barno, size, &phys);
		return -EINVAL;
	}
	/* The host reaches BAR memory through the alias of RAM only */
	if (!epc_loop_ram_range(phys, size) || phys + size > lepc->host->alias_size) {
		dev_err(dev, "BAR%d: memory at %pa is not RAM inside the alias window\n",
			epf_bar->barno, &phys);
		return -EINVAL;
	}
	if (!(epf_bar->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) &&
	    upper_32_bits(phys + size - 1)) {
		dev_err(dev, "BAR%d: 32-bit BAR above 4 GiB\n", epf_bar->barno);
		return -EINVAL;
	}
	return 0;
}

static int epc_loop_set_bar(struct pci_epc *epc, u8 fn, u8 vfn,
			    struct pci_epf_bar *epf_bar)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	struct epc_loop_func *func = &lepc->funcs[fn];
	enum pci_barno barno = epf_bar->barno;
	unsigned long flags;
	int ret;

	if (vfn)
		return -EINVAL;
	ret = epc_loop_check_bar(lepc, epf_bar);
	if (ret)
		return ret;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	/* A 64-bit BAR takes the next one as its upper half */
	if ((epf_bar->flags & PCI_BASE_ADDRESS_MEM_TYPE_64) &&
	    func->bar[barno + 1].size) {
		ret = -EBUSY;
	} else if (barno > 0 && !func->bar[barno].size &&
		   func->bar[barno - 1].flags & PCI_BASE_ADDRESS_MEM_TYPE_64) {
		ret = -EBUSY;
	} else {
		func->bar[barno] = (struct epc_loop_bar) {
			.size		= epf_bar->size,
			.bus_addr	= epf_bar->phys_addr,
			.virt		= epf_bar->addr,
			.flags		= epf_bar->flags,
		};
	}
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	return ret;
}

/**
 * epc_loop_func_reset() - return a function's emulated state to power-on
 * @lepc: the controller
 * @fn: function number
 *
 * Header, BARs, capabilities and what the host wrote are forgotten, so that
 * the next function bound at this number starts from a clean slate.
 */
void epc_loop_func_reset(struct epc_loop *lepc, u8 fn)
{
	struct epc_loop_func *func = &lepc->funcs[fn];
	unsigned long *pending;
	unsigned long flags;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	pending = func->msix.pending;
	memset(func, 0, sizeof(*func));
	func->msi.mmc = U8_MAX;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	bitmap_free(pending);
}

/*
 * A BAR's memory is freed by the function once this returns, while the
 * host could still write to it through the alias. Take the function away
 * from the host first, as a surprise removal, and wait until the host-side
 * device is gone. The function shows again when it writes its header.
 */
static void epc_loop_clear_bar(struct pci_epc *epc, u8 fn, u8 vfn,
			       struct pci_epf_bar *epf_bar)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	struct epc_loop_func *func = &lepc->funcs[fn];
	bool bars_left = false;
	unsigned long flags;
	int i;

	if (vfn)
		return;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	func->has_header = false;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);

	epc_loop_disconnect(lepc, fn);
	epc_loop_host_sync(lepc->host);

	raw_spin_lock_irqsave(&lepc->lock, flags);
	memset(&func->bar[epf_bar->barno], 0, sizeof(func->bar[0]));
	for (i = 0; i < PCI_STD_NUM_BARS; i++)
		bars_left |= func->bar[i].size != 0;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);

	/* A function that gave up its last BAR is gone: forget its setup */
	if (!bars_left)
		epc_loop_func_reset(lepc, fn);
}

/*
 * How the endpoint core counts vectors in the MSI and MSI-X ops: Linux
 * 6.12 passes log2 of the MSI vector count (the MMC field) and expects the
 * MSI-X table size minus one back; newer kernels pass and expect counts.
 */
#ifdef EPC_LOOP_EPC_OPS_COUNT_VECTORS
static u8 epc_loop_msi_mmc(u8 nr)
{
	return nr ? order_base_2(nr) : U8_MAX;
}

static int epc_loop_msi_count(u8 qsize)
{
	return 1 << qsize;
}

static int epc_loop_msix_count(u16 nr)
{
	return nr;
}
#else
static u8 epc_loop_msi_mmc(u8 mmc)
{
	return mmc;
}

static int epc_loop_msi_count(u8 qsize)
{
	return qsize;
}

static int epc_loop_msix_count(u16 nr)
{
	return nr - 1;
}
#endif

static int epc_loop_set_msi(struct pci_epc *epc, u8 fn, u8 vfn, u8 vectors)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	u8 mmc = epc_loop_msi_mmc(vectors);
	unsigned long flags;

	/* mmc is log2 of the vector count: at most 32 vectors */
	if (vfn || mmc > 5 || !lepc->profile->features.msi_capable)
		return -EINVAL;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	lepc->funcs[fn].msi.mmc = mmc;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	return 0;
}

static int epc_loop_get_msi(struct pci_epc *epc, u8 fn, u8 vfn)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	struct epc_loop_msi *msi = &lepc->funcs[fn].msi;
	unsigned long flags;
	int ret = -EINVAL;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (!vfn && msi->mmc != U8_MAX && (msi->ctrl & PCI_MSI_FLAGS_ENABLE))
		ret = epc_loop_msi_count(FIELD_GET(PCI_MSI_FLAGS_QSIZE,
						   msi->ctrl));
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	return ret;
}

static int epc_loop_set_msix(struct pci_epc *epc, u8 fn, u8 vfn, u16 nr,
			     enum pci_barno bir, u32 offset)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	struct epc_loop_msix *msix = &lepc->funcs[fn].msix;
	unsigned long *pending, *old;
	unsigned long flags;

	/* The table and the PBA must be QWORD aligned in the BAR */
	if (vfn || !nr || nr > EPC_LOOP_MAX_MSIX || bir >= PCI_STD_NUM_BARS ||
	    !IS_ALIGNED(offset, 8) || !lepc->profile->features.msix_capable)
		return -EINVAL;

	pending = bitmap_zalloc(nr, GFP_KERNEL);
	if (!pending)
		return -ENOMEM;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	old = msix->pending;
	msix->pending = pending;
	msix->nr = nr;
	msix->bir = bir;
	msix->table_offset = offset;
	msix->pba_offset = ALIGN(offset + nr * PCI_MSIX_ENTRY_SIZE, 8);
	msix->ctrl = 0;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);

	bitmap_free(old);
	return 0;
}

static int epc_loop_get_msix(struct pci_epc *epc, u8 fn, u8 vfn)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	struct epc_loop_msix *msix = &lepc->funcs[fn].msix;
	unsigned long flags;
	int ret = -EINVAL;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (!vfn && msix->nr && (msix->ctrl & PCI_MSIX_FLAGS_ENABLE))
		ret = epc_loop_msix_count(msix->nr);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	return ret;
}

static int epc_loop_raise_irq(struct pci_epc *epc, u8 fn, u8 vfn,
			      unsigned int type, u16 num)
{
	struct epc_loop *lepc = to_epc_loop(epc);

	if (vfn)
		return -EINVAL;
	if (type == PCI_IRQ_INTX && !lepc->profile->features.intx_capable) {
		dev_err_ratelimited(&lepc->pdev->dev,
				    "this controller cannot raise INTx\n");
		return -EINVAL;
	}
	/* A DesignWare controller writes MSI messages through a window */
	if (type != PCI_IRQ_INTX && lepc->profile->ob_windows &&
	    READ_ONCE(lepc->nr_maps) >= lepc->profile->ob_windows) {
		dev_err_ratelimited(&lepc->pdev->dev,
				    "no free outbound window to send an MSI\n");
		return -EINVAL;
	}
	/* PCIe ordering: the writes before the interrupt reach the host first */
	epc_loop_windows_sync(lepc, fn);
	return epc_loop_irq_raise(lepc, fn, type, num);
}

/*
 * An outbound window maps host addresses aligned to an iATU region: map
 * the region around the range, and tell where the range starts in it.
 */
static u64 epc_loop_align_addr(struct pci_epc *epc, u64 pci_addr,
			       size_t *size, size_t *offset)
{
	size_t align = to_epc_loop(epc)->profile->window_align;

	if (!align) {
		*offset = 0;
		return pci_addr;
	}
	*offset = pci_addr & (align - 1);
	*size = ALIGN(*offset + *size, align);
	return pci_addr - *offset;
}

static void *epc_loop_window_virt(struct epc_loop *lepc, phys_addr_t phys,
				  size_t size)
{
	int i;

	for (i = 0; i < EPC_LOOP_WINDOWS; i++) {
		struct pci_epc_mem_window *win = &lepc->windows[i];

		if (phys >= win->phys_base &&
		    phys + size <= win->phys_base + win->size)
			return page_address(lepc->win_pages[i]) +
			       (phys - win->phys_base);
	}
	return NULL;
}

static void epc_loop_window_map_free(struct epc_loop_window_map *map)
{
	bitmap_free(map->dirty);
	kvfree(map->snapshot);
	kfree(map);
}

static int epc_loop_map_addr(struct pci_epc *epc, u8 fn, u8 vfn,
			     phys_addr_t phys, u64 pci_addr, size_t size)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	struct epc_loop_window_map *map;
	unsigned long flags;
	void *virt;

	virt = epc_loop_window_virt(lepc, phys, size);
	if (vfn || !virt)
		return -EINVAL;
	/* As an iATU would: a region starts on its alignment, both sides */
	if (lepc->profile->window_align &&
	    (!IS_ALIGNED(pci_addr, lepc->profile->window_align) ||
	     !IS_ALIGNED(phys, lepc->profile->window_align))) {
		dev_err_ratelimited(&lepc->pdev->dev,
				    "cannot map %#llx (+%zu) at %pa: not aligned to %zu\n",
				    pci_addr, size, &phys,
				    lepc->profile->window_align);
		return -EINVAL;
	}
	/*
	 * Only host RAM can be bounced, anything else has no kernel mapping;
	 * and only what the host's IOMMU lets the controller reach
	 */
	if (!epc_loop_host_reachable(lepc, pci_addr, size)) {
		dev_err_ratelimited(&lepc->pdev->dev,
				    "cannot map host address %#llx (+%zu): not RAM, or not mapped by the IOMMU\n",
				    pci_addr, size);
		return -EINVAL;
	}
	if (!READ_ONCE(lepc->link_up))
		return -ENOLINK;

	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return -ENOMEM;
	map->snapshot = kvmalloc(size, GFP_KERNEL);
	map->dirty = bitmap_zalloc(DIV_ROUND_UP(size, sizeof(u64)), GFP_KERNEL);
	if (!map->snapshot || !map->dirty) {
		epc_loop_window_map_free(map);
		return -ENOMEM;
	}
	map->fn = fn;
	map->phys = phys;
	map->pci_addr = pci_addr;
	map->size = size;
	map->virt = virt;
	memcpy(virt, phys_to_virt(pci_addr), size);
	memcpy(map->snapshot, virt, size);

	raw_spin_lock_irqsave(&lepc->lock, flags);
	/* An iATU has so many outbound regions */
	if (lepc->profile->ob_windows &&
	    lepc->nr_maps >= lepc->profile->ob_windows) {
		raw_spin_unlock_irqrestore(&lepc->lock, flags);
		epc_loop_window_map_free(map);
		dev_err_ratelimited(&lepc->pdev->dev,
				    "no free outbound window (%u in use)\n",
				    lepc->profile->ob_windows);
		return -EINVAL;
	}
	list_add(&map->node, &lepc->maps);
	WRITE_ONCE(lepc->nr_maps, lepc->nr_maps + 1);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	queue_delayed_work(system_wq, &lepc->windows_work, 1);
	return 0;
}

/* The 8-byte word @bit of a window, and its length (the last may be short) */
static size_t epc_loop_window_word(struct epc_loop_window_map *map, unsigned int bit,
				   size_t *len)
{
	size_t off = bit * sizeof(u64);

	*len = min(sizeof(u64), map->size - off);
	return off;
}

/*
 * Copy to the host what the function wrote since the last write-back, and
 * only that: the host's other bytes stay as the host left them. A link
 * delivers posted writes in order, so the host must never see the end of
 * a write (a completion entry's phase tag) before its beginning:
 *
 * - the window is read from the last word to the first, while the function
 *   may be writing it from the first to the last: a word found new means
 *   that the words the function wrote before it, below it, are new by the
 *   time they are read (x86 orders loads with loads, stores with stores);
 * - what changed is recorded, then delivered from the first word to the
 *   last.
 */
static void epc_loop_window_write_back(struct epc_loop_window_map *map)
{
	unsigned int nr = DIV_ROUND_UP(map->size, sizeof(u64)), bit;
	u8 *host = phys_to_virt(map->pci_addr);
	const u8 *now = map->virt;
	u8 *then = map->snapshot;
	size_t off, len;

	for (bit = nr; bit--; ) {
		off = epc_loop_window_word(map, bit, &len);
		if (memcmp(now + off, then + off, len)) {
			memcpy(then + off, now + off, len);
			__set_bit(bit, map->dirty);
		}
	}
	for_each_set_bit(bit, map->dirty, nr) {
		off = epc_loop_window_word(map, bit, &len);
		memcpy(host + off, then + off, len);
		__clear_bit(bit, map->dirty);
	}
}

/**
 * epc_loop_windows_sync() - deliver what functions wrote through windows
 * @lepc: the controller
 * @fn: the function whose windows to deliver, or -1 for all
 *
 * Called before the controller raises an interrupt, and from a periodic
 * work while windows are mapped: a posted write does not wait for an
 * unmap to reach the host.
 */
void epc_loop_windows_sync(struct epc_loop *lepc, int fn)
{
	struct epc_loop_window_map *map;
	unsigned long flags;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (lepc->link_up) {
		list_for_each_entry(map, &lepc->maps, node) {
			if (fn < 0 || map->fn == fn)
				epc_loop_window_write_back(map);
		}
	}
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
}

static void epc_loop_windows_work(struct work_struct *work)
{
	struct epc_loop *lepc = container_of(to_delayed_work(work),
					     struct epc_loop, windows_work);

	epc_loop_windows_sync(lepc, -1);
	if (!list_empty_careful(&lepc->maps))
		queue_delayed_work(system_wq, &lepc->windows_work, 1);
}

static void epc_loop_unmap_addr(struct pci_epc *epc, u8 fn, u8 vfn,
				phys_addr_t phys)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	struct epc_loop_window_map *map, *found = NULL;
	unsigned long flags;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	list_for_each_entry(map, &lepc->maps, node) {
		if (map->phys == phys) {
			found = map;
			list_del(&map->node);
			WRITE_ONCE(lepc->nr_maps, lepc->nr_maps - 1);
			if (lepc->link_up)
				epc_loop_window_write_back(map);
			break;
		}
	}
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	if (found)
		epc_loop_window_map_free(found);
}

static int epc_loop_start(struct pci_epc *epc)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	unsigned long flags;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	lepc->started = true;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	epc_loop_link_set(lepc);
	return 0;
}

static void epc_loop_stop(struct pci_epc *epc)
{
	struct epc_loop *lepc = to_epc_loop(epc);
	unsigned long flags;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	lepc->started = false;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	epc_loop_link_set(lepc);
}

static const struct pci_epc_features *
epc_loop_get_features(struct pci_epc *epc, u8 fn, u8 vfn)
{
	return &to_epc_loop(epc)->profile->features;
}

const struct pci_epc_ops epc_loop_ops = {
	.write_header	= epc_loop_write_header,
	.set_bar	= epc_loop_set_bar,
	.clear_bar	= epc_loop_clear_bar,
	.align_addr	= epc_loop_align_addr,
	.map_addr	= epc_loop_map_addr,
	.unmap_addr	= epc_loop_unmap_addr,
	.set_msi	= epc_loop_set_msi,
	.get_msi	= epc_loop_get_msi,
	.set_msix	= epc_loop_set_msix,
	.get_msix	= epc_loop_get_msix,
	.raise_irq	= epc_loop_raise_irq,
	.start		= epc_loop_start,
	.stop		= epc_loop_stop,
	.get_features	= epc_loop_get_features,
	.owner		= THIS_MODULE,
};

/**
 * epc_loop_windows_init() - allocate and declare the outbound windows
 * @lepc: the controller, with its EPC created
 *
 * Return: 0 or a negative error code.
 */
int epc_loop_windows_init(struct epc_loop *lepc)
{
	int i, ret;

	INIT_DELAYED_WORK(&lepc->windows_work, epc_loop_windows_work);
	for (i = 0; i < EPC_LOOP_WINDOWS; i++) {
		struct page *page = alloc_pages(GFP_KERNEL | __GFP_ZERO,
						EPC_LOOP_WINDOW_ORDER);

		if (!page) {
			ret = -ENOMEM;
			goto err_free;
		}
		lepc->win_pages[i] = page;
		lepc->windows[i] = (struct pci_epc_mem_window) {
			.phys_base	= lepc->host->alias_base + page_to_phys(page),
			.size		= PAGE_SIZE << EPC_LOOP_WINDOW_ORDER,
			.page_size	= max_t(size_t, PAGE_SIZE,
						lepc->profile->window_align),
		};
	}

	ret = pci_epc_multi_mem_init(lepc->epc, lepc->windows, EPC_LOOP_WINDOWS);
	if (!ret)
		return 0;
err_free:
	while (i--) {
		__free_pages(lepc->win_pages[i], EPC_LOOP_WINDOW_ORDER);
		lepc->win_pages[i] = NULL;
	}
	return ret;
}

/**
 * epc_loop_windows_exit() - release the outbound windows
 * @lepc: the controller
 */
void epc_loop_windows_exit(struct epc_loop *lepc)
{
	struct epc_loop_window_map *map, *tmp;
	int i;

	cancel_delayed_work_sync(&lepc->windows_work);
	pci_epc_mem_exit(lepc->epc);
	list_for_each_entry_safe(map, tmp, &lepc->maps, node) {
		list_del(&map->node);
		epc_loop_window_map_free(map);
	}
	lepc->nr_maps = 0;
	for (i = 0; i < EPC_LOOP_WINDOWS; i++)
		__free_pages(lepc->win_pages[i], EPC_LOOP_WINDOW_ORDER);
}
