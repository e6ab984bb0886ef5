#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The raw host's seeded random mode for as long as you like: boot the rig
# (the debug kernel by default: KASAN, lockdep, kmemleak), bring the NVMe
# function up as tests/guest/t-47 does, and throw random sequences of
# register, doorbell, queue entry and data pointer writes at it
# (tests/guest/nvme_raw_random.py), one seed after the other from --seed,
# until --minutes are up. After each seed a normal host's I/O must work;
# at the end nvme.ko takes the device back and fio verifies the namespace,
# and the kernel log must hold no splat. The README's test command runs a
# fixed set of short seeds; this is the long run.
#
# Usage: scripts/hostile-host.sh [--flavour debug|rig|rig73] [--seed N]
#            [--minutes M] [--count N]
#   --flavour  kernel to run on (default debug, Linux 7.3)
#   --seed     the first seed (default: from the clock, printed)
#   --minutes  how long to run seeds (default 60)
#   --count    actions per seed (default 2000)
# Prints each seed's result and ends with "N seeds passed, N failed"; a
# failed seed runs again alone with --seed N --minutes 0 (one seed at
# least always runs). Results in results/hostile-host-<date>/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/tests/lib-host.sh"

flavour=debug seed=$(date +%s) minutes=60 count=2000

usage() {
	awk '/^# Usage:/ { u = 1 } u && !/^# ./ { exit } u { print substr($0, 3) }' "$0" >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--flavour) flavour=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	--minutes) minutes=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	*) usage ;;
	esac
done
[[ $flavour =~ ^(debug|rig|rig73)$ && $seed =~ ^[0-9]+$ &&
	$minutes =~ ^[0-9]+$ && $count =~ ^[1-9][0-9]*$ ]] || usage

"$REPO_DIR/scripts/install-deps.sh"
args=()
[[ $flavour == rig ]] || args=(--"$flavour")
log "building the $flavour kernel (cached when unchanged)"
tree=$("$REPO_DIR/scripts/build-kernel.sh" "${args[@]}")

out=$REPO_DIR/results/hostile-host-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/guest"
guest_modules "$tree" "$flavour" "$out"

cat >"$out/guest/random.env" <<EOF
RANDOM_SEED=$seed
RANDOM_MINUTES=$minutes
RANDOM_COUNT=$count
EOF
log "first seed $seed, $minutes min, $count actions a seed (console $out/guest/console.log)"
rc=0
"$REPO_DIR/scripts/run-qemu.sh" --tree "$tree" \
	--script "$REPO_DIR/scripts/hostile-host/guest.sh" --out "$out/guest" \
	--moddir "$out/modules" --timeout $((minutes * 60 + 1200)) || rc=$?
cut -f1,2 "$out/guest/results" 2>/dev/null || true
pass=$(grep -c $'^PASS\tguest/raw: random seed' "$out/guest/results" || true)
fail=$(grep -c $'^FAIL\tguest/raw: random seed' "$out/guest/results" || true)
echo "$pass seeds passed, $fail failed"
case $rc in
0) ;;
126) die "kernel splat, see $out/guest/splats.txt and $out/guest/console.log" ;;
*) die "the guest failed (status $rc), see $out/guest/console.log" ;;
esac
