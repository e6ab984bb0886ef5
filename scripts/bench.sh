#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The side-by-side benchmark: boot the rig's normal kernel on Linux 7.3
# once and, for each backend, measure with fio the same nvmet namespace
# three ways: through the pci-epf-nvme function (host nvme.ko over the
# loopback PCIe link), through upstream's NVMe PCI endpoint target
# (nvmet-pci-epf, over the same kind of link) and directly on the endpoint
# (a fabrics controller, no PCIe emulation). Writes bench.json, bench.md (a
# table with the function/upstream and function/direct ratios of every
# line) and bench.png (IOPS against queue depth) in results/bench-<date>/
# (results/bench-latest). Not part of the test run: the figures are the
# rig's (QEMU TCG), to be read as ratios.
#
# Usage: scripts/bench.sh [--quick] [--reps N] [--runtime S]
#            [--backends "loop tcp"] [--only PATTERN] [--profile PATTERN]
#            [--fn-nvme "NAME=VALUE..."]
#   --quick     one backend (loop), 2 repetitions of 3 s, for iterating
#   --reps      repetitions of each point on each path (default 3)
#   --runtime   seconds of each fio run, after 1 s of ramp (default 5)
#   --backends  backends to measure (default "loop mem tcp"): loop and tcp
#               are the function's transport to a null_blk that stores
#               nothing, mem is loop to a null_blk that keeps the data
#   --only      run only the points whose "group/name" matches PATTERN (an
#               extended regular expression)
#               (groups: 4k, seq, dmafree, scaling, idle)
#   --profile   sample the CPUs with perf during the first repetition of
#               the points matching PATTERN (a regex); reports in raw/.../*.perf*.txt
#   --fn-nvme   attributes of the function's nvme/ group, set before it is
#               bound (e.g. "cq_windows=0"), to measure a variant
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/tests/lib-host.sh"

reps=3 runtime=5 backends='loop mem tcp' only='' profile='' fn_nvme=''

usage() {
	awk '/^# Usage:/ { u = 1 } u && !/^# ./ { exit } u { print substr($0, 3) }' "$0" >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--quick) reps=2 runtime=3 backends=loop; shift ;;
	--reps) reps=$2; shift 2 ;;
	--runtime) runtime=$2; shift 2 ;;
	--backends) backends=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--profile) profile=$2; shift 2 ;;
	--fn-nvme) fn_nvme=$2; shift 2 ;;
	*) usage ;;
	esac
done
[[ $reps =~ ^[1-9][0-9]*$ && $runtime =~ ^[1-9][0-9]*$ ]] || usage

"$REPO_DIR/scripts/install-deps.sh" --bench
log "building the rig kernel on 7.3 (cached when unchanged)"
tree=$("$REPO_DIR/scripts/build-kernel.sh" --rig73)

id=$(date +%Y%m%d-%H%M%S)
out=$REPO_DIR/results/bench-$id
mkdir -p "$out/guest"
ln -sfn "bench-$id" "$REPO_DIR/results/bench-latest"
guest_modules "$tree" bench "$out"

cat >"$out/guest/bench.env" <<EOF
BENCH_REPS=$reps
BENCH_RUNTIME=$runtime
BENCH_RAMP=1
BENCH_IDLE=10
BENCH_BACKENDS='$backends'
BENCH_ONLY='$only'
BENCH_PROFILE='$profile'
BENCH_FN_NVME='$fn_nvme'
BENCH_DEPTHS='1 8 32 128'
BENCH_QUEUES=2
BENCH_QUEUE_DEPTH=128
EOF

# Three paths, two directions, 2 job counts x 4 depths + 4 sequential + 2
# DMA-free + 3 scaling points per backend, each run followed by up to
# 5.5 s of settling (guest.sh: settle), plus boot and set-up.
nr_backends=$(wc -w <<<"$backends")
points=$(((16 + 4 + 2 + 3) * 3 * reps * nr_backends))
limit=$((600 + points * (runtime + 10) * 2))
log "booting the rig kernel (limit ${limit}s, console $out/guest/console.log)"
rc=0
"$REPO_DIR/scripts/run-qemu.sh" --tree "$tree" \
	--script "$REPO_DIR/scripts/bench/guest.sh" --out "$out/guest" \
	--moddir "$out/modules" --timeout "$limit" || rc=$?
[[ $rc -eq 0 ]] || die "the benchmark guest failed (status $rc), see $out/guest/console.log"

/usr/bin/python3 "$REPO_DIR/scripts/bench/report.py" "$out/guest/raw" "$out"
cat "$out/bench.md"
log "results: $out/bench.json, $out/bench.md, $out/bench.png"
