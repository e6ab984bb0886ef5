/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PCI endpoint NVMe function: an NVMe PCIe controller whose commands are
 * executed by an NVMe over Fabrics host controller.
 *
 * Copyright (C) 2026 The pci-epf-nvme developers
 */

#ifndef _PCI_EPF_NVME_H
#define _PCI_EPF_NVME_H

#include <linux/atomic.h>
#include <linux/blk_types.h>
#include <linux/configfs.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/nvme.h>
#include <linux/pci-epc.h>
#include <linux/pci-epf.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct completion;
struct dentry;
struct dma_chan;
struct nvme_ctrl;
struct nvme_ns;
struct task_struct;

/* Limits and defaults of the configfs attributes */
#define PCI_EPF_NVME_MAX_IO_QUEUES	64
#define PCI_EPF_NVME_DEF_IO_QUEUES	4
#define PCI_EPF_NVME_MIN_QUEUE_DEPTH	2
#define PCI_EPF_NVME_MAX_QUEUE_DEPTH	4096
#define PCI_EPF_NVME_DEF_QUEUE_DEPTH	128
/* MDTS 0 means no limit: with 4 KiB pages, 8 KiB is the smallest limit */
#define PCI_EPF_NVME_MIN_MDTS_KB	8
#define PCI_EPF_NVME_MAX_MDTS_KB	2048
#define PCI_EPF_NVME_DEF_MDTS_KB	512
#define PCI_EPF_NVME_MIN_INFLIGHT_KB	PCI_EPF_NVME_MIN_MDTS_KB
#define PCI_EPF_NVME_MAX_INFLIGHT_KB	(1024 * 1024)
#define PCI_EPF_NVME_DEF_INFLIGHT_KB	(64 * 1024)
/* Completion queues kept mapped through a window of their own, at most */
#define PCI_EPF_NVME_DEF_CQ_WINDOWS	8

/* The controller's memory page size: CAP.MPSMIN = CAP.MPSMAX = 0 (4 KiB) */
#define PCI_EPF_NVME_PAGE_SHIFT		12
#define PCI_EPF_NVME_PAGE_SIZE		BIT(PCI_EPF_NVME_PAGE_SHIFT)

/* Asynchronous Event Requests held at most (Identify AERL + 1) */
/* The NVMe version the controller implements, in VS and Identify VER */
#define PCI_EPF_NVME_VS			NVME_VS(1, 4, 0)
#define PCI_EPF_NVME_NR_AERS		4
/* Namespaces tracked for the Changed Namespace List; beyond, FFFFFFFFh */
#define PCI_EPF_NVME_NS_TRACKED		256
/* How often the poller looks for namespaces gained or lost */
#define PCI_EPF_NVME_NS_CHECK		(HZ / 10)

/* Submission entries fetched and completion entries posted per transfer */
#define PCI_EPF_NVME_SQ_BURST		32
#define PCI_EPF_NVME_CQ_BURST		64

/* Commands whose data moves in one batch of DMA transfers, at most */
#define PCI_EPF_NVME_XFER_BATCH		64

/*
 * Kept in reserve for when memory is short, per function: commands for a
 * full fetch, and batches for two in flight each way. Those in flight end
 * on their own (the backend or the DMA timeout), and give theirs back.
 */
#define PCI_EPF_NVME_CMD_RESERVE	PCI_EPF_NVME_SQ_BURST
#define PCI_EPF_NVME_BATCH_RESERVE	4

/* SQE and CQE sizes as the host must set them (CC.IOSQES, CC.IOCQES) */
#define PCI_EPF_NVME_SQES		6
#define PCI_EPF_NVME_CQES		4

/* Status of a command that completes later, from its own context */
#define PCI_EPF_NVME_DEFERRED		0xffff

/* Identify Controller's SN, MN and FR: ASCII, padded with spaces */
#define PCI_EPF_NVME_SN_LEN		20
#define PCI_EPF_NVME_MN_LEN		40
#define PCI_EPF_NVME_FR_LEN		8

/**
 * struct pci_epf_nvme_cfg - user configuration, set through configfs
 * @connect_opts: fabrics connect options ("transport=loop,nqn=...")
 * @nr_io_queues: I/O queue pairs offered to the host
 * @queue_depth: largest queue the host can create (CAP.MQES + 1)
 * @mdts_kb: largest data transfer of a command, in KiB
 * @max_inflight_kb: data held for the commands in flight, at most, in KiB
 * @irq_coal_thr: default Interrupt Coalescing aggregation threshold (0's based)
 * @irq_coal_time: default Interrupt Coalescing aggregation time (100 us units)
 * @dma_chans: DMA channels taken per direction, at most; 0: outbound windows
 * @cq_windows: completion queues kept mapped through a window of their own,
 *		at most
 * @serial: Identify Controller SN the host sees; empty: the target's
 * @model: Identify Controller MN the host sees; empty: the target's
 * @firmware: Identify Controller FR and the active firmware slot's
 *	      revision the host sees; empty: the target's
 */
