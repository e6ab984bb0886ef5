// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: asynchronous events.
 *
 * The host parks up to AERL + 1 Asynchronous Event Requests; an event
 * completes the oldest one with the event's type, information and log
 * page, or waits for one. Once an event of a type is reported, events of
 * that type are masked until the host reads the event's log page (without
 * Retain Asynchronous Event), as the specification requires, so that a
 * condition that lasts (a doorbell left invalid) is reported once. A reset
 * drops the requests, the events waiting and the masks.
 *
 * Events reported: Error, Invalid Doorbell Write Value, for a submission
 * queue tail or a completion queue head beyond its queue.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include "pci-epf-nvme.h"

/* Asynchronous Event Request result: type, information, log page */
#define PCI_EPF_NVME_AER_RESULT(type, info, lid) \
	((type) | (info) << 8 | (lid) << 16)
#define PCI_EPF_NVME_AER_TYPE(result)	((result) & 7)

/* Error status: Invalid Doorbell Write Value, in the Error Information log */
#define PCI_EPF_NVME_AER_INFO_DB_VALUE	0x01

static void pci_epf_nvme_aer_complete(struct pci_epf_nvme_cmd *cmd,
				      u32 result)
{
	cmd->result.u32 = cpu_to_le32(result);
	cmd->status = NVME_SC_SUCCESS;
	cmd->step = PCI_EPF_NVME_STEP_DONE;
	queue_work(cmd->nvme->admin_wq, &cmd->work);
}

/**
 * pci_epf_nvme_aer() - Asynchronous Event Request
 * @cmd: the command
 *
 * Complete at once with the oldest event waiting, else park the request
 * until an event occurs; a request beyond AERL + 1 fails.
 *
 * Return: an NVMe status, or %PCI_EPF_NVME_DEFERRED.
 */
u16 pci_epf_nvme_aer(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	u16 status = PCI_EPF_NVME_DEFERRED;
	bool discard = false;
	u32 result;

	spin_lock(&nvme->aer_lock);
	if (!READ_ONCE(nvme->accept)) {
		discard = true;
	} else if (nvme->nr_events) {
		result = nvme->events[0];
		nvme->nr_events--;
		memmove(nvme->events, nvme->events + 1,
			nvme->nr_events * sizeof(nvme->events[0]));
		cmd->result.u32 = cpu_to_le32(result);
		status = NVME_SC_SUCCESS;
	} else if (nvme->nr_aers >= PCI_EPF_NVME_NR_AERS) {
		status = NVME_SC_ASYNC_LIMIT | NVME_STATUS_DNR;
	} else {
		list_add_tail(&cmd->entry, &nvme->aers);
		WRITE_ONCE(nvme->nr_aers, nvme->nr_aers + 1);
	}
	spin_unlock(&nvme->aer_lock);

	if (discard) {
		pci_epf_nvme_free_cmd(cmd);
		return PCI_EPF_NVME_DEFERRED;
	}
	return status;
}

/* Report @result: to a parked request, or keep it for the next one */
static void pci_epf_nvme_event(struct pci_epf_nvme *nvme, u32 result)
{
	unsigned int type = PCI_EPF_NVME_AER_TYPE(result);
	struct pci_epf_nvme_cmd *cmd = NULL;

	spin_lock(&nvme->aer_lock);
	if (!READ_ONCE(nvme->accept) || test_bit(type, &nvme->events_masked) ||
	    nvme->nr_events == ARRAY_SIZE(nvme->events)) {
		spin_unlock(&nvme->aer_lock);
		return;
	}
	__set_bit(type, &nvme->events_masked);
	cmd = list_first_entry_or_null(&nvme->aers, struct pci_epf_nvme_cmd,
				       entry);
	if (cmd) {
		list_del_init(&cmd->entry);
		WRITE_ONCE(nvme->nr_aers, nvme->nr_aers - 1);
	} else {
		nvme->events[nvme->nr_events++] = result;
	}
	spin_unlock(&nvme->aer_lock);

	if (cmd)
		pci_epf_nvme_aer_complete(cmd, result);
}

/**
 * pci_epf_nvme_event_db_value() - report an invalid doorbell value
 * @nvme: the function
 *
 * Error status, Invalid Doorbell Write Value: once, until the host reads
 * the Error Information log. Process context.
 */
void pci_epf_nvme_event_db_value(struct pci_epf_nvme *nvme)
{
	u32 result = PCI_EPF_NVME_AER_RESULT(NVME_AER_ERROR,
					     PCI_EPF_NVME_AER_INFO_DB_VALUE,
					     NVME_LOG_ERROR);

	pci_epf_nvme_event(nvme, result);
}

/**
 * pci_epf_nvme_event_log_read() - the host reads a log page
 * @nvme: the function
 * @lid: the log page
 *
 * Reading an event's log page without Retain Asynchronous Event unmasks
 * the events of its type.
 */
void pci_epf_nvme_event_log_read(struct pci_epf_nvme *nvme, u8 lid)
{
	if (lid != NVME_LOG_ERROR)
		return;
	spin_lock(&nvme->aer_lock);
	__clear_bit(NVME_AER_ERROR, &nvme->events_masked);
	spin_unlock(&nvme->aer_lock);
}

/**
 * pci_epf_nvme_discard_aers() - drop the outstanding Asynchronous Event
 *				 Requests, the events waiting and the masks
 * @nvme: the function, no longer accepting commands
 *
 * The host forgets its outstanding commands when it disables or shuts down
 * the controller: the requests are freed without a completion.
 */
void pci_epf_nvme_discard_aers(struct pci_epf_nvme *nvme)
{
	struct pci_epf_nvme_cmd *cmd, *tmp;
	LIST_HEAD(aers);

	spin_lock(&nvme->aer_lock);
	list_splice_init(&nvme->aers, &aers);
	WRITE_ONCE(nvme->nr_aers, 0);
	nvme->nr_events = 0;
	nvme->events_masked = 0;
	spin_unlock(&nvme->aer_lock);

	list_for_each_entry_safe(cmd, tmp, &aers, entry) {
		list_del_init(&cmd->entry);
		pci_epf_nvme_free_cmd(cmd);
	}
}
