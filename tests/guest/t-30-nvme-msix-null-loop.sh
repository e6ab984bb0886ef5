#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: MSI-X interrupts, nvmet null backend over the loop transport.
BACKING=null TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-function.sh"
