# SPDX-License-Identifier: GPL-2.0
"""A raw NVMe host: the function's PCI device driven from user space.

No nvme.ko: the test writes the registers, builds the queues and their
entries, and reads the completions itself, so that it can do what a polite
driver never does. The loopback controller moves data to and from physical
RAM, so queues and data live in pinned pages of this process, whose
physical addresses /proc/self/pagemap gives. In the rig the host's memory
is the endpoint's own: a test points the controller only at these pages,
or at addresses that are not RAM at all (which fail as a bus error would).
Given the loopback controller's IOMMU attribute, the host maps only these
pages for the controller. Interrupts stay off unless a test turns MSI-X on
with every vector masked: completions are polled.
"""

import ctypes
import mmap
import os
import struct
import time

PAGE = 4096

# Registers
CAP, VS, CC, CSTS, AQA, ASQ, ACQ, DBS = 0x0, 0x8, 0x14, 0x1c, 0x24, 0x28, \
    0x30, 0x1000
CC_EN = 1
CC_CSS_SHIFT, CC_MPS_SHIFT, CC_AMS_SHIFT, CC_SHN_SHIFT = 4, 7, 11, 14
CC_IOSQES_IOCQES = 6 << 16 | 4 << 20
CSTS_RDY, CSTS_CFS, CSTS_SHST = 1, 2, 3 << 2
SHST_COMPLETE = 2 << 2

# Admin opcodes
DELETE_SQ, CREATE_SQ, GET_LOG_PAGE, DELETE_CQ, CREATE_CQ = 0x00, 0x01, \
    0x02, 0x04, 0x05
IDENTIFY, ABORT, SET_FEATURES, GET_FEATURES, ASYNC_EVENT = 0x06, 0x08, \
    0x09, 0x0a, 0x0c
KEEP_ALIVE = 0x18
ADMIN_OPCODES = {DELETE_SQ, CREATE_SQ, GET_LOG_PAGE, DELETE_CQ, CREATE_CQ,
                 IDENTIFY, ABORT, SET_FEATURES, GET_FEATURES, ASYNC_EVENT,
                 KEEP_ALIVE}
# I/O opcodes
FLUSH, WRITE, READ, COMPARE, WRITE_ZEROES, DSM, VERIFY = 0x00, 0x01, 0x02, \
    0x05, 0x08, 0x09, 0x0c
IO_OPCODES = {FLUSH, WRITE, READ, COMPARE, WRITE_ZEROES, DSM, VERIFY}

# Status: status code type << 8 | status code (the DNR, More and CRD bits
# apart)
SC_SUCCESS = 0x000
SC_INVALID_OPCODE = 0x001
SC_INVALID_FIELD = 0x002
SC_DATA_XFER_ERROR = 0x004
SC_INTERNAL = 0x006
SC_INVALID_NS = 0x00b
SC_CMD_SEQ_ERROR = 0x00c
SC_SGL_INVALID_LAST = 0x00d
SC_SGL_INVALID_COUNT = 0x00e
SC_SGL_INVALID_DATA = 0x00f
SC_SGL_INVALID_TYPE = 0x011
SC_PRP_INVALID_OFFSET = 0x013
SC_LBA_RANGE = 0x080
SC_CQ_INVALID = 0x100
SC_QID_INVALID = 0x101
SC_QUEUE_SIZE = 0x102
SC_ASYNC_LIMIT = 0x105
SC_INVALID_VECTOR = 0x108
SC_INVALID_QUEUE_DELETION = 0x10c
SC_FEATURE_NOT_SAVEABLE = 0x10d

# Command flags (CDW0 bits 15:8)
FUSE_FIRST, FUSE_SECOND = 1, 2
PSDT_SHIFT = 6

# SGL descriptor types (bits 7:4; subtype 0, an address, in bits 3:0)
SGL_DATA, SGL_BIT_BUCKET, SGL_SEG, SGL_LAST_SEG, SGL_KEYED = 0x00, 0x10, \
    0x20, 0x30, 0x40


