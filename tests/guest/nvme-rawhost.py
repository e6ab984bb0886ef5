#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A host that breaks the rules, for the rig's guest tests.

Each case drives the function's PCI device through nvme_raw.Host, sends
what the NVMe base specification forbids or leaves to the controller, and
checks the answer against the specification: the status of the command,
CSTS, and what lands in host memory and what does not. Where the function
answers differently on purpose, Documentation/nvme/pci-epf-nvme.rst says
so.

Usage: nvme-rawhost.py [-v] [--iommu ATTR] DEVICE [CASE...] | --list
       nvme-rawhost.py [-v] --iommu ATTR --random SEED[,SEED...]
                       [--count N] [--seconds S] DEVICE
  DEVICE  the function's PCI device in sysfs (/sys/bus/pci/devices/...)
  CASE    case names or shell patterns (default: every case)
  -v      print every check, not only the failed ones
  --iommu the loopback controller's iommu attribute: it maps the raw
          host's memory only, for the run
  --random  the random mode instead of the cases (nvme_raw_random.py):
          for each SEED, up to N actions (default 1000) in up to S seconds
          (default 60), then a normal host's I/O; one result per seed
Prints one line per case, "PASS|FAIL<TAB>CASE<TAB>why it failed"; exits 0
if every case passed, 1 if one failed, 2 on a usage error.
"""

import fnmatch
import os
import random
import struct
import sys
import time

sys.dont_write_bytecode = True
import nvme_raw  # noqa: E402
import nvme_raw_random  # noqa: E402
from nvme_raw import *  # noqa: E402,F403  pylint: disable=wildcard-import

CASES = {}


def case(name):
    def register(fn):
        CASES[name] = fn
        return fn
    return register


# Registers

@case("cc-unsupported")
def cc_unsupported(host):
    """Enabling with what CAP does not offer gets CSTS.CFS, not RDY.

    The specification leaves the result of an unsupported CC.CSS, MPS or
    AMS undefined; this controller refuses to become ready.
    """
    for what, cc in (("MPS 8 KiB", 1 << CC_MPS_SHIFT),
                     ("MPS 128 MiB", 15 << CC_MPS_SHIFT),
                     ("CSS 1 (reserved)", 1 << CC_CSS_SHIFT),
                     ("CSS 6 (I/O command sets)", 6 << CC_CSS_SHIFT),
                     ("CSS 7 (admin only)", 7 << CC_CSS_SHIFT),
                     ("AMS weighted round robin", 1 << CC_AMS_SHIFT),
                     ("AMS vendor specific", 7 << CC_AMS_SHIFT)):
        check(host.disable(), "controller disabled")
        host.setup_admin(16, 16)
        check(host.refuses(CC_IOSQES_IOCQES | cc), f"{what}: fatal status")
    check(host.disable(), "CC.EN = 0 clears the fatal status")
    host.enable()
    check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                 "a supported configuration then works")


@case("cc-flood")
def cc_flood(host, rounds=200):
    """Enable with an unsupported CC (MPS 8 KiB) again and again."""
    check(host.disable(), "controller disabled")
    for _ in range(rounds):
        host.wr(CC, CC_IOSQES_IOCQES | 1 << CC_MPS_SHIFT | CC_EN)
        if not host.wait_csts(CSTS_CFS, CSTS_CFS):
            raise Fail("no fatal status for an unsupported CC")
        if not host.disable():
            raise Fail("fatal status not cleared by CC.EN = 0")
    check(True, f"{rounds} enables with an unsupported CC, each refused")


@case("admin-queue-registers")
def admin_queue_registers(host):
    """AQA sizes of one entry and unaligned ASQ or ACQ get CSTS.CFS.

    A queue has at least two entries; ASQ and ACQ bits 11:0 are reserved,
    so an address with them set does not name a page: this controller
    refuses it rather than guess.
    """
    sq, cq = host.pages.phys[ADMIN_SQ_PAGE], host.pages.phys[ADMIN_CQ_PAGE]
    for what, aqa, asq, acq in (("1-entry admin SQ", 15 << 16, sq, cq),
                                ("1-entry admin CQ", 15, sq, cq),
                                ("ASQ bit 8 set", 15 << 16 | 15, sq | 0x100,
                                 cq),
                                ("ACQ bit 3 set", 15 << 16 | 15, sq, cq | 8)):
        check(host.disable(), "controller disabled")
        host.setup_admin(16, 16)
        host.wr(AQA, aqa)
        host.wr64(ASQ, asq)
        host.wr64(ACQ, acq)
        check(host.refuses(CC_IOSQES_IOCQES), f"{what}: fatal status")
        check(host.pages.read(ADMIN_CQ_PAGE, 0, PAGE) == bytes(PAGE),
              f"{what}: nothing written to the admin CQ")
    host.enable()
    check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                 "valid admin queues then work")


@case("read-only-registers")
def read_only_registers(host):
    """Writes to read-only and reserved registers do not stay.

    BAR 0 is memory on the endpoint: a write lands, and the controller
    puts the register back within one poll (milliseconds).
    """
    host.enable()
    want = {off: host.rd(off) for off in (CAP, CAP + 4, VS, CSTS, 0x0c,
                                          0x10, 0x20, 0x38, 0x3c, 0x40,
                                          0xe00)}
    check(want[CSTS] & CSTS_RDY, "ready")
    for off in want:
        host.wr(off, 0xffffffff)
    time.sleep(0.1)
    got = {off: host.rd(off) for off in want}
    check(got == want, "read-only registers as they were: " + ", ".join(
        f"{off:#x} {got[off]:#x}" for off in want if got[off] != want[off]))
    check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                 "the controller works on")
    check(host.disable(), "CC.EN = 0: CSTS back to 0")
    host.wr(0x3c, 0x1234)
    time.sleep(0.1)
    check(host.rd(0x3c) == 0, "CMBSZ stays 0 while disabled")


@case("doorbell-while-disabled")
def doorbell_while_disabled(host):
    """A doorbell rung while CC.EN is 0 fetches nothing, then or later."""
    check(host.disable(), "controller disabled")
    host.setup_admin(16, 16)
    host.put(0, sqe(GET_FEATURES, 0x7777, cdw10=7))
    host.ring_sq(0)
    time.sleep(0.3)
    check(host.pages.read(ADMIN_CQ_PAGE, 0, PAGE) == bytes(PAGE),
          "no completion while disabled")
    check(host.rd(CSTS) == 0, "CSTS stays 0")
    host.enable()
    check(host.quiet(0, 0.3), "enabling does not fetch the stale entry")
    check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                 "the first command after enabling is the first completed")


def reads_in_flight(host, qid, n):
    """Submit @n 4 KiB reads to data pages, without reaping them."""
    for i in range(n):
        host.put(qid, sqe(READ, host.next_cid(), nsid=1,
                          prp1=host.data_phys(i % 8), cdw10=i))
    host.ring_sq(qid)


def io_ready(host, depth=16):
    host.enable()
    host.learn()
    host.create_io_pair(1, depth, depth)


@case("reset-during-io")
def reset_during_io(host, rounds=10):
    """CC.EN = 0 with reads in flight: RDY clears, then no DMA lands.

    After a reset the controller owns no host memory: completions and data
    of the commands it dropped must not reach the host.
    """
    for r in range(rounds):
        io_ready(host)
        reads_in_flight(host, 1, 12)
        host.wr(CC, 0)
        if not host.wait_csts(CSTS_RDY | CSTS_CFS, 0):
            raise Fail(f"round {r}: CSTS.RDY still set after the reset")
        host.pages.fill(list(DATA_PAGES[:8]) + [host.cqs[1].page], 0x5a)
        time.sleep(0.2)
        for p in list(DATA_PAGES[:8]) + [host.cqs[1].page]:
            if host.pages.read(p, 0, PAGE) != bytes([0x5a]) * PAGE:
                raise Fail(f"round {r}: page {p} written after the reset")
    check(True, f"{rounds} resets with 12 reads in flight, no DMA after")
    io_ready(host)
    check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS,
                 "I/O after the resets")


@case("enable-toggle")
def enable_toggle(host, rounds=100):
    """CC.EN toggled without waiting for CSTS.RDY, again and again."""
    check(host.disable(), "controller disabled")
    host.setup_admin(16, 16)
    for _ in range(rounds):
        host.wr(CC, CC_IOSQES_IOCQES | CC_EN)
        host.wr(CC, CC_IOSQES_IOCQES)
    check(host.wait_csts(CSTS_RDY | CSTS_CFS, 0),
          f"{rounds} fast toggles end disabled")
    host.enable()
    check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                 "admin command after the toggles")


def big_reads(host, qid, n):
    """Submit @n reads of MDTS each (PRP lists naming pages again), as
    entries 0 to n - 1 of the SQ; return their command ids."""
    pages = host.mdts // PAGE
    lst = host.prp_list(0, [host.data_phys(1 + i % 7) for i in range(pages - 1)])
    cids = []
    for i in range(n):
        cids.append(host.next_cid())
        host.put(qid, sqe(READ, cids[-1], nsid=1, prp1=host.data_phys(0),
                          prp2=lst, cdw10=i * (pages // 8),
                          cdw12=host.mdts // host.lba - 1))
    host.ring_sq(qid)
    return cids


@case("shutdown")
def shutdown(host):
    """Commands in flight at CC.SHN complete before CSTS.SHST says so.

    Once the first of 8 large reads completes, the controller has fetched
    them all (it fetches a burst at a time): the other 7 are in flight when
    the host asks for the shutdown, and complete (nothing acknowledged is
    lost). Afterwards, a doorbell fetches nothing.
    """
    io_ready(host)
    big_reads(host, 1, 8)
    first = host.reap(1)
    check(first is not None and first["sqhd"] == 8,
          "all 8 reads fetched when the first completes")
    host.wr(CC, CC_IOSQES_IOCQES | CC_EN | 1 << CC_SHN_SHIFT)
    check(host.wait_csts(CSTS_SHST, SHST_COMPLETE), "CSTS.SHST complete")
    got = [first] + [host.reap(1, 0.1) for _ in range(7)]
    check(all(c is not None and sc(c["status"]) == SC_SUCCESS for c in got),
          f"all 8 completed before the shutdown was ({sum(map(bool, got))})")
    host.submit(1, FLUSH, nsid=1)
    check(host.quiet(1, 0.3), "no command fetched after the shutdown")
    check(host.disable(), "CC.EN = 0 after the shutdown: CSTS back to 0")
    io_ready(host)
    check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS,
                 "I/O after enabling again")


@case("shutdown-racing-doorbell")
def shutdown_racing_doorbell(host):
    """Reads rung just before CC.SHN: each runs to completion or not at all.

    A controller may see the shutdown before the doorbell; what it fetched
    it completes before CSTS.SHST says complete, what it did not it never
    fetches.
    """
    io_ready(host)
    reads_in_flight(host, 1, 8)
    host.wr(CC, CC_IOSQES_IOCQES | CC_EN | 1 << CC_SHN_SHIFT)
    check(host.wait_csts(CSTS_SHST, SHST_COMPLETE), "CSTS.SHST complete")
    got = []
    while True:
        cqe = host.reap(1, 0.05)
        if cqe is None:
            break
        got.append(cqe)
    fetched = got[-1]["sqhd"] if got else 0
    check(len(got) == fetched and
          all(sc(c["status"]) == SC_SUCCESS for c in got),
          f"every read fetched completed ({len(got)} of {fetched} fetched)")
    check(host.quiet(1, 0.3), "nothing completes later")
    check(host.disable(), "CC.EN = 0: CSTS back to 0")


@case("reset-during-shutdown")
def reset_during_shutdown(host):
    """CC.EN = 0 right after CC.SHN, with reads in flight."""
    io_ready(host)
    reads_in_flight(host, 1, 12)
    host.wr(CC, CC_IOSQES_IOCQES | CC_EN | 1 << CC_SHN_SHIFT)
    host.wr(CC, 0)
    check(host.wait_csts(CSTS_RDY | CSTS_CFS | CSTS_SHST, 0, 20),
          "CSTS back to 0")
    io_ready(host)
    check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS,
                 "I/O after enabling again")


# Queues

@case("create-cq")
def create_cq(host):
    """Create I/O Completion Queue with each field wrong in turn."""
    host.enable()
    host.learn()
    base = host.pages.phys[host.free_queue_pages[0]]
    for what, kw, want in (
            ("queue 0", {"qid": 0}, SC_QID_INVALID),
            ("beyond Number of Queues", {"qid": host.nr_io + 1},
             SC_QID_INVALID),
            ("queue 65535", {"qid": 0xffff}, SC_QID_INVALID),
            ("1 entry", {"depth": 1}, SC_QUEUE_SIZE),
            ("MQES + 1 entries", {"depth": min(host.mqes + 1, 0x10000)},
             SC_QUEUE_SIZE),
            ("not physically contiguous (CAP.CQR)", {"flags": 0},
             SC_INVALID_FIELD),
            ("base not page aligned", {"prp1": base + 0x100},
             SC_PRP_INVALID_OFFSET),
            ("base not dword aligned", {"prp1": base + 2},
             SC_PRP_INVALID_OFFSET),
            ("vector 1 with INTx only", {"flags": 3, "iv": 1},
             SC_INVALID_VECTOR),
            ("vector 2047 with INTx only", {"flags": 3, "iv": 0x7ff},
             SC_INVALID_VECTOR)):
        args = {"qid": 1, "depth": 16, **kw}
        check_status(host.create_cq(args.pop("qid"), args.pop("depth"),
                                    **args), want, f"CQ {what}")
    check_status(host.create_cq(1, 16, flags=1, iv=0x7ff), SC_SUCCESS,
                 "CQ with interrupts off: its vector is not checked")
    check_status(host.create_cq(1, 16), SC_QID_INVALID, "CQ 1 again")
    check_status(host.admin(DELETE_CQ, cdw10=1), SC_SUCCESS, "delete CQ 1")
    check_status(host.create_cq(1, 16, flags=3, iv=0), SC_SUCCESS,
                 "CQ on vector 0 (INTx)")
    check_status(host.admin(DELETE_CQ, cdw10=1), SC_SUCCESS, "delete CQ 1")


@case("create-cq-msix")
def create_cq_msix(host):
    """With MSI-X on, a CQ's vector must be one of its table's."""
    host.enable()
    n = host.msix_masked_on()
    if not n:
        check(True, "no MSI-X capability: nothing to check")
        return
    try:
        check_status(host.create_cq(1, 16, flags=3, iv=n), SC_INVALID_VECTOR,
                     f"CQ on vector {n} of {n}")
        check_status(host.create_cq(1, 16, flags=3, iv=n - 1), SC_SUCCESS,
                     f"CQ on vector {n - 1}")
        check_status(host.admin(DELETE_CQ, cdw10=1), SC_SUCCESS,
                     "delete CQ 1")
    finally:
        check(host.disable(), "disable")
        host.msix_off()


@case("create-sq")
def create_sq(host):
    """Create I/O Submission Queue with each field wrong in turn."""
    host.enable()
    host.learn()
    check_status(host.create_cq(1, 16), SC_SUCCESS, "create CQ 1")
    base = host.pages.phys[host.free_queue_pages[0]]
    for what, kw, want in (
            ("on CQ 0 (the admin CQ)", {"cqid": 0}, SC_CQ_INVALID),
            ("on a CQ that does not exist", {"cqid": 2}, SC_CQ_INVALID),
            ("on CQ 65535", {"cqid": 0xffff}, SC_CQ_INVALID),
            ("queue 0", {"qid": 0}, SC_QID_INVALID),
            ("beyond Number of Queues", {"qid": host.nr_io + 1},
             SC_QID_INVALID),
            ("1 entry", {"depth": 1}, SC_QUEUE_SIZE),
            ("MQES + 1 entries", {"depth": min(host.mqes + 1, 0x10000)},
             SC_QUEUE_SIZE),
            ("not physically contiguous", {"flags": 0}, SC_INVALID_FIELD),
            ("base not page aligned", {"prp1": base + 0x800},
             SC_PRP_INVALID_OFFSET)):
        args = {"qid": 1, "depth": 16, "cqid": 1, **kw}
        check_status(host.create_sq(args.pop("qid"), args.pop("depth"),
                                    args.pop("cqid"), **args), want,
                     f"SQ {what}")
    check_status(host.create_sq(1, 16, 1), SC_SUCCESS, "create SQ 1")
    check_status(host.create_sq(1, 16, 1), SC_QID_INVALID, "SQ 1 again")


@case("delete-queues")
def delete_queues(host):
    """Delete the admin queues, queues that do not exist, a CQ in use."""
    io_ready(host)
    for what, op, qid, want in (
            ("CQ 1, still used by SQ 1", DELETE_CQ, 1,
             SC_INVALID_QUEUE_DELETION),
            ("the admin SQ", DELETE_SQ, 0, SC_QID_INVALID),
            ("the admin CQ", DELETE_CQ, 0, SC_QID_INVALID),
            ("SQ 2, never created", DELETE_SQ, 2, SC_QID_INVALID),
            ("CQ 65535", DELETE_CQ, 0xffff, SC_QID_INVALID),
            ("SQ 1", DELETE_SQ, 1, SC_SUCCESS),
            ("SQ 1 again", DELETE_SQ, 1, SC_QID_INVALID),
            ("CQ 1", DELETE_CQ, 1, SC_SUCCESS),
            ("CQ 1 again", DELETE_CQ, 1, SC_QID_INVALID)):
        check_status(host.admin(op, cdw10=qid), want, f"delete {what}")
    host.free_queue_pages = list(IO_QUEUE_PAGES)
    host.create_io_pair(1)
    check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS,
                 "queue 1 created again works")


@case("number-of-queues")
def number_of_queues(host):
    """Number of Queues: 65535 is invalid, and it is set before queues."""
    host.enable()
    check_status(host.admin(SET_FEATURES, cdw10=7, cdw11=0xffff),
                 SC_INVALID_FIELD, "65535 SQs requested")
    check_status(host.admin(SET_FEATURES, cdw10=7, cdw11=0xffff << 16),
                 SC_INVALID_FIELD, "65535 CQs requested")
    st, dw0 = host.run(0, SET_FEATURES, cdw10=7, cdw11=0)
    check_status(st, SC_SUCCESS, "one queue pair requested")
    check(dw0 == 0, f"one queue pair granted ({dw0:#x})")
    check_status(host.create_cq(2, 16), SC_QID_INVALID,
                 "CQ 2 beyond the one granted")
    host.create_io_pair(1)
    check_status(host.admin(SET_FEATURES, cdw10=7, cdw11=0),
                 SC_CMD_SEQ_ERROR, "Number of Queues once queues exist")


@case("small-admin-queue")
def small_admin_queue(host):
    """A 4-entry admin queue keeps working with 4 AERs parked on it."""
    host.enable(sq_depth=4, cq_depth=4)
    for i in range(1, 5):
        host.submit(0, ASYNC_EVENT)
        check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                     f"Get Features after {i} AERs parked")
    check_status(host.admin(ASYNC_EVENT), SC_ASYNC_LIMIT,
                 "5th AER: Asynchronous Event Request Limit Exceeded")
    check(host.disable(), "disable with AERs parked")


@case("two-entry-queues")
def two_entry_queues(host):
    """Queues of two entries, the smallest, wrap again and again."""
    host.enable(sq_depth=2, cq_depth=2)
    host.learn()
    host.create_io_pair(1, 2, 2)
    for i in range(12):
        st = host.run(1, FLUSH, nsid=1)[0]
        if st != SC_SUCCESS:
            raise Fail(f"flush {i} on 2-entry queues: {st}")
        st = host.admin(GET_FEATURES, cdw10=7)
        if st != SC_SUCCESS:
            raise Fail(f"Get Features {i} on a 2-entry admin queue: {st}")
    check(True, "12 flushes and 12 admin commands through 2-entry queues")
    check(host.admin(ASYNC_EVENT, secs=0.3) is None,
          "an AER parks on the 2-entry admin queue")
    check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                 "admin commands go on past it")


@case("delete-sq-full-cq")
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
    check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                 "admin commands go on while Delete SQ waits for the CQ")
    host.ring_cq(1)
    got = 1
    while got < 4:
        if host.reap(1, 10) is None:
            break
        got += 1
    check(got == 4, f"all 4 flushes complete once the CQ has room ({got})")
    cqe = host.reap(0, 10)
    check(cqe is not None and cqe["cid"] == del_cid and cqe["status"] == 0,
          "Delete SQ completes after its commands")
    check_status(host.admin(DELETE_CQ, cdw10=1), SC_SUCCESS, "delete CQ 1")
    check(host.disable(), "disable")


# Doorbells

@case("sq-doorbell-invalid")
def sq_doorbell_invalid(host):
    """SQ tails at and beyond the queue's size are ignored."""
    io_ready(host, 8)
    host.put(1, sqe(FLUSH, 0x4242, nsid=1))
    for tail in (8, 9, 0xffff):
        host.ring_sq(1, tail)
        check(host.quiet(1) and host.healthy(),
              f"SQ tail {tail} of 8 fetches nothing")
    host.ring_sq(1)
    cqe = host.reap(1)
    check(cqe is not None and cqe["cid"] == 0x4242 and cqe["status"] == 0,
          "a valid tail then fetches the command")