struct pci_epf_nvme_cfg {
	char *connect_opts;
	unsigned int nr_io_queues;
	unsigned int queue_depth;
	unsigned int mdts_kb;
	unsigned int max_inflight_kb;
	unsigned int irq_coal_thr;
	unsigned int irq_coal_time;
	unsigned int dma_chans;
	unsigned int cq_windows;
	char serial[PCI_EPF_NVME_SN_LEN + 1];
	char model[PCI_EPF_NVME_MN_LEN + 1];
	char firmware[PCI_EPF_NVME_FR_LEN + 1];
};

/**
 * enum pci_epf_nvme_dir - data direction of a command, seen from the host
 * @PCI_EPF_NVME_NO_DATA: the command moves no data
 * @PCI_EPF_NVME_FROM_HOST: data is read from host memory (e.g. Write)
 * @PCI_EPF_NVME_TO_HOST: data is written to host memory (e.g. Read)
 */
enum pci_epf_nvme_dir {
	PCI_EPF_NVME_NO_DATA,
	PCI_EPF_NVME_FROM_HOST,
	PCI_EPF_NVME_TO_HOST,
};

/**
 * struct pci_epf_nvme_seg - a physically contiguous range of host memory
 * @pci_addr: PCI address of the range
 * @len: length of the range in bytes
 * @bit_bucket: an SGL bit bucket: these @len bytes of the data are not
 *	transferred, the range has no address
 */
struct pci_epf_nvme_seg {
	u64 pci_addr;
	u32 len;
	bool bit_bucket;
};

/**
 * struct pci_epf_nvme_xfer_ctx - the DMA transfers of one batch
 * @pending: transfers not completed yet, plus one for the submitter
 * @waiter: completed when the last one completes, if the submitter waits;
 *	    NULL for a &struct pci_epf_nvme_batch, handed back to the poller
 */
struct pci_epf_nvme_xfer_ctx {
	atomic_t pending;
	struct completion *waiter;
};

/**
 * struct pci_epf_nvme_xfer - one local buffer moved to or from host memory
 * @buf: the local buffer
 * @len: its length, the sum of the segments' lengths
 * @segs: the host memory segments, in the order of @buf
 * @nr_segs: number of segments
 * @local: DMA address of @buf while the transfer runs, if it is not vmalloc
 *	   memory
 * @sgt: the DMA mapping of @buf while the transfer runs, page by page, if
 *	 it is vmalloc memory
 * @ctx: the batch of transfers this one belongs to
 * @issued: a part of the transfer was started: if it failed, some of its
 *	    data may have moved
 * @error: the transfer failed
 */
struct pci_epf_nvme_xfer {
	void *buf;
	size_t len;
	const struct pci_epf_nvme_seg *segs;
	unsigned int nr_segs;
	dma_addr_t local;
	struct sg_table sgt;
	struct pci_epf_nvme_xfer_ctx *ctx;
	bool issued;
	bool error;
};

struct pci_epf_nvme;

/**
 * struct pci_epf_nvme_batch - transfers the poller starts and does not wait
 *			       for
 * @ctx: their DMA context
 * @nvme: the function
 * @ended_node: entry in the function's list of batches whose transfers are
 *	       done
 * @entry: entry in the function's list of batches in flight, oldest first,
 *	   then in the poller's list of batches that ended
 * @started: when the transfers were started, in jiffies
 * @dir: direction of the transfers
 * @nr: number of transfers
 * @mapped: transfers whose buffer is mapped for DMA, the first ones
 * @xfers: the transfers
 */
struct pci_epf_nvme_batch {
	struct pci_epf_nvme_xfer_ctx ctx;
	struct pci_epf_nvme *nvme;
	struct llist_node ended_node;
	struct list_head entry;
	unsigned long started;
	enum pci_epf_nvme_dir dir;
	unsigned int nr;
	unsigned int mapped;
	struct pci_epf_nvme_xfer *xfers[PCI_EPF_NVME_XFER_BATCH];
};

/**
 * struct pci_epf_nvme_cq_stats - what a completion queue posted
 * @completed: completion entries posted
 * @errors: of those, entries with a status other than Successful Completion
 * @read_bytes: data sent to the host by the successful commands
 * @write_bytes: data taken from the host by the successful commands
 * @irqs: interrupts raised
 * @irqs_deferred: interrupts interrupt coalescing put off for more entries
 *
 * Written under the queue's post_lock, read by debugfs without it.
 */
struct pci_epf_nvme_cq_stats {
	u64 completed;
	u64 errors;
	u64 read_bytes;
	u64 write_bytes;
	u64 irqs;
	u64 irqs_deferred;
};

/* Distinct error statuses counted one by one; the others together */
#define PCI_EPF_NVME_STATS_STATUSES	16

