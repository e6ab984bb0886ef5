#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Commas inside QEMU and kernel arguments are theirs, not array separators.
# shellcheck disable=SC2054
#
# Boot a test kernel tree under QEMU (TCG) and run one guest script in it.
#
# Usage: scripts/run-qemu.sh --tree DIR --script PATH [--out DIR]
#            [--moddir DIR] [--tools DIR] [--timeout SEC]
#            [--poweroff-timeout SEC]
#            [--mem SIZE] [--smp N] [--tcg-thread single|multi]
#            [--append ARGS]
#
# The guest's root is the host's root, read-only over virtio-9p, so the
# guest runs the host's tools and sees the script, the tree and the
# modules at their host paths. --out is shared read-write at /rig-out; the
# serial console goes to OUT/console.log. tests/guest/init.sh is PID 1.
#
# Guest RAM is a file in /dev/shm mapped a second time as an ivshmem-plain
# device: its BAR2 is then an MMIO alias of all guest RAM, which the
# loopback endpoint controller (pci-epc-loop) uses as its window.
#
# --tools DIR: DIR/bin goes first in the guest script's PATH (a static fio
# that starts faster than the host's, see scripts/build-guest-fio.sh).
#
# Once the guest says it powers off (tests/guest/init.sh, after the
# script), it has --poweroff-timeout seconds (default 60) to get there: a
# power-off is a test too (the kernel's device shutdown path runs, maybe
# under load, see t-90-*.sh).
#
# --tcg-thread single runs all the guest's vCPUs on one host thread
# (QEMU's round-robin TCG) instead of one thread each (multi, the default):
# the guest still has --smp CPUs, but takes one host core at most. For
# running several guests on a host with few cores: multi-threaded guests
# that share cores spin on each other's locks (a vCPU holding a guest
# spinlock is preempted) and burn twice the CPU for the same work.
#
# Exit status: the guest script's exit status, or
#   123  the script passed but the power-off hung (QEMU killed) or crashed
#   124  timeout (QEMU killed)
#   125  the guest wrote no exit status (crash, panic, init failure)
#   126  the script passed but the console log holds a kernel splat
# OUT/run-status says the same in words (boot=... log=... rc=...
# poweroff=ok|hang|crash|none poweroff_s=...), OUT/splats.txt lists the
# splat lines, and OUT/poweroff-splats.txt those after the power-off
# began, for the test harness.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

SPLAT_RE='WARNING:|BUG:|Oops|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|INFO: task .* blocked|soft lockup|hard LOCKUP|Kernel panic|kmemleak: .* new suspected memory leaks|unreferenced object|general protection fault|Call Trace:'

tree='' script='' out='' moddir='' tools='' timeout=600 mem=2G smp=2 append='' tcg_thread=multi
poweroff_timeout=60
ramfile='' qemu_pid=''
# What init.sh says when it powers off, and what the kernel says when it
# gets there.
POWEROFF_MARK='init: (.*, )?powering off'
POWERDOWN_MSG='reboot: Power down'

usage() {
	awk '/^# Usage:/ { u = 1 } u && !/^# ./ { exit } u { print substr($0, 3) }' "$0" >&2
	exit 2
}

parse_args() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		--tree) tree=$2; shift 2 ;;
		--script) script=$2; shift 2 ;;
		--out) out=$2; shift 2 ;;
		--moddir) moddir=$2; shift 2 ;;
		--tools) tools=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		--poweroff-timeout) poweroff_timeout=$2; shift 2 ;;
		--mem) mem=$2; shift 2 ;;
		--smp) smp=$2; shift 2 ;;
		--tcg-thread) tcg_thread=$2; shift 2 ;;
		--append) append=$2; shift 2 ;;
		-h|--help) usage ;;
		*) log "unknown option $1"; usage ;;
		esac
	done
	[[ -n $tree && -n $script ]] || usage
	[[ $tcg_thread == single || $tcg_thread == multi ]] || usage
	[[ -f $tree/arch/x86/boot/bzImage ]] || die "no bzImage in $tree"
	[[ -d $tree/_modinst/lib/modules ]] || die "no installed modules in $tree/_modinst"
	[[ -f $script ]] || die "no guest script $script"
	tree=$(realpath "$tree")
	script=$(realpath "$script")
	out=$(realpath -m "${out:-$REPO_DIR/results/qemu}")
	if [[ -n $moddir ]]; then
		[[ -d $moddir ]] || die "no module dir $moddir"
		moddir=$(realpath "$moddir")
	fi
	if [[ -n $tools ]]; then
		[[ -d $tools/bin ]] || die "no bin directory in $tools"
		tools=$(realpath "$tools")
	fi
	# The paths travel on the kernel command line, which splits on spaces.
	local p
	for p in "$tree" "$script" "$moddir" "$tools" "$REPO_DIR"; do
		[[ $p =~ ^[A-Za-z0-9._/+,-]*$ ]] || die "path not usable on a kernel command line: $p"
	done
}

