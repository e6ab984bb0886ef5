// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: controller registers and state.
 *
 * BAR 0 is ordinary memory: host writes to the registers and doorbells
 * raise no interrupt on the endpoint, so a poller reads them. It follows
 * CC to enable, disable and shut down the controller, and queues the work
 * of each submission queue whose tail doorbell moved.
 *
 * The poller is a thread of the SCHED_IDLE class: while the host is busy it
 * polls continuously, but only on CPU time nothing else wants, and any
 * other task that wakes up preempts it at once, so that it never delays
 * the work it feeds. A work item could not do this: it runs at the
 * priority of the workqueue's shared workers, and without high resolution
 * timers it cannot sleep for less than a jiffy. When the host is idle, the
 * poller backs off to sleeping a jiffy, then longer, between polls.
 *
 * On a CPU kept busy by other tasks, the idle-class poller may not run for
 * a long time: while the host is active, a work item of normal priority
 * also polls, every jiffy, which bounds the delay of a new command.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/bitmap.h>
#include <linux/kthread.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <uapi/linux/sched/types.h>

#include "pci-epf-nvme.h"

/* CAP.TO: 60 s, in 500 ms units, covers the wait for the backend on reset */
#define PCI_EPF_NVME_CAP_TO		120

/* The poller polls continuously for this long after activity ... */
#define PCI_EPF_NVME_POLL_BUSY_NS	(2 * NSEC_PER_MSEC)
/* ... then polls every jiffy, and after this long idle ... */
#define PCI_EPF_NVME_POLL_IDLE		HZ
/* ... every this many milliseconds */
#define PCI_EPF_NVME_POLL_IDLE_MS	10

/* Shutdown lets the commands in flight complete for this long */
#define PCI_EPF_NVME_SHUTDOWN_DRAIN	(5 * HZ)

static void pci_epf_nvme_set_csts(struct pci_epf_nvme *nvme, u32 set,
				  u32 clear)
{
	u32 csts;

	spin_lock(&nvme->csts_lock);
	csts = pci_epf_nvme_reg_read(nvme, NVME_REG_CSTS);
	csts = (csts & ~clear) | set;
	pci_epf_nvme_reg_write(nvme, NVME_REG_CSTS, csts);
	spin_unlock(&nvme->csts_lock);
}

/**
 * pci_epf_nvme_ctrl_fatal() - report a controller fatal status
 * @nvme: the function
 * @why: what went wrong
 *
 * Set CSTS.CFS and stop fetching commands. The host resets the controller
 * to recover.
 */
void pci_epf_nvme_ctrl_fatal(struct pci_epf_nvme *nvme, const char *why)
{
	bool first;

	spin_lock(&nvme->csts_lock);
	first = !nvme->fatal;
	nvme->fatal = true;
	spin_unlock(&nvme->csts_lock);
	if (!first)
		return;

	dev_err(pci_epf_nvme_dev(nvme), "controller fatal status: %s\n", why);
	WRITE_ONCE(nvme->accept, false);
	pci_epf_nvme_set_csts(nvme, NVME_CSTS_CFS, 0);
}

static void pci_epf_nvme_init_regs(struct pci_epf_nvme *nvme)
{
	u64 cap;

	cap = nvme->mqes;
	cap |= 1ULL << 16;				/* CQR */
	cap |= (u64)PCI_EPF_NVME_CAP_TO << 24;		/* TO */
	cap |= (u64)NVME_CAP_CSS_NVM << 37;		/* CSS */
	/* DSTRD, NSSRS, BPS, MPSMIN, MPSMAX, PMRS, CMBS: 0 */

	memset(nvme->bar, 0, NVME_REG_DBS);
	pci_epf_nvme_reg_write(nvme, NVME_REG_CAP, lower_32_bits(cap));
	pci_epf_nvme_reg_write(nvme, NVME_REG_CAP + 4, upper_32_bits(cap));
	pci_epf_nvme_reg_write(nvme, NVME_REG_VS, NVME_VS(1, 4, 0));
}

