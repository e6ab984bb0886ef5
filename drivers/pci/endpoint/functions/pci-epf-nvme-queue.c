// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: submission and completion queues.
 *
 * The poller fetches the entries the host added to the submission queues,
 * a burst per queue and per pass so that every queue gets its turn, and
 * starts a command for each. It also posts the entries of the commands
 * that completed, in bursts, then raises each queue's interrupt once,
 * honouring interrupt coalescing; a completion queue's delayed work raises
 * the interrupts that coalescing held back, and posts what did not fit in
 * a full queue. The queue structures live as long as the function is
 * bound: a command only refers to its queues by identifier, and the queues
 * are released once their commands are gone.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "pci-epf-nvme.h"
#include "pci_epf_nvme_trace.h"

/*
 * A transfer of queue entries that fails is tried again for this long
 * before the controller reports a fatal status: the failure may be a
 * passing shortage of memory or DMA descriptors.
 */
#define PCI_EPF_NVME_QUEUE_RETRY	HZ

static void pci_epf_nvme_cq_work(struct work_struct *work);

/*
 * A transfer of entries of a queue failed: the entries stay where they
 * are, to be moved again. Returns true, after a fatal status, if the
 * transfers of the queue have failed for too long (since @failing_since).
 */
static bool pci_epf_nvme_queue_failed(struct pci_epf_nvme *nvme,
				      unsigned long *failing_since,
				      const char *why)
{
	if (!*failing_since)
		*failing_since = jiffies ?: 1;
	if (time_before(jiffies, *failing_since + PCI_EPF_NVME_QUEUE_RETRY))
		return false;
	pci_epf_nvme_set_fatal(nvme, why);
	return true;
}

/**
 * pci_epf_nvme_queues_init() - initialise the queue structures
 * @nvme: the function, with its queue arrays allocated
 */
void pci_epf_nvme_queues_init(struct pci_epf_nvme *nvme)
{
	unsigned int qid;

	for (qid = 0; qid <= nvme->nr_io_queues; qid++) {
		struct pci_epf_nvme_sq *sq = &nvme->sq[qid];
		struct pci_epf_nvme_cq *cq = &nvme->cq[qid];

		sq->nvme = nvme;
		sq->qid = qid;
		atomic_set(&sq->inflight, 0);

		cq->nvme = nvme;
		cq->qid = qid;
		spin_lock_init(&cq->lock);
		INIT_LIST_HEAD(&cq->pending);
		mutex_init(&cq->post_lock);
		INIT_DELAYED_WORK(&cq->work, pci_epf_nvme_cq_work);
	}
}

/**
 * pci_epf_nvme_nr_vectors() - number of interrupt vectors the host enabled
 * @nvme: the function
 *
 * Return: the MSI-X vectors if MSI-X is enabled, else the MSI vectors if
 * MSI is enabled, else 1 for INTx.
 */
int pci_epf_nvme_nr_vectors(struct pci_epf_nvme *nvme)
{
	struct pci_epf *epf = nvme->epf;
	int nr;

	nr = pci_epc_get_msix(epf->epc, epf->func_no, epf->vfunc_no);
	if (nr > 0)
		return nr;
	nr = pci_epc_get_msi(epf->epc, epf->func_no, epf->vfunc_no);
	if (nr > 0)
		return nr;
	return 1;
}

/* Where an interrupt type is counted in the function's statistics */
static unsigned int pci_epf_nvme_irq_index(unsigned int type)
{
	switch (type) {
	case PCI_IRQ_MSIX:
		return 2;
	case PCI_IRQ_MSI:
		return 1;
	default:
		return 0;
	}
}

static void pci_epf_nvme_raise_irq(struct pci_epf_nvme_cq *cq)
{
	struct pci_epf *epf = cq->nvme->epf;
	unsigned int type;
	u16 num;
	int nr, ret;

	/* The host may change its vectors at any time: look every time */
	nr = pci_epc_get_msix(epf->epc, epf->func_no, epf->vfunc_no);
	if (nr > 0) {
		type = PCI_IRQ_MSIX;
		num = cq->iv < nr ? cq->iv + 1 : 1;
	} else {
		nr = pci_epc_get_msi(epf->epc, epf->func_no, epf->vfunc_no);
		if (nr > 0) {
			type = PCI_IRQ_MSI;
			num = cq->iv < nr ? cq->iv + 1 : 1;
		} else if (cq->nvme->epc_features->intx_capable) {
			type = PCI_IRQ_INTX;
			num = 0;
		} else {
			/* Nothing enabled, nothing to fall back to: it polls */
			return;
		}
	}

	ret = pci_epc_raise_irq(epf->epc, epf->func_no, epf->vfunc_no, type,
				num);
	trace_pci_epf_nvme_irq(cq, type, num, ret);
	if (ret) {
		dev_err_ratelimited(pci_epf_nvme_dev(cq->nvme),
				    "CQ %u: raising interrupt %u failed: %d\n",
				    cq->qid, num, ret);
		return;
	}
	WRITE_ONCE(cq->stats.irqs, cq->stats.irqs + 1);
	atomic64_inc(&cq->nvme->stats.irqs[pci_epf_nvme_irq_index(type)]);
}

