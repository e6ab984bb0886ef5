// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: the controller registers in BAR 0.
 *
 * The host writes CC, AQA, ASQ, ACQ and the doorbells; the function
 * writes CAP and VS once, and CSTS as the controller changes state or
 * fails. BAR 0 is memory: a host can write the other registers too, and
 * the poller puts them back. Any part of the function may report a fatal
 * status; only the poller (ctrl.c) acts on CC.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include "pci-epf-nvme.h"

/* CAP.TO: 60 s, in 500 ms units, covers the wait for the backend on reset */
#define PCI_EPF_NVME_CAP_TO		120

/*
 * The registers a host driver reads, up to CRTO, and the PMR registers:
 * those the host may not write read as the controller set them.
 */
#define PCI_EPF_NVME_REG_CRTO		0x68
#define PCI_EPF_NVME_REG_PMRCAP		0xe00
#define PCI_EPF_NVME_REG_PMRMSCU	0xe18

/**
 * pci_epf_nvme_set_csts() - set and clear bits of CSTS
 * @nvme: the function
 * @set: bits to set
 * @clear: bits to clear
 */
void pci_epf_nvme_set_csts(struct pci_epf_nvme *nvme, u32 set, u32 clear)
{
	u32 csts;

	spin_lock(&nvme->csts_lock);
	csts = (nvme->csts & ~clear) | set;
	nvme->csts = csts;
	pci_epf_nvme_reg_write(nvme, NVME_REG_CSTS, csts);
	spin_unlock(&nvme->csts_lock);
}

/**
 * pci_epf_nvme_set_fatal() - report a controller fatal status
 * @nvme: the function
 * @why: what went wrong
 *
 * Set CSTS.CFS and stop fetching commands. The host resets the controller
 * to recover. Any context but interrupts.
 */
void pci_epf_nvme_set_fatal(struct pci_epf_nvme *nvme, const char *why)
{
	bool first;

	spin_lock(&nvme->csts_lock);
	first = !nvme->fatal;
	nvme->fatal = true;
	spin_unlock(&nvme->csts_lock);
	if (!first)
		return;

	/* The host can clear it and make it happen again: rate limited */
	dev_err_ratelimited(pci_epf_nvme_dev(nvme),
			    "controller fatal status: %s\n", why);
	WRITE_ONCE(nvme->accept, false);
	pci_epf_nvme_set_csts(nvme, NVME_CSTS_CFS, 0);
}

/**
 * pci_epf_nvme_clear_doorbells() - zero the doorbells of every queue
 * @nvme: the function
 */
void pci_epf_nvme_clear_doorbells(struct pci_epf_nvme *nvme)
{
	memset(nvme->bar + NVME_REG_DBS, 0, (nvme->nr_io_queues + 1) * 8);
}

/**
 * pci_epf_nvme_clear_csts() - CSTS as after a reset, no fatal status
 * @nvme: the function
 */
void pci_epf_nvme_clear_csts(struct pci_epf_nvme *nvme)
{
	spin_lock(&nvme->csts_lock);
	nvme->fatal = false;
	nvme->csts = 0;
	pci_epf_nvme_reg_write(nvme, NVME_REG_CSTS, 0);
	spin_unlock(&nvme->csts_lock);
}

/* CC, AQA, ASQ and ACQ are the host's; INTMS and INTMC are ignored */
static bool pci_epf_nvme_host_reg(u32 off)
{
	return off == NVME_REG_CC || off == NVME_REG_AQA ||
	       (off >= NVME_REG_ASQ && off < NVME_REG_ACQ + 8);
}

/* What a register the host may not write holds */
static u32 pci_epf_nvme_reg_value(struct pci_epf_nvme *nvme, u32 off)
{
	switch (off) {
	case NVME_REG_CAP:
		return lower_32_bits(nvme->cap);
	case NVME_REG_CAP + 4:
		return upper_32_bits(nvme->cap);
	case NVME_REG_VS:
		return PCI_EPF_NVME_VS;
	default:
		return 0;
	}
}

static void pci_epf_nvme_restore_range(struct pci_epf_nvme *nvme, u32 start,
				       u32 end)
{
	u32 off, val;

	for (off = start; off < end; off += 4) {
		if (pci_epf_nvme_host_reg(off) || off == NVME_REG_CSTS)
			continue;
		val = pci_epf_nvme_reg_value(nvme, off);
		if (pci_epf_nvme_reg_read(nvme, off) != val)
			pci_epf_nvme_reg_write(nvme, off, val);
	}
}

/**
 * pci_epf_nvme_regs_restore() - undo the host's writes to the registers it
 *				 may not write
 * @nvme: the function
 *
 * A read-only register of a device ignores writes; BAR 0 is memory, so a
 * write lands and stays until the function puts the value back. The poller
 * calls this on every pass: a host reads back what it wrote for a few
 * microseconds at most, and its driver never sees a CAP, VS or CSTS it
 * made up (a CSTS.RDY, say, that the controller never set).
 */
void pci_epf_nvme_regs_restore(struct pci_epf_nvme *nvme)
{
	pci_epf_nvme_restore_range(nvme, 0, PCI_EPF_NVME_REG_CRTO + 4);
	pci_epf_nvme_restore_range(nvme, PCI_EPF_NVME_REG_PMRCAP,
				   PCI_EPF_NVME_REG_PMRMSCU + 8);

	spin_lock(&nvme->csts_lock);
	if (pci_epf_nvme_reg_read(nvme, NVME_REG_CSTS) != nvme->csts)
		pci_epf_nvme_reg_write(nvme, NVME_REG_CSTS, nvme->csts);
	spin_unlock(&nvme->csts_lock);
}

/**
 * pci_epf_nvme_regs_init() - the registers and doorbells as they are after
 *			      a reset, with no fatal status
 * @nvme: the function, with its BAR allocated
 */
void pci_epf_nvme_regs_init(struct pci_epf_nvme *nvme)
{
	u64 cap;

	cap = nvme->mqes;
	cap |= 1ULL << 16;				/* CQR */
	cap |= (u64)PCI_EPF_NVME_CAP_TO << 24;		/* TO */
	cap |= (u64)NVME_CAP_CSS_NVM << 37;		/* CSS */
	/* DSTRD, NSSRS, BPS, MPSMIN, MPSMAX, PMRS, CMBS: 0 */
	nvme->cap = cap;

	memset(nvme->bar, 0, NVME_REG_DBS);
	/* CAP and VS, as the registers the host may not write are kept */
	pci_epf_nvme_restore_range(nvme, NVME_REG_CAP, NVME_REG_VS + 4);
	pci_epf_nvme_clear_doorbells(nvme);
	pci_epf_nvme_clear_csts(nvme);
}
