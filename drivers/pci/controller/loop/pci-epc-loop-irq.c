// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller: interrupts from the functions to the
 * host-side drivers.
 *
 * The virtual bus has an MSI domain of its own, as vmd.c does for its
 * domain. Each message it composes carries the bus-wide hwirq of its vector
 * in the data field, so raising a vector works as in hardware: read the
 * message the host programmed (MSI capability or MSI-X table in the BAR),
 * honour the masks, then "write" it, which here means looking the hwirq up
 * and handling it. Handling happens from an irq_work, that is in hard
 * interrupt context, as a real MSI would be. INTx uses a small linear
 * domain, one hwirq per function.
 */

#include <linux/bitfield.h>
#include <linux/bitmap.h>
#include <linux/irq.h>
#ifdef EPC_LOOP_MSI_PARENT
#include <linux/irqchip/irq-msi-lib.h>
#endif
#include <linux/irqdomain.h>
#include <linux/msi.h>
#include <linux/pci.h>

#include "pci-epc-loop.h"

static struct epc_loop_host *epc_loop_bus_host(struct pci_bus *bus)
{
	return container_of(bus->sysdata, struct epc_loop_host, sysdata);
}

static unsigned int epc_loop_intx_hwirq(unsigned int slot, unsigned int fn)
{
	return slot * EPC_LOOP_MAX_FUNCS + fn;
}

/* Hard interrupt context: hand every pending hwirq to its handler */
static void epc_loop_irq_work(struct irq_work *work)
{
	struct epc_loop_host *host = container_of(work, struct epc_loop_host, irq_work);
	unsigned int hwirq;

	for_each_set_bit(hwirq, host->msi_pending, EPC_LOOP_MSI_HWIRQS)
		if (test_and_clear_bit(hwirq, host->msi_pending))
			generic_handle_domain_irq(host->msi_domain, hwirq);

	for_each_set_bit(hwirq, host->intx_pending, EPC_LOOP_INTX_HWIRQS)
		if (test_and_clear_bit(hwirq, host->intx_pending))
			generic_handle_domain_irq(host->intx_domain, hwirq);
}

/*
 * The memory write of an MSI or MSI-X message. A message that is not one of
 * ours, or whose vector belongs to another function, is dropped: on real
 * hardware it would be a stray write somewhere in host memory.
 */
static void epc_loop_msi_send(struct epc_loop *lepc, u8 fn, u64 addr, u32 data)
{
	struct epc_loop_host *host = lepc->host;
	struct irq_data *d = NULL;
	struct msi_desc *desc;
	struct pci_dev *pdev;
	unsigned int virq;

	if (addr == EPC_LOOP_MSI_ADDRESS && data < EPC_LOOP_MSI_HWIRQS) {
		virq = irq_find_mapping(host->msi_domain, data);
		d = virq ? irq_domain_get_irq_data(host->msi_domain, virq) : NULL;
	}
	desc = d ? irq_data_get_msi_desc(d) : NULL;
	pdev = desc ? msi_desc_to_pci_dev(desc) : NULL;
	if (!pdev || pdev->bus != host->bus ||
	    pdev->devfn != PCI_DEVFN(lepc->slot, fn)) {
		dev_warn_ratelimited(&lepc->pdev->dev,
				     "function %u: dropped MSI to %#llx data %#x\n",
				     fn, addr, data);
		return;
	}
	set_bit(data, host->msi_pending);
	irq_work_queue(&host->irq_work);
}

static __le32 *epc_loop_msix_entry(struct epc_loop_func *func, u16 vec)
{
	struct epc_loop_msix *msix = &func->msix;
	struct epc_loop_bar *bar = &func->bar[msix->bir];
	u64 offset = msix->table_offset + (u64)vec * PCI_MSIX_ENTRY_SIZE;

	if (!bar->virt || offset + PCI_MSIX_ENTRY_SIZE > bar->size)
		return NULL;
	return bar->virt + offset;
}