/*
 * Raise the queue's interrupt for @posted new entries, unless interrupt
 * coalescing asks to wait for more: then raise it when the aggregation
 * time has passed. The admin queue and vectors with coalescing disabled
 * are never coalesced.
 */
static void pci_epf_nvme_cq_irq(struct pci_epf_nvme_cq *cq,
				unsigned int posted)
{
	struct pci_epf_nvme *nvme = cq->nvme;
	u32 coal = READ_ONCE(nvme->feat.irq_coal);
	unsigned int thr = (coal & 0xff) + 1;
	unsigned int time = (coal >> 8) & 0xff;

	lockdep_assert_held(&cq->post_lock);

	if (!cq->ien)
		return;

	cq->irq_pending += posted;
	if (!cq->irq_pending)
		return;

	if (cq->qid && time && cq->irq_pending < thr &&
	    !(cq->iv < PCI_EPF_NVME_MAX_VECTORS &&
	      test_bit(cq->iv, nvme->feat.iv_cd))) {
		if (posted == cq->irq_pending)
			cq->irq_deadline = jiffies +
					   usecs_to_jiffies(time * 100);
		if (time_before(jiffies, cq->irq_deadline)) {
			queue_delayed_work(nvme->wq, &cq->work,
					   cq->irq_deadline - jiffies);
			WRITE_ONCE(cq->stats.irqs_deferred,
				   cq->stats.irqs_deferred + 1);
			return;
		}
	}

	cq->irq_pending = 0;
	pci_epf_nvme_raise_irq(cq);
}

/*
 * A doorbell beyond its queue is ignored until the host writes a valid
 * value; it is logged and reported to the host as an event.
 */
static void pci_epf_nvme_invalid_db(struct pci_epf_nvme *nvme,
				    const char *type, u16 qid, u32 val)
{
	dev_err_ratelimited(pci_epf_nvme_dev(nvme),
			    "%s %u: invalid doorbell value %u\n", type, qid,
			    val);
	pci_epf_nvme_event_db_value(nvme);
}

static void pci_epf_nvme_discard_list(struct list_head *list)
{
	struct pci_epf_nvme_cmd *cmd, *tmp;

	list_for_each_entry_safe(cmd, tmp, list, entry) {
		list_del_init(&cmd->entry);
		pci_epf_nvme_free_cmd(cmd);
	}
}

static void pci_epf_nvme_fill_cqe(struct pci_epf_nvme_cq *cq,
				  struct nvme_completion *cqe,
				  struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme_sq *sq = &cq->nvme->sq[cmd->sqid];

	cqe->result = cmd->result;
	cqe->sq_head = cpu_to_le16(READ_ONCE(sq->head));
	cqe->sq_id = cpu_to_le16(cmd->sqid);
	cqe->command_id = cmd->sqe.common.command_id;
	cqe->status = cpu_to_le16(cmd->status << 1 | cq->phase);
}

/*
 * A completion entry reached the host: count it on its queue, and its
 * status on the function if it is an error. The data a successful command
 * moved counts too, whole: bit buckets included.
 */
static void pci_epf_nvme_count_completion(struct pci_epf_nvme_cq *cq,
					  struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme_cq_stats *stats = &cq->stats;

	lockdep_assert_held(&cq->post_lock);

	trace_pci_epf_nvme_cmd_complete(cmd);
	WRITE_ONCE(stats->completed, stats->completed + 1);
	if (cmd->status != NVME_SC_SUCCESS) {
		WRITE_ONCE(stats->errors, stats->errors + 1);
		pci_epf_nvme_count_error(cq->nvme, cmd->status);
	} else if (cmd->dir == PCI_EPF_NVME_TO_HOST) {
		WRITE_ONCE(stats->read_bytes, stats->read_bytes + cmd->len);
	} else if (cmd->dir == PCI_EPF_NVME_FROM_HOST) {
		WRITE_ONCE(stats->write_bytes, stats->write_bytes + cmd->len);
	}
}

