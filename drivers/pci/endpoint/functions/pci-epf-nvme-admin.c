// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint NVMe function: admin commands.
 *
 * What describes the PCIe controller itself is handled here: queue
 * management, the features that belong to the controller, Abort,
 * Asynchronous Event Request, Keep Alive, the Commands Supported and
 * Effects log, and the adjustments of the Identify Controller data. What
 * describes the storage is forwarded to the fabrics controller: Identify
 * of namespaces and lists, Get Log Page, and the features of the storage.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#include <linux/log2.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "pci-epf-nvme.h"

/* Fields include/linux/nvme.h does not name */
#define PCI_EPF_NVME_ONCS_VERIFY	BIT(7)
#define PCI_EPF_NVME_LPA_SMART_PER_NS	BIT(0)
#define PCI_EPF_NVME_LPA_EXT_DATA	BIT(2)
#define PCI_EPF_NVME_VWC_NO_BROADCAST	(2 << 1)
#define PCI_EPF_NVME_FRMW_SLOT1_RO	BIT(0)
#define PCI_EPF_NVME_FRMW_ONE_SLOT	0x2	/* bits 3:1 = 1 */
#define PCI_EPF_NVME_ACL		3
#define PCI_EPF_NVME_FEAT_SEL_SUPPORTED	3
#define PCI_EPF_NVME_FEAT_CHANGEABLE	BIT(2)
#define PCI_EPF_NVME_SGLS_SUPPORTED	0x1
#define PCI_EPF_NVME_SGLS_BIT_BUCKET	BIT(16)
/* Temperature Threshold: TMPSEL composite, THSEL over and under */
#define PCI_EPF_NVME_TMPSEL_COMPOSITE	0
#define PCI_EPF_NVME_THSEL_OVER		0
#define PCI_EPF_NVME_THSEL_UNDER	1
/* Default over temperature threshold: 343 K (70 degrees C) */
#define PCI_EPF_NVME_TEMP_OVER_DEFAULT	343

static u32 pci_epf_nvme_cdw10(struct pci_epf_nvme_cmd *cmd)
{
	return le32_to_cpu(cmd->sqe.common.cdw10);
}

static u32 pci_epf_nvme_cdw11(struct pci_epf_nvme_cmd *cmd)
{
	return le32_to_cpu(cmd->sqe.common.cdw11);
}

static void pci_epf_nvme_set_result(struct pci_epf_nvme_cmd *cmd, u32 val)
{
	cmd->result.u32 = cpu_to_le32(val);
}

/* A configured identity string replaces the target's, padded with spaces */
static void pci_epf_nvme_set_ident(char *field, size_t size, const char *val)
{
	if (*val)
		memcpy_and_pad(field, size, val, strlen(val), ' ');
}

/*
 * Identify Controller comes from the fabrics controller, then describes
 * what this controller is: a single PCIe I/O controller, with this
 * function's IDs, MDTS, queue entry sizes and the commands it executes.
 */
