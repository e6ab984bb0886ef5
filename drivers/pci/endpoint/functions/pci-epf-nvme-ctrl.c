// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: the controller's state and its poller.
 *
 * BAR 0 is ordinary memory: host writes to the registers and doorbells
 * raise no interrupt on the endpoint, so a thread polls them. One poller
 * serves the whole function: it follows CC to enable, disable and shut
 * down the controller, fetches and starts the commands of every submission
 * queue whose tail doorbell moved, completes the commands the fabrics
 * controller executed and posts their completion entries. Every step works
 * on batches, so that a thread switch or a wait for a DMA transfer is paid
 * once per batch, not once per command.
 *
 * While there is work the poller goes round without sleeping, and goes on
 * for 100 us after the last pass that found work: at queue depth 1, the
 * host's next command comes that soon after the completion of the last
 * one. Then, after each pass that finds nothing, it sleeps a few
 * microseconds, twice as long after each empty pass up to a millisecond,
 * and up to 20 ms after a second without work: an idle host costs fifty
 * wake-ups a second. A command the fabrics controller completes wakes the
 * poller up at once.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/bitmap.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mempool.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/stat.h>
#include <linux/slab.h>

#include "pci-epf-nvme.h"
#include "pci_epf_nvme_trace.h"

/* The poller goes on polling without sleeping this long after work ... */
#define PCI_EPF_NVME_POLL_SPIN_NS	(100 * NSEC_PER_USEC)
/* ... then sleeps this long after an empty pass, doubling up to ... */
#define PCI_EPF_NVME_POLL_MIN_US	4
/* ... this long, until it has found nothing for ... */
#define PCI_EPF_NVME_POLL_MAX_US	1000
/* ... this long, from when on it sleeps up to ... */
#define PCI_EPF_NVME_POLL_IDLE_NS	NSEC_PER_SEC
/* ... this long between polls */
#define PCI_EPF_NVME_POLL_IDLE_US	20000

/* Shutdown lets the commands in flight complete for this long */
#define PCI_EPF_NVME_SHUTDOWN_DRAIN	(5 * HZ)

/* The controller's state changes (under the state lock, or at bind) */
static void pci_epf_nvme_set_state(struct pci_epf_nvme *nvme,
				   enum pci_epf_nvme_state state)
{
	if (nvme->state != state)
		trace_pci_epf_nvme_state(nvme, state);
	nvme->state = state;
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

	if (pci_epf_nvme_backend_gone(nvme)) {
		dev_err_ratelimited(dev, "the fabrics controller is gone\n");
		goto fail;
	}

	if ((cc & NVME_CC_CSS_MASK) != NVME_CC_CSS_NVM ||
	    (cc >> NVME_CC_MPS_SHIFT) & 0xf ||
	    (cc >> NVME_CC_AMS_SHIFT) & 0x7) {
		dev_err_ratelimited(dev, "unsupported controller configuration %#x\n",
				    cc);
		goto fail;
	}

	if (sq_depth < 2 || cq_depth < 2 ||
	    (asq | acq) & (PCI_EPF_NVME_PAGE_SIZE - 1)) {
		dev_err_ratelimited(dev, "invalid admin queues: AQA %#x ASQ %#llx ACQ %#llx\n",
				    aqa, asq, acq);
		goto fail;
	}

	nvme->nr_sq_alloc = nvme->nr_io_queues;
	nvme->nr_cq_alloc = nvme->nr_io_queues;
	pci_epf_nvme_feat_reset(nvme);
	pci_epf_nvme_event_ns_reset(nvme);
	/* What the host wrote while disabled is not a doorbell ring */
	pci_epf_nvme_clear_doorbells(nvme);

	if (pci_epf_nvme_create_admin_queues(nvme, asq, acq, sq_depth,
					     cq_depth)) {
		dev_err_ratelimited(dev, "cannot create the admin queues\n");
		goto fail;
	}

