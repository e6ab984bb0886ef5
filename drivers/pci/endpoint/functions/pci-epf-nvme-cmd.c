// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: command execution.
 *
 * I/O commands are started by the poller, in batches: the commands it
 * fetched from a submission queue in one transfer are parsed and each is
 * forwarded as a request on the fabrics controller's queues, the writes
 * once their data, read from the host in one batch of DMA transfers, is
 * here. A forwarded command completes from the request's end_io callback,
 * which only hands it back to the poller; the poller returns the data of
 * the commands that completed in one batch too, and queues their
 * completion entries once it is in host memory. Nothing waits for a
 * forwarded command or for its data: as many commands are in flight as
 * the host submits, and no command costs a thread switch of its own.
 *
 * Admin commands run in a work item each, one at a time, on an ordered
 * workqueue: some wait (queue deletion), and their order matters.
 *
 * The life of an I/O command, in the poller unless said (file, function;
 * h: the header):
 *
 *   queue.c   pci_epf_nvme_fetch_commands()     SQ tails moved: read the SQEs
 *   cmd.c     pci_epf_nvme_start_io()           parse (io.c), wait in order
 *   cmd.c     pci_epf_nvme_dispatch_io()        local buffer, PRPs (xfer.c);
 *   xfer.c    pci_epf_nvme_batch_start()        writes: read their data (DMA)
 *   xfer.c    pci_epf_nvme_dma_done()           (DMA callback) batch ended:
 *   h         pci_epf_nvme_hand_back()          back to the poller
 *   cmd.c     pci_epf_nvme_data_moved()         ... data here: forward
 *   cmd.c     pci_epf_nvme_forward_io()         to the fabrics controller:
 *   backend.c pci_epf_nvme_backend_submit()     a request on its queues
 *   backend.c pci_epf_nvme_end_io()             (any context) executed:
 *   cmd.c     pci_epf_nvme_cmd_returned()       back to the poller
 *   cmd.c     pci_epf_nvme_handle_executed()    reads: write their data (DMA)
 *   cmd.c     pci_epf_nvme_data_moved()         ... data sent: queue entries
 *   queue.c   pci_epf_nvme_cq_post()            the entry waits for its CQ
 *   queue.c   pci_epf_nvme_post_completions()   entries written, interrupt
 *
 * An admin command: pci_epf_nvme_fetch_commands() queues its work item,
 * which runs pci_epf_nvme_run_admin() (parsed in admin.c, its data moved
 * and waited for, then executed by admin.c or submitted to the backend);
 * back from the backend, pci_epf_nvme_handle_executed() queues the work item
 * again, and pci_epf_nvme_complete_admin() returns its data and posts its
 * entry.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/mempool.h>
#include <linux/slab.h>

#include "pci-epf-nvme.h"
#include "pci_epf_nvme_trace.h"

static struct kmem_cache *pci_epf_nvme_cmd_cache;

int pci_epf_nvme_cmd_cache_init(void)
{
	pci_epf_nvme_cmd_cache = KMEM_CACHE(pci_epf_nvme_cmd, 0);
	return pci_epf_nvme_cmd_cache ? 0 : -ENOMEM;
}

void pci_epf_nvme_cmd_cache_exit(void)
{
	kmem_cache_destroy(pci_epf_nvme_cmd_cache);
}

static void pci_epf_nvme_cmd_work(struct work_struct *work);

/**
 * pci_epf_nvme_cmd_pool_create() - the function's pool of commands
 * @nvme: the function
 *
 * Return: 0 or -ENOMEM.
 */
int pci_epf_nvme_cmd_pool_create(struct pci_epf_nvme *nvme)
{
	nvme->cmd_pool = mempool_create_slab_pool(PCI_EPF_NVME_CMD_RESERVE,
						  pci_epf_nvme_cmd_cache);
	return nvme->cmd_pool ? 0 : -ENOMEM;
}

