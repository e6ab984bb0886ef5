#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/bench.sh. For each backend (nvmet loop over a
# null_blk that stores nothing, the same over a null_blk that stores the
# data in memory, nvme-tcp to 127.0.0.1), one nvmet target and three ways
# to reach its namespace from the same kernel:
#   function: the host's nvme.ko -> PCIe (pci-epc-loop.0) -> pci-epf-nvme
#             -> the function's fabrics controller -> the target
#   upstream: the host's nvme.ko -> PCIe (pci-epc-loop.1) -> nvmet-pci-epf,
#             upstream's NVMe PCI endpoint target, an nvmet transport
#             serving the same subsystem on a port of its own (kernels
#             that have it: Linux 6.14 and later)
#   direct:   a fabrics controller connected on the endpoint -> the target
#             (the ceiling: the same backend with no PCIe emulation)
# Both PCIe paths pay the same loop controller's costs (a CPU copy for
# each DMA transfer, bounce windows). Every point runs on each path, one
# after the other, repeated, the order rotated on each repetition. Raw fio
# JSON and CPU counters go to $RIG_OUT/raw/; scripts/bench/report.py turns
# them into the results.
set -euo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
. "$RIG_OUT/bench.env"

VID=0x104c DID=0xb50f
# nvmet-pci-epf takes its vendor id from the subsystem
UP_VID=0x1b96 UP_DID=0xbeef UP_EPC=pci-epc-loop.1
FN_NAME=bench
RAW=$RIG_OUT/raw
declare -A DEV=()
FABRICS_FD=
POLLER_PID=

say() { echo "bench: $*" | tee -a "$RIG_OUT/bench.log" >/dev/kmsg; }

# Busy and total jiffies of all CPUs, from the first line of /proc/stat
cpu_ticks() {
	local _cpu user nice sys idle iowait irq softirq steal _rest
	read -r _cpu user nice sys idle iowait irq softirq steal _rest </proc/stat
	echo "$((user + nice + sys + irq + softirq + steal)) $((user + nice + sys + idle + iowait + irq + softirq + steal))"
}

uptime_s() {
	local up _idle
	read -r up _idle </proc/uptime
	echo "$up"
}

