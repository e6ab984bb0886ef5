// SPDX-License-Identifier: GPL-2.0
/*
 * Loopback PCI endpoint controller: DMA channels between the functions'
 * local buffers and host memory.
 *
 * Each controller registers a dmaengine device whose struct device is the
 * controller's parent, so functions find its channels the way they find an
 * eDMA controller's: by filtering on epc->dev.parent and on the slave
 * directions. The host side and the endpoint side are the same kernel here,
 * so a transfer is a copy between two physical RAM ranges. A host address
 * that is not RAM, or a link that is down, fails the transfer the way a
 * PCIe error would.
 *
 * Hardware moves data without a CPU; here a CPU copies it, and the copy
 * should not cost more than the copying. Short transfers are therefore
 * copied at once, from an irq_work on the issuing CPU, with the callback
 * called from there as hardware drivers call it from interrupt context:
 * no thread has to be woken up for them. Longer ones go to a worker thread
 * per channel, a real-time one: an engine moves data whatever the CPUs are
 * doing, and a function that busy-waits for a transfer (dma_sync_wait(),
 * as nvmet-pci-epf does) would otherwise hold the CPU the worker needs
 * until the next scheduler tick. One of the two owns a channel's issued
 * descriptors at a time, so that they complete in order.
 */

#include <linux/dmaengine.h>
#include <linux/io.h>
#include <linux/moduleparam.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pci-epc-loop.h"

/* Transfers copied from the irq_work: each at most ... */
#define EPC_LOOP_DMA_INLINE_MAX	SZ_4K
/* ... and this much in one run of the irq_work */
#define EPC_LOOP_DMA_INLINE_BUDGET	SZ_64K

#define EPC_LOOP_DMA_WIDTHS	(BIT(DMA_SLAVE_BUSWIDTH_1_BYTE) | \
				 BIT(DMA_SLAVE_BUSWIDTH_2_BYTES) | \
				 BIT(DMA_SLAVE_BUSWIDTH_4_BYTES) | \
				 BIT(DMA_SLAVE_BUSWIDTH_8_BYTES))

/*
 * A benchmark aid. A board's DMA engine moves data without a CPU; here a
 * vCPU copies it, and shares its time with everything else the benchmark
 * measures. With this set, transfers to host memory of at least that many
 * bytes complete without moving their data, at the cost of the rest of the
 * DMA path only, so that the benchmark can tell the two costs apart. The
 * host then reads stale data, whatever the transfer carried (read data,
 * but also a 4 KiB Identify page or a run of completion entries that
 * long): set it only around a benchmark of read bandwidth, to a size that
 * no such transfer reaches. Setting it taints the kernel.
 */
static unsigned int dma_discard_min;
module_param_unsafe(dma_discard_min, uint, 0644);
MODULE_PARM_DESC(dma_discard_min,
		 "benchmark only: transfers to the host of at least this many bytes move no data (0: off, the default)");

struct epc_loop_dma_seg {
	dma_addr_t local;
	u32 len;
};

/**
 * struct epc_loop_dma_desc - one prepared transfer
 * @tx: the dmaengine descriptor
 * @node: entry in the channel's submitted or issued list
 * @dir: DMA_DEV_TO_MEM (host to local) or DMA_MEM_TO_DEV (local to host)
 * @remote: host address of the first byte; segments follow each other
 * @len: bytes moved, all segments together
 * @ram: every range, local and remote, is RAM (checked at prep time: the
 *	 check takes a lock that interrupt context may not take)
 * @nr_segs: number of local segments
 * @segs: the local segments
 */
struct epc_loop_dma_desc {
	struct dma_async_tx_descriptor tx;
	struct list_head node;
	enum dma_transfer_direction dir;
	u64 remote;
	size_t len;
	bool ram;
	unsigned int nr_segs;
	struct epc_loop_dma_seg segs[] __counted_by(nr_segs);
};

static struct epc_loop_dma_chan *to_epc_loop_chan(struct dma_chan *chan)
{
	return container_of(chan, struct epc_loop_dma_chan, chan);
}

static struct epc_loop_dma_desc *to_epc_loop_desc(struct dma_async_tx_descriptor *tx)
{
	return container_of(tx, struct epc_loop_dma_desc, tx);
}

