#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: MSI interrupts, nvmet file backend over the loop transport.
if [[ ${RIG_FLAVOUR:-rig} == debug ]]; then
	. "$RIG_REPO/tests/guest/lib.sh"
	t_skip "all" "the debug kernel runs the MSI-X configuration only (time budget)"
	exit 0
fi
BACKING=file TRANSPORT=loop MSI=4 MSIX=0
. "$RIG_REPO/tests/guest/nvme-function.sh"
