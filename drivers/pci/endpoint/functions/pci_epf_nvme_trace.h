/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI endpoint NVMe function: trace events.
 *
 * A command's life, in the order it happens: fetched from its submission
 * queue, forwarded to the fabrics controller (unless the function executes
 * it), completed with its status; its data transfers between the function
 * and host memory; the interrupts raised; the controller's state changes.
 * Each event names the function, so several can be told apart.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM pci_epf_nvme

#if !defined(_PCI_EPF_NVME_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _PCI_EPF_NVME_TRACE_H

#include <linux/tracepoint.h>

#include "pci-epf-nvme.h"

/* The enums' values, for the tools that read the events' formats */
TRACE_DEFINE_ENUM(PCI_EPF_NVME_NO_DATA);
TRACE_DEFINE_ENUM(PCI_EPF_NVME_FROM_HOST);
TRACE_DEFINE_ENUM(PCI_EPF_NVME_TO_HOST);
TRACE_DEFINE_ENUM(PCI_EPF_NVME_DISABLED);
TRACE_DEFINE_ENUM(PCI_EPF_NVME_READY);
TRACE_DEFINE_ENUM(PCI_EPF_NVME_SHUTDOWN);
TRACE_DEFINE_ENUM(PCI_EPF_NVME_FAILED);

#define pci_epf_nvme_show_dir(dir)					\
	__print_symbolic(dir,						\
			 { PCI_EPF_NVME_NO_DATA, "none" },		\
			 { PCI_EPF_NVME_FROM_HOST, "from_host" },	\
			 { PCI_EPF_NVME_TO_HOST, "to_host" })

#define pci_epf_nvme_show_irq(type)					\
	__print_symbolic(type,						\
			 { PCI_IRQ_INTX, "intx" },			\
			 { PCI_IRQ_MSI, "msi" },			\
			 { PCI_IRQ_MSIX, "msix" })

#define pci_epf_nvme_show_state(state)					\
	__print_symbolic(state,						\
			 { PCI_EPF_NVME_DISABLED, "disabled" },		\
			 { PCI_EPF_NVME_READY, "ready" },		\
			 { PCI_EPF_NVME_SHUTDOWN, "shutdown" },		\
			 { PCI_EPF_NVME_FAILED, "failed" })

DECLARE_EVENT_CLASS(pci_epf_nvme_cmd_class,
		    TP_PROTO(const struct pci_epf_nvme_cmd *cmd),
		    TP_ARGS(cmd),
		    TP_STRUCT__entry(__string(dev, dev_name(pci_epf_nvme_dev(cmd->nvme)))
				     __field(u16, sqid)
				     __field(u16, cid)
				     __field(u8, opcode)
				     __field(u32, nsid)
				     __field(u32, len)),
		    TP_fast_assign(__assign_str(dev);
				   __entry->sqid = cmd->sqid;
				   __entry->cid = cmd->sqe.common.command_id;
				   __entry->opcode = cmd->sqe.common.opcode;
				   __entry->nsid = le32_to_cpu(cmd->sqe.common.nsid);
				   __entry->len = cmd->len;),
		    TP_printk("%s sq=%u cid=%u opcode=%#x nsid=%u len=%u",
			      __get_str(dev), __entry->sqid, __entry->cid,
			      __entry->opcode, __entry->nsid, __entry->len)
);

/* Fetched from its submission queue (its length is not known yet: 0) */
DEFINE_EVENT(pci_epf_nvme_cmd_class, pci_epf_nvme_cmd_fetch,
	     TP_PROTO(const struct pci_epf_nvme_cmd *cmd),
	     TP_ARGS(cmd)
);

/* Handed to the fabrics controller, with its data if the host sent some */
DEFINE_EVENT(pci_epf_nvme_cmd_class, pci_epf_nvme_cmd_forward,
	     TP_PROTO(const struct pci_epf_nvme_cmd *cmd),
	     TP_ARGS(cmd)
);

