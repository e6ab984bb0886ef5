// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: host memory transfers and PRP lists.
 *
 * Host memory is moved with the endpoint controller's DMA channels when it
 * has some. Transfers go in batches: the segments of every buffer of a
 * batch (the data of the commands the poller handles in one pass) are
 * spread over the channels of their direction, so that they overlap. The
 * poller does not wait for the data of I/O commands: the last transfer of
 * a batch hands the batch back to it, and it goes on with other commands
 * meanwhile. What a step cannot do without (queue entries, PRP lists, the
 * data of admin commands) is waited for, once per batch. Without DMA
 * channels, host memory is copied through outbound windows, mapped for the
 * duration of each copy only.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/io.h>
#include <linux/mempool.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "pci-epf-nvme.h"
#include "pci_epf_nvme_trace.h"

/* A DMA transfer that takes longer than this is declared lost */
#define PCI_EPF_NVME_DMA_TIMEOUT	(10 * HZ)

/* Largest piece of host memory mapped at once through an outbound window */
#define PCI_EPF_NVME_MAP_CHUNK		SZ_128K

/*
 * Largest write to host memory that goes through an outbound window when
 * the controller has one, even with DMA channels: a run of completion
 * entries. Writes through a window are posted and cost no interrupt and
 * no wait for a channel; reads through a window are slow, so reads always
 * use the channels.
 */
#define PCI_EPF_NVME_WINDOW_WRITE_MAX	SZ_1K

struct pci_epf_nvme_dma_filter {
	struct device *dev;
	u32 dirs;
};

static bool pci_epf_nvme_dma_filter(struct dma_chan *chan, void *param)
{
	struct pci_epf_nvme_dma_filter *filter = param;
	struct dma_slave_caps caps = { };

	if (chan->device->dev != filter->dev)
		return false;
	if (dma_get_slave_caps(chan, &caps))
		return false;
	return caps.directions & filter->dirs;
}

static unsigned int pci_epf_nvme_dma_request(struct pci_epf_nvme *nvme,
					     struct pci_epf_nvme_dma *dma,
					     enum dma_transfer_direction dir)
{
	struct pci_epf_nvme_dma_filter filter = {
		.dev = nvme->epf->epc->dev.parent,
		.dirs = BIT(dir),
	};
	dma_cap_mask_t mask;
	unsigned int i;

	dma_cap_zero(mask);
	dma_cap_set(DMA_SLAVE, mask);
	for (i = 0; i < nvme->cfg.dma_chans; i++) {
		dma[i].chan = dma_request_channel(mask, pci_epf_nvme_dma_filter,
						  &filter);
		if (!dma[i].chan)
			break;
	}

	return i;
}

/**
 * pci_epf_nvme_dma_init() - take the endpoint controller's DMA channels
 * @nvme: the function
 *
 * Take up to nvme/dma_chans channels of each direction (at most
 * %PCI_EPF_NVME_MAX_DMA_CHANS), leaving the others to other functions of
 * the controller. A direction without a channel goes through outbound
 * windows.
 */
void pci_epf_nvme_dma_init(struct pci_epf_nvme *nvme)
{
	struct device *dev = pci_epf_nvme_dev(nvme);

	nvme->nr_dma_rx = pci_epf_nvme_dma_request(nvme, nvme->dma_rx,
						   DMA_DEV_TO_MEM);
	nvme->nr_dma_tx = pci_epf_nvme_dma_request(nvme, nvme->dma_tx,
						   DMA_MEM_TO_DEV);

	if (!nvme->nr_dma_rx || !nvme->nr_dma_tx)
		dev_info(dev, "%s host memory through outbound windows\n",
			 nvme->nr_dma_rx ? "writing" :
			 nvme->nr_dma_tx ? "reading" : "reading and writing");
	else
		dev_dbg(dev, "using %u+%u DMA channels\n",
			nvme->nr_dma_rx, nvme->nr_dma_tx);
}

static void pci_epf_nvme_dma_release(struct pci_epf_nvme_dma *dma,
				     unsigned int *nr)
{
	unsigned int i;

	for (i = 0; i < *nr; i++) {
		dma_release_channel(dma[i].chan);
		dma[i].chan = NULL;
	}
	*nr = 0;
}

/**
 * pci_epf_nvme_dma_exit() - give the DMA channels back
 * @nvme: the function, with no transfer in progress
 */
void pci_epf_nvme_dma_exit(struct pci_epf_nvme *nvme)
{
	pci_epf_nvme_dma_release(nvme->dma_tx, &nvme->nr_dma_tx);
	pci_epf_nvme_dma_release(nvme->dma_rx, &nvme->nr_dma_rx);
}

/* The channels that move data in direction @dir, and how many there are */
static struct pci_epf_nvme_dma *
pci_epf_nvme_dma_chans(struct pci_epf_nvme *nvme, enum pci_epf_nvme_dir dir,
		       unsigned int *nr)
{
	if (dir == PCI_EPF_NVME_FROM_HOST) {
		*nr = nvme->nr_dma_rx;
		return nvme->dma_rx;
	}
	*nr = nvme->nr_dma_tx;
	return nvme->dma_tx;
}

static enum dma_data_direction pci_epf_nvme_map_dir(enum pci_epf_nvme_dir dir)
{
	return dir == PCI_EPF_NVME_FROM_HOST ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
}

/*
 * The last transfer of a batch is done, or the submitter let go of it:
 * wake up the submitter that waits, or hand the batch back to the poller.
 * Maybe interrupt context.
 */
static void pci_epf_nvme_xfers_done(struct pci_epf_nvme_xfer_ctx *ctx)
{
	struct pci_epf_nvme_batch *batch;

	if (ctx->waiter) {
		complete(ctx->waiter);
		return;
	}
	batch = container_of(ctx, struct pci_epf_nvme_batch, ctx);
	pci_epf_nvme_hand_back(batch->nvme, &batch->ended_node,
			       &batch->nvme->batches_ended);
}