# Kill QEMU (through timeout, which forwards the signal) and drop the RAM
# file, whatever way we leave.
cleanup() {
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill -TERM "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	[[ -z $ramfile ]] || rm -f "$ramfile"
}

on_signal() {
	log "interrupted"
	exit 130
}

# The RAM file goes to /dev/shm, unless that is too small for it (container
# runtimes often give it 64 MiB): QEMU would then die of SIGBUS once the
# guest touches enough memory. Any file system with shared mmap will do.
ram_dir() {
	local dir need
	need=$(numfmt --from=iec "$mem")
	for dir in /dev/shm "${TMPDIR:-/tmp}" "$out"; do
		[[ -d $dir && -w $dir ]] || continue
		if [[ $(df -B1 --output=avail "$dir" | tail -n 1) -ge $need ]]; then
			[[ $dir == /dev/shm ]] || log "/dev/shm too small for $mem of guest RAM, using $dir"
			echo "$dir"
			return
		fi
	done
	die "no file system with $mem free for the guest RAM file"
}

# The root is read-only and the host's files hold still during a run, so
# the guest may cache them (cache=loose): each exec then costs half as much.
kernel_cmdline() {
	local args=(
		root=root rootfstype=9p
		rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ro
		console=ttyS0 panic=-1 printk.time=1 printk.devkmsg=on
		init="$REPO_DIR/tests/guest/init.sh"
		rig.script="$script" rig.tree="$tree" rig.repo="$REPO_DIR"
	)
	[[ -z $moddir ]] || args+=(rig.moddir="$moddir")
	[[ -z $tools ]] || args+=(rig.tools="$tools")
	echo "${args[*]} $append"
}

# panic=-1 reboots on a panic and -no-reboot turns that into a QEMU exit,
# so a dead guest ends the run at once instead of waiting for the timeout.
# Both q35 and pc put the ivshmem BAR2 above 4 GiB and pass smoke.sh;
# q35 is the machine with PCIe.
qemu_args() {
	local machine=q35
	qemu_cmd=(
		qemu-system-x86_64 -nodefaults -no-user-config
		-machine "$machine,memory-backend=ram0" -cpu qemu64
		-accel "tcg,thread=$tcg_thread"
		-smp "$smp" -m "$mem"
		-display none -monitor none -no-reboot
		-serial "file:$out/console.log"
		-object "memory-backend-file,id=ram0,size=$mem,mem-path=$ramfile,share=on"
		-object "memory-backend-file,id=alias0,size=$mem,mem-path=$ramfile,share=on"
		-device ivshmem-plain,memdev=alias0
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
		-device virtio-9p-pci,fsdev=root,mount_tag=root
		-fsdev "local,id=out,path=$out,security_model=none"
		-device virtio-9p-pci,fsdev=out,mount_tag=rigout
		-kernel "$tree/arch/x86/boot/bzImage"
		-append "$(kernel_cmdline)"
	)
}

# Print the splat lines of the console log. Only kernel messages count:
# they carry a printk timestamp, while the guest script's own output (which
# may well say "WARNING:") does not.
find_splats() {
	grep -aE "\[ *[0-9]+\.[0-9]+\].*($SPLAT_RE)" "${1:-$out/console.log}" || true
}

now_us() { echo "${EPOCHREALTIME/[.,]/}"; }