static dma_cookie_t epc_loop_dma_submit(struct dma_async_tx_descriptor *tx)
{
	struct epc_loop_dma_chan *lchan = to_epc_loop_chan(tx->chan);
	struct dma_chan *chan = tx->chan;
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&lchan->lock, flags);
	cookie = chan->cookie + 1;
	if (cookie < DMA_MIN_COOKIE)
		cookie = DMA_MIN_COOKIE;
	chan->cookie = cookie;
	tx->cookie = cookie;
	list_add_tail(&to_epc_loop_desc(tx)->node, &lchan->submitted);
	spin_unlock_irqrestore(&lchan->lock, flags);
	return cookie;
}

/*
 * Are the local segments RAM, and the host range they map to RAM the
 * host lets the controller reach?
 */
static bool epc_loop_dma_ram(struct epc_loop *lepc,
			     const struct epc_loop_dma_desc *desc)
{
	u64 remote = desc->remote;
	unsigned int i;

	for (i = 0; i < desc->nr_segs; i++) {
		if (!epc_loop_ram_range(desc->segs[i].local, desc->segs[i].len) ||
		    !epc_loop_host_reachable(lepc, remote, desc->segs[i].len))
			return false;
		remote += desc->segs[i].len;
	}
	return true;
}

static struct dma_async_tx_descriptor *
epc_loop_dma_prep_slave_sg(struct dma_chan *chan, struct scatterlist *sgl,
			   unsigned int sg_len, enum dma_transfer_direction dir,
		       unsigned long flags, void *context)
{
	struct epc_loop_dma_chan *lchan = to_epc_loop_chan(chan);
	struct epc_loop_dma_desc *desc;
	struct scatterlist *sg;
	unsigned long lock_flags;
	unsigned int i;

	if (!sg_len || (dir != DMA_DEV_TO_MEM && dir != DMA_MEM_TO_DEV) ||
	    !(lchan->directions & BIT(dir)))
		return NULL;

	desc = kzalloc(struct_size(desc, segs, sg_len), GFP_NOWAIT);
	if (!desc)
		return NULL;
	desc->nr_segs = sg_len;
	desc->dir = dir;
	for_each_sg(sgl, sg, sg_len, i) {
		desc->segs[i].local = sg_dma_address(sg);
		desc->segs[i].len = sg_dma_len(sg);
		desc->len += sg_dma_len(sg);
	}

	spin_lock_irqsave(&lchan->lock, lock_flags);
	desc->remote = dir == DMA_DEV_TO_MEM ? lchan->config.src_addr :
					       lchan->config.dst_addr;
	spin_unlock_irqrestore(&lchan->lock, lock_flags);
	desc->ram = epc_loop_dma_ram(lchan->epc, desc);

	dma_async_tx_descriptor_init(&desc->tx, chan);
	desc->tx.flags = flags;
	desc->tx.tx_submit = epc_loop_dma_submit;
	return &desc->tx;
}

static int epc_loop_dma_config(struct dma_chan *chan,
			       struct dma_slave_config *config)
{
	struct epc_loop_dma_chan *lchan = to_epc_loop_chan(chan);
	unsigned long flags;

	spin_lock_irqsave(&lchan->lock, flags);
	lchan->config = *config;
	spin_unlock_irqrestore(&lchan->lock, flags);
	return 0;
}

/* The first issued descriptor, or NULL; called with the lock held */
static struct epc_loop_dma_desc *epc_loop_dma_first(struct epc_loop_dma_chan *lchan)
{
	return list_first_entry_or_null(&lchan->issued, struct epc_loop_dma_desc,
					node);
}

static void epc_loop_dma_issue_pending(struct dma_chan *chan)
{
	struct epc_loop_dma_chan *lchan = to_epc_loop_chan(chan);
	struct epc_loop_dma_desc *first;
	unsigned long flags;
	bool inline_copy;

	spin_lock_irqsave(&lchan->lock, flags);
	list_splice_tail_init(&lchan->submitted, &lchan->issued);
	first = epc_loop_dma_first(lchan);
	if (lchan->running || !first) {
		/* The owner takes the new descriptors too */
		spin_unlock_irqrestore(&lchan->lock, flags);
		return;
	}
	lchan->running = true;
	inline_copy = first->len <= EPC_LOOP_DMA_INLINE_MAX;
	spin_unlock_irqrestore(&lchan->lock, flags);

	if (inline_copy)
		irq_work_queue(&lchan->irq_work);
	else
		kthread_queue_work(lchan->worker, &lchan->work);
}