static void pci_epf_nvme_dma_done(void *param,
				  const struct dmaengine_result *res)
{
	struct pci_epf_nvme_xfer *xfer = param;
	struct pci_epf_nvme_xfer_ctx *ctx = xfer->ctx;

	if (res && res->result != DMA_TRANS_NOERROR)
		WRITE_ONCE(xfer->error, true);
	if (atomic_dec_and_test(&ctx->pending))
		pci_epf_nvme_xfers_done(ctx);
}

static int pci_epf_nvme_dma_submit(struct pci_epf_nvme_dma *dma,
				   enum dma_transfer_direction dir,
				   u64 pci_addr, dma_addr_t local, u32 len,
				   struct pci_epf_nvme_xfer *xfer)
{
	struct dma_slave_config sconf = { .direction = dir };
	struct dma_async_tx_descriptor *tx;
	dma_cookie_t cookie;
	int ret;

	if (dir == DMA_DEV_TO_MEM)
		sconf.src_addr = pci_addr;
	else
		sconf.dst_addr = pci_addr;

	/* The slave configuration is per channel: keep it with the prep */
	mutex_lock(&dma->lock);
	ret = dmaengine_slave_config(dma->chan, &sconf);
	if (ret)
		goto unlock;

	tx = dmaengine_prep_slave_single(dma->chan, local, len, dir,
					 DMA_PREP_INTERRUPT | DMA_CTRL_ACK);
	if (!tx) {
		ret = -EIO;
		goto unlock;
	}
	tx->callback_result = pci_epf_nvme_dma_done;
	tx->callback_param = xfer;

	atomic_inc(&xfer->ctx->pending);
	cookie = dmaengine_submit(tx);
	ret = dma_submit_error(cookie);
	if (ret)
		atomic_dec(&xfer->ctx->pending);
unlock:
	mutex_unlock(&dma->lock);
	return ret;
}

/*
 * Map a buffer for DMA: in one piece, or page by page if it is vmalloc
 * memory (a large buffer when contiguous memory was short).
 */
static int pci_epf_nvme_dma_map(struct device *dma_dev,
				struct pci_epf_nvme_xfer *xfer,
				enum dma_data_direction map_dir)
{
	unsigned int nr_pages = DIV_ROUND_UP(xfer->len, PAGE_SIZE), i;
	struct scatterlist *sg;
	int ret;

	if (!is_vmalloc_addr(xfer->buf)) {
		xfer->local = dma_map_single(dma_dev, xfer->buf, xfer->len,
					     map_dir);
		return dma_mapping_error(dma_dev, xfer->local) ? -EIO : 0;
	}

	/* kvmalloc() gives page aligned vmalloc memory */
	ret = sg_alloc_table(&xfer->sgt, nr_pages, GFP_KERNEL);
	if (ret)
		return ret;
	for_each_sgtable_sg(&xfer->sgt, sg, i)
		sg_set_page(sg, vmalloc_to_page(xfer->buf + i * PAGE_SIZE),
			    min_t(size_t, xfer->len - i * PAGE_SIZE, PAGE_SIZE),
			    0);
	ret = dma_map_sgtable(dma_dev, &xfer->sgt, map_dir, 0);
	if (ret)
		sg_free_table(&xfer->sgt);
	return ret;
}

static void pci_epf_nvme_dma_unmap(struct device *dma_dev,
				   struct pci_epf_nvme_xfer *xfer,
				   enum dma_data_direction map_dir)
{
	if (!is_vmalloc_addr(xfer->buf)) {
		dma_unmap_single(dma_dev, xfer->local, xfer->len, map_dir);
		return;
	}
	dma_unmap_sgtable(dma_dev, &xfer->sgt, map_dir, 0);
	sg_free_table(&xfer->sgt);
}

/**
 * struct pci_epf_nvme_local - walks the local side of a mapped buffer
 * @sg: the mapped piece being walked, NULL for a buffer mapped in one
 * @addr: DMA address of the next byte
 * @left: bytes left in the piece
 */
struct pci_epf_nvme_local {
	struct scatterlist *sg;
	dma_addr_t addr;
	size_t left;
};

static void pci_epf_nvme_local_init(struct pci_epf_nvme_local *local,
				    struct pci_epf_nvme_xfer *xfer)
{
	if (!is_vmalloc_addr(xfer->buf)) {
		local->sg = NULL;
		local->addr = xfer->local;
		local->left = xfer->len;
		return;
	}
	local->sg = xfer->sgt.sgl;
	local->addr = sg_dma_address(local->sg);
	local->left = sg_dma_len(local->sg);
}

static void pci_epf_nvme_local_advance(struct pci_epf_nvme_local *local,
				       size_t len)
{
	local->addr += len;
	local->left -= len;
	if (local->left || !local->sg)
		return;
	local->sg = sg_next(local->sg);
	if (local->sg) {
		local->addr = sg_dma_address(local->sg);
		local->left = sg_dma_len(local->sg);
	}
}

/*
 * Submit the segments of one buffer, spread over the channels: a transfer
 * per host segment, split where the local side is not contiguous.
 */
