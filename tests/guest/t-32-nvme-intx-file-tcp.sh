#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: INTx interrupts, nvmet file backend over the tcp transport.
BACKING=file TRANSPORT=tcp MSI=0 MSIX=0 DEBUG_PARTS=remove
. "$RIG_REPO/tests/guest/nvme-function.sh"
