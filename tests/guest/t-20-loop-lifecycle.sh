#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lifecycle of the loopback endpoint controller, each cycle repeated so a
# leak or a reference imbalance shows (kmemleak and the log checks of the
# debug kernel catch what a single pass would not): host-side remove and
# rescan, function stop and start, link down and up, PERST, function
# unbind and rebind, and the module unloaded and reloaded.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"

# 5 cycles on the normal kernel. On the debug kernel kmemleak and
# lockdep see a leak or a bad lock order in any single cycle, and two also
# show what only goes wrong on a cycle after the first (state the first
# one left) and a leak that repeats. Both guests share the run's two
# cores, the rig guest on what the debug guest leaves: a cycle cost 3.5 s
# to 20 s on the rig kernel, the latter with the debug guest busy.
if [[ ${RIG_FLAVOUR:-rig} == debug ]]; then
	CYCLES=${LOOP_CYCLES:-2}
else
	CYCLES=${LOOP_CYCLES:-5}
fi
ID=(0x104c 0xb500)

# The host sees the function, its driver is bound and it works end to end:
# a BAR test and an interrupt, in one run of pcitest or the kselftest.
host_works() {
	local dev
	wait_for 100 loop_host_dev "${ID[@]}" || { echo "no host device"; return 1; }
	dev=$(loop_host_dev "${ID[@]}")
	wait_for 100 test -e "$dev/driver" || { echo "no driver on $dev"; return 1; }
	wait_for 50 test -c /dev/pci-endpoint-test.0 || { echo "no char device"; return 1; }
	if ept_kselftest; then
		# every MSI vector of the 4 the function has
		kst_run pci_ep_bar.BAR0.BAR_TEST pci_ep_basic.MSI_TEST
		kst_said pci_ep_bar.BAR0.BAR_TEST &&
			kst_said pci_ep_basic.MSI_TEST "skip MSI5 is disabled"
		return
	fi
	pcitest_run -b 0 -i 1 -m 1
	pcitest_said BAR0 || { echo "BAR0 test failed"; return 1; }
	if ! pcitest_said "SET IRQ TYPE TO MSI" || ! pcitest_said MSI1; then
		echo "MSI test failed"
		return 1
	fi
}

host_gone() { wait_for 100 loop_host_dev_gone "${ID[@]}"; }

setup() {
	loop_load || return 1
	modprobe pci-epf-test && modprobe pci_endpoint_test || return 1
	[[ -d $(epf_dir pci_epf_test lc) ]] ||
		epf_create pci_epf_test lc vendorid=0x104c deviceid=0xb500 \
			msi_interrupts=4 msix_interrupts=4 || return 1
	epf_bind pci_epf_test lc && epc_start && host_works
}

teardown() {
	epc_stop 2>/dev/null
	epf_unbind pci_epf_test lc 2>/dev/null
	host_gone
}

cycle_remove_rescan() {
	local i dev
	for ((i = 0; i < CYCLES; i++)); do
		dev=$(loop_host_dev "${ID[@]}") || { echo "cycle $i: no device"; return 1; }
		echo 1 >"$dev/remove"
		host_gone || { echo "cycle $i: still there after remove"; return 1; }
		echo 1 >/sys/bus/pci/rescan
		host_works || { echo "cycle $i"; return 1; }
	done
}

cycle_stop_start() {
	local i
	for ((i = 0; i < CYCLES; i++)); do
		epc_stop
		host_gone || { echo "cycle $i: still there after stop"; return 1; }
		epc_start
		host_works || { echo "cycle $i"; return 1; }
	done
}

cycle_link() {
	local i sys
	sys=$(epc_sysfs)
	for ((i = 0; i < CYCLES; i++)); do
		echo 0 >"$sys/link"
		[[ $(<"$sys/link") == 0 ]] || { echo "cycle $i: link still up"; return 1; }
		host_gone || { echo "cycle $i: still there after link down"; return 1; }
		echo 1 >"$sys/link"
		host_works || { echo "cycle $i"; return 1; }
	done
}

cycle_perst() {
	local i sys
	sys=$(epc_sysfs)
	for ((i = 0; i < CYCLES; i++)); do
		echo 1 >"$sys/perst"
		host_gone || { echo "cycle $i: still there under PERST"; return 1; }
		echo 0 >"$sys/perst"
		host_works || { echo "cycle $i"; return 1; }
	done
}

cycle_unbind_rebind() {
	local i
	for ((i = 0; i < CYCLES; i++)); do
		teardown || { echo "cycle $i: host device stayed"; return 1; }
		setup || { echo "cycle $i"; return 1; }
	done
}

cycle_reload() {
	local i
	for ((i = 0; i < CYCLES; i++)); do
		teardown || { echo "cycle $i: host device stayed"; return 1; }
		loop_unload || { echo "cycle $i: rmmod failed"; return 1; }
		[[ ! -e /sys/class/pci_epc/$LOOP_EPC ]] || { echo "cycle $i: controller stayed"; return 1; }
		setup || { echo "cycle $i"; return 1; }
	done
}

t_check "set up" setup || exit 1
t_check "remove and rescan x$CYCLES" cycle_remove_rescan
t_check "stop and start x$CYCLES" cycle_stop_start
t_check "link down and up x$CYCLES" cycle_link
t_check "PERST assert and deassert x$CYCLES" cycle_perst
t_check "function unbind and rebind x$CYCLES" cycle_unbind_rebind
t_check "module unload and reload x$CYCLES" cycle_reload
t_check "tear down" teardown
t_check "module unloads" loop_unload