/**
 * struct pci_epf_nvme_stats - what the function did since it was bound
 * @requeued: I/O commands the fabrics controller could not take at once
 * @dma_xfers: buffers moved by the DMA channels
 * @dma_bytes: bytes moved by the DMA channels
 * @window_xfers: buffers copied through outbound windows
 * @window_bytes: bytes copied through outbound windows
 * @xfer_errors: buffers whose transfer failed
 * @irqs: interrupts raised, by type: INTx, MSI, MSI-X
 * @lock: protects @status, @status_count, @nr_status and @other_errors
 * @status: the error statuses completed, in the order first seen
 * @status_count: how many commands completed with each of @status
 * @nr_status: entries in @status
 * @other_errors: commands completed with an error status @status had no
 *		  room for
 */
struct pci_epf_nvme_stats {
	atomic64_t requeued;
	atomic64_t dma_xfers;
	atomic64_t dma_bytes;
	atomic64_t window_xfers;
	atomic64_t window_bytes;
	atomic64_t xfer_errors;
	atomic64_t irqs[3];
	spinlock_t lock;		/* the error statuses */
	u16 status[PCI_EPF_NVME_STATS_STATUSES];
	u64 status_count[PCI_EPF_NVME_STATS_STATUSES];
	unsigned int nr_status;
	u64 other_errors;
};

/**
 * struct pci_epf_nvme_sq - a submission queue
 * @nvme: the function
 * @qid: queue identifier
 * @cqid: identifier of the completion queue the SQ posts to
 * @depth: number of entries
 * @head: next entry to fetch, only written by the poller
 * @pci_addr: PCI address of the queue in host memory
 * @live: the queue exists and may be fetched from
 * @inflight: commands fetched from the queue and not yet completed
 * @delete_cmd: the Delete I/O Submission Queue command waiting for
 *		@inflight to drop to 0, taken by whoever sees it do so
 * @sqes: local buffer the entries are fetched into, allocated while the
 *	  queue exists, live or being deleted
 * @failing_since: when fetches started failing, in jiffies, 0 if they
 *		   do not
 * @fetched: commands fetched since the function was bound (poller only)
 */
struct pci_epf_nvme_sq {
	struct pci_epf_nvme *nvme;
	u16 qid;
	u16 cqid;
	u16 depth;
	u16 head;
	u64 pci_addr;
	bool live;
	atomic_t inflight;
	struct pci_epf_nvme_cmd *delete_cmd;
	struct nvme_command *sqes;
	unsigned long failing_since;
	u64 fetched;
};

/**
 * struct pci_epf_nvme_cq - a completion queue
 * @nvme: the function
 * @qid: queue identifier
 * @depth: number of entries
 * @iv: interrupt vector
 * @ien: interrupts enabled
 * @live: the queue exists
 * @head: last head the host reported through the doorbell
 * @tail: next entry to post, under @post_lock
 * @phase: phase tag of the entries posted in the current pass
 * @nr_sqs: submission queues posting to this queue (under the queue lock)
 * @pci_addr: PCI address of the queue in host memory
 * @mapped: @map holds the whole queue: entries are written through it
 * @map: outbound window kept mapped over the queue for its life, if the
 *	 controller had room (under @post_lock)
 * @lock: protects @pending
 * @pending: commands waiting for their completion entry to be posted
 * @post_lock: serialises the posting of entries and the interrupts
 * @cqes: local buffer the entries are built in
 * @irq_pending: entries posted since the last interrupt
 * @irq_deadline: jiffies by which the pending interrupt must be raised
 * @work: posts what the poller could not, later: coalesced interrupts,
 *	  entries that did not fit in the queue or whose transfer failed
 * @failing_since: when posts started failing, in jiffies, 0 if they do
 *		   not (under @post_lock)
 * @stats: what the queue posted since the function was bound (under
 *	   @post_lock)
 */
struct pci_epf_nvme_cq {
	struct pci_epf_nvme *nvme;
	u16 qid;
	u16 depth;
	u16 iv;
	bool ien;
	bool live;
	u16 head;
	u16 tail;
	u8 phase;
	unsigned int nr_sqs;
	u64 pci_addr;
	bool mapped;
	struct pci_epc_map map;
	spinlock_t lock;		/* protects @pending */
	struct list_head pending;
	struct mutex post_lock;		/* posting and interrupts */
	struct nvme_completion *cqes;
	unsigned int irq_pending;
	unsigned long irq_deadline;
	struct delayed_work work;
	unsigned long failing_since;
	struct pci_epf_nvme_cq_stats stats;
};

/**
 * enum pci_epf_nvme_step - what the work of a command does next
 * @PCI_EPF_NVME_STEP_EXEC: parse the command, get its data and execute it
 * @PCI_EPF_NVME_STEP_DONE: return its data to the host and complete it
 */
enum pci_epf_nvme_step {
	PCI_EPF_NVME_STEP_EXEC,
	PCI_EPF_NVME_STEP_DONE,
};

struct pci_epf_nvme_cmd;

typedef u16 (*pci_epf_nvme_exec_t)(struct pci_epf_nvme_cmd *cmd);
typedef void (*pci_epf_nvme_post_t)(struct pci_epf_nvme_cmd *cmd);

