#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/board-check.sh, the board owner's check, run in the rig as on a
# board: its endpoint side on the loop controller's rk3588 profile, its
# host side on the same kernel's nvme.ko, then its log and clear steps.
# Its output must pass every check, and it must leave nothing behind.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"

SCRIPT=$RIG_REPO/scripts/board-check.sh
OUT=/rig-out/board-check.txt

cleanup() {
	[[ ! -e /sys/module/nvme/initstate ]] || rmmod nvme
	"$SCRIPT" clear >/dev/null
	[[ ! -e /sys/module/pci_epf_nvme/initstate ]] || rmmod pci_epf_nvme
	loop_unload
}

# run STEP ARGS...: the script's step passes, with the checks it prints
run() {
	local out
	out=$("$SCRIPT" "$@" 2>&1)
	local rc=$?
	echo "== $*" >>"$OUT"
	echo "$out" >>"$OUT"
	echo "$out"
	[[ $rc -eq 0 && $out == *" passed, 0 failed" ]]
}

no_leftovers() {
	[[ ! -e /sys/kernel/config/pci_ep/functions/pci_epf_nvme/board-check ]] &&
		[[ -z $(ls /sys/kernel/config/nvmet/subsystems) ]] &&
		[[ -z $(ls /sys/kernel/config/nvmet/ports) ]]
}

if [[ ${RIG_FLAVOUR:-rig} == debug ]]; then
	t_skip "board check" "rig kernel only: the script does the same on both kernels, and the debug guest is the run's critical path"
	exit 0
fi

t_on_exit cleanup
: >"$OUT"
t_check "loop loads with profile rk3588" loop_load rk3588 || exit 1
# The script loads modules with modprobe: let it find the function's
insmod "$RIG_MODDIR/pci-epf-nvme.ko" 2>/dev/null
t_check "endpoint side" run endpoint --epc "$LOOP_EPC" || exit 1
modprobe nvme
t_check "host's nvme driver has the function" \
	wait_for 100 eval 'ls -d /sys/bus/pci/drivers/nvme/1????:* >/dev/null 2>&1'
t_check "host side" run host --seconds 10
t_check "function's log" run log
t_check "clear" run clear
t_check "nothing left behind" no_leftovers
t_check "clear a second time finds nothing to do" run clear