static int pci_epf_nvme_dma_submit_xfer(struct pci_epf_nvme *nvme,
					struct pci_epf_nvme_xfer *xfer,
					enum pci_epf_nvme_dir dir,
					unsigned long *used)
{
	enum dma_transfer_direction xdir = dir == PCI_EPF_NVME_FROM_HOST ?
					   DMA_DEV_TO_MEM : DMA_MEM_TO_DEV;
	unsigned int i, idx, nr_chans;
	struct pci_epf_nvme_local local;
	struct pci_epf_nvme_dma *chans;
	u64 pci_addr;
	u32 left, len;
	int ret;

	chans = pci_epf_nvme_dma_chans(nvme, dir, &nr_chans);
	pci_epf_nvme_local_init(&local, xfer);
	for (i = 0; i < xfer->nr_segs; i++) {
		pci_addr = xfer->segs[i].pci_addr;
		for (left = xfer->segs[i].len; left; left -= len) {
			if (WARN_ON_ONCE(!local.left))
				return -EINVAL;
			len = min_t(size_t, left, local.left);
			if (xfer->segs[i].bit_bucket) {
				pci_epf_nvme_local_advance(&local, len);
				continue;
			}
			idx = atomic_inc_return(&nvme->dma_next) % nr_chans;
			ret = pci_epf_nvme_dma_submit(&chans[idx], xdir,
						      pci_addr, local.addr,
						      len, xfer);
			if (ret)
				return ret;
			xfer->issued = true;
			*used |= BIT(idx);
			pci_addr += len;
			pci_epf_nvme_local_advance(&local, len);
		}
	}

	return 0;
}

/*
 * Map the buffers and submit every segment of every buffer under @ctx,
 * then start the channels once: the transfers of the batch overlap. A
 * buffer that cannot be mapped or submitted, and those after it, are
 * marked failed. @ctx->pending holds one reference for the caller, who
 * drops it once it is ready for pci_epf_nvme_xfers_done(). Return the
 * number of buffers mapped, the first ones.
 */
static unsigned int pci_epf_nvme_dma_start(struct pci_epf_nvme *nvme,
					   struct pci_epf_nvme_xfer **xfers,
					   unsigned int nr,
					   enum pci_epf_nvme_dir dir,
					   struct pci_epf_nvme_xfer_ctx *ctx,
					   unsigned long *used)
{
	struct device *dma_dev = nvme->epf->epc->dev.parent;
	enum dma_data_direction map_dir = pci_epf_nvme_map_dir(dir);
	unsigned int i, mapped = 0, idx, nr_chans;
	struct pci_epf_nvme_dma *chans;
	bool failed = false;

	chans = pci_epf_nvme_dma_chans(nvme, dir, &nr_chans);
	atomic_set(&ctx->pending, 1);
	*used = 0;

	for (i = 0; i < nr; i++) {
		struct pci_epf_nvme_xfer *xfer = xfers[i];

		xfer->ctx = ctx;
		xfer->issued = false;
		xfer->error = failed;
		if (failed)
			continue;
		if (pci_epf_nvme_dma_map(dma_dev, xfer, map_dir)) {
			xfer->error = true;
			failed = true;
			continue;
		}
		mapped++;
		/* A callback that already ran only ever set the flag too */
		if (pci_epf_nvme_dma_submit_xfer(nvme, xfer, dir, used)) {
			xfer->error = true;
			failed = true;
		}
	}

	for_each_set_bit(idx, used, nr_chans)
		dma_async_issue_pending(chans[idx].chan);

	return mapped;
}

/* Unmap the first @mapped buffers; return -EIO if any transfer failed */
static int pci_epf_nvme_dma_finish(struct pci_epf_nvme *nvme,
				   struct pci_epf_nvme_xfer **xfers,
				   unsigned int nr, unsigned int mapped,
				   enum pci_epf_nvme_dir dir)
{
	struct device *dma_dev = nvme->epf->epc->dev.parent;
	enum dma_data_direction map_dir = pci_epf_nvme_map_dir(dir);
	unsigned int i;
	int ret = 0;

	for (i = 0; i < nr; i++) {
		if (i < mapped)
			pci_epf_nvme_dma_unmap(dma_dev, xfers[i], map_dir);
		if (xfers[i]->error)
			ret = -EIO;
	}

	return ret;
}

/* Stop every channel: no callback runs once this returns */
static void pci_epf_nvme_dma_terminate(struct pci_epf_nvme *nvme)
{
	unsigned int i;

	for (i = 0; i < nvme->nr_dma_rx; i++)
		dmaengine_terminate_sync(nvme->dma_rx[i].chan);
	for (i = 0; i < nvme->nr_dma_tx; i++)
		dmaengine_terminate_sync(nvme->dma_tx[i].chan);
}

/* Start the transfers of a batch and wait once for all of them */
static int pci_epf_nvme_dma_sync(struct pci_epf_nvme *nvme,
				 struct pci_epf_nvme_xfer **xfers,
				 unsigned int nr, enum pci_epf_nvme_dir dir)
{
	DECLARE_COMPLETION_ONSTACK(done);
	struct pci_epf_nvme_xfer_ctx ctx = { .waiter = &done };
	unsigned int mapped, i, nr_chans;
	struct pci_epf_nvme_dma *chans;
	bool timed_out = false;
	unsigned long used;
	int ret;

	chans = pci_epf_nvme_dma_chans(nvme, dir, &nr_chans);
	mapped = pci_epf_nvme_dma_start(nvme, xfers, nr, dir, &ctx, &used);
	if (!atomic_dec_and_test(&ctx.pending) &&
	    !wait_for_completion_timeout(&done, PCI_EPF_NVME_DMA_TIMEOUT)) {
		/*
		 * No callback may run once the context is gone. Batches of
		 * the poller on these channels lose their transfers too: the
		 * controller is going fatal, and they fail on their own
		 * timeout, or when the host disables the controller.
		 */
		for_each_set_bit(i, &used, nr_chans)
			dmaengine_terminate_sync(chans[i].chan);
		for (i = 0; i < nr; i++)
			xfers[i]->error = true;
		timed_out = true;
	}

	ret = pci_epf_nvme_dma_finish(nvme, xfers, nr, mapped, dir);
	return timed_out ? -ETIMEDOUT : ret;
}

