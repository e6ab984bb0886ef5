#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Upstream's NVMe PCI endpoint target (drivers/nvme/target/pci-epf.c,
# Linux 6.14 and later) on the loopback controller, under the host's
# nvme.ko: the loop controller checked by a second NVMe endpoint function
# that nobody here wrote, and the peer the benchmark compares the function
# with. It keeps each completion queue mapped through an outbound window
# for the queue's life and writes its entries with MMIO, moves SQEs and
# data with the DMA channels, and takes its PCI vendor id from the nvmet
# subsystem.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
. "$RIG_REPO/tests/guest/nvme-lib.sh"

VID=0x1b96 DID=0xbeef
UFN=$(epf_dir nvmet_pci_epf u0)
by_flavour FIO_MB 16 4

if ! modinfo nvmet-pci-epf >/dev/null 2>&1; then
	t_skip "nvmet-pci-epf" "this kernel ($(uname -r)) has no nvmet-pci-epf: it came in Linux 6.14"
	exit 0
fi

cleanup() {
	[[ ! -e /sys/module/nvme/initstate ]] || rmmod nvme
	epc_stop 2>/dev/null
	epf_unbind nvmet_pci_epf u0 2>/dev/null
	[[ ! -d $UFN ]] || rmdir "$UFN"
	nvmet_teardown
}
t_on_exit cleanup

setup() {
	local sub=$NVMET_CFS/subsystems/$NVMET_NQN
	t_check "loop loads" loop_load || return 1
	t_check "nvmet null pci" nvmet_setup null pci || return 1
	set_attrs "$sub" attr_vendor_id=$VID attr_subsys_vendor_id=$VID attr_qid_max=4
	t_check "function" epf_create nvmet_pci_epf u0 deviceid=$DID \
		msi_interrupts=8 msix_interrupts=8 || return 1
	set_attrs "$UFN/nvme" portid=1 subsysnqn="$NVMET_NQN" || return 1
	t_check "bind" epf_bind nvmet_pci_epf u0 || { dmesg | tail; return 1; }
	t_check "start" epc_start || return 1
	t_check "host sees the function (the subsystem's vendor id)" \
		wait_for 50 loop_host_dev $VID $DID || return 1
	modprobe nvme
	t_check "host controller" wait_for 100 nvme_pcie_ctrl || { dmesg | tail -30; return 1; }
	C=/dev/$(nvme_pcie_ctrl)
	B=${C}n1
	t_check "host namespace" wait_for 100 test -b "$B" || { dmesg | tail -30; return 1; }
}

# More than one I/O queue, each with its own MSI-X vector
io_queues() {
	local n
	msix_enabled "$(loop_host_dev $VID $DID)" || { echo "MSI-X is not enabled"; return 1; }
	n=$(grep -cE " ${C#/dev/}q[1-9][0-9]*\$" /proc/interrupts)
	((n >= 2)) || { echo "$n I/O queue vectors"; return 1; }
}

# Each completion queue stays mapped through an outbound window
cq_windows() {
	local n
	n=$(loop_windows_mapped)
	((n >= 3)) || { echo "$n windows mapped, not one per CQ (admin + 2 I/O at least)"; return 1; }
}

setup || exit 1
t_check "I/O queues with their own vectors" io_queues
t_check "completion queues mapped for their life" cq_windows
# Data and SQEs by DMA: without channels it would move them by MMIO
t_check "a DMA channel taken for each direction" test "$(loop_dma_taken)" -eq 2
fio --filename="$B" --ioengine=io_uring --direct=1 --verify=crc32c \
	--output=/rig-out/fio-verify-nvmet-pci-epf.txt \
	--name=v --rw=randrw --bsrange="$(blockdev --getss "$B")-1M" --iodepth=32 \
	--size="${FIO_MB}M" --numjobs=2 --offset_increment=256M \
	--name=q --stonewall --rw=randwrite --bs=4k --iodepth=128 \
	--size=$((FIO_MB / 4 + 1))M
t_check "fio verify, QD32 then QD128" test $? -eq 0

# Taken down with the link first, then the host's driver, then the
# function; everything the function held goes back to the controller.
# Not the host's driver first: its orderly removal deletes the I/O queues,
# and nvmet-pci-epf (7.3.4) destroys an I/O queue's workqueue from the
# admin queue's command work, which lockdep reports as a possible circular
# dependency (every queue's command work shares one lock class): a report
# for upstream, out of what this test checks.
t_check "stop" epc_stop
t_check "host controller gone" wait_for 100 eval '! nvme_pcie_ctrl >/dev/null'
rmmod nvme
t_check "unbind" epf_unbind nvmet_pci_epf u0
t_check "no window left mapped" test "$(loop_windows_mapped)" -eq 0
t_check "no DMA channel left taken" test "$(loop_dma_taken)" -eq 0
rmdir "$UFN"
nvmet_teardown
t_check "loop controller unloads" loop_unload
