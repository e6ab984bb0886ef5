# SPDX-License-Identifier: GPL-2.0
"""The raw host's seeded random mode.

A run throws a reproducible sequence of actions at the controller:
register writes (CC with every field, AQA, ASQ, ACQ, INTMS, read-only
registers), doorbell writes (any queue, any value), queue entries (valid,
invalid and random commands, with PRP entries and lists that are right,
misaligned, chained or not RAM, and SGLs of data blocks, bit buckets and
segments, right or wrong), queue creation and deletion with random
fields, MSI-X on and off, completion reaping with right and wrong heads.
The same seed gives the same sequence; the controller's answers may vary
with timing.

The run needs the loopback controller's IOMMU to map the raw host's
memory only (nvme-rawhost.py --iommu): in the rig the host's memory is the
endpoint's own, and a random address reached would corrupt the endpoint's
kernel, which is not what is being tested. With the IOMMU, an address may
be anything; most are the raw host's pages, at any offset, so that
commands also get somewhere.
"""

import random
import struct
import time

from nvme_raw import (ACQ, ADMIN_CQ_PAGE, ADMIN_SQ_PAGE, AQA, ASQ, CC,
                      CC_CSS_SHIFT, CC_EN, CC_MPS_SHIFT, CC_SHN_SHIFT,
                      CREATE_CQ, CREATE_SQ, CSTS, DATA_PAGES, DELETE_CQ,
                      DELETE_SQ, GET_FEATURES, GET_LOG_PAGE, IDENTIFY,
                      LIST_PAGES, PAGE, READ, SET_FEATURES, ASYNC_EVENT,
                      ABORT, FLUSH, WRITE, COMPARE, DSM, WRITE_ZEROES,
                      VERIFY, IO_QUEUE_PAGES, Queue, sqe, sgl_desc,
                      SGL_DATA, SGL_BIT_BUCKET, SGL_SEG, SGL_LAST_SEG)

NOT_RAM = (1 << 50, (1 << 52) - PAGE, 1 << 60)
ADMIN_OPS = (DELETE_SQ, CREATE_SQ, GET_LOG_PAGE, DELETE_CQ, CREATE_CQ,
             IDENTIFY, ABORT, SET_FEATURES, GET_FEATURES, ASYNC_EVENT)
IO_OPS = (FLUSH, WRITE, READ, COMPARE, WRITE_ZEROES, DSM, VERIFY)


