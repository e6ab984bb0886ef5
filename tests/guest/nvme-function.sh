# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The body of the NVMe function's guest tests: the function bound to the
# loopback controller and connected to an nvmet target, the stock nvme.ko
# on the host side. Sourced by t-3*-nvme-*.sh, which set BACKING,
# TRANSPORT, MSI and MSIX (see nvme-lib.sh), and DEBUG_PARTS (below), and
# may define config_checks, run once the host sees the namespace.
# FIO_MB and FIO_SMALL scale the data the fio checks move (smaller on the
# debug kernel, where KASAN makes each I/O many times slower).
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
. "$RIG_REPO/tests/guest/nvme-lib.sh"
if [[ ${RIG_FLAVOUR:-rig} == debug ]]; then
	FIO_MB=${FIO_MB:-4}
	FIO_SMALL=${FIO_SMALL:-1}
else
	FIO_MB=${FIO_MB:-64}
	FIO_SMALL=${FIO_SMALL:-8}
fi
# Every configuration runs the fio set, the data checks and interrupt
# coalescing, on both kernels. The other parts of this script:
#   admin         admin commands, valid and invalid, and queue creation
#                 and deletion behind the host driver's back
#   reset-unbind  controller reset, then function unbind, under load
#   remove        host-side device remove and rescan under load
# all run on rig in every configuration. On the debug kernel, where an
# exec costs about 0.5 s (0.075 s on rig) and the suite is the test run's
# critical path, each configuration runs the parts in its DEBUG_PARTS
# (default all): t-30 (MSI-X, the most queues and vectors) runs the admin
# commands, t-31 (MSI) the reset and unbind, t-32 (INTx) the remove and
# rescan.
# Admin command parsing does not depend on the interrupt type or backend.
ALL_PARTS="admin reset-unbind remove"
DEBUG_PARTS=${DEBUG_PARTS-$ALL_PARTS}
# The rig kernel repeats the coalescing reads for 3 s; debug bounds them
# by size, the same pattern without the seconds.
COALESCE_TIME=(--runtime=3 --time_based)
[[ ${RIG_FLAVOUR:-rig} != debug ]] || COALESCE_TIME=()

# part NAME: whether this run includes part NAME (see above).
part() {
	[[ ${RIG_FLAVOUR:-rig} != debug || " $DEBUG_PARTS " == *" $1 "* ]]
}

# A misspelt part would only ever be skipped: refuse it.
for p in $DEBUG_PARTS; do
	[[ " $ALL_PARTS " == *" $p "* ]] || t_fail "DEBUG_PARTS" "unknown part '$p'"
done

# part_skip NAME WHAT: record WHAT as skipped for part NAME.
part_skip() {
	t_skip "$2" "debug kernel: part '$1' runs in another configuration"
}

# run_part NAME WHAT FN: run FN if this run includes part NAME, else
# record WHAT as skipped.
run_part() {
	if part "$1"; then
		"$3"
	else
		part_skip "$1" "$2"
	fi
}

# Flush, Write Zeroes and Dataset Management (deallocate), checked by
# reading the data back through the host's block device with O_DIRECT.
# Six regions of R bytes, first filled with a random pattern:
#   0  kept: the neighbours of what is zeroed stay as they were
#   1  nvme write-zeroes (the command passed through as is)
#   2  blkdiscard: deallocated by a DSM the host driver builds
#   3  blkdiscard -z: Write Zeroes built by the host driver
#   4  nvme dsm --ad with two ranges, its 2nd and 4th quarters
#   5  kept
# Deallocated blocks read back as zeroes on both backends here (DLFEAT
# does not promise it): a memory-backed null_blk with discard=1 frees the
# sectors, and nvmet's file backend punches a hole in a tmpfs file. tmpfs
# cannot FALLOC_FL_ZERO_RANGE, so nvmet answers Write Zeroes on a file
# with Invalid Opcode; the function must relay that, and the data stays.
# (blkdiscard -z then falls back to writing zeroes.)
R=$((64 << 10))
DATA=/tmp/nvme-data

zero_expected() {
	dd if=/dev/zero of=$DATA.expected bs=4k seek=$(($1 / 4096)) \
		count=$(($2 / 4096)) conv=notrunc status=none
}

