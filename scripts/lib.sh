# SPDX-License-Identifier: GPL-2.0
# Shared settings for the rig's scripts. Source it, do not run it.

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${PCI_EPF_NVME_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pci-epf-nvme}
# The kernels the rig builds: Debian 12's own (its linux-source package,
# installed) and the newest Debian packages, from trixie-backports
# (downloaded into the cache; see fetch_kernel_source).
KERNEL_BACKPORTS=trixie-backports

log() { printf '%s: %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The kernel version a flavour is built from: the rig kernel and the
# board's on Debian 12's own, the debug kernel on the newest (its checkers
# are the newer ones); rig73, the rig kernel on the newest, is for the
# benchmark (upstream's NVMe endpoint target is only in the newer kernel)
# and for running the suite there without the debug options.
kernel_version() {
	case $1 in
	debug | rig73) echo 7.3 ;;
	*) echo 6.12 ;;
	esac
}

# The project's patch series for a kernel version, one path a line
kernel_patches() {
	local p
	for p in "$REPO_DIR/scripts/kernel/patches/$1"/*.patch; do
		[[ -e $p ]] && echo "$p"
	done
}

# apt_mirror: the Debian archive this machine's own apt sources use (not
# its security archive), so that nothing here names a host.
apt_mirror() {
	{
		awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' \
			/etc/apt/sources.list.d/*.sources 2>/dev/null
		awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' \
			/etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
	} | grep -v -m1 security
}

# private_apt DIR ARGS...: apt-get with its own source list, indexes and
# cache under DIR, so that the system's apt configuration, its packages and
# its upgrades are left alone. Packages are still checked against Debian's
# signed indexes.
private_apt() {
	local dir=$1
	shift
	apt-get -o APT::Sandbox::User=root -o Dir::Etc::SourceList=/dev/null \
		-o Dir::Etc::SourceParts="$dir/sources.list.d" \
		-o Dir::State::Lists="$dir/lists" \
		-o Dir::Cache="$dir/cache" "$@"
}

# kernel_source_version VERSION: the Debian version of linux-source-VERSION
# the rig builds from (installed for 6.12, fetched for the others)
kernel_source_version() {
	if [[ $1 == 6.12 ]]; then
		dpkg-query -W -f='${Version}' linux-source-6.12
	else
		cat "$CACHE_DIR/linux-source-$1/version"
	fi
}

# kernel_tarball VERSION: the source tarball of a kernel version
kernel_tarball() {
	if [[ $1 == 6.12 ]]; then
		echo /usr/src/linux-source-6.12.tar.xz
	else
		echo "$CACHE_DIR/linux-source-$1/linux-source-$1.tar.xz"
	fi
}

# fetch_kernel_source VERSION: download linux-source-VERSION from
# $KERNEL_BACKPORTS on this machine's mirror, with a private apt
# configuration, and keep its tarball in the cache, once (under a lock:
# several builds may ask at once). Nothing is installed.
fetch_kernel_source() {
	local ver=$1
	[[ $ver != 6.12 ]] || return 0
	mkdir -p "$CACHE_DIR"
	(
		flock 8
		fetch_kernel_source_locked "$ver"
	) 8>"$CACHE_DIR/.lock-linux-source-$ver"
}

fetch_kernel_source_locked() {
	local ver=$1 dir=$CACHE_DIR/linux-source-$1 apt mirror deb
	[[ ! -s $dir/version || ! -s $(kernel_tarball "$ver") ]] || return 0
	mirror=$(apt_mirror)
	[[ -n $mirror ]] || die "no Debian mirror in this machine's apt sources"
	apt=$CACHE_DIR/apt-$KERNEL_BACKPORTS
	rm -rf "$dir" "$apt"
	mkdir -p "$dir" "$apt/sources.list.d" "$apt/lists/partial" \
		"$apt/cache/archives/partial"
	cat >"$apt/sources.list.d/backports.sources" <<-EOF
	Types: deb
	URIs: $mirror
	Suites: $KERNEL_BACKPORTS
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	log "fetching linux-source-$ver from $KERNEL_BACKPORTS"
	private_apt "$apt" -q update >&2 || return 1
	(cd "$dir" && private_apt "$apt" -q download "linux-source-$ver" >&2) ||
		return 1
	deb=$(echo "$dir/linux-source-${ver}_"*_all.deb)
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -O "./usr/src/linux-source-$ver.tar.xz" \
			>"$(kernel_tarball "$ver")" || return 1
	dpkg-deb -f "$deb" Version >"$dir/version"
	rm -f "$deb"
	rm -rf "$apt"
}

# The config fragments of a flavour, one path a line
kernel_fragments() {
	local dir=$REPO_DIR/scripts/kernel/config
	local ver
	ver=$(kernel_version "$1")
	case $1 in
	rig | rig73) printf '%s\n' "$dir/rig.config" "$dir/rig-$ver.config" ;;
	debug) printf '%s\n' "$dir/rig.config" "$dir/rig-$ver.config" \
		"$dir/debug.config" ;;
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
	local flavour=$1 files patches ver
	mapfile -t files < <(kernel_fragments "$flavour")
	files+=("$REPO_DIR/scripts/build-kernel.sh")
	ver=$(kernel_version "$flavour")
	fetch_kernel_source "$ver" || die "cannot fetch linux-source-$ver"
	mapfile -t patches < <(kernel_patches "$ver")
	{
		echo "linux-source-$ver $(kernel_source_version "$ver")"
		echo "$flavour"
		cat "${files[@]}"
		# Only the diffs: mail headers and messages do not change the
		# build. -s: each patch on its own, or the range would run on
		# from the first diff through the headers of the next patches.
		[[ ${#patches[@]} -eq 0 ]] || sed -s -n '/^diff --git/,$p' "${patches[@]}"
	} | sha256sum | cut -c1-16
}

kernel_tree() {
	echo "$CACHE_DIR/linux-$1-$(kernel_key "$1")"
}