/*
 * Write @n entries built in @cq->cqes at the queue's tail: through the
 * queue's own window when it has one (posted writes, ordered before the
 * interrupt that follows them), else as any other transfer.
 */
static int pci_epf_nvme_cq_write(struct pci_epf_nvme_cq *cq, unsigned int n)
{
	size_t offset = cq->tail * sizeof(*cq->cqes);

	lockdep_assert_held(&cq->post_lock);

	if (cq->mapped) {
		memcpy_toio(cq->map.virt_addr + offset, cq->cqes,
			    n * sizeof(*cq->cqes));
		return 0;
	}
	return pci_epf_nvme_xfer_one(cq->nvme, cq->pci_addr + offset,
				     cq->cqes, n * sizeof(*cq->cqes),
				     PCI_EPF_NVME_TO_HOST);
}

/*
 * Post the completion entries of the pending commands: as many as fit in
 * the queue, a contiguous run of entries per transfer, then raise the
 * interrupt. What does not fit waits for the host to free entries, and
 * what could not be moved is tried again.
 *
 * Return: the number of entries posted.
 */
static unsigned int pci_epf_nvme_write_cqes(struct pci_epf_nvme_cq *cq)
{
	struct pci_epf_nvme *nvme = cq->nvme;
	unsigned int room, n, i, posted = 0;
	struct pci_epf_nvme_cmd *cmd, *tmp;
	LIST_HEAD(list);
	bool wait = false;
	u32 head;
	int ret;

	mutex_lock(&cq->post_lock);
	spin_lock(&cq->lock);
	list_splice_init(&cq->pending, &list);
	spin_unlock(&cq->lock);

	if (!READ_ONCE(nvme->host_ok) || !pci_epf_nvme_is_live(&cq->live)) {
		pci_epf_nvme_discard_list(&list);
		goto unlock;
	}

	while (!list_empty(&list)) {
		head = pci_epf_nvme_reg_read(nvme, pci_epf_nvme_cq_db(cq->qid));
		if (head < cq->depth)
			cq->head = head;
		else
			pci_epf_nvme_invalid_db(nvme, "CQ", cq->qid, head);

		room = (cq->head + cq->depth - cq->tail - 1) % cq->depth;
		if (!room) {
			wait = true;
			break;
		}
		room = min3(room, (unsigned int)(cq->depth - cq->tail),
			    min_t(unsigned int, cq->depth,
				  PCI_EPF_NVME_CQ_BURST));

		n = 0;
		list_for_each_entry(cmd, &list, entry) {
			if (n == room)
				break;
			pci_epf_nvme_fill_cqe(cq, &cq->cqes[n++], cmd);
		}

		ret = pci_epf_nvme_cq_write(cq, n);
		/*
		 * Only a post of which nothing moved is tried again: entries
		 * that reached the host in part may be consumed already.
		 */
		if (ret == -EAGAIN &&
		    !pci_epf_nvme_queue_failed(nvme, &cq->failing_since,
					       "cannot post completions")) {
			wait = true;
			break;
		}
		if (ret) {
			pci_epf_nvme_set_fatal(nvme, "cannot post completions");
			pci_epf_nvme_discard_list(&list);
			goto unlock;
		}
		cq->failing_since = 0;

		i = 0;
		list_for_each_entry_safe(cmd, tmp, &list, entry) {
			if (i++ == n)
				break;
			list_del_init(&cmd->entry);
			pci_epf_nvme_count_completion(cq, cmd);
			pci_epf_nvme_free_cmd(cmd);
		}

		cq->tail += n;
		if (cq->tail == cq->depth) {
			cq->tail = 0;
			cq->phase ^= 1;
		}
		posted += n;
	}

	if (wait) {
		/* Keep the order: what waits goes before what came since */
		spin_lock(&cq->lock);
		list_splice(&list, &cq->pending);
		spin_unlock(&cq->lock);
	}

	pci_epf_nvme_cq_irq(cq, posted);

	if (wait)
		queue_delayed_work(nvme->wq, &cq->work, 1);
unlock:
	mutex_unlock(&cq->post_lock);
	return posted;
}

