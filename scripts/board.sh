#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Make what goes on a Rock 5B (RK3588) for it to serve the NVMe function
# to the PCIe host at the other end of its link, from Debian's
# linux-source-6.12 and the project's patches:
#
#   OUT/Image                        the arm64 kernel
#   OUT/modules.tar.gz               its modules, lib/modules/<release>/,
#                                    with the function's pci-epf-nvme.ko
#   OUT/rk3588-rock-5b-pcie-ep.dtb   the Rock 5B device tree with the
#                                    endpoint overlay applied
#   OUT/config                       the kernel's configuration
#   OUT/release                      the kernel release
#   OUT/setup/                       the setup tool, its systemd unit and
#                                    the sample configurations, as "make
#                                    install" lays them out (copy to / on
#                                    the board: cp -r OUT/setup/. /)
#
# The kernel is Debian's arm64 configuration with the fragment
# scripts/kernel/config/rk3588.config on top (endpoint configfs, the eDMA
# driver built in), built in the cache like the rig's kernels
# (scripts/build-kernel.sh --rock5b): hours on 2 cores, once. --tree takes
# a tree built already instead, such as the trimmed one of
# scripts/build-kernel.sh --board, on which CI checks this script. See
# Documentation/PCI/endpoint/pci-nvme-howto.rst for the board's side.
#
# Usage: scripts/board.sh [--tree DIR] [--out DIR]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$REPO_DIR/tests/lib-host.sh"

DTS=arch/arm64/boot/dts/rockchip
CROSS=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
tree='' out=$REPO_DIR/results/board

while [[ $# -gt 0 ]]; do
	case $1 in
	--tree) tree=$(realpath "$2"); shift 2 ;;
	--out) out=$(realpath -m "$2"); shift 2 ;;
	*) awk '/^# Usage:/ { u = 1 } u && !/^# ./ { exit } u { print substr($0, 3) }' "$0" >&2; exit 2 ;;
	esac
done

"$REPO_DIR/scripts/install-deps.sh"
[[ -n $tree ]] || tree=$("$REPO_DIR/scripts/build-kernel.sh" --rock5b)
for f in .config arch/arm64/boot/Image "$DTS/rk3588-rock-5b.dtb" \
	"$DTS/rk3588-rock-5b-pcie-ep.dtbo" include/config/kernel.release _modinst/lib; do
	[[ -e $tree/$f ]] || die "$tree is not a built arm64 tree with the Rock 5B device tree: no $f"
done
grep -qx 'CONFIG_DW_EDMA=y' "$tree/.config" ||
	die "$tree: CONFIG_DW_EDMA is not built in: the endpoint controller would have no DMA channels"
release=$(<"$tree/include/config/kernel.release")

rm -rf "$out"
mkdir -p "$out/stage"
log "the function's module for $release"
build_modules "$tree" "$CACHE_DIR/modbuild-board" "$out/modules-build.log" "${CROSS[@]}" ||
	die "module build failed, see $out/modules-build.log"

log "kernel, modules and device tree in $out"
cp "$tree/arch/arm64/boot/Image" "$out/"
cp "$tree/.config" "$out/config"
echo "$release" >"$out/release"
cp -a "$tree/_modinst/lib" "$out/stage/"
make -s -C "$CACHE_DIR/modbuild-board" KDIR="$tree" "${CROSS[@]}" \
	INSTALL_MOD_PATH="$out/stage" modules_install >>"$out/modules-build.log" 2>&1
depmod -b "$out/stage" "$release"
[[ -n $(find "$out/stage/lib/modules/$release" -name pci-epf-nvme.ko) ]] ||
	die "pci-epf-nvme.ko is not in the modules"
tar -C "$out/stage" -czf "$out/modules.tar.gz" lib
rm -rf "$out/stage"

# What sets the function up on the board, from a configuration file
make -s -C "$REPO_DIR" install DESTDIR="$out/setup" >>"$out/modules-build.log" 2>&1 ||
	die "make install of the setup tool failed, see $out/modules-build.log"

# The overlay turns the PCIe 3.0 x4 root port into the endpoint controller
fdtoverlay -i "$tree/$DTS/rk3588-rock-5b.dtb" -o "$out/rk3588-rock-5b-pcie-ep.dtb" \
	"$tree/$DTS/rk3588-rock-5b-pcie-ep.dtbo"
[[ $(fdtget -t s "$out/rk3588-rock-5b-pcie-ep.dtb" /pcie-ep@fe150000 status) == okay &&
	$(fdtget -t s "$out/rk3588-rock-5b-pcie-ep.dtb" /pcie@fe150000 status) == disabled ]] ||
	die "the device tree does not enable the endpoint controller"
log "done: $(cd "$out" && echo *)"
