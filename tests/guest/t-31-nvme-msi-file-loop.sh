#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: MSI interrupts, nvmet file backend over the loop transport.
#
# Completion entries go through a window mapped per run of entries
# (cq_windows=0), not one kept over each queue as in the others. The
# host's nvme.ko describes the data of every I/O command with an SGL
# (sgl_threshold=1), where the other configurations use PRPs.
BACKING=file TRANSPORT=loop MSI=4 MSIX=0 DEBUG_PARTS=reset-unbind
FN_NVME="cq_windows=0"
NVME_HOST_PARAMS="sgl_threshold=1"

# sgl_reads: the function's count of SGL commands grows with a read
sgl_reads() {
	local dbg n0
	dbg=$(echo /sys/kernel/debug/pci_epf_nvme/pci_epf_nvme.*)
	n0=$(<"$dbg/sgl_commands")
	dd if="$B" of=/dev/null bs=128k count=8 iflag=direct 2>/dev/null || return 1
	echo "SGL commands: $n0 -> $(<"$dbg/sgl_commands")"
	test "$(<"$dbg/sgl_commands")" -ge $((n0 + 8))
}

config_checks() {
	t_check "cq_windows=0: no window kept mapped" test "$(loop_windows_mapped)" -eq 0
	t_check "the host's reads come with SGLs" sgl_reads
}

. "$RIG_REPO/tests/guest/nvme-function.sh"