/**
 * struct pci_epf_nvme_cmd - a command of the host, from fetch to completion
 * @nvme: the function
 * @entry: entry in the completion queue's pending list, the AER list, or
 *	   the function's lists of I/O commands waiting for a data buffer or
 *	   for the fabrics controller
 * @returned_node: entry in the function's list of commands back from the
 *		   fabrics controller
 * @work: runs @step, for admin commands
 * @step: the next step of the command
 * @sqid: submission queue the command was fetched from
 * @cqid: completion queue the command completes to
 * @sqe: the submission queue entry, as fetched
 * @status: NVMe status of the command (without the phase tag)
 * @result: command specific result (completion entry dword 0 and 1)
 * @exec: local handler, or NULL to forward the command to the fabrics
 *	  controller
 * @post: called on success before the data goes to the host
 * @ns: fabrics namespace of an I/O command, referenced
 * @dir: direction of the data transfer
 * @len: data length in bytes
 * @buf: local data buffer (kvmalloc), counted in the function's @inflight
 * @segs: host memory segments of the data, from the PRPs or the SGL (a
 *	  bit bucket's has no address)
 * @nr_segs: number of entries of @segs
 * @xfer: the transfer of the data between @buf and the host
 * @requeued: the fabrics controller could not take the command at once
 */
struct pci_epf_nvme_cmd {
	struct pci_epf_nvme *nvme;
	struct list_head entry;
	struct llist_node returned_node;
	struct work_struct work;
	enum pci_epf_nvme_step step;
	u16 sqid;
	u16 cqid;
	struct nvme_command sqe;
	u16 status;
	union nvme_result result;
	pci_epf_nvme_exec_t exec;
	pci_epf_nvme_post_t post;
	struct nvme_ns *ns;
	enum pci_epf_nvme_dir dir;
	size_t len;
	void *buf;
	struct pci_epf_nvme_seg *segs;
	unsigned int nr_segs;
	struct pci_epf_nvme_xfer xfer;
	bool requeued;
};

/**
 * enum pci_epf_nvme_state - state of the NVMe controller
 * @PCI_EPF_NVME_DISABLED: CC.EN = 0, CSTS.RDY = 0
 * @PCI_EPF_NVME_READY: enabled, processing commands
 * @PCI_EPF_NVME_SHUTDOWN: shut down, waiting for CC.EN = 0
 * @PCI_EPF_NVME_FAILED: fatal error reported (CSTS.CFS), waiting for reset
 */
enum pci_epf_nvme_state {
	PCI_EPF_NVME_DISABLED,
	PCI_EPF_NVME_READY,
	PCI_EPF_NVME_SHUTDOWN,
	PCI_EPF_NVME_FAILED,
};

/* Number of DMA channels taken per direction, at most */
#define PCI_EPF_NVME_MAX_DMA_CHANS	2

/**
 * struct pci_epf_nvme_dma - a DMA channel
 * @chan: the channel, or NULL
 * @lock: keeps the slave configuration and the preparation together
 */
struct pci_epf_nvme_dma {
	struct dma_chan *chan;
	struct mutex lock;		/* slave config and prep together */
};

/**
 * struct pci_epf_nvme_feat - feature values the controller keeps itself
 * @arb: Arbitration
 * @pm: Power Management
 * @temp_over: Temperature Threshold, over temperature, composite sensor
 * @temp_under: Temperature Threshold, under temperature, composite sensor
 * @tler: Error Recovery
 * @irq_coal: Interrupt Coalescing
 * @wan: Write Atomicity Normal
 * @aec: Asynchronous Event Configuration
 * @iv_cd: Interrupt Vector Configuration: coalescing disabled, per vector
 */
struct pci_epf_nvme_feat {
	u32 arb;
	u32 pm;
	u16 temp_over;
	u16 temp_under;
	u32 tler;
	u32 irq_coal;
	u32 wan;
	u32 aec;
	unsigned long *iv_cd;
};

/* Interrupt vectors the Interrupt Vector Configuration feature tracks */
#define PCI_EPF_NVME_MAX_VECTORS	2048

/*
 * Lock order, outermost first:
 *
 *   state_lock -> qlock -> cq->post_lock -> map_lock, dma_{rx,tx}[i].lock
 *                                     \-> cq->lock
 *
 * cfg_lock is taken alone (configfs, bind, unbind). csts_lock, aer_lock,
 * cq->lock and stats.lock are spinlocks under which no other lock is
 * taken (stats.lock under cq->post_lock, to count an error status). The poller
 * takes qlock to fetch and a queue's post_lock to post; resets take
 * state_lock, then qlock to delete the queues.
 */