@case("sq-doorbell-backwards")
def sq_doorbell_backwards(host):
    """A tail moved backwards wraps: the stale entries run, nothing worse.

    A tail behind the head cannot be told from one that wrapped: the
    controller fetches the entries in between, here 5 zeroed entries
    (Flush of namespace 0: Invalid Namespace) and one old Flush.
    """
    io_ready(host, 8)
    for _ in range(3):
        check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS, "flush")
    host.ring_sq(1, 1)
    got = [host.reap(1, 5) for _ in range(6)]
    check(all(got), f"6 entries fetched ({sum(map(bool, got))})")
    statuses = sorted(sc(c["status"]) for c in got)
    check(statuses == [SC_SUCCESS] + [SC_INVALID_NS] * 5,
          f"1 flush succeeded, 5 zeroed entries failed ({statuses})")
    check(got[-1]["sqhd"] == 1, "SQ head at the new tail")
    check(host.quiet(1) and host.healthy(), "nothing more")
    host.sqs[1].index = 1
    check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS, "I/O goes on")


@case("doorbell-no-queue")
def doorbell_no_queue(host):
    """Doorbells of queues that do not exist are ignored, then and later,
    and reported: Error status, Write to Invalid Doorbell Register, to a
    parked AER."""
    io_ready(host)
    cid = aer_parked(host)
    for qid in range(2, host.nr_io + 2):
        if host.cq_db(qid) + 4 > len(host.bar):
            break
        host.wr(host.sq_db(qid), 3)
        host.wr(host.cq_db(qid), 3)
    cqe = host.reap(0, 5)
    check(cqe is not None and cqe["cid"] == cid and cqe["status"] == 0 and
          cqe["dw0"] == AER_DB_REGISTER,
          f"the AER completes with Write to Invalid Doorbell Register ({cqe})")
    check(host.quiet(0) and host.quiet(1) and host.healthy(),
          f"doorbells of queues 2 to {host.nr_io + 1} ignored")
    check_status(get_log(host, 1, 0, 16), SC_SUCCESS,
                 "Error Information log read")
    if host.nr_io >= 2:
        host.create_io_pair(2)
        check(host.quiet(2), "queue 2 created later starts empty")
        check_status(host.run(2, FLUSH, nsid=1)[0], SC_SUCCESS,
                     "queue 2 works")


