// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: the backend, an NVMe over Fabrics host
 * controller.
 *
 * Everything the function takes from the kernel's NVMe host code is here,
 * and only here: creating and deleting the fabrics controller, its limits,
 * its namespaces, building and issuing requests on its queues and getting
 * them back, flushing it. No other file includes a private header of
 * drivers/nvme/host, so that a change there touches this file alone.
 *
 * The controller is created when the function is bound, with hidden
 * namespaces so that nothing on the endpoint can write them behind the
 * host's back, and deleted when the function is unbound.
 *
 * The block and NVMe interfaces used here differ between the kernels the
 * function builds for, Linux 6.12 and 7.3: those differences are here too,
 * each under a flag the Makefile sets from the kernel's headers.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/blk-mq.h>
#include <linux/module.h>
#include <linux/rculist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/srcu.h>
#include <linux/stringify.h>

#include "nvme.h"
#include "fabrics.h"
#include "pci-epf-nvme.h"
#include "pci_epf_nvme_trace.h"

/*
 * nvme_find_get_ns() and nvme_put_ns() are exported for nvmet passthru.
 * The namespace is a string since 6.13 (see the Makefile for the
 * PCI_EPF_NVME_* interface flags).
 */
#ifdef PCI_EPF_NVME_IMPORT_NS_STRING
MODULE_IMPORT_NS("NVME_TARGET_PASSTHRU");
#else
MODULE_IMPORT_NS(NVME_TARGET_PASSTHRU);
#endif

/*
 * Seconds the fabrics layer holds the function's commands while its
 * controller reconnects, unless the connect options say: below the 30 s
 * I/O timeout of Linux hosts, after which they reset the controller, and
 * below CAP.TO, which bounds the wait of a reset for those commands.
 */
#define PCI_EPF_NVME_FAST_IO_FAIL_TMO	20

/**
 * pci_epf_nvme_backend_connect() - create the fabrics controller
 * @nvme: the function, being bound
 *
 * Connect to the target named by nvme/connect_opts, and size the
 * controller (MDTS) after what the fabrics controller can do.
 *
 * Return: 0 or a negative error code.
 */
int pci_epf_nvme_backend_connect(struct pci_epf_nvme *nvme)
{
	struct device *dev = pci_epf_nvme_dev(nvme);
	struct nvme_ctrl *fctrl;
	size_t max_xfer;
	char *opts;

	/*
	 * While the fabrics controller reconnects, its layer holds the
	 * commands (see pci_epf_nvme_backend_submit()), and a reset of ours waits for
	 * them: fail them after a while, unless the user chose how long.
	 */
	opts = kasprintf(GFP_KERNEL, "%s,hidden_ns%s", nvme->cfg.connect_opts,
			 strstr(nvme->cfg.connect_opts, "fast_io_fail_tmo=") ? "" :
			 ",fast_io_fail_tmo=" __stringify(PCI_EPF_NVME_FAST_IO_FAIL_TMO));
	if (!opts)
		return -ENOMEM;
	fctrl = nvmf_create_ctrl(dev, opts);
	kfree(opts);
	if (IS_ERR(fctrl)) {
		dev_err(dev, "cannot create the fabrics controller: %pe\n",
			fctrl);
		return PTR_ERR(fctrl);
	}

	if (fctrl->queue_count < 2) {
		dev_err(dev, "the fabrics controller has no I/O queue\n");
		goto delete;
	}

	nvme->mdts = (size_t)nvme->cfg.mdts_kb * SZ_1K;
	max_xfer = (size_t)fctrl->max_hw_sectors << SECTOR_SHIFT;
	if (nvme->mdts > max_xfer) {
		if (max_xfer < PCI_EPF_NVME_MIN_MDTS_KB * SZ_1K) {
			dev_err(dev, "the fabrics controller transfers %zu bytes at most, MDTS cannot say less than %u KiB\n",
				max_xfer, PCI_EPF_NVME_MIN_MDTS_KB);
			goto delete;
		}
		nvme->mdts = rounddown_pow_of_two(max_xfer);
		dev_info(dev, "MDTS limited to %zu KiB by the fabrics controller\n",
			 nvme->mdts / SZ_1K);
	}

	/* The host finds the namespaces the scan finds */
	flush_work(&fctrl->scan_work);

	nvme->fctrl = fctrl;
	dev_info(dev, "backed by fabrics controller %s\n",
		 dev_name(fctrl->device));
	return 0;

delete:
	nvmf_destroy_ctrl(fctrl);
	return -EINVAL;
}