/**
 * pci_epf_nvme_get_cmds() - take commands for the entries about to be
 *			     fetched
 * @nvme: the function
 * @cmds: where the commands go
 * @nr: how many are wanted
 *
 * Poller context: does not sleep. The pool keeps a reserve of
 * %PCI_EPF_NVME_CMD_RESERVE commands: when memory is short, the host's
 * commands still flow, that many at a time.
 *
 * Return: how many commands were taken, the first ones of @cmds.
 */
unsigned int pci_epf_nvme_get_cmds(struct pci_epf_nvme *nvme,
				   struct pci_epf_nvme_cmd **cmds,
				   unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		cmds[i] = mempool_alloc(nvme->cmd_pool,
					GFP_NOWAIT | __GFP_NOWARN);
		if (!cmds[i])
			break;
	}
	return i;
}

/**
 * pci_epf_nvme_put_cmds() - give back commands that got no entry
 * @nvme: the function
 * @cmds: the commands, from pci_epf_nvme_get_cmds()
 * @nr: how many
 */
void pci_epf_nvme_put_cmds(struct pci_epf_nvme *nvme,
			   struct pci_epf_nvme_cmd **cmds, unsigned int nr)
{
	while (nr--)
		mempool_free(cmds[nr], nvme->cmd_pool);
}

/**
 * pci_epf_nvme_init_cmd() - set up the command of a fetched entry
 * @cmd: the command, from pci_epf_nvme_get_cmds()
 * @sq: the submission queue the entry was fetched from
 * @sqe: the entry
 *
 * The command counts as in flight on @sq and on the function until it is
 * freed.
 */
void pci_epf_nvme_init_cmd(struct pci_epf_nvme_cmd *cmd,
			   struct pci_epf_nvme_sq *sq,
			   const struct nvme_command *sqe)
{
	struct pci_epf_nvme *nvme = sq->nvme;

	memset(cmd, 0, sizeof(*cmd));
	cmd->nvme = nvme;
	INIT_LIST_HEAD(&cmd->entry);
	INIT_WORK(&cmd->work, pci_epf_nvme_cmd_work);
	cmd->step = PCI_EPF_NVME_STEP_EXEC;
	cmd->sqid = sq->qid;
	cmd->cqid = sq->cqid;
	cmd->sqe = *sqe;

	atomic_inc(&sq->inflight);
	atomic_inc(&nvme->nr_cmds);
	trace_pci_epf_nvme_cmd_fetch(cmd);
}

/**
 * pci_epf_nvme_free_cmd() - free a command, completed or discarded
 * @cmd: the command
 *
 * Drop what the command holds and wake up whoever waits for the queue or
 * the function to drain. Process context.
 */
void pci_epf_nvme_free_cmd(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	struct pci_epf_nvme_sq *sq = &nvme->sq[cmd->sqid];

	if (cmd->ns)
		pci_epf_nvme_backend_put_ns(cmd->ns);
	kfree(cmd->segs);
	if (cmd->buf) {
		kvfree(cmd->buf);
		atomic_long_sub(cmd->len, &nvme->inflight);
		/*
		 * Commands may wait for that room. Pairs with the barrier in
		 * pci_epf_nvme_dispatch_io(): the poller sees the room, or we
		 * see them and kick it.
		 */
		smp_mb__after_atomic();
		if (!list_empty_careful(&nvme->data_wait) &&
		    current != nvme->poll_task)
			pci_epf_nvme_poll_kick(nvme);
	}
	mempool_free(cmd, nvme->cmd_pool);

	if (atomic_dec_and_test(&sq->inflight))
		pci_epf_nvme_sq_drained(sq);
	if (atomic_dec_and_test(&nvme->nr_cmds))
		wake_up_all(&nvme->drain_wq);
}

/* Move the data of a prepared command, and wait for it */
static int pci_epf_nvme_move_cmd_data(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme_xfer *xfer = &cmd->xfer;

	return pci_epf_nvme_xfer_sync(cmd->nvme, &xfer, 1, cmd->dir);
}