@case("cq-doorbell-invalid")
def cq_doorbell_invalid(host):
    """CQ heads at and beyond the queue's size are ignored."""
    io_ready(host, 4)
    for head in (4, 5, 0xffff):
        host.wr(host.cq_db(1), head)
    for i in range(6):
        if host.run(1, FLUSH, nsid=1)[0] != SC_SUCCESS:
            raise Fail(f"flush {i} after invalid CQ heads")
    check(host.healthy(), "6 flushes complete through a 4-entry CQ")


@case("cq-doorbell-ahead")
def cq_doorbell_ahead(host):
    """A CQ head ahead of what was posted, then a reset: no hang.

    The host claims entries it was never given; the controller may write
    over them (they are the host's), and must still reset.
    """
    io_ready(host, 4)
    host.submit(1, FLUSH, nsid=1)
    check(host.reap(1, ring=False) is not None, "one flush completes")
    host.wr(host.cq_db(1), 3)
    for _ in range(3):
        host.submit(1, FLUSH, nsid=1)
    time.sleep(0.3)
    check(host.healthy(), "controller still ready")
    check(host.disable(), "reset with the CQ head ahead")
    io_ready(host)
    check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS, "I/O after")


# Commands

def invalid_opcodes(host, qid, valid):
    """Every opcode but @valid on queue @qid: Invalid Command Opcode."""
    bad = []
    for op in range(256):
        if op in valid:
            continue
        st = host.run(qid, op, secs=5, nsid=1)[0]
        if st is None or sc(st) != SC_INVALID_OPCODE or not dnr(st):
            bad.append((op, st))
    check(not bad, f"{256 - len(valid)} opcodes: Invalid Command Opcode "
          f"({bad[:4]})")


