#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: what it shows of itself. The identity the host sees
# (nvme/serial, model, firmware: configfs checks, Identify, the firmware
# slot log); the debugfs counters and the trace events during fio, checked
# against what fio did; the state changes of a controller reset. The
# counters and an excerpt of the trace are kept in $RIG_OUT for the docs.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=null TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-lib.sh"

TR=/sys/kernel/tracing
SN=RIG-SN-0001 MN=pci-epf-nvme-rig-model FR=FW1.2
READS=1024 WRITES=512 WBS=8192

t_on_exit nvme_fn_cleanup
t_on_exit trace_off
nvme_fn_create || exit 1

# write_fails ATTR VALUE: the write is refused and the attribute keeps
# what it held.
write_fails() {
	local f=$FN/nvme/$1 old
	old=$(<"$f")
	! printf '%s' "$2" >"$f" 2>/dev/null && [[ $(<"$f") == "$old" ]]
}
t_check "serial of 21 characters refused" write_fails serial 123456789012345678901
t_check "model with a tab refused" write_fails model $'a\tb'
t_check "firmware of 9 characters refused" write_fails firmware 123456789
t_check "non-ASCII serial refused" write_fails serial $'sn\xc3\xa9'
FN_NVME="serial=$SN model=$MN firmware=$FR"
nvme_fn_start || exit 1
t_check "identity cannot change while bound" write_fails serial OTHER

id_field() { nvme id-ctrl "$C" | sed -n "s/^$1 *: //p" | sed 's/ *$//'; }
t_check "Identify SN is nvme/serial" test "$(id_field sn)" == "$SN"
t_check "Identify MN is nvme/model" test "$(id_field mn)" == "$MN"
t_check "Identify FR is nvme/firmware" test "$(id_field fr)" == "$FR"
# shellcheck disable=SC2016 # expanded by eval
t_check "subsystem NQN names them" eval 'nvme id-ctrl "$C" | grep -q "^subnqn.*$SN *$MN"'
# shellcheck disable=SC2016 # expanded by eval
t_check "firmware slot 1 holds nvme/firmware" eval \
	'nvme fw-log "$C" | grep -Eq "frs1 *: .*\(?$FR"'
# shellcheck disable=SC2016 # expanded by eval
t_check "firmware log: slot 1 active, as Identify's one slot" eval \
	'nvme fw-log "$C" | grep -Eq "^afi *: 0x1\b"'

dbg=$(echo /sys/kernel/debug/pci_epf_nvme/pci_epf_nvme.*)
# io_sum COLUMN: the column of the queues file, summed over the I/O queues
io_sum() {
	awk -v c="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		$1 > 0 { s += $k } END { print s + 0 }' "$dbg/queues"
}
stat_of() { awk -v n="$1" '$1 == n { print $2 }' "$dbg/stats"; }

trace_on() {
	[[ -e $TR/trace ]] || mount -t tracefs tracefs $TR || return 1
	echo 0 >$TR/tracing_on
	echo 16384 >$TR/buffer_size_kb
	echo >$TR/trace
	echo 1 >$TR/events/pci_epf_nvme/enable
	echo 1 >$TR/tracing_on
}
trace_off() {
	[[ -e $TR/events/pci_epf_nvme/enable ]] || return 0
	echo 0 >$TR/events/pci_epf_nvme/enable
	echo 0 >$TR/tracing_on
}
# events NAME [PATTERN]: trace lines of that event matching the pattern
events() { grep -cE ": pci_epf_nvme_$1: .*${2:-}" "$RIG_OUT/trace-io.txt"; }

t_check "trace events on" trace_on || exit 1
# One command per fio I/O: the block layer merges none
echo 2 >"/sys/block/${B#/dev/}/queue/nomerges"
done0=$(io_sum completed) fetched0=$(io_sum fetched) err0=$(io_sum errors)
rb0=$(io_sum read_bytes) wb0=$(io_sum write_bytes) irq0=$(io_sum irqs)
dma0=$(stat_of dma_bytes) msix0=$(stat_of irqs_msix)
t_check "fio: $READS reads of 4 KiB" fio --name=r --filename="$B" \
	--ioengine=io_uring --direct=1 --rw=randread --bs=4k --iodepth=16 \
	--size=$((READS * 4))k --output=/dev/null
t_check "fio: $WRITES writes of 8 KiB" fio --name=w --filename="$B" \
	--ioengine=io_uring --direct=1 --rw=write --bs=$WBS --iodepth=16 \
	--size=$((WRITES * WBS / 1024))k --output=/dev/null
