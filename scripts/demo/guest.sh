#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/demo.sh. The endpoint side: nvmet loop target on a
# null_blk, the loopback endpoint controller, the NVMe function connected to
# the target. The host side: nvme.ko, nvme-cli, fio. Writes the report to
# $RIG_OUT/demo.txt.
set -euo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
. "$RIG_OUT/demo.env"

report=$RIG_OUT/demo.txt
say() { echo "$*" | tee -a "$report"; }
: >"$report"

say "== endpoint side: nvmet loop target on a memory-backed null_blk, NVMe function on pci-epc-loop.0"
nvmet_setup null loop
loop_load
modprobe nvme-fabrics
insmod "$RIG_MODDIR/pci-epf-nvme.ko"
epf_create pci_epf_nvme demo vendorid=0x104c deviceid=0xb50f msix_interrupts=8
fn=$(epf_dir pci_epf_nvme demo)
nvmet_connect_string loop >"$fn/nvme/connect_opts"
echo 2 >"$fn/nvme/nr_io_queues"
epf_bind pci_epf_nvme demo
epc_start

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

epc_stop
epf_unbind pci_epf_nvme demo
