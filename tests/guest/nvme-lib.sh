# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# shellcheck disable=SC2034 # D, C and B are for the scripts that source this
#
# Guest helpers for the NVMe function's tests: bring the function up on
# the loopback controller, connected to an nvmet target, under the host's
# stock nvme.ko; tear it down; run fio load on the host's namespace.
# Source it after lib.sh, loop-lib.sh and nvmet-lib.sh. The caller may set:
#   BACKING    null | file            (nvmet namespace backend)
#   TRANSPORT  loop | tcp             (fabrics transport to the target)
#   MSI, MSIX  vectors the function offers (both 0: INTx only)
#   CONNECT_EXTRA  more fabrics connect options, after a comma
#   FN_NVME    more attributes of the function's nvme/ group, as
#              NAME=VALUE words (e.g. "mdts_kb=8")
#   NVME_HOST_PARAMS  the host's nvme.ko module parameters (default: PRPs
#              only, "sgl_threshold=0", on the rig kernels; SGLs for every
#              I/O command of more than one page, "sgl_threshold=1", on the
#              debug kernel: the suite runs over both kinds of data pointer)
#   LOOP_PROFILE, LOOP_DMA  the loop controller's profile and DMA
#              channels (see loop_load; default generic, Y)

: "${BACKING:=null}" "${TRANSPORT:=loop}" "${MSI:=8}" "${MSIX:=8}"
if [[ -z ${NVME_HOST_PARAMS+set} ]]; then
	case ${RIG_FLAVOUR:-rig} in
	debug) NVME_HOST_PARAMS="sgl_threshold=1" ;;
	*) NVME_HOST_PARAMS="sgl_threshold=0" ;;
	esac
fi
VID=0x104c DID=0xb50f
FN=$(epf_dir pci_epf_nvme n0)
# Set by nvme_fn_setup: the host-side PCI device, controller and namespace.
D='' C='' B=''

# expect_status CODE CMD...: nvme-cli must fail with status CODE: the
# status code type and code (bits 10:0) of the status field it prints; the
# CRD, More and DNR bits may be anything (a status relayed from nvmet
# carries More, as nvmet logs its errors).
# The status is the last "(0x...)" of the output; found in bash, as an
# exec costs up to a second on the debug kernel.
expect_status() {
	local code=$1 out st=
	shift
	out=$("$@" 2>&1)
	echo "$out"
	while [[ $out =~ \((0x[0-9a-fA-F]+)\)(.*)$ ]]; do
		st=${BASH_REMATCH[1]}
		out=${BASH_REMATCH[2]}
	done
	[[ -n $st ]] && (((st & 0x7ff) == code))
}

# by_flavour VAR RIG DEBUG: VAR gets RIG on the rig kernel, DEBUG on the
# debug one (KASAN makes each I/O many times slower there).
by_flavour() {
	if [[ ${RIG_FLAVOUR:-rig} == debug ]]; then
		printf -v "$1" '%s' "$3"
	else
		printf -v "$1" '%s' "$2"
	fi
}

# fio's engine for I/O that the device fails for good (a namespace gone
# with its backend). On Linux 7.3, io_uring re-issues a read or write the
# block layer failed as "not supported", which is how nvme.ko maps Invalid
# Namespace, for as long as the device answers so, and fio never sees the
# error (here about 35,000 failed reads a second for 5 minutes, until the
# script was killed; io_rw_should_reissue() lost its task-context check
# after 6.12). psync gives fio the error at once on every kernel (the
# guests' fio has no libaio).
GONE_IOENGINE=psync

# nvme_fn_setup: the whole bring-up, each step a result. Fails at the
# first step that fails. nvme_fn_create, then nvme_fn_start.
nvme_fn_setup() { nvme_fn_create && nvme_fn_start; }

# nvme_fn_create: the target, the modules and the function, not bound.
nvme_fn_create() {
	t_check "loop loads" loop_load "${LOOP_PROFILE:-generic}" "${LOOP_DMA:-Y}" || return 1
	t_check "nvmet $BACKING $TRANSPORT" nvmet_setup "$BACKING" "$TRANSPORT" || return 1
	modprobe nvme-fabrics
	t_check "module loads" insmod "$RIG_MODDIR/pci-epf-nvme.ko" || return 1
	t_check "function" epf_create pci_epf_nvme n0 vendorid=$VID deviceid=$DID \
		msi_interrupts="$MSI" msix_interrupts="$MSIX"
}

# nvme_fn_start: configure, bind and start the function, and wait for the
# host's controller and namespace.
nvme_fn_start() {
	echo "$(nvmet_connect_string "$TRANSPORT")${CONNECT_EXTRA:+,$CONNECT_EXTRA}" \
		>"$FN/nvme/connect_opts"
	echo 2 >"$FN/nvme/nr_io_queues"
	echo 64 >"$FN/nvme/queue_depth"
	# shellcheck disable=SC2086 # FN_NVME is a list of words
	set_attrs "$FN/nvme" ${FN_NVME:-} || return 1
	t_check "bind" epf_bind pci_epf_nvme n0 || { dmesg | tail; return 1; }
	t_check "no namespace node on the endpoint" eval '! ls /dev/nvme*n* /dev/ng* 2>/dev/null'
	t_check "start" epc_start || return 1
	t_check "host sees the function" wait_for 50 loop_host_dev $VID $DID || return 1
	D=$(loop_host_dev $VID $DID)
	# shellcheck disable=SC2086 # NVME_HOST_PARAMS is a list of words
	modprobe nvme ${NVME_HOST_PARAMS:-}
	t_check "host controller" wait_for 100 nvme_pcie_ctrl || { dmesg | tail -30; return 1; }
	C=/dev/$(nvme_pcie_ctrl)
	B=${C}n1
	t_check "host namespace" wait_for 100 test -b "$B" || { dmesg | tail -30; return 1; }
}