/**
 * struct pci_epf_nvme - the NVMe endpoint function
 * @epf: the endpoint function
 * @header: configuration space header
 * @group: the "nvme" configfs group
 * @cfg_lock: protects @cfg and @bound
 * @cfg: user configuration
 * @bound: bound to an endpoint controller; @cfg is then read-only
 * @epc_features: features of the endpoint controller
 * @fctrl: the fabrics host controller executing the commands, referenced
 * @nr_io_queues: I/O queue pairs offered to the host
 * @mqes: CAP.MQES
 * @cap: CAP, as the registers were last initialised with
 * @mdts: largest data transfer in bytes
 * @max_inflight: data held for the commands in flight, at most, in bytes
 * @inflight: data held for the commands in flight, in bytes
 * @inflight_peak: the most @inflight was since the function was bound
 * @nr_prp_cmds: commands whose data was described by PRPs, since bound
 * @nr_sgl_cmds: commands whose data was described by an SGL, since bound
 * @stats: what the function did since it was bound
 * @debugfs: the function's debugfs directory
 * @bar: BAR 0 memory: registers, doorbells, MSI-X table and PBA
 * @bar_size: size of @bar
 * @msix_offset: offset of the MSI-X table in BAR 0
 * @nr_msix: MSI-X vectors in the table, 0 without MSI-X
 * @ctrl_ready: the function is bound and its controller set up
 * @epc_ready: header, BAR and interrupts are set on the endpoint controller
 * @dma_rx: channels reading host memory (DMA_DEV_TO_MEM)
 * @dma_tx: channels writing host memory (DMA_MEM_TO_DEV)
 * @nr_dma_rx: number of channels in @dma_rx
 * @nr_dma_tx: number of channels in @dma_tx
 * @dma_next: round-robin channel selector
 * @map_lock: serialises the transfers through outbound windows
 * @wq: runs the completion queues' deferred work
 * @admin_wq: executes admin commands, one at a time, in order
 * @poll_task: the poller: follows the registers, fetches and starts the
 *	       I/O commands, completes them and posts their entries
 * @polling: the poller runs (it is parked otherwise)
 * @returned: commands back from the fabrics controller, for the poller
 * @cmd_pool: the commands, with a reserve for forward progress
 * @batch_pool: the batches of transfers, with a reserve for forward progress
 * @fetch_first: the I/O queue fetched first in the next pass, minus one;
 *		 only used by the poller
 * @data_wait: I/O commands parsed and waiting for their data buffer, in
 *	       order, only used by the poller
 * @executed: I/O commands back from the fabrics controller, waiting for a
 *	      batch to return their data in, in order, only used by the
 *	      poller
 * @requeue: I/O commands the fabrics controller could not take yet, in
 *	     order, only used by the poller
 * @batches_ended: batches of transfers that are done, for the poller
 * @batches_inflight: batches of transfers started, oldest first, only used
 *		    by the poller and by whoever drains the function
 * @state_lock: serialises the state changes of the controller
 * @state: state of the controller
 * @csts_lock: protects @csts and @fatal
 * @csts: what CSTS holds; the register is memory the host can write too
 * @fatal: a fatal error occurred, CSTS.CFS is set
 * @accept: new commands may be fetched
 * @host_ok: new accesses to host memory may start (those in flight end
 *	     before CSTS.RDY is cleared)
 * @qlock: protects the creation and deletion of queues
 * @sq: submission queues, admin queue first
 * @cq: completion queues, admin queue first
 * @nr_sq_alloc: I/O submission queues granted (Number of Queues feature)
 * @nr_cq_alloc: I/O completion queues granted
 * @nr_io_live: I/O queues created since the controller was enabled
 * @nr_cq_mapped: completion queues with a window of their own (under @qlock)
 * @link_down: the link went down and did not come back: nothing may be read
 *	       through a window (a DesignWare controller could abort the read)
 * @nr_cmds: commands alive
 * @drain_wq: waits for commands to complete
 * @aer_lock: protects @aers, @nr_aers, @events, @nr_events, @events_masked
 * @aers: outstanding Asynchronous Event Requests
 * @nr_aers: number of entries in @aers
 * @events: events no request was outstanding for, oldest first
 * @nr_events: number of entries in @events
 * @events_masked: event types reported whose log page was not read yet
 * @ns_check_at: when the poller next compares the fabrics controller's
 *		 namespaces with @ns_seen
 * @ns_seen: NSIDs of the namespaces the host was last told of, sorted
 * @nr_ns_seen: entries in @ns_seen, or more than it holds
 * @ns_now: the poller's buffer for the namespaces now
 * @changed_ns: the Changed Namespace List log: NSIDs added or removed
 *		since the host last read it (under @aer_lock)
 * @nr_changed_ns: entries in @changed_ns, or more than it holds
 * @feat: feature values kept locally
 */
struct pci_epf_nvme {
	struct pci_epf *epf;
	struct pci_epf_header header;
	struct config_group group;

	struct mutex cfg_lock;		/* protects @cfg and @bound */
	struct pci_epf_nvme_cfg cfg;
	bool bound;

