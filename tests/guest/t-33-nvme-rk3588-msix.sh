#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function on the loop controller's rk3588 profile: what the RK3588's
# DesignWare endpoint controller offers (no INTx, BARs fixed at 1 MiB,
# BAR 4 reserved, 64 KiB outbound window alignment, 2 read and 2 write
# DMA channels, 16 outbound windows). MSI-X, null backend over the loop
# transport, the function asked to take one DMA channel per direction and
# to keep two completion queues mapped (the third maps per run).
BACKING=null TRANSPORT=loop MSI=8 MSIX=8 DEBUG_PARTS=""
LOOP_PROFILE=rk3588 FN_NVME="dma_chans=1 cq_windows=2"

# A second function on the same controller, never bound: its settings
# are checked, and a bind that cannot work is refused.
N1=/sys/kernel/config/pci_ep/functions/pci_epf_nvme/n1

bind_refused_no_irq() {
	! epf_bind pci_epf_nvme n1 2>/dev/null &&
		dmesg | tail -n 20 | grep -q 'no interrupt for the host'
}

config_checks() {
	t_check "controller: 2 read and 2 write DMA channels" test "$(loop_dma_chans)" -eq 4
	t_check "no interrupt pin: the controller has no INTx" test "$(interrupt_pin "$D")" -eq 0
	t_check "host uses MSI-X" msix_enabled "$D"
	t_check "BAR 0: 64-bit, the fixed 1 MiB" bar_is "$D" 0 $((1 << 20)) 64
	t_check "no other BAR" eval 'for b in 2 3 4 5; do bar_is "$D" $b 0 0 || exit 1; done'
	t_check "dma_chans=1: one channel per direction taken, two left" \
		test "$(loop_dma_taken)" -eq 2
	t_check "dma_chans refused while bound" eval "! echo 2 >$FN/nvme/dma_chans 2>/dev/null"
	t_check "cq_windows=2: two of the three completion queues kept mapped" \
		test "$(loop_windows_mapped)" -eq 2

	mkdir "$N1" || return 1
	t_check "dma_chans 3 refused" eval "! echo 3 >$N1/nvme/dma_chans 2>/dev/null"
	t_check "dma_chans unchanged (default 2)" test "$(<"$N1/nvme/dma_chans")" -eq 2
	t_check "dma_chans 0 accepted" eval "echo 0 >$N1/nvme/dma_chans"
	echo 0 >"$N1/msi_interrupts"
	echo 0 >"$N1/msix_interrupts"
	nvmet_connect_string "$TRANSPORT" >"$N1/nvme/connect_opts"
	t_check "bind refused: no MSI, no MSI-X and no INTx" bind_refused_no_irq
	rmdir "$N1"
}

. "$RIG_REPO/tests/guest/nvme-function.sh"