@case("admin-opcodes")
def admin_opcodes(host):
    """Every opcode this controller does not execute on the admin queue.

    Among them the I/O command set's (Flush, Write, Read as 0x00 to 0x02
    are Delete SQ, Create SQ, Get Log Page here; Compare 0x05 is Create
    CQ), fabrics (0x7f) and vendor specific ones.
    """
    host.enable()
    invalid_opcodes(host, 0, ADMIN_OPCODES)


@case("io-opcodes")
def io_opcodes(host):
    """Every opcode this controller does not execute on an I/O queue.

    Among them the admin ones (Identify 0x06, Get Features 0x0a ...),
    reservations, Copy, fabrics and vendor specific ones.
    """
    io_ready(host)
    invalid_opcodes(host, 1, IO_OPCODES)


@case("fused-and-psdt")
def fused_and_psdt(host):
    """Fused operations, which Identify does not announce; SGLs for admin
    commands (PCIe: PRPs only) and for metadata (none here)."""
    io_ready(host)
    for what, flags, io in (("fused, first", FUSE_FIRST, True),
                            ("fused, second", FUSE_SECOND, True),
                            ("fused, reserved 11b", 3, True),
                            ("PSDT 01b (SGL)", 1 << PSDT_SHIFT, False),
                            ("PSDT 10b (SGL, MPTR to a segment)",
                             2 << PSDT_SHIFT, True),
                            ("PSDT 11b (reserved)", 3 << PSDT_SHIFT, True)):
        check_status(host.admin(GET_FEATURES, cdw10=7, flags=flags),
                     SC_INVALID_FIELD, f"admin, {what}")
        if io:
            check_status(host.run(1, READ, nsid=1, flags=flags,
                                  prp1=host.data_phys(0))[0],
                         SC_INVALID_FIELD, f"read, {what}")