# poller_pid: the pid of the function's polling thread (named after the
# function's device, pci_epf_nvme.N)
poller_pid() {
	local f
	for f in /proc/[0-9]*/comm; do
		if [[ $(cat "$f" 2>/dev/null) == pci_epf_nvme.* ]]; then
			f=${f#/proc/}
			echo "${f%/comm}"
			return 0
		fi
	done
	return 1
}

# CPU jiffies (utime + stime) of the function's polling thread
poller_ticks() {
	local stat
	[[ -n $POLLER_PID ]] || { echo 0; return; }
	read -ra stat <"/proc/$POLLER_PID/stat"
	echo "$((stat[13] + stat[14]))"
}

# fabrics_connect OPTIONS: connect a fabrics controller on the endpoint;
# print its name (nvmeN).
fabrics_connect() {
	local reply
	exec {FABRICS_FD}<>/dev/nvme-fabrics
	printf '%s' "$1" >&"$FABRICS_FD"
	read -r reply <&"$FABRICS_FD"
	exec {FABRICS_FD}>&-
	reply=${reply#instance=}
	echo "nvme${reply%%,*}"
}

fabrics_disconnect() {
	echo 1 >"/sys/class/nvme/$1/delete_controller"
}

function_up() {
	local transport=$1 nr_queues=$2 fn
	fn=$(epf_dir pci_epf_nvme $FN_NAME)
	[[ -d $fn ]] || epf_create pci_epf_nvme $FN_NAME vendorid=$VID \
		deviceid=$DID msix_interrupts=8 msi_interrupts=8
	# Rebound while the direct path is connected (scaling): the same
	# options again, which IP transports refuse unless asked (-EALREADY).
	echo "$(nvmet_connect_string "$transport")${DEV[direct]:+,duplicate_connect}" \
		>"$fn/nvme/connect_opts"
	echo "$nr_queues" >"$fn/nvme/nr_io_queues"
	echo "$BENCH_QUEUE_DEPTH" >"$fn/nvme/queue_depth"
	# shellcheck disable=SC2086 # a list of NAME=VALUE words
	set_attrs "$fn/nvme" ${BENCH_FN_NVME:-}
	epf_bind pci_epf_nvme $FN_NAME
	epc_start
	wait_for 100 loop_host_dev $VID $DID
	modprobe nvme
	wait_for 200 nvme_ctrl_of_pci $VID $DID
	DEV[function]=/dev/$(nvme_ctrl_of_pci $VID $DID)n1
	wait_for 200 test -b "${DEV[function]}"
	POLLER_PID=$(poller_pid)
	say "function path: ${DEV[function]}${BENCH_FN_NVME:+ (nvme/ $BENCH_FN_NVME)}, poller pid $POLLER_PID, $nr_queues queue pairs offered," \
		"$(ls "/sys/block/$(basename "${DEV[function]}")/mq" | wc -l) used by the host"
}

# nvme_ctrl_of_pci VENDOR DEVICE: the host's NVMe controller (nvmeN) of
# the PCI function with these ids
nvme_ctrl_of_pci() {
	local dev c
	dev=$(loop_host_dev "$1" "$2") || return 1
	for c in /sys/class/nvme/nvme*; do
		[[ $(readlink -f "$c/device") == "$(readlink -f "$dev")" ]] &&
			{ echo "${c##*/}"; return 0; }
	done
	return 1
}

upstream_up() {
	local fn ctrl
	[[ -n $UPSTREAM ]] || return 0
	fn=$(epf_dir nvmet_pci_epf $FN_NAME)
	[[ -d $fn ]] || epf_create nvmet_pci_epf $FN_NAME deviceid=$UP_DID \
		msix_interrupts=8 msi_interrupts=8
	set_attrs "$fn/nvme" portid=2 subsysnqn="$NVMET_NQN"
	epf_bind nvmet_pci_epf $FN_NAME $UP_EPC
	epc_start $UP_EPC
	wait_for 100 loop_host_dev $UP_VID $UP_DID
	modprobe nvme
	wait_for 200 nvme_ctrl_of_pci $UP_VID $UP_DID
	ctrl=$(nvme_ctrl_of_pci $UP_VID $UP_DID)
	wait_for 200 test -b "/dev/${ctrl}n1"
	DEV[upstream]=/dev/${ctrl}n1
	# without DMA channels it moves data by MMIO: a different driver path
	say "upstream path: ${DEV[upstream]}," \
		"$(ls "/sys/block/${ctrl}n1/mq" | wc -l) queues used by the host," \
		"$(loop_dma_taken $UP_EPC) DMA channels taken"
}

upstream_down() {
	[[ -n ${DEV[upstream]:-} ]] || return 0
	echo "$(basename "$(readlink -f "$(loop_host_dev $UP_VID $UP_DID)")")" \
		>/sys/bus/pci/drivers/nvme/unbind
	epc_stop $UP_EPC
	epf_unbind nvmet_pci_epf $FN_NAME $UP_EPC
	wait_for 100 loop_host_dev_gone $UP_VID $UP_DID
	unset 'DEV[upstream]'
}

function_down() {
	echo "$(basename "$(readlink -f "$(loop_host_dev $VID $DID)")")" \
		>/sys/bus/pci/drivers/nvme/unbind
	epc_stop
	epf_unbind pci_epf_nvme $FN_NAME
	wait_for 100 loop_host_dev_gone $VID $DID
	POLLER_PID=
}

direct_up() {
	local ctrl
	# The function is connected to the same subsystem with the same
	# options: IP transports refuse that unless asked (-EALREADY).
	ctrl=$(fabrics_connect "$(nvmet_connect_string "$1"),duplicate_connect")
	wait_for 200 test -b "/dev/${ctrl}n1"
	DEV[direct]=/dev/${ctrl}n1
	say "direct path: ${DEV[direct]}"
}

direct_down() {
	fabrics_disconnect "$(basename "${DEV[direct]}" n1)"
	unset 'DEV[direct]'
}

# run_point BACKEND GROUP NAME PATH FIO_ARGS...: one fio run and its CPU
# counters, in RAW/BACKEND/GROUP/NAME/PATH.REP.{json,cpu}
run_point() {
	local backend=$1 group=$2 name=$3 path=$4 rep=$5 dir c0
	shift 5
	dir=$RAW/$backend/$group/$name
	mkdir -p "$dir"
	if [[ $group == dmafree && $path != direct ]]; then
		loop_dma_discard "$DMAFREE_MIN"
	fi
	c0="$(cpu_ticks) $(poller_ticks) $(uptime_s)"
	[[ -z $BENCH_PROFILE || $rep != 0 || ! $group/$name =~ $BENCH_PROFILE ]] ||
		profile "$dir/$path" &
	fio --name="$name" --filename="${DEV[$path]}" --ioengine=io_uring \
		--direct=1 --time_based --runtime="$BENCH_RUNTIME" \
		--ramp_time="$BENCH_RAMP" --group_reporting --randrepeat=0 \
		--norandommap --size="$SIZE" --lat_percentiles=1 --output-format=json \
		--output="$dir/$path.$rep.json" "$@" >/dev/null
	echo "$c0 $(cpu_ticks) $(poller_ticks) $(uptime_s)" >"$dir/$path.$rep.cpu"
	loop_dma_discard 0
	wait
	settle "$path"
}

# settle PATH: wait until PATH's endpoint side stops polling after a run,
# so that the next run does not pay for it: nvmet-pci-epf keeps polling
# its submission queues without a pause for 5 s after the last command
# (NVMET_PCI_EPF_SQ_POLL_IDLE), the function for 1 s
# (PCI_EPF_NVME_POLL_IDLE_NS).
settle() {
	case $1 in
	upstream) t_sleep 5.5 ;;
	function) t_sleep 1.2 ;;
	esac
}