# data_pointers_used: 8 reads of 128 KiB are counted by the function as
# commands with SGLs when nvme.ko was loaded with sgl_threshold=1, with
# PRPs otherwise, and the other count does not move.
data_pointers_used() {
	local dbg want=prp other=sgl w0 o0
	[[ " $NVME_HOST_PARAMS " == *" sgl_threshold=1 "* ]] && want=sgl other=prp
	dbg=$(echo /sys/kernel/debug/pci_epf_nvme/pci_epf_nvme.*)
	w0=$(<"$dbg/${want}_commands") o0=$(<"$dbg/${other}_commands")
	dd if="$B" of=/dev/null bs=128k count=8 iflag=direct 2>/dev/null || return 1
	echo "$want commands: $w0 -> $(<"$dbg/${want}_commands"), $other: $o0 -> $(<"$dbg/${other}_commands")"
	test "$(<"$dbg/${want}_commands")" -ge $((w0 + 8)) &&
		test "$(<"$dbg/${other}_commands")" -eq "$o0"
}

# host_ns NSID: the host's block device of that NSID (the names follow the
# order of the host's scan, not the NSIDs)
host_ns() {
	local b
	for b in /sys/block/"${C#/dev/}"n*; do
		[[ -e $b/nsid && $(<"$b/nsid") == "$1" ]] && { echo "/dev/${b##*/}"; return 0; }
	done
	return 1
}

# Kernel fault injection (debug kernel) aimed at the function's poller, the
# kernel thread named after the function's device, which fetches, starts
# and completes every I/O command. DIR is the injector's debugfs directory
# (/sys/kernel/debug/failslab, fail_page_alloc).
FAULT_BUDGET=1000000
fn_poller() { pgrep -x 'pci_epf_nvme\.[0-9]+'; }

# poller_faults_on DIR PERCENT [NAME=VALUE...]: fail PERCENT % of the
# poller's allocations DIR sees, with DIR's other attributes NAME set.
poller_faults_on() {
	local dir=$1 percent=$2 poller
	shift 2
	poller=$(fn_poller) || return 1
	set_attrs "$dir" task-filter=Y ignore-gfp-wait=N verbose=0 interval=1 \
		times=$FAULT_BUDGET "$@" probability="$percent" || return 1
	echo 1 >"/proc/$poller/make-it-fail"
}

# poller_faults_off DIR: no more injected failures; print how many there were
poller_faults_off() {
	local poller
	poller=$(fn_poller) && echo 0 >"/proc/$poller/make-it-fail"
	echo 0 >"$1/probability"
	echo $((FAULT_BUDGET - $(<"$1/times")))
}

# nvme_fn_cleanup: leave nothing behind for the next script, whatever
# state a failure left: a failure in one configuration must not fail the
# next one's set-up. After a clean run every step finds nothing to do.
nvme_fn_cleanup() {
	[[ -z $LOAD_PID ]] || kill -9 "$LOAD_PID" 2>/dev/null
	[[ ! -e /sys/module/nvme/initstate ]] || rmmod nvme
	epc_stop 2>/dev/null
	epf_unbind pci_epf_nvme n0 2>/dev/null
	[[ ! -d $FN ]] || rmdir "$FN"
	[[ ! -e /sys/module/pci_epf_nvme/initstate ]] || rmmod pci_epf_nvme
	nvmet_teardown
}

# Background load on the host's namespace, for the checks "under load".
# start_load DEV [FIO ARGS...] starts fio on DEV (its pid in LOAD_PID);
# load_running DEV then waits until the device has completed I/O since
# (the load really runs) and fio is still there.
LOAD_PID='' LOAD_N0=0

io_count() {
	local s
	read -ra s <"/sys/block/${1#/dev/}/stat" || return 1
	echo $((s[0] + s[4]))
}

io_grew() { [[ $(io_count "$1") -gt $((LOAD_N0 + 64)) ]]; }

start_load() {
	local dev=$1
	shift
	LOAD_N0=$(io_count "$dev")
	fio --name=load --filename="$dev" --ioengine=io_uring --direct=1 --rw=randrw \
		--bs=4k --iodepth=32 --runtime=120 --time_based --size=64M "$@" \
		>/dev/null 2>&1 &
	LOAD_PID=$!
}

load_running() {
	wait_for 150 io_grew "$1" || { echo "no I/O on $1 after 15 s"; return 1; }
	kill -0 "$LOAD_PID" || { echo "fio ended early"; return 1; }
}

# Gone: no such process, or a zombie (exited, not yet reaped).
load_gone() {
	local s
	read -ra s 2>/dev/null <"/proc/$LOAD_PID/stat" || return 0
	[[ ${s[2]} == Z ]]
}

# stop_load: fio must end within 10 s of a SIGTERM (or by itself, when
# its device went away): I/O stuck in the kernel would keep it.
stop_load() {
	local rc=0
	kill "$LOAD_PID" 2>/dev/null
	if wait_for 100 load_gone; then
		wait "$LOAD_PID" 2>/dev/null
	else
		# Not waited for: stuck in the kernel, it would block us too
		echo "fio still there 10 s after SIGTERM"
		kill -9 "$LOAD_PID" 2>/dev/null
		rc=1
	fi
	LOAD_PID=''
	return "$rc"
}