/*
 * Writes through an outbound window are posted: on a DesignWare controller
 * they can still be on their way, or be dropped, when the window is
 * unmapped right after. A read through the same window cannot pass them
 * (PCIe ordering), so reading a byte back before the unmap makes sure they
 * have landed.
 */
static void pci_epf_nvme_window_flush(void __iomem *window)
{
	ioread8(window);
}

/**
 * pci_epf_nvme_window_map() - map host memory through a window, for long
 * @nvme: the function
 * @pci_addr: PCI address of the range
 * @len: its length
 * @map: the mapping, for pci_epf_nvme_window_unmap()
 *
 * For host memory written often and never read, such as a completion
 * queue: writes through the mapping are posted and cost no map, unmap or
 * flush each time. The controller may have no room left for it.
 *
 * Return: 0 if the whole range is mapped; else a negative error code, and
 * nothing is mapped.
 */
int pci_epf_nvme_window_map(struct pci_epf_nvme *nvme, u64 pci_addr,
			    size_t len, struct pci_epc_map *map)
{
	struct pci_epf *epf = nvme->epf;
	int ret;

	ret = pci_epc_mem_map(epf->epc, epf->func_no, epf->vfunc_no, pci_addr,
			      len, map);
	if (ret)
		return ret;
	if (map->pci_size < len) {
		pci_epc_mem_unmap(epf->epc, epf->func_no, epf->vfunc_no, map);
		return -ENOSPC;
	}
	return 0;
}

/**
 * pci_epf_nvme_window_unmap() - undo pci_epf_nvme_window_map()
 * @nvme: the function
 * @map: the mapping, with no write to it in progress
 */
void pci_epf_nvme_window_unmap(struct pci_epf_nvme *nvme,
			       struct pci_epc_map *map)
{
	struct pci_epf *epf = nvme->epf;

	/* Without a link there is nothing to flush, and a read could abort */
	if (!READ_ONCE(nvme->link_down))
		pci_epf_nvme_window_flush(map->virt_addr);
	pci_epc_mem_unmap(epf->epc, epf->func_no, epf->vfunc_no, map);
}

static int pci_epf_nvme_window_copy_one(struct pci_epf_nvme *nvme,
					struct pci_epf_nvme_xfer *xfer,
					enum pci_epf_nvme_dir dir)
{
	struct pci_epf *epf = nvme->epf;
	void *buf = xfer->buf;
	struct pci_epc_map map;
	unsigned int i;
	size_t chunk;
	u64 addr;
	u32 left;
	int ret = 0;

	xfer->issued = false;

	/*
	 * The windows are few: copy one piece at a time, and map each piece
	 * only for its copy, as the window may be a snapshot of host memory.
	 */
	mutex_lock(&nvme->map_lock);
	for (i = 0; i < xfer->nr_segs; i++) {
		addr = xfer->segs[i].pci_addr;
		left = xfer->segs[i].len;
		if (xfer->segs[i].bit_bucket) {
			buf += left;
			continue;
		}
		while (left) {
			ret = pci_epc_mem_map(epf->epc, epf->func_no,
					      epf->vfunc_no, addr,
					      min_t(size_t, left,
						    PCI_EPF_NVME_MAP_CHUNK),
					      &map);
			if (ret)
				goto unlock;

			chunk = map.pci_size;
			if (!chunk) {
				pci_epc_mem_unmap(epf->epc, epf->func_no,
						  epf->vfunc_no, &map);
				ret = -EIO;
				goto unlock;
			}
			xfer->issued = true;
			if (dir == PCI_EPF_NVME_FROM_HOST) {
				memcpy_fromio(buf, map.virt_addr, chunk);
			} else {
				memcpy_toio(map.virt_addr, buf, chunk);
				pci_epf_nvme_window_flush(map.virt_addr);
			}
			pci_epc_mem_unmap(epf->epc, epf->func_no,
					  epf->vfunc_no, &map);

			buf += chunk;
			addr += chunk;
			left -= chunk;
		}
	}
unlock:
	mutex_unlock(&nvme->map_lock);
	return ret;
}

/* Without DMA channels: one buffer after the other, through windows */
static int pci_epf_nvme_window_copy(struct pci_epf_nvme *nvme,
				    struct pci_epf_nvme_xfer **xfers,
				    unsigned int nr, enum pci_epf_nvme_dir dir)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < nr; i++) {
		xfers[i]->error = pci_epf_nvme_window_copy_one(nvme, xfers[i],
							       dir);
		if (xfers[i]->error)
			ret = -EIO;
	}

	return ret;
}

static void pci_epf_nvme_batch_failed(struct pci_epf_nvme *nvme,
				      enum pci_epf_nvme_dir dir,
				      unsigned int nr, int err)
{
	dev_err_ratelimited(pci_epf_nvme_dev(nvme),
			    "%s of a batch of %u buffers failed: %d\n",
			    dir == PCI_EPF_NVME_FROM_HOST ? "read" : "write",
			    nr, err);
}

/* Buffers start moving: trace them, count them by the way they go */
static void pci_epf_nvme_xfer_begin(struct pci_epf_nvme *nvme,
				    struct pci_epf_nvme_xfer **xfers,
				    unsigned int nr, enum pci_epf_nvme_dir dir,
				    bool dma)
{
	struct pci_epf_nvme_stats *stats = &nvme->stats;
	u64 len = pci_epf_nvme_xfers_len(xfers, nr);

	trace_pci_epf_nvme_xfer_start(nvme, xfers, nr, dir, dma);
	atomic64_add(nr, dma ? &stats->dma_xfers : &stats->window_xfers);
	atomic64_add(len, dma ? &stats->dma_bytes : &stats->window_bytes);
}