static void pci_epf_nvme_cq_work(struct work_struct *work)
{
	struct pci_epf_nvme_cq *cq =
		container_of(to_delayed_work(work), struct pci_epf_nvme_cq,
			     work);

	pci_epf_nvme_write_cqes(cq);
}

/**
 * pci_epf_nvme_post_completions() - post the pending completion entries
 * @nvme: the function
 *
 * Poller context, or whoever drains the function.
 *
 * Return: true if entries were posted.
 */
bool pci_epf_nvme_post_completions(struct pci_epf_nvme *nvme)
{
	unsigned int qid, posted = 0;

	for (qid = 0; qid <= nvme->nr_io_queues; qid++) {
		struct pci_epf_nvme_cq *cq = &nvme->cq[qid];

		/* Whoever adds an entry wakes the poller: a hint is enough */
		if (!list_empty_careful(&cq->pending))
			posted += pci_epf_nvme_write_cqes(cq);
	}

	return posted;
}

/**
 * pci_epf_nvme_cq_post() - queue the completion entry of a command
 * @cmd: the completed command
 *
 * The poller posts it, with the other entries of its queue. It may free
 * the command, and the function may stop, before we wake it up: the RCU
 * read section lets pci_epf_nvme_ctrl_exit() wait for the wake-up.
 */
void pci_epf_nvme_cq_post(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	struct pci_epf_nvme_cq *cq = &nvme->cq[cmd->cqid];

	rcu_read_lock();
	spin_lock(&cq->lock);
	list_add_tail(&cmd->entry, &cq->pending);
	spin_unlock(&cq->lock);

	if (current != nvme->poll_task)
		pci_epf_nvme_poll_kick(nvme);
	rcu_read_unlock();
}

/*
 * Fetch one burst of the entries the host added to a submission queue and
 * start their commands: admin commands in their work items, I/O commands
 * together. The commands in flight on a queue are bounded by its depth.
 * Returns true if commands were fetched.
 */
static bool pci_epf_nvme_fetch_sq(struct pci_epf_nvme_sq *sq)
{
	struct pci_epf_nvme_cmd *cmds[PCI_EPF_NVME_SQ_BURST];
	struct pci_epf_nvme *nvme = sq->nvme;
	unsigned int n, i;
	int room;
	u32 tail;

	/* The queue cannot be deleted under us */
	lockdep_assert_held(&nvme->qlock);

	tail = pci_epf_nvme_reg_read(nvme, pci_epf_nvme_sq_db(sq->qid));
	if (tail == sq->head)
		return false;
	if (tail >= sq->depth) {
		pci_epf_nvme_invalid_db(nvme, "SQ", sq->qid, tail);
		return false;
	}

	/*
	 * Parked Asynchronous Event Requests, at most PCI_EPF_NVME_NR_AERS,
	 * wait for an event, not for us: they take no room, or a small
	 * admin queue with its AERs outstanding would never be fetched again.
	 */
	room = sq->depth - atomic_read(&sq->inflight);
	if (!sq->qid)
		room += READ_ONCE(nvme->nr_aers);
	if (room <= 0)
		return false;

	n = tail > sq->head ? tail - sq->head : sq->depth - sq->head;
	n = min3(n, (unsigned int)room, PCI_EPF_NVME_SQ_BURST);

	/* As many entries as there are commands for: the others stay queued */
	n = pci_epf_nvme_get_cmds(nvme, cmds, n);
	if (!n)
		return false;

	if (pci_epf_nvme_xfer_one(nvme, sq->pci_addr +
				  sq->head * sizeof(*sq->sqes),
				  sq->sqes, n * sizeof(*sq->sqes),
				  PCI_EPF_NVME_FROM_HOST)) {
		pci_epf_nvme_put_cmds(nvme, cmds, n);
		pci_epf_nvme_queue_failed(nvme, &sq->failing_since,
					  "cannot fetch commands");
		return false;
	}
	sq->failing_since = 0;
	WRITE_ONCE(sq->head, (sq->head + n) % sq->depth);
	WRITE_ONCE(sq->fetched, sq->fetched + n);

	for (i = 0; i < n; i++)
		pci_epf_nvme_init_cmd(cmds[i], sq, &sq->sqes[i]);
	if (!sq->qid) {
		for (i = 0; i < n; i++)
			queue_work(nvme->admin_wq, &cmds[i]->work);
	} else {
		pci_epf_nvme_start_io(nvme, cmds, n);
	}

	return true;
}