	const struct pci_epc_features *epc_features;
	struct nvme_ctrl *fctrl;
	unsigned int nr_io_queues;
	u16 mqes;
	u64 cap;
	size_t mdts;
	size_t max_inflight;
	atomic_long_t inflight;
	atomic_long_t inflight_peak;
	atomic_long_t nr_prp_cmds;
	atomic_long_t nr_sgl_cmds;
	struct pci_epf_nvme_stats stats;
	struct dentry *debugfs;

	void *bar;
	size_t bar_size;
	size_t msix_offset;
	u16 nr_msix;
	bool ctrl_ready;
	bool epc_ready;

	struct pci_epf_nvme_dma dma_rx[PCI_EPF_NVME_MAX_DMA_CHANS];
	struct pci_epf_nvme_dma dma_tx[PCI_EPF_NVME_MAX_DMA_CHANS];
	unsigned int nr_dma_rx;
	unsigned int nr_dma_tx;
	atomic_t dma_next;
	struct mutex map_lock;		/* one window transfer at a time */

	struct workqueue_struct *wq;
	struct workqueue_struct *admin_wq;
	struct task_struct *poll_task;
	bool polling;
	struct llist_head returned;
	mempool_t *cmd_pool;
	mempool_t *batch_pool;
	unsigned int fetch_first;
	struct list_head data_wait;
	struct list_head executed;
	struct list_head requeue;
	struct llist_head batches_ended;
	struct list_head batches_inflight;

	struct mutex state_lock;	/* serialises the state changes */
	enum pci_epf_nvme_state state;
	spinlock_t csts_lock;		/* protects @csts and @fatal */
	u32 csts;
	bool fatal;
	bool accept;
	bool host_ok;

	struct mutex qlock;		/* queue creation and deletion */
	struct pci_epf_nvme_sq *sq;
	struct pci_epf_nvme_cq *cq;
	unsigned int nr_sq_alloc;
	unsigned int nr_cq_alloc;
	unsigned int nr_io_live;
	unsigned int nr_cq_mapped;
	bool link_down;

	atomic_t nr_cmds;
	wait_queue_head_t drain_wq;

	spinlock_t aer_lock;		/* protects the requests and events */
	struct list_head aers;
	unsigned int nr_aers;
	u32 events[PCI_EPF_NVME_NR_AERS];
	unsigned int nr_events;
	unsigned long events_masked;
	unsigned long ns_check_at;
	u32 ns_seen[PCI_EPF_NVME_NS_TRACKED];
	unsigned int nr_ns_seen;
	u32 ns_now[PCI_EPF_NVME_NS_TRACKED];
	u32 changed_ns[PCI_EPF_NVME_NS_TRACKED];
	unsigned int nr_changed_ns;

	struct pci_epf_nvme_feat feat;
};

/* The bytes of @nr transfers, for the trace events */
static inline u64 pci_epf_nvme_xfers_len(struct pci_epf_nvme_xfer **xfers,
					 unsigned int nr)
{
	u64 len = 0;

	while (nr--)
		len += xfers[nr]->len;
	return len;
}

/* Register access: BAR 0 is ordinary memory that the host writes */
static inline u32 pci_epf_nvme_reg_read(struct pci_epf_nvme *nvme, u32 off)
{
	return le32_to_cpu(READ_ONCE(*(__le32 *)(nvme->bar + off)));
}

static inline void pci_epf_nvme_reg_write(struct pci_epf_nvme *nvme, u32 off,
					  u32 val)
{
	WRITE_ONCE(*(__le32 *)(nvme->bar + off), cpu_to_le32(val));
}

static inline u64 pci_epf_nvme_reg_read64(struct pci_epf_nvme *nvme, u32 off)
{
	return pci_epf_nvme_reg_read(nvme, off) |
	       (u64)pci_epf_nvme_reg_read(nvme, off + 4) << 32;
}

/*
 * A queue's fields are written before it is marked live, and read after it
 * is seen live: the release and the acquire pair these.
 */
static inline bool pci_epf_nvme_is_live(const bool *live)
{
	/* Pairs with pci_epf_nvme_set_live() */
	return smp_load_acquire(live);
}

static inline void pci_epf_nvme_set_live(bool *live, bool val)
{
	/* Pairs with pci_epf_nvme_is_live() */
	smp_store_release(live, val);
}

/* Doorbells, with CAP.DSTRD = 0 */
static inline u32 pci_epf_nvme_sq_db(u16 qid)
{
	return NVME_REG_DBS + qid * 8;
}

static inline u32 pci_epf_nvme_cq_db(u16 qid)
{
	return NVME_REG_DBS + qid * 8 + 4;
}

static inline struct device *pci_epf_nvme_dev(struct pci_epf_nvme *nvme)
{
	return &nvme->epf->dev;
}

/*
 * Waking the poller up, from any file. It sleeps when a pass finds no
 * work; the end of a command or of a batch of transfers, and entries
 * waiting for their completion queue, are work.
 */
static inline void pci_epf_nvme_poll_kick(struct pci_epf_nvme *nvme)
{
	wake_up_process(nvme->poll_task);
}

