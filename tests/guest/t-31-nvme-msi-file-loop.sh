#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: MSI interrupts, nvmet file backend over the loop transport.
#
# Completion entries go through a window mapped per run of entries
# (cq_windows=0), not one kept over each queue as in the others. The
# host's nvme.ko describes the data of I/O commands with SGLs
# (sgl_threshold=1) on every kernel, where the other configurations use
# PRPs on the rig kernels.
BACKING=file TRANSPORT=loop MSI=4 MSIX=0 DEBUG_PARTS=reset-unbind
FN_NVME="cq_windows=0"
NVME_HOST_PARAMS="sgl_threshold=1"

config_checks() {
	t_check "cq_windows=0: no window kept mapped" test "$(loop_windows_mapped)" -eq 0
}

. "$RIG_REPO/tests/guest/nvme-function.sh"