/*
 * pci_epf_nvme_complete_admin() - finish an admin command and queue its
 * completion
 * @cmd: the command
 * @status: its NVMe status
 *
 * Run the command's post-processing, write its data to the host and queue
 * its completion entry. A command of a controller that is being disabled is
 * freed without touching host memory. Process context.
 */
static void pci_epf_nvme_complete_admin(struct pci_epf_nvme_cmd *cmd,
					u16 status)
{
	struct pci_epf_nvme *nvme = cmd->nvme;

	cmd->status = status;

	if (!READ_ONCE(nvme->host_ok)) {
		pci_epf_nvme_free_cmd(cmd);
		return;
	}

	if (cmd->status == NVME_SC_SUCCESS && cmd->post)
		cmd->post(cmd);

	if (cmd->status == NVME_SC_SUCCESS && cmd->dir == PCI_EPF_NVME_TO_HOST &&
	    pci_epf_nvme_move_cmd_data(cmd))
		cmd->status = NVME_SC_DATA_XFER_ERROR;

	pci_epf_nvme_cq_post(cmd);
}

/**
 * pci_epf_nvme_cmd_returned() - a command is back from the fabrics controller
 * @cmd: the command, with its status and result set
 *
 * May be interrupt context: hand the command back to the poller, which
 * returns its data to the host and completes it.
 */
void pci_epf_nvme_cmd_returned(struct pci_epf_nvme_cmd *cmd)
{
	cmd->step = PCI_EPF_NVME_STEP_DONE;
	pci_epf_nvme_hand_back(cmd->nvme, &cmd->returned_node,
			       &cmd->nvme->returned);
}

/*
 * Parse the command and find the host memory of its data. The data has no
 * local buffer yet.
 */
static u16 pci_epf_nvme_parse(struct pci_epf_nvme_cmd *cmd)
{
	u16 status;

	if (cmd->sqid)
		status = pci_epf_nvme_io_parse(cmd);
	else
		status = pci_epf_nvme_admin_parse(cmd);
	if (status != NVME_SC_SUCCESS)
		return status;

	if (!cmd->len)
		cmd->dir = PCI_EPF_NVME_NO_DATA;
	if (cmd->dir == PCI_EPF_NVME_NO_DATA)
		return NVME_SC_SUCCESS;

	if (cmd->sqe.common.flags & NVME_CMD_SGL_ALL) {
		atomic_long_inc(&cmd->nvme->nr_sgl_cmds);
		return pci_epf_nvme_map_sgl(cmd);
	}
	atomic_long_inc(&cmd->nvme->nr_prp_cmds);
	return pci_epf_nvme_map_prps(cmd);
}

/*
 * Allocate the local buffer of a parsed command's data, counted in the
 * data the function holds for commands in flight. With @within_budget, an
 * allocation that would take that beyond its limit returns -EAGAIN
 * instead, unless nothing else is held. Large buffers fall back to
 * vmalloc when physically contiguous memory is short: the function does
 * not depend on high-order allocations.
 */
static int pci_epf_nvme_alloc_data(struct pci_epf_nvme_cmd *cmd,
				   bool within_budget)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	gfp_t gfp = GFP_KERNEL | __GFP_NOWARN;
	long held, peak;

	if (cmd->dir == PCI_EPF_NVME_NO_DATA)
		return 0;

	held = atomic_long_read(&nvme->inflight);
	if (within_budget && held && held + cmd->len > nvme->max_inflight)
		return -EAGAIN;

	/* What the host reads of a local command must be defined */
	if (!cmd->sqid)
		gfp |= __GFP_ZERO;
	cmd->buf = kvmalloc(cmd->len, gfp);
	if (!cmd->buf)
		return -ENOMEM;
	held = atomic_long_add_return(cmd->len, &nvme->inflight);
	peak = atomic_long_read(&nvme->inflight_peak);
	while (held > peak &&
	       !atomic_long_try_cmpxchg(&nvme->inflight_peak, &peak, held))
		;

	cmd->xfer.buf = cmd->buf;
	cmd->xfer.len = cmd->len;
	cmd->xfer.segs = cmd->segs;
	cmd->xfer.nr_segs = cmd->nr_segs;
	return 0;
}