/* The Pending Bit Array lives in the BAR, next to the table */
static void epc_loop_msix_set_pba(struct epc_loop_func *func, u16 vec, bool pending)
{
	struct epc_loop_msix *msix = &func->msix;
	struct epc_loop_bar *bar = &func->bar[msix->bir];
	u64 offset = msix->pba_offset + vec / 64 * sizeof(u64);
	__le64 *word;
	u64 val;

	if (!bar->virt || offset + sizeof(u64) > bar->size)
		return;
	word = bar->virt + offset;
	val = le64_to_cpu(READ_ONCE(*word));
	if (pending)
		val |= BIT_ULL(vec % 64);
	else
		val &= ~BIT_ULL(vec % 64);
	WRITE_ONCE(*word, cpu_to_le64(val));
}

static bool epc_loop_msix_masked(struct epc_loop_func *func, __le32 *entry)
{
	u32 vctrl = le32_to_cpu(READ_ONCE(entry[PCI_MSIX_ENTRY_VECTOR_CTRL / 4]));

	return (func->msix.ctrl & PCI_MSIX_FLAGS_MASKALL) ||
	       (vctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void epc_loop_msix_fire(struct epc_loop *lepc, u8 fn, __le32 *entry)
{
	u64 addr = le32_to_cpu(READ_ONCE(entry[PCI_MSIX_ENTRY_LOWER_ADDR / 4])) |
		   (u64)le32_to_cpu(READ_ONCE(entry[PCI_MSIX_ENTRY_UPPER_ADDR / 4])) << 32;

	epc_loop_msi_send(lepc, fn, addr,
			  le32_to_cpu(READ_ONCE(entry[PCI_MSIX_ENTRY_DATA / 4])));
}

/* Read the masks of waiting MSI-X vectors again soon: see epc_loop_msix_work() */
static void epc_loop_msix_watch(struct epc_loop *lepc)
{
	queue_delayed_work(system_wq, &lepc->msix_work, 1);
}

static int epc_loop_raise_msix(struct epc_loop *lepc, u8 fn, u16 num)
{
	struct epc_loop_func *func = &lepc->funcs[fn];
	struct epc_loop_msix *msix = &func->msix;
	__le32 *entry;

	if (!(msix->ctrl & PCI_MSIX_FLAGS_ENABLE) || num < 1 || num > msix->nr)
		return -EINVAL;
	entry = epc_loop_msix_entry(func, num - 1);
	if (!entry)
		return -EINVAL;
	if (epc_loop_msix_masked(func, entry)) {
		set_bit(num - 1, msix->pending);
		epc_loop_msix_set_pba(func, num - 1, true);
		epc_loop_msix_watch(lepc);
		return 0;
	}
	epc_loop_msix_fire(lepc, fn, entry);
	return 0;
}

/* Multiple messages differ in the low bits of the data */
static u32 epc_loop_msi_data(struct epc_loop_msi *msi, u32 vec)
{
	unsigned int nvec = 1 << FIELD_GET(PCI_MSI_FLAGS_QSIZE, msi->ctrl);

	return (msi->data & ~(nvec - 1)) | vec;
}

static int epc_loop_raise_msi(struct epc_loop *lepc, u8 fn, u16 num)
{
	struct epc_loop_msi *msi = &lepc->funcs[fn].msi;
	unsigned int nvec = 1 << FIELD_GET(PCI_MSI_FLAGS_QSIZE, msi->ctrl);
	u32 vec = num - 1;

	if (!(msi->ctrl & PCI_MSI_FLAGS_ENABLE) || num < 1 || num > nvec)
		return -EINVAL;
	if (msi->mask & BIT(vec)) {
		msi->pending |= BIT(vec);
		return 0;
	}
	epc_loop_msi_send(lepc, fn, msi->addr, epc_loop_msi_data(msi, vec));
	return 0;
}

static int epc_loop_raise_intx(struct epc_loop *lepc, u8 fn)
{
	struct epc_loop_func *func = &lepc->funcs[fn];

	if (!func->hdr.interrupt_pin)
		return -EINVAL;
	if (func->command & PCI_COMMAND_INTX_DISABLE) {
		func->intx_pending = true;
		return 0;
	}
	set_bit(epc_loop_intx_hwirq(lepc->slot, fn), lepc->host->intx_pending);
	irq_work_queue(&lepc->host->irq_work);
	return 0;
}

/**
 * epc_loop_irq_raise() - raise an interrupt of a function towards the host
 * @lepc: the controller
 * @fn: function number
 * @type: PCI_IRQ_INTX, PCI_IRQ_MSI or PCI_IRQ_MSIX
 * @num: MSI or MSI-X vector, 1-based
 *
 * Return: 0 when the interrupt was sent or left pending under a mask,
 * -ENOLINK when the host cannot see the function, -EIO when the host has
 * not enabled bus mastering (a message is a memory write), -EINVAL for a
 * vector or type the host did not enable.
 */
int epc_loop_irq_raise(struct epc_loop *lepc, u8 fn, unsigned int type, u16 num)
{
	struct epc_loop_func *func = &lepc->funcs[fn];
	unsigned long flags;
	int ret;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (!epc_loop_func_visible(lepc, func))
		ret = -ENOLINK;
	else if (type == PCI_IRQ_INTX)
		ret = epc_loop_raise_intx(lepc, fn);
	else if (!(func->command & PCI_COMMAND_MASTER))
		ret = -EIO;
	else if (type == PCI_IRQ_MSI)
		ret = epc_loop_raise_msi(lepc, fn, num);
	else if (type == PCI_IRQ_MSIX)
		ret = epc_loop_raise_msix(lepc, fn, num);
	else
		ret = -EINVAL;
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
	return ret;
}

/* Send what waited under masks the host lifted; true if MSI-X vectors still wait */
static bool epc_loop_send_unmasked(struct epc_loop *lepc, u8 fn)
{
	struct epc_loop_func *func = &lepc->funcs[fn];
	struct epc_loop_msix *msix = &func->msix;
	struct epc_loop_msi *msi = &func->msi;
	bool waiting = false;
	unsigned int vec;
	__le32 *entry;

	lockdep_assert_held(&lepc->lock);
	if ((msi->ctrl & PCI_MSI_FLAGS_ENABLE) && (msi->pending & ~msi->mask)) {
		u32 ready = msi->pending & ~msi->mask;

		msi->pending &= ~ready;
		for_each_set_bit(vec, (unsigned long *)&ready, 32)
			epc_loop_msi_send(lepc, fn, msi->addr,
					  epc_loop_msi_data(msi, vec));
	}
	if (!msix->nr || !(msix->ctrl & PCI_MSIX_FLAGS_ENABLE))
		return false;
	for_each_set_bit(vec, msix->pending, msix->nr) {
		entry = epc_loop_msix_entry(func, vec);
		if (!entry || epc_loop_msix_masked(func, entry)) {
			waiting = true;
			continue;
		}
		clear_bit(vec, msix->pending);
		epc_loop_msix_set_pba(func, vec, false);
		epc_loop_msix_fire(lepc, fn, entry);
	}
	return waiting;
}

/**
 * epc_loop_irq_msi_unmasked() - send vectors that fired while masked
 * @lepc: the controller
 * @fn: the function whose MSI or MSI-X masks the host lifted
 *
 * Called from configuration writes and from the MSI chip's unmask, both
 * atomic.
 */
void epc_loop_irq_msi_unmasked(struct epc_loop *lepc, u8 fn)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	/* Vectors still masked: MSI-X enabled again, or another one unmasked */
	if (epc_loop_send_unmasked(lepc, fn))
		epc_loop_msix_watch(lepc);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
}

/*
 * A device sees the host's write that clears an MSI-X vector's mask and
 * sends what waited at once. The table here is memory that the controller
 * cannot watch: the host kernel's irq_unmask tells it (epc_loop_msi_unmask()),
 * but not every unmask goes through that (Linux 7.3 unmasks in irq_startup
 * at request_irq(); user space can write the BAR). So while a vector waits,
 * its mask is read again every jiffy.
 */
static void epc_loop_msix_work(struct work_struct *work)
{
	struct epc_loop *lepc = container_of(to_delayed_work(work),
					     struct epc_loop, msix_work);
	bool waiting = false;
	unsigned long flags;
	u8 fn;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	for (fn = 0; fn < EPC_LOOP_MAX_FUNCS; fn++)
		if (epc_loop_send_unmasked(lepc, fn))
			waiting = true;
	if (waiting)
		epc_loop_msix_watch(lepc);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
}

/**
 * epc_loop_irq_ctrl_init() - set up a controller's interrupt state
 * @lepc: the controller
 */
void epc_loop_irq_ctrl_init(struct epc_loop *lepc)
{
	INIT_DELAYED_WORK(&lepc->msix_work, epc_loop_msix_work);
}

/**
 * epc_loop_irq_ctrl_exit() - stop looking for unmasked MSI-X vectors
 * @lepc: the controller, its functions' link down
 */
void epc_loop_irq_ctrl_exit(struct epc_loop *lepc)
{
	disable_delayed_work_sync(&lepc->msix_work);
}

/**
 * epc_loop_irq_intx_enabled() - send an INTx that fired while INTx was disabled
 * @lepc: the controller
 * @fn: the function whose Interrupt Disable bit the host cleared
 */
void epc_loop_irq_intx_enabled(struct epc_loop *lepc, u8 fn)
{
	struct epc_loop_func *func = &lepc->funcs[fn];
	unsigned long flags;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (func->intx_pending) {
		func->intx_pending = false;
		set_bit(epc_loop_intx_hwirq(lepc->slot, fn), lepc->host->intx_pending);
		irq_work_queue(&lepc->host->irq_work);
	}
	raw_spin_unlock_irqrestore(&lepc->lock, flags);
}

static int epc_loop_irq_retrigger(struct irq_data *d)
{
	struct epc_loop_host *host = irq_data_get_irq_chip_data(d);

	if (d->domain == host->msi_domain)
		set_bit(d->hwirq, host->msi_pending);
	else
		set_bit(d->hwirq, host->intx_pending);
	irq_work_queue(&host->irq_work);
	return 1;
}

static void epc_loop_msi_compose(struct irq_data *d, struct msi_msg *msg)
{
	msg->address_lo = EPC_LOOP_MSI_ADDRESS;
	msg->address_hi = 0;
	msg->data = d->hwirq;
}

/* MSI-X masks live in the BAR: check for vectors left pending there */
static void epc_loop_msi_unmask(struct irq_data *d)
{
	struct msi_desc *desc = irq_data_get_msi_desc(d);
	struct pci_dev *pdev = msi_desc_to_pci_dev(desc);
	struct epc_loop_host *host = epc_loop_bus_host(pdev->bus);

	pci_msi_unmask_irq(d);
	if (desc->pci.msi_attrib.is_msix && PCI_SLOT(pdev->devfn) < host->nr_epcs)
		epc_loop_irq_msi_unmasked(host->epcs[PCI_SLOT(pdev->devfn)],
					  PCI_FUNC(pdev->devfn));
}

/*
 * hwirqs are handed out in blocks of @nvec aligned to the next power of
 * two, so that multiple-message MSI can OR the vector number into the
 * data, as PCI requires. Returns EPC_LOOP_MSI_HWIRQS or more if none is
 * left.
 */
static unsigned long epc_loop_msi_hwirqs_get(struct epc_loop_host *host,
					     unsigned int nvec)
{
	unsigned long flags, hwirq;

	raw_spin_lock_irqsave(&host->hwirq_lock, flags);
	hwirq = bitmap_find_next_zero_area(host->hwirq_map, EPC_LOOP_MSI_HWIRQS, 0,
					   nvec, roundup_pow_of_two(nvec) - 1);
	if (hwirq < EPC_LOOP_MSI_HWIRQS)
		bitmap_set(host->hwirq_map, hwirq, nvec);
	raw_spin_unlock_irqrestore(&host->hwirq_lock, flags);
	return hwirq;
}

static void epc_loop_msi_hwirq_put(struct epc_loop_host *host,
				   unsigned long hwirq)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&host->hwirq_lock, flags);
	clear_bit(hwirq, host->hwirq_map);
	raw_spin_unlock_irqrestore(&host->hwirq_lock, flags);
}

