#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A raw NVMe host for the rig's guest tests.

It drives the function's PCI device from user space, without nvme.ko, so
that a test can do what a polite driver never does: leave a completion
queue full, use a tiny admin queue, write configurations the controller
does not support. The loopback controller moves data to and from physical
RAM, so the queues live in pinned pages of this process, whose physical
addresses /proc/self/pagemap gives. Interrupts stay off (INTx disabled in
the command register, MSI and MSI-X not enabled): completions are polled.

Usage: nvme-rawhost.py SCENARIO PCI_DEVICE_SYSFS_PATH
Each scenario prints what it checks and exits 0 if every check passed, 1
at the first that did not.
"""

import ctypes
import mmap
import os
import struct
import sys
import time

PAGE = 4096

# Registers
CAP, CC, CSTS, AQA, ASQ, ACQ, DBS = 0x0, 0x14, 0x1c, 0x24, 0x28, 0x30, 0x1000
CC_EN = 1
CC_IOSQES_IOCQES = 6 << 16 | 4 << 20
CSTS_RDY, CSTS_CFS = 1, 2

# Admin opcodes
DELETE_SQ, CREATE_SQ, DELETE_CQ, CREATE_CQ = 0x00, 0x01, 0x04, 0x05
SET_FEATURES, GET_FEATURES, ASYNC_EVENT = 0x09, 0x0a, 0x0c
# I/O opcodes
FLUSH = 0x00

SC_ASYNC_LIMIT = 0x105


class Fail(Exception):
    """A check did not hold."""


def check(cond, what):
    if not cond:
        raise Fail(what)
    print(f"ok: {what}")


class DmaPages:
    """Pinned pages of this process and their physical addresses."""

    def __init__(self, npages):
        map_locked = getattr(mmap, "MAP_LOCKED", 0x2000)
        map_populate = getattr(mmap, "MAP_POPULATE", 0x8000)
        self.mem = mmap.mmap(-1, npages * PAGE,
                             flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS |
                             map_locked | map_populate)
        self.mem.write(bytes(npages * PAGE))
        virt = ctypes.addressof(ctypes.c_char.from_buffer(self.mem))
        self.phys = []
        with open("/proc/self/pagemap", "rb") as pagemap:
            for i in range(npages):
                pagemap.seek((virt // PAGE + i) * 8)
                entry, = struct.unpack("<Q", pagemap.read(8))
                if not entry >> 63 or not entry & ((1 << 55) - 1):
                    raise OSError("page not present or PFN hidden")
                self.phys.append((entry & ((1 << 55) - 1)) * PAGE)


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


class Host:
    def __init__(self, dev):
        self.dev = dev
        with open(f"{dev}/enable", "w") as f:
            f.write("1")
        # Memory space and bus master on, INTx off
        self.cfg = os.open(f"{dev}/config", os.O_RDWR)
        cmd, = struct.unpack("<H", os.pread(self.cfg, 2, 4))
        os.pwrite(self.cfg, struct.pack("<H", cmd | 0x6 | 0x400), 4)
        fd = os.open(f"{dev}/resource0", os.O_RDWR | os.O_SYNC)
        self.bar = mmap.mmap(fd, 0)
        os.close(fd)
        self.pages = DmaPages(16)
        self.next_page = 0
        self.cid = 0
        self.sqs, self.cqs = {}, {}

    def rd(self, off):
        return struct.unpack_from("<I", self.bar, off)[0]

    def wr(self, off, val):
        struct.pack_into("<I", self.bar, off, val)

    def wait_csts(self, mask, val, secs=10):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            if self.rd(CSTS) & mask == val:
                return True
            time.sleep(0.001)
        return False

    def page(self):
        self.next_page += 1
        return self.next_page - 1

    def disable(self):
        self.wr(CC, 0)
        return self.wait_csts(CSTS_RDY | CSTS_CFS, 0)

    def enable(self, sq_depth=16, cq_depth=16):
        check(self.disable(), "controller disabled")
        self.next_page = 0
        self.sqs = {0: Queue(self, 0, sq_depth, self.page(), True)}
        self.cqs = {0: Queue(self, 0, cq_depth, self.page(), False)}
        self.wr(AQA, (cq_depth - 1) << 16 | (sq_depth - 1))
        for reg, q in ((ASQ, self.sqs[0]), (ACQ, self.cqs[0])):
            self.wr(reg, q.phys & 0xffffffff)
            self.wr(reg + 4, q.phys >> 32)
        self.wr(CC, CC_IOSQES_IOCQES | CC_EN)
        check(self.wait_csts(CSTS_RDY | CSTS_CFS, CSTS_RDY), "controller ready")

    def submit(self, qid, opcode, nsid=0, cdw10=0, cdw11=0, prp1=0):
        sq = self.sqs[qid]
        self.cid = (self.cid + 1) & 0xffff
        sqe = struct.pack("<BBHIQQQQIIIIII", opcode, 0, self.cid, nsid, 0, 0,
                          prp1, 0, cdw10, cdw11, 0, 0, 0, 0)
        off = sq.off + sq.index * 64
        self.pages.mem[off:off + 64] = sqe
        sq.index = (sq.index + 1) % sq.depth
        self.wr(DBS + qid * 8, sq.index)
        return self.cid

    def reap(self, qid, secs, ring=True):
        """The next completion entry of a CQ, or None after secs."""
        cq = self.cqs[qid]
        end = time.monotonic() + secs
        while True:
            off = cq.off + cq.index * 16
            dw0, _, sqhd, sqid, cid, st = struct.unpack_from(
                "<IIHHHH", self.pages.mem, off)
            if st & 1 == cq.phase:
                break
            if time.monotonic() > end:
                return None
            time.sleep(0.001)
        cq.index += 1
        if cq.index == cq.depth:
            cq.index, cq.phase = 0, cq.phase ^ 1
        if ring:
            self.ring_cq(qid)
        return {"dw0": dw0, "sqhd": sqhd, "sqid": sqid, "cid": cid,
                "status": st >> 1 & 0x7ff}

    def ring_cq(self, qid):
        self.wr(DBS + qid * 8 + 4, self.cqs[qid].index)

    def admin(self, opcode, secs=10, **kw):
        """Run an admin command: its status, or None without a completion."""
        cid = self.submit(0, opcode, **kw)
        cqe = self.reap(0, secs)
        if cqe is None:
            return None
        check(cqe["cid"] == cid, f"admin completion for command {cid}: {cqe}")
        return cqe["status"]

    def create_io_pair(self, qid, sq_depth, cq_depth):
        cq = Queue(self, qid, cq_depth, self.page(), False)
        # Physically contiguous, interrupts off
        st = self.admin(CREATE_CQ, prp1=cq.phys,
                        cdw10=(cq_depth - 1) << 16 | qid, cdw11=1)
        check(st == 0, f"create CQ {qid} of {cq_depth} entries")
        self.cqs[qid] = cq
        sq = Queue(self, qid, sq_depth, self.page(), True)
        st = self.admin(CREATE_SQ, prp1=sq.phys,
                        cdw10=(sq_depth - 1) << 16 | qid, cdw11=qid << 16 | 1)
        check(st == 0, f"create SQ {qid} of {sq_depth} entries")
        self.sqs[qid] = sq


def cc_flood(host, rounds=200):
    """Enable with an unsupported CC (MPS 8 KiB) again and again."""
    check(host.disable(), "controller disabled")
    for _ in range(rounds):
        host.wr(CC, CC_IOSQES_IOCQES | 1 << 7 | CC_EN)
        if not host.wait_csts(CSTS_CFS, CSTS_CFS):
            raise Fail("no fatal status for an unsupported CC")
        if not host.disable():
            raise Fail("fatal status not cleared by CC.EN = 0")
    check(True, f"{rounds} enables with an unsupported CC, each refused")


def small_admin_queue(host):
    """A 4-entry admin queue keeps working with 4 AERs parked on it."""
    host.enable(sq_depth=4, cq_depth=4)
    for i in range(1, 5):
        aer = host.submit(0, ASYNC_EVENT)
        st = host.admin(GET_FEATURES, secs=10, cdw10=7)
        check(st == 0, f"Get Features after {i} AERs parked")
    st = host.admin(ASYNC_EVENT, secs=10)
    check(st == SC_ASYNC_LIMIT, f"5th AER: Async Event Limit Exceeded (got {st})")
    check(aer > 0 and host.disable(), "disable with AERs parked")


def delete_sq_full_cq(host):
    """Delete an SQ whose commands wait for room in a full CQ."""
    host.enable()
    host.create_io_pair(1, sq_depth=8, cq_depth=2)
    for _ in range(4):
        host.submit(1, FLUSH, nsid=1)
    first = host.reap(1, 10, ring=False)
    check(first is not None and first["status"] == 0,
          "first flush completes, filling the 2-entry CQ")
    del_cid = host.submit(0, DELETE_SQ, cdw10=1)
    st = host.admin(GET_FEATURES, secs=10, cdw10=7)
    check(st == 0, "admin commands go on while Delete SQ waits for the CQ")
    host.ring_cq(1)
    got = 1
    while got < 4:
        cqe = host.reap(1, 10)
        if cqe is None:
            break
        got += 1
    check(got == 4, f"all 4 flushes complete once the CQ has room ({got})")
    cqe = host.reap(0, 10)
    check(cqe is not None and cqe["cid"] == del_cid and cqe["status"] == 0,
          "Delete SQ completes after its commands")
    check(host.admin(DELETE_CQ, cdw10=1) == 0, "delete CQ 1")
    check(host.disable(), "disable")


def msix_cap(host):
    """Offset of the MSI-X capability in configuration space, or 0."""
    cfg = os.pread(host.cfg, 256, 0)
    off = cfg[0x34] & 0xfc
    for _ in range(48):
        if not off:
            break
        if cfg[off] == 0x11:
            return off
        off = cfg[off + 1] & 0xfc
    return 0


def msix_pending(host):
    """A vector that fired while masked is sent once its mask is cleared.

    The mask is cleared the way a host's MSI-X code does it, by a write to
    the table in BAR 0, and nothing else tells the controller: a device
    sees the write, sends the message and clears the vector's pending bit.
    The vector's address is 0, so the message is dropped (the endpoint logs
    it); the pending bit tells whether it went.
    """
    cap = msix_cap(host)
    check(cap != 0, "the function has an MSI-X capability")
    table, pba = struct.unpack("<II", os.pread(host.cfg, 8, cap + 4))
    check(table & 7 == 0 and pba & 7 == 0, "MSI-X table and PBA in BAR 0")
    table &= ~7
    pba &= ~7
    ctrl, = struct.unpack("<H", os.pread(host.cfg, 2, cap + 2))
    for dword, val in enumerate((0, 0, 0, 1)):      # vector 0, masked
        host.wr(table + dword * 4, val)
    os.pwrite(host.cfg, struct.pack("<H", ctrl | 0x8000), cap + 2)
    try:
        host.enable()
        check(host.admin(GET_FEATURES, cdw10=7) == 0,
              "admin command completes (its CQ on vector 0)")
        end = time.monotonic() + 2
        while not host.rd(pba) & 1 and time.monotonic() < end:
            time.sleep(0.001)
        check(host.rd(pba) & 1, "vector 0 pending while masked")
        # MSI-X off and on again, as a host's driver does at a reset,
        # with the vector still masked: it keeps waiting
        os.pwrite(host.cfg, struct.pack("<H", ctrl), cap + 2)
        time.sleep(0.1)
        os.pwrite(host.cfg, struct.pack("<H", ctrl | 0x8000), cap + 2)
        time.sleep(0.1)
        check(host.rd(pba) & 1, "vector 0 still pending after MSI-X off and on")
        host.wr(table + 12, 0)
        end = time.monotonic() + 2
        while host.rd(pba) & 1 and time.monotonic() < end:
            time.sleep(0.001)
        check(not host.rd(pba) & 1,
              "vector 0 sent once its mask is cleared in the table")
        check(host.disable(), "disable")
    finally:
        os.pwrite(host.cfg, struct.pack("<H", ctrl), cap + 2)


SCENARIOS = {
    "cc-flood": cc_flood,
    "small-admin-queue": small_admin_queue,
    "delete-sq-full-cq": delete_sq_full_cq,
    "msix-pending": msix_pending,
}


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in SCENARIOS:
        print(__doc__.split("\n\n")[-1], file=sys.stderr)
        print("scenarios:", " ".join(SCENARIOS), file=sys.stderr)
        return 2
    host = Host(sys.argv[2])
    try:
        SCENARIOS[sys.argv[1]](host)
    except Fail as e:
        print(f"FAILED: {e}; CSTS {host.rd(CSTS):#x}")
        host.disable()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
