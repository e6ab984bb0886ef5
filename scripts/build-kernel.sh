#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the rig's test kernel from Debian's linux-source-6.12 with the
# project's patch series and config fragments, and print the path of the
# built tree. The tree is cached outside the repository, keyed by what goes
# into it, so an unchanged second run does nothing.
#
# Usage: scripts/build-kernel.sh [--debug]
set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=rig
[[ ${1:-} == --debug ]] && flavour=debug

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
tar -xf "$KERNEL_TARBALL" -C "$tree.tmp" --strip-components=1
for p in "$REPO_DIR"/scripts/kernel/patches/*.patch; do
	[[ -e $p ]] || continue
	log "applying $(basename "$p")"
	patch -d "$tree.tmp" -p1 -s --forward <"$p"
done

fragments=("$REPO_DIR/scripts/kernel/config/rig.config")
[[ $flavour == debug ]] && fragments+=("$REPO_DIR/scripts/kernel/config/debug.config")

cd "$tree.tmp"
make -s ARCH=x86_64 tinyconfig >/dev/null
scripts/kconfig/merge_config.sh -m .config "${fragments[@]}" >/dev/null
make -s ARCH=x86_64 olddefconfig >/dev/null

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
make -s ARCH=x86_64 -j"$jobs" bzImage modules
make -s ARCH=x86_64 INSTALL_MOD_PATH="$PWD/_modinst" modules_install
make -s -C tools/pci >/dev/null

cd /
mv "$tree.tmp" "$tree"
touch "$tree/.rig-built"

# Keep one tree per flavour: older keys are dead weight.
for old in "$CACHE_DIR"/linux-"$flavour"-*; do
	[[ $old == "$tree" ]] || rm -rf "$old"
done
log "built $tree"
echo "$tree"