/**
 * pci_epf_nvme_hand_back() - hand finished work back to the poller
 * @nvme: the function
 * @node: the entry of the command or of the batch of transfers
 * @list: where it goes: @nvme->returned or @nvme->batches_ended
 *
 * Any context, interrupts included. The poller is woken up if the list was
 * empty (else whoever filled it woke it already), and so is whoever drains
 * the function. The poller may free what @node belongs to as soon as it
 * is on the list, and the function may then stop: the RCU read section
 * lets pci_epf_nvme_ctrl_exit() wait until the wake-ups are done.
 */
static inline void pci_epf_nvme_hand_back(struct pci_epf_nvme *nvme,
					  struct llist_node *node,
					  struct llist_head *list)
{
	rcu_read_lock();
	if (llist_add(node, list))
		pci_epf_nvme_poll_kick(nvme);
	if (!READ_ONCE(nvme->accept))
		wake_up_all(&nvme->drain_wq);
	rcu_read_unlock();
}

/* pci-epf-nvme-cfs.c */
struct config_group *pci_epf_nvme_add_cfs(struct pci_epf *epf,
					  struct config_group *group);
void pci_epf_nvme_cfg_init(struct pci_epf_nvme *nvme);
void pci_epf_nvme_cfg_free(struct pci_epf_nvme *nvme);

/* pci-epf-nvme-main.c */

/* pci-epf-nvme-ctrl.c */
int pci_epf_nvme_ctrl_init(struct pci_epf_nvme *nvme);
void pci_epf_nvme_ctrl_exit(struct pci_epf_nvme *nvme);
void pci_epf_nvme_ctrl_start_polling(struct pci_epf_nvme *nvme);
void pci_epf_nvme_ctrl_stop_polling(struct pci_epf_nvme *nvme);
void pci_epf_nvme_ctrl_reset(struct pci_epf_nvme *nvme);

/* pci-epf-nvme-regs.c */
void pci_epf_nvme_regs_init(struct pci_epf_nvme *nvme);
void pci_epf_nvme_clear_doorbells(struct pci_epf_nvme *nvme);
void pci_epf_nvme_set_csts(struct pci_epf_nvme *nvme, u32 set, u32 clear);
void pci_epf_nvme_clear_csts(struct pci_epf_nvme *nvme);
void pci_epf_nvme_regs_restore(struct pci_epf_nvme *nvme);
void pci_epf_nvme_set_fatal(struct pci_epf_nvme *nvme, const char *why);

/* pci-epf-nvme-queue.c */
u16 pci_epf_nvme_create_cq(struct pci_epf_nvme *nvme, u16 qid, u64 pci_addr,
			   u16 qsize, u16 flags, u16 iv);
u16 pci_epf_nvme_create_sq(struct pci_epf_nvme *nvme, u16 qid, u64 pci_addr,
			   u16 qsize, u16 flags, u16 cqid);
int pci_epf_nvme_create_admin_queues(struct pci_epf_nvme *nvme, u64 asq,
				     u64 acq, u16 sq_depth, u16 cq_depth);
u16 pci_epf_nvme_delete_sq(struct pci_epf_nvme_cmd *cmd, u16 qid);
void pci_epf_nvme_sq_drained(struct pci_epf_nvme_sq *sq);
u16 pci_epf_nvme_delete_cq(struct pci_epf_nvme *nvme, u16 qid);
void pci_epf_nvme_release_queues(struct pci_epf_nvme *nvme);
void pci_epf_nvme_check_unused_doorbells(struct pci_epf_nvme *nvme);
int pci_epf_nvme_nr_vectors(struct pci_epf_nvme *nvme);
void pci_epf_nvme_queues_init(struct pci_epf_nvme *nvme);
void pci_epf_nvme_cq_post(struct pci_epf_nvme_cmd *cmd);
bool pci_epf_nvme_fetch_commands(struct pci_epf_nvme *nvme);
bool pci_epf_nvme_post_completions(struct pci_epf_nvme *nvme);

/* pci-epf-nvme-xfer.c */
int pci_epf_nvme_window_map(struct pci_epf_nvme *nvme, u64 pci_addr,
			    size_t len, struct pci_epc_map *map);
void pci_epf_nvme_window_unmap(struct pci_epf_nvme *nvme,
			       struct pci_epc_map *map);
void pci_epf_nvme_dma_init(struct pci_epf_nvme *nvme);
void pci_epf_nvme_dma_exit(struct pci_epf_nvme *nvme);
int pci_epf_nvme_xfer_one(struct pci_epf_nvme *nvme, u64 pci_addr, void *buf,
			  size_t len, enum pci_epf_nvme_dir dir);
int pci_epf_nvme_xfer_sync(struct pci_epf_nvme *nvme,
			   struct pci_epf_nvme_xfer **xfers, unsigned int nr,
			   enum pci_epf_nvme_dir dir);
