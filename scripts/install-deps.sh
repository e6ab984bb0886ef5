#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian 12 packages the rig needs: the kernel source, its build
# tools, QEMU, the checkers, the tools the guest runs, and the arm64 cross
# compiler and device tree tools of the board's build. Installs only what
# is missing, so a second call costs a dpkg query. --bench adds what the
# benchmark needs to draw its plot. perf and trace-cmd read the function's
# trace events in the tests, as the howto shows.
set -euo pipefail

PACKAGES=(
	linux-source-6.12 build-essential bc bison flex libelf-dev libssl-dev
	cpio kmod rsync xz-utils python3 git perl
	qemu-system-x86 busybox-static
	sparse fio nvme-cli pciutils linux-perf trace-cmd
	gcc-aarch64-linux-gnu device-tree-compiler
)
[[ ${1:-} != --bench ]] || PACKAGES+=(python3-matplotlib)

missing=()
for pkg in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ $status == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=
[[ $(id -u) -eq 0 ]] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
	--no-install-recommends "${missing[@]}" >/dev/null
