# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Guest helpers for tests that use the loopback endpoint controller: load
# it, bind an endpoint function through configfs, find the host-side
# device it shows. Source it after lib.sh.

EP_CFS=/sys/kernel/config/pci_ep
LOOP_EPC=pci-epc-loop.0

# loop_load: insert the loop controller module built for this kernel.
loop_load() {
	grep -q '^pci_epc_loop ' /proc/modules && return 0
	insmod "$RIG_MODDIR/pci-epc-loop.ko" "$@"
}

# loop_unload: the endpoint core's configfs group of each controller holds
# a reference on the module, so unbind the alias device first (that removes
# the controllers), then remove the module.
loop_unload() {
	local drv=/sys/bus/pci/drivers/pci-epc-loop dev
	grep -q '^pci_epc_loop ' /proc/modules || return 0
	for dev in "$drv"/0000:*; do
		[[ -e $dev ]] && echo "${dev##*/}" >"$drv/unbind"
	done
	rmmod pci_epc_loop
}

# wait_for COUNT CMD...: poll CMD every 0.1 s until it succeeds, COUNT
# times at most. The first polls come sooner (every 0.02 s for the first
# 0.1 s): most waits here end within a few milliseconds.
wait_for() {
	local tries=$(($1 * 5)) i=0
	shift
	while ((i < tries)); do
		"$@" && return 0
		if ((i < 5)); then
			t_sleep 0.02
			i=$((i + 1))
		else
			t_sleep 0.1
			i=$((i + 5))
		fi
	done
	return 1
}

# loop_host_dev VENDOR DEVICE: print the sysfs path of the host-side
# device with these ids on a loop bus (domains of 0x10000 and up).
loop_host_dev() {
	local d vendor device
	for d in /sys/bus/pci/devices/1????:*; do
		read -r vendor 2>/dev/null <"$d/vendor" || continue
		read -r device 2>/dev/null <"$d/device" || continue
		if [[ $vendor == "$1" && $device == "$2" ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# pcitest runs several tests in one go (one BAR, an IRQ type, INTx, one MSI
# and one MSI-X vector, read, write and copy), one line each: "NAME:<TAB>
# OKAY" or "NOT OKAY" or "(TEST) FAILED". Its exit status is not reliable.
# loop_dma_discard BYTES: the controller's DMA transfers to the host of at
# least BYTES move no data, 0 (the default) for none: the benchmark aid
# dma_discard_min of pci-epc-loop-dma.c.
LOOP_DMA_DISCARD=/sys/module/pci_epc_loop/parameters/dma_discard_min
loop_dma_discard() { echo "$1" >"$LOOP_DMA_DISCARD"; }

# pcitest_run ARGS...: run it once, its output in PCITEST_OUT.
# pcitest_said NAME [RESULT]: the line NAME (e.g. BAR0, MSI17, "READ (
# 1024 bytes)", "SET IRQ TYPE TO MSI", "LEGACY IRQ") says RESULT (default
# OKAY; "NOT OKAY" is a transfer whose checksum was wrong).
PCITEST=$RIG_TREE/tools/pci/pcitest
PCITEST_OUT=

pcitest_run() { PCITEST_OUT=$("$PCITEST" "$@" 2>&1); }

pcitest_said() {
	local line
	while IFS= read -r line; do
		[[ $line == "$1:"* ]] || continue
		[[ ${line##*$'\t'} == "${2:-OKAY}" ]] && return 0
		echo "$line"
		return 1
	done <<<"$PCITEST_OUT"
	echo "no \"$1\" line in: $PCITEST_OUT"
	return 1
}

loop_host_dev_gone() { ! loop_host_dev "$@" >/dev/null; }

# epf_create DRIVER NAME ATTR=VALUE...: make a function and set attributes.
epf_create() {
	local dir=$EP_CFS/functions/$1/$2 kv
	mkdir "$dir" || return 1
	shift 2
	for kv in "$@"; do
		echo "${kv#*=}" >"$dir/${kv%%=*}" || return 1
	done
}

epf_dir() { echo "$EP_CFS/functions/$1/$2"; }

# epf_bind DRIVER NAME [EPC]: link the function under a controller.
epf_bind() {
	ln -s "$(epf_dir "$1" "$2")" "$EP_CFS/controllers/${3:-$LOOP_EPC}/"
}

epf_unbind() {
	rm "$EP_CFS/controllers/${3:-$LOOP_EPC}/$2"
}

epc_start() { echo 1 >"$EP_CFS/controllers/${1:-$LOOP_EPC}/start"; }
epc_stop() { echo 0 >"$EP_CFS/controllers/${1:-$LOOP_EPC}/start"; }

epc_sysfs() { echo "/sys/class/pci_epc/${1:-$LOOP_EPC}"; }