/* Buffers are done moving, each with its error flag set */
static void pci_epf_nvme_xfer_end(struct pci_epf_nvme *nvme,
				  struct pci_epf_nvme_xfer **xfers,
				  unsigned int nr, enum pci_epf_nvme_dir dir,
				  int ret)
{
	unsigned int i;

	trace_pci_epf_nvme_xfer_done(nvme, nr, dir, ret);
	if (!ret)
		return;
	for (i = 0; i < nr; i++)
		if (xfers[i]->error)
			atomic64_inc(&nvme->stats.xfer_errors);
}

/**
 * pci_epf_nvme_xfer_sync() - move data between local buffers and the host,
 *			      and wait
 * @nvme: the function
 * @xfers: the transfers, each with its buffer and host memory segments
 * @nr: number of transfers
 * @dir: %PCI_EPF_NVME_FROM_HOST or %PCI_EPF_NVME_TO_HOST
 *
 * Sleeps until every transfer is done, and sets the error flag of each one
 * that failed. A batch that never completes sets the controller fatal
 * status.
 *
 * Return: 0 if every transfer succeeded, else a negative error code.
 */
int pci_epf_nvme_xfer_sync(struct pci_epf_nvme *nvme,
			   struct pci_epf_nvme_xfer **xfers, unsigned int nr,
			   enum pci_epf_nvme_dir dir)
{
	unsigned int nr_chans;
	int ret;

	if (!nr)
		return 0;

	pci_epf_nvme_dma_chans(nvme, dir, &nr_chans);
	pci_epf_nvme_xfer_begin(nvme, xfers, nr, dir, nr_chans);
	if (nr_chans)
		ret = pci_epf_nvme_dma_sync(nvme, xfers, nr, dir);
	else
		ret = pci_epf_nvme_window_copy(nvme, xfers, nr, dir);
	pci_epf_nvme_xfer_end(nvme, xfers, nr, dir, ret);

	if (ret) {
		pci_epf_nvme_batch_failed(nvme, dir, nr, ret);
		if (ret == -ETIMEDOUT)
			pci_epf_nvme_set_fatal(nvme, "DMA transfer timeout");
	}

	return ret;
}

/**
 * pci_epf_nvme_batch_pool_create() - the function's pool of batches
 * @nvme: the function
 *
 * Return: 0 or -ENOMEM.
 */
int pci_epf_nvme_batch_pool_create(struct pci_epf_nvme *nvme)
{
	nvme->batch_pool =
		mempool_create_kmalloc_pool(PCI_EPF_NVME_BATCH_RESERVE,
					    sizeof(struct pci_epf_nvme_batch));
	return nvme->batch_pool ? 0 : -ENOMEM;
}

/**
 * pci_epf_nvme_batch_get() - an empty batch for transfers not waited for
 * @nvme: the function
 * @dir: %PCI_EPF_NVME_FROM_HOST or %PCI_EPF_NVME_TO_HOST
 *
 * Poller context: does not sleep. The function keeps a reserve of batches,
 * so that some can always be in flight whatever the memory left.
 *
 * Return: the batch, or NULL when memory is short and the reserve is in
 * flight: the commands then wait for a batch to end.
 */
struct pci_epf_nvme_batch *pci_epf_nvme_batch_get(struct pci_epf_nvme *nvme,
						  enum pci_epf_nvme_dir dir)
{
	struct pci_epf_nvme_batch *batch;

	batch = mempool_alloc(nvme->batch_pool, GFP_NOWAIT | __GFP_NOWARN);
	if (!batch)
		return NULL;
	batch->nvme = nvme;
	batch->dir = dir;
	batch->nr = 0;
	batch->mapped = 0;
	return batch;
}

/**
 * pci_epf_nvme_batch_put() - give back a batch, empty or ended
 * @batch: the batch
 */
void pci_epf_nvme_batch_put(struct pci_epf_nvme_batch *batch)
{
	mempool_free(batch, batch->nvme->batch_pool);
}

/**
 * pci_epf_nvme_batch_start() - start the transfers of a batch
 * @batch: the batch, from pci_epf_nvme_batch_get(), with transfers
 *
 * The transfers run while the poller goes on; once they are done,
 * pci_epf_nvme_take_ended_batches() returns the batch. Without DMA
 * channels the transfers go through outbound windows before this returns.
 * Poller context, or whoever drains the function.
 */
void pci_epf_nvme_batch_start(struct pci_epf_nvme_batch *batch)
{
	struct pci_epf_nvme *nvme = batch->nvme;
	unsigned int nr_chans;
	unsigned long used;

	batch->started = jiffies;
	batch->ctx.waiter = NULL;
	list_add_tail(&batch->entry, &nvme->batches_inflight);

	pci_epf_nvme_dma_chans(nvme, batch->dir, &nr_chans);
	pci_epf_nvme_xfer_begin(nvme, batch->xfers, batch->nr, batch->dir,
				nr_chans);
	if (!nr_chans) {
		pci_epf_nvme_window_copy(nvme, batch->xfers, batch->nr,
					 batch->dir);
		llist_add(&batch->ended_node, &nvme->batches_ended);
		return;
	}

	batch->mapped = pci_epf_nvme_dma_start(nvme, batch->xfers, batch->nr,
					       batch->dir, &batch->ctx, &used);
	if (atomic_dec_and_test(&batch->ctx.pending))
		pci_epf_nvme_xfers_done(&batch->ctx);
}

/* Unmap an ended batch and move it to @ended */
static void pci_epf_nvme_batch_end(struct pci_epf_nvme_batch *batch,
				   struct list_head *ended)
{
	struct pci_epf_nvme *nvme = batch->nvme;
	int ret;

	ret = pci_epf_nvme_dma_finish(nvme, batch->xfers, batch->nr,
				      batch->mapped, batch->dir);
	pci_epf_nvme_xfer_end(nvme, batch->xfers, batch->nr, batch->dir, ret);
	if (ret)
		pci_epf_nvme_batch_failed(nvme, batch->dir, batch->nr, ret);
	list_move_tail(&batch->entry, ended);
}

