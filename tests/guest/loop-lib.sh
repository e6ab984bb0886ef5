# SPDX-License-Identifier: GPL-2.0
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
		[[ -e $dev ]] && echo "$(basename "$dev")" >"$drv/unbind"
	done
	rmmod pci_epc_loop
}

# wait_for COUNT CMD...: poll CMD every 0.1 s until it succeeds.
wait_for() {
	local tries=$1
	shift
	while ((tries-- > 0)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# loop_host_dev VENDOR DEVICE: print the sysfs path of the host-side
# device with these ids on a loop bus (domains of 0x10000 and up).
loop_host_dev() {
	local d
	for d in /sys/bus/pci/devices/1????:*; do
		[[ -e $d/vendor ]] || continue
		if [[ $(<"$d/vendor") == "$1" && $(<"$d/device") == "$2" ]]; then
			echo "$d"
			return 0
		fi
	done
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