static void pci_epf_nvme_clear_doorbells(struct pci_epf_nvme *nvme)
{
	memset(nvme->bar + NVME_REG_DBS, 0, (nvme->nr_io_queues + 1) * 8);
}

/*
 * CC.EN went from 0 to 1: check the configuration the host chose, create
 * the admin queues and report ready. A configuration the controller does
 * not support gets a fatal status.
 */
static void pci_epf_nvme_enable(struct pci_epf_nvme *nvme, u32 cc)
{
	struct device *dev = pci_epf_nvme_dev(nvme);
	u32 aqa = pci_epf_nvme_reg_read(nvme, NVME_REG_AQA);
	u64 asq = pci_epf_nvme_reg_read64(nvme, NVME_REG_ASQ);
	u64 acq = pci_epf_nvme_reg_read64(nvme, NVME_REG_ACQ);
	u32 sq_depth = (aqa & 0xfff) + 1, cq_depth = ((aqa >> 16) & 0xfff) + 1;

	if ((cc & NVME_CC_CSS_MASK) != NVME_CC_CSS_NVM ||
	    (cc >> NVME_CC_MPS_SHIFT) & 0xf ||
	    (cc >> NVME_CC_AMS_SHIFT) & 0x7) {
		dev_err(dev, "unsupported controller configuration %#x\n", cc);
		goto fail;
	}

	if (sq_depth < 2 || cq_depth < 2 ||
	    (asq | acq) & (PCI_EPF_NVME_PAGE_SIZE - 1)) {
		dev_err(dev, "invalid admin queues: AQA %#x ASQ %#llx ACQ %#llx\n",
			aqa, asq, acq);
		goto fail;
	}

	nvme->nr_sq_alloc = nvme->nr_io_queues;
	nvme->nr_cq_alloc = nvme->nr_io_queues;
	pci_epf_nvme_feat_reset(nvme);

	if (pci_epf_nvme_create_admin_queues(nvme, asq, acq, sq_depth,
					     cq_depth)) {
		dev_err(dev, "cannot create the admin queues\n");
		goto fail;
	}

	WRITE_ONCE(nvme->host_ok, true);
	WRITE_ONCE(nvme->accept, true);
	nvme->state = PCI_EPF_NVME_READY;
	pci_epf_nvme_set_csts(nvme, NVME_CSTS_RDY, 0);
	dev_dbg(dev, "enabled\n");
	return;

fail:
	nvme->state = PCI_EPF_NVME_FAILED;
	pci_epf_nvme_ctrl_fatal(nvme, "cannot enable");
}

/*
 * Stop the controller: fetch nothing more, forget the held AERs and wait
 * for every command in flight, then delete the queues. A shutdown lets
 * the commands complete to the host for a while and flushes the backend;
 * a reset does not touch host memory any more. Once this returns, nothing
 * reaches host memory or the backend.
 */
static void pci_epf_nvme_stop(struct pci_epf_nvme *nvme, bool shutdown)
{
	struct device *dev = pci_epf_nvme_dev(nvme);
	unsigned int qid;
	int ret;

	WRITE_ONCE(nvme->accept, false);
	for (qid = 0; qid <= nvme->nr_io_queues; qid++)
		cancel_work_sync(&nvme->sq[qid].work);
	pci_epf_nvme_discard_aers(nvme);

	if (shutdown &&
	    !wait_event_timeout(nvme->drain_wq, !atomic_read(&nvme->nr_cmds),
				PCI_EPF_NVME_SHUTDOWN_DRAIN))
		dev_warn(dev, "shutdown with %d commands in flight\n",
			 atomic_read(&nvme->nr_cmds));

	WRITE_ONCE(nvme->host_ok, false);
	while (!wait_event_timeout(nvme->drain_wq,
				   !atomic_read(&nvme->nr_cmds), 10 * HZ))
		dev_warn(dev, "waiting for %d commands to complete\n",
			 atomic_read(&nvme->nr_cmds));

	if (shutdown) {
		ret = pci_epf_nvme_flush_backend(nvme);
		if (ret)
			dev_err(dev, "flushing the backend failed: %d\n", ret);
	}

	pci_epf_nvme_release_queues(nvme);
}