#ifdef EPC_LOOP_MSI_PARENT
/*
 * Newer kernels: the bus's domain is an MSI parent, and the PCI core puts
 * a per-device MSI domain of its own on top of it (as for vmd.c). The
 * parent hands out the hwirqs and composes the messages; the device
 * domain writes them to the function and masks at the PCI level.
 */
static void epc_loop_msi_nop(struct irq_data *d)
{
}

static int epc_loop_msi_alloc(struct irq_domain *domain, unsigned int virq,
			      unsigned int nr_irqs, void *arg)
{
	struct epc_loop_host *host = domain->host_data;
	unsigned long hwirq;
	unsigned int i;

	hwirq = epc_loop_msi_hwirqs_get(host, nr_irqs);
	if (hwirq >= EPC_LOOP_MSI_HWIRQS)
		return -ENOSPC;
	for (i = 0; i < nr_irqs; i++)
		irq_domain_set_info(domain, virq + i, hwirq + i, &host->msi_chip,
				    host, handle_simple_irq, NULL, NULL);
	return 0;
}

static void epc_loop_msi_free(struct irq_domain *domain, unsigned int virq,
			      unsigned int nr_irqs)
{
	struct epc_loop_host *host = domain->host_data;
	struct irq_data *d;
	unsigned int i;

	for (i = 0; i < nr_irqs; i++) {
		d = irq_domain_get_irq_data(domain, virq + i);
		epc_loop_msi_hwirq_put(host, d->hwirq);
	}
}

