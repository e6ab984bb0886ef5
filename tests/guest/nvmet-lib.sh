# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Guest helpers that set up NVMe-oF targets (nvmet) for the endpoint
# function to connect to: a subsystem with one namespace on null_blk
# (memory backed, so data can be verified) or on a file, exported on the
# loop transport or on TCP at 127.0.0.1. Source it after lib.sh.

NVMET_CFS=/sys/kernel/config/nvmet
NVMET_NQN=${NVMET_NQN:-nqn.2026-11.io.pci-epf-nvme:rig}
NVMET_TCP_PORT=${NVMET_TCP_PORT:-4420}

# nvmet_backing null|file|nullperf [SIZE_MB]: print the namespace's backing
# device or file, creating it. "nullperf" is a null_blk that stores
# nothing, for benchmarks.
nvmet_backing() {
	local kind=$1 size_mb=${2:-1024} mem=1
	case $kind in
	null|nullperf)
		[[ $kind == nullperf ]] && mem=0
		if [[ ! -b /dev/nullb0 ]]; then
			modprobe null_blk nr_devices=1 gb=$((size_mb / 1024 > 0 ? size_mb / 1024 : 1)) \
				bs=512 memory_backed=$mem discard=$mem queue_mode=2 || return 1
		fi
		echo /dev/nullb0
		;;
	file)
		truncate -s "${size_mb}M" /tmp/nvmet-ns.img || return 1
		echo /tmp/nvmet-ns.img
		;;
	*)
		echo "unknown backing $kind" >&2
		return 1
		;;
	esac
}

# nvmet_setup null|file|nullperf loop|tcp: one subsystem, one namespace,
# exported on port 1.
nvmet_setup() {
	local backing=$1 transport=$2 path sub

	modprobe nvmet || return 1
	path=$(nvmet_backing "$backing") || return 1
	sub=$NVMET_CFS/subsystems/$NVMET_NQN
	mkdir -p "$sub/namespaces/1" || return 1
	echo 1 >"$sub/attr_allow_any_host"
	echo "$path" >"$sub/namespaces/1/device_path"
	[[ $backing == file ]] && echo 1 >"$sub/namespaces/1/buffered_io"
	echo 1 >"$sub/namespaces/1/enable" || return 1
	nvmet_port 1 "$transport"
}

# A second namespace on the subsystem, backed by a file of SIZE_MB:
# nvmet_ns2_add SIZE_MB, nvmet_ns2_remove, and nvmet_ns2_cleanup, which
# removes what is left of it whatever state a failure left.
NVMET_NS2=$NVMET_CFS/subsystems/$NVMET_NQN/namespaces/2
nvmet_ns2_add() {
	truncate -s "$1M" /tmp/nvmet-ns2.img &&
		mkdir "$NVMET_NS2" &&
		echo /tmp/nvmet-ns2.img >"$NVMET_NS2/device_path" &&
		echo 1 >"$NVMET_NS2/enable"
}
nvmet_ns2_remove() { echo 0 >"$NVMET_NS2/enable" && rmdir "$NVMET_NS2"; }
nvmet_ns2_cleanup() {
	[[ ! -d $NVMET_NS2 ]] || nvmet_ns2_remove
	rm -f /tmp/nvmet-ns2.img
}

# nvmet_port ID loop|tcp|pci: export the subsystem on port ID too. A pci
# port is for upstream's NVMe PCI endpoint target (nvmet-pci-epf): its
# endpoint function names the port and the subsystem it serves.
nvmet_port() {
	local port=$NVMET_CFS/ports/$1

	mkdir -p "$port" || return 1
	case $2 in
	loop)
		modprobe nvme-loop || return 1
		echo loop >"$port/addr_trtype"
		;;
	tcp)
		modprobe nvmet-tcp || return 1
		ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
		echo tcp >"$port/addr_trtype"
		echo ipv4 >"$port/addr_adrfam"
		echo 127.0.0.1 >"$port/addr_traddr"
		echo "$NVMET_TCP_PORT" >"$port/addr_trsvcid"
		;;
	pci)
		modprobe nvmet-pci-epf || return 1
		echo pci >"$port/addr_trtype"
		;;
	esac
	ln -s "$NVMET_CFS/subsystems/$NVMET_NQN" "$port/subsystems/"
}

# nvmet_connect_string loop|tcp: the fabrics options for this target.
nvmet_connect_string() {
	case $1 in
	loop) echo "transport=loop,nqn=$NVMET_NQN" ;;
	tcp) echo "transport=tcp,traddr=127.0.0.1,trsvcid=$NVMET_TCP_PORT,nqn=$NVMET_NQN" ;;
	esac
}

nvmet_teardown() {
	local sub=$NVMET_CFS/subsystems/$NVMET_NQN port
	for port in "$NVMET_CFS"/ports/*; do
		[[ -d $port ]] || continue
		rm -f "$port/subsystems/$NVMET_NQN" 2>/dev/null
		rmdir "$port" 2>/dev/null
	done
	if [[ -d $sub ]]; then
		echo 0 >"$sub/namespaces/1/enable" 2>/dev/null
		rmdir "$sub/namespaces/1" 2>/dev/null
		rmdir "$sub" 2>/dev/null
	fi
	rm -f /tmp/nvmet-ns.img
	modprobe -r null_blk 2>/dev/null
	true
}

# nvme_ctrl_of TRANSPORT: print the name of the first NVMe controller
# that runs over TRANSPORT (pcie, loop, tcp).
nvme_ctrl_of() {
	local c
	for c in /sys/class/nvme/nvme*; do
		[[ $(<"$c/transport") == "$1" ]] && { echo "${c##*/}"; return 0; }
	done
	return 1
}

# nvme_pcie_ctrl: the host-side controller that runs over PCIe (the
# function's), as opposed to the endpoint's fabrics one.
nvme_pcie_ctrl() { nvme_ctrl_of pcie; }