/* Parse an admin command, get its data and execute or forward it */
static void pci_epf_nvme_run_admin(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	u16 status;

	if (!READ_ONCE(nvme->host_ok)) {
		pci_epf_nvme_free_cmd(cmd);
		return;
	}

	status = pci_epf_nvme_parse(cmd);
	if (status != NVME_SC_SUCCESS)
		goto complete;

	/* Admin data is small and comes one command at a time: no budget */
	if (pci_epf_nvme_alloc_data(cmd, false)) {
		status = NVME_SC_INTERNAL;
		goto complete;
	}

	if (cmd->dir == PCI_EPF_NVME_FROM_HOST &&
	    pci_epf_nvme_move_cmd_data(cmd)) {
		status = NVME_SC_DATA_XFER_ERROR;
		goto complete;
	}

	if (cmd->exec) {
		status = cmd->exec(cmd);
		if (status == PCI_EPF_NVME_DEFERRED)
			return;
		goto complete;
	}

	/*
	 * Nothing may reach the backend once the controller is disabled: the
	 * host retries what it had submitted, and an old write executed after
	 * a newer one would corrupt its data.
	 */
	if (!READ_ONCE(nvme->host_ok)) {
		pci_epf_nvme_free_cmd(cmd);
		return;
	}

	if (!pci_epf_nvme_backend_submit(cmd, false))
		return;
	status = NVME_SC_INTERNAL;

complete:
	pci_epf_nvme_complete_admin(cmd, status);
}

static void pci_epf_nvme_cmd_work(struct work_struct *work)
{
	struct pci_epf_nvme_cmd *cmd =
		container_of(work, struct pci_epf_nvme_cmd, work);

	switch (cmd->step) {
	case PCI_EPF_NVME_STEP_EXEC:
		pci_epf_nvme_run_admin(cmd);
		break;
	case PCI_EPF_NVME_STEP_DONE:
		pci_epf_nvme_complete_admin(cmd, cmd->status);
		break;
	}
}

/**
 * pci_epf_nvme_start_io() - start I/O commands fetched together
 * @nvme: the function
 * @cmds: the commands, in the order of their submission queue
 * @nr: number of commands
 *
 * Parse the commands and queue them, in order, for their data buffers;
 * pci_epf_nvme_dispatch_io() takes them on. A command that fails a check
 * completes with its status. Poller context.
 */
void pci_epf_nvme_start_io(struct pci_epf_nvme *nvme,
			   struct pci_epf_nvme_cmd **cmds, unsigned int nr)
{
	unsigned int i;
	u16 status;

	for (i = 0; i < nr; i++) {
		status = pci_epf_nvme_parse(cmds[i]);
		if (status != NVME_SC_SUCCESS) {
			cmds[i]->status = status;
			pci_epf_nvme_cq_post(cmds[i]);
		} else {
			list_add_tail(&cmds[i]->entry, &nvme->data_wait);
		}
	}
}

static struct pci_epf_nvme_cmd *
pci_epf_nvme_xfer_cmd(struct pci_epf_nvme_xfer *xfer)
{
	return container_of(xfer, struct pci_epf_nvme_cmd, xfer);
}

/* Start the transfers of a batch; give it back if it has none */
static void pci_epf_nvme_start_data(struct pci_epf_nvme_batch *batch)
{
	if (!batch)
		return;
	if (batch->nr)
		pci_epf_nvme_batch_start(batch);
	else
		pci_epf_nvme_batch_put(batch);
}

/*
 * Forward a prepared I/O command whose data, if it carries some, is here.
 * Nothing may reach the backend once the controller is disabled: the host
 * retries what it had submitted, and an old write executed after a newer
 * one would corrupt its data.
 */
