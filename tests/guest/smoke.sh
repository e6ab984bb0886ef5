#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest test of the rig itself: the right kernel, its modules, configfs
# and the endpoint framework, the ivshmem RAM alias, and fio on a block
# device. If these fail, the other guest tests' results mean little.
#
# No set -e: a failed check is recorded and the next ones still run.
set -uo pipefail
# shellcheck source=tests/guest/lib.sh
. "$RIG_REPO/tests/guest/lib.sh"

IVSHMEM_ID=1af4:1110

# The build's release and version string, e.g. "#1 SMP <date>", tell this
# tree's kernel from any other build of the same release.
check_kernel() {
	local release version
	release=$(<"$RIG_TREE/include/config/kernel.release")
	version=$(sed -n 's/^#define UTS_VERSION "\(.*\)"$/\1/p' \
		"$RIG_TREE/include/generated/utsversion.h")
	if [[ $(uname -r) == "$release" && $(uname -v) == "$version" ]]; then
		t_pass "kernel is the test kernel"
	else
		t_fail "kernel is the test kernel" \
			"running $(uname -r) $(uname -v), tree has $release $version"
	fi
}

check_modules() {
	t_check "modules of the test kernel installed" test -d "/lib/modules/$(uname -r)/kernel"
	if t_check "modprobe null_blk" modprobe null_blk nr_devices=1; then
		check_fio
		t_check "rmmod null_blk" rmmod null_blk
	else
		t_skip "fio on null_blk" "null_blk did not load"
	fi
}

# A tiny direct-I/O job through io_uring, the engine the demo uses.
check_fio() {
	local out
	if ! out=$(fio --name=smoke --filename=/dev/nullb0 --ioengine=io_uring \
		--direct=1 --rw=randread --bs=4k --iodepth=8 --size=16M \
		--output-format=terse --terse-version=3 2>&1); then
		t_fail "fio on null_blk" "$(tail -n 3 <<<"$out")"
		return
	fi
	# Terse v3: field 6 is the read I/O in KiB.
	local kib
	kib=$(tail -n 1 <<<"$out" | cut -d';' -f6)
	if [[ $kib == 16384 ]]; then
		t_pass "fio on null_blk"
	else
		t_fail "fio on null_blk" "read ${kib:-?} KiB, expected 16384"
	fi
}

check_configfs() {
	t_check "configfs mounted" grep -q ' /sys/kernel/config configfs ' /proc/mounts
	t_check "pci_ep in configfs" test -d /sys/kernel/config/pci_ep
}

# The sysfs path of the first PCI device with vendor:device $1.
find_pci() {
	local dev
	for dev in /sys/bus/pci/devices/*; do
		[[ $(<"$dev/vendor"):$(<"$dev/device") == "0x${1%:*}:0x${1#*:}" ]] || continue
		echo "$dev"
		return 0
	done
	return 1
}

check_ivshmem() {
	local dev start end size ram
	if ! dev=$(find_pci "$IVSHMEM_ID"); then
		t_fail "ivshmem device present" "no $IVSHMEM_ID device"
		t_skip "ivshmem BAR2 covers RAM" "no device"
		t_skip "ivshmem BAR2 aliases RAM" "no device"
		return
	fi
	t_pass "ivshmem device present"
	read -r start end _ < <(sed -n 3p "$dev/resource")
	size=$((end - start + 1))
	ram=$(system_ram)
	# The BAR is the RAM file (a power of two, run-qemu.sh --mem), the RAM
	# the guest sees is that less what firmware keeps: between half the
	# BAR and all of it.
	if ((size > 0 && (size & (size - 1)) == 0 && ram <= size && 2 * ram > size)); then
		t_pass "ivshmem BAR2 covers RAM"
	else
		t_fail "ivshmem BAR2 covers RAM" "BAR2 is $size bytes ($start-$end), System RAM $ram bytes"
	fi
	t_check "ivshmem BAR2 aliases RAM" check_alias "$dev"
}

# The bytes of System RAM in /proc/iomem (top-level ranges only).
system_ram() {
	local line total=0
	while IFS= read -r line; do
		[[ $line =~ ^([0-9a-f]+)-([0-9a-f]+)\ :\ System\ RAM$ ]] || continue
		total=$((total + 0x${BASH_REMATCH[2]} - 0x${BASH_REMATCH[1]} + 1))
	done </proc/iomem
	echo "$total"
}

# The point of the ivshmem device: BAR2 + P reads RAM at physical P. Look
# for the kernel's banner (/proc/version) in the kernel's read-only data,
# through BAR2.
check_alias() {
	local dev=$1 start end
	read -r start end < <(sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : Kernel rodata$/\1 \2/p' /proc/iomem)
	[[ -n $start ]] || { echo "no Kernel rodata in /proc/iomem"; return 1; }
	python3 - "$dev/resource2" "$start" "$end" <<-'EOF'
		import mmap, os, sys
		path, start, end = sys.argv[1], int(sys.argv[2], 16), int(sys.argv[3], 16)
		banner = open("/proc/version", "rb").read().rstrip(b"\n")
		fd = os.open(path, os.O_RDONLY)
		bar = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ)
		if bar.find(banner, start, end + 1) < 0:
		    sys.exit("banner not found in BAR2 at 0x%x-0x%x" % (start, end))
	EOF
}

check_kernel
check_configfs
check_ivshmem
check_modules