/**
 * pci_epf_nvme_backend_disconnect() - delete the fabrics controller
 * @nvme: the function, with no command left
 *
 * The fabrics controller may be gone already (deleted by the administrator,
 * or by its transport): our reference and the transport module we pinned
 * keep what is left of it until here. Its admin queue, destroyed by the
 * deletion, is only put with the last reference: until then it fails the
 * admin commands forwarded to it.
 */
void pci_epf_nvme_backend_disconnect(struct pci_epf_nvme *nvme)
{
	nvmf_destroy_ctrl(nvme->fctrl);
	nvme->fctrl = NULL;
}

/**
 * pci_epf_nvme_backend_gone() - whether the fabrics controller is gone
 * @nvme: the function, bound
 *
 * A controller being deleted, by the administrator or by its transport
 * once it gave up reconnecting, never executes a command again. A
 * controller that reconnects is not gone: its commands wait.
 *
 * Return: true if the fabrics controller is gone for good.
 */
bool pci_epf_nvme_backend_gone(struct pci_epf_nvme *nvme)
{
	switch (nvme_ctrl_state(nvme->fctrl)) {
	case NVME_CTRL_DELETING:
	case NVME_CTRL_DELETING_NOIO:
	case NVME_CTRL_DEAD:
		return true;
	default:
		return false;
	}
}

/**
 * pci_epf_nvme_backend_get_ns() - find an active namespace, and hold it
 * @nvme: the function
 * @nsid: its namespace identifier
 *
 * Return: the namespace, to give back with pci_epf_nvme_backend_put_ns(),
 * or NULL if the fabrics controller has no such namespace.
 */
struct nvme_ns *pci_epf_nvme_backend_get_ns(struct pci_epf_nvme *nvme,
					    u32 nsid)
{
	return nvme_find_get_ns(nvme->fctrl, nsid);
}

/**
 * pci_epf_nvme_backend_put_ns() - give back a namespace
 * @ns: the namespace, from pci_epf_nvme_backend_get_ns()
 */
void pci_epf_nvme_backend_put_ns(struct nvme_ns *ns)
{
	nvme_put_ns(ns);
}

/**
 * pci_epf_nvme_backend_lba_shift() - log2 of a namespace's block size
 * @ns: the namespace, held
 *
 * Return: the shift, as Identify Namespace's LBA format gives it.
 */
unsigned int pci_epf_nvme_backend_lba_shift(struct nvme_ns *ns)
{
	return ns->head->lba_shift;
}

/**
 * pci_epf_nvme_backend_nsids() - the namespaces the fabrics controller has
 * @nvme: the function, with its fabrics controller
 * @nsids: where their NSIDs go
 * @max: room in @nsids
 *
 * The fabrics controller adds and removes namespaces as its target says
 * (an asynchronous event of the target, then a scan). Any context that may
 * sleep.
 *
 * Return: how many namespaces it has, which may be more than @max.
 */
