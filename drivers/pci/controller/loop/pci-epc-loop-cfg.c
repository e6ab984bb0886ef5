// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller: the virtual root bus and the emulated
 * configuration space of the endpoint functions.
 *
 * Configuration space is built from what each function told its controller
 * (header, BARs, MSI and MSI-X) and from what the host wrote (command
 * register, BAR sizing, capability control fields). BAR contents are not
 * emulated: the host reaches the function's BAR memory directly through the
 * RAM alias window.
 */

#include <linux/bitfield.h>
#include <linux/pci.h>
#include <linux/pci_regs.h>

#include "pci.h"
#include "pci-epc-loop.h"

/* Capability layout of every emulated function */
#define EPC_LOOP_CAP_PCIE		0x40
#define EPC_LOOP_CAP_MSI		0x80
#define EPC_LOOP_CAP_MSIX		0xa0

#define EPC_LOOP_COMMAND_RW	(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_PARITY | PCI_COMMAND_SERR | \
				 PCI_COMMAND_INTX_DISABLE)
#define EPC_LOOP_DEVCTL_RW	(PCI_EXP_DEVCTL_CERE | PCI_EXP_DEVCTL_NFERE | \
				 PCI_EXP_DEVCTL_FERE | PCI_EXP_DEVCTL_URRE | \
				 PCI_EXP_DEVCTL_RELAX_EN | PCI_EXP_DEVCTL_PAYLOAD | \
				 PCI_EXP_DEVCTL_NOSNOOP_EN | PCI_EXP_DEVCTL_READRQ)
#define EPC_LOOP_LNKCTL_RW	(PCI_EXP_LNKCTL_ASPMC | PCI_EXP_LNKCTL_RCB | \
				 PCI_EXP_LNKCTL_CCC | PCI_EXP_LNKCTL_ES)
/* What the link reports: 8 GT/s, x4, as on an RK3588 board */
#define EPC_LOOP_LINK_SPEED		PCI_EXP_LNKCAP_SLS_8_0GB
#define EPC_LOOP_LINK_WIDTH		4

static struct pci_ops epc_loop_pci_ops;

static struct epc_loop *epc_loop_bus_epc(struct pci_bus *bus, unsigned int devfn)
{
	struct epc_loop_host *host = bus->sysdata ?
		container_of(bus->sysdata, struct epc_loop_host, sysdata) : NULL;

	if (!host || bus->number || PCI_SLOT(devfn) >= host->nr_epcs)
		return NULL;
	return host->epcs[PCI_SLOT(devfn)];
}

/**
 * epc_loop_func_visible() - whether the host can see a function
 * @lepc: the controller
 * @func: one of its functions
 *
 * A function answers configuration requests once it wrote its header and
 * while its controller's link is up. Called with @lepc->lock held.
 */
bool epc_loop_func_visible(struct epc_loop *lepc, struct epc_loop_func *func)
{
	return lepc->link_up && func->has_header;
}

static bool epc_loop_multi_function(struct epc_loop *lepc)
{
	int fn;

	for (fn = 1; fn < EPC_LOOP_MAX_FUNCS; fn++)
		if (lepc->funcs[fn].has_header)
			return true;
	return false;
}

/* Capabilities are chained in a fixed order; absent ones are skipped */
static u8 epc_loop_cap_next(struct epc_loop_func *func, u8 cap)
{
	if (cap < EPC_LOOP_CAP_MSI && func->msi.mmc != U8_MAX)
		return EPC_LOOP_CAP_MSI;
	if (cap < EPC_LOOP_CAP_MSIX && func->msix.nr)
		return EPC_LOOP_CAP_MSIX;
	return 0;
}

static u32 epc_loop_bar_read(struct epc_loop_func *func, int idx)
{
	struct epc_loop_bar *bar = &func->bar[idx];
	u64 mask;

	if (!bar->size && idx > 0 &&
	    func->bar[idx - 1].flags & PCI_BASE_ADDRESS_MEM_TYPE_64) {
		bar = &func->bar[idx - 1];
		mask = ~(bar->size - 1);
		return upper_32_bits((bar->sizing & 2) ? mask : bar->bus_addr);
	}
	if (!bar->size)
		return 0;

	mask = ~(bar->size - 1);
	return lower_32_bits((bar->sizing & 1) ? mask : bar->bus_addr) |
	       (bar->flags & ~PCI_BASE_ADDRESS_MEM_MASK);
}

/*
 * BAR addresses are fixed: they are where the function's memory lies in
 * RAM. The host can size a BAR (write all ones, read the mask back); any
 * other write ends the sizing and leaves the address as it is.
 */