static void pci_epf_nvme_fixup_id_ctrl(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	struct nvme_id_ctrl *id = cmd->buf;
	u16 oncs = le16_to_cpu(id->oncs);

	id->vid = cpu_to_le16(nvme->header.vendorid);
	id->ssvid = cpu_to_le16(nvme->header.subsys_vendor_id);
	pci_epf_nvme_set_ident(id->sn, sizeof(id->sn), nvme->cfg.serial);
	pci_epf_nvme_set_ident(id->mn, sizeof(id->mn), nvme->cfg.model);
	pci_epf_nvme_set_ident(id->fr, sizeof(id->fr), nvme->cfg.firmware);
	id->cmic = 0;
	id->mdts = ilog2(nvme->mdts) - PCI_EPF_NVME_PAGE_SHIFT;
	id->ver = cpu_to_le32(PCI_EPF_NVME_VS);
	id->rtd3r = 0;
	id->rtd3e = 0;
	id->oaes = cpu_to_le32(NVME_AEN_CFG_NS_ATTR);
	id->ctratt = 0;
	id->cntrltype = NVME_CTRL_IO;
	id->crdt1 = 0;
	id->crdt2 = 0;
	id->crdt3 = 0;

	id->oacs = 0;
	id->acl = PCI_EPF_NVME_ACL;
	id->aerl = PCI_EPF_NVME_NR_AERS - 1;
	id->frmw = PCI_EPF_NVME_FRMW_ONE_SLOT | PCI_EPF_NVME_FRMW_SLOT1_RO;
	id->lpa = (id->lpa & (PCI_EPF_NVME_LPA_SMART_PER_NS |
			      PCI_EPF_NVME_LPA_EXT_DATA)) |
		  NVME_CTRL_LPA_CMD_EFFECTS_LOG;
	id->npss = 0;
	id->avscc = 0;
	id->apsta = 0;
	id->mtfa = 0;
	id->hmpre = 0;
	id->hmmin = 0;
	id->rpmbs = 0;
	id->edstt = 0;
	id->dsto = 0;
	id->fwug = 0;
	id->kas = 0;
	id->hctma = 0;
	id->sanicap = 0;
	id->hmminds = 0;
	id->hmmaxd = 0;
	id->anatt = 0;
	id->anacap = 0;
	id->anagrpmax = 0;
	id->nanagrpid = 0;

	id->sqes = PCI_EPF_NVME_SQES << 4 | PCI_EPF_NVME_SQES;
	id->cqes = PCI_EPF_NVME_CQES << 4 | PCI_EPF_NVME_CQES;
	id->maxcmd = 0;
	oncs &= NVME_CTRL_ONCS_COMPARE | NVME_CTRL_ONCS_DSM |
		NVME_CTRL_ONCS_WRITE_ZEROES | PCI_EPF_NVME_ONCS_VERIFY;
	id->oncs = cpu_to_le16(oncs);
	id->fuses = 0;
	id->fna = 0;
	/* Flush with the broadcast NSID is not supported */
	if (id->vwc & NVME_CTRL_VWC_PRESENT)
		id->vwc = NVME_CTRL_VWC_PRESENT | PCI_EPF_NVME_VWC_NO_BROADCAST;
	else
		id->vwc = 0;
	id->acwu = 0;
	/* SGLs for I/O commands, no alignment required, bit buckets */
	id->sgls = cpu_to_le32(PCI_EPF_NVME_SGLS_SUPPORTED |
			       PCI_EPF_NVME_SGLS_BIT_BUCKET);
	id->mnan = 0;

	/* Fabrics only fields */
	id->ioccsz = 0;
	id->iorcsz = 0;
	id->icdoff = 0;
	id->ctrattr = 0;
	id->msdbd = 0;
	id->dctype = 0;

	memset(&id->psd[1], 0, sizeof(id->psd) - sizeof(id->psd[0]));

	/*
	 * This controller is an NVM subsystem of its own, not one more
	 * controller of the target's subsystem: a host that also reached the
	 * target some other way would otherwise take it for a second
	 * controller of a subsystem that claims to have only one. Name it
	 * the way the specification names a subsystem without an NQN.
	 */
	memset(id->subnqn, 0, sizeof(id->subnqn));
	snprintf(id->subnqn, sizeof(id->subnqn),
		 "nqn.2014.08.org.nvmexpress:%04x%04x%.20s%.40s",
		 nvme->header.vendorid, nvme->header.subsys_vendor_id,
		 id->sn, id->mn);
}

/* A namespace is private to this single controller, without ANA */
static void pci_epf_nvme_fixup_id_ns(struct pci_epf_nvme_cmd *cmd)
{
	struct nvme_id_ns *id = cmd->buf;

	id->nmic = 0;
	id->anagrpid = 0;
}

