# SPDX-License-Identifier: GPL-2.0
# Shared settings for the rig's scripts. Source it, do not run it.

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PCI_EPF_NVME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pci-epf-nvme}
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
KERNEL_PKG=linux-source-6.12

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The config fragments of a flavour, one path a line
kernel_fragments() {
	local dir=$REPO_DIR/scripts/kernel/config
	case $1 in
	rig) echo "$dir/rig.config" ;;
	debug) printf '%s\n' "$dir/rig.config" "$dir/debug.config" ;;
	board | rock5b) echo "$dir/rk3588.config" ;;
	esac
}

kernel_arch() {
	case $1 in
	board | rock5b) echo arm64 ;;
	*) echo x86_64 ;;
	esac
}

# debian_arm64_config: print the path of Debian's arm64 kernel
# configuration, from the linux-config-6.12 package of arm64, downloaded
# and unpacked, not installed (another architecture's package), once.
debian_arm64_config() {
	local dir=$CACHE_DIR/linux-config-arm64 deb
	if [[ ! -s $dir/config ]]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		apt-get update -qq -o APT::Architectures::=arm64 >&2 || return 1
		(cd "$dir" && apt-get download -q -o APT::Architectures::=arm64 \
			"linux-config-6.12:arm64" >&2) || return 1
		deb=$(echo "$dir"/linux-config-6.12_*_arm64.deb)
		dpkg-deb -x "$deb" "$dir/x" &&
			xzcat "$dir/x/usr/src/linux-config-6.12/config.arm64_none_arm64.xz" \
				>"$dir/config" || return 1
		rm -rf "$dir/x" "$deb"
	fi
	echo "$dir/config"
}

# The kernel tree for a flavour (rig, debug, board or rock5b) is keyed by
# everything that goes into it: the source package version (Debian's
# configuration of rock5b has the same), the config fragments, the patch
# series and the build script itself.
kernel_key() {
	local flavour=$1 files
	mapfile -t files < <(kernel_fragments "$flavour")
	files+=("$REPO_DIR/scripts/build-kernel.sh")
	{
		dpkg-query -W -f='${Version}' "$KERNEL_PKG"
		echo "$flavour"
		cat "${files[@]}"
		# Only the diffs: mail headers and messages do not change the
		# build. -s: each patch on its own, or the range would run on
		# from the first diff through the headers of the next patches.
		sed -s -n '/^diff --git/,$p' "$REPO_DIR"/scripts/kernel/patches/*.patch 2>/dev/null || true
	} | sha256sum | cut -c1-16
}

kernel_tree() {
	echo "$CACHE_DIR/linux-$1-$(kernel_key "$1")"
}