unsigned int pci_epf_nvme_backend_nsids(struct pci_epf_nvme *nvme, u32 *nsids,
					unsigned int max)
{
	struct nvme_ctrl *ctrl = nvme->fctrl;
	unsigned int nr = 0;
	struct nvme_ns *ns;
	int srcu_idx;

	srcu_idx = srcu_read_lock(&ctrl->srcu);
	list_for_each_entry_srcu(ns, &ctrl->namespaces, list,
				 srcu_read_lock_held(&ctrl->srcu)) {
		if (nr < max)
			nsids[nr] = ns->head->ns_id;
		nr++;
	}
	srcu_read_unlock(&ctrl->srcu, srcu_idx);
	return nr;
}

/**
 * pci_epf_nvme_backend_nr_blocks() - a namespace's size in logical blocks
 * @ns: the namespace, held
 *
 * Return: the capacity the fabrics controller gave the namespace.
 */
u64 pci_epf_nvme_backend_nr_blocks(struct nvme_ns *ns)
{
	return get_capacity(ns->disk) >> (ns->head->lba_shift - SECTOR_SHIFT);
}

/*
 * The status of a forwarded command, as the host may see it. The fabrics
 * layer makes up statuses of its own when it loses the command (a
 * controller reset or deletion): Host Pathing Error, Command Aborted By
 * Host, which only a host may report. For the PCIe host it is an error
 * inside this controller: Internal Path Error, which it may retry.
 */
static u16 pci_epf_nvme_fabrics_status(struct request *rq,
				       blk_status_t blk_status)
{
	u16 status = nvme_req(rq)->status;

	if (status == NVME_SC_SUCCESS && blk_status != BLK_STS_OK)
		return NVME_SC_INTERNAL;
	/* Path related status codes 70h to 7Fh are the host's own */
	if ((status & NVME_SCT_SC_MASK & ~0xf) == NVME_SC_HOST_PATH_ERROR)
		return NVME_SC_INTERNAL_PATH_ERROR;
	return status;
}

/* This may be interrupt context: hand the command back to the poller */
static enum rq_end_io_ret pci_epf_nvme_end_io(struct request *rq,
					      blk_status_t blk_status)
{
	struct pci_epf_nvme_cmd *cmd = rq->end_io_data;

	cmd->status = pci_epf_nvme_fabrics_status(rq, blk_status);
	cmd->result = nvme_req(rq)->result;
	blk_mq_free_request(rq);
	pci_epf_nvme_cmd_returned(cmd);

	return RQ_END_IO_NONE;
}

#ifdef PCI_EPF_NVME_END_IO_BATCH
/* Newer kernels also pass the completion batch, of no use here */
static enum rq_end_io_ret
pci_epf_nvme_end_io_batch(struct request *rq, blk_status_t blk_status,
			  const struct io_comp_batch *iob)
{
	return pci_epf_nvme_end_io(rq, blk_status);
}

#define pci_epf_nvme_rq_end_io	pci_epf_nvme_end_io_batch
#else
#define pci_epf_nvme_rq_end_io	pci_epf_nvme_end_io
#endif

/* The queue argument went away in 6.16 */
static int pci_epf_nvme_map_kern(struct request *rq, void *buf,
				 unsigned int len)
{
#ifdef PCI_EPF_NVME_MAP_KERN_NO_QUEUE
	return blk_rq_map_kern(rq, buf, len, GFP_KERNEL);
#else
	return blk_rq_map_kern(rq->q, rq, buf, len, GFP_KERNEL);
#endif
}

/**
 * pci_epf_nvme_backend_submit() - issue a command on the fabrics controller
 * @cmd: the command, with its data in its local buffer if it carries some
 * @nowait: fail with -EAGAIN rather than wait for a tag or a frozen queue
 *
 * An I/O command goes on its namespace's queue, an admin command on the
 * admin queue. The command that goes out is the host's, without its data
 * pointer, which the transport fills in, and without a metadata pointer:
 * separate metadata is not supported. It comes back through
 * pci_epf_nvme_cmd_returned(), possibly in interrupt context.
 *
 * Return: 0 once issued; -EAGAIN (with @nowait) if the fabrics controller
 * cannot take it now; -ENODEV if it never will, the queue being torn down
 * (its namespace or the controller is going away); another error code.
 */
