#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's test command. Installs what is missing, builds the test
# kernels, the board's arm64 tree and the modules (all cached, keyed by
# their inputs), checks scripts/board.sh on that tree, then, all at the
# same time, runs the static checks and boots one QEMU guest per
# kernel flavour that runs tests/guest/suite.sh (smoke.sh and every
# tests/guest/t-*.sh). Prints one line per test and a total; exits 1 if
# any test failed. Everything lands in results/<date>/ (results/latest).
#
# Usage: tests/run.sh [--flavour rig|debug|rig73|all] [--only PATTERN] [--no-static]
#   --flavour    kernel flavour(s) to test (default all)
#   --only       run only the guest tests whose file name matches PATTERN
#                (a glob, or a substring)
#   --no-static  skip checkpatch, the sparse W=1 builds and the board's
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
# shellcheck source=tests/lib-host.sh
. "$REPO_DIR/tests/lib-host.sh"

# Limits per boot and per guest test script. The debug kernel (KASAN,
# lockdep, kmemleak) runs five to ten times slower under TCG: 20 loop
# lifecycle cycles took 150 s on rig and 855 s on debug, on a loaded 2-core
# host.
# The rig guest runs at the lowest priority, on what the debug guest
# leaves: on a slower host it ends well after it (902 s and still running
# on 2026-12-02, where kernels built 1.4 times slower than before).
declare -A BOOT_TIMEOUT=([rig]=1800 [debug]=2700 [rig73]=1800)
declare -A TEST_TIMEOUT=([rig]=300 [debug]=1200 [rig73]=300)
# From the guest's "powering off" to QEMU's exit. Under load, nvme.ko's
# shutdown waits for the I/O in flight and the function drains for up to
# 5 s; an idle power-off takes under a second.
declare -A POWEROFF_TIMEOUT=([rig]=30 [debug]=60 [rig73]=30)
# Guest RAM. The debug kernel's kmemleak scans every struct page of RAM,
# twice, after the suite: 1 GiB (plenty for the tests) halves that part.
declare -A GUEST_MEM=([rig]=2G [debug]=1G [rig73]=2G)
# How the guests share the host's cores (see start_boot): the debug guest,
# the longest, gets a QEMU thread per vCPU at normal priority; the rig
# guest runs its two vCPUs on one QEMU thread at the lowest priority, so
# that it only takes what the debug guest leaves idle.
declare -A TCG_THREAD=([rig]=single [debug]=multi [rig73]=multi)
# Measured on 2 cores, whole run, kernels cached: both guests
# single-threaded took 5m27s, this arrangement 4m43s. Both multi-threaded
# at the same priority had taken 7m55s (with a longer debug suite): twice
# the CPU for the same work, vCPU lock holders preempted, waiters spinning.
declare -A NICE=([rig]=19 [debug]=0 [rig73]=0)
# The rig guest can then get no CPU at all for half a minute, while the
# debug guest boots beside the static checks. Its guest clock runs on, so
# its soft-lockup, RCU stall and hung-task detectors would report the
# wait as a hung CPU or task (seen: "soft lockup - CPU#0 stuck for 26s"
# in free_reserved_area at boot). Its detectors get thresholds longer than
# any such wait; the test timeouts still catch a real hang, and the debug
# guest, which is never starved, keeps the kernel's defaults.
# The debug guest keeps each slab cache to itself: fault injection can
# then aim at one cache (t-44), and KASAN names the right one.
declare -A KERNEL_ARGS=(
	[rig]="watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120 sysctl.kernel.hung_task_timeout_secs=120"
	[debug]="slab_nomerge"
	[rig73]="")

flavours=(rig debug) only='' static=1
declare -A TREE=()
RUN_DIR=
# The guests' static fio (scripts/build-guest-fio.sh); empty: the host's.
GUEST_TOOLS=

usage() {
	awk '/^# Usage:/ { u = 1 } u && !/^# ./ { exit } u { print substr($0, 3) }' "$0" >&2
	exit 2
}

parse_args() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		--flavour)
			case ${2:-} in
			rig|debug|rig73) flavours=("$2") ;;
			all) flavours=(rig debug) ;;
			*) usage ;;
			esac
			shift 2 ;;
		--only) only=$2; shift 2 ;;
		--no-static) static=0; shift ;;
		*) usage ;;
		esac
	done
}