static const struct irq_domain_ops epc_loop_msi_domain_ops = {
	.alloc	= epc_loop_msi_alloc,
	.free	= epc_loop_msi_free,
};

/* The device domain's chip: unmasking an MSI-X vector sends what waited */
static bool epc_loop_init_dev_msi_info(struct device *dev,
				       struct irq_domain *domain,
				       struct irq_domain *real_parent,
				       struct msi_domain_info *info)
{
	if (!msi_lib_init_dev_msi_info(dev, domain, real_parent, info))
		return false;
	info->chip->irq_unmask = epc_loop_msi_unmask;
	return true;
}

static const struct msi_parent_ops epc_loop_msi_parent_ops = {
	.supported_flags	= MSI_GENERIC_FLAGS_MASK | MSI_FLAG_PCI_MSIX |
				  MSI_FLAG_MULTI_PCI_MSI,
	.required_flags		= MSI_FLAG_USE_DEF_DOM_OPS |
				  MSI_FLAG_USE_DEF_CHIP_OPS |
				  MSI_FLAG_NO_AFFINITY,
	.bus_select_token	= DOMAIN_BUS_NEXUS,
	.bus_select_mask	= MATCH_PCI_MSI,
	.prefix			= "loop-",
	.init_dev_msi_info	= epc_loop_init_dev_msi_info,
};

