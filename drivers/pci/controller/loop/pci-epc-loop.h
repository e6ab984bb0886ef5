/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loopback PCI endpoint controller: shared definitions.
 *
 * One loop host per RAM alias device (an ivshmem-plain device whose BAR2
 * maps all of guest RAM a second time). It owns a virtual PCI root bus and
 * several endpoint controllers; controller N is slot N on that bus and its
 * endpoint functions are the slot's PCI functions.
 */
#ifndef PCI_EPC_LOOP_H
#define PCI_EPC_LOOP_H

#include <linux/dmaengine.h>
#include <linux/irq_work.h>
#include <linux/kthread.h>
#include <linux/msi.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-epc.h>
#include <linux/pci-epf.h>
#include <linux/platform_device.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#define EPC_LOOP_MAX_EPCS		8
#define EPC_LOOP_MAX_FUNCS		8
#define EPC_LOOP_MAX_MSIX		2048
/* MSI and MSI-X messages of the whole bus share one hwirq space */
#define EPC_LOOP_MSI_HWIRQS		4096
#define EPC_LOOP_INTX_HWIRQS	(EPC_LOOP_MAX_EPCS * EPC_LOOP_MAX_FUNCS)

/* Address every MSI message of the bus is composed with */
#define EPC_LOOP_MSI_ADDRESS	0xfee00000U

#define EPC_LOOP_DMA_CHANNELS	4

/* Outbound (bounce) windows: physically contiguous RAM, one per chunk */
#define EPC_LOOP_WINDOWS		4
#define EPC_LOOP_WINDOW_ORDER	10	/* 4 MiB with 4 KiB pages */

struct epc_loop_host;
struct epc_loop;

/**
 * struct epc_loop_profile - what the loop controllers present, as a real one would
 * @name: name given to the "profile" module parameter
 * @features: the features functions read with pci_epc_get_features()
 * @window_align: outbound windows map host addresses aligned to this (an
 *		  iATU region), 0 for any address
 * @ob_windows: outbound regions the functions and MSI share, 0 for no limit
 * @dma_read_chans: DMA channels that only read host memory (DMA_DEV_TO_MEM)
 * @dma_write_chans: DMA channels that only write it (DMA_MEM_TO_DEV)
 * @dma_both_chans: DMA channels for either direction, after those
 */
struct epc_loop_profile {
	const char *name;
	struct pci_epc_features features;
	size_t window_align;
	unsigned int ob_windows;
	unsigned int dma_read_chans;
	unsigned int dma_write_chans;
	unsigned int dma_both_chans;
};

/**
 * struct epc_loop_bar - one BAR of an emulated function
 * @size: size in bytes (a power of two), 0 when the BAR is not set
 * @bus_addr: address the host sees: alias base + physical address
 * @virt: the function's BAR memory
 * @flags: PCI_BASE_ADDRESS_* flags the function asked for
 * @sizing: the host wrote all ones to the low (bit 0) or high (bit 1) dword
 */
struct epc_loop_bar {
	u64 size;
	u64 bus_addr;
	void *virt;
	int flags;
	u8 sizing;
};

/**
 * struct epc_loop_msi - MSI capability state
 * @mmc: log2 of the vectors the function asked for (Multiple Message Capable)
 * @ctrl: Message Control as the host wrote it (enable, MME)
 * @addr: message address
 * @data: message data
 * @mask: per-vector mask bits
 * @pending: per-vector pending bits (masked vectors that fired)
 */
struct epc_loop_msi {
	u8 mmc;
	u16 ctrl;
	u64 addr;
	u16 data;
	u32 mask;
	u32 pending;
};

/**
 * struct epc_loop_msix - MSI-X capability state
 * @nr: table size (number of vectors), 0 when the function has no MSI-X
 * @bir: BAR holding the table and the PBA
 * @table_offset: offset of the table in that BAR
 * @pba_offset: offset of the Pending Bit Array in that BAR
 * @ctrl: Message Control as the host wrote it (enable, function mask)
 * @pending: vectors that fired while masked
 */
struct epc_loop_msix {
	u16 nr;
	u8 bir;
	u32 table_offset;
	u32 pba_offset;
	u16 ctrl;
	unsigned long *pending;
};

/**
 * struct epc_loop_func - an endpoint function as the host sees it
 * @hdr: the header the function wrote
 * @has_header: write_header() was called: the function exists for the host
 * @command: Command register
 * @intx_pending: an INTx fired while the host had INTx disabled
 * @intx_line: Interrupt Line register (scratch for the host)
 * @devctl: PCIe Device Control
 * @lnkctl: PCIe Link Control
 * @bar: BARs
 * @msi: MSI capability
 * @msix: MSI-X capability
 */