/* End the batches handed back since the last call, in the order they ended */
static void pci_epf_nvme_end_handed_back(struct pci_epf_nvme *nvme,
					 struct list_head *ended)
{
	struct pci_epf_nvme_batch *batch, *tmp;
	struct llist_node *list;

	list = llist_reverse_order(llist_del_all(&nvme->batches_ended));
	llist_for_each_entry_safe(batch, tmp, list, ended_node)
		pci_epf_nvme_batch_end(batch, ended);
}

/*
 * The oldest batch did not complete in time: report the controller fatal,
 * stop the channels so that no callback comes any more, and fail what did
 * not complete.
 */
static void pci_epf_nvme_expire_batches(struct pci_epf_nvme *nvme,
					struct list_head *ended)
{
	struct pci_epf_nvme_batch *batch, *tmp;
	unsigned int i;

	pci_epf_nvme_set_fatal(nvme, "DMA transfer timeout");
	pci_epf_nvme_dma_terminate(nvme);

	/* No callback runs any more: those that ran ended their batch */
	pci_epf_nvme_end_handed_back(nvme, ended);

	list_for_each_entry_safe(batch, tmp, &nvme->batches_inflight, entry) {
		for (i = 0; i < batch->nr; i++)
			batch->xfers[i]->error = true;
		pci_epf_nvme_batch_end(batch, ended);
	}
}

/**
 * pci_epf_nvme_take_ended_batches() - take the batches whose transfers are
 *				       done
 * @nvme: the function
 * @ended: where they go, unmapped, each transfer's error flag set, in the
 *	   order they ended
 *
 * A batch in flight for too long fails, and so do the others. Poller
 * context, or whoever drains the function.
 *
 * Return: true if a batch ended.
 */
bool pci_epf_nvme_take_ended_batches(struct pci_epf_nvme *nvme,
				     struct list_head *ended)
{
	struct pci_epf_nvme_batch *oldest;

	pci_epf_nvme_end_handed_back(nvme, ended);

	/* Every pass: under load, other batches keep completing */
	oldest = list_first_entry_or_null(&nvme->batches_inflight,
					  struct pci_epf_nvme_batch, entry);
	if (oldest && time_after(jiffies, oldest->started +
				 PCI_EPF_NVME_DMA_TIMEOUT))
		pci_epf_nvme_expire_batches(nvme, ended);

	return !list_empty(ended);
}

/**
 * pci_epf_nvme_xfer_one() - move one contiguous range of host memory
 * @nvme: the function
 * @pci_addr: PCI address of the range
 * @buf: the local buffer
 * @len: length of the range
 * @dir: %PCI_EPF_NVME_FROM_HOST or %PCI_EPF_NVME_TO_HOST
 *
 * Short writes go through an outbound window when the controller has one,
 * other transfers through its DMA channels. Sleeps until the transfer is
 * done.
 *
 * Return: 0; -EAGAIN if the transfer failed before any of it started (no
 * descriptor, no window), so that nothing moved and it may be tried again;
 * or another negative error code.
 */
int pci_epf_nvme_xfer_one(struct pci_epf_nvme *nvme, u64 pci_addr, void *buf,
			  size_t len, enum pci_epf_nvme_dir dir)
{
	struct pci_epf_nvme_seg seg = { .pci_addr = pci_addr, .len = len };
	struct pci_epf_nvme_xfer xfer = {
		.buf = buf,
		.len = len,
		.segs = &seg,
		.nr_segs = 1,
	};
	struct pci_epf_nvme_xfer *xfers = &xfer;
	int ret;

	if (dir == PCI_EPF_NVME_TO_HOST &&
	    len <= PCI_EPF_NVME_WINDOW_WRITE_MAX &&
	    nvme->epf->epc->num_windows) {
		pci_epf_nvme_xfer_begin(nvme, &xfers, 1, dir, false);
		ret = pci_epf_nvme_window_copy_one(nvme, &xfer, dir);
		pci_epf_nvme_xfer_end(nvme, &xfers, 1, dir, ret);
		if (!ret)
			return 0;
	}

	ret = pci_epf_nvme_xfer_sync(nvme, &xfers, 1, dir);
	if (ret && !xfer.issued)
		return -EAGAIN;
	return ret;
}

/*
 * Append a range of host memory, or a bit bucket, to the segments: merged
 * with the last one if it continues it (adjacent memory, or a bit bucket
 * after a bit bucket).
 */
static void pci_epf_nvme_add_seg(struct pci_epf_nvme_cmd *cmd, u64 addr,
				 u32 len, bool bit_bucket)
{
	struct pci_epf_nvme_seg *last;

	if (cmd->nr_segs) {
		last = &cmd->segs[cmd->nr_segs - 1];
		if (last->bit_bucket == bit_bucket &&
		    (bit_bucket || last->pci_addr + last->len == addr)) {
			last->len += len;
			return;
		}
	}

	cmd->segs[cmd->nr_segs].pci_addr = addr;
	cmd->segs[cmd->nr_segs].len = len;
	cmd->segs[cmd->nr_segs].bit_bucket = bit_bucket;
	cmd->nr_segs++;
}

/*
 * Walk a PRP list of @nr_entries data pointers, covering @len bytes, that
 * starts at @list_addr. The last entry of a list page that is not the last
 * page points to the next list page.
 */
