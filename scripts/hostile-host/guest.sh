#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of scripts/hostile-host.sh: the NVMe function on a file-backed
# nvmet namespace, given to the raw host's random mode one seed at a time
# until the time in $RIG_OUT/random.env is up, then back to nvme.ko for a
# fio verification.
set -uo pipefail
T_GROUP=guest
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
BACKING=file TRANSPORT=loop MSI=8 MSIX=8
. "$RIG_REPO/tests/guest/nvme-lib.sh"
. "$RIG_OUT/random.env"
RAWHOST=$RIG_REPO/tests/guest/nvme-rawhost.py

t_on_exit nvme_fn_cleanup
nvme_fn_setup || exit 1
t_check "nvme.ko lets the device go" eval "echo ${D##*/} >/sys/bus/pci/drivers/nvme/unbind"
end=$((SECONDS + RANDOM_MINUTES * 60))
seed=$RANDOM_SEED
while :; do
	t_results_from "raw:" python3 "$RAWHOST" --iommu "$(epc_sysfs)/iommu" \
		--random "$seed" --count "$RANDOM_COUNT" --seconds 600 "$D"
	seed=$((seed + 1))
	[[ $SECONDS -lt $end ]] || break
done
t_check "nvme.ko takes the device back" eval "echo ${D##*/} >/sys/bus/pci/drivers/nvme/bind"
t_check "host namespace back" wait_for 100 test -b "$B"
t_check "fio verify after the random host" fio --name=after-random --filename="$B" \
	--ioengine=io_uring --direct=1 --rw=randwrite --bsrange=4k-128k \
	--iodepth=16 --size=16M --verify=crc32c
