#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A guest power-off with I/O in flight on the NVMe function. The last
# guest test: it brings the function up (MSI-X, null_blk over nvmet loop),
# starts fio on the host's namespace and leaves it running, its pid in
# $RIG_OUT/poweroff-load. init.sh then powers the guest off, so the
# kernel's device shutdown runs nvme.ko's shutdown (CC.SHN) against the
# function mid-load, then the endpoint side's. init.sh logs whether the
# load still ran at that point; run-qemu.sh bounds how long the power-off
# takes, and tests/run.sh records the outcome as "power-off under load",
# together with any kernel splat after the power-off began.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=null TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-lib.sh"

rm -f "$RIG_OUT/poweroff-load"
nvme_fn_setup || exit 1
# Long enough to outlive the kmemleak scans init runs before powering off;
# a moderate depth, so that those scans are not slowed down much.
start_load "$B" --runtime=900 --iodepth=8
t_check "load running" load_running "$B" || exit 1
echo "$LOAD_PID" >"$RIG_OUT/poweroff-load"