static u16 pci_epf_nvme_parse_identify(struct pci_epf_nvme_cmd *cmd)
{
	cmd->dir = PCI_EPF_NVME_TO_HOST;
	cmd->len = NVME_IDENTIFY_DATA_SIZE;

	switch (cmd->sqe.identify.cns) {
	case NVME_ID_CNS_CTRL:
		cmd->post = pci_epf_nvme_fixup_id_ctrl;
		break;
	case NVME_ID_CNS_NS:
		cmd->post = pci_epf_nvme_fixup_id_ns;
		break;
	default:
		break;
	}

	return NVME_SC_SUCCESS;
}

static void pci_epf_nvme_set_effect(__le32 *effects, u8 opcode, u32 flags)
{
	effects[opcode] = cpu_to_le32(NVME_CMD_EFFECTS_CSUPP | flags);
}

/* The commands this controller executes, for the Commands Supported log */
static u16 pci_epf_nvme_effects_log(struct pci_epf_nvme_cmd *cmd)
{
	u64 offset = le64_to_cpu(cmd->sqe.get_log_page.lpo);
	struct nvme_effects_log *log;

	log = kzalloc(sizeof(*log), GFP_KERNEL);
	if (!log)
		return NVME_SC_INTERNAL;

	pci_epf_nvme_set_effect(log->acs, nvme_admin_delete_sq, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_create_sq, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_get_log_page, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_delete_cq, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_create_cq, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_identify, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_abort_cmd, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_set_features, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_get_features, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_async_event, 0);
	pci_epf_nvme_set_effect(log->acs, nvme_admin_keep_alive, 0);

	pci_epf_nvme_set_effect(log->iocs, nvme_cmd_flush, 0);
	pci_epf_nvme_set_effect(log->iocs, nvme_cmd_write,
				NVME_CMD_EFFECTS_LBCC);
	pci_epf_nvme_set_effect(log->iocs, nvme_cmd_read, 0);
	pci_epf_nvme_set_effect(log->iocs, nvme_cmd_compare, 0);
	pci_epf_nvme_set_effect(log->iocs, nvme_cmd_write_zeroes,
				NVME_CMD_EFFECTS_LBCC);
	pci_epf_nvme_set_effect(log->iocs, nvme_cmd_dsm,
				NVME_CMD_EFFECTS_LBCC);
	pci_epf_nvme_set_effect(log->iocs, nvme_cmd_verify, 0);

	memcpy(cmd->buf, (u8 *)log + offset, cmd->len);
	kfree(log);

	return NVME_SC_SUCCESS;
}

/*
 * The Firmware Slot Information log: AFI (byte 0), reserved bytes, then
 * the revisions of slots 1 to 7 (bytes 8 to 63); the rest is reserved.
 */
#define PCI_EPF_NVME_FW_SLOT_HEADER	64
#define PCI_EPF_NVME_FW_SLOT1_OFFSET	8
#define PCI_EPF_NVME_FW_SLOT2_OFFSET	16
#define PCI_EPF_NVME_AFI_SLOT1		0x01	/* slot 1 active, no next */

/*
 * Identify says the controller has one read-only firmware slot, slot 1:
 * the target's log (nvmet's is all zeroes, a drive behind passthru has
 * slots of its own) is made to say the same where the part read covers
 * it. Slot 1's revision is nvme/firmware if set, else the target's.
 */
static void pci_epf_nvme_fixup_fw_slot(struct pci_epf_nvme_cmd *cmd)
{
	struct nvme_get_log_page_command *glp = &cmd->sqe.get_log_page;
	const char *firmware = cmd->nvme->cfg.firmware;
	u64 offset = le64_to_cpu(glp->lpo), i, end;
	char frs[PCI_EPF_NVME_FR_LEN];
	u8 *buf = cmd->buf;

	/* cmd->len is bounded by MDTS: the sum cannot wrap below 64 */
	if (offset >= PCI_EPF_NVME_FW_SLOT_HEADER)
		return;
	end = min_t(u64, offset + cmd->len, PCI_EPF_NVME_FW_SLOT_HEADER);
	pci_epf_nvme_set_ident(frs, sizeof(frs), firmware);

	for (i = offset; i < end; i++) {
		if (!i)
			buf[i - offset] = PCI_EPF_NVME_AFI_SLOT1;
		else if (i < PCI_EPF_NVME_FW_SLOT1_OFFSET ||
			 i >= PCI_EPF_NVME_FW_SLOT2_OFFSET)
			buf[i - offset] = 0;
		else if (*firmware)
			buf[i - offset] = frs[i - PCI_EPF_NVME_FW_SLOT1_OFFSET];
	}
}