# profile PREFIX: sample all CPUs during a run (after its ramp), and keep
# the reports, by symbol, by thread and by both, in PREFIX.perf*.txt
profile() {
	sleep "$BENCH_RAMP"
	perf record -a -g -F 499 -o /tmp/perf.data -- sleep "$BENCH_RUNTIME" \
		>/dev/null 2>&1 || return 0
	perf report -i /tmp/perf.data --stdio --no-children --sort sym \
		--percent-limit 0.5 -g none >"$1.perf.txt" 2>/dev/null
	perf report -i /tmp/perf.data --stdio --no-children --sort comm \
		>"$1.perf-comm.txt" 2>/dev/null
	perf report -i /tmp/perf.data --stdio --no-children --sort comm,sym \
		--percent-limit 0.3 -g none >"$1.perf-comm-sym.txt" 2>/dev/null
	rm -f /tmp/perf.data
}

# point BACKEND GROUP NAME FIO_ARGS...: the point on every path, repeated,
# each repetition starting from another path
point() {
	local backend=$1 group=$2 name=$3 rep paths i n
	shift 3
	[[ -z $BENCH_ONLY || $group/$name =~ $BENCH_ONLY ]] || return 0
	paths=(function direct ${UPSTREAM:+upstream})
	n=${#paths[@]}
	for ((rep = 0; rep < BENCH_REPS; rep++)); do
		for ((i = 0; i < n; i++)); do
			run_point "$backend" "$group" "$name" "${paths[(rep + i) % n]}" \
				"$rep" "$@"
		done
	done
	say "$backend $group/$name done"
}

# The side-by-side points: 4 KiB random I/O over queue depths and jobs,
# large sequential I/O. QD1 also gives the latency percentiles.
matrix() {
	local backend=$1 rw qd jobs bs
	for rw in randread randwrite; do
		for jobs in 1 4; do
			for qd in $BENCH_DEPTHS; do
				point "$backend" 4k "$rw-qd$qd-j$jobs" --rw=$rw --bs=4k \
					--iodepth="$qd" --numjobs="$jobs"
			done
		done
	done
	for rw in read write; do
		for bs in 128k 512k; do
			point "$backend" seq "$rw-$bs-qd32" --rw=$rw --bs=$bs \
				--iodepth=32 --numjobs=1
		done
	done
}

# Sequential reads again, with the loopback controller's DMA moving no
# data on the function's and upstream's paths: what the function costs when, as on a board,
# the DMA engine needs no CPU. fio's buffers are page aligned, so each data
# segment is at least a page; the function writes at most 64 completion
# entries (1 KiB) at once, and those still move. Nothing else is written
# to the host while fio runs.
DMAFREE_MIN=4096
dmafree() {
	local backend=$1 bs
	for bs in 128k 512k; do
		point "$backend" dmafree "read-$bs-qd32" --rw=read --bs=$bs \
			--iodepth=32 --numjobs=1
	done
}

# CPU used while nothing happens, over BENCH_IDLE seconds: as "baseline"
# before any endpoint function is bound, as "function" or "upstream" with
# that one alone bound and its host driver loaded but idle (after its
# busy polling ended).
idle_point() {
	local backend=$1 what=$2 dir=$RAW/$1/idle c0
	[[ -z $BENCH_ONLY || idle =~ $BENCH_ONLY ]] || return 0
	mkdir -p "$dir"
	# after the polling that follows the set-up (5 s for nvmet-pci-epf)
	sleep 6
	c0="$(cpu_ticks) $(poller_ticks) $(uptime_s)"
	sleep "$BENCH_IDLE"
	echo "$c0 $(cpu_ticks) $(poller_ticks) $(uptime_s)" >"$dir/$what.0.cpu"
	say "$backend idle $what: $(<"$dir/$what.0.cpu")"
}

# Scaling with the I/O queue pairs offered to the host: 4 jobs at QD32.
# The function offers nr_io_queues; nvmet-pci-epf offers the subsystem's
# qid_max, which also bounds the fabrics controllers' queues (the
# function's backend and the direct path), so each step brings every path
# up again.
scaling() {
	local backend=$1 transport=$2 nr
	[[ -z $BENCH_ONLY || scaling =~ $BENCH_ONLY ]] || return 0
	for nr in 1 2 4; do
		paths_down
		echo "$nr" >"$NVMET_CFS/subsystems/$NVMET_NQN/attr_qid_max"
		paths_up "$transport" "$nr"
		echo "$(ls "/sys/block/$(basename "${DEV[function]}")/mq" | wc -l)" \
			>"$RAW/$backend/host-queues-$nr"
		point "$backend" scaling "randread-qd32-j4-q$nr" --rw=randread \
			--bs=4k --iodepth=32 --numjobs=4
	done
}

# paths_up TRANSPORT NR_QUEUES / paths_down: all three paths
paths_up() {
	function_up "$1" "$2"
	direct_up "$1"
	upstream_up
}

paths_down() {
	upstream_down
	direct_down
	function_down
}

# A backend: how the function reaches the namespace (its transport), and
# what backs the namespace. mem: a null_blk that keeps the data (in the
# guest's memory, so fio stays within SIZE of it).
bench_backend() {
	local backend=$1 transport=$1 backing=nullperf sub
	SIZE=1G
	if [[ $backend == mem ]]; then
		transport=loop backing=null SIZE=512M
	fi
	say "== backend $backend (transport $transport, backing $backing)"
	nvmet_setup "$backing" "$transport"
	sub=$NVMET_CFS/subsystems/$NVMET_NQN
	echo "$BENCH_QUEUES" >"$sub/attr_qid_max"
	if [[ -n $UPSTREAM ]]; then
		echo $UP_VID >"$sub/attr_vendor_id"
		echo $UP_VID >"$sub/attr_subsys_vendor_id"
		nvmet_port 2 pci
	fi
	mkdir -p "$RAW/$backend"
	loop_load
	idle_point "$backend" baseline
	if [[ -n $UPSTREAM ]]; then
		upstream_up
		idle_point "$backend" upstream
		upstream_down
	fi
	function_up "$transport" "$BENCH_QUEUES"
	idle_point "$backend" function
	direct_up "$transport"
	upstream_up
	matrix "$backend"
	dmafree "$backend"
	scaling "$backend" "$transport"
	paths_down
	rmdir "$(epf_dir pci_epf_nvme $FN_NAME)"
	[[ -z $UPSTREAM ]] || rmdir "$(epf_dir nvmet_pci_epf $FN_NAME)"
	nvmet_teardown
}

main() {
	local backend
	mkdir -p "$RAW"
	modprobe nvme-fabrics
	insmod "$RIG_MODDIR/pci-epf-nvme.ko"
	uname -r >"$RAW/kernel"
	nproc >"$RAW/cpus"
	# upstream's target, where the kernel has it
	UPSTREAM=
	if modprobe nvmet-pci-epf 2>/dev/null; then
		UPSTREAM=1
	else
		say "no nvmet-pci-epf in $(uname -r): function and direct paths only"
	fi
	for backend in $BENCH_BACKENDS; do
		bench_backend "$backend"
	done
	rmmod pci_epf_nvme
	say "done"
}

main