struct epc_loop_func {
	struct pci_epf_header hdr;
	bool has_header;
	u16 command;
	bool intx_pending;
	u8 intx_line;
	u16 devctl;
	u16 lnkctl;
	struct epc_loop_bar bar[PCI_STD_NUM_BARS];
	struct epc_loop_msi msi;
	struct epc_loop_msix msix;
};

/**
 * struct epc_loop_window_map - an outbound window region mapped to host memory
 * @node: entry in &epc_loop.maps
 * @fn: function that mapped it
 * @phys: window (CPU physical) address the function uses
 * @pci_addr: host memory it stands for
 * @size: size of the mapping
 * @virt: window memory, as the kernel maps it
 * @snapshot: window contents as last delivered to the host, to find the
 *	      words the function changed since
 * @dirty: the 8-byte words found changed, to deliver in order
 */
struct epc_loop_window_map {
	struct list_head node;
	u8 fn;
	phys_addr_t phys;
	u64 pci_addr;
	size_t size;
	void *virt;
	void *snapshot;
	unsigned long *dirty;
};

/**
 * struct epc_loop_dma_chan - one dmaengine channel of a controller
 * @chan: the dmaengine channel
 * @epc: controller it belongs to
 * @lock: protects the lists and @config
 * @submitted: descriptors submitted but not issued
 * @issued: descriptors issued, waiting for @work or @irq_work
 * @directions: BIT(DMA_DEV_TO_MEM) and/or BIT(DMA_MEM_TO_DEV)
 * @config: slave configuration (holds the host address)
 * @error_cookie: the last transfer that failed
 * @running: @work or @irq_work owns @issued and runs its descriptors
 * @worker: the channel's real-time thread, which runs @work
 * @work: moves the issued descriptors' data
 * @irq_work: moves it at once, while the descriptors are short
 */
struct epc_loop_dma_chan {
	struct dma_chan chan;
	struct epc_loop *epc;
	spinlock_t lock;		/* protects the lists and @config */
	struct list_head submitted;
	struct list_head issued;
	u32 directions;
	struct dma_slave_config config;
	dma_cookie_t error_cookie;
	bool running;
	struct kthread_worker *worker;
	struct kthread_work work;
	struct irq_work irq_work;
};

/**
 * struct epc_loop - one loopback endpoint controller (one slot on the bus)
 * @host: the loop host
 * @profile: what the controller presents to its functions
 * @slot: PCI slot (device number) of this controller's functions
 * @pdev: parent device of the EPC, the DMA device and the BAR memory
 * @epc: the endpoint controller
 * @lock: protects @funcs, @link_up and @maps; taken in config accessors
 * @funcs: emulated functions
 * @ctl_lock: serialises start, stop, link and PERST changes
 * @started: the function side started the link (configfs start)
 * @perst: PERST# is asserted (from sysfs)
 * @link_forced_down: user space took the link down (from sysfs)
 * @link_up: the link is up: the host may see this slot
 * @notified_up: link state last reported to the functions
 * @notify_work: reports link changes to the functions
 * @bme_work: reports the host's Bus Master Enable to the functions
 * @msix_work: sends MSI-X vectors whose masks the host cleared in the BAR
 * @maps: outbound window mappings
 * @nr_maps: how many there are (read without @lock to check for room)
 * @windows_work: delivers the functions' window writes to the host
 * @win_pages: backing pages of the outbound windows
 * @windows: outbound windows as the endpoint framework sees them
 * @dma: DMA engine device
 * @nr_dma_chans: number of its channels, 0 when it has none
 * @dma_chans: its channels
 */
struct epc_loop {
	struct epc_loop_host *host;
	const struct epc_loop_profile *profile;
	unsigned int slot;
	struct platform_device *pdev;
	struct pci_epc *epc;

	raw_spinlock_t lock;
	struct epc_loop_func funcs[EPC_LOOP_MAX_FUNCS];

	struct mutex ctl_lock;	/* serialises sysfs link and PERST changes */
	bool started;
	bool perst;
	bool link_forced_down;
	bool link_up;
	bool notified_up;
	struct work_struct notify_work;
	struct work_struct bme_work;
	struct delayed_work msix_work;

	struct xarray iommu;	/* host pages the IOMMU maps; none: no IOMMU */

	struct list_head maps;
	unsigned int nr_maps;
	struct delayed_work windows_work;
	struct page *win_pages[EPC_LOOP_WINDOWS];
	struct pci_epc_mem_window windows[EPC_LOOP_WINDOWS];

	struct dma_device dma;
	unsigned int nr_dma_chans;
	struct epc_loop_dma_chan dma_chans[EPC_LOOP_DMA_CHANNELS];
};

