#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: the link goes down, or PERST is asserted, while the host
# writes. The host loses the device (a surprise removal) and its I/O ends
# with errors in bounded time; when the link comes back the host probes
# the controller again through its own path, the writes it had been told
# were complete before the event read back intact, and new I/O verifies.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=null TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-lib.sh"
by_flavour FIO_MB 16 2

t_on_exit nvme_fn_cleanup
nvme_fn_setup || exit 1

# The acknowledged writes: a verified sequential pattern in the first
# FIO_MB MiB, read back with --verify_only after each event.
acked() {
	fio --name=acked --filename="$B" --ioengine=io_uring --direct=1 \
		--rw=write --bs=64k --size="${FIO_MB}M" --verify=crc32c "$@"
}

host_back() {
	wait_for 100 nvme_pcie_ctrl || { echo "no host controller"; return 1; }
	C=/dev/$(nvme_pcie_ctrl)
	B=${C}n1
	wait_for 100 test -b "$B" || { echo "no namespace"; return 1; }
}

# flap NAME ATTR DOWN UP: the event on the loop controller's sysfs ATTR
# under load on the second region of the namespace.
flap() {
	local name=$1 attr=$2 down=$3 up=$4 sys
	sys=$(epc_sysfs)
	t_check "$name: acknowledged pattern written" acked || return 1
	start_load "$B" --offset=$((2 * FIO_MB))M --size="${FIO_MB}M"
	t_check "$name: load running" load_running "$B"
	echo "$down" >"$sys/$attr"
	t_check "$name: host device gone" wait_for 100 loop_host_dev_gone $VID $DID
	t_check "$name: host I/O ends" stop_load
	echo "$up" >"$sys/$attr"
	t_check "$name: host controller and namespace back" host_back || return 1
	t_check "$name: acknowledged writes intact" acked --verify_only
	t_check "$name: fio verify after" fio --name=after --filename="$B" \
		--ioengine=io_uring --direct=1 --rw=randwrite --bsrange=4k-64k \
		--iodepth=16 --size="${FIO_MB}M" --offset=$((4 * FIO_MB))M --verify=crc32c
}

flap "link down" link 0 1
flap "PERST" perst 1 0