class RandomHost:
    """One seeded run against @host (a nvme_raw.Host)."""

    def __init__(self, host, seed):
        self.host = host
        self.rng = random.Random(seed)
        self.counts = {}
        # The queues the controller may know, by qid: (page, depth)
        self.queue_pages = list(IO_QUEUE_PAGES)

    # Values

    def pick(self, *choices):
        return self.rng.choice(choices)

    def maybe(self, p):
        return self.rng.random() < p

    def u32(self):
        return self.pick(0, 1, 0xffffffff, self.rng.getrandbits(32),
                         self.rng.getrandbits(8), self.rng.getrandbits(16))

    def addr(self, pages=DATA_PAGES, aligned=0.7):
        """A data pointer: one of our pages, any offset, or anything."""
        if self.maybe(0.05):
            return self.pick(*NOT_RAM, self.rng.getrandbits(64),
                             self.rng.getrandbits(40) & ~(PAGE - 1))
        base = self.host.pages.phys[self.rng.choice(pages)]
        if self.maybe(aligned):
            return base
        return base + self.pick(self.rng.randrange(PAGE), 4 *
                                self.rng.randrange(PAGE // 4), 8, 2)

    def prp2(self, nbytes):
        """PRP2 for a transfer of @nbytes: a page, or a list of them."""
        if nbytes <= 2 * PAGE and self.maybe(0.7):
            return self.addr()
        npages = min(nbytes // PAGE + 1, 1024)
        lp = self.rng.choice(LIST_PAGES)
        off = self.pick(0, 8 * self.rng.randrange(PAGE // 8), 4)
        room = (PAGE - off) // 8
        entries = [self.addr(aligned=0.9) for _ in range(min(npages, room))]
        if len(entries) == room and self.maybe(0.5):
            # Chain to another list page, maybe this one
            entries[-1] = self.host.pages.phys[self.rng.choice(LIST_PAGES)]
        self.host.pages.write(lp, off, struct.pack(f"<{len(entries)}Q",
                                                   *entries))
        return self.host.pages.phys[lp] + off

    def sgl(self, nbytes, depth=0):
        """An SGL descriptor for about @nbytes: a data block, a bit
        bucket, or a segment of more descriptors (at most 3 deep; the
        controller bounds longer chains), with lengths and types right or
        wrong."""
        type_ = self.pick(SGL_DATA, SGL_DATA, SGL_DATA, SGL_BIT_BUCKET,
                          SGL_SEG, SGL_LAST_SEG)
        if self.maybe(0.05):
            type_ = self.rng.randrange(256)
        if type_ in (SGL_SEG, SGL_LAST_SEG) and depth < 3:
            n = self.pick(1, 2, 4, self.rng.randrange(1, 17))
            lp = self.rng.choice(LIST_PAGES)
            off = self.pick(0, 16 * self.rng.randrange(PAGE // 16 - n), 8)
            n = min(n, (PAGE - off) // 16)
            part = max(nbytes // n, 1)
            descs = [self.sgl(part + self.pick(0, 0, 0, 512, -1), depth + 1)
                     for _ in range(n)]
            self.host.pages.write(lp, off, b"".join(descs))
            length = self.pick(16 * n, 16 * n, 16 * n, 0, 24, 16 * n + 16)
            return sgl_desc(self.host.pages.phys[lp] + off, length, type_)
        length = self.pick(nbytes, nbytes, self.rng.randrange(nbytes + 1),
                           0, self.u32())
        return sgl_desc(self.addr(), max(length, 0) & 0xffffffff, type_)

    # Actions

    def act_register(self):
        h = self.host
        reg = self.pick(CC, CC, CC, AQA, ASQ, ACQ, 0x0c, 0x10, 0x0, 0x8,
                        CSTS, 0x20, 0x38, 0x3c, 0x4c, 0xe00)
        if reg == CC:
            val = 6 << 16 | 4 << 20 | self.pick(0, CC_EN, CC_EN, CC_EN)
            if self.maybe(0.2):
                val |= self.rng.randrange(8) << CC_CSS_SHIFT
            if self.maybe(0.1):
                val |= self.rng.randrange(16) << CC_MPS_SHIFT
            if self.maybe(0.1):
                val |= self.rng.randrange(4) << CC_SHN_SHIFT
            if self.maybe(0.1):
                val = self.rng.getrandbits(32)
            if val & CC_EN and not h.rd(CC) & CC_EN:
                self.admin_queues()
            h.wr(CC, val)
        elif reg == AQA:
            h.wr(AQA, self.pick(self.rng.randrange(64) | self.rng.randrange(256)
                                << 16, 0, self.rng.getrandbits(32)))
        elif reg in (ASQ, ACQ):
            page = ADMIN_SQ_PAGE if reg == ASQ else ADMIN_CQ_PAGE
            h.wr64(reg, h.pages.phys[page] + self.pick(0, 0, 0, 8, 0x100))
        else:
            h.wr(reg, self.u32())

    def admin_queues(self):
        """Admin queues in memory and in the registers, of any size."""
        h = self.host
        sq = self.pick(self.rng.randrange(2, 65), 2, 4096)
        cq = self.pick(self.rng.randrange(2, 257), 2, 4096)
        h.setup_admin(sq, cq)
        self.queue_pages = list(IO_QUEUE_PAGES)

    def act_doorbell(self):
        h = self.host
        qid = self.rng.randrange(0, 6)
        cq = self.maybe(0.4)
        off = h.cq_db(qid) if cq else h.sq_db(qid)
        if off + 4 > len(h.bar):
            return
        q = (h.cqs if cq else h.sqs).get(qid)
        if q and self.maybe(0.7):
            val = (q.index + self.pick(0, 1, -1, q.depth)) % 0x10000
        else:
            val = self.pick(0, 1, 2, 63, 64, 255, 0xffff,
                            self.rng.getrandbits(32))
        h.wr(off, val)

    def entry(self, admin):
        """A submission entry: a real command with random fields, or junk."""
        h = self.host
        cid = h.next_cid()
        if self.maybe(0.05):
            # Junk, but the data pointers stay ours
            e = bytearray(self.rng.randbytes(64))
            struct.pack_into("<QQQ", e, 16, self.addr(), self.addr(),
                             self.addr())
            return bytes(e)
        op = self.rng.choice(ADMIN_OPS if admin else IO_OPS)
        if self.maybe(0.05):
            op = self.rng.randrange(256)
        kw = {"nsid": self.pick(1, 1, 1, 0, 2, 0xffffffff), "prp1":
              self.addr(), "flags": self.pick(0, 0, 0, 0, 1, 2, 0x40, 0x80)}
        if op in (CREATE_SQ, CREATE_CQ) and admin:
            qid = self.rng.randrange(0, 5)
            sq = op == CREATE_SQ
            depth = self.pick(self.rng.randrange(2, 65 if sq else 257), 1,
                              0x10000)
            page = self.rng.choice(self.queue_pages)
            kw["prp1"] = h.pages.phys[page] + self.pick(0, 0, 0, 0x100)
            kw["cdw10"] = (depth - 1) % 0x10000 << 16 | qid
            kw["cdw11"] = self.pick(1, 1, 3, 0) | \
                (self.rng.randrange(0, 5) if sq else
                 self.pick(0, 1, 8, 0x7ff)) << 16
            if page * PAGE + depth * (64 if sq else 16) <= len(h.pages.mem) \
                    and qid:
                # If it is created, this is where it is
                q = Queue(h, qid, depth, page, sq)
                (h.sqs if sq else h.cqs)[qid] = q
        elif op in (DELETE_SQ, DELETE_CQ) and admin:
            kw["cdw10"] = self.rng.randrange(0, 5)
        elif admin:
            kw["cdw10"] = self.pick(self.rng.randrange(256), 1, 7,
                                    self.rng.getrandbits(32))
            kw["cdw11"] = self.u32()
            kw["cdw12"] = self.pick(0, 0, 4, self.rng.getrandbits(32))
            kw["prp2"] = self.prp2(PAGE)
        else:
            nlb = self.pick(0, 0, 7, 31, self.rng.randrange(512), 0xffff)
            kw["cdw10"] = self.pick(0, 1, self.rng.getrandbits(32))
            kw["cdw11"] = self.pick(0, 0, self.rng.getrandbits(32))
            kw["cdw12"] = nlb | self.pick(0, 0, 1 << 31, 1 << 30)
            kw["prp2"] = self.prp2((nlb + 1) * 512)
            if kw["flags"] & 0xc0 == 0x40 and self.maybe(0.8):
                kw["prp1"], kw["prp2"] = struct.unpack(
                    "<QQ", self.sgl((nlb + 1) * 512))
        return sqe(op, cid, **kw)

    def act_submit(self):
        h = self.host
        if not h.sqs:
            return
        qid = self.rng.choice(sorted(h.sqs))
        for _ in range(self.pick(1, 1, 2, 4, 8)):
            h.put(qid, self.entry(qid == 0))
        h.ring_sq(qid)

    def act_reap(self):
        h = self.host
        if not h.cqs:
            return
        qid = self.rng.choice(sorted(h.cqs))
        for _ in range(self.rng.randrange(1, 9)):
            if h.reap(qid, 0.002, ring=False) is None:
                break
        if self.maybe(0.9):
            h.ring_cq(qid)

    def act_msix(self):
        if self.maybe(0.5):
            self.host.msix_masked_on()
        else:
            self.host.msix_off()

    def act_reset(self):
        self.host.wr(CC, 0)
        self.host.wait_csts(1, 0, 2)

    def run(self, count, seconds):
        """Up to @count actions in up to @seconds; the actions done."""
        actions = ((self.act_submit, 30), (self.act_reap, 25),
                   (self.act_doorbell, 15), (self.act_register, 10),
                   (self.act_msix, 2), (self.act_reset, 3))
        fns = [a for a, _ in actions]
        weights = [w for _, w in actions]
        self.admin_queues()
        self.host.wr(CC, 6 << 16 | 4 << 20 | CC_EN)
        self.host.wait_csts(1, 1, 2)
        end = time.monotonic() + seconds
        done = 0
        while done < count and time.monotonic() < end:
            fn = self.rng.choices(fns, weights)[0]
            fn()
            self.counts[fn.__name__] = self.counts.get(fn.__name__, 0) + 1
            done += 1
            if self.maybe(0.1):
                time.sleep(self.rng.random() * 0.01)
        # A forged CSTS (0, say) reads as written until the controller's
        # next poll puts it back: a host that resets now would take it
        # for the end of the reset. 20 ms is the longest poll interval.
        time.sleep(0.1)
        return done