/*
 * Copy one segment; both ends were checked to be RAM at prep time. A DMA
 * engine's writes bypass the CPU caches, and so does memcpy_flushcache()
 * (non-temporal stores on x86). It is also the fastest copy under QEMU
 * TCG by far: several times faster than the "rep movsb" that memcpy()
 * becomes in a kernel built for size. The stores are weakly ordered: the
 * caller orders them before the completion.
 */
static void epc_loop_dma_copy(struct epc_loop_dma_desc *desc,
			      struct epc_loop_dma_seg *seg, u64 remote)
{
	phys_addr_t src, dst;

	if (desc->dir == DMA_DEV_TO_MEM) {
		src = remote;
		dst = seg->local;
	} else {
		src = seg->local;
		dst = remote;
	}
	memcpy_flushcache(phys_to_virt(dst), phys_to_virt(src), seg->len);
}

/* Does the benchmark aid skip this transfer's copy? See dma_discard_min */
static bool epc_loop_dma_discards(const struct epc_loop_dma_desc *desc)
{
	unsigned int discard_min = READ_ONCE(dma_discard_min);

	if (!discard_min || desc->dir != DMA_MEM_TO_DEV ||
	    desc->len < discard_min)
		return false;

	dev_warn_once(desc->tx.chan->device->dev,
		      "DMA to the host moves no data from %u bytes on: benchmark only\n",
		      discard_min);
	return true;
}

static enum dmaengine_tx_result epc_loop_dma_run(struct epc_loop_dma_chan *lchan,
						 struct epc_loop_dma_desc *desc,
					     u32 *residue)
{
	bool discard = epc_loop_dma_discards(desc);
	u64 remote = desc->remote;
	unsigned int i;

	for (i = 0; i < desc->nr_segs; i++)
		*residue += desc->segs[i].len;

	for (i = 0; i < desc->nr_segs; i++) {
		/* Not RAM, or no link: fail as a bus error would */
		if (!desc->ram || !READ_ONCE(lchan->epc->link_up))
			return desc->dir == DMA_DEV_TO_MEM ?
			       DMA_TRANS_READ_FAILED : DMA_TRANS_WRITE_FAILED;
		if (!discard)
			epc_loop_dma_copy(desc, &desc->segs[i], remote);
		remote += desc->segs[i].len;
		*residue -= desc->segs[i].len;
	}
	/* The data is in memory before the completion says so */
	wmb();
	return DMA_TRANS_NOERROR;
}

static void epc_loop_dma_complete(struct epc_loop_dma_chan *lchan,
				  struct epc_loop_dma_desc *desc,
			      struct dmaengine_result *res, bool in_irq)
{
	struct dma_async_tx_descriptor *tx = &desc->tx;
	struct dma_chan *chan = &lchan->chan;
	unsigned long flags;

	spin_lock_irqsave(&lchan->lock, flags);
	chan->completed_cookie = tx->cookie;
	if (res->result != DMA_TRANS_NOERROR)
		lchan->error_cookie = tx->cookie;
	spin_unlock_irqrestore(&lchan->lock, flags);

	/*
	 * Hardware DMA drivers call back from a tasklet or an interrupt; run
	 * callbacks from the worker with bottom halves disabled so that one
	 * that sleeps is caught there too.
	 */
	if (!in_irq)
		local_bh_disable();
	if (tx->callback_result)
		tx->callback_result(tx->callback_param, res);
	else if (tx->callback)
		tx->callback(tx->callback_param);
	if (!in_irq)
		local_bh_enable();
	kfree(desc);
}

/*
 * Take the next issued descriptor, if it is at most @max_len long. Without
 * one, give up the channel (return NULL, *@handed is false); with a longer
 * one, keep owning it for the worker (return NULL, *@handed is true).
 */
static struct epc_loop_dma_desc *epc_loop_dma_take(struct epc_loop_dma_chan *lchan,
						   size_t max_len, bool *handed)
{
	struct epc_loop_dma_desc *desc;
	unsigned long flags;

	*handed = false;
	spin_lock_irqsave(&lchan->lock, flags);
	desc = epc_loop_dma_first(lchan);
	if (!desc)
		lchan->running = false;
	else if (desc->len > max_len)
		*handed = true;
	else
		list_del(&desc->node);
	spin_unlock_irqrestore(&lchan->lock, flags);

	return *handed ? NULL : desc;
}

static void epc_loop_dma_run_one(struct epc_loop_dma_chan *lchan,
				 struct epc_loop_dma_desc *desc, bool in_irq)
{
	struct dmaengine_result res = { };