def sgl_desc(addr, length, type_=SGL_DATA):
    """A 16-byte SGL descriptor."""
    return struct.pack("<QI3xB", addr, length, type_)


# Create I/O queue flags
QUEUE_PHYS_CONTIG, CQ_IRQ_ENABLED = 1, 2

# Where the pages go: admin queues, I/O queues, PRP lists, data
NR_PAGES = 512
ADMIN_SQ_PAGE, ADMIN_CQ_PAGE = 0, 1
IO_QUEUE_PAGES = range(2, 10)
ID_PAGE = 10
LIST_PAGES = range(11, 16)
DATA_PAGES = range(16, NR_PAGES)


class Fail(Exception):
    """A check did not hold."""


VERBOSE = False


def check(cond, what):
    if not cond:
        raise Fail(what)
    if VERBOSE:
        print(f"ok: {what}")


def sc(status):
    """Status code type and status code of a completion's status field."""
    return status & 0x7ff


def dnr(status):
    return bool(status >> 14 & 1)


# Errors a retry may not see again (a transfer, the backend): no DNR needed
MAY_RETRY = {SC_SUCCESS, SC_DATA_XFER_ERROR, SC_INTERNAL}


def check_status(status, want, what):
    """A completion with status @want; other errors with Do Not Retry."""
    check(status is not None and sc(status) == want and
          (want in MAY_RETRY or dnr(status)),
          f"{what}: status {want:#05x}" +
          ("" if status is not None and sc(status) == want else
           f" (got {'none' if status is None else hex(status)})"))


