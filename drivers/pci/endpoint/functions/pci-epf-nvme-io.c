// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: I/O commands.
 *
 * Every I/O command the controller supports is forwarded to the namespace
 * of the same NSID on the fabrics controller: every namespace of the target
 * is visible to the host.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include "pci-epf-nvme.h"

/**
 * pci_epf_nvme_io_parse() - check an I/O command and find its namespace
 * @cmd: the command
 *
 * Set the data direction and length of @cmd and take a reference on its
 * namespace.
 *
 * Return: an NVMe status; anything but success completes the command.
 */
u16 pci_epf_nvme_io_parse(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	struct nvme_command *c = &cmd->sqe;
	u32 nsid = le32_to_cpu(c->common.nsid);
	bool rw = false, lbas = true;
	u64 slba, end;

	/*
	 * No fused operations; PRPs or an SGL for the data, but no metadata,
	 * so no SGL for it (PSDT 10b), and PSDT 11b is reserved
	 */
	if (c->common.flags & (NVME_CMD_FUSE_FIRST | NVME_CMD_FUSE_SECOND |
			       NVME_CMD_SGL_METASEG))
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;

	switch (c->common.opcode) {
	case nvme_cmd_read:
		cmd->dir = PCI_EPF_NVME_TO_HOST;
		rw = true;
		break;
	case nvme_cmd_write:
	case nvme_cmd_compare:
		cmd->dir = PCI_EPF_NVME_FROM_HOST;
		rw = true;
		break;
	case nvme_cmd_dsm:
		cmd->dir = PCI_EPF_NVME_FROM_HOST;
		cmd->len = ((le32_to_cpu(c->dsm.nr) & 0xff) + 1) *
			   sizeof(struct nvme_dsm_range);
		lbas = false;
		break;
	case nvme_cmd_flush:
		lbas = false;
		break;
	case nvme_cmd_write_zeroes:
	case nvme_cmd_verify:
		break;
	default:
		return NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR;
	}

	/* Identify announces no support for the broadcast NSID */
	if (!nsid || nsid == NVME_NSID_ALL)
		return NVME_SC_INVALID_NS | NVME_STATUS_DNR;

	cmd->ns = pci_epf_nvme_backend_get_ns(nvme, nsid);
	if (!cmd->ns)
		return NVME_SC_INVALID_NS | NVME_STATUS_DNR;

	/*
	 * The blocks are checked here, so that the host gets LBA Out of Range
	 * whatever the target would say (nvmet's file backend says Capacity
	 * Exceeded), and an SLBA + NLB that wraps reaches nobody.
	 */
	if (lbas) {
		slba = le64_to_cpu(c->rw.slba);
		end = slba + le16_to_cpu(c->rw.length) + 1;
		if (end <= slba ||
		    end > pci_epf_nvme_backend_nr_blocks(cmd->ns))
			return NVME_SC_LBA_RANGE | NVME_STATUS_DNR;
	}

	if (rw)
		cmd->len = ((size_t)le16_to_cpu(c->rw.length) + 1) <<
			   pci_epf_nvme_backend_lba_shift(cmd->ns);

	if (cmd->len > nvme->mdts)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;

	return NVME_SC_SUCCESS;
}