# Wait for QEMU. Once the guest has begun its power-off, QEMU must exit
# within $poweroff_timeout seconds, or it is killed. Sets poweroff_at and
# poweroff_us (when the power-off began, and how long it took) and
# poweroff_hung.
wait_qemu() {
	poweroff_at='' poweroff_us='' poweroff_hung=0
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [[ -z $poweroff_at ]]; then
			! grep -aqE "$POWEROFF_MARK" "$out/console.log" 2>/dev/null ||
				poweroff_at=$(now_us)
		elif (($(now_us) - poweroff_at > poweroff_timeout * 1000000)); then
			log "power-off not done after ${poweroff_timeout}s: QEMU killed"
			poweroff_hung=1
			kill -TERM "$qemu_pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	wait "$qemu_pid" || status=$?
	# A power-off quicker than one round of the loop above is seen here
	if [[ -z $poweroff_at ]] && grep -aqE "$POWEROFF_MARK" "$out/console.log" 2>/dev/null; then
		poweroff_at=$(now_us)
	fi
	[[ -z $poweroff_at ]] || poweroff_us=$(($(now_us) - poweroff_at))
}

run_qemu() {
	local start=$SECONDS status=0
	log "booting $(basename "$tree") with $(basename "$script") (timeout ${timeout}s, log $out/console.log)"
	timeout -k 10 "$timeout" "${qemu_cmd[@]}" </dev/null >"$out/qemu.log" 2>&1 &
	qemu_pid=$!
	wait_qemu
	qemu_pid=
	elapsed=$((SECONDS - start))
	qemu_status=$status
}

# none: the guest never began to power off; ok: the kernel got there;
# hang: QEMU killed; crash: QEMU exited without the kernel's power-down.
poweroff_state() {
	if [[ -z $poweroff_at ]]; then
		echo none
	elif [[ $poweroff_hung -eq 1 ]]; then
		echo hang
	elif grep -aq "$POWERDOWN_MSG" "$out/console.log"; then
		echo ok
	else
		echo crash
	fi
}

report() {
	local boot=ok logstate=clean rc=none ret splats poweroff poweroff_s=''
	if [[ $qemu_status -eq 124 || $qemu_status -eq 137 ]]; then
		boot=timeout
	elif [[ -s $out/rc ]]; then
		rc=$(<"$out/rc")
	else
		boot=no-rc
	fi
	[[ $boot != timeout ]] || log "timed out after ${timeout}s: QEMU killed"
	if [[ $qemu_status -ne 0 && $boot != timeout ]]; then
		log "qemu exited with status $qemu_status:"
		sed 's/^/  /' "$out/qemu.log" >&2
	fi
	splats=$(find_splats)
	printf '%s\n' "$splats" | sed '/^$/d' >"$out/splats.txt"
	if [[ -n $splats ]]; then
		logstate=splat
		log "kernel splat in $out/console.log:"
		printf '%s\n' "$splats" | head -n 40 | sed 's/^/  /' >&2
	fi
	poweroff=$(poweroff_state)
	[[ -z $poweroff_us ]] || poweroff_s=$(printf '%d.%01d' $((poweroff_us / 1000000)) \
		$((poweroff_us % 1000000 / 100000)))
	sed -nE "/$POWEROFF_MARK/,\$p" "$out/console.log" >"$out/poweroff.log"
	find_splats "$out/poweroff.log" >"$out/poweroff-splats.txt"
	echo "boot=$boot log=$logstate rc=$rc elapsed=$elapsed poweroff=$poweroff" \
		"poweroff_s=${poweroff_s:-none}" >"$out/run-status"
	log "boot=$boot log=$logstate rc=$rc poweroff=$poweroff (${elapsed}s, power-off ${poweroff_s:-none}s)"

	case $boot in
	timeout) ret=124 ;;
	no-rc) ret=125 ;;
	*) ret=$rc ;;
	esac
	[[ $ret =~ ^[0-9]+$ ]] || ret=125
	[[ $ret -ne 0 || $poweroff == ok ]] || ret=123
	[[ $ret -ne 0 || $logstate == clean ]] || ret=126
	return "$ret"
}

main() {
	local ramdir
	parse_args "$@"
	mkdir -p "$out"
	rm -f "$out"/{rc,run-status,splats.txt,console.log,qemu.log,results,script.log,timings} \
		"$out"/{poweroff.log,poweroff-splats.txt,poweroff-load}
	trap cleanup EXIT
	trap on_signal INT TERM HUP
	ramdir=$(ram_dir)
	ramfile=$(mktemp "$ramdir/pci-epf-nvme-ram.XXXXXX")
	qemu_args
	run_qemu
	report
}

main "$@"
