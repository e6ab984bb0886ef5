# SPDX-License-Identifier: GPL-2.0
#
# The body of the NVMe function's guest tests: the function bound to the
# loopback controller and connected to an nvmet target, the stock nvme.ko
# on the host side. Sourced by t-3*-nvme-*.sh, which set:
#   BACKING    null | file            (nvmet namespace backend)
#   TRANSPORT  loop | tcp             (fabrics transport to the target)
#   MSI, MSIX  vectors the function offers (both 0: INTx only)
# FIO_MB scales the data the fio checks move (smaller on the debug kernel).
set -uo pipefail
. "$RIG_REPO/tests/guest/lib.sh"
. "$RIG_REPO/tests/guest/loop-lib.sh"
. "$RIG_REPO/tests/guest/nvmet-lib.sh"
: "${BACKING:=null}" "${TRANSPORT:=loop}" "${MSI:=8}" "${MSIX:=8}"
if [[ ${RIG_FLAVOUR:-rig} == debug ]]; then
	FIO_MB=${FIO_MB:-8}
else
	FIO_MB=${FIO_MB:-64}
fi
VID=0x104c DID=0xb50f
FN=$(epf_dir pci_epf_nvme n0)

# expect_status CODE CMD...: nvme-cli must fail with status CODE (hex, no DNR)
expect_status() {
	local code=$1 out
	shift
	out=$("$@" 2>&1)
	echo "$out"
	grep -qiE "\(0x(4)?0*${code#0x}\)" <<<"$out"
}

t_check "loop loads" loop_load || exit 1
t_check "nvmet $BACKING $TRANSPORT" nvmet_setup "$BACKING" "$TRANSPORT" || exit 1
modprobe nvme-fabrics
t_check "module loads" insmod "$RIG_MODDIR/pci-epf-nvme.ko" || exit 1
t_check "function" epf_create pci_epf_nvme n0 vendorid=$VID deviceid=$DID \
	msi_interrupts=$MSI msix_interrupts=$MSIX || exit 1
nvmet_connect_string "$TRANSPORT" >"$FN/nvme/connect_opts"
echo 2 >"$FN/nvme/nr_io_queues"
echo 64 >"$FN/nvme/queue_depth"
t_check "bind" epf_bind pci_epf_nvme n0 || { dmesg | tail; exit 1; }
t_check "no namespace node on the endpoint" eval '! ls /dev/nvme*n* /dev/ng* 2>/dev/null'
t_check "start" epc_start || exit 1
t_check "host sees the function" wait_for 50 loop_host_dev $VID $DID || exit 1
D=$(loop_host_dev $VID $DID)
modprobe nvme
t_check "host controller" wait_for 100 nvme_pcie_ctrl || { dmesg | tail -30; exit 1; }
C=/dev/$(nvme_pcie_ctrl)
t_check "host namespace" wait_for 100 test -b ${C}n1 || { dmesg | tail -30; exit 1; }
B=${C}n1

fio --name=v --filename=$B --ioengine=io_uring --direct=1 \
	--rw=randrw --bsrange=$(blockdev --getss $B)-1M --iodepth=32 --size=${FIO_MB}M --verify=crc32c --numjobs=2 \
	--offset_increment=256M --output=/rig-out/fio-verify-$BACKING-$TRANSPORT.txt
t_check "fio verify" test $? -eq 0
t_check "fio qd128" fio --name=q --filename=$B --ioengine=io_uring --direct=1 \
	--rw=randwrite --bs=4k --iodepth=128 --size=$((FIO_MB / 4 + 1))M --verify=crc32c

# Negative admin commands: status codes from the specification
t_check "invalid opcode" expect_status 0x1 nvme admin-passthru $C -o 0xbf
t_check "create CQ qid 0" expect_status 0x101 nvme admin-passthru $C -o 0x05 --cdw10=0x000f0000 --cdw11=1 -l 4096 -w -i /dev/zero
t_check "create CQ qid 3" expect_status 0x101 nvme admin-passthru $C -o 0x05 --cdw10=0x000f0003 --cdw11=1 -l 4096 -w -i /dev/zero
t_check "create CQ existing" expect_status 0x101 nvme admin-passthru $C -o 0x05 --cdw10=0x000f0001 --cdw11=1 -l 4096 -w -i /dev/zero
t_check "delete CQ in use" expect_status 0x10c nvme admin-passthru $C -o 0x04 --cdw10=1
t_check "delete SQ 7" expect_status 0x101 nvme admin-passthru $C -o 0x00 --cdw10=7
t_check "delete SQ 0" expect_status 0x101 nvme admin-passthru $C -o 0x00 --cdw10=0
t_check "APST unsupported" expect_status 0x2 nvme get-feature $C -f 0x0c
t_check "save unsupported" expect_status 0x10d nvme set-feature $C -f 8 -v 0 -s
t_check "log page too long" expect_status 0x2 nvme admin-passthru $C -o 0x02 --cdw10=0xffff0002 --cdw11=0xffff -l 4096 -r
t_check "irq coalescing set" nvme set-feature $C -f 8 -v 0x0a03
t_check "irq coalescing get" eval "nvme get-feature $C -f 8 | grep -q 0x00000a03"
t_check "fio with coalescing" fio --name=c --filename=$B --ioengine=io_uring --direct=1 \
	--rw=randread --bs=4k --iodepth=16 --size=16M --runtime=3 --time_based