/**
 * pci_epf_nvme_check_unused_doorbells() - report the doorbells written for
 *					   I/O queues that do not exist
 * @nvme: the function, ready
 *
 * A queue's doorbells are zeroed when it is created and deleted, and at
 * reset: one that holds a value while its queue does not exist was
 * written by the host since. It is reported (Write to Invalid Doorbell
 * Register) and cleared, so that a new write is seen again. The poller
 * looks every %PCI_EPF_NVME_NS_CHECK: enough to tell the host, not meant
 * to catch every write. The queue lock keeps queues from being created or
 * deleted meanwhile.
 */
void pci_epf_nvme_check_unused_doorbells(struct pci_epf_nvme *nvme)
{
	unsigned int qid, written = 0;
	u32 db;

	mutex_lock(&nvme->qlock);
	for (qid = 1; qid <= nvme->nr_io_queues; qid++) {
		db = pci_epf_nvme_sq_db(qid);
		if (!nvme->sq[qid].sqes && pci_epf_nvme_reg_read(nvme, db)) {
			pci_epf_nvme_reg_write(nvme, db, 0);
			written = qid;
		}
		db = pci_epf_nvme_cq_db(qid);
		if (!nvme->cq[qid].cqes && pci_epf_nvme_reg_read(nvme, db)) {
			pci_epf_nvme_reg_write(nvme, db, 0);
			written = qid;
		}
	}
	mutex_unlock(&nvme->qlock);

	if (!written)
		return;
	dev_err_ratelimited(pci_epf_nvme_dev(nvme),
			    "doorbell of queue %u, which does not exist\n",
			    written);
	pci_epf_nvme_event_db_register(nvme);
}

/**
 * pci_epf_nvme_fetch_commands() - fetch and start the new commands of every
 *			      submission queue
 * @nvme: the function, accepting commands
 *
 * The admin queue first, then the I/O queues from a different one each
 * pass: when memory is short and the commands come from the reserve, the
 * first queue served takes them, and every queue must get its turn.
 * Poller context. Holding the queue lock keeps the queues from being
 * deleted under the poller's feet.
 *
 * Return: true if commands were fetched.
 */
bool pci_epf_nvme_fetch_commands(struct pci_epf_nvme *nvme)
{
	unsigned int nr = nvme->nr_io_queues, i, qid;
	bool busy = false;

	mutex_lock(&nvme->qlock);
	for (i = 0; i <= nr; i++) {
		qid = i ? (nvme->fetch_first + i - 1) % nr + 1 : 0;
		if (!READ_ONCE(nvme->accept))
			break;
		if (pci_epf_nvme_is_live(&nvme->sq[qid].live))
			busy |= pci_epf_nvme_fetch_sq(&nvme->sq[qid]);
	}
	mutex_unlock(&nvme->qlock);
	nvme->fetch_first = (nvme->fetch_first + 1) % nr;

	return busy;
}

/* Set up a queue pair's halves; the caller checked the host's values */
static int pci_epf_nvme_setup_cq(struct pci_epf_nvme *nvme, u16 qid,
				 u64 pci_addr, u16 depth, u16 iv, bool ien)
{
	struct pci_epf_nvme_cq *cq = &nvme->cq[qid];

	lockdep_assert_held(&nvme->qlock);

	cq->cqes = kmalloc_array(min_t(unsigned int, depth,
				       PCI_EPF_NVME_CQ_BURST),
				 sizeof(*cq->cqes), GFP_KERNEL);
	if (!cq->cqes)
		return -ENOMEM;

	cq->pci_addr = pci_addr;
	cq->depth = depth;
	cq->iv = iv;
	cq->ien = ien;
	cq->head = 0;
	cq->tail = 0;
	cq->phase = 1;
	cq->nr_sqs = 0;
	cq->irq_pending = 0;
	cq->failing_since = 0;
	/*
	 * A window kept over the queue saves a map and an unmap per post.
	 * The first nvme/cq_windows queues get one, if the controller has
	 * room: an iATU has few outbound regions (16 on an RK3588), which
	 * data transfers, other functions and, on DesignWare controllers,
	 * every MSI need too. The others post as other transfers go.
	 */
	cq->mapped = nvme->nr_cq_mapped < nvme->cfg.cq_windows &&
		     !pci_epf_nvme_window_map(nvme, pci_addr,
					      depth * sizeof(*cq->cqes),
					      &cq->map);
	if (cq->mapped)
		nvme->nr_cq_mapped++;
	pci_epf_nvme_reg_write(nvme, pci_epf_nvme_cq_db(qid), 0);

	pci_epf_nvme_set_live(&cq->live, true);
	return 0;
}