	res.result = epc_loop_dma_run(lchan, desc, &res.residue);
	epc_loop_dma_complete(lchan, desc, &res, in_irq);
}

static void epc_loop_dma_irq_work(struct irq_work *work)
{
	struct epc_loop_dma_chan *lchan = container_of(work, struct epc_loop_dma_chan,
						   irq_work);
	struct epc_loop_dma_desc *desc;
	size_t budget = EPC_LOOP_DMA_INLINE_BUDGET;
	bool handed;

	for (;;) {
		desc = epc_loop_dma_take(lchan, min_t(size_t, budget,
						      EPC_LOOP_DMA_INLINE_MAX),
				     &handed);
		if (!desc)
			break;
		budget -= desc->len;
		epc_loop_dma_run_one(lchan, desc, true);
	}

	/* A long transfer, or too much for an interrupt: the worker goes on */
	if (handed)
		kthread_queue_work(lchan->worker, &lchan->work);
}

static void epc_loop_dma_work(struct kthread_work *work)
{
	struct epc_loop_dma_chan *lchan = container_of(work, struct epc_loop_dma_chan,
						   work);
	struct epc_loop_dma_desc *desc;
	bool handed;

	while ((desc = epc_loop_dma_take(lchan, SIZE_MAX, &handed))) {
		epc_loop_dma_run_one(lchan, desc, false);
		cond_resched();
	}
}

static enum dma_status epc_loop_dma_tx_status(struct dma_chan *chan,
					      dma_cookie_t cookie,
					  struct dma_tx_state *state)
{
	struct epc_loop_dma_chan *lchan = to_epc_loop_chan(chan);
	dma_cookie_t last, used;
	enum dma_status status;
	unsigned long flags;

	spin_lock_irqsave(&lchan->lock, flags);
	last = chan->completed_cookie;
	used = chan->cookie;
	status = dma_async_is_complete(cookie, last, used);
	if (status == DMA_COMPLETE && cookie == lchan->error_cookie)
		status = DMA_ERROR;
	spin_unlock_irqrestore(&lchan->lock, flags);

	dma_set_tx_state(state, last, used, 0);
	return status;
}

static int epc_loop_dma_terminate_all(struct dma_chan *chan)
{
	struct epc_loop_dma_chan *lchan = to_epc_loop_chan(chan);
	struct epc_loop_dma_desc *desc, *tmp;
	unsigned long flags;
	LIST_HEAD(dropped);

	spin_lock_irqsave(&lchan->lock, flags);
	list_splice_tail_init(&lchan->submitted, &dropped);
	list_splice_tail_init(&lchan->issued, &dropped);
	spin_unlock_irqrestore(&lchan->lock, flags);

	list_for_each_entry_safe(desc, tmp, &dropped, node)
		kfree(desc);
	return 0;
}

static void epc_loop_dma_synchronize(struct dma_chan *chan)
{
	struct epc_loop_dma_chan *lchan = to_epc_loop_chan(chan);

	/* The irq_work may hand over to the worker: wait for it first */
	irq_work_sync(&lchan->irq_work);
	kthread_flush_work(&lchan->work);
}

static int epc_loop_dma_alloc_chan_resources(struct dma_chan *chan)
{
	struct epc_loop_dma_chan *lchan = to_epc_loop_chan(chan);

	chan->cookie = DMA_MIN_COOKIE;
	chan->completed_cookie = DMA_MIN_COOKIE;
	lchan->error_cookie = 0;
	return 0;
}

static void epc_loop_dma_free_chan_resources(struct dma_chan *chan)
{
	epc_loop_dma_terminate_all(chan);
	epc_loop_dma_synchronize(chan);
}

/* A channel of an eDMA moves data one way: say which */
static void epc_loop_dma_caps(struct dma_chan *chan, struct dma_slave_caps *caps)
{
	caps->directions = to_epc_loop_chan(chan)->directions;
}

/* The profile's channels: read-only ones first, then write-only, then both */
static u32 epc_loop_dma_chan_directions(const struct epc_loop_profile *profile,
					unsigned int i)
{
	if (i < profile->dma_read_chans)
		return BIT(DMA_DEV_TO_MEM);
	if (i < profile->dma_read_chans + profile->dma_write_chans)
		return BIT(DMA_MEM_TO_DEV);
	return BIT(DMA_DEV_TO_MEM) | BIT(DMA_MEM_TO_DEV);
}

