#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: INTx interrupts, nvmet file backend over the tcp transport.
if [[ ${RIG_FLAVOUR:-rig} == debug ]]; then
	. "$RIG_REPO/tests/guest/lib.sh"
	t_skip "all" "the debug kernel runs the MSI-X configuration only (time budget)"
	exit 0
fi
BACKING=file TRANSPORT=tcp MSI=0 MSIX=0
. "$RIG_REPO/tests/guest/nvme-function.sh"