/* Follow CC; returns true when the state changed */
static bool pci_epf_nvme_poll_cc(struct pci_epf_nvme *nvme)
{
	u32 cc = pci_epf_nvme_reg_read(nvme, NVME_REG_CC);
	bool en = cc & NVME_CC_ENABLE;

	lockdep_assert_held(&nvme->state_lock);

	switch (nvme->state) {
	case PCI_EPF_NVME_DISABLED:
		if (!en)
			return false;
		pci_epf_nvme_enable(nvme, cc);
		return true;

	case PCI_EPF_NVME_READY:
		if (!en) {
			pci_epf_nvme_stop(nvme, false);
			break;
		}
		if (READ_ONCE(nvme->fatal)) {
			nvme->state = PCI_EPF_NVME_FAILED;
			return true;
		}
		if (!(cc & NVME_CC_SHN_MASK))
			return false;
		pci_epf_nvme_set_csts(nvme, NVME_CSTS_SHST_OCCUR,
				      NVME_CSTS_SHST_MASK);
		pci_epf_nvme_stop(nvme, true);
		pci_epf_nvme_set_csts(nvme, NVME_CSTS_SHST_CMPLT,
				      NVME_CSTS_SHST_MASK);
		nvme->state = PCI_EPF_NVME_SHUTDOWN;
		dev_dbg(pci_epf_nvme_dev(nvme), "shut down\n");
		return true;

	case PCI_EPF_NVME_SHUTDOWN:
	case PCI_EPF_NVME_FAILED:
		if (en)
			return false;
		/* Shutdown stopped already; stopping again is harmless */
		pci_epf_nvme_stop(nvme, false);
		break;
	}

	/* CC.EN is 0: back to the reset state */
	pci_epf_nvme_clear_doorbells(nvme);
	spin_lock(&nvme->csts_lock);
	nvme->fatal = false;
	pci_epf_nvme_reg_write(nvme, NVME_REG_CSTS, 0);
	spin_unlock(&nvme->csts_lock);
	nvme->state = PCI_EPF_NVME_DISABLED;
	dev_dbg(pci_epf_nvme_dev(nvme), "disabled\n");
	return true;
}

/* Queue the work of the submission queues with new entries */
static bool pci_epf_nvme_poll_sqs(struct pci_epf_nvme *nvme)
{
	bool busy = false;
	unsigned int qid;
	u32 tail;

	for (qid = 0; qid <= nvme->nr_io_queues; qid++) {
		struct pci_epf_nvme_sq *sq = &nvme->sq[qid];

		if (!pci_epf_nvme_is_live(&sq->live))
			continue;
		tail = pci_epf_nvme_reg_read(nvme, pci_epf_nvme_sq_db(qid));
		if (tail == READ_ONCE(sq->head) ||
		    atomic_read(&sq->inflight) >= sq->depth)
			continue;
		queue_work(nvme->wq, &sq->work);
		busy = true;
	}

	return busy;
}

/* One pass over the registers and doorbells; true if there was work */
static bool pci_epf_nvme_poll_once(struct pci_epf_nvme *nvme)
{
	bool busy, ready;

	mutex_lock(&nvme->state_lock);
	busy = pci_epf_nvme_poll_cc(nvme);
	ready = nvme->state == PCI_EPF_NVME_READY;
	mutex_unlock(&nvme->state_lock);

	if (ready && READ_ONCE(nvme->accept))
		busy |= pci_epf_nvme_poll_sqs(nvme);

	return busy;
}

