#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a kernel tree from Debian's linux-source package of the flavour's
# kernel version (scripts/lib.sh: kernel_version) with the project's patch
# series for that version (scripts/kernel/patches/<version>/) and config
# fragments, and print the path of the built tree.
# The tree is cached outside the repository, keyed by what goes into it, so
# an unchanged second run does nothing. Flavours:
#   (default)  rig: the x86-64 test kernel QEMU boots, on Linux 6.12
#              (Debian 12's linux-source-6.12)
#   --debug    the rig kernel with KASAN, lockdep, kmemleak and fault
#              injection, on Linux 7.3 (trixie-backports' linux-source-7.3)
#   --rig73    the rig kernel on Linux 7.3: the benchmark's, and the suite
#              on 7.3 without the debug options
#   --board    arm64, tinyconfig plus the Rock 5B fragment: a cross-built
#              tree to build and check the function against, with the
#              board's device tree and endpoint overlay; not a kernel that
#              boots the board
#   --rock5b   arm64, Debian's arm64 configuration plus the same fragment:
#              the kernel that boots a Rock 5B (scripts/board.sh), a long
#              build (hours on 2 cores)
#
# Usage: scripts/build-kernel.sh [--debug|--rig73|--board|--rock5b]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=rig
case ${1:-} in
--debug) flavour=debug ;;
--rig73) flavour=rig73 ;;
--board) flavour=board ;;
--rock5b) flavour=rock5b ;;
esac

"$REPO_DIR/scripts/install-deps.sh"
mkdir -p "$CACHE_DIR"
tree=$(kernel_tree "$flavour")

exec 9>"$CACHE_DIR/.lock-$flavour"
flock 9

if [[ -e $tree/.rig-built ]]; then
	echo "$tree"
	exit 0
fi

log "building $flavour kernel in $tree"
rm -rf "$tree" "$tree.tmp"
mkdir -p "$tree.tmp"
version=$(kernel_version "$flavour")
tar -xf "$(kernel_tarball "$version")" -C "$tree.tmp" --strip-components=1
while IFS= read -r p; do
	log "applying $version/$(basename "$p")"
	patch -d "$tree.tmp" -p1 -s --forward <"$p"
done < <(kernel_patches "$version")

mapfile -t fragments < <(kernel_fragments "$flavour")
arch=$(kernel_arch "$flavour")
mk=(make -s ARCH="$arch")
[[ $arch == x86_64 ]] || mk+=(CROSS_COMPILE=aarch64-linux-gnu-)

base_config=
[[ $flavour != rock5b ]] || base_config=$(debian_arm64_config) ||
	die "cannot get Debian's arm64 kernel configuration"

cd "$tree.tmp"
if [[ -n $base_config ]]; then
	cp "$base_config" .config
	# Debian's signing keys are not in the source package, and its BTF
	# debug information would double the build for nothing the board needs
	scripts/config --set-str SYSTEM_TRUSTED_KEYS '' \
		--set-str SYSTEM_REVOCATION_KEYS '' \
		-d DEBUG_INFO_BTF -d DEBUG_INFO_DWARF_TOOLCHAIN_DEFAULT \
		-d DEBUG_INFO_DWARF5 -e DEBUG_INFO_NONE
else
	"${mk[@]}" tinyconfig >/dev/null
fi
ARCH=$arch scripts/kconfig/merge_config.sh -m .config "${fragments[@]}" >/dev/null
"${mk[@]}" olddefconfig >/dev/null

# A symbol whose dependencies are missing is dropped silently by kconfig:
# check that every option asked for is in the final config.
bad=0
while IFS= read -r line; do
	[[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] || continue
	sym=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
	if [[ $val == n ]]; then
		grep -qx "$sym=[ym]" .config || continue
	else
		grep -qx "$sym=$val" .config && continue
	fi
	log "config: $sym=$val was not applied (got: $(grep "^$sym=\|$sym is not set" .config || echo absent))"
	bad=1
done < <(cat "${fragments[@]}")
[[ $bad -eq 0 ]] || die "config fragment not applied"

jobs=$(($(nproc) + 1))
if [[ $arch == arm64 ]]; then
	# Symbols in the base device tree, or the overlay cannot apply to it
	"${mk[@]}" -j"$jobs" Image modules
	"${mk[@]}" DTC_FLAGS=-@ rockchip/rk3588-rock-5b.dtb rockchip/rk3588-rock-5b-pcie-ep.dtbo
	"${mk[@]}" INSTALL_MOD_PATH="$PWD/_modinst" modules_install
else
	"${mk[@]}" -j"$jobs" bzImage modules
	"${mk[@]}" INSTALL_MOD_PATH="$PWD/_modinst" modules_install
	# The endpoint test tool: pcitest up to 6.13, a kselftest since
	if [[ -d tools/pci ]]; then
		make -s -C tools/pci >/dev/null
	else
		make -s -C tools/testing/selftests/pci_endpoint >/dev/null
	fi
fi

cd /
mv "$tree.tmp" "$tree"
touch "$tree/.rig-built"

# Keep one tree per flavour: older keys are dead weight.
for old in "$CACHE_DIR"/linux-"$flavour"-*; do
	[[ $old == "$tree" ]] || rm -rf "$old"
done
log "built $tree"
echo "$tree"
