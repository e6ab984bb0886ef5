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
 * queue tail or a completion queue head beyond its queue; Notice,
 * Namespace Attribute Changed, when the fabrics controller gained or lost
 * a namespace (the target's namespace added or removed), with the Changed
 * Namespace List log.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/sort.h>

#include "pci-epf-nvme.h"

/* Asynchronous Event Request result: type, information, log page */
#define PCI_EPF_NVME_AER_RESULT(type, info, lid) \
	((type) | (info) << 8 | (lid) << 16)
#define PCI_EPF_NVME_AER_TYPE(result)	((result) & 7)

/*
 * Error status, in the Error Information log: Write to Invalid Doorbell
 * Register, Invalid Doorbell Write Value
 */
#define PCI_EPF_NVME_AER_INFO_DB_REGISTER	0x00
#define PCI_EPF_NVME_AER_INFO_DB_VALUE		0x01

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
 * pci_epf_nvme_event_db_register() - report a doorbell written for a queue
 *				      that does not exist
 * @nvme: the function
 *
 * Error status, Write to Invalid Doorbell Register: once, until the host
 * reads the Error Information log. Process context.
 */
void pci_epf_nvme_event_db_register(struct pci_epf_nvme *nvme)
{
	u32 result = PCI_EPF_NVME_AER_RESULT(NVME_AER_ERROR,
					     PCI_EPF_NVME_AER_INFO_DB_REGISTER,
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
	unsigned int type;

	switch (lid) {
	case NVME_LOG_ERROR:
		type = NVME_AER_ERROR;
		break;
	case NVME_LOG_CHANGED_NS:
		type = NVME_AER_NOTICE;
		break;
	default:
		return;
	}
	spin_lock(&nvme->aer_lock);
	__clear_bit(type, &nvme->events_masked);
	spin_unlock(&nvme->aer_lock);
}

static int pci_epf_nvme_cmp_nsid(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* The fabrics controller's namespaces now, sorted, in @nvme->ns_now */
static unsigned int pci_epf_nvme_ns_now(struct pci_epf_nvme *nvme)
{
	unsigned int nr;

	nr = pci_epf_nvme_backend_nsids(nvme, nvme->ns_now,
					PCI_EPF_NVME_NS_TRACKED);
	sort(nvme->ns_now, min(nr, PCI_EPF_NVME_NS_TRACKED), sizeof(u32),
	     pci_epf_nvme_cmp_nsid, NULL);
	return nr;
}

/**
 * pci_epf_nvme_event_ns_reset() - the namespaces as the host finds them
 * @nvme: the function, being enabled
 *
 * A host that enables the controller scans its namespaces: changes are
 * counted from what it finds, and the Changed Namespace List starts empty.
 */
void pci_epf_nvme_event_ns_reset(struct pci_epf_nvme *nvme)
{
	unsigned int nr = pci_epf_nvme_ns_now(nvme);

	memcpy(nvme->ns_seen, nvme->ns_now, sizeof(nvme->ns_seen));
	nvme->nr_ns_seen = nr;
	spin_lock(&nvme->aer_lock);
	nvme->nr_changed_ns = 0;
	spin_unlock(&nvme->aer_lock);
	nvme->ns_check_at = jiffies + PCI_EPF_NVME_NS_CHECK;
}

/* Add @nsid to the Changed Namespace List; under aer_lock */
static void pci_epf_nvme_ns_changed(struct pci_epf_nvme *nvme, u32 nsid)
{
	unsigned int i;

	for (i = 0; i < min(nvme->nr_changed_ns, PCI_EPF_NVME_NS_TRACKED); i++)
		if (nvme->changed_ns[i] == nsid)
			return;
	if (nvme->nr_changed_ns < PCI_EPF_NVME_NS_TRACKED)
		nvme->changed_ns[nvme->nr_changed_ns] = nsid;
	nvme->nr_changed_ns++;
}

/**
 * pci_epf_nvme_event_ns_check() - report the namespaces gained or lost
 * @nvme: the function, ready
 *
 * Compare the fabrics controller's namespaces with those the host was last
 * told of; list the NSIDs that differ in the Changed Namespace List and
 * report Namespace Attribute Changed if the host enabled the notice. The
 * poller calls it every %PCI_EPF_NVME_NS_CHECK.
 */
void pci_epf_nvme_event_ns_check(struct pci_epf_nvme *nvme)
{
	unsigned int nr = pci_epf_nvme_ns_now(nvme), i = 0, j = 0;
	unsigned int n_now = min(nr, PCI_EPF_NVME_NS_TRACKED);
	unsigned int n_seen = min(nvme->nr_ns_seen, PCI_EPF_NVME_NS_TRACKED);
	bool changed = nr != nvme->nr_ns_seen;
	u32 *now = nvme->ns_now, *seen = nvme->ns_seen;
	u32 result = PCI_EPF_NVME_AER_RESULT(NVME_AER_NOTICE,
					     NVME_AER_NOTICE_NS_CHANGED,
					     NVME_LOG_CHANGED_NS);

	nvme->ns_check_at = jiffies + PCI_EPF_NVME_NS_CHECK;

	/* Both lists are sorted: what is in one only changed */
	spin_lock(&nvme->aer_lock);
	while (i < n_now || j < n_seen) {
		if (j == n_seen || (i < n_now && now[i] < seen[j])) {
			pci_epf_nvme_ns_changed(nvme, now[i++]);
		} else if (i == n_now || seen[j] < now[i]) {
			pci_epf_nvme_ns_changed(nvme, seen[j++]);
		} else {
			i++;
			j++;
			continue;
		}
		changed = true;
	}
	/* More namespaces than tracked: the list says "look at all" */
	if (changed && (nr > n_now || nvme->nr_ns_seen > n_seen))
		nvme->nr_changed_ns = PCI_EPF_NVME_NS_TRACKED + 1;
	spin_unlock(&nvme->aer_lock);

	if (!changed)
		return;
	memcpy(seen, now, sizeof(nvme->ns_seen));
	nvme->nr_ns_seen = nr;
	if (READ_ONCE(nvme->feat.aec) & NVME_AEN_CFG_NS_ATTR)
		pci_epf_nvme_event(nvme, result);
}

/**
 * pci_epf_nvme_changed_ns_log() - Get Log Page, Changed Namespace List
 * @cmd: the command, its length and offset checked
 *
 * The NSIDs added or removed since the log was last read (FFFFFFFFh first
 * if there were more than the log or the function tracks), then zeros.
 * Reading it without Retain Asynchronous Event empties it.
 *
 * Return: an NVMe status.
 */
u16 pci_epf_nvme_changed_ns_log(struct pci_epf_nvme_cmd *cmd)
{
	struct nvme_get_log_page_command *glp = &cmd->sqe.get_log_page;
	u64 offset = le64_to_cpu(glp->lpo);
	struct pci_epf_nvme *nvme = cmd->nvme;
	bool retain = le32_to_cpu(cmd->sqe.common.cdw10) & BIT(15);
	__le32 *log;
	unsigned int i;

	log = kzalloc(NVME_IDENTIFY_DATA_SIZE, GFP_KERNEL);
	if (!log)
		return NVME_SC_INTERNAL;

	spin_lock(&nvme->aer_lock);
	if (nvme->nr_changed_ns > PCI_EPF_NVME_NS_TRACKED)
		log[0] = cpu_to_le32(NVME_NSID_ALL);
	else
		for (i = 0; i < nvme->nr_changed_ns; i++)
			log[i] = cpu_to_le32(nvme->changed_ns[i]);
	if (!retain)
		nvme->nr_changed_ns = 0;
	spin_unlock(&nvme->aer_lock);

	memcpy(cmd->buf, (u8 *)log + offset, cmd->len);
	kfree(log);
	return NVME_SC_SUCCESS;
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