static void pci_epf_nvme_forward_io(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	int ret;

	if (!READ_ONCE(nvme->host_ok)) {
		pci_epf_nvme_free_cmd(cmd);
		return;
	}

	if (cmd->dir == PCI_EPF_NVME_FROM_HOST && cmd->xfer.error) {
		cmd->status = NVME_SC_DATA_XFER_ERROR;
		pci_epf_nvme_cq_post(cmd);
		return;
	}

	/*
	 * Keep the order: once a command waits, those after it wait too. The
	 * poller does not sleep for a tag or for a frozen queue: it has the
	 * other queues and the controller's registers to look after.
	 */
	ret = list_empty(&nvme->requeue) ?
	      pci_epf_nvme_backend_submit(cmd, true) : -EAGAIN;
	if (!ret)
		return;
	if (ret == -EAGAIN) {
		list_add_tail(&cmd->entry, &nvme->requeue);
		if (!cmd->requeued) {
			cmd->requeued = true;
			atomic64_inc(&nvme->stats.requeued);
		}
		return;
	}

	/* The namespace is going away: it is no longer an active one */
	cmd->status = ret == -ENODEV ? NVME_SC_INVALID_NS | NVME_STATUS_DNR :
				       NVME_SC_INTERNAL;
	pci_epf_nvme_cq_post(cmd);
}

/**
 * pci_epf_nvme_dispatch_io() - give parsed I/O commands their data buffers
 *				and send them on
 * @nvme: the function
 *
 * In order, as long as the data held for commands in flight stays within
 * its limit and there is a batch for the write data: the first command
 * that cannot go on waits, and so do those after it, until commands
 * complete and free their buffers and batches. Commands without write
 * data are forwarded to the fabrics controller; the write data of the
 * others is read from the host in batches of transfers, and
 * pci_epf_nvme_data_moved() forwards them once it is here. Poller context,
 * or whoever drains the function.
 *
 * Return: true if a command went on.
 */
bool pci_epf_nvme_dispatch_io(struct pci_epf_nvme *nvme)
{
	struct pci_epf_nvme_batch *in = NULL;
	struct pci_epf_nvme_cmd *cmd, *tmp;
	bool busy = false;
	int ret;

	if (list_empty(&nvme->data_wait))
		return false;
	/* Pairs with the barrier in pci_epf_nvme_free_cmd() */
	smp_mb();

	list_for_each_entry_safe(cmd, tmp, &nvme->data_wait, entry) {
		/* Nothing may reach host memory or the backend any more */
		if (!READ_ONCE(nvme->host_ok)) {
			list_del_init(&cmd->entry);
			pci_epf_nvme_free_cmd(cmd);
			continue;
		}

		if (cmd->dir == PCI_EPF_NVME_FROM_HOST && !in) {
			in = pci_epf_nvme_batch_get(nvme,
						    PCI_EPF_NVME_FROM_HOST);
			if (!in)
				break;
		}
		ret = pci_epf_nvme_alloc_data(cmd, true);
		if (ret == -EAGAIN)
			break;
		list_del_init(&cmd->entry);
		busy = true;

		if (ret) {
			cmd->status = NVME_SC_INTERNAL;
			pci_epf_nvme_cq_post(cmd);
		} else if (cmd->dir == PCI_EPF_NVME_FROM_HOST) {
			in->xfers[in->nr++] = &cmd->xfer;
			if (in->nr == PCI_EPF_NVME_XFER_BATCH) {
				pci_epf_nvme_batch_start(in);
				in = NULL;
			}
		} else {
			pci_epf_nvme_forward_io(cmd);
		}
	}

	pci_epf_nvme_start_data(in);
	return busy;
}

/**
 * pci_epf_nvme_requeue_io() - forward the I/O commands that had to wait
 * @nvme: the function
 *
 * Poller context, or whoever drains the function.
 *
 * Return: true if a command went out.
 */