static void epc_loop_bar_write(struct epc_loop_func *func, int idx, u32 val)
{
	struct epc_loop_bar *bar = &func->bar[idx];
	u8 bit = 1;

	if (!bar->size && idx > 0 &&
	    func->bar[idx - 1].flags & PCI_BASE_ADDRESS_MEM_TYPE_64) {
		bar = &func->bar[idx - 1];
		bit = 2;
	}
	if (!bar->size)
		return;
	if (val == U32_MAX)
		bar->sizing |= bit;
	else
		bar->sizing &= ~bit;
}

static u32 epc_loop_pcie_read(struct epc_loop_func *func, int reg)
{
	switch (reg) {
	case 0:
		return PCI_CAP_ID_EXP | epc_loop_cap_next(func, EPC_LOOP_CAP_PCIE) << 8 |
		       (2 | PCI_EXP_TYPE_ENDPOINT << 4) << 16;
	case PCI_EXP_DEVCAP:
		/* 512-byte payloads, role-based error reporting, no FLR */
		return 2 | PCI_EXP_DEVCAP_RBER;
	case PCI_EXP_DEVCTL:
		return func->devctl;
	case PCI_EXP_LNKCAP:
		return EPC_LOOP_LINK_SPEED | EPC_LOOP_LINK_WIDTH << 4;
	case PCI_EXP_LNKCTL:
		return func->lnkctl |
		       (EPC_LOOP_LINK_SPEED | EPC_LOOP_LINK_WIDTH << 4) << 16;
	case PCI_EXP_LNKCAP2:
		return PCI_EXP_LNKCAP2_SLS_2_5GB | PCI_EXP_LNKCAP2_SLS_5_0GB |
		       PCI_EXP_LNKCAP2_SLS_8_0GB;
	case PCI_EXP_LNKCTL2:
		return EPC_LOOP_LINK_SPEED;
	default:
		return 0;
	}
}

static u32 epc_loop_msi_read(struct epc_loop_func *func, int reg)
{
	struct epc_loop_msi *msi = &func->msi;
	u16 ctrl;

	switch (reg) {
	case 0:
		ctrl = (msi->ctrl & (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE)) |
		       FIELD_PREP(PCI_MSI_FLAGS_QMASK, msi->mmc) |
		       PCI_MSI_FLAGS_64BIT | PCI_MSI_FLAGS_MASKBIT;
		return PCI_CAP_ID_MSI | epc_loop_cap_next(func, EPC_LOOP_CAP_MSI) << 8 |
		       ctrl << 16;
	case PCI_MSI_ADDRESS_LO:
		return lower_32_bits(msi->addr);
	case PCI_MSI_ADDRESS_HI:
		return upper_32_bits(msi->addr);
	case PCI_MSI_DATA_64:
		return msi->data;
	case PCI_MSI_MASK_64:
		return msi->mask;
	case PCI_MSI_PENDING_64:
		return msi->pending;
	default:
		return 0;
	}
}

static u32 epc_loop_msix_read(struct epc_loop_func *func, int reg)
{
	struct epc_loop_msix *msix = &func->msix;

	switch (reg) {
	case 0:
		return PCI_CAP_ID_MSIX | epc_loop_cap_next(func, EPC_LOOP_CAP_MSIX) << 8 |
		       ((msix->nr - 1) | msix->ctrl) << 16;
	case PCI_MSIX_TABLE:
		return msix->table_offset | msix->bir;
	case PCI_MSIX_PBA:
		return msix->pba_offset | msix->bir;
	default:
		return 0;
	}
}