int pci_epf_nvme_batch_pool_create(struct pci_epf_nvme *nvme);
struct pci_epf_nvme_batch *pci_epf_nvme_batch_get(struct pci_epf_nvme *nvme,
						  enum pci_epf_nvme_dir dir);
void pci_epf_nvme_batch_put(struct pci_epf_nvme_batch *batch);
void pci_epf_nvme_batch_start(struct pci_epf_nvme_batch *batch);
bool pci_epf_nvme_take_ended_batches(struct pci_epf_nvme *nvme,
				     struct list_head *ended);
u16 pci_epf_nvme_map_prps(struct pci_epf_nvme_cmd *cmd);
u16 pci_epf_nvme_map_sgl(struct pci_epf_nvme_cmd *cmd);

/* pci-epf-nvme-cmd.c */
int pci_epf_nvme_cmd_cache_init(void);
void pci_epf_nvme_cmd_cache_exit(void);
int pci_epf_nvme_cmd_pool_create(struct pci_epf_nvme *nvme);
unsigned int pci_epf_nvme_get_cmds(struct pci_epf_nvme *nvme,
				   struct pci_epf_nvme_cmd **cmds,
				   unsigned int nr);
void pci_epf_nvme_put_cmds(struct pci_epf_nvme *nvme,
			   struct pci_epf_nvme_cmd **cmds, unsigned int nr);
void pci_epf_nvme_init_cmd(struct pci_epf_nvme_cmd *cmd,
			   struct pci_epf_nvme_sq *sq,
			   const struct nvme_command *sqe);
void pci_epf_nvme_free_cmd(struct pci_epf_nvme_cmd *cmd);
void pci_epf_nvme_start_io(struct pci_epf_nvme *nvme,
			   struct pci_epf_nvme_cmd **cmds, unsigned int nr);
bool pci_epf_nvme_dispatch_io(struct pci_epf_nvme *nvme);
bool pci_epf_nvme_requeue_io(struct pci_epf_nvme *nvme);
bool pci_epf_nvme_handle_executed(struct pci_epf_nvme *nvme);
bool pci_epf_nvme_data_moved(struct pci_epf_nvme *nvme);

/* pci-epf-nvme-event.c */
u16 pci_epf_nvme_aer(struct pci_epf_nvme_cmd *cmd);
void pci_epf_nvme_event_db_value(struct pci_epf_nvme *nvme);
void pci_epf_nvme_event_db_register(struct pci_epf_nvme *nvme);
void pci_epf_nvme_event_log_read(struct pci_epf_nvme *nvme, u8 lid);
void pci_epf_nvme_event_ns_reset(struct pci_epf_nvme *nvme);
void pci_epf_nvme_event_ns_check(struct pci_epf_nvme *nvme);
u16 pci_epf_nvme_changed_ns_log(struct pci_epf_nvme_cmd *cmd);
void pci_epf_nvme_discard_aers(struct pci_epf_nvme *nvme);

/* pci-epf-nvme-debugfs.c */
void pci_epf_nvme_stats_reset(struct pci_epf_nvme *nvme);
void pci_epf_nvme_count_error(struct pci_epf_nvme *nvme, u16 status);
void pci_epf_nvme_debugfs_add(struct pci_epf_nvme *nvme);
void pci_epf_nvme_debugfs_remove(struct pci_epf_nvme *nvme);
void pci_epf_nvme_debugfs_init(void);
void pci_epf_nvme_debugfs_exit(void);

/* pci-epf-nvme-admin.c */
u16 pci_epf_nvme_admin_parse(struct pci_epf_nvme_cmd *cmd);
void pci_epf_nvme_feat_reset(struct pci_epf_nvme *nvme);

/* pci-epf-nvme-io.c */
u16 pci_epf_nvme_io_parse(struct pci_epf_nvme_cmd *cmd);

/* pci-epf-nvme-backend.c: the fabrics controller */
int pci_epf_nvme_backend_connect(struct pci_epf_nvme *nvme);
void pci_epf_nvme_backend_disconnect(struct pci_epf_nvme *nvme);
bool pci_epf_nvme_backend_gone(struct pci_epf_nvme *nvme);
struct nvme_ns *pci_epf_nvme_backend_get_ns(struct pci_epf_nvme *nvme,
					    u32 nsid);
void pci_epf_nvme_backend_put_ns(struct nvme_ns *ns);
unsigned int pci_epf_nvme_backend_lba_shift(struct nvme_ns *ns);
u64 pci_epf_nvme_backend_nr_blocks(struct nvme_ns *ns);
unsigned int pci_epf_nvme_backend_nsids(struct pci_epf_nvme *nvme, u32 *nsids,
					unsigned int max);
int pci_epf_nvme_backend_submit(struct pci_epf_nvme_cmd *cmd, bool nowait);
void pci_epf_nvme_cmd_returned(struct pci_epf_nvme_cmd *cmd);
int pci_epf_nvme_backend_flush(struct pci_epf_nvme *nvme);

#endif /* _PCI_EPF_NVME_H */