class DmaPages:
    """Pinned pages of this process and their physical addresses."""

    def __init__(self, npages):
        map_locked = getattr(mmap, "MAP_LOCKED", 0x2000)
        map_populate = getattr(mmap, "MAP_POPULATE", 0x8000)
        self.mem = mmap.mmap(-1, npages * PAGE,
                             flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS |
                             map_locked | map_populate)
        self.mem.write(bytes(npages * PAGE))
        self.phys = self.lookup()

    def lookup(self):
        """The pages' physical addresses now."""
        virt = ctypes.addressof(ctypes.c_char.from_buffer(self.mem))
        phys = []
        with open("/proc/self/pagemap", "rb") as pagemap:
            for i in range(len(self.mem) // PAGE):
                pagemap.seek((virt // PAGE + i) * 8)
                entry, = struct.unpack("<Q", pagemap.read(8))
                if not entry >> 63 or not entry & ((1 << 55) - 1):
                    raise OSError("page not present or PFN hidden")
                phys.append((entry & ((1 << 55) - 1)) * PAGE)
        return phys

    def runs(self):
        """The pages as (physical address, length) runs, contiguous merged."""
        runs = []
        for phys in sorted(self.phys):
            if runs and runs[-1][0] + runs[-1][1] == phys:
                runs[-1][1] += PAGE
            else:
                runs.append([phys, PAGE])
        return runs

    def fill(self, pages, byte):
        for p in pages:
            self.mem[p * PAGE:(p + 1) * PAGE] = bytes([byte]) * PAGE

    def read(self, page, off, n):
        return bytes(self.mem[page * PAGE + off:page * PAGE + off + n])

    def write(self, page, off, data):
        self.mem[page * PAGE + off:page * PAGE + off + len(data)] = data


class Queue:
    """One queue in one page: an SQ of 64-byte or a CQ of 16-byte entries."""

    def __init__(self, host, qid, depth, page, sq):
        self.host, self.qid, self.depth, self.page = host, qid, depth, page
        self.esize = 64 if sq else 16
        self.off = page * PAGE
        self.phys = host.pages.phys[page]
        self.index = 0          # SQ: tail; CQ: head
        self.phase = 1
        host.pages.mem[self.off:self.off + PAGE] = bytes(PAGE)


def sqe(opcode, cid, nsid=0, flags=0, prp1=0, prp2=0, mptr=0, cdw2=0,
        cdw3=0, cdw10=0, cdw11=0, cdw12=0, cdw13=0, cdw14=0, cdw15=0):
    """A 64-byte submission queue entry."""
    return struct.pack("<BBHIIIQQQIIIIII", opcode, flags, cid, nsid, cdw2,
                       cdw3, mptr, prp1, prp2, cdw10, cdw11, cdw12, cdw13,
                       cdw14, cdw15)


class Host:
    """The host side of one controller, with its queues and pages."""

    def __init__(self, dev, iommu=None):
        self.dev = dev
        self.iommu = iommu
        with open(f"{dev}/enable", "w") as f:
            f.write("1")
        # Memory space and bus master on, INTx off
        self.cfg = os.open(f"{dev}/config", os.O_RDWR)
        cmd, = struct.unpack("<H", os.pread(self.cfg, 2, 4))
        os.pwrite(self.cfg, struct.pack("<H", cmd | 0x6 | 0x400), 4)
        fd = os.open(f"{dev}/resource0", os.O_RDWR | os.O_SYNC)
        self.bar = mmap.mmap(fd, 0)
        os.close(fd)
        self.pages = DmaPages(NR_PAGES)
        # RAM of the host the IOMMU does not map for the controller
        self.unmapped = DmaPages(1)
        if iommu:
            for phys, length in self.pages.runs():
                with open(iommu, "w") as f:
                    f.write(f"map {phys:#x} {length:#x}")
        self.free_queue_pages = list(IO_QUEUE_PAGES)
        self.cid = 0
        self.sqs, self.cqs = {}, {}
        cap = self.rd64(CAP)
        self.mqes = (cap & 0xffff) + 1
        self.dstrd = 4 << (cap >> 32 & 0xf)

    def close(self):
        """Reset the controller; the IOMMU lets it reach all RAM again."""
        self.disable()
        self.msix_off()
        if self.iommu:
            with open(self.iommu, "w") as f:
                f.write("off")

    # Registers

    # One 32-bit access each, as a driver's readl() and writel(): struct's
    # pack_into() clears the bytes before it writes them one at a time, and
    # the controller would see a doorbell at 0 for a moment.
    def rd(self, off):
        return ctypes.c_uint32.from_buffer(self.bar, off).value

    def wr(self, off, val):
        ctypes.c_uint32.from_buffer(self.bar, off).value = val & 0xffffffff

    def rd64(self, off):
        return self.rd(off) | self.rd(off + 4) << 32

    def wr64(self, off, val):
        self.wr(off, val & 0xffffffff)
        self.wr(off + 4, val >> 32)

    def sq_db(self, qid):
        return DBS + 2 * qid * self.dstrd

    def cq_db(self, qid):
        return DBS + (2 * qid + 1) * self.dstrd

    def wait_csts(self, mask, val, secs=10):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if self.rd(CSTS) & mask == val:
                return True
            time.sleep(0.001)
        return False

    # Controller state

    def disable(self):
        self.wr(CC, 0)
        return self.wait_csts(CSTS_RDY | CSTS_CFS | CSTS_SHST, 0)

    def setup_admin(self, sq_depth, cq_depth):
        """Admin queues in memory and in AQA, ASQ, ACQ; CC untouched."""
        self.free_queue_pages = list(IO_QUEUE_PAGES)
        self.sqs = {0: Queue(self, 0, sq_depth, ADMIN_SQ_PAGE, True)}
        self.cqs = {0: Queue(self, 0, cq_depth, ADMIN_CQ_PAGE, False)}
        self.wr(AQA, (cq_depth - 1) << 16 | (sq_depth - 1))
        self.wr64(ASQ, self.sqs[0].phys)
        self.wr64(ACQ, self.cqs[0].phys)

    def enable(self, sq_depth=16, cq_depth=16, cc=CC_IOSQES_IOCQES):
        check(self.disable(), "controller disabled")
        self.setup_admin(sq_depth, cq_depth)
        self.wr(CC, cc | CC_EN)
        check(self.wait_csts(CSTS_RDY | CSTS_CFS, CSTS_RDY), "controller ready")

    def refuses(self, cc):
        """Enable with @cc: True if the controller reports a fatal status."""
        self.wr(CC, cc | CC_EN)
        ok = self.wait_csts(CSTS_CFS, CSTS_CFS, 5)
        return ok and not self.rd(CSTS) & CSTS_RDY

    def healthy(self):
        return self.rd(CSTS) & (CSTS_RDY | CSTS_CFS) == CSTS_RDY

    # Commands

    def next_cid(self):
        self.cid = (self.cid + 1) & 0xffff
        return self.cid

    def put(self, qid, entry):
        """Place one entry at the SQ's tail, without ringing."""
        sq = self.sqs[qid]
        off = sq.off + sq.index * 64
        self.pages.mem[off:off + 64] = entry
        sq.index = (sq.index + 1) % sq.depth

    def ring_sq(self, qid, tail=None):
        self.wr(self.sq_db(qid), self.sqs[qid].index if tail is None else tail)

    def submit(self, qid, opcode, **kw):
        cid = self.next_cid()
        self.put(qid, sqe(opcode, cid, **kw))
        self.ring_sq(qid)
        return cid

    def reap(self, qid, secs=10, ring=True):
        """The next completion entry of a CQ, or None after secs."""
        cq = self.cqs[qid]
        end = time.monotonic() + secs
        while True:
            off = cq.off + cq.index * 16
            # SQ head, SQ id, command id and status with the phase tag in
            # one 64-bit load, as the controller writes them; then DW0
            word = ctypes.c_uint64.from_buffer(self.pages.mem, off + 8).value
            sqhd, sqid, cid, st = struct.unpack("<HHHH",
                                                struct.pack("<Q", word))
            if st & 1 == cq.phase:
                dw0 = ctypes.c_uint32.from_buffer(self.pages.mem, off).value
                break
            if time.monotonic() > end:
                return None
            time.sleep(0.0005)
        cq.index += 1
        if cq.index == cq.depth:
            cq.index, cq.phase = 0, cq.phase ^ 1
        if ring:
            self.ring_cq(qid)
        return {"dw0": dw0, "sqhd": sqhd, "sqid": sqid, "cid": cid,
                "status": st >> 1 & 0x7fff}

    def ring_cq(self, qid):
        self.wr(self.cq_db(qid), self.cqs[qid].index)

    def run(self, qid, opcode, secs=10, **kw):
        """Submit, and reap the completion: (status, dw0), or (None, 0)."""
        cid = self.submit(qid, opcode, **kw)
        cqe = self.reap(qid, secs)
        if cqe is None:
            return None, 0
        check(cqe["cid"] == cid and cqe["sqid"] == qid,
              f"completion on SQ {qid} for command {cid}: {cqe}")
        return cqe["status"], cqe["dw0"]

    def admin(self, opcode, secs=10, **kw):
        """Run an admin command: its status, or None without a completion."""
        return self.run(0, opcode, secs, **kw)[0]

    def quiet(self, qid, secs=0.2):
        """No completion arrives on CQ @qid for @secs."""
        return self.reap(qid, secs, ring=False) is None

    # Queues

    def create_queue(self, sq, qid, depth, cdw11, prp1=None):
        """Create I/O Submission or Completion Queue @qid in the next free
        page (or at @prp1): its status."""
        q = Queue(self, qid, depth, self.free_queue_pages[0], sq)
        st = self.admin(CREATE_SQ if sq else CREATE_CQ,
                        prp1=q.phys if prp1 is None else prp1,
                        cdw10=(depth - 1) << 16 | qid, cdw11=cdw11)
        if st == SC_SUCCESS:
            self.free_queue_pages.pop(0)
            (self.sqs if sq else self.cqs)[qid] = q
        return st

    def create_cq(self, qid, depth, flags=QUEUE_PHYS_CONTIG, iv=0,
                  prp1=None):
        return self.create_queue(False, qid, depth, iv << 16 | flags, prp1)

    def create_sq(self, qid, depth, cqid, flags=QUEUE_PHYS_CONTIG,
                  prp1=None):
        return self.create_queue(True, qid, depth, cqid << 16 | flags, prp1)

    def create_io_pair(self, qid, sq_depth=16, cq_depth=16):
        check_status(self.create_cq(qid, cq_depth), SC_SUCCESS,
                     f"create CQ {qid} of {cq_depth} entries")
        check_status(self.create_sq(qid, sq_depth, qid), SC_SUCCESS,
                     f"create SQ {qid} of {sq_depth} entries")

    # What the controller says about itself

    def identify(self, cns, nsid=0, cntid=0, secs=10):
        """Identify into ID_PAGE: (status, the 4 KiB of data)."""
        self.pages.fill([ID_PAGE], 0)
        st = self.admin(IDENTIFY, secs, nsid=nsid,
                        prp1=self.pages.phys[ID_PAGE],
                        cdw10=cntid << 16 | cns)
        return st, self.pages.read(ID_PAGE, 0, PAGE)

    def learn(self):
        """MDTS, namespace 1's size and block size, I/O queues, vectors."""
        st, ctrl = self.identify(1)
        check_status(st, SC_SUCCESS, "Identify Controller")
        mdts = ctrl[77]
        self.mdts = PAGE << mdts if mdts else 1 << 20
        st, ns = self.identify(0, nsid=1)
        check_status(st, SC_SUCCESS, "Identify Namespace 1")
        self.nsze, = struct.unpack_from("<Q", ns, 0)
        lbaf, = struct.unpack_from("<I", ns, 128 + 4 * (ns[26] & 0xf))
        self.lba = 1 << (lbaf >> 16 & 0xff)
        st, dw0 = self.run(0, GET_FEATURES, cdw10=7)
        check_status(st, SC_SUCCESS, "Get Features, Number of Queues")
        self.nr_io = min(dw0 & 0xffff, dw0 >> 16) + 1

    def data_phys(self, index, off=0):
        """Physical address of data page @index (0-based), plus @off."""
        return self.pages.phys[DATA_PAGES[index]] + off

    def sgl_list(self, list_index, descs, off=0):
        """Write SGL descriptors at @off in list page @list_index; their
        address."""
        page = LIST_PAGES[list_index]
        self.pages.write(page, off, b"".join(descs))
        return self.pages.phys[page] + off

    def prp_list(self, list_index, entries, off=0):
        """Write a PRP list at @off in list page @list_index; its address."""
        page = LIST_PAGES[list_index]
        self.pages.write(page, off, struct.pack(f"<{len(entries)}Q",
                                                *entries))
        return self.pages.phys[page] + off

    # Interrupts

    def msix_cap(self):
        """Offset of the MSI-X capability in configuration space, or 0."""
        cfg = os.pread(self.cfg, 256, 0)
        off = cfg[0x34] & 0xfc
        for _ in range(48):
            if not off:
                break
            if cfg[off] == 0x11:
                return off
            off = cfg[off + 1] & 0xfc
        return 0

    def msix_masked_on(self):
        """MSI-X on, every vector masked: the number of vectors, or 0."""
        cap = self.msix_cap()
        if not cap:
            return 0
        ctrl, table = struct.unpack("<HI", os.pread(self.cfg, 6, cap + 2))
        n = (ctrl & 0x7ff) + 1
        for v in range(n):
            for dword, val in enumerate((0, 0, 0, 1)):
                self.wr((table & ~7) + v * 16 + dword * 4, val)
        os.pwrite(self.cfg, struct.pack("<H", ctrl | 0x8000), cap + 2)
        return n

    def msix_off(self):
        cap = self.msix_cap()
        if cap:
            ctrl, = struct.unpack("<H", os.pread(self.cfg, 2, cap + 2))
            os.pwrite(self.cfg, struct.pack("<H", ctrl & ~0x8000), cap + 2)