static u16 pci_epf_nvme_parse_get_log_page(struct pci_epf_nvme_cmd *cmd)
{
	struct nvme_get_log_page_command *glp = &cmd->sqe.get_log_page;
	u64 numd = ((u64)le16_to_cpu(glp->numdu) << 16 |
		    le16_to_cpu(glp->numdl)) + 1;
	u64 offset = le64_to_cpu(glp->lpo);
	size_t size;

	if (numd * 4 > cmd->nvme->mdts)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;

	cmd->dir = PCI_EPF_NVME_TO_HOST;
	cmd->len = numd * 4;

	/* Without Retain Asynchronous Event, reading clears the event */
	if (!(le32_to_cpu(cmd->sqe.common.cdw10) & BIT(15)))
		pci_epf_nvme_event_log_read(cmd->nvme, glp->lid);

	switch (glp->lid) {
	case NVME_LOG_FW_SLOT:
		/* The target's, saying what Identify says of the slots */
		cmd->post = pci_epf_nvme_fixup_fw_slot;
		return NVME_SC_SUCCESS;
	case NVME_LOG_CMD_EFFECTS:
		cmd->exec = pci_epf_nvme_effects_log;
		size = sizeof(struct nvme_effects_log);
		break;
	case NVME_LOG_CHANGED_NS:
		cmd->exec = pci_epf_nvme_changed_ns_log;
		size = NVME_IDENTIFY_DATA_SIZE;
		break;
	default:
		/* The target's log, forwarded */
		return NVME_SC_SUCCESS;
	}

	/* A log page built here: the range asked for lies within it */
	if (offset & 3 || offset > size || cmd->len > size - offset)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	return NVME_SC_SUCCESS;
}

/* Number of Queues: granted before any I/O queue exists, never after */
static u16 pci_epf_nvme_set_nr_queues(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	u32 dw11 = pci_epf_nvme_cdw11(cmd);
	u32 nsqr = dw11 & 0xffff, ncqr = dw11 >> 16;
	u16 status = NVME_SC_SUCCESS;

	if (nsqr == 0xffff || ncqr == 0xffff)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;

	mutex_lock(&nvme->qlock);
	if (nvme->nr_io_live) {
		status = NVME_SC_CMD_SEQ_ERROR | NVME_STATUS_DNR;
	} else {
		nvme->nr_sq_alloc = min(nsqr + 1, nvme->nr_io_queues);
		nvme->nr_cq_alloc = min(ncqr + 1, nvme->nr_io_queues);
		pci_epf_nvme_set_result(cmd, (nvme->nr_cq_alloc - 1) << 16 |
					(nvme->nr_sq_alloc - 1));
	}
	mutex_unlock(&nvme->qlock);

	return status;
}

static u16 pci_epf_nvme_set_irq_config(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	u32 dw11 = pci_epf_nvme_cdw11(cmd);
	u16 iv = dw11 & 0xffff;

	if (iv >= pci_epf_nvme_nr_vectors(nvme) ||
	    iv >= PCI_EPF_NVME_MAX_VECTORS)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;

	if (dw11 & BIT(16))
		set_bit(iv, nvme->feat.iv_cd);
	else
		clear_bit(iv, nvme->feat.iv_cd);

	return NVME_SC_SUCCESS;
}