setup_run_dir() {
	local id
	id=$(date +%Y%m%d-%H%M%S)
	RUN_DIR=$REPO_DIR/results/$id
	mkdir -p "$RUN_DIR"
	ln -sfn "$id" "$REPO_DIR/results/latest"
	RESULTS_FILE=$RUN_DIR/results
	: >"$RESULTS_FILE"
	log "logs and results in $RUN_DIR"
}

count() { grep -c "^$1"$'\t' "$RESULTS_FILE" || true; }

finish() {
	local passed failed skipped
	passed=$(count PASS) failed=$(count FAIL) skipped=$(count SKIP)
	log "logs and results in $RUN_DIR"
	echo "$passed passed, $failed failed, $skipped skipped"
	[[ $failed -eq 0 ]] || exit 1
	exit 0
}

install_deps() {
	log "installing dependencies"
	if ! "$REPO_DIR/scripts/install-deps.sh" >"$RUN_DIR/install-deps.log" 2>&1; then
		record FAIL "setup/install dependencies" "$(tail -n 3 "$RUN_DIR/install-deps.log")"
		finish
	fi
}

# One kernel build at a time: the machine has few cores.
build_kernel() {
	local flavour=$1 args=() logf=$RUN_DIR/$1/kernel-build.log start=$SECONDS
	[[ $flavour == rig ]] || args=(--"$flavour")
	log "building the $flavour kernel (cached when unchanged)"
	if TREE[$flavour]=$("$REPO_DIR/scripts/build-kernel.sh" "${args[@]}" 2>"$logf"); then
		record PASS "$flavour/kernel build"
		log "$flavour kernel: ${TREE[$flavour]} ($((SECONDS - start))s)"
	else
		TREE[$flavour]=
		record FAIL "$flavour/kernel build" "$(tail -n 3 "$logf") (see $logf)"
	fi
}

# The board's arm64 tree (scripts/build-kernel.sh --board), for the static
# checks' cross-build and for scripts/board.sh, which makes from it what
# goes on a Rock 5B: both are checked here, on the cached tree.
BOARD_TREE=
build_board() {
	local logf=$RUN_DIR/board/kernel-build.log start=$SECONDS
	mkdir -p "$RUN_DIR/board"
	log "building the board's arm64 tree (cached when unchanged)"
	if ! BOARD_TREE=$("$REPO_DIR/scripts/build-kernel.sh" --board 2>"$logf"); then
		BOARD_TREE=
		record FAIL "board/kernel build" "$(tail -n 3 "$logf") (see $logf)"
		return
	fi
	record PASS "board/kernel build"
	log "board tree: $BOARD_TREE ($((SECONDS - start))s)"
	logf=$RUN_DIR/board/board.log
	if "$REPO_DIR/scripts/board.sh" --tree "$BOARD_TREE" --out "$RUN_DIR/board/files" >"$logf" 2>&1; then
		record PASS "board/files for the Rock 5B (scripts/board.sh)"
	else
		record FAIL "board/files for the Rock 5B (scripts/board.sh)" "$(tail -n 2 "$logf") (see $logf)"
	fi
}

# A fio that starts in 0.2 s instead of 2.4 s on the debug kernel. Without
# it (no network, or Debian's archive no longer has the source of the
# installed version) the guests run the host's fio: the tests are the
# same, only slower, so that is a skip and not a failure.
build_guest_fio() {
	local logf=$RUN_DIR/guest-fio-build.log
	log "building the guests' static fio (cached when unchanged)"
	if GUEST_TOOLS=$("$REPO_DIR/scripts/build-guest-fio.sh" 2>"$logf"); then
		record PASS "setup/guest fio build"
	else
		GUEST_TOOLS=
		record SKIP "setup/guest fio build" "not built: $(tail -n 1 "$logf") (see $logf); the guests run the host's fio, slower"
	fi
}

build_flavour_modules() {
	local flavour=$1 logf=$RUN_DIR/$1/modules-build.log
	log "building the modules for $flavour"
	if build_modules_cached "${TREE[$flavour]}" "$CACHE_DIR/modbuild-$flavour" "$logf"; then
		record PASS "$flavour/modules build"
	else
		record FAIL "$flavour/modules build" "$(log_excerpt "$logf") (see $logf)"
	fi
	collect_modules "$CACHE_DIR/modbuild-$flavour" "$(moddir "$flavour")"
}