/* Record activity: poll continuously for a while, with a backup */
static void pci_epf_nvme_poll_busy(struct pci_epf_nvme *nvme, u64 now)
{
	WRITE_ONCE(nvme->poll_busy_until, now + PCI_EPF_NVME_POLL_BUSY_NS);
	WRITE_ONCE(nvme->poll_idle_since, jiffies);
	queue_delayed_work(nvme->wq, &nvme->poll_work, 1);
}

static bool pci_epf_nvme_poll_recent(struct pci_epf_nvme *nvme)
{
	return time_before(jiffies, READ_ONCE(nvme->poll_idle_since) +
			   PCI_EPF_NVME_POLL_IDLE);
}

static void pci_epf_nvme_poll_work(struct work_struct *work)
{
	struct pci_epf_nvme *nvme =
		container_of(to_delayed_work(work), struct pci_epf_nvme,
			     poll_work);

	if (!READ_ONCE(nvme->polling))
		return;

	if (pci_epf_nvme_poll_once(nvme))
		pci_epf_nvme_poll_busy(nvme, ktime_get_ns());
	else if (pci_epf_nvme_poll_recent(nvme))
		queue_delayed_work(nvme->wq, &nvme->poll_work, 1);
}

static bool pci_epf_nvme_poll_stopping(void)
{
	return kthread_should_stop() || kthread_should_park();
}

static int pci_epf_nvme_poll_thread(void *data)
{
	struct pci_epf_nvme *nvme = data;
	struct sched_attr attr = {
		.size = sizeof(attr),
		.sched_policy = SCHED_IDLE,
	};
	unsigned long delay;
	u64 now;

	sched_setattr_nocheck(current, &attr);

	while (!kthread_should_stop()) {
		if (kthread_should_park()) {
			kthread_parkme();
			continue;
		}

		now = ktime_get_ns();
		if (pci_epf_nvme_poll_once(nvme))
			pci_epf_nvme_poll_busy(nvme, now);

		if (now < READ_ONCE(nvme->poll_busy_until)) {
			cond_resched();
			continue;
		}

		if (pci_epf_nvme_poll_recent(nvme))
			delay = 1;
		else
			delay = msecs_to_jiffies(PCI_EPF_NVME_POLL_IDLE_MS);

		/* A kick moves the busy time before waking the thread up */
		set_current_state(TASK_INTERRUPTIBLE);
		if (pci_epf_nvme_poll_stopping() ||
		    ktime_get_ns() < READ_ONCE(nvme->poll_busy_until)) {
			__set_current_state(TASK_RUNNING);
			continue;
		}
		schedule_timeout(delay);
	}

	return 0;
}

/**
 * pci_epf_nvme_poll_kick() - poll now, and continuously for a while
 * @nvme: the function
 *
 * Called when commands complete: the host is likely to submit more soon.
 */
void pci_epf_nvme_poll_kick(struct pci_epf_nvme *nvme)
{
	WRITE_ONCE(nvme->poll_busy_until,
		   ktime_get_ns() + PCI_EPF_NVME_POLL_BUSY_NS);
	wake_up_process(nvme->poll_task);
}

/**
 * pci_epf_nvme_ctrl_start_polling() - start following the host
 * @nvme: the function, with its BAR set on the endpoint controller
 *
 * Called with the function's lock held, as pci_epf_nvme_ctrl_stop_polling().
 */
void pci_epf_nvme_ctrl_start_polling(struct pci_epf_nvme *nvme)
{
	if (nvme->polling)
		return;
	WRITE_ONCE(nvme->poll_idle_since, jiffies);
	WRITE_ONCE(nvme->polling, true);
	kthread_unpark(nvme->poll_task);
}

/**
 * pci_epf_nvme_ctrl_stop_polling() - stop following the host
 * @nvme: the function
 *
 * Return once the poller is parked, out of any state change.
 */
void pci_epf_nvme_ctrl_stop_polling(struct pci_epf_nvme *nvme)
{
	if (!nvme->polling)
		return;
	WRITE_ONCE(nvme->polling, false);
	kthread_park(nvme->poll_task);
	cancel_delayed_work_sync(&nvme->poll_work);
}

