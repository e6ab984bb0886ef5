#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: when things fail. The smallest MDTS; and a fabrics
# controller deleted behind the function's back, its transport module then
# unloaded (refused while the function holds the controller), the function
# unbound and bound again to a new target. (A host that breaks the rules:
# t-47.)
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=null TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-lib.sh"
by_flavour FIO_MB 16 2

t_on_exit nvme_fn_cleanup

# fio_verify NAME [FIO ARGS...]: verified random writes on the host's
# namespace, mixed sizes up to 128 KiB.
fio_verify() {
	fio --name="$1" --filename="$B" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bsrange=4k-128k --iodepth=16 --size="${FIO_MB}M" \
		--verify=crc32c "${@:2}"
}

# fio exits with an error, not killed by the time limit (status 124 or
# 137; see GONE_IOENGINE for the engine)
fio_fails_quickly() {
	local rc=0
	timeout -k 5 60 fio --name=gone --filename="$B" --ioengine=$GONE_IOENGINE --direct=1 \
		--rw=randread --bs=4k --iodepth=8 --size=4M || rc=$?
	echo "fio status $rc"
	[[ $rc -ne 0 && $rc -ne 124 && $rc -ne 137 ]]
}

# MDTS 8 KiB is MDTS 1 (4 KiB cannot be stated: MDTS 0 means no limit,
# checked once the function is unbound, below)
mdts_checks() {
	t_check "id-ctrl MDTS 1 for 8 KiB" eval "nvme id-ctrl $C | grep -q '^mdts *: 1$'"
	t_check "host limits transfers to 8 KiB" \
		test "$(<"/sys/block/${B#/dev/}/queue/max_hw_sectors_kb")" = 8
	t_check "fio verify with an 8 KiB MDTS" fio_verify mdts8
}

# The backend goes away for good: its controller deleted on the endpoint,
# the target's port removed, its transport module asked to unload.
backend_gone() {
	local f
	# The function's, on the endpoint: the only one on the loop transport
	f=$(nvme_ctrl_of loop) || { t_fail "fabrics controller found"; return 1; }
	t_check "delete the fabrics controller" eval "echo 1 >/sys/class/nvme/$f/delete_controller"
	t_check "host I/O fails by itself within 60 s" fio_fails_quickly
	t_check "I/O: Invalid Namespace" expect_status 0xb nvme read "$B" -s 0 -c 0 -z 512
	t_check "Identify: Internal Error" expect_status 0x6 nvme id-ctrl "$C"
	rm -f "$NVMET_CFS/ports/1/subsystems/$NVMET_NQN"
	rmdir "$NVMET_CFS/ports/1"
	t_check "transport module pinned while the function holds it" eval "! modprobe -r nvme-loop 2>/dev/null"
	t_check "stop" epc_stop
	t_check "unbind after the backend went away" epf_unbind pci_epf_nvme n0
	t_check "mdts_kb=4 refused" eval "! echo 4 >$FN/nvme/mdts_kb 2>/dev/null"
	t_check "mdts_kb unchanged by the refusal" test "$(<"$FN/nvme/mdts_kb")" = 8
	rmmod nvme 2>/dev/null
	t_check "transport module unloads after unbind" modprobe -r nvme-loop
	t_check "new target" nvmet_setup "$BACKING" "$TRANSPORT"
	t_check "rebind to the new target" eval "epf_bind pci_epf_nvme n0 && epc_start"
	modprobe nvme
	t_check "host controller back" wait_for 100 nvme_pcie_ctrl || return 1
	C=/dev/$(nvme_pcie_ctrl)
	B=${C}n1
	t_check "host namespace back" wait_for 100 test -b "$B" || return 1
	t_check "fio verify on the new target" fio_verify new-target
}

FN_NVME="mdts_kb=8" nvme_fn_setup || exit 1
mdts_checks
backend_gone