static u16 pci_epf_nvme_walk_prp_list(struct pci_epf_nvme_cmd *cmd,
				      u64 list_addr, unsigned int nr_entries,
				      size_t len)
{
	const unsigned int page_entries = PCI_EPF_NVME_PAGE_SIZE / sizeof(u64);
	unsigned int in_page, nr_data, i;
	bool chained;
	__le64 *list;
	u16 status = NVME_SC_SUCCESS;
	u64 addr;
	u32 seg_len;

	list = kmalloc(PCI_EPF_NVME_PAGE_SIZE, GFP_KERNEL);
	if (!list)
		return NVME_SC_INTERNAL;

	while (nr_entries) {
		/* A list pointer is quad word aligned and may have an offset */
		if (list_addr & (sizeof(u64) - 1)) {
			status = NVME_SC_PRP_INVALID_OFFSET | NVME_STATUS_DNR;
			break;
		}
		in_page = page_entries -
			  (list_addr & (PCI_EPF_NVME_PAGE_SIZE - 1)) /
			  sizeof(u64);
		chained = nr_entries > in_page;
		if (!chained)
			in_page = nr_entries;

		if (pci_epf_nvme_xfer_one(cmd->nvme, list_addr, list,
					  in_page * sizeof(u64),
					  PCI_EPF_NVME_FROM_HOST)) {
			status = NVME_SC_DATA_XFER_ERROR;
			break;
		}

		nr_data = chained ? in_page - 1 : in_page;
		for (i = 0; i < nr_data; i++) {
			addr = le64_to_cpu(list[i]);
			if (addr & (PCI_EPF_NVME_PAGE_SIZE - 1)) {
				status = NVME_SC_PRP_INVALID_OFFSET |
					 NVME_STATUS_DNR;
				goto out;
			}
			seg_len = min_t(size_t, len, PCI_EPF_NVME_PAGE_SIZE);
			pci_epf_nvme_add_seg(cmd, addr, seg_len, false);
			len -= seg_len;
		}
		nr_entries -= nr_data;

		if (chained) {
			/*
			 * The next list page is page aligned: this bounds the
			 * walk, however the host chains its pages.
			 */
			list_addr = le64_to_cpu(list[in_page - 1]);
			if (list_addr & (PCI_EPF_NVME_PAGE_SIZE - 1)) {
				status = NVME_SC_PRP_INVALID_OFFSET |
					 NVME_STATUS_DNR;
				break;
			}
		}
	}
out:
	kfree(list);
	return status;
}

/**
 * pci_epf_nvme_map_prps() - find the host memory of a command's data
 * @cmd: the command, with its data length set
 *
 * Translate PRP1, PRP2 and the PRP lists of @cmd into host memory segments.
 * The data length was checked against MDTS, which bounds the number of PRP
 * entries, hence of list pages read.
 *
 * Return: an NVMe status.
 */
u16 pci_epf_nvme_map_prps(struct pci_epf_nvme_cmd *cmd)
{
	u64 prp1 = le64_to_cpu(cmd->sqe.common.dptr.prp1);
	u64 prp2 = le64_to_cpu(cmd->sqe.common.dptr.prp2);
	size_t len = cmd->len, first;
	unsigned int nr_entries;

	/* The first entry may have an offset, dword aligned */
	if (prp1 & 3)
		return NVME_SC_PRP_INVALID_OFFSET | NVME_STATUS_DNR;

	first = min_t(size_t, len, PCI_EPF_NVME_PAGE_SIZE -
		      (prp1 & (PCI_EPF_NVME_PAGE_SIZE - 1)));
	len -= first;
	nr_entries = DIV_ROUND_UP(len, PCI_EPF_NVME_PAGE_SIZE);

	cmd->segs = kmalloc_array(nr_entries + 1, sizeof(*cmd->segs),
				  GFP_KERNEL);
	if (!cmd->segs)
		return NVME_SC_INTERNAL;

	cmd->nr_segs = 0;
	pci_epf_nvme_add_seg(cmd, prp1, first, false);

	if (!nr_entries)
		return NVME_SC_SUCCESS;

	/* PRP2 is either the second and last data page or a PRP list */
	if (nr_entries == 1) {
		if (prp2 & (PCI_EPF_NVME_PAGE_SIZE - 1))
			return NVME_SC_PRP_INVALID_OFFSET | NVME_STATUS_DNR;
		pci_epf_nvme_add_seg(cmd, prp2, len, false);
		return NVME_SC_SUCCESS;
	}

	return pci_epf_nvme_walk_prp_list(cmd, prp2, nr_entries, len);
}

/* The longest SGL segment read, in descriptors, and segments per command */
#define PCI_EPF_NVME_SGL_SEG_DESCS	256
#define PCI_EPF_NVME_SGL_SEGMENTS	16

/* The descriptor type <linux/nvme.h> does not name */
#define PCI_EPF_NVME_SGL_FMT_BIT_BUCKET	0x1

/* An SGL descriptor's type and subtype */
#define PCI_EPF_NVME_SGL_TYPE(desc)	((desc)->type >> 4)
#define PCI_EPF_NVME_SGL_SUBTYPE(desc)	((desc)->type & 0xf)

/*
 * Read the SGL segment @desc points to into @list: its length a whole
 * number of descriptors, at most %PCI_EPF_NVME_SGL_SEG_DESCS. Return the
 * number of descriptors, or 0 with *@status set.
 */
static unsigned int pci_epf_nvme_read_sgl_seg(struct pci_epf_nvme_cmd *cmd,
					      const struct nvme_sgl_desc *desc,
					      struct nvme_sgl_desc *list,
					      u16 *status)
{
	u32 len = le32_to_cpu(desc->length);

	if (!len || len % sizeof(*desc) ||
	    len > PCI_EPF_NVME_SGL_SEG_DESCS * sizeof(*desc)) {
		*status = NVME_SC_SGL_INVALID_LAST | NVME_STATUS_DNR;
		return 0;
	}
	if (pci_epf_nvme_xfer_one(cmd->nvme, le64_to_cpu(desc->addr), list,
				  len, PCI_EPF_NVME_FROM_HOST)) {
		*status = NVME_SC_DATA_XFER_ERROR;
		return 0;
	}
	return len / sizeof(*desc);
}