static int epc_loop_msi_domain_create(struct epc_loop_host *host)
{
	struct irq_domain_info info = {
		.size		= EPC_LOOP_MSI_HWIRQS,
		.hwirq_max	= EPC_LOOP_MSI_HWIRQS,
		.ops		= &epc_loop_msi_domain_ops,
		.host_data	= host,
	};

	host->msi_chip = (struct irq_chip) {
		.name			= "loop-MSI",
		.irq_mask		= epc_loop_msi_nop,
		.irq_unmask		= epc_loop_msi_nop,
		.irq_compose_msi_msg	= epc_loop_msi_compose,
		.irq_retrigger		= epc_loop_irq_retrigger,
	};

	info.fwnode = irq_domain_alloc_named_fwnode(dev_name(&host->pdev->dev));
	if (!info.fwnode)
		return -ENOMEM;
	host->msi_domain =
		msi_create_parent_irq_domain(&info, &epc_loop_msi_parent_ops);
	if (!host->msi_domain) {
		irq_domain_free_fwnode(info.fwnode);
		return -ENOMEM;
	}
	return 0;
}
#else
/* Linux 6.12: the bus's domain is the PCI/MSI domain itself */
static irq_hw_number_t epc_loop_msi_get_hwirq(struct msi_domain_info *info,
					      msi_alloc_info_t *arg)
{
	return epc_loop_msi_hwirqs_get(info->chip_data, arg->desc->nvec_used);
}