/**
 * pci_epf_nvme_ctrl_reset() - reset the controller, the host being gone
 * @nvme: the function, not polling
 *
 * Stop the controller as a reset would and clear the registers the host
 * wrote, so that nothing it left behind takes effect when it comes back.
 */
void pci_epf_nvme_ctrl_reset(struct pci_epf_nvme *nvme)
{
	mutex_lock(&nvme->state_lock);
	if (nvme->state != PCI_EPF_NVME_DISABLED)
		pci_epf_nvme_stop(nvme, false);
	nvme->state = PCI_EPF_NVME_DISABLED;
	nvme->fatal = false;
	pci_epf_nvme_init_regs(nvme);
	pci_epf_nvme_clear_doorbells(nvme);
	mutex_unlock(&nvme->state_lock);
}

/**
 * pci_epf_nvme_ctrl_init() - set up the controller of a bound function
 * @nvme: the function, with its BAR allocated
 *
 * Return: 0 or a negative error code.
 */
int pci_epf_nvme_ctrl_init(struct pci_epf_nvme *nvme)
{
	const char *name = dev_name(pci_epf_nvme_dev(nvme));
	unsigned int nr = nvme->nr_io_queues + 1;

	nvme->sq = kcalloc(nr, sizeof(*nvme->sq), GFP_KERNEL);
	nvme->cq = kcalloc(nr, sizeof(*nvme->cq), GFP_KERNEL);
	nvme->feat.iv_cd = bitmap_zalloc(PCI_EPF_NVME_MAX_VECTORS, GFP_KERNEL);
	if (!nvme->sq || !nvme->cq || !nvme->feat.iv_cd)
		goto free;

	nvme->wq = alloc_workqueue("%s", WQ_UNBOUND, 0, name);
	if (!nvme->wq)
		goto free;
	nvme->admin_wq = alloc_ordered_workqueue("%s_admin", 0, name);
	if (!nvme->admin_wq)
		goto destroy_wq;

	nvme->poll_task = kthread_create(pci_epf_nvme_poll_thread, nvme,
					 "%s", name);
	if (IS_ERR(nvme->poll_task)) {
		nvme->poll_task = NULL;
		goto destroy_admin_wq;
	}
	kthread_park(nvme->poll_task);
	nvme->polling = false;
	INIT_DELAYED_WORK(&nvme->poll_work, pci_epf_nvme_poll_work);

	pci_epf_nvme_queues_init(nvme);
	nvme->state = PCI_EPF_NVME_DISABLED;
	nvme->fatal = false;
	nvme->accept = false;
	nvme->host_ok = false;
	pci_epf_nvme_init_regs(nvme);
	pci_epf_nvme_clear_doorbells(nvme);

	return 0;

destroy_admin_wq:
	destroy_workqueue(nvme->admin_wq);
	nvme->admin_wq = NULL;
destroy_wq:
	destroy_workqueue(nvme->wq);
	nvme->wq = NULL;
free:
	bitmap_free(nvme->feat.iv_cd);
	nvme->feat.iv_cd = NULL;
	kfree(nvme->cq);
	nvme->cq = NULL;
	kfree(nvme->sq);
	nvme->sq = NULL;
	return -ENOMEM;
}

/**
 * pci_epf_nvme_ctrl_exit() - tear down the controller of a function
 * @nvme: the function, reset and not polling
 */
void pci_epf_nvme_ctrl_exit(struct pci_epf_nvme *nvme)
{
	kthread_stop(nvme->poll_task);
	nvme->poll_task = NULL;
	destroy_workqueue(nvme->admin_wq);
	nvme->admin_wq = NULL;
	destroy_workqueue(nvme->wq);
	nvme->wq = NULL;
	bitmap_free(nvme->feat.iv_cd);
	nvme->feat.iv_cd = NULL;
	kfree(nvme->cq);
	nvme->cq = NULL;
	kfree(nvme->sq);
	nvme->sq = NULL;
}