static void epc_loop_dma_stop_workers(struct epc_loop *lepc, int nr)
{
	while (nr--)
		kthread_destroy_worker(lepc->dma_chans[nr].worker);
}

/* One real-time worker thread per channel: see the comment at the top */
static int epc_loop_dma_start_workers(struct epc_loop *lepc)
{
	struct kthread_worker *worker;
	int i;

	for (i = 0; i < lepc->nr_dma_chans; i++) {
		/* "epcloop<controller>-dma<channel>": a task name is short */
		worker = kthread_create_worker(0, "epcloop%d-dma%d",
					       lepc->pdev->id, i);
		if (IS_ERR(worker)) {
			epc_loop_dma_stop_workers(lepc, i);
			return PTR_ERR(worker);
		}
		sched_set_fifo_low(worker->task);
		/* Linux 6.12 starts the thread in kthread_create_worker() */
		wake_up_process(worker->task);
		lepc->dma_chans[i].worker = worker;
	}
	return 0;
}

/**
 * epc_loop_dma_register() - register a controller's DMA channels
 * @lepc: the controller
 *
 * Registers the channels its profile has, and nothing when it has none.
 *
 * Return: 0 or a negative error code.
 */
int epc_loop_dma_register(struct epc_loop *lepc)
{
	const struct epc_loop_profile *profile = lepc->profile;
	struct dma_device *dma = &lepc->dma;
	int i, ret;

	lepc->nr_dma_chans = min(profile->dma_read_chans +
				 profile->dma_write_chans +
				 profile->dma_both_chans, EPC_LOOP_DMA_CHANNELS);
	if (!lepc->nr_dma_chans)
		return 0;

	ret = epc_loop_dma_start_workers(lepc);
	if (ret) {
		lepc->nr_dma_chans = 0;
		return ret;
	}

	dma->dev = &lepc->pdev->dev;
	INIT_LIST_HEAD(&dma->channels);
	dma_cap_set(DMA_SLAVE, dma->cap_mask);
	dma_cap_set(DMA_PRIVATE, dma->cap_mask);
	dma->directions = BIT(DMA_DEV_TO_MEM) | BIT(DMA_MEM_TO_DEV);
	dma->src_addr_widths = EPC_LOOP_DMA_WIDTHS;
	dma->dst_addr_widths = EPC_LOOP_DMA_WIDTHS;
	dma->residue_granularity = DMA_RESIDUE_GRANULARITY_DESCRIPTOR;
	dma->device_alloc_chan_resources = epc_loop_dma_alloc_chan_resources;
	dma->device_free_chan_resources = epc_loop_dma_free_chan_resources;
	dma->device_prep_slave_sg = epc_loop_dma_prep_slave_sg;
	dma->device_config = epc_loop_dma_config;
	dma->device_issue_pending = epc_loop_dma_issue_pending;
	dma->device_tx_status = epc_loop_dma_tx_status;
	dma->device_terminate_all = epc_loop_dma_terminate_all;
	dma->device_synchronize = epc_loop_dma_synchronize;
	dma->device_caps = epc_loop_dma_caps;

	for (i = 0; i < lepc->nr_dma_chans; i++) {
		struct epc_loop_dma_chan *lchan = &lepc->dma_chans[i];

		lchan->epc = lepc;
		lchan->directions = epc_loop_dma_chan_directions(profile, i);
		spin_lock_init(&lchan->lock);
		INIT_LIST_HEAD(&lchan->submitted);
		INIT_LIST_HEAD(&lchan->issued);
		kthread_init_work(&lchan->work, epc_loop_dma_work);
		init_irq_work(&lchan->irq_work, epc_loop_dma_irq_work);
		lchan->chan.device = dma;
		list_add_tail(&lchan->chan.device_node, &dma->channels);
	}

	ret = dma_async_device_register(dma);
	if (ret) {
		epc_loop_dma_stop_workers(lepc, lepc->nr_dma_chans);
		lepc->nr_dma_chans = 0;
	}
	return ret;
}

/**
 * epc_loop_dma_unregister() - unregister a controller's DMA channels
 * @lepc: the controller
 */
void epc_loop_dma_unregister(struct epc_loop *lepc)
{
	if (!lepc->nr_dma_chans)
		return;
	dma_async_device_unregister(&lepc->dma);
	epc_loop_dma_stop_workers(lepc, lepc->nr_dma_chans);
}