static int epc_loop_msi_init(struct irq_domain *domain,
			     struct msi_domain_info *info, unsigned int virq,
			 irq_hw_number_t hwirq, msi_alloc_info_t *arg)
{
	if (hwirq >= EPC_LOOP_MSI_HWIRQS)
		return -ENOSPC;
	irq_domain_set_info(domain, virq, hwirq, info->chip, info->chip_data,
			    handle_simple_irq, NULL, NULL);
	return 0;
}

static void epc_loop_msi_free(struct irq_domain *domain,
			      struct msi_domain_info *info, unsigned int virq)
{
	struct irq_data *d = irq_domain_get_irq_data(domain, virq);

	epc_loop_msi_hwirq_put(info->chip_data, d->hwirq);
}

static void epc_loop_msi_set_desc(msi_alloc_info_t *arg, struct msi_desc *desc)
{
	arg->desc = desc;
}

static struct msi_domain_ops epc_loop_msi_ops = {
	.get_hwirq	= epc_loop_msi_get_hwirq,
	.msi_init	= epc_loop_msi_init,
	.msi_free	= epc_loop_msi_free,
	.set_desc	= epc_loop_msi_set_desc,
};

static int epc_loop_msi_domain_create(struct epc_loop_host *host)
{
	struct fwnode_handle *fwnode;

	host->msi_chip = (struct irq_chip) {
		.name			= "loop-MSI",
		.irq_mask		= pci_msi_mask_irq,
		.irq_unmask		= epc_loop_msi_unmask,
		.irq_compose_msi_msg	= epc_loop_msi_compose,
		.irq_retrigger		= epc_loop_irq_retrigger,
	};
	host->msi_info = (struct msi_domain_info) {
		.flags		= MSI_FLAG_USE_DEF_DOM_OPS |
				  MSI_FLAG_USE_DEF_CHIP_OPS |
				  MSI_FLAG_NO_AFFINITY | MSI_FLAG_PCI_MSIX |
				  MSI_FLAG_MULTI_PCI_MSI,
		.ops		= &epc_loop_msi_ops,
		.chip		= &host->msi_chip,
		.chip_data	= host,
	};

	fwnode = irq_domain_alloc_named_fwnode(dev_name(&host->pdev->dev));
	if (!fwnode)
		return -ENOMEM;
	host->msi_domain = pci_msi_create_irq_domain(fwnode, &host->msi_info,
						     NULL);
	if (!host->msi_domain) {
		irq_domain_free_fwnode(fwnode);
		return -ENOMEM;
	}
	return 0;
}
#endif

static void epc_loop_intx_nop(struct irq_data *d)
{
}