static int pci_epf_nvme_setup_sq(struct pci_epf_nvme *nvme, u16 qid,
				 u64 pci_addr, u16 depth, u16 cqid)
{
	struct pci_epf_nvme_sq *sq = &nvme->sq[qid];

	lockdep_assert_held(&nvme->qlock);

	sq->sqes = kmalloc_array(min_t(unsigned int, depth,
				       PCI_EPF_NVME_SQ_BURST),
				 sizeof(*sq->sqes), GFP_KERNEL);
	if (!sq->sqes)
		return -ENOMEM;

	sq->pci_addr = pci_addr;
	sq->depth = depth;
	sq->cqid = cqid;
	sq->head = 0;
	sq->failing_since = 0;
	nvme->cq[cqid].nr_sqs++;
	pci_epf_nvme_reg_write(nvme, pci_epf_nvme_sq_db(qid), 0);

	pci_epf_nvme_set_live(&sq->live, true);
	return 0;
}

static void pci_epf_nvme_free_sq(struct pci_epf_nvme *nvme, u16 qid)
{
	struct pci_epf_nvme_sq *sq = &nvme->sq[qid];

	lockdep_assert_held(&nvme->qlock);

	if (!sq->sqes)
		return;
	nvme->cq[sq->cqid].nr_sqs--;
	kfree(sq->sqes);
	sq->sqes = NULL;
	pci_epf_nvme_reg_write(nvme, pci_epf_nvme_sq_db(qid), 0);
}

static void pci_epf_nvme_free_cq(struct pci_epf_nvme *nvme, u16 qid)
{
	struct pci_epf_nvme_cq *cq = &nvme->cq[qid];
	LIST_HEAD(list);

	lockdep_assert_held(&nvme->qlock);

	/*
	 * A flush queues the work under the post lock, after seeing the
	 * queue live: once we had the lock, none queues it again, and the
	 * work can be cancelled for good.
	 */
	pci_epf_nvme_set_live(&cq->live, false);

	/* Nothing is left once the queue's submission queues are gone */
	mutex_lock(&cq->post_lock);
	spin_lock(&cq->lock);
	list_splice_init(&cq->pending, &list);
	spin_unlock(&cq->lock);
	pci_epf_nvme_discard_list(&list);

	kfree(cq->cqes);
	cq->cqes = NULL;
	if (cq->mapped) {
		pci_epf_nvme_window_unmap(nvme, &cq->map);
		cq->mapped = false;
		nvme->nr_cq_mapped--;
	}
	mutex_unlock(&cq->post_lock);

	cancel_delayed_work_sync(&cq->work);
	pci_epf_nvme_reg_write(nvme, pci_epf_nvme_cq_db(qid), 0);
}

/*
 * The host's checks common to both queue types: queue identifier, size
 * against CAP.MQES, physically contiguous queue (CAP.CQR is set) at a page
 * aligned address.
 */
static u16 pci_epf_nvme_check_queue(struct pci_epf_nvme *nvme, u16 qid,
				    unsigned int nr_alloc, bool live,
				    u32 qsize, u16 flags, u64 pci_addr)
{
	if (!qid || qid > nr_alloc || live)
		return NVME_SC_QID_INVALID | NVME_STATUS_DNR;
	if (!qsize || qsize > nvme->mqes)
		return NVME_SC_QUEUE_SIZE | NVME_STATUS_DNR;
	if (!(flags & NVME_QUEUE_PHYS_CONTIG))
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	if (pci_addr & (PCI_EPF_NVME_PAGE_SIZE - 1))
		return NVME_SC_PRP_INVALID_OFFSET | NVME_STATUS_DNR;
	return NVME_SC_SUCCESS;
}

static bool pci_epf_nvme_entry_size_ok(struct pci_epf_nvme *nvme,
				       unsigned int shift, unsigned int size)
{
	u32 cc = pci_epf_nvme_reg_read(nvme, NVME_REG_CC);

	return ((cc >> shift) & 0xf) == size;
}