/*
 * Temperature Threshold: the thresholds of the composite temperature, the
 * only sensor this controller reports. The target does not keep them (and
 * nvmet does not implement the feature), so they are kept here: a host
 * sets them, and reads back what it set.
 */
static u16 pci_epf_nvme_temp_thresh(struct pci_epf_nvme_cmd *cmd, bool set)
{
	struct pci_epf_nvme_feat *feat = &cmd->nvme->feat;
	u32 dw11 = pci_epf_nvme_cdw11(cmd);
	u16 *thresh;

	if (((dw11 >> 16) & 0xf) != PCI_EPF_NVME_TMPSEL_COMPOSITE)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;

	switch ((dw11 >> 20) & 3) {
	case PCI_EPF_NVME_THSEL_OVER:
		thresh = &feat->temp_over;
		break;
	case PCI_EPF_NVME_THSEL_UNDER:
		thresh = &feat->temp_under;
		break;
	default:
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	}

	if (set)
		WRITE_ONCE(*thresh, dw11 & 0xffff);
	pci_epf_nvme_set_result(cmd, READ_ONCE(*thresh));
	return NVME_SC_SUCCESS;
}

static u16 pci_epf_nvme_set_features(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme_feat *feat = &cmd->nvme->feat;
	u32 dw11 = pci_epf_nvme_cdw11(cmd);

	switch (pci_epf_nvme_cdw10(cmd) & 0xff) {
	case NVME_FEAT_ARBITRATION:
		WRITE_ONCE(feat->arb, dw11 & 0xffffff07);
		break;
	case NVME_FEAT_POWER_MGMT:
		/* Power state 0 is the only one */
		if (dw11 & 0x1f)
			return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
		WRITE_ONCE(feat->pm, dw11 & 0xff);
		break;
	case NVME_FEAT_TEMP_THRESH:
		return pci_epf_nvme_temp_thresh(cmd, true);
	case NVME_FEAT_ERR_RECOVERY:
		/* DULBE needs deallocated block errors, not supported */
		if (dw11 & BIT(16))
			return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
		WRITE_ONCE(feat->tler, dw11 & 0xffff);
		break;
	case NVME_FEAT_NUM_QUEUES:
		return pci_epf_nvme_set_nr_queues(cmd);
	case NVME_FEAT_IRQ_COALESCE:
		WRITE_ONCE(feat->irq_coal, dw11 & 0xffff);
		break;
	case NVME_FEAT_IRQ_CONFIG:
		return pci_epf_nvme_set_irq_config(cmd);
	case NVME_FEAT_WRITE_ATOMIC:
		WRITE_ONCE(feat->wan, dw11 & 1);
		break;
	case NVME_FEAT_ASYNC_EVENT:
		WRITE_ONCE(feat->aec, dw11);
		break;
	}

	return NVME_SC_SUCCESS;
}