static struct irq_chip epc_loop_intx_chip = {
	.name		= "loop-INTx",
	.irq_mask	= epc_loop_intx_nop,
	.irq_unmask	= epc_loop_intx_nop,
	.irq_retrigger	= epc_loop_irq_retrigger,
};

static int epc_loop_intx_map(struct irq_domain *domain, unsigned int virq,
			     irq_hw_number_t hwirq)
{
	irq_set_chip_and_handler(virq, &epc_loop_intx_chip, handle_simple_irq);
	irq_set_chip_data(virq, domain->host_data);
	return 0;
}

static const struct irq_domain_ops epc_loop_intx_domain_ops = {
	.map = epc_loop_intx_map,
};

/**
 * epc_loop_irq_map_intx() - the host bridge's map_irq: INTx of a function
 * @dev: the host-side device
 * @slot: its slot
 * @pin: its interrupt pin
 *
 * Return: the Linux interrupt of the function's INTx, or 0.
 */
int epc_loop_irq_map_intx(const struct pci_dev *dev, u8 slot, u8 pin)
{
	struct epc_loop_host *host = epc_loop_bus_host(dev->bus);

	return irq_create_mapping(host->intx_domain,
				  epc_loop_intx_hwirq(PCI_SLOT(dev->devfn),
						      PCI_FUNC(dev->devfn)));
}

/**
 * epc_loop_irq_init() - create the bus's MSI and INTx interrupt domains
 * @host: the loop host
 *
 * Return: 0 or a negative error code.
 */
int epc_loop_irq_init(struct epc_loop_host *host)
{
	struct fwnode_handle *fwnode;
	int ret;

	raw_spin_lock_init(&host->hwirq_lock);
	init_irq_work(&host->irq_work, epc_loop_irq_work);
	host->hwirq_map = bitmap_zalloc(EPC_LOOP_MSI_HWIRQS, GFP_KERNEL);
	host->msi_pending = bitmap_zalloc(EPC_LOOP_MSI_HWIRQS, GFP_KERNEL);
	if (!host->hwirq_map || !host->msi_pending) {
		ret = -ENOMEM;
		goto err_bitmaps;
	}

	ret = epc_loop_msi_domain_create(host);
	if (ret)
		goto err_bitmaps;

	fwnode = irq_domain_alloc_named_fwnode("loop-INTx");
	if (!fwnode) {
		ret = -ENOMEM;
		goto err_msi;
	}
	host->intx_domain = irq_domain_create_linear(fwnode, EPC_LOOP_INTX_HWIRQS,
						     &epc_loop_intx_domain_ops,
						     host);
	if (!host->intx_domain) {
		irq_domain_free_fwnode(fwnode);
		ret = -ENOMEM;
		goto err_msi;
	}
	return 0;

err_msi:
	fwnode = host->msi_domain->fwnode;
	irq_domain_remove(host->msi_domain);
	irq_domain_free_fwnode(fwnode);
err_bitmaps:
	bitmap_free(host->msi_pending);
	bitmap_free(host->hwirq_map);
	return ret;
}

/**
 * epc_loop_irq_exit() - remove the interrupt domains
 * @host: the loop host, whose bus is already gone
 */
void epc_loop_irq_exit(struct epc_loop_host *host)
{
	struct fwnode_handle *fwnode;
	unsigned int hwirq, virq;

	irq_work_sync(&host->irq_work);

	for (hwirq = 0; hwirq < EPC_LOOP_INTX_HWIRQS; hwirq++) {
		virq = irq_find_mapping(host->intx_domain, hwirq);
		if (virq)
			irq_dispose_mapping(virq);
	}
	fwnode = host->intx_domain->fwnode;
	irq_domain_remove(host->intx_domain);
	irq_domain_free_fwnode(fwnode);

	fwnode = host->msi_domain->fwnode;
	irq_domain_remove(host->msi_domain);
	irq_domain_free_fwnode(fwnode);

	bitmap_free(host->msi_pending);
	bitmap_free(host->hwirq_map);
}
