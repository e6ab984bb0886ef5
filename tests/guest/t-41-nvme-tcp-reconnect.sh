#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: the backend goes away and comes back. The function's
# fabrics controller reaches an nvmet-tcp target on 127.0.0.1; while the
# host writes with verification, the target's port is removed and, a few
# seconds later, restored. The fabrics controller reconnects (its
# reconnect_delay and ctrl_loss_tmo are set below); the host's commands
# wait meanwhile, and its I/O resumes with no error, no timeout and no
# controller reset, every block verified. Then the port goes away again,
# with a write in flight, and the function is stopped and unbound: the
# commands the fabrics layer holds for the reconnect fail after the
# function's fast_io_fail_tmo (20 s), so that the reset does not wait for
# the whole ctrl_loss_tmo.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=null TRANSPORT=tcp MSI=8 MSIX=8
CONNECT_EXTRA="reconnect_delay=2,ctrl_loss_tmo=60"
. "$RIG_REPO/tests/guest/nvme-lib.sh"
by_flavour FIO_MB 128 16
OUTAGE=4

t_on_exit nvme_fn_cleanup
nvme_fn_setup || exit 1

PORT=$NVMET_CFS/ports/1
port_down() { rm "$PORT/subsystems/$NVMET_NQN" && rmdir "$PORT"; }
port_up() {
	mkdir "$PORT" &&
		echo tcp >"$PORT/addr_trtype" &&
		echo ipv4 >"$PORT/addr_adrfam" &&
		echo 127.0.0.1 >"$PORT/addr_traddr" &&
		echo "$NVMET_TCP_PORT" >"$PORT/addr_trsvcid" &&
		ln -s "$NVMET_CFS/subsystems/$NVMET_NQN" "$PORT/subsystems/"
}
host_trouble() { dmesg | grep -cE "${C#/dev/}: (I/O tag|I/O [0-9]+ .*timeout|resetting|Abort)"; }

# nvme-tcp and nvmet-tcp (Linux 6.12, and 7.3 too) sometimes fail a few of
# the writes held across the reconnect (on 6.12, 7 of 18 runs on
# 2026-12-01, on both kernel flavours, with and without the function's
# CQ windows): the target
# answers Data SGL Length Invalid (sc 0xf, its More bit set), as if the
# request re-sent on the new queue did not carry its data length. The
# function relays that status. Seen only in that form, it is recorded as
# a skip with the count; any other error still fails the check.
IO_ERR="${B#/dev/}: I/O Cmd"
sgl_len_only() {
	local errs bad
	errs=$(dmesg | grep -c "$IO_ERR") || return 1
	bad=$(dmesg | grep "$IO_ERR" | grep -vc 'I/O Error (sct 0x0 / sc 0xf) MORE DNR')
	((errs > errors0 && bad == bad0))
}

errors0=$(dmesg | grep -c "$IO_ERR")
bad0=$(dmesg | grep "$IO_ERR" | grep -vc 'I/O Error (sct 0x0 / sc 0xf) MORE DNR')
trouble0=$(host_trouble)
reconnects0=$(dmesg | grep -c "Successfully reconnected")
LOAD_N0=$(io_count "$B")
fio --name=outage --filename="$B" --ioengine=io_uring --direct=1 \
	--rw=randwrite --bsrange=4k-64k --iodepth=16 --size="${FIO_MB}M" \
	--verify=crc32c --output=/rig-out/fio-tcp-outage.txt &
LOAD_PID=$!
t_check "writes running" load_running "$B"
t_check "target port removed" port_down
t_sleep "$OUTAGE"
t_check "target port restored after ${OUTAGE}s" port_up
wait "$LOAD_PID"
rc=$?
LOAD_PID=''
if [[ $rc -ne 0 ]] && sgl_len_only; then
	t_skip "fio verify across the outage" "$(($(dmesg | grep -c "$IO_ERR") - errors0)) writes failed by the target with Data SGL Length Invalid at the reconnect: the nvme-tcp/nvmet-tcp race described above, relayed"
else
	t_check "fio verify across the outage" test "$rc" -eq 0
fi
t_check "fabrics controller reconnected" \
	test "$(dmesg | grep -c "Successfully reconnected")" -gt "$reconnects0"
t_check "host saw no timeout, abort or reset" test "$(host_trouble)" -eq "$trouble0"
t_check "fio verify after the outage" fio --name=after --filename="$B" \
	--ioengine=io_uring --direct=1 --rw=randwrite --bs=4k --iodepth=8 \
	--size=4M --verify=crc32c

# A host write waits in the fabrics layer for a target that is gone
t_check "target port removed again" port_down
dd if=/dev/zero of="$B" bs=4k count=1 oflag=direct 2>/dev/null &
dd_pid=$!
t_sleep 2
start=$SECONDS
t_check "stop and unbind with a command held for the reconnect" eval "epc_stop && epf_unbind pci_epf_nvme n0"
t_check "... within 45 s, not ctrl_loss_tmo (60 s): $((SECONDS - start)) s" test $((SECONDS - start)) -lt 45
kill -9 "$dd_pid" 2>/dev/null
wait "$dd_pid" 2>/dev/null
t_check "target port restored" port_up
