#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Check, on a real board and its host, what the QEMU rig cannot: that the
# endpoint controller, its DMA engine and the function work together on
# the PCIe link, and that no completion or data written through the link is
# lost (the DesignWare outbound window trap, see
# Documentation/PCI/endpoint/pci-nvme-function.rst, Data transfers).
# Prints one line per check, "ok" or "FAIL", and a total; exits 1 if any
# check failed.
#
# On the board (as root), with the project's kernel and module installed:
#   scripts/board-check.sh endpoint [--epc NAME] [--nvme "NAME=VALUE..."]
# checks the kernel and the controller, then sets up a 1 GiB memory-backed
# null_blk namespace behind an nvmet loop port and the function in front of
# it (vendor 0x1d87, device 0x3598; --nvme sets attributes of its nvme/
# group, e.g. "cq_windows=0" to compare), and leaves it running. Then
# power up the host (or rescan its bus), and on the host (as root, with
# nvme-cli, fio and pciutils):
#   scripts/board-check.sh host [--seconds N]
# checks what the host sees and runs N seconds (default 60) of verified
# mixed-size writes and reads. Last, on the board:
#   scripts/board-check.sh log      the function's log: no error
#   scripts/board-check.sh clear    removes what "endpoint" set up
#
# Usage: scripts/board-check.sh endpoint [--epc NAME] [--nvme "NAME=VALUE..."] | host [--seconds N] | log | clear
set -uo pipefail

VID=0x1d87 DID=0x3598
NQN=nqn.2026-12.io.pci-epf-nvme:board-check
NVMET=/sys/kernel/config/nvmet
EP=/sys/kernel/config/pci_ep
FN=$EP/functions/pci_epf_nvme/board-check
passed=0 failed=0

check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "ok    $what"
		passed=$((passed + 1))
	else
		echo "FAIL  $what${out:+: $(echo "$out" | tail -n 3 | tr '\n' ' ')}"
		failed=$((failed + 1))
	fi
}

total() {
	echo "$passed passed, $failed failed"
	[[ $failed -eq 0 ]]
}

# The kernel log since the last mark this script left in it: what the
# checks look at, so that older messages do not count.
mark_log() { echo "board-check: mark" >/dev/kmsg; }
log_since_mark() {
	dmesg | awk '/board-check: mark/ { n = 0; delete l; next } { l[n++] = $0 }
		END { for (i = 0; i < n; i++) print l[i] }'
}

kernel_config() {
	if [[ -r /proc/config.gz ]]; then
		zcat /proc/config.gz
	else
		cat "/boot/config-$(uname -r)" 2>/dev/null
	fi
}

# check_config OPTION=VALUE WHY: one check, or one skip when the running
# kernel's configuration cannot be read
check_config() {
	if [[ -z $(kernel_config | head -c 1) ]]; then
		echo "skip  $1: no /proc/config.gz nor /boot/config-$(uname -r) to read it from"
		return
	fi
	check "$1 ($2)" eval "kernel_config | grep -qx '$1'"
}

# The controller to use: the one named, or the only one there is
find_epc() {
	local epcs
	if [[ -n $EPC ]]; then
		[[ -e /sys/class/pci_epc/$EPC ]] || { echo "no endpoint controller $EPC"; return 1; }
		return 0
	fi
	epcs=$(ls /sys/class/pci_epc 2>/dev/null)
	[[ $(wc -w <<<"$epcs") -eq 1 ]] || { echo "endpoint controllers: '${epcs//$'\n'/ }': name one with --epc"; return 1; }
	EPC=$epcs
}

# DMA channels of the controller's parent device, and their directions
dma_chans() {
	local parent c n=0
	parent=$(readlink -f "/sys/class/pci_epc/$EPC/device")
	for c in /sys/class/dma/dma*chan*; do
		[[ -e $c && $(readlink -f "$c/device") == "$parent" ]] && n=$((n + 1))
	done
	echo "$n"
}

dma_ok() {
	local n
	n=$(dma_chans)
	[[ $n -ge 2 ]] || { echo "$n DMA channels: is CONFIG_DW_EDMA built in?"; return 1; }
	echo "$n channels"
}

setup_target() {
	modprobe null_blk nr_devices=1 gb=1 memory_backed=1 queue_mode=2 &&
	modprobe nvmet && modprobe nvme-loop || return 1
	mkdir "$NVMET/subsystems/$NQN" &&
	echo 1 >"$NVMET/subsystems/$NQN/attr_allow_any_host" &&
	mkdir "$NVMET/subsystems/$NQN/namespaces/1" &&
	echo /dev/nullb0 >"$NVMET/subsystems/$NQN/namespaces/1/device_path" &&
	echo 1 >"$NVMET/subsystems/$NQN/namespaces/1/enable" &&
	mkdir "$NVMET/ports/4242" &&
	echo loop >"$NVMET/ports/4242/addr_trtype" &&
	ln -s "$NVMET/subsystems/$NQN" "$NVMET/ports/4242/subsystems/"
}

set_nvme_attrs() {
	local kv
	for kv in $NVME_ATTRS; do
		echo "${kv#*=}" >"$FN/nvme/${kv%%=*}" || return 1
	done
}

setup_function() {
	modprobe nvme-fabrics && modprobe pci-epf-nvme || return 1
	mkdir "$FN" &&
	echo $VID >"$FN/vendorid" &&
	echo $DID >"$FN/deviceid" &&
	echo 8 >"$FN/msix_interrupts" &&
	echo 8 >"$FN/msi_interrupts" &&
	echo "transport=loop,nqn=$NQN" >"$FN/nvme/connect_opts" &&
	echo 4 >"$FN/nvme/nr_io_queues" &&
	set_nvme_attrs &&
	ln -s "$FN" "$EP/controllers/$EPC/" &&
	echo 1 >"$EP/controllers/$EPC/start"
}

