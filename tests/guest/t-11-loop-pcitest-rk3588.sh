#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The loop controller's rk3588 profile checked with code nobody here
# wrote: pci-epf-test on the endpoint side, pci_endpoint_test (which knows
# the RK3588's ids and aligns its buffers to 64 KiB for it) and pcitest (or,
# from Linux 6.14 on, the kselftest pci_endpoint_test) on the host side. The profile presents what the RK3588's DesignWare
# endpoint controller does: MSI and MSI-X but no INTx, BARs 0-3 and 5 fixed
# at 1 MiB, BAR 4 reserved, outbound windows mapping 64 KiB-aligned
# addresses, and 2 read and 2 write DMA channels.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"

VID=0x1d87 DID=0x3588
MSI_VECTORS=32
MSIX_VECTORS=256
D=

cleanup() {
	epc_stop 2>/dev/null
	epf_unbind pci_epf_test t0 2>/dev/null
	rmdir "$(epf_dir pci_epf_test t0)" 2>/dev/null
	wait_for 50 loop_host_dev_gone $VID $DID
	loop_unload
}

setup() {
	t_on_exit cleanup
	t_check "module loads with profile rk3588" loop_load rk3588 || exit 1
	t_check "profile reported" test "$(<"$LOOP_PARAMS/profile")" = rk3588
	t_check "2 read and 2 write DMA channels" test "$(loop_dma_chans)" -eq 4
	modprobe pci-epf-test || exit 1
	t_check "pci-epf-test binds and starts" eval '
		epf_create pci_epf_test t0 vendorid='$VID' deviceid='$DID' \
			msi_interrupts='$MSI_VECTORS' msix_interrupts='$MSIX_VECTORS' &&
		epf_bind pci_epf_test t0 && epc_start' || exit 1
	t_check "host sees the function" wait_for 50 loop_host_dev $VID $DID || exit 1
	D=$(loop_host_dev $VID $DID)
	modprobe pci_endpoint_test
	t_check "pci_endpoint_test binds" wait_for 50 test -c /dev/pci-endpoint-test.0 || exit 1
}

check() { t_check "$1" pcitest_said "$2"; }

# intx_refused CMD...: CMD says the host's INTx test failed, and the
# controller said why since the last kernel log mark
intx_refused() {
	"$@" || return 1
	dmesg | sed -n '/t-11: INTx test/,$p' | grep -c 'this controller cannot raise INTx' >/dev/null ||
		{ echo "the controller did not refuse INTx"; return 1; }
}

intx_mark() { echo "t-11: INTx test" >/dev/kmsg; }

test_bars() {
	local b
	for b in 0 1 2 3 5; do
		t_check "BAR$b: 1 MiB" bar_is "$D" $b $((1 << 20)) 32
		pcitest_run -b $b
		check "BAR$b" BAR$b
	done
	t_check "BAR4: reserved, the host sees none" bar_is "$D" 4 0 0
}

test_irqs() {
	intx_mark
	pcitest_run -i 0 -l
	check "INTx: set type (the host side has a pin)" "SET IRQ TYPE TO LEGACY"
	t_check "INTx: never raised" intx_refused pcitest_said "LEGACY IRQ" "NOT OKAY"
	pcitest_run -i 1 -m 1
	check "MSI: vector 1" MSI1
	pcitest_run -m $MSI_VECTORS
	check "MSI: vector $MSI_VECTORS" MSI$MSI_VECTORS
	pcitest_run -i 2 -x 1
	check "MSI-X: vector 1" MSI-X1
	pcitest_run -x $MSIX_VECTORS
	check "MSI-X: vector $MSIX_VECTORS" MSI-X$MSIX_VECTORS
	# The transfers below complete by MSI
	pcitest_run -i 1
}

# The kselftest, in one run
kst_all() {
	local b
	for b in 0 1 2 3 5; do
		t_check "BAR$b: 1 MiB" bar_is "$D" $b $((1 << 20)) 32
	done
	t_check "BAR4: reserved, the host sees none" bar_is "$D" 4 0 0
	intx_mark
	kst_run "${KST_ALL[@]}"
	for b in 0 1 2 3 5; do
		t_check "BAR$b" kst_said pci_ep_bar.BAR$b.BAR_TEST
	done
	t_check "BAR4: not tested" kst_said pci_ep_bar.BAR4.BAR_TEST "skip BAR is reserved"
	t_check "BARs one after another" kst_said pci_ep_basic.CONSECUTIVE_BAR_TEST
	t_check "INTx: never raised" intx_refused kst_said pci_ep_basic.LEGACY_IRQ_TEST fail
	kst_irqs_transfers $MSI_VECTORS $MSIX_VECTORS "64 KiB-aligned window" \
		"read or write channel"
}

setup
if ept_kselftest; then
	kst_all
else
	test_bars
	test_irqs
	pcitest_transfers "64 KiB-aligned window" "read or write channel"
fi