	WRITE_ONCE(nvme->host_ok, true);
	WRITE_ONCE(nvme->accept, true);
	pci_epf_nvme_set_state(nvme, PCI_EPF_NVME_READY);
	pci_epf_nvme_set_csts(nvme, NVME_CSTS_RDY, 0);
	dev_dbg(dev, "enabled\n");
	return;

fail:
	pci_epf_nvme_set_state(nvme, PCI_EPF_NVME_FAILED);
	pci_epf_nvme_set_fatal(nvme, "cannot enable");
}

/*
 * The poller's pass over the queues, in the order a command lives; each
 * step takes on what is ready for it, from this pass or an earlier one.
 * Returns true if there was any work.
 */
static bool pci_epf_nvme_run_queues(struct pci_epf_nvme *nvme)
{
	bool busy = false;

	/* New commands, while they are accepted: parsed, queued in order */
	if (READ_ONCE(nvme->accept))
		busy |= pci_epf_nvme_fetch_commands(nvme);
	/* Data buffers; write data asked for, other commands forwarded */
	busy |= pci_epf_nvme_dispatch_io(nvme);
	/* Commands the fabrics controller could not take at once */
	busy |= pci_epf_nvme_requeue_io(nvme);
	/* Executed: read data sent to the host, other entries queued */
	busy |= pci_epf_nvme_handle_executed(nvme);
	/* Data moved: writes forwarded, the entries of reads queued */
	busy |= pci_epf_nvme_data_moved(nvme);
	/* Completion entries written, interrupts raised */
	busy |= pci_epf_nvme_post_completions(nvme);

	return busy;
}

/* Commands or transfers finished since the last pass, for the next one */
static bool pci_epf_nvme_has_finished(struct pci_epf_nvme *nvme)
{
	return !llist_empty(&nvme->returned) || !llist_empty(&nvme->batches_ended);
}

/*
 * Wait up to @timeout for the commands in flight, completing them as the
 * poller would (nothing is accepted any more): the caller is the poller,
 * or it is parked. Return true if none is left.
 */
static bool pci_epf_nvme_drain(struct pci_epf_nvme *nvme,
			       unsigned long timeout)
{
	unsigned long deadline = jiffies + timeout;
	bool busy;

	for (;;) {
		/* A shutdown drains for seconds: keep the registers honest */
		pci_epf_nvme_regs_restore(nvme);
		busy = pci_epf_nvme_run_queues(nvme);
		if (!atomic_read(&nvme->nr_cmds))
			return true;
		if (time_after(jiffies, deadline))
			return false;
		/* What a pass freed (a batch, room) the next one may use */
		if (busy)
			continue;
		/* Completions wake us up; admin commands may not */
		wait_event_timeout(nvme->drain_wq,
				   !atomic_read(&nvme->nr_cmds) ||
				   pci_epf_nvme_has_finished(nvme),
				   msecs_to_jiffies(10));
	}
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
	int ret;

	WRITE_ONCE(nvme->accept, false);
	pci_epf_nvme_discard_aers(nvme);

	if (shutdown && !pci_epf_nvme_drain(nvme, PCI_EPF_NVME_SHUTDOWN_DRAIN))
		dev_warn(dev, "shutdown with %d commands in flight\n",
			 atomic_read(&nvme->nr_cmds));

	WRITE_ONCE(nvme->host_ok, false);
	while (!pci_epf_nvme_drain(nvme, 10 * HZ))
		dev_warn(dev, "waiting for %d commands to complete\n",
			 atomic_read(&nvme->nr_cmds));

	if (shutdown) {
		ret = pci_epf_nvme_backend_flush(nvme);
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

	pci_epf_nvme_regs_restore(nvme);

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
			pci_epf_nvme_set_state(nvme, PCI_EPF_NVME_FAILED);
			return true;
		}
		if (!(cc & NVME_CC_SHN_MASK))
			return false;
		pci_epf_nvme_set_csts(nvme, NVME_CSTS_SHST_OCCUR,
				      NVME_CSTS_SHST_MASK);
		pci_epf_nvme_stop(nvme, true);
		pci_epf_nvme_set_csts(nvme, NVME_CSTS_SHST_CMPLT,
				      NVME_CSTS_SHST_MASK);
		pci_epf_nvme_set_state(nvme, PCI_EPF_NVME_SHUTDOWN);
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
	pci_epf_nvme_clear_csts(nvme);
	pci_epf_nvme_set_state(nvme, PCI_EPF_NVME_DISABLED);
	dev_dbg(pci_epf_nvme_dev(nvme), "disabled\n");
	return true;
}

