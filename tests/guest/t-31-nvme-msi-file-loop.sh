#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: MSI interrupts, nvmet file backend over the loop transport.
BACKING=file TRANSPORT=loop MSI=4 MSIX=0 DEBUG_PARTS=reset-unbind
. "$RIG_REPO/tests/guest/nvme-function.sh"
