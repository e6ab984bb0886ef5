#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/demo.sh. The endpoint side: nvmet loop target on a
# null_blk, the loopback endpoint controller, the NVMe function connected to
# the target, all but the controller set up by the board's setup tool from
# scripts/setup/rig-demo.json. The host side: nvme.ko, nvme-cli, fio.
# Writes the report to $RIG_OUT/demo.txt.
set -euo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
. "$RIG_OUT/demo.env"

SETUP=$RIG_REPO/scripts/pci-epf-nvme-setup
report=$RIG_OUT/demo.txt
say() { echo "$*" | tee -a "$report"; }
: >"$report"

say "== endpoint side: nvmet loop target on a memory-backed null_blk, NVMe function on pci-epc-loop.0"
loop_load generic
# The modules it loads: modprobe, but the function's from $RIG_MODDIR
"$SETUP" --module-dir "$RIG_MODDIR" apply "$RIG_REPO/scripts/setup/rig-demo.json"

say "== host side: the stock nvme driver"
modprobe nvme
wait_for 100 nvme_pcie_ctrl
ctrl=/dev/$(nvme_pcie_ctrl)
wait_for 100 test -b "${ctrl}n1"
dev=${ctrl}n1
say "$(lspci -d 104c:b50f 2>/dev/null || loop_host_dev 0x104c 0xb50f)"
say "$(nvme list)"
say "$(nvme id-ctrl "$ctrl" | grep -E '^(vid|ssvid|sn|mn|fr|mdts|nn|subnqn) ')"

run_fio() {
	local name=$1
	shift
	fio --name="$name" --filename="$dev" --ioengine=io_uring --direct=1 \
		--time_based --runtime="$DEMO_SECONDS" --group_reporting "$@" |
		grep -E '^\s*(read|write):' | sed "s/^ */$name: /" | tee -a "$report"
}

say "== fio on $dev (${DEMO_SECONDS}s each; QEMU TCG, so figures are the rig's, not hardware's)"
run_fio randread-4k-qd32 --rw=randread --bs=4k --iodepth=32
run_fio randwrite-4k-qd32 --rw=randwrite --bs=4k --iodepth=32
run_fio seqread-128k-qd32 --rw=read --bs=128k --iodepth=32
say "== data check: fio write + crc32c verify"
fio --name=verify --filename="$dev" --ioengine=io_uring --direct=1 --rw=randwrite \
	--bs=4k --iodepth=16 --size=16M --verify=crc32c >/dev/null && say "verify: OK"

rmmod nvme
"$SETUP" clear