t_check "effects log" eval "nvme effects-log $C | grep -q 'Create I/O Completion'"
t_check "smart log" nvme smart-log $C
t_check "error log" nvme error-log $C -e 4
t_check "id-ns" nvme id-ns $B
t_check "fio after negatives" fio --name=v2 --filename=$B --ioengine=io_uring --direct=1 \
	--rw=randwrite --bs=8k --iodepth=16 --size=16M --verify=crc32c

# Reset under load, then unbind under load
fio --name=load --filename=$B --ioengine=io_uring --direct=1 --rw=randrw --bs=4k \
	--iodepth=32 --runtime=20 --time_based --size=64M >/dev/null 2>&1 &
sleep 3
t_check "reset under load" nvme reset $C
sleep 3
t_check "subsystem reset refused (CAP.NSSRS is 0)" eval "! nvme subsystem-reset $C"
sleep 2
t_check "unbind under load" eval "epc_stop && epf_unbind pci_epf_nvme n0"
wait
t_check "host device gone" wait_for 50 loop_host_dev_gone $VID $DID
t_check "rebind" eval "epf_bind pci_epf_nvme n0 && epc_start"
t_check "host controller back" wait_for 100 nvme_pcie_ctrl
C=/dev/$(nvme_pcie_ctrl)
t_check "host namespace back" wait_for 100 test -b ${C}n1
t_check "fio after rebind" fio --name=v3 --filename=${C}n1 --ioengine=io_uring --direct=1 \
	--rw=randwrite --bs=4k --iodepth=8 --size=8M --verify=crc32c
# Free queue pair 2 behind the host driver's back, then check creation.
# With a single vector (INTx) nvme.ko creates one I/O queue only.
P="-l 4096 -w -i /dev/zero"
queue_checks() {
t_check "delete SQ 2" nvme admin-passthru $C -o 0x00 --cdw10=2
t_check "delete CQ 2" nvme admin-passthru $C -o 0x04 --cdw10=2
t_check "create CQ size 1" expect_status 0x102 nvme admin-passthru $C -o 0x05 --cdw10=0x00000002 --cdw11=3 $P
t_check "create CQ size > MQES" expect_status 0x102 nvme admin-passthru $C -o 0x05 --cdw10=0x00400002 --cdw11=3 $P
t_check "create CQ not contiguous" expect_status 0x2 nvme admin-passthru $C -o 0x05 --cdw10=0x000f0002 --cdw11=2 $P
t_check "create CQ bad vector" expect_status 0x108 nvme admin-passthru $C -o 0x05 --cdw10=0x000f0002 --cdw11=0x00640003 $P
t_check "create SQ on missing CQ" expect_status 0x100 nvme admin-passthru $C -o 0x01 --cdw10=0x000f0002 --cdw11=0x00020001 $P
t_check "create CQ 2" nvme admin-passthru $C -o 0x05 --cdw10=0x000f0002 --cdw11=3 $P
t_check "delete CQ 2 again" nvme admin-passthru $C -o 0x04 --cdw10=2
t_check "delete CQ 2 twice" expect_status 0x101 nvme admin-passthru $C -o 0x04 --cdw10=2
}
if [[ $MSI -gt 0 || $MSIX -gt 0 ]]; then
	queue_checks
else
	t_skip "queue pair 2 checks" "INTx only: the host driver creates a single I/O queue"
fi
t_check "shutdown path (rmmod nvme)" rmmod nvme
t_check "stop" epc_stop
t_check "unbind" epf_unbind pci_epf_nvme n0
t_check "rmdir" rmdir $FN
t_check "rmmod" rmmod pci_epf_nvme
nvmet_teardown
