#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The loopback endpoint controller checked with code nobody here wrote: the
# kernel's pci-epf-test function on the endpoint side, pci_endpoint_test on
# the host side, and the user-space test of the same tree: pcitest from
# tools/pci, or the kselftest pci_endpoint_test from Linux 6.14 on.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"

MSI_VECTORS=32
MSIX_VECTORS=256

cleanup() {
	[[ ! -w $LOOP_DMA_DISCARD ]] || loop_dma_discard 0
	epc_stop 2>/dev/null
	epf_unbind pci_epf_test t0 2>/dev/null
	rmdir "$(epf_dir pci_epf_test t0)" 2>/dev/null
	wait_for 50 loop_host_dev_gone 0x104c 0xb500
}

setup() {
	t_on_exit cleanup
	t_check "module loads" loop_load || exit 1
	t_check "controllers registered" test -d /sys/class/pci_epc/pci-epc-loop.0 -a \
		-d /sys/class/pci_epc/pci-epc-loop.1
	t_check "a real-time thread per DMA channel" loop_dma_threads_realtime
	modprobe pci-epf-test || exit 1
	t_check "pci-epf-test binds and starts" eval '
		epf_create pci_epf_test t0 vendorid=0x104c deviceid=0xb500 \
			msi_interrupts='$MSI_VECTORS' msix_interrupts='$MSIX_VECTORS' &&
		epf_bind pci_epf_test t0 && epc_start' || exit 1
	t_check "host sees the function" wait_for 50 loop_host_dev 0x104c 0xb500 || exit 1
	modprobe pci_endpoint_test
	t_check "pci_endpoint_test binds" wait_for 50 test -c /dev/pci-endpoint-test.0 || exit 1
}

# Each pcitest run does several of the tests (see pcitest_run), each
# still checked and reported on its own: an exec costs seconds on the
# debug kernel.
check() { t_check "$1" pcitest_said "$2"; }

test_bars_irqs() {
	pcitest_run -b 0 -i 0 -l
	check "BAR0" BAR0
	check "INTx: set type" "SET IRQ TYPE TO LEGACY"
	check "INTx: raise" "LEGACY IRQ"
	pcitest_run -b 1 -i 1 -m 1
	check "BAR1" BAR1
	check "MSI: set type" "SET IRQ TYPE TO MSI"
	check "MSI: vector 1" MSI1
	pcitest_run -b 2 -m 2
	check "BAR2" BAR2
	check "MSI: vector 2" MSI2
	pcitest_run -b 3 -m 17
	check "BAR3" BAR3
	check "MSI: vector 17" MSI17
	pcitest_run -b 4 -m $MSI_VECTORS
	check "BAR4" BAR4
	check "MSI: vector $MSI_VECTORS" MSI$MSI_VECTORS
	pcitest_run -b 5 -i 2 -x 1
	check "BAR5" BAR5
	check "MSI-X: set type" "SET IRQ TYPE TO MSI-X"
	check "MSI-X: vector 1" MSI-X1
	for v in 2 128 $MSIX_VECTORS; do
		pcitest_run -x "$v"
		check "MSI-X: vector $v" "MSI-X$v"
	done
	# The transfers below complete by MSI
	pcitest_run -i 1
}

test_transfers() {
	pcitest_transfers "outbound window" "DMA"
	t_skip "copy (DMA)" "pci-epf-test refuses copies on slave DMA channels: it needs a memcpy channel"
}

# The benchmark's dma_discard_min: transfers to the host from that size on
# move no data, shorter ones still do, and 0 turns it off. A transfer that
# moved nothing completes, and the host finds its checksum wrong.
pcitest_bad_checksum() {
	pcitest_said "$1" "NOT OKAY" || return 1
	kmsg_has 'DMA to the host moves no data' ||
		{ echo "the controller did not say it discards"; return 1; }
}

test_dma_discard() {
	t_check "dma_discard_min is off by default" test "$(<"$LOOP_DMA_DISCARD")" = 0
	loop_dma_discard 65536
	pcitest_run -r -d -s 1024
	check "dma_discard_min: a shorter transfer moves its data" \
		"READ (   1024 bytes)"
	pcitest_run -r -d -s 1048576
	t_check "dma_discard_min: a longer transfer moves nothing" \
		pcitest_bad_checksum "READ (1048576 bytes)"
	loop_dma_discard 0
	pcitest_run -r -d -s 1048576
	check "dma_discard_min: off again" "READ (1048576 bytes)"
}

# The kselftest, in one run
kst_all() {
	local b
	kst_run "${KST_ALL[@]}"
	for b in 0 1 2 3 4 5; do
		t_check "BAR$b" kst_said pci_ep_bar.BAR$b.BAR_TEST
	done
	t_check "BARs one after another" kst_said pci_ep_basic.CONSECUTIVE_BAR_TEST
	t_check "INTx" kst_said pci_ep_basic.LEGACY_IRQ_TEST
	kst_irqs_transfers $MSI_VECTORS $MSIX_VECTORS "outbound window" DMA
	t_skip "copy (DMA)" "pci-epf-test refuses copies on slave DMA channels: it needs a memcpy channel"
}

# The kselftest's reads by DMA are of 1, 1024, 1025, 1024000 and 1024001
# bytes: with dma_discard_min at 64 KiB, the last two move nothing.
kst_discarded() {
	local sizes
	kst_run pci_ep_data_transfer.dma.READ_TEST
	sizes=$(kst_failed_sizes pci_ep_data_transfer.dma.READ_TEST)
	[[ $sizes == "1024000 1024001 " ]] ||
		{ echo "failed sizes: '$sizes', not the two beyond 64 KiB"; return 1; }
	kmsg_has 'DMA to the host moves no data' ||
		{ echo "the controller did not say it discards"; return 1; }
}

kst_dma_discard() {
	t_check "dma_discard_min is off by default" test "$(<"$LOOP_DMA_DISCARD")" = 0
	loop_dma_discard 65536
	t_check "dma_discard_min: only transfers of 64 KiB and more move nothing" \
		kst_discarded
	loop_dma_discard 0
	kst_run pci_ep_data_transfer.dma.READ_TEST
	t_check "dma_discard_min: off again" kst_said pci_ep_data_transfer.dma.READ_TEST
}

setup
if ept_kselftest; then
	kst_all
	kst_dma_discard
else
	test_bars_irqs
	test_transfers
	test_dma_discard
fi
