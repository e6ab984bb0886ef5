// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: statistics and debugfs.
 *
 * /sys/kernel/debug/pci_epf_nvme/<function>/ exists while the function is
 * bound and shows what it holds for the host's commands in flight, and
 * what it did since it was bound:
 *
 * inflight_bytes       data buffers held now
 * inflight_peak_bytes  the most held at once since the function was bound
 * inflight_max_bytes   the limit, nvme/max_inflight_kb
 * prp_commands         commands whose data PRPs described, since bound
 * sgl_commands         commands whose data an SGL described, since bound
 * stats                the function's counters, one "name value" a line:
 *                      commands in flight, I/O commands requeued, buffers
 *                      and bytes moved by DMA and through windows, failed
 *                      transfers, interrupts by type, and the commands
 *                      completed with each error status
 * queues               a line per queue pair that exists or existed: what
 *                      its submission queue fetched and its completion
 *                      queue posted (entries, errors, bytes read and
 *                      written, interrupts raised and put off by
 *                      coalescing), and the commands in flight on it
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "pci-epf-nvme.h"

static struct dentry *pci_epf_nvme_debugfs_root;

static int pci_epf_nvme_inflight_get(void *data, u64 *val)
{
	struct pci_epf_nvme *nvme = data;

	*val = atomic_long_read(&nvme->inflight);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(pci_epf_nvme_inflight_fops, pci_epf_nvme_inflight_get,
			 NULL, "%llu\n");

static int pci_epf_nvme_inflight_peak_get(void *data, u64 *val)
{
	struct pci_epf_nvme *nvme = data;

	*val = atomic_long_read(&nvme->inflight_peak);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(pci_epf_nvme_inflight_peak_fops,
			 pci_epf_nvme_inflight_peak_get, NULL, "%llu\n");

static int pci_epf_nvme_prp_cmds_get(void *data, u64 *val)
{
	struct pci_epf_nvme *nvme = data;

	*val = atomic_long_read(&nvme->nr_prp_cmds);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(pci_epf_nvme_prp_cmds_fops,
			 pci_epf_nvme_prp_cmds_get, NULL, "%llu\n");

static int pci_epf_nvme_sgl_cmds_get(void *data, u64 *val)
{
	struct pci_epf_nvme *nvme = data;

	*val = atomic_long_read(&nvme->nr_sgl_cmds);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(pci_epf_nvme_sgl_cmds_fops,
			 pci_epf_nvme_sgl_cmds_get, NULL, "%llu\n");

/**
 * pci_epf_nvme_stats_reset() - clear the statistics of a function
 * @nvme: the function, being bound: nothing counts yet
 */
void pci_epf_nvme_stats_reset(struct pci_epf_nvme *nvme)
{
	memset(&nvme->stats, 0, sizeof(nvme->stats));
	spin_lock_init(&nvme->stats.lock);
	atomic_long_set(&nvme->nr_prp_cmds, 0);
	atomic_long_set(&nvme->nr_sgl_cmds, 0);
}

/**
 * pci_epf_nvme_count_error() - count a command completed with an error
 * @nvme: the function
 * @status: its status, without the phase tag
 *
 * The first %PCI_EPF_NVME_STATS_STATUSES distinct statuses are counted
 * one by one (the status code type and code: the More and Do Not Retry
 * bits do not make another status), the others together. Errors are
 * rare: a lock and a short search are cheap enough.
 */
void pci_epf_nvme_count_error(struct pci_epf_nvme *nvme, u16 status)
{
	struct pci_epf_nvme_stats *stats = &nvme->stats;
	unsigned int i;

	status &= NVME_SCT_SC_MASK;
	spin_lock(&stats->lock);
	for (i = 0; i < stats->nr_status; i++)
		if (stats->status[i] == status)
			break;
	if (i == stats->nr_status && i < PCI_EPF_NVME_STATS_STATUSES)
		stats->status[stats->nr_status++] = status;
	if (i < stats->nr_status)
		stats->status_count[i]++;
	else
		stats->other_errors++;
	spin_unlock(&stats->lock);
}

static int pci_epf_nvme_stats_show(struct seq_file *m, void *data)
{
	struct pci_epf_nvme *nvme = m->private;
	struct pci_epf_nvme_stats *stats = &nvme->stats;
	unsigned int i;

	seq_printf(m, "inflight_commands %d\n", atomic_read(&nvme->nr_cmds));
	seq_printf(m, "requeued %lld\n", atomic64_read(&stats->requeued));
	seq_printf(m, "dma_xfers %lld\n", atomic64_read(&stats->dma_xfers));
	seq_printf(m, "dma_bytes %lld\n", atomic64_read(&stats->dma_bytes));
	seq_printf(m, "window_xfers %lld\n",
		   atomic64_read(&stats->window_xfers));
	seq_printf(m, "window_bytes %lld\n",
		   atomic64_read(&stats->window_bytes));
	seq_printf(m, "xfer_errors %lld\n", atomic64_read(&stats->xfer_errors));
	seq_printf(m, "irqs_intx %lld\n", atomic64_read(&stats->irqs[0]));
	seq_printf(m, "irqs_msi %lld\n", atomic64_read(&stats->irqs[1]));
	seq_printf(m, "irqs_msix %lld\n", atomic64_read(&stats->irqs[2]));

	spin_lock(&stats->lock);
	for (i = 0; i < stats->nr_status; i++)
		seq_printf(m, "status_%#05x %llu\n", stats->status[i],
			   stats->status_count[i]);
	seq_printf(m, "status_other %llu\n", stats->other_errors);
	spin_unlock(&stats->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pci_epf_nvme_stats);

/*
 * The queue arrays live as long as the debugfs directory; the counters of
 * a queue stay when the host deletes it, and go on when it creates it
 * again. Read without the queues' locks: a line may mix older and newer
 * counts.
 */
static int pci_epf_nvme_queues_show(struct seq_file *m, void *data)
{
	struct pci_epf_nvme *nvme = m->private;
	const struct pci_epf_nvme_cq_stats *cs;
	unsigned int qid;

	seq_puts(m, "qid fetched inflight completed errors read_bytes write_bytes irqs irqs_deferred\n");
	for (qid = 0; qid <= nvme->nr_io_queues; qid++) {
		cs = &nvme->cq[qid].stats;
		seq_printf(m, "%u %llu %d %llu %llu %llu %llu %llu %llu\n", qid,
			   READ_ONCE(nvme->sq[qid].fetched),
			   atomic_read(&nvme->sq[qid].inflight),
			   READ_ONCE(cs->completed), READ_ONCE(cs->errors),
			   READ_ONCE(cs->read_bytes), READ_ONCE(cs->write_bytes),
			   READ_ONCE(cs->irqs), READ_ONCE(cs->irqs_deferred));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pci_epf_nvme_queues);

/**
 * pci_epf_nvme_debugfs_add() - create the debugfs directory of a function
 * @nvme: the function, being bound
 */
void pci_epf_nvme_debugfs_add(struct pci_epf_nvme *nvme)
{
	struct dentry *dir;

	dir = debugfs_create_dir(dev_name(pci_epf_nvme_dev(nvme)),
				 pci_epf_nvme_debugfs_root);
	debugfs_create_file_unsafe("inflight_bytes", 0444, dir, nvme,
				   &pci_epf_nvme_inflight_fops);
	debugfs_create_file_unsafe("inflight_peak_bytes", 0444, dir, nvme,
				   &pci_epf_nvme_inflight_peak_fops);
	debugfs_create_size_t("inflight_max_bytes", 0444, dir,
			      &nvme->max_inflight);
	debugfs_create_file_unsafe("prp_commands", 0444, dir, nvme,
				   &pci_epf_nvme_prp_cmds_fops);
	debugfs_create_file_unsafe("sgl_commands", 0444, dir, nvme,
				   &pci_epf_nvme_sgl_cmds_fops);
	debugfs_create_file("stats", 0444, dir, nvme,
			    &pci_epf_nvme_stats_fops);
	debugfs_create_file("queues", 0444, dir, nvme,
			    &pci_epf_nvme_queues_fops);
	nvme->debugfs = dir;
}

/**
 * pci_epf_nvme_debugfs_remove() - remove the debugfs directory of a function
 * @nvme: the function, being unbound
 */
void pci_epf_nvme_debugfs_remove(struct pci_epf_nvme *nvme)
{
	debugfs_remove_recursive(nvme->debugfs);
	nvme->debugfs = NULL;
}

void pci_epf_nvme_debugfs_init(void)
{
	pci_epf_nvme_debugfs_root = debugfs_create_dir("pci_epf_nvme", NULL);
}

void pci_epf_nvme_debugfs_exit(void)
{
	debugfs_remove_recursive(pci_epf_nvme_debugfs_root);
}