data_checks() {
	local ss q=/sys/block/${B#/dev/}/queue
	ss=$(blockdev --getss "$B")
	t_check "host enables discard" test "$(<"$q/discard_max_bytes")" -gt 0
	t_check "host enables write zeroes" test "$(<"$q/write_zeroes_max_bytes")" -gt 0
	head -c $((6 * R)) /dev/urandom >$DATA.pattern
	cp $DATA.pattern $DATA.expected
	t_check "pattern written" dd if=$DATA.pattern of="$B" bs=$R oflag=direct status=none
	if [[ $BACKING == file ]]; then
		t_check "write zeroes relays Invalid Opcode (tmpfs file)" expect_status 0x1 \
			nvme write-zeroes "$B" -n 1 -s $((R / ss)) -c $((R / ss - 1))
	else
		t_check "write zeroes" nvme write-zeroes "$B" -n 1 -s $((R / ss)) -c $((R / ss - 1))
		zero_expected $R $R
	fi
	t_check "discard" blkdiscard -o $((2 * R)) -l $R "$B"
	zero_expected $((2 * R)) $R
	t_check "zeroout" blkdiscard -z -o $((3 * R)) -l $R "$B"
	zero_expected $((3 * R)) $R
	t_check "dsm deallocate, two ranges" nvme dsm "$B" -n 1 --ad \
		-s $(((4 * R + R / 4) / ss)),$(((4 * R + 3 * R / 4) / ss)) \
		-b $((R / 4 / ss)),$((R / 4 / ss))
	zero_expected $((4 * R + R / 4)) $((R / 4))
	zero_expected $((4 * R + 3 * R / 4)) $((R / 4))
	t_check "flush" nvme flush "$B" -n 1
	dd if="$B" of=$DATA.read bs=$R count=6 iflag=direct status=none
	t_check "data read back as expected" cmp $DATA.expected $DATA.read
	rm -f $DATA.*
}

t_on_exit nvme_fn_cleanup
nvme_fn_setup || exit 1
t_check "data pointers as nvme.ko was told (${NVME_HOST_PARAMS:-default})" data_pointers_used
# What the configuration itself promises, from the script that sourced this
if declare -F config_checks >/dev/null; then
	config_checks
fi

# Two jobs of mixed sizes from the sector size to 1 MiB at QD32, then
# (stonewall: after both) 4 KiB writes at QD128, all verified.
fio --filename="$B" --ioengine=io_uring --direct=1 --verify=crc32c \
	--output="/rig-out/fio-verify-$BACKING-$TRANSPORT.txt" \
	--name=v --rw=randrw --bsrange="$(blockdev --getss "$B")-1M" --iodepth=32 \
	--size="${FIO_MB}M" --numjobs=2 --offset_increment=256M \
	--name=q --stonewall --rw=randwrite --bs=4k --iodepth=128 \
	--size=$((FIO_MB / 4 + 1))M
t_check "fio verify, QD32 then QD128" test $? -eq 0
data_checks

# Negative admin commands: status codes from the specification
negative_checks() {
t_check "invalid opcode" expect_status 0x1 nvme admin-passthru "$C" -o 0xbf
t_check "create CQ qid 0" expect_status 0x101 nvme admin-passthru "$C" -o 0x05 --cdw10=0x000f0000 --cdw11=1 -l 4096 -w -i /dev/zero
t_check "create CQ qid 3" expect_status 0x101 nvme admin-passthru "$C" -o 0x05 --cdw10=0x000f0003 --cdw11=1 -l 4096 -w -i /dev/zero
t_check "create CQ existing" expect_status 0x101 nvme admin-passthru "$C" -o 0x05 --cdw10=0x000f0001 --cdw11=1 -l 4096 -w -i /dev/zero
t_check "delete CQ in use" expect_status 0x10c nvme admin-passthru "$C" -o 0x04 --cdw10=1
t_check "delete SQ 7" expect_status 0x101 nvme admin-passthru "$C" -o 0x00 --cdw10=7
t_check "delete SQ 0" expect_status 0x101 nvme admin-passthru "$C" -o 0x00 --cdw10=0
t_check "APST unsupported" expect_status 0x2 nvme get-feature "$C" -f 0x0c
t_check "save unsupported" expect_status 0x10d nvme set-feature "$C" -f 8 -v 0 -s
t_check "log page too long" expect_status 0x2 nvme admin-passthru "$C" -o 0x02 --cdw10=0xffff0002 --cdw11=0xffff -l 4096 -r
}
admin_commands() {
negative_checks
t_check "effects log" eval "nvme effects-log $C | grep -q 'Create I/O Completion'"
t_check "smart log" nvme smart-log "$C"
t_check "error log" nvme error-log "$C" -e 4
t_check "id-ns" nvme id-ns "$B"
}
run_part admin "admin commands" admin_commands
# Coalescing on, with verified writes beside the reads: the function
# still answers I/O correctly after the admin commands above, if any.
t_check "irq coalescing set" nvme set-feature "$C" -f 8 -v 0x0a03
t_check "irq coalescing get" eval "nvme get-feature $C -f 8 | grep -q 0x00000a03"
t_check "fio with coalescing, and verified writes" fio --ioengine=io_uring --direct=1 \
	--filename="$B" --iodepth=16 \
	--name=c --rw=randread --bs=4k --size=$((2 * FIO_SMALL))M "${COALESCE_TIME[@]}" \
	--name=v2 --rw=randwrite --bs=8k --size=$((2 * FIO_SMALL))M --verify=crc32c \
	--offset=$((2 * FIO_SMALL))M

# host_back SUFFIX WHAT: the host's controller and namespace come back
# after WHAT, and take verified writes.
host_back() {
	t_check "host controller back$1" wait_for 100 nvme_pcie_ctrl || return 1
	C=/dev/$(nvme_pcie_ctrl)
	B=${C}n1
	t_check "host namespace back$1" wait_for 100 test -b "$B" || return 1
	t_check "fio after $2" fio --name="$2" --filename="$B" --ioengine=io_uring \
		--direct=1 --rw=randwrite --bs=4k --iodepth=8 --size="${FIO_SMALL}M" \
		--verify=crc32c
}

# Reset under load, then unbind under load
reset_unbind() {
start_load "$B"
t_check "load for reset" load_running "$B"
t_check "reset under load" nvme reset "$C"
t_check "subsystem reset refused (CAP.NSSRS is 0)" eval "! nvme subsystem-reset $C"
t_check "still under load" kill -0 $LOAD_PID
t_check "unbind under load" eval "epc_stop && epf_unbind pci_epf_nvme n0"
t_check "host device gone" wait_for 50 loop_host_dev_gone $VID $DID
t_check "load ends after unbind" stop_load
# A bind that fails after an earlier bind and unbind (the endpoint core
# then calls the unbind of the function whose bind failed): a clean
# error, and nothing left bound.
echo "transport=loop,nqn=$NVMET_NQN-absent" >"$FN/nvme/connect_opts"
t_check "bind refused without a target" eval '! epf_bind pci_epf_nvme n0 2>/dev/null'
t_check "nothing bound after the refusal" eval '[[ ! -e $EP_CFS/controllers/$LOOP_EPC/n0 ]]'
nvmet_connect_string "$TRANSPORT" >"$FN/nvme/connect_opts"
t_check "rebind" eval "epf_bind pci_epf_nvme n0 && epc_start"
host_back "" rebind
}

# Host-side remove and rescan of the function's PCI device under load
remove_rescan() {
D=$(loop_host_dev $VID $DID)
start_load "$B"
t_check "load for remove" load_running "$B"
t_check "remove under load" eval "echo 1 >$D/remove"
t_check "host controller gone" wait_for 100 eval '! nvme_pcie_ctrl >/dev/null'
t_check "load ends after remove" stop_load
echo 1 >/sys/bus/pci/rescan
host_back " after rescan" rescan
}

run_part reset-unbind "reset and unbind under load" reset_unbind
run_part remove "remove and rescan under load" remove_rescan
# Free queue pair 2 behind the host driver's back, then check creation.
# With a single vector (INTx) nvme.ko creates one I/O queue only.
P=(-l 4096 -w -i /dev/zero)
queue_checks() {
t_check "delete SQ 2" nvme admin-passthru "$C" -o 0x00 --cdw10=2
t_check "delete CQ 2" nvme admin-passthru "$C" -o 0x04 --cdw10=2
t_check "create CQ size 1" expect_status 0x102 nvme admin-passthru "$C" -o 0x05 --cdw10=0x00000002 --cdw11=3 "${P[@]}"
t_check "create CQ size > MQES" expect_status 0x102 nvme admin-passthru "$C" -o 0x05 --cdw10=0x00400002 --cdw11=3 "${P[@]}"
t_check "create CQ not contiguous" expect_status 0x2 nvme admin-passthru "$C" -o 0x05 --cdw10=0x000f0002 --cdw11=2 "${P[@]}"
t_check "create CQ bad vector" expect_status 0x108 nvme admin-passthru "$C" -o 0x05 --cdw10=0x000f0002 --cdw11=0x00640003 "${P[@]}"
t_check "create SQ on missing CQ" expect_status 0x100 nvme admin-passthru "$C" -o 0x01 --cdw10=0x000f0002 --cdw11=0x00020001 "${P[@]}"
t_check "create CQ 2" nvme admin-passthru "$C" -o 0x05 --cdw10=0x000f0002 --cdw11=3 "${P[@]}"
t_check "delete CQ 2 again" nvme admin-passthru "$C" -o 0x04 --cdw10=2
t_check "delete CQ 2 twice" expect_status 0x101 nvme admin-passthru "$C" -o 0x04 --cdw10=2
}
if ! part admin; then
	part_skip admin "queue pair 2 checks"
elif [[ $MSI -gt 0 || $MSIX -gt 0 ]]; then
	queue_checks
else
	t_skip "queue pair 2 checks" "INTx only: the host driver creates a single I/O queue"
fi
t_check "shutdown path (rmmod nvme)" rmmod nvme
t_check "stop" epc_stop
t_check "unbind" epf_unbind pci_epf_nvme n0
t_check "rmdir" rmdir "$FN"
t_check "rmmod" rmmod pci_epf_nvme
nvmet_teardown
