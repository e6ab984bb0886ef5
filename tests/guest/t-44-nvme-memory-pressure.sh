#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function under memory pressure: the kernel's slab fault injection
# (failslab, debug kernel only) fails a share of the allocations made by
# the function's poller, which fetches, prepares, forwards and completes
# every I/O command, while the host runs I/O. Commands may fail (with
# Internal Error, which the host retries), nothing hangs; when the
# pressure ends the function serves verified I/O again. A failed transfer
# of queue entries is tried again, not a fatal status at once: the host
# never has to reset the controller. Then every command the poller takes
# from the slab fails: its reserve of commands keeps verified I/O going.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=null TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-lib.sh"
FAILSLAB=/sys/kernel/debug/failslab

if [[ ! -d $FAILSLAB ]]; then
	t_skip "memory pressure" "no slab fault injection in this kernel (CONFIG_FAILSLAB, debug kernel only)"
	exit 0
fi

t_on_exit nvme_fn_cleanup
t_on_exit poller_faults_off "$FAILSLAB"
nvme_fn_setup || exit 1
t_check "poller found" fn_poller || exit 1

resets() { dmesg | grep -c "${C#/dev/}: controller is down; will reset"; }
resets0=$(resets)
t_check "10% of the poller's slab allocations fail" poller_faults_on "$FAILSLAB" 10
# Errors allowed (continue_on_error), a hang is not: bounded by timeout
rc=0
timeout 120 fio --name=pressure --filename="$B" --ioengine=io_uring --direct=1 \
	--rw=randrw --bsrange=4k-64k --iodepth=16 --size=4M --continue_on_error=all \
	--output=/rig-out/fio-pressure.txt || rc=$?
t_check "I/O under pressure ends (fio status $rc)" test "$rc" -ne 124
failed=$(poller_faults_off "$FAILSLAB")
t_check "allocations failed under pressure: $failed" test "$failed" -gt 0
t_check "no fatal status: the host did not reset the controller" test "$(resets)" -eq "$resets0"
t_check "host controller still there" test -e "$C"
t_check "fio verify after the pressure" fio --name=after --filename="$B" \
	--ioengine=io_uring --direct=1 --rw=randwrite --bsrange=4k-64k \
	--iodepth=16 --size=2M --verify=crc32c

# Forward progress by construction: the commands come from a mempool
# whose reserve the poller falls back on without sleeping. Before it, a
# failed allocation left the entries in the queue, "fetched again later":
# never, here, and the host reset the controller after its I/O timeout.
# Two jobs: the queues share the reserve, and each must get its turn.
CMD_CACHE=/sys/kernel/slab/pci_epf_nvme_cmd
if [[ -L $CMD_CACHE || ! -e $CMD_CACHE/failslab ]]; then
	t_skip "I/O with every command allocation failing" "the command cache is merged with others (boot with slab_nomerge)"
	exit 0
fi
resets0=$(resets)
echo 1 >"$CMD_CACHE/failslab"
t_check "every command allocation of the poller fails" \
	poller_faults_on "$FAILSLAB" 100 cache-filter=Y
t_check "fio verify with commands from the reserve only" timeout 120 \
	fio --name=reserve --filename="$B" --ioengine=io_uring --direct=1 \
	--rw=randwrite --bsrange=4k-64k --iodepth=64 --size=2M --verify=crc32c \
	--numjobs=2 --offset_increment=2M --output=/rig-out/fio-reserve.txt
failed=$(poller_faults_off "$FAILSLAB")
echo 0 >"$CMD_CACHE/failslab"
t_check "command allocations failed: $failed" test "$failed" -gt 0
t_check "the host did not reset the controller" test "$(resets)" -eq "$resets0"