/**
 * pci_epf_nvme_create_cq() - Create I/O Completion Queue
 * @nvme: the function
 * @qid: queue identifier
 * @pci_addr: queue base address (PRP1)
 * @qsize: 0's based queue size, as the command gives it
 * @flags: queue flags (PC, IEN)
 * @iv: interrupt vector
 *
 * Return: an NVMe status.
 */
u16 pci_epf_nvme_create_cq(struct pci_epf_nvme *nvme, u16 qid, u64 pci_addr,
			   u16 qsize, u16 flags, u16 iv)
{
	bool ien = flags & NVME_CQ_IRQ_ENABLED;
	u16 status;

	mutex_lock(&nvme->qlock);
	status = pci_epf_nvme_check_queue(nvme, qid, nvme->nr_cq_alloc,
					  qid <= nvme->nr_io_queues &&
					  nvme->cq[qid].live,
					  qsize, flags, pci_addr);
	if (status != NVME_SC_SUCCESS)
		goto unlock;

	if (!pci_epf_nvme_entry_size_ok(nvme, NVME_CC_IOCQES_SHIFT,
					PCI_EPF_NVME_CQES)) {
		status = NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
		goto unlock;
	}

	if (ien && iv >= pci_epf_nvme_nr_vectors(nvme)) {
		status = NVME_SC_INVALID_VECTOR | NVME_STATUS_DNR;
		goto unlock;
	}

	if (pci_epf_nvme_setup_cq(nvme, qid, pci_addr, qsize + 1, iv, ien)) {
		status = NVME_SC_INTERNAL;
		goto unlock;
	}
	nvme->nr_io_live++;
unlock:
	mutex_unlock(&nvme->qlock);
	return status;
}

/**
 * pci_epf_nvme_create_sq() - Create I/O Submission Queue
 * @nvme: the function
 * @qid: queue identifier
 * @pci_addr: queue base address (PRP1)
 * @qsize: 0's based queue size, as the command gives it
 * @flags: queue flags (PC, QPRIO)
 * @cqid: completion queue identifier
 *
 * Return: an NVMe status.
 */
u16 pci_epf_nvme_create_sq(struct pci_epf_nvme *nvme, u16 qid, u64 pci_addr,
			   u16 qsize, u16 flags, u16 cqid)
{
	u16 status;

	mutex_lock(&nvme->qlock);
	/* A queue being deleted still exists */
	status = pci_epf_nvme_check_queue(nvme, qid, nvme->nr_sq_alloc,
					  qid <= nvme->nr_io_queues &&
					  nvme->sq[qid].sqes,
					  qsize, flags, pci_addr);
	if (status != NVME_SC_SUCCESS)
		goto unlock;

	if (!cqid || cqid > nvme->nr_io_queues || !nvme->cq[cqid].live) {
		status = NVME_SC_CQ_INVALID | NVME_STATUS_DNR;
		goto unlock;
	}

	if (!pci_epf_nvme_entry_size_ok(nvme, NVME_CC_IOSQES_SHIFT,
					PCI_EPF_NVME_SQES)) {
		status = NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
		goto unlock;
	}

	if (pci_epf_nvme_setup_sq(nvme, qid, pci_addr, qsize + 1, cqid)) {
		status = NVME_SC_INTERNAL;
		goto unlock;
	}
	nvme->nr_io_live++;
unlock:
	mutex_unlock(&nvme->qlock);
	return status;
}

/* The commands of a deleted submission queue are gone: free the queue */
static void pci_epf_nvme_delete_sq_done(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;

	mutex_lock(&nvme->qlock);
	pci_epf_nvme_free_sq(nvme, le16_to_cpu(cmd->sqe.delete_queue.qid));
	nvme->nr_io_live--;
	mutex_unlock(&nvme->qlock);
}

/**
 * pci_epf_nvme_delete_sq() - Delete I/O Submission Queue
 * @cmd: the Delete I/O Submission Queue command
 * @qid: queue identifier
 *
 * Stop fetching from the queue. Its commands in flight complete first: the
 * command completes when the last of them is gone, their completion
 * entries posted before its own. That can take as long as the host leaves
 * their completion queue full, so the command does not wait for it: the
 * admin commands after it go on.
 *
 * Return: an NVMe status, or %PCI_EPF_NVME_DEFERRED.
 */
