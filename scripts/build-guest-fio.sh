#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a static fio for the rig's guests and print the directory that
# holds it (as bin/fio), for scripts/run-qemu.sh --tools.
#
# Why: Debian's fio links 64 shared libraries (ceph, gluster, rdma, ...).
# Loading them costs about 2.4 s per fio run on the debug kernel under TCG
# and 0.3 s on rig, and the test suite runs fio some thirty times per
# kernel. This fio has the same version and Debian patches as the
# installed package, only the engines built without extra libraries
# (io_uring, psync, sync, posixaio, ...), and starts in about 0.2 s.
#
# The source comes with `apt-get source` through a private list of
# deb-src entries (the system's apt configuration is left alone), so its
# checksums are verified against Debian's signed indexes. The build is
# cached under the rig's cache directory, keyed by the package version and
# this script.
#
# Usage: scripts/build-guest-fio.sh   (build log on stderr)
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

APT_DIR=$CACHE_DIR/apt-src
# Off: engines that need libraries the guest build does not want, and
# -march=native (the guest CPU model is not the host's).
CONFIGURE_OPTS=(
	--build-static --disable-native --disable-numa --disable-rdma
	--disable-rados --disable-rbd --disable-http --disable-gfapi
	--disable-pmem --disable-xnvme --disable-libzbc --disable-tcmalloc
	--disable-dfs
)

fio_version() {
	dpkg-query -W -f='${Version}' fio 2>/dev/null || die "fio is not installed"
}

# deb-src entries for what the machine's own apt sources list: its mirror
# and its suites, so that nothing here names a host. Both formats: the
# deb822 .sources files and the one-line .list entries.
write_sources() {
	local f
	mkdir -p "$APT_DIR/sources.list.d" "$APT_DIR/lists/partial" "$APT_DIR/cache"
	rm -f "$APT_DIR/sources.list.d/"*
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -e $f ]] || continue
		sed 's/^Types:.*/Types: deb-src/' "$f"
		echo
	done >"$APT_DIR/sources.list.d/system-src.sources"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -e $f ]] || continue
		sed -n 's/^deb\([[:space:]]\)/deb-src\1/p' "$f"
	done >"$APT_DIR/sources.list.d/system-src.list"
	[[ -s $APT_DIR/sources.list.d/system-src.sources ||
	   -s $APT_DIR/sources.list.d/system-src.list ]] ||
		die "no Debian archive in this machine's apt sources"
}

# fetch_source VERSION WORKDIR: the unpacked, patched source in WORKDIR:
# of the installed version, or of the archive's current one when the
# archive has moved on (the options and engines used are the same).
fetch_source() {
	local version=$1 work=$2
	write_sources
	private_apt "$APT_DIR" -q update >&2
	(cd "$work" && { private_apt "$APT_DIR" -q source "fio=$version" >&2 ||
		private_apt "$APT_DIR" -q source fio >&2; })
}

build() {
	local version=$1 dest=$2 work src
	work=$(mktemp -d "$CACHE_DIR/fio-build.XXXXXX")
	# shellcheck disable=SC2064 # expand now: work is local
	trap "rm -rf '$work'" EXIT
	fetch_source "$version" "$work"
	src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'fio-*' | head -n 1)
	[[ -n $src ]] || die "apt-get source gave no fio-* directory"
	(cd "$src" && ./configure "${CONFIGURE_OPTS[@]}" && make -j"$(nproc)" fio) >&2
	strip -o "$work/fio" "$src/fio"
	"$work/fio" --enghelp | grep -qw io_uring || die "the built fio has no io_uring engine"
	rm -rf "$dest"
	mkdir -p "$dest/bin"
	mv "$work/fio" "$dest/bin/fio"
}

main() {
	local version key dest
	version=$(fio_version)
	# What the build depends on: the source, this script, the compiler
	# and the static libraries configure may pick up.
	key=$({
		echo "$version"
		cat "$0"
		gcc -dumpfullversion
		dpkg-query -W libc6-dev zlib1g-dev libaio-dev 2>/dev/null || true
	} | sha256sum | cut -c1-16)
	dest=$CACHE_DIR/guest-fio-$key
	mkdir -p "$CACHE_DIR"
	if [[ ! -x $dest/bin/fio ]]; then
		log "building a static fio $version in $dest"
		build "$version" "$dest"
	fi
	echo "$dest"
}

main "$@"