int pci_epf_nvme_backend_submit(struct pci_epf_nvme_cmd *cmd, bool nowait)
{
	blk_mq_req_flags_t flags = nowait ? BLK_MQ_REQ_NOWAIT : 0;
	struct nvme_ctrl *fctrl = cmd->nvme->fctrl;
	struct request_queue *q = cmd->ns ? cmd->ns->queue : fctrl->admin_q;
	struct nvme_command c = cmd->sqe;
	struct request *rq;
	int ret;

	c.common.flags = 0;
	c.common.command_id = 0;
	c.common.metadata = 0;
	memset(&c.common.dptr, 0, sizeof(c.common.dptr));

	rq = blk_mq_alloc_request(q, nvme_req_op(&c), flags);
	if (IS_ERR(rq)) {
		/* A dying queue stays frozen: do not wait for it */
		if (PTR_ERR(rq) == -EAGAIN && blk_queue_dying(q))
			return -ENODEV;
		return PTR_ERR(rq);
	}
	nvme_init_request(rq, &c);
	/*
	 * Let the fabrics layer hold and retry the command while its
	 * controller reconnects, as it does for its own block devices: the
	 * host sees a slow command rather than an error.
	 */
	rq->cmd_flags &= ~REQ_FAILFAST_DRIVER;

	if (cmd->len) {
		ret = pci_epf_nvme_map_kern(rq, cmd->buf, cmd->len);
		if (ret) {
			blk_mq_free_request(rq);
			return ret;
		}
	}

	rq->end_io = pci_epf_nvme_rq_end_io;
	rq->end_io_data = cmd;
	trace_pci_epf_nvme_cmd_forward(cmd);
	blk_execute_rq_nowait(rq, false);

	return 0;
}

/**
 * pci_epf_nvme_backend_flush() - flush the volatile write cache of every
 *				  namespace of the fabrics controller
 * @nvme: the function
 *
 * Used on shutdown, so that what the host wrote is stable when it is told
 * that the shutdown is complete.
 *
 * Return: 0 or the first error.
 */
int pci_epf_nvme_backend_flush(struct pci_epf_nvme *nvme)
{
	struct nvme_ctrl *fctrl = nvme->fctrl;
	unsigned int nr = 0, i = 0;
	struct nvme_command c = { };
	struct nvme_ns *ns;
	u32 *nsids;
	int srcu_idx, ret = 0, err;

	srcu_idx = srcu_read_lock(&fctrl->srcu);
	list_for_each_entry_srcu(ns, &fctrl->namespaces, list,
				 srcu_read_lock_held(&fctrl->srcu))
		nr++;
	srcu_read_unlock(&fctrl->srcu, srcu_idx);
	if (!nr)
		return 0;

	nsids = kmalloc_array(nr, sizeof(*nsids), GFP_KERNEL);
	if (!nsids)
		return -ENOMEM;

	srcu_idx = srcu_read_lock(&fctrl->srcu);
	list_for_each_entry_srcu(ns, &fctrl->namespaces, list,
				 srcu_read_lock_held(&fctrl->srcu)) {
		if (i == nr)
			break;
		nsids[i++] = ns->head->ns_id;
	}
	srcu_read_unlock(&fctrl->srcu, srcu_idx);

	c.common.opcode = nvme_cmd_flush;
	for (nr = i, i = 0; i < nr; i++) {
		ns = nvme_find_get_ns(fctrl, nsids[i]);
		if (!ns)
			continue;
		c.common.nsid = cpu_to_le32(nsids[i]);
		err = nvme_submit_sync_cmd(ns->queue, &c, NULL, 0);
		nvme_put_ns(ns);
		if (err && !ret)
			ret = err;
	}

	kfree(nsids);
	return ret;
}