/* Its completion entry reached the completion queue */
TRACE_EVENT(pci_epf_nvme_cmd_complete,
	    TP_PROTO(const struct pci_epf_nvme_cmd *cmd),
	    TP_ARGS(cmd),
	    TP_STRUCT__entry(__string(dev, dev_name(pci_epf_nvme_dev(cmd->nvme)))
			     __field(u16, sqid)
			     __field(u16, cqid)
			     __field(u16, cid)
			     __field(u8, opcode)
			     __field(u16, status)
			     __field(u64, result)
			     __field(u32, len)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->sqid = cmd->sqid;
			   __entry->cqid = cmd->cqid;
			   __entry->cid = cmd->sqe.common.command_id;
			   __entry->opcode = cmd->sqe.common.opcode;
			   __entry->status = cmd->status;
			   __entry->result = le64_to_cpu(cmd->result.u64);
			   __entry->len = cmd->len;),
	    TP_printk("%s sq=%u cq=%u cid=%u opcode=%#x status=%#x result=%#llx len=%u",
		      __get_str(dev), __entry->sqid, __entry->cqid,
		      __entry->cid, __entry->opcode, __entry->status,
		      __entry->result, __entry->len)
);

/* Buffers start moving between the function and host memory */
TRACE_EVENT(pci_epf_nvme_xfer_start,
	    TP_PROTO(struct pci_epf_nvme *nvme,
		     struct pci_epf_nvme_xfer **xfers, unsigned int nr,
		     enum pci_epf_nvme_dir dir, bool dma),
	    TP_ARGS(nvme, xfers, nr, dir, dma),
	    TP_STRUCT__entry(__string(dev, dev_name(pci_epf_nvme_dev(nvme)))
			     __field(unsigned int, nr)
			     __field(u64, bytes)
			     __field(int, dir)
			     __field(bool, dma)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->nr = nr;
			   __entry->bytes = pci_epf_nvme_xfers_len(xfers, nr);
			   __entry->dir = dir;
			   __entry->dma = dma;),
	    TP_printk("%s %s buffers=%u bytes=%llu by=%s", __get_str(dev),
		      pci_epf_nvme_show_dir(__entry->dir), __entry->nr,
		      __entry->bytes, __entry->dma ? "dma" : "window")
);

/* The buffers of the matching pci_epf_nvme_xfer_start moved, or failed */
TRACE_EVENT(pci_epf_nvme_xfer_done,
	    TP_PROTO(struct pci_epf_nvme *nvme, unsigned int nr,
		     enum pci_epf_nvme_dir dir, int ret),
	    TP_ARGS(nvme, nr, dir, ret),
	    TP_STRUCT__entry(__string(dev, dev_name(pci_epf_nvme_dev(nvme)))
			     __field(unsigned int, nr)
			     __field(int, dir)
			     __field(int, ret)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->nr = nr;
			   __entry->dir = dir;
			   __entry->ret = ret;),
	    TP_printk("%s %s buffers=%u ret=%d", __get_str(dev),
		      pci_epf_nvme_show_dir(__entry->dir), __entry->nr,
		      __entry->ret)
);

/* An interrupt for completion queue @cq: @type is a PCI_IRQ_* flag */
TRACE_EVENT(pci_epf_nvme_irq,
	    TP_PROTO(const struct pci_epf_nvme_cq *cq, unsigned int type,
		     u16 num, int ret),
	    TP_ARGS(cq, type, num, ret),
	    TP_STRUCT__entry(__string(dev, dev_name(pci_epf_nvme_dev(cq->nvme)))
			     __field(u16, cqid)
			     __field(unsigned int, type)
			     __field(u16, num)
			     __field(int, ret)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->cqid = cq->qid;
			   __entry->type = type;
			   __entry->num = num;
			   __entry->ret = ret;),
	    TP_printk("%s cq=%u %s %u ret=%d", __get_str(dev), __entry->cqid,
		      pci_epf_nvme_show_irq(__entry->type), __entry->num,
		      __entry->ret)
);

/* The controller's state changes, as the host's CC writes make it */
TRACE_EVENT(pci_epf_nvme_state,
	    TP_PROTO(struct pci_epf_nvme *nvme, enum pci_epf_nvme_state state),
	    TP_ARGS(nvme, state),
	    TP_STRUCT__entry(__string(dev, dev_name(pci_epf_nvme_dev(nvme)))
			     __field(int, old)
			     __field(int, new)),
	    TP_fast_assign(__assign_str(dev);
			   __entry->old = nvme->state;
			   __entry->new = state;),
	    TP_printk("%s %s -> %s", __get_str(dev),
		      pci_epf_nvme_show_state(__entry->old),
		      pci_epf_nvme_show_state(__entry->new))
);

#endif /* _PCI_EPF_NVME_TRACE_H */

/* The file is outside include/trace/events: say where it is */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE pci_epf_nvme_trace
#include <trace/define_trace.h>