/**
 * struct epc_loop_host - the alias device, its virtual root bus and controllers
 * @pdev: the RAM alias (ivshmem) device
 * @alias_base: CPU physical address of the alias window (BAR2)
 * @alias_size: its size; RAM at physical P is at @alias_base + P
 * @win_mem: bus window for non-prefetchable BARs
 * @win_pref: bus window for prefetchable BARs
 * @busn: bus number range of the root bus
 * @sysdata: x86 PCI sysdata (PCI domain) of the root bus
 * @bus: the virtual root bus
 * @msi_info: MSI domain description (the core fills in its defaults)
 * @msi_chip: irq_chip of the MSI domain
 * @msi_domain: MSI domain of the bus
 * @intx_domain: interrupt domain for the functions' INTx
 * @hwirq_lock: protects @hwirq_map
 * @hwirq_map: allocated MSI hwirqs
 * @msi_pending: MSI hwirqs to deliver from @irq_work
 * @intx_pending: INTx hwirqs to deliver from @irq_work
 * @irq_work: delivers interrupts in hard interrupt context
 * @host_wq: adds and removes host-side devices, ordered
 * @host_work: reconciles the host-side devices with the link states
 * @notify_wq: link notifications to the functions, ordered
 * @nr_epcs: number of controllers
 * @epc_pdevs: the controllers' platform devices
 * @epcs: the controllers, once probed
 */
struct epc_loop_host {
	struct pci_dev *pdev;
	phys_addr_t alias_base;
	resource_size_t alias_size;

	struct resource win_mem;
	struct resource win_pref;
	struct resource busn;
	struct pci_sysdata sysdata;
	struct pci_bus *bus;

	struct msi_domain_info msi_info;
	struct irq_chip msi_chip;
	struct irq_domain *msi_domain;
	struct irq_domain *intx_domain;
	raw_spinlock_t hwirq_lock;
	unsigned long *hwirq_map;
	unsigned long *msi_pending;
	unsigned long intx_pending[BITS_TO_LONGS(EPC_LOOP_INTX_HWIRQS)];
	struct irq_work irq_work;

	struct workqueue_struct *host_wq;
	struct work_struct host_work;
	struct workqueue_struct *notify_wq;

	unsigned int nr_epcs;
	struct platform_device *epc_pdevs[EPC_LOOP_MAX_EPCS];
	struct epc_loop *epcs[EPC_LOOP_MAX_EPCS];
};

static inline bool epc_loop_ram_range(phys_addr_t addr, size_t size)
{
	return size && addr + size > addr &&
	       region_intersects(addr, size, IORESOURCE_SYSTEM_RAM,
				 IORES_DESC_NONE) == REGION_INTERSECTS;
}

/* pci-epc-loop-profile.c */
int epc_loop_profile_init(void);
const struct epc_loop_profile *epc_loop_profile_get(void);

/* pci-epc-loop-core.c */
bool epc_loop_host_reachable(struct epc_loop *lepc, u64 addr, size_t size);
void epc_loop_host_update(struct epc_loop_host *host);
void epc_loop_host_sync(struct epc_loop_host *host);
void epc_loop_link_set(struct epc_loop *lepc);
void epc_loop_disconnect(struct epc_loop *lepc, int fn);

/* pci-epc-loop-epc.c */
extern const struct pci_epc_ops epc_loop_ops;
int epc_loop_windows_init(struct epc_loop *lepc);
void epc_loop_func_reset(struct epc_loop *lepc, u8 fn);
void epc_loop_windows_exit(struct epc_loop *lepc);
void epc_loop_windows_sync(struct epc_loop *lepc, int fn);

/* pci-epc-loop-cfg.c */
int epc_loop_bus_create(struct epc_loop_host *host);
void epc_loop_bus_destroy(struct epc_loop_host *host);
bool epc_loop_func_visible(struct epc_loop *lepc, struct epc_loop_func *func);
int epc_loop_bus_notifier_register(void);
void epc_loop_bus_notifier_unregister(void);

/* pci-epc-loop-irq.c */
int epc_loop_irq_init(struct epc_loop_host *host);
void epc_loop_irq_exit(struct epc_loop_host *host);
int epc_loop_irq_map_intx(const struct pci_dev *dev, u8 slot, u8 pin);
int epc_loop_irq_raise(struct epc_loop *lepc, u8 fn, unsigned int type,
		       u16 num);
void epc_loop_irq_msi_unmasked(struct epc_loop *lepc, u8 fn);
void epc_loop_irq_ctrl_init(struct epc_loop *lepc);
void epc_loop_irq_ctrl_exit(struct epc_loop *lepc);
void epc_loop_irq_intx_enabled(struct epc_loop *lepc, u8 fn);

/* pci-epc-loop-dma.c */
int epc_loop_dma_register(struct epc_loop *lepc);
void epc_loop_dma_unregister(struct epc_loop *lepc);

#endif /* PCI_EPC_LOOP_H */