def sgl_read(host, desc, nbytes=PAGE, op=READ):
    """Read (or write) @nbytes from LBA 0 with the SGL descriptor @desc in
    the command: its status."""
    addr, word = struct.unpack("<QQ", desc)
    return host.run(1, op, nsid=1, flags=1 << PSDT_SHIFT, prp1=addr,
                    prp2=word, cdw12=nbytes // host.lba - 1)[0]


@case("sgls")
def sgls(host):
    """SGLs: data blocks, segments, last segments, and every way to get
    them wrong.

    Identify says SGLs without alignment, bit buckets, no SGL longer than
    the data.
    """
    io_ready(host)
    st, ctrl = host.identify(1)
    sgls_field = struct.unpack_from("<I", ctrl, 536)[0]
    check(sgls_field & 3 == 1 and sgls_field & 1 << 16 and
          not sgls_field & 1 << 18,
          "Identify SGLS: supported, no alignment, bit buckets")
    pattern = fill_blocks(host, 0, PAGE, 3)
    d = [host.data_phys(i) for i in range(8)]
    lp = [host.pages.phys[LIST_PAGES[i]] for i in range(4)]
    k = 1024

    data_clean(host, range(8))
    check_status(sgl_read(host, sgl_desc(d[0], PAGE)), SC_SUCCESS,
                 "one data block in the command")
    check(host.pages.read(DATA_PAGES[0], 0, PAGE) == pattern,
          "the data is what was written")

    data_clean(host, range(8))
    last = host.sgl_list(0, [sgl_desc(d[1] + 100, k), sgl_desc(d[3], k),
                             sgl_desc(d[5] + 3000, k), sgl_desc(d[7], k)])
    check_status(sgl_read(host, sgl_desc(last, 64, SGL_LAST_SEG)),
                 SC_SUCCESS, "four 1 KiB blocks in a last segment")
    got = host.pages.read(DATA_PAGES[1], 100, k) + \
        host.pages.read(DATA_PAGES[3], 0, k) + \
        host.pages.read(DATA_PAGES[5], 3000, k) + \
        host.pages.read(DATA_PAGES[7], 0, k)
    check(got == pattern and written(host, 0) == [] and
          written(host, 2) == [], "the data where the blocks say, only")

    data_clean(host, range(8))
    host.sgl_list(1, [sgl_desc(d[2], k), sgl_desc(d[4], 3 * k)])
    seg = host.sgl_list(0, [sgl_desc(d[6], 0), sgl_desc(d[0], 0),
                            sgl_desc(lp[1], 32, SGL_LAST_SEG)])
    check_status(sgl_read(host, sgl_desc(seg, 48, SGL_SEG)), SC_SUCCESS,
                 "a segment (with empty blocks) chained to a last segment")
    check(host.pages.read(DATA_PAGES[2], 0, k) +
          host.pages.read(DATA_PAGES[4], 0, 3 * k) == pattern,
          "the data is what was written")

    for what, desc, want in (
            ("a block 1 KiB short", sgl_desc(d[0], 3 * k),
             SC_SGL_INVALID_DATA),
            ("a block 1 KiB long", sgl_desc(d[0], 5 * k),
             SC_SGL_INVALID_DATA),
            ("a bit bucket 1 KiB long", sgl_desc(0, 5 * k, SGL_BIT_BUCKET),
             SC_SGL_INVALID_DATA),
            ("a keyed data block", sgl_desc(d[0], PAGE, SGL_KEYED),
             SC_SGL_INVALID_TYPE),
            ("subtype offset", sgl_desc(d[0], PAGE, SGL_DATA | 1),
             SC_SGL_INVALID_TYPE),
            ("type 0xf", sgl_desc(d[0], PAGE, 0xf0), SC_SGL_INVALID_TYPE),
            ("a segment of 0 bytes", sgl_desc(lp[0], 0, SGL_LAST_SEG),
             SC_SGL_INVALID_LAST),
            ("a segment of 24 bytes", sgl_desc(lp[0], 24, SGL_LAST_SEG),
             SC_SGL_INVALID_LAST),
            ("a segment not in RAM", sgl_desc(1 << 50, 16, SGL_LAST_SEG),
             SC_DATA_XFER_ERROR)):
        data_clean(host, range(8))
        check_status(sgl_read(host, desc), want, what)

    loop = host.sgl_list(2, [sgl_desc(d[0], 16), sgl_desc(lp[2], 32,
                                                           SGL_SEG)])
    check_status(sgl_read(host, sgl_desc(loop, 32, SGL_SEG)),
                 SC_SGL_INVALID_COUNT, "a segment chained to itself: "
                 "the walk stops")
    bad = host.sgl_list(3, [sgl_desc(d[0], k), sgl_desc(lp[1], 32, SGL_SEG),
                            sgl_desc(d[1], 3 * k)])
    check_status(sgl_read(host, sgl_desc(bad, 48, SGL_LAST_SEG)),
                 SC_SGL_INVALID_LAST, "a segment pointer in a last segment")
    bad = host.sgl_list(3, [sgl_desc(lp[1], 32, SGL_SEG), sgl_desc(d[1], PAGE)])
    check_status(sgl_read(host, sgl_desc(bad, 32, SGL_SEG)),
                 SC_SGL_INVALID_LAST, "a segment pointer before the end")
    bad = host.sgl_list(3, [sgl_desc(d[1], PAGE)])
    check_status(sgl_read(host, sgl_desc(bad, 16, SGL_SEG)),
                 SC_SGL_INVALID_LAST, "a segment that ends without a pointer")
    check(all(not written(host, i) for i in range(8)),
          "nothing written by the refused commands")
    sgl_bit_buckets(host, d)


def sgl_bit_buckets(host, d):
    """Bit buckets: in a read, the bytes they cover are not sent; in a
    write they describe nothing (their length does not count)."""
    k = 1024
    pattern = random.Random(7).randbytes(PAGE)
    host.pages.write(DATA_PAGES[8], 0, pattern)
    d8 = host.data_phys(8)
    desc = host.sgl_list(0, [sgl_desc(0, k, SGL_BIT_BUCKET),
                             sgl_desc(d8, PAGE),
                             sgl_desc(0, 512, SGL_BIT_BUCKET)])
    check_status(sgl_read(host, sgl_desc(desc, 48, SGL_LAST_SEG), op=WRITE),
                 SC_SUCCESS, "a write with bit buckets around its data")
    data_clean(host, range(8))
    check_status(read_blocks(host, 0, PAGE // host.lba), SC_SUCCESS,
                 "read back with a PRP")
    check(host.pages.read(DATA_PAGES[0], 0, PAGE) == pattern,
          "the write's bit buckets described nothing")

    data_clean(host, range(8))
    desc = host.sgl_list(0, [sgl_desc(d[1], k),
                             sgl_desc(0, k, SGL_BIT_BUCKET),
                             sgl_desc(0, k, SGL_BIT_BUCKET),
                             sgl_desc(d[3] + 512, k)])
    check_status(sgl_read(host, sgl_desc(desc, 64, SGL_LAST_SEG)),
                 SC_SUCCESS, "a read with 2 KiB in bit buckets")
    check(host.pages.read(DATA_PAGES[1], 0, k) == pattern[:k] and
          host.pages.read(DATA_PAGES[3], 512, k) == pattern[3 * k:],
          "the blocks hold the first and the last KiB")
    check(written(host, 1) == [(0, k)] and
          written(host, 3) == [(512, 512 + k)] and
          all(not written(host, i) for i in (0, 2, 4, 5, 6, 7)),
          "the 2 KiB in the bit buckets were not sent anywhere")

    data_clean(host, range(8))
    check_status(sgl_read(host, sgl_desc(0, PAGE, SGL_BIT_BUCKET)),
                 SC_SUCCESS, "a read into one bit bucket")
    check(all(not written(host, i) for i in range(8)),
          "nothing written")


@case("namespace-ids")
def namespace_ids(host):
    """I/O to namespaces that do not exist, and to the broadcast NSID."""
    io_ready(host)
    for nsid in (0, 2, 0xfffffffe, 0xffffffff):
        check_status(host.run(1, READ, nsid=nsid,
                              prp1=host.data_phys(0))[0],
                     SC_INVALID_NS, f"read, NSID {nsid:#x}")
    for nsid in (0, 0xffffffff):
        check_status(host.run(1, FLUSH, nsid=nsid)[0], SC_INVALID_NS,
                     f"flush, NSID {nsid:#x} (VWC: no broadcast flush)")


def read_blocks(host, slba, nblocks, prp1=None, prp2=0, qid=1, op=READ):
    return host.run(qid, op, nsid=1, prp1=host.data_phys(0)
                    if prp1 is None else prp1, prp2=prp2,
                    cdw10=slba & 0xffffffff, cdw11=slba >> 32,
                    cdw12=nblocks - 1)[0]


@case("lba-range")
def lba_range(host):
    """Reads that end at, cross and start past the namespace's end."""
    io_ready(host)
    n = host.nsze
    check_status(read_blocks(host, n - 1, 1), SC_SUCCESS, "last block")
    for what, slba, nlb in (("at the end", n, 1),
                            ("across the end", n - 1, 2),
                            ("SLBA 2^64 - 1", (1 << 64) - 1, 1),
                            ("SLBA + NLB wraps 2^64", (1 << 64) - 1, 2)):
        check_status(read_blocks(host, slba, nlb), SC_LBA_RANGE, what)


@case("transfer-size")
def transfer_size(host):
    """A transfer of MDTS is executed, one block more is refused.

    The PRP list names the same data page again and again: the data may
    land in it any number of times.
    """
    io_ready(host)
    pages = host.mdts // PAGE
    entries = [host.data_phys(1)] * (pages - 1)
    lst = host.prp_list(0, entries)
    check_status(read_blocks(host, 0, host.mdts // host.lba, prp2=lst),
                 SC_SUCCESS, f"read of MDTS ({host.mdts} bytes)")
    check_status(read_blocks(host, 0, host.mdts // host.lba + 1, prp2=lst),
                 SC_INVALID_FIELD, "one block more than MDTS")
    check_status(read_blocks(host, 0, 0x10000, prp2=lst), SC_INVALID_FIELD,
                 "65536 blocks")


IDENTIFY_MANDATORY = {0x00, 0x01, 0x02, 0x03}


@case("identify-cns")
def identify_cns(host):
    """Identify with every CNS: the mandatory ones succeed, reserved fail.

    CNS values above 1Fh are reserved; values in between that the target
    does not support fail with Invalid Field in Command too.
    """
    host.enable()
    bad, ok = [], 0
    for cns in range(256):
        st, _ = host.identify(cns, nsid=1)
        if st is None:
            raise Fail(f"CNS {cns:#x}: no completion in 10 s")
        if cns in IDENTIFY_MANDATORY and st != SC_SUCCESS:
            bad.append((cns, hex(st)))
        elif cns >= 0x20 and (sc(st) != SC_INVALID_FIELD or not dnr(st)):
            bad.append((cns, hex(st)))
        elif sc(st) not in (SC_SUCCESS, SC_INVALID_FIELD,
                            SC_INVALID_NS):
            bad.append((cns, hex(st)))
        else:
            ok += st == SC_SUCCESS
    check(not bad, f"256 CNS values answered, {ok} with data ({bad[:4]})")
    st, _ = host.identify(1, nsid=0)
    check_status(st, SC_SUCCESS, "Identify Controller")
    host.pages.fill([ID_PAGE], 0)
    check_status(host.admin(IDENTIFY, prp1=1 << 50, cdw10=1),
                 SC_DATA_XFER_ERROR, "Identify into memory that is not RAM")


def get_log(host, lid, offset, ndwords, nsid=0, rae=False):
    return host.admin(GET_LOG_PAGE, nsid=nsid, prp1=host.data_phys(0),
                      prp2=host.data_phys(1),
                      cdw10=(ndwords - 1 & 0xffff) << 16 | rae << 15 | lid,
                      cdw11=(ndwords - 1) >> 16,
                      cdw12=offset & 0xffffffff, cdw13=offset >> 32)


@case("log-pages")
def log_pages(host):
    """Get Log Page with offsets and lengths at and beyond the log's end."""
    host.enable()
    host.learn()
    check_status(get_log(host, 5, 0, 1024), SC_SUCCESS,
                 "Commands Supported and Effects, whole")
    acs_identify, = struct.unpack_from("<I", host.pages.read(
        DATA_PAGES[0], 4 * IDENTIFY, 4))
    check(acs_identify & 1, "it lists Identify as supported")
    for what, offset, ndw, want in (
            ("last dword", 4092, 1, SC_SUCCESS),
            ("offset at the end", 4096, 1, SC_INVALID_FIELD),
            ("offset not dword aligned", 2, 1, SC_INVALID_FIELD),
            ("length past the end", 4, 1024, SC_INVALID_FIELD),
            ("offset 2^64 - 4", (1 << 64) - 4, 1, SC_INVALID_FIELD)):
        check_status(get_log(host, 5, offset, ndw), want,
                     f"effects log, {what}")
    check_status(get_log(host, 5, 0, host.mdts // 4 + 1), SC_INVALID_FIELD,
                 "a length beyond MDTS")
    check_status(get_log(host, 4, 0, 1024), SC_SUCCESS,
                 "Changed Namespace List, whole")
    check(host.pages.read(DATA_PAGES[0], 0, PAGE) == bytes(PAGE),
          "no namespace changed since the controller was enabled")
    for what, offset, ndw in (("offset at the end", 4096, 1),
                              ("length past the end", 8, 1024)):
        check_status(get_log(host, 4, offset, ndw), SC_INVALID_FIELD,
                     f"Changed Namespace List, {what}")
    # The SMART log of the whole controller: NSID FFFFFFFFh
    for lid, nsid in ((1, 0), (2, 0xffffffff), (3, 0)):
        check_status(get_log(host, lid, 0, 128, nsid), SC_SUCCESS,
                     f"log page {lid}")
    for lid in (0x7f, 0xbf):
        check_status(get_log(host, lid, 0, 128), SC_INVALID_FIELD,
                     f"log page {lid:#x}, not supported")


LOCAL_FIDS = {0x01, 0x02, 0x04, 0x05, 0x07, 0x08, 0x09, 0x0a, 0x0b}
FORWARDED_FIDS = {0x06}


@case("features")
def features(host):
    """Get and Set Features with every FID, and the save bit."""
    host.enable()
    bad = []
    for fid in range(256):
        st = host.admin(GET_FEATURES, secs=5, cdw10=fid)
        want = SC_SUCCESS if fid in LOCAL_FIDS | FORWARDED_FIDS else \
            SC_INVALID_FIELD
        if st is None or sc(st) != want:
            bad.append((fid, st))
    check(not bad, f"Get Features, 256 FIDs ({bad[:4]})")
    bad = []
    for fid in range(256):
        if fid in LOCAL_FIDS | FORWARDED_FIDS:
            continue
        st = host.admin(SET_FEATURES, secs=5, cdw10=fid)
        if st is None or sc(st) != SC_INVALID_FIELD:
            bad.append((fid, st))
    check(not bad, f"Set Features, unsupported FIDs ({bad[:4]})")
    for fid in sorted(LOCAL_FIDS | FORWARDED_FIDS):
        check_status(host.admin(SET_FEATURES, cdw10=1 << 31 | fid),
                     SC_FEATURE_NOT_SAVEABLE, f"Set Features {fid:#x}, save")
    for sel in range(4, 8):
        check_status(host.admin(GET_FEATURES, cdw10=sel << 8 | 1),
                     SC_INVALID_FIELD, f"Get Features, reserved SEL {sel}")
    st, dw0 = host.run(0, GET_FEATURES, cdw10=3 << 8 | 1)
    check(st == SC_SUCCESS and dw0 == 4,
          f"Arbitration: supported capabilities, changeable ({dw0:#x})")
    check_status(host.admin(SET_FEATURES, cdw10=2, cdw11=1),
                 SC_INVALID_FIELD, "Power Management: power state 1")
    check_status(host.admin(SET_FEATURES, cdw10=9, cdw11=1),
                 SC_INVALID_FIELD, "Interrupt Vector Configuration: vector 1")
    # Temperature Threshold (mandatory): the composite sensor's two
    # thresholds; no other sensor, THSEL 2 and 3 reserved
    for thsel, val in ((0, 0x150), (1, 0x110)):
        check_status(host.admin(SET_FEATURES, cdw10=4,
                                cdw11=thsel << 20 | val), SC_SUCCESS,
                     f"Temperature Threshold THSEL {thsel}: set {val:#x}")
        st, dw0 = host.run(0, GET_FEATURES, cdw10=4, cdw11=thsel << 20)
        check(st == SC_SUCCESS and dw0 == val,
              f"Temperature Threshold THSEL {thsel} reads back ({dw0:#x})")
    for what, dw11 in (("sensor 1", 1 << 16), ("THSEL 2", 2 << 20)):
        check_status(host.admin(SET_FEATURES, cdw10=4, cdw11=dw11),
                     SC_INVALID_FIELD, f"Temperature Threshold, {what}")


@case("reserved-fields")
def reserved_fields(host):
    """Reserved fields set: ignored, as the specification allows."""
    io_ready(host)
    check_status(host.admin(GET_FEATURES, cdw10=7, cdw2=~0 & 0xffffffff,
                            cdw3=1, mptr=8, cdw12=1, cdw13=1, cdw14=1,
                            cdw15=1),
                 SC_SUCCESS, "Get Features, reserved dwords set")
    check_status(host.run(1, FLUSH, nsid=1, cdw2=5, cdw10=1, cdw15=7)[0],
                 SC_SUCCESS, "flush, reserved dwords set")


@case("abort-keep-alive")
def abort_keep_alive(host):
    """Abort of a command that does not exist; Keep Alive."""
    host.enable()
    st, dw0 = host.run(0, ABORT, cdw10=0x1234 << 16 | 1)
    check(st == SC_SUCCESS and dw0 & 1, "Abort: not aborted (dw0 bit 0)")
    check_status(host.admin(KEEP_ALIVE), SC_SUCCESS, "Keep Alive")


# Data pointers

SENTINEL = 0xa5


def data_clean(host, pages):
    host.pages.fill([DATA_PAGES[i] for i in pages], SENTINEL)


def written(host, index):
    """Byte ranges of data page @index that no longer hold the sentinel."""
    data = host.pages.read(DATA_PAGES[index], 0, PAGE)
    ranges, start = [], None
    for off in range(0, PAGE, 64):
        changed = data[off:off + 64] != bytes([SENTINEL]) * 64
        if changed and start is None:
            start = off
        if not changed and start is not None:
            ranges.append((start, off))
            start = None
    if start is not None:
        ranges.append((start, PAGE))
    return ranges


def fill_blocks(host, slba, nbytes, seed):
    """Write a known pattern to the namespace, from data pages 8 on."""
    pattern = bytes((seed + i * 7) & 0xff for i in range(256)) * (nbytes // 256)
    for i in range(nbytes // PAGE):
        host.pages.write(DATA_PAGES[8 + i], 0, pattern[i * PAGE:(i + 1) * PAGE])
    lst = host.prp_list(1, [host.data_phys(8 + i)
                            for i in range(1, nbytes // PAGE)])
    st = read_blocks(host, slba, nbytes // host.lba, prp1=host.data_phys(8),
                     prp2=lst if nbytes > 2 * PAGE else host.data_phys(9),
                     op=WRITE)
    check_status(st, SC_SUCCESS, f"write {nbytes} bytes of pattern")
    return pattern


@case("prp-offsets")
def prp_offsets(host):
    """PRP entries with offsets: allowed in PRP1 only, dword aligned."""
    io_ready(host)
    pattern = fill_blocks(host, 0, 2 * PAGE, 1)
    blocks = PAGE // host.lba
    for what, prp1, want in (("PRP1 offset 2", host.data_phys(0, 2),
                              SC_PRP_INVALID_OFFSET),
                             ("PRP1 offset 1", host.data_phys(0, 1),
                              SC_PRP_INVALID_OFFSET)):
        data_clean(host, range(8))
        check_status(read_blocks(host, 0, blocks, prp1=prp1), want, what)
        check(all(not written(host, i) for i in range(8)),
              f"{what}: nothing written")
    data_clean(host, range(8))
    check_status(read_blocks(host, 0, blocks, prp1=host.data_phys(0, 0x804),
                             prp2=host.data_phys(3)),
                 SC_SUCCESS, "4 KiB at PRP1 offset 0x804, PRP2 a page")
    check(written(host, 0) == [(0x800, PAGE)] and
          written(host, 3) == [(0, 0x840)] and
          all(not written(host, i) for i in (1, 2, 4, 5, 6, 7)),
          "the data landed at 0x804 and in PRP2's page only")
    got = host.pages.read(DATA_PAGES[0], 0x804, PAGE - 0x804) + \
        host.pages.read(DATA_PAGES[3], 0, 0x804)
    check(got == pattern[:PAGE], "the data is what was written")
    data_clean(host, range(8))
    check_status(read_blocks(host, 0, blocks, prp1=host.data_phys(0, 0x800),
                             prp2=host.data_phys(3, 0x10)),
                 SC_PRP_INVALID_OFFSET, "PRP2 with an offset")
    check(all(not written(host, i) for i in range(8)), "nothing written")


@case("prp-lists")
def prp_lists(host):
    """PRP lists: offsets in entries, list pointers, chained list pages."""
    io_ready(host)
    pattern = fill_blocks(host, 0, 4 * PAGE, 2)
    blocks = 4 * PAGE // host.lba
    d = [host.data_phys(i) for i in range(8)]

    data_clean(host, range(8))
    lst = host.prp_list(0, [d[2], d[5], d[7]], off=8)
    check_status(read_blocks(host, 0, blocks, prp1=d[0], prp2=lst),
                 SC_SUCCESS, "16 KiB, list at a qword offset")
    check([bool(written(host, i)) for i in range(8)] ==
          [True, False, True, False, False, True, False, True],
          "data in the 4 pages named only")
    got = b"".join(host.pages.read(DATA_PAGES[i], 0, PAGE)
                   for i in (0, 2, 5, 7))
    check(got == pattern, "the data is what was written")

    for what, entries, off, want in (
            ("an entry with an offset", [d[2], d[5] + 0x200, d[7]], 0,
             SC_PRP_INVALID_OFFSET),
            ("a list pointer not qword aligned", [d[2], d[5], d[7]], 4,
             SC_PRP_INVALID_OFFSET),
            ("an entry that is not RAM", [d[2], 1 << 50, d[7]], 0,
             SC_DATA_XFER_ERROR)):
        data_clean(host, range(8))
        lst = host.prp_list(0, entries, off=off)
        check_status(read_blocks(host, 0, blocks, prp1=d[0], prp2=lst),
                     want, f"16 KiB, {what}")
        if want == SC_PRP_INVALID_OFFSET:
            check(all(not written(host, i) for i in range(8)),
                  "nothing written")
    check_status(read_blocks(host, 0, blocks, prp1=d[0], prp2=1 << 50),
                 SC_DATA_XFER_ERROR, "16 KiB, the list is not RAM")

    # Two entries at the end of list page 1, the second chaining to list
    # page 1 itself, where the last two entries are
    data_clean(host, range(8))
    host.prp_list(1, [d[6], d[4]])
    chain = host.prp_list(1, [d[1], host.pages.phys[LIST_PAGES[1]]],
                          off=PAGE - 16)
    check_status(read_blocks(host, 0, blocks, prp1=d[0], prp2=chain),
                 SC_SUCCESS, "a list chained back to its own page")
    check([bool(written(host, i)) for i in range(8)] ==
          [True, True, False, False, True, False, True, False],
          "data in the 4 pages named only")
    chain = host.prp_list(1, [d[1], host.pages.phys[LIST_PAGES[2]] + 8],
                          off=PAGE - 16)
    check_status(read_blocks(host, 0, blocks, prp1=d[0], prp2=chain),
                 SC_PRP_INVALID_OFFSET, "a chain pointer with an offset")


@case("not-ram")
def not_ram(host):
    """Data the host cannot give: Data Transfer Error, no harm.

    Addresses that are not RAM, and, with the IOMMU on, RAM it does not
    map: both fail at the root complex on a real host.
    """
    io_ready(host)
    blocks = PAGE // host.lba
    for op, what in ((READ, "read"), (WRITE, "write")):
        check_status(read_blocks(host, 0, blocks, prp1=1 << 50, op=op),
                     SC_DATA_XFER_ERROR, f"{what} at 2^50")
        check_status(read_blocks(host, 0, 2 * blocks, prp1=host.data_phys(0),
                                 prp2=(1 << 52) - PAGE, op=op),
                     SC_DATA_XFER_ERROR, f"{what}, second page at 2^52 - 4K")
    if host.iommu:
        check_status(read_blocks(host, 0, blocks, prp1=host.unmapped.phys[0],
                                 op=WRITE),
                     SC_DATA_XFER_ERROR, "write from RAM the IOMMU does not "
                     "map")
    check(host.healthy(), "controller still ready")
    check_status(read_blocks(host, 0, blocks), SC_SUCCESS, "a good read")


# Asynchronous events

@case("aer-across-reset")
def aer_across_reset(host):
    """AERs outstanding at a reset are gone: nothing completes them later."""
    host.enable()
    for _ in range(4):
        host.submit(0, ASYNC_EVENT)
    check(host.quiet(0), "4 AERs parked")
    check(host.disable(), "reset")
    host.enable()
    check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
                 "the first completion after the reset is a new command's")
    check(host.quiet(0, 0.5), "no AER completes after the reset")


AER_DB_VALUE = 0x010100     # Error, Invalid Doorbell Write Value, log 01h
AER_DB_REGISTER = 0x010000  # Error, Write to Invalid Doorbell Register


def aer_parked(host):
    """Submit an AER; it must not complete by itself: its command id."""
    cid = host.submit(0, ASYNC_EVENT)
    check(host.quiet(0), "AER parked")
    return cid


def aer_completes(host, cid, what):
    cqe = host.reap(0, 5)
    check(cqe is not None and cqe["cid"] == cid and cqe["status"] == 0 and
          cqe["dw0"] == AER_DB_VALUE,
          f"{what}: the AER completes with Invalid Doorbell Write Value "
          f"({cqe})")


def bad_cq_head(host, head):
    """CQ 1's head doorbell at @head, seen when the next entry is posted."""
    host.wr(host.cq_db(1), head)
    check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS,
                 f"a flush posted with CQ 1's head at {head}")


@case("aer-invalid-doorbell")
def aer_invalid_doorbell(host):
    """An invalid doorbell value is reported once, until the log is read.

    Error status, Invalid Doorbell Write Value, Error Information log: to a
    parked AER, or to the next AER if none is parked; not again until the
    host reads the log (without Retain Asynchronous Event).
    """
    io_ready(host, 8)
    cid = aer_parked(host)
    host.wr(host.sq_db(1), 9)
    aer_completes(host, cid, "SQ 1 tail 9 of 8")
    host.ring_sq(1)
    check_status(host.run(1, FLUSH, nsid=1)[0], SC_SUCCESS,
                 "a valid tail: I/O goes on")
    cid = aer_parked(host)
    bad_cq_head(host, 100)
    check(host.quiet(0, 0.3), "a second invalid value: masked, AER parked")
    check_status(get_log(host, 1, 0, 16), SC_SUCCESS,
                 "Error Information log read")
    bad_cq_head(host, 100)
    aer_completes(host, cid, "CQ 1 head 100 after the log was read")
    check_status(get_log(host, 1, 0, 16, rae=True), SC_SUCCESS,
                 "Error Information log read, Retain Asynchronous Event")
    host.wr(host.sq_db(1), 0xffff)
    cid = host.submit(0, ASYNC_EVENT)
    check(host.quiet(0, 0.3), "still masked after a read that retains it")
    host.ring_sq(1)
    check_status(get_log(host, 1, 0, 16), SC_SUCCESS,
                 "Error Information log read")
    bad_cq_head(host, 8)
    aer_completes(host, cid, "CQ 1 head 8 of 8")
    check_status(get_log(host, 1, 0, 16), SC_SUCCESS,
                 "Error Information log read")
    host.wr(host.sq_db(1), 8)
    time.sleep(0.1)
    host.ring_sq(1)
    cid = host.submit(0, ASYNC_EVENT)
    aer_completes(host, cid, "SQ 1 tail 8 of 8 with no AER parked, then "
                  "an AER")


@case("msix-pending")
def msix_pending(host):
    """A vector that fired while masked is sent once its mask is cleared.

    The mask is cleared the way a host's MSI-X code does it, by a write to
    the table in BAR 0, and nothing else tells the controller: a device
    sees the write, sends the message and clears the vector's pending bit.
    The vector's address is 0, so the message is dropped (the endpoint logs
    it); the pending bit tells whether it went.
    """
    cap = host.msix_cap()
    check(cap != 0, "the function has an MSI-X capability")
    table, pba = struct.unpack("<II", os.pread(host.cfg, 8, cap + 4))
    check(table & 7 == 0 and pba & 7 == 0, "MSI-X table and PBA in BAR 0")
    ctrl, = struct.unpack("<H", os.pread(host.cfg, 2, cap + 2))
    check(host.msix_masked_on() > 0, "MSI-X on, every vector masked")
    try:
        host.enable()
        check_status(host.admin(GET_FEATURES, cdw10=7), SC_SUCCESS,
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
        host.msix_off()


def main(argv):
    verbose = argv[:1] == ["-v"]
    if verbose:
        argv = argv[1:]
    iommu = seeds = None
    count, seconds = 1000, 60
    while argv[:1] in (["--iommu"], ["--random"], ["--count"],
                       ["--seconds"]) and len(argv) > 1:
        opt, val, argv = argv[0], argv[1], argv[2:]
        if opt == "--iommu":
            iommu = val
        elif opt == "--random":
            seeds = [int(x, 0) for x in val.split(",")]
        elif opt == "--count":
            count = int(val)
        else:
            seconds = float(val)
    if argv[:1] == ["--list"]:
        print("\n".join(CASES))
        return 0
    if not argv or argv[0].startswith("-") or (seeds and not iommu):
        print(__doc__.split("\n\n", 2)[-1], file=sys.stderr)
        return 2
    if seeds:
        nvme_raw.VERBOSE = verbose
        host = Host(argv[0], iommu)
        try:
            failed = run_random(host, seeds, count, seconds)
        finally:
            host.close()
        return 1 if failed else 0
    names = [n for n in CASES
             if not argv[1:] or any(fnmatch.fnmatch(n, p) for p in argv[1:])]
    if not names:
        print(f"no case matches {argv[1:]}", file=sys.stderr)
        return 2
    nvme_raw.VERBOSE = verbose
    host = Host(argv[0], iommu)
    failed = 0
    try:
        failed = run_cases(host, names, verbose)
    finally:
        host.close()
    return 1 if failed else 0


def run_random(host, seeds, count, seconds):
    """Each seed's random run, then a normal host's I/O: the number failed.

    The run itself only has to end: whatever the controller answers to
    random input is right as long as it stays in its buffers (the IOMMU
    window), logs no splat (the test runner checks the kernel log) and
    works for a normal host afterwards.
    """
    failed = 0
    for seed in seeds:
        print(f"# random seed {seed}: up to {count} actions, {seconds} s",
              flush=True)
        start = time.monotonic()
        why = ""
        try:
            run = nvme_raw_random.RandomHost(host, seed)
            done = run.run(count, seconds)
            took = time.monotonic() - start
            print(f"# seed {seed}: {done} actions in {took:.1f} s: "
                  f"{run.counts}", flush=True)
            check(host.disable(), "a reset ends the random run")
            normal_io(host)
        except Fail as e:
            why = f"{e}; CSTS {host.rd(CSTS):#x}"
        except Exception as e:  # pylint: disable=broad-except
            why = f"{type(e).__name__}: {e}"
        failed += bool(why)
        print(f"{'FAIL' if why else 'PASS'}\trandom seed {seed}\t{why}",
              flush=True)
        host.disable()
    return failed


def normal_io(host):
    """What a normal host does: enable, queues, a write read back."""
    io_ready(host)
    host.pages.fill([DATA_PAGES[0]], 0x3c)
    check_status(read_blocks(host, 0, PAGE // host.lba, op=WRITE),
                 SC_SUCCESS, "write")
    host.pages.fill([DATA_PAGES[0]], 0)
    check_status(read_blocks(host, 0, PAGE // host.lba), SC_SUCCESS, "read")
    check(host.pages.read(DATA_PAGES[0], 0, PAGE) == bytes([0x3c]) * PAGE,
          "the data read is the data written")


def run_cases(host, names, verbose):
    """Run each case from a disabled controller: the number that failed."""
    failed = 0
    for name in names:
        if verbose:
            print(f"# {name}")
        why = ""
        try:
            CASES[name](host)
        except Fail as e:
            why = f"{e}; CSTS {host.rd(CSTS):#x}"
        except Exception as e:  # pylint: disable=broad-except
            why = f"{type(e).__name__}: {e}"
        failed += bool(why)
        print(f"{'FAIL' if why else 'PASS'}\t{name}\t{why}", flush=True)
        host.disable()
    return failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
