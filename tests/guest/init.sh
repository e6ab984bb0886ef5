#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the rig's QEMU guest (see scripts/run-qemu.sh). The root file
# system is the host's, read-only over 9p. Parameters come from the kernel
# command line: rig.script, rig.tree, rig.repo and, optionally, rig.moddir
# and rig.tools (its bin/ goes first in the script's PATH).
#
# Stage 1 builds a new root in a tmpfs: every top-level entry of the host
# root bind-mounted into it, plus /rig-out (the run's read-write 9p export),
# tmpfs where tools write, the pseudo file systems, and a writable
# /lib/modules holding the test kernel's modules and the project's. A
# read-only root cannot grow new directories, and neither /rig-out nor (on
# many hosts) /lib/modules exists on the host. Stage 2 runs in that root:
# it runs the script, records its exit status in /rig-out/rc, reports
# kmemleak's findings and powers off (possibly under a load the script left
# running, see report_poweroff_load).
#
# Every exec costs 0.1 s under TCG, and several times that on the debug
# kernel, so the mounts go through two generated fstabs and `mount -a`
# (X-mount.mkdir creates the mount points) rather than one exec each.
set -eEuo pipefail

NEWROOT=/run/root
FSTAB1=/run/rig-fstab.1
FSTAB2=/run/rig-fstab.2
# Where tools write. Each gets an empty tmpfs in the guest.
TMPFS_DIRS=(/tmp /run /var/tmp /var/lib /root)
# Top-level entries of the host root that get a fresh mount, not a bind.
FRESH_DIRS=(proc sys dev run tmp lost+found)
P9_OPTS=trans=virtio,version=9p2000.L,msize=512000

# Filled by plan_graft: files to create before their bind mounts, and
# symlinks to copy (source and destination directory).
FILES=()
LINK_SRCS=()
LINK_DIRS=()

# Through /dev/kmsg when there is one, for the timestamp.
say() {
	if [[ -w /dev/kmsg ]]; then
		echo "init: $*" >/dev/kmsg
	else
		echo "init: $*" >/dev/console
	fi
}

# Whatever happens, end in an orderly power-off: if PID 1 exits the kernel
# panics, which reads as a crash rather than as a failed test.
power_off() {
	sync || true
	busybox poweroff -f 2>/dev/null || echo o >/proc/sysrq-trigger
	while :; do sleep 60; done
}

on_exit() {
	local rc=$?
	[[ $rc -eq 0 ]] || say "failed (status $rc), powering off"
	power_off
}

on_err() { say "error at line $1: $2"; }

trap on_exit EXIT
trap 'on_err $LINENO "$BASH_COMMAND"' ERR

is_mounted() {
	local mnt
	while read -r _ mnt _; do
		[[ $mnt == "$1" ]] && return 0
	done </proc/self/mounts
	return 1
}

# Read rig.* parameters from the kernel command line into RIG_*.
read_params() {
	local word words
	RIG_SCRIPT='' RIG_TREE='' RIG_REPO='' RIG_MODDIR='' RIG_TOOLS=''
	read -ra words </proc/cmdline
	for word in "${words[@]}"; do
		case $word in
		rig.script=*) RIG_SCRIPT=${word#*=} ;;
		rig.tree=*) RIG_TREE=${word#*=} ;;
		rig.repo=*) RIG_REPO=${word#*=} ;;
		rig.moddir=*) RIG_MODDIR=${word#*=} ;;
		rig.tools=*) RIG_TOOLS=${word#*=} ;;
		esac
	done
	[[ -n $RIG_SCRIPT && -n $RIG_TREE && -n $RIG_REPO ]] ||
		{ say "missing rig.script, rig.tree or rig.repo on the command line"; return 1; }
}

# fstab_add FILE SOURCE TARGET TYPE OPTIONS
fstab_add() {
	local file=$1 src=$2 dst=$3
	printf '%s %s %s %s 0 0\n' "${src// /\\040}" "${dst// /\\040}" "$4" "$5" >>"$file"
}

# plan_graft SRC DST [SKIP...]: plan a tmpfs on DST that holds SRC's
# entries: directories and files bind-mounted, symlinks copied. DST then
# looks like SRC, but entries can be added at its top level. SKIP names are
# left out (they get mounts of their own).
plan_graft() {
	local src=${1%/} dst=$2 e name
	shift 2
	fstab_add "$FSTAB1" rig-graft "$dst" tmpfs mode=0755,X-mount.mkdir
	shopt -s nullglob dotglob
	for e in "$src"/*; do
		name=${e##*/}
		if [[ " $* " == *" $name "* ]]; then
			continue
		elif [[ -L $e ]]; then
			LINK_SRCS+=("$e")
			LINK_DIRS+=("$dst")
		elif [[ -d $e ]]; then
			fstab_add "$FSTAB1" "$e" "$dst/$name" none bind,X-mount.mkdir
		elif [[ -f $e ]]; then
			FILES+=("$dst/$name")
			fstab_add "$FSTAB2" "$e" "$dst/$name" none bind
		fi
	done
	shopt -u nullglob dotglob
}

