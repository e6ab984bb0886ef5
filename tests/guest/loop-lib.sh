# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Guest helpers for tests that use the loopback endpoint controller: load
# it, bind an endpoint function through configfs, find the host-side
# device it shows. Source it after lib.sh.

EP_CFS=/sys/kernel/config/pci_ep
LOOP_EPC=pci-epc-loop.0

# loop_load [PROFILE [DMA]]: the loop controller module built for this
# kernel, presenting controller PROFILE (default generic; rk3588: see
# pci-epc-loop-profile.c), with DMA channels (DMA Y, the default) or
# without (N). A module loaded with other parameters is reloaded: the
# previous test left nothing bound to it.
LOOP_PARAMS=/sys/module/pci_epc_loop/parameters
loop_load() {
	local profile=${1:-generic} dma=${2:-Y}
	if grep -q '^pci_epc_loop ' /proc/modules; then
		[[ $(<$LOOP_PARAMS/profile) == "$profile" &&
		   $(<$LOOP_PARAMS/dma) == "$dma" ]] && return 0
		loop_unload || return 1
	fi
	insmod "$RIG_MODDIR/pci-epc-loop.ko" profile="$profile" dma="$dma"
}

# loop_unload: the endpoint core's configfs group of each controller holds
# a reference on the module, so unbind the alias device first (that removes
# the controllers), then remove the module.
loop_unload() {
	local drv=/sys/bus/pci/drivers/pci-epc-loop dev
	grep -q '^pci_epc_loop ' /proc/modules || return 0
	for dev in "$drv"/0000:*; do
		[[ -e $dev ]] && echo "${dev##*/}" >"$drv/unbind"
	done
	rmmod pci_epc_loop
}

# wait_for COUNT CMD...: poll CMD every 0.1 s until it succeeds, COUNT
# times at most. The first polls come sooner (every 0.02 s for the first
# 0.1 s): most waits here end within a few milliseconds.
wait_for() {
	local tries=$(($1 * 5)) i=0
	shift
	while ((i < tries)); do
		"$@" && return 0
		if ((i < 5)); then
			t_sleep 0.02
			i=$((i + 1))
		else
			t_sleep 0.1
			i=$((i + 5))
		fi
	done
	return 1
}