static u16 pci_epf_nvme_get_features(struct pci_epf_nvme_cmd *cmd)
{
	struct pci_epf_nvme *nvme = cmd->nvme;
	struct pci_epf_nvme_feat *feat = &nvme->feat;
	u32 dw10 = pci_epf_nvme_cdw10(cmd);
	u32 dw11 = pci_epf_nvme_cdw11(cmd);
	u32 val = 0;
	u16 iv;

	if (((dw10 >> 8) & 7) == PCI_EPF_NVME_FEAT_SEL_SUPPORTED) {
		pci_epf_nvme_set_result(cmd, PCI_EPF_NVME_FEAT_CHANGEABLE);
		return NVME_SC_SUCCESS;
	}

	switch (dw10 & 0xff) {
	case NVME_FEAT_ARBITRATION:
		val = READ_ONCE(feat->arb);
		break;
	case NVME_FEAT_POWER_MGMT:
		val = READ_ONCE(feat->pm);
		break;
	case NVME_FEAT_TEMP_THRESH:
		return pci_epf_nvme_temp_thresh(cmd, false);
	case NVME_FEAT_ERR_RECOVERY:
		val = READ_ONCE(feat->tler);
		break;
	case NVME_FEAT_NUM_QUEUES:
		mutex_lock(&nvme->qlock);
		val = (nvme->nr_cq_alloc - 1) << 16 | (nvme->nr_sq_alloc - 1);
		mutex_unlock(&nvme->qlock);
		break;
	case NVME_FEAT_IRQ_COALESCE:
		val = READ_ONCE(feat->irq_coal);
		break;
	case NVME_FEAT_IRQ_CONFIG:
		iv = dw11 & 0xffff;
		if (iv >= pci_epf_nvme_nr_vectors(nvme) ||
		    iv >= PCI_EPF_NVME_MAX_VECTORS)
			return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
		val = iv;
		if (test_bit(iv, feat->iv_cd))
			val |= BIT(16);
		break;
	case NVME_FEAT_WRITE_ATOMIC:
		val = READ_ONCE(feat->wan);
		break;
	case NVME_FEAT_ASYNC_EVENT:
		val = READ_ONCE(feat->aec);
		break;
	}

	pci_epf_nvme_set_result(cmd, val);
	return NVME_SC_SUCCESS;
}

/*
 * Features of the controller are kept here; that of the storage (the
 * volatile write cache, which takes no data) is forwarded. Anything else
 * is not supported. Get Features selects the current, default, saved
 * value (all the same: nothing is saved) or the capabilities; other
 * selections are reserved.
 */
static u16 pci_epf_nvme_parse_features(struct pci_epf_nvme_cmd *cmd, bool set)
{
	u32 dw10 = pci_epf_nvme_cdw10(cmd);

	if (set && (dw10 & BIT(31)))
		return NVME_SC_FEATURE_NOT_SAVEABLE | NVME_STATUS_DNR;
	if (!set && ((dw10 >> 8) & 7) > PCI_EPF_NVME_FEAT_SEL_SUPPORTED)
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;

	switch (dw10 & 0xff) {
	case NVME_FEAT_ARBITRATION:
	case NVME_FEAT_POWER_MGMT:
	case NVME_FEAT_TEMP_THRESH:
	case NVME_FEAT_ERR_RECOVERY:
	case NVME_FEAT_NUM_QUEUES:
	case NVME_FEAT_IRQ_COALESCE:
	case NVME_FEAT_IRQ_CONFIG:
	case NVME_FEAT_WRITE_ATOMIC:
	case NVME_FEAT_ASYNC_EVENT:
		cmd->exec = set ? pci_epf_nvme_set_features :
				  pci_epf_nvme_get_features;
		return NVME_SC_SUCCESS;
	case NVME_FEAT_VOLATILE_WC:
		return NVME_SC_SUCCESS;
	default:
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;
	}
}

static u16 pci_epf_nvme_create_cq_cmd(struct pci_epf_nvme_cmd *cmd)
{
	struct nvme_create_cq *c = &cmd->sqe.create_cq;

	return pci_epf_nvme_create_cq(cmd->nvme, le16_to_cpu(c->cqid),
				      le64_to_cpu(c->prp1),
				      le16_to_cpu(c->qsize),
				      le16_to_cpu(c->cq_flags),
				      le16_to_cpu(c->irq_vector));
}

static u16 pci_epf_nvme_create_sq_cmd(struct pci_epf_nvme_cmd *cmd)
{
	struct nvme_create_sq *c = &cmd->sqe.create_sq;

	return pci_epf_nvme_create_sq(cmd->nvme, le16_to_cpu(c->sqid),
				      le64_to_cpu(c->prp1),
				      le16_to_cpu(c->qsize),
				      le16_to_cpu(c->sq_flags),
				      le16_to_cpu(c->cqid));
}

static u16 pci_epf_nvme_delete_sq_cmd(struct pci_epf_nvme_cmd *cmd)
{
	return pci_epf_nvme_delete_sq(cmd,
				      le16_to_cpu(cmd->sqe.delete_queue.qid));
}