# A tmpfs hides what the host has below it. Bring back the host paths the
# run needs (the repository, the kernel tree, the script's directory, the
# module and the tools directories), e.g. a kernel tree cached under
# /root/.cache.
plan_rebinds() {
	local dir=$1 p
	for p in "$RIG_REPO" "$RIG_TREE" "${RIG_SCRIPT%/*}" ${RIG_MODDIR:+"$RIG_MODDIR"} \
		${RIG_TOOLS:+"$RIG_TOOLS"}; do
		[[ $p == "$dir" || $p == "$dir"/* ]] || continue
		fstab_add "$FSTAB1" "$p" "$NEWROOT$p" none bind,X-mount.mkdir
	done
}

plan_tmpfs_dirs() {
	local d mode
	for d in "${TMPFS_DIRS[@]}"; do
		[[ $d == /run || $d == /tmp || -d $d ]] || continue
		mode=0755
		[[ $d != */tmp ]] || mode=1777
		fstab_add "$FSTAB1" tmpfs "$NEWROOT$d" tmpfs "mode=$mode,X-mount.mkdir"
		# The host's /run is hidden by stage 1's own tmpfs.
		[[ $d == /run ]] || plan_rebinds "$d"
	done
}

# The host root has no modules of the test kernel (and maybe no
# /lib/modules at all): the guest gets a tmpfs there, and when the host
# lacks the directory, a graft of its parent to hold the mount point.
plan_modules() {
	local mp
	mp=$(realpath -m /lib/modules)
	[[ -d $mp ]] || plan_graft "${mp%/*}" "$NEWROOT${mp%/*}"
	fstab_add "$FSTAB1" rig-modules "$NEWROOT$mp" tmpfs mode=0755,X-mount.mkdir
	MODULES_DIR=$NEWROOT$mp
}

plan_pseudo() {
	fstab_add "$FSTAB1" proc "$NEWROOT/proc" proc X-mount.mkdir
	fstab_add "$FSTAB1" sysfs "$NEWROOT/sys" sysfs X-mount.mkdir
	fstab_add "$FSTAB1" devtmpfs "$NEWROOT/dev" devtmpfs X-mount.mkdir
	fstab_add "$FSTAB1" rigout "$NEWROOT/rig-out" 9p "$P9_OPTS,X-mount.mkdir"
	# Optional: a kernel without one of these is worth a line, not a failure.
	fstab_add "$FSTAB2" configfs "$NEWROOT/sys/kernel/config" configfs defaults
	fstab_add "$FSTAB2" debugfs "$NEWROOT/sys/kernel/debug" debugfs defaults
	fstab_add "$FSTAB2" cgroup2 "$NEWROOT/sys/fs/cgroup" cgroup2 defaults
	fstab_add "$FSTAB2" devpts "$NEWROOT/dev/pts" devpts gid=5,mode=0620,ptmxmode=0666,X-mount.mkdir
	fstab_add "$FSTAB2" tmpfs "$NEWROOT/dev/shm" tmpfs mode=1777,X-mount.mkdir
}

# One cp per destination directory (there are two at most).
copy_links() {
	local i j dir srcs
	for i in "${!LINK_SRCS[@]}"; do
		[[ -n ${LINK_SRCS[i]} ]] || continue
		dir=${LINK_DIRS[i]} srcs=()
		for j in "${!LINK_SRCS[@]}"; do
			[[ ${LINK_DIRS[j]} == "$dir" && -n ${LINK_SRCS[j]} ]] || continue
			srcs+=("${LINK_SRCS[j]}")
			LINK_SRCS[j]=''
		done
		cp -P -t "$dir" "${srcs[@]}"
	done
}