fn_uses_dma() {
	! log_since_mark | grep -q 'through outbound windows' ||
		{ echo "the function moves host memory through windows: no usable DMA channel"; return 1; }
}

endpoint() {
	check "running as root" test "$(id -u)" -eq 0
	check_config CONFIG_PCI_ENDPOINT_CONFIGFS=y "functions are set up in configfs"
	check_config CONFIG_DW_EDMA=y "as a module the controller gets no DMA channel"
	check "endpoint controller present" find_epc || return
	echo "      controller: $EPC"
	mark_log
	check "DMA channels of the controller" dma_ok
	check "nvmet target: null_blk 1 GiB on a loop port" setup_target
	check "function bound and started" setup_function || return
	check "function takes DMA channels" fn_uses_dma
	echo "      now power up the host (or: echo 1 > /sys/bus/pci/rescan there),"
	echo "      run 'scripts/board-check.sh host' on it, then 'log' and 'clear' here"
}

# The host side: the function's PCI device as lspci shows it
host_dev() {
	lspci -D -d "${VID#0x}:${DID#0x}" | awk '{ print $1; exit }'
}

lspci_says() {
	lspci -vv -s "$BDF" | grep -q -- "$1" || { echo "lspci -vv does not say \"$1\""; return 1; }
}

no_intx_pin() {
	! lspci -vv -s "$BDF" | grep -q 'Interrupt: pin' ||
		{ echo "the function offers an INTx pin"; return 1; }
}

nvme_ctrl() {
	local c
	for c in /sys/class/nvme/nvme*; do
		[[ $(readlink -f "$c/device") == */$BDF ]] && { echo "${c##*/}"; return 0; }
	done
	return 1
}

verify() {
	fio --name=board-check --filename="/dev/${CTRL}n1" --ioengine=io_uring --direct=1 \
		--rw=randrw --bsrange=4k-1M --iodepth=32 --numjobs=4 --size=256M \
		--offset_increment=256M --verify=crc32c --verify_fatal=1 \
		--runtime="$SECONDS_RUN" --time_based --group_reporting
}

host_errors() {
	log_since_mark | grep -E "nvme ($CTRL|$BDF)" | grep -iE 'timeout|abort|reset|error'
}

# prints_nothing CMD: CMD prints no line; else show its last three
prints_nothing() {
	local out
	out=$("$@")
	[[ -z $out ]] || { tail -n 3 <<<"$out"; return 1; }
}

# wait_block DEV: the block device shows within 30 s
wait_block() {
	local i
	for ((i = 0; i < 300; i++)); do
		[[ -b $1 ]] && return 0
		sleep 0.1
	done
	echo "no $1"
	return 1
}

host() {
	BDF=$(host_dev)
	check "host sees the function ($VID:$DID)" test -n "$BDF" || return
	echo "      device: $BDF"
	check "class: NVM Express" lspci_says 'Non-Volatile memory controller'
	check "BAR 0: 64-bit memory, 1 MiB" lspci_says 'Region 0: Memory at .* (64-bit, non-prefetchable) \[size=1M\]'
	check "MSI-X enabled, 8 vectors" lspci_says 'MSI-X: Enable+ Count=8'
	check "no INTx pin (the RK3588 has none)" no_intx_pin
	check "driver: nvme" lspci_says 'Kernel driver in use: nvme'
	CTRL=$(nvme_ctrl)
	check "NVMe controller" test -n "$CTRL" || return
	check "namespace 1" wait_block "/dev/${CTRL}n1" || return
	mark_log
	check "$SECONDS_RUN s of verified I/O, 4 jobs QD32, 4 KiB-1 MiB" verify
	check "no timeout, abort or reset in the host's log" prints_nothing host_errors
}

fn_errors() {
	log_since_mark | grep -E 'pci_epf_nvme|pci-epf-nvme' | grep -iE 'fail|error|fatal|CFS'
}


clear_all() {
	local c
	for c in "$EP"/controllers/*/board-check; do
		[[ -e $c ]] || continue
		echo 0 >"${c%/board-check}/start"
		rm "$c"
	done
	[[ ! -d $FN ]] || rmdir "$FN"
	rm -f "$NVMET/ports/4242/subsystems/$NQN"
	[[ ! -d $NVMET/ports/4242 ]] || rmdir "$NVMET/ports/4242"
	if [[ -d $NVMET/subsystems/$NQN ]]; then
		echo 0 >"$NVMET/subsystems/$NQN/namespaces/1/enable"
		rmdir "$NVMET/subsystems/$NQN/namespaces/1" "$NVMET/subsystems/$NQN"
	fi
	modprobe -r null_blk 2>/dev/null
	true
}

EPC='' SECONDS_RUN=60 NVME_ATTRS=''
mode=${1:-}
shift || true
while [[ $# -gt 0 ]]; do
	case $1 in
	--epc) EPC=$2; shift 2 ;;
	--seconds) SECONDS_RUN=$2; shift 2 ;;
	--nvme) NVME_ATTRS=$2; shift 2 ;;
	*) mode=usage; break ;;
	esac
done

case $mode in
endpoint) endpoint ;;
host) host ;;
log) check "no error from the function in the log" prints_nothing fn_errors ;;
clear) check "set-up removed" clear_all ;;
*)
	awk '/^# Usage:/ { u = 1 } u && !/^# ./ { exit } u { print substr($0, 3) }' "$0" >&2
	exit 2 ;;
esac
total
