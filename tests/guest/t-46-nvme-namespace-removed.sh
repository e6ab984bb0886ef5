#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: a namespace of the target is removed while the host runs
# I/O on it and on another one. The fabrics controller is given few tags
# (queue_size=16), so that commands of both namespaces wait in the
# function for a tag. The removed namespace's commands fail; those of the
# other namespace go on, and its writes verify.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
# TCP, not loop: nvme-loop runs nvmet's command parsing in its queue_rq,
# under RCU, and for a removed NSID 6.12's nvmet_subsys_nsid_exists() then
# takes a mutex there ("sleeping function called from invalid context" on
# the debug kernel): a bug of nvmet, not of the function.
BACKING=null TRANSPORT=tcp MSI=8 MSIX=8
CONNECT_EXTRA="queue_size=16"
. "$RIG_REPO/tests/guest/nvme-lib.sh"

# Over TCP, nvmet in 6.12 leaks a namespace removed under I/O (kmemleak:
# nvmet_ns_alloc, never freed after its rmdir, whatever the host is): on
# a 6.12 debug kernel, that would fail the whole boot's kernel log check.
if [[ ${RIG_FLAVOUR:-rig} == debug && $(uname -r) == 6.12* ]]; then
	t_skip "namespace removed under I/O" "6.12's nvmet bugs on the debug kernel: a mutex under RCU over loop, a leaked namespace over tcp (see the script)"
	exit 0
fi
by_flavour FIO_MB 32 8

t_on_exit nvme_fn_cleanup
t_on_exit nvmet_ns2_cleanup
nvme_fn_create || exit 1
t_check "second namespace on the target" nvmet_ns2_add 256 || exit 1
nvme_fn_start || exit 1
t_check "host sees the second namespace" wait_for 100 host_ns 2 || exit 1
B=$(host_ns 1)
B2=$(host_ns 2)

fio --name=gone --filename="$B2" --ioengine=$GONE_IOENGINE --direct=1 \
	--rw=randrw --bs=4k --numjobs=4 --runtime=60 --time_based \
	>/dev/null 2>&1 &
gone_pid=$!
start_load "$B" --iodepth=64
t_check "load on both namespaces" load_running "$B"
t_check "second namespace removed from the target" nvmet_ns2_remove
t_check "I/O on the removed namespace ends" wait_for 300 eval "! kill -0 $gone_pid 2>/dev/null"
kill -9 "$gone_pid" 2>/dev/null
LOAD_N0=$(io_count "$B")
t_check "I/O on the first namespace goes on" load_running "$B"
t_check "load ends" stop_load
t_check "fio verify on the first namespace" timeout 120 fio --name=after \
	--filename="$B" --ioengine=io_uring --direct=1 --rw=randwrite \
	--bsrange=4k-64k --iodepth=32 --size="${FIO_MB}M" --verify=crc32c