static u32 epc_loop_cfg_read_dword(struct epc_loop *lepc, struct epc_loop_func *func,
				   int reg)
{
	struct pci_epf_header *hdr = &func->hdr;
	u16 status = PCI_STATUS_CAP_LIST;

	if (reg >= EPC_LOOP_CAP_MSIX && reg < EPC_LOOP_CAP_MSIX + PCI_CAP_MSIX_SIZEOF)
		return func->msix.nr ? epc_loop_msix_read(func, reg - EPC_LOOP_CAP_MSIX) : 0;
	if (reg >= EPC_LOOP_CAP_MSI && reg < EPC_LOOP_CAP_MSI + PCI_MSI_PENDING_64 + 4)
		return func->msi.mmc != U8_MAX ?
		       epc_loop_msi_read(func, reg - EPC_LOOP_CAP_MSI) : 0;
	if (reg >= EPC_LOOP_CAP_PCIE && reg < EPC_LOOP_CAP_PCIE + PCI_CAP_EXP_ENDPOINT_SIZEOF_V2)
		return epc_loop_pcie_read(func, reg - EPC_LOOP_CAP_PCIE);
	if (reg >= PCI_BASE_ADDRESS_0 && reg <= PCI_BASE_ADDRESS_5)
		return epc_loop_bar_read(func, (reg - PCI_BASE_ADDRESS_0) / 4);

	switch (reg) {
	case PCI_VENDOR_ID:
		return hdr->vendorid | hdr->deviceid << 16;
	case PCI_COMMAND:
		if (func->intx_pending)
			status |= PCI_STATUS_INTERRUPT;
		return func->command | status << 16;
	case PCI_CLASS_REVISION:
		return hdr->revid | hdr->progif_code << 8 |
		       hdr->subclass_code << 16 | hdr->baseclass_code << 24;
	case PCI_CACHE_LINE_SIZE:
		return hdr->cache_line_size |
		       (epc_loop_multi_function(lepc) ? 0x80 : 0) << 16;
	case PCI_SUBSYSTEM_VENDOR_ID:
		return hdr->subsys_vendor_id | hdr->subsys_id << 16;
	case PCI_CAPABILITY_LIST:
		return EPC_LOOP_CAP_PCIE;
	case PCI_INTERRUPT_LINE:
		return func->intx_line | hdr->interrupt_pin << 8;
	default:
		return 0;
	}
}

/* What a host write to the MSI capability changes; returns true to unmask */
static bool epc_loop_msi_write(struct epc_loop_func *func, int reg, u32 val)
{
	struct epc_loop_msi *msi = &func->msi;
	u16 ctrl;
	u32 old;

	switch (reg) {
	case 0:
		ctrl = val >> 16;
		/* MME cannot exceed what the function is capable of */
		if (FIELD_GET(PCI_MSI_FLAGS_QSIZE, ctrl) > msi->mmc)
			ctrl = (ctrl & ~PCI_MSI_FLAGS_QSIZE) |
			       FIELD_PREP(PCI_MSI_FLAGS_QSIZE, msi->mmc);
		msi->ctrl = ctrl & (PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE);
		return msi->pending && (msi->ctrl & PCI_MSI_FLAGS_ENABLE);
	case PCI_MSI_ADDRESS_LO:
		msi->addr = (msi->addr & ~0xffffffffULL) | (val & ~3U);
		return false;
	case PCI_MSI_ADDRESS_HI:
		msi->addr = lower_32_bits(msi->addr) | (u64)val << 32;
		return false;
	case PCI_MSI_DATA_64:
		msi->data = val;
		return false;
	case PCI_MSI_MASK_64:
		old = msi->mask;
		msi->mask = val;
		return old & ~val & msi->pending;
	default:
		return false;
	}
}