# loop_host_dev VENDOR DEVICE: print the sysfs path of the host-side
# device with these ids on a loop bus (domains of 0x10000 and up).
loop_host_dev() {
	local d vendor device
	for d in /sys/bus/pci/devices/1????:*; do
		read -r vendor 2>/dev/null <"$d/vendor" || continue
		read -r device 2>/dev/null <"$d/device" || continue
		if [[ $vendor == "$1" && $device == "$2" ]]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# loop_dma_discard BYTES: the controller's DMA transfers to the host of at
# least BYTES move no data, 0 (the default) for none: the benchmark aid
# dma_discard_min of pci-epc-loop-dma.c.
LOOP_DMA_DISCARD=/sys/module/pci_epc_loop/parameters/dma_discard_min
loop_dma_discard() { echo "$1" >"$LOOP_DMA_DISCARD"; }

# The host side's test program for pci-epf-test comes with the kernel tree
# and changed in Linux 6.14: tools/pci/pcitest was removed, and the
# kselftest pci_endpoint_test took its place. ept_kselftest says which one
# this kernel has.
#
# pcitest runs several tests in one go (one BAR, an IRQ type, INTx, one MSI
# and one MSI-X vector, read, write and copy), one line each: "NAME:<TAB>
# OKAY" or "NOT OKAY" or "(TEST) FAILED". Its exit status is not reliable.
#
# pcitest_run ARGS...: run it once, its output in PCITEST_OUT.
# pcitest_said NAME [RESULT]: the line NAME (e.g. BAR0, MSI17, "READ (
# 1024 bytes)", "SET IRQ TYPE TO MSI", "LEGACY IRQ") says RESULT (default
# OKAY; "NOT OKAY" is a transfer whose checksum was wrong).
PCITEST=$RIG_TREE/tools/pci/pcitest
PCITEST_OUT=

pcitest_run() { PCITEST_OUT=$("$PCITEST" "$@" 2>&1); }

# pcitest_transfers WINDOWS CHANNELS: reads, writes and copies of 1 B to
# 1 MiB through outbound windows, then reads and writes by DMA, each a
# check named after the size and WINDOWS or CHANNELS.
pcitest_transfers() {
	local size key
	for size in 1 1024 65536 1048576; do
		key=$(printf '(%7d bytes)' "$size")
		pcitest_run -r -w -c -s "$size"
		t_check "read $size B ($1)" pcitest_said "READ $key"
		t_check "write $size B ($1)" pcitest_said "WRITE $key"
		t_check "copy $size B ($1)" pcitest_said "COPY $key"
		pcitest_run -r -w -d -s "$size"
		t_check "read $size B ($2)" pcitest_said "READ $key"
		t_check "write $size B ($2)" pcitest_said "WRITE $key"
	done
}

pcitest_said() {
	local line
	while IFS= read -r line; do
		[[ $line == "$1:"* ]] || continue
		[[ ${line##*$'\t'} == "${2:-OKAY}" ]] && return 0
		echo "$line"
		return 1
	done <<<"$PCITEST_OUT"
	echo "no \"$1\" line in: $PCITEST_OUT"
	return 1
}

# The kselftest's tests each cover a range: MSI_TEST raises every vector
# from 1 until the first one the host driver refuses (the first beyond
# what the function has: a SKIP that names it), the transfer tests move
# 1 B to 1000 KiB (+1) through windows ("memcpy") or DMA channels ("dma").
# Each test ends with one TAP line, "ok N NAME", "ok N NAME # SKIP
# REASON" or "not ok N NAME", NAME being FIXTURE[.VARIANT].TEST; a check
# that failed before a SKIP logs "Test failed for ..." but still ends as a
# SKIP, so kst_said looks for those lines too.
#
# kst_run NAME...: run these tests in one go, the output in KST_OUT.
# kst_said NAME [RESULT]: NAME ended with RESULT: ok (the default), fail,
# or "skip REASON" (nothing failed before the skip).
KSELFTEST=$RIG_TREE/tools/testing/selftests/pci_endpoint/pci_endpoint_test
KST_OUT=

ept_kselftest() { [[ -x $KSELFTEST ]]; }

kst_run() {
	local name args=()
	for name; do
		args+=(-r "$name")
	done
	KST_OUT=$("$KSELFTEST" "${args[@]}" 2>&1)
}

kst_said() {
	local want=${2:-ok} line got log
	line=$(grep -E "^(not )?ok [0-9]+ $1( |\$)" <<<"$KST_OUT")
	if [[ -z $line ]]; then
		echo "no result for $1 in: $(tail -n 5 <<<"$KST_OUT")"
		return 1
	fi
	case $line in
	"not ok"*) got=fail ;;
	*"# SKIP "*) got="skip ${line#*# SKIP }" ;;
	*) got=ok ;;
	esac
	# the log of this test: from its RUN line to its result line
	log=$(sed -n "/ RUN  *$1 \.\.\./,/ok [0-9]* $1\( \|\$\)/p" <<<"$KST_OUT")
	if [[ $got == skip* ]] && grep -q 'Test failed' <<<"$log"; then
		got="fail, then $got"
	fi
	[[ $got == "$want" ]] && return 0
	echo "$1: $got, not $want"
	grep -m 3 'Test failed\|Expected' <<<"$log"
	return 1
}

# The tests t-10 and t-11 run: every BAR, INTx, every MSI and MSI-X vector,
# and transfers through windows and by DMA (but the DMA copy: pci-epf-test
# needs a memcpy channel for it)
KST_ALL=(pci_ep_bar.BAR{0..5}.BAR_TEST pci_ep_basic.CONSECUTIVE_BAR_TEST
	 pci_ep_basic.{LEGACY_IRQ,MSI,MSIX}_TEST
	 pci_ep_data_transfer.memcpy.{READ,WRITE,COPY}_TEST
	 pci_ep_data_transfer.dma.{READ,WRITE}_TEST)

# kst_irqs_transfers MSI MSIX WINDOWS CHANNELS: the checks of the MSI and
# MSI-X tests (MSI and MSIX vectors: the test stops, skipping, at the
# first vector the host driver refuses; MSI has 32 at most) and of the
# transfers, named after WINDOWS and CHANNELS, in a run of KST_ALL
kst_irqs_transfers() {
	local t msi=ok
	(($1 < 32)) && msi="skip MSI$(($1 + 1)) is disabled"
	t_check "MSI: vectors 1 to $1" kst_said pci_ep_basic.MSI_TEST "$msi"
	t_check "MSI-X: vectors 1 to $2" kst_said pci_ep_basic.MSIX_TEST \
		"skip MSI-X$(($2 + 1)) is disabled"
	for t in read write copy; do
		t_check "$t ($3)" kst_said "pci_ep_data_transfer.memcpy.${t^^}_TEST"
	done
	for t in read write; do
		t_check "$t ($4)" kst_said "pci_ep_data_transfer.dma.${t^^}_TEST"
	done
}

# kst_failed_sizes NAME: the transfer sizes for which test NAME failed
kst_failed_sizes() {
	sed -n "/ RUN  *$1 \.\.\./,/ok [0-9]* $1/s/.*Test failed for size (\([0-9]*\)).*/\1/p" \
		<<<"$KST_OUT" | tr '\n' ' '
}

loop_host_dev_gone() { ! loop_host_dev "$@" >/dev/null; }

# set_attrs DIR NAME=VALUE...: write each VALUE to DIR/NAME, in order.
set_attrs() {
	local dir=$1 kv
	shift
	for kv in "$@"; do
		echo "${kv#*=}" >"$dir/${kv%%=*}" || return 1
	done
}

# epf_create DRIVER NAME ATTR=VALUE...: make a function and set attributes.
epf_create() {
	local dir=$EP_CFS/functions/$1/$2
	mkdir "$dir" || return 1
	shift 2
	set_attrs "$dir" "$@"
}

epf_dir() { echo "$EP_CFS/functions/$1/$2"; }

# epf_bind DRIVER NAME [EPC]: link the function under a controller.
epf_bind() {
	ln -s "$(epf_dir "$1" "$2")" "$EP_CFS/controllers/${3:-$LOOP_EPC}/"
}

epf_unbind() {
	rm "$EP_CFS/controllers/${3:-$LOOP_EPC}/$2"
}

epc_start() { echo 1 >"$EP_CFS/controllers/${1:-$LOOP_EPC}/start"; }
epc_stop() { echo 0 >"$EP_CFS/controllers/${1:-$LOOP_EPC}/start"; }

epc_sysfs() { echo "/sys/class/pci_epc/${1:-$LOOP_EPC}"; }

# Configuration space of a host-side device, as the host reads it.
# cfg_read DEV: its first 256 bytes into CFG (one exec: they cost up to a
# second each on the debug kernel).
CFG=()
cfg_read() { read -ra CFG <<<"$(od -An -tu1 -v -N256 "$1/config" | tr '\n' ' ')"; }

# cfg_cap ID: the offset of capability ID in CFG, from the capability list
cfg_cap() {
	local off=${CFG[0x34]:-0} n=0
	while ((off && n++ < 48)); do
		((CFG[off] == $1)) && { echo "$off"; return 0; }
		off=${CFG[off + 1]}
	done
	return 1
}

# msix_enabled DEV / msi_enabled DEV: the host enabled that capability
msix_enabled() {
	local c
	cfg_read "$1"
	c=$(cfg_cap 0x11) && ((CFG[c + 3] & 0x80))
}

msi_enabled() {
	local c
	cfg_read "$1"
	c=$(cfg_cap 0x05) && ((CFG[c + 2] & 0x01))
}

# interrupt_pin DEV: the Interrupt Pin register (0: none, 1: INTA)
interrupt_pin() { cfg_read "$1" && echo "${CFG[0x3d]}"; }

# bar_is DEV N SIZE BITS: the host sees BAR N of DEV as a BITS-bit (32 or
# 64) memory BAR of SIZE bytes; SIZE 0: no BAR N at all.
bar_is() {
	local start end flags i=0 size bits
	while read -r start end flags; do
		((i++ == $2)) || continue
		size=$((end - start + (end ? 1 : 0)))
		if ((size != $3)); then
			echo "BAR $2: $size bytes, not $3"
			return 1
		fi
		((size == 0)) && return 0
		bits=32
		((flags & 0x100000)) && bits=64
		if ((bits != $4)); then
			echo "BAR $2: flags $flags, not a $4-bit BAR"
			return 1
		fi
		return 0
	done <"$1/resource"
	echo "no BAR $2 in $1/resource"
	return 1
}

# loop_dma_chans [EPC]: how many DMA channels the controller has;
# loop_dma_taken [EPC]: how many of them a function took.
loop_dma_count() {
	local c n=0
	for c in /sys/class/dma/dma*chan*; do
		[[ -e $c && $(readlink -f "$c/device") == */"${2:-$LOOP_EPC}" ]] || continue
		[[ $1 == all ]] || (($(<"$c/in_use"))) || continue
		n=$((n + 1))
	done
	echo "$n"
}
loop_dma_chans() { loop_dma_count all "${1:-}"; }
loop_dma_taken() { loop_dma_count taken "${1:-}"; }

# loop_dma_threads_realtime: each DMA channel of the loop controllers has
# its worker thread, and each runs SCHED_FIFO (policy 1, the 41st field of
# /proc/PID/stat): an engine moves data whatever the CPUs are doing.
loop_dma_threads_realtime() {
	local c f comm stat threads=0 chans=0
	for c in /sys/class/dma/dma*chan*; do
		[[ -e $c && $(readlink -f "$c/device") == */pci-epc-loop.* ]] &&
			chans=$((chans + 1))
	done
	for f in /proc/[0-9]*/comm; do
		read -r comm <"$f" 2>/dev/null || continue
		[[ $comm == epcloop*-dma* ]] || continue
		stat=$(<"${f%comm}stat") || continue
		# After "(comm) ", the 3rd field: the policy is [41 - 3]
		read -ra stat <<<"${stat##*) }"
		[[ ${stat[38]} == 1 ]] ||
			{ echo "$comm: policy ${stat[38]}, not SCHED_FIFO"; return 1; }
		threads=$((threads + 1))
	done
	((chans > 0 && threads == chans)) ||
		{ echo "$threads DMA threads for $chans channels"; return 1; }
}

# loop_windows_mapped [EPC]: outbound window mappings the functions hold
loop_windows_mapped() { cat "$(epc_sysfs "${1:-}")/windows_mapped"; }
