#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function on the loop controller's rk3588 profile without DMA
# channels, as on a board whose kernel has no eDMA driver: every transfer
# goes through 64 KiB-aligned outbound windows. MSI, file backend over the
# loop transport.
BACKING=file TRANSPORT=loop MSI=4 MSIX=0 DEBUG_PARTS=""
LOOP_PROFILE=rk3588 LOOP_DMA=N
# Copies through windows cost the rig's CPU more than DMA: 16 MiB covers
# every alignment case (64 MiB took 73 s of the rig guest).
[[ ${RIG_FLAVOUR:-rig} == debug ]] || FIO_MB=16

config_checks() {
	t_check "controller has no DMA channel" test "$(loop_dma_chans)" -eq 0
	t_check "function moves host memory through windows" \
		kmsg_has 'reading and writing host memory through outbound windows'
	t_check "no interrupt pin: the controller has no INTx" test "$(interrupt_pin "$D")" -eq 0
	t_check "host uses MSI" msi_enabled "$D"
	t_check "each completion queue kept mapped: admin and 2 I/O" \
		test "$(loop_windows_mapped)" -eq 3
}

. "$RIG_REPO/tests/guest/nvme-function.sh"
