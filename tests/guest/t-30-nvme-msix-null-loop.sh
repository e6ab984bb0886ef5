#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: MSI-X interrupts, nvmet null backend over the loop transport.
# On the debug kernel the lifecycle parts run with MSI (t-31) and INTx
# (t-32), this one the admin commands (see nvme-function.sh).
BACKING=null TRANSPORT=loop MSI=8 MSIX=8 DEBUG_PARTS=admin
. "$RIG_REPO/tests/guest/nvme-function.sh"