moddir() { echo "$CACHE_DIR/modules-$1"; }

# The static checks run in the background, beside the guests: their
# results and output are taken in by finish_static_checks.
STATIC_PID=
start_static_checks() {
	local f tree='' new_tree=''
	# sparse and checkpatch on Debian 12's kernel, W=1 on the newer one
	for f in "${flavours[@]}"; do
		[[ -n ${TREE[$f]} ]] || continue
		if [[ $(kernel_version "$f") == 6.12 ]]; then
			[[ -n $tree ]] || tree=${TREE[$f]}
		else
			[[ -n $new_tree ]] || new_tree=${TREE[$f]}
		fi
	done
	if [[ -z $tree ]]; then
		record SKIP "static/checks" "no 6.12 kernel tree built: checkpatch and sparse run against 6.12 (--flavour rig or all)"
		return
	fi
	log "static checks (in the background)"
	mkdir -p "$RUN_DIR/static"
	: >"$RUN_DIR/static/results"
	# Niced like the rig guest: they have until the debug guest ends.
	nice -n 19 "$REPO_DIR/tests/check-style.sh" --tree "$tree" \
		${BOARD_TREE:+--board-tree "$BOARD_TREE"} ${new_tree:+--new-tree "$new_tree"} \
		--results "$RUN_DIR/static/results" \
		--logdir "$RUN_DIR/static" >"$RUN_DIR/static/output" 2>&1 &
	STATIC_PID=$!
}

finish_static_checks() {
	local start=$SECONDS
	[[ -n $STATIC_PID ]] || return 0
	wait "$STATIC_PID" || true
	STATIC_PID=
	cat "$RUN_DIR/static/output"
	cat "$RUN_DIR/static/results" >>"$RESULTS_FILE"
	log "static checks done (waited $((SECONDS - start))s)"
}

# Copy the guest's results into ours, names prefixed with the flavour.
ingest_guest_results() {
	local flavour=$1 file=$2 status name msg
	[[ -f $file ]] || return 0
	while IFS=$'\t' read -r status name msg; do
		[[ $status =~ ^(PASS|FAIL|SKIP)$ ]] || continue
		record "$status" "$flavour/$name" "$msg"
	done <"$file"
}

# The power-off after the guest script, from run-qemu.sh's verdict. When a
# guest test left load running for it (t-90-*.sh), the guest's init said
# whether the load still ran when the power-off began.
record_poweroff() {
	local flavour=$1 out=$2 boot=$3 state=$4 secs=$5 name=power-off n
	if [[ -e $out/poweroff-load ]]; then
		name="power-off under load"
		if ! grep -aq 'init: power-off load running' "$out/console.log"; then
			record FAIL "$flavour/$name" "the load had ended before the power-off (see $out/console.log)"
			return
		fi
	fi
	case $state in
	ok)
		if [[ -s $out/poweroff-splats.txt ]]; then
			n=$(wc -l <"$out/poweroff-splats.txt")
			record FAIL "$flavour/$name" "$n splat lines after the power-off began, first: $(head -n 1 "$out/poweroff-splats.txt" | cut -c1-200) (see $out/poweroff.log)"
		else
			record PASS "$flavour/$name" "${secs}s"
		fi ;;
	hang) record FAIL "$flavour/$name" "QEMU still running ${POWEROFF_TIMEOUT[$flavour]}s after the guest began its power-off: killed (see $out/poweroff.log)" ;;
	crash) record FAIL "$flavour/$name" "QEMU exited without the kernel's power-down message (see $out/poweroff.log)" ;;
	*)
		if [[ $boot == ok ]]; then
			record FAIL "$flavour/$name" "the guest never began its power-off (see $out/console.log)"
		else
			record SKIP "$flavour/$name" "no complete boot"
		fi ;;
	esac
}

