# SPDX-License-Identifier: GPL-2.0
# Shared settings for the rig's scripts. Source it, do not run it.

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PCI_EPF_NVME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pci-epf-nvme}
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
KERNEL_PKG=linux-source-6.12

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The kernel tree for a flavour ("rig" or "debug") is keyed by everything
# that goes into it: the source package version, the config fragments, the
# patch series and the build script itself.
kernel_key() {
	local flavour=$1 files
	files=("$REPO_DIR/scripts/build-kernel.sh" "$REPO_DIR/scripts/kernel/config/rig.config")
	[[ $flavour == debug ]] && files+=("$REPO_DIR/scripts/kernel/config/debug.config")
	{
		dpkg-query -W -f='${Version}' "$KERNEL_PKG"
		echo "$flavour"
		cat "${files[@]}"
		# Only the diffs: mail headers and messages do not change the build
		sed -n '/^diff --git/,$p' "$REPO_DIR"/scripts/kernel/patches/*.patch 2>/dev/null || true
	} | sha256sum | cut -c1-16
}

kernel_tree() {
	echo "$CACHE_DIR/linux-$1-$(kernel_key "$1")"
}
