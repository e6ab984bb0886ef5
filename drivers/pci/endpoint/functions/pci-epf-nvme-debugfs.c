// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: debugfs.
 *
 * /sys/kernel/debug/pci_epf_nvme/<function>/ exists while the function is
 * bound and shows what it holds for the host's commands in flight:
 *
 * inflight_bytes       data buffers held now
 * inflight_peak_bytes  the most held at once since the function was bound
 * inflight_max_bytes   the limit, nvme/max_inflight_kb
 * prp_commands         commands whose data PRPs described, since bound
 * sgl_commands         commands whose data an SGL described, since bound
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/debugfs.h>

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