# The test kernel's installed modules, plus the project's under extra/ so
# that modprobe resolves their dependencies (depmod runs in stage 2).
install_modules() {
	local ver kos=()
	cp -a "$RIG_TREE/_modinst/lib/modules/." "$MODULES_DIR/"
	[[ -n $RIG_MODDIR ]] || return 0
	shopt -s globstar nullglob
	kos=("$RIG_MODDIR"/**/*.ko)
	shopt -u globstar nullglob
	[[ ${#kos[@]} -gt 0 ]] || return 0
	for ver in "$MODULES_DIR"/*/; do
		mkdir -p "$ver/extra"
		cp -t "$ver/extra" "${kos[@]}"
	done
}

stage1() {
	mount -t proc proc /proc
	is_mounted /dev || mount -t devtmpfs devtmpfs /dev
	read_params
	say "building the guest root"
	mount -t tmpfs -o mode=0755 rig-run /run
	: >"$FSTAB1"
	: >"$FSTAB2"
	plan_graft / "$NEWROOT" "${FRESH_DIRS[@]}"
	plan_tmpfs_dirs
	plan_modules
	plan_pseudo
	mount -a -T "$FSTAB1"
	[[ ${#FILES[@]} -eq 0 ]] || touch "${FILES[@]}"
	copy_links
	mount -a -T "$FSTAB2" || say "some optional mounts failed"
	install_modules
	ln -sfn /proc/self/fd "$NEWROOT/dev/fd"
	trap - EXIT
	exec chroot "$NEWROOT" "$RIG_REPO/tests/guest/init.sh" --stage2
}

setup_env() {
	export PATH=${RIG_TOOLS:+$RIG_TOOLS/bin:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	# The C locale is built in: with C.UTF-8 every exec of a program
	# that calls setlocale() opens a dozen locale files over 9p, 0.1 s
	# more per exec on the debug kernel.
	export HOME=/root TERM=dumb LANG=C
	export RIG_SCRIPT RIG_TREE RIG_REPO RIG_MODDIR RIG_OUT=/rig-out
	echo rig >/proc/sys/kernel/hostname
	depmod -a
	cd /tmp
}

# The script's status is its result, not an init error: no errexit or ERR
# trap around it, and it runs in its own bash, so that even a crash of it
# only yields a status.
run_script() {
	say "running $RIG_SCRIPT"
	set +eE
	trap - ERR
	bash "$RIG_SCRIPT" </dev/null 2>&1 | tee "$RIG_OUT/script.log"
	SCRIPT_RC=${PIPESTATUS[0]}
	SCRIPT_END_US=${EPOCHREALTIME/[.,]/}
	set -eE
	trap 'on_err $LINENO "$BASH_COMMAND"' ERR
	say "$RIG_SCRIPT exited with status $SCRIPT_RC"
}

# Leaks only show once kmemleak has scanned twice: a scan reports no
# object younger than 5 s when the scan began, nor one whose content
# changed since the previous scan (its first scan included). So the second
# scan must begin at least 5 s after the script ended; the first one
# usually takes longer than that on the debug kernel, and the wait between
# them is only what is left of those 5 s. The full report goes to
# $RIG_OUT/kmemleak.txt; its start also goes through /dev/kmsg, so that it
# lands in the kernel log like any other splat. Only its start: the serial
# console takes about 0.1 s a line under TCG, and a leak in a loop can
# report thousands of lines.
KMEMLEAK_LOG_LINES=60

kmemleak_report() {
	local f=/sys/kernel/debug/kmemleak report=$RIG_OUT/kmemleak.txt line n=0 objects left
	[[ -e $f ]] || return 0
	say "kmemleak scan"
	echo scan >"$f" || return 0
	left=$((SCRIPT_END_US + 5500000 - ${EPOCHREALTIME/[.,]/}))
	say "kmemleak first scan done, second in $((left > 0 ? left / 1000 : 0)) ms"
	((left <= 0)) || sleep "$((left / 1000000)).$(printf '%06d' $((left % 1000000)))"
	echo scan >"$f" || return 0
	say "kmemleak second scan done"
	cat "$f" >"$report"
	[[ -s $report ]] || return 0
	while IFS= read -r line && ((n++ < KMEMLEAK_LOG_LINES)); do
		printf 'kmemleak report: %s\n' "$line" >/dev/kmsg
	done <"$report"
	objects=$(grep -c '^unreferenced object' "$report" || true)
	printf 'kmemleak report: end, %s leaked objects in all: see kmemleak.txt in the run output\n' \
		"$objects" >/dev/kmsg
}

# A test may leave load running for the power-off (its pid in
# $RIG_OUT/poweroff-load): say whether it still runs, for the host to
# check that the power-off really happened under load.
report_poweroff_load() {
	local f=$RIG_OUT/poweroff-load pid s
	[[ -s $f ]] || return 0
	pid=$(<"$f")
	if read -ra s 2>/dev/null <"/proc/$pid/stat" && [[ ${s[2]} != Z ]]; then
		say "power-off load running (pid $pid)"
	else
		say "power-off load ended before the power-off (pid $pid)"
	fi
}

stage2() {
	read_params
	setup_env
	run_script
	kmemleak_report || say "kmemleak report failed"
	echo "$SCRIPT_RC" >"$RIG_OUT/rc"
	report_poweroff_load
	say "powering off"
	trap - EXIT
	power_off
}

if [[ ${1:-} == --stage2 ]]; then
	stage2
else
	stage1
fi