/*
 * A bit bucket skips @desc's length of the data the controller sends: the
 * range counts in the data length and is not transferred. In data the host
 * sends there is nothing to skip: the descriptor does not count, as its
 * length does not count against MDTS in a source buffer.
 */
static u16 pci_epf_nvme_add_bit_bucket(struct pci_epf_nvme_cmd *cmd,
				       const struct nvme_sgl_desc *desc,
				       size_t *left, unsigned int *nr_data,
				       unsigned int max_data)
{
	u32 len = le32_to_cpu(desc->length);

	if (cmd->dir != PCI_EPF_NVME_TO_HOST || !len)
		return NVME_SC_SUCCESS;
	if (len > *left)
		return NVME_SC_SGL_INVALID_DATA | NVME_STATUS_DNR;
	*left -= len;

	/* Only a bucket that does not follow a bucket takes a new segment */
	if ((!cmd->nr_segs || !cmd->segs[cmd->nr_segs - 1].bit_bucket) &&
	    (*nr_data)++ == max_data)
		return NVME_SC_SGL_INVALID_COUNT | NVME_STATUS_DNR;
	pci_epf_nvme_add_seg(cmd, 0, len, true);
	return NVME_SC_SUCCESS;
}

/**
 * pci_epf_nvme_map_sgl() - find the host memory of a command's data, SGL
 * @cmd: the command, with its data length set
 *
 * Walk the SGL of @cmd: data block descriptors, and segment and last
 * segment descriptors that point to more, each segment's last descriptor
 * pointing to the next. The walk is bounded: at most
 * %PCI_EPF_NVME_SGL_SEGMENTS segments of %PCI_EPF_NVME_SGL_SEG_DESCS
 * descriptors, and a data descriptor per page of data plus
 * %PCI_EPF_NVME_SGL_SEG_DESCS, so a chain that loops ends. The data
 * blocks and the bit buckets of a read must describe exactly the data
 * length (Identify does not announce longer SGLs); keyed or transport
 * descriptors are not supported.
 *
 * Return: an NVMe status.
 */
u16 pci_epf_nvme_map_sgl(struct pci_epf_nvme_cmd *cmd)
{
	struct nvme_sgl_desc desc = cmd->sqe.common.dptr.sgl;
	unsigned int max_data = DIV_ROUND_UP(cmd->len, PCI_EPF_NVME_PAGE_SIZE) +
				PCI_EPF_NVME_SGL_SEG_DESCS;
	unsigned int nr = 0, next = 0, segments = 0, nr_data = 0;
	struct nvme_sgl_desc *list = NULL;
	bool in_last = false;
	size_t left = cmd->len;
	u16 status = NVME_SC_SUCCESS;
	u32 len;

	cmd->segs = kmalloc_array(max_data, sizeof(*cmd->segs), GFP_KERNEL);
	if (!cmd->segs)
		return NVME_SC_INTERNAL;
	cmd->nr_segs = 0;

	for (;;) {
		if (PCI_EPF_NVME_SGL_SUBTYPE(&desc) != NVME_SGL_FMT_ADDRESS) {
			status = NVME_SC_SGL_INVALID_TYPE | NVME_STATUS_DNR;
			break;
		}

		switch (PCI_EPF_NVME_SGL_TYPE(&desc)) {
		case NVME_SGL_FMT_DATA_DESC:
			len = le32_to_cpu(desc.length);
			if (len > left) {
				status = NVME_SC_SGL_INVALID_DATA |
					 NVME_STATUS_DNR;
				goto out;
			}
			if (len) {
				if (nr_data++ == max_data) {
					status = NVME_SC_SGL_INVALID_COUNT |
						 NVME_STATUS_DNR;
					goto out;
				}
				pci_epf_nvme_add_seg(cmd, le64_to_cpu(desc.addr),
						     len, false);
				left -= len;
			}
			break;
		case PCI_EPF_NVME_SGL_FMT_BIT_BUCKET:
			status = pci_epf_nvme_add_bit_bucket(cmd, &desc, &left,
							     &nr_data,
							     max_data);
			if (status != NVME_SC_SUCCESS)
				goto out;
			break;
		case NVME_SGL_FMT_SEG_DESC:
		case NVME_SGL_FMT_LAST_SEG_DESC:
			/* Only a segment's last descriptor points further */
			if (in_last || next < nr) {
				status = NVME_SC_SGL_INVALID_LAST |
					 NVME_STATUS_DNR;
				goto out;
			}
			if (segments++ == PCI_EPF_NVME_SGL_SEGMENTS) {
				status = NVME_SC_SGL_INVALID_COUNT |
					 NVME_STATUS_DNR;
				goto out;
			}
			if (!list) {
				list = kmalloc_array(PCI_EPF_NVME_SGL_SEG_DESCS,
						     sizeof(*list), GFP_KERNEL);
				if (!list) {
					status = NVME_SC_INTERNAL;
					goto out;
				}
			}
			in_last = PCI_EPF_NVME_SGL_TYPE(&desc) ==
				  NVME_SGL_FMT_LAST_SEG_DESC;
			nr = pci_epf_nvme_read_sgl_seg(cmd, &desc, list,
						       &status);
			if (!nr)
				goto out;
			next = 0;
			break;
		default:
			status = NVME_SC_SGL_INVALID_TYPE | NVME_STATUS_DNR;
			goto out;
		}

		if (next == nr) {
			/* A segment that is not the last ends with a pointer */
			if (list && !in_last)
				status = NVME_SC_SGL_INVALID_LAST |
					 NVME_STATUS_DNR;
			break;
		}
		desc = list[next++];
	}
out:
	kfree(list);
	if (status == NVME_SC_SUCCESS && left)
		status = NVME_SC_SGL_INVALID_DATA | NVME_STATUS_DNR;
	return status;
}
