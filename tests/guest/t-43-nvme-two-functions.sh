#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: two functions at once, one on each loopback controller,
# each on its own nvmet subsystem and null_blk namespace. fio verifies on
# both at the same time; then one function is unbound and bound again
# while the other keeps taking verified writes.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
. "$RIG_REPO/tests/guest/nvme-lib.sh"
by_flavour FIO_MB 16 2
NAMES=(n0 n1) DIDS=(0xb50f 0xb510) EPCS=(pci-epc-loop.0 pci-epc-loop.1)
NQNS=("$NVMET_NQN-a" "$NVMET_NQN-b")
PORT=$NVMET_CFS/ports/1

targets_up() {
	local i sub
	modprobe nvmet && modprobe nvme-loop || return 1
	modprobe null_blk nr_devices=2 gb=1 bs=512 memory_backed=1 queue_mode=2 || return 1
	mkdir -p "$PORT" && echo loop >"$PORT/addr_trtype" || return 1
	for i in 0 1; do
		sub=$NVMET_CFS/subsystems/${NQNS[i]}
		mkdir -p "$sub/namespaces/1" || return 1
		echo 1 >"$sub/attr_allow_any_host"
		echo "/dev/nullb$i" >"$sub/namespaces/1/device_path"
		echo 1 >"$sub/namespaces/1/enable" || return 1
		ln -s "$sub" "$PORT/subsystems/" || return 1
	done
}

targets_down() {
	local i sub
	for i in 0 1; do
		sub=$NVMET_CFS/subsystems/${NQNS[i]}
		rm -f "$PORT/subsystems/${NQNS[i]}"
		[[ -d $sub ]] || continue
		echo 0 >"$sub/namespaces/1/enable"
		rmdir "$sub/namespaces/1" "$sub"
	done
	rmdir "$PORT" 2>/dev/null
	modprobe -r null_blk 2>/dev/null
	true
}

fn_up() {
	local i=$1 fn
	fn=$(epf_dir pci_epf_nvme "${NAMES[i]}")
	[[ -d $fn ]] || epf_create pci_epf_nvme "${NAMES[i]}" vendorid=$VID \
		deviceid="${DIDS[i]}" msi_interrupts=8 msix_interrupts=8 || return 1
	echo "transport=loop,nqn=${NQNS[i]}" >"$fn/nvme/connect_opts"
	echo 2 >"$fn/nvme/nr_io_queues"
	epf_bind pci_epf_nvme "${NAMES[i]}" "${EPCS[i]}" && epc_start "${EPCS[i]}"
}

fn_down() {
	epc_stop "${EPCS[$1]}" && epf_unbind pci_epf_nvme "${NAMES[$1]}" "${EPCS[$1]}"
}

# host_ns I: print the host's namespace of function I
host_ns() {
	local d c
	d=$(loop_host_dev $VID "${DIDS[$1]}") || return 1
	for c in "$d"/nvme/nvme*; do
		[[ -b /dev/${c##*/}n1 ]] || continue
		echo "/dev/${c##*/}n1"
		return 0
	done
	return 1
}

# find_ns I: wait for it, into DEV[I] (t_check runs in a subshell)
declare -a DEV
find_ns() {
	t_check "host namespace of function $1${2:-}" wait_for 100 host_ns "$1" || return 1
	DEV[$1]=$(host_ns "$1")
}

verify() {
	fio --name="$1" --filename="${DEV[$2]}" --ioengine=io_uring --direct=1 \
		--rw=randwrite --bsrange=4k-128k --iodepth=16 --size="${FIO_MB}M" \
		--verify=crc32c "${@:3}" >"/rig-out/fio-two-$1.txt" 2>&1
}

cleanup() {
	local i
	[[ ! -e /sys/module/nvme/initstate ]] || rmmod nvme
	for i in 0 1; do
		fn_down "$i" 2>/dev/null
		rmdir "$(epf_dir pci_epf_nvme "${NAMES[i]}")" 2>/dev/null
	done
	[[ ! -e /sys/module/pci_epf_nvme/initstate ]] || rmmod pci_epf_nvme
	targets_down
}
t_on_exit cleanup

t_check "loop loads" loop_load || exit 1
t_check "two targets" targets_up || exit 1
modprobe nvme-fabrics
t_check "module loads" insmod "$RIG_MODDIR/pci-epf-nvme.ko" || exit 1
t_check "function 0 on controller 0" fn_up 0 || exit 1
t_check "function 1 on controller 1" fn_up 1 || exit 1
modprobe nvme
find_ns 0 || exit 1
find_ns 1 || exit 1
t_check "two different devices" test "${DEV[0]}" != "${DEV[1]}"

verify both0 0 & pid0=$!
verify both1 1 & pid1=$!
wait "$pid0"; rc0=$?
wait "$pid1"; rc1=$?
t_check "fio verify on function 0, beside function 1" test "$rc0" -eq 0
t_check "fio verify on function 1, beside function 0" test "$rc1" -eq 0

# Function 1 takes verified writes, longer, while function 0 goes and comes
verify busy1 1 --size=$((4 * FIO_MB))M & pid1=$!
t_check "function 0 unbound" fn_down 0
t_check "host device of function 0 gone" wait_for 100 loop_host_dev_gone $VID "${DIDS[0]}"
t_check "function 0 bound again" fn_up 0
find_ns 0 " back"
t_check "fio verify on function 0 after its rebind" verify again0 0
wait "$pid1"; rc1=$?
t_check "function 1 unaffected: fio verify across the rebind" test "$rc1" -eq 0
