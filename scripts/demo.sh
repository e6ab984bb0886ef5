#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The project's main job, end to end in the QEMU rig: boot the test kernel,
# serve an NVMe drive through the pci-epf-nvme endpoint function (backed by
# an nvmet loop target on null_blk), let the stock nvme.ko on the host side
# find it, then run nvme-cli and fio on that drive. Installs and builds what
# it needs (the kernel build is cached).
#
# Usage: scripts/demo.sh [--seconds N]   (fio runtime per job, default 10)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/tests/lib-host.sh"

seconds=10
[[ ${1:-} == --seconds ]] && seconds=$2

"$REPO_DIR/scripts/install-deps.sh"
log "building the rig kernel (cached when unchanged)"
tree=$("$REPO_DIR/scripts/build-kernel.sh")

out=$REPO_DIR/results/demo
mkdir -p "$out"
log "building the modules"
build_modules "$tree" "$CACHE_DIR/modbuild-demo" "$out/modules-build.log" ||
	die "module build failed, see $out/modules-build.log"
collect_modules "$CACHE_DIR/modbuild-demo" "$out/modules"

echo "DEMO_SECONDS=$seconds" >"$out/demo.env"
log "booting the demo guest (console: $out/console.log)"
rc=0
"$REPO_DIR/scripts/run-qemu.sh" --tree "$tree" \
	--script "$REPO_DIR/scripts/demo/guest.sh" --out "$out" \
	--moddir "$out/modules" --timeout 600 || rc=$?
[[ -f $out/demo.txt ]] && cat "$out/demo.txt"
[[ $rc -eq 0 ]] || die "the demo failed (status $rc), see $out/console.log"
log "done: the report is in $out/demo.txt"