u16 pci_epf_nvme_delete_sq(struct pci_epf_nvme_cmd *cmd, u16 qid)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	struct pci_epf_nvme_sq *sq;

	if (!qid || qid > nvme->nr_io_queues)
		return NVME_SC_QID_INVALID | NVME_STATUS_DNR;
	sq = &nvme->sq[qid];

	mutex_lock(&nvme->qlock);
	if (!sq->live) {
		mutex_unlock(&nvme->qlock);
		return NVME_SC_QID_INVALID | NVME_STATUS_DNR;
	}
	/* The poller fetches under the lock: it is done with the queue */
	pci_epf_nvme_set_live(&sq->live, false);
	mutex_unlock(&nvme->qlock);

	/*
	 * The last command to go takes the Delete command, or we do: the
	 * full barriers of xchg() and atomic_dec_and_test() make sure that
	 * one of us sees the other.
	 */
	cmd->post = pci_epf_nvme_delete_sq_done;
	xchg(&sq->delete_cmd, cmd);
	if (atomic_read(&sq->inflight) || xchg(&sq->delete_cmd, NULL) != cmd)
		return PCI_EPF_NVME_DEFERRED;

	return NVME_SC_SUCCESS;
}

/**
 * pci_epf_nvme_sq_drained() - the last command of a submission queue is gone
 * @sq: the queue
 *
 * Complete the Delete I/O Submission Queue command waiting for this, if
 * any, from its work item. Any context.
 */
void pci_epf_nvme_sq_drained(struct pci_epf_nvme_sq *sq)
{
	struct pci_epf_nvme_cmd *cmd = xchg(&sq->delete_cmd, NULL);

	if (!cmd)
		return;
	cmd->status = NVME_SC_SUCCESS;
	cmd->step = PCI_EPF_NVME_STEP_DONE;
	queue_work(sq->nvme->admin_wq, &cmd->work);
}

/**
 * pci_epf_nvme_delete_cq() - Delete I/O Completion Queue
 * @nvme: the function
 * @qid: queue identifier
 *
 * Return: an NVMe status.
 */
u16 pci_epf_nvme_delete_cq(struct pci_epf_nvme *nvme, u16 qid)
{
	u16 status = NVME_SC_SUCCESS;

	if (!qid || qid > nvme->nr_io_queues)
		return NVME_SC_QID_INVALID | NVME_STATUS_DNR;

	mutex_lock(&nvme->qlock);
	if (!nvme->cq[qid].live)
		status = NVME_SC_QID_INVALID | NVME_STATUS_DNR;
	else if (nvme->cq[qid].nr_sqs)
		status = NVME_SC_INVALID_QUEUE | NVME_STATUS_DNR;
	if (status == NVME_SC_SUCCESS) {
		pci_epf_nvme_free_cq(nvme, qid);
		nvme->nr_io_live--;
	}
	mutex_unlock(&nvme->qlock);

	return status;
}

/**
 * pci_epf_nvme_create_admin_queues() - create the admin queue pair
 * @nvme: the function
 * @asq: admin submission queue base address
 * @acq: admin completion queue base address
 * @sq_depth: admin submission queue depth
 * @cq_depth: admin completion queue depth
 *
 * Return: 0 or a negative error code.
 */
int pci_epf_nvme_create_admin_queues(struct pci_epf_nvme *nvme, u64 asq,
				     u64 acq, u16 sq_depth, u16 cq_depth)
{
	int ret;

	mutex_lock(&nvme->qlock);
	ret = pci_epf_nvme_setup_cq(nvme, 0, acq, cq_depth, 0, true);
	if (!ret) {
		ret = pci_epf_nvme_setup_sq(nvme, 0, asq, sq_depth, 0);
		if (ret)
			pci_epf_nvme_free_cq(nvme, 0);
	}
	mutex_unlock(&nvme->qlock);

	return ret;
}

/**
 * pci_epf_nvme_release_queues() - delete every queue
 * @nvme: the function, with no command left
 */
void pci_epf_nvme_release_queues(struct pci_epf_nvme *nvme)
{
	int qid;

	mutex_lock(&nvme->qlock);
	for (qid = nvme->nr_io_queues; qid >= 0; qid--) {
		/* Live, or deleted with the controller being disabled first */
		pci_epf_nvme_set_live(&nvme->sq[qid].live, false);
		pci_epf_nvme_free_sq(nvme, qid);
	}
	for (qid = nvme->nr_io_queues; qid >= 0; qid--) {
		if (nvme->cq[qid].live)
			pci_epf_nvme_free_cq(nvme, qid);
	}
	nvme->nr_io_live = 0;
	mutex_unlock(&nvme->qlock);
}
