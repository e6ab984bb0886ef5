#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# NVMe function: a host that breaks the rules. nvme.ko lets the device go
# and nvme-rawhost.py drives it from user space, one result per case:
# controller configurations, admin queues, resets and shutdowns at the
# wrong time, queue creation and deletion with each field wrong, doorbell
# values out of range, opcodes, namespaces, LBAs, transfer sizes, Identify
# CNS values, log pages and features the controller does not have, PRP
# entries and lists with bad offsets, chains or addresses, AERs across a
# reset, Error events for invalid doorbell values, and an MSI-X vector left
# pending. Each answer is checked against the NVMe base specification.
# Then three seeds of the random mode, each followed by a normal host's
# I/O. Then nvme.ko takes the device back and fio verifies the namespace:
# nothing the raw host did lasts. Last, a namespace added to the target and
# removed again appears on the host and goes without a manual rescan.
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=file TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-lib.sh"
by_flavour FIO_MB 16 2
by_flavour RANDOM_COUNT 2000 1000
RAWHOST=$RIG_REPO/tests/guest/nvme-rawhost.py

t_on_exit nvme_fn_cleanup
kmsg_count() { dmesg | grep -c "$1"; }

nvme_fn_setup || exit 1
t_check "nvme.ko lets the device go" eval "echo ${D##*/} >/sys/bus/pci/drivers/nvme/unbind"
n0=$(kmsg_count "unsupported controller configuration")
start=$SECONDS
# The loopback controller's IOMMU maps the raw host's memory only: in the
# rig the host's memory is the endpoint's own
t_results_from "raw:" python3 "$RAWHOST" --iommu "$(epc_sysfs)/iommu" "$D"
t_check "IOMMU off again" test "$(<"$(epc_sysfs)/iommu")" = off
n=$(($(kmsg_count "unsupported controller configuration") - n0))
# 207 bad enables (cc-flood and cc-unsupported); printk's rate limit: 10
# lines per 5 s
t_check "log rate limited: $n lines for 207 bad enables in $((SECONDS - start)) s" \
	test "$n" -le $((10 * ((SECONDS - start) / 5 + 2)))
# The random mode, a fixed set of short seeds (the long run:
# scripts/hostile-host.sh)
t_results_from "raw:" python3 "$RAWHOST" --iommu "$(epc_sysfs)/iommu" \
	--random 1,2,3 --count "$RANDOM_COUNT" --seconds 30 "$D"
t_check "nvme.ko takes the device back" eval "echo ${D##*/} >/sys/bus/pci/drivers/nvme/bind"
t_check "host namespace back" wait_for 100 test -b "$B"
t_check "fio verify after the raw host" fio --name=after-raw --filename="$B" \
	--ioengine=io_uring --direct=1 --rw=randwrite --bsrange=4k-128k \
	--iodepth=16 --size="${FIO_MB}M" --verify=crc32c

# Namespace Attribute Changed: a namespace added to the target and removed
# again shows on the host and goes, without a manual rescan
t_on_exit nvmet_ns2_cleanup
t_check "second namespace added on the target" nvmet_ns2_add 64
t_check "host sees it without a rescan" wait_for 200 host_ns 2
t_check "second namespace removed from the target" nvmet_ns2_remove
t_check "it goes from the host without a rescan" wait_for 200 eval '! host_ns 2'
t_check "the first namespace is still there" test "$(host_ns 1)" = "$B"
