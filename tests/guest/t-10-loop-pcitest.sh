#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The loopback endpoint controller checked with code nobody here wrote: the
# kernel's pci-epf-test function on the endpoint side, pci_endpoint_test on
# the host side, and pcitest from tools/pci of the same tree.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"

PCITEST=$RIG_TREE/tools/pci/pcitest
MSI_VECTORS=32
MSIX_VECTORS=256

cleanup() {
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
	modprobe pci-epf-test || exit 1
	t_check "pci-epf-test binds and starts" eval '
		epf_create pci_epf_test t0 vendorid=0x104c deviceid=0xb500 \
			msi_interrupts='$MSI_VECTORS' msix_interrupts='$MSIX_VECTORS' &&
		epf_bind pci_epf_test t0 && epc_start' || exit 1
	t_check "host sees the function" wait_for 50 loop_host_dev 0x104c 0xb500 || exit 1
	modprobe pci_endpoint_test
	t_check "pci_endpoint_test binds" wait_for 50 test -c /dev/pci-endpoint-test.0 || exit 1
}

# pcitest prints OKAY or NOT OKAY; its exit status is not reliable.
pcitest_ok() {
	local out
	out=$("$PCITEST" "$@" 2>&1)
	echo "$out"
	grep -q 'NOT OKAY' <<<"$out" && return 1
	grep -q 'OKAY' <<<"$out"
}

test_bars() {
	local bar
	for bar in 0 1 2 3 4 5; do
		t_check "BAR$bar" pcitest_ok -b "$bar"
	done
}

test_irqs() {
	local v
	t_check "INTx: set type" pcitest_ok -i 0
	t_check "INTx: raise" pcitest_ok -l
	t_check "MSI: set type" pcitest_ok -i 1
	for v in 1 2 17 $MSI_VECTORS; do
		t_check "MSI: vector $v" pcitest_ok -m "$v"
	done
	t_check "MSI-X: set type" pcitest_ok -i 2
	for v in 1 2 128 $MSIX_VECTORS; do
		t_check "MSI-X: vector $v" pcitest_ok -x "$v"
	done
	# The transfers below complete by MSI
	pcitest_ok -i 1 >/dev/null
}

test_transfers() {
	local size
	for size in 1 1024 65536 1048576; do
		t_check "read $size B (outbound window)" pcitest_ok -r -s "$size"
		t_check "write $size B (outbound window)" pcitest_ok -w -s "$size"
		t_check "copy $size B (outbound window)" pcitest_ok -c -s "$size"
		t_check "read $size B (DMA)" pcitest_ok -r -d -s "$size"
		t_check "write $size B (DMA)" pcitest_ok -w -d -s "$size"
	done
	t_skip "copy (DMA)" "pci-epf-test refuses copies on slave DMA channels: it needs a memcpy channel"
}

setup
test_bars
test_irqs
test_transfers