static u16 pci_epf_nvme_delete_cq_cmd(struct pci_epf_nvme_cmd *cmd)
{
	return pci_epf_nvme_delete_cq(cmd->nvme,
				      le16_to_cpu(cmd->sqe.delete_queue.qid));
}

/* Commands are not aborted: the command completes on its own */
static u16 pci_epf_nvme_abort(struct pci_epf_nvme_cmd *cmd)
{
	pci_epf_nvme_set_result(cmd, 1);
	return NVME_SC_SUCCESS;
}

static u16 pci_epf_nvme_keep_alive(struct pci_epf_nvme_cmd *cmd)
{
	return NVME_SC_SUCCESS;
}

/**
 * pci_epf_nvme_admin_parse() - decide how an admin command executes
 * @cmd: the command
 *
 * Set the data direction and length of @cmd, and its local handler if it
 * is not forwarded to the fabrics controller.
 *
 * Return: an NVMe status; anything but success completes the command.
 */
u16 pci_epf_nvme_admin_parse(struct pci_epf_nvme_cmd *cmd)
{
	struct nvme_command *c = &cmd->sqe;

	/* No fused operations; admin commands use PRPs (NVMe over PCIe) */
	if (c->common.flags & (NVME_CMD_FUSE_FIRST | NVME_CMD_FUSE_SECOND |
			       NVME_CMD_SGL_ALL))
		return NVME_SC_INVALID_FIELD | NVME_STATUS_DNR;

	switch (c->common.opcode) {
	case nvme_admin_delete_sq:
		cmd->exec = pci_epf_nvme_delete_sq_cmd;
		return NVME_SC_SUCCESS;
	case nvme_admin_create_sq:
		cmd->exec = pci_epf_nvme_create_sq_cmd;
		return NVME_SC_SUCCESS;
	case nvme_admin_get_log_page:
		return pci_epf_nvme_parse_get_log_page(cmd);
	case nvme_admin_delete_cq:
		cmd->exec = pci_epf_nvme_delete_cq_cmd;
		return NVME_SC_SUCCESS;
	case nvme_admin_create_cq:
		cmd->exec = pci_epf_nvme_create_cq_cmd;
		return NVME_SC_SUCCESS;
	case nvme_admin_identify:
		return pci_epf_nvme_parse_identify(cmd);
	case nvme_admin_abort_cmd:
		cmd->exec = pci_epf_nvme_abort;
		return NVME_SC_SUCCESS;
	case nvme_admin_set_features:
		return pci_epf_nvme_parse_features(cmd, true);
	case nvme_admin_get_features:
		return pci_epf_nvme_parse_features(cmd, false);
	case nvme_admin_async_event:
		cmd->exec = pci_epf_nvme_aer;
		return NVME_SC_SUCCESS;
	case nvme_admin_keep_alive:
		cmd->exec = pci_epf_nvme_keep_alive;
		return NVME_SC_SUCCESS;
	default:
		return NVME_SC_INVALID_OPCODE | NVME_STATUS_DNR;
	}
}

/**
 * pci_epf_nvme_feat_reset() - give the local features their reset values
 * @nvme: the function, disabled
 */
void pci_epf_nvme_feat_reset(struct pci_epf_nvme *nvme)
{
	struct pci_epf_nvme_feat *feat = &nvme->feat;

	feat->arb = 0;
	feat->pm = 0;
	feat->temp_over = PCI_EPF_NVME_TEMP_OVER_DEFAULT;
	feat->temp_under = 0;
	feat->tler = 0;
	feat->irq_coal = nvme->cfg.irq_coal_time << 8 | nvme->cfg.irq_coal_thr;
	feat->wan = 0;
	feat->aec = 0;
	bitmap_zero(feat->iv_cd, PCI_EPF_NVME_MAX_VECTORS);
}