/* One pass over the registers and the queues; true if there was work */
static bool pci_epf_nvme_poll_once(struct pci_epf_nvme *nvme)
{
	bool busy, ready;

	mutex_lock(&nvme->state_lock);
	busy = pci_epf_nvme_poll_cc(nvme);
	ready = nvme->state == PCI_EPF_NVME_READY;
	mutex_unlock(&nvme->state_lock);

	if (!ready)
		return busy;

	if (time_after_eq(jiffies, nvme->ns_check_at)) {
		pci_epf_nvme_event_ns_check(nvme);
		pci_epf_nvme_check_unused_doorbells(nvme);
	}

	return pci_epf_nvme_run_queues(nvme) || busy;
}

static bool pci_epf_nvme_poll_stopping(void)
{
	return kthread_should_stop() || kthread_should_park();
}

/*
 * Sleep after a pass that found nothing. A completion, of a command or of
 * a batch of transfers, wakes it up.
 */
static void pci_epf_nvme_poll_sleep(struct pci_epf_nvme *nvme,
				    unsigned int sleep_us)
{
	ktime_t delay = ns_to_ktime((u64)sleep_us * NSEC_PER_USEC);

	/*
	 * Finished work only waits for a pass of a ready controller: in any
	 * other state the lists wait for the drain of the next reset, and
	 * the poller must not spin on them.
	 */
	set_current_state(TASK_IDLE);
	if (pci_epf_nvme_poll_stopping() ||
	    (READ_ONCE(nvme->state) == PCI_EPF_NVME_READY &&
	     pci_epf_nvme_has_finished(nvme))) {
		__set_current_state(TASK_RUNNING);
		return;
	}
	schedule_hrtimeout_range(&delay, ktime_to_ns(delay) / 4,
				 HRTIMER_MODE_REL);
}

/* Sleep a moment, so that the tasks waiting for this CPU run first */
static void pci_epf_nvme_poll_yield(void)
{
	ktime_t delay = ns_to_ktime(PCI_EPF_NVME_POLL_MIN_US * NSEC_PER_USEC);

	set_current_state(TASK_IDLE);
	schedule_hrtimeout(&delay, HRTIMER_MODE_REL);
}

static int pci_epf_nvme_poll_thread(void *data)
{
	struct pci_epf_nvme *nvme = data;
	unsigned int sleep_us = 0;
	u64 busy_at = ktime_get_ns(), quiet_ns;
	bool idle;

	while (!kthread_should_stop()) {
		if (kthread_should_park()) {
			kthread_parkme();
			busy_at = ktime_get_ns();
			continue;
		}

		/*
		 * Poll without a pause only while nothing else waits for this
		 * CPU: the backend's work and the host's I/O threads may be
		 * queued here. cond_resched() gives way on a kernel without
		 * preemption, and does nothing on a preemptible one, where with
		 * lazy preemption (7.x) they would wait for the next tick, up
		 * to 4 ms at HZ=250.
		 */
		if (pci_epf_nvme_poll_once(nvme)) {
			busy_at = ktime_get_ns();
			sleep_us = 0;
			if (!single_task_running())
				pci_epf_nvme_poll_yield();
			cond_resched();
			continue;
		}

		quiet_ns = ktime_get_ns() - busy_at;
		if (quiet_ns < PCI_EPF_NVME_POLL_SPIN_NS && single_task_running()) {
			cond_resched();
			cpu_relax();
			continue;
		}
		idle = quiet_ns > PCI_EPF_NVME_POLL_IDLE_NS;
		sleep_us = clamp(sleep_us * 2, PCI_EPF_NVME_POLL_MIN_US,
				 idle ? PCI_EPF_NVME_POLL_IDLE_US :
					PCI_EPF_NVME_POLL_MAX_US);
		pci_epf_nvme_poll_sleep(nvme, sleep_us);
	}

	return 0;
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
	pci_epf_nvme_set_state(nvme, PCI_EPF_NVME_DISABLED);
	pci_epf_nvme_regs_init(nvme);
	mutex_unlock(&nvme->state_lock);
}

