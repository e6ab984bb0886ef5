#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: the data it holds for the host's commands in flight is
# bounded (nvme/max_inflight_kb), and its data buffers do not depend on
# physically contiguous memory. A host with every queue full of 512 KiB
# commands gets verified I/O while the function holds at most the limit;
# on the debug kernel, the same with every page allocation above the
# costly order failing in the function's poller (fail_page_alloc).
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=null TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-lib.sh"
by_flavour FIO_MB 32 4
LIMIT_KB=1024
# PAGE_ALLOC_COSTLY_ORDER: the page allocator retries smaller blocks until
# it gets them, so only larger ones fail when memory is fragmented.
# Failing orders 1-3 as well made the block layer's bio for a 512 KiB
# vmalloc buffer fail too (its slab on the debug kernel needed a new
# order >= 1 page): Internal Error for 4 commands in 2 runs of 2, an
# allocation failure no real system produces.
COSTLY_ORDER=3
FAILPAGE=/sys/kernel/debug/fail_page_alloc

t_on_exit nvme_fn_cleanup

# refused VALUE: configfs refuses it, and the value stays
refused() {
	local before
	before=$(<"$FN/nvme/max_inflight_kb")
	! echo "$1" >"$FN/nvme/max_inflight_kb" 2>/dev/null &&
		[[ $(<"$FN/nvme/max_inflight_kb") == "$before" ]]
}

configfs_checks() {
	t_check "max_inflight_kb defaults to 64 MiB" test "$(<"$FN/nvme/max_inflight_kb")" = 65536
	t_check "max_inflight_kb 0 refused" refused 0
	t_check "max_inflight_kb 4 refused" refused 4
	t_check "max_inflight_kb 2 GiB refused" refused 2097152
	t_check "max_inflight_kb not a number refused" refused lots
	echo 512 >"$FN/nvme/mdts_kb"
	echo 256 >"$FN/nvme/max_inflight_kb"
	t_check "bind refused: limit below MDTS" eval '! epf_bind pci_epf_nvme n0 2>/dev/null'
	t_check "the refusal says why" eval "dmesg | tail -n 5 | grep -q 'max_inflight_kb (256) is below nvme/mdts_kb (512)'"
	t_check "nothing bound after the refusal" eval '[[ ! -e $EP_CFS/controllers/$LOOP_EPC/n0 ]]'
	echo "$LIMIT_KB" >"$FN/nvme/max_inflight_kb"
}

DBG=
held() { cat "$DBG/inflight_$1"; }

# Four jobs of 512 KiB verified reads and writes at QD32: 64 MiB asked
full_queues() {
	fio --name=full --filename="$B" --ioengine=io_uring --direct=1 \
		--rw=randrw --bs=512k --iodepth=32 --numjobs=4 \
		--offset_increment=$((FIO_MB * 2))M --size="${FIO_MB}M" \
		--verify=crc32c --output="/rig-out/fio-bounded-$1.txt"
}

high_order_back() { [[ ! -d $FAILPAGE ]] || poller_faults_off "$FAILPAGE" >/dev/null; }
t_on_exit high_order_back

nvme_fn_create || exit 1
nvmet_connect_string "$TRANSPORT" >"$FN/nvme/connect_opts"
configfs_checks
FN_NVME="max_inflight_kb=$LIMIT_KB" nvme_fn_start || exit 1
# The debugfs directory of the only function bound
DBG=$(echo /sys/kernel/debug/pci_epf_nvme/pci_epf_nvme.*)
t_check "debugfs shows the limit" test "$(held max_bytes)" -eq $((LIMIT_KB * 1024))

t_check "fio verify, 4 jobs x QD32 x 512 KiB" full_queues limited
peak=$(held peak_bytes)
t_check "held at most the limit: peak $peak bytes" test "$peak" -le $((LIMIT_KB * 1024))
t_check "held data at the peak: more than one command" test "$peak" -gt $((512 * 1024))
t_check "nothing held once idle" test "$(held bytes)" -eq 0

if [[ -d $FAILPAGE ]]; then
	t_check "every costly page allocation of the poller fails" \
		poller_faults_on "$FAILPAGE" 100 min-order=$((COSTLY_ORDER + 1)) ignore-gfp-highmem=N
	t_check "fio verify with no costly pages" full_queues no-costly-pages
	failed=$(poller_faults_off "$FAILPAGE")
	t_check "high-order allocations were refused: $failed" test "$failed" -gt 0
else
	t_skip "fio verify with no high-order pages" "no page allocation fault injection in this kernel (CONFIG_FAIL_PAGE_ALLOC, debug kernel only)"
fi