bool pci_epf_nvme_requeue_io(struct pci_epf_nvme *nvme)
{
	struct pci_epf_nvme_cmd *cmd, *tmp;
	LIST_HEAD(list);
	bool busy = false;

	list_splice_init(&nvme->requeue, &list);
	list_for_each_entry_safe(cmd, tmp, &list, entry) {
		list_del_init(&cmd->entry);
		pci_epf_nvme_forward_io(cmd);
		if (!list_empty(&nvme->requeue)) {
			/* It waits again: so do those after it */
			list_splice_tail_init(&list, &nvme->requeue);
			break;
		}
		busy = true;
	}

	return busy;
}

/**
 * pci_epf_nvme_handle_executed() - complete the commands the fabrics
 *				controller executed
 * @nvme: the function
 *
 * Admin commands go back to their work item. I/O commands complete in
 * order: the completion entries of those without read data are queued;
 * the read data of the others is written to the host in batches of
 * transfers, and pci_epf_nvme_data_moved() queues their entries once it
 * is there. Without a batch for the data, the commands wait for one.
 * Poller context, or whoever drains the function.
 *
 * Return: true if a command went on.
 */
bool pci_epf_nvme_handle_executed(struct pci_epf_nvme *nvme)
{
	struct pci_epf_nvme_batch *out = NULL;
	struct pci_epf_nvme_cmd *cmd, *tmp;
	struct llist_node *list;
	bool busy;

	/* The list is last in, first out: take them in execution order */
	list = llist_reverse_order(llist_del_all(&nvme->returned));
	busy = !!list;
	llist_for_each_entry_safe(cmd, tmp, list, returned_node) {
		if (cmd->sqid)
			list_add_tail(&cmd->entry, &nvme->executed);
		else
			queue_work(nvme->admin_wq, &cmd->work);
	}

	list_for_each_entry_safe(cmd, tmp, &nvme->executed, entry) {
		if (!READ_ONCE(nvme->host_ok)) {
			list_del_init(&cmd->entry);
			pci_epf_nvme_free_cmd(cmd);
			continue;
		}

		if (cmd->status != NVME_SC_SUCCESS ||
		    cmd->dir != PCI_EPF_NVME_TO_HOST) {
			list_del_init(&cmd->entry);
			pci_epf_nvme_cq_post(cmd);
			busy = true;
			continue;
		}

		if (!out) {
			out = pci_epf_nvme_batch_get(nvme, PCI_EPF_NVME_TO_HOST);
			if (!out)
				break;
		}
		list_del_init(&cmd->entry);
		busy = true;
		out->xfers[out->nr++] = &cmd->xfer;
		if (out->nr == PCI_EPF_NVME_XFER_BATCH) {
			pci_epf_nvme_batch_start(out);
			out = NULL;
		}
	}

	pci_epf_nvme_start_data(out);
	return busy;
}

/**
 * pci_epf_nvme_data_moved() - go on with the commands whose data moved
 * @nvme: the function
 *
 * The write data of a batch is here: forward its commands. The read data
 * of a batch is in host memory: queue their completion entries. A
 * transfer that failed completes its command with Data Transfer Error.
 * Poller context, or whoever drains the function.
 *
 * Return: true if a batch ended.
 */
bool pci_epf_nvme_data_moved(struct pci_epf_nvme *nvme)
{
	struct pci_epf_nvme_batch *batch, *tmp;
	struct pci_epf_nvme_cmd *cmd;
	LIST_HEAD(ended);
	unsigned int i;

	if (!pci_epf_nvme_take_ended_batches(nvme, &ended))
		return false;

	list_for_each_entry_safe(batch, tmp, &ended, entry) {
		for (i = 0; i < batch->nr; i++) {
			cmd = pci_epf_nvme_xfer_cmd(batch->xfers[i]);
			if (batch->dir == PCI_EPF_NVME_FROM_HOST) {
				pci_epf_nvme_forward_io(cmd);
				continue;
			}
			if (cmd->xfer.error)
				cmd->status = NVME_SC_DATA_XFER_ERROR;
			pci_epf_nvme_cq_post(cmd);
		}
		list_del(&batch->entry);
		pci_epf_nvme_batch_put(batch);
	}

	return true;
}