static bool epc_loop_msix_write(struct epc_loop_func *func, int reg, u32 val)
{
	struct epc_loop_msix *msix = &func->msix;
	u16 old = msix->ctrl;

	if (reg)
		return false;
	msix->ctrl = (val >> 16) & (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	/*
	 * Vectors that fired under the function mask go out when it lifts;
	 * those that wait under their own masks are looked at again once
	 * MSI-X is enabled again.
	 */
	return ((old & PCI_MSIX_FLAGS_MASKALL) &&
		!(msix->ctrl & PCI_MSIX_FLAGS_MASKALL)) ||
	       (!(old & PCI_MSIX_FLAGS_ENABLE) &&
		(msix->ctrl & PCI_MSIX_FLAGS_ENABLE));
}

struct epc_loop_cfg_effects {
	bool bus_master_enabled;
	bool intx_enabled;
	bool msi_unmasked;
};

static void epc_loop_cfg_write_dword(struct epc_loop_func *func, int reg, u32 val,
				     struct epc_loop_cfg_effects *fx)
{
	u16 old;

	if (reg >= EPC_LOOP_CAP_MSIX && reg < EPC_LOOP_CAP_MSIX + PCI_CAP_MSIX_SIZEOF) {
		if (func->msix.nr)
			fx->msi_unmasked = epc_loop_msix_write(func, reg - EPC_LOOP_CAP_MSIX, val);
		return;
	}
	if (reg >= EPC_LOOP_CAP_MSI && reg < EPC_LOOP_CAP_MSI + PCI_MSI_PENDING_64 + 4) {
		if (func->msi.mmc != U8_MAX)
			fx->msi_unmasked = epc_loop_msi_write(func, reg - EPC_LOOP_CAP_MSI, val);
		return;
	}
	if (reg >= PCI_BASE_ADDRESS_0 && reg <= PCI_BASE_ADDRESS_5) {
		epc_loop_bar_write(func, (reg - PCI_BASE_ADDRESS_0) / 4, val);
		return;
	}

	switch (reg) {
	case PCI_COMMAND:
		old = func->command;
		func->command = val & EPC_LOOP_COMMAND_RW;
		fx->bus_master_enabled = !(old & PCI_COMMAND_MASTER) &&
					 (func->command & PCI_COMMAND_MASTER);
		fx->intx_enabled = (old & PCI_COMMAND_INTX_DISABLE) &&
				   !(func->command & PCI_COMMAND_INTX_DISABLE);
		break;
	case PCI_INTERRUPT_LINE:
		func->intx_line = val;
		break;
	case EPC_LOOP_CAP_PCIE + PCI_EXP_DEVCTL:
		func->devctl = val & EPC_LOOP_DEVCTL_RW;
		break;
	case EPC_LOOP_CAP_PCIE + PCI_EXP_LNKCTL:
		func->lnkctl = val & EPC_LOOP_LNKCTL_RW;
		break;
	}
}

static int epc_loop_cfg_read(struct pci_bus *bus, unsigned int devfn, int where,
			     int size, u32 *val)
{
	struct epc_loop *lepc = epc_loop_bus_epc(bus, devfn);
	struct epc_loop_func *func;
	unsigned long flags;
	u32 dword;

	PCI_SET_ERROR_RESPONSE(val);
	if (!lepc)
		return PCIBIOS_DEVICE_NOT_FOUND;
	func = &lepc->funcs[PCI_FUNC(devfn)];

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (!epc_loop_func_visible(lepc, func)) {
		raw_spin_unlock_irqrestore(&lepc->lock, flags);
		return PCIBIOS_DEVICE_NOT_FOUND;
	}
	dword = epc_loop_cfg_read_dword(lepc, func, where & ~3);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);

	dword >>= (where & 3) * 8;
	*val = size == 4 ? dword : dword & GENMASK(size * 8 - 1, 0);
	return PCIBIOS_SUCCESSFUL;
}

static int epc_loop_cfg_write(struct pci_bus *bus, unsigned int devfn, int where,
			      int size, u32 val)
{
	struct epc_loop *lepc = epc_loop_bus_epc(bus, devfn);
	struct epc_loop_cfg_effects fx = {};
	struct epc_loop_func *func;
	int shift = (where & 3) * 8;
	unsigned long flags;
	u32 mask, dword;
	u8 fn = PCI_FUNC(devfn);

	if (!lepc)
		return PCIBIOS_DEVICE_NOT_FOUND;
	func = &lepc->funcs[fn];
	mask = (size == 4 ? U32_MAX : GENMASK(size * 8 - 1, 0)) << shift;

	raw_spin_lock_irqsave(&lepc->lock, flags);
	if (!epc_loop_func_visible(lepc, func)) {
		raw_spin_unlock_irqrestore(&lepc->lock, flags);
		return PCIBIOS_DEVICE_NOT_FOUND;
	}
	dword = epc_loop_cfg_read_dword(lepc, func, where & ~3);
	/* A BAR write is judged on what was written, not on the mask read */
	if (where >= PCI_BASE_ADDRESS_0 && where <= PCI_BASE_ADDRESS_5 + 3)
		dword = 0;
	dword = (dword & ~mask) | ((val << shift) & mask);
	epc_loop_cfg_write_dword(func, where & ~3, dword, &fx);
	raw_spin_unlock_irqrestore(&lepc->lock, flags);

	/* Side effects that notify or interrupt run without the lock */
	if (fx.bus_master_enabled)
		queue_work(lepc->host->notify_wq, &lepc->bme_work);
	if (fx.intx_enabled)
		epc_loop_irq_intx_enabled(lepc, fn);
	if (fx.msi_unmasked)
		epc_loop_irq_msi_unmasked(lepc, fn);
	return PCIBIOS_SUCCESSFUL;
}

static struct pci_ops epc_loop_pci_ops = {
	.read	= epc_loop_cfg_read,
	.write	= epc_loop_cfg_write,
};

/*
 * BAR addresses cannot move (see epc_loop_bar_write()), so the PCI core must
 * claim them where they are rather than assign new ones, on the first scan
 * and on any later rescan from sysfs. Marking them fixed as each device is
 * added, before resources are assigned, does that.
 */