/* Free what pci_epf_nvme_ctrl_init() allocated, in reverse order */
static void pci_epf_nvme_ctrl_free(struct pci_epf_nvme *nvme)
{
	mempool_destroy(nvme->batch_pool);
	nvme->batch_pool = NULL;
	mempool_destroy(nvme->cmd_pool);
	nvme->cmd_pool = NULL;
	if (nvme->admin_wq)
		destroy_workqueue(nvme->admin_wq);
	nvme->admin_wq = NULL;
	if (nvme->wq)
		destroy_workqueue(nvme->wq);
	nvme->wq = NULL;
	bitmap_free(nvme->feat.iv_cd);
	nvme->feat.iv_cd = NULL;
	kfree(nvme->cq);
	nvme->cq = NULL;
	kfree(nvme->sq);
	nvme->sq = NULL;
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
		goto fail;

	nvme->wq = alloc_workqueue("%s", WQ_UNBOUND, 0, name);
	if (!nvme->wq)
		goto fail;
	nvme->admin_wq = alloc_ordered_workqueue("%s_admin", 0, name);
	if (!nvme->admin_wq)
		goto fail;

	if (pci_epf_nvme_cmd_pool_create(nvme))
		goto fail;
	if (pci_epf_nvme_batch_pool_create(nvme))
		goto fail;

	nvme->poll_task = kthread_create(pci_epf_nvme_poll_thread, nvme,
					 "%s", name);
	if (IS_ERR(nvme->poll_task)) {
		nvme->poll_task = NULL;
		goto fail;
	}
	kthread_park(nvme->poll_task);
	nvme->polling = false;
	init_llist_head(&nvme->returned);
	nvme->fetch_first = 0;
	INIT_LIST_HEAD(&nvme->data_wait);
	INIT_LIST_HEAD(&nvme->executed);
	INIT_LIST_HEAD(&nvme->requeue);
	atomic_long_set(&nvme->inflight, 0);
	atomic_long_set(&nvme->inflight_peak, 0);
	pci_epf_nvme_stats_reset(nvme);
	init_llist_head(&nvme->batches_ended);
	INIT_LIST_HEAD(&nvme->batches_inflight);

	pci_epf_nvme_queues_init(nvme);
	pci_epf_nvme_set_state(nvme, PCI_EPF_NVME_DISABLED);
	nvme->accept = false;
	nvme->host_ok = false;
	pci_epf_nvme_regs_init(nvme);

	return 0;

fail:
	pci_epf_nvme_ctrl_free(nvme);
	return -ENOMEM;
}

/**
 * pci_epf_nvme_ctrl_exit() - tear down the controller of a function
 * @nvme: the function, reset and not polling
 */
void pci_epf_nvme_ctrl_exit(struct pci_epf_nvme *nvme)
{
	/* Every command is gone: wait for whoever still wakes the poller up */
	synchronize_rcu();
	kthread_stop(nvme->poll_task);
	nvme->poll_task = NULL;
	pci_epf_nvme_ctrl_free(nvme);
}