# The boot's own tests, from run-qemu.sh's verdict in run-status.
record_boot() {
	local flavour=$1 out=$2 status kv boot='' logstate='' poweroff='' poweroff_s='' first n
	status=$(cat "$out/run-status" 2>/dev/null || true)
	for kv in $status; do
		case $kv in
		boot=*) boot=${kv#*=} ;;
		log=*) logstate=${kv#*=} ;;
		poweroff=*) poweroff=${kv#*=} ;;
		poweroff_s=*) poweroff_s=${kv#*=} ;;
		esac
	done
	case $boot in
	ok) record PASS "$flavour/boot" ;;
	timeout) record FAIL "$flavour/boot" "timed out after ${BOOT_TIMEOUT[$flavour]}s (see $out/console.log)" ;;
	no-rc) record FAIL "$flavour/boot" "the guest ended without an exit status: crash or init failure (see $out/console.log)" ;;
	*) record FAIL "$flavour/boot" "run-qemu.sh failed: $(tail -n 2 "$out/../run-qemu.log")" ;;
	esac
	case $logstate in
	clean) record PASS "$flavour/kernel log clean" ;;
	splat)
		n=$(wc -l <"$out/splats.txt")
		first=$(head -n 1 "$out/splats.txt" | cut -c1-200)
		record FAIL "$flavour/kernel log clean" "$n splat lines, first: $first (see $out/console.log)" ;;
	*) record SKIP "$flavour/kernel log clean" "no boot" ;;
	esac
	record_poweroff "$flavour" "$out" "$boot" "$poweroff" "$poweroff_s"
	log "$flavour boot: ${status:-no status}"
}

# The guests of all flavours run at the same time: much of their time
# goes to waiting (devices coming and going, timers, I/O), not to the
# host's CPUs, and the niced single-threaded rig guest fills in what the
# debug guest leaves idle (TCG_THREAD, NICE). start_boot boots one in the
# background, finish_boot waits for it and takes in its results.
declare -A BOOT_PID=()
start_boot() {
	local flavour=$1 out=$RUN_DIR/$1/guest
	mkdir -p "$out" "$(moddir "$flavour")"
	printf 'ONLY=%q\nTEST_TIMEOUT=%q\nRIG_FLAVOUR=%q\n' "$only" \
		"${TEST_TIMEOUT[$flavour]}" "$flavour" >"$out/suite.env"
	log "booting the $flavour kernel for the guest tests (limit ${BOOT_TIMEOUT[$flavour]}s)"
	nice -n "${NICE[$flavour]}" "$REPO_DIR/scripts/run-qemu.sh" --tree "${TREE[$flavour]}" \
		--script "$REPO_DIR/tests/guest/suite.sh" --out "$out" \
		--moddir "$(moddir "$flavour")" ${GUEST_TOOLS:+--tools "$GUEST_TOOLS"} \
		--mem "${GUEST_MEM[$flavour]}" \
		--tcg-thread "${TCG_THREAD[$flavour]}" --append "${KERNEL_ARGS[$flavour]}" \
		--timeout "${BOOT_TIMEOUT[$flavour]}" \
		--poweroff-timeout "${POWEROFF_TIMEOUT[$flavour]}" \
		>"$RUN_DIR/$flavour/run-qemu.log" 2>&1 &
	BOOT_PID[$flavour]=$!
}

finish_boot() {
	local flavour=$1 out=$RUN_DIR/$1/guest
	wait "${BOOT_PID[$flavour]}" || true
	unset "BOOT_PID[$flavour]"
	ingest_guest_results "$flavour" "$out/results"
	record_boot "$flavour" "$out"
}

# Whatever way we leave, end the guests and checks still running in the
# background (each run-qemu.sh kills its QEMU on SIGTERM).
# shellcheck disable=SC2317 # called by the traps
stop_background() {
	local pid
	for pid in "${BOOT_PID[@]}" $STATIC_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
}

# shellcheck disable=SC2317
on_signal() {
	log "interrupted"
	exit 130
}

main() {
	local f
	trap stop_background EXIT
	trap on_signal INT TERM HUP
	parse_args "$@"
	setup_run_dir
	install_deps
	build_guest_fio
	for f in "${flavours[@]}"; do
		mkdir -p "$RUN_DIR/$f"
		build_kernel "$f"
	done
	[[ $static -eq 0 ]] || build_board
	for f in "${flavours[@]}"; do
		if [[ -n ${TREE[$f]} ]]; then
			build_flavour_modules "$f"
		fi
	done
	for f in "${flavours[@]}"; do
		[[ -z ${TREE[$f]} ]] || start_boot "$f"
	done
	[[ $static -eq 0 ]] || start_static_checks
	[[ $static -eq 0 ]] || finish_static_checks
	for f in "${flavours[@]}"; do
		if [[ -n ${TREE[$f]} ]]; then
			finish_boot "$f"
		else
			record SKIP "$f/boot" "no kernel"
		fi
	done
	finish
}

main "$@"