static int epc_loop_bus_notify(struct notifier_block *nb, unsigned long action,
			       void *data)
{
	struct pci_dev *pdev = to_pci_dev(data);
	struct resource *res;

	if (action != BUS_NOTIFY_ADD_DEVICE || pdev->bus->ops != &epc_loop_pci_ops)
		return NOTIFY_DONE;

	pci_dev_for_each_resource(pdev, res)
		if (res->flags & IORESOURCE_MEM && res->start)
			res->flags |= IORESOURCE_PCI_FIXED;
	return NOTIFY_OK;
}

static struct notifier_block epc_loop_bus_nb = {
	.notifier_call = epc_loop_bus_notify,
};

int epc_loop_bus_notifier_register(void)
{
	return bus_register_notifier(&pci_bus_type, &epc_loop_bus_nb);
}

void epc_loop_bus_notifier_unregister(void)
{
	bus_unregister_notifier(&pci_bus_type, &epc_loop_bus_nb);
}

/* PCI domains of virtual buses start above the 16-bit ones of real ones */
static int epc_loop_bus_free_domain(void)
{
	struct pci_bus *bus = NULL;
	int domain = 0xffff;

	while ((bus = pci_find_next_bus(bus)))
		domain = max(domain, pci_domain_nr(bus));
	return domain + 1;
}

static void epc_loop_bus_init_windows(struct epc_loop_host *host)
{
	resource_size_t end = host->alias_base + host->alias_size - 1;

	host->busn = (struct resource) {
		.name	= "pci-epc-loop bus",
		.start	= 0,
		.end	= 0,
		.flags	= IORESOURCE_BUS | IORESOURCE_PCI_FIXED,
	};
	/*
	 * Bus address P is RAM at physical P; the CPU reaches it at alias base
	 * + P. Both windows cover the whole alias: BARs are claimed where
	 * their memory is, prefetchable or not.
	 */
	host->win_mem = (struct resource) {
		.name	= "pci-epc-loop mem",
		.start	= host->alias_base,
		.end	= end,
		.flags	= IORESOURCE_MEM,
		.parent	= &host->pdev->resource[2],
	};
	host->win_pref = (struct resource) {
		.name	= "pci-epc-loop prefetch",
		.start	= host->alias_base,
		.end	= end,
		.flags	= IORESOURCE_MEM | IORESOURCE_PREFETCH,
		.parent	= &host->pdev->resource[2],
	};
}

/**
 * epc_loop_bus_create() - create the virtual root bus of a loop host
 * @host: the loop host, with its alias window and MSI domain set up
 *
 * The bus starts empty: functions appear when their controller's link
 * comes up.
 *
 * Return: 0 or a negative error code.
 */
int epc_loop_bus_create(struct epc_loop_host *host)
{
	struct pci_host_bridge *bridge;
	int ret;

	bridge = pci_alloc_host_bridge(0);
	if (!bridge)
		return -ENOMEM;

	epc_loop_bus_init_windows(host);
	pci_add_resource(&bridge->windows, &host->busn);
	pci_add_resource_offset(&bridge->windows, &host->win_mem,
				host->alias_base);
	pci_add_resource_offset(&bridge->windows, &host->win_pref,
				host->alias_base);

	host->sysdata.node = NUMA_NO_NODE;
	bridge->dev.parent = &host->pdev->dev;
	bridge->sysdata = &host->sysdata;
	bridge->busnr = 0;
	bridge->ops = &epc_loop_pci_ops;
	bridge->map_irq = epc_loop_irq_map_intx;
	bridge->swizzle_irq = pci_common_swizzle;
	dev_set_msi_domain(&bridge->dev, host->msi_domain);

	pci_lock_rescan_remove();
	host->sysdata.domain = epc_loop_bus_free_domain();
	ret = pci_scan_root_bus_bridge(bridge);
	if (ret) {
		pci_unlock_rescan_remove();
		pci_free_host_bridge(bridge);
		return ret;
	}
	host->bus = bridge->bus;
	pci_bus_add_devices(host->bus);
	pci_unlock_rescan_remove();
	return 0;
}

/**
 * epc_loop_bus_destroy() - remove the virtual root bus and its devices
 * @host: the loop host
 */
void epc_loop_bus_destroy(struct epc_loop_host *host)
{
	struct pci_host_bridge *bridge;

	if (!host->bus)
		return;
	bridge = to_pci_host_bridge(host->bus->bridge);
	pci_lock_rescan_remove();
	pci_stop_root_bus(host->bus);
	pci_remove_root_bus(host->bus);
	pci_unlock_rescan_remove();
	/* pci_remove_root_bus() only deletes the bridge: drop our reference */
	pci_free_host_bridge(bridge);
	host->bus = NULL;
}