echo 0 >$TR/tracing_on
cp $TR/trace "$RIG_OUT/trace-io.txt"
cp "$dbg/stats" "$RIG_OUT/debugfs-stats.txt"
cp "$dbg/queues" "$RIG_OUT/debugfs-queues.txt"
cat "$RIG_OUT/debugfs-queues.txt" "$RIG_OUT/debugfs-stats.txt"

n=$((READS + WRITES))
t_check "I/O queues fetched $n commands" test $(($(io_sum fetched) - fetched0)) -eq $n
t_check "and completed $n, without error" eval \
	"test $(($(io_sum completed) - done0)) -eq $n && test $(io_sum errors) -eq $err0"
t_check "bytes read as fio read" test $(($(io_sum read_bytes) - rb0)) -eq $((READS * 4096))
t_check "bytes written as fio wrote" test $(($(io_sum write_bytes) - wb0)) -eq $((WRITES * WBS))
irqs=$(($(io_sum irqs) - irq0))
t_check "an interrupt per completion at most ($irqs)" test $irqs -ge 1 -a $irqs -le $n
t_check "MSI-X interrupts counted ($(($(stat_of irqs_msix) - msix0)))" \
	test $(($(stat_of irqs_msix) - msix0)) -ge $irqs
t_check "the data went by DMA" test $(($(stat_of dma_bytes) - dma0)) -ge \
	$((READS * 4096 + WRITES * WBS))
t_check "no I/O command in flight" test "$(io_sum inflight)" -eq 0

t_check "trace: no event lost" eval '! grep -q "LOST" "$RIG_OUT/trace-io.txt"'
t_check "trace: $READS reads fetched" test "$(events cmd_fetch 'sq=[1-9].* opcode=0x2 ')" -eq $READS
t_check "trace: $WRITES writes forwarded" test "$(events cmd_forward "sq=[1-9].* opcode=0x1 .*len=$WBS")" -eq $WRITES
t_check "trace: $n I/O completions, status 0" test "$(events cmd_complete 'sq=[1-9].* status=0x0 ')" -eq $n
t_check "trace: an interrupt event per interrupt" test "$(events irq 'cq=[1-9].* msix')" -eq $irqs
t_check "trace: transfers by DMA" test "$(events xfer_start 'by=dma')" -gt 0
t_check "trace: every transfer done without error" test \
	"$(events xfer_done 'ret=0$')" -eq "$(events xfer_start)"

# The same events through perf and trace-cmd: 64 reads at QD1, 64
# completions on the I/O queues.
trace_off
dd_reads=(dd if="$B" of=/dev/null bs=4k count=64 iflag=direct status=none)
perf_completions() {
	perf stat -x, -a -e pci_epf_nvme:pci_epf_nvme_cmd_complete -- "$@" \
		2>"$RIG_OUT/perf-stat.txt" >/dev/null
	awk -F, '/pci_epf_nvme_cmd_complete/ { print $1 }' "$RIG_OUT/perf-stat.txt"
}
n=$(perf_completions "${dd_reads[@]}")
t_check "perf stat counts 64 completions ($n)" test "$n" == 64
trace-cmd record -q -e pci_epf_nvme -o "$RIG_OUT/t37-trace.dat" \
	"${dd_reads[@]}" >/dev/null 2>&1
trace-cmd report -i "$RIG_OUT/t37-trace.dat" >"$RIG_OUT/trace-cmd-report.txt" 2>&1
rm -f "$RIG_OUT/t37-trace.dat"
report="$RIG_OUT/trace-cmd-report.txt"
n=$(grep -c 'cmd_complete:.* sq=[1-9]' "$report")
t_check "trace-cmd records 64 completions ($n)" test "$n" == 64
t_check "trace-cmd decodes every event (directions named)" eval \
	'grep -q "xfer_start:.* to_host " "$report" && ! grep -q "FAILED TO PARSE" "$report"'

echo >$TR/trace
echo 1 >$TR/events/pci_epf_nvme/enable
echo 1 >$TR/tracing_on
t_check "controller reset" nvme reset "$C"
t_check "host namespace back" wait_for 100 test -b "$B"
echo 0 >$TR/tracing_on
grep ": pci_epf_nvme_state: " $TR/trace >"$RIG_OUT/trace-state.txt"
cat "$RIG_OUT/trace-state.txt"
t_check "trace: ready -> disabled -> ready" eval \
	'grep -q "ready -> disabled" "$RIG_OUT/trace-state.txt" &&
	 grep -q "disabled -> ready" "$RIG_OUT/trace-state.txt"'
t_check "fio verify after the reset" fio --name=v --filename="$B" \
	--ioengine=io_uring --direct=1 --rw=randwrite --bs=4k --iodepth=16 \
	--size=4M --verify=crc32c --output=/dev/null
